/* store_int.h: what the store's files share (private to store/): the
 * connection, its lock, the prepared statements and small helpers. */
#ifndef DOCKMUX_STORE_STORE_INT_H
#define DOCKMUX_STORE_STORE_INT_H

#include <pthread.h>
#include <stddef.h>

#include <sqlite3.h>

#include "lib/dmerr.h"
#include "store/store.h"

/* Every statement the store runs after open; SQL text lives in store.c. */
enum store_stmt {
	STMT_BEGIN = 0,
	STMT_COMMIT,
	STMT_ROLLBACK,
	STMT_VERSION,
	STMT_BACKEND_SEEN,
	STMT_ROUTE_PUT,
	STMT_ROUTE_BY_ID,
	STMT_ROUTE_BY_NAME,
	STMT_ROUTE_BY_PREFIX,
	STMT_ROUTE_DEL,
	STMT_ROUTE_RENAME,
	STMT_ROUTE_ALL,
	STMT_ROUTE_OF_BACKEND,
	STMT_ROUTE_COUNT,
	STMT_EXEC_PUT,
	STMT_EXEC_FIND,
	STMT_EXEC_TOUCH,
	STMT_EXEC_EXPIRE,
	STMT_EXEC_DEL_OF,
	STMT_IMAGE_PUT,
	STMT_IMAGE_FIND,
	STMT_IMAGE_EXPIRE,
	STMT_IMAGE_DROP_MOVED,
	STMT__COUNT
};

/*
 * The body of the opaque struct store.  db and stmt[] are used only with
 * lock held, and lock is held only while statements run: never across a
 * caller's callback, never across I/O other than SQLite's own.
 */
struct store_index;

struct store {
	pthread_mutex_t	 lock;
	sqlite3		*db;
	sqlite3_stmt	*stmt[STMT__COUNT];
	struct store_index *idx;	/* owned: routes in memory, loaded by
					 * the first lookup */
};

/* Column list every route query selects, in struct store_route order. */
#define STORE_ROUTE_COLS	"id, name, backend, rule, image, created"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * One parameter of store_run(), bound to ?1, ?2, ... in array order: text
 * (at most max bytes of s, which need not be terminated) when s is not
 * NULL, else the integer n.  Borrowed: s, for the call.
 */
struct store_arg {
	const char	*s;
	size_t		 max;
	long long	 n;
};

#define STORE_TEXT(s, max)	{ (s), (max), 0 }
#define STORE_INT(n)		{ NULL, 0, (n) }

void		 store_lock(struct store *);
void		 store_unlock(struct store *);

/* Borrowed: the prepared statement; use under the lock, then
 * store_stmt_done() it (reset and bindings cleared). */
sqlite3_stmt	*store_stmt(struct store *, enum store_stmt);
void		 store_stmt_done(sqlite3_stmt *);

/* Under the lock: log the connection's last error, set err DM_EINTERNAL
 * ("store: what: ..."), return -1.  Call before resetting the statement. */
int		 store_fail(struct store *, struct dm_err *, const char *what);

/*
 * Under the lock: bind args[0..nargs) to statement which, step it to
 * completion (it yields no rows) and reset it.  0 done.  1 when the step
 * failed with the extended code conflict (SQLITE_CONSTRAINT_UNIQUE, ...;
 * 0: none is expected): err untouched, the caller explains it, still under
 * the lock.  -1 with err as store_fail(what) on any other failure.
 * sqlite3_changes() still tells the rows the step changed.
 */
int		 store_run(struct store *, enum store_stmt,
		    const struct store_arg *args, size_t nargs, int conflict,
		    const char *what, struct dm_err *);

/* Under the lock: BEGIN IMMEDIATE / COMMIT / ROLLBACK; 0 or -1 with err
 * (rollback never fails: it logs). */
int		 store_begin(struct store *, struct dm_err *);
int		 store_commit(struct store *, struct dm_err *);
void		 store_rollback(struct store *);

/* Bind at most max bytes of s (a fixed-size field need not be terminated);
 * SQLITE_OK or an SQLite error code. */
int		 store_bind_text(sqlite3_stmt *, int, const char *, size_t max);
/* Copy column i as text into buf (truncating; NULL reads as ""). */
void		 store_col_text(sqlite3_stmt *, int, char *, size_t);

#endif
