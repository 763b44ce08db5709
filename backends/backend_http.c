/*
 * backend_http.c: HTTP exchanges with an engine, with the response pulled
 * piece by piece so nothing is buffered whole and a slow client slows the
 * engine instead of growing memory.  A tcp engine's (plain or TLS) go
 * through libcurl, here; a Unix socket's and an ssh bridge's through our
 * own HTTP/1.1 (backend_raw.c), which costs a stream a socket, not curl's
 * handles.
 */
/*
 * Threads: an exchange is used by one thread at a time: started and
 * answered on a call worker; a streamed body then read without blocking
 * (backend_xfer_try_read) on libmicrohttpd's thread, or by a worker.
 * Only the per-backend pool of idle connections is shared (backend.c,
 * under backend->lock).
 */

#include <curl/curl.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

struct backend_xfer {
	struct backend		*b;		/* a reference */
	struct raw_xfer		*raw;		/* owned: unix, ssh; the rest
						   below is curl's, for tcp */
	struct pool_ent		*pe;
	struct curl_slist	*slist;
	char			 errbuf[CURL_ERROR_SIZE];

	/* streamed request body: the piece being sent */
	const char		*up;
	size_t			 up_len;
	int			 up_eof;
	int			 up_paused;

	/* response head */
	int			 status;
	int			 head_done;
	long long		 clen;
	struct dm_hdrs		 hdrs;
	size_t			 head_bytes;	/* of the head being read */
	char			 head_err[96];	/* why the head was refused */

	/* response body: what curl delivered and the client has not read */
	size_t			 off;
	size_t			 len;
	int			 rx_paused;

	int			 done;
	CURLcode		 result;
	long long		 head_deadline;	/* monotonic ms; 0 none */
	int			 timed_out;
	int			 watch_off;	/* client fd had data: stop watching */
	int			 broken;	/* never return this to the pool */

	/* backend_xfer_try_finish(): the body read so far */
	char			*got;		/* owned */
	size_t			 got_len, got_cap;
};

/*
 * One line of the answer's head.  A status line ("HTTP/1.1 200 OK")
 * starts a head (again after a 1xx); the blank line ends it.  A head past
 * DM_MAX_HEADER bytes or DM_MAX_HEADERS lines is refused, not cut: the
 * short return makes curl fail the exchange, and head_err says why.
 * Lines after the head (chunked trailers) are not part of it.
 */
static size_t
on_header(char *line, size_t size, size_t nmemb, void *arg)
{
	struct backend_xfer	*x = arg;
	size_t			 n = size * nmemb;
	char			*copy, *colon, *val, *end;
	int			 code;

	if (n >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		dm_hdrs_clear(&x->hdrs);
		x->clen = -1;
		x->head_bytes = n;
		code = 0;
		if (sscanf(line, "HTTP/%*s %d", &code) == 1)
			x->status = code;
		return n;
	}
	if (x->head_done)
		return n;
	x->head_bytes += n;
	if (x->head_bytes > DM_MAX_HEADER) {
		snprintf(x->head_err, sizeof(x->head_err), "answer head larger "
		    "than %d bytes", DM_MAX_HEADER);
		return 0;
	}
	if (n <= 2 && (line[0] == '\r' || line[0] == '\n')) {
		/* 101 ends the head too: the hijack path owns upgrades. */
		if (x->status >= 200 || x->status == 101)
			x->head_done = 1;
		return n;
	}
	colon = memchr(line, ':', n);
	if (colon == NULL || colon == line)
		return n;
	copy = xmalloc(n + 1);
	memcpy(copy, line, n);
	copy[n] = '\0';
	colon = copy + (colon - line);
	*colon = '\0';
	val = colon + 1;
	end = copy + n;
	while (val < end && (*val == ' ' || *val == '\t'))
		val++;
	while (end > val && (end[-1] == '\r' || end[-1] == '\n' ||
	    end[-1] == ' '))
		end--;
	*end = '\0';
	if (strcasecmp(copy, "Content-Length") == 0)
		x->clen = strtoll(val, NULL, 10);
	if (dm_hdrs_add(&x->hdrs, copy, val) == -1) {
		snprintf(x->head_err, sizeof(x->head_err), "answer has more "
		    "than %d header lines", DM_MAX_HEADERS);
		free(copy);
		return 0;
	}
	free(copy);
	return n;
}

