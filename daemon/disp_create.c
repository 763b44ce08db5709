/*
 * disp_create.c: POST /containers/create: learn the image's facts, pick
 * the backend (disp_rules.c), merge its create_overrides, create there,
 * and commit the route before the client hears of the container.
 */
/* Threads: MHD connection threads; the store locks itself. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/jsonkeys.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/*
 * Fill img from an engine's GET /images/{ref}/json answer.  0, or -1 when
 * it is not an image inspect.
 */
int
disp_image_facts_parse(const char *json, struct store_image *img)
{
	struct json_object	*o, *cfg, *labels;
	const char		*v;
	int			 rc = -1;

	o = json_tokener_parse(json);
	if (o == NULL || !json_object_is_type(o, json_type_object))
		goto out;
	v = dm_json_str(o, "Os");
	snprintf(img->os, sizeof(img->os), "%s", v != NULL ? v : "");
	v = dm_json_str(o, "Architecture");
	snprintf(img->arch, sizeof(img->arch), "%s", v != NULL ? v : "");
	v = dm_json_str(o, "Id");
	snprintf(img->id, sizeof(img->id), "%s", v != NULL ? v : "");
	img->marker[0] = '\0';
	if (json_object_object_get_ex(o, "Config", &cfg) &&
	    json_object_object_get_ex(cfg, "Labels", &labels)) {
		v = dm_json_str(labels, DM_LABEL_RUNTIME);
		if (v != NULL)
			snprintf(img->marker, sizeof(img->marker), "%s", v);
	}
	rc = 0;
out:
	json_object_put(o);
	return rc;
}

/*
 * Inspect ref in each backend's local image store, in config order (never
 * a registry: a rate-limited registry must not break dispatch, the seeds'
 * lesson).  The first that has it gives the facts, recorded when
 * record is set.  0 with img filled, 1 when no backend has the image.
 */
static int
inspect_facts(struct disp *d, const char *ref, struct store_image *img,
    int record)
{
	struct dm_err		 err;
	char			*body = NULL;
	ssize_t			 i;
	int			 parsed;

	i = disp_image_holder(d, ref, &body, &err);
	if (i == -1)
		return 1;
	parsed = disp_image_facts_parse(body, img);
	free(body);
	if (parsed == -1)
		return 1;
	snprintf(img->ref, sizeof(img->ref), "%s", ref);
	snprintf(img->backend, sizeof(img->backend), "%s", d->b[i].cfg->name);
	img->seen = (long long)time(NULL);
	if (record && store_image_put(d->store, img, &err) == -1)
		log_warnx("msg=\"cannot record image facts\" image=%s "
		    "reason=%s", log_q(ref), log_q(err.msg));
	return 0;
}

int
disp_image_inspect(struct disp *d, const char *ref, struct store_image *img)
{
	return inspect_facts(d, ref, img, 1);
}

/* Image facts from the store, else from the backends (recorded when
 * record is set).  0 known, 1 not. */
static int
image_facts(struct disp *d, const char *ref, struct store_image *img,
    int record)
{
	struct dm_err	err;

	memset(img, 0, sizeof(*img));
	if (ref == NULL || ref[0] == '\0')
		return 1;
	if (store_image_find(d->store, ref, img, &err) == 0)
		return 0;
	return inspect_facts(d, ref, img, record);
}

/* Deep-merge src into dst: objects merge key by key, anything else from
 * src replaces what dst had. */
void
disp_json_merge(struct json_object *dst, struct json_object *src)
{
	struct json_object	*cur, *copy = NULL;

	json_object_object_foreach(src, key, val) {
		if (json_object_is_type(val, json_type_object) &&
		    json_object_object_get_ex(dst, key, &cur) &&
		    json_object_is_type(cur, json_type_object)) {
			disp_json_merge(cur, val);
			continue;
		}
		copy = NULL;
		if (json_object_deep_copy(val, &copy, NULL) != 0)
			abort();
		json_object_object_add(dst, key, copy);
	}
}

/* The container's name as its engine reports it, without the '/'. */
static void
learn_name(struct disp *d, size_t bi, const char *id, char *name,
    size_t len)
{
	struct backend_call	 call = { .method = "GET", .timeout_ms = DM_INSPECT_TIMEOUT_MS };
	struct json_object	*o = NULL;
	struct dm_err		 err;
	char			*path, *body = NULL;
	const char		*v;
	size_t			 blen;
	int			 status = 0;

	path = xasprintf("/containers/%s/json", id);
	call.path = path;
	if (backend_do(d->b[bi].be, &call, &status, &body, &blen, NULL,
	    &err) == 0 && status == 200 &&
	    (o = json_tokener_parse(body)) != NULL &&
	    (v = dm_json_str(o, "Name")) != NULL)
		snprintf(name, len, "%s", v[0] == '/' ? v + 1 : v);
	json_object_put(o);
	free(body);
	free(path);
}

