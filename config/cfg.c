/*
 * cfg.c: dockmux.json parsed and validated against one table of keys, and
 * the default paths a file may leave out.
 */
/*
 * Threads: called from main before any thread starts; the default paths
 * live in static buffers.
 */

#include <sys/stat.h>
#include <sys/types.h>

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/cfg.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/util.h"

/* What the JSON value of a key must be; checked before its parser runs. */
enum cfg_kind {
	CFG_STRING = 0,
	CFG_BOOL,
	CFG_STRV,		/* array of strings */
	CFG_OBJECT,
	CFG_OBJECTS,		/* array of objects (backends) */
	CFG_INT,
	CFG_ANY			/* the parser checks the type itself */
};

static const char *const kind_names[] = {
	[CFG_STRING] = "string",
	[CFG_BOOL] = "boolean",
	[CFG_STRV] = "array of strings",
	[CFG_OBJECT] = "object",
	[CFG_OBJECTS] = "array of objects",
	[CFG_INT] = "integer",
	[CFG_ANY] = "value",
};

/*
 * Errors found so far, joined with "; " into the caller's buffer, and
 * what "backends": "auto" asks whether an engine answers on a socket.
 */
struct cfg_parse {
	char	*errbuf;
	size_t	 errlen;
	size_t	 used;
	int	 nerr;
	int	(*answers)(const char *);
	int	 no_file;	/* cfg_autodetect(): say so in the error */
};

struct cfg_key;

/*
 * A key's parser: v already has the key's kind; validate the value and
 * store it at base + key->off (and key->off2 where the key has a second
 * member).  Returns 0, or -1 after reporting through cfg_err().
 */
typedef int cfg_parse_fn(struct cfg_parse *, const struct cfg_key *,
    const char *path, struct json_object *v, void *base);

/*
 * One dockmux.json key, in the manner of Redis config.c's static_configs[]:
 * name, kind, default, validator.  A default is JSON text (dflt) or
 * computed (dflt_fn, owned JSON text) and goes through the same parser as
 * a value from the file.
 */
struct cfg_key {
	const char	*name;
	enum cfg_kind	 kind;
	int		 required;
	const char	*dflt;
	char		*(*dflt_fn)(void);
	cfg_parse_fn	*parse;
	size_t		 off;
	size_t		 off2;
};

static cfg_parse_fn parse_mode, parse_string, parse_bool,
    parse_strv, parse_object, parse_name, parse_backends, parse_count,
    parse_seconds, parse_access, parse_listen, parse_top_tls, parse_endpoint,
    parse_backend_tls, parse_ssh;
static char	*default_listen(void);
static char	*default_store(void);

#define CFG_OFF(m)	offsetof(struct cfg, m)
#define DM_STR_(x)	#x
#define DM_STR(x)	DM_STR_(x)
#define BE_OFF(m)	offsetof(struct cfg_backend, m)

static const struct cfg_key top_keys[] = {
	{ .name = "listen", .kind = CFG_ANY, .dflt_fn = default_listen,
	  .parse = parse_listen },
	{ .name = "allow_plain_tcp", .kind = CFG_BOOL, .dflt = "false",
	  .parse = parse_bool, .off = CFG_OFF(allow_plain_tcp) },
	/* After listen: whether a tcp listener has TLS is checked here. */
	{ .name = "tls", .kind = CFG_ANY, .parse = parse_top_tls },
	{ .name = "socket_mode", .kind = CFG_STRING, .dflt = "\"0660\"",
	  .parse = parse_mode, .off = CFG_OFF(socket_mode) },
	{ .name = "socket_group", .kind = CFG_STRING,
	  .parse = parse_string, .off = CFG_OFF(socket_group) },
	{ .name = "store", .kind = CFG_STRING, .dflt_fn = default_store,
	  .parse = parse_string, .off = CFG_OFF(store) },
	{ .name = "isolation_labels", .kind = CFG_STRV,
	  .dflt = "[\"" DM_LABEL_ISOLATION "\"]",
	  .parse = parse_strv, .off = CFG_OFF(isolation_labels) },
	{ .name = "unknown_os_backend", .kind = CFG_STRING,
	  .parse = parse_string, .off = CFG_OFF(unknown_os_backend) },
	{ .name = "image_copy", .kind = CFG_BOOL, .dflt = "true",
	  .parse = parse_bool, .off = CFG_OFF(image_copy) },
	/* An array of objects, or "auto": the engines that answer. */
	{ .name = "backends", .kind = CFG_ANY, .required = 1,
	  .parse = parse_backends },
	{ .name = "max_connections", .kind = CFG_INT,
	  .dflt = DM_STR(DM_API_MAX_CONNECTIONS), .parse = parse_count,
	  .off = CFG_OFF(max_connections) },
	{ .name = "max_connections_per_peer", .kind = CFG_INT,
	  .dflt = DM_STR(DM_API_MAX_PER_PEER), .parse = parse_count,
	  .off = CFG_OFF(max_connections_per_peer) },
	{ .name = "idle_timeout_s", .kind = CFG_INT,
	  .dflt = DM_STR(DM_API_IDLE_TIMEOUT_S), .parse = parse_seconds,
	  .off = CFG_OFF(idle_timeout_s) },
	{ .name = "upgrade_grace_s", .kind = CFG_INT,
	  .dflt = DM_STR(DM_UPGRADE_GRACE_S), .parse = parse_seconds,
	  .off = CFG_OFF(upgrade_grace_s) },
	/* After backends: a rule's "backends" names must exist. */
	{ .name = "access", .kind = CFG_OBJECTS, .parse = parse_access },
};

