/*
 * disp_admin.c: the admin API under /_dockmux/ on the Docker socket:
 * ping, backends (health), routes (filterable), objects (where each
 * network and volume lives), explain (a create decided, nothing
 * created) and metrics (Prometheus text).
 */
/* Threads: MHD connection threads; health copied under the view lock. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/version.h"
#include "lib/util.h"

static void
iso_time(time_t t, char *out, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

struct route_count {
	struct disp	*d;
	size_t		 per[DM_MAX_BACKENDS];
	size_t		 orphans;
};

static int
count_route(const struct store_route *r, void *arg)
{
	struct route_count	*rc = arg;
	size_t			 bi = disp_backend_index(rc->d, r->backend);

	if (bi == (size_t)-1)
		rc->orphans++;
	else
		rc->per[bi]++;
	return 0;
}

/*
 * GET /_dockmux/objects?type=networks|volumes: where each network or
 * volume lives, [{"Name", "Backends"}]: what the merged lists no longer
 * show, since they list the engines' objects as they are.
 */
static void
admin_objects(struct disp *d, const struct disp_req *req,
    struct disp_reply *r)
{
	struct json_object	*o;
	struct dm_err		 err;
	char			 type[16];

	if (!disp_query_get(req->query, "type", type, sizeof(type)) ||
	    (strcmp(type, "networks") != 0 && strcmp(type, "volumes") != 0)) {
		disp_reply_error(r, DM_EBADREQ, "type must be networks or "
		    "volumes");
		return;
	}
	o = disp_netvol_where(d, strcmp(type, "volumes") == 0, &err);
	if (o == NULL) {
		disp_reply_error(r, err.st, err.msg);
		return;
	}
	disp_reply_json(r, 200, disp_json_take(o));
}

/* GET /_dockmux/backends: each backend, in config order, with health. */
static void
admin_backends(struct disp *d, struct disp_reply *r)
{
	struct json_object	*a, *o;
	struct disp_health	 h;
	struct route_count	 rc;
	struct dm_err		 err;
	char			 since[32];
	size_t			 i;

	memset(&rc, 0, sizeof(rc));
	rc.d = d;
	(void)store_route_each(d->store, NULL, count_route, &rc, &err);
	a = json_object_new_array();
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		o = json_object_new_object();
		json_object_object_add(o, "name",
		    json_object_new_string(d->b[i].cfg->name));
		json_object_object_add(o, "endpoint",
		    json_object_new_string(d->b[i].cfg->endpoint));
		json_object_object_add(o, "transport", json_object_new_string(
		    backend_transport_name(d->b[i].be)));
		json_object_object_add(o, "primary",
		    json_object_new_boolean(i == 0));
		json_object_object_add(o, "os", json_object_new_string(h.os));
		json_object_object_add(o, "arch",
		    json_object_new_string(h.arch));
		json_object_object_add(o, "state", json_object_new_string(
		    !h.probed ? "unknown" : h.up ? "up" : "down"));
		json_object_object_add(o, "api_version",
		    json_object_new_string(h.api_version));
		json_object_object_add(o, "server_version",
		    json_object_new_string(h.server_version));
		iso_time(h.since, since, sizeof(since));
		json_object_object_add(o, "since",
		    json_object_new_string(since));
		json_object_object_add(o, "failures",
		    json_object_new_int64((int64_t)h.failures));
		json_object_object_add(o, "error",
		    json_object_new_string(h.last_error));
		json_object_object_add(o, "routes",
		    json_object_new_int64((int64_t)rc.per[i]));
		json_object_array_add(a, o);
	}
	disp_reply_json(r, 200, disp_json_take(a));
	if (rc.orphans > 0) {
		char	warn[128];

		snprintf(warn, sizeof(warn), "%zu routes belong to backends no "
		    "longer configured", rc.orphans);
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Warning", warn);
	}
}

struct route_filter {
	struct disp		*d;
	char			 backend[DM_MAX_NAME];
	char			 rule[STORE_RULE_MAX];
	char			 name[STORE_NAME_MAX];
	struct json_object	*out;
};

static int
add_route(const struct store_route *r, void *arg)
{
	struct route_filter	*f = arg;
	struct json_object	*o;
	char			 created[32];

	if ((f->backend[0] && strcmp(f->backend, r->backend) != 0) ||
	    (f->rule[0] && strcmp(f->rule, r->rule) != 0) ||
	    (f->name[0] && strstr(r->name, f->name) == NULL))
		return 0;
	o = json_object_new_object();
	json_object_object_add(o, "id", json_object_new_string(r->id));
	json_object_object_add(o, "name", json_object_new_string(r->name));
	json_object_object_add(o, "backend",
	    json_object_new_string(r->backend));
	json_object_object_add(o, "rule", json_object_new_string(r->rule));
	json_object_object_add(o, "image", json_object_new_string(r->image));
	iso_time((time_t)r->created, created, sizeof(created));
	json_object_object_add(o, "created", json_object_new_string(created));
	json_object_object_add(o, "orphaned", json_object_new_boolean(
	    disp_backend_index(f->d, r->backend) == (size_t)-1));
	json_object_array_add(f->out, o);
	return 0;
}

/* GET /_dockmux/routes[?backend=X][&rule=Y][&name=Z] */
static void
admin_routes(struct disp *d, const struct disp_req *req,
    struct disp_reply *r)
{
	struct route_filter	f;
	struct dm_err		err;

	memset(&f, 0, sizeof(f));
	f.d = d;
	(void)disp_query_get(req->query, "backend", f.backend,
	    sizeof(f.backend));
	(void)disp_query_get(req->query, "rule", f.rule, sizeof(f.rule));
	(void)disp_query_get(req->query, "name", f.name, sizeof(f.name));
	f.out = json_object_new_array();
	if (store_route_each(d->store, NULL, add_route, &f, &err) == -1) {
		json_object_put(f.out);
		disp_reply_error(r, DM_EINTERNAL, err.msg);
		return;
	}
	disp_reply_json(r, 200, disp_json_take(f.out));
}

void
disp_admin_answer(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const char		*body = ctx->body;
	size_t			 body_len = ctx->body_len;
	int	get = strcmp(req->method, "GET") == 0;
	int	head = strcmp(req->method, "HEAD") == 0;
	char	*text, pid[24];

	if ((get || head) && strcmp(req->action, "ping") == 0) {
		r->status = 200;
		r->body = xstrdup("OK");
		r->body_len = 2;
		dm_hdrs_set(&r->hdrs, "Content-Type", "text/plain");
	} else if (get && strcmp(req->action, "backends") == 0)
		admin_backends(d, r);
	else if (get && strcmp(req->action, "routes") == 0)
		admin_routes(d, req, r);
	else if (strcmp(req->method, "POST") == 0 &&
	    strcmp(req->action, "explain") == 0)
		disp_reply_json(r, 200, disp_json_take(disp_create_explain(d,
		    req->query, body, body_len)));
	else if (get && strcmp(req->action, "objects") == 0)
		admin_objects(d, req, r);
	else if (get && strcmp(req->action, "metrics") == 0) {
		text = disp_metrics_text(d);
		r->status = 200;
		r->body = text;
		r->body_len = strlen(text);
		dm_hdrs_set(&r->hdrs, "Content-Type",
		    "text/plain; version=0.0.4");
	} else
		disp_reply_error(r, DM_ENOTFOUND, "page not found");
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Version", DOCKMUX_VERSION);
	/* Which process answered: after a USR2 upgrade, the new one. */
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	dm_hdrs_set(&r->hdrs, "X-Dockmux-Pid", pid);
}
