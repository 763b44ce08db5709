/*
 * disp_health.c: the dispatcher's life: views of the configured backends
 * (built, swapped on reload, freed by their last user), the periodic
 * health probes with backoff, and fan-out over backends.
 */
/*
 * Threads: the health thread probes the current view; MHD threads take
 * and drop view references; main builds, reloads and frees.  root->lock
 * guards root->cur, view->lock guards every health in that view.
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"

static long long
mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- views ---- */

struct disp *
disp_view_acquire(struct dispatcher *root)
{
	struct disp	*d;

	pthread_mutex_lock(&root->lock);
	d = root->cur;
	atomic_fetch_add(&d->refs, 1);
	pthread_mutex_unlock(&root->lock);
	return d;
}

void
disp_view_hold(struct disp *d)
{
	atomic_fetch_add(&d->refs, 1);
}

void
disp_stream_hold(struct disp *d)
{
	atomic_fetch_add(&d->refs, 1);
	atomic_fetch_add(&d->root->streams, 1);
}

void
disp_stream_release(struct disp *d)
{
	atomic_fetch_sub(&d->root->streams, 1);
	disp_view_release(d);
}

static void
view_free(struct disp *d)
{
	size_t	i;

	for (i = 0; i < d->n; i++)
		backend_free(d->b[i].be);
	pthread_mutex_destroy(&d->lock);
	if (d->cfg_owned)
		cfg_free((struct cfg *)(uintptr_t)d->cfg);
	free(d);
}

void
disp_view_release(struct disp *d)
{
	if (d != NULL && atomic_fetch_sub(&d->refs, 1) == 1)
		view_free(d);
}

/* A view over cfg's backends; health carried over from old by name and
 * socket.  One reference, the caller's. */
static struct disp *
view_new(struct dispatcher *root, const struct cfg *cfg, int owned,
    struct disp *old)
{
	struct disp	*d;
	size_t		 i, k;

	d = calloc(1, sizeof(*d));
	if (d == NULL)
		abort();
	atomic_init(&d->refs, 1);
	d->root = root;
	d->cfg = cfg;
	d->cfg_owned = owned;
	d->n = cfg->nbackends;
	d->store = root->store;
	d->metrics = root->metrics;
	pthread_mutex_init(&d->lock, NULL);
	for (i = 0; i < d->n; i++) {
		d->b[i].cfg = &cfg->backends[i];
		d->b[i].be = backend_new(cfg->backends[i].name,
		    cfg->backends[i].socket_path);
		for (k = 0; old != NULL && k < old->n; k++) {
			if (strcmp(old->b[k].cfg->name, cfg->backends[i].name)
			    == 0 && strcmp(old->b[k].cfg->socket_path,
			    cfg->backends[i].socket_path) == 0)
				disp_health_copy(old, k, &d->b[i].health);
		}
	}
	return d;
}

/* ---- health ---- */