static const struct cfg_key backend_keys[] = {
	{ .name = "name", .kind = CFG_STRING, .required = 1,
	  .parse = parse_name, .off = BE_OFF(name) },
	{ .name = "endpoint", .kind = CFG_STRING, .required = 1,
	  .parse = parse_endpoint },
	/* After endpoint: both are checked against the transport. */
	{ .name = "tls", .kind = CFG_ANY, .parse = parse_backend_tls },
	{ .name = "ssh", .kind = CFG_OBJECT, .parse = parse_ssh },
	{ .name = "os", .kind = CFG_STRING,
	  .parse = parse_string, .off = BE_OFF(os) },
	{ .name = "arch", .kind = CFG_STRING,
	  .parse = parse_string, .off = BE_OFF(arch) },
	{ .name = "isolation", .kind = CFG_STRV, .dflt = "[]",
	  .parse = parse_strv, .off = BE_OFF(isolation) },
	{ .name = "runtime_markers", .kind = CFG_STRV, .dflt = "[]",
	  .parse = parse_strv, .off = BE_OFF(runtime_markers) },
	{ .name = "create_overrides", .kind = CFG_OBJECT,
	  .parse = parse_object, .off = BE_OFF(create_overrides) },
};

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

static void	cfg_err(struct cfg_parse *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Append one problem; the buffer keeps what fits, always terminated. */
static void
cfg_err(struct cfg_parse *p, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	p->nerr++;
	if (p->errbuf == NULL || p->errlen == 0 || p->used + 1 >= p->errlen)
		return;
	if (p->nerr > 1) {
		n = snprintf(p->errbuf + p->used, p->errlen - p->used, "; ");
		if (n < 0)
			return;
		p->used += (size_t)n;
		if (p->used >= p->errlen) {
			p->used = p->errlen - 1;
			return;
		}
	}
	va_start(ap, fmt);
	n = vsnprintf(p->errbuf + p->used, p->errlen - p->used, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	p->used += (size_t)n;
	if (p->used >= p->errlen)
		p->used = p->errlen - 1;
}

const char *
cfg_default_socket(void)
{
	static char	 buf[PATH_MAX];
	const char	*dir;

	if (geteuid() == 0)
		snprintf(buf, sizeof(buf), "/run/dockmux.sock");
	else if ((dir = cfg_xdg_dir("XDG_RUNTIME_DIR")) != NULL)
		snprintf(buf, sizeof(buf), "%s/dockmux.sock", dir);
	else
		snprintf(buf, sizeof(buf), "%s/dockmux.sock",
		    cfg_default_socket_dir());
	return buf;
}

const char *
cfg_default_socket_dir(void)
{
	static char	buf[64];	/* "/tmp/dockmux-" and a uid */

	if (geteuid() == 0 || cfg_xdg_dir("XDG_RUNTIME_DIR") != NULL)
		return NULL;
	snprintf(buf, sizeof(buf), "/tmp/dockmux-%lu",
	    (unsigned long)geteuid());
	return buf;
}

const char *
cfg_default_store(void)
{
	static char	 buf[PATH_MAX];
	const char	*dir;
	struct passwd	*pw;

	if (geteuid() == 0) {
		snprintf(buf, sizeof(buf), "/var/lib/dockmux/dockmux.db");
		return buf;
	}
	if ((dir = cfg_xdg_dir("XDG_STATE_HOME")) != NULL) {
		snprintf(buf, sizeof(buf), "%s/dockmux/dockmux.db", dir);
		return buf;
	}
	if ((dir = cfg_xdg_dir("HOME")) == NULL &&
	    (pw = getpwuid(getuid())) != NULL)
		dir = pw->pw_dir;
	snprintf(buf, sizeof(buf), "%s/.local/state/dockmux/dockmux.db",
	    dir != NULL ? dir : "");
	return buf;
}

static char *
default_listen(void)
{
	struct json_object	*s;
	char			 url[PATH_MAX + 8];
	char			*text;

	snprintf(url, sizeof(url), "unix://%s", cfg_default_socket());
	s = json_object_new_string(url);
	text = xstrdup(json_object_to_json_string(s));
	json_object_put(s);
	return text;
}

static char *
default_store(void)
{
	struct json_object	*s;
	char			*text;

	s = json_object_new_string(cfg_default_store());
	text = xstrdup(json_object_to_json_string(s));
	json_object_put(s);
	return text;
}

static int
kind_matches(enum cfg_kind kind, struct json_object *v)
{
	size_t	i, n;

	switch (kind) {
	case CFG_STRING:
		return json_object_is_type(v, json_type_string);
	case CFG_BOOL:
		return json_object_is_type(v, json_type_boolean);
	case CFG_OBJECT:
		return json_object_is_type(v, json_type_object);
	case CFG_OBJECTS:
		return json_object_is_type(v, json_type_array);
	case CFG_INT:
		return json_object_is_type(v, json_type_int);
	case CFG_ANY:
		return 1;
	case CFG_STRV:
		if (!json_object_is_type(v, json_type_array))
			return 0;
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			if (!json_object_is_type(json_object_array_get_idx(v,
			    i), json_type_string))
				return 0;
		}
		return 1;
	}
	return 0;
}

/*
 * "listen": one URL or a list of them, unix:// or tcp://.  The first is
 * cfg->listen; the first unix one is cfg->socket_path.
 */
static int
parse_listen(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	struct cfg		*cfg = base;
	struct cfg_listen	*l;
	struct json_object	*e;
	char			 why[160], at[64];
	size_t			 i, n;
	int			 rc = 0;

	(void)k;
	if (json_object_is_type(v, json_type_string))
		n = 1;
	else if (kind_matches(CFG_STRV, v) && json_object_array_length(v) > 0)
		n = json_object_array_length(v);
	else {
		cfg_err(p, "%s: expected a string or a non-empty array of "
		    "strings", path);
		return -1;
	}
	if (n > DM_MAX_LISTEN) {
		cfg_err(p, "%s: %zu listeners, at most %d are supported", path,
		    n, DM_MAX_LISTEN);
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = json_object_is_type(v, json_type_string) ? v :
		    json_object_array_get_idx(v, i);
		if (json_object_is_type(v, json_type_string))
			snprintf(at, sizeof(at), "%s", path);
		else
			snprintf(at, sizeof(at), "%s[%zu]", path, i);
		l = &cfg->listens[cfg->nlisten];
		if (cfg_endpoint_parse(json_object_get_string(e), 0, &l->ep,
		    why, sizeof(why)) == -1) {
			cfg_err(p, "%s: \"%s\": %s", at,
			    json_object_get_string(e), why);
			cfg_endpoint_clear(&l->ep);
			rc = -1;
			continue;
		}
		l->url = xstrdup(json_object_get_string(e));
		cfg->nlisten++;
		if (cfg->listen == NULL)
			cfg->listen = xstrdup(l->url);
		if (cfg->socket_path == NULL && l->ep.transport == CFG_UNIX)
			cfg->socket_path = xstrdup(l->ep.path);
	}
	return rc;
}

/*
 * An object whose members are among names, each an absolute path, stored
 * (owned) at the matching dst.  0, or -1 after reporting every problem.
 */
static int
path_members(struct cfg_parse *p, const char *path, struct json_object *v,
    const char *const *names, char **const *dst, size_t n)
{
	struct json_object	*f;
	size_t			 i;
	int			 rc = 0;

	json_object_object_foreach(v, key, val) {
		for (i = 0; i < n; i++)
			if (strcmp(key, names[i]) == 0)
				break;
		if (i == n) {
			cfg_err(p, "%s: unknown key \"%s\"", path, key);
			rc = -1;
		} else if (!json_object_is_type(val, json_type_string) ||
		    json_object_get_string(val)[0] != '/') {
			cfg_err(p, "%s.%s: expected an absolute path", path,
			    key);
			rc = -1;
		}
	}
	for (i = 0; rc == 0 && i < n; i++)
		if (json_object_object_get_ex(v, names[i], &f))
			*dst[i] = xstrdup(json_object_get_string(f));
	return rc;
}

/*
 * TLS files: an object {"ca", "cert", "key"} (each a path), or a
 * directory holding ca.pem, cert.pem and key.pem (the docker CLI's
 * DOCKER_CERT_PATH layout).  need_all: every one of them is required.
 */
static int
parse_tls_files(struct cfg_parse *p, const char *path, struct json_object *v,
    int need_all, struct cfg_tls *t)
{
	static const char *const names[] = { "ca", "cert", "key" };
	char			**dst[3] = { &t->ca, &t->cert, &t->key };
	const char		*dir;
	size_t			 i;
	int			 rc = 0;

	if (json_object_is_type(v, json_type_string)) {
		dir = json_object_get_string(v);
		if (dir[0] != '/') {
			cfg_err(p, "%s: \"%s\": the certificate directory "
			    "must be an absolute path", path, dir);
			return -1;
		}
		for (i = 0; i < 3; i++)
			*dst[i] = xasprintf("%s/%s.pem", dir, names[i]);
		return 0;
	}
	if (!json_object_is_type(v, json_type_object)) {
		cfg_err(p, "%s: expected an object {\"ca\", \"cert\", "
		    "\"key\"} or a directory", path);
		return -1;
	}
	if (path_members(p, path, v, names, dst, 3) == -1)
		return -1;
	for (i = 0; i < 3; i++)
		if (*dst[i] == NULL && need_all) {
			cfg_err(p, "%s.%s: required", path, names[i]);
			rc = -1;
		}
	if ((t->cert == NULL) != (t->key == NULL)) {
		cfg_err(p, "%s: \"cert\" and \"key\" go together", path);
		rc = -1;
	}
	return rc;
}

/* The top-level "tls": the tcp listeners' certificate and client CA. */
static int
parse_top_tls(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	struct cfg	*cfg = base;

	(void)k;
	cfg->tls_set = 1;
	return parse_tls_files(p, path, v, 1, &cfg->tls);
}

/* A backend's "endpoint": unix://, tcp:// or ssh://. */
static int
parse_endpoint(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	struct cfg_backend	*be = base;
	const char		*s = json_object_get_string(v);
	char			 why[160];

	(void)k;
	if (cfg_endpoint_parse(s, 1, &be->ep, why, sizeof(why)) == -1) {
		cfg_err(p, "%s: \"%s\": %s", path, s, why);
		cfg_endpoint_clear(&be->ep);
		return -1;
	}
	be->endpoint = xstrdup(s);
	if (be->ep.transport == CFG_UNIX)
		be->socket_path = xstrdup(be->ep.path);
	return 0;
}

/* A backend's "tls": files (object or directory), or false. */
static int
parse_backend_tls(struct cfg_parse *p, const struct cfg_key *k,
    const char *path, struct json_object *v, void *base)
{
	struct cfg_backend	*be = base;

	(void)k;
	if (json_object_is_type(v, json_type_boolean)) {
		if (json_object_get_boolean(v)) {
			cfg_err(p, "%s: true is not a TLS setting: give the "
			    "files (an object or a directory)", path);
			return -1;
		}
		be->tls_mode = CFG_TLS_OFF;
		return 0;
	}
	be->tls_mode = CFG_TLS_VERIFY;
	return parse_tls_files(p, path, v, 0, &be->tls);
}

/* A backend's "ssh": {"identity", "known_hosts"}. */
static int
parse_ssh(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	static const char *const names[] = { "identity", "known_hosts" };
	struct cfg_backend	*be = base;
	char			**dst[2] = { &be->ssh_identity,
				    &be->ssh_known_hosts };

	(void)k;
	return path_members(p, path, v, names, dst, 2);
}

/* What a backend's transport needs of its other keys. */
static int
check_transport(struct cfg_parse *p, const char *prefix,
    struct json_object *elem, const struct cfg_backend *be)
{
	int	has_tls = json_object_object_get_ex(elem, "tls", NULL);
	int	has_ssh = json_object_object_get_ex(elem, "ssh", NULL);

	if (be->endpoint == NULL)
		return 0;	/* already reported */
	if (be->ep.transport == CFG_TCP && !has_tls) {
		cfg_err(p, "%s.tls: required for a tcp:// endpoint: the "
		    "certificates (an object or a directory), or false for "
		    "plain TCP", prefix);
		return -1;
	}
	if (be->ep.transport != CFG_TCP && has_tls) {
		cfg_err(p, "%s.tls: only a tcp:// endpoint takes \"tls\"",
		    prefix);
		return -1;
	}
	if (be->ep.transport != CFG_SSH && has_ssh) {
		cfg_err(p, "%s.ssh: only an ssh:// endpoint takes \"ssh\"",
		    prefix);
		return -1;
	}
	return 0;
}

/* An octal permission string such as "0660" or "660", at most 07777. */
static int
parse_mode(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	const char	*s = json_object_get_string(v);
	const char	*c;
	unsigned long	 mode = 0;

	if (*s == '\0' || strlen(s) > 5)
		goto bad;
	for (c = s; *c != '\0'; c++) {
		if (*c < '0' || *c > '7')
			goto bad;
		mode = mode * 8 + (unsigned long)(*c - '0');
	}
	if (mode > 07777)
		goto bad;
	*(mode_t *)((char *)base + k->off) = (mode_t)mode;
	return 0;
bad:
	cfg_err(p, "%s: \"%s\" is not an octal file mode like \"0660\"", path,
	    s);
	return -1;
}

static int
parse_string(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	const char	*s = json_object_get_string(v);

	if (*s == '\0') {
		cfg_err(p, "%s: must not be empty", path);
		return -1;
	}
	*(char **)((char *)base + k->off) = xstrdup(s);
	return 0;
}

static int
parse_bool(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	(void)p;
	(void)path;
	*(int *)((char *)base + k->off) = json_object_get_boolean(v);
	return 0;
}

/* Owned: NULL-terminated, an empty array gives a vector of one NULL. */
static char **
strv_from(struct json_object *a)
{
	size_t	  i, n = json_object_array_length(a);
	char	**strv = xcalloc(n + 1, sizeof(*strv));

	for (i = 0; i < n; i++)
		strv[i] = xstrdup(json_object_get_string(
		    json_object_array_get_idx(a, i)));
	return strv;
}

static int
parse_strv(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	(void)p;
	(void)path;
	*(char ***)((char *)base + k->off) = strv_from(v);
	return 0;
}

/* The object is kept by reference (json_object_get), put in cfg_free(). */
static int
parse_object(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	(void)p;
	(void)path;
	*(struct json_object **)((char *)base + k->off) = json_object_get(v);
	return 0;
}

/* Names are used in labels and headers: [A-Za-z0-9_.-]+, < DM_MAX_NAME. */
static int
parse_name(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	const char	*s = json_object_get_string(v);
	size_t		 len = strlen(s);

	if (len == 0 || strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789_.-") != len) {
		cfg_err(p, "%s: \"%s\" is not a valid name (letters, digits, "
		    "'_', '.', '-')", path, s);
		return -1;
	}
	if (len >= DM_MAX_NAME) {
		cfg_err(p, "%s: \"%s\" is longer than %d characters", path, s,
		    DM_MAX_NAME - 1);
		return -1;
	}
	memcpy((char *)base + k->off, s, len + 1);
	return 0;
}

/* A limit: 1 to DM_API_MAX_LIMIT. */
static int
parse_count(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	int64_t	n = json_object_get_int64(v);

	if (n < 1 || n > DM_API_MAX_LIMIT) {
		cfg_err(p, "%s: %lld is out of range (1 to %d)", path,
		    (long long)n, DM_API_MAX_LIMIT);
		return -1;
	}
	*(int *)((char *)base + k->off) = (int)n;
	return 0;
}

/* Seconds: 0 (off) to one day. */
static int
parse_seconds(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	int64_t	n = json_object_get_int64(v);

	if (n < 0 || n > 86400) {
		cfg_err(p, "%s: %lld is out of range (0 to 86400 seconds)",
		    path, (long long)n);
		return -1;
	}
	*(int *)((char *)base + k->off) = (int)n;
	return 0;
}

static const char *const access_match_keys[] = {
	[MATCH_UID] = "uid", [MATCH_USER] = "user", [MATCH_GID] = "gid",
	[MATCH_GROUP] = "group", [MATCH_SUBJECT] = "subject",
};
static const char *const access_other_keys[] = {
	"grant", "backends", "scope", "bind_mounts",
};

/* The one credential a rule matches: uid, user, gid, group or subject. */
static int
access_match(struct cfg_parse *p, const char *prefix, struct json_object *o,
    struct cfg_access *a)
{
	struct json_object	*v;
	struct passwd		*pw;
	struct group		*gr;
	const char		*s;
	size_t			 i, found = 0;
	int64_t			 n;

	for (i = 0; i < NITEMS(access_match_keys); i++)
		if (json_object_object_get_ex(o, access_match_keys[i], &v)) {
			a->match = (enum cfg_match)i;
			found++;
		}
	if (found != 1) {
		cfg_err(p, "%s: exactly one of uid, user, gid, group, subject "
		    "is required", prefix);
		return -1;
	}
	(void)json_object_object_get_ex(o, access_match_keys[a->match], &v);
	if (a->match == MATCH_UID || a->match == MATCH_GID) {
		n = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || n < 0 ||
		    n > 0x7fffffffLL) {
			cfg_err(p, "%s.%s: expected a number from 0 to "
			    "2147483647", prefix, access_match_keys[a->match]);
			return -1;
		}
		if (a->match == MATCH_UID)
			a->uid = (uid_t)n;
		else
			a->gid = (gid_t)n;
		snprintf(a->name, sizeof(a->name), "%s (%s %lld)", prefix,
		    access_match_keys[a->match], (long long)n);
		return 0;
	}
	if (!json_object_is_type(v, json_type_string) ||
	    *(s = json_object_get_string(v)) == '\0') {
		cfg_err(p, "%s.%s: expected a non-empty string", prefix,
		    access_match_keys[a->match]);
		return -1;
	}
	snprintf(a->name, sizeof(a->name), "%s (%s %.40s)", prefix,
	    access_match_keys[a->match], s);
	switch (a->match) {
	case MATCH_USER:
		if ((pw = getpwnam(s)) == NULL) {
			cfg_err(p, "%s.user: no user named \"%s\"", prefix, s);
			return -1;
		}
		a->uid = pw->pw_uid;
		break;
	case MATCH_GROUP:
		if ((gr = getgrnam(s)) == NULL) {
			cfg_err(p, "%s.group: no group named \"%s\"", prefix,
			    s);
			return -1;
		}
		a->gid = gr->gr_gid;
		break;
	default:
		a->subject = xstrdup(s);
		break;
	}
	return 0;
}

