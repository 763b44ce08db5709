/*
 * backend_raw.c: HTTP/1.1 with an engine over a plain socket (its Unix
 * socket, or an ssh bridge's), written and read by hand.  curl stays for
 * tcp and TLS.  Here an exchange is a socket and a few counters: a stream
 * waiting for its next line holds a descriptor and this struct, not curl's
 * multi and easy handles (~33 KiB together), and a call makes the system
 * calls it needs: one send, one recv, a poll when the engine is slower.
 */
/*
 * Threads: as backend_http.c, an exchange is used by one thread at a
 * time; only the pool of idle sockets is shared (backend.c).
 */

#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "backend_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/* A stream that moved DM_CURL_BUFFER since its last wait gathers this
 * long before it waits on the socket again (0, a turn of the loop: 0.8x
 * direct; 1 and 2 ms alike, at the engine's pace). */
#define RAW_GATHER_MS	1

/* What the engine sends before its head is read (an early answer). */
#define RAW_IN_MAX	(DM_MAX_HEADER + DM_CURL_BUFFER)

struct raw_xfer {
	struct backend	*b;		/* a reference */
	struct pool_ent	*pe;		/* owned: the socket */
	int		 reused;	/* pe came from the pool */
	int		 timeout_ms;	/* whole exchange; 0 none */
	long long	 deadline;	/* of the whole exchange; 0 none */
	long long	 head_deadline;	/* until the head; 0 none */
	int		 head_req;	/* HEAD: no body comes */

	/* the request */
	char		*req;		/* owned: head and buffered body, kept
					   until the answer starts for one
					   retry on a socket gone stale */
	size_t		 req_len;
	int		 up_chunked;	/* streamed body of unknown size */
	long long	 up_left;	/* streamed body with a size: to send */
	int		 up_done;	/* the engine stopped reading it */
	int		 up_ended;	/* raw_head() has ended it */

	/* bytes come before the head is parsed (owned) */
	char		*in;
	size_t		 in_len, in_cap;

	/* the answer */
	int		 status;
	int		 head_done;
	struct dm_hdrs	 hdrs;
	long long	 clen;
	struct h1_body	 body;		/* its framing, as it is read */
	int		 keep;		/* the socket may serve another exchange */
	int		 done;		/* the body ended as framed */
	int		 failed;	/* why says how */
	int		 logged;
	int		 watch_off;	/* client fd had data: stop watching */
	size_t		 streak;	/* bytes taken since the last wait */
	char		 why[160];
	char		 head_err[96];	/* a refused head, said alone */

	/* body bytes read ahead (the head's leftover, settle): owned */
	char		*buf;
	size_t		 off, len, cap;
};

static void	fail(struct raw_xfer *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
fail(struct raw_xfer *x, const char *fmt, ...)
{
	va_list	ap;

	x->keep = 0;
	if (x->failed)
		return;
	x->failed = 1;
	va_start(ap, fmt);
	vsnprintf(x->why, sizeof(x->why), fmt, ap);
	va_end(ap);
}

/* The earlier of two deadlines, 0 meaning none. */
static long long
earlier(long long a, long long b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* backend_wait() on x's socket, the client watched until it sends. */
static int
wait_sock(struct raw_xfer *x, short events, int watch_fd, long long deadline,
    short *revents)
{
	return backend_wait(x->pe->fd, events, watch_fd, &x->watch_off,
	    deadline, revents);
}

/*
 * Receive what is waiting into x->in, grown up to most bytes: >0, 0 EOF,
 * -1 with errno (EAGAIN: nothing yet, ENOBUFS: full).
 */
static ssize_t
recv_in(struct raw_xfer *x, size_t most)
{
	ssize_t	n;
	size_t	cap;

	if (x->in_len == x->in_cap) {
		if (x->in_cap >= most) {
			errno = ENOBUFS;
			return -1;
		}
		/* 8 KiB: most answers (an inspect) in one recv. */
		cap = x->in_cap > 0 ? x->in_cap * 2 : 8192;
		if (cap > most)
			cap = most;
		x->in = xrealloc(x->in, cap + 1);	/* +1: a NUL for parsing */
		x->in_cap = cap;
	}
	do
		n = recv(x->pe->fd, x->in + x->in_len, x->in_cap - x->in_len,
		    MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n > 0)
		x->in_len += (size_t)n;
	return n;
}

/*
 * Send iov whole, reading what the engine says meanwhile into x->in: an
 * engine may answer before it has read the body, and stop reading.  0 sent
 * or the engine stopped reading (x->up_done; its answer tells the rest),
 * -1 told to stop or out of time.
 */
static int
send_iov(struct raw_xfer *x, struct iovec *iov, int iovcnt)
{
	struct msghdr	msg;
	ssize_t		n;
	short		ev, rev;
	int		w;

	while (iovcnt > 0 && !x->up_done) {
		if (iov->iov_len == 0) {
			iov++;
			iovcnt--;
			continue;
		}
		memset(&msg, 0, sizeof(msg));
		msg.msg_iov = iov;
		msg.msg_iovlen = (size_t)iovcnt;
		n = sendmsg(x->pe->fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n >= 0) {
			while (n > 0) {
				if ((size_t)n >= iov->iov_len) {
					n -= (ssize_t)iov->iov_len;
					iov->iov_len = 0;
					iov++;
					iovcnt--;
				} else {
					iov->iov_base = (char *)iov->iov_base +
					    n;
					iov->iov_len -= (size_t)n;
					n = 0;
				}
			}
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			/* EPIPE, ECONNRESET: it stopped reading. */
			x->up_done = 1;
			break;
		}
		ev = POLLOUT;
		if (x->in_len < RAW_IN_MAX)
			ev |= POLLIN;
		w = wait_sock(x, ev, -1, x->deadline, &rev);
		if (w != 1) {
			if (w == 0)
				fail(x, "timed out after %d ms", x->timeout_ms);
			x->keep = 0;
			return -1;
		}
		if ((rev & POLLIN) && recv_in(x, RAW_IN_MAX) == 0)
			x->up_done = 1;
	}
	return 0;
}

static int
send_bytes(struct raw_xfer *x, const char *p, size_t len)
{
	struct iovec	iov;

	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = len;
	return send_iov(x, &iov, 1);
}

/*
 * A socket to the engine: an idle one from the pool, else a new one.
 * peek: only one that is still good (the engine has neither closed it nor
 * written to it).
 */
static int
get_socket(struct raw_xfer *x, int peek, struct dm_err *err)
{
	struct pool_ent	*pe;
	char		 c;
	int		 fd;

	while ((pe = pool_take(x->b)) != NULL) {
		/* One that can be sent again (retry()) is not looked at. */
		if (!peek || (recv(pe->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) ==
		    -1 && (errno == EAGAIN || errno == EWOULDBLOCK))) {
			x->pe = pe;
			x->reused = 1;
			return 0;
		}
		pool_ent_free(pe);
	}
	x->reused = 0;
	fd = backend_dial_unix(x->b->name, x->b->sock, err);
	if (fd == -1) {
		/* The health check's words: "cannot connect to PATH". */
		if (errno == ETIMEDOUT || errno == ECANCELED)
			;
		else if (x->b->transport == BACKEND_UNIX)
			dm_err_set(err, DM_EBACKEND, "backend %s: cannot "
			    "connect to %s", x->b->name, x->b->sock);
		else
			backend_unreachable(x->b, err, "request: cannot "
			    "connect");
		return -1;
	}
	x->pe = xcalloc(1, sizeof(*x->pe));
	x->pe->fd = fd;
	return 0;
}

/* Append to the request head of cap bytes, or -1: past it. */
static int	head_add(char *, size_t *, size_t, const char *, ...)
		    __attribute__((format(printf, 4, 5)));

static int
head_add(char *head, size_t *len, size_t cap, const char *fmt, ...)
{
	va_list	ap;
	int	w;

	va_start(ap, fmt);
	w = vsnprintf(head + *len, cap - *len, fmt, ap);
	va_end(ap);
	if (w < 0 || (size_t)w >= cap - *len)
		return -1;
	*len += (size_t)w;
	return 0;
}

struct raw_xfer *
raw_start(struct backend *b, const struct backend_call *call,
    struct dm_err *err)
{
	struct raw_xfer	*x;
	char		*head;
	size_t		 len = 0, i, body_len = 0, cap;
	int		 with_body, bad = 0;

	x = xcalloc(1, sizeof(*x));
	x->b = b;
	backend_hold(b);
	dm_hdrs_init(&x->hdrs);
	x->clen = -1;
	x->keep = 1;
	x->timeout_ms = call->timeout_ms;
	if (call->timeout_ms > 0)
		x->deadline = dm_mono_ms() + call->timeout_ms;
	if (call->head_timeout_ms > 0)
		x->head_deadline = dm_mono_ms() + call->head_timeout_ms;
	x->head_req = strcmp(call->method, "HEAD") == 0;

	/* The head as curl sent it: the client's headers, our framing. */
	with_body = !call->body_streamed && (call->body != NULL ||
	    strcmp(call->method, "POST") == 0 ||
	    strcmp(call->method, "PUT") == 0);
	if (with_body)
		body_len = call->body_len;
	/* Sized to this head: what the client sent, our lines, a margin. */
	cap = strlen(call->method) + strlen(call->path) + 128;
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++)
		cap += strlen(call->hdrs->v[i].name) +
		    strlen(call->hdrs->v[i].value) + 4;
	if (cap > DM_MAX_HEADER + 1)
		cap = DM_MAX_HEADER + 1;
	head = xmalloc(cap + body_len);
	bad |= head_add(head, &len, cap, "%s %s HTTP/1.1\r\nHost: docker\r\n",
	    call->method, call->path);
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++)
		bad |= head_add(head, &len, cap, "%s: %s\r\n",
		    call->hdrs->v[i].name, call->hdrs->v[i].value);
	if (call->body_streamed && call->body_size >= 0) {
		x->up_left = call->body_size;
		bad |= head_add(head, &len, cap, "Content-Length: %lld\r\n",
		    call->body_size);
	} else if (call->body_streamed) {
		x->up_chunked = 1;
		bad |= head_add(head, &len, cap,
		    "Transfer-Encoding: chunked\r\n");
	} else if (with_body)
		bad |= head_add(head, &len, cap, "Content-Length: %zu\r\n",
		    body_len);
	bad |= head_add(head, &len, cap, "\r\n");
	if (bad) {
		free(head);
		dm_err_set(err, DM_EBADREQ, "request head too large");
		goto fail;
	}
	if (body_len > 0)
		memcpy(head + len, call->body, body_len);
	x->req = head;
	x->req_len = len + body_len;

	if (get_socket(x, call->body_streamed, err) == -1)
		goto fail;
	if (send_bytes(x, x->req, x->req_len) == -1) {
		raw_fail(x, err, "request");
		goto fail;
	}
	/* A streamed body goes on by raw_send(): nothing to send again. */
	if (call->body_streamed) {
		free(x->req);
		x->req = NULL;
	}
	return x;
fail:
	raw_free(x);
	return NULL;
}

int
raw_send(struct raw_xfer *x, const char *data, size_t len,
    struct dm_err *err)
{
	struct iovec	iov[3];
	char		size[24];
	int		rc;

	if (x->up_done || len == 0)
		return 0;	/* the engine answered early; drop the rest */
	if (x->up_chunked) {
		iov[0].iov_base = size;
		iov[0].iov_len = (size_t)snprintf(size, sizeof(size),
		    "%zx\r\n", len);
		iov[1].iov_base = (void *)(uintptr_t)data;
		iov[1].iov_len = len;
		iov[2].iov_base = (void *)(uintptr_t)"\r\n";
		iov[2].iov_len = 2;
		rc = send_iov(x, iov, 3);
	} else {
		x->up_left -= (long long)len;
		rc = send_bytes(x, data, len);
	}
	if (rc == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: upload interrupted",
		    x->b->name);
		return -1;
	}
	return 0;
}

