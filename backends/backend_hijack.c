/*
 * backend_hijack.c: the raw side of Docker's hijacked endpoints (attach,
 * exec start): one plain socket to the engine, the request written by
 * hand with "Upgrade: tcp", then bytes relayed both ways with half-close.
 */
/*
 * Threads: a hijack is opened by a call worker and relayed, step by
 * step, by the front end's stream loop; one thread at a time.
 */

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "backend_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

struct backend_hijack {
	struct backend	*b;		/* a reference */
	int		 fd;		/* owned, unless curl owns it */
	CURL		*curl;		/* tcp: curl's connection (owns fd) */
	int		 status;
	int		 upgraded;
	struct dm_hdrs	 hdrs;
	char		*early;		/* stream bytes read with the head */
	size_t		 early_len;
	char		*body;		/* a refusal's body */
	size_t		 body_len;
	/* backend_hijack_step()'s: bytes not written yet, each way */
	struct hj_pending {
		char	*p;		/* owned, sized to them; NULL none */
		size_t	 len, off;
	}		 to_client, to_engine;
	int		 stepping;
	int		 client_open;	/* the client has not half-closed */
	int		 engine_eof;	/* 1 ended, 2 broke */
};

/*
 * The engine side of a hijack is a plain socket (unix, an ssh bridge) or,
 * for tcp, curl's connection made with CURLOPT_CONNECT_ONLY, which does
 * TLS; these three are the only reads and writes on it.  hj_recv never
 * blocks: >0 bytes, 0 EOF, -1 with errno (EAGAIN: nothing yet).
 */
static ssize_t
hj_recv(struct backend_hijack *h, char *buf, size_t len)
{
	CURLcode	rc;
	size_t		n = 0;

	if (h->curl == NULL)
		return recv(h->fd, buf, len, MSG_DONTWAIT);
	rc = curl_easy_recv(h->curl, buf, len, &n);
	if (rc == CURLE_AGAIN) {
		errno = EAGAIN;
		return -1;
	}
	if (rc != CURLE_OK) {
		errno = EIO;
		return -1;
	}
	return (ssize_t)n;
}

static int
hj_send_all(struct backend_hijack *h, const char *p, size_t len,
    long long deadline)
{
	CURLcode	rc;
	size_t		n;

	if (h->curl == NULL)
		return backend_send_all(h->fd, p, len, deadline);
	while (len > 0) {
		n = 0;
		rc = curl_easy_send(h->curl, p, len, &n);
		if (rc == CURLE_AGAIN) {
			if (backend_wait_fd(h->fd, POLLOUT, deadline) != 1)
				return -1;
			continue;
		}
		if (rc != CURLE_OK) {
			errno = EIO;
			return -1;
		}
		p += n;
		len -= n;
	}
	return 0;
}

/* tcp: connect (and TLS) through curl, bounded like every connect. */
static int
dial_tcp(struct backend_hijack *h, struct dm_err *err)
{
	char		url[512];
	curl_socket_t	sock = CURL_SOCKET_BAD;
	CURLcode	rc;
	char		ebuf[CURL_ERROR_SIZE];

	h->curl = curl_easy_init();
	if (h->curl == NULL)
		abort();
	ebuf[0] = '\0';
	backend_curl_target(h->b, h->curl, url, sizeof(url), "/");
	curl_easy_setopt(h->curl, CURLOPT_CONNECT_ONLY, 1L);
	curl_easy_setopt(h->curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h->curl, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(h->curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)DM_CONNECT_TIMEOUT_MS);
	rc = curl_easy_perform(h->curl);
	if (rc == CURLE_OK)
		rc = curl_easy_getinfo(h->curl, CURLINFO_ACTIVESOCKET, &sock);
	if (rc != CURLE_OK || sock == CURL_SOCKET_BAD) {
		backend_unreachable(h->b, err, ebuf[0] != '\0' ? ebuf :
		    curl_easy_strerror(rc));
		return -1;
	}
	h->fd = (int)sock;
	return 0;
}

