/*
 * fuzz_events.c: the merged event stream's filter and rewrite
 * (disp_events.c): each engine's stream cut into lines as it arrives in
 * pieces (lib/lines.c, the reader's own ceiling), each line tagged with
 * its backend or dropped.  Input: one to three engines' streams
 * (fuzz.h), each cut into pieces of 1 to 61 bytes by its own bytes.
 */
/* Threads: libFuzzer's one thread. */

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/labels.h"
#include "lib/lines.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* One splitter per engine, kept as a reader keeps its own for the life
 * of a stream; each input is a new stream. */
static struct dm_lines	lines[FUZZ_MAX_ENGINES];

/*
 * What the reader does with a line (ev_line): a whole one is tagged and
 * goes to the client, anything else is dropped.  A tagged line is one
 * JSON object on one line, with its backend in Actor.Attributes: a
 * client splitting the merged stream on '\n' never sees two events
 * run together or one cut in half.
 */
static int
on_line(void *arg, const char *text, size_t len, int whole)
{
	const char		*backend = arg;
	struct json_object	*o, *attrs;
	char			*out;
	size_t			 n;

	if (!whole)
		return 0;
	out = disp_event_tag(text, len, backend);
	if (out == NULL)
		return 0;
	n = strlen(out);
	FUZZ_ASSERT(n > 1 && out[n - 1] == '\n');
	FUZZ_ASSERT(memchr(out, '\n', n - 1) == NULL);
	o = json_tokener_parse(out);
	FUZZ_ASSERT(json_object_is_type(o, json_type_object));
	attrs = dm_json_obj(dm_json_obj(o, "Actor"), "Attributes");
	FUZZ_ASSERT(dm_json_str(attrs, DM_LABEL_BACKEND) != NULL &&
	    strcmp(dm_json_str(attrs, DM_LABEL_BACKEND), backend) == 0);
	json_object_put(o);
	free(out);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t	i;

	(void)argc;
	(void)argv;
	for (i = 0; i < FUZZ_MAX_ENGINES; i++)
		dm_lines_init(&lines[i], DM_MAX_LINE);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = { "a", "b", "c" };
	struct fuzz_part	 parts[FUZZ_MAX_ENGINES];
	size_t			 np, i, off, k;

	np = fuzz_split(data, size, parts, FUZZ_MAX_ENGINES);
	for (i = 0; i < np; i++) {
		dm_lines_reset(&lines[i]);
		for (off = 0; off < parts[i].len; off += k) {
			k = 1 + (unsigned char)parts[i].p[off] % 61;
			if (k > parts[i].len - off)
				k = parts[i].len - off;
			(void)dm_lines_feed(&lines[i], parts[i].p + off, k,
			    on_line, (void *)(uintptr_t)names[i]);
		}
	}
	return 0;
}
