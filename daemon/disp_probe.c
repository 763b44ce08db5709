/*
 * disp_probe.c: health probes with backoff: whether each engine is up,
 * learnt by GET /_ping, what it is, learnt by GET /version, and the
 * thread that probes the backends that are due.
 */
/*
 * Threads: the health thread (and disp_new/disp_reload on main) probe;
 * they write disp->b[].health under disp->lock, readers copy it out
 * under the same lock.
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- health ---- */

static void
copy_field(char *dst, size_t len, struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		snprintf(dst, len, "%s", json_object_get_string(v));
}

/*
 * GET path of backend db: its body (owned: free()) when it answers 200;
 * else NULL with h->last_error saying why, "backend a: " left out.  The
 * answer's head into hdrs when hdrs is not NULL.
 */
static char *
probe_get(struct disp_backend *db, const char *path, int timeout_ms,
    struct dm_hdrs *hdrs, struct disp_health *h)
{
	struct backend_call	 call = { .method = "GET", .path = path,
	    .timeout_ms = timeout_ms };
	struct dm_err		 err;
	const char		*m;
	char			*body = NULL;
	size_t			 len, nl = strlen(db->cfg->name);
	int			 status = 0;

	dm_err_clear(&err);
	if (backend_do(db->be, &call, &status, &body, &len, hdrs, &err) ==
	    -1) {
		m = err.msg;
		if (strncmp(m, "backend ", 8) == 0 &&
		    strncmp(m + 8, db->cfg->name, nl) == 0 &&
		    strncmp(m + 8 + nl, ": ", 2) == 0)
			m += 10 + nl;
		snprintf(h->last_error, sizeof(h->last_error), "%s", m);
		return NULL;
	}
	if (status != 200) {
		snprintf(h->last_error, sizeof(h->last_error),
		    "GET %s answered %d", path, status);
		free(body);
		return NULL;
	}
	return body;
}

/*
 * GET /_ping: is the engine there.  On 200, *mark gets what its headers
 * say it is (API version, server, OS type): when that changes, the engine
 * was restarted, maybe upgraded, and /version is asked again.
 */
static int
probe_ping(struct disp_backend *db, struct disp_health *h, char *mark,
    size_t marklen)
{
	static const char *const keys[] = { "API-Version", "Server", "OSType" };
	struct dm_hdrs		 hdrs = { 0 };
	const char		*v;
	char			*body;
	size_t			 i, n = 0;

	body = probe_get(db, "/_ping", backend_is_remote(db->be) ?
	    DM_REMOTE_PING_TIMEOUT_MS : DM_PING_TIMEOUT_MS, &hdrs, h);
	if (body != NULL) {
		mark[0] = '\0';
		for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
			v = dm_hdrs_get(&hdrs, keys[i]);
			if (n < marklen)
				n += (size_t)snprintf(mark + n, marklen - n,
				    "%s;", v != NULL ? v : "");
		}
	}
	dm_hdrs_clear(&hdrs);
	free(body);
	return body != NULL;
}

