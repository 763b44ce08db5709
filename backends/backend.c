/* backend.c: an engine's identity and the module's process-wide setup. */
/* Threads: backend_new/free at start and stop only; getters any thread. */

#include <curl/curl.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "backend_int.h"

int	backend_cancel_fd = -1;

int
backend_lib_init(int cancel_fd)
{
	backend_cancel_fd = cancel_fd;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return -1;
	return 0;
}

void
backend_lib_cleanup(void)
{
	curl_global_cleanup();
}

struct backend *
backend_new(const char *name, const char *socket_path)
{
	struct backend	*b;

	b = calloc(1, sizeof(*b));
	if (b == NULL)
		abort();
	b->name = strdup(name);
	b->sock = strdup(socket_path);
	if (b->name == NULL || b->sock == NULL)
		abort();
	pthread_mutex_init(&b->lock, NULL);
	return b;
}

void
backend_free(struct backend *b)
{
	if (b == NULL)
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
