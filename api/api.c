/*
 * api.c: the libmicrohttpd server: reads each request, classifies it,
 * hands it to the dispatcher and writes the reply back: whole, streamed
 * as it arrives, or upgraded to a raw relay.
 */
/*
 * Threads: the stream loop's thread runs every plain listener's
 * libmicrohttpd daemon (a source in its epoll set), and a TLS
 * listener's daemon has its own thread; "MHD's thread" below is
 * whichever runs the connection's daemon.  It runs every connection's
 * I/O and never waits on an engine.  What may wait (the
 * dispatcher's begin, a streamed body piece, the end; a read a stream
 * asks a worker for) runs on a worker (work.c) while the
 * connection is suspended, and the worker resumes it.  A stream with
 * nothing to send suspends its connection and waits in the stream loop
 * (api_loop.c) for its engine's socket: no thread per stream.  An
 * upgraded connection is relayed by the stream loop's thread, a
 * non-blocking step at a time.
 * Per-request state hangs off con_cls and is freed in the completed
 * callback only; a suspended connection's state is the worker's until it
 * resumes the connection.
 */

#include <limits.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "api/api.h"
#include "api/api_conns.h"
#include "api/api_int.h"
#include "api/api_loop.h"
#include "api/api_tls.h"
#include "lib/work.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

struct api;

/*
 * One listener: its own libmicrohttpd daemon, the callbacks' cls.  A
 * plain listener's daemon is run by the stream loop's thread, a source
 * there (its epoll set).  A TLS listener's daemon has no socket of its
 * own and a thread of its own: api_tls.c accepts, does the handshake
 * and hands each connection over as a plain socket pair from its
 * threads, which only a daemon with its own thread allows.
 */
struct api_lsn {
	struct api		*api;
	struct MHD_Daemon	*mhd;
	struct api_tls		*tls;		/* owned; NULL: plain */
	struct api_loop_src	 src;		/* plain: the loop runs mhd */
	/* plain: held for a run, so quiescing never meets one */
	pthread_mutex_t		 run_lock;
};

struct api {
	struct api_lsn		 lsn[DM_MAX_LISTEN];
	size_t			 nlsn;
	struct dispatcher	*disp;		/* borrowed */
	struct api_conns	*conns;		/* owned */
	struct api_loop		*loop;		/* owned: idle streams wait */
	struct dm_work		*work;		/* owned: blocking calls run */
	atomic_uint		 unanswered;
	atomic_uint		 suspended;	/* connections now suspended */
	atomic_int		 draining;	/* replies ask clients to close */
	atomic_int		 stopping;	/* no new work; streams end */
	int			 quiesced;	/* main's: listeners let go */
};

/* The peer of a connection whose credentials could not be read. */
static const struct disp_peer unknown_peer;

/* Where a request is; a worker moves it on while it is suspended. */
enum api_phase {
	PHASE_READING = 0,	/* head and body coming */
	PHASE_ENDING,		/* a worker runs disp_end() */
	PHASE_ANSWERED,		/* the reply is ready to queue */
	PHASE_SENT		/* queued */
};

/* One request: what was read, the dispatcher's call, the reply. */
struct api_req {
	struct api		*api;
	struct MHD_Connection	*mhd;		/* borrowed */
	struct api_conn		*conn;		/* borrowed: the registry's */
	struct disp_req		 req;
	struct dm_hdrs		 hdrs;
	char			*path;		/* owned: raw, as the client sent */
	char			*query;		/* owned: raw, without '?' */
	int			 begun;		/* headers read */
	int			 ok;		/* a call is to be made */
	enum api_phase		 phase;
	int			 suspended;	/* by us; MHD's thread's flag */
	atomic_int		 busy;		/* a worker has it */
	struct dm_job		 job;		/* a worker's, while suspended */
	struct api_waiter	 wait;		/* the loop's, while a quick
						   call waits for its engine */
	char			*piece;		/* owned: a body piece to send */
	size_t			 piece_len;
	int			 too_many_hdrs;	/* past DM_MAX_HEADERS: 431 */
	const char		*refused;	/* static: why the head is a 400 */
	struct disp_call	*call;		/* owned */
	struct disp_reply	 reply;		/* owned (stream moves to MHD) */
	int			 counted;	/* in api->unanswered */
};

/* A streamed reply: the MHD response's cls, freed with it. */
struct stream_ctx {
	struct api		*api;
	struct MHD_Connection	*mhd;		/* borrowed */
	struct disp_stream	*s;		/* owned */
	int			 client_fd;	/* watched while idle; -1 not */
	int			 suspended;	/* by us; MHD's thread's flag */
	int			 gone;		/* the client left, or stopping */
	struct api_waiter	 wait;		/* the loop's, while idle */
	/* a read only a worker can do: what it read */
	struct dm_job		 job;
	char			*buf;		/* owned: DM_API_BLOCK */
	size_t			 len, off;
	int			 ended;
};

/*
 * An upgraded connection's relay (attach, exec start, a BuildKit
 * session), stepped by the stream loop's thread: no thread while it
 * waits.
 */
struct relay_io {
	struct api_waiter	 wait;		/* the loop's, between steps */
	struct api		*api;
	struct disp_reply	 reply;		/* owned: moved from the request */
	MHD_socket		 sock;
	char			*extra;		/* owned: bytes read past the
						   head, until the first step */
	size_t			 extra_len;
	struct MHD_UpgradeResponseHandle *urh;
};

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
	char	buf[512];
	size_t	n;

	(void)cls;
	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	log_debug("msg=\"libmicrohttpd\" detail=%s", log_q(buf));
}