/* grant, backends, scope and bind_mounts of one rule. */
static int
access_grant(struct cfg_parse *p, const char *prefix, struct json_object *o,
    const struct cfg *cfg, struct cfg_access *a)
{
	struct json_object	*v;
	const char		*s;
	size_t			 i;
	int			 rc = 0;

	if (!json_object_object_get_ex(o, "grant", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		cfg_err(p, "%s.grant: required: \"full\", \"read-only\" or "
		    "\"restricted\"", prefix);
		return -1;
	}
	s = json_object_get_string(v);
	if (strcmp(s, "full") == 0)
		a->grant = GRANT_FULL;
	else if (strcmp(s, "read-only") == 0)
		a->grant = GRANT_READ_ONLY;
	else if (strcmp(s, "restricted") == 0)
		a->grant = GRANT_RESTRICTED;
	else {
		cfg_err(p, "%s.grant: \"%s\" is not one of \"full\", "
		    "\"read-only\", \"restricted\"", prefix, s);
		return -1;
	}
	if (json_object_object_get_ex(o, "scope", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (strcmp(json_object_get_string(v), "owner") != 0 &&
		    strcmp(json_object_get_string(v), "all") != 0)) {
			cfg_err(p, "%s.scope: expected \"owner\" or \"all\"",
			    prefix);
			rc = -1;
		} else
			a->scope_owner = strcmp(json_object_get_string(v),
			    "owner") == 0;
	}
	if (json_object_object_get_ex(o, "backends", &v)) {
		if (a->grant != GRANT_RESTRICTED) {
			cfg_err(p, "%s.backends: only a \"restricted\" grant "
			    "names backends", prefix);
			rc = -1;
		} else if (!kind_matches(CFG_STRV, v) ||
		    json_object_array_length(v) == 0) {
			cfg_err(p, "%s.backends: expected a non-empty array of "
			    "backend names", prefix);
			rc = -1;
		} else {
			a->backends = strv_from(v);
			for (i = 0; a->backends[i] != NULL; i++)
				if (cfg_backend_find(cfg, a->backends[i]) ==
				    NULL) {
					cfg_err(p, "%s.backends: no backend "
					    "named \"%s\"", prefix,
					    a->backends[i]);
					rc = -1;
				}
		}
	}
	if (json_object_object_get_ex(o, "bind_mounts", &v)) {
		if (a->grant != GRANT_RESTRICTED) {
			cfg_err(p, "%s.bind_mounts: only a \"restricted\" "
			    "grant limits bind mounts", prefix);
			rc = -1;
		} else if (!kind_matches(CFG_STRV, v)) {
			cfg_err(p, "%s.bind_mounts: expected array of strings",
			    prefix);
			rc = -1;
		} else {
			a->bind_mounts = strv_from(v);
			for (i = 0; a->bind_mounts[i] != NULL; i++)
				if (!dm_path_clean_abs(a->bind_mounts[i])) {
					cfg_err(p, "%s.bind_mounts: \"%s\" is "
					    "not an absolute path without . or "
					    ".. segments", prefix,
					    a->bind_mounts[i]);
					rc = -1;
				}
		}
	}
	if (a->grant == GRANT_RESTRICTED && a->bind_mounts == NULL)
		a->bind_mounts = xcalloc(1, sizeof(char *));
	return rc;
}

/*
 * "access": the per-peer policy, first match wins (docs/security.md).
 * Present (even empty) means a peer no rule matches is denied.
 */
static int
parse_access(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	struct cfg		*cfg = base;
	struct cfg_access	*a;
	struct json_object	*elem;
	char			 prefix[64];
	size_t			 i, j, n = json_object_array_length(v);
	int			 rc = 0, known;

	(void)k;
	cfg->access_set = 1;
	cfg->access = xcalloc(n + 1, sizeof(*cfg->access));
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "%s[%zu]", path, i);
		elem = json_object_array_get_idx(v, i);
		if (!json_object_is_type(elem, json_type_object)) {
			cfg_err(p, "%s: expected object", prefix);
			rc = -1;
			continue;
		}
		json_object_object_foreach(elem, key, val) {
			(void)val;
			known = 0;
			for (j = 0; j < NITEMS(access_match_keys); j++)
				known |= strcmp(key, access_match_keys[j]) == 0;
			for (j = 0; j < NITEMS(access_other_keys); j++)
				known |= strcmp(key, access_other_keys[j]) == 0;
			if (!known) {
				cfg_err(p, "%s: unknown key \"%s\"", prefix,
				    key);
				rc = -1;
			}
		}
		a = &cfg->access[cfg->naccess++];
		if (access_match(p, prefix, elem, a) == -1)
			rc = -1;
		if (access_grant(p, prefix, elem, cfg, a) == -1)
			rc = -1;
	}
	return rc;
}

