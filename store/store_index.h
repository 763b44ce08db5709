/*
 * store_index.h: the routes in memory, so that resolving a container
 * reference takes no SQLite lock.  The containers table stays the durable
 * truth: store_routes.c changes it first, then the index, under the
 * store's lock.
 */
#ifndef DOCKMUX_STORE_STORE_INDEX_H
#define DOCKMUX_STORE_STORE_INDEX_H

#include "store/store.h"

struct store_index;	/* opaque: routes by ID and by name */

/* Owned: store_index_free(). */
struct store_index *store_index_new(void);
void	store_index_free(struct store_index *);
/* Insert r, or replace the route with r's ID (its name too). */
void	store_index_put(struct store_index *, const struct store_route *);
void	store_index_del(struct store_index *, const char *id);
/* The route's new name (bare); nothing when the ID is unknown. */
void	store_index_rename(struct store_index *, const char *id,
	    const char *name);
/*
 * ref as dockerd resolves it: the full ID, then a name (with or without
 * its '/'), then a unique ID prefix.  1 found (*out filled), 0 none, 2 a
 * prefix of more than one ID.
 */
int	store_index_resolve(const struct store_index *, const char *ref,
	    struct store_route *out);
size_t	store_index_count(const struct store_index *);

#endif
