/*
 * disp.c: the dispatcher's core: backends and their health, one call's
 * life (begin, body, end), plain forwarding and hijacked relays.
 */
/*
 * Threads: MHD connection threads call disp_begin/body/end/call_free for
 * their own call; the health thread writes disp->b[].health under
 * disp->lock, readers copy it out under the same lock.
 */

#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "daemon/limits.h"
#include "daemon/log.h"

enum call_mode {
	CALL_FAILED = 0,	/* err says why; answered at the end */
	CALL_LOCAL,		/* dockmuxd answers */
	CALL_FORWARD,		/* streamed both ways through libcurl */
	CALL_HIJACK,		/* body buffered, then a raw connection */
	CALL_BUFFER		/* body buffered, then finish() answers */
};

struct disp_call {
	struct disp		*d;
	const struct disp_req	*req;		/* borrowed from the front end */
	enum call_mode		 mode;
	size_t			 target;	/* index into d->b */
	struct dm_hdrs		 fwd;		/* headers sent to the engine */
	char			*target_path;	/* path and query sent */
	struct backend_xfer	*x;		/* CALL_FORWARD, until streamed */
	char			*body;		/* HIJACK, BUFFER: the body */
	size_t			 body_len;
	char			 ctr_id[STORE_ID_MAX]; /* owner-routed: full ID */
	void			(*finish)(struct disp_call *,
				    struct disp_reply *);
	struct dm_err		 err;
};

#define DISP_SETTLE_MS	2	/* for the rest of a small answer */

struct xfer_stream {
	struct disp_stream	 base;
	struct backend_xfer	*x;		/* owned */
};

struct disp_upgrade {
	struct backend_hijack	*hj;		/* owned */
};

/* ---- replies ---- */

void
disp_reply_init(struct disp_reply *r)
{
	memset(r, 0, sizeof(*r));
	dm_hdrs_init(&r->hdrs);
	r->length = -1;
}

void
disp_reply_json(struct disp_reply *r, int status, char *json_text)
{
	r->status = status;
	r->kind = DISP_REPLY_BODY;
	free(r->body);
	r->body = json_text;
	r->body_len = strlen(json_text);
	dm_hdrs_set(&r->hdrs, "Content-Type", "application/json");
}

void
disp_reply_error(struct disp_reply *r, enum dm_status st, const char *msg)
{
	struct json_object	*o;
	char			*text;

	o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(msg));
	text = strdup(json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	if (text == NULL)
		abort();
	disp_reply_json(r, dm_status_http(st), text);
}

void
disp_reply_free(struct disp_reply *r)
{
	dm_hdrs_clear(&r->hdrs);
	free(r->body);
	r->body = NULL;
	if (r->stream != NULL)
		r->stream->free(r->stream);
	r->stream = NULL;
	if (r->upgrade != NULL) {
		backend_hijack_free(r->upgrade->hj);
		free(r->upgrade);
	}
	r->upgrade = NULL;
}

/* ---- health ---- */

