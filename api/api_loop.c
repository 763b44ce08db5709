/*
 * api_loop.c: the stream loop (api_loop.h).  Each armed waiter has its
 * engine socket, and its client's socket while that is watched, in the
 * epoll set, one-shot; the first to fire disarms both and wakes the
 * owner.  Deadlines are few (curl timers on TLS streams, quick calls'
 * rechecks): a list scan finds the next one only while some waiter has
 * one.  Sources stay in the set; each iteration runs the ones that are
 * ready, due, or kicked by a wake, after the wakes.
 */

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "api/api_loop.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

struct api_loop {
	int			 ep;
	int			 evfd;		/* wakes the thread */
	pthread_t		 thread;
	int			 started;
	pthread_mutex_t		 lock;		/* guards the list, armed */
	struct api_waiter	*head;		/* armed waiters */
	size_t			 n;
	size_t			 ndeadline;	/* of them with a deadline */
	long long		 wake_at;	/* when the thread's wait ends
						   (monotonic ms); 0 never */
	int			 stopping;
	struct api_loop_src	*src[DM_MAX_LISTEN];	/* borrowed */
	size_t			 nsrc;
	int			 kicked;	/* the thread's own */
	atomic_int		 kicked_from;	/* by another thread */
};

/* The loop whose thread this is (NULL on every other thread). */
static _Thread_local struct api_loop *loop_self;

/* Take w out of the set and the list; the lock is held. */
static void
disarm(struct api_loop *l, struct api_waiter *w)
{
	if (w->fd != -1)
		(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd, NULL);
	if (w->client_fd != -1)
		(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, w->client_fd, NULL);
	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		l->head = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
	w->prev = w->next = NULL;
	if (w->deadline != 0)
		l->ndeadline--;
	l->n--;
	w->armed = 0;
}

/* ms until the nearest deadline, -1 none; the lock is held. */
static int
next_timeout(struct api_loop *l, long long now)
{
	struct api_waiter	*w;
	long long		 best = -1;

	if (l->ndeadline == 0)
		return -1;
	for (w = l->head; w != NULL; w = w->next)
		if (w->deadline != 0 && (best == -1 || w->deadline < best))
			best = w->deadline;
	if (best == -1)
		return -1;
	return best <= now ? 0 : (int)(best - now);
}

/* Wake every waiter whose deadline passed. */
static void
expire(struct api_loop *l)
{
	struct api_waiter	*w, *next, *due = NULL;
	long long		 now = dm_mono_ms();

	pthread_mutex_lock(&l->lock);
	if (l->ndeadline > 0)
		for (w = l->head; w != NULL; w = next) {
			next = w->next;
			if (w->deadline == 0 || w->deadline > now)
				continue;
			disarm(l, w);
			w->next = due;
			due = w;
		}
	pthread_mutex_unlock(&l->lock);
	for (w = due; w != NULL; w = next) {
		next = w->next;
		w->next = NULL;
		w->wake(w, API_WAKE_READY);
	}
}

/*
 * 1 when an event's tag is a source's (its slot in l->src); the source,
 * when it is in the thread's copy (a new one is run anyway).
 */
static int
source_of(const struct api_loop *l, struct api_loop_src *const *src,
    size_t nsrc, const void *ptr, struct api_loop_src **out)
{
	size_t	i;

	*out = NULL;
	if ((const char *)ptr < (const char *)l->src ||
	    (const char *)ptr >= (const char *)(l->src + DM_MAX_LISTEN))
		return 0;
	for (i = 0; i < nsrc; i++)
		if (&l->src[i] == ptr)
			*out = src[i];
	return 1;
}

/*
 * ms until the first source is due, -1 none (0 when kicked); each
 * source's time noted.  The loop's thread, without the lock.
 */
static long
sources_timeout(struct api_loop *l, struct api_loop_src *const *src,
    size_t nsrc, long long now)
{
	long	best = l->kicked ? 0 : -1, t;
	size_t	i;

	for (i = 0; i < nsrc; i++) {
		t = src[i]->timeout(src[i]->arg);
		src[i]->at = t >= 0 ? now + t : 0;
		if (t >= 0 && (best == -1 || t < best))
			best = t;
	}
	return best;
}

