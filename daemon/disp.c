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
#include "lib/limits.h"
#include "lib/log.h"

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
	struct timespec		 started;
	struct dm_err		 err;
};

#define DISP_SETTLE_MS	2	/* for the rest of a small answer */

struct xfer_stream {
	struct disp_stream	 base;
	struct disp		*d;		/* a view reference */
	struct backend_xfer	*x;		/* owned */
};

struct disp_upgrade {
	struct disp		*d;		/* a view reference */
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
		disp_stream_release(r->upgrade->d);
		free(r->upgrade);
	}
	r->upgrade = NULL;
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

static void
finish_admin(struct disp_call *c, struct disp_reply *r)
{
	disp_admin_answer(c->d, c->req, c->body, c->body_len, r);
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
		c->mode = CALL_LOCAL;
		return;
	case ROUTE_ADMIN:
		c->mode = CALL_BUFFER;
		c->finish = finish_admin;
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
		if (req->kind != ROUTE_READ_FALLBACK &&
		    disp_backend_down(d, c->target, c->err.msg,
		    sizeof(c->err.msg))) {
			c->err.st = DM_EUNAVAIL;
			c->mode = CALL_FAILED;
			return;
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
disp_begin(struct dispatcher *root, const struct disp_req *req)
{
	struct disp_call	*c;
	struct disp		*d;
	struct backend_call	 bc;

	c = calloc(1, sizeof(*c));
	if (c == NULL)
		abort();
	d = disp_view_acquire(root);
	c->d = d;
	c->req = req;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	dm_hdrs_init(&c->fwd);
	dm_err_clear(&c->err);
	atomic_fetch_add(&root->active, 1);
	disp_forward_headers(req->hdrs, &c->fwd);
	c->target_path = disp_req_target(req);
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
		c->body[c->body_len] = '\0';	/* parsed as a C string */
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
	disp_stream_release(xs->d);
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
disp_reply_from_xfer(struct disp *d, struct disp_reply *r,
    struct backend_xfer *x)
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
	xs->d = d;
	disp_stream_hold(d);
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
	disp_reply_from_xfer(c->d, r, c->x);
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
	r->upgrade->d = c->d;
	disp_stream_hold(c->d);
}

static void	disp_end_inner(struct disp_call *, struct disp_reply *);

/* Which backend a call's metrics name. */
static const char *
metric_backend(const struct disp_call *c)
{
	switch (c->req->kind) {
	case ROUTE_LOCAL:
	case ROUTE_ADMIN:
		return "dockmux";
	case ROUTE_FANOUT:
		return c->mode == CALL_FORWARD && c->target < c->d->n ?
		    c->d->b[c->target].cfg->name : "all";
	case ROUTE_PRIMARY:
	case ROUTE_CREATE:
	case ROUTE_PER_CONTAINER:
	case ROUTE_PER_EXEC:
	case ROUTE_READ_FALLBACK:
	case ROUTE_HIJACK:
		break;
	}
	if (c->req->kind == ROUTE_CREATE || (c->req->kind == ROUTE_PRIMARY &&
	    c->mode == CALL_BUFFER))
		return "all";
	/* A route to a backend no longer configured has no index. */
	if (c->target >= c->d->n)
		return "none";
	return c->d->b[c->target].cfg->name;
}

static void
count_call(struct disp_call *c, const struct disp_reply *r)
{
	struct timespec	now;
	double		secs;
	const char	*be = dm_hdrs_get(&r->hdrs, "X-Dockmux-Backend");

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - c->started.tv_sec) +
	    (double)(now.tv_nsec - c->started.tv_nsec) / 1e9;
	disp_metrics_request(c->d->metrics, c->req->kind, be != NULL ? be :
	    metric_backend(c), r->status, secs);
}

void
disp_end(struct disp_call *c, struct disp_reply *r)
{
	disp_end_inner(c, r);
	count_call(c, r);
}

static void
disp_end_inner(struct disp_call *c, struct disp_reply *r)
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
	atomic_fetch_sub(&c->d->root->active, 1);
	disp_view_release(c->d);
	backend_xfer_free(c->x);
	dm_hdrs_clear(&c->fwd);
	free(c->target_path);
	free(c->body);
	free(c);
}
