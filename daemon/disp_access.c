/*
 * disp_access.c: the access policy (dockmux.json "access"; see
 * docs/security.md): which rule a peer matches, what its grant lets a
 * request do, the checks on a create, exec or volume body, and, with
 * "scope": "owner", which containers a peer may see.  Also the one place
 * request bodies get their keys read the way the engine reads them.
 */
/* Threads: the front end's call workers, each for its own call. */

#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/jscan.h"
#include "lib/jsonkeys.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/*
 * The field names dockmux reads from create, exec and volume bodies:
 * every key that folds to one of these is renamed to it before anyone
 * reads the body (lib/jsonkeys.h says why).
 */
static const char *const read_fields[] = {
	"Image", "Labels", "Cmd", "Entrypoint", "User", "HostConfig",
	"NetworkingConfig", "EndpointsConfig", "Privileged", "NetworkMode",
	"PidMode", "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode",
	"CapAdd", "Capabilities", "Devices", "DeviceCgroupRules",
	"DeviceRequests", "SecurityOpt", "Binds", "Mounts", "Type", "Source",
	"VolumeOptions", "DriverConfig", "Options", "VolumesFrom", "Links",
	"Runtime", "Isolation", "Driver", "DriverOpts", "Name", "Platform",
	NULL
};

static const char *const grant_names[] = {
	[GRANT_FULL] = "full",
	[GRANT_READ_ONLY] = "read-only",
	[GRANT_RESTRICTED] = "restricted",
};

static void	deny(const struct disp_access *, struct dm_err *,
		    const char *, ...) __attribute__((format(printf, 3, 4)));

/* 403 {"message":"dockmux: access denied: <rule>: <why>"}. */
static void
deny(const struct disp_access *a, struct dm_err *err, const char *fmt, ...)
{
	char	why[200];
	va_list	ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	dm_err_set(err, DM_EFORBIDDEN, "dockmux: access denied: %s: %s",
	    a->rule != NULL ? a->rule->name : "access", why);
}

static int
in_groups(const struct disp_peer *p, gid_t gid)
{
	int	i;

	if (p->gid == gid)
		return 1;
	for (i = 0; i < p->ngroups; i++)
		if (p->groups[i] == gid)
			return 1;
	return 0;
}

static int
rule_matches(const struct cfg_access *r, const struct disp_peer *p)
{
	switch (r->match) {
	case MATCH_UID:
	case MATCH_USER:
		return p->known && p->uid == r->uid;
	case MATCH_GID:
	case MATCH_GROUP:
		return p->known && in_groups(p, r->gid);
	case MATCH_SUBJECT:
		return p->subject[0] != '\0' &&
		    strcmp(p->subject, r->subject) == 0;
	}
	return 0;
}

int
disp_access_decide(const struct cfg *cfg, const struct disp_peer *p,
    struct disp_access *a, struct dm_err *err)
{
	size_t	i;

	memset(a, 0, sizeof(*a));
	a->grant = GRANT_FULL;
	a->peer = p;
	snprintf(a->owner, sizeof(a->owner), "%ld", (long)p->uid);
	if (!cfg->access_set)
		return 0;
	a->policed = 1;
	if (p->known && p->uid == 0)
		return 0;	/* root is always full */
	for (i = 0; i < cfg->naccess; i++)
		if (rule_matches(&cfg->access[i], p)) {
			a->rule = &cfg->access[i];
			a->grant = a->rule->grant;
			return 0;
		}
	if (p->known)
		dm_err_set(err, DM_EFORBIDDEN, "dockmux: access denied: "
		    "access: no rule matches uid %ld (gid %ld)", (long)p->uid,
		    (long)p->gid);
	else
		dm_err_set(err, DM_EFORBIDDEN, "dockmux: access denied: "
		    "access: the peer's credentials are unknown");
	return -1;
}

static int
is_read_method(const char *m)
{
	return strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0;
}

int
disp_access_request(const struct disp_access *a, const struct disp_req *req,
    struct dm_err *err)
{
	char	v[32];

