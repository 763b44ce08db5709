/*
 * fuzz_hijack.c: an engine's answer to an attach or exec start, read by
 * the real backends/backend_hijack.c: the head parsed (status, headers,
 * upgraded or not), the stream bytes that came with it kept, a
 * refusal's body read and de-chunked.  A thread plays the engine on a
 * unix socket: it reads the request head, writes the input, closes.
 * Input: the engine's bytes.
 */
/*
 * Threads: libFuzzer's thread calls backend_hijack_open(); the engine
 * thread serves one connection per call, the answer handed over under
 * lock.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/backend.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct backend	*engine;
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

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct sockaddr_un	sun;
	pthread_t		t;
	char			path[128];
	int			len;

	(void)argc;
	(void)argv;
	snprintf(path, sizeof(path), "%s/engine.sock", fuzz_scratch());
	len = dm_sun_path(&sun, path);
	listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (len == -1 || listen_fd == -1 ||
	    bind(listen_fd, (struct sockaddr *)&sun, (socklen_t)len) == -1 ||
	    listen(listen_fd, 8) == -1 ||
	    pthread_create(&t, NULL, engine_main, NULL) != 0) {
		perror("fuzz_hijack: engine socket");
		abort();
	}
	pthread_detach(t);
	engine = backend_new_unix("vm", path);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char	 body[] = "{\"Detach\":false,\"Tty\":false}";
	struct backend_call	 call;
	struct backend_hijack	*h;
	const struct dm_hdrs	*hdrs;
	struct dm_hdrs		 fwd;
	struct dm_err		 err;
	const char		*b;
	size_t			 blen;

	dm_hdrs_init(&fwd);
	(void)dm_hdrs_add(&fwd, "Content-Type", "application/json");
	(void)dm_hdrs_add(&fwd, "User-Agent", "Docker-Client/24.0.7 (linux)");
	memset(&call, 0, sizeof(call));
	call.method = "POST";
	call.path = "/v1.43/exec/" FUZZ_EXEC_ID "/start";
	call.hdrs = &fwd;
	call.body = body;
	call.body_len = sizeof(body) - 1;
	pthread_mutex_lock(&lock);
	answer = data;
	answer_len = size;
	served = 0;
	pthread_mutex_unlock(&lock);
	dm_err_clear(&err);
	h = backend_hijack_open(engine, &call, &err);
	if (h == NULL) {
		FUZZ_ASSERT(err.st == DM_EBACKEND && err.msg[0] != '\0');
		goto out;
	}
	/* A head that parsed: said as sent, no more lines than relayed. */
	hdrs = backend_hijack_headers(h);
	FUZZ_ASSERT(hdrs->n <= DM_MAX_HEADERS);
	b = backend_hijack_body(h, &blen);
	FUZZ_ASSERT(b != NULL && blen <= DM_MAX_REFUSAL_BODY);
	FUZZ_ASSERT(blen <= size);
	if (backend_hijack_upgraded(h))
		FUZZ_ASSERT(blen == 0 && (backend_hijack_status(h) == 101 ||
		    backend_hijack_status(h) == 200));
	else
		FUZZ_ASSERT(b[blen] == '\0');
	backend_hijack_free(h);
out:
	/* The engine may still be writing what the parse did not need;
	 * closed on our side, it stops. */
	pthread_mutex_lock(&lock);
	while (!served)
		pthread_cond_wait(&done, &lock);
	answer = NULL;
	pthread_mutex_unlock(&lock);
	dm_hdrs_clear(&fwd);
	return 0;
}