/*
 * Walk one JSON object against a key table: unknown keys and values of the
 * wrong kind are reported in document order, then missing required keys;
 * absent keys with a default get it.  Every problem is reported; returns
 * -1 if there was any.
 */
static int
parse_keys(struct cfg_parse *p, const struct cfg_key *keys, size_t nkeys,
    const char *prefix, struct json_object *obj, void *base)
{
	struct json_object	*v;
	const struct cfg_key	*k;
	char			 path[256];
	char			*text;
	size_t			 i;
	int			 rc = 0;

	json_object_object_foreach(obj, name, val) {
		(void)val;
		for (i = 0; i < nkeys; i++)
			if (strcmp(keys[i].name, name) == 0)
				break;
		if (i == nkeys) {
			if (*prefix == '\0')
				cfg_err(p, "unknown key \"%s\"", name);
			else
				cfg_err(p, "%s: unknown key \"%s\"", prefix,
				    name);
			rc = -1;
		}
	}
	for (i = 0; i < nkeys; i++) {
		k = &keys[i];
		snprintf(path, sizeof(path), "%s%s%s", prefix,
		    *prefix == '\0' ? "" : ".", k->name);
		if (json_object_object_get_ex(obj, k->name, &v)) {
			if (!kind_matches(k->kind, v)) {
				cfg_err(p, "%s: expected %s", path,
				    kind_names[k->kind]);
				rc = -1;
			} else if (k->parse(p, k, path, v, base) == -1)
				rc = -1;
			continue;
		}
		if (k->required) {
			cfg_err(p, "%s: required key is missing", path);
			rc = -1;
			continue;
		}
		if (k->dflt == NULL && k->dflt_fn == NULL)
			continue;
		/* Defaults pass the same validator as values from a file. */
		text = k->dflt_fn != NULL ? k->dflt_fn() : xstrdup(k->dflt);
		if ((v = json_tokener_parse(text)) == NULL) {
			cfg_err(p, "%s: bad built-in default %s", path, text);
			rc = -1;
		} else if (k->parse(p, k, path, v, base) == -1)
			rc = -1;
		json_object_put(v);
		free(text);
	}
	return rc;
}

