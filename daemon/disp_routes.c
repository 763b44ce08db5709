/*
 * disp_routes.c: requests about one container or exec instance go to the
 * backend that owns it (seed: dispatch cache + lookup), with the store
 * kept true: remove, rename and exec create update it; start-up
 * reconciliation adopts and drops.
 */
/* Threads: the call workers, and main (reconcile) before serving. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/rules.h"
#include "lib/util.h"

size_t
disp_backend_index(const struct disp *d, const char *name)
{
	size_t	i;

	for (i = 0; i < d->n; i++)
		if (strcmp(d->b[i].cfg->name, name) == 0)
			return i;
	return (size_t)-1;
}

/*
 * A reference the store does not know may still name a container an
 * engine has (created there directly, or by a create that was in flight
 * when dockmuxd died): ask the backends in order and adopt the first
 * answer.  0 with route filled, -1 when none has it.
 */
static int
adopt_on_miss(struct disp *d, const char *ref, struct store_route *route)
{
	struct json_object	*o = NULL;
	struct dm_err		 err;
	const char		*id, *name;
	char			*path, *enc, *body = NULL;
	ssize_t			 i;
	int			 rc = -1;

	enc = disp_url_encode(ref);
	path = xasprintf("/containers/%s/json", enc);
	free(enc);
	i = disp_first_holding(d, path, DM_INSPECT_TIMEOUT_MS, 0, (size_t)-1,
	    &body, &err);
	if (i == -1)
		goto out;
	o = json_tokener_parse(body);
	id = dm_json_str(o, "Id");
	if (id == NULL)
		goto out;
	memset(route, 0, sizeof(*route));
	snprintf(route->id, sizeof(route->id), "%s", id);
	name = dm_json_str(o, "Name");
	if (name != NULL)
		snprintf(route->name, sizeof(route->name), "%s",
		    name + (name[0] == '/'));
	snprintf(route->backend, sizeof(route->backend), "%s",
	    d->b[i].cfg->name);
	snprintf(route->rule, sizeof(route->rule), "%s", DM_RULE_ADOPTED);
	route->created = (long long)time(NULL);
	if (store_route_put(d->store, route, &err) == -1) {
		route->name[0] = '\0';
		(void)store_route_put(d->store, route, &err);
	}
	log_info("msg=\"container adopted on lookup\" id=%.12s name=%s "
	    "backend=%s", route->id, log_q(route->name), route->backend);
	rc = 0;
out:
	json_object_put(o);
	free(body);
	free(path);
	return rc;
}

/*
 * Find the owner of a container reference (decoded: ID, name or prefix),
 * adopting it from the backends when the store does not know it.  0 with
 * route and its backend's index; -1 with err (404 unknown, 400
 * ambiguous, 503 when the owner is no longer configured).
 */
int
disp_lookup_container(struct disp *d, const char *ref,
    struct store_route *route, size_t *bi, struct dm_err *err)
{
	if (store_route_find(d->store, ref, route, err) == -1 &&
	    (err->st != DM_ENOTFOUND || adopt_on_miss(d, ref, route) == -1))
		return -1;
	*bi = disp_backend_index(d, route->backend);
	if (*bi == (size_t)-1) {
		dm_err_set(err, DM_EUNAVAIL, "container %s belongs to backend "
		    "%s, which is not configured", ref, route->backend);
		return -1;
	}
	return 0;
}

/* As disp_lookup_container(), for a reference still percent-coded. */
int
disp_resolve_container(struct disp *d, const char *raw, struct store_route
    *route, size_t *bi, struct dm_err *err)
{
	char	ref[DISP_ID_MAX];

	disp_url_decode(raw, strlen(raw), ref, sizeof(ref));
	return disp_lookup_container(d, ref, route, bi, err);
}

/*
 * The client's path with the container segment (after "/containers/")
 * replaced by the full ID, so the owner cannot mistake a name or prefix
 * for another of its containers.  Owned: free().
 */
static char *
path_with_id(const struct disp_req *req, const char *id)
{
	const char	*seg, *end;
	char		*p;
	size_t		 pre;

	seg = strstr(req->rest, "/containers/");
	if (seg == NULL)
		return NULL;
	seg += strlen("/containers/");
	end = strchr(seg, '/');
	if (end == NULL)
		end = seg + strlen(seg);
	pre = (size_t)(seg - req->path);
	p = xasprintf("%.*s%s%s%s%s", (int)pre, req->path, id, end,
	    req->query[0] != '\0' ? "?" : "", req->query);
	return p;
}

