/*
 * disp_pull.c: POST /images/create?fromImage= on every backend in turn
 * (seed: pull_image), as one progress stream relayed to the client while
 * it arrives, with the engines' in-stream errors judged, then the image's
 * facts recorded from a local store.
 */
/*
 * Threads: a pull stream is read without blocking (pull_try_read) while
 * an engine's progress flows, by the thread that runs libmicrohttpd; a
 * call worker takes it over to start the next engine's pull and to
 * record the image's facts at the end (pull_read), one at a time.
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/lines.h"
#include "lib/log.h"
#include "lib/util.h"

/* "no matching manifest", "does not match the specified platform": the
 * image exists but not for this engine's platform (seed: a soft skip). */
int
disp_pull_is_wrong_platform(const char *msg)
{
	return strcasestr(msg, "no matching manifest") != NULL ||
	    strcasestr(msg, "does not match the specified platform") != NULL ||
	    strcasestr(msg, "cannot be used on this platform") != NULL ||
	    strcasestr(msg, "image operating system") != NULL;
}

/* ---- pull: one stream over every backend in turn ---- */

struct pull_stream {
	struct disp_stream	 base;
	struct disp		*d;		/* a view reference */
	char			*path;		/* owned: path and query */
	struct dm_hdrs		 hdrs;		/* owned: forwarded headers */
	char			 ref[STORE_REF_MAX];
	size_t			 next;		/* backend to pull on next */
	size_t			 cur;		/* backend pulling now */
	struct backend_xfer	*x;		/* owned, the current pull */
	struct dm_lines		 lines;		/* owned: partial line */
	struct disp_out		 out;		/* bytes for the client */
	char			 err[512];	/* current backend's error */
	char			 first_err[512];
	int			 status;	/* current backend's, if failed */
	int			 first_status;	/* HTTP status of first_err */
	size_t			 got;		/* backends that got it */
	int			 failed;	/* the pull as a whole failed */
	int			 finished;
};

static void
out_error(struct pull_stream *p, const char *msg)
{
	struct json_object	*o, *det;
	char			*t;

	o = json_object_new_object();
	det = json_object_new_object();
	json_object_object_add(det, "message", json_object_new_string(msg));
	json_object_object_add(o, "errorDetail", det);
	json_object_object_add(o, "error", json_object_new_string(msg));
	t = disp_json_text(o);
	json_object_put(o);
	disp_out_add(&p->out, t, strlen(t));
	disp_out_add(&p->out, "\r\n", 2);
	free(t);
}

/* Relay a progress line, or keep an error line back for the verdict. */
static void
take_line(struct pull_stream *p, const char *s, size_t n)
{
	struct json_object	*o = NULL, *e;

	if (memmem(s, n, "\"error", 6) != NULL) {
		char	*tmp = xstrndup(s, n);

		o = json_tokener_parse(tmp);
		free(tmp);
	}
	if (o != NULL && json_object_object_get_ex(o, "error", &e)) {
		snprintf(p->err, sizeof(p->err), "%s",
		    json_object_get_string(e));
		json_object_put(o);
		return;
	}
	json_object_put(o);
	disp_out_add(&p->out, s, n);
}

/* A progress line judged; the pieces of one too long for JSON pass. */
static int
take_piece(void *arg, const char *text, size_t len, int whole)
{
	struct pull_stream	*p = arg;

	if (whole)
		take_line(p, text, len);
	else
		disp_out_add(&p->out, text, len);
	return 0;
}

/* The current backend's pull ended: judge it as the seed does. */
static void
pull_judge(struct pull_stream *p)
{
	const char	*name = p->d->b[p->cur].cfg->name, *rest;
	char		 msg[700];
	size_t		 len;

	rest = dm_lines_rest(&p->lines, &len);
	if (rest != NULL)
		take_line(p, rest, len);
	dm_lines_reset(&p->lines);
	if (p->err[0] == '\0') {
		p->got++;
		log_info("msg=\"pulled\" image=%s backend=%s", log_q(p->ref),
		    name);
		return;
	}
	if (p->first_err[0] == '\0') {
		snprintf(p->first_err, sizeof(p->first_err), "%s", p->err);
		p->first_status = p->status;
	}
	if (p->cur == 0 && !disp_pull_is_wrong_platform(p->err)) {
		log_warnx("msg=\"pull failed on the primary\" image=%s "
		    "backend=%s reason=%s", log_q(p->ref), name, log_q(p->err));
		snprintf(msg, sizeof(msg), "%s", p->err);
		out_error(p, msg);
		p->failed = 1;
		p->finished = 1;
		return;
	}
	log_warnx("msg=\"pull skipped a backend\" image=%s backend=%s "
	    "reason=%s", log_q(p->ref), name, log_q(p->err));
}