/* The backends array: each element an object, names unique, at most 32. */
static int
parse_backend_list(struct cfg_parse *p, const char *path,
    struct json_object *v, struct cfg *cfg)
{
	struct cfg_backend	*be;
	struct json_object	*elem;
	char			 prefix[64];
	size_t			 i, j, n = json_object_array_length(v);
	int			 rc = 0;

	if (n == 0) {
		cfg_err(p, "%s: at least one backend is required", path);
		return -1;
	}
	if (n > DM_MAX_BACKENDS) {
		cfg_err(p, "%s: %zu backends, at most %d are supported", path,
		    n, DM_MAX_BACKENDS);
		rc = -1;
		n = DM_MAX_BACKENDS;
	}
	for (i = 0; i < n; i++) {
		snprintf(prefix, sizeof(prefix), "%s[%zu]", path, i);
		elem = json_object_array_get_idx(v, i);
		if (!json_object_is_type(elem, json_type_object)) {
			cfg_err(p, "%s: expected object", prefix);
			rc = -1;
			continue;
		}
		be = &cfg->backends[cfg->nbackends++];
		if (parse_keys(p, backend_keys, NITEMS(backend_keys), prefix,
		    elem, be) == -1)
			rc = -1;
		else if (check_transport(p, prefix, elem, be) == -1)
			rc = -1;
		if (be->name[0] == '\0')
			continue;
		for (j = 0; j + 1 < cfg->nbackends; j++) {
			if (strcmp(cfg->backends[j].name, be->name) == 0) {
				cfg_err(p, "%s.name: duplicate backend name "
				    "\"%s\"", prefix, be->name);
				rc = -1;
				break;
			}
		}
	}
	return rc;
}