/* A socket from the pool the engine closed before answering: anew. */
static int
retry(struct raw_xfer *x, struct dm_err *err)
{
	log_debug("msg=\"idle engine connection was closed, retrying\" "
	    "backend=%s", x->b->name);
	pool_ent_free(x->pe);
	x->pe = NULL;
	x->in_len = 0;
	x->up_done = 0;
	if (get_socket(x, 1, err) == -1)
		return -1;
	x->reused = 0;
	if (send_bytes(x, x->req, x->req_len) == -1) {
		raw_fail(x, err, "request");
		return -1;
	}
	return 0;
}

static int
can_retry(const struct raw_xfer *x)
{
	return x->reused && x->req != NULL && x->in_len == 0;
}

/*
 * Take the head that ends at x->in + end.  1 done, 0 an interim (1xx)
 * head was skipped, -1 refused (x failed).
 */
static int
take_head(struct raw_xfer *x, size_t end)
{
	int	status = 0, http10 = 0, rc;
	char	first = x->in[end], why[96];

	dm_hdrs_clear(&x->hdrs);
	x->in[end] = '\0';	/* the body's first byte, put back below */
	rc = h1_parse_head(x->in, &status, &http10, &x->hdrs, why,
	    sizeof(why));
	if (rc == -2)	/* said alone, as curl's refusal was */
		snprintf(x->head_err, sizeof(x->head_err), "%s", why);
	if (rc != 0) {
		fail(x, "%s", why);
		return -1;
	}
	/* The head's bytes are used: what follows it is the body. */
	x->in[end] = first;
	memmove(x->in, x->in + end, x->in_len - end);
	x->in_len -= end;
	if (status >= 100 && status < 200 && status != 101) {
		dm_hdrs_clear(&x->hdrs);
		return 0;
	}
	x->status = status;
	x->head_done = 1;
	if (h1_body_start(&x->body, status, x->head_req, http10, &x->hdrs,
	    &x->clen, &x->keep) == -1) {
		fail(x, "answer has a bad Content-Length: %.40s",
		    dm_hdrs_get(&x->hdrs, "Content-Length"));
		return -1;
	}
	x->done = x->body.done;
	return 1;
}

