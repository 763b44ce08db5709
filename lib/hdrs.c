/* hdrs.c: ordered header lists with case-blind lookup. */
/* Threads: a list belongs to one request; no locking. */

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/hdrs.h"
#include "lib/limits.h"
#include "lib/util.h"

void
dm_hdrs_init(struct dm_hdrs *h)
{
	h->v = NULL;
	h->n = 0;
	h->cap = 0;
}

int
dm_hdrs_add(struct dm_hdrs *h, const char *name, const char *value)
{
	size_t	ncap;

	if (h->n >= DM_MAX_HEADERS)
		return -1;
	if (h->n == h->cap) {
		ncap = h->cap == 0 ? 8 : h->cap * 2;
		h->v = xrealloc(h->v, ncap * sizeof(*h->v));
		h->cap = ncap;
	}
	h->v[h->n].name = xstrdup(name);
	h->v[h->n].value = xstrdup(value);
	h->n++;
	return 0;
}

int
dm_hdrs_set(struct dm_hdrs *h, const char *name, const char *value)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		if (strcasecmp(h->v[i].name, name) == 0) {
			free(h->v[i].value);
			h->v[i].value = xstrdup(value);
			return 0;
		}
	}
	return dm_hdrs_add(h, name, value);
}

const char *
dm_hdrs_get(const struct dm_hdrs *h, const char *name)
{
	size_t	i;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, name) == 0)
			return h->v[i].value;
	return NULL;
}

void
dm_hdrs_clear(struct dm_hdrs *h)
{
	size_t	i;

	for (i = 0; i < h->n; i++) {
		free(h->v[i].name);
		free(h->v[i].value);
	}
	free(h->v);
	dm_hdrs_init(h);
}

int
dm_hdr_is_hop_by_hop(const char *name)
{
	static const char *const hop[] = {
		"Connection", "Keep-Alive", "Proxy-Connection", "TE",
		"Trailer", "Transfer-Encoding", "Upgrade", "Content-Length",
		"Host", "Expect", "Date", "Proxy-Authorization",
		"Proxy-Authenticate",
	};
	size_t	i;

	for (i = 0; i < sizeof(hop) / sizeof(hop[0]); i++)
		if (strcasecmp(name, hop[i]) == 0)
			return 1;
	return 0;
}

int
dm_hdr_has_token(const char *list, const char *token)
{
	size_t		 n = strlen(token), k;
	const char	*p = list;

	while (*p != '\0') {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		k = strcspn(p, ",");
		while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
			k--;
		if (k == n && strncasecmp(p, token, n) == 0)
			return 1;
		p += strcspn(p, ",");
	}
	return 0;
}

int
dm_hdrs_copy_end_to_end(const struct dm_hdrs *in, struct dm_hdrs *out)
{
	const char	*conn = dm_hdrs_get(in, "Connection");
	size_t		 i;

	for (i = 0; i < in->n; i++) {
		const char	*name = in->v[i].name;

		if (dm_hdr_is_hop_by_hop(name))
			continue;
		/* Headers the Connection header names are hop-by-hop too
		 * (RFC 9110 7.6.1); dockmux's own X-Dockmux-* are never
		 * taken from a peer, so an engine cannot set them. */
		if (conn != NULL && dm_hdr_has_token(conn, name))
			continue;
		if (strncasecmp(name, "X-Dockmux-", 10) == 0)
			continue;
		if (dm_hdrs_add(out, name, in->v[i].value) == -1)
			return -1;
	}
	return 0;
}
