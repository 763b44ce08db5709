/*
 * work.h: a pool of worker threads for work that may wait: the front
 * end's calls (so libmicrohttpd's event loop never waits on an engine)
 * and the dispatcher's per-backend fan-outs and probes (so none starts a
 * thread).  The pool grows when every worker is busy, to a cap, and
 * shrinks when idle: its size follows the work in flight, never the
 * streams open.
 */
#ifndef DOCKMUX_LIB_WORK_H
#define DOCKMUX_LIB_WORK_H

#include <stddef.h>

struct dm_work;	/* opaque: the pool */

/* One job: the caller owns it (embedded in its request) until fn runs. */
struct dm_job {
	void		(*fn)(struct dm_job *);
	struct dm_job	*next;
};

/* Owned: dm_work_free().  NULL when no thread can be started. */
struct dm_work	*dm_work_new(size_t max_threads);
/* Run j->fn(j) on a worker, soon; never blocks on the job. */
void		 dm_work_submit(struct dm_work *, struct dm_job *);
/* Workers alive now, and of them running a job. */
size_t		 dm_work_threads(struct dm_work *, size_t *busy);
/* Wait up to ms for every queued and running job to end; 0 or -1. */
int		 dm_work_settle(struct dm_work *, long long ms);
/* Run what is queued, then join every worker. */
void		 dm_work_free(struct dm_work *);

#endif
