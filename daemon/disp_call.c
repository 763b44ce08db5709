/*
 * disp_call.c: one call's life: begin (plan it by its endpoint row),
 * body, end (forward, hijack, or the row's handler) and free.  The top
 * of the dispatcher: handlers are reached through the endpoint table
 * (disp_table.c) and never call back into this file.
 */
/*
 * Threads: MHD connection threads call disp_begin/body/end/call_free for
 * their own call.
 */

#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

enum call_mode {
	CALL_FAILED = 0,	/* err says why; answered at the end */
	CALL_LOCAL,		/* dockmuxd answers; no body is kept */
	CALL_FORWARD,		/* streamed both ways through libcurl */
	CALL_HIJACK,		/* body buffered, then a raw connection */
	CALL_BUFFER,		/* body buffered, then the row's handler */
	CALL_PENDING,		/* the row's handler begun without waiting */
	CALL_BODY_FIRST		/* failed, but a bad body is said first */
};

struct disp_call {
	struct disp		*d;
	const struct disp_req	*req;		/* &rq */
	struct disp_req		 rq;		/* the front end's, query maybe
						 * scoped (strings borrowed) */
	char			*query;		/* owned: a scoped query */
	struct disp_access	 acc;		/* the peer's standing */
	int			 denied;	/* refused by the policy */
	enum call_mode		 mode;
	size_t			 target;	/* index into d->b */
	struct dm_hdrs		 fwd;		/* headers sent to the engine */
	char			*target_path;	/* path and query sent */
	struct backend_xfer	*x;		/* CALL_FORWARD, until streamed */
	struct disp_pending	*pending;	/* owned: CALL_PENDING's */
	int			 pending_fd;	/* what it waits for; -1: a
						   worker ends it */
	char			*body;		/* HIJACK, BUFFER: the body */
	size_t			 body_len;
	char			 ctr_id[STORE_ID_MAX]; /* owner-routed: full ID */
	struct timespec		 started;
	int			 head_in;	/* disp_end_within() has it */
	int			 head_failed;	/* ... or failed: err says */
	struct dm_err		 err;
};

static void
call_ctx(const struct disp_call *c, struct disp_ctx *x)
{
	x->d = c->d;
	x->req = c->req;
	x->fwd = &c->fwd;
	x->body = c->body;
	x->body_len = c->body_len;
	x->target = c->target;
	x->path = c->target_path;
	x->ctr_id = c->ctr_id;
	x->access = &c->acc;
}

/* -1 with c->err (503) when the target backend is down. */
static int
check_up(struct disp_call *c)
{
	if (!disp_backend_down(c->d, c->target, c->err.msg,
	    sizeof(c->err.msg)))
		return 0;
	c->err.st = DM_EUNAVAIL;
	return -1;
}

/*
 * The backend a row's target names.  0 with c->target set; -1 with c->err
 * (a container or exec nobody owns, an image nobody holds, an owner that
 * is down).
 */
static int
pick_target(struct disp_call *c)
{
	const struct disp_req	*req = c->req;
	char			*path = NULL;

	c->target = 0;
	switch (req->ep->target) {
	case TARGET_PRIMARY:
		return 0;
	case TARGET_PLATFORM:
		c->target = disp_platform_backend(c->d, req);
		return 0;
	case TARGET_IMAGE_HOLDER:
		return disp_image_route(c->d, req, &c->target, &c->err);
	case TARGET_LINK_OWNER:
		if (disp_resolve_link(c->d, req, &c->target, &c->err) == -1)
			return -1;
		return check_up(c);
	case TARGET_OWNER:
		break;
	}
	if (disp_route_request(c->d, req, &c->target, &path, c->ctr_id,
	    &c->err) == -1)
		return -1;
	if (path != NULL) {
		free(c->target_path);
		c->target_path = path;
	}
	/* Reads fall back to other backends; everything else needs the
	 * owner itself. */
	return req->kind == ROUTE_READ_FALLBACK ? 0 : check_up(c);
}

/*
 * How the call is served, from its row: answered here, buffered for the
 * row's handler, relayed raw, or streamed to the target backend.
 */
static void
plan(struct disp_call *c)
{
	const struct disp_req	*req = c->req;

	if (pick_target(c) == -1)
		/* dockerd reads a JSON body before it looks the object up. */
		c->mode = req->ep->json_body ? CALL_BODY_FIRST : CALL_FAILED;
	else if (disp_access_owner(c->d, &c->acc, req, c->target, c->ctr_id,
	    &c->err) == -1)
		c->mode = CALL_FAILED;	/* another peer's: as if absent */
	else if (req->kind == ROUTE_LOCAL)
		c->mode = CALL_LOCAL;
	else if (req->ep->serve != NULL)
		c->mode = CALL_BUFFER;
	else if (req->kind == ROUTE_HIJACK && req->wants_upgrade)
		c->mode = CALL_HIJACK;
	else
		c->mode = CALL_FORWARD;
}

