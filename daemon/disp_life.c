/*
 * disp_life.c: the dispatcher's life: built over a configuration,
 * started, reloaded (a new view swapped in) and freed.
 */
/*
 * Threads: main builds, starts, reloads and frees; root->lock guards
 * root->cur against the call workers that take views.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/log.h"
#include "lib/util.h"

/* A view over cfg's backends; health carried over from old by name and
 * socket.  One reference, the caller's. */
static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL &&
	    strcmp(a, b) == 0);
}

/* The listeners and their TLS files: fixed until a restart. */
static int
same_listeners(const struct cfg *a, const struct cfg *b)
{
	size_t	i;

	if (a->nlisten != b->nlisten || a->tls_set != b->tls_set ||
	    !same_str(a->tls.cert, b->tls.cert) ||
	    !same_str(a->tls.key, b->tls.key) ||
	    !same_str(a->tls.ca, b->tls.ca))
		return 0;
	for (i = 0; i < a->nlisten; i++)
		if (strcmp(a->listens[i].url, b->listens[i].url) != 0)
			return 0;
	return 1;
}

/* The configured engine as backends/ takes it. */
static struct backend *
backend_from_cfg(const struct cfg_backend *cb)
{
	struct backend_addr	a;

	memset(&a, 0, sizeof(a));
	a.path = cb->ep.path;
	a.host = cb->ep.host;
	a.port = cb->ep.port;
	switch (cb->ep.transport) {
	case CFG_UNIX:
		a.transport = BACKEND_UNIX;
		break;
	case CFG_TCP:
		a.transport = BACKEND_TCP;
		a.tls = cb->tls_mode == CFG_TLS_VERIFY;
		a.ca = cb->tls.ca;
		a.cert = cb->tls.cert;
		a.key = cb->tls.key;
		if (!a.tls)
			log_warnx("msg=\"backend over plain TCP: anyone on the "
			    "path can read and drive it\" backend=%s", cb->name);
		break;
	case CFG_SSH:
		a.transport = BACKEND_SSH;
		a.ssh_user = cb->ep.user;
		a.ssh_identity = cb->ssh_identity;
		a.ssh_known_hosts = cb->ssh_known_hosts;
		break;
	}
	return backend_new(cb->name, &a);
}

static struct disp *
view_new(struct dispatcher *root, const struct cfg *cfg, int owned,
    struct disp *old)
{
	struct disp	*d;
	size_t		 i, k;

	d = xcalloc(1, sizeof(*d));
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
		d->b[i].be = backend_from_cfg(&cfg->backends[i]);
		for (k = 0; old != NULL && k < old->n; k++) {
			if (strcmp(old->b[k].cfg->name, cfg->backends[i].name)
			    == 0 && strcmp(old->b[k].cfg->endpoint,
			    cfg->backends[i].endpoint) == 0)
				disp_health_copy(old, k, &d->b[i].health);
		}
	}
	return d;
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
	root = xcalloc(1, sizeof(*root));
	pthread_mutex_init(&root->lock, NULL);
	pthread_cond_init(&root->wake, NULL);
	pthread_mutex_init(&root->copy_lock, NULL);
	pthread_cond_init(&root->copy_done, NULL);
	atomic_init(&root->active, 0);
	atomic_init(&root->streams, 0);
	atomic_init(&root->health_beat_ms, 0);
	root->store = store_open(cfg->store, err);
	if (root->store == NULL) {
		pthread_cond_destroy(&root->copy_done);
		pthread_mutex_destroy(&root->copy_lock);
		pthread_cond_destroy(&root->wake);
		pthread_mutex_destroy(&root->lock);
		free(root);
		return NULL;
	}
	root->metrics = disp_metrics_new();
	/* NULL: fan-outs run one backend after the other, and still work. */
	root->work = dm_work_new(DM_WORKERS_MAX);
	root->cur = view_new(root, cfg, 0, NULL);
	disp_probe_all(root->cur);
	disp_reconcile(root->cur);
	return root;
}

int
disp_start(struct dispatcher *root)
{
	atomic_store(&root->health_beat_ms, dm_mono_ms());
	if (pthread_create(&root->health_thread, NULL, disp_probe_main, root) !=
	    0)
		return -1;
	root->health_running = 1;
	if (disp_watch_start(root->cur) == -1)
		log_warnx("msg=\"cannot watch engine events; routes follow "
		    "engine-side removals on lookup only\"");
	return 0;
}

void
disp_retire(struct dispatcher *root)
{
	disp_watch_stop(root->cur);
	log_debug("msg=\"engine event watch stopped: another process "
	    "serves\"");
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
	if (!same_listeners(old->cfg, cfg))
		log_warnx("msg=\"reload: listen or tls changed; restart to "
		    "apply\"");
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
	dm_work_free(root->work);
	pthread_cond_destroy(&root->copy_done);
	pthread_mutex_destroy(&root->copy_lock);
	pthread_cond_destroy(&root->wake);
	pthread_mutex_destroy(&root->lock);
	free(root);
}

unsigned int
disp_active_calls(const struct dispatcher *root)
{
	return atomic_load(&((struct dispatcher *)(uintptr_t)root)->active);
}
