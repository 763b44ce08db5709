/*
 * fuzz_wire.c: an engine on a real unix socket for the harnesses that
 * fuzz backends/ itself (fuzz_hijack, fuzz_answer): it reads a request
 * head, writes the input, closes.  One connection at a time.
 */
/*
 * Threads: the engine thread serves; the harness's thread hands it each
 * input and waits for it to be served, under lock.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/limits.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

static int		 listen_fd = -1;
static pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 done = PTHREAD_COND_INITIALIZER;
/* Under lock: this call's bytes (the fuzzer's: not to be used once the
 * call has returned) and whether its connection was served. */
static const uint8_t	*answer;
static size_t		 answer_len;
static int		 served;

/* Read the request head (up to its blank line), then answer and close. */
static void
serve_one(int fd)
{
	static char	request[DM_MAX_HEADER];
	size_t		len = 0, n;
	ssize_t		k;

	while (len + 1 < sizeof(request)) {
		k = read(fd, request + len, sizeof(request) - 1 - len);
		if (k <= 0)
			break;
		len += (size_t)k;
		request[len] = '\0';
		if (strstr(request, "\r\n\r\n") != NULL)
			break;
	}
	pthread_mutex_lock(&lock);
	for (n = 0; n < answer_len; n += (size_t)k) {
		k = send(fd, answer + n, answer_len - n, MSG_NOSIGNAL);
		if (k <= 0)
			break;
	}
	close(fd);
	served = 1;
	pthread_cond_broadcast(&done);
	pthread_mutex_unlock(&lock);
}

static void *
engine_main(void *arg)
{
	int	fd;

	(void)arg;
	for (;;) {
		fd = accept(listen_fd, NULL, NULL);
		if (fd != -1)
			serve_one(fd);
	}
	return NULL;
}

const char *
fuzz_wire_start(void)
{
	static char		path[128];
	struct sockaddr_un	sun;
	pthread_t		t;
	int			len;

	snprintf(path, sizeof(path), "%s/engine.sock", fuzz_scratch());
	len = dm_sun_path(&sun, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (len == -1 || listen_fd == -1 ||
	    bind(listen_fd, (struct sockaddr *)&sun, (socklen_t)len) == -1 ||
	    listen(listen_fd, 8) == -1 ||
	    pthread_create(&t, NULL, engine_main, NULL) != 0) {
		perror("fuzz: engine socket");
		abort();
	}
	pthread_detach(t);
	return path;
}

void
fuzz_wire_answer(const uint8_t *data, size_t size)
{
	pthread_mutex_lock(&lock);
	answer = data;
	answer_len = size;
	served = 0;
	pthread_mutex_unlock(&lock);
}

void
fuzz_wire_wait(void)
{
	/* The engine may still be writing what the read did not need;
	 * closed on our side, it stops. */
	pthread_mutex_lock(&lock);
	while (!served)
		pthread_cond_wait(&done, &lock);
	answer = NULL;
	pthread_mutex_unlock(&lock);
}
