/* check_store.c: the SQLite store: schema and migrations, routes, container
 * reference resolution, execs, image facts, canonical image references. */
/* Threads: Check's runner; the concurrency case adds writer threads. */

#include <sys/stat.h>

#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <sqlite3.h>

#include "lib/dmerr.h"
#include "lib/log.h"
#include "store/store.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))
#define SCHEMA_LATEST	2		/* migrations in store.c */
#define NOW		((long long)time(NULL))

/* 64-hex IDs: two share the prefix "3f2", the third starts with "9c". */
#define ID_WEB	"3f2a0000000000000000000000000000" \
		"00000000000000000000000000000001"
#define ID_DB	"3f2b0000000000000000000000000000" \
		"00000000000000000000000000000002"
#define ID_ODD	"9c000000000000000000000000000000" \
		"00000000000000000000000000000003"
#define HEX64	"0123456789abcdef0123456789abcdef" \
		"0123456789abcdef0123456789abcdef"

#define CONFLICT(name, id)						\
	"Conflict. The container name \"/" name "\" is already in use by " \
	"container \"" id "\". You have to remove (or rename) that "	\
	"container to be able to reuse that name."

static char		 tmpdir[] = "/tmp/check_store.XXXXXX";
static char		 dbpath[256];
static struct store	*st;

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tmpdir_setup(void)
{
	strcpy(tmpdir, "/tmp/check_store.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	/* Two missing levels: store_open() must create them. */
	snprintf(dbpath, sizeof(dbpath), "%s/var/dockmux/dockmux.db", tmpdir);
	st = NULL;
}

static void
tmpdir_teardown(void)
{
	store_close(st);
	st = NULL;
	nftw(tmpdir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static struct store *
open_ok(void)
{
	struct dm_err	 err = { 0 };
	struct store	*s;

	s = store_open(dbpath, &err);
	ck_assert_msg(s != NULL, "store_open: %s", err.msg);
	return s;
}

static struct store_route
route(const char *id, const char *name, const char *backend,
    long long created)
{
	struct store_route	r;

	memset(&r, 0, sizeof(r));
	snprintf(r.id, sizeof(r.id), "%s", id);
	snprintf(r.name, sizeof(r.name), "%s", name);
	snprintf(r.backend, sizeof(r.backend), "%s", backend);
	snprintf(r.rule, sizeof(r.rule), "pin");
	snprintf(r.image, sizeof(r.image), "busybox");
	r.created = created;
	return r;
}

static void
put_ok(const char *id, const char *name, const char *backend,
    long long created)
{
	struct store_route	r = route(id, name, backend, created);
	struct dm_err		err = { 0 };

	ck_assert_msg(store_route_put(st, &r, &err) == 0, "put %s: %s", id,
	    err.msg);
}

/* Run one SQL statement on the file through a connection of our own. */
static void
raw_sql(const char *sql, char *answer, size_t len)
{
	sqlite3		*db;
	sqlite3_stmt	*stmt;
	int		 rc;

	ck_assert_int_eq(sqlite3_open(dbpath, &db), SQLITE_OK);
	ck_assert_int_eq(sqlite3_prepare_v2(db, sql, -1, &stmt, NULL),
	    SQLITE_OK);
	rc = sqlite3_step(stmt);
	ck_assert(rc == SQLITE_ROW || rc == SQLITE_DONE);
	if (answer != NULL)
		snprintf(answer, len, "%s", rc == SQLITE_ROW ?
		    (const char *)sqlite3_column_text(stmt, 0) : "");
	sqlite3_finalize(stmt);
	sqlite3_close(db);
}

/* Schema and migrations */

START_TEST(test_open_creates_parents)
{
	struct stat	sb;
	char		dir[300];

	st = open_ok();
	ck_assert_int_eq(store_schema_version(st), SCHEMA_LATEST);
	snprintf(dir, sizeof(dir), "%s/var/dockmux", tmpdir);
	ck_assert_int_eq(stat(dir, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0700);
	ck_assert_int_eq(store_route_count(st), 0);
}
END_TEST

START_TEST(test_wal_mode_on)
{
	char	mode[32];

	st = open_ok();
	raw_sql("PRAGMA journal_mode", mode, sizeof(mode));
	ck_assert_str_eq(mode, "wal");
}
END_TEST

START_TEST(test_reopen_keeps_routes)
{
	struct store_route	r;
	struct dm_err		err = { 0 };
	char			cid[STORE_ID_MAX];

	st = open_ok();
	put_ok(ID_WEB, "web", "native", 10);
	put_ok(ID_DB, "db", "vm", 11);
	ck_assert_int_eq(store_exec_put(st, "e1", ID_DB, NOW, &err), 0);
	store_close(st);

	st = open_ok();
	ck_assert_int_eq(store_schema_version(st), SCHEMA_LATEST);
	ck_assert_int_eq(store_route_count(st), 2);
	ck_assert_int_eq(store_route_find(st, "web", &r, &err), 0);
	ck_assert_str_eq(r.id, ID_WEB);
	ck_assert_str_eq(r.backend, "native");
	ck_assert_int_eq(store_route_find(st, ID_DB, &r, &err), 0);
	ck_assert_str_eq(r.backend, "vm");
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), 0);
	ck_assert_str_eq(cid, ID_DB);
}
END_TEST

START_TEST(test_reopen_does_not_migrate_again)
{
	char	n[32];

	st = open_ok();
	store_close(st);
	st = open_ok();
	store_close(st);
	st = NULL;
	raw_sql("SELECT count(*) FROM schema_version", n, sizeof(n));
	ck_assert_int_eq(atoi(n), SCHEMA_LATEST);
}
END_TEST

/*
 * A store from before execs expired and facts knew their image: its
 * execs count as used when migrated (none is lost on the next put), its
 * facts carry no ID.
 */
START_TEST(test_migrated_from_1)
{
	static const char *const to_1[] = {
		"DROP INDEX execs_used",
		"ALTER TABLE execs DROP COLUMN used",
		"DROP INDEX images_seen",
		"ALTER TABLE images DROP COLUMN image_id",
		"DELETE FROM schema_version WHERE version > 1",
		"INSERT INTO containers (id, backend) VALUES ('" ID_WEB "',"
		    " 'native')",
		"INSERT INTO execs (id, container) VALUES ('e1', '" ID_WEB "')",
	};
	struct store_image	out;
	struct dm_err		err = { 0 };
	char			sql[256], cid[STORE_ID_MAX];
	size_t			i;

	st = open_ok();
	store_close(st);
	st = NULL;
	for (i = 0; i < NITEMS(to_1); i++)
		raw_sql(to_1[i], NULL, 0);
	snprintf(sql, sizeof(sql), "INSERT INTO images (ref, os, seen) VALUES"
	    " ('docker.io/library/alpine:latest', 'linux', %lld)", NOW);
	raw_sql(sql, NULL, 0);

	st = open_ok();
	ck_assert_int_eq(store_schema_version(st), SCHEMA_LATEST);
	ck_assert_int_eq(store_exec_put(st, "e2", ID_WEB, NOW, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), 0);
	ck_assert_str_eq(cid, ID_WEB);
	ck_assert_int_eq(store_image_find(st, "alpine", &out, &err), 0);
	ck_assert_str_eq(out.os, "linux");
	ck_assert_str_eq(out.id, "");
}
END_TEST

START_TEST(test_newer_schema_refused)
{
	struct dm_err	err = { 0 };

	st = open_ok();
	store_close(st);
	st = NULL;
	raw_sql("INSERT INTO schema_version (version, applied)"
	    " VALUES (99, 0)", NULL, 0);
	st = store_open(dbpath, &err);
	ck_assert_ptr_null(st);
	ck_assert_msg(strstr(err.msg, "newer") != NULL, "got \"%s\"", err.msg);
	ck_assert_msg(strstr(err.msg, "99") != NULL, "got \"%s\"", err.msg);
}
END_TEST

START_TEST(test_existing_plain_file_migrated)
{
	char	dir[300];

	/* A database someone else created first, without our tables. */
	snprintf(dir, sizeof(dir), "%s/var", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(dir, sizeof(dir), "%s/var/dockmux", tmpdir);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	raw_sql("CREATE TABLE other (x)", NULL, 0);
	st = open_ok();
	ck_assert_int_eq(store_schema_version(st), SCHEMA_LATEST);
	put_ok(ID_WEB, "web", "native", 1);
}
END_TEST

START_TEST(test_unusable_path_refused)
{
	struct dm_err	err = { 0 };
	char		file[300];
	FILE		*f;

	/* A parent "directory" that is a regular file. */
	snprintf(file, sizeof(file), "%s/plain", tmpdir);
	f = fopen(file, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	snprintf(dbpath, sizeof(dbpath), "%s/plain/dockmux.db", tmpdir);
	ck_assert_ptr_null(store_open(dbpath, &err));
	ck_assert_int_eq(err.st, DM_EINTERNAL);
	ck_assert_ptr_null(store_open("", &err));
}
END_TEST

START_TEST(test_backend_seen)
{
	struct dm_err	err = { 0 };
	char		n[32];

	st = open_ok();
	ck_assert_int_eq(store_backend_seen(st, "native", &err), 0);
	ck_assert_int_eq(store_backend_seen(st, "native", &err), 0);
	ck_assert_int_eq(store_backend_seen(st, "vm", &err), 0);
	ck_assert_int_eq(store_backend_seen(st, "", &err), -1);
	raw_sql("SELECT count(*) FROM backends", n, sizeof(n));
	ck_assert_str_eq(n, "2");
}
END_TEST

/* Routes */

static void
routes_setup(void)
{
	tmpdir_setup();
	st = open_ok();
}

START_TEST(test_put_find_all_fields)
{
	struct store_route	in, out;
	struct dm_err		err = { 0 };

	in = route(ID_WEB, "web", "vm", 1700000000LL);
	snprintf(in.rule, sizeof(in.rule), "isolation");
	snprintf(in.image, sizeof(in.image), "127.0.0.1:5000/x:1");
	ck_assert_int_eq(store_route_put(st, &in, &err), 0);
	ck_assert_int_eq(store_route_find(st, ID_WEB, &out, &err), 0);
	ck_assert_str_eq(out.id, ID_WEB);
	ck_assert_str_eq(out.name, "web");
	ck_assert_str_eq(out.backend, "vm");
	ck_assert_str_eq(out.rule, "isolation");
	ck_assert_str_eq(out.image, "127.0.0.1:5000/x:1");
	ck_assert_int_eq(out.created, 1700000000LL);
}
END_TEST

START_TEST(test_put_same_id_replaces)
{
	struct store_route	r;
	struct dm_err		err = { 0 };
	char			cid[STORE_ID_MAX];

	put_ok(ID_WEB, "web", "native", 1);
	ck_assert_int_eq(store_exec_put(st, "e1", ID_WEB, NOW, &err), 0);
	put_ok(ID_WEB, "web2", "vm", 2);
	ck_assert_int_eq(store_route_count(st), 1);
	ck_assert_int_eq(store_route_find(st, "web2", &r, &err), 0);
	ck_assert_str_eq(r.backend, "vm");
	ck_assert_int_eq(store_route_find(st, "web", &r, &err), -1);
	/* Replacing the route is not removing the container. */
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), 0);
}
END_TEST

START_TEST(test_put_name_conflict)
{
	struct store_route	r = route(ID_DB, "web", "vm", 2);
	struct dm_err		err = { 0 };

	put_ok(ID_WEB, "web", "native", 1);
	ck_assert_int_eq(store_route_put(st, &r, &err), -1);
	ck_assert_int_eq(err.st, DM_ECONFLICT);
	ck_assert_str_eq(err.msg, CONFLICT("web", ID_WEB));
	/* The holder is untouched, the newcomer absent. */
	ck_assert_int_eq(store_route_find(st, "web", &r, &err), 0);
	ck_assert_str_eq(r.id, ID_WEB);
	ck_assert_int_eq(store_route_count(st), 1);
	/* A leading '/' is the same name. */
	r = route(ID_DB, "/web", "vm", 2);
	ck_assert_int_eq(store_route_put(st, &r, &err), -1);
	ck_assert_int_eq(err.st, DM_ECONFLICT);
}
END_TEST

START_TEST(test_unnamed_routes_coexist)
{
	put_ok(ID_WEB, "", "native", 1);
	put_ok(ID_DB, "", "native", 2);
	ck_assert_int_eq(store_route_count(st), 2);
}
END_TEST

START_TEST(test_rename)
{
	struct store_route	r;
	struct dm_err		err = { 0 };

	put_ok(ID_WEB, "web", "native", 1);
	put_ok(ID_DB, "db", "native", 2);
	ck_assert_int_eq(store_route_rename(st, ID_WEB, "/front", &err), 0);
	ck_assert_int_eq(store_route_find(st, "front", &r, &err), 0);
	ck_assert_str_eq(r.id, ID_WEB);
	ck_assert_int_eq(store_route_find(st, "web", &r, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	/* To its own name: fine. */
	ck_assert_int_eq(store_route_rename(st, ID_WEB, "front", &err), 0);

	ck_assert_int_eq(store_route_rename(st, ID_DB, "front", &err), -1);
	ck_assert_int_eq(err.st, DM_ECONFLICT);
	ck_assert_str_eq(err.msg, CONFLICT("front", ID_WEB));
	ck_assert_int_eq(store_route_find(st, "db", &r, &err), 0);
	ck_assert_str_eq(r.id, ID_DB);

	ck_assert_int_eq(store_route_rename(st, ID_ODD, "x", &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_int_eq(store_route_rename(st, ID_DB, "/", &err), -1);
	ck_assert_int_eq(err.st, DM_EBADREQ);
}
END_TEST

START_TEST(test_del_and_lookup_after_remove)
{
	struct store_route	r;
	struct dm_err		err = { 0 };

	/* seed: "lookup after remove -> 404" */
	put_ok(ID_WEB, "web", "native", 1);
	ck_assert_int_eq(store_route_del(st, ID_WEB, &err), 0);
	ck_assert_int_eq(store_route_find(st, ID_WEB, &r, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_str_eq(err.msg, "No such container: " ID_WEB);
	ck_assert_int_eq(store_route_find(st, "web", &r, &err), -1);
	ck_assert_str_eq(err.msg, "No such container: web");
	/* The name is free again; deleting nothing is fine. */
	put_ok(ID_DB, "web", "vm", 2);
	ck_assert_int_eq(store_route_del(st, ID_WEB, &err), 0);
	ck_assert_int_eq(store_route_count(st), 1);
}
END_TEST

struct collect {
	char	ids[8][STORE_ID_MAX];
	size_t	n;
	size_t	stop_after;
	size_t	count_inside;
};

static int
collect_fn(const struct store_route *r, void *arg)
{
	struct collect	*c = arg;

	snprintf(c->ids[c->n++], STORE_ID_MAX, "%s", r->id);
	/* The lock is not held here: the store may be called. */
	c->count_inside = store_route_count(st);
	return c->n == c->stop_after;
}

START_TEST(test_each)
{
	struct collect	c;
	struct dm_err	err = { 0 };

	/* Put out of creation order: each walks by created. */
	put_ok(ID_ODD, "odd", "vm", 30);
	put_ok(ID_WEB, "web", "native", 10);
	put_ok(ID_DB, "db", "native", 20);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_route_each(st, NULL, collect_fn, &c, &err), 0);
	ck_assert_uint_eq(c.n, 3);
	ck_assert_str_eq(c.ids[0], ID_WEB);
	ck_assert_str_eq(c.ids[1], ID_DB);
	ck_assert_str_eq(c.ids[2], ID_ODD);
	ck_assert_uint_eq(c.count_inside, 3);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_route_each(st, "native", collect_fn, &c,
	    &err), 0);
	ck_assert_uint_eq(c.n, 2);
	ck_assert_str_eq(c.ids[1], ID_DB);

	memset(&c, 0, sizeof(c));
	c.stop_after = 1;
	ck_assert_int_eq(store_route_each(st, NULL, collect_fn, &c, &err), 0);
	ck_assert_uint_eq(c.n, 1);

	memset(&c, 0, sizeof(c));
	ck_assert_int_eq(store_route_each(st, "none", collect_fn, &c, &err),
	    0);
	ck_assert_uint_eq(c.n, 0);
}
END_TEST

/* Resolution: dockerd's order, full ID, name, unique prefix. */

static const struct {
	const char	*test;	/* seed scenario or behaviour */
	const char	*ref;
	const char	*want_id;	/* NULL: an error */
	enum dm_status	 want_st;
	const char	*want_msg;
} resolve_cases[] = {
	{ "full id", ID_WEB, ID_WEB, DM_OK, NULL },
	{ "name", "web", ID_WEB, DM_OK, NULL },
	{ "slash name", "/web", ID_WEB, DM_OK, NULL },
	{ "unique prefix", "3f2b", ID_DB, DM_OK, NULL },
	{ "one digit prefix", "9", ID_ODD, DM_OK, NULL },
	{ "name beats prefix", "3f2a", ID_ODD, DM_OK, NULL },
	{ "ambiguous prefix", "3f2", NULL, DM_EBADREQ,
	    "multiple IDs found with provided prefix: 3f2" },
	{ "unknown", "x", NULL, DM_ENOTFOUND, "No such container: x" },
	{ "empty", "", NULL, DM_ENOTFOUND, "No such container: " },
	{ "only slash", "/", NULL, DM_ENOTFOUND, "No such container: /" },
	{ "two slashes", "//web", NULL, DM_ENOTFOUND,
	    "No such container: //web" },
	{ "name is case sensitive", "WEB", NULL, DM_ENOTFOUND,
	    "No such container: WEB" },
	{ "upper-case hex", "3F2B", NULL, DM_ENOTFOUND,
	    "No such container: 3F2B" },
	{ "LIKE wildcard", "3f2%", NULL, DM_ENOTFOUND,
	    "No such container: 3f2%" },
	{ "LIKE one char", "3f2_", NULL, DM_ENOTFOUND,
	    "No such container: 3f2_" },
	{ "id plus one", ID_WEB "0", NULL, DM_ENOTFOUND,
	    "No such container: " ID_WEB "0" },
	{ "unknown prefix", "ab", NULL, DM_ENOTFOUND,
	    "No such container: ab" },
};

static void
resolve_setup(void)
{
	routes_setup();
	put_ok(ID_WEB, "web", "native", 1);
	put_ok(ID_DB, "db", "vm", 2);
	put_ok(ID_ODD, "3f2a", "vm", 3);
}

START_TEST(test_resolve)
{
	struct store_route	r;
	struct dm_err		err = { 0 };
	int			rc;

	rc = store_route_find(st, resolve_cases[_i].ref, &r, &err);
	if (resolve_cases[_i].want_id != NULL) {
		ck_assert_msg(rc == 0, "%s: %s", resolve_cases[_i].test,
		    err.msg);
		ck_assert_str_eq(r.id, resolve_cases[_i].want_id);
	} else {
		ck_assert_msg(rc == -1, "%s: found %s", resolve_cases[_i].test,
		    r.id);
		ck_assert_int_eq(err.st, resolve_cases[_i].want_st);
		ck_assert_str_eq(err.msg, resolve_cases[_i].want_msg);
	}
}
END_TEST

/*
 * Many routes: the in-memory index grows and still finds each by ID,
 * name and prefix; a reopened store (another process) reads the table.
 */
START_TEST(test_index_many_routes)
{
	struct store_route	r, got;
	struct dm_err		err = { 0 };
	char			prefix[13];
	int			i;

	ck_assert_int_eq(store_route_find(st, "nothing-yet", &got, &err), -1);
	for (i = 0; i < 3000; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.id, sizeof(r.id), "%012x%052d", i, 0);
		snprintf(r.name, sizeof(r.name), "/c%d", i);
		snprintf(r.backend, sizeof(r.backend), "%s", i % 2 ? "a" : "b");
		ck_assert_int_eq(store_route_put(st, &r, &err), 0);
	}
	for (i = 0; i < 3000; i += 7) {
		snprintf(prefix, sizeof(prefix), "%012x", i);
		ck_assert_int_eq(store_route_find(st, prefix, &got, &err), 0);
		snprintf(r.name, sizeof(r.name), "c%d", i);
		ck_assert_str_eq(got.name, r.name);
		ck_assert_int_eq(store_route_find(st, r.name, &got, &err), 0);
		ck_assert_str_eq(got.backend, i % 2 ? "a" : "b");
		ck_assert_int_eq(store_route_find(st, got.id, &got, &err), 0);
	}
	ck_assert_int_eq(store_route_rename(st, got.id, "/renamed", &err), 0);
	ck_assert_int_eq(store_route_find(st, "renamed", &r, &err), 0);
	ck_assert_str_eq(r.id, got.id);
	ck_assert_int_eq(store_route_del(st, got.id, &err), 0);
	ck_assert_int_eq(store_route_find(st, "renamed", &r, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	/* "0000000000" is a prefix of ten IDs: ambiguous. */
	ck_assert_int_eq(store_route_find(st, "0000000000", &r, &err), -1);
	ck_assert_int_eq(err.st, DM_EBADREQ);
	store_close(st);
	st = open_ok();
	ck_assert_int_eq(store_route_find(st, "c1", &got, &err), 0);
	ck_assert_str_eq(got.backend, "a");
	ck_assert_int_eq(store_route_find(st, "renamed", &got, &err), -1);
}
END_TEST

/* Execs */

START_TEST(test_exec_put_find)
{
	struct dm_err	err = { 0 };
	char		cid[STORE_ID_MAX];

	put_ok(ID_WEB, "web", "native", 1);
	put_ok(ID_DB, "db", "vm", 2);
	ck_assert_int_eq(store_exec_put(st, "e1", ID_WEB, NOW, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), 0);
	ck_assert_str_eq(cid, ID_WEB);
	ck_assert_int_eq(store_exec_put(st, "e1", ID_DB, NOW, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), 0);
	ck_assert_str_eq(cid, ID_DB);

	ck_assert_int_eq(store_exec_find(st, "nope", cid, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_str_eq(err.msg, "No such exec instance: nope");
}
END_TEST

START_TEST(test_exec_needs_container)
{
	struct dm_err	err = { 0 };

	/* Foreign keys are on: no exec for an unknown container. */
	ck_assert_int_eq(store_exec_put(st, "e1", ID_WEB, NOW, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_str_eq(err.msg, "No such container: " ID_WEB);
}
END_TEST

START_TEST(test_del_drops_execs)
{
	struct dm_err	err = { 0 };
	char		cid[STORE_ID_MAX];

	put_ok(ID_WEB, "web", "native", 1);
	put_ok(ID_DB, "db", "native", 2);
	ck_assert_int_eq(store_exec_put(st, "e1", ID_WEB, NOW, &err), 0);
	ck_assert_int_eq(store_exec_put(st, "e2", ID_WEB, NOW, &err), 0);
	ck_assert_int_eq(store_exec_put(st, "e3", ID_DB, NOW, &err), 0);
	ck_assert_int_eq(store_route_del(st, ID_WEB, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "e1", cid, &err), -1);
	ck_assert_str_eq(err.msg, "No such exec instance: e1");
	ck_assert_int_eq(store_exec_find(st, "e2", cid, &err), -1);
	ck_assert_int_eq(store_exec_find(st, "e3", cid, &err), 0);
	ck_assert_str_eq(cid, ID_DB);
}
END_TEST

/*
 * An exec'd-again container does not grow the table for ever: execs
 * unused for DM_STORE_EXEC_IDLE_S go when the next one is recorded.
 */
START_TEST(test_exec_unused_expire)
{
	struct dm_err	err = { 0 };
	char		cid[STORE_ID_MAX];
	long long	now = NOW;

	put_ok(ID_WEB, "web", "native", 1);
	ck_assert_int_eq(store_exec_put(st, "old", ID_WEB,
	    now - DM_STORE_EXEC_IDLE_S - 10, &err), 0);
	ck_assert_int_eq(store_exec_put(st, "recent", ID_WEB,
	    now - DM_STORE_EXEC_IDLE_S + 60, &err), 0);
	ck_assert_int_eq(store_exec_put(st, "new", ID_WEB, now, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "old", cid, &err), -1);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_int_eq(store_exec_find(st, "recent", cid, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "new", cid, &err), 0);
	ck_assert_str_eq(cid, ID_WEB);
}
END_TEST

/* A lookup (start, resize, inspect) counts as use: a long session stays. */
START_TEST(test_exec_lookup_renews)
{
	struct dm_err	err = { 0 };
	char		cid[STORE_ID_MAX];
	long long	now = NOW;

	put_ok(ID_WEB, "web", "native", 1);
	ck_assert_int_eq(store_exec_put(st, "session", ID_WEB,
	    now - DM_STORE_EXEC_IDLE_S + 60, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "session", cid, &err), 0);
	/* A day later, for the old time; the lookup made it "now". */
	ck_assert_int_eq(store_exec_put(st, "later", ID_WEB,
	    now + DM_STORE_EXEC_IDLE_S - 60, &err), 0);
	ck_assert_int_eq(store_exec_find(st, "session", cid, &err), 0);
}
END_TEST

/* Image facts */

/* Facts for ref learnt at seen from image id, on backend native. */
static struct store_image
facts(const char *ref, const char *os, const char *id, long long seen)
{
	struct store_image	img;

	memset(&img, 0, sizeof(img));
	snprintf(img.ref, sizeof(img.ref), "%s", ref);
	snprintf(img.os, sizeof(img.os), "%s", os);
	snprintf(img.arch, sizeof(img.arch), "amd64");
	snprintf(img.backend, sizeof(img.backend), "native");
	snprintf(img.id, sizeof(img.id), "%s", id);
	img.seen = seen;
	return img;
}

/* Old facts are not used, and the next put drops them from the file. */
START_TEST(test_image_facts_expire)
{
	struct store_image	in, out;
	struct dm_err		err = { 0 };
	char			n[32];

	in = facts("old", "windows", "", NOW - DM_STORE_IMAGE_FACTS_S - 10);
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);
	ck_assert_int_eq(store_image_find(st, "old", &out, &err), 1);
	raw_sql("SELECT count(*) FROM images", n, sizeof(n));
	ck_assert_str_eq(n, "1");

	in = facts("new", "linux", "", NOW - DM_STORE_IMAGE_FACTS_S + 60);
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);
	ck_assert_int_eq(store_image_find(st, "new", &out, &err), 0);
	ck_assert_str_eq(out.os, "linux");
	raw_sql("SELECT count(*) FROM images", n, sizeof(n));
	ck_assert_str_eq(n, "1");
}
END_TEST

/* A name that now resolves to another image loses its facts. */
START_TEST(test_image_verify_drops_moved)
{
	struct store_image	in, out;
	struct dm_err		err = { 0 };

	in = facts("app:1", "linux", "sha256:" HEX64, NOW);
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);
	/* The same image, or nothing known: kept. */
	ck_assert_int_eq(store_image_verify(st, "app:1", "sha256:" HEX64,
	    &err), 0);
	ck_assert_int_eq(store_image_verify(st, "app:1", "", &err), 0);
	ck_assert_int_eq(store_image_verify(st, "app:1", NULL, &err), 0);
	ck_assert_int_eq(store_image_verify(st, "other", "sha256:beef",
	    &err), 0);
	ck_assert_int_eq(store_image_find(st, "app:1", &out, &err), 0);
	/* Moved (any spelling of the name): dropped, once. */
	ck_assert_int_eq(store_image_verify(st, "docker.io/library/app:1",
	    "sha256:beef", &err), 1);
	ck_assert_int_eq(store_image_find(st, "app:1", &out, &err), 1);
	ck_assert_int_eq(store_image_verify(st, "app:1", "sha256:beef",
	    &err), 0);
	/* Facts learnt without an ID cannot be judged: kept. */
	in = facts("app:2", "windows", "", NOW);
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);
	ck_assert_int_eq(store_image_verify(st, "app:2", "sha256:beef",
	    &err), 0);
	ck_assert_int_eq(store_image_find(st, "app:2", &out, &err), 0);
	ck_assert_int_eq(store_image_verify(st, "", "sha256:beef", &err), -1);
}
END_TEST

START_TEST(test_image_put_find)
{
	struct store_image	in, out;
	struct dm_err		err = { 0 };

	in = facts("alpine", "linux", "sha256:" HEX64, NOW);
	snprintf(in.marker, sizeof(in.marker), "vm");
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);

	ck_assert_int_eq(store_image_find(st,
	    "docker.io/library/alpine:latest", &out, &err), 0);
	ck_assert_str_eq(out.ref, "docker.io/library/alpine:latest");
	ck_assert_str_eq(out.os, "linux");
	ck_assert_str_eq(out.arch, "amd64");
	ck_assert_str_eq(out.marker, "vm");
	ck_assert_str_eq(out.backend, "native");
	ck_assert_int_eq(out.seen, in.seen);
	ck_assert_str_eq(out.id, "sha256:" HEX64);

	snprintf(in.ref, sizeof(in.ref), "alpine:latest");
	snprintf(in.os, sizeof(in.os), "windows");
	in.id[0] = '\0';
	ck_assert_int_eq(store_image_put(st, &in, &err), 0);
	ck_assert_int_eq(store_image_find(st, "alpine", &out, &err), 0);
	ck_assert_str_eq(out.os, "windows");

	ck_assert_int_eq(store_image_find(st, "alpine:3", &out, &err), 1);
	ck_assert_int_eq(store_image_find(st, "", &out, &err), -1);
}
END_TEST

/* Canonical references: a golden table. */

static const struct {
	const char	*in;
	const char	*out;	/* NULL: refused */
} canon_cases[] = {
	{ "alpine", "docker.io/library/alpine:latest" },
	{ "alpine:latest", "docker.io/library/alpine:latest" },
	{ "docker.io/library/alpine:latest",
	    "docker.io/library/alpine:latest" },
	{ "library/alpine", "docker.io/library/alpine:latest" },
	{ "index.docker.io/library/alpine",
	    "docker.io/library/alpine:latest" },
	{ "registry-1.docker.io/library/alpine",
	    "docker.io/library/alpine:latest" },
	{ "docker.io/alpine", "docker.io/library/alpine:latest" },
	{ "user/app:1", "docker.io/user/app:1" },
	{ "localhost:5000/x", "localhost:5000/x:latest" },
	{ "localhost/x", "localhost/x:latest" },
	{ "localhost", "docker.io/library/localhost:latest" },
	{ "127.0.0.1:5000/library/busybox:1",
	    "127.0.0.1:5000/library/busybox:1" },
	{ "Registry.Example.com/a/b", "registry.example.com/a/b:latest" },
	{ "alpine@sha256:" HEX64, "docker.io/library/alpine@sha256:" HEX64 },
	{ "alpine:3@sha256:" HEX64,
	    "docker.io/library/alpine:3@sha256:" HEX64 },
	{ HEX64, "sha256:" HEX64 },
	{ "sha256:" HEX64, "sha256:" HEX64 },
	{ "", NULL },
	{ "@sha256:" HEX64, NULL },
};

START_TEST(test_canonical)
{
	char	out[STORE_REF_MAX];
	int	rc;

	rc = store_image_canonical(canon_cases[_i].in, out, sizeof(out));
	if (canon_cases[_i].out == NULL) {
		ck_assert_msg(rc == -1, "\"%s\" gave \"%s\"",
		    canon_cases[_i].in, out);
		return;
	}
	ck_assert_msg(rc == 0, "\"%s\" refused", canon_cases[_i].in);
	ck_assert_str_eq(out, canon_cases[_i].out);
}
END_TEST

START_TEST(test_canonical_short_buffer)
{
	char	out[32];

	ck_assert_int_eq(store_image_canonical("alpine", out, 32), 0);
	ck_assert_int_eq(store_image_canonical("alpine", out, 31), -1);
	ck_assert_int_eq(store_image_canonical(HEX64, out, sizeof(out)), -1);
	ck_assert_int_eq(store_image_canonical("alpine", out, 0), -1);
}
END_TEST

/* Concurrency */

#define NTHREADS	4
#define PER_THREAD	200

struct worker {
	pthread_t	tid;
	int		n;
	int		failures;
};

static void *
worker_run(void *arg)
{
	struct worker		*w = arg;
	struct store_route	 r, got;
	struct dm_err		 err;
	char			 eid[32], cid[STORE_ID_MAX];
	int			 i;

	for (i = 0; i < PER_THREAD; i++) {
		memset(&r, 0, sizeof(r));
		snprintf(r.id, sizeof(r.id), "%02x%062x", w->n, i);
		snprintf(r.name, sizeof(r.name), "w%d-%d", w->n, i);
		snprintf(r.backend, sizeof(r.backend), "b%d", w->n);
		r.created = i;
		snprintf(eid, sizeof(eid), "e%d-%d", w->n, i);
		if (store_route_put(st, &r, &err) == -1 ||
		    store_exec_put(st, eid, r.id, NOW, &err) == -1 ||
		    store_route_find(st, r.name, &got, &err) == -1 ||
		    strcmp(got.id, r.id) != 0 ||
		    store_exec_find(st, eid, cid, &err) == -1 ||
		    strcmp(cid, r.id) != 0)
			w->failures++;
		if (i % 50 == 0)
			(void)store_route_count(st);
	}
	return NULL;
}

static int
count_fn(const struct store_route *r, void *arg)
{
	(void)r;
	(*(size_t *)arg)++;
	return 0;
}

START_TEST(test_threads_put_and_find)
{
	struct worker		w[NTHREADS];
	struct store_route	got;
	struct dm_err		err = { 0 };
	char			name[32];
	size_t			n = 0;
	int			i, j;

	for (i = 0; i < NTHREADS; i++) {
		w[i].n = i;
		w[i].failures = 0;
		ck_assert_int_eq(pthread_create(&w[i].tid, NULL, worker_run,
		    &w[i]), 0);
	}
	for (i = 0; i < NTHREADS; i++) {
		ck_assert_int_eq(pthread_join(w[i].tid, NULL), 0);
		ck_assert_int_eq(w[i].failures, 0);
	}
	ck_assert_uint_eq(store_route_count(st), NTHREADS * PER_THREAD);
	ck_assert_int_eq(store_route_each(st, NULL, count_fn, &n, &err), 0);
	ck_assert_uint_eq(n, NTHREADS * PER_THREAD);
	for (i = 0; i < NTHREADS; i++)
		for (j = 0; j < PER_THREAD; j++) {
			snprintf(name, sizeof(name), "/w%d-%d", i, j);
			ck_assert_msg(store_route_find(st, name, &got,
			    &err) == 0, "%s: %s", name, err.msg);
		}
}
END_TEST

static Suite *
store_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("store");

	tc = tcase_create("schema");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_open_creates_parents);
	tcase_add_test(tc, test_wal_mode_on);
	tcase_add_test(tc, test_reopen_keeps_routes);
	tcase_add_test(tc, test_reopen_does_not_migrate_again);
	tcase_add_test(tc, test_newer_schema_refused);
	tcase_add_test(tc, test_migrated_from_1);
	tcase_add_test(tc, test_existing_plain_file_migrated);
	tcase_add_test(tc, test_unusable_path_refused);
	tcase_add_test(tc, test_backend_seen);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_checked_fixture(tc, routes_setup, tmpdir_teardown);
	tcase_add_test(tc, test_put_find_all_fields);
	tcase_add_test(tc, test_put_same_id_replaces);
	tcase_add_test(tc, test_put_name_conflict);
	tcase_add_test(tc, test_unnamed_routes_coexist);
	tcase_add_test(tc, test_rename);
	tcase_add_test(tc, test_del_and_lookup_after_remove);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_index_many_routes);
	suite_add_tcase(s, tc);

	tc = tcase_create("resolution");
	tcase_add_checked_fixture(tc, resolve_setup, tmpdir_teardown);
	tcase_add_loop_test(tc, test_resolve, 0, (int)NITEMS(resolve_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("execs");
	tcase_add_checked_fixture(tc, routes_setup, tmpdir_teardown);
	tcase_add_test(tc, test_exec_put_find);
	tcase_add_test(tc, test_exec_needs_container);
	tcase_add_test(tc, test_del_drops_execs);
	tcase_add_test(tc, test_exec_unused_expire);
	tcase_add_test(tc, test_exec_lookup_renews);
	suite_add_tcase(s, tc);

	tc = tcase_create("images");
	tcase_add_checked_fixture(tc, routes_setup, tmpdir_teardown);
	tcase_add_test(tc, test_image_put_find);
	tcase_add_test(tc, test_image_facts_expire);
	tcase_add_test(tc, test_image_verify_drops_moved);
	suite_add_tcase(s, tc);

	tc = tcase_create("canonical");
	tcase_add_loop_test(tc, test_canonical, 0, (int)NITEMS(canon_cases));
	tcase_add_test(tc, test_canonical_short_buffer);
	suite_add_tcase(s, tc);

	tc = tcase_create("concurrency");
	tcase_add_checked_fixture(tc, routes_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_threads_put_and_find);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	/* Expected failures (conflicts, refused files) log warnings. */
	log_init(LOG_LVL_ERROR, "check_store");
	sr = srunner_create(store_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
