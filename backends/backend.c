/*
 * backend.c: an engine's identity, its pool of idle connections and the
 * module's process-wide setup; the bottom of backends/.
 */
/*
 * Threads: main creates backends (start, reload); any thread holds and
 * releases references (atomic) and uses the getters; the pool is shared
 * under backend->lock.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

int	backend_cancel_fd = -1;

/* Where the process is in libcurl's global life; main's thread only. */
static enum {
	LIB_NEVER = 0,
	LIB_SET_UP,
	LIB_TORN_DOWN
} lib_state;

int
backend_lib_init(int cancel_fd)
{
	if (lib_state != LIB_NEVER)
		return -1;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	lib_state = LIB_SET_UP;
	backend_cancel_fd = cancel_fd;
	return 0;
}

void
backend_lib_cleanup(void)
{
	if (lib_state != LIB_SET_UP)
		return;
	curl_global_cleanup();
	lib_state = LIB_TORN_DOWN;
}

struct pool_ent *
pool_take(struct backend *b)
{
	struct pool_ent	*pe;

	pthread_mutex_lock(&b->lock);
	pe = b->idle;
	if (pe != NULL) {
		b->idle = pe->next;
		b->nidle--;
	}
	pthread_mutex_unlock(&b->lock);
	return pe;
}

struct pool_ent *
pool_get(struct backend *b)
{
	struct pool_ent	*pe;

	if ((pe = pool_take(b)) != NULL)
		return pe;
	pe = xcalloc(1, sizeof(*pe));
	pe->fd = -1;
	pe->multi = curl_multi_init();
	pe->easy = curl_easy_init();
	if (pe->multi == NULL || pe->easy == NULL)
		abort();
	return pe;
}

void
pool_ent_free(struct pool_ent *pe)
{
	if (pe->easy != NULL)
		curl_easy_cleanup(pe->easy);
	if (pe->multi != NULL)
		curl_multi_cleanup(pe->multi);
	if (pe->fd != -1)
		close(pe->fd);
	free(pe->buf);
	free(pe);
}

void
pool_put(struct backend *b, struct pool_ent *pe)
{
	/* An idle connection keeps a small buffer, not a stream's. */
	if (pe->cap > DM_POOL_KEEP_BUF) {
		free(pe->buf);
		pe->buf = NULL;
		pe->cap = 0;
	}
	pthread_mutex_lock(&b->lock);
	if (b->nidle < DM_POOL_MAX_IDLE) {
		pe->next = b->idle;
		b->idle = pe;
		b->nidle++;
		pe = NULL;
	}
	pthread_mutex_unlock(&b->lock);
	if (pe != NULL)
		pool_ent_free(pe);
}

static void
pool_drain(struct backend *b)
{
	struct pool_ent	*pe, *next;

	pthread_mutex_lock(&b->lock);
	pe = b->idle;
	b->idle = NULL;
	b->nidle = 0;
	pthread_mutex_unlock(&b->lock);
	for (; pe != NULL; pe = next) {
		next = pe->next;
		pool_ent_free(pe);
	}
}

static char *
dup_or_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

struct backend *
backend_new(const char *name, const struct backend_addr *a)
{
	struct backend	*b;
	struct dm_err	 err;
	int		 v6;

	b = xcalloc(1, sizeof(*b));
	atomic_init(&b->refs, 1);
	b->name = xstrdup(name);
	b->transport = a->transport;
	pthread_mutex_init(&b->lock, NULL);
	switch (a->transport) {
	case BACKEND_UNIX:
		b->sock = xstrdup(a->path);
		b->where = xstrdup(a->path);
		break;
	case BACKEND_TCP:
		v6 = strchr(a->host, ':') != NULL;
		b->tls = a->tls;
		b->base_url = xasprintf("%s://%s%s%s:%d", a->tls ? "https" :
		    "http", v6 ? "[" : "", a->host, v6 ? "]" : "", a->port);
		b->where = xasprintf("tcp://%s%s%s:%d", v6 ? "[" : "", a->host,
		    v6 ? "]" : "", a->port);
		b->ca = dup_or_null(a->ca);
		b->cert = dup_or_null(a->cert);
		b->key = dup_or_null(a->key);
		break;
	case BACKEND_SSH:
		b->where = xasprintf("ssh://%s%s%s%s%.0d", a->ssh_user != NULL ?
		    a->ssh_user : "", a->ssh_user != NULL ? "@" : "", a->host,
		    a->port > 0 ? ":" : "", a->port);
		b->ssh = ssh_bridge_start(name, a, &err);
		if (b->ssh == NULL) {
			/* Down for good, saying why: nothing listens there. */
			b->broken = xstrdup(err.msg);
			b->sock = xstrdup("/dev/null/no-ssh-bridge");
			log_warnx("msg=\"ssh backend cannot start\" backend=%s "
			    "reason=%s", name, log_q(err.msg));
		} else
			b->sock = xstrdup(ssh_bridge_socket(b->ssh));
		break;
	}
	return b;
}