/* Start the pull on the next backend; 0, or -1 when none is left. */
static int
pull_next(struct pull_stream *p)
{
	struct backend_call	 call;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status;

	while (p->next < p->d->n) {
		p->cur = p->next++;
		p->err[0] = '\0';
		p->status = 0;
		if (disp_backend_down(p->d, p->cur, err.msg, sizeof(err.msg))) {
			snprintf(p->err, sizeof(p->err), "%s", err.msg);
			pull_judge(p);
			if (p->finished)
				return -1;
			continue;
		}
		memset(&call, 0, sizeof(call));
		call.method = "POST";
		call.path = p->path;
		call.hdrs = &p->hdrs;
		call.head_timeout_ms = DM_PULL_HEAD_TIMEOUT_MS;
		dm_err_clear(&err);
		p->x = backend_xfer_start(p->d->b[p->cur].be, &call, &err);
		if (p->x != NULL && backend_xfer_head(p->x, -1, &err) == 0) {
			status = backend_xfer_status(p->x);
			if (status >= 200 && status < 300)
				return 0;
			p->status = status;
				if (backend_xfer_slurp(p->x, DM_MAX_MISS_BODY, &body, &len,
			    &err) == 0) {
				dm_engine_message(body, err.msg, sizeof(err.msg));
				if (err.msg[0] == '\0')
					snprintf(err.msg, sizeof(err.msg),
					    "answered %d", status);
			}
			free(body);
			body = NULL;
		}
		backend_xfer_free(p->x);
		p->x = NULL;
		snprintf(p->err, sizeof(p->err), "%s", err.msg);
		pull_judge(p);
		if (p->finished)
			return -1;
	}
	return -1;
}

static void
pull_finish(struct pull_stream *p)
{
	struct store_image	img;

	p->finished = 1;
	if (p->failed)
		return;
	if (p->got == 0) {
		out_error(p, p->first_err[0] ? p->first_err :
		    "no backend could pull the image");
		return;
	}
	/* Record OS, arch and marker from a local store, never a registry. */
	if (disp_image_inspect(p->d, p->ref, &img) == 0)
		log_info("msg=\"image facts recorded\" image=%s os=%s arch=%s "
		    "marker=%s", log_q(p->ref), log_q(img.os), log_q(img.arch),
		    log_q(img.marker));
}

/* The current engine's exchange ended (n: 0) or broke (-1): judged. */
static void
pull_ended(struct pull_stream *p, ssize_t n)
{
	if (n == -1 && p->err[0] == '\0')
		snprintf(p->err, sizeof(p->err), "backend %s: the pull stream "
		    "broke", p->d->b[p->cur].cfg->name);
	backend_xfer_free(p->x);
	p->x = NULL;
	pull_judge(p);
}

/*
 * Bytes for the client: the current engine's progress, the next
 * engine's pull started when one ends, the end recorded.  w NULL: read
 * blocking (a worker; also gives up when watch_fd's peer leaves).
 * Else never waiting: DM_WOULD_BLOCK with *w, or DM_NEEDS_WORKER where
 * a pull is to start or to end (both wait).
 */
static ssize_t
pull_pump(struct pull_stream *p, char *buf, size_t max, int watch_fd,
    struct dm_wait *w)
{
	char	chunk[DM_STREAM_READ];
	ssize_t	n;

	while (disp_out_pending(&p->out) == 0) {
		if (p->finished)
			return 0;
		if (p->x == NULL) {
			if (w != NULL)
				return DM_NEEDS_WORKER;
			if (pull_next(p) == -1) {
				if (!p->finished)
					pull_finish(p);
				continue;
			}
		}
		n = w != NULL ? backend_xfer_try_read(p->x, chunk, sizeof(chunk),
		    w) : backend_xfer_read(p->x, chunk, sizeof(chunk), watch_fd);
		if (n == DM_WOULD_BLOCK)
			return n;
		if (n > 0) {
			(void)dm_lines_feed(&p->lines, chunk, (size_t)n,
			    take_piece, p);
			continue;
		}
		pull_ended(p, n);
	}
	return (ssize_t)disp_out_take(&p->out, buf, max);
}

