/*
 * check_cfg.c: dockmux.json parsing, defaults and socket autodetection;
 * and, since autodetection's probe links backends/, the header ceilings
 * of an exchange with an engine (refused, never cut).
 */
/* Threads: Check's runner; engine tests add one fake engine thread. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>
#include <json-c/json.h>

#include "backends/backend.h"
#include "config/cfg.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "tests/unit/check_tmpdir.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* Configs are written with ' for " so the tables stay readable. */
#define BE_A	"{'name':'a','endpoint':'unix:///run/a.sock'}"
#define BE_B	"{'name':'b','endpoint':'unix:///run/b.sock'}"

static const char design_example[] =
    "{\n"
    "  'listen': 'unix:///run/dockmux.sock',\n"
    "  'socket_mode': '0660',\n"
    "  'socket_group': 'docker',\n"
    "  'store': '/var/lib/dockmux/dockmux.db',\n"
    "  'isolation_labels': ['io.dockmux.isolation'],\n"
    "  'unknown_os_backend': 'native',\n"
    "  'backends': [\n"
    "    { 'name': 'native', 'endpoint': 'unix:///var/run/docker.sock' },\n"
    "    { 'name': 'vm', 'endpoint': 'unix:///run/vm-engine/docker.sock',\n"
    "      'os': 'linux', 'isolation': ['vm', 'libkrun'],\n"
    "      'runtime_markers': ['vm'],\n"
    "      'create_overrides': { 'HostConfig': { 'Runtime': 'kata' } } }\n"
    "  ]\n"
    "}\n";

/* Owned: free(). */
static char *
dq(const char *text)
{
	char	*s, *c;

	s = strdup(text);
	ck_assert_ptr_nonnull(s);
	for (c = s; *c != '\0'; c++)
		if (*c == '\'')
			*c = '"';
	return s;
}

/* Owned: cfg_free(); errbuf receives the error text. */
static struct cfg *
load(const char *text, char *errbuf, size_t errlen)
{
	struct cfg	*cfg;
	char		*json = dq(text);

	cfg = cfg_load_string(json, errbuf, errlen);
	free(json);
	return cfg;
}

/* Good configs */

