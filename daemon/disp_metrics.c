/*
 * disp_metrics.c: counters for /_dockmux/metrics: requests by endpoint
 * class, backend and status; latency histograms by class; reads served
 * by fallback mode; gauges for streams, backends and the store.
 */
/* Threads: any thread counts, under m->lock; no I/O under the lock. */

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/util.h"

#define METRIC_READS	(DM_MAX_BACKENDS * 2)
#define NCLASS		(ROUTE_HIJACK + 1)
#define METRIC_COPIES	(DM_MAX_BACKENDS * 4)

static const double buckets[] = { 0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1,
    5, 30 };
#define NBUCKET	(sizeof(buckets) / sizeof(buckets[0]))

struct req_series {
	enum disp_kind		 kind;
	char			 backend[DM_MAX_NAME];
	int			 status;
	unsigned long long	 count;
};

struct read_series {
	char			 backend[DM_MAX_NAME];
	char			 mode[16];
	unsigned long long	 count;
};

struct copy_series {
	char			 from[DM_MAX_NAME];
	char			 to[DM_MAX_NAME];
	int			 ok;
	unsigned long long	 count;
	unsigned long long	 bytes;
};

struct disp_metrics {
	pthread_mutex_t		 lock;
	struct req_series	 req[DM_METRIC_SERIES];
	size_t			 nreq;
	unsigned long long	 dropped;	/* series past DM_METRIC_SERIES */
	unsigned long long	 hist[NCLASS][NBUCKET + 1];
	double			 sum[NCLASS];
	unsigned long long	 cnt[NCLASS];
	struct read_series	 reads[METRIC_READS];
	size_t			 nreads;
	struct copy_series	 copies[METRIC_COPIES];
	size_t			 ncopies;
};

static const char *
kind_name(enum disp_kind k)
{
	switch (k) {
	case ROUTE_PRIMARY:
		return "primary";
	case ROUTE_LOCAL:
		return "local";
	case ROUTE_ADMIN:
		return "admin";
	case ROUTE_CREATE:
		return "create";
	case ROUTE_PER_CONTAINER:
		return "per_container";
	case ROUTE_PER_EXEC:
		return "per_exec";
	case ROUTE_READ_FALLBACK:
		return "read_fallback";
	case ROUTE_FANOUT:
		return "fanout";
	case ROUTE_HIJACK:
		return "hijack";
	}
	return "primary";
}

struct disp_metrics *
disp_metrics_new(void)
{
	struct disp_metrics	*m;

	m = xcalloc(1, sizeof(*m));
	pthread_mutex_init(&m->lock, NULL);
	return m;
}

void
disp_metrics_free(struct disp_metrics *m)
{
	if (m == NULL)
		return;
	pthread_mutex_destroy(&m->lock);
	free(m);
}

void
disp_metrics_request(struct disp_metrics *m, enum disp_kind kind,
    const char *backend, int status, double seconds)
{
	size_t	i, b;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->nreq; i++)
		if (m->req[i].kind == kind && m->req[i].status == status &&
		    strcmp(m->req[i].backend, backend) == 0)
			break;
	if (i == m->nreq && m->nreq < DM_METRIC_SERIES) {
		m->req[i].kind = kind;
		m->req[i].status = status;
		snprintf(m->req[i].backend, sizeof(m->req[i].backend), "%s",
		    backend);
		m->nreq++;
	}
	if (i < m->nreq)
		m->req[i].count++;
	else
		m->dropped++;
	for (b = 0; b < NBUCKET && seconds > buckets[b]; b++)
		;
	m->hist[kind][b]++;
	m->sum[kind] += seconds;
	m->cnt[kind]++;
	pthread_mutex_unlock(&m->lock);
}

void
disp_metrics_read(struct disp_metrics *m, const char *backend,
    const char *mode)
{
	size_t	i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->nreads; i++)
		if (strcmp(m->reads[i].backend, backend) == 0 &&
		    strcmp(m->reads[i].mode, mode) == 0)
			break;
	if (i == m->nreads && m->nreads < METRIC_READS) {
		snprintf(m->reads[i].backend, sizeof(m->reads[i].backend),
		    "%s", backend);
		snprintf(m->reads[i].mode, sizeof(m->reads[i].mode), "%s",
		    mode);
		m->nreads++;
	}
	if (i < m->nreads)
		m->reads[i].count++;
	pthread_mutex_unlock(&m->lock);
}

void
disp_metrics_copy(struct disp_metrics *m, const char *from, const char *to,
    int ok, long long bytes)
{
	size_t	i;

	pthread_mutex_lock(&m->lock);
	for (i = 0; i < m->ncopies; i++)
		if (strcmp(m->copies[i].from, from) == 0 &&
		    strcmp(m->copies[i].to, to) == 0 && m->copies[i].ok == ok)
			break;
	if (i == m->ncopies && m->ncopies < METRIC_COPIES) {
		snprintf(m->copies[i].from, sizeof(m->copies[i].from), "%s",
		    from);
		snprintf(m->copies[i].to, sizeof(m->copies[i].to), "%s", to);
		m->copies[i].ok = ok;
		m->ncopies++;
	}
	if (i < m->ncopies) {
		m->copies[i].count++;
		m->copies[i].bytes += (unsigned long long)bytes;
	}
	pthread_mutex_unlock(&m->lock);
}

/* A growable text buffer, for the exposition only. */
struct text {
	char	*s;
	size_t	 len;
	size_t	 cap;
};

