/*
 * check_lib.c: lib/util.c: monotonic milliseconds, allocation that aborts,
 * typed JSON getters, unix socket addresses, an engine's error text, and
 * the label names.
 */
/* Threads: Check's runner only. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "lib/labels.h"
#include "lib/log.h"
#include "lib/util.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Monotonic milliseconds */

START_TEST(test_mono_ms_advances)
{
	struct timespec	 nap = { 0, 30 * 1000 * 1000 };
	long long	 a, b;

	a = dm_mono_ms();
	ck_assert_int_gt(a, 0);
	nanosleep(&nap, NULL);
	b = dm_mono_ms();
	ck_assert_int_ge(b - a, 29);
	ck_assert_int_lt(b - a, 5000);
}
END_TEST

/* Allocation */

START_TEST(test_xalloc)
{
	char	*p, *z, *s;
	size_t	 i;

	p = xmalloc(16);
	memset(p, 'x', 16);
	free(p);
	/* Size 0 still gives a pointer free() takes. */
	p = xmalloc(0);
	ck_assert_ptr_nonnull(p);
	free(p);
	z = xcalloc(8, 4);
	for (i = 0; i < 32; i++)
		ck_assert_int_eq(z[i], 0);
	free(z);
	z = xcalloc(0, 4);
	ck_assert_ptr_nonnull(z);
	free(z);
	s = xstrdup("io.dockmux");
	ck_assert_str_eq(s, "io.dockmux");
	free(s);
	s = xstrndup("io.dockmux.backend", 10);
	ck_assert_str_eq(s, "io.dockmux");
	free(s);
	s = xstrndup("io", 10);
	ck_assert_str_eq(s, "io");
	free(s);
	s = xasprintf("/containers/%s/json?size=%d", "abc", 1);
	ck_assert_str_eq(s, "/containers/abc/json?size=1");
	free(s);
	p = xrealloc(NULL, 4);
	memcpy(p, "abc", 4);
	p = xrealloc(p, 64 * 1024);
	ck_assert_str_eq(p, "abc");
	free(p);
}
END_TEST

/* Typed JSON getters */

static struct json_object	*doc;

static void
json_setup(void)
{
	doc = json_tokener_parse("{\"s\":\"text\",\"e\":\"\",\"n\":null,"
	    "\"i\":42,\"neg\":-7,\"big\":9223372036854775807,\"d\":1.5,"
	    "\"b\":true,\"o\":{\"s\":\"inner\"},\"a\":[1,2]}");
	ck_assert_ptr_nonnull(doc);
}

static void
json_teardown(void)
{
	json_object_put(doc);
}

START_TEST(test_json_str)
{
	ck_assert_str_eq(dm_json_str(doc, "s"), "text");
	ck_assert_str_eq(dm_json_str(doc, "e"), "");
	ck_assert_ptr_null(dm_json_str(doc, "missing"));
	ck_assert_ptr_null(dm_json_str(doc, "n"));	/* JSON null */
	ck_assert_ptr_null(dm_json_str(doc, "i"));	/* wrong type */
	ck_assert_ptr_null(dm_json_str(doc, "o"));
	ck_assert_ptr_null(dm_json_str(doc, "a"));
	ck_assert_ptr_null(dm_json_str(NULL, "s"));
	/* Not an object: no members. */
	ck_assert_ptr_null(dm_json_str(dm_json_arr(doc, "a"), "s"));
}
END_TEST

START_TEST(test_json_obj_arr_chain)
{
	ck_assert_ptr_nonnull(dm_json_obj(doc, "o"));
	ck_assert_str_eq(dm_json_str(dm_json_obj(doc, "o"), "s"), "inner");
	ck_assert_ptr_null(dm_json_str(dm_json_obj(doc, "missing"), "s"));
	ck_assert_ptr_null(dm_json_obj(doc, "n"));
	ck_assert_ptr_null(dm_json_obj(doc, "a"));
	ck_assert_ptr_null(dm_json_obj(doc, "s"));
	ck_assert_ptr_nonnull(dm_json_arr(doc, "a"));
	ck_assert_uint_eq(json_object_array_length(dm_json_arr(doc, "a")), 2);
	ck_assert_ptr_null(dm_json_arr(doc, "o"));
	ck_assert_ptr_null(dm_json_arr(doc, "n"));
	ck_assert_ptr_null(dm_json_arr(NULL, "a"));
}
END_TEST