	if (a->grant == GRANT_FULL)
		return 0;
	if (req->res == RES_OTHER) {
		deny(a, err, "%s %s is not an endpoint dockmux knows; only a "
		    "full grant may use it", req->method, req->rest);
		/*
		 * A read is answered 404 with that message: "docker inspect"
		 * asks the plugin endpoint among others and goes on only on
		 * a 404.
		 */
		if (is_read_method(req->method))
			err->st = DM_ENOTFOUND;
		return -1;
	}
	if (req->res == RES_DOCKMUX && !is_read_method(req->method)) {
		deny(a, err, "changes through the admin API need a full "
		    "grant");
		return -1;
	}
	if (a->grant == GRANT_READ_ONLY) {
		if (!is_read_method(req->method)) {
			deny(a, err, "grant read-only: %s %s is not allowed",
			    req->method, req->rest);
			return -1;
		}
		if (req->kind == ROUTE_HIJACK || req->wants_upgrade ||
		    strcmp(req->action, "attach") == 0) {
			deny(a, err, "grant read-only: attach and exec are "
			    "not allowed");
			return -1;
		}
		return 0;
	}
	/* restricted: a build may not ask for the host's network. */
	if (req->res == RES_BUILD && disp_query_get(req->query,
	    "networkmode", v, sizeof(v)) && strcasecmp(v, "host") == 0) {
		deny(a, err, "grant restricted: builds with the host network "
		    "are not allowed");
		return -1;
	}
	if (req->res == RES_SYSTEM && !is_read_method(req->method)) {
		deny(a, err, "grant restricted: %s %s is not allowed",
		    req->method, req->rest);
		return -1;
	}
	return 0;
}

/* ---- owner scope ---- */

/*
 * 1 when the container with full ID id on backend bi carries the
 * peer's owner label; 0 when it does not or cannot be asked.
 */
static int
owned_at(struct disp *d, const struct disp_access *a, size_t bi,
    const char *id)
{
	struct backend_call	 call = { .method = "GET",
	    .timeout_ms = DM_INSPECT_TIMEOUT_MS };
	struct json_object	*o = NULL;
	struct dm_err		 err;
	char			*path, *body = NULL, *enc;
	const char		*v;
	size_t			 len;
	int			 status = 0, yes = 0;

	if (bi >= d->n)
		return 0;
	enc = disp_url_encode(id);
	path = xasprintf("/containers/%s/json", enc);
	free(enc);
	call.path = path;
	if (backend_do(d->b[bi].be, &call, &status, &body, &len, NULL,
	    &err) == 0 && status == 200 &&
	    (o = json_tokener_parse(body)) != NULL) {
		v = dm_json_str(dm_json_obj(dm_json_obj(o, "Config"),
		    "Labels"), DM_LABEL_OWNER);
		yes = v != NULL && strcmp(v, a->owner) == 0;
	}
	json_object_put(o);
	free(body);
	free(path);
	return yes;
}

/* 1 when ref (a name, ID or prefix) is one of the peer's containers. */
static int
owned_ref(struct disp *d, const struct disp_access *a, const char *ref)
{
	struct store_route	route;
	struct dm_err		err;
	size_t			bi;

	if (disp_lookup_container(d, ref, &route, &bi, &err) == -1)
		return 0;
	return owned_at(d, a, bi, route.id);
}

int
disp_access_owner(struct disp *d, const struct disp_access *a,
    const struct disp_req *req, size_t target, const char *ctr_id,
    struct dm_err *err)
{
	char	ref[DISP_ID_MAX];

	if (a->rule == NULL || !a->rule->scope_owner)
		return 0;
	if (req->ep->target == TARGET_LINK_OWNER) {
		disp_url_decode(req->id, strlen(req->id), ref, sizeof(ref));
		if (owned_ref(d, a, ref))
			return 0;
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s", ref);
		return -1;
	}
	if (req->ep->target != TARGET_OWNER)
		return 0;
	if (owned_at(d, a, target, ctr_id))
		return 0;
	if (req->res == RES_EXEC) {
		disp_url_decode(req->id, strlen(req->id), ref, sizeof(ref));
		dm_err_set(err, DM_ENOTFOUND, "No such exec instance: %s", ref);
	} else if (req->id[0] != '\0') {
		disp_url_decode(req->id, strlen(req->id), ref, sizeof(ref));
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s", ref);
	} else
		dm_err_set(err, DM_ENOTFOUND, "No such container: %s",
		    ctr_id);
	return -1;
}