static void
text_add(struct text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
text_add(struct text *t, const char *fmt, ...)
{
	va_list	ap;
	int	n;

	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(t->s + t->len, t->cap - t->len, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < t->cap - t->len) {
			t->len += (size_t)n;
			return;
		}
		t->cap = t->cap * 2 + (size_t)n;
		t->s = xrealloc(t->s, t->cap);
	}
}

char *
disp_metrics_text(struct disp *d)
{
	struct disp_metrics	*m = d->metrics, *snap;
	struct disp_health	 h;
	struct text		 t;
	struct stat		 st;
	size_t			 i, b;
	unsigned long long	 acc;
	int			 k;

	/* Copy under the lock, format outside it. */
	snap = xmalloc(sizeof(*snap));
	pthread_mutex_lock(&m->lock);
	memcpy(snap, m, sizeof(*snap));
	pthread_mutex_unlock(&m->lock);

	t.cap = 8192;
	t.len = 0;
	t.s = xmalloc(t.cap);
	t.s[0] = '\0';
	text_add(&t, "# HELP dockmux_requests_total Requests answered, by "
	    "endpoint class, backend and status.\n"
	    "# TYPE dockmux_requests_total counter\n");
	for (i = 0; i < snap->nreq; i++)
		text_add(&t, "dockmux_requests_total{class=\"%s\",backend=\"%s\","
		    "status=\"%d\"} %llu\n", kind_name(snap->req[i].kind),
		    snap->req[i].backend, snap->req[i].status,
		    snap->req[i].count);
	text_add(&t, "# HELP dockmux_request_duration_seconds Time to the "
	    "answer's head, by endpoint class.\n"
	    "# TYPE dockmux_request_duration_seconds histogram\n");
	for (k = 0; k < NCLASS; k++) {
		if (snap->cnt[k] == 0)
			continue;
		acc = 0;
		for (b = 0; b < NBUCKET; b++) {
			acc += snap->hist[k][b];
			text_add(&t, "dockmux_request_duration_seconds_bucket{"
			    "class=\"%s\",le=\"%g\"} %llu\n",
			    kind_name((enum disp_kind)k), buckets[b], acc);
		}
		acc += snap->hist[k][NBUCKET];
		text_add(&t, "dockmux_request_duration_seconds_bucket{class="
		    "\"%s\",le=\"+Inf\"} %llu\n", kind_name((enum disp_kind)k),
		    acc);
		text_add(&t, "dockmux_request_duration_seconds_sum{class=\"%s\"}"
		    " %.6f\n", kind_name((enum disp_kind)k), snap->sum[k]);
		text_add(&t, "dockmux_request_duration_seconds_count{class="
		    "\"%s\"} %llu\n", kind_name((enum disp_kind)k),
		    snap->cnt[k]);
	}
	text_add(&t, "# HELP dockmux_reads_served_total Logs and stats reads "
	    "served, by backend and mode (native or snapshot).\n"
	    "# TYPE dockmux_reads_served_total counter\n");
	for (i = 0; i < snap->nreads; i++)
		text_add(&t, "dockmux_reads_served_total{backend=\"%s\","
		    "mode=\"%s\"} %llu\n", snap->reads[i].backend,
		    snap->reads[i].mode, snap->reads[i].count);
	text_add(&t, "# HELP dockmux_image_copies_total Images copied "
	    "between backends for a create, by source, target and result.\n"
	    "# TYPE dockmux_image_copies_total counter\n");
	for (i = 0; i < snap->ncopies; i++)
		text_add(&t, "dockmux_image_copies_total{from=\"%s\",to=\"%s\","
		    "result=\"%s\"} %llu\n", snap->copies[i].from,
		    snap->copies[i].to, snap->copies[i].ok ? "ok" : "failed",
		    snap->copies[i].count);
	text_add(&t, "# HELP dockmux_image_copy_bytes_total Bytes of images "
	    "copied between backends.\n"
	    "# TYPE dockmux_image_copy_bytes_total counter\n");
	for (i = 0; i < snap->ncopies; i++)
		if (snap->copies[i].ok)
			text_add(&t, "dockmux_image_copy_bytes_total{from=\"%s\","
			    "to=\"%s\"} %llu\n", snap->copies[i].from,
			    snap->copies[i].to, snap->copies[i].bytes);
	text_add(&t, "# HELP dockmux_active_streams Streams and raw relays "
	    "open now.\n# TYPE dockmux_active_streams gauge\n"
	    "dockmux_active_streams %u\n",
	    atomic_load(&d->root->streams));
	text_add(&t, "# HELP dockmux_backend_up Whether the last probe of "
	    "the backend succeeded.\n# TYPE dockmux_backend_up gauge\n");
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		text_add(&t, "dockmux_backend_up{backend=\"%s\"} %d\n",
		    d->b[i].cfg->name, h.up);
	}
	text_add(&t, "# HELP dockmux_store_routes Containers routed.\n"
	    "# TYPE dockmux_store_routes gauge\ndockmux_store_routes %zu\n",
	    store_route_count(d->store));
	text_add(&t, "# HELP dockmux_store_bytes Size of the store file.\n"
	    "# TYPE dockmux_store_bytes gauge\ndockmux_store_bytes %lld\n",
	    stat(d->cfg->store, &st) == 0 ? (long long)st.st_size : 0LL);
	text_add(&t, "# HELP dockmux_metric_series_dropped_total Request "
	    "series not kept (too many distinct labels).\n"
	    "# TYPE dockmux_metric_series_dropped_total counter\n"
	    "dockmux_metric_series_dropped_total %llu\n", snap->dropped);
	free(snap);
	return t.s;
}
