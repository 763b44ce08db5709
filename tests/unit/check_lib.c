/*
 * check_lib.c: lib/util.c: monotonic milliseconds, allocation that aborts,
 * typed JSON getters, unix socket addresses, private directories, an
 * engine's error text, and the label names.
 */
/* Threads: Check's runner only. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "lib/jscan.h"
#include "lib/jsonkeys.h"
#include "lib/labels.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tests/unit/check_tmpdir.h"

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

/*
 * Private directories: what /tmp/dockmux-UID must be before dockmuxd binds
 * its socket there (or the CLI talks to one there).
 */

START_TEST(test_private_dir_made)
{
	struct stat	st;
	char		dir[128], msg[512];
	mode_t		mask;

	snprintf(dir, sizeof(dir), "%s/mine", tmpdir);
	ck_assert_int_eq(dm_private_dir(dir, 0, msg, sizeof(msg)), -1);
	ck_assert_int_eq(errno, ENOENT);
	mask = umask(0777);	/* mkdir alone would give 0000 */
	ck_assert_int_eq(dm_private_dir(dir, 1, msg, sizeof(msg)), 0);
	umask(mask);
	ck_assert_int_eq(lstat(dir, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, 0700);
	ck_assert_uint_eq(st.st_uid, geteuid());
	/* Again, made already: still fine, checked or not made. */
	ck_assert_int_eq(dm_private_dir(dir, 1, msg, sizeof(msg)), 0);
	ck_assert_int_eq(dm_private_dir(dir, 0, msg, sizeof(msg)), 0);
}
END_TEST

/* What is refused, made or not: the message says why, errno EPERM. */
static void
private_dir_refused(const char *dir, const char *why)
{
	char	msg[512], want[512];
	int	create;

	snprintf(want, sizeof(want), "%s %s", dir, why);
	for (create = 0; create <= 1; create++) {
		errno = 0;
		ck_assert_int_eq(dm_private_dir(dir, create, msg, sizeof(msg)),
		    -1);
		ck_assert_int_eq(errno, EPERM);
		ck_assert_str_eq(msg, want);
	}
}

START_TEST(test_private_dir_refused)
{
	char	mine[128], path[128], why[256];
	FILE	*f;

	snprintf(mine, sizeof(mine), "%s/mine", tmpdir);
	ck_assert_int_eq(mkdir(mine, 0700), 0);

	snprintf(path, sizeof(path), "%s/link", tmpdir);
	ck_assert_int_eq(symlink(mine, path), 0);
	private_dir_refused(path, "is a symbolic link, not a directory of "
	    "our own");

	snprintf(path, sizeof(path), "%s/file", tmpdir);
	f = fopen(path, "w");
	ck_assert_ptr_nonnull(f);
	fclose(f);
	private_dir_refused(path, "is not a directory");

	snprintf(path, sizeof(path), "%s/open", tmpdir);
	ck_assert_int_eq(mkdir(path, 0700), 0);
	ck_assert_int_eq(chmod(path, 0755), 0);
	private_dir_refused(path, "has mode 0755, not 0700");

	/* Someone else's: made by another user before us. */
	if (geteuid() == 0) {
		snprintf(path, sizeof(path), "%s/theirs", tmpdir);
		ck_assert_int_eq(mkdir(path, 0700), 0);
		ck_assert_int_eq(chown(path, 65534, 65534), 0);
		snprintf(why, sizeof(why), "is owned by uid 65534 (%s), not "
		    "by us (uid 0)", getpwuid(65534) != NULL ?
		    getpwuid(65534)->pw_name : "no such user");
	} else {
		snprintf(path, sizeof(path), "/");
		snprintf(why, sizeof(why), "is owned by uid 0 (root), not by "
		    "us (uid %lu)", (unsigned long)geteuid());
	}
	private_dir_refused(path, why);
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
/* Log lines go to a pipe between these two; the text into buf. */
static int	log_pipe[2] = { -1, -1 };
static int	log_saved = -1;

static void
log_capture_begin(void)
{
	ck_assert_int_eq(pipe(log_pipe), 0);
	log_saved = dup(2);
	ck_assert_int_ne(log_saved, -1);
	ck_assert_int_ne(dup2(log_pipe[1], 2), -1);
	log_init(LOG_LVL_INFO, "check_lib");
}

static size_t
log_capture_end(char *buf, size_t len)
{
	ssize_t	n;

	fflush(stderr);
	ck_assert_int_ne(dup2(log_saved, 2), -1);
	close(log_saved);
	close(log_pipe[1]);
	n = read(log_pipe[0], buf, len - 1);
	close(log_pipe[0]);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
	return (size_t)n;
}

START_TEST(test_log_escapes_controls)
{
	char	 buf[4096];
	size_t	 n, lines = 0, i;

	log_capture_begin();
	log_warnx("msg=\"lookup\" name=%s", "x\nlevel=error msg=\"forged\"\r\t\001");
	n = log_capture_end(buf, sizeof(buf));
	for (i = 0; i < n; i++)
		lines += buf[i] == '\n';
	ck_assert_uint_eq(lines, 1);
	ck_assert_msg(strstr(buf, "name=x\\nlevel=error msg=\"forged\"\\r\\t"
	    "\\x01") != NULL, "got %s", buf);
}
END_TEST

/* Two keys for one Go struct field: refused; map keys are data. */
START_TEST(test_json_dup_keys)
{
	char	dup[64];
	static const struct { const char *text; int found; const char *dup; }
	    cases[] = {
		{ "{\"HostConfig\":{},\"hostConfig\":{}}", 1, "hostConfig" },
		{ "{\"HostConfig\":{\"Privileged\":false,\"privileged\":true}}",
		    1, "privileged" },
		{ "{\"HostConfig\":{},\"HostConfig\":{}}", 1, "HostConfig" },
		/* escapes are decoded before comparing */
		{ "{\"Image\":\"a\",\"\\u0049mage\":\"b\"}", 1, "Image" },
		/* U+017F folds to s, U+212A to k, as in Go */
		{ "{\"HostConfig\":{},\"Ho\xc5\xbftConfig\":{}}", 1,
		    "Ho\xc5\xbftConfig" },
		{ "{\"HostConfig\":{\"NetworkMode\":\"a\",\"Networ\xe2\x84\xaa"
		    "Mode\":\"host\"}}", 1, "Networ\xe2\x84\xaaMode" },
		/* in an array of structs */
		{ "{\"HostConfig\":{\"Mounts\":[{\"Type\":\"volume\",\"type\":"
		    "\"bind\"}]}}", 1, "type" },
		/* maps: Labels, LogConfig.Config, EndpointsConfig */
		{ "{\"Labels\":{\"a\":\"1\",\"A\":\"2\"}}", 0, "" },
		{ "{\"HostConfig\":{\"LogConfig\":{\"Config\":{\"k\":\"1\","
		    "\"K\":\"2\"}}}}", 0, "" },
		{ "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{},\"N\":"
		    "{}}}}", 0, "" },
		/* a struct below a map is a struct again */
		{ "{\"NetworkingConfig\":{\"EndpointsConfig\":{\"n\":{\"Links\":"
		    "[],\"links\":[]}}}}", 1, "links" },
		{ "{\"Image\":\"busybox\",\"Cmd\":[\"x\",\"x\"]}", 0, "" },
		{ "[1,2,{\"a\":{\"b\":\"}\"}}]", 0, "" },
		/* not JSON: the scan ends instead of spinning */
		{ "[}", 0, "" },
		{ "{\"Image\":[}", 0, "" },
		{ "{\"a\":[1,}]}", 0, "" },
	};
	size_t	i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(dm_json_dup_key(cases[i].text,
		    strlen(cases[i].text), dup, sizeof(dup)), cases[i].found);
		ck_assert_str_eq(dup, cases[i].dup);
	}
}
END_TEST

START_TEST(test_json_canon)
{
	static const char *const names[] = { "HostConfig", "Privileged",
	    "Labels", NULL };
	struct json_object	*o, *tmpl;

	o = json_tokener_parse("{\"hostconfig\":{\"PRIVILEGED\":true},"
	    "\"labels\":{\"privileged\":\"x\"},\"Other\":1}");
	ck_assert_int_eq(dm_json_canon(o, names), 3);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"Other\":1,\"HostConfig\":"
	    "{\"Privileged\":true},\"Labels\":{\"privileged\":\"x\"}}");
	tmpl = json_tokener_parse("{\"HostConfig\":{\"Runtime\":\"kata\"}}");
	json_object_put(o);
	o = json_tokener_parse("{\"hostConfig\":{\"runtime\":\"runc\"}}");
	ck_assert_int_eq(dm_json_canon_like(o, tmpl), 2);
	ck_assert_str_eq(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN), "{\"HostConfig\":{\"Runtime\":\"runc\"}}");
	json_object_put(o);
	json_object_put(tmpl);
}
END_TEST

