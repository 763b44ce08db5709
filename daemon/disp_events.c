/*
 * disp_events.c: GET /events as one merged stream: one reader thread per
 * backend feeds complete event lines, each tagged with its backend in
 * Actor.Attributes, into a bounded queue the client's stream drains.
 */
/*
 * Threads: the reader threads and the worker reading the stream share the
 * queue under ev->lock; the stream's free() stops and joins the readers.
 */

#include <errno.h>
#include <json-c/json.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "daemon/disp_int.h"
#include "lib/labels.h"
#include "lib/limits.h"
#include "lib/lines.h"
#include "lib/log.h"
#include "lib/util.h"


struct ev_item {
	struct ev_item	*next;
	size_t		 len;
	char		 data[];
};

struct ev_stream;

struct ev_reader {
	struct ev_stream	*ev;
	size_t			 bi;
	pthread_t		 thread;
	int			 started;
};

struct ev_stream {
	struct disp_stream	 base;
	struct disp		*d;		/* a view reference */
	char			*path;		/* owned */
	struct dm_hdrs		 hdrs;		/* owned */
	pthread_mutex_t		 lock;
	pthread_cond_t		 cv;
	struct ev_item		*head, *tail;	/* owned queue */
	size_t			 queued;	/* bytes */
	size_t			 head_off;
	size_t			 live;		/* readers still running */
	int			 stop;
	int			 stop_fds[2];	/* readers watch [1]; [0] closed */
	size_t			 nreaders;
	struct ev_reader	 r[DM_MAX_BACKENDS];
};

char *
disp_event_tag(const char *line, size_t len, const char *backend)
{
	struct json_object	*o, *actor, *attrs;
	char			*tmp, *out;

	tmp = xstrndup(line, len);
	o = json_tokener_parse(tmp);
	free(tmp);
	if (o == NULL || !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		return NULL;
	}
	if (!json_object_object_get_ex(o, "Actor", &actor) ||
	    !json_object_is_type(actor, json_type_object)) {
		actor = json_object_new_object();
		json_object_object_add(o, "Actor", actor);
	}
	if (!json_object_object_get_ex(actor, "Attributes", &attrs) ||
	    !json_object_is_type(attrs, json_type_object)) {
		attrs = json_object_new_object();
		json_object_object_add(actor, "Attributes", attrs);
	}
	json_object_object_add(attrs, DM_LABEL_BACKEND,
	    json_object_new_string(backend));
	out = xasprintf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	return out;
}

/* Queue a line; blocks while the queue is full.  -1 when stopping. */
static int
ev_push(struct ev_stream *ev, const char *s)
{
	struct ev_item	*it;
	size_t		 len = strlen(s);

	it = xmalloc(sizeof(*it) + len);
	it->next = NULL;
	it->len = len;
	memcpy(it->data, s, len);
	pthread_mutex_lock(&ev->lock);
	while (!ev->stop && ev->queued + len > DM_EVENT_QUEUE_MAX)
		pthread_cond_wait(&ev->cv, &ev->lock);
	if (ev->stop) {
		pthread_mutex_unlock(&ev->lock);
		free(it);
		return -1;
	}
	if (ev->tail != NULL)
		ev->tail->next = it;
	else
		ev->head = it;
	ev->tail = it;
	ev->queued += len;
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->lock);
	return 0;
}

/* One event line from backend rd->bi: tagged and queued. */
static int
ev_line(void *arg, const char *text, size_t len, int whole)
{
	struct ev_reader	*rd = arg;
	char			*tagged;
	int			 pushed;

	if (!whole)
		return 0;	/* an absurd event: dropped */
	tagged = disp_event_tag(text, len, rd->ev->d->b[rd->bi].cfg->name);
	if (tagged == NULL)
		return 0;
	pushed = ev_push(rd->ev, tagged);
	free(tagged);
	return pushed;
}

static void *
ev_reader_main(void *arg)
{
	struct ev_reader	*rd = arg;
	struct ev_stream	*ev = rd->ev;
	struct disp		*d = ev->d;
	struct backend_call	 call;
	struct backend_xfer	*x;
	struct dm_err		 err;
	struct dm_lines		 lines;
	char			 buf[DM_STREAM_READ];
	ssize_t			 n;

	dm_lines_init(&lines, DM_MAX_LINE);
	x = NULL;
	if (disp_backend_down(d, rd->bi, NULL, 0)) {
		log_warnx("msg=\"events: backend down, left out\" backend=%s",
		    d->b[rd->bi].cfg->name);
		goto out;
	}
	memset(&call, 0, sizeof(call));
	call.method = "GET";
	call.path = ev->path;
	call.hdrs = &ev->hdrs;
	call.head_timeout_ms = DM_STREAM_HEAD_TIMEOUT_MS;
	x = backend_xfer_start(d->b[rd->bi].be, &call, &err);
	if (x == NULL || backend_xfer_head(x, ev->stop_fds[1], &err) == -1 ||
	    backend_xfer_status(x) != 200) {
		log_warnx("msg=\"events: backend left out\" backend=%s "
		    "reason=%s", d->b[rd->bi].cfg->name, log_q(x == NULL ||
		    backend_xfer_status(x) == 0 ? err.msg : "not 200"));
		goto out;
	}
	for (;;) {
		n = backend_xfer_read(x, buf, sizeof(buf), ev->stop_fds[1]);
		if (n <= 0)
			break;
		if (dm_lines_feed(&lines, buf, (size_t)n, ev_line, rd) == -1)
			goto out;
	}
out:
	/* A backend that goes away ends only its part of the stream. */
	backend_xfer_free(x);
	dm_lines_free(&lines);
	pthread_mutex_lock(&ev->lock);
	ev->live--;
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->lock);
	return NULL;
}

