/*
 * disp_view.c: views of the configured backends (taken by every call and
 * stream, freed by their last user), and running one function on every
 * backend of a view in parallel.
 */
/*
 * Threads: MHD threads, the health thread and main take and drop view
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
	size_t		i, n = 0, last = 0;

	/* A NULL among args: that backend sits this one out. */
	for (i = 0; i < d->n; i++)
		if (args == NULL || args[i] != NULL) {
			n++;
			last = i;
		}
	if (n == 0)
		return;
	/* The last one runs here: n - 1 threads, none for a lone one. */
	for (i = 0; i < d->n; i++) {
		started[i] = 0;
		if ((args != NULL && args[i] == NULL) || i == last)
			continue;
		a[i].d = d;
		a[i].i = i;
		a[i].fn = fn;
		a[i].arg = args != NULL ? args[i] : NULL;
		started[i] = pthread_create(&t[i], NULL, each_main, &a[i]) == 0;
		if (!started[i])
			fn(d, i, a[i].arg);
	}
	fn(d, last, args != NULL ? args[last] : NULL);
	for (i = 0; i < d->n; i++)
		if (started[i])
			pthread_join(t[i], NULL);
}