static void
copy_field(char *dst, size_t len, struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

/* GET /version: liveness and what the engine is, in one small call. */
static void
probe_version(struct disp_backend *db, struct disp_health *h)
{
	struct backend_call	 call = { .method = "GET", .path = "/version",
	    .timeout_ms = DM_PING_TIMEOUT_MS };
	struct json_object	*o = NULL;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status = 0;

	dm_err_clear(&err);
	if (backend_do(db->be, &call, &status, &body, &len, NULL, &err) ==
	    -1) {
		const char	*m = err.msg;
		size_t		 nl = strlen(db->cfg->name);

		/* "backend a: cannot connect ..." -> "cannot connect ..." */
		if (strncmp(m, "backend ", 8) == 0 &&
		    strncmp(m + 8, db->cfg->name, nl) == 0 &&
		    strncmp(m + 8 + nl, ": ", 2) == 0)
			m += 10 + nl;
		snprintf(h->last_error, sizeof(h->last_error), "%s", m);
	}
	else if (status != 200)
		snprintf(h->last_error, sizeof(h->last_error),
		    "GET /version answered %d", status);
	else if ((o = json_tokener_parse(body)) == NULL)
		snprintf(h->last_error, sizeof(h->last_error),
		    "GET /version: not JSON");
	else {
		h->up = 1;
		copy_field(h->api_version, sizeof(h->api_version), o,
		    "ApiVersion");
		copy_field(h->min_api_version, sizeof(h->min_api_version), o,
		    "MinAPIVersion");
		copy_field(h->os, sizeof(h->os), o, "Os");
		copy_field(h->arch, sizeof(h->arch), o, "Arch");
		copy_field(h->server_version, sizeof(h->server_version), o,
		    "Version");
		copy_field(h->kernel, sizeof(h->kernel), o, "KernelVersion");
	}
	json_object_put(o);
	free(body);
}

/*
 * Probe backend i and record the result.  A backend that fails waits
 * twice as long before each next probe, up to DISP_HEALTH_MAX_BACKOFF_MS;
 * one that answers is probed every DISP_HEALTH_INTERVAL_MS.
 */
static void
probe_one(struct disp *d, size_t i, void *arg)
{
	struct disp_backend	*db = &d->b[i];
	struct disp_health	 h, prev;
	long long		 wait;

	(void)arg;
	memset(&h, 0, sizeof(h));
	probe_version(db, &h);
	if (db->cfg->os != NULL)
		snprintf(h.os, sizeof(h.os), "%s", db->cfg->os);
	if (db->cfg->arch != NULL)
		snprintf(h.arch, sizeof(h.arch), "%s", db->cfg->arch);

	pthread_mutex_lock(&d->lock);
	prev = db->health;
	if (!h.up) {
		/* Keep what was learnt while it was up. */
		memcpy(h.api_version, prev.api_version, sizeof(h.api_version));
		memcpy(h.min_api_version, prev.min_api_version,
		    sizeof(h.min_api_version));
		memcpy(h.server_version, prev.server_version,
		    sizeof(h.server_version));
		memcpy(h.kernel, prev.kernel, sizeof(h.kernel));
		if (h.os[0] == '\0')
			memcpy(h.os, prev.os, sizeof(h.os));
		if (h.arch[0] == '\0')
			memcpy(h.arch, prev.arch, sizeof(h.arch));
		h.failures = prev.failures + 1;
	}
	h.since = (prev.probed && prev.up == h.up) ? prev.since : time(NULL);
	h.probed = 1;
	wait = DISP_HEALTH_INTERVAL_MS;
	if (!h.up) {
		unsigned int	k;

		for (k = 1; k < h.failures && wait < DISP_HEALTH_MAX_BACKOFF_MS;
		    k++)
			wait *= 2;
		if (wait > DISP_HEALTH_MAX_BACKOFF_MS)
			wait = DISP_HEALTH_MAX_BACKOFF_MS;
	}
	h.next_probe_ms = mono_ms() + wait;
	db->health = h;
	pthread_mutex_unlock(&d->lock);

	if (!prev.probed || prev.up != h.up) {
		if (h.up)
			log_info("msg=\"backend up\" backend=%s api=%s os=%s "
			    "arch=%s", db->cfg->name, h.api_version, h.os,
			    h.arch);
		else
			log_warnx("msg=\"backend down\" backend=%s "
			    "reason=\"%s\"", db->cfg->name, h.last_error);
	}
}

/* Probe the backends whose time has come, all at once. */
static void
probe_due(struct disp *d, size_t i, void *arg)
{
	long long	now = *(long long *)arg, next;

	pthread_mutex_lock(&d->lock);
	next = d->b[i].health.next_probe_ms;
	pthread_mutex_unlock(&d->lock);
	if (next <= now)
		probe_one(d, i, NULL);
}

void
disp_probe_all(struct disp *d)
{
	disp_each_backend(d, probe_one, NULL);
}

void
disp_health_copy(struct disp *d, size_t i, struct disp_health *out)
{
	pthread_mutex_lock(&d->lock);
	*out = d->b[i].health;
	pthread_mutex_unlock(&d->lock);
}

int
disp_backend_down(struct disp *d, size_t i, char *msg, size_t len)
{
	struct disp_health	h;

	disp_health_copy(d, i, &h);
	if (!h.probed || h.up)
		return 0;
	if (msg != NULL)
		snprintf(msg, len, "backend %s is down: %s", d->b[i].cfg->name,
		    h.last_error);
	return 1;
}

static void *
health_main(void *arg)
{
	struct dispatcher	*root = arg;
	struct disp		*d;
	struct timespec		 ts;
	long long		 now;
	void			*args[DM_MAX_BACKENDS];
	size_t			 i;

	pthread_mutex_lock(&root->lock);
	while (!root->stopping) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += DISP_HEALTH_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&root->wake, &root->lock, &ts);
		if (root->stopping)
			break;
		d = root->cur;
		atomic_fetch_add(&d->refs, 1);
		pthread_mutex_unlock(&root->lock);
		now = mono_ms();
		for (i = 0; i < d->n; i++)
			args[i] = &now;
		disp_each_backend(d, probe_due, args);
		disp_view_release(d);
		pthread_mutex_lock(&root->lock);
	}
	pthread_mutex_unlock(&root->lock);
	return NULL;
}

/* ---- fan-out ---- */

struct each_arg {
	struct disp	*d;
	size_t		 i;
	void		(*fn)(struct disp *, size_t, void *);
	void		*arg;
};

static void *
each_main(void *p)
{
	struct each_arg	*a = p;

	a->fn(a->d, a->i, a->arg);
	return NULL;
}

