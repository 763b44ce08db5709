/* store.c: opening the SQLite store: parent directories, WAL, forward
 * schema migrations, the prepared statements and the helpers the other
 * store files share. */
/* Threads: MHD workers call in; st->db and st->stmt[] under st->lock. */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "lib/dmerr.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "store_int.h"
#include "store/store_index.h"

/*
 * Forward migrations: migrations[i] takes the schema from version i to
 * i + 1, in one transaction with its schema_version row.  Append only;
 * never edit an entry that has shipped.
 */
static const char *const migrations[] = {
	/* 1: backends seen, container routes, execs, image facts. */
	"CREATE TABLE backends ("
	"  name       TEXT PRIMARY KEY,"
	"  first_seen INTEGER NOT NULL,"
	"  last_seen  INTEGER NOT NULL);"
	"CREATE TABLE containers ("
	"  id      TEXT PRIMARY KEY,"
	"  name    TEXT NOT NULL DEFAULT '',"
	"  backend TEXT NOT NULL,"
	"  rule    TEXT NOT NULL DEFAULT '',"
	"  image   TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL DEFAULT 0);"
	/* Docker names are unique; a container may have none (""). */
	"CREATE UNIQUE INDEX containers_name ON containers(name)"
	"  WHERE name != '';"
	"CREATE INDEX containers_backend ON containers(backend);"
	"CREATE TABLE execs ("
	"  id        TEXT PRIMARY KEY,"
	"  container TEXT NOT NULL"
	"    REFERENCES containers(id) ON DELETE CASCADE);"
	"CREATE INDEX execs_container ON execs(container);"
	"CREATE TABLE images ("
	"  ref     TEXT PRIMARY KEY,"
	"  os      TEXT NOT NULL DEFAULT '',"
	"  arch    TEXT NOT NULL DEFAULT '',"
	"  marker  TEXT NOT NULL DEFAULT '',"
	"  backend TEXT NOT NULL DEFAULT '',"
	"  seen    INTEGER NOT NULL DEFAULT 0);",
	/*
	 * 2: execs expire when unused (the ones there count as used now),
	 * image facts know the image they were learnt from, and both are
	 * found by age.
	 */
	"ALTER TABLE execs ADD COLUMN used INTEGER NOT NULL DEFAULT 0;"
	"UPDATE execs SET used = CAST(strftime('%s', 'now') AS INTEGER);"
	"CREATE INDEX execs_used ON execs(used);"
	"ALTER TABLE images ADD COLUMN image_id TEXT NOT NULL DEFAULT '';"
	"CREATE INDEX images_seen ON images(seen);",
};

#define STORE_SCHEMA_LATEST	((int)NITEMS(migrations))

static const char sql_version_table[] =
    "CREATE TABLE IF NOT EXISTS schema_version ("
    "  version INTEGER PRIMARY KEY,"
    "  applied INTEGER NOT NULL)";
static const char sql_version_exists[] =
    "SELECT count(*) FROM sqlite_master"
    " WHERE type = 'table' AND name = 'schema_version'";
static const char sql_version_add[] =
    "INSERT INTO schema_version (version, applied) VALUES (?1, ?2)";

/*
 * The statements prepared once at open.  The name lookup repeats
 * "name != ''" so the partial unique index can serve it; the prefix
 * lookup is a range on the primary key (ids are hex, see store_routes.c).
 * A route put is an upsert on id, not INSERT OR REPLACE: REPLACE would
 * delete whichever other container holds the name (and cascade its execs)
 * instead of failing, and would drop this container's execs too.
 */