/* Keep the path and query exactly as sent: they are forwarded. */
static size_t
no_unescape(void *cls, struct MHD_Connection *c, char *s)
{
	(void)cls;
	(void)c;
	return strlen(s);
}

/* Past DM_MAX_HEADERS the request is refused, not cut (answered 431). */
static enum MHD_Result
collect_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	struct api_req	*ar = cls;

	(void)kind;
	if (dm_hdrs_add(&ar->hdrs, key, value != NULL ? value : "") == -1) {
		ar->too_many_hdrs = 1;
		return MHD_NO;	/* stop: the rest is not read */
	}
	return MHD_YES;
}

/*
 * Take the connection from MHD's loop until a worker or the stream loop
 * gives it back; flag is the suspender's (MHD's thread only).
 */
static void
suspend(struct api *api, struct MHD_Connection *c, int *flag)
{
	MHD_suspend_connection(c);
	*flag = 1;
	atomic_fetch_add(&api->suspended, 1);
}

/* The first callback after a resume: the connection is MHD's again. */
static void
resumed(struct api *api, int *flag)
{
	if (*flag) {
		*flag = 0;
		atomic_fetch_sub(&api->suspended, 1);
	}
}

/*
 * Give a suspended connection back to libmicrohttpd, and have the loop
 * run its daemon before it waits again: a daemon run from outside has no
 * wake-up of its own (MHD drops MHD_USE_ITC there).
 */
static void
resume(struct api *api, struct MHD_Connection *c)
{
	MHD_resume_connection(c);
	api_loop_kick(api->loop);
}

/* The stream loop's wake: the engine has bytes, or the client left. */
static void
stream_wake(struct api_waiter *w, enum api_wake why)
{
	struct stream_ctx	*sc = (struct stream_ctx *)(void *)((char *)w -
	    offsetof(struct stream_ctx, wait));

	if (why == API_WAKE_CLIENT_DATA)
		sc->client_fd = -1;	/* bytes from it: stop watching */
	else if (why == API_WAKE_CLIENT_GONE || why == API_WAKE_CANCEL)
		sc->gone = 1;
	resume(sc->api, sc->mhd);
}

/* A worker's read where the stream's try_read asked for one. */
static void
stream_job(struct dm_job *j)
{
	struct stream_ctx	*sc = (struct stream_ctx *)(void *)((char *)j -
	    offsetof(struct stream_ctx, job));
	ssize_t			 n;

	if (sc->buf == NULL)
		sc->buf = xmalloc(DM_API_BLOCK);
	n = sc->s->read(sc->s, sc->buf, DM_API_BLOCK, sc->client_fd);
	sc->off = 0;
	sc->len = n > 0 ? (size_t)n : 0;
	sc->ended = n <= 0;
	resume(sc->api, sc->mhd);
}

/*
 * MHD's content reader, on its thread: never blocks.  Nothing to send
 * yet: the connection is suspended and waits in the stream loop (or on a
 * worker's read), and 0 tells MHD to ask again once it is resumed.
 */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream_ctx	*sc = cls;
	struct api		*api = sc->api;
	struct dm_wait		 w;
	ssize_t			 n;

	(void)pos;
	resumed(api, &sc->suspended);
	if (sc->gone || atomic_load(&api->stopping))
		return MHD_CONTENT_READER_END_WITH_ERROR;
	/* What a worker read first. */
	if (sc->off < sc->len) {
		n = (ssize_t)(sc->len - sc->off < max ? sc->len - sc->off :
		    max);
		memcpy(buf, sc->buf + sc->off, (size_t)n);
		sc->off += (size_t)n;
		if (sc->off == sc->len) {
			free(sc->buf);	/* the loop reads on: no buffer */
			sc->buf = NULL;
			sc->off = sc->len = 0;
		}
		return n;
	}
	if (sc->ended)
		return MHD_CONTENT_READER_END_OF_STREAM;
	n = sc->s->try_read(sc->s, buf, max, &w);
	if (n > 0)
		return n;
	if (n == DM_NEEDS_WORKER) {
		suspend(api, sc->mhd, &sc->suspended);
		sc->job.fn = stream_job;
		dm_work_submit(api->work, &sc->job);
		return 0;
	}
	/* The engine's end, or a broken stream: end the client's cleanly. */
	if (n != DM_WOULD_BLOCK)
		return MHD_CONTENT_READER_END_OF_STREAM;
	sc->wait.wake = stream_wake;
	sc->wait.fd = w.fd;
	sc->wait.client_fd = sc->client_fd;
	sc->wait.deadline = w.ms >= 0 ? dm_mono_ms() + w.ms : 0;
	suspend(api, sc->mhd, &sc->suspended);
	if (api_loop_watch(api->loop, &sc->wait) == -1) {
		/* Stopping, or a socket epoll refuses: end, never spin. */
		sc->gone = 1;
		resume(api, sc->mhd);
	}
	return 0;
}

static void
stream_free(void *cls)
{
	struct stream_ctx	*sc = cls;

	resumed(sc->api, &sc->suspended);
	sc->s->free(sc->s);
	free(sc->buf);
	free(sc);
}