START_TEST(test_json_int64)
{
	int64_t	v = -1;

	ck_assert_int_eq(dm_json_int64(doc, "i", &v), 1);
	ck_assert_int_eq(v, 42);
	ck_assert_int_eq(dm_json_int64(doc, "neg", &v), 1);
	ck_assert_int_eq(v, -7);
	ck_assert_int_eq(dm_json_int64(doc, "big", &v), 1);
	ck_assert(v == INT64_MAX);
	/* Not found: the caller's default stays. */
	v = 5;
	ck_assert_int_eq(dm_json_int64(doc, "missing", &v), 0);
	ck_assert_int_eq(dm_json_int64(doc, "n", &v), 0);
	ck_assert_int_eq(dm_json_int64(doc, "s", &v), 0);
	ck_assert_int_eq(dm_json_int64(doc, "d", &v), 0);
	ck_assert_int_eq(dm_json_int64(doc, "b", &v), 0);
	ck_assert_int_eq(dm_json_int64(doc, "o", &v), 0);
	ck_assert_int_eq(dm_json_int64(NULL, "i", &v), 0);
	ck_assert_int_eq(v, 5);
}
END_TEST

/* Sums of engines' numbers stop at the bounds instead of wrapping. */
START_TEST(test_add_clamped)
{
	ck_assert(dm_add_clamped(40, 2) == 42);
	ck_assert(dm_add_clamped(-40, -2) == -42);
	ck_assert(dm_add_clamped(INT64_MAX, 1) == INT64_MAX);
	ck_assert(dm_add_clamped(INT64_MAX, INT64_MAX) == INT64_MAX);
	ck_assert(dm_add_clamped(INT64_MIN, -1) == INT64_MIN);
	ck_assert(dm_add_clamped(INT64_MIN, INT64_MAX) == -1);
}
END_TEST

/* Unix socket addresses */

START_TEST(test_sun_path_file)
{
	struct sockaddr_un	sun;
	int			len;

	memset(&sun, 0xff, sizeof(sun));
	len = dm_sun_path(&sun, "/run/dockmux.sock");
	ck_assert_int_eq(sun.sun_family, AF_UNIX);
	ck_assert_str_eq(sun.sun_path, "/run/dockmux.sock");
	ck_assert_int_eq(len, (int)(offsetof(struct sockaddr_un, sun_path) +
	    strlen("/run/dockmux.sock") + 1));
	/* The rest is zeroed. */
	ck_assert_int_eq(sun.sun_path[sizeof(sun.sun_path) - 1], 0);
}
END_TEST

START_TEST(test_sun_path_abstract)
{
	struct sockaddr_un	sun;
	int			len;

	len = dm_sun_path(&sun, "@/org/systemd/notify");
	ck_assert_int_eq(sun.sun_path[0], '\0');
	ck_assert_int_eq(memcmp(sun.sun_path + 1, "/org/systemd/notify",
	    19), 0);
	/* No terminating NUL: the length ends the name. */
	ck_assert_int_eq(len, (int)(offsetof(struct sockaddr_un, sun_path) +
	    20));
}
END_TEST

START_TEST(test_sun_path_limits)
{
	struct sockaddr_un	sun;
	char			path[sizeof(sun.sun_path) + 1];

	ck_assert_uint_eq(DM_SUN_PATH_MAX, sizeof(sun.sun_path));
	/* The longest that fits: sun_path less its NUL. */
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[DM_SUN_PATH_MAX - 1] = '\0';
	ck_assert_int_gt(dm_sun_path(&sun, path), 0);
	ck_assert_str_eq(sun.sun_path, path);
	/* One more byte does not. */
	path[DM_SUN_PATH_MAX - 1] = 'a';
	path[DM_SUN_PATH_MAX] = '\0';
	errno = 0;
	ck_assert_int_eq(dm_sun_path(&sun, path), -1);
	ck_assert_int_eq(errno, ENAMETOOLONG);
	errno = 0;
	ck_assert_int_eq(dm_sun_path(&sun, ""), -1);
	ck_assert_int_eq(errno, EINVAL);
}
END_TEST

/* An engine's error text */