/*
 * log_q(): a value a client or an engine chose stays one value.  Each
 * row: the value, and how it is written (NULL: as it is, not copied).
 */
static const struct {
	const char	*in;
	const char	*out;
} quote_cases[] = {
	{ "plain", NULL },
	{ "/containers/3f2a/json", NULL },
	{ "docker.io/library/alpine:3.19", NULL },
	{ "caf\xc3\xa9", NULL },			/* UTF-8 stays */
	{ "", "\"\"" },
	{ "a b", "\"a b\"" },
	{ "say \"hi\"", "\"say \\\"hi\\\"\"" },
	{ "C:\\dir", "\"C:\\\\dir\"" },
	{ "k=v", "\"k=v\"" },
	{ "x\" level=error msg=\"forged",
	    "\"x\\\" level=error msg=\\\"forged\"" },
	{ "a\nb\r\tc\001\177", "\"a\\nb\\r\\tc\\x01\\x7f\"" },
};

START_TEST(test_log_quote)
{
	const char	*in = quote_cases[_i].in, *want = quote_cases[_i].out;
	const char	*got;
	char		 buf[DM_LOG_VALUE_MAX];

	got = log_quote(buf, sizeof(buf), in);
	if (want == NULL)
		ck_assert_ptr_eq(got, in);
	else
		ck_assert_str_eq(got, want);
	ck_assert_str_eq(log_q(in), want != NULL ? want : in);
}
END_TEST

