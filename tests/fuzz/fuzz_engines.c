/*
 * fuzz_engines.c: backends/ replaced by scripted engines, so the real
 * dispatcher runs against answers taken from a fuzzer's input: every
 * function of backends/backend.h, no socket, no libcurl.  What each
 * engine was last sent is kept for the harness to check.  And the
 * dispatchers built over them.
 */
/*
 * Threads: none start (see __wrap_pthread_create below); were they to,
 * each engine's exchange touches only its own slot, and the script is set
 * before a run and read-only during it.
 */

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/backend.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

struct backend {
	char	*name;
	char	*sock;
	size_t	 index;		/* config order: name "a" is 0 */
};

struct backend_xfer {
	struct fuzz_answer	 a;
	struct dm_hdrs		 hdrs;
	size_t			 off;
};

struct backend_hijack {
	int	unused;
};

static fuzz_engine_fn		*route;
static struct fuzz_answer	 script[FUZZ_MAX_ENGINES];
static int			 scripted[FUZZ_MAX_ENGINES];
static struct fuzz_sent		 sent[FUZZ_MAX_ENGINES];

void
fuzz_engines_route(fuzz_engine_fn *fn)
{
	route = fn;
}

void
fuzz_engines_script(size_t i, const struct fuzz_answer *a)
{
	script[i] = *a;
	scripted[i] = 1;
}

const struct fuzz_sent *
fuzz_engines_sent(size_t i)
{
	return &sent[i];
}

void
fuzz_engines_forget(void)
{
	size_t	i;

	for (i = 0; i < FUZZ_MAX_ENGINES; i++) {
		free(sent[i].path);
		dm_hdrs_clear(&sent[i].hdrs);
		memset(&sent[i], 0, sizeof(sent[i]));
		scripted[i] = 0;
	}
}

/* Note what engine b is sent, then find its answer. */
static void
exchange(struct backend *b, const struct backend_call *call,
    struct fuzz_answer *a)
{
	struct fuzz_sent	*s = &sent[b->index];
	size_t			 i;

	free(s->path);
	dm_hdrs_clear(&s->hdrs);
	s->any = 1;
	s->streamed = 0;
	snprintf(s->method, sizeof(s->method), "%s", call->method);
	s->path = xstrdup(call->path);
	for (i = 0; call->hdrs != NULL && i < call->hdrs->n; i++)
		(void)dm_hdrs_add(&s->hdrs, call->hdrs->v[i].name,
		    call->hdrs->v[i].value);
	a->status = 404;
	a->body = "{\"message\":\"page not found\"}";
	a->len = strlen(a->body);
	if (route != NULL)
		route(b->index, call->method, call->path, a);
	else if (scripted[b->index])
		*a = script[b->index];
}

/* The head an engine answers with: what dockerd sends with JSON. */
static void
answer_head(const struct fuzz_answer *a, struct dm_hdrs *h)
{
	char	n[32];

	snprintf(n, sizeof(n), "%zu", a->len);
	(void)dm_hdrs_add(h, "Api-Version", "1.43");
	(void)dm_hdrs_add(h, "Content-Type", "application/json");
	(void)dm_hdrs_add(h, "Docker-Experimental", "false");
	(void)dm_hdrs_add(h, "Ostype", "linux");
	(void)dm_hdrs_add(h, "Content-Length", n);
}

static void
unreachable(const struct backend *b, struct dm_err *err)
{
	dm_err_set(err, DM_EBACKEND, "backend %s: cannot connect to %s: "
	    "Connection refused", b->name, b->sock);
}

int
backend_lib_init(int cancel_fd)
{
	(void)cancel_fd;
	return 0;
}

void
backend_lib_cleanup(void)
{
}

struct backend *
backend_new(const char *name, const struct backend_addr *a)
{
	struct backend	*b = xcalloc(1, sizeof(*b));

	b->name = xstrdup(name);
	b->sock = xstrdup(a->path != NULL ? a->path : "remote");
	/* Engines are named "a", "b", ... in config order. */
	b->index = (size_t)(unsigned char)(name[0] - 'a') % FUZZ_MAX_ENGINES;
	return b;
}

struct backend *
backend_new_unix(const char *name, const char *path)
{
	struct backend_addr	a = { .transport = BACKEND_UNIX, .path = path };

	return backend_new(name, &a);
}

