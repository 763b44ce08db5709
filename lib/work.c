/*
 * work.c: the worker pool (work.h).  Jobs are intrusive (the
 * caller's struct dm_job), so a submit allocates nothing.  A worker idle
 * for DM_WORKER_IDLE_MS leaves, down to DM_WORKERS_MIN; one that
 * left is joined by the next submit or by dm_work_free().
 */

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/work.h"

struct worker {
	pthread_t	 tid;
	struct worker	*next;
};

struct dm_work {
	pthread_mutex_t	 lock;
	pthread_cond_t	 more;		/* a job came, or stopping */
	pthread_cond_t	 quiet;		/* a job ended, or a worker left */
	pthread_cond_t	 starved;	/* a worker is owed, not yet started */
	pthread_t	 pacer;		/* starts the workers owed */
	int		 has_pacer;
	struct dm_job	*head, *tail;	/* queued */
	size_t		 queued;
	size_t		 nthreads;
	size_t		 nidle;		/* waiting on more */
	size_t		 running;	/* jobs in fn now */
	size_t		 max;
	long long	 spawned_ms;	/* the last worker started */
	int		 stopping;
	struct worker	*gone;		/* left, to be joined */
	struct worker	*live;
};

static void
deadline_in(struct timespec *ts, long long ms)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec += ms / 1000;
	ts->tv_nsec += (ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

/* Move w from live to gone; the lock is held. */
static void
leave(struct dm_work *wk, pthread_t self)
{
	struct worker	**pp, *w;

	for (pp = &wk->live; (w = *pp) != NULL; pp = &w->next)
		if (pthread_equal(w->tid, self)) {
			*pp = w->next;
			w->next = wk->gone;
			wk->gone = w;
			break;
		}
	wk->nthreads--;
	pthread_cond_broadcast(&wk->quiet);
}

static void *
worker_main(void *arg)
{
	struct dm_work	*wk = arg;
	struct dm_job	*j;
	struct timespec	 until;
	int		 rc;

	pthread_mutex_lock(&wk->lock);
	for (;;) {
		while (wk->head == NULL && !wk->stopping) {
			deadline_in(&until, DM_WORKER_IDLE_MS);
			wk->nidle++;
			rc = pthread_cond_timedwait(&wk->more, &wk->lock,
			    &until);
			wk->nidle--;
			if (rc == ETIMEDOUT && wk->head == NULL &&
			    wk->nthreads > DM_WORKERS_MIN)
				goto out;
		}
		if ((j = wk->head) == NULL)
			break;	/* stopping, nothing queued */
		wk->head = j->next;
		if (wk->head == NULL)
			wk->tail = NULL;
		wk->queued--;
		wk->running++;
		pthread_mutex_unlock(&wk->lock);
		j->next = NULL;
		j->fn(j);
		pthread_mutex_lock(&wk->lock);
		wk->running--;
		pthread_cond_broadcast(&wk->quiet);
	}
out:
	leave(wk, pthread_self());
	pthread_mutex_unlock(&wk->lock);
	return NULL;
}

/* Start one worker; the lock is held.  0 or -1. */
static int
spawn(struct dm_work *wk)
{
	struct worker	*w;

	w = xcalloc(1, sizeof(*w));
	if (dm_thread_start(&w->tid, worker_main, wk) != 0) {
		free(w);
		return -1;
	}
	w->next = wk->live;
	wk->live = w;
	wk->nthreads++;
	wk->spawned_ms = dm_mono_ms();
	return 0;
}

/* More queued than idle workers to take them, and room for one more. */
static int
wants_worker(const struct dm_work *wk)
{
	return wk->queued > wk->nidle && wk->nthreads < wk->max;
}

/*
 * Past DM_WORKERS_EAGER workers, the next one is due DM_WORKER_SPAWN_MS
 * after the last for every DM_WORKERS_EAGER there are (5 ms at 16, 20 ms
 * at 64): a burst of quick calls is served by the workers there are,
 * while calls that hold theirs (stops, relays) still get more.
 */
static int
spawn_due(const struct dm_work *wk)
{
	long long	gap;

	if (wk->nthreads < DM_WORKERS_EAGER)
		return 1;
	gap = (long long)DM_WORKER_SPAWN_MS * (long long)wk->nthreads /
	    DM_WORKERS_EAGER;
	return dm_mono_ms() - wk->spawned_ms >= gap;
}

/*
 * A worker owed by spawn_due() is started here once it is due, so
 * queued jobs never wait for the next submit (every worker may be held).
 */
static void *
pacer_main(void *arg)
{
	struct dm_work	*wk = arg;
	struct timespec	 nap = { 0, DM_WORKER_SPAWN_MS * 1000000L };

	pthread_mutex_lock(&wk->lock);
	while (!wk->stopping) {
		if (!wants_worker(wk)) {
			pthread_cond_wait(&wk->starved, &wk->lock);
			continue;
		}
		pthread_mutex_unlock(&wk->lock);
		nanosleep(&nap, NULL);
		pthread_mutex_lock(&wk->lock);
		if (!wk->stopping && wants_worker(wk) && spawn_due(wk))
			(void)spawn(wk);
	}
	pthread_mutex_unlock(&wk->lock);
	return NULL;
}

/* Join the workers that left, taken off the list under the lock. */
static void
reap(struct worker *w)
{
	struct worker	*next;

	for (; w != NULL; w = next) {
		next = w->next;
		pthread_join(w->tid, NULL);
		free(w);
	}
}

struct dm_work *
dm_work_new(size_t max_threads)
{
	struct dm_work	*wk;
	size_t		 i;

	wk = xcalloc(1, sizeof(*wk));
	pthread_mutex_init(&wk->lock, NULL);
	pthread_cond_init(&wk->more, NULL);
	pthread_cond_init(&wk->quiet, NULL);
	pthread_cond_init(&wk->starved, NULL);
	wk->max = max_threads > DM_WORKERS_MIN ? max_threads :
	    DM_WORKERS_MIN;
	pthread_mutex_lock(&wk->lock);
	for (i = 0; i < DM_WORKERS_MIN; i++)
		if (spawn(wk) == -1)
			break;
	pthread_mutex_unlock(&wk->lock);
	if (i > 0)
		wk->has_pacer = dm_thread_start(&wk->pacer, pacer_main,
		    wk) == 0;
	if (i == 0 || !wk->has_pacer) {
		dm_work_free(wk);
		return NULL;
	}
	return wk;
}

void
dm_work_submit(struct dm_work *wk, struct dm_job *j)
{
	struct worker	*gone;

	j->next = NULL;
	pthread_mutex_lock(&wk->lock);
	if (wk->tail != NULL)
		wk->tail->next = j;
	else
		wk->head = j;
	wk->tail = j;
	wk->queued++;
	/*
	 * More queued than idle workers to take them: one more worker, at
	 * once up to DM_WORKERS_EAGER, then one per DM_WORKER_SPAWN_MS.  A
	 * burst of quick calls (a thousand logs -f heads) is served by the
	 * workers there are; calls that hold theirs still get more soon.
	 */
	if (wants_worker(wk)) {
		if (!spawn_due(wk))
			pthread_cond_signal(&wk->starved);	/* owed */
		else if (spawn(wk) == -1)
			log_warnx("msg=\"cannot start a worker\" "
			    "workers=%zu", wk->nthreads);
	}
	pthread_cond_signal(&wk->more);
	gone = wk->gone;
	wk->gone = NULL;
	pthread_mutex_unlock(&wk->lock);
	reap(gone);
}

size_t
dm_work_threads(struct dm_work *wk, size_t *busy)
{
	size_t	n;

	pthread_mutex_lock(&wk->lock);
	n = wk->nthreads;
	if (busy != NULL)
		*busy = wk->running;
	pthread_mutex_unlock(&wk->lock);
	return n;
}

int
dm_work_settle(struct dm_work *wk, long long ms)
{
	struct timespec	until;
	int		rc = 0;

	deadline_in(&until, ms);
	pthread_mutex_lock(&wk->lock);
	while ((wk->queued > 0 || wk->running > 0) && rc != ETIMEDOUT)
		rc = pthread_cond_timedwait(&wk->quiet, &wk->lock, &until);
	rc = wk->queued > 0 || wk->running > 0 ? -1 : 0;
	pthread_mutex_unlock(&wk->lock);
	return rc;
}

void
dm_work_free(struct dm_work *wk)
{
	struct worker	*gone;

	if (wk == NULL)
		return;
	pthread_mutex_lock(&wk->lock);
	wk->stopping = 1;
	pthread_cond_broadcast(&wk->more);
	pthread_cond_broadcast(&wk->starved);
	pthread_mutex_unlock(&wk->lock);
	if (wk->has_pacer)
		pthread_join(wk->pacer, NULL);
	pthread_mutex_lock(&wk->lock);
	while (wk->nthreads > 0)
		pthread_cond_wait(&wk->quiet, &wk->lock);
	gone = wk->gone;
	wk->gone = NULL;
	pthread_mutex_unlock(&wk->lock);
	reap(gone);
	pthread_cond_destroy(&wk->starved);
	pthread_cond_destroy(&wk->quiet);
	pthread_cond_destroy(&wk->more);
	pthread_mutex_destroy(&wk->lock);
	free(wk);
}