/*
 * "backends": an array of objects, or "auto": the usual engine sockets
 * that answer now (cfg_detect_backends()), parsed as if the file had
 * listed them, so they get the same defaults and checks.  "auto" with no
 * engine answering is an error, as a missing file with none is.
 */
static int
parse_backends(struct cfg_parse *p, const struct cfg_key *k, const char *path,
    struct json_object *v, void *base)
{
	struct cfg		*cfg = base;
	struct json_object	*found;
	char			 tried[1024];
	int			 rc;

	(void)k;
	if (json_object_is_type(v, json_type_array))
		return parse_backend_list(p, path, v, cfg);
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), "auto") != 0) {
		cfg_err(p, "%s: expected array of objects or \"auto\"", path);
		return -1;
	}
	found = cfg_detect_backends(p->answers, tried, sizeof(tried));
	if (json_object_array_length(found) == 0) {
		if (p->no_file)
			cfg_err(p, "no configuration file and no container "
			    "engine answered GET /_ping on %s", tried);
		else
			cfg_err(p, "%s: \"auto\": no container engine "
			    "answered GET /_ping on %s", path, tried);
		rc = -1;
	} else
		rc = parse_backend_list(p, path, found, cfg);
	cfg->autodetected = 1;
	json_object_put(found);
	return rc;
}