static const struct {
	const char	*body;
	const char	*want;
} message_rows[] = {
	{ "{\"message\":\"No such container: abc\"}",
	  "No such container: abc" },
	{ "{\"message\":\"conflict\"}\n", "conflict" },
	{ "{\"message\":\"  padded \\n\"}", "padded" },
	/* Not JSON: the text, trimmed. */
	{ "  page not found\r\n", "page not found" },
	{ "<html>bad gateway</html>", "<html>bad gateway</html>" },
	/* JSON without a string message: its text. */
	{ "{\"error\":\"x\"}", "{\"error\":\"x\"}" },
	{ "{\"message\":null}", "{\"message\":null}" },
	{ "{\"message\":42}", "{\"message\":42}" },
	{ "[1,2]", "[1,2]" },
	/* Nothing said. */
	{ "", "" },
	{ " \r\n\t", "" },
	{ NULL, "" },
};

START_TEST(test_engine_message)
{
	char	out[128];

	memset(out, 'z', sizeof(out));
	dm_engine_message(message_rows[_i].body, out, sizeof(out));
	ck_assert_str_eq(out, message_rows[_i].want);
}
END_TEST

START_TEST(test_engine_message_truncates)
{
	char	out[8];

	dm_engine_message("{\"message\":\"0123456789\"}", out, sizeof(out));
	ck_assert_str_eq(out, "0123456");
	dm_engine_message("  0123456789  ", out, sizeof(out));
	ck_assert_str_eq(out, "0123456");
	dm_engine_message("x", out, 1);
	ck_assert_str_eq(out, "");
	/* len 0: out is not touched. */
	out[0] = 'q';
	dm_engine_message("x", out, 0);
	ck_assert_int_eq(out[0], 'q');
}
END_TEST

/* Label names: the strings users write, not to be changed by accident. */
START_TEST(test_labels)
{
	ck_assert_str_eq(DM_LABEL_BACKEND, "io.dockmux.backend");
	ck_assert_str_eq(DM_LABEL_ISOLATION, "io.dockmux.isolation");
	ck_assert_str_eq(DM_LABEL_RUNTIME, "io.dockmux.runtime");
}
END_TEST

/*
 * A value carrying a newline (a client's container name, an engine's
 * message) cannot forge a log line: the event stays one line, the
 * control characters written escaped.
 */
START_TEST(test_log_escapes_controls)
{
	int	 fds[2], saved;
	char	 buf[4096];
	ssize_t	 n;
	size_t	 lines = 0, i;

	ck_assert_int_eq(pipe(fds), 0);
	saved = dup(2);
	ck_assert_int_ne(saved, -1);
	ck_assert_int_ne(dup2(fds[1], 2), -1);
	log_init(LOG_LVL_INFO, "check_lib");
	log_warnx("msg=\"lookup\" name=%s", "x\nlevel=error msg=\"forged\"\r\t\001");
	fflush(stderr);
	ck_assert_int_ne(dup2(saved, 2), -1);
	close(saved);
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	for (i = 0; i < (size_t)n; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_eq(lines, 1);
	ck_assert_msg(strstr(buf, "name=x\\nlevel=error msg=\"forged\"\\r\\t"
	    "\\x01") != NULL, "got %s", buf);
}
END_TEST

static Suite *
lib_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("lib");

	tc = tcase_create("time");
	tcase_add_test(tc, test_mono_ms_advances);
	suite_add_tcase(s, tc);

	tc = tcase_create("alloc");
	tcase_add_test(tc, test_xalloc);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_checked_fixture(tc, json_setup, json_teardown);
	tcase_add_test(tc, test_json_str);
	tcase_add_test(tc, test_json_obj_arr_chain);
	tcase_add_test(tc, test_json_int64);
	tcase_add_test(tc, test_add_clamped);
	suite_add_tcase(s, tc);

	tc = tcase_create("sun_path");
	tcase_add_test(tc, test_sun_path_file);
	tcase_add_test(tc, test_sun_path_abstract);
	tcase_add_test(tc, test_sun_path_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine_message");
	tcase_add_loop_test(tc, test_engine_message, 0,
	    (int)NITEMS(message_rows));
	tcase_add_test(tc, test_engine_message_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_escapes_controls);
	suite_add_tcase(s, tc);

	tc = tcase_create("labels");
	tcase_add_test(tc, test_labels);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(lib_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