/*
 * Lists, prunes and events of an owner-scoped peer see only its own
 * containers: "label=io.dockmux.owner=<uid>" joins the query's filters
 * (the engines filter, and label filters all have to match).  Owned:
 * free(); NULL when the query stays as it is.
 */
char *
disp_access_query(const struct disp_access *a, const struct disp_req *req)
{
	struct json_object	*f = NULL, *lab;
	char			*buf, *q, want[64];
	int			 scoped;

	if (a->rule == NULL || !a->rule->scope_owner)
		return NULL;
	scoped = (req->res == RES_CONTAINERS && (strcmp(req->action, "list")
	    == 0 || strcmp(req->action, "prune") == 0)) ||
	    req->res == RES_EVENTS;
	if (!scoped)
		return NULL;
	snprintf(want, sizeof(want), "%s=%s", DM_LABEL_OWNER, a->owner);
	buf = xmalloc(DM_MAX_PATH + 1);
	if (disp_query_get(req->query, "filters", buf, DM_MAX_PATH + 1))
		f = json_tokener_parse(buf);
	free(buf);
	if (!json_object_is_type(f, json_type_object)) {
		json_object_put(f);
		f = json_object_new_object();
	}
	lab = dm_json_obj(f, "label");
	if (lab != NULL)	/* the old form: {"label": {"k=v": true}} */
		json_object_object_add(lab, want, json_object_new_boolean(1));
	else {
		lab = dm_json_arr(f, "label");
		if (lab == NULL) {
			lab = json_object_new_array();
			json_object_object_add(f, "label", lab);
		}
		json_object_array_add(lab, json_object_new_string(want));
	}
	q = disp_query_set(req->query, "filters",
	    json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN));
	json_object_put(f);
	return q;
}

/* ---- bodies ---- */

/* 1 when path is dir or below it (both clean, absolute). */
static int
path_under(const char *path, const char *dir)
{
	size_t	n = strlen(dir);

	while (n > 1 && dir[n - 1] == '/')
		n--;
	if (n == 1 && dir[0] == '/')
		return 1;
	return strncmp(path, dir, n) == 0 && (path[n] == '\0' ||
	    path[n] == '/');
}

/* A host path a restricted peer may bind: clean and under bind_mounts. */
static int
bind_allowed(const struct cfg_access *r, const char *src)
{
	size_t	i;

	if (!dm_path_clean_abs(src))
		return 0;
	for (i = 0; r->bind_mounts != NULL && r->bind_mounts[i] != NULL; i++)
		if (path_under(src, r->bind_mounts[i]))
			return 1;
	return 0;
}

/*
 * o[key] asks for something: true, or any value but false and null (the
 * engine refuses a non-boolean, and refusing it here is the safe side).
 */
static int
asks(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || v == NULL)
		return 0;
	if (json_object_is_type(v, json_type_boolean))
		return json_object_get_boolean(v);
	return 1;
}

/* A namespace mode a restricted peer may not use: "host". */
static int
host_mode(struct json_object *hc, const char *key)
{
	const char	*v = dm_json_str(hc, key);

	return v != NULL && strcasecmp(v, "host") == 0;
}

/* A volume driver option that binds a host path: type/o bind, device. */
static int
driver_opts_bind(const struct cfg_access *r, struct json_object *opts,
    const char **why)
{
	const char	*dev = dm_json_str(opts, "device");
	const char	*o = dm_json_str(opts, "o");

	if (dev == NULL && (o == NULL || strstr(o, "bind") == NULL))
		return 0;
	if (dev != NULL && bind_allowed(r, dev))
		return 0;
	*why = dev != NULL ? dev : "(a bind option)";
	return 1;
}

/* The container references of a create that must be the peer's own. */
static int
create_refs_owned(struct disp *d, const struct disp_access *a,
    struct json_object *hc, struct dm_err *err)
{
	static const char *const modes[] = { "NetworkMode", "PidMode",
	    "IpcMode", NULL };
	struct json_object	*arr;
	const char		*v;
	char			 ref[DISP_ID_MAX];
	size_t			 i, k;

