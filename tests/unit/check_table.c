/* check_table.c: the endpoint table: method, path and query to a row. */
/* Threads: Check's runner only; disp_classify() is a pure function. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "daemon/disp_int.h"
#include "daemon/disp_int.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/*
 * One row: what the client sends and what disp_classify() must make of it.
 * version "" and rest NULL mean "no /vX.Y prefix": rest is the path itself.
 */
struct classify_row {
	const char		*name;
	const char		*method;
	const char		*path;
	enum disp_kind		 kind;
	enum disp_resource	 res;
	const char		*id;
	const char		*action;
	const char		*version;
	const char		*rest;
};

static const struct classify_row local_rows[] = {
	{ "ping_get", "GET", "/_ping",
	    ROUTE_LOCAL, RES_PING, "", "", "", NULL },
	{ "ping_head", "HEAD", "/_ping",
	    ROUTE_LOCAL, RES_PING, "", "", "", NULL },
	{ "ping_versioned", "GET", "/v1.41/_ping",
	    ROUTE_LOCAL, RES_PING, "", "", "1.41", "/_ping" },
	{ "version", "GET", "/version",
	    ROUTE_LOCAL, RES_VERSION, "", "", "", NULL },
	{ "version_versioned", "GET", "/v1.43/version",
	    ROUTE_LOCAL, RES_VERSION, "", "", "1.43", "/version" },
	{ "info", "GET", "/info",
	    ROUTE_LOCAL, RES_INFO, "", "", "", NULL },
	{ "admin_backends", "GET", "/_dockmux/backends",
	    ROUTE_ADMIN, RES_DOCKMUX, "", "backends", "", NULL },
	{ "admin_backends_sub", "POST", "/_dockmux/backends/vm/drain",
	    ROUTE_ADMIN, RES_DOCKMUX, "", "backends", "", NULL },
};

static const struct classify_row container_rows[] = {
	{ "create", "POST", "/v1.41/containers/create",
	    ROUTE_CREATE, RES_CONTAINERS, "", "create", "1.41",
	    "/containers/create" },
	{ "list_fans_out", "GET", "/containers/json",
	    ROUTE_FANOUT, RES_CONTAINERS, "", "list", "", NULL },
	{ "prune_fans_out", "POST", "/containers/prune",
	    ROUTE_FANOUT, RES_CONTAINERS, "", "prune", "", NULL },
	{ "logs_falls_back", "GET", "/containers/abc/logs",
	    ROUTE_READ_FALLBACK, RES_CONTAINERS, "abc", "logs", "", NULL },
	{ "stats_falls_back", "GET", "/containers/abc/stats",
	    ROUTE_READ_FALLBACK, RES_CONTAINERS, "abc", "stats", "", NULL },
	{ "attach_hijacks", "POST", "/containers/abc/attach",
	    ROUTE_HIJACK, RES_CONTAINERS, "abc", "attach", "", NULL },
	{ "remove_per_container", "DELETE", "/containers/abc",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "", "", NULL },
	{ "inspect_per_container", "GET", "/v1.41/containers/abc/json",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "json", "1.41",
	    "/containers/abc/json" },
	{ "start_per_container", "POST", "/containers/abc/start",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "start", "", NULL },
	{ "archive_per_container", "GET", "/containers/abc/archive",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "archive", "", NULL },
	{ "archive_put_per_container", "PUT", "/containers/abc/archive",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "archive", "", NULL },
	{ "exec_create_per_container", "POST", "/containers/abc/exec",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "exec", "", NULL },
	{ "logs_post_not_fallback", "POST", "/containers/abc/logs",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "logs", "", NULL },
	{ "commit_per_container", "POST", "/commit",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "", "commit", "", NULL },
};