struct backend *
backend_new_unix(const char *name, const char *path)
{
	struct backend_addr	a = { .transport = BACKEND_UNIX,
	    .path = path };

	return backend_new(name, &a);
}

void
backend_curl_target(const struct backend *b, CURL *e, char *url,
    size_t urllen, const char *path)
{
	if (b->transport != BACKEND_TCP) {
		snprintf(url, urllen, "http://localhost%s", path);
		curl_easy_setopt(e, CURLOPT_UNIX_SOCKET_PATH, b->sock);
		curl_easy_setopt(e, CURLOPT_URL, url);
		return;
	}
	snprintf(url, urllen, "%s%s", b->base_url, path);
	curl_easy_setopt(e, CURLOPT_URL, url);
	if (!b->tls)
		return;
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (b->ca != NULL)
		curl_easy_setopt(e, CURLOPT_CAINFO, b->ca);
	if (b->cert != NULL) {
		curl_easy_setopt(e, CURLOPT_SSLCERT, b->cert);
		curl_easy_setopt(e, CURLOPT_SSLKEY, b->key);
	}
}

void
backend_unreachable(struct backend *b, struct dm_err *err, const char *why)
{
	char	said[256];

	said[0] = '\0';
	if (b->ssh != NULL)
		ssh_bridge_error(b->ssh, said, sizeof(said));
	else if (b->broken != NULL)
		snprintf(said, sizeof(said), "%s", b->broken);
	if (said[0] != '\0')
		dm_err_set(err, DM_EBACKEND, "backend %s: %s (%s)", b->name,
		    said, why);
	else
		dm_err_set(err, DM_EBACKEND, "backend %s: %s", b->name, why);
}

void
backend_hold(struct backend *b)
{
	atomic_fetch_add(&b->refs, 1);
}

/* The last reference frees: the pool's idle connections go with it. */
void
backend_release(struct backend *b)
{
	if (b == NULL || atomic_fetch_sub(&b->refs, 1) != 1)
		return;
	pool_drain(b);
	ssh_bridge_stop(b->ssh);
	pthread_mutex_destroy(&b->lock);
	free(b->name);
	free(b->sock);
	free(b->where);
	free(b->broken);
	free(b->base_url);
	free(b->ca);
	free(b->cert);
	free(b->key);
	free(b);
}

const char *
backend_name(const struct backend *b)
{
	return b->name;
}

const char *
backend_where(const struct backend *b)
{
	return b->where;
}

int
backend_is_remote(const struct backend *b)
{
	return b->transport != BACKEND_UNIX;
}

int
backend_has_idle(struct backend *b)
{
	int	n;

	if (b->transport != BACKEND_UNIX)
		return 0;
	pthread_mutex_lock(&b->lock);
	n = b->nidle > 0;
	pthread_mutex_unlock(&b->lock);
	return n;
}

const char *
backend_transport_name(const struct backend *b)
{
	switch (b->transport) {
	case BACKEND_UNIX:
		return "unix";
	case BACKEND_TCP:
		return b->tls ? "tcp+tls" : "tcp";
	case BACKEND_SSH:
		return "ssh";
	}
	return "unix";
}

/*
 * Wait until fd is ready for events, the deadline passes (0: none), or
 * shutdown; a client (watch_fd, -1 none) is watched too unless *watch_off.
 * 1 ready (revents, if given, says how; also when it is past the
 * deadline already but fd is ready), 0 timed out, -1 shutdown, an
 * error, or the watched client left.  A client with bytes waiting (a
 * pipelined request) sets *watch_off and is not watched further.  With fd
 * -1 it only waits: for the deadline (0) or shutdown (-1).
 */