/*
 * Parse "HTTP/1.1 101 UPGRADED\r\nName: v\r\n..." (head without the
 * final blank line, NUL-terminated).  0, or -1 with err: garbage, or more
 * than DM_MAX_HEADERS lines (refused, not cut).
 */
static int
parse_head(struct backend_hijack *h, char *head, struct dm_err *err)
{
	char	*line, *save = NULL, *colon, *v;

	line = strtok_r(head, "\r\n", &save);
	if (line == NULL || sscanf(line, "HTTP/%*s %d", &h->status) != 1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: bad answer",
		    h->b->name);
		return -1;
	}
	while ((line = strtok_r(NULL, "\r\n", &save)) != NULL) {
		colon = strchr(line, ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		v = colon + 1;
		while (*v == ' ' || *v == '\t')
			v++;
		if (dm_hdrs_add(&h->hdrs, line, v) == -1) {
			dm_err_set(err, DM_EBACKEND, "backend %s: answer has "
			    "more than %d header lines", h->b->name,
			    DM_MAX_HEADERS);
			return -1;
		}
	}
	return 0;
}

static int
is_stream_type(const char *ct)
{
	return ct != NULL &&
	    (strncasecmp(ct, "application/vnd.docker.raw-stream", 33) == 0 ||
	    strncasecmp(ct, "application/vnd.docker.multiplexed-stream",
	    41) == 0);
}