/*
 * Keep what fits; ask curl to hold the rest (it delivers the same bytes
 * again after unpausing).  The buffer grows as data comes, doubling from
 * a page, to DM_STREAM_CHUNK at most: at least one curl write
 * (CURLOPT_BUFFERSIZE, DM_CURL_BUFFER, is smaller).  A quiet stream
 * keeps a page, not a chunk.
 */
static size_t
on_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct backend_xfer	*x = arg;
	struct pool_ent		*pe = x->pe;
	size_t			 n = size * nmemb, cap;

	if (x->off > 0 && x->off == x->len) {
		x->off = 0;
		x->len = 0;
	}
	if (DM_STREAM_CHUNK - x->len < n && x->off > 0) {
		memmove(pe->buf, pe->buf + x->off, x->len - x->off);
		x->len -= x->off;
		x->off = 0;
	}
	if (DM_STREAM_CHUNK - x->len < n) {
		x->rx_paused = 1;
		return CURL_WRITEFUNC_PAUSE;
	}
	if (pe->cap - x->len < n) {
		cap = pe->cap > 0 ? pe->cap : 4096;
		while (cap - x->len < n)
			cap *= 2;
		if (cap > DM_STREAM_CHUNK)
			cap = DM_STREAM_CHUNK;
		pe->buf = xrealloc(pe->buf, cap);
		pe->cap = cap;
	}
	memcpy(pe->buf + x->len, data, n);
	x->len += n;
	return n;
}

static size_t
on_upload(char *dst, size_t size, size_t nmemb, void *arg)
{
	struct backend_xfer	*x = arg;
	size_t			 n = size * nmemb;

	if (x->up_len == 0) {
		if (x->up_eof)
			return 0;
		x->up_paused = 1;
		return CURL_READFUNC_PAUSE;
	}
	if (n > x->up_len)
		n = x->up_len;
	memcpy(dst, x->up, n);
	x->up += n;
	x->up_len -= n;
	return n;
}

static void
set_pause(struct backend_xfer *x)
{
	int	mask = 0;

	if (x->rx_paused)
		mask |= CURLPAUSE_RECV;
	if (x->up_paused)
		mask |= CURLPAUSE_SEND;
	curl_easy_pause(x->pe->easy, mask);
}

enum pump_until {
	PUMP_UPLOADED = 0,	/* the current body piece is consumed */
	PUMP_HEAD,		/* final status and headers are in */
	PUMP_DATA,		/* some body bytes, or the end */
	PUMP_SETTLED		/* the end, or a buffer's worth */
};

static int
pump_satisfied(const struct backend_xfer *x, enum pump_until until)
{
	switch (until) {
	case PUMP_UPLOADED:
		return x->up_len == 0;
	case PUMP_HEAD:
		return x->head_done;
	case PUMP_DATA:
		return x->len > x->off;
	case PUMP_SETTLED:
		return x->len - x->off >= DM_CURL_BUFFER || x->rx_paused;
	}
	return 1;
}

/* Let curl do what it can without waiting; x->done when it is over. */
static void
step(struct backend_xfer *x)
{
	CURLMsg	*msg;
	int	 running, left;

	if (curl_multi_perform(x->pe->multi, &running) != CURLM_OK) {
		x->done = 1;
		x->result = CURLE_RECV_ERROR;
		x->broken = 1;
		return;
	}
	while ((msg = curl_multi_info_read(x->pe->multi, &left)) != NULL) {
		if (msg->msg == CURLMSG_DONE) {
			x->done = 1;
			x->result = msg->data.result;
		}
	}
}

/*
 * Drive the exchange until the condition holds or it is over.  0 when the
 * condition holds or the exchange finished (caller looks at x->done), -1
 * when told to stop (shutdown, the watched client went away).
 */