/* Undo a create whose route could not be recorded. */
static void
remove_at(struct disp *d, size_t bi, const char *id)
{
	struct backend_call	 call = { .method = "DELETE",
	    .timeout_ms = DM_LIST_TIMEOUT_MS };
	struct dm_err		 err;
	char			*path, *body = NULL;
	size_t			 len;
	int			 status = 0;

	path = xasprintf("/containers/%s?force=1", id);
	call.path = path;
	(void)backend_do(d->b[bi].be, &call, &status, &body, &len, NULL,
	    &err);
	free(body);
	free(path);
}

/* What the rules decided for one create body. */
struct create_plan {
	struct disp_candidate	 cand[DM_MAX_BACKENDS];
	size_t			 idx[DM_MAX_BACKENDS];	/* cand -> d->b */
	struct disp_health	 health[DM_MAX_BACKENDS];
	struct disp_pick	 pick;
	struct store_image	 img;
	char			 name[STORE_NAME_MAX];
	char			 platform[128];
	const char		*image;		/* borrowed from the body */
};

/*
 * Decide where a create goes: name clash, then the rules over the
 * backends' health and the image's facts (recorded only when record is
 * set: explain changes nothing).  0 with cp->pick set; -1 with err (409
 * name in use, 400 bad pin or platform, 404 route-to-peer, 503 down).
 */
/* 1 when a restricted grant lets creates land on backend name. */
static int
backend_allowed(const struct disp_access *acc, const char *name)
{
	size_t	i;

	if (acc == NULL || acc->rule == NULL || acc->grant !=
	    GRANT_RESTRICTED || acc->rule->backends == NULL)
		return 1;
	for (i = 0; acc->rule->backends[i] != NULL; i++)
		if (strcmp(acc->rule->backends[i], name) == 0)
			return 1;
	return 0;
}

/*
 * The rules see only the backends the peer's grant allows (all of them
 * without a policy): a restricted peer's create lands on its own.
 */
static int
create_candidates(struct disp *d, const struct disp_access *acc,
    struct json_object *labels, struct create_plan *cp, struct dm_err *err)
{
	const char	*pin = dm_json_str(labels, DM_LABEL_BACKEND);
	size_t		 i, n = 0;

	if (pin != NULL && disp_backend_index(d, pin) != (size_t)-1 &&
	    !backend_allowed(acc, pin)) {
		dm_err_set(err, DM_EFORBIDDEN, "dockmux: access denied: %s: "
		    "grant restricted: backend %s is not allowed", acc->rule->name,
		    pin);
		return -1;
	}
	for (i = 0; i < d->n; i++) {
		if (!backend_allowed(acc, d->b[i].cfg->name))
			continue;
		disp_health_copy(d, i, &cp->health[n]);
		cp->cand[n].name = d->b[i].cfg->name;
		cp->cand[n].os = cp->health[n].os[0] != '\0' ?
		    cp->health[n].os : NULL;
		cp->cand[n].arch = cp->health[n].arch[0] != '\0' ?
		    cp->health[n].arch : NULL;
		cp->cand[n].isolation = d->b[i].cfg->isolation;
		cp->cand[n].runtime_markers = d->b[i].cfg->runtime_markers;
		cp->idx[n++] = i;
	}
	cp->pick.b = cp->cand;
	cp->pick.n = n;
	if (n == 0) {
		dm_err_set(err, DM_EFORBIDDEN, "dockmux: access denied: %s: "
		    "grant restricted: none of its backends is configured",
		    acc->rule->name);
		return -1;
	}
	return 0;
}

static int
create_decide(struct disp *d, const char *query, struct json_object *o,
    struct create_plan *cp, int record, const struct disp_access *acc,
    struct dm_err *err)
{
	struct store_route	 other;
	struct json_object	*labels = NULL;
	int			 have_facts;

