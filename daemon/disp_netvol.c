/*
 * disp_netvol.c: networks and volumes, which a container needs wherever
 * it lands: create and remove replicated by name on every backend, lists
 * merged and tagged, inspect from the first holder, connect and
 * disconnect by the container's owner; and the merged GET /system/df.
 */
/* Threads: the call workers; lists run on the fan-out workers. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"


/*
 * A network's copies have one name and an ID per backend, and clients
 * name it by the ID `docker network ls` shows (the first holder's, the
 * primary's as a rule) or a prefix of it, which the other engines do not
 * know.  Removing it must remove every copy, and connecting a container
 * on another engine must reach that engine's copy, so the ID is turned
 * into the name by the first backend (config order) that knows it, and
 * the path is rebuilt with the name in its place: /vX.Y/networks/{name}
 * and what followed the ID ("/connect"), with the query.  Owned path, or
 * NULL to keep the client's (named by its name, or known to nobody).
 */
static char *
network_path_by_name(struct disp *d, const struct disp_req *req,
    const struct dm_hdrs *fwd)
{
	struct disp_slot		 s;
	struct json_object	*o = NULL;
	char			*path, *enc, *out = NULL, id[DISP_ID_MAX];
	const char		*seg = req->rest + strlen("/networks/"), *end;
	const char		*nm;
	size_t			 i, pre;

	end = strchr(seg, '/');
	if (end == NULL)
		end = seg + strlen(seg);
	disp_url_decode(seg, (size_t)(end - seg), id, sizeof(id));
	path = xasprintf("/networks/%.*s", (int)(end - seg), seg);
	for (i = 0; i < d->n && out == NULL; i++) {
		memset(&s, 0, sizeof(s));
		s.method = "GET";
		s.path = path;
		s.hdrs = fwd;
		s.wanted = 1;
		s.timeout_ms = DM_FAN_TIMEOUT_MS;
		dm_hdrs_init(&s.ahdrs);
		disp_slot_do(d, i, &s);
		o = s.status == 200 ? json_tokener_parse(s.answer) : NULL;
		nm = dm_json_str(o, "Name");
		if (nm != NULL && strcmp(nm, id) != 0) {
			enc = disp_url_encode(nm);
			pre = (size_t)(req->rest - req->path);
			out = xasprintf("%.*s/networks/%s%s%s%s", (int)pre,
			    req->path, enc, end, req->query[0] != '\0' ?
			    "?" : "", req->query);
			free(enc);
		}
		json_object_put(o);
		o = NULL;
		free(s.answer);
		dm_hdrs_clear(&s.ahdrs);
	}
	free(path);
	return out;
}

/*
 * Create (POST .../create) or remove (DELETE) on every backend in order,
 * primary first.  Create answers with the primary's answer when it
 * succeeded, else the first success, else the primary's failure.  Remove
 * answers 404 only when no backend had it, and names the backend of any
 * other failure.
 */
void
disp_netvol_replicate(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	const char		*body = ctx->body;
	size_t			 body_len = ctx->body_len;
	struct disp_slot	 s[DM_MAX_BACKENDS];
	char		*path = disp_req_target(req), msg[300], full[400];
	char		 warn[300];
	size_t		 i, ok = DM_MAX_BACKENDS, fail = DM_MAX_BACKENDS;
	int		 del = strcmp(req->method, "DELETE") == 0;

	warn[0] = '\0';
	if (del && req->res == RES_NETWORKS) {
		char	*byname = network_path_by_name(d, req, fwd);

		if (byname != NULL) {
			free(path);
			path = byname;
		}
	}
	disp_slots_init(d, s, NULL, req->method, path, fwd, body, body_len);
	for (i = 0; i < d->n; i++) {
		disp_slot_do(d, i, &s[i]);
		if (s[i].status >= 200 && s[i].status < 300) {
			if (ok == DM_MAX_BACKENDS)
				ok = i;
			continue;
		}
		if (del && s[i].status == 404)
			continue;
		disp_slot_message(&s[i], msg, sizeof(msg));
		log_warnx("msg=\"change failed on a backend\" method=%s "
		    "path=%s backend=%s reason=%s", req->method,
		    log_q(req->rest), d->b[i].cfg->name, log_q(msg));
		/* A down backend is skipped and said, not a failure: it gets
		 * the copy when it is back and a client asks again. */
		if (s[i].status == 0) {
			if (warn[0] == '\0')
				snprintf(warn, sizeof(warn), "%s", msg);
			continue;
		}
		if (fail == DM_MAX_BACKENDS)
			fail = i;
	}
	if (del && fail != DM_MAX_BACKENDS) {
		disp_slot_message(&s[fail], msg, sizeof(msg));
		snprintf(full, sizeof(full), "backend %s: %s",
		    d->b[fail].cfg->name, msg);
		disp_reply_error(r, DM_ECONFLICT, full);
		r->status = s[fail].status != 0 ? s[fail].status : 502;
	} else if (ok != DM_MAX_BACKENDS)
		disp_reply_slot(r, &s[s[0].status >= 200 && s[0].status < 300 ?
		    0 : ok]);
	else if (del) {
		disp_slot_message(&s[0], msg, sizeof(msg));
		disp_reply_error(r, DM_ENOTFOUND, msg);
	} else if (s[0].status != 0)
		disp_reply_slot(r, &s[0]);
	else
		disp_reply_error(r, DM_EBACKEND, warn[0] ? warn : s[0].err);
	if (ok != DM_MAX_BACKENDS && warn[0] != '\0')
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Warning", warn);
	disp_slots_free(d, s);
	free(path);
}

