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
#include "daemon/limits.h"
#include "daemon/log.h"

#define LABEL_RUNTIME	"io.dockmux.runtime"

static const char *
str_at(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o == NULL || !json_object_object_get_ex(o, key, &v) ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

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
	v = str_at(o, "Os");
	snprintf(img->os, sizeof(img->os), "%s", v != NULL ? v : "");
	v = str_at(o, "Architecture");
	snprintf(img->arch, sizeof(img->arch), "%s", v != NULL ? v : "");
	img->marker[0] = '\0';
	if (json_object_object_get_ex(o, "Config", &cfg) &&
	    json_object_object_get_ex(cfg, "Labels", &labels)) {
		v = str_at(labels, LABEL_RUNTIME);
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
 * lesson).  The first that has it gives the facts, which are recorded.
 * 0 with img filled, 1 when no backend has the image.
 */
int
disp_image_inspect(struct disp *d, const char *ref, struct store_image *img)
{
	struct backend_call	 call = { .method = "GET",
	    .timeout_ms = 10000 };
	struct dm_err		 err;
	char			*path, *body;
	size_t			 i, len;
	int			 status;

	if (asprintf(&path, "/images/%s/json", ref) == -1)
		abort();
	call.path = path;
	for (i = 0; i < d->n; i++) {
		body = NULL;
		status = 0;
		if (backend_do(d->b[i].be, &call, &status, &body, &len, NULL,
		    &err) == 0 && status == 200 &&
		    disp_image_facts_parse(body, img) == 0) {
			free(body);
			free(path);
			snprintf(img->ref, sizeof(img->ref), "%s", ref);
			snprintf(img->backend, sizeof(img->backend), "%s",
			    d->b[i].cfg->name);
			img->seen = (long long)time(NULL);
			if (store_image_put(d->store, img, &err) == -1)
				log_warnx("msg=\"cannot record image facts\" "
				    "image=%s reason=\"%s\"", ref, err.msg);
			return 0;
		}
		free(body);
	}
	free(path);
	return 1;
}

/* Image facts from the store, else from the backends.  0 known, 1 not. */
static int
image_facts(struct disp *d, const char *ref, struct store_image *img)
{
	struct dm_err	err;

	memset(img, 0, sizeof(*img));
	if (ref == NULL || ref[0] == '\0')
		return 1;
	if (store_image_find(d->store, ref, img, &err) == 0)
		return 0;
	return disp_image_inspect(d, ref, img);
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

static void
reply_conflict(struct disp_reply *r, const char *name, const char *id)
{
	char	msg[STORE_NAME_MAX + 256];

	snprintf(msg, sizeof(msg), "Conflict. The container name \"/%s\" is "
	    "already in use by container \"%s\". You have to remove (or "
	    "rename) that container to be able to reuse that name.", name, id);
	disp_reply_error(r, DM_ECONFLICT, msg);
}

/* The container's name as its engine reports it, without the '/'. */
static void
learn_name(struct disp *d, size_t bi, const char *id, char *name,
    size_t len)
{
	struct backend_call	 call = { .method = "GET", .timeout_ms = 10000 };
	struct json_object	*o = NULL;
	struct dm_err		 err;
	char			*path, *body = NULL;
	const char		*v;
	size_t			 blen;
	int			 status = 0;

	if (asprintf(&path, "/containers/%s/json", id) == -1)
		abort();
	call.path = path;
	if (backend_do(d->b[bi].be, &call, &status, &body, &blen, NULL,
	    &err) == 0 && status == 200 &&
	    (o = json_tokener_parse(body)) != NULL &&
	    (v = str_at(o, "Name")) != NULL)
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
	    .timeout_ms = 30000 };
	struct dm_err		 err;
	char			*path, *body = NULL;
	size_t			 len;
	int			 status = 0;

	if (asprintf(&path, "/containers/%s?force=1", id) == -1)
		abort();
	call.path = path;
	(void)backend_do(d->b[bi].be, &call, &status, &body, &len, NULL,
	    &err);
	free(body);
	free(path);
}

void
disp_create(struct disp *d, const struct disp_req *req,
    const struct dm_hdrs *fwd, const char *body, size_t body_len,
    struct disp_reply *r)
{
	struct disp_candidate	 cand[DM_MAX_BACKENDS];
	struct disp_health	 health[DM_MAX_BACKENDS];
	struct disp_pick	 pick;
	struct store_image	 img;
	struct store_route	 route, other;
	struct backend_call	 call;
	struct dm_hdrs		 bhdrs;
	struct json_object	*o = NULL, *labels = NULL, *ans = NULL;
	struct dm_err		 err;
	char			 name[STORE_NAME_MAX], platform[128];
	char			*path = NULL, *abody = NULL;
	const char		*image, *text, *id;
	size_t			 i, alen;
	int			 status = 0, have_facts;

	dm_hdrs_init(&bhdrs);
	dm_err_clear(&err);
	o = json_tokener_parse(body_len > 0 ? body : "{}");
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		disp_reply_error(r, DM_EBADREQ, "invalid JSON in the create "
		    "request body");
		goto out;
	}
	name[0] = '\0';
	if (disp_query_get(req->query, "name", name, sizeof(name)) &&
	    name[0] == '/')
		memmove(name, name + 1, strlen(name));
	if (name[0] != '\0' && store_route_find(d->store, name, &other,
	    &err) == 0 && strcmp(other.name, name) == 0 &&
	    !disp_route_verify(d, &other)) {
		reply_conflict(r, name, other.id);
		goto out;
	}
	if (!json_object_object_get_ex(o, "Labels", &labels) ||
	    !json_object_is_type(labels, json_type_object))
		labels = NULL;
	image = str_at(o, "Image");
	platform[0] = '\0';
	(void)disp_query_get(req->query, "platform", platform,
	    sizeof(platform));
	have_facts = image_facts(d, image, &img) == 0;

	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &health[i]);
		cand[i].name = d->b[i].cfg->name;
		cand[i].os = health[i].os[0] != '\0' ? health[i].os : NULL;
		cand[i].arch = health[i].arch[0] != '\0' ? health[i].arch :
		    NULL;
		cand[i].isolation = d->b[i].cfg->isolation;
		cand[i].runtime_markers = d->b[i].cfg->runtime_markers;
	}
	memset(&pick, 0, sizeof(pick));
	pick.b = cand;
	pick.n = d->n;
	pick.isolation_labels = d->cfg->isolation_labels;
	pick.unknown_os_backend = d->cfg->unknown_os_backend;
	pick.labels = labels;
	pick.platform = platform;
	pick.image = image;
	pick.image_os = have_facts ? img.os : NULL;
	pick.image_arch = have_facts ? img.arch : NULL;
	pick.image_marker = have_facts ? img.marker : NULL;
	if (disp_pick_backend(&pick, &err) == -1) {
		log_info("msg=\"create refused\" image=%s reason=\"%s\"",
		    image != NULL ? image : "", err.msg);
		disp_reply_error(r, err.st, err.msg);
		if (err.st == DM_EPEER)
			dm_hdrs_set(&r->hdrs, "X-Dockmux-Route-To-Peer",
			    pick.peer_os);
		goto out;
	}

	if (d->b[pick.chosen].cfg->create_overrides != NULL)
		disp_json_merge(o, d->b[pick.chosen].cfg->create_overrides);
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	if (asprintf(&path, "%s%s%s", req->path, req->query[0] ? "?" : "",
	    req->query) == -1)
		abort();
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.path = path;
	call.hdrs = fwd;
	call.body = text;
	call.body_len = strlen(text);
	call.timeout_ms = 120000;
	if (backend_do(d->b[pick.chosen].be, &call, &status, &abody, &alen,
	    &bhdrs, &err) == -1) {
		log_warnx("msg=\"create failed\" backend=%s reason=\"%s\"",
		    d->b[pick.chosen].cfg->name, err.msg);
		disp_reply_error(r, err.st, err.msg);
		goto headers;
	}
	if (status == 201 && (ans = json_tokener_parse(abody)) != NULL &&
	    (id = str_at(ans, "Id")) != NULL) {
		memset(&route, 0, sizeof(route));
		snprintf(route.id, sizeof(route.id), "%s", id);
		snprintf(route.backend, sizeof(route.backend), "%s",
		    d->b[pick.chosen].cfg->name);
		snprintf(route.rule, sizeof(route.rule), "%s",
		    disp_rule_name(pick.rule));
		snprintf(route.image, sizeof(route.image), "%s",
		    image != NULL ? image : "");
		if (name[0] != '\0')
			snprintf(route.name, sizeof(route.name), "%s", name);
		else
			learn_name(d, pick.chosen, id, route.name,
			    sizeof(route.name));
		route.created = (long long)time(NULL);
		if (store_route_put(d->store, &route, &err) == -1) {
			log_warnx("msg=\"cannot record route; removing the "
			    "container\" id=%s backend=%s reason=\"%s\"", id,
			    route.backend, err.msg);
			remove_at(d, pick.chosen, id);
			disp_reply_error(r, err.st == DM_ECONFLICT ?
			    DM_ECONFLICT : DM_EINTERNAL, err.msg);
			goto headers;
		}
		log_info("msg=\"container routed\" id=%.12s name=%s "
		    "backend=%s rule=%s", id, route.name, route.backend,
		    route.rule);
	}
	/* Whatever the engine said goes back, the route committed first. */
	r->status = status;
	r->kind = DISP_REPLY_BODY;
	r->body = abody;
	r->body_len = alen;
	abody = NULL;
	for (i = 0; i < bhdrs.n; i++)
		if (!dm_hdr_is_hop_by_hop(bhdrs.v[i].name))
			(void)dm_hdrs_add(&r->hdrs, bhdrs.v[i].name,
			    bhdrs.v[i].value);
headers:
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Backend",
	    d->b[pick.chosen].cfg->name);
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Rule", disp_rule_name(pick.rule));
out:
	dm_hdrs_clear(&bhdrs);
	json_object_put(ans);
	json_object_put(o);
	free(abody);
	free(path);
}