/* One owner in the harness: the view; the last release frees. */
void
backend_release(struct backend *b)
{
	if (b == NULL)
		return;
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
backend_where(const struct backend *b)
{
	return b->sock;
}

const char *
backend_transport_name(const struct backend *b)
{
	(void)b;
	return "unix";
}

int
backend_is_remote(const struct backend *b)
{
	(void)b;
	return 0;
}

/* A scripted engine answers at once: the front end's quick path too. */
int
backend_has_idle(struct backend *b)
{
	(void)b;
	return 1;
}

struct backend_xfer *
backend_xfer_start(struct backend *b, const struct backend_call *call,
    struct dm_err *err)
{
	struct backend_xfer	*x;
	struct fuzz_answer	 a;

	exchange(b, call, &a);
	sent[b->index].streamed = 1;
	if (a.status == 0) {
		unreachable(b, err);
		return NULL;
	}
	x = xcalloc(1, sizeof(*x));
	x->a = a;
	dm_hdrs_init(&x->hdrs);
	answer_head(&a, &x->hdrs);
	return x;
}

int
backend_xfer_send(struct backend_xfer *x, const char *p, size_t len,
    struct dm_err *err)
{
	(void)x;
	(void)p;
	(void)len;
	(void)err;
	return 0;
}

int
backend_xfer_head(struct backend_xfer *x, int watch_fd, struct dm_err *err)
{
	(void)x;
	(void)watch_fd;
	(void)err;
	return 0;
}

int
backend_xfer_head_within(struct backend_xfer *x, int watch_fd, int ms,
    struct dm_err *err)
{
	(void)ms;
	return backend_xfer_head(x, watch_fd, err);
}

int
backend_xfer_status(const struct backend_xfer *x)
{
	return x != NULL ? x->a.status : 0;
}

const struct dm_hdrs *
backend_xfer_headers(const struct backend_xfer *x)
{
	return &x->hdrs;
}

long long
backend_xfer_length(const struct backend_xfer *x)
{
	return (long long)x->a.len;
}

ssize_t
backend_xfer_read(struct backend_xfer *x, char *buf, size_t max,
    int watch_fd)
{
	size_t	n = x->a.len - x->off;

	(void)watch_fd;
	if (n > max)
		n = max;
	memcpy(buf, x->a.body + x->off, n);
	x->off += n;
	return (ssize_t)n;
}

/* A scripted answer is all here: never a wait. */
ssize_t
backend_xfer_try_read(struct backend_xfer *x, char *buf, size_t max,
    struct dm_wait *w)
{
	w->fd = -1;
	w->ms = -1;
	return backend_xfer_read(x, buf, max, -1);
}

void
backend_xfer_settle(struct backend_xfer *x, int max_ms)
{
	(void)x;
	(void)max_ms;
}

int
backend_xfer_complete(const struct backend_xfer *x)
{
	(void)x;
	return 1;
}

/* A scripted answer has no socket to wait on (and is always there). */
int
backend_xfer_fd(const struct backend_xfer *x)
{
	(void)x;
	return -1;
}

int
backend_xfer_slurp(struct backend_xfer *x, size_t max, char **body,
    size_t *len, struct dm_err *err)
{
	size_t	n = x->a.len - x->off;

	if (n > max) {
		dm_err_set(err, DM_EBACKEND, "answer larger than %zu bytes",
		    max);
		return -1;
	}
	*body = fuzz_strndup(x->a.body + x->off, n);
	*len = n;
	x->off += n;
	return 0;
}

void
backend_xfer_free(struct backend_xfer *x)
{
	if (x == NULL)
		return;
	dm_hdrs_clear(&x->hdrs);
	free(x);
}

int
backend_do(struct backend *b, const struct backend_call *call, int *status,
    char **body, size_t *len, struct dm_hdrs *hdrs_out, struct dm_err *err)
{
	struct fuzz_answer	a;

	exchange(b, call, &a);
	if (a.status == 0) {
		unreachable(b, err);
		return -1;
	}
	*status = a.status;
	*body = fuzz_strndup(a.body, a.len);
	*len = a.len;
	if (hdrs_out != NULL)
		answer_head(&a, hdrs_out);
	return 0;
}

int
backend_xfer_finish(struct backend_xfer *x, int *status, char **body,
    size_t *len, struct dm_hdrs *hdrs_out, struct dm_err *err)
{
	(void)err;
	*status = x->a.status;
	*body = fuzz_strndup(x->a.body + x->off, x->a.len - x->off);
	*len = x->a.len - x->off;
	if (hdrs_out != NULL)
		answer_head(&x->a, hdrs_out);
	backend_xfer_free(x);
	return 0;
}

/* A scripted answer is all there at once: never a wait. */
int
backend_xfer_try_finish(struct backend_xfer *x, int *status, char **body,
    size_t *len, struct dm_hdrs *hdrs_out, struct dm_wait *w,
    struct dm_err *err)
{
	(void)w;
	return backend_xfer_finish(x, status, body, len, hdrs_out, err);
}

/* Upgrades are fuzzed against the real backends/ (fuzz_hijack.c). */
struct backend_hijack *
backend_hijack_open(struct backend *b, const struct backend_call *call,
    struct dm_err *err)
{
	struct fuzz_answer	a;

	exchange(b, call, &a);
	unreachable(b, err);
	return NULL;
}

int
backend_hijack_upgraded(const struct backend_hijack *h)
{
	(void)h;
	return 0;
}

int
backend_hijack_status(const struct backend_hijack *h)
{
	(void)h;
	return 0;
}

const struct dm_hdrs *
backend_hijack_headers(const struct backend_hijack *h)
{
	(void)h;
	return NULL;
}

const char *
backend_hijack_body(const struct backend_hijack *h, size_t *len)
{
	(void)h;
	*len = 0;
	return "";
}

int
backend_hijack_step(struct backend_hijack *h, int client_fd,
    const char *extra, size_t extra_len, short *engine_ev, short *client_ev)
{
	(void)h;
	(void)client_fd;
	(void)extra;
	(void)extra_len;
	*engine_ev = *client_ev = 0;
	return -1;
}

int
backend_hijack_fd(const struct backend_hijack *h)
{
	(void)h;
	return -1;
}

void
backend_hijack_free(struct backend_hijack *h)
{
	free(h);
}

int
backend_socket_answers(const char *path)
{
	(void)path;
	return 0;
}

/*
 * Linked with -Wl,--wrap=pthread_create: no thread starts, so
 * disp_each_backend() takes its own fallback and runs every engine's
 * exchange in turn.  Starting and ending a thread per engine per input
 * cost nine tenths of a run; what the merges do with the answers is the
 * same either way.
 */
int	__wrap_pthread_create(pthread_t *, const pthread_attr_t *,
	    void *(*)(void *), void *);

int
__wrap_pthread_create(pthread_t *t, const pthread_attr_t *attr,
    void *(*fn)(void *), void *arg)
{
	(void)t;
	(void)attr;
	(void)fn;
	(void)arg;
	return EAGAIN;
}

/* ---- dispatchers over scripted engines ---- */

static struct dispatcher	*roots[FUZZ_MAX_ENGINES + 1];

/* While a dispatcher is built: engines are up, and hold no container. */
static const char	*down_engine;

static void
answer_setup(size_t i, const char *method, const char *path,
    struct fuzz_answer *a)
{
	static const char	 version[] = "{\"Version\":\"24.0.7\","
	    "\"ApiVersion\":\"1.43\",\"MinAPIVersion\":\"1.12\","
	    "\"Os\":\"linux\",\"Arch\":\"amd64\","
	    "\"KernelVersion\":\"6.1.0-13-amd64\"}";

	(void)method;
	a->status = 200;
	a->body = strncmp(path, "/version", 8) == 0 ? version : "[]";
	a->len = strlen(a->body);
	if (down_engine != NULL && (size_t)(down_engine[0] - 'a') == i)
		a->status = 0;
}

struct dispatcher *
fuzz_dispatcher(size_t n, const char *down)
{
	struct cfg	*cfg;
	struct dm_err	 err;
	char		 text[1024], ebuf[512];
	size_t		 i, len;

	if (n == 0 || n > FUZZ_MAX_ENGINES)
		abort();
	if (roots[n] != NULL)
		return roots[n];
	log_max_level = getenv("FUZZ_LOG") != NULL ? LOG_LVL_DEBUG :
	    LOG_LVL_ERROR;
	len = (size_t)snprintf(text, sizeof(text), "{\"listen\": "
	    "\"unix://%s/dockmux.sock\", \"store\": \"%s/store-%zu.db\", "
	    "\"backends\": [", fuzz_scratch(), fuzz_scratch(), n);
	for (i = 0; i < n; i++)
		len += (size_t)snprintf(text + len, sizeof(text) - len,
		    "%s{\"name\": \"%c\", "
		    "\"endpoint\": \"unix:///fuzz/%c.sock\"}",
		    i > 0 ? ", " : "", (char)('a' + i), (char)('a' + i));
	snprintf(text + len, sizeof(text) - len, "]}");
	cfg = cfg_load_string(text, ebuf, sizeof(ebuf));
	if (cfg == NULL) {
		fprintf(stderr, "fuzz: config: %s\n", ebuf);
		abort();
	}
	down_engine = down;
	fuzz_engines_route(answer_setup);
	roots[n] = disp_new(cfg, &err);	/* cfg kept: the dispatcher's */
	fuzz_engines_route(NULL);
	fuzz_engines_forget();
	if (roots[n] == NULL) {
		fprintf(stderr, "fuzz: dispatcher: %s\n", err.msg);
		abort();
	}
	return roots[n];
}

void
fuzz_seed_routes(struct dispatcher *root)
{
	static const struct store_route	 routes[] = {
		{ FUZZ_WEB_ID, "web", "a", "default", "nginx:1.25",
		    1700000000 },
		{ FUZZ_DB_ID, "db", "b", "pin", "postgres:16", 1700000100 },
		{ FUZZ_OLD_ID, "old", "gone", "isolation", "alpine",
		    1600000000 },
	};
	struct dm_err	err;
	size_t		i;

	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (store_route_put(root->store, &routes[i], &err) == -1)
			fprintf(stderr, "fuzz: route: %s\n", err.msg);
	if (store_exec_put(root->store, FUZZ_EXEC_ID, FUZZ_WEB_ID, 1700000000,
	    &err) == -1)
		fprintf(stderr, "fuzz: exec: %s\n", err.msg);
}
