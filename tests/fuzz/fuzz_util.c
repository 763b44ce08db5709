/*
 * fuzz_util.c: what every harness may use: inputs cut into parts,
 * properties checked, engine answers read, a scratch directory.
 */
/* Threads: libFuzzer's one thread; the handlers start their own. */

#include <ctype.h>
#include <ftw.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

static char	scratch[64];

size_t
fuzz_split(const uint8_t *data, size_t size, struct fuzz_part *parts,
    size_t max)
{
	const char	*p = (const char *)data, *end = p + size, *sep;
	size_t		 n = 0;

	for (; n + 1 < max; n++) {
		sep = memchr(p, FUZZ_SEP, (size_t)(end - p));
		if (sep == NULL)
			break;
		parts[n].p = p;
		parts[n].len = (size_t)(sep - p);
		p = sep + 1;
	}
	parts[n].p = p;
	parts[n++].len = (size_t)(end - p);
	return n;
}

char *
fuzz_strndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
fuzz_assert(int ok, const char *what, const char *file, int line)
{
	if (ok)
		return;
	fprintf(stderr, "%s:%d: property broken: %s\n", file, line, what);
	abort();
}

void
fuzz_check_unique(struct json_object *list, const char *key)
{
	struct json_object	*seen = json_object_new_object();
	const char		*v;
	size_t			 i;

	FUZZ_ASSERT(json_object_is_type(list, json_type_array));
	for (i = 0; i < json_object_array_length(list); i++) {
		v = dm_json_str(json_object_array_get_idx(list, i), key);
		FUZZ_ASSERT(v != NULL);
		FUZZ_ASSERT(!json_object_object_get_ex(seen, v, NULL));
		json_object_object_add(seen, v, NULL);
	}
	json_object_put(seen);
}

void
fuzz_answer_parse(const struct fuzz_part *part, struct fuzz_answer *a)
{
	const char	*p = part->p;
	int		 st;

	a->status = 200;
	a->body = p;
	a->len = part->len;
	if (part->len < 4 || !isdigit((unsigned char)p[0]) ||
	    !isdigit((unsigned char)p[1]) || !isdigit((unsigned char)p[2]) ||
	    p[3] != ' ')
		return;
	/* A final status is 200-599: a 1xx is not final, others not HTTP. */
	st = (p[0] - '0') * 100 + (p[1] - '0') * 10 + (p[2] - '0');
	if (st != 0 && (st < 200 || st > 599))
		return;
	a->status = st;
	a->body += 4;
	a->len -= 4;
}

/* ---- the scratch directory ---- */

static int
rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	(void)remove(path);
	return 0;
}

static void
scratch_remove(void)
{
	if (scratch[0] != '\0')
		(void)nftw(scratch, rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_scratch(void)
{
	const char	*tmp = getenv("TMPDIR");

	if (scratch[0] != '\0')
		return scratch;
	snprintf(scratch, sizeof(scratch), "%s/dockmux-fuzz.XXXXXX",
	    tmp != NULL && tmp[0] == '/' && strlen(tmp) < 32 ? tmp : "/tmp");
	if (mkdtemp(scratch) == NULL) {
		perror("fuzz: mkdtemp");
		abort();
	}
	atexit(scratch_remove);
	return scratch;
}
