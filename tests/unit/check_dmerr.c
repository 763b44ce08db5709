/* check_dmerr.c: status to HTTP, the error carrier, header lists. */
/* Threads: Check's runner only. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib/dmerr.h"
#include "lib/hdrs.h"
#include "lib/limits.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Status mapping */

static const struct {
	enum dm_status	st;
	int		http;
} status_rows[] = {
	{ DM_OK, 200 },
	{ DM_ENOTFOUND, 404 },
	{ DM_ECONFLICT, 409 },
	{ DM_EPEER, 404 },
	{ DM_EBACKEND, 502 },
	{ DM_EUNAVAIL, 503 },
	{ DM_EBADREQ, 400 },
	{ DM_ETOOBIG, 413 },
	{ DM_EFORBIDDEN, 403 },
	{ DM_EINTERNAL, 500 },
};

START_TEST(test_status_http)
{
	ck_assert_msg(dm_status_http(status_rows[_i].st) ==
	    status_rows[_i].http, "status %d: %d, want %d",
	    (int)status_rows[_i].st, dm_status_http(status_rows[_i].st),
	    status_rows[_i].http);
}
END_TEST

/* The table above names every value: the last one is DM_EINTERNAL. */
START_TEST(test_status_table_complete)
{
	ck_assert_int_eq((int)NITEMS(status_rows), (int)DM_EINTERNAL + 1);
}
END_TEST

/* The error carrier */

START_TEST(test_err_set_formats)
{
	struct dm_err	err;

	dm_err_clear(&err);
	ck_assert_int_eq(err.st, DM_OK);
	ck_assert_str_eq(err.msg, "");

	dm_err_set(&err, DM_ENOTFOUND, "No such container: %s (%d)", "abc",
	    42);
	ck_assert_int_eq(err.st, DM_ENOTFOUND);
	ck_assert_str_eq(err.msg, "No such container: abc (42)");

	dm_err_clear(&err);
	ck_assert_int_eq(err.st, DM_OK);
	ck_assert_str_eq(err.msg, "");
}
END_TEST

START_TEST(test_err_set_truncates)
{
	struct dm_err	err;
	char		long_msg[1000];

	memset(long_msg, 'x', sizeof(long_msg) - 1);
	long_msg[sizeof(long_msg) - 1] = '\0';
	dm_err_set(&err, DM_EBACKEND, "%s", long_msg);
	ck_assert_int_eq(err.st, DM_EBACKEND);
	ck_assert_uint_eq(strlen(err.msg), sizeof(err.msg) - 1);
	ck_assert_uint_eq(strlen(err.msg), 255);
	ck_assert_int_eq(strncmp(err.msg, long_msg, 255), 0);
}
END_TEST

START_TEST(test_err_set_null_is_ignored)
{
	dm_err_set(NULL, DM_EINTERNAL, "nobody listens: %d", 1);
}
END_TEST

/* Header lists */

static struct dm_hdrs	hdrs;

static void
hdrs_setup(void)
{
	dm_hdrs_init(&hdrs);
}

static void
hdrs_teardown(void)
{
	dm_hdrs_clear(&hdrs);
}

START_TEST(test_hdrs_add_get_case_blind)
{
	ck_assert_ptr_null(dm_hdrs_get(&hdrs, "Content-Type"));
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "Content-Type",
	    "application/json"), 0);
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "X-Registry-Auth", "e30="), 0);
	ck_assert_uint_eq(hdrs.n, 2);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "content-type"),
	    "application/json");
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "CONTENT-TYPE"),
	    "application/json");
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "x-registry-auth"), "e30=");
	ck_assert_ptr_null(dm_hdrs_get(&hdrs, "Content-Length"));
}
END_TEST

/* add keeps duplicates in order; get returns the first. */
START_TEST(test_hdrs_add_keeps_order)
{
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "Vary", "a"), 0);
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "vary", "b"), 0);
	ck_assert_uint_eq(hdrs.n, 2);
	ck_assert_str_eq(hdrs.v[0].name, "Vary");
	ck_assert_str_eq(hdrs.v[0].value, "a");
	ck_assert_str_eq(hdrs.v[1].name, "vary");
	ck_assert_str_eq(hdrs.v[1].value, "b");
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "VARY"), "a");
}
END_TEST

START_TEST(test_hdrs_set_replaces_or_adds)
{
	ck_assert_int_eq(dm_hdrs_set(&hdrs, "Api-Version", "1.41"), 0);
	ck_assert_uint_eq(hdrs.n, 1);
	ck_assert_int_eq(dm_hdrs_set(&hdrs, "api-version", "1.43"), 0);
	ck_assert_uint_eq(hdrs.n, 1);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "API-VERSION"), "1.43");
	/* The name as first given stays. */
	ck_assert_str_eq(hdrs.v[0].name, "Api-Version");
	ck_assert_int_eq(dm_hdrs_set(&hdrs, "Server", "dockmux"), 0);
	ck_assert_uint_eq(hdrs.n, 2);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "server"), "dockmux");
}
END_TEST

/* The list holds copies: the caller's buffers may change afterwards. */
START_TEST(test_hdrs_copies_strings)
{
	char	name[32], value[32];

	snprintf(name, sizeof(name), "X-Test");
	snprintf(value, sizeof(value), "one");
	ck_assert_int_eq(dm_hdrs_add(&hdrs, name, value), 0);
	snprintf(name, sizeof(name), "X-Other");
	snprintf(value, sizeof(value), "two");
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "x-test"), "one");
	ck_assert_ptr_null(dm_hdrs_get(&hdrs, "x-other"));
}
END_TEST