static int
client_gone(int fd)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	char		c;

	if (fd == -1 || poll(&pfd, 1, 0) <= 0)
		return 0;
	return recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) == 0;
}

static ssize_t
ev_read(struct disp_stream *s, char *buf, size_t max, int watch_fd)
{
	struct ev_stream	*ev = (struct ev_stream *)s;
	struct ev_item		*it;
	struct timespec		 ts;
	size_t			 n = 0, k;

	pthread_mutex_lock(&ev->lock);
	while (ev->head == NULL && ev->live > 0) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&ev->cv, &ev->lock, &ts);
		if (ev->head == NULL && client_gone(watch_fd)) {
			pthread_mutex_unlock(&ev->lock);
			return -1;
		}
	}
	while (ev->head != NULL && n < max) {
		it = ev->head;
		k = it->len - ev->head_off;
		if (k > max - n)
			k = max - n;
		memcpy(buf + n, it->data + ev->head_off, k);
		n += k;
		ev->head_off += k;
		if (ev->head_off == it->len) {
			ev->head = it->next;
			if (ev->head == NULL)
				ev->tail = NULL;
			ev->queued -= it->len;
			ev->head_off = 0;
			free(it);
		}
	}
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->lock);
	return (ssize_t)n;
}

static void
ev_free(struct disp_stream *s)
{
	struct ev_stream	*ev = (struct ev_stream *)s;
	struct ev_item		*it, *next;
	size_t			 i;

	pthread_mutex_lock(&ev->lock);
	ev->stop = 1;
	pthread_cond_broadcast(&ev->cv);
	pthread_mutex_unlock(&ev->lock);
	/* Readers blocked on an engine see their watch socket close. */
	shutdown(ev->stop_fds[0], SHUT_RDWR);
	for (i = 0; i < ev->nreaders; i++)
		if (ev->r[i].started)
			pthread_join(ev->r[i].thread, NULL);
	for (it = ev->head; it != NULL; it = next) {
		next = it->next;
		free(it);
	}
	close(ev->stop_fds[0]);
	close(ev->stop_fds[1]);
	pthread_cond_destroy(&ev->cv);
	pthread_mutex_destroy(&ev->lock);
	disp_stream_release(ev->d);
	dm_hdrs_clear(&ev->hdrs);
	free(ev->path);
	free(ev);
}

/*
 * GET /events: since, until and filters go to every backend as sent; the
 * merged stream ends when every backend's part has ended (with until, or
 * when all go away).
 */
void
disp_events(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct ev_stream	*ev;
	size_t			 i;

	ev = xcalloc(1, sizeof(*ev));
	ev->base.read = ev_read;
	ev->base.free = ev_free;
	ev->d = d;
	disp_stream_hold(d);
	dm_hdrs_init(&ev->hdrs);
	for (i = 0; i < fwd->n; i++)
		(void)dm_hdrs_add(&ev->hdrs, fwd->v[i].name, fwd->v[i].value);
	ev->path = xasprintf("%s%s%s", req->path, req->query[0] ? "?" : "",
	    req->query);
	pthread_mutex_init(&ev->lock, NULL);
	pthread_cond_init(&ev->cv, NULL);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    ev->stop_fds) == -1) {
		disp_reply_error(r, DM_EINTERNAL, "cannot stream events");
		ev->stop_fds[0] = ev->stop_fds[1] = -1;
		ev_free(&ev->base);
		return;
	}
	ev->nreaders = d->n;
	for (i = 0; i < d->n; i++) {
		ev->r[i].ev = ev;
		ev->r[i].bi = i;
		pthread_mutex_lock(&ev->lock);
		ev->live++;
		pthread_mutex_unlock(&ev->lock);
		ev->r[i].started = pthread_create(&ev->r[i].thread, NULL,
		    ev_reader_main, &ev->r[i]) == 0;
		if (!ev->r[i].started) {
			pthread_mutex_lock(&ev->lock);
			ev->live--;
			pthread_mutex_unlock(&ev->lock);
		}
	}
	r->status = 200;
	r->kind = DISP_REPLY_STREAM;
	r->length = -1;
	r->stream = &ev->base;
	dm_hdrs_set(&r->hdrs, "Content-Type", "application/json");
}