void
disp_each_backend(struct disp *d, void (*fn)(struct disp *, size_t, void *),
    void **args)
{
	struct each_arg	a[DM_MAX_BACKENDS];
	pthread_t	t[DM_MAX_BACKENDS];
	int		started[DM_MAX_BACKENDS];
	size_t		i;

	if (d->n == 1) {
		fn(d, 0, args != NULL ? args[0] : NULL);
		return;
	}
	for (i = 0; i < d->n; i++) {
		a[i].d = d;
		a[i].i = i;
		a[i].fn = fn;
		a[i].arg = args != NULL ? args[i] : NULL;
		started[i] = pthread_create(&t[i], NULL, each_main, &a[i]) == 0;
		if (!started[i])
			fn(d, i, a[i].arg);
	}
	for (i = 0; i < d->n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
}

/* ---- the dispatcher ---- */

struct dispatcher *
disp_new(const struct cfg *cfg, struct dm_err *err)
{
	struct dispatcher	*root;

	if (cfg->nbackends == 0) {
		dm_err_set(err, DM_EINTERNAL, "no backends configured");
		return NULL;
	}
	root = calloc(1, sizeof(*root));
	if (root == NULL)
		abort();
	pthread_mutex_init(&root->lock, NULL);
	pthread_cond_init(&root->wake, NULL);
	atomic_init(&root->active, 0);
	atomic_init(&root->streams, 0);
	root->store = store_open(cfg->store, err);
	if (root->store == NULL) {
		pthread_cond_destroy(&root->wake);
		pthread_mutex_destroy(&root->lock);
		free(root);
		return NULL;
	}
	root->metrics = disp_metrics_new();
	root->cur = view_new(root, cfg, 0, NULL);
	disp_probe_all(root->cur);
	disp_reconcile(root->cur);
	return root;
}

int
disp_start(struct dispatcher *root)
{
	if (pthread_create(&root->health_thread, NULL, health_main, root) !=
	    0)
		return -1;
	root->health_running = 1;
	if (disp_watch_start(root->cur) == -1)
		log_warnx("msg=\"cannot watch engine events; routes follow "
		    "engine-side removals on lookup only\"");
	return 0;
}

struct orphan_ctx {
	struct disp	*d;
	size_t		 n;
};

static int
count_orphan(const struct store_route *r, void *arg)
{
	struct orphan_ctx	*oc = arg;

	if (disp_backend_index(oc->d, r->backend) == (size_t)-1)
		oc->n++;
	return 0;
}

int
disp_reload(struct dispatcher *root, struct cfg *cfg, size_t *orphans,
    struct dm_err *err)
{
	struct disp		*old, *d;
	struct orphan_ctx	 oc;

	*orphans = 0;
	if (cfg->nbackends == 0) {
		dm_err_set(err, DM_EBADREQ, "no backends configured");
		cfg_free(cfg);
		return -1;
	}
	old = disp_view_acquire(root);
	if (strcmp(old->cfg->socket_path, cfg->socket_path) != 0)
		log_warnx("msg=\"reload: listen changed; restart to apply\"");
	if (strcmp(old->cfg->store, cfg->store) != 0)
		log_warnx("msg=\"reload: store changed; restart to apply\"");
	if (old->cfg->socket_mode != cfg->socket_mode ||
	    (old->cfg->socket_group == NULL) != (cfg->socket_group == NULL) ||
	    (cfg->socket_group != NULL &&
	    strcmp(old->cfg->socket_group, cfg->socket_group) != 0))
		log_warnx("msg=\"reload: socket_mode/socket_group changed; "
		    "restart to apply\"");
	d = view_new(root, cfg, 1, old);
	disp_view_release(old);
	disp_probe_all(d);
	disp_reconcile(d);
	oc.d = d;
	oc.n = 0;
	(void)store_route_each(root->store, NULL, count_orphan, &oc, err);
	*orphans = oc.n;
	if (oc.n > 0)
		log_warnx("msg=\"reload: routes kept for backends no longer "
		    "configured\" routes=%zu", oc.n);
	if (root->health_running && disp_watch_start(d) == -1)
		log_warnx("msg=\"cannot watch engine events\"");
	pthread_mutex_lock(&root->lock);
	old = root->cur;
	root->cur = d;
	pthread_cond_broadcast(&root->wake);
	pthread_mutex_unlock(&root->lock);
	disp_watch_stop(old);
	disp_view_release(old);
	log_info("msg=\"configuration reloaded\" backends=%zu primary=%s",
	    d->n, d->b[0].cfg->name);
	return 0;
}

void
disp_free(struct dispatcher *root)
{
	if (root == NULL)
		return;
	pthread_mutex_lock(&root->lock);
	root->stopping = 1;
	pthread_cond_broadcast(&root->wake);
	pthread_mutex_unlock(&root->lock);
	if (root->health_running)
		pthread_join(root->health_thread, NULL);
	disp_watch_stop(root->cur);
	disp_view_release(root->cur);
	store_close(root->store);
	disp_metrics_free(root->metrics);
	pthread_cond_destroy(&root->wake);
	pthread_mutex_destroy(&root->lock);
	free(root);
}

unsigned int
disp_active_calls(const struct dispatcher *root)
{
	return atomic_load(&((struct dispatcher *)(uintptr_t)root)->active);
}