static const struct classify_row exec_rows[] = {
	{ "exec_start_hijacks", "POST", "/exec/e1/start",
	    ROUTE_HIJACK, RES_EXEC, "e1", "start", "", NULL },
	{ "buildkit_session_hijacks", "POST", "/session",
	    ROUTE_HIJACK, RES_BUILD, "", "session", "", NULL },
	{ "buildkit_grpc_hijacks", "POST", "/v1.41/grpc",
	    ROUTE_HIJACK, RES_BUILD, "", "grpc", "1.41", "/grpc" },
	{ "exec_start_versioned", "POST", "/v1.41/exec/e1/start",
	    ROUTE_HIJACK, RES_EXEC, "e1", "start", "1.41", "/exec/e1/start" },
	{ "exec_inspect_per_exec", "GET", "/exec/e1/json",
	    ROUTE_PER_EXEC, RES_EXEC, "e1", "json", "", NULL },
	{ "exec_resize_per_exec", "POST", "/exec/e1/resize",
	    ROUTE_PER_EXEC, RES_EXEC, "e1", "resize", "", NULL },
};

static const struct classify_row primary_rows[] = {
	{ "images_list_fans_out", "GET", "/images/json",
	    ROUTE_FANOUT, RES_IMAGES, "", "list", "", NULL },
	{ "images_import_without_from_image", "POST", "/images/create",
	    ROUTE_FANOUT, RES_IMAGES, "", "import", "", NULL },
	{ "image_inspect_primary", "GET", "/images/busybox/json",
	    ROUTE_PRIMARY, RES_IMAGES, "", "", "", NULL },
	{ "events_fan_out", "GET", "/events",
	    ROUTE_FANOUT, RES_EVENTS, "", "events", "", NULL },
	{ "build_primary", "POST", "/build",
	    ROUTE_PRIMARY, RES_BUILD, "", "build", "", NULL },
	{ "networks_primary", "GET", "/networks",
	    ROUTE_PRIMARY, RES_NETWORKS, "", "", "", NULL },
	{ "network_create_primary", "POST", "/networks/create",
	    ROUTE_PRIMARY, RES_NETWORKS, "", "", "", NULL },
	{ "volumes_primary", "GET", "/volumes",
	    ROUTE_PRIMARY, RES_VOLUMES, "", "", "", NULL },
	{ "volume_remove_keeps_name", "DELETE", "/volumes/x",
	    ROUTE_PRIMARY, RES_VOLUMES, "x", "", "", NULL },
	{ "system_df_primary", "GET", "/system/df",
	    ROUTE_PRIMARY, RES_SYSTEM, "", "", "", NULL },
	{ "unknown_primary", "GET", "/foo/bar",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
	{ "info_post_unknown", "POST", "/info",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
};

/*
 * Filled in by edge_setup(): an id of DISP_ID_MAX - 1 characters (it fits
 * req.id with its NUL) and one of DISP_ID_MAX (it does not).
 */
static char	id_fits[DISP_ID_MAX];
static char	id_too_long[DISP_ID_MAX + 1];
static char	path_id_fits[DISP_ID_MAX + 64];
static char	path_id_too_long[DISP_ID_MAX + 64];

static struct classify_row edge_rows[] = {
	{ "vfoo_not_a_version", "GET", "/vfoo/info",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
	{ "version_then_junk_not_a_version", "GET", "/v1.41x/info",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
	{ "version_alone_rest_is_root", "GET", "/v1.41",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "1.41", "/" },
	{ "version_slash_rest_is_root", "GET", "/v1.41/",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "1.41", "/" },
	{ "trailing_slash_matches", "GET", "/containers/json/",
	    ROUTE_FANOUT, RES_CONTAINERS, "", "list", "", NULL },
	{ "trailing_slash_after_id", "DELETE", "/containers/abc/",
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, "abc", "", "", NULL },
	{ "empty_segment_no_id", "POST", "/containers//start",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
	{ "root_unknown", "GET", "/",
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
	/* The two rows below get their paths and ids from edge_setup(). */
	{ "id_of_max_minus_one_matches", "POST", NULL,
	    ROUTE_PER_CONTAINER, RES_CONTAINERS, NULL, "start", "", NULL },
	{ "id_of_max_is_not_an_id", "POST", NULL,
	    ROUTE_PRIMARY, RES_OTHER, "", "", "", NULL },
};

static void
edge_setup(void)
{
	size_t	i;

	memset(id_fits, 'a', sizeof(id_fits) - 1);
	id_fits[sizeof(id_fits) - 1] = '\0';
	memset(id_too_long, 'b', sizeof(id_too_long) - 1);
	id_too_long[sizeof(id_too_long) - 1] = '\0';
	snprintf(path_id_fits, sizeof(path_id_fits), "/containers/%s/start",
	    id_fits);
	snprintf(path_id_too_long, sizeof(path_id_too_long),
	    "/containers/%s/start", id_too_long);
	for (i = 0; i < NITEMS(edge_rows); i++) {
		if (strcmp(edge_rows[i].name, "id_of_max_minus_one_matches")
		    == 0) {
			edge_rows[i].path = path_id_fits;
			edge_rows[i].id = id_fits;
		} else if (strcmp(edge_rows[i].name,
		    "id_of_max_is_not_an_id") == 0)
			edge_rows[i].path = path_id_too_long;
	}
}

static const char *
kind_name(enum disp_kind k)
{
	switch (k) {
	case ROUTE_PRIMARY:
		return "ROUTE_PRIMARY";
	case ROUTE_LOCAL:
		return "ROUTE_LOCAL";
	case ROUTE_ADMIN:
		return "ROUTE_ADMIN";
	case ROUTE_CREATE:
		return "ROUTE_CREATE";
	case ROUTE_PER_CONTAINER:
		return "ROUTE_PER_CONTAINER";
	case ROUTE_PER_EXEC:
		return "ROUTE_PER_EXEC";
	case ROUTE_READ_FALLBACK:
		return "ROUTE_READ_FALLBACK";
	case ROUTE_FANOUT:
		return "ROUTE_FANOUT";
	case ROUTE_HIJACK:
		return "ROUTE_HIJACK";
	}
	return "?";
}

static const char *
res_name(enum disp_resource r)
{
	switch (r) {
	case RES_NONE:
		return "RES_NONE";
	case RES_PING:
		return "RES_PING";
	case RES_VERSION:
		return "RES_VERSION";
	case RES_INFO:
		return "RES_INFO";
	case RES_CONTAINERS:
		return "RES_CONTAINERS";
	case RES_EXEC:
		return "RES_EXEC";
	case RES_IMAGES:
		return "RES_IMAGES";
	case RES_NETWORKS:
		return "RES_NETWORKS";
	case RES_VOLUMES:
		return "RES_VOLUMES";
	case RES_SYSTEM:
		return "RES_SYSTEM";
	case RES_EVENTS:
		return "RES_EVENTS";
	case RES_BUILD:
		return "RES_BUILD";
	case RES_DOCKMUX:
		return "RES_DOCKMUX";
	case RES_OTHER:
		return "RES_OTHER";
	}
	return "?";
}

/*
 * Classify one row into a request left stale on purpose, so a field the
 * classifier forgets to set shows up as a mismatch.
 */
static void
check_row(const struct classify_row *row)
{
	struct disp_req	 req;
	const char	*rest = row->rest != NULL ? row->rest : row->path;

	memset(&req, 0, sizeof(req));
	req.kind = ROUTE_HIJACK;
	req.res = RES_BUILD;
	snprintf(req.id, sizeof(req.id), "stale");
	snprintf(req.action, sizeof(req.action), "stale");
	snprintf(req.api_version, sizeof(req.api_version), "9.99");
	req.rest = "stale";

	ck_assert_msg(disp_classify(row->method, row->path, &req) == 0,
	    "%s: %s %s refused", row->name, row->method, row->path);
	ck_assert_msg(req.kind == row->kind, "%s: %s %s: kind %s, want %s",
	    row->name, row->method, row->path, kind_name(req.kind),
	    kind_name(row->kind));
	ck_assert_msg(req.res == row->res, "%s: %s %s: res %s, want %s",
	    row->name, row->method, row->path, res_name(req.res),
	    res_name(row->res));
	ck_assert_msg(strcmp(req.id, row->id) == 0,
	    "%s: %s %s: id \"%s\", want \"%s\"", row->name, row->method,
	    row->path, req.id, row->id);
	ck_assert_msg(strcmp(req.action, row->action) == 0,
	    "%s: %s %s: action \"%s\", want \"%s\"", row->name, row->method,
	    row->path, req.action, row->action);
	ck_assert_msg(strcmp(req.api_version, row->version) == 0,
	    "%s: %s %s: api_version \"%s\", want \"%s\"", row->name,
	    row->method, row->path, req.api_version, row->version);
	ck_assert_msg(req.rest != NULL && strcmp(req.rest, rest) == 0,
	    "%s: %s %s: rest \"%s\", want \"%s\"", row->name, row->method,
	    row->path, req.rest != NULL ? req.rest : "(null)", rest);
}

/*
 * What a row decides besides its kind: where the call goes first and who
 * serves it.  The handler is named by the function the row must carry.
 */
struct endpoint_row {
	const char		*name;
	const char		*method;
	const char		*path;
	const char		*query;
	enum disp_target	 target;
	disp_serve_fn		*serve;		/* NULL: streamed */
};

static const struct endpoint_row endpoint_rows[] = {
	{ "ping_local", "GET", "/_ping", "", TARGET_PRIMARY,
	    disp_local_ping },
	{ "create_rules", "POST", "/v1.41/containers/create", "name=x",
	    TARGET_PRIMARY, disp_create },
	{ "logs_owner_then_fallback", "GET", "/containers/a/logs", "",
	    TARGET_OWNER, disp_read_fallback },
	{ "exec_create_remembered", "POST", "/containers/a/exec", "",
	    TARGET_OWNER, disp_exec_create },
	{ "start_streamed_to_owner", "POST", "/containers/a/start", "",
	    TARGET_OWNER, NULL },
	{ "link_removal_to_parent_owner", "DELETE", "/containers/p/alias",
	    "link=1", TARGET_LINK_OWNER, NULL },
	{ "container_remove_to_owner", "DELETE", "/containers/a", "force=1",
	    TARGET_OWNER, NULL },
	{ "container_by_link_name", "GET", "/containers/p/alias/json", "",
	    TARGET_LINK_OWNER, NULL },
	{ "attach_ws_to_owner", "GET", "/containers/a/attach/ws", "",
	    TARGET_OWNER, NULL },
	{ "pull_with_from_image", "POST", "/images/create",
	    "fromImage=busybox&tag=1", TARGET_PRIMARY, disp_pull },
	{ "import_by_platform", "POST", "/images/create", "fromSrc=-",
	    TARGET_PLATFORM, NULL },
	{ "load_by_platform", "POST", "/images/load", "", TARGET_PLATFORM,
	    NULL },
	{ "build_by_platform", "POST", "/build", "t=x", TARGET_PLATFORM,
	    NULL },
	{ "buildkit_build_with_its_session", "POST", "/build",
	    "t=x&session=abc&version=2", TARGET_PRIMARY, NULL },
	{ "image_inspect_holder", "GET", "/images/127.0.0.1:5000/a/b:1/json",
	    "", TARGET_IMAGE_HOLDER, NULL },
	{ "image_save_holder", "GET", "/images/get", "names=a",
	    TARGET_IMAGE_HOLDER, NULL },
	{ "image_tag_everywhere", "POST", "/images/a/b/tag", "repo=c",
	    TARGET_PRIMARY, disp_image_each },
	{ "image_remove_everywhere", "DELETE", "/images/a/b", "",
	    TARGET_PRIMARY, disp_image_each },
	{ "image_json_is_not_a_name", "POST", "/images/json", "",
	    TARGET_PRIMARY, NULL },
	{ "network_remove_replicated", "DELETE", "/networks/n", "",
	    TARGET_PRIMARY, disp_netvol_replicate },
	{ "network_remove_without_id_streamed", "DELETE", "/networks", "",
	    TARGET_PRIMARY, NULL },
	{ "network_connect", "POST", "/networks/n/connect", "",
	    TARGET_PRIMARY, disp_network_connect },
	{ "network_inspect_first_holder", "GET", "/networks/n", "",
	    TARGET_PRIMARY, disp_first_holder },
	{ "volume_list_merged", "GET", "/volumes/", "", TARGET_PRIMARY,
	    disp_netvol_list },
	{ "system_df_merged", "GET", "/system/df", "", TARGET_PRIMARY,
	    disp_system_df },
	{ "unknown_streamed_to_primary", "POST", "/plugins/pull", "",
	    TARGET_PRIMARY, NULL },
};

START_TEST(test_endpoint)
{
	const struct endpoint_row	*row = &endpoint_rows[_i];
	struct disp_req			 req;

	memset(&req, 0, sizeof(req));
	req.query = row->query;
	ck_assert_msg(disp_classify(row->method, row->path, &req) == 0,
	    "%s: refused", row->name);
	ck_assert_ptr_nonnull(req.ep);
	ck_assert_msg(req.ep->target == row->target, "%s: target %d, want %d",
	    row->name, (int)req.ep->target, (int)row->target);
	ck_assert_msg(req.ep->serve == row->serve, "%s: %s handler",
	    row->name, row->serve == NULL ? "unexpected" : "wrong or no");
}
END_TEST

START_TEST(test_local)
{
	check_row(&local_rows[_i]);
}
END_TEST

START_TEST(test_containers)
{
	check_row(&container_rows[_i]);
}
END_TEST

START_TEST(test_exec)
{
	check_row(&exec_rows[_i]);
}
END_TEST

START_TEST(test_primary)
{
	check_row(&primary_rows[_i]);
}
END_TEST

START_TEST(test_edge)
{
	check_row(&edge_rows[_i]);
}
END_TEST

/* rest is the tail of the caller's path, not a copy. */
START_TEST(test_rest_points_into_path)
{
	static const char	path[] = "/v1.41/containers/abc/json";
	struct disp_req		req;

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(disp_classify("GET", path, &req), 0);
	ck_assert_ptr_eq(req.rest, path + strlen("/v1.41"));

	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(disp_classify("GET", path + strlen("/v1.41"), &req),
	    0);
	ck_assert_ptr_eq(req.rest, path + strlen("/v1.41"));
}
END_TEST

/* A version that cannot fit api_version is refused, not truncated. */
START_TEST(test_version_too_long_refused)
{
	struct disp_req	req;
	char		path[64];

	/* 15 characters fit api_version[16]; 16 do not. */
	memset(&req, 0, sizeof(req));
	snprintf(path, sizeof(path), "/v%s/_ping", "1.4444444444444");
	ck_assert_int_eq(disp_classify("GET", path, &req), 0);
	ck_assert_str_eq(req.api_version, "1.4444444444444");
	ck_assert_int_eq(req.kind, ROUTE_LOCAL);

	memset(&req, 0, sizeof(req));
	snprintf(path, sizeof(path), "/v%s/_ping", "1.44444444444444");
	ck_assert_int_eq(disp_classify("GET", path, &req), -1);
}
END_TEST

/* A failed partial match (id copied, then a literal differs) leaks nothing. */
START_TEST(test_partial_match_leaves_no_id)
{
	struct disp_req	req;

	/* "/exec/{id}/{action}" copies "e1", then finds no action. */
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(disp_classify("GET", "/exec/e1", &req), 0);
	ck_assert_int_eq(req.kind, ROUTE_PRIMARY);
	ck_assert_int_eq(req.res, RES_OTHER);
	ck_assert_str_eq(req.id, "");
	ck_assert_str_eq(req.action, "");

	/* "/containers/{id}/logs" leaves "/x"; the any-rest route takes it. */
	memset(&req, 0, sizeof(req));
	ck_assert_int_eq(disp_classify("GET", "/containers/abc/logs/x", &req),
	    0);
	ck_assert_int_eq(req.kind, ROUTE_PER_CONTAINER);
	ck_assert_str_eq(req.id, "abc");
	ck_assert_str_eq(req.action, "logs");
}
END_TEST

static Suite *
classify_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("classify");

	tc = tcase_create("local");
	tcase_add_loop_test(tc, test_local, 0, (int)NITEMS(local_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("containers");
	tcase_add_loop_test(tc, test_containers, 0,
	    (int)NITEMS(container_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("exec");
	tcase_add_loop_test(tc, test_exec, 0, (int)NITEMS(exec_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("primary");
	tcase_add_loop_test(tc, test_primary, 0, (int)NITEMS(primary_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("endpoints");
	tcase_add_loop_test(tc, test_endpoint, 0, (int)NITEMS(endpoint_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("edge");
	tcase_add_checked_fixture(tc, edge_setup, NULL);
	tcase_add_loop_test(tc, test_edge, 0, (int)NITEMS(edge_rows));
	tcase_add_test(tc, test_rest_points_into_path);
	tcase_add_test(tc, test_version_too_long_refused);
	tcase_add_test(tc, test_partial_match_leaves_no_id);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(classify_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