/* "line L, column C" of byte offset off in text, both counted from 1. */
static void
text_position(const char *text, size_t off, size_t *line, size_t *col)
{
	size_t	i;

	*line = 1;
	*col = 1;
	for (i = 0; i < off && text[i] != '\0'; i++) {
		if (text[i] == '\n') {
			(*line)++;
			*col = 1;
		} else
			(*col)++;
	}
}

/*
 * Parse text as one strict JSON value.  Syntax errors name the line and
 * column json-c stopped at.  Returns owned (json_object_put) or NULL.
 */
static struct json_object *
parse_json(struct cfg_parse *p, const char *text)
{
	struct json_tokener	*tok = NULL;
	struct json_object	*root = NULL;
	enum json_tokener_error	 jerr;
	size_t			 len = strlen(text), line, col;

	if (text[strspn(text, " \t\r\n")] == '\0') {
		cfg_err(p, "syntax error: empty configuration");
		goto out;
	}
	if (len >= DM_MAX_CREATE_BODY) {
		cfg_err(p, "configuration larger than %d bytes",
		    DM_MAX_CREATE_BODY);
		goto out;
	}
	if ((tok = json_tokener_new()) == NULL) {
		perror("json_tokener_new");
		abort();
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	/*
	 * The length includes the '\0': the input ends here.  Strict mode
	 * also refuses text after the value, comments and trailing commas.
	 */
	root = json_tokener_parse_ex(tok, text, (int)len + 1);
	jerr = json_tokener_get_error(tok);
	if (root == NULL || jerr != json_tokener_success) {
		json_object_put(root);
		root = NULL;
		/* json-c stops at the offending character. */
		text_position(text, json_tokener_get_parse_end(tok), &line,
		    &col);
		cfg_err(p, "syntax error at line %zu, column %zu: %s", line,
		    col, json_tokener_error_desc(jerr));
	}
out:
	if (tok != NULL)
		json_tokener_free(tok);
	return root;
}

/*
 * A tcp listener needs the top-level "tls" (client certificates checked
 * against its CA), or loopback, or "allow_plain_tcp": true.
 */
static void
check_listeners(struct cfg_parse *p, const char *what, const struct cfg *cfg,
    const struct cfg_listen *ls, size_t n)
{
	const struct cfg_listen	*l;
	size_t			 i;

	for (i = 0; i < n; i++) {
		l = &ls[i];
		if (l->ep.transport != CFG_TCP || cfg->tls_set ||
		    cfg->allow_plain_tcp || cfg_host_is_loopback(l->ep.host))
			continue;
		cfg_err(p, "%s: \"%s\": plain TCP beyond loopback gives "
		    "the host to anyone who can connect: set \"tls\" (with "
		    "client certificates) or \"allow_plain_tcp\": true",
		    what, l->url);
	}
}

/* The body of cfg_load_string() and cfg_autodetect(). */
static struct cfg *
load_text(struct cfg_parse *p, const char *text)
{
	struct json_object	*root = NULL;
	struct cfg		*cfg = NULL;
	size_t			 i;

	if (p->errbuf != NULL && p->errlen > 0)
		p->errbuf[0] = '\0';
	else
		p->errbuf = NULL;
	if ((root = parse_json(p, text)) == NULL)
		goto out;
	if (!json_object_is_type(root, json_type_object)) {
		cfg_err(p, "top level: expected object");
		goto out;
	}
	cfg = xcalloc(1, sizeof(*cfg));
	parse_keys(p, top_keys, NITEMS(top_keys), "", root, cfg);
	check_listeners(p, "listen", cfg, cfg->listens, cfg->nlisten);
	if (cfg->unknown_os_backend != NULL) {
		for (i = 0; i < cfg->nbackends; i++)
			if (strcmp(cfg->backends[i].name,
			    cfg->unknown_os_backend) == 0)
				break;
		if (i == cfg->nbackends)
			cfg_err(p, "unknown_os_backend: no backend named "
			    "\"%s\"", cfg->unknown_os_backend);
	}
out:
	json_object_put(root);
	if (p->nerr > 0) {
		cfg_free(cfg);
		cfg = NULL;
	}
	return cfg;
}

struct cfg *
cfg_load_string(const char *text, char *errbuf, size_t errlen)
{
	struct cfg_parse	p = { errbuf, errlen, 0, 0, cfg_socket_answers,
				    0 };

	return load_text(&p, text);
}

/* Every key at its default, the backends those that answer. */
struct cfg *
cfg_autodetect(int (*answers)(const char *), char *errbuf, size_t errlen)
{
	struct cfg_parse	p = { errbuf, errlen, 0, 0, answers, 1 };

	return load_text(&p, "{ \"backends\": \"auto\" }");
}

/* Errors are prefixed with the path, as in "PATH: No such file...". */
struct cfg *
cfg_load_file(const char *path, char *errbuf, size_t errlen)
{
	struct cfg	*cfg = NULL;
	struct stat	 st;
	FILE		*fp = NULL;
	char		*text = NULL;
	char		 scratch[256];
	size_t		 n, off = 0;
	int		 w;

	if (errbuf == NULL || errlen == 0) {
		errbuf = scratch;
		errlen = sizeof(scratch);
	}
	w = snprintf(errbuf, errlen, "%s: ", path);
	if (w > 0)
		off = (size_t)w < errlen ? (size_t)w : errlen - 1;
	if ((fp = fopen(path, "r")) == NULL || fstat(fileno(fp), &st) == -1)
		goto syserr;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto syserr;
	}
	if (st.st_size >= DM_MAX_CREATE_BODY) {
		snprintf(errbuf + off, errlen - off, "larger than %d bytes",
		    DM_MAX_CREATE_BODY);
		goto out;
	}
	text = xmalloc((size_t)st.st_size + 1);
	n = fread(text, 1, (size_t)st.st_size, fp);
	if (ferror(fp))
		goto syserr;
	text[n] = '\0';
	if (memchr(text, '\0', n) != NULL) {
		snprintf(errbuf + off, errlen - off, "contains a NUL byte");
		goto out;
	}
	cfg = cfg_load_string(text, errbuf + off, errlen - off);
	if (cfg != NULL)
		errbuf[0] = '\0';
	goto out;
syserr:
	snprintf(errbuf + off, errlen - off, "%s", strerror(errno));
out:
	if (fp != NULL)
		fclose(fp);
	free(text);
	return cfg;
}