static const char *const stmt_sql[STMT__COUNT] = {
	[STMT_BEGIN] = "BEGIN IMMEDIATE",
	[STMT_COMMIT] = "COMMIT",
	[STMT_ROLLBACK] = "ROLLBACK",
	[STMT_VERSION] =
	    "SELECT coalesce(max(version), 0) FROM schema_version",
	[STMT_BACKEND_SEEN] =
	    "INSERT INTO backends (name, first_seen, last_seen)"
	    " VALUES (?1, ?2, ?2)"
	    " ON CONFLICT (name) DO UPDATE SET last_seen = excluded.last_seen",
	[STMT_ROUTE_PUT] =
	    "INSERT INTO containers (" STORE_ROUTE_COLS ")"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)"
	    " ON CONFLICT (id) DO UPDATE SET name = excluded.name,"
	    " backend = excluded.backend, rule = excluded.rule,"
	    " image = excluded.image, created = excluded.created",
	[STMT_ROUTE_BY_ID] =
	    "SELECT " STORE_ROUTE_COLS " FROM containers WHERE id = ?1",
	[STMT_ROUTE_BY_NAME] =
	    "SELECT " STORE_ROUTE_COLS " FROM containers"
	    " WHERE name = ?1 AND name != ''",
	[STMT_ROUTE_BY_PREFIX] =
	    "SELECT " STORE_ROUTE_COLS " FROM containers"
	    " WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
	[STMT_ROUTE_DEL] = "DELETE FROM containers WHERE id = ?1",
	[STMT_ROUTE_RENAME] = "UPDATE containers SET name = ?2 WHERE id = ?1",
	[STMT_ROUTE_ALL] =
	    "SELECT " STORE_ROUTE_COLS " FROM containers"
	    " ORDER BY created, rowid",
	[STMT_ROUTE_OF_BACKEND] =
	    "SELECT " STORE_ROUTE_COLS " FROM containers WHERE backend = ?1"
	    " ORDER BY created, rowid",
	[STMT_ROUTE_COUNT] = "SELECT count(*) FROM containers",
	[STMT_EXEC_PUT] =
	    "INSERT OR REPLACE INTO execs (id, container, used)"
	    " VALUES (?1, ?2, ?3)",
	[STMT_EXEC_FIND] = "SELECT container FROM execs WHERE id = ?1",
	[STMT_EXEC_TOUCH] = "UPDATE execs SET used = ?2 WHERE id = ?1",
	[STMT_EXEC_EXPIRE] = "DELETE FROM execs WHERE used < ?1",
	[STMT_EXEC_DEL_OF] = "DELETE FROM execs WHERE container = ?1",
	[STMT_IMAGE_PUT] =
	    "INSERT OR REPLACE INTO images"
	    " (ref, os, arch, marker, backend, seen, image_id)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
	[STMT_IMAGE_FIND] =
	    "SELECT ref, os, arch, marker, backend, seen, image_id FROM images"
	    " WHERE ref = ?1 AND seen >= ?2",
	[STMT_IMAGE_EXPIRE] = "DELETE FROM images WHERE seen < ?1",
	[STMT_IMAGE_DROP_MOVED] =
	    "DELETE FROM images WHERE ref = ?1 AND image_id != ''"
	    " AND image_id != ?2",
};

void
store_lock(struct store *st)
{
	if (pthread_mutex_lock(&st->lock) != 0)
		fatalx("msg=\"store: mutex lock failed\"");
}

void
store_unlock(struct store *st)
{
	pthread_mutex_unlock(&st->lock);
}

sqlite3_stmt *
store_stmt(struct store *st, enum store_stmt which)
{
	return st->stmt[which];
}

void
store_stmt_done(sqlite3_stmt *stmt)
{
	sqlite3_reset(stmt);
	sqlite3_clear_bindings(stmt);
}

int
store_fail(struct store *st, struct dm_err *err, const char *what)
{
	const char	*why = sqlite3_errmsg(st->db);

	/* Logged under the lock: rare, and errmsg is only valid here.
	 * SQLite's text stays in the log: clients get what failed only. */
	log_warnx("msg=\"store failed\" op=%s error=%s", log_q(what),
	    log_q(why));
	dm_err_set(err, DM_EINTERNAL, "dockmux store: %s failed (details in "
	    "the dockmuxd log)", what);
	return -1;
}

int
store_run(struct store *st, enum store_stmt which,
    const struct store_arg *args, size_t nargs, int conflict,
    const char *what, struct dm_err *err)
{
	sqlite3_stmt	*stmt = store_stmt(st, which);
	size_t		 i;
	int		 rc = -1, b;

	for (i = 0; i < nargs; i++) {
		if (args[i].s != NULL)
			b = store_bind_text(stmt, (int)i + 1, args[i].s,
			    args[i].max);
		else
			b = sqlite3_bind_int64(stmt, (int)i + 1,
			    (sqlite3_int64)args[i].n);
		if (b != SQLITE_OK) {
			store_fail(st, err, what);
			goto out;
		}
	}
	if (sqlite3_step(stmt) != SQLITE_DONE) {
		/* The caller explains its conflict (it may query to do so). */
		if (conflict != 0 &&
		    sqlite3_extended_errcode(st->db) == conflict)
			rc = 1;
		else
			store_fail(st, err, what);
		goto out;
	}
	rc = 0;
out:
	store_stmt_done(stmt);
	return rc;
}

int
store_begin(struct store *st, struct dm_err *err)
{
	return store_run(st, STMT_BEGIN, NULL, 0, 0, "begin", err);
}

