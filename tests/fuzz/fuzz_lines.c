/*
 * fuzz_lines.c: the stream splitter every engine stream goes through
 * (lib/lines.c: events, pull progress).  dockmux has no parser of its
 * own for Docker's multiplexed stdout/stderr frames (logs and attach are
 * relayed byte for byte), so this is the one framing parser on that
 * path.  Input: byte 0 sets the ceiling (1 to 64 bytes), byte 1 after
 * how many calls the callback says stop (0: never), the rest is the
 * stream, fed in pieces of 1 to 13 bytes chosen by its own bytes.
 */
/* Threads: libFuzzer's one thread. */

#include <stdint.h>
#include <string.h>

#include "lib/lines.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

struct seen {
	const char	*in;		/* the stream */
	size_t		 len;
	size_t		 off;		/* how much the pieces covered */
	size_t		 max;
	size_t		 calls;
	size_t		 stop_at;	/* 0: never */
};

/* Is the line of in that starts at off longer than max? */
static int
line_too_long(const struct seen *s, size_t off)
{
	const char	*nl = memchr(s->in + off, '\n', s->len - off);
	size_t		 n = nl != NULL ? (size_t)(nl - s->in) + 1 - off :
	    s->len - off;

	return n > s->max;
}

/*
 * Pieces come in stream order and cover it: a whole line is a line of
 * the stream, at most max with its '\n', NUL-terminated; pieces of a
 * longer line are not whole.
 */
static int
on_line(void *arg, const char *text, size_t len, int whole)
{
	struct seen	*s = arg;
	size_t		 start;

	FUZZ_ASSERT(s->off + len <= s->len);
	FUZZ_ASSERT(memcmp(text, s->in + s->off, len) == 0);
	if (whole) {
		FUZZ_ASSERT(len >= 1 && len <= s->max);
		FUZZ_ASSERT(text[len - 1] == '\n' && text[len] == '\0');
		FUZZ_ASSERT(memchr(text, '\n', len - 1) == NULL);
		FUZZ_ASSERT(s->off == 0 || s->in[s->off - 1] == '\n');
	} else {
		/* Back to where this piece's line starts. */
		for (start = s->off; start > 0 && s->in[start - 1] != '\n';
		    start--)
			;
		FUZZ_ASSERT(line_too_long(s, start));
	}
	s->off += len;
	return ++s->calls == s->stop_at ? -1 : 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dm_lines	 l;
	struct seen	 s;
	const char	*rest;
	size_t		 off, k, rlen = 0;
	int		 rc = 0;

	if (size < 2)
		return 0;
	memset(&s, 0, sizeof(s));
	s.max = 1 + data[0] % 64;
	s.stop_at = data[1];
	s.in = (const char *)data + 2;
	s.len = size - 2;
	dm_lines_init(&l, s.max);
	for (off = 0; off < s.len && rc == 0; off += k) {
		k = 1 + (unsigned char)s.in[off] % 13;
		if (k > s.len - off)
			k = s.len - off;
		rc = dm_lines_feed(&l, s.in + off, k, on_line, &s);
	}
	FUZZ_ASSERT((rc == -1) == (s.stop_at != 0 && s.calls >= s.stop_at));
	if (rc == 0) {
		/* What is left is the last line, if it is short enough. */
		rest = dm_lines_rest(&l, &rlen);
		if (rest != NULL) {
			FUZZ_ASSERT(rlen <= s.max && rest[rlen] == '\0');
			FUZZ_ASSERT(memcmp(rest, s.in + s.off, rlen) == 0);
			s.off += rlen;
		}
		FUZZ_ASSERT(s.off == s.len);
	}
	dm_lines_free(&l);
	return 0;
}
