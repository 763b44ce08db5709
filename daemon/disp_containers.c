/*
 * disp_containers.c: the container list, answered by every backend and merged
 * (seed: the image fan-outs): GET /containers/json.
 */
/*
 * Threads: the call workers; the fan-out workers, one job per backend;
 * the stream loop's (the quick path: disp_list_containers_start()).
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/jscan.h"
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

/* A down backend's stored containers, as the text of a JSON array.
 * Owned: free(). */
static char *
stored_text(struct disp *d, size_t bi)
{
	struct json_object	*list = json_object_new_array();
	struct dm_err		 err;

	if (store_route_each(d->store, d->b[bi].cfg->name, stored_entry, list,
	    &err) == -1)
		log_warnx("msg=\"cannot list stored routes\" backend=%s "
		    "reason=%s", d->b[bi].cfg->name, log_q(err.msg));
	return disp_json_take(list);
}

/*
 * The merge works on the engines' text: each entry is found in place
 * (jscan), and written out as the engine wrote it with the owner label
 * spliced into its Labels.  Building json-c objects for 80 entries and
 * printing them again was most of a merged ps's CPU.  Keys and Ids are
 * compared decoded, as json-c compared them.
 */
struct ps_entry {
	struct jscan_span	text;		/* the object, in its answer */
	struct jscan_span	id;		/* decoded: in text, or id_own */
	char			*id_own;	/* owned: an Id with escapes,
						   decoded */
	struct jscan_span	labels;		/* Labels' value; p NULL: none */
	struct jscan_span	owner;		/* the owner label's value in
						   Labels; p NULL: none */
	long long		created;
	size_t			order;		/* its place in the merge */
	size_t			bi;		/* the backend that listed it */
	int			dup;		/* an Id listed before */
};

struct ps_merge {
	struct ps_entry		*v;		/* owned */
	size_t			 n, cap;
};

/* What the merge needs of one entry, the last of each key winning (as
 * json-c read it): 1, or 0 for an entry left out (not an object, no
 * string Id). */
static int
ps_entry_scan(struct ps_entry *e)
{
	struct jscan		it, lt;
	struct jscan_span	k, v, lk, lv;
	int			has_id = 0;

	if (jscan_open(&it, e->text.p, e->text.p + e->text.n, '{') == -1)
		return 0;
	while (jscan_next(&it, &k, &v) == 1) {
		if (jscan_is(&k, "Id")) {
			free(e->id_own);
			e->id_own = NULL;
			if ((has_id = v.p[0] == '"')) {
				e->id.p = v.p + 1;
				e->id.n = v.n - 2;
			}
			if (has_id && memchr(e->id.p, '\\', e->id.n) != NULL) {
				/* Decoded, it is never longer.  A \u0000
				 * ends it, as it ended json-c's key. */
				e->id_own = xmalloc(e->id.n + 1);
				(void)jscan_str(&e->id, e->id_own, e->id.n + 1);
				e->id.n = strlen(e->id_own);
				e->id.p = e->id_own;
			}
		} else if (jscan_is(&k, "Created"))
			e->created = jscan_int(&v);
		else if (jscan_is(&k, "Labels")) {
			e->labels = v;
			e->owner.p = NULL;
			if (jscan_open(&lt, v.p, v.p + v.n, '{') == -1)
				continue;
			while (jscan_next(&lt, &lk, &lv) == 1)
				if (jscan_is(&lk, DM_LABEL_BACKEND))
					e->owner = lv;
		}
	}
	return has_id;
}

/*
 * Add one backend's answer (text is borrowed until the merge is
 * written): 0, or -1 when it is not a JSON array (nothing added).
 */