int
store_commit(struct store *st, struct dm_err *err)
{
	if (store_run(st, STMT_COMMIT, NULL, 0, 0, "commit", err) == -1) {
		store_rollback(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	/* After some errors SQLite has already rolled back: not a failure. */
	if (sqlite3_get_autocommit(st->db))
		return;
	store_run(st, STMT_ROLLBACK, NULL, 0, 0, "rollback", NULL);
}

int
store_bind_text(sqlite3_stmt *stmt, int i, const char *s, size_t max)
{
	return sqlite3_bind_text(stmt, i, s, (int)strnlen(s, max),
	    SQLITE_TRANSIENT);
}

void
store_col_text(sqlite3_stmt *stmt, int i, char *buf, size_t len)
{
	const unsigned char	*s = sqlite3_column_text(stmt, i);
	size_t			 n;

	if (len == 0)
		return;
	n = s == NULL ? 0 : (size_t)sqlite3_column_bytes(stmt, i);
	if (n >= len)
		n = len - 1;
	if (n > 0)
		memcpy(buf, s, n);
	buf[n] = '\0';
}

/* Create the directories above path (mkdir -p, mode 0700); 0 or -1. */
static int
make_parents(const char *path, struct dm_err *err)
{
	char	*copy, *p;
	int	 rc = -1;

	copy = strdup(path);
	if (copy == NULL) {
		dm_err_set(err, DM_EINTERNAL, "store: out of memory");
		goto out;
	}
	for (p = strchr(copy + 1, '/'); p != NULL; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(copy, 0700) == -1 && errno != EEXIST) {
			dm_err_set(err, DM_EINTERNAL, "store: mkdir %s: %s",
			    copy, strerror(errno));
			goto out;
		}
		*p = '/';
	}
	rc = 0;
out:
	free(copy);
	return rc;
}

/* One-off SQL during open (no lock needed yet); 0 or -1 with err. */
static int
exec_sql(sqlite3 *db, const char *sql, const char *what, struct dm_err *err)
{
	char	*msg = NULL;
	int	 rc = -1;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		dm_err_set(err, DM_EINTERNAL, "store: %s: %s", what,
		    msg != NULL ? msg : sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_free(msg);
	return rc;
}

/* The first column of sql's first row, as an integer; 0 or -1 with err. */
static int
query_int(sqlite3 *db, const char *sql, long long *out, struct dm_err *err)
{
	sqlite3_stmt	*stmt = NULL;
	int		 rc = -1;

	if (sqlite3_prepare_v2(db, sql, -1, &stmt, NULL) != SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_ROW) {
		dm_err_set(err, DM_EINTERNAL, "store: %s", sqlite3_errmsg(db));
		goto out;
	}
	*out = sqlite3_column_int64(stmt, 0);
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * The file's schema version: 0 for a new file (no schema_version table),
 * -1 with err on error or when it is newer than this program knows.
 */
static int
read_version(sqlite3 *db, struct dm_err *err)
{
	long long	n, v;

	if (query_int(db, sql_version_exists, &n, err) == -1)
		return -1;
	if (n == 0)
		return 0;
	if (query_int(db, stmt_sql[STMT_VERSION], &v, err) == -1)
		return -1;
	if (v < 0 || v > STORE_SCHEMA_LATEST) {
		dm_err_set(err, DM_EINTERNAL, "store: schema version %lld is "
		    "newer than this dockmuxd knows (%d)", v,
		    STORE_SCHEMA_LATEST);
		return -1;
	}
	return (int)v;
}

static int
add_version(sqlite3 *db, int version, struct dm_err *err)
{
	sqlite3_stmt	*stmt = NULL;
	int		 rc = -1;

	if (sqlite3_prepare_v2(db, sql_version_add, -1, &stmt, NULL) !=
	    SQLITE_OK ||
	    sqlite3_bind_int(stmt, 1, version) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)time(NULL)) !=
	    SQLITE_OK ||
	    sqlite3_step(stmt) != SQLITE_DONE) {
		dm_err_set(err, DM_EINTERNAL, "store: schema_version: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

/*
 * Apply every migration the file lacks, each in its own transaction.  The
 * version is read again inside each one, so two processes opening the
 * same new file do not both apply it.
 */
static int
migrate(sqlite3 *db, struct dm_err *err)
{
	size_t	i;
	int	v;

	if (exec_sql(db, sql_version_table, "schema_version", err) == -1)
		return -1;
	for (i = 0; i < NITEMS(migrations); i++) {
		if (exec_sql(db, "BEGIN IMMEDIATE", "begin", err) == -1)
			return -1;
		v = read_version(db, err);
		if (v == -1)
			goto fail;
		if ((size_t)v <= i) {
			if (exec_sql(db, migrations[i], "migration", err) ==
			    -1 || add_version(db, (int)i + 1, err) == -1)
				goto fail;
			log_info("msg=\"store schema migrated\" version=%zu",
			    i + 1);
		}
		if (exec_sql(db, "COMMIT", "commit", err) == -1)
			goto fail;
	}
	return 0;
fail:
	if (!sqlite3_get_autocommit(db))
		exec_sql(db, "ROLLBACK", "rollback", NULL);
	return -1;
}

/* WAL, relaxed fsync (safe with WAL), foreign keys; 0 or -1 with err. */
static int
set_pragmas(sqlite3 *db, const char *path, struct dm_err *err)
{
	sqlite3_stmt		*stmt = NULL;
	const unsigned char	*mode;
	int			 rc = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA journal_mode = WAL", -1, &stmt,
	    NULL) != SQLITE_OK || sqlite3_step(stmt) != SQLITE_ROW) {
		dm_err_set(err, DM_EINTERNAL, "store: journal_mode: %s",
		    sqlite3_errmsg(db));
		goto out;
	}
	mode = sqlite3_column_text(stmt, 0);
	/* An in-memory database answers "memory"; a working store still. */
	if (mode == NULL || strcmp((const char *)mode, "wal") != 0)
		log_warnx("msg=\"store not in WAL mode\" path=%s mode=%s",
		    log_q(path), log_q((const char *)mode));
	if (exec_sql(db, "PRAGMA synchronous = NORMAL", "synchronous",
	    err) == -1 ||
	    exec_sql(db, "PRAGMA foreign_keys = ON", "foreign_keys",
	    err) == -1)
		goto out;
	rc = 0;
out:
	sqlite3_finalize(stmt);
	return rc;
}

struct store *
store_open(const char *path, struct dm_err *err)
{
	struct store	*st = NULL, *ret = NULL;
	size_t		 i;

	if (path == NULL || *path == '\0') {
		dm_err_set(err, DM_EINTERNAL, "store: no path");
		goto out;
	}
	st = calloc(1, sizeof(*st));
	if (st == NULL) {
		dm_err_set(err, DM_EINTERNAL, "store: out of memory");
		goto out;
	}
	if (pthread_mutex_init(&st->lock, NULL) != 0) {
		dm_err_set(err, DM_EINTERNAL, "store: mutex init failed");
		free(st);
		st = NULL;
		goto out;
	}
	if (make_parents(path, err) == -1)
		goto out;
	/* NOMUTEX: st->lock already serialises every use of db. */
	if (sqlite3_open_v2(path, &st->db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		dm_err_set(err, DM_EINTERNAL, "store: open %s: %s", path,
		    st->db != NULL ? sqlite3_errmsg(st->db) : "out of memory");
		goto out;
	}
	sqlite3_extended_result_codes(st->db, 1);
	sqlite3_busy_timeout(st->db, DM_STORE_BUSY_TIMEOUT_MS);
	/* Refuse a newer file before changing anything in it. */
	if (read_version(st->db, err) == -1 ||
	    set_pragmas(st->db, path, err) == -1 ||
	    migrate(st->db, err) == -1)
		goto out;
	for (i = 0; i < STMT__COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
		    SQLITE_PREPARE_PERSISTENT, &st->stmt[i], NULL) !=
		    SQLITE_OK) {
			dm_err_set(err, DM_EINTERNAL, "store: prepare %zu: %s",
			    i, sqlite3_errmsg(st->db));
			goto out;
		}
	}
	ret = st;
	st = NULL;
out:
	if (st != NULL)
		store_close(st);
	return ret;
}

void
store_close(struct store *st)
{
	size_t	i;

	if (st == NULL)
		return;
	for (i = 0; i < STMT__COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	store_index_free(st->idx);
	if (sqlite3_close(st->db) != SQLITE_OK)
		log_warnx("msg=\"store close failed\" error=%s",
		    log_q(sqlite3_errmsg(st->db)));
	pthread_mutex_destroy(&st->lock);
	free(st);
}

/* The schema version in the file, or -1 (logged) on error. */
int
store_schema_version(struct store *st)
{
	sqlite3_stmt	*stmt;
	int		 v = -1;

	store_lock(st);
	stmt = store_stmt(st, STMT_VERSION);
	if (sqlite3_step(stmt) != SQLITE_ROW) {
		store_fail(st, NULL, "schema version");
		goto out;
	}
	v = sqlite3_column_int(stmt, 0);
out:
	store_stmt_done(stmt);
	store_unlock(st);
	return v;
}

int
store_backend_seen(struct store *st, const char *name, struct dm_err *err)
{
	const struct store_arg	args[] = {
		STORE_TEXT(name, DM_MAX_NAME),
		STORE_INT(time(NULL)),
	};
	int			rc;

	if (name == NULL || *name == '\0') {
		dm_err_set(err, DM_EINTERNAL, "store: backend without name");
		return -1;
	}
	store_lock(st);
	rc = store_run(st, STMT_BACKEND_SEEN, args, NITEMS(args), 0,
	    "backend seen", err);
	store_unlock(st);
	return rc;
}