struct disp_call *
disp_begin(struct dispatcher *root, const struct disp_req *req)
{
	struct disp_call	*c;
	struct disp		*d;
	struct backend_call	 bc;
	struct disp_ctx		 x;

	c = xcalloc(1, sizeof(*c));
	c->pending_fd = -1;
	d = disp_view_acquire(root);
	c->d = d;
	c->rq = *req;
	c->req = req = &c->rq;
	clock_gettime(CLOCK_MONOTONIC, &c->started);
	dm_hdrs_init(&c->fwd);
	dm_err_clear(&c->err);
	atomic_fetch_add(&root->active, 1);
	if (disp_access_decide(d->cfg, req->peer, &c->acc, &c->err) == -1 ||
	    disp_access_request(&c->acc, req, &c->err) == -1) {
		/* 403, or 404 for a read of an endpoint dockmux does not know */
		c->denied = 1;
		c->mode = CALL_FAILED;
		c->target_path = disp_req_target(req);
		return c;
	}
	if ((c->query = disp_access_query(&c->acc, req)) != NULL)
		c->rq.query = c->query;
	c->target_path = disp_req_target(req);
	if (dm_hdrs_copy_end_to_end(req->hdrs, &c->fwd) == -1) {
		dm_err_set(&c->err, DM_EBADREQ, "too many request headers");
		c->mode = CALL_FAILED;
		return c;
	}
	plan(c);
	/* A bodyless call whose handler can begin without waiting does. */
	if (c->mode == CALL_BUFFER && req->ep->start != NULL &&
	    !req->has_body) {
		call_ctx(c, &x);
		if ((c->pending = req->ep->start(&x)) != NULL)
			c->mode = CALL_PENDING;
	}
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
		    "reason=%s", d->b[c->target].cfg->name, log_q(req->path),
		    log_q(c->err.msg));
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
			    "reason=%s", c->d->b[c->target].cfg->name,
			    log_q(c->err.msg));
			backend_xfer_free(c->x);
			c->x = NULL;
			c->mode = CALL_FAILED;
		}
		break;
	case CALL_HIJACK:
	case CALL_BUFFER:
	case CALL_BODY_FIRST:
		if (c->body_len + len > DM_MAX_CREATE_BODY) {
			dm_err_set(&c->err, DM_ETOOBIG, "request body too "
			    "large");
			c->mode = CALL_FAILED;
			break;
		}
		nb = xrealloc(c->body, c->body_len + len + 1);
		c->body = nb;
		memcpy(c->body + c->body_len, data, len);
		c->body_len += len;
		c->body[c->body_len] = '\0';	/* parsed as a C string */
		break;
	case CALL_LOCAL:
	case CALL_PENDING:	/* begun only without a body */
	case CALL_FAILED:
		break;
	}
}

int
disp_body_blocks(const struct disp_call *c)
{
	return c->mode == CALL_FORWARD;
}

/*
 * An inspect (GET /containers/{id}/json, /exec/{id}/json,
 * /images/{name}/json): one JSON document that every client reads whole.
 */
static int
is_inspect(const struct disp_req *req)
{
	size_t	n = strlen(req->rest);

	return strcmp(req->method, "GET") == 0 &&
	    req->kind != ROUTE_FANOUT && n > 5 &&
	    strcmp(req->rest + n - 5, "/json") == 0 &&
	    (req->res == RES_CONTAINERS || req->res == RES_EXEC ||
	    req->res == RES_IMAGES);
}

static void
end_forward(struct disp_call *c, struct disp_reply *r)
{
	if (c->head_failed || (!c->head_in &&
	    backend_xfer_head(c->x, c->req->client_fd, &c->err) == -1)) {
		log_warnx("msg=\"engine did not answer\" backend=%s path=%s "
		    "reason=%s", c->d->b[c->target].cfg->name,
		    log_q(c->req->path), log_q(c->err.msg));
		disp_reply_error(r, c->err.st, c->err.msg);
		return;
	}
	disp_route_after(c->d, c->req, c->ctr_id, backend_xfer_status(c->x));
	disp_reply_from_xfer(c->d, r, c->x);
	c->x = NULL;
	/*
	 * A whole inspect goes back with its length even when the engine
	 * chunked it: dockerd itself chunks a document only when it outgrows
	 * Go's 2 KiB response buffer, and one write of head and body saves
	 * the client two wake-ups (and dockmuxd two sends).  Streams, and
	 * line-per-chunk answers like a build's, keep the engine's framing.
	 */
	if (r->kind == DISP_REPLY_BODY && r->chunked && is_inspect(c->req))
		r->chunked = 0;
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
	bc.upgrade = c->req->upgrade;
	hj = backend_hijack_open(c->d->b[c->target].be, &bc, &c->err);
	if (hj == NULL) {
		log_warnx("msg=\"hijack failed\" backend=%s path=%s "
		    "reason=%s", c->d->b[c->target].cfg->name,
		    log_q(c->req->path), log_q(c->err.msg));
		disp_reply_error(r, c->err.st, c->err.msg);
		return;
	}
	if (disp_reply_head(r, backend_hijack_headers(hj)) == -1) {
		backend_hijack_free(hj);
		return;
	}
	r->status = backend_hijack_status(hj);
	if (!backend_hijack_upgraded(hj)) {
		body = backend_hijack_body(hj, &len);
		r->kind = DISP_REPLY_BODY;
		r->body = xmalloc(len + 1);
		memcpy(r->body, body, len);
		r->body[len] = '\0';
		r->body_len = len;
		backend_hijack_free(hj);
		return;
	}
	disp_reply_upgrade(c->d, r, hj, c->req->upgrade);
}