static void
relay_end(struct relay_io *ri)
{
	disp_reply_free(&ri->reply);
	MHD_upgrade_action(ri->urh, MHD_UPGRADE_ACTION_CLOSE);
	free(ri->extra);
	free(ri);
}

static unsigned
epoll_of(short ev)
{
	return ((ev & POLLIN) ? EPOLLIN : 0) | ((ev & POLLOUT) ? EPOLLOUT : 0);
}

/* On the loop's thread: one step, then wait for what it says. */
static void
relay_wake(struct api_waiter *w, enum api_wake why)
{
	struct relay_io	*ri = (struct relay_io *)(void *)((char *)w -
	    offsetof(struct relay_io, wait));
	short		 eev = 0, cev = 0;
	int		 rc = -1;

	if (why == API_WAKE_CANCEL || (rc = disp_relay_step(&ri->reply,
	    ri->sock, ri->extra, ri->extra_len, &eev, &cev)) == 1 ||
	    rc == -1) {
		relay_end(ri);
		return;
	}
	free(ri->extra);
	ri->extra = NULL;
	ri->extra_len = 0;
	/* 2: more to move; the loop's other waiters first, then again. */
	w->fd = rc == 0 && eev != 0 ? disp_relay_fd(&ri->reply) : -1;
	w->fd_events = epoll_of(eev);
	w->client_fd = rc == 0 && cev != 0 ? ri->sock : -1;
	w->client_events = epoll_of(cev);
	w->deadline = rc == 2 ? dm_mono_ms() : 0;
	if (api_loop_watch(ri->api->loop, w) == -1)
		relay_end(ri);	/* stopping */
}

/*
 * On MHD's thread: the relay goes to the stream loop, whose thread takes
 * the first step at once (a deadline of now) and every step after.
 */
static void
on_upgrade(void *cls, struct MHD_Connection *conn, void *con_cls,
    const char *extra_in, size_t extra_in_size, MHD_socket sock,
    struct MHD_UpgradeResponseHandle *urh)
{
	struct api_req	*ar = cls;
	struct relay_io	*ri;

	(void)conn;
	(void)con_cls;
	ri = xcalloc(1, sizeof(*ri));
	ri->api = ar->api;
	ri->reply = ar->reply;
	disp_reply_init(&ar->reply);
	ri->sock = sock;
	if (extra_in_size > 0) {
		ri->extra = xmalloc(extra_in_size);
		memcpy(ri->extra, extra_in, extra_in_size);
		ri->extra_len = extra_in_size;
	}
	ri->urh = urh;
	ri->wait.wake = relay_wake;
	ri->wait.fd = ri->wait.client_fd = -1;
	ri->wait.deadline = dm_mono_ms();
	if (api_loop_watch(ri->api->loop, &ri->wait) == -1)
		relay_end(ri);	/* stopping */
}

static int
has_empty_body(const struct api_req *ar, int status)
{
	return strcmp(ar->req.method, "HEAD") == 0 || status == 204 ||
	    status == 304 || (status >= 100 && status < 200) ||
	    ar->reply.length == 0;
}