START_TEST(test_log_quote_null_and_long)
{
	char	*big;
	size_t	 n;

	ck_assert_str_eq(log_q(NULL), "\"\"");
	/* Longer than a value may be: cut, marked, quoted, and it fits. */
	big = xmalloc(3 * DM_LOG_VALUE_MAX);
	memset(big, 'a', 3 * DM_LOG_VALUE_MAX - 1);
	big[3 * DM_LOG_VALUE_MAX - 1] = '\0';
	n = strlen(log_q(big));
	ck_assert_uint_lt(n, DM_LOG_VALUE_MAX);
	ck_assert_uint_gt(n, DM_LOG_VALUE_MAX - 16);
	ck_assert_int_eq(log_q(big)[0], '"');
	ck_assert_str_eq(log_q(big) + n - 4, "...\"");
	/* Escapes are never cut in half. */
	memset(big, '"', 3 * DM_LOG_VALUE_MAX - 1);
	n = strlen(log_q(big));
	ck_assert_str_eq(log_q(big) + n - 6, "\\\"...\"");
	free(big);
}
END_TEST

/*
 * The value of key in a logfmt line (bare up to a blank, or quoted with
 * backslash escapes; \n, \r, \t and \xNN read back), into out.  1 found.
 */
static int
logfmt_get(const char *line, const char *key, char *out, size_t len)
{
	const char	*p = line;
	size_t		 klen = strlen(key), o = 0;
	int		 at_key;

	for (; *p != '\0'; p++) {
		at_key = (p == line || p[-1] == ' ') &&
		    strncmp(p, key, klen) == 0 && p[klen] == '=';
		if (*p == '"') {	/* skip a quoted value of another key */
			for (p++; *p != '\0' && *p != '"'; p++)
				p += *p == '\\' && p[1] != '\0';
			if (*p == '\0')
				return 0;
			continue;
		}
		if (!at_key)
			continue;
		p += klen + 1;
		if (*p != '"') {
			while (*p != '\0' && *p != ' ' && *p != '\n' &&
			    o + 1 < len)
				out[o++] = *p++;
			out[o] = '\0';
			return 1;
		}
		for (p++; *p != '"' && *p != '\0' && o + 1 < len; p++) {
			if (*p != '\\') {
				out[o++] = *p;
				continue;
			}
			p++;
			if (*p == 'n')
				out[o++] = '\n';
			else if (*p == 'r')
				out[o++] = '\r';
			else if (*p == 't')
				out[o++] = '\t';
			else if (*p == 'x' && p[1] != '\0' && p[2] != '\0') {
				out[o++] = (char)strtol((char[]){ p[1], p[2],
				    '\0' }, NULL, 16);
				p += 2;
			} else
				out[o++] = *p;
		}
		out[o] = '\0';
		return *p == '"';
	}
	return 0;
}