static int	pump_until_ms(struct backend_xfer *, enum pump_until, int,
		    long long);

static int
pump(struct backend_xfer *x, enum pump_until until, int watch_fd)
{
	return pump_until_ms(x, until, watch_fd, 0);
}

/*
 * As pump(), giving up (0, condition not met) at the monotonic deadline
 * when one is given.
 */
static int
pump_until_ms(struct backend_xfer *x, enum pump_until until, int watch_fd,
    long long deadline)
{
	struct curl_waitfd	 wfd[2];
	unsigned int		 nwfd;
	int			 slice;

	for (;;) {
		step(x);
		if (pump_satisfied(x, until) || x->done)
			return 0;
		slice = DM_POLL_SLICE_MS;
		if (deadline != 0) {
			long long left_ms = deadline - dm_mono_ms();

			if (left_ms <= 0)
				return 0;
			if (left_ms < slice)
				slice = (int)left_ms;
		}
		if (until == PUMP_HEAD && x->head_deadline != 0 &&
		    dm_mono_ms() >= x->head_deadline) {
			x->timed_out = 1;
			x->broken = 1;
			return -1;
		}
		nwfd = 0;
		wfd[nwfd].fd = backend_cancel_fd;
		wfd[nwfd].events = CURL_WAIT_POLLIN;
		wfd[nwfd].revents = 0;
		nwfd += backend_cancel_fd != -1;
		if (watch_fd != -1 && !x->watch_off) {
			wfd[nwfd].fd = watch_fd;
			wfd[nwfd].events = CURL_WAIT_POLLIN;
			wfd[nwfd].revents = 0;
			nwfd++;
		}
		if (curl_multi_poll(x->pe->multi, wfd, nwfd, slice, NULL) !=
		    CURLM_OK)
			return -1;
		if (fd_says_stop(backend_cancel_fd)) {
			x->broken = 1;
			return -1;
		}
		if (watch_fd != -1 && !x->watch_off && wfd[nwfd - 1].revents) {
			if (fd_says_stop(watch_fd)) {
				x->broken = 1;
				return -1;
			}
			/* Bytes pending from the client: stop polling them. */
			x->watch_off = 1;
		}
	}
}

static void
xfer_fail(struct backend_xfer *x, struct dm_err *err, const char *what)
{
	const char	*why = x->errbuf[0] != '\0' ? x->errbuf :
	    curl_easy_strerror(x->result);

	/* on_header() refused the head: say so, not curl's write error. */
	if (x->head_err[0] != '\0')
		dm_err_set(err, DM_EBACKEND, "backend %s: %s", x->b->name,
		    x->head_err);
	/* curl speaks of "localhost port 80"; the user knows a socket. */
	else if (x->result == CURLE_COULDNT_CONNECT &&
	    x->b->transport == BACKEND_UNIX)
		dm_err_set(err, DM_EBACKEND, "backend %s: cannot connect to %s",
		    x->b->name, x->b->sock);
	else {
		char	msg[DM_ERR_MSG_MAX];

		snprintf(msg, sizeof(msg), "%s: %.200s", what, why);
		backend_unreachable(x->b, err, msg);
	}
}

/* The request head's size as sent: it must fit DM_MAX_HEADER. */
static size_t
call_head_size(const struct backend_call *call)
{
	size_t	i, n;

	n = strlen(call->method) + strlen(call->path) + sizeof(" HTTP/1.1\r\n");
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++)
		n += strlen(call->hdrs->v[i].name) +
		    strlen(call->hdrs->v[i].value) + sizeof(": \r\n") - 1;
	return n;
}

struct backend_xfer *
backend_xfer_start(struct backend *b, const struct backend_call *call,
    struct dm_err *err)
{
	struct backend_xfer	*x;
	struct raw_xfer		*raw = NULL;
	CURL			*e;
	size_t			 i, n;
	char			*line;
	char			 url[DM_MAX_PATH + 320];