/* Turn the dispatcher's reply into an MHD response and queue it. */
static enum MHD_Result
send_reply(struct MHD_Connection *conn, struct api_req *ar)
{
	struct disp_reply	*r = &ar->reply;
	struct MHD_Response	*resp = NULL;
	struct stream_ctx	*sc;
	enum MHD_Result		 ret;
	size_t			 i;

	switch (r->kind) {
	case DISP_REPLY_BODY:
		/* MHD frees the body with the response. */
		resp = MHD_create_response_from_buffer(r->body_len, r->body,
		    MHD_RESPMEM_MUST_FREE);
		if (resp != NULL)
			r->body = NULL;
		/* MHD frames it: chunked when asked, with no length. */
		if (resp != NULL && r->chunked && !has_empty_body(ar,
		    r->status) && MHD_add_response_header(resp,
		    "Transfer-Encoding", "chunked") == MHD_NO)
			log_debug("msg=\"chunked refused\" path=%s",
			    log_q(ar->req.path));
		break;
	case DISP_REPLY_STREAM:
		if (has_empty_body(ar, r->status)) {
			resp = MHD_create_response_from_buffer(0, (void *)"",
			    MHD_RESPMEM_PERSISTENT);
			break;
		}
		sc = xcalloc(1, sizeof(*sc));
		sc->api = ar->api;
		sc->mhd = conn;
		sc->s = r->stream;
		sc->client_fd = ar->req.client_fd;
		/*
		 * Chunked (length unknown), MHD reads into the connection's
		 * own write buffer: the response's block would sit unused
		 * (and zeroed) for every open logs -f, so it stays small.
		 */
		resp = MHD_create_response_from_callback(r->length >= 0 ?
		    (uint64_t)r->length : MHD_SIZE_UNKNOWN, r->length >= 0 ?
		    DM_API_BLOCK : DM_API_CHUNKED_BLOCK, stream_read, sc,
		    stream_free);
		if (resp == NULL)
			free(sc);
		else
			r->stream = NULL;	/* MHD owns it now */
		break;
	case DISP_REPLY_UPGRADE:
		resp = MHD_create_response_for_upgrade(on_upgrade, ar);
		if (ar->conn != NULL)
			api_conn_upgraded(ar->api->conns, ar->conn);
		break;
	}
	if (resp == NULL) {
		log_warnx("msg=\"cannot build response\" path=%s",
		    log_q(ar->req.path));
		return MHD_NO;
	}
	for (i = 0; i < r->hdrs.n; i++)
		if (MHD_add_response_header(resp, r->hdrs.v[i].name,
		    r->hdrs.v[i].value) == MHD_NO)
			log_debug("msg=\"header refused\" name=%s",
			    log_q(r->hdrs.v[i].name));
	/* Handed over: the client's next request goes to the new process. */
	if (r->kind != DISP_REPLY_UPGRADE && atomic_load(&ar->api->draining))
		(void)MHD_add_response_header(resp, "Connection", "close");
	ret = MHD_queue_response(conn, (unsigned int)r->status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* A Docker error; status 0 is st's own (dm_status_http()). */
static void
answer_error(struct MHD_Connection *conn, struct api_req *ar, int status,
    enum dm_status st, const char *msg)
{
	disp_reply_free(&ar->reply);
	disp_reply_init(&ar->reply);
	disp_reply_error(&ar->reply, st, msg);
	if (status != 0)
		ar->reply.status = status;
	(void)send_reply(conn, ar);
}

/*
 * 431, as Go's net/http (dockerd) answers a head it will not read, but
 * with a Docker-shaped body.  A head larger than DM_API_CONN_MEMORY never
 * gets here: libmicrohttpd answers that 431 itself.
 */
static void
refuse_headers(struct MHD_Connection *conn, struct api_req *ar)
{
	char	msg[128];

	log_warnx("msg=\"request refused\" reason=\"more than %d header "
	    "lines\" path=%s", DM_MAX_HEADERS, log_q(ar->path));
	snprintf(msg, sizeof(msg), "request header fields too large: more "
	    "than %d header lines", DM_MAX_HEADERS);
	answer_error(conn, ar, MHD_HTTP_REQUEST_HEADER_FIELDS_TOO_LARGE,
	    DM_EBADREQ, msg);
}

/*
 * The upgrade asked for, into proto: "tcp" (attach, exec start) or "h2c"
 * (a BuildKit session).  0 when none of those was asked.
 */
static int
wants_upgrade(const struct dm_hdrs *h, char *proto, size_t len)
{
	const char	*up = dm_hdrs_get(h, "Upgrade");

	if (up == NULL || (strcasecmp(up, "tcp") != 0 &&
	    strcasecmp(up, "h2c") != 0))
		return 0;
	snprintf(proto, len, "%s", up);
	return 1;
}

/*
 * The request target exactly as sent: MHD's own argument parsing turns
 * '+' into ' ', and the path and query are forwarded byte for byte.  The
 * per-request state is born here and hangs off con_cls.
 */
static void *
on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct api_req	*ar;
	const char	*q;

	(void)conn;
	ar = xcalloc(1, sizeof(*ar));
	ar->api = ((struct api_lsn *)cls)->api;
	dm_hdrs_init(&ar->hdrs);
	disp_reply_init(&ar->reply);
	q = strchr(uri, '?');
	ar->path = q != NULL ? xstrndup(uri, (size_t)(q - uri)) :
	    xstrdup(uri);
	ar->query = xstrdup(q != NULL ? q + 1 : "");
	/* A fragment is not part of the target. */
	ar->query[strcspn(ar->query, "#")] = '\0';
	return ar;
}

/*
 * 400 for a head refused by api_target_problem() or
 * api_framing_problem(); the connection ends with it, since what follows
 * on it cannot be trusted to be a request of its own.
 */
static void
refuse_request(struct MHD_Connection *conn, struct api_req *ar)
{
	log_warnx("msg=\"request refused\" reason=%s", log_q(ar->refused));
	disp_reply_free(&ar->reply);
	disp_reply_init(&ar->reply);
	disp_reply_error(&ar->reply, DM_EBADREQ, ar->refused);
	dm_hdrs_set(&ar->reply.hdrs, "Connection", "close");
	(void)send_reply(conn, ar);
}

/* 1 for "." or ".." in n bytes at s, dots written plain or as %2e. */
static int
is_dot_segment(const char *s, size_t n)
{
	size_t	i = 0, dots = 0;

	while (i < n && dots <= 2) {
		if (s[i] == '.')
			i++;
		else if (n - i >= 3 && s[i] == '%' && s[i + 1] == '2' &&
		    (s[i + 2] == 'e' || s[i + 2] == 'E'))
			i += 3;
		else
			return 0;
		dots++;
	}
	return dots >= 1 && dots <= 2 && i == n;
}

/*
 * Why a request target dockerd would refuse or redirect is refused here,
 * or NULL when it is clean: only origin-form ("/..."), no dot segments,
 * no encoded slash or NUL, no control characters.  The dispatcher then
 * never sees a path that an engine would read differently.
 */
const char *
api_target_problem(const char *path, const char *query)
{
	const char	*p, *seg;
	size_t		 n;

	if (path[0] != '/')
		return "the request target must be a path (origin form)";
	for (p = path; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in the request path";
	for (p = query; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return "control character in the query";
	if (strcasestr(path, "%2f") != NULL || strstr(path, "%00") != NULL ||
	    strcasestr(path, "%5c") != NULL)
		return "encoded slash or NUL in the request path";
	if (strstr(query, "%00") != NULL)
		return "encoded NUL in the query";
	for (seg = path; seg != NULL; seg = strchr(seg + 1, '/')) {
		n = strcspn(seg + 1, "/");
		if (is_dot_segment(seg + 1, n))
			return "dot segment in the request path";
	}
	return NULL;
}

/*
 * Why the message's framing is refused (a smuggling vector), or NULL:
 * Content-Length with Transfer-Encoding, or more than one Content-Length.
 */
const char *
api_framing_problem(const struct dm_hdrs *h)
{
	size_t	i, ncl = 0;

	for (i = 0; i < h->n; i++)
		if (strcasecmp(h->v[i].name, "Content-Length") == 0)
			ncl++;
	if (ncl > 1)
		return "more than one Content-Length";
	if (ncl == 1 && dm_hdrs_get(h, "Transfer-Encoding") != NULL)
		return "Content-Length together with Transfer-Encoding";
	return NULL;
}

/* First call for a request: headers are in, no body yet. */
static void
begin_request(struct api_req *ar, struct MHD_Connection *conn,
    const char *method)
{
	struct api			*api = ar->api;
	const union MHD_ConnectionInfo	*ci;
	const char			*cl, *te;

	ar->begun = 1;
	ar->mhd = conn;
	MHD_get_connection_values(conn, MHD_HEADER_KIND, collect_header, ar);
	ar->req.method = method;
	ar->req.path = ar->path;
	ar->req.query = ar->query;
	ar->req.hdrs = &ar->hdrs;
	ar->req.client_fd = -1;
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci != NULL)
		ar->req.client_fd = ci->connect_fd;
	ci = MHD_get_connection_info(conn,
	    MHD_CONNECTION_INFO_SOCKET_CONTEXT);
	ar->conn = ci != NULL ? ci->socket_context : NULL;
	ar->req.peer = &unknown_peer;
	if (ar->conn != NULL) {
		api_conn_busy(api->conns, ar->conn);
		ar->req.peer = &ar->conn->peer;
	}
	cl = dm_hdrs_get(&ar->hdrs, "Content-Length");
	te = dm_hdrs_get(&ar->hdrs, "Transfer-Encoding");
	ar->req.body_size = -1;
	if (te != NULL && strcasecmp(te, "chunked") == 0)
		ar->req.has_body = 1;
	else if (cl != NULL) {
		ar->req.body_size = strtoll(cl, NULL, 10);
		ar->req.has_body = ar->req.body_size > 0;
	}
	ar->req.wants_upgrade = wants_upgrade(&ar->hdrs, ar->req.upgrade,
	    sizeof(ar->req.upgrade));
	atomic_fetch_add(&api->unanswered, 1);
	ar->counted = 1;
	if (!ar->too_many_hdrs) {
		ar->refused = api_target_problem(ar->path, ar->query);
		if (ar->refused == NULL)
			ar->refused = api_framing_problem(&ar->hdrs);
	}
	if (ar->too_many_hdrs || ar->refused != NULL ||
	    strlen(ar->path) + strlen(ar->query) > DM_MAX_PATH ||
	    disp_classify(method, ar->path, &ar->req) == -1)
		return;		/* answered as an error at the end */
	ar->ok = 1;	/* disp_begin() may wait: a worker calls it */
}

static void
uncount(struct api_req *ar)
{
	if (ar->counted) {
		atomic_fetch_sub(&ar->api->unanswered, 1);
		ar->counted = 0;
	}
}

/* Hand ar to a worker for j until it resumes the connection. */
static void
to_worker(struct api_req *ar, void (*fn)(struct dm_job *))
{
	suspend(ar->api, ar->mhd, &ar->suspended);
	atomic_store(&ar->busy, 1);
	ar->job.fn = fn;
	dm_work_submit(ar->api->work, &ar->job);
}

static struct api_req *
job_req(struct dm_job *j)
{
	return (struct api_req *)(void *)((char *)j -
	    offsetof(struct api_req, job));
}

/* The connection goes back to MHD, which calls on_request() again. */
static void
from_worker(struct api_req *ar)
{
	atomic_store(&ar->busy, 0);
	resume(ar->api, ar->mhd);
}

/* A worker: begin the call if not yet begun, send it a body piece. */
static void
body_job(struct dm_job *j)
{
	struct api_req	*ar = job_req(j);

	if (ar->call == NULL)
		ar->call = disp_begin(ar->api->disp, &ar->req);
	disp_body(ar->call, ar->piece, ar->piece_len);
	free(ar->piece);
	ar->piece = NULL;
	ar->piece_len = 0;
	from_worker(ar);
}

/* A worker: begin the call if not yet begun, end it into the reply. */
static void
end_job(struct dm_job *j)
{
	struct api_req	*ar = job_req(j);

	if (ar->call == NULL)
		ar->call = disp_begin(ar->api->disp, &ar->req);
	disp_end(ar->call, &ar->reply);
	ar->phase = PHASE_ANSWERED;
	from_worker(ar);
}

/* A body piece: kept by the call at once, or sent by a worker. */
static enum MHD_Result
take_body(struct api_req *ar, const char *data, size_t *size)
{
	if (!ar->ok || ar->phase != PHASE_READING) {
		*size = 0;	/* refused or answered: the rest is dropped */
		return MHD_YES;
	}
	if (ar->call != NULL && !disp_body_blocks(ar->call)) {
		disp_body(ar->call, data, *size);
		*size = 0;
		return MHD_YES;
	}
	if (atomic_load(&ar->api->stopping))
		return MHD_NO;
	ar->piece = xmalloc(*size);
	memcpy(ar->piece, data, *size);
	ar->piece_len = *size;
	*size = 0;
	to_worker(ar, body_job);
	return MHD_YES;
}

/* A quick call, suspended and busy, that a worker ends from here on. */
static void
end_by_worker(struct api_req *ar)
{
	ar->job.fn = end_job;
	dm_work_submit(ar->api->work, &ar->job);
}

/*
 * The stream loop's wake for a quick call whose engine had not answered:
 * look again without waiting; still nothing, and it waits again.  The
 * exchange's own deadline is checked on each look (the waiter wakes
 * every DM_QUICK_RECHECK_MS for that).  Stopping, or the client gone: a
 * worker ends it.
 */
static void
quick_wake(struct api_waiter *w, enum api_wake why)
{
	struct api_req	*ar = (struct api_req *)(void *)((char *)w -
	    offsetof(struct api_req, wait));

	if (why == API_WAKE_CANCEL || why == API_WAKE_CLIENT_GONE) {
		/* A worker ends it, as one ends any call whose client left. */
		end_by_worker(ar);
		return;
	}
	if (why == API_WAKE_CLIENT_DATA)
		w->client_fd = -1;	/* bytes from it: stop watching */
	if (disp_end_within(ar->call, &ar->reply, 0) == 0) {
		ar->phase = PHASE_ANSWERED;
		from_worker(ar);
		return;
	}
	/* A pooled socket the engine had closed is replaced by a new one. */
	w->fd = disp_call_fd(ar->call);
	w->deadline = dm_mono_ms() + DM_QUICK_RECHECK_MS;
	if (w->fd == -1 || api_loop_watch(ar->api->loop, w) == -1)
		end_by_worker(ar);	/* the loop stops */
}

enum quick_result {
	QUICK_NO = 0,		/* not for the quick path: a worker begins it */
	QUICK_ANSWERED,		/* ar->reply is ready */
	QUICK_WAITING		/* begun; the stream loop waits for the engine */
};

/*
 * An inspect-like read of a routed container, or a merged container
 * list, begun on libmicrohttpd's thread, sparing the two thread
 * hand-offs a worker costs (on these machines, most of what dockmuxd
 * adds to it).  A lone client (one connection, this its one request)
 * has its answer waited for here, up to DM_QUICK_WAIT_MS; with other
 * clients this thread does not wait.  An engine that has not answered
 * yet is waited for by the stream loop, with every other waiting call
 * and stream in one epoll set, and the loop ends the call: a worker is
 * not woken, nor does it sleep in poll, once per call.
 */
static enum quick_result
quick(struct api_req *ar)
{
	struct api	*api = ar->api;
	int		 lone, fd;

	if (!disp_quick_ok(api->disp, &ar->req))
		return QUICK_NO;
	lone = atomic_load(&api->unanswered) == 1 &&
	    api_conns_count(api->conns) == 1;
	ar->call = disp_begin(api->disp, &ar->req);
	if (disp_end_within(ar->call, &ar->reply, lone ? DM_QUICK_WAIT_MS :
	    0) == 0)
		return QUICK_ANSWERED;
	if ((fd = disp_call_fd(ar->call)) == -1)
		return QUICK_NO;	/* a worker takes it where it is */
	log_debug("msg=\"engine slower than the quick path, the stream loop "
	    "waits\" path=%s", log_q(ar->req.path));
	ar->phase = PHASE_ENDING;
	suspend(api, ar->mhd, &ar->suspended);
	atomic_store(&ar->busy, 1);
	ar->wait.wake = quick_wake;
	ar->wait.fd = fd;
	ar->wait.client_fd = ar->req.client_fd;
	ar->wait.deadline = dm_mono_ms() + DM_QUICK_RECHECK_MS;
	if (api_loop_watch(api->loop, &ar->wait) == -1)
		end_by_worker(ar);	/* stopping */
	return QUICK_WAITING;
}

/* The request is all in and was refused before any call: answer it. */
static void
answer_refused(struct MHD_Connection *conn, struct api_req *ar)
{
	if (ar->too_many_hdrs)
		refuse_headers(conn, ar);
	else if (ar->refused != NULL)
		;	/* answered when the head came */
	else
		answer_error(conn, ar, 0, DM_EBADREQ, "invalid request path");
}

/*
 * MHD's access handler: the head (once), body pieces, then the end,
 * called again after every resume.  What may wait goes to a worker.
 */
static enum MHD_Result
on_request(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload_data,
    size_t *upload_data_size, void **con_cls)
{
	struct api_req	*ar = *con_cls;
	enum MHD_Result	 ret;

	(void)cls;
	(void)version;
	(void)url;
	if (ar == NULL)
		return MHD_NO;	/* on_uri always sets it */
	if (atomic_load(&ar->busy))
		return MHD_YES;	/* a worker has it: nothing taken now */
	resumed(ar->api, &ar->suspended);
	if (!ar->begun) {
		begin_request(ar, conn, method);
		/* Refused at the head: answered now, the body never read. */
		if (ar->refused != NULL && !ar->too_many_hdrs) {
			refuse_request(conn, ar);
			ar->phase = PHASE_SENT;
			uncount(ar);
		}
		return MHD_YES;
	}
	if (*upload_data_size > 0)
		return take_body(ar, upload_data, upload_data_size);
	switch (ar->phase) {
	case PHASE_READING:
		break;
	case PHASE_ENDING:
	case PHASE_SENT:
		return MHD_YES;
	case PHASE_ANSWERED:
		ar->phase = PHASE_SENT;
		ret = send_reply(conn, ar);
		uncount(ar);
		return ret;
	}
	if (!ar->ok) {
		answer_refused(conn, ar);
		ar->phase = PHASE_SENT;
		uncount(ar);
		return MHD_YES;
	}
	if (atomic_load(&ar->api->stopping))
		return MHD_NO;
	switch (quick(ar)) {
	case QUICK_ANSWERED:
		ar->phase = PHASE_SENT;
		ret = send_reply(conn, ar);
		uncount(ar);
		return ret;
	case QUICK_WAITING:
		return MHD_YES;
	case QUICK_NO:
		break;
	}
	ar->phase = PHASE_ENDING;
	to_worker(ar, end_job);
	return MHD_YES;
}

static void
on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
    enum MHD_RequestTerminationCode toe)
{
	struct api_req	*ar = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (ar == NULL)
		return;
	if (ar->conn != NULL)
		api_conn_waiting(ar->api->conns, ar->conn);
	resumed(ar->api, &ar->suspended);
	uncount(ar);
	free(ar->piece);
	disp_reply_free(&ar->reply);
	disp_call_free(ar->call);
	dm_hdrs_clear(&ar->hdrs);
	free(ar->path);
	free(ar->query);
	free(ar);
	*con_cls = NULL;
}

/*
 * MHD's connect and close notices: each connection's peer and limits
 * live in the registry (api_conns.c) from the one to the other.
 */
static void
on_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
    enum MHD_ConnectionNotificationCode code)
{
	struct api_lsn			*l = cls;
	struct api			*api = l->api;
	const union MHD_ConnectionInfo	*ci;
	struct api_remote		 remote;

	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		api_conn_closed(api->conns, *socket_context);
		*socket_context = NULL;
		return;
	}
	ci = MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
	if (ci == NULL) {
		*socket_context = NULL;
		return;
	}
	if (l->tls != NULL) {
		/* Ours is a socket pair: who is at the far end, TLS said. */
		api_tls_claim(l->tls, ci->connect_fd, &remote);
		*socket_context = api_conn_open(api->conns, ci->connect_fd,
		    &remote);
	} else
		*socket_context = api_conn_open(api->conns, ci->connect_fd,
		    NULL);
}