/* Hostile values logged with log_q() read back as themselves. */
START_TEST(test_log_quoted_values_parse_back)
{
	static const char *const path = "/images/a b\"c=d\\e/json";
	static const char *const reason = "No such image: x\" level=error "
	    "msg=\"forged\nnext line";
	char	 buf[4096], got[1024];
	size_t	 n;

	log_capture_begin();
	log_warnx("msg=\"forward failed\" path=%s backend=a reason=%s",
	    log_q(path), log_q(reason));
	n = log_capture_end(buf, sizeof(buf));
	ck_assert_ptr_eq(strchr(buf, '\n'), buf + n - 1);
	ck_assert_msg(logfmt_get(buf, "path", got, sizeof(got)), "%s", buf);
	ck_assert_str_eq(got, path);
	ck_assert_msg(logfmt_get(buf, "reason", got, sizeof(got)), "%s", buf);
	ck_assert_str_eq(got, reason);
	ck_assert(logfmt_get(buf, "backend", got, sizeof(got)));
	ck_assert_str_eq(got, "a");
	ck_assert(logfmt_get(buf, "level", got, sizeof(got)));
	ck_assert_str_eq(got, "warn");
}
END_TEST

/*
 * Under systemd with stderr on the journal, JOURNAL_STREAM holds stderr's
 * "device:inode" and each line starts with its syslog priority,
 * "<4>time=...": the journal keeps it as the priority, so `journalctl -p
 * warning` finds the warnings.  A JOURNAL_STREAM naming another stream
 * (inherited from a parent), or none, leaves the line unchanged.
 */
static const struct journal_row {
	enum log_level	 lvl;
	const char	*journal;	/* "stderr": its dev:ino; NULL: unset */
	const char	*lead;		/* how the line must start */
} journal_rows[] = {
	{ LOG_LVL_ERROR, "stderr", "<3>time=" },
	{ LOG_LVL_WARN, "stderr", "<4>time=" },
	{ LOG_LVL_INFO, "stderr", "<6>time=" },
	{ LOG_LVL_DEBUG, "stderr", "<7>time=" },
	{ LOG_LVL_WARN, NULL, "time=" },
	{ LOG_LVL_WARN, "", "time=" },
	{ LOG_LVL_WARN, "1:1", "time=" },
	{ LOG_LVL_INFO, "journal", "time=" },
};

static void
journal_teardown(void)
{
	unsetenv("JOURNAL_STREAM");
	log_init(LOG_LVL_INFO, "check_lib");
}

START_TEST(test_log_journal_priority)
{
	const struct journal_row	*row = &journal_rows[_i];
	char				 buf[4096], level[32], js[64];
	struct stat			 st;

	log_capture_begin();
	unsetenv("JOURNAL_STREAM");
	if (row->journal != NULL && strcmp(row->journal, "stderr") == 0) {
		ck_assert_int_eq(fstat(2, &st), 0);
		snprintf(js, sizeof(js), "%llu:%llu",
		    (unsigned long long)st.st_dev,
		    (unsigned long long)st.st_ino);
		ck_assert_int_eq(setenv("JOURNAL_STREAM", js, 1), 0);
	} else if (row->journal != NULL)
		ck_assert_int_eq(setenv("JOURNAL_STREAM", row->journal, 1),
		    0);
	log_init(LOG_LVL_DEBUG, "check_lib");
	log_emit(row->lvl, 0, "msg=\"journal\"");
	(void)log_capture_end(buf, sizeof(buf));
	ck_assert_msg(strncmp(buf, row->lead, strlen(row->lead)) == 0,
	    "row %d: got %s", _i, buf);
	/* The rest of the line reads as before. */
	ck_assert(logfmt_get(buf, "level", level, sizeof(level)));
	ck_assert(strstr(buf, " msg=\"journal\"\n") != NULL);
}
END_TEST

