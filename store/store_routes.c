/* store_routes.c: which backend owns each container (routes), resolving a
 * client's container reference as dockerd does, and exec instances. */
/* Threads: MHD workers call in; st->db under st->lock, held only while a
 * statement runs (never across a store_route_each() callback). */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "lib/dmerr.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "store_int.h"
#include "store/store_index.h"

static void
route_from_row(sqlite3_stmt *stmt, struct store_route *r)
{
	memset(r, 0, sizeof(*r));
	store_col_text(stmt, 0, r->id, sizeof(r->id));
	store_col_text(stmt, 1, r->name, sizeof(r->name));
	store_col_text(stmt, 2, r->backend, sizeof(r->backend));
	store_col_text(stmt, 3, r->rule, sizeof(r->rule));
	store_col_text(stmt, 4, r->image, sizeof(r->image));
	r->created = sqlite3_column_int64(stmt, 5);
}

/*
 * Under the lock: run route query which with ?1 = a (and ?2 = b unless
 * NULL), counting at most two rows; the first goes to *out when out is
 * not NULL.  0, 1 or 2 rows, or -1 with err.
 */
static int
route_rows(struct store *st, enum store_stmt which, const char *a,
    const char *b, struct store_route *out, struct dm_err *err)
{
	sqlite3_stmt	*stmt = store_stmt(st, which);
	int		 rc = -1, n, s;

	if (store_bind_text(stmt, 1, a, STORE_REF_MAX) != SQLITE_OK ||
	    (b != NULL &&
	    store_bind_text(stmt, 2, b, STORE_REF_MAX) != SQLITE_OK)) {
		store_fail(st, err, "route lookup");
		goto out;
	}
	for (n = 0; n < 2; n++) {
		s = sqlite3_step(stmt);
		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			store_fail(st, err, "route lookup");
			goto out;
		}
		if (n == 0 && out != NULL)
			route_from_row(stmt, out);
	}
	rc = n;
out:
	store_stmt_done(stmt);
	return rc;
}

/* Under the lock: explain a UNIQUE failure on name as dockerd does; -1. */
static int
name_conflict(struct store *st, const char *name, struct dm_err *err)
{
	struct store_route	holder;
	int			n;

	n = route_rows(st, STMT_ROUTE_BY_NAME, name, NULL, &holder, err);
	if (n == -1)
		return -1;
	dm_err_set(err, DM_ECONFLICT, "Conflict. The container name \"/%s\" "
	    "is already in use by container \"%s\". You have to remove (or "
	    "rename) that container to be able to reuse that name.", name,
	    n > 0 ? holder.id : "");
	return -1;
}

/* Names are stored without Docker's leading '/'. */
static const char *
bare_name(const char *name)
{
	return name[0] == '/' ? name + 1 : name;
}

/* Container IDs are lower-case hex; only such a ref may be a prefix. */
static int
is_id_prefix(const char *ref)
{
	size_t	n = strspn(ref, "0123456789abcdef");

	return n > 0 && n < STORE_ID_MAX && ref[n] == '\0';
}

int
store_route_put(struct store *st, const struct store_route *r,
    struct dm_err *err)
{
	const char		*name = bare_name(r->name);
	const struct store_arg	 args[] = {
		STORE_TEXT(r->id, sizeof(r->id)),
		STORE_TEXT(name, sizeof(r->name)),
		STORE_TEXT(r->backend, sizeof(r->backend)),
		STORE_TEXT(r->rule, sizeof(r->rule)),
		STORE_TEXT(r->image, sizeof(r->image)),
		STORE_INT(r->created),
	};
	int			 rc;

	if (r->id[0] == '\0' || r->backend[0] == '\0') {
		dm_err_set(err, DM_EINTERNAL, "store: route without %s",
		    r->id[0] == '\0' ? "id" : "backend");
		return -1;
	}
	store_lock(st);
	rc = store_run(st, STMT_ROUTE_PUT, args, NITEMS(args),
	    SQLITE_CONSTRAINT_UNIQUE, "route put", err);
	if (rc == 1)
		rc = name_conflict(st, name, err);
	else if (rc == 0 && st->idx != NULL) {
		struct store_route	kept = *r;

		snprintf(kept.name, sizeof(kept.name), "%s", name);
		store_index_put(st->idx, &kept);
	}
	store_unlock(st);
	return rc;
}

/*
 * Under the lock: the lookups of store_route_find() in dockerd's order.
 * 1 found (*out filled), 0 none, 2 ambiguous prefix, -1 error.
 */
static int
route_resolve(struct store *st, const char *ref, struct store_route *out,
    struct dm_err *err)
{
	char	hi[STORE_ID_MAX];
	size_t	len;
	int	n;