int
disp_route_request(struct disp *d, const struct disp_req *req, size_t *bi,
    char **path, char *ctr_id, struct dm_err *err)
{
	struct store_route	 route;
	char			 ref[DISP_ID_MAX * 2], cid[STORE_ID_MAX];
	char			*q;

	*path = NULL;
	ctr_id[0] = '\0';
	if (req->res == RES_EXEC) {
		disp_url_decode(req->id, strlen(req->id), ref, sizeof(ref));
		if (store_exec_find(d->store, ref, cid, err) == -1)
			return -1;
		if (disp_resolve_container(d, cid, &route, bi, err) == -1) {
			if (err->st == DM_ENOTFOUND)
				dm_err_set(err, DM_ENOTFOUND, "No such exec "
				    "instance: %s", ref);
			return -1;
		}
		snprintf(ctr_id, STORE_ID_MAX, "%s", route.id);
		return 0;	/* exec IDs are global: path unchanged */
	}
	if (strcmp(req->action, "commit") == 0 && req->id[0] == '\0') {
		/* POST /commit?container=X */
		if (!disp_query_get(req->query, "container", ref,
		    sizeof(ref))) {
			dm_err_set(err, DM_EBADREQ, "container is required");
			return -1;
		}
		if (disp_lookup_container(d, ref, &route, bi, err) == -1)
			return -1;
		q = disp_query_set(req->query, "container", route.id);
		*path = xasprintf("%s?%s", req->path, q);
		free(q);
		snprintf(ctr_id, STORE_ID_MAX, "%s", route.id);
		return 0;
	}
	if (disp_resolve_container(d, req->id, &route, bi, err) == -1)
		return -1;
	*path = path_with_id(req, route.id);
	snprintf(ctr_id, STORE_ID_MAX, "%s", route.id);
	return 0;
}

int
disp_resolve_link(struct disp *d, const struct disp_req *req, size_t *bi,
    struct dm_err *err)
{
	struct store_route	route;

	if (disp_resolve_container(d, req->id, &route, bi, err) == -1) {
		if (err->st == DM_ENOTFOUND)
			dm_err_set(err, DM_ENOTFOUND, "No such container: "
			    "%s/%s", req->id, req->action);
		return -1;
	}
	return 0;
}

/*
 * Is the routed container gone from its owner (auto-removed, or removed
 * behind dockmux's back)?  Then its route is dropped and 1 returned.  An
 * owner that cannot be asked keeps the route.
 */
int
disp_route_verify(struct disp *d, const struct store_route *route)
{
	struct backend_call	 call = { .method = "GET", .timeout_ms = DM_INSPECT_TIMEOUT_MS };
	struct dm_err		 err;
	char			*path, *body = NULL;
	size_t			 bi, len;
	int			 status = 0, gone = 0;

	bi = disp_backend_index(d, route->backend);
	if (bi == (size_t)-1)
		return 0;
	path = xasprintf("/containers/%s/json", route->id);
	call.path = path;
	if (backend_do(d->b[bi].be, &call, &status, &body, &len, NULL, &err)
	    == 0 && status == 404) {
		gone = store_route_del(d->store, route->id, &err) == 0;
		if (gone)
			log_info("msg=\"route dropped: container gone\" "
			    "id=%.12s backend=%s", route->id, route->backend);
	}
	free(body);
	free(path);
	return gone;
}

/*
 * After the owner answered a per-container request: a removal it
 * confirmed (2xx) or that finds nothing (404) drops the route; any other
 * answer (409 "container is running") keeps it, because the container
 * still exists (the seed drops it unconditionally, which would orphan a
 * live container).  A confirmed rename updates the name.
 */