/* Read a refusal's body: Content-Length, chunked, or up to EOF. */
static int
read_refusal(struct backend_hijack *h, char *have, size_t have_len,
    long long deadline)
{
	const char	*cl = dm_hdrs_get(&h->hdrs, "Content-Length");
	const char	*te = dm_hdrs_get(&h->hdrs, "Transfer-Encoding");
	char		*buf;
	size_t		 len = have_len, want = DM_MAX_REFUSAL_BODY;
	ssize_t		 n;

	if (cl != NULL) {
		want = (size_t)strtoull(cl, NULL, 10);
		if (want > DM_MAX_REFUSAL_BODY)
			want = DM_MAX_REFUSAL_BODY;
	}
	buf = xmalloc(DM_MAX_REFUSAL_BODY + 1);
	memcpy(buf, have, have_len > DM_MAX_REFUSAL_BODY ? DM_MAX_REFUSAL_BODY :
	    have_len);
	if (len > DM_MAX_REFUSAL_BODY)
		len = DM_MAX_REFUSAL_BODY;
	while (len < want) {
		if (cl == NULL && te != NULL && memmem(buf, len, "\r\n0\r\n",
		    5) != NULL)
			break;
		n = hj_recv(h, buf + len, want - len);
		if (n == -1 && errno == EAGAIN) {
			if (backend_wait_fd(h->fd, POLLIN, deadline) != 1)
				break;
			continue;
		}
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	if (cl == NULL && te != NULL && strcasecmp(te, "chunked") == 0) {
		/* De-chunk in place: "<hex>\r\n<data>\r\n" ... "0\r\n". */
		char	*r = buf, *w = buf, *end = buf + len;

		while (r < end) {
			char		*eol = memmem(r, (size_t)(end - r),
			    "\r\n", 2);
			unsigned long	 sz;

			if (eol == NULL)
				break;
			sz = strtoul(r, NULL, 16);
			r = eol + 2;
			if (sz == 0 || sz > (size_t)(end - r))
				break;
			memmove(w, r, sz);
			w += sz;
			r += sz + 2;
		}
		len = (size_t)(w - buf);
		buf[len] = '\0';
	}
	h->body = buf;
	h->body_len = len;
	return 0;
}

struct backend_hijack *
backend_hijack_open(struct backend *b, const struct backend_call *call,
    struct dm_err *err)
{
	struct backend_hijack	*h;
	char			*buf = NULL, *end;
	size_t			 len = 0, i;
	long long		 deadline;
	ssize_t			 n;
	int			 w;

	h = xcalloc(1, sizeof(*h));
	h->b = b;
	backend_hold(b);
	dm_hdrs_init(&h->hdrs);
	h->fd = -1;
	if (b->transport == BACKEND_TCP) {
		if (dial_tcp(h, err) == -1)
			goto fail;
	} else if ((h->fd = backend_dial_unix(b->name, b->sock, err)) == -1) {
		if (b->ssh != NULL || b->broken != NULL)
			backend_unreachable(b, err, err->msg);
		goto fail;
	}
	/* Sending, then the head: both bounded, both see shutdown. */
	deadline = dm_mono_ms() + DM_HIJACK_HEAD_TIMEOUT_MS;
	buf = xmalloc(DM_MAX_HEADER + 1);
	w = snprintf(buf, DM_MAX_HEADER, "%s %s HTTP/1.1\r\nHost: docker\r\n"
	    "Connection: Upgrade\r\nUpgrade: %s\r\n", call->method,
	    call->path, call->upgrade != NULL ? call->upgrade : "tcp");
	if (w < 0 || w >= DM_MAX_HEADER)
		goto toolong;
	len = (size_t)w;
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++) {
		w = snprintf(buf + len, DM_MAX_HEADER - len, "%s: %s\r\n",
		    call->hdrs->v[i].name, call->hdrs->v[i].value);
		if (w < 0 || (size_t)w >= DM_MAX_HEADER - len)
			goto toolong;
		len += (size_t)w;
	}
	w = snprintf(buf + len, DM_MAX_HEADER - len,
	    "Content-Length: %zu\r\n\r\n", call->body_len);
	if (w < 0 || (size_t)w >= DM_MAX_HEADER - len)
		goto toolong;
	len += (size_t)w;
	if (hj_send_all(h, buf, len, deadline) == -1 ||
	    (call->body_len > 0 && hj_send_all(h, call->body,
	    call->body_len, deadline) == -1)) {
		dm_err_set(err, DM_EBACKEND, "backend %s: send: %s", b->name,
		    strerror(errno));
		goto fail;
	}

	/* Read the answer's head; what follows it is stream or body. */
	len = 0;
	for (;;) {
		n = hj_recv(h, buf + len, DM_MAX_HEADER - len);
		if (n == -1 && errno == EAGAIN) {
			w = backend_wait_fd(h->fd, POLLIN, deadline);
			if (w != 1) {
				dm_err_set(err, DM_EBACKEND, "backend %s: %s",
				    b->name, w == 0 ? "no answer in time" :
				    "dockmuxd is stopping");
				goto fail;
			}
			continue;
		}
		if (n <= 0) {
			dm_err_set(err, DM_EBACKEND, "backend %s: closed "
			    "before answering", b->name);
			goto fail;
		}
		len += (size_t)n;
		buf[len] = '\0';
		end = memmem(buf, len, "\r\n\r\n", 4);
		if (end != NULL)
			break;
		if (len == DM_MAX_HEADER) {
			dm_err_set(err, DM_EBACKEND, "backend %s: answer head "
			    "too large", b->name);
			goto fail;
		}
	}
	*end = '\0';
	{
		char	*rest = end + 4;
		size_t	 rest_len = len - (size_t)(rest - buf);

		if (parse_head(h, buf, err) == -1)
			goto fail;
		h->upgraded = h->status == 101 || (h->status == 200 &&
		    is_stream_type(dm_hdrs_get(&h->hdrs, "Content-Type")));
		if (h->upgraded) {
			h->early = xmalloc(rest_len + 1);
			memcpy(h->early, rest, rest_len);
			h->early_len = rest_len;
		} else
			read_refusal(h, rest, rest_len, deadline);
	}
	free(buf);
	return h;
toolong:
	dm_err_set(err, DM_EBADREQ, "request head too large");
fail:
	free(buf);
	backend_hijack_free(h);
	return NULL;
}