	if (strlen(call->path) > DM_MAX_PATH) {
		dm_err_set(err, DM_EBADREQ, "request path too long");
		return NULL;
	}
	if (call_head_size(call) > DM_MAX_HEADER) {
		dm_err_set(err, DM_EBADREQ, "request head too large");
		return NULL;
	}
	if (b->transport != BACKEND_TCP &&
	    (raw = raw_start(b, call, err)) == NULL)
		return NULL;
	x = xcalloc(1, sizeof(*x));
	x->b = b;
	backend_hold(b);
	x->clen = -1;
	dm_hdrs_init(&x->hdrs);
	if ((x->raw = raw) != NULL)
		return x;
	if (call->head_timeout_ms > 0)
		x->head_deadline = dm_mono_ms() + call->head_timeout_ms;
	x->pe = pool_get(b);
	e = x->pe->easy;
	curl_easy_reset(e);
	backend_curl_target(b, e, url, sizeof(url), call->path);
	curl_easy_setopt(e, CURLOPT_PATH_AS_IS, 1L);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
	curl_easy_setopt(e, CURLOPT_BUFFERSIZE, (long)DM_CURL_BUFFER);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)DM_CONNECT_TIMEOUT_MS);
	if (call->timeout_ms > 0)
		curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
		    (long)call->timeout_ms);
	curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
	/* Engines answer gzip only when asked; relay bytes unchanged. */
	curl_easy_setopt(e, CURLOPT_HTTP_CONTENT_DECODING, 0L);
	curl_easy_setopt(e, CURLOPT_HTTP_TRANSFER_DECODING, 1L);

	if (strcmp(call->method, "HEAD") == 0)
		curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
	else if (strcmp(call->method, "GET") != 0 || call->body != NULL ||
	    call->body_streamed) {
		if (call->body_streamed) {
			curl_easy_setopt(e, CURLOPT_POST, 1L);
			curl_easy_setopt(e, CURLOPT_READFUNCTION, on_upload);
			curl_easy_setopt(e, CURLOPT_READDATA, x);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)call->body_size);
		} else if (call->body != NULL || strcmp(call->method,
		    "POST") == 0 || strcmp(call->method, "PUT") == 0) {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS,
			    call->body != NULL ? call->body : "");
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			    (curl_off_t)call->body_len);
		}
		curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, call->method);
	}

	/* Suppress curl's own defaults; the client's headers go as sent. */
	x->slist = curl_slist_append(x->slist, "Expect:");
	x->slist = curl_slist_append(x->slist, "Accept:");
	if (call->body_streamed && call->body_size < 0)
		x->slist = curl_slist_append(x->slist,
		    "Transfer-Encoding: chunked");
	if (call->hdrs == NULL || dm_hdrs_get(call->hdrs, "Content-Type") ==
	    NULL)
		x->slist = curl_slist_append(x->slist, "Content-Type:");
	/* Each line whole: the head as a whole fits DM_MAX_HEADER. */
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++) {
		n = strlen(call->hdrs->v[i].name) +
		    strlen(call->hdrs->v[i].value) + sizeof(": ");
		line = xmalloc(n);
		snprintf(line, n, "%s: %s", call->hdrs->v[i].name,
		    call->hdrs->v[i].value);
		x->slist = curl_slist_append(x->slist, line);
		free(line);
	}
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->slist);

	if (curl_multi_add_handle(x->pe->multi, e) != CURLM_OK) {
		dm_err_set(err, DM_EINTERNAL, "curl_multi_add_handle");
		x->broken = 1;
		backend_xfer_free(x);
		return NULL;
	}
	/* One step: connect and send; the answer is awaited by _head(). */
	if (pump(x, PUMP_UPLOADED, -1) == -1 ||
	    (x->done && x->result != CURLE_OK && !x->head_done)) {
		xfer_fail(x, err, "request");
		x->broken = 1;
		backend_xfer_free(x);
		return NULL;
	}
	return x;
}