void
disp_route_after(struct disp *d, const struct disp_req *req,
    const char *ctr_id, int status)
{
	struct dm_err	err;
	char		name[STORE_NAME_MAX];

	if (ctr_id[0] == '\0' || req->res != RES_CONTAINERS)
		return;
	if (status == 404 && strcmp(req->method, "DELETE") != 0) {
		/* Gone behind our back (auto-remove)?  Then forget it. */
		struct store_route	route;

		if (store_route_find(d->store, ctr_id, &route, &err) == 0)
			(void)disp_route_verify(d, &route);
		return;
	}
	if (strcmp(req->method, "DELETE") == 0 && req->action[0] == '\0' &&
	    ((status >= 200 && status < 300) || status == 404)) {
		if (store_route_del(d->store, ctr_id, &err) == -1)
			log_warnx("msg=\"cannot drop route\" id=%.12s "
			    "reason=%s", ctr_id, log_q(err.msg));
		else
			log_info("msg=\"route dropped\" id=%.12s status=%d",
			    ctr_id, status);
		return;
	}
	if (strcmp(req->action, "rename") == 0 && status >= 200 &&
	    status < 300 && disp_query_get(req->query, "name", name,
	    sizeof(name))) {
		if (store_route_rename(d->store, ctr_id, name[0] == '/' ?
		    name + 1 : name, &err) == -1)
			log_warnx("msg=\"cannot rename route\" id=%.12s "
			    "reason=%s", ctr_id, log_q(err.msg));
	}
}