	memset(cp, 0, sizeof(*cp));
	if (disp_query_get(query, "name", cp->name, sizeof(cp->name)) &&
	    cp->name[0] == '/')
		memmove(cp->name, cp->name + 1, strlen(cp->name));
	if (cp->name[0] != '\0' && store_route_find(d->store, cp->name,
	    &other, err) == 0 && strcmp(other.name, cp->name) == 0 &&
	    !disp_route_verify(d, &other)) {
		dm_err_set(err, DM_ECONFLICT, "Conflict. The container name "
		    "\"/%s\" is already in use by container \"%s\". You have "
		    "to remove (or rename) that container to be able to reuse "
		    "that name.", cp->name, other.id);
		return -1;
	}
	dm_err_clear(err);
	if (!json_object_object_get_ex(o, "Labels", &labels) ||
	    !json_object_is_type(labels, json_type_object))
		labels = NULL;
	cp->image = dm_json_str(o, "Image");
	(void)disp_query_get(query, "platform", cp->platform,
	    sizeof(cp->platform));
	if (cp->platform[0] != '\0' && disp_platform_check(cp->platform,
	    err->msg, sizeof(err->msg)) == -1) {
		err->st = DM_EBADREQ;
		return -1;
	}
	have_facts = image_facts(d, cp->image, &cp->img, record) == 0;
	if (create_candidates(d, acc, labels, cp, err) == -1)
		return -1;
	cp->pick.isolation_labels = d->cfg->isolation_labels;
	cp->pick.unknown_os_backend = d->cfg->unknown_os_backend;
	cp->pick.labels = labels;
	cp->pick.platform = cp->platform;
	cp->pick.image = cp->image;
	cp->pick.image_os = have_facts ? cp->img.os : NULL;
	cp->pick.image_arch = have_facts ? cp->img.arch : NULL;
	cp->pick.image_marker = have_facts ? cp->img.marker : NULL;
	if (disp_pick_backend(&cp->pick, err) == -1)
		return -1;
	cp->pick.chosen = cp->idx[cp->pick.chosen];
	if (disp_backend_down(d, cp->pick.chosen, err->msg,
	    sizeof(err->msg))) {
		err->st = DM_EUNAVAIL;
		return -1;
	}
	return 0;
}

/*
 * POST /_dockmux/explain: what a create with this query and body would
 * do, without doing it.  Owned JSON: {"backend","rule"} or {"error",
 * "status", "route_to_peer"}.
 */
struct json_object *
disp_create_explain(struct disp *d, const char *query, const char *body,
    size_t body_len)
{
	struct create_plan	*cp;
	struct json_object	*o, *out;
	struct dm_err		 err;

	out = json_object_new_object();
	o = json_tokener_parse(body_len > 0 ? body : "{}");
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_object_add(out, "error",
		    json_object_new_string("invalid JSON in the create body"));
		json_object_object_add(out, "status",
		    json_object_new_int(400));
		json_object_put(o);
		return out;
	}
	cp = xmalloc(sizeof(*cp));
	dm_err_clear(&err);
	if (create_decide(d, query, o, cp, 0, NULL, &err) == -1) {
		json_object_object_add(out, "error",
		    json_object_new_string(err.msg));
		json_object_object_add(out, "status",
		    json_object_new_int(dm_status_http(err.st)));
		if (err.st == DM_EPEER)
			json_object_object_add(out, "route_to_peer",
			    json_object_new_string(cp->pick.peer_os));
	} else {
		json_object_object_add(out, "backend", json_object_new_string(
		    d->b[cp->pick.chosen].cfg->name));
		json_object_object_add(out, "rule", json_object_new_string(
		    disp_rule_name(cp->pick.rule)));
	}
	if (cp->image != NULL)
		json_object_object_add(out, "image",
		    json_object_new_string(cp->image));
	if (cp->img.os[0] != '\0')
		json_object_object_add(out, "image_os",
		    json_object_new_string(cp->img.os));
	if (cp->img.marker[0] != '\0')
		json_object_object_add(out, "image_marker",
		    json_object_new_string(cp->img.marker));
	free(cp);
	json_object_put(o);
	return out;
}

/*
 * The container carries its backend as a label on the engine itself, so
 * inspect, ps and the engine's own view agree with the route.
 */
static void
stamp_backend(struct json_object *o, const char *backend)
{
	struct json_object	*labels = dm_json_obj(o, "Labels");

	if (labels == NULL) {
		labels = json_object_new_object();
		json_object_object_add(o, "Labels", labels);
	}
	json_object_object_add(labels, DM_LABEL_BACKEND,
	    json_object_new_string(backend));
}