/* GET /version: what the engine is (h->up when it says). */
static void
probe_version(struct disp_backend *db, struct disp_health *h)
{
	struct json_object	*o = NULL;
	char			*body;

	body = probe_get(db, "/version", DM_VERSION_TIMEOUT_MS, NULL, h);
	if (body == NULL)
		return;
	if ((o = json_tokener_parse(body)) == NULL)
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

/* What was learnt before, where h has not learnt it anew. */
static void
keep_facts(struct disp_health *h, const struct disp_health *prev)
{
	memcpy(h->api_version, prev->api_version, sizeof(h->api_version));
	memcpy(h->min_api_version, prev->min_api_version,
	    sizeof(h->min_api_version));
	memcpy(h->server_version, prev->server_version,
	    sizeof(h->server_version));
	memcpy(h->kernel, prev->kernel, sizeof(h->kernel));
	if (h->os[0] == '\0')
		memcpy(h->os, prev->os, sizeof(h->os));
	if (h->arch[0] == '\0')
		memcpy(h->arch, prev->arch, sizeof(h->arch));
}

/*
 * Liveness is GET /_ping, which every engine answers at once.  What the
 * engine is comes from GET /version, asked only when it is not known:
 * podman's /version gathers its storage facts and takes 1.5 s on an idle
 * machine, more under load, and a 2 s liveness probe on it marked a live
 * podman down now and then.
 */
static void
probe_engine(struct disp_backend *db, const struct disp_health *prev,
    struct disp_health *h)
{
	if (!probe_ping(db, h, h->ping_mark, sizeof(h->ping_mark)))
		return;
	if (prev->up && strcmp(prev->ping_mark, h->ping_mark) == 0) {
		h->up = 1;
		keep_facts(h, prev);
	} else
		probe_version(db, h);
}

/*
 * Probe backend i and record the result.  A backend that fails waits
 * twice as long before each next probe, up to DM_HEALTH_MAX_BACKOFF_MS;
 * one that answers is probed every DM_HEALTH_INTERVAL_MS.
 */
static void
probe_one(struct disp *d, size_t i, void *arg)
{
	struct disp_backend	*db = &d->b[i];
	struct disp_health	 h, prev;
	long long		 wait;

	(void)arg;
	memset(&h, 0, sizeof(h));
	disp_health_copy(d, i, &prev);
	probe_engine(db, &prev, &h);
	if (db->cfg->os != NULL)
		snprintf(h.os, sizeof(h.os), "%s", db->cfg->os);
	if (db->cfg->arch != NULL)
		snprintf(h.arch, sizeof(h.arch), "%s", db->cfg->arch);

	pthread_mutex_lock(&d->lock);
	prev = db->health;
	if (!h.up) {
		/* Keep what was learnt while it was up. */
		keep_facts(&h, &prev);
		h.failures = prev.failures + 1;
	}
	h.since = (prev.probed && prev.up == h.up) ? prev.since : time(NULL);
	h.probed = 1;
	wait = DM_HEALTH_INTERVAL_MS;
	if (!h.up) {
		unsigned int	k;

		for (k = 1; k < h.failures && wait < DM_HEALTH_MAX_BACKOFF_MS;
		    k++)
			wait *= 2;
		if (wait > DM_HEALTH_MAX_BACKOFF_MS)
			wait = DM_HEALTH_MAX_BACKOFF_MS;
	}
	h.next_probe_ms = dm_mono_ms() + wait;
	db->health = h;
	pthread_mutex_unlock(&d->lock);

	if (!prev.probed || prev.up != h.up) {
		if (h.up)
			log_info("msg=\"backend up\" backend=%s api=%s os=%s "
			    "arch=%s", db->cfg->name, log_q(h.api_version),
			    log_q(h.os), log_q(h.arch));
		else
			log_warnx("msg=\"backend down\" backend=%s "
			    "reason=%s", db->cfg->name, log_q(h.last_error));
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

void
disp_summary(struct dispatcher *root, struct disp_summary *out)
{
	struct disp		*d;
	struct disp_health	 h;
	size_t			 i, len = 0;
	long long		 beat;

	memset(out, 0, sizeof(*out));
	d = disp_view_acquire(root);
	out->nbackends = d->n;
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		if (h.probed && h.up)
			out->nup++;
		else if (len < sizeof(out->down))
			len += (size_t)snprintf(out->down + len,
			    sizeof(out->down) - len, "%s%s", len > 0 ? ", " :
			    "", d->b[i].cfg->name);
	}
	disp_view_release(d);
	out->nroutes = store_route_count(root->store);
	beat = atomic_load(&root->health_beat_ms);
	out->health_age_ms = root->health_running && beat > 0 ?
	    dm_mono_ms() - beat : -1;
}

void *
disp_probe_main(void *arg)
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
		ts.tv_nsec += DM_HEALTH_TICK_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&root->wake, &root->lock, &ts);
		if (root->stopping)
			break;
		/* For the watchdog: this thread still goes round. */
		atomic_store(&root->health_beat_ms, dm_mono_ms());
		d = root->cur;
		atomic_fetch_add(&d->refs, 1);
		pthread_mutex_unlock(&root->lock);
		/* Only the backends whose probe is due get a thread. */
		now = dm_mono_ms();
		pthread_mutex_lock(&d->lock);
		for (i = 0; i < d->n; i++)
			args[i] = d->b[i].health.next_probe_ms <= now ? &now :
			    NULL;
		pthread_mutex_unlock(&d->lock);
		disp_each_backend(d, probe_due, args);
		disp_view_release(d);
		pthread_mutex_lock(&root->lock);
	}
	pthread_mutex_unlock(&root->lock);
	return NULL;
}