/* The stream loop's source: one run of a plain listener's daemon. */
static void
lsn_run(void *arg)
{
	struct api_lsn	*l = arg;

	pthread_mutex_lock(&l->run_lock);
	(void)MHD_run(l->mhd);
	pthread_mutex_unlock(&l->run_lock);
}

/* When the daemon wants to run again (data it already has: now). */
static long
lsn_timeout(void *arg)
{
	MHD_UNSIGNED_LONG_LONG	t;

	if (MHD_get_timeout(((struct api_lsn *)arg)->mhd, &t) != MHD_YES)
		return -1;
	return t > LONG_MAX ? LONG_MAX : (long)t;
}

/*
 * One listener's daemon.  A plain one is run from the stream loop (no
 * thread of its own); a TLS one has no socket and its own thread
 * (api_tls.c feeds it).
 */
static struct MHD_Daemon *
start_one(struct api_lsn *l, int fd, int tls)
{
	unsigned int	flags = MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME |
			    MHD_ALLOW_UPGRADE | MHD_USE_ITC |
			    MHD_USE_ERROR_LOG;

	struct MHD_OptionItem lo[] = {
		{ MHD_OPTION_LISTEN_SOCKET, (intptr_t)fd, NULL },
		{ MHD_OPTION_END, 0, NULL }
	};

	if (tls)
		flags |= MHD_USE_NO_LISTEN_SOCKET |
		    MHD_USE_INTERNAL_POLLING_THREAD;
	return MHD_start_daemon(flags, 0, NULL, NULL, on_request, l,
	    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
	    MHD_OPTION_ARRAY, tls ? lo + 1 : lo,
	    MHD_OPTION_NOTIFY_COMPLETED, on_completed, l,
	    MHD_OPTION_NOTIFY_CONNECTION, on_connection, l,
	    MHD_OPTION_URI_LOG_CALLBACK, on_uri, l,
	    MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
	    /* Ours are the limits (api_conns.c); MHD's only has room. */
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned int)(DM_API_MAX_LIMIT +
	    DM_API_CONN_SLACK),
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)DM_API_CONN_MEMORY,
	    MHD_OPTION_END);
}

