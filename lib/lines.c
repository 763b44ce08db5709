/*
 * lines.c: complete lines out of a byte stream that arrives in pieces
 * (engine event streams, pull progress): one bounded buffer, no line is
 * ever grown past its ceiling.
 */
/* Threads: a splitter belongs to one reader; no locking. */

#include <stdlib.h>
#include <string.h>

#include "lib/lines.h"

void
dm_lines_init(struct dm_lines *l, size_t max)
{
	l->buf = malloc(max + 1);
	if (l->buf == NULL)
		abort();
	l->len = 0;
	l->max = max;
	l->too_long = 0;
}

void
dm_lines_reset(struct dm_lines *l)
{
	l->len = 0;
	l->too_long = 0;
}

int
dm_lines_feed(struct dm_lines *l, const char *s, size_t n, dm_line_fn *fn,
    void *arg)
{
	const char	*nl;
	size_t		 k;
	int		 rc;

	while (n > 0) {
		nl = memchr(s, '\n', n);
		k = nl != NULL ? (size_t)(nl - s) + 1 : n;
		if (!l->too_long && l->len + k > l->max) {
			/* Past the ceiling: hand on what is held, then
			 * every piece up to the newline. */
			l->too_long = 1;
			if (l->len > 0 && fn(arg, l->buf, l->len, 0) == -1)
				return -1;
			l->len = 0;
		}
		if (l->too_long) {
			rc = fn(arg, s, k, 0);
			if (nl != NULL)
				l->too_long = 0;
			if (rc == -1)
				return -1;
		} else {
			memcpy(l->buf + l->len, s, k);
			l->len += k;
			if (nl != NULL) {
				l->buf[l->len] = '\0';
				rc = fn(arg, l->buf, l->len, 1);
				l->len = 0;
				if (rc == -1)
					return -1;
			}
		}
		s += k;
		n -= k;
	}
	return 0;
}

const char *
dm_lines_rest(struct dm_lines *l, size_t *len)
{
	if (l->len == 0 || l->too_long)
		return NULL;
	l->buf[l->len] = '\0';
	*len = l->len;
	return l->buf;
}

void
dm_lines_free(struct dm_lines *l)
{
	free(l->buf);
	l->buf = NULL;
}
