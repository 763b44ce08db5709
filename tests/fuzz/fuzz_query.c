/*
 * fuzz_query.c: the query and reference helpers a client's values go
 * through (daemon/disp_query.c; also the platform check of
 * disp_rules.c and the canonical image reference of store_images.c).
 * Input: query 0x1e key 0x1e value (fuzz.h).
 */
/* Threads: libFuzzer's one thread. */

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* enc holds only characters of keep, alphanumerics and %XX, and decodes
 * back to s. */
static void
check_encoded(const char *s, const char *enc, const char *keep)
{
	const char	*p;
	char		*back;
	size_t		 n = strlen(enc);

	for (p = enc; *p != '\0'; p++) {
		if (*p == '%') {
			FUZZ_ASSERT(isxdigit((unsigned char)p[1]) &&
			    isxdigit((unsigned char)p[2]));
			p += 2;
		} else
			FUZZ_ASSERT(isalnum((unsigned char)*p) ||
			    strchr(keep, *p) != NULL);
	}
	back = xcalloc(n + 1, 1);
	FUZZ_ASSERT(disp_url_decode(enc, n, back, n + 1) == strlen(s));
	FUZZ_ASSERT(strcmp(back, s) == 0);
	free(back);
}

/* Reading a key never writes past out, whatever its size. */
static void
check_get(const char *query, const char *key)
{
	static const size_t	 sizes[] = { 1, 2, 7, 64, 4096 };
	char			*out;
	size_t			 i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		out = xcalloc(sizes[i], 1);
		if (disp_query_get(query, key, out, sizes[i]))
			FUZZ_ASSERT(strlen(out) < sizes[i]);
		free(out);
	}
}

/* Setting key=value then reading key gives value back; removing it
 * leaves no key. */
static void
check_set(const char *query, const char *key, const char *value)
{
	char	*q, *out;

	q = disp_query_set(query, key, value);
	out = xcalloc(strlen(q) + 1, 1);
	FUZZ_ASSERT(disp_query_get(q, key, out, strlen(q) + 1) == 1);
	FUZZ_ASSERT(strcmp(out, value) == 0);
	free(out);
	free(q);
	q = disp_query_set(query, key, NULL);
	out = xcalloc(strlen(q) + 1, 1);
	FUZZ_ASSERT(disp_query_get(q, key, out, strlen(q) + 1) == 0);
	free(out);
	free(q);
}

/* A canonical reference is its own canonical form; small buffers fail
 * cleanly. */
static void
check_canonical(const char *ref)
{
	char	 a[STORE_REF_MAX], b[STORE_REF_MAX], tiny[8];
	size_t	 n;

	for (n = 1; n <= sizeof(tiny); n++)
		if (store_image_canonical(ref, tiny, n) == 0)
			FUZZ_ASSERT(strlen(tiny) < n);
	if (store_image_canonical(ref, a, sizeof(a)) == -1)
		return;
	FUZZ_ASSERT(store_image_canonical(a, b, sizeof(b)) == 0);
	FUZZ_ASSERT(strcmp(a, b) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_part	 parts[3];
	char			*query, *key, *value, *enc, msg[256];
	const char		*p;
	size_t			 np, n;
	int			 plain_key;

	np = fuzz_split(data, size, parts, 3);
	query = fuzz_strndup(parts[0].p, parts[0].len);
	key = fuzz_strndup(np > 1 ? parts[1].p : "", np > 1 ? parts[1].len :
	    0);
	value = fuzz_strndup(np > 2 ? parts[2].p : "", np > 2 ?
	    parts[2].len : 0);

	check_get(query, key);
	enc = xcalloc(strlen(query) + 1, 1);
	n = disp_url_decode(query, strlen(query), enc, strlen(query) + 1);
	FUZZ_ASSERT(n == strlen(enc) || memchr(enc, '\0', n) != NULL);
	free(enc);
	enc = disp_url_encode(value);
	check_encoded(value, enc, "-_.~");
	free(enc);
	enc = disp_ref_encode(value);
	check_encoded(value, enc, "-_.~/:@");
	free(enc);
	/* A key as dockmux writes them: a name, no '=' or '&'. */
	plain_key = key[0] != '\0';
	for (p = key; *p != '\0'; p++)
		plain_key &= isalnum((unsigned char)*p) || *p == '_';
	if (plain_key)
		check_set(query, key, value);
	msg[0] = '\0';
	if (disp_platform_check(value, msg, sizeof(msg)) == -1)
		FUZZ_ASSERT(msg[0] != '\0');
	check_canonical(value);

	free(query);
	free(key);
	free(value);
	return 0;
}