/* h1_decode() on x's body, its findings taken into x. */
static size_t
decode(struct raw_xfer *x, char *p, size_t n)
{
	size_t	m = h1_decode(&x->body, p, n);

	if (x->body.bad)
		fail(x, "bad chunked framing in the answer");
	if (x->body.extra)
		x->keep = 0;	/* bytes past the end: a confused engine */
	x->done = x->body.done;
	return m;
}

int
raw_head(struct raw_xfer *x, int watch_fd, struct dm_err *err)
{
	return raw_head_within(x, watch_fd, 0, err);
}

int
raw_head_within(struct raw_xfer *x, int watch_fd, long long budget,
    struct dm_err *err)
{
	size_t	end;
	ssize_t	n;
	int	w, rc, waited = 0;

	if (x->head_done)
		return 0;	/* asked again after raw_head_within() */
	if (!x->up_ended) {
		x->up_ended = 1;
		if (x->up_chunked && !x->up_done &&
		    send_bytes(x, "0\r\n\r\n", 5) == -1)
			goto stopped;
		if (x->up_left != 0)
			x->keep = 0;	/* a body cut short: the engine waits */
	}
	for (;;) {
		end = h1_head_end(x->in, x->in_len);
		if (end > DM_MAX_HEADER || (end == 0 &&
		    x->in_len > DM_MAX_HEADER)) {
			snprintf(x->head_err, sizeof(x->head_err), "answer head "
			    "larger than %d bytes", DM_MAX_HEADER);
			fail(x, "%s", x->head_err);
			raw_fail(x, err, "no answer");
			return -1;
		}
		if (end > 0) {
			if ((rc = take_head(x, end)) == -1) {
				raw_fail(x, err, "no answer");
				return -1;
			}
			if (rc == 1)
				break;
			continue;
		}
		/* Nothing yet: the engine had no time to answer; wait first
		 * (unless there is no time to wait: a caller told the socket
		 * is readable looks at once). */
		if (x->in_len == 0 && !waited && (budget == 0 ||
		    dm_mono_ms() < budget)) {
			n = -1;
			errno = EAGAIN;
		} else
			n = recv_in(x, DM_MAX_HEADER + 4);
		if (n > 0)
			continue;
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
			if (can_retry(x) && (n == 0 || errno == ECONNRESET)) {
				if (retry(x, err) == -1)
					return -1;
				continue;
			}
			if (n == 0)
				fail(x, "closed before answering");
			else
				fail(x, "%s", strerror(errno));
			raw_fail(x, err, "no answer");
			return -1;
		}
		w = wait_sock(x, POLLIN, watch_fd, earlier(earlier(
		    x->head_deadline, x->deadline), budget), NULL);
		waited = 1;
		if (w == 1)
			continue;
		if (w == -1)
			goto stopped;
		if (budget != 0 && budget == earlier(earlier(x->head_deadline,
		    x->deadline), budget))
			return 1;	/* the caller's time, not the exchange's */
		x->keep = 0;
		if (x->head_deadline != 0 && dm_mono_ms() >= x->head_deadline) {
			dm_err_set(err, DM_EBACKEND, "backend %s: timed out "
			    "waiting for an answer", x->b->name);
			return -1;
		}
		fail(x, "timed out after %d ms", x->timeout_ms);
		raw_fail(x, err, "no answer");
		return -1;
	}
	free(x->req);
	x->req = NULL;
	/* What came with the head is body, decoded for the first read. */
	if (x->in_len > 0 && !x->done &&
	    (x->len = decode(x, x->in, x->in_len)) > 0) {
		x->buf = x->in;
		x->cap = x->in_cap;
		x->in = NULL;
	} else {
		if (x->in_len > 0)
			x->keep = 0;
		free(x->in);
		x->in = NULL;
	}
	x->in_len = x->in_cap = 0;
	if (x->failed && x->len == 0) {
		raw_fail(x, err, "reading answer");
		return -1;
	}
	return 0;