START_TEST(test_hdrs_clear_empties)
{
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "A", "1"), 0);
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "B", "2"), 0);
	dm_hdrs_clear(&hdrs);
	ck_assert_uint_eq(hdrs.n, 0);
	ck_assert_ptr_null(hdrs.v);
	ck_assert_ptr_null(dm_hdrs_get(&hdrs, "A"));
	/* Usable again after a clear; teardown clears once more. */
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "C", "3"), 0);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "c"), "3");
}
END_TEST

START_TEST(test_hdrs_limit)
{
	char	name[32];
	int	i;

	for (i = 0; i < DM_MAX_HEADERS; i++) {
		snprintf(name, sizeof(name), "X-H%d", i);
		ck_assert_int_eq(dm_hdrs_add(&hdrs, name, "v"), 0);
	}
	ck_assert_uint_eq(hdrs.n, DM_MAX_HEADERS);
	ck_assert_int_eq(dm_hdrs_add(&hdrs, "X-One-Too-Many", "v"), -1);
	ck_assert_uint_eq(hdrs.n, DM_MAX_HEADERS);
	ck_assert_ptr_null(dm_hdrs_get(&hdrs, "X-One-Too-Many"));
	/* set of a new name hits the same ceiling; of a known one does not. */
	ck_assert_int_eq(dm_hdrs_set(&hdrs, "X-New", "v"), -1);
	ck_assert_int_eq(dm_hdrs_set(&hdrs, "x-h0", "w"), 0);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, "X-H0"), "w");
	snprintf(name, sizeof(name), "X-H%d", DM_MAX_HEADERS - 1);
	ck_assert_str_eq(dm_hdrs_get(&hdrs, name), "v");
}
END_TEST

static const struct {
	const char	*name;
	int		 hop;
} hop_rows[] = {
	{ "Connection", 1 },
	{ "Keep-Alive", 1 },
	{ "Transfer-Encoding", 1 },
	{ "Upgrade", 1 },
	{ "Host", 1 },
	{ "Content-Length", 1 },
	{ "connection", 1 },
	{ "TRANSFER-ENCODING", 1 },
	{ "Content-Type", 0 },
	{ "X-Registry-Auth", 0 },
	{ "X-Registry-Config", 0 },
	{ "Api-Version", 0 },
	{ "Connectionx", 0 },
	{ "", 0 },
};

START_TEST(test_hop_by_hop)
{
	ck_assert_msg(dm_hdr_is_hop_by_hop(hop_rows[_i].name) ==
	    hop_rows[_i].hop, "\"%s\": %d, want %d", hop_rows[_i].name,
	    dm_hdr_is_hop_by_hop(hop_rows[_i].name), hop_rows[_i].hop);
}
END_TEST

/*
 * The one end-to-end copy: hop-by-hop headers, the ones Connection names
 * as tokens (not as substrings), and X-Dockmux-* from a peer stay out.
 */
START_TEST(test_copy_end_to_end)
{
	struct dm_hdrs	in, out;

	dm_hdrs_init(&in);
	dm_hdrs_init(&out);
	dm_hdrs_add(&in, "Connection", "keep-alive, X-Trace ,Upgrade");
	dm_hdrs_add(&in, "X-Trace", "1");
	dm_hdrs_add(&in, "Trace", "kept: only a substring of X-Trace");
	dm_hdrs_add(&in, "Alive", "kept: only a substring of keep-alive");
	dm_hdrs_add(&in, "Date", "Mon");
	dm_hdrs_add(&in, "X-Dockmux-Backend", "forged");
	dm_hdrs_add(&in, "x-dockmux-rule", "forged");
	dm_hdrs_add(&in, "X-Registry-Auth", "abc");
	ck_assert_int_eq(dm_hdrs_copy_end_to_end(&in, &out), 0);
	ck_assert_uint_eq(out.n, 3);
	ck_assert_str_eq(out.v[0].name, "Trace");
	ck_assert_str_eq(out.v[1].name, "Alive");
	ck_assert_str_eq(out.v[2].name, "X-Registry-Auth");
	dm_hdrs_clear(&in);
	dm_hdrs_clear(&out);
}
END_TEST

static Suite *
dmerr_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("dmerr");

	tc = tcase_create("status");
	tcase_add_loop_test(tc, test_status_http, 0, (int)NITEMS(status_rows));
	tcase_add_test(tc, test_status_table_complete);
	suite_add_tcase(s, tc);

	tc = tcase_create("err");
	tcase_add_test(tc, test_err_set_formats);
	tcase_add_test(tc, test_err_set_truncates);
	tcase_add_test(tc, test_err_set_null_is_ignored);
	suite_add_tcase(s, tc);

	tc = tcase_create("hdrs");
	tcase_add_checked_fixture(tc, hdrs_setup, hdrs_teardown);
	tcase_add_test(tc, test_hdrs_add_get_case_blind);
	tcase_add_test(tc, test_hdrs_add_keeps_order);
	tcase_add_test(tc, test_hdrs_set_replaces_or_adds);
	tcase_add_test(tc, test_hdrs_copies_strings);
	tcase_add_test(tc, test_hdrs_clear_empties);
	tcase_add_test(tc, test_hdrs_limit);
	tcase_add_loop_test(tc, test_hop_by_hop, 0, (int)NITEMS(hop_rows));
	tcase_add_test(tc, test_copy_end_to_end);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(dmerr_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