static int
ps_merge_add(struct ps_merge *m, const char *text, size_t len, size_t bi)
{
	struct jscan		it;
	struct jscan_span	v;
	struct ps_entry		e;
	size_t			n0 = m->n;
	int			rc;

	if (text == NULL || jscan_open(&it, text, text + len, '[') == -1)
		return -1;
	while ((rc = jscan_next(&it, NULL, &v)) == 1) {
		memset(&e, 0, sizeof(e));
		e.text = v;
		e.bi = bi;
		if (!ps_entry_scan(&e)) {
			free(e.id_own);
			continue;
		}
		if (m->n == m->cap) {
			m->cap = m->cap ? m->cap * 2 : 64;
			m->v = xrealloc(m->v, m->cap * sizeof(*m->v));
		}
		e.order = m->n;
		m->v[m->n++] = e;
	}
	if (rc == -1 || jscan_ws(it.p, text + len) != text + len) {
		while (m->n > n0)
			free(m->v[--m->n].id_own);
		return -1;
	}
	return 0;
}

static void
ps_merge_free(struct ps_merge *m)
{
	size_t	i;

	for (i = 0; i < m->n; i++)
		free(m->v[i].id_own);
	free(m->v);
}

static int
by_id(const void *a, const void *b)
{
	const struct ps_entry	*x = *(const struct ps_entry *const *)a;
	const struct ps_entry	*y = *(const struct ps_entry *const *)b;
	size_t			 n = x->id.n < y->id.n ? x->id.n : y->id.n;
	int			 c = memcmp(x->id.p, y->id.p, n);

	if (c == 0 && x->id.n != y->id.n)
		c = x->id.n < y->id.n ? -1 : 1;
	if (c == 0)
		c = x->order < y->order ? -1 : x->order > y->order;
	return c;
}

