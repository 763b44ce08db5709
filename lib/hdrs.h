/* hdrs.h: an ordered list of HTTP header lines (leaf header). */
#ifndef DOCKMUX_LIB_HDRS_H
#define DOCKMUX_LIB_HDRS_H

#include <stddef.h>

struct dm_hdr {
	char	*name;		/* owned by the list */
	char	*value;		/* owned by the list */
};

struct dm_hdrs {
	struct dm_hdr	*v;
	size_t		 n;
	size_t		 cap;
};

void		 dm_hdrs_init(struct dm_hdrs *);
/* Copies both strings.  -1 when the list already holds DM_MAX_HEADERS. */
int		 dm_hdrs_add(struct dm_hdrs *, const char *, const char *);
/* Replaces the first header of that name, or adds it. */
int		 dm_hdrs_set(struct dm_hdrs *, const char *, const char *);
/* Borrowed: valid until the list changes.  Names compare case-blind. */
const char	*dm_hdrs_get(const struct dm_hdrs *, const char *);
void		 dm_hdrs_clear(struct dm_hdrs *);	/* frees every entry */

/*
 * Is this header hop-by-hop (RFC 9110 7.6.1), or one the transport sets
 * itself (Content-Length, Host, Expect, Date), so never relayed as is?
 */
int		 dm_hdr_is_hop_by_hop(const char *);
/* 1 when the comma-separated list holds token (case-blind, trimmed). */
int		 dm_hdr_has_token(const char *list, const char *token);

/*
 * Append in's end-to-end headers to out: every one but the hop-by-hop
 * ones above, those in's Connection header names (as tokens), and
 * dockmux's own X-Dockmux-* (only dockmuxd sets those).  The one way
 * headers cross dockmux, in either direction.  -1 when out would pass
 * DM_MAX_HEADERS.
 */
int		 dm_hdrs_copy_end_to_end(const struct dm_hdrs *,
		    struct dm_hdrs *);

#endif
