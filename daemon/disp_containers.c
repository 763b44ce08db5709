/*
 * disp_containers.c: the container list, answered by every backend and merged
 * (seed: the image fan-outs): GET /containers/json.
 */
/* Threads: the call workers; the fan-out workers, one job per backend. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "lib/log.h"


/*
 * Take "label=io.dockmux.backend=X" out of the filters (engines do not
 * know that label): *only gets X's index when one is named.  Returns the
 * query to send to the engines.  Owned: free().
 */
static char *
strip_backend_filter(struct disp *d, const char *query, size_t *only,
    int *bad)
{
	struct json_object	*f = NULL, *lab, *keep = NULL;
	char			*raw, *out;
	const char		*v;
	size_t			 i, rawlen = strlen(query) + 1;

	*only = (size_t)-1;
	*bad = 0;
	raw = xmalloc(rawlen);
	if (!disp_query_get(query, "filters", raw, rawlen) ||
	    (f = json_tokener_parse(raw)) == NULL ||
	    !json_object_object_get_ex(f, "label", &lab)) {
		json_object_put(f);
		free(raw);
		out = xstrdup(query);
		return out;
	}
	/* Both shapes: ["k=v", ...] and {"k=v": true, ...}. */
	if (json_object_is_type(lab, json_type_array)) {
		keep = json_object_new_array();
		for (i = 0; i < json_object_array_length(lab); i++) {
			v = json_object_get_string(
			    json_object_array_get_idx(lab, i));
			if (strncmp(v, DM_LABEL_BACKEND, strlen(DM_LABEL_BACKEND))
			    != 0)
				json_object_array_add(keep,
				    json_object_new_string(v));
			else if (v[strlen(DM_LABEL_BACKEND)] == '=' &&
			    (*only = disp_backend_index(d,
			    v + strlen(DM_LABEL_BACKEND) + 1)) == (size_t)-1)
				*bad = 1;
		}
		if (json_object_array_length(keep) == 0) {
			json_object_put(keep);
			keep = NULL;
		}
	} else if (json_object_is_type(lab, json_type_object)) {
		keep = json_object_new_object();
		json_object_object_foreach(lab, k, val) {
			if (strncmp(k, DM_LABEL_BACKEND, strlen(DM_LABEL_BACKEND))
			    != 0)
				json_object_object_add(keep, k,
				    json_object_get(val));
			else if (k[strlen(DM_LABEL_BACKEND)] == '=' &&
			    (*only = disp_backend_index(d,
			    k + strlen(DM_LABEL_BACKEND) + 1)) == (size_t)-1)
				*bad = 1;
		}
		if (json_object_object_length(keep) == 0) {
			json_object_put(keep);
			keep = NULL;
		}
	}
	if (keep != NULL)
		json_object_object_add(f, "label", keep);
	else
		json_object_object_del(f, "label");
	out = disp_query_set(query, "filters", json_object_object_length(f) ?
	    json_object_to_json_string_ext(f, JSON_C_TO_STRING_PLAIN) : NULL);
	json_object_put(f);
	free(raw);
	return out;
}

static int
by_created_desc(const void *a, const void *b)
{
	struct json_object *const	*x = a, *const *y = b;
	struct json_object		*cx, *cy;
	int64_t				 vx = 0, vy = 0;

	if (json_object_object_get_ex(*x, "Created", &cx))
		vx = json_object_get_int64(cx);
	if (json_object_object_get_ex(*y, "Created", &cy))
		vy = json_object_get_int64(cy);
	return vx < vy ? 1 : vx > vy ? -1 : 0;
}

/* all=1 / all=true, as dockerd reads a boolean query value. */
static int
wants_all(const char *query)
{
	char	v[8];

	return disp_query_get(query, "all", v, sizeof(v)) && v[0] != '\0' &&
	    strcmp(v, "0") != 0 && strcasecmp(v, "false") != 0;
}