/* 1 when an engine's create answer says the image is not there. */
static int
image_missing(const char *body)
{
	char	msg[300];

	dm_engine_message(body, msg, sizeof(msg));
	return strncmp(msg, "No such image", 13) == 0;
}

/* Append notes (strings) to the create answer's Warnings, as dockerd's. */
static void
add_warnings(struct json_object *ans, struct json_object *notes,
    char **body, size_t *len)
{
	struct json_object	*w = dm_json_arr(ans, "Warnings");
	size_t			 i;

	if (w == NULL) {
		w = json_object_new_array();
		json_object_object_add(ans, "Warnings", w);
	}
	for (i = 0; i < json_object_array_length(notes); i++)
		json_object_array_add(w, json_object_get(
		    json_object_array_get_idx(notes, i)));
	free(*body);
	*body = disp_json_text(ans);
	*len = strlen(*body);
}

/* The first backend other than bi (down ones skipped) with containers
 * using name (filter key "volume" or "network"), or -1. */
static ssize_t
used_elsewhere(struct disp *d, size_t bi, const char *key, const char *name)
{
	struct backend_call	 call = { .method = "GET",
	    .timeout_ms = DM_LIST_TIMEOUT_MS };
	struct json_object	*f, *a, *o;
	struct dm_err		 err;
	char			*enc, *path, *body = NULL;
	size_t			 i, len;
	ssize_t			 found = -1;
	int			 status;

	f = json_object_new_object();
	a = json_object_new_array();
	json_object_array_add(a, json_object_new_string(name));
	json_object_object_add(f, key, a);
	enc = disp_url_encode(json_object_to_json_string_ext(f,
	    JSON_C_TO_STRING_PLAIN));
	json_object_put(f);
	path = xasprintf("/containers/json?all=1&filters=%s", enc);
	free(enc);
	call.path = path;
	for (i = 0; i < d->n && found == -1; i++) {
		if (i == bi || disp_backend_down(d, i, NULL, 0))
			continue;
		status = 0;
		if (backend_do(d->b[i].be, &call, &status, &body, &len, NULL,
		    &err) == 0 && status == 200) {
			o = json_tokener_parse(body);
			if (json_object_is_type(o, json_type_array) &&
			    json_object_array_length(o) > 0)
				found = (ssize_t)i;
			json_object_put(o);
		}
		free(body);
		body = NULL;
	}
	free(path);
	return found;
}

/* A network name a container joins that is shared by name only. */
static int
user_network(const char *n)
{
	return n != NULL && n[0] != '\0' && strcmp(n, "default") != 0 &&
	    strcmp(n, "bridge") != 0 && strcmp(n, "host") != 0 &&
	    strcmp(n, "none") != 0 && strncmp(n, "container:", 10) != 0;
}

/* A note when name (a "volume" or "network") is used on another backend. */
static void
note_split(struct disp *d, size_t bi, const char *kind, const char *name,
    struct json_object *notes)
{
	ssize_t	other = used_elsewhere(d, bi, kind, name);
	char	msg[600];

	if (other == -1)
		return;
	if (strcmp(kind, "volume") == 0)
		snprintf(msg, sizeof(msg), "dockmux: volume %s also has "
		    "containers on backend %s; engines do not share volume "
		    "data, so this container on backend %s sees its own copy",
		    name, d->b[other].cfg->name, d->b[bi].cfg->name);
	else
		snprintf(msg, sizeof(msg), "dockmux: network %s also has "
		    "containers on backend %s; containers on different "
		    "engines cannot reach each other over it", name,
		    d->b[other].cfg->name);
	json_object_array_add(notes, json_object_new_string(msg));
}

/*
 * Split state, said: the named volumes the create mounts (Binds "name:/p",
 * Mounts of Type volume) and the user networks it joins (NetworkMode,
 * EndpointsConfig) that have containers on another backend get a note
 * each, since engines share neither data nor networks.
 */
static void
split_notes(struct disp *d, size_t bi, struct json_object *o,
    struct json_object *notes)
{
	struct json_object	*hc = dm_json_obj(o, "HostConfig"), *a, *e;
	struct json_object	*eps;
	const char		*v, *mode, *colon;
	char			 name[256];
	size_t			 i;