	for (k = 0; modes[k] != NULL; k++) {
		v = dm_json_str(hc, modes[k]);
		if (v != NULL && strncmp(v, "container:", 10) == 0 &&
		    !owned_ref(d, a, v + 10)) {
			dm_err_set(err, DM_ENOTFOUND, "No such container: %s",
			    v + 10);
			return -1;
		}
	}
	for (k = 0; k < 2; k++) {
		arr = dm_json_arr(hc, k == 0 ? "VolumesFrom" : "Links");
		for (i = 0; arr != NULL && i < json_object_array_length(arr);
		    i++) {
			v = json_object_get_string(json_object_array_get_idx(
			    arr, i));
			if (v == NULL)
				continue;
			snprintf(ref, sizeof(ref), "%.*s",
			    (int)strcspn(v, ":"), v);
			if (ref[0] == '/')
				memmove(ref, ref + 1, strlen(ref));
			if (!owned_ref(d, a, ref)) {
				dm_err_set(err, DM_ENOTFOUND, "No such "
				    "container: %s", ref);
				return -1;
			}
		}
	}
	return 0;
}

/* What a restricted grant refuses in a create's HostConfig. */
static int
create_restricted(const struct disp_access *a, struct json_object *hc,
    struct dm_err *err)
{
	static const char *const ns[] = { "NetworkMode", "PidMode",
	    "IpcMode", "UTSMode", "UsernsMode", "CgroupnsMode", NULL };
	const struct cfg_access	*r = a->rule;
	struct json_object	*arr, *e;
	const char		*v, *why = NULL;
	char			 src[DM_MAX_PATH];
	size_t			 i;

	if (asks(hc, "Privileged")) {
		deny(a, err, "grant restricted: privileged containers are not "
		    "allowed");
		return -1;
	}
	for (i = 0; ns[i] != NULL; i++)
		if (host_mode(hc, ns[i])) {
			deny(a, err, "grant restricted: %s host is not "
			    "allowed", ns[i]);
			return -1;
		}
	if ((arr = dm_json_arr(hc, "CapAdd")) != NULL &&
	    json_object_array_length(arr) > 0) {
		deny(a, err, "grant restricted: added capabilities are not "
		    "allowed");
		return -1;
	}
	if (((arr = dm_json_arr(hc, "Devices")) != NULL &&
	    json_object_array_length(arr) > 0) ||
	    ((arr = dm_json_arr(hc, "DeviceCgroupRules")) != NULL &&
	    json_object_array_length(arr) > 0) ||
	    ((arr = dm_json_arr(hc, "DeviceRequests")) != NULL &&
	    json_object_array_length(arr) > 0)) {
		deny(a, err, "grant restricted: devices are not allowed");
		return -1;
	}
	arr = dm_json_arr(hc, "SecurityOpt");
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		v = json_object_get_string(json_object_array_get_idx(arr, i));
		if (v != NULL && (strcasestr(v, "unconfined") != NULL ||
		    strcasestr(v, "disable") != NULL)) {
			deny(a, err, "grant restricted: security option \"%s\" "
			    "is not allowed", v);
			return -1;
		}
	}
	arr = dm_json_arr(hc, "Binds");
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		v = json_object_get_string(json_object_array_get_idx(arr, i));
		if (v == NULL || v[0] != '/')
			continue;	/* a named volume */
		snprintf(src, sizeof(src), "%.*s", (int)strcspn(v, ":"), v);
		if (!bind_allowed(r, src)) {
			deny(a, err, "grant restricted: bind mount of %s is not "
			    "allowed", src);
			return -1;
		}
	}
	arr = dm_json_arr(hc, "Mounts");
	for (i = 0; arr != NULL && i < json_object_array_length(arr); i++) {
		e = json_object_array_get_idx(arr, i);
		v = dm_json_str(e, "Type");
		if (v != NULL && strcasecmp(v, "bind") == 0 &&
		    !bind_allowed(r, dm_json_str(e, "Source"))) {
			v = dm_json_str(e, "Source");
			deny(a, err, "grant restricted: bind mount of %s is not "
			    "allowed", v != NULL ? v : "(no source)");
			return -1;
		}
		if (v != NULL && strcasecmp(v, "volume") != 0 &&
		    strcasecmp(v, "bind") != 0 && strcasecmp(v, "tmpfs") != 0) {
			deny(a, err, "grant restricted: mounts of type %s are "
			    "not allowed", v);
			return -1;
		}
		if (driver_opts_bind(r, dm_json_obj(dm_json_obj(dm_json_obj(e,
		    "VolumeOptions"), "DriverConfig"), "Options"), &why)) {
			deny(a, err, "grant restricted: a volume bound to %s "
			    "is not allowed", why);
			return -1;
		}
	}
	return 0;
}

