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
 * (fuzz_wire.c) serves one connection per call on its own.
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
	fuzz_wire_answer(data, size);
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
	fuzz_wire_wait();
	dm_hdrs_clear(&fwd);
	return 0;
}