/* Every source that is ready, due or kicked, once. */
static void
sources_run(struct api_loop *l, struct api_loop_src *const *src, size_t nsrc)
{
	long long	now = dm_mono_ms();
	int		kicked = l->kicked;
	size_t		i;

	l->kicked = 0;	/* a kick from a run is for the next iteration */
	for (i = 0; i < nsrc; i++)
		if (src[i]->due || kicked || (src[i]->at != 0 &&
		    src[i]->at <= now)) {
			src[i]->due = 0;
			src[i]->run(src[i]->arg);
		}
}

static void *
loop_main(void *arg)
{
	struct api_loop		*l = arg;
	struct epoll_event	 ev[64];
	struct api_loop_src	*src[DM_MAX_LISTEN], *s;
	struct api_waiter_tag	*t;
	struct api_waiter	*w;
	enum api_wake		 why;
	uint64_t		 v;
	long long		 now;
	size_t			 nsrc, seen = 0;
	long			 st;
	int			 i, n, timeout;

	loop_self = l;
	for (;;) {
		pthread_mutex_lock(&l->lock);
		nsrc = l->nsrc;
		memcpy(src, l->src, nsrc * sizeof(src[0]));
		pthread_mutex_unlock(&l->lock);
		if (nsrc != seen) {
			/* libmicrohttpd adds its listening socket in a run */
			l->kicked = 1;
			seen = nsrc;
		}
		now = dm_mono_ms();
		st = sources_timeout(l, src, nsrc, now);
		pthread_mutex_lock(&l->lock);
		if (l->stopping) {
			pthread_mutex_unlock(&l->lock);
			break;
		}
		timeout = next_timeout(l, now);
		if (st >= 0 && (timeout < 0 || st < timeout))
			timeout = st > INT_MAX ? INT_MAX : (int)st;
		l->wake_at = timeout < 0 ? 0 : now + timeout;
		pthread_mutex_unlock(&l->lock);
		n = epoll_wait(l->ep, ev, (int)(sizeof(ev) / sizeof(ev[0])),
		    timeout);
		if (n == -1 && errno != EINTR) {
			log_warnx("msg=\"stream loop\" error=%s",
			    log_q(strerror(errno)));
			(void)poll(NULL, 0, DM_POLL_SLICE_MS);
			continue;
		}
		for (i = 0; i < n; i++) {
			if (ev[i].data.ptr == NULL) {
				(void)!read(l->evfd, &v, sizeof(v));
				if (atomic_exchange(&l->kicked_from, 0))
					l->kicked = 1;
				continue;
			}
			if (source_of(l, src, nsrc, ev[i].data.ptr, &s)) {
				if (s != NULL)
					s->due = 1;
				continue;
			}
			t = ev[i].data.ptr;
			w = t->w;
			pthread_mutex_lock(&l->lock);
			if (!w->armed) {	/* its other fd fired first */
				pthread_mutex_unlock(&l->lock);
				continue;
			}
			why = !t->client || w->client_events != 0 ?
			    API_WAKE_READY : dm_peer_gone(w->client_fd) ?
			    API_WAKE_CLIENT_GONE : API_WAKE_CLIENT_DATA;
			disarm(l, w);
			pthread_mutex_unlock(&l->lock);
			w->wake(w, why);
		}
		expire(l);
		sources_run(l, src, nsrc);
	}
	loop_self = NULL;
	return NULL;
}

struct api_loop *
api_loop_new(struct dm_err *err)
{
	struct api_loop		*l;
	struct epoll_event	 ev;
	int			 rc;

	l = xcalloc(1, sizeof(*l));
	l->ep = l->evfd = -1;
	pthread_mutex_init(&l->lock, NULL);
	l->ep = epoll_create1(EPOLL_CLOEXEC);
	l->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (l->ep == -1 || l->evfd == -1)
		goto fail;
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->evfd, &ev) == -1)
		goto fail;
	if ((rc = dm_thread_start(&l->thread, loop_main, l)) != 0) {
		errno = rc;	/* for the message below */
		goto fail;
	}
	l->started = 1;
	return l;
fail:
	dm_err_set(err, DM_EINTERNAL, "cannot start the stream loop: %s",
	    strerror(errno));
	api_loop_free(l);
	return NULL;
}