	n = route_rows(st, STMT_ROUTE_BY_ID, ref, NULL, out, err);
	if (n != 0)
		return n;
	if (bare_name(ref)[0] != '\0') {
		n = route_rows(st, STMT_ROUTE_BY_NAME, bare_name(ref), NULL,
		    out, err);
		if (n != 0)
			return n;
	}
	if (!is_id_prefix(ref))
		return 0;
	/* Every id starting with ref sorts in [ref, ref with its last
	 * digit bumped): no LIKE, so no escaping, and the key index. */
	len = strlen(ref);
	memcpy(hi, ref, len + 1);
	hi[len - 1]++;
	return route_rows(st, STMT_ROUTE_BY_PREFIX, ref, hi, out, err);
}

/*
 * Under the lock: the routes in memory, read from the table by the first
 * lookup.  NULL (and lookups go to SQLite) when that read fails.
 */
static struct store_index *
index_ready(struct store *st)
{
	sqlite3_stmt		*stmt;
	struct store_route	 r;
	int			 s;

	if (st->idx != NULL)
		return st->idx;
	st->idx = store_index_new();
	stmt = store_stmt(st, STMT_ROUTE_ALL);
	while ((s = sqlite3_step(stmt)) == SQLITE_ROW) {
		route_from_row(stmt, &r);
		store_index_put(st->idx, &r);
	}
	store_stmt_done(stmt);
	if (s != SQLITE_DONE) {
		log_warnx("msg=\"routes not kept in memory\" reason=%s",
		    log_q(sqlite3_errmsg(st->db)));
		store_index_free(st->idx);
		st->idx = NULL;
	}
	return st->idx;
}

/*
 * The hot path: resolved in memory.  Another process sharing the file
 * (the old dockmuxd of a live upgrade) may add routes this one does not
 * see; a miss here goes on to the engines (adopt-on-lookup), which finds
 * them.
 */
int
store_route_find(struct store *st, const char *ref, struct store_route *out,
    struct dm_err *err)
{
	struct store_index	*idx;
	struct store_route	 r;
	int			 n = 0;

	if (ref == NULL)
		ref = "";
	if (ref[0] != '\0') {
		store_lock(st);
		if ((idx = index_ready(st)) != NULL)
			n = store_index_resolve(idx, ref, &r);
		else
			n = route_resolve(st, ref, &r, err);
		store_unlock(st);
	}
	switch (n) {
	case 1:
		*out = r;
		return 0;
	case 0:
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s", ref);
		return -1;
	case 2:
		dm_err_set(err, DM_EBADREQ,
		    "multiple IDs found with provided prefix: %s", ref);
		return -1;
	default:
		return -1;
	}
}

/* Execs go explicitly as well as by cascade: one transaction, either way. */
int
store_route_del(struct store *st, const char *id, struct dm_err *err)
{
	const struct store_arg	args[] = { STORE_TEXT(id, STORE_REF_MAX) };
	int			rc = -1;

	if (id == NULL || id[0] == '\0')
		return 0;
	store_lock(st);
	if (store_begin(st, err) == -1)
		goto out;
	if (store_run(st, STMT_EXEC_DEL_OF, args, NITEMS(args), 0,
	    "exec delete", err) == -1 ||
	    store_run(st, STMT_ROUTE_DEL, args, NITEMS(args), 0,
	    "route delete", err) == -1) {
		store_rollback(st);
		goto out;
	}
	if (store_commit(st, err) == -1)
		goto out;
	if (st->idx != NULL)
		store_index_del(st->idx, id);
	rc = 0;
out:
	store_unlock(st);
	return rc;
}

/*
 * Rename the container with full id to name (a leading '/' is dropped).
 * -1 with DM_ENOTFOUND for an unknown id, DM_ECONFLICT when another
 * container has the name, DM_EBADREQ for an empty name.
 */
int
store_route_rename(struct store *st, const char *id, const char *name,
    struct dm_err *err)
{
	const char		*to = bare_name(name);
	const struct store_arg	 args[] = {
		STORE_TEXT(id, STORE_ID_MAX),
		STORE_TEXT(to, STORE_NAME_MAX),
	};
	int			 rc;

	if (to[0] == '\0') {
		dm_err_set(err, DM_EBADREQ,
		    "Neither old nor new names may be empty");
		return -1;
	}
	store_lock(st);
	rc = store_run(st, STMT_ROUTE_RENAME, args, NITEMS(args),
	    SQLITE_CONSTRAINT_UNIQUE, "route rename", err);
	if (rc == 1)
		rc = name_conflict(st, to, err);
	else if (rc == 0 && sqlite3_changes(st->db) == 0) {
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s", id);
		rc = -1;
	} else if (rc == 0 && st->idx != NULL)
		store_index_rename(st->idx, id, to);
	store_unlock(st);
	return rc;
}

/*
 * Under the lock: every route (of backend unless NULL) into a new array.
 * Owned: *rows, free(); 0 with *nrows set, or -1 with err.
 */