int
backend_hijack_upgraded(const struct backend_hijack *h)
{
	return h->upgraded;
}

int
backend_hijack_status(const struct backend_hijack *h)
{
	return h->status;
}

const struct dm_hdrs *
backend_hijack_headers(const struct backend_hijack *h)
{
	return &h->hdrs;
}

const char *
backend_hijack_body(const struct backend_hijack *h, size_t *len)
{
	*len = h->body_len;
	return h->body != NULL ? h->body : "";
}

/*
 * The relay, stepped by an event loop.  Why the engine's EOF ends it
 * although the client may still be sending: the engine closes when the
 * process's output is over, and the docker CLI stops as soon as the
 * output ends; stdin has nowhere to go.
 */

static void
pending_keep(struct hj_pending *q, const char *p, size_t len)
{
	q->p = xmalloc(len);
	memcpy(q->p, p, len);
	q->len = len;
	q->off = 0;
}

static void
pending_drop(struct hj_pending *q)
{
	free(q->p);
	q->p = NULL;
	q->len = q->off = 0;
}

/* Write what the client takes now: bytes written, or -1 (it is gone). */
static ssize_t
client_send(int fd, const char *p, size_t len)
{
	ssize_t	n, sent = 0;

	while ((size_t)sent < len) {
		n = send(fd, p + sent, len - (size_t)sent,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		if (n == -1)
			return -1;
		sent += n;
	}
	return sent;
}

/* As client_send() toward the engine (through curl's TLS for tcp). */
static ssize_t
engine_send(struct backend_hijack *h, const char *p, size_t len)
{
	CURLcode	rc;
	size_t		n;
	ssize_t		sent = 0;

	if (h->curl == NULL)
		return client_send(h->fd, p, len);
	while ((size_t)sent < len) {
		n = 0;
		rc = curl_easy_send(h->curl, p + sent, len - (size_t)sent, &n);
		if (rc == CURLE_AGAIN)
			break;
		if (rc != CURLE_OK)
			return -1;
		sent += (ssize_t)n;
	}
	return sent;
}

/* Send q's bytes on: 1 some went, 0 none could, -1 the peer is gone. */
static int
pending_flush(struct backend_hijack *h, struct hj_pending *q, int to_fd)
{
	ssize_t	n;

	if (q->p == NULL)
		return 0;
	n = to_fd != -1 ? client_send(to_fd, q->p + q->off, q->len - q->off) :
	    engine_send(h, q->p + q->off, q->len - q->off);
	if (n == -1)
		return -1;
	q->off += (size_t)n;
	if (q->off == q->len)
		pending_drop(q);
	return n > 0;
}

/* n bytes of buf to the client (to_fd) or the engine (-1); the rest kept. */
static int
pass_on(struct backend_hijack *h, struct hj_pending *q, int to_fd,
    const char *buf, size_t n)
{
	ssize_t	sent;

	sent = to_fd != -1 ? client_send(to_fd, buf, n) :
	    engine_send(h, buf, n);
	if (sent == -1)
		return -1;
	if ((size_t)sent < n)
		pending_keep(q, buf + sent, n - (size_t)sent);
	return 0;
}

/*
 * One read from the engine (from_engine) or the client, passed on to the
 * other side: 1 bytes moved (added to *moved), 0 none there, 2 its end,
 * 3 it broke, -1 the other side is gone.
 */
static int
relay_read(struct backend_hijack *h, int client_fd, int from_engine,
    char *buf, size_t cap, size_t *moved)
{
	ssize_t	n;

	n = from_engine ? hj_recv(h, buf, cap) :
	    recv(client_fd, buf, cap, MSG_DONTWAIT);
	if (n > 0) {
		if (pass_on(h, from_engine ? &h->to_client : &h->to_engine,
		    from_engine ? client_fd : -1, buf, (size_t)n) == -1)
			return -1;
		*moved += (size_t)n;
		return 1;
	}
	if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
	    errno == EINTR))
		return 0;
	return n == 0 ? 2 : 3;
}