static int
add(struct api_loop *l, int fd, unsigned events, struct api_waiter_tag *t)
{
	struct epoll_event	ev;

	ev.events = (events != 0 ? events : EPOLLIN | EPOLLRDHUP) |
	    EPOLLONESHOT;
	ev.data.ptr = t;
	return epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
}

int
api_loop_watch(struct api_loop *l, struct api_waiter *w)
{
	uint64_t	one = 1;

	w->tag[0].w = w;
	w->tag[0].client = 0;
	w->tag[1].w = w;
	w->tag[1].client = 1;
	pthread_mutex_lock(&l->lock);
	if (l->stopping) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	if (w->fd != -1 && add(l, w->fd, w->fd_events, &w->tag[0]) == -1) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	/*
	 * A client socket that cannot be watched is only not watched,
	 * unless a relay waits on it.
	 */
	if (w->client_fd != -1 && add(l, w->client_fd, w->client_events,
	    &w->tag[1]) == -1) {
		if (w->client_events != 0) {
			if (w->fd != -1)
				(void)epoll_ctl(l->ep, EPOLL_CTL_DEL, w->fd,
				    NULL);
			pthread_mutex_unlock(&l->lock);
			return -1;
		}
		w->client_fd = -1;
	}
	w->armed = 1;
	w->prev = NULL;
	w->next = l->head;
	if (l->head != NULL)
		l->head->prev = w;
	l->head = w;
	l->n++;
	if (w->deadline != 0) {
		l->ndeadline++;
		/*
		 * Woken only when it would otherwise wait past this one;
		 * the loop's own thread looks again before it waits.
		 */
		if (loop_self != l && (l->wake_at == 0 ||
		    w->deadline < l->wake_at)) {
			l->wake_at = w->deadline;
			pthread_mutex_unlock(&l->lock);
			(void)!write(l->evfd, &one, sizeof(one));
			return 0;
		}
	}
	pthread_mutex_unlock(&l->lock);
	return 0;
}

int
api_loop_source(struct api_loop *l, struct api_loop_src *src)
{
	struct epoll_event	ev;
	uint64_t		one = 1;

	pthread_mutex_lock(&l->lock);
	if (l->stopping || l->nsrc == DM_MAX_LISTEN) {
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	ev.events = EPOLLIN;
	ev.data.ptr = &l->src[l->nsrc];	/* the tag: the slot */
	l->src[l->nsrc] = src;
	if (epoll_ctl(l->ep, EPOLL_CTL_ADD, src->fd, &ev) == -1) {
		l->src[l->nsrc] = NULL;
		pthread_mutex_unlock(&l->lock);
		return -1;
	}
	l->nsrc++;
	pthread_mutex_unlock(&l->lock);
	/* The thread runs a new source once before it waits again. */
	if (loop_self != l)
		(void)!write(l->evfd, &one, sizeof(one));
	return 0;
}

void
api_loop_kick(struct api_loop *l)
{
	uint64_t	one = 1;

	if (loop_self == l)
		l->kicked = 1;
	else if (atomic_exchange(&l->kicked_from, 1) == 0)
		(void)!write(l->evfd, &one, sizeof(one));
}

size_t
api_loop_count(struct api_loop *l)
{
	size_t	n;

	pthread_mutex_lock(&l->lock);
	n = l->n;
	pthread_mutex_unlock(&l->lock);
	return n;
}

void
api_loop_stop(struct api_loop *l)
{
	struct api_waiter	*w;
	uint64_t		 one = 1;

	pthread_mutex_lock(&l->lock);
	l->stopping = 1;
	pthread_mutex_unlock(&l->lock);
	if (l->started) {
		(void)!write(l->evfd, &one, sizeof(one));
		pthread_join(l->thread, NULL);
		l->started = 0;
	}
	for (;;) {
		pthread_mutex_lock(&l->lock);
		if ((w = l->head) != NULL)
			disarm(l, w);
		pthread_mutex_unlock(&l->lock);
		if (w == NULL)
			break;
		w->wake(w, API_WAKE_CANCEL);
	}
}

void
api_loop_free(struct api_loop *l)
{
	if (l == NULL)
		return;
	api_loop_stop(l);
	if (l->evfd != -1)
		close(l->evfd);
	if (l->ep != -1)
		close(l->ep);
	pthread_mutex_destroy(&l->lock);
	free(l);
}