/*
 * dm_flag_error(): what getopt_long() refused, named as the docker CLI
 * names it, for real argument vectors (optind and optopt as glibc leaves
 * them).  Options as dockmux routes has them: --backend B, --json, -l V.
 */
static const struct flag_row {
	const char	*argv[4];
	const char	*want;
} flag_rows[] = {
	{ { "routes", "--bogus" }, "unknown flag: --bogus" },
	{ { "routes", "--bogus=1" }, "unknown flag: --bogus" },
	{ { "routes", "--json", "--bogus" }, "unknown flag: --bogus" },
	{ { "routes", "-x" }, "unknown shorthand flag: 'x'" },
	{ { "routes", "-jx" }, "unknown shorthand flag: 'x'" },
	{ { "routes", "-xj" }, "unknown shorthand flag: 'x'" },
	{ { "routes", "--backend" }, "flag needs an argument: --backend" },
	{ { "routes", "--json", "--backend" },
	  "flag needs an argument: --backend" },
	{ { "routes", "-l" }, "flag needs an argument: -l" },
	{ { "routes", "-jl" }, "flag needs an argument: -l" },
	{ { "routes", "--json=yes" }, "flag takes no argument: --json" },
};

START_TEST(test_flag_error)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	const struct flag_row	*row = &flag_rows[_i];
	char			*argv[5] = { NULL }, buf[128];
	int			 argc = 0, ch;

	while (argc < 4 && row->argv[argc] != NULL) {
		argv[argc] = (char *)(uintptr_t)row->argv[argc];
		argc++;
	}
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":jl:", longopts, NULL)) == 'j')
		;
	ck_assert_msg(ch == '?' || ch == ':', "row %d: getopt gave %d", _i,
	    ch);
	dm_flag_error(buf, sizeof(buf), ch, optopt, argv[optind - 1]);
	ck_assert_str_eq(buf, row->want);
}
END_TEST

/* ---- jscan: JSON text read in place ---- */

static const struct {
	const char	*text;
	int		 valid;
} jscan_rows[] = {
	{ "[]", 1 }, { "{}", 1 }, { " [ 1 , 2 ] ", 1 }, { "\"\"", 1 },
	{ "\"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u00e9\"", 1 }, { "0", 1 },
	{ "-0.5e+10", 1 }, { "1E3", 1 }, { "true", 1 }, { "false", 1 },
	{ "null", 1 }, { "{\"a\":[{\"b\":null}],\"c\":{}}", 1 },
	{ "[\"\\u12\"]", 0 }, { "\"\\x\"", 0 }, { "\"a\tb\"", 1 },
	{ "\"open", 0 }, { "[1,]", 0 }, { "[,1]", 0 }, { "{\"a\"}", 0 },
	{ "{\"a\":1,}", 0 }, { "{a:1}", 0 }, { "{'a':1}", 0 }, { "01", 0 },
	{ "1.", 0 }, { ".5", 0 }, { "-", 0 }, { "1e", 0 }, { "+1", 0 },
	{ "tru", 0 }, { "nul", 0 }, { "NaN", 0 }, { "[1 2]", 0 },
	{ "{\"a\" 1}", 0 }, { "[", 0 }, { "{", 0 }, { "", 0 }, { "  ", 0 },
	{ "[1]]", 0 }, { "1 2", 0 },
};

/* Is all of t one JSON value (white space around it allowed)? */
static int
jscan_whole(const char *t)
{
	const char	*end = t + strlen(t), *e = jscan_value(t, end);

	return e != NULL && jscan_ws(e, end) == end;
}

START_TEST(test_jscan_value)
{
	const char	*t = jscan_rows[_i].text;

	ck_assert_msg(jscan_whole(t) == jscan_rows[_i].valid,
	    "jscan_value(%s): %s", t, jscan_whole(t) ? "valid" : "refused");
}
END_TEST