/* A plain listener's daemon becomes a source of the stream loop. */
static int
run_from_loop(struct api *api, struct api_lsn *l)
{
	const union MHD_DaemonInfo	*di;

	di = MHD_get_daemon_info(l->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (di == NULL)
		return -1;
	l->src.fd = di->epoll_fd;
	l->src.run = lsn_run;
	l->src.timeout = lsn_timeout;
	l->src.arg = l;
	return api_loop_source(api->loop, &l->src);
}

struct api *
api_start(struct dispatcher *disp, const struct api_listener *ls, size_t n,
    const struct api_limits *lim, struct dm_err *err)
{
	struct api	*api;
	size_t		 i;
	int		 tls;

	api = xcalloc(1, sizeof(*api));
	api->disp = disp;
	for (i = 0; i < DM_MAX_LISTEN; i++)
		pthread_mutex_init(&api->lsn[i].run_lock, NULL);
	atomic_init(&api->unanswered, 0);
	atomic_init(&api->draining, 0);
	atomic_init(&api->suspended, 0);
	atomic_init(&api->stopping, 0);
	api->conns = api_conns_new(lim->max_connections,
	    lim->max_connections_per_peer, lim->idle_timeout_s);
	if ((api->loop = api_loop_new(err)) == NULL ||
	    (api->work = dm_work_new(DM_WORKERS_MAX)) == NULL) {
		if (api->loop != NULL)
			dm_err_set(err, DM_EINTERNAL, "cannot start workers");
		api_stop(api);	/* no listener yet: the caller closes them */
		return NULL;
	}
	for (i = 0; i < n && i < DM_MAX_LISTEN; i++) {
		tls = ls[i].cert_pem != NULL;
		api->lsn[i].api = api;
		api->lsn[i].mhd = start_one(&api->lsn[i], ls[i].fd, tls);
		if (api->lsn[i].mhd == NULL) {
			dm_err_set(err, DM_EINTERNAL, "cannot start the HTTP "
			    "server");
			close(ls[i].fd);
			api_stop(api);
			return NULL;
		}
		api->nlsn++;
		if (!tls && run_from_loop(api, &api->lsn[i]) == -1) {
			dm_err_set(err, DM_EINTERNAL, "cannot run the HTTP "
			    "server from the stream loop");
			api_stop(api);
			return NULL;
		}
		if (tls && (api->lsn[i].tls = api_tls_start(ls[i].fd,
		    &ls[i], api->lsn[i].mhd, err)) == NULL) {
			api_stop(api);
			return NULL;
		}
	}
	return api;
}

void
api_set_limits(struct api *api, const struct api_limits *lim)
{
	api_conns_limits(api->conns, lim->max_connections,
	    lim->max_connections_per_peer, lim->idle_timeout_s);
}

void
api_quiesce(struct api *api)
{
	MHD_socket	fd;
	size_t		i;

	if (api->quiesced)
		return;
	api->quiesced = 1;
	for (i = 0; i < api->nlsn; i++) {
		if (api->lsn[i].tls != NULL) {
			api_tls_quiesce(api->lsn[i].tls);
			continue;
		}
		/* Not during a run: it might accept on the closed fd. */
		pthread_mutex_lock(&api->lsn[i].run_lock);
		fd = MHD_quiesce_daemon(api->lsn[i].mhd);
		pthread_mutex_unlock(&api->lsn[i].run_lock);
		if (fd != MHD_INVALID_SOCKET)
			close(fd);
	}
}

void
api_drain(struct api *api)
{
	api_quiesce(api);
	atomic_store(&api->draining, 1);
	api_conns_drain(api->conns, DM_UPGRADE_IDLE_MS);
}

int
api_is_idle(const struct api *api)
{
	size_t	i;

	for (i = 0; i < api->nlsn; i++)
		if (!api_tls_is_idle(api->lsn[i].tls))
			return 0;
	return api_conns_count(api->conns) == 0;
}

unsigned int
api_unanswered(const struct api *api)
{
	return atomic_load(&((struct api *)(uintptr_t)api)->unanswered);
}

/* The plain listeners' daemons, once each, when the loop no longer does. */
static void
run_plain(struct api *api)
{
	size_t	i;

	for (i = 0; i < api->nlsn; i++)
		if (api->lsn[i].src.run != NULL)	/* plain only */
			lsn_run(&api->lsn[i]);
}

/*
 * Stopping with connections suspended is undefined in libmicrohttpd:
 * every waiting stream is woken (and ends), every worker's call returns
 * (shutdown wakes what waits on an engine), and each connection is seen
 * back in MHD's hands before its daemon stops.  The stream loop's thread
 * is gone by then: this thread runs the plain listeners' daemons.
 */
static void
settle(struct api *api)
{
	long long	deadline = dm_mono_ms() + DM_SHUTDOWN_GRACE_MS;

	atomic_store(&api->stopping, 1);
	if (api->loop != NULL)
		api_loop_stop(api->loop);
	if (api->work != NULL && dm_work_settle(api->work,
	    DM_SHUTDOWN_GRACE_MS) == -1)
		log_warnx("msg=\"calls still running at stop\"");
	while (atomic_load(&api->suspended) > 0 && dm_mono_ms() < deadline) {
		run_plain(api);
		(void)poll(NULL, 0, DM_SHUTDOWN_POLL_MS);
	}
	if (atomic_load(&api->suspended) > 0)
		log_warnx("msg=\"connections still suspended at stop\" "
		    "n=%u", atomic_load(&api->suspended));
}

void
api_stop(struct api *api)
{
	size_t	i;

	if (api == NULL)
		return;
	api_conns_stop(api->conns);
	/* TLS first: its pumps end, so MHD sees those connections close. */
	for (i = 0; i < api->nlsn; i++)
		api_tls_stop(api->lsn[i].tls);
	settle(api);
	for (i = 0; i < api->nlsn; i++)
		MHD_stop_daemon(api->lsn[i].mhd);
	dm_work_free(api->work);
	api_loop_free(api->loop);
	api_conns_free(api->conns);
	for (i = 0; i < DM_MAX_LISTEN; i++)
		pthread_mutex_destroy(&api->lsn[i].run_lock);
	free(api);
}
