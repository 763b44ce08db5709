/*
 * fuzz_serve.c: the main of every merge harness (fuzz_ps.c, ...): a
 * request, the engines' answers, the handler of the request's row run
 * against a real dispatcher, its reply checked.  The harness defines
 * only fuzz_rows: which rows it serves and what their replies must be.
 */
/* Threads: libFuzzer's one thread; the handlers start their own. */

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* What every reply must be, whatever the engines said. */
static void
check_reply(const struct fuzz_row *row, const struct disp_req *req,
    const struct disp_reply *r, size_t n)
{
	struct json_object	*o;

	FUZZ_ASSERT(r->status >= 100 && r->status <= 599);
	FUZZ_ASSERT(r->kind == DISP_REPLY_BODY);
	FUZZ_ASSERT(r->body != NULL && strlen(r->body) == r->body_len);
	FUZZ_ASSERT(r->hdrs.n <= DM_MAX_HEADERS);
	/* A list dockmux merged is JSON, whatever the engines sent. */
	if (row->json_out && r->status == 200) {
		o = json_tokener_parse(r->body);
		FUZZ_ASSERT(o != NULL);
		json_object_put(o);
	}
	if (row->check != NULL)
		row->check(req, r, n);
}

/* One input against rows (fuzz.h says how an input reads). */
static int
fuzz_serve(const uint8_t *data, size_t size, const struct fuzz_row *rows,
    size_t nrows)
{
	struct fuzz_part	 parts[1 + FUZZ_MAX_ENGINES];
	struct fuzz_answer	 a;
	struct disp_req		 req;
	struct disp_reply	 r;
	struct disp_ctx		 ctx;
	struct dm_hdrs		 none;
	struct dispatcher	*root;
	const char		*method;
	char			*line, *target, *q, *path;
	size_t			 np, n, i, k;

	np = fuzz_split(data, size, parts, 1 + FUZZ_MAX_ENGINES);
	line = fuzz_strndup(parts[0].p, parts[0].len);
	target = strchr(line, ' ');
	method = target != NULL ? line : "GET";
	if (target != NULL)
		*target++ = '\0';
	else
		target = line;
	memset(&req, 0, sizeof(req));
	req.query = "";
	q = strchr(target, '?');
	if (q != NULL) {
		*q = '\0';
		req.query = q + 1;
	}
	/* Only what the front end lets through reaches a handler. */
	if (api_target_problem(target, req.query) != NULL ||
	    strlen(target) + strlen(req.query) > DM_MAX_PATH ||
	    disp_classify(method, target, &req) == -1)
		goto out;
	for (k = 0; k < nrows; k++)
		if (req.ep->serve == rows[k].serve)
			break;
	if (k == nrows)
		goto out;
	n = np > 1 ? np - 1 : 1;
	for (i = 0; i < n; i++) {
		if (i + 1 < np)
			fuzz_answer_parse(&parts[i + 1], &a);
		else
			a = (struct fuzz_answer){ 0, "", 0 };
		fuzz_engines_script(i, &a);
	}
	req.method = method;
	req.path = target;
	req.hdrs = &none;
	req.client_fd = -1;
	req.peer = &fuzz_peer;
	req.body_size = -1;
	dm_hdrs_init(&none);
	root = fuzz_dispatcher(n, NULL);
	memset(&ctx, 0, sizeof(ctx));
	ctx.d = root->cur;
	ctx.req = &req;
	ctx.fwd = &none;
	ctx.path = path = disp_req_target(&req);
	disp_reply_init(&r);
	rows[k].serve(&ctx, &r);
	check_reply(&rows[k], &req, &r, n);
	disp_reply_free(&r);
	free(path);
out:
	fuzz_engines_forget();
	free(line);
	return 0;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	size_t	n;

	(void)argc;
	(void)argv;
	for (n = 1; n <= FUZZ_MAX_ENGINES; n++)
		if (fuzz_rows.routes)
			fuzz_seed_routes(fuzz_dispatcher(n, NULL));
		else
			(void)fuzz_dispatcher(n, NULL);
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	return fuzz_serve(data, size, fuzz_rows.v, fuzz_rows.n);
}
