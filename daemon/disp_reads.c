/*
 * disp_reads.c: logs and stats reads that fall back across backends
 * (seed: read_backends, ReadMissAccumulator): the owner first, then the
 * others; native first, then a snapshot; never a bare 500.
 */
/* Threads: MHD connection threads; one attempt at a time per request. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"


/* What the misses so far add up to (seed: ReadMissAccumulator). */
struct read_misses {
	int	soft;			/* any miss that was not a 404 */
	int	status;			/* the last soft miss's answer */
	char	msg[256];
};

enum attempt {
	ATTEMPT_SERVED = 0,
	ATTEMPT_SKIP,		/* 404: this backend does not have it */
	ATTEMPT_SOFT_MISS	/* 501, 500, unreachable, timeout, ... */
};

static void
message_of(const char *body, int status, char *out, size_t len)
{
	struct json_object	*o, *m;

	o = json_tokener_parse(body);
	if (o != NULL && json_object_object_get_ex(o, "message", &m))
		snprintf(out, len, "%s", json_object_get_string(m));
	else if (body[0] != '\0')
		snprintf(out, len, "%.200s", body);
	else
		snprintf(out, len, "engine answered %d", status);
	json_object_put(o);
}

static enum attempt
attempt(struct disp *d, size_t bi, const char *path, const struct dm_hdrs
    *fwd, const char *mode, const char *ctr, int req_fd,
    struct read_misses *m, struct disp_reply *r)
{
	struct backend_call	 call;
	struct backend_xfer	*x;
	struct dm_err		 err;
	char			 served[DM_MAX_NAME + 32], *body = NULL;
	size_t			 len;
	int			 status;
	enum attempt		 res = ATTEMPT_SOFT_MISS;

	if (disp_backend_down(d, bi, m->msg, sizeof(m->msg))) {
		/* Known down is unreachable, as a refused connect is: the
		 * same 502 whether the probe has noticed yet or not. */
		m->soft = 1;
		m->status = 502;
		log_warnx("msg=\"read miss\" container=%.12s backend=%s "
		    "mode=%s reason=\"backend down\"", ctr, d->b[bi].cfg->name,
		    mode);
		return ATTEMPT_SOFT_MISS;
	}
	memset(&call, 0, sizeof(call));
	call.method = "GET";
	call.path = path;
	call.hdrs = fwd;
	call.head_timeout_ms = DM_STREAM_HEAD_TIMEOUT_MS;
	dm_err_clear(&err);
	x = backend_xfer_start(d->b[bi].be, &call, &err);
	if (x == NULL || backend_xfer_head(x, req_fd, &err) == -1) {
		m->soft = 1;
		m->status = 502;
		snprintf(m->msg, sizeof(m->msg), "%s", err.msg);
		log_warnx("msg=\"read miss\" container=%.12s backend=%s "
		    "mode=%s reason=%s", ctr, d->b[bi].cfg->name, mode,
		    log_q(err.msg));
		goto out;
	}
	status = backend_xfer_status(x);
	if (status >= 200 && status < 300) {
		disp_reply_from_xfer(d, r, x);
		x = NULL;
		snprintf(served, sizeof(served), "%s; mode=%s",
		    d->b[bi].cfg->name, mode);
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Served-By", served);
		disp_metrics_read(d->metrics, d->b[bi].cfg->name, mode);
		if (strcmp(mode, "native") != 0 || bi != 0)
			log_info("msg=\"read served\" container=%.12s "
			    "backend=%s mode=%s", ctr, d->b[bi].cfg->name,
			    mode);
		res = ATTEMPT_SERVED;
		goto out;
	}
	if (backend_xfer_slurp(x, DM_MAX_MISS_BODY, &body, &len, &err) ==
	    -1)
		body = NULL;
	if (status == 404) {
		res = ATTEMPT_SKIP;
		log_debug("msg=\"read skip\" container=%.12s backend=%s "
		    "mode=%s status=404", ctr, d->b[bi].cfg->name, mode);
		goto out;
	}
	m->soft = 1;
	m->status = status;
	message_of(body != NULL ? body : "", status, m->msg, sizeof(m->msg));
	log_warnx("msg=\"read miss\" container=%.12s backend=%s mode=%s "
	    "status=%d reason=%s", ctr, d->b[bi].cfg->name, mode, status,
	    log_q(m->msg));
out:
	free(body);
	backend_xfer_free(x);
	return res;
}

/* Is the client's own query already a one-shot read? */
static int
is_snapshot_query(const char *query, int logs)
{
	char	v[16];

	if (logs)
		return !disp_query_get(query, "follow", v, sizeof(v)) ||
		    strcmp(v, "0") == 0 || strcmp(v, "false") == 0;
	return disp_query_get(query, "stream", v, sizeof(v)) &&
	    (strcmp(v, "0") == 0 || strcmp(v, "false") == 0);
}

/*
 * Serve GET /containers/{id}/logs or /stats.  path is the owner's path
 * (full ID) with the client's query; owner indexes d->b.  Always fills r:
 * a stream with X-Dockmux-Served-By, or the final error (the last soft
 * miss if there was one, else 404).
 */
void
disp_read_fallback(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	size_t			 owner = ctx->target;
	const char		*path = ctx->path;
	const char		*ctr = ctx->ctr_id;
	struct read_misses	 m;
	size_t			 order[DM_MAX_BACKENDS], n = 0, i;
	const char		*q;
	char			*base, *snapq, *snap;
	int			 logs = strcmp(req->action, "logs") == 0;

	memset(&m, 0, sizeof(m));
	order[n++] = owner;
	for (i = 0; i < d->n; i++)
		if (i != owner)
			order[n++] = i;
	for (i = 0; i < n; i++)
		if (attempt(d, order[i], path, fwd, "native", ctr,
		    req->client_fd, &m, r) ==
		    ATTEMPT_SERVED)
			return;

	if (!is_snapshot_query(req->query, logs)) {
		q = strchr(path, '?');
		base = xasprintf("%.*s", q != NULL ? (int)(q - path) :
		    (int)strlen(path), path);
		snapq = disp_query_set(q != NULL ? q + 1 : "", logs ?
		    "follow" : "stream", logs ? "0" : "false");
		snap = xasprintf("%s?%s", base, snapq);
		free(base);
		free(snapq);
		for (i = 0; i < n; i++) {
			if (attempt(d, order[i], snap, fwd, "snapshot", ctr,
			    req->client_fd, &m, r) == ATTEMPT_SERVED) {
				free(snap);
				return;
			}
		}
		free(snap);
	}
	if (m.soft) {
		/* Keep the engine's status, but never a bare 500. */
		disp_reply_error(r, m.status == 502 ? DM_EBACKEND :
		    m.status == 503 ? DM_EUNAVAIL : DM_EINTERNAL, m.msg);
		r->status = m.status;
	} else {
		char	msg[DISP_ID_MAX + 32];

		snprintf(msg, sizeof(msg), "No such container: %s", req->id);
		disp_reply_error(r, DM_ENOTFOUND, msg);
	}
}