static ssize_t
pull_read(struct disp_stream *s, char *buf, size_t max, int watch_fd)
{
	return pull_pump((struct pull_stream *)s, buf, max, watch_fd, NULL);
}

static ssize_t
pull_try_read(struct disp_stream *s, char *buf, size_t max,
    struct dm_wait *w)
{
	return pull_pump((struct pull_stream *)s, buf, max, -1, w);
}

static void
pull_free(struct disp_stream *s)
{
	struct pull_stream	*p = (struct pull_stream *)s;

	backend_xfer_free(p->x);
	disp_stream_release(p->d);
	dm_hdrs_clear(&p->hdrs);
	free(p->path);
	dm_lines_free(&p->lines);
	disp_out_free(&p->out);
	free(p);
}

/*
 * POST /images/create?fromImage=...: every backend in order, progress
 * relayed as it arrives, error lines held back and judged: a primary
 * "wrong platform" is a soft skip, any other primary failure fails the
 * pull, other backends' failures are logged, and the pull fails only if
 * no backend got the image.  The answer is always a 200 stream, as
 * dockerd's is; a failure is the stream's last line.
 */
void
disp_pull(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct pull_stream	*p;
	struct dm_err		 err;
	char			 from[STORE_REF_MAX], tag[128], plat[128];
	char			 peer[DISP_FIELD_MAX];
	size_t			 i;

	/* A platform no backend serves: the create's answer, so the docker
	 * CLI's pull-and-retry ends on the same hint. */
	plat[0] = '\0';
	if (disp_query_get(req->query, "platform", plat, sizeof(plat)) &&
	    plat[0] != '\0' && disp_platform_check(plat, err.msg,
	    sizeof(err.msg)) == -1) {
		disp_reply_error(r, DM_EBADREQ, err.msg);
		return;
	}
	if (plat[0] != '\0' && disp_platform_served(d, plat, peer,
	    sizeof(peer), &err) == -1) {
		disp_reply_error(r, err.st, err.msg);
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Route-To-Peer", peer);
		return;
	}

	p = xcalloc(1, sizeof(*p));
	p->base.read = pull_read;
	p->base.try_read = pull_try_read;
	p->base.free = pull_free;
	p->d = d;
	disp_stream_hold(d);
	dm_hdrs_init(&p->hdrs);
	for (i = 0; i < fwd->n; i++)
		(void)dm_hdrs_add(&p->hdrs, fwd->v[i].name, fwd->v[i].value);
	p->path = xasprintf("%s?%s", req->path, req->query);
	dm_lines_init(&p->lines, DM_MAX_LINE);
	from[0] = tag[0] = '\0';
	(void)disp_query_get(req->query, "fromImage", from, sizeof(from));
	(void)disp_query_get(req->query, "tag", tag, sizeof(tag));
	/* Truncation only drops facts for an absurd name: check, not warn. */
	if (tag[0] != '\0' && strchr(from, '@') == NULL) {
		if (snprintf(p->ref, sizeof(p->ref), "%.380s%s%.120s", from,
		    strncmp(tag, "sha256:", 7) == 0 ? "@" : ":", tag) < 0)
			p->ref[0] = '\0';
	} else
		snprintf(p->ref, sizeof(p->ref), "%.500s", from);
	/*
	 * The first engine is asked now, so that a pull no engine could even
	 * start (registry unreachable, access denied on the primary) is
	 * answered with the engine's status and message, as dockerd answers
	 * it and SDKs raise on it; errors after progress stay in the stream.
	 */
	if (pull_next(p) == -1 && p->got == 0) {
		disp_reply_error(r, DM_EBACKEND, p->first_err[0] != '\0' ?
		    p->first_err : "no backend could pull the image");
		if (p->first_status >= 400)
			r->status = p->first_status;
		pull_free(&p->base);
		return;
	}
	r->status = 200;
	r->kind = DISP_REPLY_STREAM;
	r->length = -1;
	r->stream = &p->base;
	dm_hdrs_set(&r->hdrs, "Content-Type", "application/json");
}