stopped:
	x->keep = 0;
	dm_err_set(err, DM_EBACKEND, "backend %s: interrupted", x->b->name);
	return -1;
}

int
raw_status(const struct raw_xfer *x)
{
	return x->status;
}

int
raw_fd(const struct raw_xfer *x)
{
	return x->pe != NULL ? x->pe->fd : -1;
}

const struct dm_hdrs *
raw_headers(const struct raw_xfer *x)
{
	return &x->hdrs;
}

long long
raw_length(const struct raw_xfer *x)
{
	return x->clen;
}

size_t
raw_buffered(const struct raw_xfer *x)
{
	return x->len - x->off;
}

/* Bytes read ahead into buf. */
static ssize_t
take(struct raw_xfer *x, char *buf, size_t max)
{
	size_t	n = x->len - x->off;

	if (n > max)
		n = max;
	memcpy(buf, x->buf + x->off, n);
	x->off += n;
	if (x->off == x->len)
		x->off = x->len = 0;
	return (ssize_t)n;
}

/* An empty read-ahead buffer goes while the stream waits: idle is light. */
static void
drop_buf(struct raw_xfer *x)
{
	if (x->len == x->off) {
		free(x->buf);
		x->buf = NULL;
		x->off = x->len = x->cap = 0;
	}
}