/*
 * A body that is not a JSON object: 400, as dockerd answers before it
 * looks up the container, exec or network the path names.  1 when r is
 * that answer.
 */
static int
body_refused(const struct disp_call *c, struct disp_reply *r)
{
	struct json_tokener	*tok;
	struct json_object	*o;
	char			 msg[200];
	int			 bad;

	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, c->body != NULL ? c->body : "",
	    (int)c->body_len);
	bad = o == NULL || !json_object_is_type(o, json_type_object);
	if (c->body_len == 0)
		snprintf(msg, sizeof(msg), "invalid JSON in the request body: "
		    "empty body");
	else if (o == NULL && json_tokener_get_error(tok) ==
	    json_tokener_continue)
		snprintf(msg, sizeof(msg), "invalid JSON in the request body: "
		    "unexpected end of JSON input");
	else if (bad)
		snprintf(msg, sizeof(msg), "invalid JSON in the request body: "
		    "%s", o == NULL ? json_tokener_error_desc(
		    json_tokener_get_error(tok)) : "not an object");
	json_object_put(o);
	json_tokener_free(tok);
	if (bad)
		disp_reply_error(r, DM_EBADREQ, msg);
	return bad;
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
count_call(struct disp_call *c, const struct disp_reply *r, const char *be)
{
	struct timespec	now;
	double		secs;

	clock_gettime(CLOCK_MONOTONIC, &now);
	secs = (double)(now.tv_sec - c->started.tv_sec) +
	    (double)(now.tv_nsec - c->started.tv_nsec) / 1e9;
	disp_metrics_request(c->d->metrics, c->req->kind, be, r->status, secs);
}

/*
 * With a policy, every denied and every mutating request is one line:
 * who, what, where it went, the verdict and the rule that gave it.
 */
static void
log_access(const struct disp_call *c, const struct disp_reply *r,
    const char *be)
{
	const char	*m = c->req->method;

	if (!c->acc.policed || (!c->denied && (strcmp(m, "GET") == 0 ||
	    strcmp(m, "HEAD") == 0)))
		return;
	log_info("msg=\"access\" uid=%ld pid=%ld method=%s path=%s "
	    "backend=%s verdict=%s grant=%s rule=%s status=%d",
	    (long)c->req->peer->uid, (long)c->req->peer->pid, log_q(m),
	    log_q(c->req->path), be, c->denied ? "deny" : "allow",
	    c->denied && c->acc.rule == NULL ? "none" :
	    disp_access_grant_name(c->acc.grant),
	    log_q(c->acc.rule != NULL ? c->acc.rule->name :
	    c->acc.peer != NULL && c->acc.peer->uid == 0 ? "root" : "none"),
	    r->status);
}

void
disp_end(struct disp_call *c, struct disp_reply *r)
{
	const char	*be;

	disp_end_inner(c, r);
	/* Which backend served it: the answer's header, else the call's. */
	if ((be = dm_hdrs_get(&r->hdrs, "X-Dockmux-Backend")) == NULL)
		be = metric_backend(c);
	count_call(c, r, be);
	log_access(c, r, be);
	log_debug("msg=\"request\" method=%s path=%s status=%d backend=%s",
	    log_q(c->req->method), log_q(c->req->path), r->status, be);
}

