/*
 * disp_events.c: GET /events as one merged stream: every backend's events,
 * read a piece at a time when the client asks for bytes, each complete
 * line tagged with its backend in Actor.Attributes.
 */
/*
 * Threads: none of its own.  disp_events() runs on a call worker; the
 * stream is then read without blocking (ev_try_read) by the thread that
 * runs libmicrohttpd (the stream loop's), one call at a time, and freed
 * there.  An events client waits
 * in the front end's event loop on the stream's epoll fd, not in a
 * thread.
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "daemon/disp_int.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/lines.h"
#include "lib/log.h"
#include "lib/util.h"

/* Passes over the parts one try_read makes before it lets others run. */
#define EV_PASSES	4

/* Where one backend's part of the stream is. */
enum ev_state {
	PART_ENDED = 0,		/* left out, ended or broken: x is NULL */
	PART_HEAD,		/* request sent, waiting for the head */
	PART_BODY		/* 200: event lines come */
};

struct ev_part {
	size_t			 bi;		/* its backend in the view */
	enum ev_state		 st;
	struct backend_xfer	*x;		/* owned; NULL when ended */
	long long		 head_deadline;	/* monotonic ms */
	int			 reg_fd;	/* in the stream's epoll; -1 */
	long			 ms;		/* its last wait; -1 none */
	struct dm_lines		 lines;		/* owned buffer from the head on */
};

struct ev_stream {
	struct disp_stream	 base;
	struct disp		*d;		/* a view reference */
	char			*path;		/* owned */
	struct dm_hdrs		 hdrs;		/* owned */
	int			 ep;		/* owned epoll fd: every part's
						   socket, level-triggered */
	size_t			 nparts;
	size_t			 live;		/* parts not ended */
	size_t			 next;		/* round robin: tried first */
	/*
	 * Tagged lines not yet with the client.  A part is read only while
	 * it is empty, so it holds what one piece (DM_STREAM_READ)
	 * completes: at most that plus a held line (DM_MAX_LINE), each
	 * line grown by its tag.
	 */
	struct disp_out		 out;
	struct ev_part		 p[DM_MAX_BACKENDS];
};