/*
 * Body bytes into p (at most max) without waiting: >0, 0 the end, -1
 * broken, DM_WOULD_BLOCK nothing yet.
 */
static ssize_t
pull(struct raw_xfer *x, char *p, size_t max)
{
	ssize_t	n;
	size_t	want, m;

	for (;;) {
		if (x->failed)
			return -1;
		if (x->done)
			return 0;
		want = max;
		if (x->body.frame == H1_LENGTH && (long long)want > x->body.left)
			want = (size_t)x->body.left;
		n = recv(x->pe->fd, p, want, MSG_DONTWAIT);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return DM_WOULD_BLOCK;
		if (n == -1) {
			fail(x, "%s", strerror(errno));
			return -1;
		}
		if (n == 0) {
			if (x->body.frame == H1_CLOSE) {
				x->done = 1;
				return 0;
			}
			fail(x, "the engine closed the connection mid-answer");
			return -1;
		}
		m = decode(x, p, (size_t)n);
		if (m > 0)
			return (ssize_t)m;
	}
}

/*
 * A reader asking for less than a socket buffer's worth gets it from a
 * read-ahead of DM_CURL_BUFFER, filled with all the engine has sent so far
 * (as curl did): an engine that writes line by line to a fast reader is
 * relayed in a few large pieces, not a small one (and a wait) per line.
 * As pull(), the bytes then in x->buf.
 */
static ssize_t
fill(struct raw_xfer *x)
{
	ssize_t	n;

	if (x->cap < DM_CURL_BUFFER) {
		x->buf = xrealloc(x->buf, DM_CURL_BUFFER);
		x->cap = DM_CURL_BUFFER;
	}
	x->off = x->len = 0;
	do
		n = pull(x, x->buf + x->len, x->cap - x->len);
	while (n > 0 && (x->len += (size_t)n) < x->cap);
	return x->len > 0 ? (ssize_t)x->len : n;
}

/* Body bytes into buf without waiting, as pull(). */
static ssize_t
pull_some(struct raw_xfer *x, char *buf, size_t max)
{
	ssize_t	n;

	if (x->len > x->off)
		return take(x, buf, max);
	if (max >= DM_CURL_BUFFER)
		return pull(x, buf, max);
	n = fill(x);
	return n > 0 ? take(x, buf, max) : n;
}

/* n, saying once in the log when the engine broke the stream. */
static ssize_t
said(struct raw_xfer *x, ssize_t n)
{
	if (n == -1 && x->failed && !x->logged) {
		x->logged = 1;
		log_warnx("msg=\"engine stream broke\" backend=%s error=%s",
		    x->b->name, log_q(x->why));
	}
	return n;
}