static int
has_filters(const char *query)
{
	char	v[4];

	return disp_query_get(query, "filters", v, sizeof(v)) &&
	    strcmp(v, "{}") != 0 && v[0] != '\0';
}

/*
 * One container the store routes to a backend that did not answer: the
 * fields a client expects of a list entry, with State "unknown" and
 * Status saying why (Classic Swarm said "Host Down").
 */
static int
stored_entry(const struct store_route *rt, void *arg)
{
	struct json_object	*list = arg, *e, *names, *labels, *hc, *ns;
	char			 status[STORE_NAME_MAX + 32];

	e = json_object_new_object();
	json_object_object_add(e, "Id", json_object_new_string(rt->id));
	names = json_object_new_array();
	if (rt->name[0] != '\0') {
		snprintf(status, sizeof(status), "/%s", rt->name);
		json_object_array_add(names, json_object_new_string(status));
	}
	json_object_object_add(e, "Names", names);
	json_object_object_add(e, "Image", json_object_new_string(rt->image));
	json_object_object_add(e, "ImageID", json_object_new_string(""));
	json_object_object_add(e, "Command", json_object_new_string(""));
	json_object_object_add(e, "Created", json_object_new_int64(
	    rt->created));
	json_object_object_add(e, "Ports", json_object_new_array());
	labels = json_object_new_object();
	json_object_object_add(labels, DM_LABEL_BACKEND,
	    json_object_new_string(rt->backend));
	json_object_object_add(e, "Labels", labels);
	json_object_object_add(e, "State", json_object_new_string("unknown"));
	snprintf(status, sizeof(status), "backend %s is down", rt->backend);
	json_object_object_add(e, "Status", json_object_new_string(status));
	hc = json_object_new_object();
	json_object_object_add(hc, "NetworkMode",
	    json_object_new_string("default"));
	json_object_object_add(e, "HostConfig", hc);
	ns = json_object_new_object();
	json_object_object_add(ns, "Networks", json_object_new_object());
	json_object_object_add(e, "NetworkSettings", ns);
	json_object_object_add(e, "Mounts", json_object_new_array());
	json_object_array_add(list, e);
	return 0;
}

static void
add_stored(struct disp *d, size_t bi, struct disp_merge *m)
{
	struct json_object	*list = json_object_new_array();
	struct dm_err		 err;

	if (store_route_each(d->store, d->b[bi].cfg->name, stored_entry, list,
	    &err) == -1)
		log_warnx("msg=\"cannot list stored routes\" backend=%s "
		    "reason=%s", d->b[bi].cfg->name, log_q(err.msg));
	disp_merge_add(m, list, bi);
	json_object_put(list);
}

/* A container seen first on backend bi: labelled with its owner. */
static void
label_owner(struct json_object *e, size_t bi, void *arg)
{
	struct disp		*d = arg;
	struct json_object	*labels;
	struct store_route	 route;
	struct dm_err		 err;
	const char		*id = dm_json_str(e, "Id");

	labels = dm_json_obj(e, "Labels");
	if (labels == NULL) {
		labels = json_object_new_object();
		json_object_object_add(e, "Labels", labels);
	}
	/* The owner, when one engine is configured twice. */
	json_object_object_add(labels, DM_LABEL_BACKEND,
	    json_object_new_string(store_route_find(d->store, id, &route,
	    &err) == 0 && strcmp(route.id, id) == 0 ? route.backend :
	    d->b[bi].cfg->name));
}

/*
 * GET /containers/json: every backend (or the one a label filter names)
 * in parallel; merged, de-duplicated by Id, each entry labelled with its
 * backend; newest first, "limit" applied after the merge.  A failed
 * backend is skipped with a warning header unless all fail.
 */