int
backend_wait(int fd, short events, int watch_fd, int *watch_off,
    long long deadline, short *revents)
{
	struct pollfd	pfd[3];
	nfds_t		n;
	int		timeout, rc, ci, wi;
	long long	left;

	for (;;) {
		n = 0;
		pfd[n].fd = fd;
		pfd[n].events = events;
		pfd[n++].revents = 0;
		ci = wi = -1;
		if (backend_cancel_fd != -1) {
			ci = (int)n;
			pfd[n].fd = backend_cancel_fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		if (watch_fd != -1 && (watch_off == NULL || !*watch_off)) {
			wi = (int)n;
			pfd[n].fd = watch_fd;
			pfd[n].events = POLLIN;
			pfd[n++].revents = 0;
		}
		/*
		 * Past the deadline fd is still looked at once: an answer
		 * that came while its reader waited on another engine's
		 * (one thread reads a fan-out's answers in turn) is ready,
		 * not late.
		 */
		timeout = -1;
		if (deadline != 0) {
			left = deadline - dm_mono_ms();
			timeout = left <= 0 ? 0 : left > INT_MAX ? INT_MAX :
			    (int)left;
		}
		rc = poll(pfd, n, timeout);
		if (rc == -1 && errno == EINTR)
			continue;
		if (rc == -1)
			return -1;
		if (rc == 0 && timeout == 0)
			return 0;
		if (rc == 0)
			continue;	/* the deadline: looked at once more */
		if (ci != -1 && pfd[ci].revents)
			return -1;
		if (wi != -1 && pfd[wi].revents) {
			if (fd_says_stop(watch_fd))
				return -1;
			if (watch_off != NULL)
				*watch_off = 1;
		}
		if (pfd[0].revents) {
			if (revents != NULL)
				*revents = pfd[0].revents;
			return 1;
		}
	}
}

int
backend_wait_fd(int fd, short events, long long deadline)
{
	return backend_wait(fd, events, -1, NULL, deadline, NULL);
}

int
backend_send_all(int fd, const char *p, size_t len, long long deadline)
{
	ssize_t	n;

	while (len > 0) {
		n = send(fd, p, len, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (backend_wait_fd(fd, POLLOUT, deadline) != 1)
				return -1;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Connect to the engine's socket within DM_CONNECT_TIMEOUT_MS, giving up
 * at shutdown: an engine that stopped accepting must not hold the client
 * (or dockmuxd's stop) forever.  A Unix socket whose listen queue is full
 * fails a non-blocking connect() with EAGAIN and offers nothing to poll,
 * so that is tried again every DM_CONNECT_RETRY_MS; EINPROGRESS is waited
 * out.  The fd (blocking again), or -1 with err.
 */
int
backend_dial_unix(const char *name, const char *path, struct dm_err *err)
{
	struct sockaddr_un	sun;
	long long		deadline, next;
	socklen_t		elen = sizeof(int);
	int			fd, len, w, soerr = 0;

	if ((len = dm_sun_path(&sun, path)) == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: socket path too "
		    "long: %s", name, path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: socket: %s", name,
		    strerror(errno));
		return -1;
	}
	deadline = dm_mono_ms() + DM_CONNECT_TIMEOUT_MS;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, (socklen_t)len) == 0 ||
		    errno == EISCONN)
			break;
		if (errno == EINTR)
			continue;
		if (errno == EINPROGRESS) {
			w = backend_wait_fd(fd, POLLOUT, deadline);
			if (w == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR,
			    &soerr, &elen) == 0 && soerr == 0)
				break;
			if (w == 1 && soerr != 0)
				errno = soerr;
		} else if (errno == EAGAIN) {
			next = dm_mono_ms() + DM_CONNECT_RETRY_MS;
			w = backend_wait_fd(-1, 0, next < deadline ? next : deadline);
			if (w == 0 && dm_mono_ms() < deadline)
				continue;
		} else
			w = 1;
		soerr = w == 0 ? ETIMEDOUT : w == -1 ? ECANCELED : errno;
		if (w == 0)
			dm_err_set(err, DM_EBACKEND, "backend %s: connect %s: "
			    "no answer within %d ms", name, path,
			    DM_CONNECT_TIMEOUT_MS);
		else if (w == -1)
			dm_err_set(err, DM_EBACKEND, "backend %s: connect %s: "
			    "dockmuxd is stopping", name, path);
		else
			dm_err_set(err, DM_EBACKEND, "backend %s: connect %s: "
			    "%s", name, path, strerror(errno));
		close(fd);
		errno = soerr;
		return -1;
	}
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s: fcntl: %s", name,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * The cancel pipe is readable from shutdown on.  A watched client socket
 * says stop when it reads EOF or fails; bytes waiting there (a pipelined
 * request) do not.
 */
int
fd_says_stop(int fd)
{
	struct pollfd	pfd;

	if (fd == -1)
		return 0;
	pfd.fd = fd;
	pfd.events = POLLIN;
	pfd.revents = 0;
	if (poll(&pfd, 1, 0) <= 0)
		return 0;
	if (fd == backend_cancel_fd)
		return 1;
	if (pfd.revents & (POLLERR | POLLNVAL))
		return 1;
	return dm_peer_gone(fd);
}
