/* store.h: what dockmux remembers across restarts (SQLite): which backend
 * owns each container, exec instances, and facts learnt about images. */
#ifndef DOCKMUX_STORE_STORE_H
#define DOCKMUX_STORE_STORE_H

#include <stddef.h>

#include "lib/dmerr.h"
#include "lib/limits.h"

/* Field sizes, set in lib/limits.h. */
#define STORE_ID_MAX	DM_STORE_ID_MAX
#define STORE_NAME_MAX	DM_STORE_NAME_MAX
#define STORE_RULE_MAX	DM_STORE_RULE_MAX
#define STORE_REF_MAX	DM_STORE_REF_MAX
#define STORE_FACT_MAX	DM_STORE_FACT_MAX

struct store;	/* opaque: the connection, its lock, prepared statements */

struct store_route {
	char		id[STORE_ID_MAX];	/* full container ID */
	char		name[STORE_NAME_MAX];	/* without leading '/'; may be "" */
	char		backend[DM_MAX_NAME];
	char		rule[STORE_RULE_MAX];	/* "pin", "isolation", ... */
	char		image[STORE_REF_MAX];	/* as the client gave it */
	long long	created;		/* unix seconds */
};

struct store_image {
	char		ref[STORE_REF_MAX];	/* canonical reference */
	char		os[STORE_FACT_MAX];	/* "" unknown */
	char		arch[STORE_FACT_MAX];	/* "" unknown */
	char		marker[STORE_FACT_MAX];	/* io.dockmux.runtime, "" none */
	char		backend[DM_MAX_NAME];	/* where it was inspected */
	long long	seen;			/* unix seconds */
	char		id[STORE_REF_MAX];	/* the image's ID, "" unknown */
};

/*
 * Open (creating, migrating forward) the database at path; parent
 * directories are created.  WAL mode.  Owned: store_close().  NULL with
 * err when the file cannot be opened or its schema is newer than ours.
 */
struct store	*store_open(const char *path, struct dm_err *);
void		 store_close(struct store *);
int		 store_schema_version(struct store *);
/* Record that backend name was seen now (first_seen kept); 0 or -1. */
int		 store_backend_seen(struct store *, const char *name,
		    struct dm_err *);

/*
 * Insert or replace a route (same id); committed when this returns 0.
 */
int		 store_route_put(struct store *, const struct store_route *,
		    struct dm_err *);
/*
 * Resolve ref as dockerd does: full ID, then exact name (with or without
 * a leading '/'), then unique ID prefix.  0 with *out filled; -1 with
 * err DM_ENOTFOUND ("No such container: ref") or, for a prefix matching
 * several IDs, DM_EBADREQ ("multiple IDs found with provided prefix: ref").
 */
int		 store_route_find(struct store *, const char *ref,
		    struct store_route *out, struct dm_err *);
/* Drop the route and its execs.  0 also when there was none. */
int		 store_route_del(struct store *, const char *id,
		    struct dm_err *);
int		 store_route_rename(struct store *, const char *id,
		    const char *name, struct dm_err *);
/*
 * Call fn for every route (of backend, or all when backend is NULL), in
 * creation order; fn returns 0 to go on, non-zero to stop.  The lock
 * is not held during fn (routes are copied first), so fn may call the
 * store.  0 or -1 with err.
 */
int		 store_route_each(struct store *, const char *backend,
		    int (*fn)(const struct store_route *, void *), void *,
		    struct dm_err *);
size_t		 store_route_count(struct store *);

/*
 * Remember which container exec_id belongs to, used at now (unix
 * seconds).  Execs an exec'd-again container leaves behind do not pile
 * up: those unused since now - DM_STORE_EXEC_IDLE_S are forgotten here
 * (and a container's go with its route).  -1 with DM_ENOTFOUND when the
 * container has no route.
 */
int		 store_exec_put(struct store *, const char *exec_id,
		    const char *container_id, long long now, struct dm_err *);
/* 0 with container_id filled (STORE_ID_MAX bytes), and the exec counts
 * as used now; -1 with err DM_ENOTFOUND ("No such exec instance: id"). */
int		 store_exec_find(struct store *, const char *exec_id,
		    char *container_id, struct dm_err *);

/*
 * Insert or replace the facts for img->ref (canonicalised here), learnt
 * at img->seen from the image img->id.  Facts not renewed for
 * DM_STORE_IMAGE_FACTS_S are dropped on the way.
 */
int		 store_image_put(struct store *, const struct store_image *,
		    struct dm_err *);
/* 0 found, 1 not known (or older than DM_STORE_IMAGE_FACTS_S), -1
 * error.  ref canonicalised before lookup. */
int		 store_image_find(struct store *, const char *ref,
		    struct store_image *out, struct dm_err *);
/*
 * ref resolves to the image image_id now (an engine said so): facts
 * learnt from another image (the tag was moved, the name reused) are
 * dropped.  1 dropped, 0 kept (the same image, facts without an ID, no
 * facts, or image_id ""), -1 error.
 */
int		 store_image_verify(struct store *, const char *ref,
		    const char *image_id, struct dm_err *);

/*
 * Canonical image reference: "alpine" == "alpine:latest" ==
 * "docker.io/library/alpine:latest"; "user/app" gets "docker.io/";
 * "localhost:5000/x" and "127.0.0.1:5000/x:1" keep their registry; a
 * digest ("@sha256:...") is kept and gets no ":latest"; a bare image ID
 * ("sha256:..." or 64 hex) is returned as "sha256:<hex>".  Lowercases the
 * registry host only.  0, or -1 when out is too small or ref is empty.
 */
int		 store_image_canonical(const char *ref, char *out, size_t len);

#endif
