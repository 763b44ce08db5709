/*
 * fuzz_answer.c: an engine's answer to an ordinary call, read by the
 * real backends/ HTTP/1.1 client (backend_raw.c, backend_h1.c): the head
 * parsed, interim heads skipped, the body's framing followed (length,
 * chunked, until close) and the body read whole or piece by piece, a
 * socket from the pool tried again when the engine had closed it.  A
 * thread plays the engine on a unix socket: it reads the request head,
 * writes the input, closes.  Input: the engine's bytes; its first byte
 * also picks how the body is read.
 */
/*
 * Threads: libFuzzer's thread makes the exchange; the engine
 * (fuzz_wire.c) serves one connection at a time on its own.
 */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct backend	*engine;

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	engine = backend_new_unix("vm", fuzz_wire_start());
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct backend_call	 call;
	struct backend_xfer	*x;
	const struct dm_hdrs	*hdrs;
	struct dm_err		 err;
	char			*body = NULL, piece[7];
	size_t			 len = 0, got = 0;
	ssize_t			 n;
	int			 status;

	memset(&call, 0, sizeof(call));
	call.method = "GET";
	call.path = "/v1.43/containers/" FUZZ_EXEC_ID "/json";
	call.timeout_ms = 5000;
	fuzz_wire_answer(data, size);
	dm_err_clear(&err);
	x = backend_xfer_start(engine, &call, &err);
	FUZZ_ASSERT(x != NULL);
	if (backend_xfer_head(x, -1, &err) == -1) {
		FUZZ_ASSERT(err.st == DM_EBACKEND && err.msg[0] != '\0');
		goto out;
	}
	status = backend_xfer_status(x);
	FUZZ_ASSERT(status >= 100 && status <= 999);
	hdrs = backend_xfer_headers(x);
	FUZZ_ASSERT(hdrs->n <= DM_MAX_HEADERS);
	if (size > 0 && (data[0] & 1)) {
		/* As a stream: small pieces, never more than was sent. */
		while ((n = backend_xfer_read(x, piece, sizeof(piece), -1)) >
		    0) {
			FUZZ_ASSERT((size_t)n <= sizeof(piece));
			got += (size_t)n;
			FUZZ_ASSERT(got <= size);
		}
		FUZZ_ASSERT(n == 0 || n == -1);
	} else {
		backend_xfer_settle(x, 1);
		if (backend_xfer_slurp(x, DM_MAX_SMALL_BODY, &body, &len,
		    &err) == 0) {
			FUZZ_ASSERT(len <= size && body[len] == '\0');
			if (backend_xfer_length(x) >= 0 && strcmp(call.method,
			    "HEAD") != 0 && status >= 200 && status != 204 &&
			    status != 304)
				FUZZ_ASSERT((long long)len ==
				    backend_xfer_length(x));
			free(body);
		} else
			FUZZ_ASSERT(err.msg[0] != '\0');
	}
out:
	backend_xfer_free(x);
	fuzz_wire_wait();
	return 0;
}