	a = dm_json_arr(hc, "Binds");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		v = json_object_get_string(json_object_array_get_idx(a, i));
		colon = v != NULL ? strchr(v, ':') : NULL;
		if (colon == NULL || v[0] == '/' || (size_t)(colon - v) >=
		    sizeof(name))
			continue;
		snprintf(name, sizeof(name), "%.*s", (int)(colon - v), v);
		note_split(d, bi, "volume", name, notes);
	}
	a = dm_json_arr(hc, "Mounts");
	for (i = 0; a != NULL && i < json_object_array_length(a); i++) {
		e = json_object_array_get_idx(a, i);
		v = dm_json_str(e, "Type");
		if (v != NULL && strcmp(v, "volume") == 0 &&
		    dm_json_str(e, "Source") != NULL &&
		    dm_json_str(e, "Source")[0] != '\0')
			note_split(d, bi, "volume", dm_json_str(e, "Source"),
			    notes);
	}
	mode = dm_json_str(hc, "NetworkMode");
	if (user_network(mode))
		note_split(d, bi, "network", mode, notes);
	eps = dm_json_obj(dm_json_obj(o, "NetworkingConfig"),
	    "EndpointsConfig");
	if (eps == NULL)
		return;
	json_object_object_foreach(eps, net, val) {
		(void)val;
		if (user_network(net) && (mode == NULL || strcmp(net, mode) != 0))
			note_split(d, bi, "network", net, notes);
	}
}

/*
 * The chosen backend lacks the image: copy it there from a backend that
 * holds it and create again, with note set for the answer's Warnings.
 * With "image_copy": false, or no backend holding it, the engine's 404
 * stays the answer (its message saying where the image is, if anywhere).
 * -1 when r is already the answer (a copy that failed).
 */
static int
image_follow(struct disp *d, size_t to, const char *image,
    const struct backend_call *call, int *status, char **body, size_t *len,
    struct dm_hdrs *hdrs, char *note, size_t notelen, struct disp_reply *r)
{
	struct dm_err	 err;
	char		*path, *enc, msg[700];
	ssize_t		 holder;

	if (!d->cfg->image_copy) {
		enc = disp_ref_encode(image);
		path = xasprintf("/images/%s/json", enc);
		free(enc);
		holder = disp_first_holding(d, path, DM_LOOKUP_TIMEOUT_MS, 1, to,
		    NULL, &err);
		free(path);
		if (holder == -1)
			return 0;
		snprintf(msg, sizeof(msg), "No such image: %s on backend %s; "
		    "backend %s has it (image_copy is off in dockmux.json): "
		    "docker -H %s save %s | docker -H %s load",
		    image, d->b[to].cfg->name, d->b[holder].cfg->name,
		    d->b[holder].cfg->endpoint, image, d->b[to].cfg->endpoint);
		disp_reply_error(r, DM_ENOTFOUND, msg);
		return -1;
	}
	if (disp_image_copy(d, image, to, note, notelen, &err) == -1) {
		if (err.st == DM_ENOTFOUND)
			return 0;	/* nowhere: the client may pull */
		disp_reply_error(r, err.st, err.msg);
		return -1;
	}
	free(*body);
	*body = NULL;
	dm_hdrs_clear(hdrs);
	if (backend_do(d->b[to].be, call, status, body, len, hdrs, &err) ==
	    -1) {
		disp_reply_error(r, err.st, err.msg);
		return -1;
	}
	return 0;
}

