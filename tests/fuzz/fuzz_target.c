/*
 * fuzz_target.c: a client's request head, as the front end sees it: the
 * target and framing checks (api/api.c), the endpoint table
 * (disp_classify) and the plan (disp_begin): the owner looked up in the
 * store, the path rewritten for it, the request started on an engine.
 * Input: "METHOD TARGET [VERSION]" then "Name: value" lines.
 */
/* Threads: libFuzzer's one thread. */

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "api/api_int.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct dispatcher	*root;

/*
 * Engines: a holds "web", b holds "db" and every image, c is down.  No
 * engine knows a container the store does not (adoption would write).
 */
static void
answer(size_t i, const char *method, const char *path, struct fuzz_answer *a)
{
	static const char	image[] = "{\"Id\":\"sha256:1f2e\","
	    "\"Os\":\"linux\",\"Architecture\":\"amd64\"}";

	(void)method;
	if (i == 2)
		a->status = 0;
	else if (i == 1 && strncmp(path, "/images/", 8) == 0) {
		a->status = 200;
		a->body = image;
		a->len = strlen(image);
	}
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	root = fuzz_dispatcher(3, "c");
	fuzz_seed_routes(root);
	fuzz_engines_route(answer);
	return 0;
}

/* "Name: value" into h, as libmicrohttpd hands headers over.  -1 for a
 * line it would refuse, or past DM_MAX_HEADERS (answered 431). */
static int
add_header(struct dm_hdrs *h, char *line)
{
	char	*colon = strchr(line, ':'), *v;

	if (colon == NULL || colon == line)
		return -1;
	*colon = '\0';
	for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
		;
	return dm_hdrs_add(h, line, v);
}

/* What begin_request() in api/api.c makes of the head. */
static void
fill_request(struct disp_req *req, const struct dm_hdrs *h)
{
	const char	*cl = dm_hdrs_get(h, "Content-Length");
	const char	*te = dm_hdrs_get(h, "Transfer-Encoding");
	const char	*up = dm_hdrs_get(h, "Upgrade");

	req->hdrs = h;
	req->client_fd = -1;
	req->peer = &fuzz_peer;
	req->body_size = cl != NULL ? strtoll(cl, NULL, 10) : -1;
	req->has_body = (te != NULL && strcasecmp(te, "chunked") == 0) ||
	    req->body_size > 0;
	if (up != NULL && (strcasecmp(up, "tcp") == 0 ||
	    strcasecmp(up, "h2c") == 0)) {
		req->wants_upgrade = 1;
		snprintf(req->upgrade, sizeof(req->upgrade), "%s", up);
	}
}

/* 1 when the Connection header conn lists name among its tokens. */
static int
listed(const char *conn, const char *name)
{
	char	*copy, *tok, *save = NULL;
	size_t	 n;
	int	 found = 0;

	if (conn == NULL)
		return 0;
	copy = fuzz_strndup(conn, strlen(conn));
	for (tok = strtok_r(copy, ",", &save); tok != NULL && !found;
	    tok = strtok_r(NULL, ",", &save)) {
		tok += strspn(tok, " \t");
		for (n = strlen(tok); n > 0 && (tok[n - 1] == ' ' ||
		    tok[n - 1] == '\t'); n--)
			tok[n - 1] = '\0';
		found = strcasecmp(tok, name) == 0;
	}
	free(copy);
	return found;
}

/* Whatever the client sent, an engine gets a clean target and only
 * end-to-end headers. */
static void
check_sent(const struct disp_req *req, const struct fuzz_sent *s)
{
	const char	*conn = dm_hdrs_get(req->hdrs, "Connection");
	const char	*p;
	size_t		 i;

	FUZZ_ASSERT(s->path[0] == '/');
	for (p = s->path; *p != '\0'; p++)
		FUZZ_ASSERT((unsigned char)*p > 0x20 && *p != 0x7f);
	for (i = 0; i < s->hdrs.n; i++) {
		FUZZ_ASSERT(!dm_hdr_is_hop_by_hop(s->hdrs.v[i].name));
		FUZZ_ASSERT(strncasecmp(s->hdrs.v[i].name, "X-Dockmux-", 10)
		    != 0);
		FUZZ_ASSERT(!listed(conn, s->hdrs.v[i].name));
	}
}

/*
 * A request about a container the store knows goes to its owner naming
 * it by full ID; an exec's path goes unchanged.
 */
static void
check_owner(const struct disp_req *req)
{
	const struct fuzz_sent	*a = fuzz_engines_sent(0);
	const struct fuzz_sent	*b = fuzz_engines_sent(1);
	const struct fuzz_sent	*s = a->streamed ? a : b;

	if (!s->streamed || req->ep->target != TARGET_OWNER)
		return;
	if (req->res == RES_EXEC)
		FUZZ_ASSERT(strncmp(s->path, req->path, strlen(req->path))
		    == 0);
	else
		FUZZ_ASSERT(strstr(s->path, s == a ? FUZZ_WEB_ID : FUZZ_DB_ID)
		    != NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct disp_req		 req;
	struct dm_hdrs		 h;
	struct disp_call	*call;
	char			*head, *line, *next, *method, *target, *q;
	char			*save = NULL;
	const char		*refused;
	size_t			 i;

	head = fuzz_strndup((const char *)data, size);
	dm_hdrs_init(&h);
	memset(&req, 0, sizeof(req));
	next = head;
	line = strsep(&next, "\n");
	method = strtok_r(line, " \r", &save);
	target = strtok_r(NULL, " \r", &save);
	if (method == NULL || target == NULL)
		goto out;
	while (next != NULL) {
		line = strsep(&next, "\n");
		line[strcspn(line, "\r")] = '\0';
		if (line[0] == '\0')
			break;
		if (add_header(&h, line) == -1)
			goto out;
	}
	/* on_uri(): the query without '?', up to a fragment. */
	req.query = "";
	q = strchr(target, '?');
	if (q != NULL) {
		*q = '\0';
		req.query = q + 1;
		q[1 + strcspn(q + 1, "#")] = '\0';
	}
	refused = api_target_problem(target, req.query);
	if (refused == NULL)
		refused = api_framing_problem(&h);
	if (refused != NULL) {
		FUZZ_ASSERT(refused[0] != '\0');
		goto out;
	}
	if (strlen(target) + strlen(req.query) > DM_MAX_PATH ||
	    disp_classify(method, target, &req) == -1)
		goto out;
	FUZZ_ASSERT(req.ep != NULL && strlen(req.id) < DISP_ID_MAX);
	FUZZ_ASSERT((req.rest >= target &&
	    req.rest <= target + strlen(target)) || strcmp(req.rest, "/") == 0);
	req.method = method;
	req.path = target;
	fill_request(&req, &h);
	call = disp_begin(root, &req);
	for (i = 0; i < FUZZ_MAX_ENGINES; i++)
		if (fuzz_engines_sent(i)->any)
			check_sent(&req, fuzz_engines_sent(i));
	check_owner(&req);
	disp_call_free(call);
out:
	fuzz_engines_forget();
	dm_hdrs_clear(&h);
	free(head);
	return 0;
}