/* Inspect: the first backend (config order) that does not answer 404. */
void
disp_first_holder(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct disp_slot	 s[DM_MAX_BACKENDS];
	char		*path = disp_req_target(req), msg[300];
	size_t		 i;

	disp_slots_init(d, s, NULL, req->method, path, fwd, NULL, 0);
	for (i = 0; i < d->n; i++) {
		disp_slot_do(d, i, &s[i]);
		if (s[i].status != 404 && s[i].status != 0) {
			disp_reply_slot(r, &s[i]);
			goto out;
		}
	}
	disp_slot_message(&s[0], msg, sizeof(msg));
	disp_reply_error(r, s[0].status == 0 ? DM_EBACKEND : DM_ENOTFOUND,
	    msg);
out:
	disp_slots_free(d, s);
	free(path);
}

/*
 * Every backend's GET path (networks, or volumes wrapped in {"Volumes":
 * [...]}), merged by Name into m (disp_merge_init()ed by the caller).
 * Returns how many backends answered; msg says why the last one did not.
 */
static size_t
netvol_gather(struct disp *d, const char *path, const struct dm_hdrs *fwd,
    int vols, struct disp_merge *m, char *msg, size_t msglen)
{
	struct disp_slot	 s[DM_MAX_BACKENDS];
	struct json_object	*o, *list;
	size_t			 i, ok = 0;

	disp_slots_init(d, s, NULL, "GET", path, fwd, NULL, 0);
	disp_slots_run(d, s);
	msg[0] = '\0';
	for (i = 0; i < d->n; i++) {
		o = s[i].status == 200 ? json_tokener_parse(s[i].answer) :
		    NULL;
		list = vols ? dm_json_arr(o, "Volumes") : o;
		if (!json_object_is_type(list, json_type_array)) {
			disp_slot_message(&s[i], msg, msglen);
			/* A volume list of null is an empty list. */
			if (!(vols && dm_json_obj(o, "Volumes") == NULL &&
			    json_object_is_type(o, json_type_object))) {
				json_object_put(o);
				log_warnx("msg=\"list skipped a backend\" "
				    "backend=%s reason=%s",
				    d->b[i].cfg->name, log_q(msg));
				continue;
			}
		}
		ok++;
		disp_merge_add(m, list, i);
		json_object_put(o);
	}
	disp_slots_free(d, s);
	return ok;
}

/*
 * GET /networks and GET /volumes: every backend at once; entries with the
 * same Name are one object to the user (replicated by name), shown once
 * as the first backend holding it returns it: the engines' objects, so a
 * client finds in the list what a create answered.  Where each lives is
 * GET /_dockmux/objects.  Volumes come wrapped in {"Volumes": [...],
 * "Warnings": [...]}.
 */
void
disp_netvol_list(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp_merge	 m;
	struct json_object	*out;
	char			*path = disp_req_target(ctx->req), msg[300];
	int			 vols = ctx->req->res == RES_VOLUMES;

	disp_merge_init(&m, "Name", NULL, NULL, NULL);
	if (netvol_gather(ctx->d, path, ctx->fwd, vols, &m, msg,
	    sizeof(msg)) == 0) {
		disp_reply_error(r, DM_EBACKEND, msg[0] ? msg :
		    "no backend answered");
		goto out;
	}
	if (vols) {
		out = json_object_new_object();
		json_object_object_add(out, "Volumes", json_object_get(m.list));
		json_object_object_add(out, "Warnings",
		    json_object_new_array());
	} else
		out = json_object_get(m.list);
	disp_reply_json(r, 200, disp_json_take(out));
out:
	disp_merge_free(&m);
	free(path);
}

/* The where-view: [{"Name", "Backends": [...]}] in list order. */
struct where {
	struct disp		*d;
	struct json_object	*out;		/* owned: the array */
	struct json_object	*byname;	/* owned: Name -> Backends */
};

static void
where_fresh(struct json_object *e, size_t bi, void *arg)
{
	struct where		*wh = arg;
	struct json_object	*w = json_object_new_object(), *b;
	const char		*name = dm_json_str(e, "Name");

	b = json_object_new_array();
	json_object_array_add(b, json_object_new_string(
	    wh->d->b[bi].cfg->name));
	json_object_object_add(w, "Name", json_object_new_string(name));
	json_object_object_add(w, "Backends", b);
	json_object_array_add(wh->out, w);
	json_object_object_add(wh->byname, name, json_object_get(b));
}