void
disp_list_containers(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct disp_slot	 s[DM_MAX_BACKENDS];
	void			*args[DM_MAX_BACKENDS];
	struct json_object	*merged = NULL, *list;
	struct json_object	**v = NULL;
	struct disp_merge	 m;
	char			*query, *path, warn[1024], lim[32];
	size_t			 i, k, only, nv = 0, ok = 0, wlen = 0;
	long			 limit = -1;
	int			 bad, stored;

	query = strip_backend_filter(d, req->query, &only, &bad);
	if (bad) {
		disp_reply_json(r, 200, strdup("[]"));
		free(query);
		return;
	}
	if (disp_query_get(req->query, "limit", lim, sizeof(lim)))
		limit = strtol(lim, NULL, 10);
	path = xasprintf("%s%s%s", req->path, query[0] ? "?" : "", query);
	disp_slots_init(d, s, args, "GET", path, fwd, NULL, 0);
	for (i = 0; i < d->n; i++) {
		s[i].wanted = only == (size_t)-1 || only == i;
		s[i].timeout_ms = DM_LIST_TIMEOUT_MS;
		s[i].parse = 1;
	}
	disp_each_backend(d, disp_slot_do, args);

	disp_merge_init(&m, "Id", label_owner, NULL, d);
	warn[0] = '\0';
	for (i = 0; i < d->n; i++) {
		if (!s[i].wanted)
			continue;
		list = s[i].json;	/* taken: put below */
		s[i].json = NULL;
		if (list == NULL || !json_object_is_type(list,
		    json_type_array)) {
			char	why[300];

			json_object_put(list);
			disp_slot_message(&s[i], why, sizeof(why));
			log_warnx("msg=\"list skipped a backend\" backend=%s "
			    "reason=%s", d->b[i].cfg->name, log_q(why));
			wlen += (size_t)snprintf(warn + wlen, wlen <
			    sizeof(warn) ? sizeof(warn) - wlen : 0,
			    "%s%s%s%s", wlen ? "; " : "", s[i].status != 0 ?
			    "backend " : "", s[i].status != 0 ?
			    d->b[i].cfg->name : "", s[i].status != 0 ? ": " :
			    "");
			if (wlen < sizeof(warn))
				wlen += (size_t)snprintf(warn + wlen,
				    sizeof(warn) - wlen, "%s", why);
			if (wlen >= sizeof(warn))
				wlen = sizeof(warn) - 1;
			continue;
		}
		ok++;
		disp_merge_add(&m, list, i);
		json_object_put(list);
	}
	/*
	 * ps -a: a down backend's containers from the store, said down;
	 * also when that backend alone was asked for (its label filter).
	 */
	stored = wants_all(req->query) && !has_filters(query) &&
	    (ok > 0 || only != (size_t)-1);
	for (i = 0; stored && i < d->n; i++)
		if (s[i].wanted && s[i].status != 200)
			add_stored(d, i, &m);
	if (ok == 0 && !stored) {
		disp_reply_error(r, DM_EBACKEND, warn[0] ? warn :
		    "no backend answered");
		goto out;
	}
	merged = json_object_get(m.list);
	nv = json_object_array_length(merged);
	if (nv > 1) {
		v = xcalloc(nv, sizeof(*v));
		for (k = 0; k < nv; k++)
			v[k] = json_object_get(json_object_array_get_idx(
			    merged, k));
		qsort(v, nv, sizeof(*v), by_created_desc);
		json_object_put(merged);
		merged = json_object_new_array();
		for (k = 0; k < nv; k++)
			json_object_array_add(merged, v[k]);
		free(v);
	}
	while (limit > 0 && json_object_array_length(merged) >
	    (size_t)limit)
		json_object_array_del_idx(merged,
		    json_object_array_length(merged) - 1, 1);
	disp_reply_json(r, 200, disp_json_text(merged));
	if (warn[0] != '\0')
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Warning", warn);
out:
	json_object_put(merged);
	disp_merge_free(&m);
	disp_slots_free(d, s);
	free(path);
	free(query);
}