static int
route_copy_all(struct store *st, const char *backend,
    struct store_route **rows, size_t *nrows, struct dm_err *err)
{
	sqlite3_stmt		*stmt;
	struct store_route	*v = NULL, *nv;
	size_t			 n = 0, cap = 0;
	int			 rc = -1, s;

	stmt = store_stmt(st, backend != NULL ? STMT_ROUTE_OF_BACKEND :
	    STMT_ROUTE_ALL);
	if (backend != NULL &&
	    store_bind_text(stmt, 1, backend, DM_MAX_NAME) != SQLITE_OK) {
		store_fail(st, err, "route list");
		goto out;
	}
	for (;;) {
		s = sqlite3_step(stmt);
		if (s == SQLITE_DONE)
			break;
		if (s != SQLITE_ROW) {
			store_fail(st, err, "route list");
			goto out;
		}
		if (n == cap) {
			cap = cap == 0 ? DM_STORE_ROUTE_ROWS_FIRST : cap * 2;
			nv = reallocarray(v, cap, sizeof(*v));
			if (nv == NULL) {
				dm_err_set(err, DM_EINTERNAL,
				    "store: out of memory");
				goto out;
			}
			v = nv;
		}
		route_from_row(stmt, &v[n++]);
	}
	*rows = v;
	*nrows = n;
	v = NULL;
	rc = 0;
out:
	store_stmt_done(stmt);
	free(v);
	return rc;
}

int
store_route_each(struct store *st, const char *backend,
    int (*fn)(const struct store_route *, void *), void *arg,
    struct dm_err *err)
{
	struct store_route	*rows = NULL;
	size_t			 i, n = 0;
	int			 rc;

	store_lock(st);
	rc = route_copy_all(st, backend, &rows, &n, err);
	store_unlock(st);
	for (i = 0; rc == 0 && i < n; i++)
		if (fn(&rows[i], arg) != 0)
			break;
	free(rows);
	return rc;
}

/* The number of routes; 0 (logged) when the store cannot say. */
size_t
store_route_count(struct store *st)
{
	sqlite3_stmt	*stmt;
	size_t		 n = 0;

	store_lock(st);
	stmt = store_stmt(st, STMT_ROUTE_COUNT);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		store_fail(st, NULL, "route count");
		goto out;
	}
	n = (size_t)sqlite3_column_int64(stmt, 0);
out:
	store_stmt_done(stmt);
	store_unlock(st);
	return n;
}

/* -1 with DM_ENOTFOUND ("No such container: ...") when container_id has
 * no route: the foreign key refuses it. */
int
store_exec_put(struct store *st, const char *exec_id,
    const char *container_id, long long now, struct dm_err *err)
{
	const struct store_arg	args[] = {
		STORE_TEXT(exec_id, STORE_REF_MAX),
		STORE_TEXT(container_id, STORE_ID_MAX),
		STORE_INT(now),
	};
	const struct store_arg	old[] = {
		STORE_INT(now - DM_STORE_EXEC_IDLE_S),
	};
	int			rc;

	if (exec_id[0] == '\0' || container_id[0] == '\0') {
		dm_err_set(err, DM_EINTERNAL, "store: exec without id");
		return -1;
	}
	store_lock(st);
	rc = store_run(st, STMT_EXEC_EXPIRE, old, NITEMS(old), 0,
	    "exec expire", err);
	if (rc == 0)
		rc = store_run(st, STMT_EXEC_PUT, args, NITEMS(args),
		    SQLITE_CONSTRAINT_FOREIGNKEY, "exec put", err);
	store_unlock(st);
	if (rc == 1) {
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s",
		    container_id);
		rc = -1;
	}
	return rc;
}

int
store_exec_find(struct store *st, const char *exec_id, char *container_id,
    struct dm_err *err)
{
	const struct store_arg	 used[] = {
		STORE_TEXT(exec_id, STORE_REF_MAX),
		STORE_INT(time(NULL)),
	};
	sqlite3_stmt		*stmt;
	int			 rc = -1, s;

	store_lock(st);
	stmt = store_stmt(st, STMT_EXEC_FIND);
	if (store_bind_text(stmt, 1, exec_id, STORE_REF_MAX) != SQLITE_OK) {
		store_fail(st, err, "exec find");
		goto out;
	}
	s = sqlite3_step(stmt);
	if (s == SQLITE_DONE) {
		dm_err_set(err, DM_ENOTFOUND, "No such exec instance: %s",
		    exec_id);
		goto out;
	}
	if (s != SQLITE_ROW) {
		store_fail(st, err, "exec find");
		goto out;
	}
	store_col_text(stmt, 0, container_id, STORE_ID_MAX);
	rc = 0;
out:
	store_stmt_done(stmt);
	/* Found: in use (its start, a resize, an inspect), so it stays. */
	if (rc == 0)
		rc = store_run(st, STMT_EXEC_TOUCH, used, NITEMS(used), 0,
		    "exec touch", err);
	store_unlock(st);
	return rc;
}