static void
listens_clear(struct cfg_listen *ls, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(ls[i].url);
		ls[i].url = NULL;
		cfg_endpoint_clear(&ls[i].ep);
	}
}

/*
 * The command line over the file: each -H parsed and checked as a
 * "listen" entry is, into a scratch list swapped in only when all pass.
 */
int
cfg_override_apply(struct cfg *cfg, const struct cfg_override *ov,
    char *errbuf, size_t errlen)
{
	struct cfg_parse	 p = { errbuf, errlen, 0, 0, NULL, 0 };
	struct cfg_listen	 ls[DM_MAX_LISTEN];
	char			 why[160];
	size_t			 i, n = 0;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	else
		p.errbuf = NULL;
	memset(ls, 0, sizeof(ls));
	if (ov->nlisten > DM_MAX_LISTEN) {
		cfg_err(&p, "-H: %zu listeners, at most %d are supported",
		    ov->nlisten, DM_MAX_LISTEN);
		return -1;
	}
	if (ov->store != NULL && *ov->store == '\0')
		cfg_err(&p, "--store: must not be empty");
	for (i = 0; i < ov->nlisten; i++) {
		if (cfg_endpoint_parse(ov->listen[i], 0, &ls[n].ep, why,
		    sizeof(why)) == -1) {
			cfg_err(&p, "-H \"%s\": %s", ov->listen[i], why);
			cfg_endpoint_clear(&ls[n].ep);
			continue;
		}
		ls[n++].url = xstrdup(ov->listen[i]);
	}
	check_listeners(&p, "-H", cfg, ls, n);
	if (p.nerr > 0) {
		listens_clear(ls, n);
		return -1;
	}
	if (n > 0) {
		listens_clear(cfg->listens, cfg->nlisten);
		free(cfg->listen);
		free(cfg->socket_path);
		cfg->socket_path = NULL;
		memcpy(cfg->listens, ls, sizeof(ls));
		cfg->nlisten = n;
		cfg->listen = xstrdup(ls[0].url);
		for (i = 0; i < n && cfg->socket_path == NULL; i++)
			if (ls[i].ep.transport == CFG_UNIX)
				cfg->socket_path = xstrdup(ls[i].ep.path);
	}
	if (ov->store != NULL) {
		free(cfg->store);
		cfg->store = xstrdup(ov->store);
	}
	return 0;
}

const struct cfg_backend *
cfg_backend_find(const struct cfg *cfg, const char *name)
{
	size_t	i;

	for (i = 0; i < cfg->nbackends; i++)
		if (strcmp(cfg->backends[i].name, name) == 0)
			return &cfg->backends[i];
	return NULL;
}

static void
strv_free(char **strv)
{
	char	**s;

	if (strv == NULL)
		return;
	for (s = strv; *s != NULL; s++)
		free(*s);
	free(strv);
}

static void
tls_free(struct cfg_tls *t)
{
	free(t->ca);
	free(t->cert);
	free(t->key);
}

void
cfg_free(struct cfg *cfg)
{
	struct cfg_backend	*be;
	size_t			 i;

	if (cfg == NULL)
		return;
	for (i = 0; i < cfg->nbackends; i++) {
		be = &cfg->backends[i];
		free(be->endpoint);
		free(be->socket_path);
		cfg_endpoint_clear(&be->ep);
		tls_free(&be->tls);
		free(be->ssh_identity);
		free(be->ssh_known_hosts);
		free(be->os);
		free(be->arch);
		strv_free(be->isolation);
		strv_free(be->runtime_markers);
		json_object_put(be->create_overrides);
	}
	free(cfg->listen);
	free(cfg->socket_path);
	listens_clear(cfg->listens, cfg->nlisten);
	tls_free(&cfg->tls);
	free(cfg->socket_group);
	free(cfg->store);
	strv_free(cfg->isolation_labels);
	free(cfg->unknown_os_backend);
	for (i = 0; i < cfg->naccess; i++) {
		free(cfg->access[i].subject);
		strv_free(cfg->access[i].backends);
		strv_free(cfg->access[i].bind_mounts);
	}
	free(cfg->access);
	free(cfg);
}