START_TEST(test_design_example)
{
	struct cfg			*cfg;
	const struct cfg_backend	*vm;
	struct json_object		*hc, *rt;
	char				 err[1024];

	cfg = load(design_example, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_str_eq(cfg->listen, "unix:///run/dockmux.sock");
	ck_assert_str_eq(cfg->socket_path, "/run/dockmux.sock");
	ck_assert_uint_eq(cfg->socket_mode, 0660);
	ck_assert_str_eq(cfg->socket_group, "docker");
	ck_assert_str_eq(cfg->store, "/var/lib/dockmux/dockmux.db");
	ck_assert_str_eq(cfg->isolation_labels[0], "io.dockmux.isolation");
	ck_assert_ptr_null(cfg->isolation_labels[1]);
	ck_assert_str_eq(cfg->unknown_os_backend, "native");
	ck_assert_int_eq(cfg->autodetected, 0);
	ck_assert_uint_eq(cfg->nbackends, 2);

	ck_assert_str_eq(cfg->backends[0].name, "native");
	ck_assert_str_eq(cfg->backends[0].endpoint,
	    "unix:///var/run/docker.sock");
	ck_assert_str_eq(cfg->backends[0].socket_path, "/var/run/docker.sock");
	ck_assert_ptr_null(cfg->backends[0].os);
	ck_assert_ptr_null(cfg->backends[0].create_overrides);

	vm = cfg_backend_find(cfg, "vm");
	ck_assert_ptr_eq(vm, &cfg->backends[1]);
	ck_assert_str_eq(vm->socket_path, "/run/vm-engine/docker.sock");
	ck_assert_str_eq(vm->os, "linux");
	ck_assert_ptr_null(vm->arch);
	ck_assert_str_eq(vm->isolation[0], "vm");
	ck_assert_str_eq(vm->isolation[1], "libkrun");
	ck_assert_ptr_null(vm->isolation[2]);
	ck_assert_str_eq(vm->runtime_markers[0], "vm");
	ck_assert_ptr_null(vm->runtime_markers[1]);
	ck_assert(json_object_object_get_ex(vm->create_overrides,
	    "HostConfig", &hc));
	ck_assert(json_object_object_get_ex(hc, "Runtime", &rt));
	ck_assert_str_eq(json_object_get_string(rt), "kata");
	ck_assert_ptr_null(cfg_backend_find(cfg, "nope"));
	cfg_free(cfg);
}
END_TEST

START_TEST(test_minimal_gets_defaults)
{
	struct cfg	*cfg;
	char		 err[1024], listen[PATH_MAX + 8];

	cfg = load("{'backends': [" BE_A "]}", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	snprintf(listen, sizeof(listen), "unix://%s", cfg_default_socket());
	ck_assert_str_eq(cfg->listen, listen);
	ck_assert_str_eq(cfg->socket_path, cfg_default_socket());
	ck_assert_str_eq(cfg->store, cfg_default_store());
	ck_assert_uint_eq(cfg->socket_mode, 0660);
	ck_assert_ptr_null(cfg->socket_group);
	ck_assert_str_eq(cfg->isolation_labels[0], "io.dockmux.isolation");
	ck_assert_ptr_null(cfg->isolation_labels[1]);
	ck_assert_ptr_null(cfg->unknown_os_backend);
	ck_assert_int_eq(cfg->image_copy, 1);
	ck_assert_int_eq(cfg->max_connections, 1024);
	ck_assert_int_eq(cfg->max_connections_per_peer, 256);
	ck_assert_int_eq(cfg->idle_timeout_s, 60);
	ck_assert_int_eq(cfg->upgrade_grace_s, 3600);
	ck_assert_int_eq(cfg->access_set, 0);
	ck_assert_uint_eq(cfg->nbackends, 1);
	ck_assert_str_eq(cfg->backends[0].name, "a");
	ck_assert_ptr_null(cfg->backends[0].os);
	ck_assert_ptr_null(cfg->backends[0].arch);
	ck_assert_ptr_nonnull(cfg->backends[0].isolation);
	ck_assert_ptr_null(cfg->backends[0].isolation[0]);
	ck_assert_ptr_nonnull(cfg->backends[0].runtime_markers);
	ck_assert_ptr_null(cfg->backends[0].runtime_markers[0]);
	ck_assert_ptr_null(cfg->backends[0].create_overrides);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_remote_endpoints)
{
	struct cfg	*cfg;
	char		 err[1024];

	cfg = load("{'listen': ['unix:///r/d.sock', 'tcp://0.0.0.0:2376', "
	    "'tcp://[::1]:2377'], 'tls': '/etc/dockmux/tls', 'backends': ["
	    "{'name': 'win', 'endpoint': 'tcp://win1:2376', 'tls': {'ca': "
	    "'/c/ca.pem', 'cert': '/c/cert.pem', 'key': '/c/key.pem'}}, "
	    "{'name': 'arm', 'endpoint': 'tcp://10.0.0.2:2376', 'tls': "
	    "'/etc/dockmux/certs/arm1'}, "
	    "{'name': 'plain', 'endpoint': 'tcp://127.0.0.1:2375', 'tls': "
	    "false}, "
	    "{'name': 'vm', 'endpoint': 'ssh://root@vmhost:2222', 'ssh': "
	    "{'identity': '/k/id', 'known_hosts': '/k/kh'}}, "
	    "{'name': 'vm2', 'endpoint': 'ssh://vmhost2'}]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_uint_eq(cfg->nlisten, 3);
	ck_assert_str_eq(cfg->listen, "unix:///r/d.sock");
	ck_assert_str_eq(cfg->socket_path, "/r/d.sock");
	ck_assert_int_eq(cfg->listens[1].ep.transport, CFG_TCP);
	ck_assert_str_eq(cfg->listens[1].ep.host, "0.0.0.0");
	ck_assert_int_eq(cfg->listens[1].ep.port, 2376);
	ck_assert_str_eq(cfg->listens[2].ep.host, "::1");
	ck_assert_str_eq(cfg->tls.ca, "/etc/dockmux/tls/ca.pem");
	ck_assert_str_eq(cfg->tls.key, "/etc/dockmux/tls/key.pem");
	ck_assert_int_eq(cfg->backends[0].ep.transport, CFG_TCP);
	ck_assert_ptr_null(cfg->backends[0].socket_path);
	ck_assert_int_eq(cfg->backends[0].tls_mode, CFG_TLS_VERIFY);
	ck_assert_str_eq(cfg->backends[0].tls.cert, "/c/cert.pem");
	ck_assert_str_eq(cfg->backends[1].tls.ca,
	    "/etc/dockmux/certs/arm1/ca.pem");
	ck_assert_int_eq(cfg->backends[2].tls_mode, CFG_TLS_OFF);
	ck_assert_int_eq(cfg->backends[3].ep.transport, CFG_SSH);
	ck_assert_str_eq(cfg->backends[3].ep.user, "root");
	ck_assert_str_eq(cfg->backends[3].ep.host, "vmhost");
	ck_assert_int_eq(cfg->backends[3].ep.port, 2222);
	ck_assert_str_eq(cfg->backends[3].ssh_identity, "/k/id");
	ck_assert_str_eq(cfg->backends[3].ssh_known_hosts, "/k/kh");
	ck_assert_ptr_null(cfg->backends[4].ep.user);
	ck_assert_int_eq(cfg->backends[4].ep.port, 0);
	cfg_free(cfg);
	/* Plain TCP on loopback is fine; elsewhere only when allowed. */
	cfg = load("{'listen': 'tcp://0.0.0.0:2375', 'allow_plain_tcp': true, "
	    "'backends': [" BE_A "]}", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_ptr_null(cfg->socket_path);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_access_rules)
{
	struct cfg	*cfg;
	char		 err[1024];

	cfg = load("{'access': [{'user': 'root', 'grant': 'restricted', "
	    "'backends': ['a'], 'scope': 'owner', 'bind_mounts': "
	    "['/srv/ci/']}, {'gid': 50, 'grant': 'read-only'}, "
	    "{'subject': 'CN=ci', 'grant': 'full'}], 'backends': [" BE_A "]}",
	    err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg->access_set, 1);
	ck_assert_uint_eq(cfg->naccess, 3);
	ck_assert_int_eq(cfg->access[0].match, MATCH_USER);
	ck_assert_uint_eq(cfg->access[0].uid, 0);
	ck_assert_str_eq(cfg->access[0].name, "access[0] (user root)");
	ck_assert_int_eq(cfg->access[0].grant, GRANT_RESTRICTED);
	ck_assert_int_eq(cfg->access[0].scope_owner, 1);
	ck_assert_str_eq(cfg->access[0].backends[0], "a");
	ck_assert_str_eq(cfg->access[0].bind_mounts[0], "/srv/ci/");
	ck_assert_int_eq(cfg->access[1].match, MATCH_GID);
	ck_assert_uint_eq(cfg->access[1].gid, 50);
	ck_assert_int_eq(cfg->access[1].grant, GRANT_READ_ONLY);
	ck_assert_int_eq(cfg->access[2].match, MATCH_SUBJECT);
	ck_assert_str_eq(cfg->access[2].subject, "CN=ci");
	cfg_free(cfg);
	/* Present and empty: every peer but root is denied. */
	cfg = load("{'access': [], 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg->access_set, 1);
	ck_assert_uint_eq(cfg->naccess, 0);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_image_copy_off)
{
	struct cfg	*cfg;
	char		 err[1024];

	cfg = load("{'image_copy': false, 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg->image_copy, 0);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_upgrade_grace_set)
{
	struct cfg	*cfg;
	char		 err[1024];

	cfg = load("{'upgrade_grace_s': 0, 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg->upgrade_grace_s, 0);
	cfg_free(cfg);
	cfg = load("{'upgrade_grace_s': 86400, 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg->upgrade_grace_s, 86400);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_socket_mode_forms)
{
	static const struct {
		const char	*text;
		mode_t		 mode;
	} rows[] = {
		{ "'0660'", 0660 }, { "'600'", 0600 }, { "'0755'", 0755 },
		{ "'2770'", 02770 }, { "'0'", 0 },
	};
	struct cfg	*cfg;
	char		 text[256], err[1024];
	size_t		 i;

	for (i = 0; i < NITEMS(rows); i++) {
		snprintf(text, sizeof(text), "{'socket_mode': %s, "
		    "'backends': [" BE_A "]}", rows[i].text);
		cfg = load(text, err, sizeof(err));
		ck_assert_msg(cfg != NULL, "%s refused: %s", rows[i].text, err);
		ck_assert_uint_eq(cfg->socket_mode, rows[i].mode);
		cfg_free(cfg);
	}
}
END_TEST

/* Builds {"backends":[n backends b0..]}; owned: free(). */
static char *
n_backends(size_t n)
{
	size_t	 i, len = 32 + n * 64, off;
	char	*s = malloc(len);

	ck_assert_ptr_nonnull(s);
	off = (size_t)snprintf(s, len, "{\"backends\": [");
	for (i = 0; i < n; i++)
		off += (size_t)snprintf(s + off, len - off, "%s{\"name\": "
		    "\"b%zu\", \"endpoint\": \"unix:///run/b%zu.sock\"}",
		    i == 0 ? "" : ",", i, i);
	snprintf(s + off, len - off, "]}");
	return s;
}

START_TEST(test_backend_count_limit)
{
	struct cfg	*cfg;
	char		*text, err[1024];

	text = n_backends(DM_MAX_BACKENDS);
	cfg = cfg_load_string(text, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_uint_eq(cfg->nbackends, DM_MAX_BACKENDS);
	cfg_free(cfg);
	free(text);

	text = n_backends(DM_MAX_BACKENDS + 1);
	cfg = cfg_load_string(text, err, sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "backends: 33 backends, at most 32 are "
	    "supported");
	free(text);
}
END_TEST

/* Bad configs: each names the key by path; the exact substring expected. */

static const struct bad_case {
	const char	*name;
	const char	*text;
	const char	*want;
} bad_cases[] = {
	{ "syntax_unterminated", "{'backends': [",
	  "syntax error at line 1, column 15: unexpected end of data" },
	{ "syntax_line_col", "{\n  'listen': 'unix:///x.sock',\n"
	  "  'backends': [}\n", "syntax error at line 3, column 16" },
	{ "syntax_trailing_comma", "{'backends': [" BE_A "],}",
	  "syntax error at line 1, column" },
	{ "syntax_trailing_text", "{'backends': [" BE_A "]} x",
	  "syntax error at line 1, column 62: unexpected character" },
	{ "syntax_empty", "", "syntax error: empty configuration" },
	{ "syntax_blank", "  \n\t\n", "syntax error: empty configuration" },
	{ "top_not_object", "[" BE_A "]", "top level: expected object" },
	{ "unknown_top_key", "{'listne': 'unix:///x.sock', 'backends': ["
	  BE_A "]}", "unknown key \"listne\"" },
	{ "unknown_backend_key", "{'backends': [" BE_A ", {'name': 'b', "
	  "'endpoint': 'unix:///b.sock', 'nmae': 'x'}]}",
	  "backends[1]: unknown key \"nmae\"" },
	{ "listen_type", "{'listen': 1, 'backends': [" BE_A "]}",
	  "listen: expected a string or a non-empty array of strings" },
	{ "listen_empty_list", "{'listen': [], 'backends': [" BE_A "]}",
	  "listen: expected a string or a non-empty array of strings" },
	{ "listen_npipe", "{'listen': 'npipe:////./pipe/x', 'backends': ["
	  BE_A "]}", "listen: \"npipe:////./pipe/x\": only unix:// and "
	  "tcp:// listeners are supported" },
	{ "listen_ssh", "{'listen': ['unix:///x.sock', 'ssh://h'], "
	  "'backends': [" BE_A "]}", "listen[1]: \"ssh://h\": only unix:// "
	  "and tcp:// listeners are supported" },
	{ "listen_plain_tcp", "{'listen': 'tcp://0.0.0.0:2375', 'backends': ["
	  BE_A "]}", "listen: \"tcp://0.0.0.0:2375\": plain TCP beyond "
	  "loopback gives the host to anyone who can connect" },
	{ "listen_tcp_no_port", "{'listen': 'tcp://127.0.0.1', 'backends': ["
	  BE_A "]}", "listen: \"tcp://127.0.0.1\": the port is missing" },
	{ "listen_v6_unbracketed", "{'listen': 'tcp://::1:2375', "
	  "'backends': [" BE_A "]}", "an IPv6 address must be written in "
	  "brackets" },
	{ "tls_top_missing_ca", "{'listen': 'tcp://0.0.0.0:2376', 'tls': "
	  "{'cert': '/c.pem', 'key': '/k.pem'}, 'backends': [" BE_A "]}",
	  "tls.ca: required" },
	{ "tls_relative", "{'tls': {'ca': 'ca.pem', 'cert': '/c', 'key': "
	  "'/k'}, 'backends': [" BE_A "]}", "tls.ca: expected an absolute "
	  "path" },
	{ "socket_mode_type", "{'socket_mode': 660, 'backends': [" BE_A "]}",
	  "socket_mode: expected string" },
	{ "socket_mode_digits", "{'socket_mode': '0968', 'backends': ["
	  BE_A "]}", "socket_mode: \"0968\" is not an octal file mode" },
	{ "socket_mode_word", "{'socket_mode': 'rw', 'backends': [" BE_A "]}",
	  "socket_mode: \"rw\" is not an octal file mode" },
	{ "socket_mode_big", "{'socket_mode': '17777', 'backends': ["
	  BE_A "]}", "socket_mode: \"17777\" is not an octal file mode" },
	{ "socket_group_type", "{'socket_group': ['docker'], 'backends': ["
	  BE_A "]}", "socket_group: expected string" },
	{ "socket_group_null", "{'socket_group': null, 'backends': ["
	  BE_A "]}", "socket_group: expected string" },
	{ "store_type", "{'store': {}, 'backends': [" BE_A "]}",
	  "store: expected string" },
	{ "store_empty", "{'store': '', 'backends': [" BE_A "]}",
	  "store: must not be empty" },
	{ "isolation_labels_type", "{'isolation_labels': 'x', 'backends': ["
	  BE_A "]}", "isolation_labels: expected array of strings" },
	{ "isolation_labels_elem", "{'isolation_labels': ['x', 2], "
	  "'backends': [" BE_A "]}",
	  "isolation_labels: expected array of strings" },
	{ "unknown_os_backend_type", "{'unknown_os_backend': true, "
	  "'backends': [" BE_A "]}", "unknown_os_backend: expected string" },
	{ "image_copy_type", "{'image_copy': 'no', 'backends': [" BE_A "]}",
	  "image_copy: expected boolean" },
	{ "max_connections_zero", "{'max_connections': 0, 'backends': ["
	  BE_A "]}", "max_connections: 0 is out of range (1 to 65536)" },
	{ "max_per_peer_type", "{'max_connections_per_peer': '5', "
	  "'backends': [" BE_A "]}", "max_connections_per_peer: expected "
	  "integer" },
	{ "idle_timeout_negative", "{'idle_timeout_s': -1, 'backends': ["
	  BE_A "]}", "idle_timeout_s: -1 is out of range (0 to 86400" },
	{ "upgrade_grace_type", "{'upgrade_grace_s': '60', 'backends': ["
	  BE_A "]}", "upgrade_grace_s: expected integer" },
	{ "upgrade_grace_negative", "{'upgrade_grace_s': -5, 'backends': ["
	  BE_A "]}", "upgrade_grace_s: -5 is out of range (0 to 86400" },
	{ "upgrade_grace_big", "{'upgrade_grace_s': 86401, 'backends': ["
	  BE_A "]}", "upgrade_grace_s: 86401 is out of range (0 to 86400" },
	{ "access_type", "{'access': {}, 'backends': [" BE_A "]}",
	  "access: expected array of objects" },
	{ "access_two_matches", "{'access': [{'uid': 1, 'user': 'root', "
	  "'grant': 'full'}], 'backends': [" BE_A "]}", "access[0]: exactly "
	  "one of uid, user, gid, group, subject is required" },
	{ "access_no_grant", "{'access': [{'uid': 1}], 'backends': [" BE_A
	  "]}", "access[0].grant: required" },
	{ "access_bad_grant", "{'access': [{'uid': 1, 'grant': 'admin'}], "
	  "'backends': [" BE_A "]}", "access[0].grant: \"admin\" is not one "
	  "of" },
	{ "access_unknown_key", "{'access': [{'uid': 1, 'grant': 'full', "
	  "'scop': 'owner'}], 'backends': [" BE_A "]}", "access[0]: unknown "
	  "key \"scop\"" },
	{ "access_unknown_user", "{'access': [{'user': 'no-such-user-x', "
	  "'grant': 'full'}], 'backends': [" BE_A "]}", "access[0].user: no "
	  "user named \"no-such-user-x\"" },
	{ "access_backends_not_restricted", "{'access': [{'uid': 1, "
	  "'grant': 'full', 'backends': ['a']}], 'backends': [" BE_A "]}",
	  "access[0].backends: only a \"restricted\" grant names backends" },
	{ "access_backends_unknown", "{'access': [{'uid': 1, 'grant': "
	  "'restricted', 'backends': ['zz']}], 'backends': [" BE_A "]}",
	  "access[0].backends: no backend named \"zz\"" },
	{ "access_bind_dotdot", "{'access': [{'uid': 1, 'grant': "
	  "'restricted', 'bind_mounts': ['/srv/../etc']}], 'backends': ["
	  BE_A "]}", "access[0].bind_mounts: \"/srv/../etc\" is not an "
	  "absolute path" },
	{ "access_scope", "{'access': [{'gid': 1, 'grant': 'full', "
	  "'scope': 'mine'}], 'backends': [" BE_A "]}", "access[0].scope: "
	  "expected \"owner\" or \"all\"" },
	{ "unknown_os_backend_unknown", "{'unknown_os_backend': 'x', "
	  "'backends': [" BE_A "]}",
	  "unknown_os_backend: no backend named \"x\"" },
	{ "backends_type", "{'backends': {}}",
	  "backends: expected array of objects or \"auto\"" },
	{ "backends_word", "{'backends': 'all'}",
	  "backends: expected array of objects or \"auto\"" },
	{ "backends_elem_type", "{'backends': [" BE_A ", 'b']}",
	  "backends[1]: expected object" },
	{ "backends_empty", "{'backends': []}",
	  "backends: at least one backend is required" },
	{ "backends_missing", "{'listen': 'unix:///x.sock'}",
	  "backends: required key is missing" },
	{ "name_missing", "{'backends': [{'endpoint': 'unix:///a.sock'}]}",
	  "backends[0].name: required key is missing" },
	{ "name_type", "{'backends': [{'name': 1, 'endpoint': "
	  "'unix:///a.sock'}]}", "backends[0].name: expected string" },
	{ "name_chars", "{'backends': [{'name': 'a b', 'endpoint': "
	  "'unix:///a.sock'}]}",
	  "backends[0].name: \"a b\" is not a valid name" },
	{ "name_long", "{'backends': [{'name': '"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "', 'endpoint': 'unix:///a.sock'}]}",
	  "is longer than 63 characters" },
	{ "name_duplicate", "{'backends': [{'name': 'vm', 'endpoint': "
	  "'unix:///a.sock'}, " BE_B ", {'name': 'vm', 'endpoint': "
	  "'unix:///c.sock'}]}",
	  "backends[2].name: duplicate backend name \"vm\"" },
	{ "endpoint_missing", "{'backends': [{'name': 'a'}]}",
	  "backends[0].endpoint: required key is missing" },
	{ "endpoint_type", "{'backends': [{'name': 'a', 'endpoint': "
	  "['unix:///a.sock']}]}", "backends[0].endpoint: expected string" },
	{ "endpoint_tcp_no_tls", "{'backends': [{'name': 'a', 'endpoint': "
	  "'tcp://10.0.0.1:2375'}]}", "backends[0].tls: required for a "
	  "tcp:// endpoint" },
	{ "endpoint_tcp_tls_true", "{'backends': [{'name': 'a', 'endpoint': "
	  "'tcp://h:2376', 'tls': true}]}", "backends[0].tls: true is not a "
	  "TLS setting" },
	{ "endpoint_tcp_cert_no_key", "{'backends': [{'name': 'a', "
	  "'endpoint': 'tcp://h:2376', 'tls': {'ca': '/ca', 'cert': '/c'}}]}",
	  "backends[0].tls: \"cert\" and \"key\" go together" },
	{ "endpoint_unix_tls", "{'backends': [{'name': 'a', 'endpoint': "
	  "'unix:///a.sock', 'tls': false}]}", "backends[0].tls: only a "
	  "tcp:// endpoint takes \"tls\"" },
	{ "endpoint_tcp_ssh", "{'backends': [{'name': 'a', 'endpoint': "
	  "'tcp://h:1', 'tls': false, 'ssh': {}}]}", "backends[0].ssh: only "
	  "an ssh:// endpoint takes \"ssh\"" },
	{ "endpoint_ssh_unknown_key", "{'backends': [{'name': 'a', "
	  "'endpoint': 'ssh://u@h', 'ssh': {'password': 'x'}}]}",
	  "backends[0].ssh: unknown key \"password\"" },
	{ "endpoint_ssh_dash_host", "{'backends': [{'name': 'a', "
	  "'endpoint': 'ssh://-ohost'}]}", "backends[0].endpoint: "
	  "\"ssh://-ohost\": the host cannot start with '-'" },
	{ "endpoint_ssh_path", "{'backends': [{'name': 'a', 'endpoint': "
	  "'ssh://u@h/x'}]}", "an ssh:// endpoint has no path" },
	{ "endpoint_bad_port", "{'backends': [{'name': 'a', 'endpoint': "
	  "'tcp://h:99999', 'tls': false}]}", "the port must be a number "
	  "from 1 to 65535" },
	{ "endpoint_bare_path", "{'backends': [{'name': 'a', 'endpoint': "
	  "'/run/a.sock'}]}", "backends[0].endpoint: \"/run/a.sock\": only "
	  "unix://, tcp:// and ssh:// endpoints are supported" },
	{ "endpoint_relative", "{'backends': [{'name': 'a', 'endpoint': "
	  "'unix://a.sock'}]}", "the socket path must be absolute" },
	{ "endpoint_too_long", "{'backends': [{'name': 'a', 'endpoint': "
	  "'unix:///aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	  "'}]}", "socket path longer than 107 bytes" },
	{ "os_type", "{'backends': [" BE_A ", {'name': 'b', 'endpoint': "
	  "'unix:///b.sock', 'os': 1}]}", "backends[1].os: expected string" },
	{ "arch_type", "{'backends': [{'name': 'b', 'endpoint': "
	  "'unix:///b.sock', 'arch': ['amd64']}]}",
	  "backends[0].arch: expected string" },
	{ "isolation_type", "{'backends': [" BE_A ", {'name': 'b', "
	  "'endpoint': 'unix:///b.sock', 'isolation': 'vm'}]}",
	  "backends[1].isolation: expected array of strings" },
	{ "runtime_markers_type", "{'backends': [{'name': 'b', 'endpoint': "
	  "'unix:///b.sock', 'runtime_markers': [{}]}]}",
	  "backends[0].runtime_markers: expected array of strings" },
	{ "create_overrides_type", "{'backends': [{'name': 'b', 'endpoint': "
	  "'unix:///b.sock', 'create_overrides': ['x']}]}",
	  "backends[0].create_overrides: expected object" },
};

START_TEST(test_bad_config)
{
	const struct bad_case	*bc = &bad_cases[_i];
	struct cfg		*cfg;
	char			 err[1024];

	cfg = load(bc->text, err, sizeof(err));
	ck_assert_msg(cfg == NULL, "%s: accepted", bc->name);
	ck_assert_msg(strstr(err, bc->want) != NULL,
	    "%s: got \"%s\", want \"%s\"", bc->name, err, bc->want);
}
END_TEST

/* Every problem is reported in one run, in document order. */
START_TEST(test_all_errors_in_one_run)
{
	struct cfg	*cfg;
	char		 err[1024];

	cfg = load("{'listne': 1, 'socket_mode': 'rw', 'backends': ["
	    "{'name': 'vm', 'endpoint': 'tcp://x:1'}, "
	    "{'name': 'vm', 'endpoint': 'unix:///b.sock', 'isolation': 'x'}"
	    "], 'unknown_os_backend': 'y'}", err, sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "unknown key \"listne\"; "
	    "socket_mode: \"rw\" is not an octal file mode like \"0660\"; "
	    "backends[0].tls: required for a tcp:// endpoint: the "
	    "certificates (an object or a directory), or false for plain "
	    "TCP; "
	    "backends[1].isolation: expected array of strings; "
	    "backends[1].name: duplicate backend name \"vm\"; "
	    "unknown_os_backend: no backend named \"y\"");
}
END_TEST

/* A short buffer keeps what fits and stays terminated. */
START_TEST(test_error_buffer_truncates)
{
	struct cfg	*cfg;
	char		 err[16];

	memset(err, 'x', sizeof(err));
	cfg = load("{'listne': 1, 'lissten': 2, 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_ptr_null(cfg);
	ck_assert_str_eq(err, "unknown key \"li");
	ck_assert_ptr_null(load("{}", NULL, 0));
}
END_TEST

/* Files (in tmpdir, check_tmpdir.h) */

static void
write_file(const char *path, const char *text)
{
	FILE	*fp = fopen(path, "w");
	char	*json = dq(text);

	ck_assert_ptr_nonnull(fp);
	fputs(json, fp);
	ck_assert_int_eq(fclose(fp), 0);
	free(json);
}

START_TEST(test_file_good)
{
	struct cfg	*cfg;
	char		 path[128], err[1024];

	snprintf(path, sizeof(path), "%s/dockmux.json", tmpdir);
	write_file(path, design_example);
	cfg = cfg_load_file(path, err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_uint_eq(cfg->nbackends, 2);
	ck_assert_str_eq(err, "");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_file_missing)
{
	char	path[128], want[256], err[1024];

	snprintf(path, sizeof(path), "%s/nope.json", tmpdir);
	ck_assert_ptr_null(cfg_load_file(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: No such file or directory", path);
	ck_assert_str_eq(err, want);
}
END_TEST

START_TEST(test_file_errors_name_file)
{
	char	path[128], want[256], err[1024];

	snprintf(path, sizeof(path), "%s/dockmux.json", tmpdir);
	write_file(path, "");
	ck_assert_ptr_null(cfg_load_file(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: syntax error: empty configuration",
	    path);
	ck_assert_str_eq(err, want);

	write_file(path, "{'backends': [], 'x': 1}");
	ck_assert_ptr_null(cfg_load_file(path, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s: unknown key \"x\"; backends: at "
	    "least one backend is required", path);
	ck_assert_str_eq(err, want);

	ck_assert_ptr_null(cfg_load_file(tmpdir, err, sizeof(err)));
	ck_assert_ptr_nonnull(strstr(err, "Is a directory"));
}
END_TEST

/* Default paths */

START_TEST(test_default_paths)
{
	char	want[PATH_MAX];

	if (geteuid() == 0) {
		ck_assert_str_eq(cfg_default_socket(), "/run/dockmux.sock");
		ck_assert_ptr_null(cfg_default_socket_dir());
		ck_assert_str_eq(cfg_default_store(),
		    "/var/lib/dockmux/dockmux.db");
		return;
	}
	setenv("XDG_RUNTIME_DIR", "/run/user/1000", 1);
	setenv("XDG_STATE_HOME", "/home/u/.state", 1);
	ck_assert_str_eq(cfg_default_socket(), "/run/user/1000/dockmux.sock");
	ck_assert_ptr_null(cfg_default_socket_dir());
	ck_assert_str_eq(cfg_default_store(), "/home/u/.state/dockmux/"
	    "dockmux.db");
	unsetenv("XDG_RUNTIME_DIR");
	unsetenv("XDG_STATE_HOME");
	setenv("HOME", "/home/u", 1);
	/* In a directory of our own: /tmp is anyone's (dm_private_dir). */
	snprintf(want, sizeof(want), "/tmp/dockmux-%lu/dockmux.sock",
	    (unsigned long)geteuid());
	ck_assert_str_eq(cfg_default_socket(), want);
	want[strlen(want) - strlen("/dockmux.sock")] = '\0';
	ck_assert_str_eq(cfg_default_socket_dir(), want);
	ck_assert_str_eq(cfg_default_store(),
	    "/home/u/.local/state/dockmux/dockmux.db");
}
END_TEST

/*
 * A fake engine on a unix socket: reads a request head, answers reply
 * (NULL: /_ping's "OK") and closes.  A GET under /_dockmux/ gets
 * dmx_reply instead (NULL: 404, as a real engine).  The last head it read
 * stays in req.
 */

#define FAKE_REQ_MAX	(256 * 1024)

struct fake_engine {
	char		 path[108];
	int		 fd;
	volatile int	 stop;
	int		 served;
	pthread_t	 thread;
	const char	*reply;		/* borrowed; NULL: /_ping's answer */
	const char	*dmx_reply;	/* borrowed; NULL: 404 */
	char		*req;		/* owned: FAKE_REQ_MAX + 1 */
};

static void *
fake_engine_run(void *arg)
{
	static const char	 ping[] =
	    "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK";
	static const char	 not_found[] =
	    "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	struct fake_engine	*fe = arg;
	struct pollfd		 pfd = { .fd = fe->fd, .events = POLLIN };
	const char		*reply;
	size_t			 have;
	ssize_t			 n;
	int			 c;

	while (!fe->stop) {
		if (poll(&pfd, 1, 50) <= 0)
			continue;
		if ((c = accept(fe->fd, NULL, NULL)) == -1)
			continue;
		have = 0;
		fe->req[0] = '\0';
		while (strstr(fe->req, "\r\n\r\n") == NULL &&
		    have < FAKE_REQ_MAX &&
		    (n = read(c, fe->req + have, FAKE_REQ_MAX - have)) > 0) {
			have += (size_t)n;
			fe->req[have] = '\0';
		}
		if (strncmp(fe->req, "GET /_dockmux/", 14) == 0)
			reply = fe->dmx_reply != NULL ? fe->dmx_reply :
			    not_found;
		else
			reply = fe->reply != NULL ? fe->reply : ping;
		if (write(c, reply, strlen(reply)) == -1)
			perror("fake engine write");
		fe->served++;
		close(c);
	}
	return NULL;
}

static void
fake_engine_start(struct fake_engine *fe, const char *path)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	const char		*reply = fe->reply, *dmx_reply = fe->dmx_reply;

	memset(fe, 0, sizeof(*fe));
	fe->reply = reply;
	fe->dmx_reply = dmx_reply;
	fe->req = xcalloc(1, FAKE_REQ_MAX + 1);
	snprintf(fe->path, sizeof(fe->path), "%s", path);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	fe->fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_ne(fe->fd, -1);
	ck_assert_int_eq(bind(fe->fd, (struct sockaddr *)&sun, sizeof(sun)),
	    0);
	ck_assert_int_eq(listen(fe->fd, 8), 0);
	ck_assert_int_eq(pthread_create(&fe->thread, NULL, fake_engine_run,
	    fe), 0);
}

static void
fake_engine_stop(struct fake_engine *fe)
{
	fe->stop = 1;
	pthread_join(fe->thread, NULL);
	close(fe->fd);
	unlink(fe->path);
	free(fe->req);
	fe->req = NULL;
}

START_TEST(test_autodetect_one_engine)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct cfg		*cfg;
	char			 sock[96], link[96], env[512], err[1024];
	char			 url[160];

	snprintf(sock, sizeof(sock), "%s/engine.sock", tmpdir);
	snprintf(link, sizeof(link), "%s/again.sock", tmpdir);
	fake_engine_start(&fe, sock);
	ck_assert_int_eq(symlink(sock, link), 0);
	/* Missing socket, the engine, the same engine again by a symlink. */
	snprintf(env, sizeof(env), "%s/missing.sock:%s:%s", tmpdir, sock,
	    link);
	setenv("DOCKMUX_AUTODETECT_SOCKETS", env, 1);
	cfg = cfg_autodetect(backend_socket_answers, err, sizeof(err));
	unsetenv("DOCKMUX_AUTODETECT_SOCKETS");
	fake_engine_stop(&fe);

	ck_assert_msg(cfg != NULL, "autodetect failed: %s", err);
	ck_assert_int_eq(cfg->autodetected, 1);
	ck_assert_uint_eq(cfg->nbackends, 1);
	ck_assert_str_eq(cfg->backends[0].name, "engine1");
	snprintf(url, sizeof(url), "unix://%s", sock);
	ck_assert_str_eq(cfg->backends[0].endpoint, url);
	ck_assert_str_eq(cfg->backends[0].socket_path, sock);
	ck_assert_str_eq(cfg->store, cfg_default_store());
	ck_assert_str_eq(cfg->socket_path, cfg_default_socket());
	ck_assert_int_eq(fe.served, 1);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_autodetect_none)
{
	struct cfg	*cfg;
	char		 env[256], err[1024];
	int		 fd;
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	/* A socket nobody listens on, and a missing path. */
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s/dead.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_STREAM, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(fd);
	snprintf(env, sizeof(env), "%s:%s/nope.sock", sun.sun_path, tmpdir);
	setenv("DOCKMUX_AUTODETECT_SOCKETS", env, 1);
	cfg = cfg_autodetect(backend_socket_answers, err, sizeof(err));
	unsetenv("DOCKMUX_AUTODETECT_SOCKETS");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strstr(err, "no container engine answered GET /_ping "
	    "on ") != NULL, "got \"%s\"", err);
	ck_assert_msg(strstr(err, env + strlen(sun.sun_path) + 1) != NULL,
	    "got \"%s\"", err);
	ck_assert_msg(strstr(err, sun.sun_path) != NULL, "got \"%s\"", err);
}
END_TEST

/*
 * "backends": "auto" in a file is the autodetection a missing file gets,
 * probed by the config's own GET /_ping (cfg_socket_answers), and the
 * file's other keys still apply to what was found.
 */
START_TEST(test_auto_in_file)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct cfg		*cfg;
	char			 sock[96], env[256], err[1024], text[512];

	snprintf(sock, sizeof(sock), "%s/engine.sock", tmpdir);
	fake_engine_start(&fe, sock);
	snprintf(env, sizeof(env), "%s/missing.sock:%s", tmpdir, sock);
	setenv("DOCKMUX_AUTODETECT_SOCKETS", env, 1);
	snprintf(text, sizeof(text), "{'store': '%s/x.db', "
	    "'unknown_os_backend': 'engine1', 'backends': 'auto'}", tmpdir);
	cfg = load(text, err, sizeof(err));
	unsetenv("DOCKMUX_AUTODETECT_SOCKETS");
	/* HTTP/1.0: the engine closes after its answer, no keep-alive. */
	ck_assert_msg(strstr(fe.req, "GET /_ping HTTP/1.0\r\n") == fe.req,
	    "probe sent \"%s\" last", fe.req);
	fake_engine_stop(&fe);

	ck_assert_msg(cfg != NULL, "\"auto\" refused: %s", err);
	ck_assert_int_eq(cfg->autodetected, 1);
	ck_assert_uint_eq(cfg->nbackends, 1);
	ck_assert_str_eq(cfg->backends[0].name, "engine1");
	ck_assert_str_eq(cfg->backends[0].socket_path, sock);
	ck_assert_str_eq(cfg->unknown_os_backend, "engine1");
	ck_assert_ptr_nonnull(strstr(cfg->store, "/x.db"));
	/* GET /_dockmux/ping (404: not a dockmuxd), then GET /_ping. */
	ck_assert_int_eq(fe.served, 2);
	cfg_free(cfg);
}
END_TEST

START_TEST(test_auto_in_file_none)
{
	static const char	 want[] = "backends: \"auto\": no container "
	    "engine answered GET /_ping on ";
	struct cfg		*cfg;
	char			 env[256], err[1024];

	snprintf(env, sizeof(env), "%s/nope.sock", tmpdir);
	setenv("DOCKMUX_AUTODETECT_SOCKETS", env, 1);
	cfg = load("{'backends': 'auto'}", err, sizeof(err));
	unsetenv("DOCKMUX_AUTODETECT_SOCKETS");
	ck_assert_ptr_null(cfg);
	ck_assert_msg(strncmp(err, want, strlen(want)) == 0, "got \"%s\"",
	    err);
	ck_assert_ptr_nonnull(strstr(err, env));
}
END_TEST

/*
 * What cfg_socket_answers() calls an engine: 200 with the body "OK" to
 * GET /_ping, and no 2xx to GET /_dockmux/ping (dmx_reply; NULL: 404),
 * which a dockmuxd gives: it must not take itself for an engine.
 */
static const struct probe_case {
	const char	*name;
	const char	*reply;
	int		 answers;
	const char	*dmx_reply;
} probe_cases[] = {
	{ "dockmuxd", NULL, 0, "HTTP/1.1 200 OK\r\nX-Dockmux-Version: 0.1.0"
	  "\r\nContent-Length: 2\r\n\r\nOK" },
	{ "dmx_ping_500", NULL, 1, "HTTP/1.1 500 Oops\r\n\r\n" },
	{ "dmx_ping_garbage", NULL, 0, "hello" },
	{ "ok_http11", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK",
	  1, NULL },
	{ "ok_http10", "HTTP/1.0 200 OK\r\nApi-Version: 1.41\r\n\r\nOK",
	  1, NULL },
	{ "not_found", "HTTP/1.1 404 Not Found\r\nContent-Length: 2\r\n"
	  "\r\nOK", 0, NULL },
	{ "other_body", "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nNOPE",
	  0, NULL },
	{ "not_http", "SSH-2.0-OpenSSH_9.2\r\n", 0, NULL },
	{ "silent", "", 0, NULL },
};

START_TEST(test_socket_answers)
{
	const struct probe_case	*pc = &probe_cases[_i];
	struct fake_engine	 fe = { .reply = pc->reply,
				    .dmx_reply = pc->dmx_reply };
	char			 sock[96];

	snprintf(sock, sizeof(sock), "%s/probe.sock", tmpdir);
	fake_engine_start(&fe, sock);
	ck_assert_msg(cfg_socket_answers(sock) == pc->answers,
	    "%s: expected %d", pc->name, pc->answers);
	fake_engine_stop(&fe);
	/* Nobody listening, and no socket at all. */
	ck_assert_int_eq(cfg_socket_answers(sock), 0);
	ck_assert_int_eq(cfg_socket_answers(""), 0);
}
END_TEST

/*
 * Engine ceilings: an answer head past DM_MAX_HEADERS lines or
 * DM_MAX_HEADER bytes fails the exchange with DM_EBACKEND naming the
 * backend; below them nothing is cut.  A request head is sent whole or
 * refused.
 */

/* Owned: free().  A 200 "OK" answer with nhdr lines X-H<i> of vlen bytes
 * after its status line (and Content-Length, one line more). */
static char *
answer_with(const char *status_line, size_t nhdr, size_t vlen)
{
	char	*a, *p;
	size_t	 i, cap;

	cap = strlen(status_line) + nhdr * (vlen + 32) + 128;
	a = xmalloc(cap);
	p = a + snprintf(a, cap, "%s\r\n", status_line);
	for (i = 0; i < nhdr; i++) {
		p += snprintf(p, cap - (size_t)(p - a), "X-H%zu: ", i);
		memset(p, 'v', vlen);
		p += vlen;
		p += snprintf(p, cap - (size_t)(p - a), "\r\n");
	}
	snprintf(p, cap - (size_t)(p - a), "Content-Length: 2\r\n\r\nOK");
	return a;
}

/* One GET /info through backend_do() to an engine answering reply. */
static int
exchange(struct fake_engine *fe, const char *reply,
    const struct dm_hdrs *send, int *status, struct dm_hdrs *got,
    struct dm_err *err)
{
	struct backend		*b;
	struct backend_call	 bc;
	char			 sock[96], *body = NULL;
	size_t			 len;
	int			 rc;

	snprintf(sock, sizeof(sock), "%s/engine.sock", tmpdir);
	fe->reply = reply;
	fake_engine_start(fe, sock);
	b = backend_new_unix("be", sock);
	memset(&bc, 0, sizeof(bc));
	bc.method = "GET";
	bc.path = "/info";
	bc.hdrs = send;
	bc.timeout_ms = 5000;
	dm_err_clear(err);
	rc = backend_do(b, &bc, status, &body, &len, got, err);
	if (rc == 0)
		ck_assert_str_eq(body, "OK");
	free(body);
	backend_release(b);
	return rc;
}

START_TEST(test_engine_headers_at_ceiling)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_hdrs		 got;
	struct dm_err		 err;
	char			*a;
	int			 status = 0;

	/* DM_MAX_HEADERS lines with Content-Length: all kept. */
	a = answer_with("HTTP/1.1 200 OK", DM_MAX_HEADERS - 1, 8);
	dm_hdrs_init(&got);
	ck_assert_msg(exchange(&fe, a, NULL, &status, &got, &err) == 0,
	    "%s", err.msg);
	fake_engine_stop(&fe);
	ck_assert_int_eq(status, 200);
	ck_assert_uint_eq(got.n, DM_MAX_HEADERS);
	ck_assert_str_eq(dm_hdrs_get(&got, "X-H0"), "vvvvvvvv");
	dm_hdrs_clear(&got);
	free(a);
}
END_TEST

START_TEST(test_engine_too_many_headers_refused)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_hdrs		 got;
	struct dm_err		 err;
	char			*a;
	int			 status = 0;

	a = answer_with("HTTP/1.1 200 OK", DM_MAX_HEADERS, 8);
	dm_hdrs_init(&got);
	ck_assert_int_eq(exchange(&fe, a, NULL, &status, &got, &err), -1);
	fake_engine_stop(&fe);
	ck_assert_int_eq(err.st, DM_EBACKEND);
	ck_assert_msg(strcmp(err.msg, "backend be: answer has more than 64 "
	    "header lines") == 0, "got \"%s\"", err.msg);
	dm_hdrs_clear(&got);
	free(a);
}
END_TEST

START_TEST(test_engine_head_too_large_refused)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_err		 err;
	char			*a;
	int			 status = 0;

	/* 20 lines of 4000 bytes: past DM_MAX_HEADER, under 64 lines. */
	a = answer_with("HTTP/1.1 200 OK", 20, 4000);
	ck_assert_int_eq(exchange(&fe, a, NULL, &status, NULL, &err), -1);
	fake_engine_stop(&fe);
	ck_assert_int_eq(err.st, DM_EBACKEND);
	ck_assert_msg(strcmp(err.msg, "backend be: answer head larger than "
	    "65536 bytes") == 0, "got \"%s\"", err.msg);
	free(a);
}
END_TEST

/* A long value is kept whole (it used to be cut at 8 KiB). */
START_TEST(test_engine_long_header_kept)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_hdrs		 got;
	struct dm_err		 err;
	const char		*v;
	char			*a;
	size_t			 i;
	int			 status = 0;

	a = answer_with("HTTP/1.1 200 OK", 1, 20000);
	dm_hdrs_init(&got);
	ck_assert_msg(exchange(&fe, a, NULL, &status, &got, &err) == 0,
	    "%s", err.msg);
	fake_engine_stop(&fe);
	ck_assert_ptr_nonnull(v = dm_hdrs_get(&got, "X-H0"));
	ck_assert_uint_eq(strlen(v), 20000);
	for (i = 0; i < 20000; i++)
		ck_assert_int_eq(v[i], 'v');
	dm_hdrs_clear(&got);
	free(a);
}
END_TEST

/* A request header longer than 8 KiB reaches the engine whole. */
START_TEST(test_request_long_header_sent)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_hdrs		 send;
	struct dm_err		 err;
	char			*v, *want;
	int			 status = 0;

	v = xmalloc(20001);
	memset(v, 'a', 20000);
	v[20000] = '\0';
	want = xmalloc(20000 + 64);
	snprintf(want, 20000 + 64, "\r\nX-Registry-Auth: %s\r\n", v);
	dm_hdrs_init(&send);
	ck_assert_int_eq(dm_hdrs_add(&send, "X-Registry-Auth", v), 0);
	ck_assert_msg(exchange(&fe, NULL, &send, &status, NULL, &err) == 0,
	    "%s", err.msg);
	ck_assert_ptr_nonnull(strstr(fe.req, want));
	fake_engine_stop(&fe);
	dm_hdrs_clear(&send);
	free(want);
	free(v);
}
END_TEST

START_TEST(test_request_head_too_large_refused)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_hdrs		 send;
	struct dm_err		 err;
	char			*v;
	int			 status = 0;

	v = xmalloc(DM_MAX_HEADER + 1);
	memset(v, 'a', DM_MAX_HEADER);
	v[DM_MAX_HEADER] = '\0';
	dm_hdrs_init(&send);
	ck_assert_int_eq(dm_hdrs_add(&send, "X-Big", v), 0);
	ck_assert_int_eq(exchange(&fe, NULL, &send, &status, NULL, &err), -1);
	fake_engine_stop(&fe);
	ck_assert_int_eq(err.st, DM_EBADREQ);
	ck_assert_str_eq(err.msg, "request head too large");
	ck_assert_int_eq(fe.served, 0);
	dm_hdrs_clear(&send);
	free(v);
}
END_TEST

/* backend_hijack_open() against an engine answering reply: 1 opened. */
static int
hijack(struct fake_engine *fe, const char *reply, struct dm_err *err)
{
	struct backend		*b;
	struct backend_hijack	*hj;
	struct backend_call	 bc;
	char			 sock[96];

	snprintf(sock, sizeof(sock), "%s/engine.sock", tmpdir);
	fe->reply = reply;
	fake_engine_start(fe, sock);
	b = backend_new_unix("hj", sock);
	memset(&bc, 0, sizeof(bc));
	bc.method = "POST";
	bc.path = "/containers/abc/attach?stream=1";
	dm_err_clear(err);
	hj = backend_hijack_open(b, &bc, err);
	fake_engine_stop(fe);
	backend_hijack_free(hj);
	backend_release(b);
	return hj != NULL;
}

START_TEST(test_hijack_headers_refused)
{
	struct fake_engine	 fe = { .reply = NULL };
	struct dm_err		 err;
	char			*a;

	a = answer_with("HTTP/1.1 101 UPGRADED", DM_MAX_HEADERS - 1, 8);
	ck_assert_msg(hijack(&fe, a, &err) == 1, "%s", err.msg);
	free(a);

	a = answer_with("HTTP/1.1 101 UPGRADED", DM_MAX_HEADERS, 8);
	ck_assert_int_eq(hijack(&fe, a, &err), 0);
	ck_assert_int_eq(err.st, DM_EBACKEND);
	ck_assert_msg(strcmp(err.msg, "backend hj: answer has more than 64 "
	    "header lines") == 0, "got \"%s\"", err.msg);
	free(a);

	a = answer_with("HTTP/1.1 101 UPGRADED", 20, 4000);
	ck_assert_int_eq(hijack(&fe, a, &err), 0);
	ck_assert_int_eq(err.st, DM_EBACKEND);
	ck_assert_msg(strcmp(err.msg, "backend hj: answer head too large")
	    == 0, "got \"%s\"", err.msg);
	free(a);
}
END_TEST

/*
 * dockmuxd -H and --store over a loaded file (cfg_override_apply): -H
 * replaces "listen" as a whole, like dockerd's -H replaces the hosts of
 * daemon.json; --store replaces "store"; what is not given stays.
 */
START_TEST(test_override_listen_and_store)
{
	struct cfg_override	 ov = { .listen = { "tcp://127.0.0.1:2375",
	    "unix:///tmp/o/one.sock", "unix:///tmp/o/two.sock" },
	    .nlisten = 3, .store = "/tmp/o/store.db" };
	struct cfg		*cfg;
	char			 err[1024];

	cfg = load("{'listen': ['unix:///run/f.sock', 'tcp://127.0.0.1:1'], "
	    "'store': '/var/f.db', 'backends': [" BE_A "]}", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), 0);
	ck_assert_str_eq(err, "");
	ck_assert_uint_eq(cfg->nlisten, 3);
	ck_assert_str_eq(cfg->listen, "tcp://127.0.0.1:2375");
	ck_assert_int_eq(cfg->listens[0].ep.transport, CFG_TCP);
	ck_assert_str_eq(cfg->listens[0].ep.host, "127.0.0.1");
	ck_assert_int_eq(cfg->listens[0].ep.port, 2375);
	ck_assert_str_eq(cfg->listens[1].url, "unix:///tmp/o/one.sock");
	ck_assert_str_eq(cfg->listens[2].ep.path, "/tmp/o/two.sock");
	/* The first unix listener, though not the first listener. */
	ck_assert_str_eq(cfg->socket_path, "/tmp/o/one.sock");
	ck_assert_str_eq(cfg->store, "/tmp/o/store.db");
	ck_assert_str_eq(cfg->backends[0].name, "a");
	cfg_free(cfg);
}
END_TEST

START_TEST(test_override_nothing_keeps_file)
{
	struct cfg_override	 ov = { .nlisten = 0 };
	struct cfg		*cfg;
	char			 err[256];

	cfg = load("{'listen': 'unix:///run/f.sock', 'store': '/var/f.db', "
	    "'backends': [" BE_A "]}", err, sizeof(err));
	ck_assert_ptr_nonnull(cfg);
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), 0);
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen, "unix:///run/f.sock");
	ck_assert_str_eq(cfg->socket_path, "/run/f.sock");
	ck_assert_str_eq(cfg->store, "/var/f.db");
	/* Only the store. */
	ov.store = "/var/g.db";
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg->listen, "unix:///run/f.sock");
	ck_assert_str_eq(cfg->store, "/var/g.db");
	/* Only tcp: no unix socket path any more. */
	ov.listen[0] = "tcp://[::1]:2375";
	ov.nlisten = 1;
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), 0);
	ck_assert_ptr_null(cfg->socket_path);
	ck_assert_str_eq(cfg->listens[0].ep.host, "::1");
	cfg_free(cfg);
}
END_TEST

/* A refused override names the flag and the value, and changes nothing. */
static const struct override_bad {
	const char	*name;
	const char	*listen[3];
	const char	*store;
	const char	*want;
} override_bad[] = {
	{ "relative", { "unix://run/x.sock" }, NULL,
	  "-H \"unix://run/x.sock\": the socket path must be absolute" },
	{ "no_port", { "tcp://127.0.0.1" }, NULL,
	  "-H \"tcp://127.0.0.1\": the port is missing" },
	{ "ssh", { "ssh://h" }, NULL,
	  "-H \"ssh://h\": only unix:// and tcp:// listeners" },
	{ "bare_path", { "/run/x.sock" }, NULL,
	  "-H \"/run/x.sock\": only unix:// and tcp://" },
	{ "plain_tcp_open", { "tcp://0.0.0.0:2375" }, NULL,
	  "-H: \"tcp://0.0.0.0:2375\": plain TCP beyond loopback" },
	{ "empty_store", { NULL }, "", "--store: must not be empty" },
	{ "both_named", { "unix:///ok.sock", "tcp://h" }, "",
	  "--store: must not be empty; -H \"tcp://h\": the port is missing" },
};

START_TEST(test_override_refused)
{
	const struct override_bad	*row = &override_bad[_i];
	struct cfg_override		 ov = { .store = row->store };
	struct cfg			*cfg;
	char				 err[1024];

	cfg = load("{'listen': 'unix:///run/f.sock', 'store': '/var/f.db', "
	    "'backends': [" BE_A "]}", err, sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	while (ov.nlisten < 3 && row->listen[ov.nlisten] != NULL) {
		ov.listen[ov.nlisten] = row->listen[ov.nlisten];
		ov.nlisten++;
	}
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), -1);
	ck_assert_msg(strstr(err, row->want) != NULL, "%s: got \"%s\"",
	    row->name, err);
	ck_assert_uint_eq(cfg->nlisten, 1);
	ck_assert_str_eq(cfg->listen, "unix:///run/f.sock");
	ck_assert_str_eq(cfg->listens[0].url, "unix:///run/f.sock");
	ck_assert_str_eq(cfg->socket_path, "/run/f.sock");
	ck_assert_str_eq(cfg->store, "/var/f.db");
	cfg_free(cfg);
}
END_TEST