int
backend_xfer_send(struct backend_xfer *x, const char *data, size_t len,
    struct dm_err *err)
{
	if (x->raw != NULL)
		return raw_send(x->raw, data, len, err);
	if (x->done)
		return 0;	/* the engine answered early; drop the rest */
	x->up = data;
	x->up_len = len;
	if (x->up_paused) {
		x->up_paused = 0;
		set_pause(x);
	}
	if (pump(x, PUMP_UPLOADED, -1) == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: upload interrupted",
		    x->b->name);
		return -1;
	}
	if (x->done && x->result != CURLE_OK) {
		xfer_fail(x, err, "upload");
		return -1;
	}
	x->up = NULL;
	x->up_len = 0;
	return 0;
}

int
backend_xfer_head(struct backend_xfer *x, int watch_fd, struct dm_err *err)
{
	if (x->raw != NULL)
		return raw_head(x->raw, watch_fd, err);
	x->up_eof = 1;
	if (x->up_paused) {
		x->up_paused = 0;
		set_pause(x);
	}
	if (pump(x, PUMP_HEAD, watch_fd) == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: %s", x->b->name,
		    x->timed_out ? "timed out waiting for an answer" :
		    "interrupted");
		return -1;
	}
	if (!x->head_done) {
		xfer_fail(x, err, "no answer");
		return -1;
	}
	return 0;
}

int
backend_xfer_head_within(struct backend_xfer *x, int watch_fd, int ms,
    struct dm_err *err)
{
	if (x->raw == NULL)
		return 1;	/* curl's wait is not cut short: the caller's */
	return raw_head_within(x->raw, watch_fd, dm_mono_ms() + ms, err);
}

int
backend_xfer_fd(const struct backend_xfer *x)
{
	return x->raw != NULL ? raw_fd(x->raw) : -1;
}

int
backend_xfer_status(const struct backend_xfer *x)
{
	if (x->raw != NULL)
		return raw_status(x->raw);
	return x->status;
}

const struct dm_hdrs *
backend_xfer_headers(const struct backend_xfer *x)
{
	if (x->raw != NULL)
		return raw_headers(x->raw);
	return &x->hdrs;
}

long long
backend_xfer_length(const struct backend_xfer *x)
{
	if (x->raw != NULL)
		return raw_length(x->raw);
	return x->clen;
}

/* An empty buffer after a pause: let curl deliver what it held back. */
static void
unpause_rx(struct backend_xfer *x)
{
	if (x->len == x->off && x->rx_paused) {
		x->off = x->len = 0;
		x->rx_paused = 0;
		set_pause(x);	/* may deliver into the buffer right away */
	}
}