/*
 * What jscan takes, json-c's strict parser takes too (json-c is more
 * lenient still: "1.", single quotes; Go's encoder writes neither).
 */
START_TEST(test_jscan_agrees_with_json_c)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	const char		*t;
	size_t			 i, n;
	int			 ours, theirs;

	for (i = 0; i < NITEMS(jscan_rows); i++) {
		t = jscan_rows[i].text;
		n = strlen(t);
		if (strspn(t, " ") == n)
			continue;	/* json-c reads "" as incomplete */
		tok = json_tokener_new();
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		/* With the NUL: a number at the end is not "incomplete". */
		o = json_tokener_parse_ex(tok, t, (int)n + 1);
		theirs = json_tokener_get_error(tok) == json_tokener_success &&
		    json_tokener_get_parse_end(tok) >= n;
		json_object_put(o);
		json_tokener_free(tok);
		ours = jscan_whole(t);
		ck_assert_msg(!ours || theirs, "%s: jscan %d, json-c %d", t,
		    ours, theirs);
	}
}
END_TEST

START_TEST(test_jscan_iterates_spans)
{
	const char		*t = " { \"a\" : [1, {\"x\":\"]\"}] ,\"b\\\"c\":"
				    "null,\"d\":\"e\" } tail";
	struct jscan		 it;
	struct jscan_span	 k, v;

	ck_assert_int_eq(jscan_open(&it, t, t + strlen(t), '{'), 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(jscan_is(&k, "a"));
	ck_assert_int_eq((int)v.n, (int)strlen("[1, {\"x\":\"]\"}]"));
	ck_assert(memcmp(v.p, "[1, {\"x\":\"]\"}]", v.n) == 0);
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert_int_eq((int)k.n, 4);		/* raw, escapes kept */
	ck_assert(jscan_is(&k, "b\"c"));	/* compared decoded */
	ck_assert(jscan_is(&v, "null"));
	ck_assert_int_eq(jscan_next(&it, &k, &v), 1);
	ck_assert(jscan_is(&v, "\"e\""));
	ck_assert_int_eq(jscan_next(&it, &k, &v), 0);
	ck_assert_str_eq(it.p, " tail");
	/* Not the container asked for. */
	ck_assert_int_eq(jscan_open(&it, t, t + strlen(t), '['), -1);
	/* A bad element stops the walk. */
	t = "[1, 2 3]";
	ck_assert_int_eq(jscan_open(&it, t, t + strlen(t), '['), 0);
	ck_assert_int_eq(jscan_next(&it, NULL, &v), 1);
	ck_assert_int_eq(jscan_next(&it, NULL, &v), 1);
	ck_assert_int_eq(jscan_next(&it, NULL, &v), -1);
	/* Cut short inside a value. */
	t = "[{\"a\":1}";
	ck_assert_int_eq(jscan_open(&it, t, t + strlen(t), '['), 0);
	ck_assert_int_eq(jscan_next(&it, NULL, &v), 1);
	ck_assert_int_eq(jscan_next(&it, NULL, &v), -1);
}
END_TEST

START_TEST(test_jscan_str)
{
	static const struct {
		const char	*raw, *want;
	} rows[] = {
		{ "plain", "plain" },
		{ "a\\\"\\\\\\/\\b\\f\\n\\r\\t", "a\"\\/\b\f\n\r\t" },
		{ "\\u00e9\\u20ac", "\xc3\xa9\xe2\x82\xac" },
		{ "\\ud83d\\ude00", "\xf0\x9f\x98\x80" },
		{ "\\ud83dx", "\xef\xbf\xbdx" },	/* lone: U+FFFD */
		{ "\\u0049d", "Id" },
	};
	struct jscan_span	s;
	char			out[32];
	size_t			i;

	for (i = 0; i < NITEMS(rows); i++) {
		s.p = rows[i].raw;
		s.n = strlen(rows[i].raw);
		ck_assert_uint_eq(jscan_str(&s, out, sizeof(out)),
		    strlen(rows[i].want));
		ck_assert_str_eq(out, rows[i].want);
	}
	s.p = "abcd";
	s.n = 4;
	ck_assert_uint_eq(jscan_str(&s, out, 4), 4);	/* cut */
	ck_assert_str_eq(out, "abc");
	ck_assert_uint_eq(jscan_str(&s, out, 5), 4);
	ck_assert_str_eq(out, "abcd");
	ck_assert_uint_eq(jscan_str(&s, NULL, 0), 4);
	s.p = "I\\u0064";
	s.n = strlen(s.p);
	ck_assert(jscan_is(&s, "Id"));
	ck_assert(!jscan_is(&s, "Ix"));
}
END_TEST

START_TEST(test_jscan_depth)
{
	char	buf[2 * (DM_JSCAN_DEPTH + 2)] = { 0 };
	int	n;

	for (n = DM_JSCAN_DEPTH; n <= DM_JSCAN_DEPTH + 1; n++) {
		memset(buf, '[', (size_t)n);
		memset(buf + n, ']', (size_t)n);
		ck_assert_msg((jscan_value(buf, buf + 2 * n) != NULL) ==
		    (n <= DM_JSCAN_DEPTH), "depth %d", n);
	}
}
END_TEST

START_TEST(test_jscan_int)
{
	static const struct {
		const char	*text;
		long long	 want;
	} rows[] = {
		{ "0", 0 }, { "-12", -12 }, { "1700000000", 1700000000LL },
		{ "1.9", 1 }, { "-1.9", -1 }, { "1.5e1", 15 }, { "2E2", 200 },
		{ "99999999999999999999", INT64_MAX },
		{ "-99999999999999999999", INT64_MIN }, { "1e300", INT64_MAX },
		{ "\"5\"", 0 }, { "null", 0 }, { "1x", 0 }, { "", 0 },
		{ "1700000000111111111111111111111111111111111111111111111111"
		  "11111111111111111111110", INT64_MAX },
		{ "-0.00000000000000000000000000000000000000000000000000000000"
		  "0000000001", 0 },
	};
	struct jscan_span	s;
	size_t			i;

	for (i = 0; i < NITEMS(rows); i++) {
		s.p = rows[i].text;
		s.n = strlen(rows[i].text);
		ck_assert_msg(jscan_int(&s) == rows[i].want, "%s: %lld",
		    rows[i].text, jscan_int(&s));
	}
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
	tcase_add_test(tc, test_json_dup_keys);
	tcase_add_test(tc, test_json_canon);
	tcase_add_test(tc, test_add_clamped);
	suite_add_tcase(s, tc);

	tc = tcase_create("jscan");
	tcase_add_loop_test(tc, test_jscan_value, 0, (int)NITEMS(jscan_rows));
	tcase_add_test(tc, test_jscan_agrees_with_json_c);
	tcase_add_test(tc, test_jscan_iterates_spans);
	tcase_add_test(tc, test_jscan_str);
	tcase_add_test(tc, test_jscan_depth);
	tcase_add_test(tc, test_jscan_int);
	suite_add_tcase(s, tc);

	tc = tcase_create("sun_path");
	tcase_add_test(tc, test_sun_path_file);
	tcase_add_test(tc, test_sun_path_abstract);
	tcase_add_test(tc, test_sun_path_limits);
	suite_add_tcase(s, tc);

	tc = tcase_create("private_dir");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_private_dir_made);
	tcase_add_test(tc, test_private_dir_refused);
	suite_add_tcase(s, tc);

	tc = tcase_create("engine_message");
	tcase_add_loop_test(tc, test_engine_message, 0,
	    (int)NITEMS(message_rows));
	tcase_add_test(tc, test_engine_message_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("log");
	tcase_add_test(tc, test_log_escapes_controls);
	tcase_add_loop_test(tc, test_log_quote, 0, (int)NITEMS(quote_cases));
	tcase_add_test(tc, test_log_quote_null_and_long);
	tcase_add_test(tc, test_log_quoted_values_parse_back);
	suite_add_tcase(s, tc);

	tc = tcase_create("journal");
	tcase_add_checked_fixture(tc, NULL, journal_teardown);
	tcase_add_loop_test(tc, test_log_journal_priority, 0,
	    (int)NITEMS(journal_rows));
	suite_add_tcase(s, tc);

	tc = tcase_create("flags");
	tcase_add_loop_test(tc, test_flag_error, 0, (int)NITEMS(flag_rows));
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