static void
copy_field(char *dst, size_t len, struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

static void
probe_one(struct disp *d, size_t i, void *arg)
{
	struct disp_backend	*db = &d->b[i];
	struct disp_health	 h;
	struct backend_call	 call = { .method = "GET", .path = "/version",
	    .timeout_ms = DM_PING_TIMEOUT_MS };
	struct json_object	*o = NULL;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status = 0, was_up, probed;

	(void)arg;
	memset(&h, 0, sizeof(h));
	dm_err_clear(&err);
	if (backend_do(db->be, &call, &status, &body, &len, NULL, &err) ==
	    -1) {
		snprintf(h.last_error, sizeof(h.last_error), "%s", err.msg);
	} else if (status != 200) {
		snprintf(h.last_error, sizeof(h.last_error),
		    "GET /version answered %d", status);
	} else if ((o = json_tokener_parse(body)) == NULL) {
		snprintf(h.last_error, sizeof(h.last_error),
		    "GET /version: not JSON");
	} else {
		h.up = 1;
		copy_field(h.api_version, sizeof(h.api_version), o,
		    "ApiVersion");
		copy_field(h.min_api_version, sizeof(h.min_api_version), o,
		    "MinAPIVersion");
		copy_field(h.os, sizeof(h.os), o, "Os");
		copy_field(h.arch, sizeof(h.arch), o, "Arch");
		copy_field(h.server_version, sizeof(h.server_version), o,
		    "Version");
		copy_field(h.kernel, sizeof(h.kernel), o, "KernelVersion");
	}
	json_object_put(o);
	free(body);
	/* Configured os/arch win over what the engine reports. */
	if (db->cfg->os != NULL)
		snprintf(h.os, sizeof(h.os), "%s", db->cfg->os);
	if (db->cfg->arch != NULL)
		snprintf(h.arch, sizeof(h.arch), "%s", db->cfg->arch);

	pthread_mutex_lock(&d->lock);
	was_up = db->health.up;
	probed = db->health.probed;
	if (!h.up) {
		/* Keep what was learnt while it was up. */
		memcpy(h.api_version, db->health.api_version,
		    sizeof(h.api_version));
		memcpy(h.min_api_version, db->health.min_api_version,
		    sizeof(h.min_api_version));
		memcpy(h.server_version, db->health.server_version,
		    sizeof(h.server_version));
		if (h.os[0] == '\0')
			memcpy(h.os, db->health.os, sizeof(h.os));
		if (h.arch[0] == '\0')
			memcpy(h.arch, db->health.arch, sizeof(h.arch));
	}
	h.since = (probed && was_up == h.up) ? db->health.since : time(NULL);
	h.probed = 1;
	db->health = h;
	pthread_mutex_unlock(&d->lock);

	if (!probed || was_up != h.up) {
		if (h.up)
			log_info("msg=\"backend up\" backend=%s api=%s os=%s "
			    "arch=%s", db->cfg->name, h.api_version, h.os,
			    h.arch);
		else
			log_warnx("msg=\"backend down\" backend=%s "
			    "reason=\"%s\"", db->cfg->name, h.last_error);
	}
}

void
disp_probe_all(struct disp *d)
{
	disp_each_backend(d, probe_one, NULL);
}

void
disp_health_copy(struct disp *d, size_t i, struct disp_health *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->b[i].health;
	pthread_mutex_unlock(&d->lock);
}

static void *
health_main(void *arg)
{
	struct disp	*d = arg;
	struct timespec	 ts;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += DISP_HEALTH_INTERVAL_MS / 1000;
		ts.tv_nsec += (DISP_HEALTH_INTERVAL_MS % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
		if (d->stopping)
			break;
		pthread_mutex_unlock(&d->lock);
		disp_probe_all(d);
		pthread_mutex_lock(&d->lock);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

struct each_arg {
	struct disp	*d;
	size_t		 i;
	void		(*fn)(struct disp *, size_t, void *);
	void		*arg;
};

static void *
each_main(void *p)
{
	struct each_arg	*a = p;

	a->fn(a->d, a->i, a->arg);
	return NULL;
}

void
disp_each_backend(struct disp *d, void (*fn)(struct disp *, size_t, void *),
    void **args)
{
	struct each_arg	a[DM_MAX_BACKENDS];
	pthread_t	t[DM_MAX_BACKENDS];
	int		started[DM_MAX_BACKENDS];
	size_t		i;

	if (d->n == 1) {
		fn(d, 0, args != NULL ? args[0] : NULL);
		return;
	}
	for (i = 0; i < d->n; i++) {
		a[i].d = d;
		a[i].i = i;
		a[i].fn = fn;
		a[i].arg = args != NULL ? args[i] : NULL;
		started[i] = pthread_create(&t[i], NULL, each_main, &a[i]) == 0;
		if (!started[i])
			fn(d, i, a[i].arg);
	}
	for (i = 0; i < d->n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
}

/* ---- the dispatcher ---- */

struct disp *
disp_new(const struct cfg *cfg, struct dm_err *err)
{
	struct disp	*d;
	size_t		 i;

	if (cfg->nbackends == 0) {
		dm_err_set(err, DM_EINTERNAL, "no backends configured");
		return NULL;
	}
	d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	d->cfg = cfg;
	d->n = cfg->nbackends;
	pthread_mutex_init(&d->lock, NULL);
	pthread_cond_init(&d->wake, NULL);
	atomic_init(&d->active, 0);
	for (i = 0; i < d->n; i++) {
		d->b[i].cfg = &cfg->backends[i];
		d->b[i].be = backend_new(cfg->backends[i].name,
		    cfg->backends[i].socket_path);
	}
	d->store = store_open(cfg->store, err);
	if (d->store == NULL) {
		disp_free(d);
		return NULL;
	}
	disp_probe_all(d);
	disp_reconcile(d);
	return d;
}

int
disp_start(struct disp *d)
{
	if (pthread_create(&d->health_thread, NULL, health_main, d) != 0)
		return -1;
	d->health_running = 1;
	return 0;
}

void
disp_free(struct disp *d)
{
	size_t	i;

	if (d == NULL)
		return;
	pthread_mutex_lock(&d->lock);
	d->stopping = 1;
	pthread_cond_broadcast(&d->wake);
	pthread_mutex_unlock(&d->lock);
	if (d->health_running)
		pthread_join(d->health_thread, NULL);
	for (i = 0; i < d->n; i++)
		backend_free(d->b[i].be);
	store_close(d->store);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}

unsigned int
disp_active_calls(const struct disp *d)
{
	return atomic_load(&((struct disp *)(uintptr_t)d)->active);
}

void
disp_forward_headers(const struct dm_hdrs *in, struct dm_hdrs *out)
{
	const char	*conn = dm_hdrs_get(in, "Connection");
	size_t		 i;

	for (i = 0; i < in->n; i++) {
		const char	*name = in->v[i].name;

		if (dm_hdr_is_hop_by_hop(name))
			continue;
		/* Headers the client's Connection header names are hop-by-hop
		 * too (RFC 9110 7.6.1). */
		if (conn != NULL && strcasestr(conn, name) != NULL)
			continue;
		(void)dm_hdrs_add(out, name, in->v[i].value);
	}
}

static char *
target_path(const struct disp_req *req)
{
	char	*p;

	if (asprintf(&p, "%s%s%s", req->path, req->query[0] != '\0' ? "?" :
	    "", req->query) == -1)
		abort();
	return p;
}

static void
finish_create(struct disp_call *c, struct disp_reply *r)
{
	disp_create(c->d, c->req, &c->fwd, c->body, c->body_len, r);
}

static void
finish_list(struct disp_call *c, struct disp_reply *r)
{
	disp_list_containers(c->d, c->req, &c->fwd, r);
}

/* POST /containers/{id}/exec: the answer's Id is remembered. */
static void
finish_exec_create(struct disp_call *c, struct disp_reply *r)
{
	struct backend_call	 bc;
	int			 status = 0;
	size_t			 len;

	memset(&bc, 0, sizeof(bc));
	bc.method = c->req->method;
	bc.path = c->target_path;
	bc.hdrs = &c->fwd;
	bc.body = c->body != NULL ? c->body : "";
	bc.body_len = c->body_len;
	bc.timeout_ms = 60000;
	if (backend_do(c->d->b[c->target].be, &bc, &status, &r->body, &len,
	    &r->hdrs, &c->err) == -1) {
		disp_reply_error(r, c->err.st, c->err.msg);
		return;
	}
	r->status = status;
	r->body_len = len;
	r->kind = DISP_REPLY_BODY;
	if (status == 201)
		disp_exec_created(c->d, c->ctr_id, r->body);
}

static void
finish_pull(struct disp_call *c, struct disp_reply *r)
{
	disp_pull(c->d, c->req, &c->fwd, r);
}

static void
finish_list_images(struct disp_call *c, struct disp_reply *r)
{
	disp_list_images(c->d, c->req, &c->fwd, r);
}

static void
finish_prune(struct disp_call *c, struct disp_reply *r)
{
	disp_prune(c->d, c->req, &c->fwd, r);
}

static void
finish_image_each(struct disp_call *c, struct disp_reply *r)
{
	disp_image_each(c->d, c->req, &c->fwd, r);
}

static int
ends_with(const char *s, const char *tail)
{
	size_t	n = strlen(s), t = strlen(tail);

	return n >= t && strcmp(s + n - t, tail) == 0;
}

/* Image requests that are not fan-outs: by platform, every holder, or
 * the first holder.  0 when c->mode/target are set, else -1. */
static int
plan_image(struct disp_call *c)
{
	const struct disp_req	*req = c->req;
	char			 v[8];

	if (strcmp(req->rest, "/images/load") == 0 ||
	    (strcmp(req->rest, "/images/create") == 0 &&
	    !disp_query_get(req->query, "fromImage", v, sizeof(v)))) {
		c->target = disp_platform_backend(c->d, req);
		return -1;
	}
	if (strcmp(req->rest, "/images/create") == 0) {
		c->mode = CALL_BUFFER;
		c->finish = finish_pull;
		return 0;
	}
	if (strcmp(req->method, "DELETE") == 0 ||
	    (strcmp(req->method, "POST") == 0 && ends_with(req->rest,
	    "/tag"))) {
		c->mode = CALL_BUFFER;
		c->finish = finish_image_each;
		return 0;
	}
	if (ends_with(req->rest, "/json") || ends_with(req->rest, "/history")
	    || ends_with(req->rest, "/push") || ends_with(req->rest, "/get")) {
		if (disp_image_route(c->d, req, &c->target, &c->err) == -1) {
			c->mode = CALL_FAILED;
			return 0;
		}
	}
	return -1;
}

static void
finish_events(struct disp_call *c, struct disp_reply *r)
{
	disp_events(c->d, c->req, &c->fwd, r);
}

static void
finish_replicate(struct disp_call *c, struct disp_reply *r)
{
	disp_netvol_replicate(c->d, c->req, &c->fwd, c->body, c->body_len, r);
}

static void
finish_first_holder(struct disp_call *c, struct disp_reply *r)
{
	disp_first_holder(c->d, c->req, &c->fwd, r);
}

static void
finish_netvol_list(struct disp_call *c, struct disp_reply *r)
{
	disp_netvol_list(c->d, c->req, &c->fwd, r);
}

static void
finish_connect(struct disp_call *c, struct disp_reply *r)
{
	disp_network_connect(c->d, c->req, &c->fwd, c->body, c->body_len, r);
}

static void
finish_df(struct disp_call *c, struct disp_reply *r)
{
	disp_system_df(c->d, c->req, &c->fwd, r);
}

/* Networks, volumes, system df: 0 when planned, -1 for the primary. */
static int
plan_netvol(struct disp_call *c)
{
	const struct disp_req	*req = c->req;
	const char		*top = req->res == RES_NETWORKS ? "/networks" :
	    "/volumes";
	size_t			 tl = strlen(top);
	int			 get = strcmp(req->method, "GET") == 0;
	int			 post = strcmp(req->method, "POST") == 0;

	c->mode = CALL_BUFFER;
	if (req->res == RES_SYSTEM) {
		if (get && strcmp(req->rest, "/system/df") == 0) {
			c->finish = finish_df;
			return 0;
		}
		return -1;
	}
	if (get && (strcmp(req->rest, top) == 0 ||
	    (strncmp(req->rest, top, tl) == 0 && strcmp(req->rest + tl, "/")
	    == 0)))
		c->finish = finish_netvol_list;
	else if (post && strncmp(req->rest + tl, "/create", 7) == 0)
		c->finish = finish_replicate;
	else if (post && strncmp(req->rest + tl, "/prune", 6) == 0)
		c->finish = finish_prune;
	else if (strcmp(req->method, "DELETE") == 0)
		c->finish = finish_replicate;
	else if (post && (ends_with(req->rest, "/connect") ||
	    ends_with(req->rest, "/disconnect")))
		c->finish = finish_connect;
	else if (get)
		c->finish = finish_first_holder;
	else
		return -1;
	return 0;
}

static void
finish_read(struct disp_call *c, struct disp_reply *r)
{
	disp_read_fallback(c->d, c->req, &c->fwd, c->target, c->target_path,
	    c->ctr_id, r);
}

/*
 * Decide how a request is served and by which backend: answered here,
 * buffered for a handler, relayed raw, or streamed to one backend.
 */
static void
plan(struct disp_call *c)
{
	struct disp		*d = c->d;
	const struct disp_req	*req = c->req;
	char			*path = NULL;

	c->target = 0;
	switch (req->kind) {
	case ROUTE_LOCAL:
	case ROUTE_ADMIN:
		c->mode = CALL_LOCAL;
		return;
	case ROUTE_CREATE:
		c->mode = CALL_BUFFER;
		c->finish = finish_create;
		return;
	case ROUTE_FANOUT:
		c->mode = CALL_BUFFER;
		if (strcmp(req->action, "prune") == 0) {
			c->finish = finish_prune;
			return;
		}
		if (req->res == RES_CONTAINERS &&
		    strcmp(req->action, "list") == 0) {
			c->finish = finish_list;
			return;
		}
		if (req->res == RES_IMAGES && strcmp(req->action, "list") == 0) {
			c->finish = finish_list_images;
			return;
		}
		if (req->res == RES_IMAGES && plan_image(c) == 0)
			return;
		if (req->res == RES_EVENTS) {
			c->finish = finish_events;
			return;
		}
		break;
	case ROUTE_PER_CONTAINER:
	case ROUTE_PER_EXEC:
	case ROUTE_READ_FALLBACK:
	case ROUTE_HIJACK:
		if (disp_route_request(d, req, &c->target, &path, c->ctr_id,
		    &c->err) == -1) {
			c->mode = CALL_FAILED;
			return;
		}
		if (path != NULL) {
			free(c->target_path);
			c->target_path = path;
		}
		if (req->kind == ROUTE_PER_CONTAINER &&
		    strcmp(req->method, "POST") == 0 &&
		    strcmp(req->action, "exec") == 0) {
			c->mode = CALL_BUFFER;
			c->finish = finish_exec_create;
			return;
		}
		if (req->kind == ROUTE_HIJACK && req->wants_upgrade) {
			c->mode = CALL_HIJACK;
			return;
		}
		if (req->kind == ROUTE_READ_FALLBACK) {
			c->mode = CALL_BUFFER;
			c->finish = finish_read;
			return;
		}
		break;
	case ROUTE_PRIMARY:
		if (req->res == RES_IMAGES && plan_image(c) == 0)
			return;
		if ((req->res == RES_NETWORKS || req->res == RES_VOLUMES ||
		    req->res == RES_SYSTEM) && plan_netvol(c) == 0)
			return;
		if (req->res == RES_BUILD)
			c->target = disp_platform_backend(d, req);
		break;
	}
	c->mode = CALL_FORWARD;
}

struct disp_call *
disp_begin(struct disp *d, const struct disp_req *req)
{
	struct disp_call	*c;
	struct backend_call	 bc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	c->d = d;
	c->req = req;
	dm_hdrs_init(&c->fwd);
	dm_err_clear(&c->err);
	atomic_fetch_add(&d->active, 1);
	disp_forward_headers(req->hdrs, &c->fwd);
	c->target_path = target_path(req);
	plan(c);
	if (c->mode != CALL_FORWARD)
		return c;
	memset(&bc, 0, sizeof(bc));
	bc.method = req->method;
	bc.path = c->target_path;
	bc.hdrs = &c->fwd;
	bc.body_streamed = req->has_body;
	bc.body_size = req->body_size;
	c->x = backend_xfer_start(d->b[c->target].be, &bc, &c->err);
	if (c->x == NULL) {
		c->mode = CALL_FAILED;
		log_warnx("msg=\"forward failed\" backend=%s path=%s "
		    "reason=\"%s\"", d->b[c->target].cfg->name, req->path,
		    c->err.msg);
	}
	return c;
}

void
disp_body(struct disp_call *c, const char *data, size_t len)
{
	char	*nb;

	switch (c->mode) {
	case CALL_FORWARD:
		if (backend_xfer_send(c->x, data, len, &c->err) == -1) {
			log_warnx("msg=\"upload failed\" backend=%s "
			    "reason=\"%s\"", c->d->b[c->target].cfg->name,
			    c->err.msg);
			backend_xfer_free(c->x);
			c->x = NULL;
			c->mode = CALL_FAILED;
		}
		break;
	case CALL_HIJACK:
	case CALL_BUFFER:
		if (c->body_len + len > DM_MAX_CREATE_BODY) {
			dm_err_set(&c->err, DM_ETOOBIG, "request body too "
			    "large");
			c->mode = CALL_FAILED;
			break;
		}
		nb = realloc(c->body, c->body_len + len + 1);
		if (nb == NULL)
			abort();
		c->body = nb;
		memcpy(c->body + c->body_len, data, len);
		c->body_len += len;
		break;
	case CALL_LOCAL:
	case CALL_FAILED:
		break;
	}
}

static ssize_t
xfer_stream_read(struct disp_stream *s, char *buf, size_t len, int watch_fd)
{
	struct xfer_stream	*xs = (struct xfer_stream *)s;

	return backend_xfer_read(xs->x, buf, len, watch_fd);
}

static void
xfer_stream_free(struct disp_stream *s)
{
	struct xfer_stream	*xs = (struct xfer_stream *)s;

	backend_xfer_free(xs->x);
	free(xs);
}

/* The engine's head, minus what the transport sets itself. */
static void
copy_reply_headers(const struct dm_hdrs *in, struct dm_hdrs *out)
{
	size_t	i;

	for (i = 0; i < in->n; i++)
		if (!dm_hdr_is_hop_by_hop(in->v[i].name))
			(void)dm_hdrs_add(out, in->v[i].name, in->v[i].value);
}

/*
 * A reply carrying the engine's answer; takes x.  An answer that arrived
 * whole with its head goes back as one fixed-length body (one write to
 * the client); anything else streams as it comes.
 */
void
disp_reply_from_xfer(struct disp_reply *r, struct backend_xfer *x)
{
	struct xfer_stream	*xs;
	struct dm_err		 err;

	r->status = backend_xfer_status(x);
	copy_reply_headers(backend_xfer_headers(x), &r->hdrs);
	backend_xfer_settle(x, DISP_SETTLE_MS);
	if (backend_xfer_complete(x) && backend_xfer_slurp(x, DM_STREAM_CHUNK,
	    &r->body, &r->body_len, &err) == 0) {
		r->kind = DISP_REPLY_BODY;
		backend_xfer_free(x);
		return;
	}
	r->kind = DISP_REPLY_STREAM;
	r->length = backend_xfer_length(x);
	xs = calloc(1, sizeof(*xs));
	if (xs == NULL)
		abort();
	xs->base.read = xfer_stream_read;
	xs->base.free = xfer_stream_free;
	xs->x = x;
	r->stream = &xs->base;
}

static void
end_forward(struct disp_call *c, struct disp_reply *r)
{
	if (backend_xfer_head(c->x, c->req->client_fd, &c->err) == -1) {
		log_warnx("msg=\"engine did not answer\" backend=%s path=%s "
		    "reason=\"%s\"", c->d->b[c->target].cfg->name,
		    c->req->path, c->err.msg);
		disp_reply_error(r, c->err.st, c->err.msg);
		return;
	}
	disp_route_after(c->d, c->req, c->ctr_id, backend_xfer_status(c->x));
	disp_reply_from_xfer(r, c->x);
	c->x = NULL;
}

static void
end_hijack(struct disp_call *c, struct disp_reply *r)
{
	struct backend_call	 bc;
	struct backend_hijack	*hj;
	const char		*body;
	size_t			 len;

	memset(&bc, 0, sizeof(bc));
	bc.method = c->req->method;
	bc.path = c->target_path;
	bc.hdrs = &c->fwd;
	bc.body = c->body;
	bc.body_len = c->body_len;
	hj = backend_hijack_open(c->d->b[c->target].be, &bc, &c->err);
	if (hj == NULL) {
		log_warnx("msg=\"hijack failed\" backend=%s path=%s "
		    "reason=\"%s\"", c->d->b[c->target].cfg->name,
		    c->req->path, c->err.msg);
		disp_reply_error(r, c->err.st, c->err.msg);
		return;
	}
	r->status = backend_hijack_status(hj);
	copy_reply_headers(backend_hijack_headers(hj), &r->hdrs);
	if (!backend_hijack_upgraded(hj)) {
		body = backend_hijack_body(hj, &len);
		r->kind = DISP_REPLY_BODY;
		r->body = malloc(len + 1);
		if (r->body == NULL)
			abort();
		memcpy(r->body, body, len);
		r->body[len] = '\0';
		r->body_len = len;
		backend_hijack_free(hj);
		return;
	}
	r->status = 101;
	r->kind = DISP_REPLY_UPGRADE;
	dm_hdrs_set(&r->hdrs, "Upgrade", "tcp");
	r->upgrade = calloc(1, sizeof(*r->upgrade));
	if (r->upgrade == NULL)
		abort();
	r->upgrade->hj = hj;
}

void
disp_end(struct disp_call *c, struct disp_reply *r)
{
	disp_reply_init(r);
	switch (c->mode) {
	case CALL_LOCAL:
		disp_local_answer(c->d, c->req, r);
		break;
	case CALL_FORWARD:
		end_forward(c, r);
		break;
	case CALL_HIJACK:
		end_hijack(c, r);
		break;
	case CALL_BUFFER:
		c->finish(c, r);
		break;
	case CALL_FAILED:
		disp_reply_error(r, c->err.st != DM_OK ? c->err.st :
		    DM_EINTERNAL, c->err.msg[0] != '\0' ? c->err.msg :
		    "internal error");
		break;
	}
}

int
disp_relay(struct disp_reply *r, int client_fd, const char *extra,
    size_t extra_len)
{
	if (r->upgrade == NULL)
		return -1;
	return backend_hijack_relay(r->upgrade->hj, client_fd, extra,
	    extra_len);
}

void
disp_call_free(struct disp_call *c)
{
	if (c == NULL)
		return;
	atomic_fetch_sub(&c->d->active, 1);
	backend_xfer_free(c->x);
	dm_hdrs_clear(&c->fwd);
	free(c->target_path);
	free(c->body);
	free(c);
}
