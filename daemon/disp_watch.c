/*
 * disp_watch.c: keep the store true while dockmuxd runs: one thread per
 * backend follows the engine's container events and drops the route of a
 * container the engine destroyed (docker run --rm, removal behind
 * dockmux's back) and follows renames.
 */
/*
 * Threads: the watcher threads of a view run while it is current; main
 * starts them before publishing the view and stops and joins them after
 * swapping it out (reload) or at shutdown.  Store calls lock themselves.
 */

#include <json-c/json.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/lines.h"
#include "lib/log.h"
#include "lib/util.h"

#define WATCH_FILTER	"%7B%22type%22%3A%5B%22container%22%5D%2C%22event%22" \
			"%3A%5B%22destroy%22%2C%22rename%22%5D%7D"

struct watch_arg {
	struct disp	*d;
	size_t		 i;
};

struct disp_watch {
	int		 stop[2];	/* watchers watch [1]; [0] shut to stop */
	pthread_t	 t[DM_MAX_BACKENDS];
	int		 started[DM_MAX_BACKENDS];
	struct watch_arg arg[DM_MAX_BACKENDS];
};

/* Sleep up to ms; 1 when told to stop. */
static int
watch_sleep(struct disp_watch *w, int ms)
{
	struct pollfd	pfd = { .fd = w->stop[1], .events = POLLIN };

	return poll(&pfd, 1, ms) > 0;
}

static void
watch_event(struct disp *d, size_t i, const char *line, long long *last)
{
	struct json_object	*o, *actor;
	struct store_route	 r;
	struct dm_err		 err;
	const char		*action, *id, *nm;
	int64_t			 t;

	o = json_tokener_parse(line);
	if (o == NULL)
		return;
	if (dm_json_int64(o, "time", &t))
		*last = (long long)t;
	/* Nulls and wrong types from an engine are no event: skipped. */
	action = dm_json_str(o, "Action");
	actor = dm_json_obj(o, "Actor");
	id = dm_json_str(actor, "ID");
	if (action == NULL || id == NULL)
		goto out;
	/* Only the owner's word counts: another engine may hold the same. */
	if (store_route_find(d->store, id, &r, &err) == -1 ||
	    strcmp(r.id, id) != 0 || strcmp(r.backend, d->b[i].cfg->name) != 0)
		goto out;
	if (strcmp(action, "destroy") == 0) {
		if (store_route_del(d->store, id, &err) == 0)
			log_info("msg=\"route dropped: engine destroyed the "
			    "container\" id=%.12s backend=%s", id, r.backend);
	} else if (strcmp(action, "rename") == 0 &&
	    (nm = dm_json_str(dm_json_obj(actor, "Attributes"), "name")) !=
	    NULL && strcmp(nm, r.name) != 0) {
		if (store_route_rename(d->store, id, nm, &err) == 0)
			log_info("msg=\"route renamed by the engine\" id=%.12s "
			    "name=%s", id, log_q(nm));
	}
out:
	json_object_put(o);
}

struct watch_line {
	struct disp	*d;
	size_t		 i;
	long long	*last;
};

static int
watch_line(void *arg, const char *text, size_t len, int whole)
{
	struct watch_line	*wl = arg;

	(void)len;
	if (whole)
		watch_event(wl->d, wl->i, text, wl->last);
	return 0;
}

/*
 * Follow one backend's events until stopped; reconnect after the engine
 * goes away, asking for what happened since the last event seen.
 */
static void *
watch_main(void *p)
{
	struct watch_arg	*a = p;
	struct disp		*d = a->d;
	struct disp_watch	*w = d->watch;
	struct backend_call	 call;
	struct backend_xfer	*x;
	struct dm_err		 err;
	char			 path[256], buf[DM_STREAM_READ];
	long long		 last = (long long)time(NULL);
	struct watch_line	 wl = { .d = d, .i = a->i, .last = &last };
	struct dm_lines		 lines;
	ssize_t			 n;

	dm_lines_init(&lines, DM_MAX_LINE);
	for (;;) {
		if (disp_backend_down(d, a->i, NULL, 0)) {
			if (watch_sleep(w, DM_WATCH_RETRY_MS))
				break;
			continue;
		}
		snprintf(path, sizeof(path), "/events?since=%lld&filters=%s",
		    last, WATCH_FILTER);
		memset(&call, 0, sizeof(call));
		call.method = "GET";
		call.path = path;
		call.head_timeout_ms = DM_WATCH_HEAD_TIMEOUT_MS;
		x = backend_xfer_start(d->b[a->i].be, &call, &err);
		if (x != NULL && backend_xfer_head(x, w->stop[1], &err) == 0 &&
		    backend_xfer_status(x) == 200) {
			dm_lines_reset(&lines);
			while ((n = backend_xfer_read(x, buf, sizeof(buf),
			    w->stop[1])) > 0)
				(void)dm_lines_feed(&lines, buf, (size_t)n,
				    watch_line, &wl);
		}
		backend_xfer_free(x);
		if (watch_sleep(w, DM_WATCH_RETRY_MS))
			break;
	}
	dm_lines_free(&lines);
	return NULL;
}

int
disp_watch_start(struct disp *d)
{
	struct disp_watch	*w;
	size_t			 i;

	w = xcalloc(1, sizeof(*w));
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, w->stop) ==
	    -1) {
		free(w);
		return -1;
	}
	d->watch = w;
	for (i = 0; i < d->n; i++) {
		w->arg[i].d = d;
		w->arg[i].i = i;
		w->started[i] = pthread_create(&w->t[i], NULL, watch_main,
		    &w->arg[i]) == 0;
	}
	return 0;
}

void
disp_watch_stop(struct disp *d)
{
	struct disp_watch	*w = d->watch;
	size_t			 i;

	if (w == NULL)
		return;
	shutdown(w->stop[0], SHUT_RDWR);
	for (i = 0; i < d->n; i++)
		if (w->started[i])
			pthread_join(w->t[i], NULL);
	close(w->stop[0]);
	close(w->stop[1]);
	free(w);
	d->watch = NULL;
}