char *
disp_event_tag(const char *line, size_t len, const char *backend)
{
	struct json_object	*o, *actor, *attrs;
	char			*tmp, *out;

	tmp = xstrndup(line, len);
	o = json_tokener_parse(tmp);
	free(tmp);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	if (!json_object_object_get_ex(o, "Actor", &actor) ||
	    !json_object_is_type(actor, json_type_object)) {
		actor = json_object_new_object();
		json_object_object_add(o, "Actor", actor);
	}
	if (!json_object_object_get_ex(actor, "Attributes", &attrs) ||
	    !json_object_is_type(attrs, json_type_object)) {
		attrs = json_object_new_object();
		json_object_object_add(actor, "Attributes", attrs);
	}
	json_object_object_add(attrs, DM_LABEL_BACKEND,
	    json_object_new_string(backend));
	out = xasprintf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

/* What ev_line() tags a line from. */
struct ev_line_ctx {
	struct ev_stream	*ev;
	const char		*backend;	/* borrowed from the view */
};

static const char *
part_name(const struct ev_stream *ev, const struct ev_part *p)
{
	return ev->d->b[p->bi].cfg->name;
}

/* One event line, tagged, to the client's pending bytes. */
static int
ev_line(void *arg, const char *text, size_t len, int whole)
{
	struct ev_line_ctx	*lc = arg;
	struct ev_stream	*ev = lc->ev;
	char			*tagged;

	if (!whole)
		return 0;	/* an absurd event: dropped */
	tagged = disp_event_tag(text, len, lc->backend);
	if (tagged == NULL)
		return 0;
	disp_out_add(&ev->out, tagged, strlen(tagged));
	free(tagged);
	return 0;
}

/* p's socket leaves the epoll set (while it is still open). */
static void
part_unwatch(struct ev_stream *ev, struct ev_part *p)
{
	if (p->reg_fd != -1)
		(void)epoll_ctl(ev->ep, EPOLL_CTL_DEL, p->reg_fd, NULL);
	p->reg_fd = -1;
}

/*
 * Wait for fd (readable) on p's behalf; -1 keeps what is registered (a
 * libcurl exchange between sockets only asks for a timer).  0, or -1
 * when epoll refuses it (logged).
 */
static int
part_watch(struct ev_stream *ev, struct ev_part *p, int fd)
{
	struct epoll_event	e;

	if (fd == -1 || fd == p->reg_fd)
		return 0;
	part_unwatch(ev, p);
	memset(&e, 0, sizeof(e));
	e.events = EPOLLIN;
	e.data.u64 = p->bi;
	if (epoll_ctl(ev->ep, EPOLL_CTL_ADD, fd, &e) == -1) {
		log_warn("msg=\"events: cannot wait for the engine\" "
		    "backend=%s", part_name(ev, p));
		return -1;
	}
	p->reg_fd = fd;
	return 0;
}

/* p ends: out of the epoll set, its exchange closed. */
static void
part_end(struct ev_stream *ev, struct ev_part *p)
{
	if (p->st == PART_ENDED)
		return;
	part_unwatch(ev, p);
	backend_xfer_free(p->x);
	p->x = NULL;
	dm_lines_free(&p->lines);
	p->st = PART_ENDED;
	ev->live--;
}

/* p without a head, or with one that is not 200: said, and ended. */
static void
part_left_out(struct ev_stream *ev, struct ev_part *p,
    const struct dm_err *err)
{
	log_warnx("msg=\"events: backend left out\" backend=%s reason=%s",
	    part_name(ev, p), log_q(p->x == NULL ||
	    backend_xfer_status(p->x) == 0 ? err->msg : "not 200"));
	part_end(ev, p);
}

/*
 * rc is what looking for p's head gave (0 here, -1 failed with err):
 * a 200 makes p read its body (0); anything else leaves p out (-1).
 */
static int
part_took_head(struct ev_stream *ev, struct ev_part *p, int rc,
    const struct dm_err *err)
{
	if (rc == -1 || backend_xfer_status(p->x) != 200) {
		part_left_out(ev, p, err);
		return -1;
	}
	p->st = PART_BODY;
	dm_lines_init(&p->lines, DM_MAX_LINE);
	return 0;
}

/*
 * Look for a raw exchange's head without waiting.  1 when a 200 came (p
 * reads its body now), 0 when p still waits (its socket in the set,
 * p->ms until its deadline), -1 when p was left out.
 */
static int
part_head(struct ev_stream *ev, struct ev_part *p)
{
	struct dm_err	err;
	long long	now;
	int		rc;

	/*
	 * A pooled connection the engine had closed is replaced in there,
	 * maybe under the same number; epoll follows the socket, not the
	 * number, so the registration is made again afterwards.
	 */
	part_unwatch(ev, p);
	rc = backend_xfer_head_within(p->x, -1, 0, &err);
	if (rc == 1) {
		now = dm_mono_ms();
		if (now >= p->head_deadline) {
			dm_err_set(&err, DM_EBACKEND, "backend %s: timed out "
			    "waiting for an answer", part_name(ev, p));
			part_left_out(ev, p, &err);
			return -1;
		}
		if (part_watch(ev, p, backend_xfer_fd(p->x)) == -1) {
			part_end(ev, p);
			return -1;
		}
		p->ms = (long)(p->head_deadline - now);
		return 0;
	}
	return part_took_head(ev, p, rc, &err) == 0 ? 1 : -1;
}

/*
 * One step of p without waiting: its head if it is due, then at most one
 * piece of its body (max bytes at most, read into buf), split into lines
 * that go tagged to ev->out.  1 when something happened (bytes came, p
 * ended), 0 when p waits (p->ms and its socket in the set say for what).
 */
static int
part_pull(struct ev_stream *ev, struct ev_part *p, char *buf, size_t max)
{
	struct ev_line_ctx	 lc = { ev, part_name(ev, p) };
	struct dm_wait		 w;
	ssize_t			 n;

	if (p->st == PART_HEAD) {
		switch (part_head(ev, p)) {
		case 0:
			return 0;
		case -1:
			return 1;
		}
	}
	n = backend_xfer_try_read(p->x, buf, max < DM_STREAM_READ ? max :
	    DM_STREAM_READ, &w);
	if (n == DM_WOULD_BLOCK) {
		if (part_watch(ev, p, w.fd) == -1) {
			part_end(ev, p);
			return 1;
		}
		p->ms = w.ms;
		return 0;
	}
	if (n <= 0) {
		/* A backend that ends or breaks ends only its part. */
		part_end(ev, p);
		return 1;
	}
	(void)dm_lines_feed(&p->lines, buf, (size_t)n, ev_line, &lc);
	return 1;
}

/*
 * One pass over the live parts, round robin from ev->next so that a busy
 * engine cannot starve the others, until one has lines for the client.
 * 1 when any part moved, 0 when every live part waits.
 */
static int
ev_pass(struct ev_stream *ev, char *buf, size_t max)
{
	size_t	k, i;
	int	moved = 0;

	for (k = 0; k < ev->nparts; k++) {
		i = (ev->next + k) % ev->nparts;
		if (ev->p[i].st == PART_ENDED ||
		    part_pull(ev, &ev->p[i], buf, max) == 0)
			continue;
		moved = 1;
		if (disp_out_pending(&ev->out) > 0) {
			ev->next = (i + 1) % ev->nparts;
			break;
		}
	}
	return moved;
}

/* The soonest of the live parts' timers, -1 none. */
static long
ev_wait_ms(const struct ev_stream *ev)
{
	long	ms = -1;
	size_t	i;

	for (i = 0; i < ev->nparts; i++)
		if (ev->p[i].st != PART_ENDED && ev->p[i].ms >= 0 &&
		    (ms == -1 || ev->p[i].ms < ms))
			ms = ev->p[i].ms;
	return ms;
}

/*
 * disp_stream's try_read: pending lines first; else a few passes over the
 * parts.  0 once every part has ended and all was taken; DM_WOULD_BLOCK
 * with the epoll fd (any part's socket readable) and the soonest timer.
 */
static ssize_t
ev_try_read(struct disp_stream *s, char *buf, size_t max, struct dm_wait *w)
{
	struct ev_stream	*ev = (struct ev_stream *)s;
	int			 pass;

	for (pass = 0;; pass++) {
		if (disp_out_pending(&ev->out) > 0)
			return (ssize_t)disp_out_take(&ev->out, buf, max);
		if (ev->live == 0)
			return 0;
		if (pass == EV_PASSES) {
			/* Bytes but no whole line yet: again, after others. */
			w->ms = 0;
			break;
		}
		if (!ev_pass(ev, buf, max)) {
			w->ms = ev_wait_ms(ev);
			break;
		}
	}
	w->fd = ev->ep;
	return DM_WOULD_BLOCK;
}

/* disp_stream's free: every exchange closed, no thread to join. */
static void
ev_free(struct disp_stream *s)
{
	struct ev_stream	*ev = (struct ev_stream *)s;
	size_t			 i;

	for (i = 0; i < ev->nparts; i++)
		part_end(ev, &ev->p[i]);
	if (ev->ep != -1)
		close(ev->ep);
	disp_out_free(&ev->out);
	disp_stream_release(ev->d);
	dm_hdrs_clear(&ev->hdrs);
	free(ev->path);
	free(ev);
}

/* Send p's backend the request, unless it is down (then p stays ended). */
static void
part_start(struct ev_stream *ev, struct ev_part *p)
{
	struct disp		*d = ev->d;
	struct backend_call	 call;
	struct dm_err		 err;

	if (disp_backend_down(d, p->bi, NULL, 0)) {
		log_warnx("msg=\"events: backend down, left out\" backend=%s",
		    part_name(ev, p));
		return;
	}
	memset(&call, 0, sizeof(call));
	call.method = "GET";
	call.path = ev->path;
	call.hdrs = &ev->hdrs;
	call.head_timeout_ms = DM_STREAM_HEAD_TIMEOUT_MS;
	p->head_deadline = dm_mono_ms() + DM_STREAM_HEAD_TIMEOUT_MS;
	p->x = backend_xfer_start(d->b[p->bi].be, &call, &err);
	if (p->x == NULL) {
		part_left_out(ev, p, &err);
		return;
	}
	p->st = PART_HEAD;
	ev->live++;
}

/*
 * GET /events: since, until and filters go to every backend as sent; the
 * merged stream ends when every backend's part has ended (with until, or
 * when all go away).  The 200 goes back once every request is sent: the
 * heads are looked for as the client reads, so a hung engine holds up
 * nobody, and is left out after DM_STREAM_HEAD_TIMEOUT_MS.
 */
void
disp_events(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct ev_stream	*ev;
	struct ev_part		*p;
	struct dm_err		 err;
	size_t			 i;

	ev = xcalloc(1, sizeof(*ev));
	ev->base.try_read = ev_try_read;
	ev->base.free = ev_free;
	ev->d = d;
	disp_stream_hold(d);
	dm_hdrs_init(&ev->hdrs);
	for (i = 0; i < fwd->n; i++)
		(void)dm_hdrs_add(&ev->hdrs, fwd->v[i].name, fwd->v[i].value);
	ev->path = xasprintf("%s%s%s", req->path, req->query[0] ? "?" : "",
	    req->query);
	ev->nparts = d->n;
	for (i = 0; i < d->n; i++) {
		ev->p[i].bi = i;
		ev->p[i].reg_fd = -1;
		ev->p[i].ms = -1;
	}
	ev->ep = epoll_create1(EPOLL_CLOEXEC);
	if (ev->ep == -1) {
		log_warn("msg=\"events: epoll_create1\"");
		disp_reply_error(r, DM_EINTERNAL, "cannot stream events");
		ev_free(&ev->base);
		return;
	}
	for (i = 0; i < d->n; i++)
		part_start(ev, &ev->p[i]);
	/*
	 * A tcp engine's exchange is libcurl's, whose head cannot be looked
	 * for without waiting (backend_xfer_head_within() answers 1 at
	 * once, and it has no socket of ours): those heads are waited for
	 * here, on the call worker, in turn; every request went out above,
	 * so the waits overlap and take DM_STREAM_HEAD_TIMEOUT_MS at most.
	 */
	for (i = 0; i < d->n; i++) {
		p = &ev->p[i];
		if (p->st == PART_HEAD && backend_xfer_fd(p->x) == -1)
			(void)part_took_head(ev, p, backend_xfer_head(p->x,
			    req->client_fd, &err), &err);
	}
	r->status = 200;
	r->kind = DISP_REPLY_STREAM;
	r->length = -1;
	r->stream = &ev->base;
	dm_hdrs_set(&r->hdrs, "Content-Type", "application/json");
}
