/*
 * disp_view.c: views of the configured backends (taken by every call and
 * stream, freed by their last user), and running one function on every
 * backend of a view in parallel.
 */
/*
 * Threads: call workers, the health thread and main take and drop view
 * references (atomic); root->lock guards root->cur.
 */

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"

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
		backend_release(d->b[i].be);
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

/* ---- every backend at once ---- */

/* The backends of one disp_each_backend(): how many are still running. */
struct each_run {
	pthread_mutex_t	 lock;
	pthread_cond_t	 done;
	size_t		 left;
};

struct each_arg {
	struct dm_job	 job;		/* first: the job is the argument */
	struct each_run	*run;
	struct disp	*d;
	size_t		 i;
	void		(*fn)(struct disp *, size_t, void *);
	void		*arg;
};

static void
each_job(struct dm_job *j)
{
	struct each_arg	*a = (struct each_arg *)(void *)j;
	struct each_run	*run = a->run;

	a->fn(a->d, a->i, a->arg);
	pthread_mutex_lock(&run->lock);
	if (--run->left == 0)
		pthread_cond_signal(&run->done);
	pthread_mutex_unlock(&run->lock);
}

/*
 * fn for every backend whose args[i] is not NULL (all, args NULL), as
 * jobs, but the last one, which runs in this thread; or, with here given,
 * every one a job and here(here_arg) in this thread.  Then the wait.
 */
static void
each_run_all(struct disp *d, void (*fn)(struct disp *, size_t, void *),
    void **args, void (*here)(void *), void *here_arg)
{
	struct each_arg	 a[DM_MAX_BACKENDS];
	struct each_run	 run;
	struct dm_work	*wk = d->root->work;
	size_t		 i, n = 0, last = (size_t)-1;

	for (i = 0; i < d->n; i++)
		if (args == NULL || args[i] != NULL) {
			n++;
			last = i;
		}
	if (here != NULL)
		last = (size_t)-1;	/* every one a job */
	else if (n == 0)
		return;
	else
		n--;
	pthread_mutex_init(&run.lock, NULL);
	pthread_cond_init(&run.done, NULL);
	run.left = n;
	for (i = 0; i < d->n; i++) {
		if ((args != NULL && args[i] == NULL) || i == last)
			continue;
		a[i].job.fn = each_job;
		a[i].run = &run;
		a[i].d = d;
		a[i].i = i;
		a[i].fn = fn;
		a[i].arg = args != NULL ? args[i] : NULL;
		if (wk != NULL)
			dm_work_submit(wk, &a[i].job);
		else
			each_job(&a[i].job);
	}
	if (here != NULL)
		here(here_arg);
	else
		fn(d, last, args != NULL ? args[last] : NULL);
	pthread_mutex_lock(&run.lock);
	while (run.left > 0)
		pthread_cond_wait(&run.done, &run.lock);
	pthread_mutex_unlock(&run.lock);
	pthread_cond_destroy(&run.done);
	pthread_mutex_destroy(&run.lock);
}

void
disp_each_backend(struct disp *d, void (*fn)(struct disp *, size_t, void *),
    void **args)
{
	each_run_all(d, fn, args, NULL, NULL);
}

void
disp_each_backend_beside(struct disp *d,
    void (*fn)(struct disp *, size_t, void *), void **args,
    void (*here)(void *), void *here_arg)
{
	each_run_all(d, fn, args, here, here_arg);
}