/* Plain TCP beyond loopback: allowed by the file's own settings. */
START_TEST(test_override_plain_tcp_allowed)
{
	struct cfg_override	 ov = { .listen = { "tcp://0.0.0.0:2375" },
	    .nlisten = 1 };
	struct cfg		*cfg;
	char			 err[1024];

	cfg = load("{'allow_plain_tcp': true, 'backends': [" BE_A "]}", err,
	    sizeof(err));
	ck_assert_msg(cfg != NULL, "refused: %s", err);
	ck_assert_int_eq(cfg_override_apply(cfg, &ov, err, sizeof(err)), 0);
	ck_assert_str_eq(cfg->listen, "tcp://0.0.0.0:2375");
	ck_assert_ptr_null(cfg->socket_path);
	cfg_free(cfg);
}
END_TEST

static Suite *
cfg_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("cfg");

	tc = tcase_create("good");
	tcase_add_test(tc, test_design_example);
	tcase_add_test(tc, test_minimal_gets_defaults);
	tcase_add_test(tc, test_socket_mode_forms);
	tcase_add_test(tc, test_image_copy_off);
	tcase_add_test(tc, test_upgrade_grace_set);
	tcase_add_test(tc, test_backend_count_limit);
	suite_add_tcase(s, tc);

	tc = tcase_create("bad");
	tcase_add_loop_test(tc, test_bad_config, 0, (int)NITEMS(bad_cases));
	tcase_add_test(tc, test_access_rules);
	tcase_add_test(tc, test_remote_endpoints);
	tcase_add_test(tc, test_all_errors_in_one_run);
	tcase_add_test(tc, test_error_buffer_truncates);
	suite_add_tcase(s, tc);

	tc = tcase_create("file");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_file_good);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_file_errors_name_file);
	suite_add_tcase(s, tc);

	tc = tcase_create("override");
	tcase_add_test(tc, test_override_listen_and_store);
	tcase_add_test(tc, test_override_nothing_keeps_file);
	tcase_add_loop_test(tc, test_override_refused, 0,
	    (int)NITEMS(override_bad));
	tcase_add_test(tc, test_override_plain_tcp_allowed);
	suite_add_tcase(s, tc);

	tc = tcase_create("defaults");
	tcase_add_test(tc, test_default_paths);
	suite_add_tcase(s, tc);

	tc = tcase_create("autodetect");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_autodetect_one_engine);
	tcase_add_test(tc, test_autodetect_none);
	tcase_add_test(tc, test_auto_in_file);
	tcase_add_test(tc, test_auto_in_file_none);
	tcase_add_loop_test(tc, test_socket_answers, 0,
	    (int)NITEMS(probe_cases));
	suite_add_tcase(s, tc);

	tc = tcase_create("engine ceilings");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, test_engine_headers_at_ceiling);
	tcase_add_test(tc, test_engine_too_many_headers_refused);
	tcase_add_test(tc, test_engine_head_too_large_refused);
	tcase_add_test(tc, test_engine_long_header_kept);
	tcase_add_test(tc, test_request_long_header_sent);
	tcase_add_test(tc, test_request_head_too_large_refused);
	tcase_add_test(tc, test_hijack_headers_refused);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(cfg_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