/* Newest first; listed first among equals. */
static int
by_created_desc(const void *a, const void *b)
{
	const struct ps_entry	*x = *(const struct ps_entry *const *)a;
	const struct ps_entry	*y = *(const struct ps_entry *const *)b;

	if (x->created != y->created)
		return x->created < y->created ? 1 : -1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct ps_out {
	char	*p;			/* owned */
	size_t	 n, cap;
};

static void
out_add(struct ps_out *o, const char *s, size_t n)
{
	if (o->n + n + 1 > o->cap) {
		o->cap = (o->n + n + 1) * 2;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
	o->p[o->n] = '\0';
}

static void
out_str(struct ps_out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* From a to b, both in the same entry's text. */
static void
out_span(struct ps_out *o, const char *a, const char *b)
{
	out_add(o, a, (size_t)(b - a));
}

/*
 * From `from` to the end of the object obj (a span of e's text), with one
 * member more before its closing brace: key_colon, owner, tail; then the
 * rest of the entry, to `end`.
 */
static void
out_with_member(struct ps_out *o, const char *from, const struct jscan_span
    *obj, const char *key_colon, const char *owner, const char *tail,
    const char *end)
{
	const char	*close = obj->p + obj->n - 1;	/* its '}' */

	out_span(o, from, close);
	if (jscan_ws(obj->p + 1, close) != close)
		out_str(o, ",");
	out_str(o, key_colon);
	out_str(o, owner);
	out_str(o, tail);
	out_span(o, close, end);
}

/* e's text with Labels[io.dockmux.backend] = owner (a JSON string). */
static void
ps_write(struct ps_out *o, const struct ps_entry *e, const char *owner)
{
	const char	*end = e->text.p + e->text.n;

	if (e->owner.p != NULL) {		/* the value replaced */
		out_span(o, e->text.p, e->owner.p);
		out_str(o, owner);
		out_span(o, e->owner.p + e->owner.n, end);
	} else if (e->labels.p != NULL && e->labels.p[0] == '{')
		out_with_member(o, e->text.p, &e->labels,
		    "\"" DM_LABEL_BACKEND "\":", owner, "", end);
	else if (e->labels.p != NULL) {		/* null, or not an object */
		out_span(o, e->text.p, e->labels.p);
		out_str(o, "{\"" DM_LABEL_BACKEND "\":");
		out_str(o, owner);
		out_str(o, "}");
		out_span(o, e->labels.p + e->labels.n, end);
	} else					/* no Labels at all */
		out_with_member(o, e->text.p, &e->text,
		    "\"Labels\":{\"" DM_LABEL_BACKEND "\":", owner, "}", end);
}

/*
 * The owner of a container listed by backend bi: the store's, when one
 * engine is configured twice; else bi.  Backend names are letters,
 * digits, '_', '.' and '-' (cfg.c; the store's come from there),
 * nothing JSON must escape.
 */
static void
owner_of(struct disp *d, const struct ps_entry *e, char *out, size_t len)
{
	struct store_route	 route;
	struct dm_err		 err;
	char			 id[STORE_ID_MAX];
	const char		*name = d->b[e->bi].cfg->name;

	if (e->id.n < sizeof(id)) {
		memcpy(id, e->id.p, e->id.n);
		id[e->id.n] = '\0';
		if (store_route_find(d->store, id, &route, &err) == 0 &&
		    strcmp(route.id, id) == 0) {
			snprintf(out, len, "\"%s\"", route.backend);
			return;
		}
	}
	snprintf(out, len, "\"%s\"", name);
}

/*
 * The merged list as JSON text, newest first, at most limit entries (<=
 * 0: all), each Id once (the first backend to list it).  Owned: free().
 */
static char *
ps_merge_text(struct disp *d, struct ps_merge *m, long limit)
{
	struct ps_entry	**v;
	struct ps_out	  o = { 0 };
	char		  owner[DM_MAX_NAME + 2];
	size_t		  i, k, nv;

	v = xcalloc(m->n + 1, sizeof(*v));
	for (i = 0; i < m->n; i++)
		v[i] = &m->v[i];
	qsort(v, m->n, sizeof(*v), by_id);
	for (i = 1; i < m->n; i++)
		v[i]->dup = v[i]->id.n == v[i - 1]->id.n &&
		    memcmp(v[i]->id.p, v[i - 1]->id.p, v[i]->id.n) == 0;
	for (i = nv = 0; i < m->n; i++)
		if (!v[i]->dup)
			v[nv++] = v[i];
	qsort(v, nv, sizeof(*v), by_created_desc);
	if (limit > 0 && (size_t)limit < nv)
		nv = (size_t)limit;
	out_str(&o, "[");
	for (k = 0; k < nv; k++) {
		if (k > 0)
			out_str(&o, ",");
		owner_of(d, v[k], owner, sizeof(owner));
		ps_write(&o, v[k], owner);
	}
	out_str(&o, "]\n");
	free(v);
	return o.p;
}

/* One merged list, from its start to its answer. */
struct ps_list {
	struct disp_pending	 pending;	/* first: the quick path's */
	struct disp		*d;
	const struct disp_req	*req;		/* borrowed */
	char			*query;		/* owned: sent to the engines */
	char			*path;		/* owned */
	size_t			 only;		/* the one backend asked, or -1 */
	long			 limit;		/* <= 0: all */
	int			 bad;		/* names no backend: [] */
	struct disp_slot	 s[DM_MAX_BACKENDS];
	struct disp_fan		*fan;		/* owned: begun without waiting */
};

/* The engines' query and path, and the slots to ask.  Owned: ps_free(). */
static struct ps_list *
ps_begin(const struct disp_ctx *ctx)
{
	struct ps_list		*ps = xcalloc(1, sizeof(*ps));
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	char			 lim[32];
	size_t			 i;

	ps->d = d;
	ps->req = req;
	ps->limit = -1;
	ps->query = strip_backend_filter(d, req->query, &ps->only, &ps->bad);
	if (disp_query_get(req->query, "limit", lim, sizeof(lim)))
		ps->limit = strtol(lim, NULL, 10);
	ps->path = xasprintf("%s%s%s", req->path, ps->query[0] ? "?" : "",
	    ps->query);
	disp_slots_init(d, ps->s, NULL, "GET", ps->path, ctx->fwd, NULL, 0);
	for (i = 0; i < d->n; i++) {
		ps->s[i].wanted = !ps->bad && (ps->only == (size_t)-1 ||
		    ps->only == i);
		ps->s[i].timeout_ms = DM_LIST_TIMEOUT_MS;
	}
	return ps;
}

static void
ps_free(struct ps_list *ps)
{
	disp_fan_free(ps->fan);
	disp_slots_free(ps->d, ps->s);
	free(ps->path);
	free(ps->query);
	free(ps);
}

/* 1 when a wanted slot failed: its stored containers may be listed. */
static int
ps_failed(const struct ps_list *ps)
{
	size_t	i;

	for (i = 0; i < ps->d->n; i++)
		if (ps->s[i].wanted && ps->s[i].status != 200)
			return 1;
	return 0;
}

/* Every slot answered (or failed): the merged list into r. */
static void
ps_answer(struct ps_list *ps, struct disp_reply *r)
{
	struct disp		*d = ps->d;
	struct disp_slot	*s = ps->s, *same;
	char			*stored_lists[DM_MAX_BACKENDS] = { 0 };
	struct ps_merge		 m = { 0 };
	char			 warn[1024];
	size_t			 i, ok = 0, wlen = 0;
	int			 stored;

	if (ps->bad) {
		disp_reply_json(r, 200, strdup("[]"));
		return;
	}
	warn[0] = '\0';
	for (i = 0; i < d->n; i++) {
		if (!s[i].wanted)
			continue;
		if (s[i].status != 200 || ps_merge_add(&m, s[i].answer,
		    s[i].answer_len, i) == -1) {
			char	why[300];

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
	}
	/*
	 * ps -a: a down backend's containers from the store, said down;
	 * also when that backend alone was asked for (its label filter).
	 */
	stored = wants_all(ps->req->query) && !has_filters(ps->query) &&
	    (ok > 0 || ps->only != (size_t)-1);
	for (i = 0; stored && i < d->n; i++)
		if (s[i].wanted && s[i].status != 200) {
			stored_lists[i] = stored_text(d, i);
			(void)ps_merge_add(&m, stored_lists[i],
			    strlen(stored_lists[i]), i);
		}
	if (ok == 0 && !stored && (same = disp_slots_same_error(d, s)) !=
	    NULL) {
		disp_reply_slot(r, same);	/* a bad filter, say */
		goto out;
	}
	if (ok == 0 && !stored) {
		disp_reply_error(r, DM_EBACKEND, warn[0] ? warn :
		    "no backend answered");
		goto out;
	}
	disp_reply_json(r, 200, ps_merge_text(d, &m, ps->limit));
	if (warn[0] != '\0')
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Warning", warn);
out:
	ps_merge_free(&m);
	for (i = 0; i < d->n; i++)
		free(stored_lists[i]);
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
	struct ps_list	*ps = ps_begin(ctx);

	if (!ps->bad)
		disp_slots_run(ps->d, ps->s);
	ps_answer(ps, r);
	ps_free(ps);
}

/*
 * The quick path's: the requests sent, the answers read as the stream
 * loop sees them come, merged there.  Not there: a failed backend's
 * stored containers (read from the store) nor answers past
 * DM_QUICK_MERGE_MAX (a merge that long would hold every other client
 * up); a worker answers those.
 */
static int
ps_pump(struct disp_pending *p, int *fd)
{
	struct ps_list	*ps = (struct ps_list *)(void *)p;
	size_t		 i, bytes = 0;

	*fd = -1;
	if (ps->bad)
		return 0;
	if (!disp_fan_pump(ps->fan, fd))
		return 1;
	for (i = 0; i < ps->d->n; i++)
		bytes += ps->s[i].answer_len;
	if (ps_failed(ps) || bytes > DM_QUICK_MERGE_MAX)
		return 1;	/* *fd -1: a worker's */
	return 0;
}

static void
ps_finish(struct disp_pending *p, struct disp_reply *r)
{
	struct ps_list	*ps = (struct ps_list *)(void *)p;

	if (ps->fan != NULL)
		disp_fan_finish(ps->fan);
	ps_answer(ps, r);
}

static void
ps_pending_free(struct disp_pending *p)
{
	ps_free((struct ps_list *)(void *)p);
}

struct disp_pending *
disp_list_containers_start(const struct disp_ctx *ctx)
{
	struct ps_list	*ps = ps_begin(ctx);

	if (!ps->bad && (ps->fan = disp_fan_start(ps->d, ps->s)) == NULL) {
		ps_free(ps);
		return NULL;
	}
	ps->pending.pump = ps_pump;
	ps->pending.finish = ps_finish;
	ps->pending.free = ps_pending_free;
	return &ps->pending;
}
