/*
 * backend.c: an engine's identity, its pool of idle connections and the
 * module's process-wide setup; the bottom of backends/.
 */
/*
 * Threads: main creates backends (start, reload); any thread holds and
 * releases references (atomic) and uses the getters; the pool is shared
 * under backend->lock.
 */

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend_int.h"
#include "lib/limits.h"
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
pool_get(struct backend *b)
{
	struct pool_ent	*pe;

	pthread_mutex_lock(&b->lock);
	pe = b->idle;
	if (pe != NULL) {
		b->idle = pe->next;
		b->nidle--;
	}
	pthread_mutex_unlock(&b->lock);
	if (pe != NULL)
		return pe;
	pe = xcalloc(1, sizeof(*pe));
	pe->multi = curl_multi_init();
	pe->easy = curl_easy_init();
	pe->buf = xmalloc(DM_STREAM_CHUNK);
	if (pe->multi == NULL || pe->easy == NULL)
		abort();
	return pe;
}

void
pool_ent_free(struct pool_ent *pe)
{
	curl_easy_cleanup(pe->easy);
	curl_multi_cleanup(pe->multi);
	free(pe->buf);
	free(pe);
}

void
pool_put(struct backend *b, struct pool_ent *pe)
{
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

struct backend *
backend_new(const char *name, const char *socket_path)
{
	struct backend	*b;

	b = xcalloc(1, sizeof(*b));
	atomic_init(&b->refs, 1);
	b->name = xstrdup(name);
	b->sock = xstrdup(socket_path);
	pthread_mutex_init(&b->lock, NULL);
	return b;
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
	pthread_mutex_destroy(&b->lock);
	free(b->name);
	free(b->sock);
	free(b);
}

const char *
backend_name(const struct backend *b)
{
	return b->name;
}

const char *
backend_socket(const struct backend *b)
{
	return b->sock;
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
	char		c;
	ssize_t		n;

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
	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	if (n == 0)
		return 1;
	if (n == -1 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)
		return 1;
	return 0;
}