static void
where_again(struct json_object *have, struct json_object *e, size_t bi,
    void *arg)
{
	struct where	*wh = arg;

	(void)have;
	json_object_array_add(dm_json_arr(wh->byname, dm_json_str(e, "Name")),
	    json_object_new_string(wh->d->b[bi].cfg->name));
}

struct json_object *
disp_netvol_where(struct disp *d, int vols, struct dm_err *err)
{
	struct disp_merge	 m;
	struct where		 wh = { .d = d };
	char			 msg[300];

	wh.out = json_object_new_array();
	wh.byname = json_object_new_object();
	disp_merge_init(&m, "Name", where_fresh, where_again, &wh);
	if (netvol_gather(d, vols ? "/volumes" : "/networks", NULL, vols,
	    &m, msg, sizeof(msg)) == 0) {
		dm_err_set(err, DM_EBACKEND, "%s", msg[0] ? msg :
		    "no backend answered");
		json_object_put(wh.out);
		wh.out = NULL;
	}
	disp_merge_free(&m);
	json_object_put(wh.byname);
	return wh.out;
}

/*
 * POST /networks/{id}/connect|disconnect: the body names the container;
 * its owner serves it, told the container's full ID and the network by
 * its name when the client named it by an ID (network_path_by_name()).
 */
void
disp_network_connect(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	const char		*body = ctx->body;
	size_t			 body_len = ctx->body_len;
	struct disp_slot		 s[DM_MAX_BACKENDS];
	struct store_route	 route;
	struct json_object	*o, *c;
	struct dm_err		 err;
	const char		*text;
	char			*path = disp_req_target(req), *byname;
	size_t			 bi;

	o = json_tokener_parse(body_len > 0 ? body : "{}");
	if (o == NULL || !json_object_object_get_ex(o, "Container", &c) ||
	    !json_object_is_type(c, json_type_string)) {
		disp_reply_error(r, DM_EBADREQ, "a container is required");
		goto out;
	}
	if (disp_lookup_container(d, json_object_get_string(c), &route,
	    &bi, &err) == -1) {
		disp_reply_error(r, err.st, err.msg);
		goto out;
	}
	json_object_object_add(o, "Container",
	    json_object_new_string(route.id));
	byname = network_path_by_name(d, req, fwd);
	if (byname != NULL) {
		free(path);
		path = byname;
	}
	text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
	    JSON_C_TO_STRING_NOSLASHESCAPE);
	disp_slots_init(d, s, NULL, req->method, path, fwd, text,
	    strlen(text));
	disp_slot_do(d, bi, &s[bi]);
	if (s[bi].status == 0) {
		disp_reply_error(r, DM_EBACKEND, s[bi].err);
	} else
		disp_reply_slot(r, &s[bi]);
	disp_slots_free(d, s);
out:
	json_object_put(o);
	free(path);
}

/* GET /system/df: sizes summed, lists joined (each entry tagged). */
void
disp_system_df(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	static const char *const lists[] = { "Images", "Containers",
	    "Volumes", "BuildCache" };
	struct disp_slot		 s[DM_MAX_BACKENDS];
	struct json_object	*out, *o, *v, *a;
	char			*path = disp_req_target(req), msg[300];
	size_t			 i, k, li, ok = 0;
	int64_t			 layers = 0;

	disp_slots_init(d, s, NULL, req->method, path, fwd, NULL, 0);
	disp_slots_run(d, s);
	out = json_object_new_object();
	for (li = 0; li < sizeof(lists) / sizeof(lists[0]); li++)
		json_object_object_add(out, lists[li], json_object_new_array());
	msg[0] = '\0';
	for (i = 0; i < d->n; i++) {
		o = s[i].status == 200 ? json_tokener_parse(s[i].answer) :
		    NULL;
		if (o == NULL) {
			disp_slot_message(&s[i], msg, sizeof(msg));
			log_warnx("msg=\"df skipped a backend\" backend=%s "
			    "reason=%s", d->b[i].cfg->name, log_q(msg));
			continue;
		}
		ok++;
		if (json_object_object_get_ex(o, "LayersSize", &v))
			layers = dm_add_clamped(layers,
			    json_object_get_int64(v));
		for (li = 0; li < sizeof(lists) / sizeof(lists[0]); li++) {
			if (!json_object_object_get_ex(o, lists[li], &v) ||
			    !json_object_is_type(v, json_type_array))
				continue;
			json_object_object_get_ex(out, lists[li], &a);
			for (k = 0; k < json_object_array_length(v); k++)
				json_object_array_add(a, json_object_get(
				    json_object_array_get_idx(v, k)));
		}
		json_object_put(o);
	}
	if (ok == 0)
		disp_reply_error(r, DM_EBACKEND, msg[0] ? msg :
		    "no backend answered");
	else {
		json_object_object_add(out, "LayersSize",
		    json_object_new_int64(layers));
		disp_reply_json(r, 200, disp_json_text(out));
	}
	json_object_put(out);
	disp_slots_free(d, s);
	free(path);
}