static void
disp_end_inner(struct disp_call *c, struct disp_reply *r)
{
	struct disp_ctx	x;

	disp_reply_init(r);
	if ((c->mode == CALL_BUFFER || c->mode == CALL_HIJACK) &&
	    disp_access_body(c->d, &c->acc, c->req, &c->body, &c->body_len,
	    &c->err) == -1) {
		c->denied = c->err.st == DM_EFORBIDDEN;
		c->mode = CALL_FAILED;
	}
	switch (c->mode) {
	case CALL_FORWARD:
		end_forward(c, r);
		break;
	case CALL_HIJACK:
		end_hijack(c, r);
		break;
	case CALL_LOCAL:
	case CALL_BUFFER:
		call_ctx(c, &x);
		c->req->ep->serve(&x, r);
		break;
	case CALL_PENDING:
		c->pending->finish(c->pending, r);
		break;
	case CALL_BODY_FIRST:
		if (body_refused(c, r))
			break;
		/* FALLTHROUGH */
	case CALL_FAILED:
		disp_reply_error(r, c->err.st != DM_OK ? c->err.st :
		    DM_EINTERNAL, c->err.msg[0] != '\0' ? c->err.msg :
		    "internal error");
		break;
	}
}

/*
 * A row whose handler begins without waiting, asked without a body: 1
 * when every backend it may ask is down or local with an idle
 * connection (as for a forward below).
 */
static int
quick_start_ok(struct disp *d, const struct disp_req *req)
{
	size_t	i;

	if (req->ep->start == NULL || req->has_body || req->wants_upgrade ||
	    strcmp(req->method, "GET") != 0)
		return 0;
	for (i = 0; i < d->n; i++)
		if (!disp_backend_down(d, i, NULL, 0) &&
		    (backend_is_remote(d->b[i].be) ||
		    !backend_has_idle(d->b[i].be)))
			return 0;
	return 1;
}

int
disp_quick_ok(struct dispatcher *root, const struct disp_req *req)
{
	struct disp		*d;
	struct store_route	 route;
	struct dm_err		 err;
	char			 ref[DISP_ID_MAX];
	size_t			 bi;
	int			 ok;

	if (req->ep != NULL && req->ep->start != NULL) {
		d = disp_view_acquire(root);
		ok = quick_start_ok(d, req);
		disp_view_release(d);
		return ok;
	}
	/* A plain forward to a container's owner, nothing sent after. */
	if (req->has_body || req->wants_upgrade || req->ep == NULL ||
	    req->kind != ROUTE_PER_CONTAINER || req->ep->serve != NULL ||
	    req->ep->target != TARGET_OWNER || req->res == RES_EXEC ||
	    req->id[0] == '\0' || (strcmp(req->method, "GET") != 0 &&
	    strcmp(req->method, "HEAD") != 0))
		return 0;
	/* Routed already (no engine asked on a miss), to an engine that is
	 * up, local, with an idle connection. */
	d = disp_view_acquire(root);
	disp_url_decode(req->id, strlen(req->id), ref, sizeof(ref));
	ok = store_route_find(d->store, ref, &route, &err) == 0 &&
	    (bi = disp_backend_index(d, route.backend)) != (size_t)-1 &&
	    !disp_backend_down(d, bi, NULL, 0) &&
	    backend_has_idle(d->b[bi].be);
	disp_view_release(d);
	return ok;
}

/* A pending handler's answers, looked for (waiting up to ms): 0 all in. */
static int
pump_within(struct disp_call *c, int ms)
{
	struct pollfd	pfd;

	if (c->pending->pump(c->pending, &c->pending_fd) == 0)
		return 0;
	if (ms <= 0 || c->pending_fd == -1)
		return 1;
	pfd.fd = c->pending_fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, ms) <= 0)
		return 1;
	return c->pending->pump(c->pending, &c->pending_fd);
}

int
disp_end_within(struct disp_call *c, struct disp_reply *r, int ms)
{
	int	rc;

	if (c->mode == CALL_PENDING) {
		if (pump_within(c, ms) == 1)
			return 1;
		disp_end(c, r);
		return 0;
	}
	if (c->mode != CALL_FORWARD)
		return 1;
	rc = backend_xfer_head_within(c->x, c->req->client_fd, ms, &c->err);
	if (rc == 1)
		return 1;
	/* The head is in (or the exchange failed): nothing left waits long. */
	c->head_in = rc == 0;
	c->head_failed = rc == -1;
	disp_end(c, r);
	return 0;
}

int
disp_call_fd(const struct disp_call *c)
{
	if (c->mode == CALL_PENDING)
		return c->pending_fd;
	return c->mode == CALL_FORWARD && c->x != NULL ?
	    backend_xfer_fd(c->x) : -1;
}

void
disp_call_free(struct disp_call *c)
{
	if (c == NULL)
		return;
	/* The exchanges first: they were started on this view's backends. */
	backend_xfer_free(c->x);
	if (c->pending != NULL)
		c->pending->free(c->pending);
	atomic_fetch_sub(&c->d->root->active, 1);
	disp_view_release(c->d);
	dm_hdrs_clear(&c->fwd);
	free(c->target_path);
	free(c->query);
	free(c->body);
	free(c);
}