/* The create's own checks; stamps the owner label under owner scope. */
static int
check_create(struct disp *d, const struct disp_access *a,
    struct json_object *o, struct dm_err *err)
{
	struct json_object	*hc = dm_json_obj(o, "HostConfig"), *labels;

	if (a->grant == GRANT_RESTRICTED && create_restricted(a, hc, err) ==
	    -1)
		return -1;
	if (!a->rule->scope_owner)
		return 0;
	if (create_refs_owned(d, a, hc, err) == -1)
		return -1;
	labels = dm_json_obj(o, "Labels");
	if (labels == NULL) {
		labels = json_object_new_object();
		json_object_object_add(o, "Labels", labels);
	}
	json_object_object_add(labels, DM_LABEL_OWNER,
	    json_object_new_string(a->owner));
	return 0;
}

/* Which bodies are read here: 1 create, 2 exec create, 3 volume create. */
static int
body_kind(const struct disp_req *req)
{
	if (req->kind == ROUTE_CREATE)
		return 1;
	if (req->res == RES_CONTAINERS && strcmp(req->action, "exec") == 0)
		return 2;
	if (req->res == RES_VOLUMES && strcmp(req->method, "POST") == 0 &&
	    strcmp(req->rest, "/volumes/create") == 0)
		return 3;
	return 0;
}

int
disp_access_body(struct disp *d, const struct disp_access *a,
    const struct disp_req *req, char **body, size_t *len,
    struct dm_err *err)
{
	struct json_object	*o;
	const char		*why = NULL;
	char			 dup[128];
	int			 kind = body_kind(req), changed, rc = 0;

	if (kind == 0 || *body == NULL || *len == 0)
		return 0;
	/*
	 * json-c takes more than JSON (comments, single quotes, a text cut
	 * short after a comment, read as an inner object), and what it makes
	 * of such a body is not what the engine's Go decoder would: refused
	 * before anything reads it.
	 */
	if (jscan_value(*body, *body + *len) == NULL) {
		dm_err_set(err, DM_EBADREQ, "invalid JSON in the request body");
		return -1;
	}
	o = json_tokener_parse(*body);
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return 0;	/* the handler says what is wrong with it */
	}
	/* Only text json-c took is scanned (dm_json_dup_key trusts it). */
	if (dm_json_dup_key(*body, *len, dup, sizeof(dup))) {
		json_object_put(o);
		dm_err_set(err, DM_EBADREQ, "duplicate key \"%s\" in the "
		    "request body: dockerd reads keys case-insensitively and "
		    "the last one wins, so dockmux refuses the ambiguity",
		    dup);
		return -1;
	}
	changed = dm_json_canon(o, read_fields) > 0;
	if (a->rule != NULL && a->grant != GRANT_FULL) {
		if (kind == 1)
			rc = check_create(d, a, o, err);
		else if (kind == 2 && a->grant == GRANT_RESTRICTED &&
		    asks(o, "Privileged")) {
			deny(a, err, "grant restricted: privileged exec is not "
			    "allowed");
			rc = -1;
		} else if (kind == 3 && a->grant == GRANT_RESTRICTED &&
		    driver_opts_bind(a->rule, dm_json_obj(o, "DriverOpts"),
		    &why)) {
			deny(a, err, "grant restricted: a volume bound to %s is "
			    "not allowed", why);
			rc = -1;
		}
		changed |= kind == 1;
	} else if (a->rule != NULL && a->rule->scope_owner && kind == 1) {
		rc = check_create(d, a, o, err);
		changed = 1;
	}
	if (rc == 0 && changed) {
		free(*body);
		*body = disp_json_text(o);
		*len = strlen(*body);
	}
	json_object_put(o);
	return rc;
}

const char *
disp_access_grant_name(enum cfg_grant g)
{
	return grant_names[g];
}