/* What is buffered into buf, the end (0) or the break (-1). */
static ssize_t
take(struct backend_xfer *x, char *buf, size_t max)
{
	size_t	n;

	if (x->len == x->off) {
		if (x->done && x->result != CURLE_OK) {
			log_warnx("msg=\"engine stream broke\" backend=%s "
			    "error=%s", x->b->name, log_q(x->errbuf[0] ?
			    x->errbuf : curl_easy_strerror(x->result)));
			x->broken = 1;
			return -1;
		}
		return 0;
	}
	n = x->len - x->off;
	if (n > max)
		n = max;
	memcpy(buf, x->pe->buf + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

ssize_t
backend_xfer_read(struct backend_xfer *x, char *buf, size_t max,
    int watch_fd)
{
	if (x->raw != NULL)
		return raw_read(x->raw, buf, max, watch_fd);
	unpause_rx(x);
	if (x->len == x->off && !x->done &&
	    pump(x, PUMP_DATA, watch_fd) == -1)
		return -1;
	return take(x, buf, max);
}

ssize_t
backend_xfer_try_read(struct backend_xfer *x, char *buf, size_t max,
    struct dm_wait *w)
{
	curl_socket_t	sock = CURL_SOCKET_BAD;
	long		ms = -1;
	int		i;

	if (x->raw != NULL)
		return raw_try_read(x->raw, buf, max, w);
	unpause_rx(x);
	/* curl may have more for us at once (TLS records it holds). */
	for (i = 0; i < 4 && x->len == x->off && !x->done; i++) {
		step(x);
		if (x->len > x->off || x->done ||
		    curl_multi_timeout(x->pe->multi, &ms) != CURLM_OK ||
		    ms != 0)
			break;
	}
	if (x->len > x->off || x->done)
		return take(x, buf, max);
	if (curl_easy_getinfo(x->pe->easy, CURLINFO_ACTIVESOCKET, &sock) !=
	    CURLE_OK)
		sock = CURL_SOCKET_BAD;
	w->fd = sock == CURL_SOCKET_BAD ? -1 : (int)sock;
	/* No socket yet, or curl wants to run now: look again soon. */
	w->ms = w->fd == -1 || ms == 0 ? 1 : ms;
	return DM_WOULD_BLOCK;
}

int
backend_xfer_complete(const struct backend_xfer *x)
{
	if (x->raw != NULL)
		return raw_complete(x->raw);
	return x->done && x->result == CURLE_OK && !x->rx_paused;
}

void
backend_xfer_settle(struct backend_xfer *x, int max_ms)
{
	if (x->raw != NULL)
		raw_settle(x->raw, max_ms);
	else if (!x->done)
		(void)pump_until_ms(x, PUMP_SETTLED, -1, dm_mono_ms() + max_ms);
}

/*
 * The whole body, up to max bytes, into a buffer sized to the answer
 * (what its Content-Length says, else what is here already, plus room):
 * an inspect allocates a few KiB, not a chunk, on every call.  Without
 * wait, DM_WOULD_BLOCK (*w says what for) keeps what came in x->got for
 * the next call; either way a later call goes on from there.  0 with
 * *body (owned), -1 with err.
 */
static int
slurp(struct backend_xfer *x, size_t max, int wait, struct dm_wait *w,
    char **body, size_t *len, struct dm_err *err)
{
	char		*out = x->got;
	size_t		 have = x->got_len, cap = x->got_cap;
	long long	 clen;
	ssize_t		 n;
	int		 rc = -1;

	x->got = NULL;
	x->got_len = x->got_cap = 0;
	if (out == NULL) {
		clen = backend_xfer_length(x);
		if (clen >= 0 && (size_t)clen <= max)
			cap = (size_t)clen + 1;
		else
			cap = (x->raw != NULL ? raw_buffered(x->raw) :
			    x->len - x->off) + DM_SLURP_STEP;
		out = xmalloc(cap);
	}
	for (;;) {
		if (cap - have - 1 == 0) {	/* full: never a 0-byte read */
			cap *= 2;
			out = xrealloc(out, cap);
		}
		n = wait ? backend_xfer_read(x, out + have, cap - have - 1, -1) :
		    backend_xfer_try_read(x, out + have, cap - have - 1, w);
		if (n == DM_WOULD_BLOCK && w->fd == -1 && w->ms >= 0 &&
		    x->raw != NULL)
			continue;	/* a turn given to other streams */
		if (n == DM_WOULD_BLOCK) {
			x->got = out;
			x->got_len = have;
			x->got_cap = cap;
			return DM_WOULD_BLOCK;
		}
		if (n == -1 && x->raw != NULL) {
			raw_fail(x->raw, err, "reading answer");
			goto out;
		}
		if (n == -1) {
			xfer_fail(x, err, "reading answer");
			goto out;
		}
		if (n == 0)
			break;
		have += (size_t)n;
		if (have > max) {
			dm_err_set(err, DM_EBACKEND, "backend %s: answer "
			    "larger than %zu bytes", x->b->name, max);
			goto out;
		}
	}
	out[have] = '\0';
	*body = out;
	*len = have;
	out = NULL;
	rc = 0;
out:
	free(out);
	return rc;
}

int
backend_xfer_slurp(struct backend_xfer *x, size_t max, char **body,
    size_t *len, struct dm_err *err)
{
	return slurp(x, max, 1, NULL, body, len, err);
}

void
backend_xfer_free(struct backend_xfer *x)
{
	if (x == NULL)
		return;
	if (x->raw != NULL)
		raw_free(x->raw);
	else {
		curl_multi_remove_handle(x->pe->multi, x->pe->easy);
		curl_slist_free_all(x->slist);
		/* A half-read answer leaves the connection unusable. */
		if (x->broken || !x->done)
			pool_ent_free(x->pe);
		else
			pool_put(x->b, x->pe);
	}
	backend_release(x->b);
	dm_hdrs_clear(&x->hdrs);
	free(x->got);
	free(x);
}

/* The status and head of x, whose body is read, for its caller.  0, or
 * -1 with err. */
static int
answer_head(struct backend_xfer *x, int *status, struct dm_hdrs *hdrs_out,
    struct dm_err *err)
{
	const struct dm_hdrs	*hdrs = backend_xfer_headers(x);
	size_t			 i;

	*status = backend_xfer_status(x);
	for (i = 0; hdrs_out != NULL && i < hdrs->n; i++)
		if (dm_hdrs_add(hdrs_out, hdrs->v[i].name,
		    hdrs->v[i].value) == -1) {
			dm_err_set(err, DM_EBACKEND, "backend %s: answer has "
			    "more than %d header lines", x->b->name,
			    DM_MAX_HEADERS);
			return -1;
		}
	return 0;
}

/* finish and try_finish: the body and head of x, or what failed. */
static int
finish(struct backend_xfer *x, int wait, struct dm_wait *w, int *status,
    char **body, size_t *len, struct dm_hdrs *hdrs_out, struct dm_err *err)
{
	int	rc;

	*body = NULL;
	*len = 0;
	if (wait)
		rc = backend_xfer_head(x, -1, err);
	else if (x->raw == NULL)
		return DM_NEEDS_WORKER;	/* libcurl's head: waited for */
	else if ((rc = raw_head_within(x->raw, -1, dm_mono_ms(), err)) == 1) {
		w->fd = raw_fd(x->raw);
		w->ms = -1;
		return DM_WOULD_BLOCK;
	}
	if (rc == -1)
		goto out;
	rc = slurp(x, DM_MAX_SMALL_BODY, wait, w, body, len, err);
	if (rc == DM_WOULD_BLOCK)
		return rc;
	if (rc == 0 && answer_head(x, status, hdrs_out, err) == -1) {
		free(*body);
		*body = NULL;
		*len = 0;
		rc = -1;
	}
out:
	backend_xfer_free(x);
	return rc;
}

int
backend_xfer_finish(struct backend_xfer *x, int *status, char **body,
    size_t *len, struct dm_hdrs *hdrs_out, struct dm_err *err)
{
	return finish(x, 1, NULL, status, body, len, hdrs_out, err);
}

int
backend_xfer_try_finish(struct backend_xfer *x, int *status, char **body,
    size_t *len, struct dm_hdrs *hdrs_out, struct dm_wait *w,
    struct dm_err *err)
{
	return finish(x, 0, w, status, body, len, hdrs_out, err);
}

int
backend_do(struct backend *b, const struct backend_call *call, int *status,
    char **body, size_t *len, struct dm_hdrs *hdrs_out, struct dm_err *err)
{
	struct backend_xfer	*x;

	*body = NULL;
	*len = 0;
	x = backend_xfer_start(b, call, err);
	if (x == NULL)
		return -1;
	return backend_xfer_finish(x, status, body, len, hdrs_out, err);
}

int
backend_socket_answers(const char *sock)
{
	struct backend		*b;
	struct backend_call	 bc;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status = 0, ok;

	b = backend_new_unix("probe", sock);
	memset(&bc, 0, sizeof(bc));
	bc.method = "GET";
	bc.path = "/_ping";
	bc.timeout_ms = DM_PING_TIMEOUT_MS;
	ok = backend_do(b, &bc, &status, &body, &len, NULL, &err) == 0 &&
	    status == 200 && len == 2 && memcmp(body, "OK", 2) == 0;
	free(body);
	backend_release(b);
	return ok;
}