/* POST /containers/{id}/exec answered: remember the exec's owner. */
static void
exec_created(struct disp *d, const char *ctr_id, const char *body)
{
	struct json_object	*o, *v;
	struct dm_err		 err;

	o = json_tokener_parse(body);
	if (o != NULL && json_object_object_get_ex(o, "Id", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    store_exec_put(d->store, json_object_get_string(v), ctr_id,
	    (long long)time(NULL), &err) == -1)
		log_warnx("msg=\"cannot record exec\" container=%.12s "
		    "reason=%s", ctr_id, log_q(err.msg));
	json_object_put(o);
}

/* ---- start-up reconciliation ---- */

struct listing {
	struct json_object	*list;	/* owned; NULL when unreachable */
};

static void
list_all(struct disp *d, size_t i, void *arg)
{
	struct listing		*l = arg;
	struct backend_call	 call = { .method = "GET",
	    .path = "/containers/json?all=1", .timeout_ms = DM_LOOKUP_TIMEOUT_MS };
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status = 0;

	if (disp_backend_down(d, i, NULL, 0))
		return;
	if (backend_do(d->b[i].be, &call, &status, &body, &len, NULL, &err)
	    == 0 && status == 200) {
		l->list = json_tokener_parse(body);
		if (l->list != NULL &&
		    !json_object_is_type(l->list, json_type_array)) {
			json_object_put(l->list);
			l->list = NULL;
		}
	}
	free(body);
}

static int
listed(struct json_object *list, const char *id)
{
	struct json_object	*e;
	const char		*v;
	size_t			 i;

	for (i = 0; i < json_object_array_length(list); i++) {
		e = json_object_array_get_idx(list, i);
		v = dm_json_str(e, "Id");
		if (v != NULL && strcmp(v, id) == 0)
			return 1;
	}
	return 0;
}

struct drop_ctx {
	struct disp	*d;
	struct listing	*l;
	size_t		 dropped;
};

static int
drop_if_gone(const struct store_route *r, void *arg)
{
	struct drop_ctx	*dc = arg;
	struct dm_err	 err;
	size_t		 bi = disp_backend_index(dc->d, r->backend);

	/* Unreachable or unconfigured backends keep their records. */
	if (bi == (size_t)-1 || dc->l[bi].list == NULL ||
	    listed(dc->l[bi].list, r->id))
		return 0;
	if (store_route_del(dc->d->store, r->id, &err) == 0) {
		dc->dropped++;
		log_info("msg=\"route dropped: container gone\" id=%.12s "
		    "backend=%s", r->id, r->backend);
	}
	return 0;
}

/*
 * Adopt containers the backends have and the store does not (owner: the
 * first backend in order that lists it), drop records whose reachable
 * backend no longer has them.
 */
void
disp_reconcile(struct disp *d)
{
	struct listing		 l[DM_MAX_BACKENDS];
	void			*args[DM_MAX_BACKENDS];
	struct store_route	 r, have;
	struct drop_ctx		 dc;
	struct json_object	*e, *names;
	struct dm_err		 err;
	const char		*id, *nm;
	size_t			 i, k, adopted = 0;

	memset(l, 0, sizeof(l));
	for (i = 0; i < d->n; i++)
		args[i] = &l[i];
	disp_each_backend(d, list_all, args);
	/* Drop first: a stale route must not keep a name a container that
	 * is adopted next now carries. */
	dc.d = d;
	dc.l = l;
	dc.dropped = 0;
	(void)store_route_each(d->store, NULL, drop_if_gone, &dc, &err);
	for (i = 0; i < d->n; i++) {
		if (l[i].list == NULL) {
			log_warnx("msg=\"reconcile: backend unreachable, its "
			    "routes kept\" backend=%s", d->b[i].cfg->name);
			continue;
		}
		(void)store_backend_seen(d->store, d->b[i].cfg->name, &err);
		for (k = 0; k < json_object_array_length(l[i].list); k++) {
			e = json_object_array_get_idx(l[i].list, k);
			/* An engine's null or wrong-typed Id: not adopted. */
			id = dm_json_str(e, "Id");
			if (id == NULL || id[0] == '\0')
				continue;
			nm = NULL;
			names = dm_json_arr(e, "Names");
			if (names != NULL && json_object_array_length(names) > 0
			    && json_object_is_type(json_object_array_get_idx(
			    names, 0), json_type_string)) {
				nm = json_object_get_string(
				    json_object_array_get_idx(names, 0));
				if (nm[0] == '/')
					nm++;
			}
			if (store_route_find(d->store, id, &have, &err) == 0 &&
			    strcmp(have.id, id) == 0) {
				/* Renamed behind our back: follow the engine. */
				if (nm != NULL && strcmp(have.name, nm) != 0 &&
				    store_route_rename(d->store, id, nm, &err)
				    == 0)
					log_info("msg=\"route renamed\" "
					    "id=%.12s name=%s", id, log_q(nm));
				continue;
			}
			memset(&r, 0, sizeof(r));
			snprintf(r.id, sizeof(r.id), "%s", id);
			snprintf(r.backend, sizeof(r.backend), "%s",
			    d->b[i].cfg->name);
			snprintf(r.rule, sizeof(r.rule), "%s", DM_RULE_ADOPTED);
			if (dm_json_str(e, "Image") != NULL)
				snprintf(r.image, sizeof(r.image), "%s",
				    dm_json_str(e, "Image"));
			if (nm != NULL)
				snprintf(r.name, sizeof(r.name), "%s", nm);
			r.created = (long long)time(NULL);
			if (store_route_put(d->store, &r, &err) == -1) {
				/* Same name on two engines: keep it unnamed. */
				r.name[0] = '\0';
				if (store_route_put(d->store, &r, &err) == -1)
					continue;
			}
			adopted++;
			log_info("msg=\"container adopted\" id=%.12s name=%s "
			    "backend=%s", r.id, log_q(r.name), r.backend);
		}
	}
	log_info("msg=\"reconciled\" routes=%zu adopted=%zu dropped=%zu",
	    store_route_count(d->store), adopted, dc.dropped);
	for (i = 0; i < d->n; i++)
		json_object_put(l[i].list);
}

/*
 * POST /containers/{id}/exec on the owner: the answer's Id is remembered
 * against the container, so /exec/{id}/... finds the same backend.
 */
void
disp_exec_create(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct backend_call	 bc;
	struct dm_hdrs		 head;
	struct dm_err		 err;
	int			 status = 0;
	size_t			 len;

	memset(&bc, 0, sizeof(bc));
	bc.method = ctx->req->method;
	bc.path = ctx->path;
	bc.hdrs = ctx->fwd;
	bc.body = ctx->body != NULL ? ctx->body : "";
	bc.body_len = ctx->body_len;
	bc.timeout_ms = DM_FAN_TIMEOUT_MS;
	dm_hdrs_init(&head);
	if (backend_do(ctx->d->b[ctx->target].be, &bc, &status, &r->body,
	    &len, &head, &err) == -1) {
		disp_reply_error(r, err.st, err.msg);
		return;
	}
	/* The engine's transport headers (Date, Connection) are its own. */
	(void)dm_hdrs_copy_end_to_end(&head, &r->hdrs);
	dm_hdrs_clear(&head);
	r->status = status;
	r->body_len = len;
	r->kind = DISP_REPLY_BODY;
	if (status == 201)
		exec_created(ctx->d, ctx->ctr_id, r->body);
}