void
disp_create(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	const char		*body = ctx->body;
	size_t			 body_len = ctx->body_len;
	struct create_plan	*cp;
	struct store_route	 route;
	struct backend_call	 call;
	struct dm_hdrs		 bhdrs;
	struct json_object	*o = NULL, *ans = NULL;
	struct dm_err		 err;
	char			*path = NULL, *abody = NULL, note[600];
	struct json_object	*notes = json_object_new_array();
	const char		*text, *id, *image;
	size_t			 alen;
	int			 status = 0;

	cp = xcalloc(1, sizeof(*cp));
	note[0] = '\0';
	dm_hdrs_init(&bhdrs);
	dm_err_clear(&err);
	o = json_tokener_parse(body_len > 0 ? body : "{}");
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		disp_reply_error(r, DM_EBADREQ, "invalid JSON in the create "
		    "request body");
		goto out;
	}
	if (create_decide(d, req->query, o, cp, 1, ctx->access, &err) ==
	    -1) {
		log_info("msg=\"create refused\" image=%s reason=%s",
		    log_q(cp->image), log_q(err.msg));
		disp_reply_error(r, err.st, err.msg);
		if (err.st == DM_EPEER)
			dm_hdrs_set(&r->hdrs, "X-Dockmux-Route-To-Peer",
			    cp->pick.peer_os);
		if (err.st == DM_EUNAVAIL)
			goto headers;
		goto out;
	}
	image = cp->image;
	if (d->b[cp->pick.chosen].cfg->create_overrides != NULL) {
		/* "hostConfig" is HostConfig to the engine: merge into it. */
		(void)dm_json_canon_like(o,
		    d->b[cp->pick.chosen].cfg->create_overrides);
		disp_json_merge(o, d->b[cp->pick.chosen].cfg->create_overrides);
	}
	stamp_backend(o, d->b[cp->pick.chosen].cfg->name);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	path = xasprintf("%s%s%s", req->path, req->query[0] ? "?" : "",
	    req->query);
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.path = path;
	call.hdrs = fwd;
	call.body = text;
	call.body_len = strlen(text);
	call.timeout_ms = DM_CREATE_TIMEOUT_MS;
	if (backend_do(d->b[cp->pick.chosen].be, &call, &status, &abody, &alen,
	    &bhdrs, &err) == -1) {
		log_warnx("msg=\"create failed\" backend=%s reason=%s",
		    d->b[cp->pick.chosen].cfg->name, log_q(err.msg));
		disp_reply_error(r, err.st, err.msg);
		goto headers;
	}
	if (status == 404 && image != NULL && image_missing(abody) &&
	    image_follow(d, cp->pick.chosen, image, &call, &status, &abody,
	    &alen, &bhdrs, note, sizeof(note), r) == -1)
		goto headers;
	if (status == 201 && ((ans = json_tokener_parse(abody)) == NULL ||
	    dm_json_str(ans, "Id") == NULL)) {
		/* A container may exist there, but nobody can name it. */
		log_warnx("msg=\"create answer without an Id\" backend=%s",
		    d->b[cp->pick.chosen].cfg->name);
		dm_err_set(&err, DM_EBACKEND, "backend %s answered the create "
		    "with 201 but no container ID",
		    d->b[cp->pick.chosen].cfg->name);
		disp_reply_error(r, err.st, err.msg);
		goto headers;
	}
	if (status == 201 && (id = dm_json_str(ans, "Id")) != NULL) {
		memset(&route, 0, sizeof(route));
		snprintf(route.id, sizeof(route.id), "%s", id);
		snprintf(route.backend, sizeof(route.backend), "%s",
		    d->b[cp->pick.chosen].cfg->name);
		snprintf(route.rule, sizeof(route.rule), "%s",
		    disp_rule_name(cp->pick.rule));
		snprintf(route.image, sizeof(route.image), "%s",
		    image != NULL ? image : "");
		if (cp->name[0] != '\0')
			snprintf(route.name, sizeof(route.name), "%s", cp->name);
		else
			learn_name(d, cp->pick.chosen, id, route.name,
			    sizeof(route.name));
		route.created = (long long)time(NULL);
		if (store_route_put(d->store, &route, &err) == -1) {
			log_warnx("msg=\"cannot record route; removing the "
			    "container\" id=%s backend=%s reason=%s", id,
			    route.backend, log_q(err.msg));
			remove_at(d, cp->pick.chosen, id);
			disp_reply_error(r, err.st == DM_ECONFLICT ?
			    DM_ECONFLICT : DM_EINTERNAL, err.msg);
			goto headers;
		}
		log_info("msg=\"container routed\" id=%.12s name=%s "
		    "backend=%s rule=%s", id, log_q(route.name),
		    route.backend, route.rule);
		if (note[0] != '\0')
			json_object_array_add(notes,
			    json_object_new_string(note));
		split_notes(d, cp->pick.chosen, o, notes);
		if (json_object_array_length(notes) > 0)
			add_warnings(ans, notes, &abody, &alen);
	}
	/* Whatever the engine said goes back, the route committed first. */
	r->status = status;
	r->kind = DISP_REPLY_BODY;
	r->body = abody;
	r->body_len = alen;
	abody = NULL;
	(void)dm_hdrs_copy_end_to_end(&bhdrs, &r->hdrs);
headers:
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Backend",
	    d->b[cp->pick.chosen].cfg->name);
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Rule", disp_rule_name(cp->pick.rule));
out:
	json_object_put(notes);
	dm_hdrs_clear(&bhdrs);
	json_object_put(ans);
	json_object_put(o);
	free(abody);
	free(path);
	free(cp);
}