ssize_t
raw_read(struct raw_xfer *x, char *buf, size_t max, int watch_fd)
{
	ssize_t	n;
	int	w;

	for (;;) {
		n = pull_some(x, buf, max);
		if (n != DM_WOULD_BLOCK)
			return said(x, n);
		drop_buf(x);
		w = wait_sock(x, POLLIN, watch_fd, x->deadline, NULL);
		if (w == 1)
			continue;
		x->keep = 0;
		if (w == -1)
			return -1;	/* told to stop: nothing broke */
		fail(x, "timed out after %d ms", x->timeout_ms);
		return said(x, -1);
	}
}

ssize_t
raw_try_read(struct raw_xfer *x, char *buf, size_t max, struct dm_wait *w)
{
	long long	now;
	ssize_t		n;

	n = pull_some(x, buf, max);
	if (n > 0)
		x->streak += (size_t)n;
	if (n != DM_WOULD_BLOCK)
		return said(x, n);
	drop_buf(x);
	if (x->streak >= DM_CURL_BUFFER) {
		x->streak = 0;
		w->fd = -1;
		w->ms = RAW_GATHER_MS;
		return DM_WOULD_BLOCK;
	}
	x->streak = 0;
	now = dm_mono_ms();
	if (x->deadline != 0 && now >= x->deadline) {
		fail(x, "timed out after %d ms", x->timeout_ms);
		return said(x, -1);
	}
	w->fd = x->pe->fd;
	w->ms = x->deadline != 0 ? (long)(x->deadline - now) : -1;
	return DM_WOULD_BLOCK;
}

int
raw_complete(const struct raw_xfer *x)
{
	return x->done && !x->failed;
}

void
raw_settle(struct raw_xfer *x, int max_ms)
{
	long long	deadline = earlier(dm_mono_ms() + max_ms, x->deadline);
	size_t		cap;
	ssize_t		n;

	if (x->off > 0) {
		memmove(x->buf, x->buf + x->off, x->len - x->off);
		x->len -= x->off;
		x->off = 0;
	}
	while (!x->done && !x->failed && x->len < DM_CURL_BUFFER) {
		/* Sized to the answer when it says its length; else room for
		 * a socket read of some size, not the buffer's last bytes. */
		if (x->body.frame == H1_LENGTH && x->len == x->cap)
			cap = x->len + (x->body.left < (long long)
			    (DM_CURL_BUFFER - x->len) ? (size_t)x->body.left :
			    DM_CURL_BUFFER - x->len);
		else if (x->body.frame != H1_LENGTH && x->cap - x->len < 4096)
			cap = x->cap * 2 > x->len + 8192 ? x->cap * 2 :
			    x->len + 8192;
		else
			cap = x->cap;
		if (cap != x->cap) {
			if (cap > DM_CURL_BUFFER)
				cap = DM_CURL_BUFFER;
			x->buf = xrealloc(x->buf, cap);
			x->cap = cap;
		}
		n = pull(x, x->buf + x->len, x->cap - x->len);
		if (n > 0) {
			x->len += (size_t)n;
			continue;
		}
		if (n != DM_WOULD_BLOCK ||
		    wait_sock(x, POLLIN, -1, deadline, NULL) != 1)
			break;
	}
	drop_buf(x);
}

void
raw_fail(const struct raw_xfer *x, struct dm_err *err, const char *what)
{
	char	msg[DM_ERR_MSG_MAX];

	if (x->head_err[0] != '\0') {
		dm_err_set(err, DM_EBACKEND, "backend %s: %s", x->b->name,
		    x->head_err);
		return;
	}
	snprintf(msg, sizeof(msg), "%s: %s", what, x->why[0] != '\0' ?
	    x->why : "interrupted");
	backend_unreachable(x->b, err, msg);
}

void
raw_free(struct raw_xfer *x)
{
	if (x == NULL)
		return;
	if (x->pe != NULL) {
		/* Reused only after a whole, cleanly framed exchange. */
		if (x->head_done && x->done && !x->failed && x->keep &&
		    !x->up_done && x->len == x->off)
			pool_put(x->b, x->pe);
		else
			pool_ent_free(x->pe);
	}
	backend_release(x->b);
	dm_hdrs_clear(&x->hdrs);
	free(x->req);
	free(x->in);
	free(x->buf);
	free(x);
}