/* Once all the engine sent is with the client, its end: 1 or -1; else 0. */
static int
engine_end(struct backend_hijack *h, int client_fd)
{
	if (h->to_client.p != NULL || !h->engine_eof)
		return 0;
	shutdown(client_fd, SHUT_WR);
	return h->engine_eof == 1 ? 1 : -1;
}

/* backend_hijack_step() but for the log line of a relay that broke. */
static int
step(struct backend_hijack *h, int client_fd, const char *extra,
    size_t extra_len, short *engine_ev, short *client_ev)
{
	char	buf[DM_CURL_BUFFER];
	size_t	moved_bytes = 0;
	int	moved, f, end;

	if (!h->stepping) {
		h->stepping = 1;
		h->client_open = 1;
		/* The stream bytes read with the head go first, as they are. */
		if (h->early_len > 0) {
			h->to_client.p = h->early;
			h->to_client.len = h->early_len;
			h->early = NULL;
			h->early_len = 0;
		}
		if (extra_len > 0)
			pending_keep(&h->to_engine, extra, extra_len);
	}
	do {
		moved = 0;
		/* Engine to client; the engine's end ends the relay. */
		if ((f = pending_flush(h, &h->to_client, client_fd)) == -1)
			return -1;
		moved |= f;
		if ((end = engine_end(h, client_fd)) != 0)
			return end;
		if (h->to_client.p == NULL) {
			if ((f = relay_read(h, client_fd, 1, buf, sizeof(buf),
			    &moved_bytes)) == -1)
				return -1;
			if (f >= 2)
				h->engine_eof = f - 1;
			moved |= f != 0;
		}
		/* Client to engine; its half-close goes on as one. */
		if ((f = pending_flush(h, &h->to_engine, -1)) == -1)
			return -1;
		moved |= f;
		if (h->to_engine.p == NULL && h->client_open) {
			if ((f = relay_read(h, client_fd, 0, buf, sizeof(buf),
			    &moved_bytes)) == -1)
				return -1;
			if (f >= 2) {
				/* stdin EOF: the container sees it too. */
				shutdown(h->fd, SHUT_WR);
				h->client_open = 0;
			}
			moved |= f != 0;
		}
	} while (moved && moved_bytes < DM_RELAY_STEP);
	if ((end = engine_end(h, client_fd)) != 0)
		return end;
	/* Cut short for the others: curl may hold TLS bytes no poll sees. */
	if (moved)
		return 2;
	/* Level-triggered waits: what is left unread wakes the next step. */
	*engine_ev = (short)((h->to_client.p == NULL && !h->engine_eof ?
	    POLLIN : 0) | (h->to_engine.p != NULL ? POLLOUT : 0));
	*client_ev = (short)((h->to_engine.p == NULL && h->client_open ?
	    POLLIN : 0) | (h->to_client.p != NULL ? POLLOUT : 0));
	return 0;
}

int
backend_hijack_step(struct backend_hijack *h, int client_fd,
    const char *extra, size_t extra_len, short *engine_ev, short *client_ev)
{
	int	rc;

	rc = step(h, client_fd, extra, extra_len, engine_ev, client_ev);
	if (rc == -1)
		log_debug("msg=\"hijack relay ended\" backend=%s", h->b->name);
	return rc;
}

int
backend_hijack_fd(const struct backend_hijack *h)
{
	return h->fd;
}

void
backend_hijack_free(struct backend_hijack *h)
{
	if (h == NULL)
		return;
	if (h->curl != NULL)
		curl_easy_cleanup(h->curl);	/* closes fd */
	else if (h->fd != -1)
		close(h->fd);
	backend_release(h->b);
	dm_hdrs_clear(&h->hdrs);
	free(h->early);
	free(h->body);
	pending_drop(&h->to_client);
	pending_drop(&h->to_engine);
	free(h);
}
