/*
 * api_work.h: the worker threads that run the dispatcher's blocking
 * calls, so libmicrohttpd's event loop never waits on an engine.  The
 * pool grows when every worker is busy, to a cap, and shrinks when idle:
 * its size follows the calls in flight, never the streams open.
 */
#ifndef DOCKMUX_API_API_WORK_H
#define DOCKMUX_API_API_WORK_H

#include <stddef.h>

struct api_work;	/* opaque: the pool */

/* One job: the caller owns it (embedded in its request) until fn runs. */
struct api_job {
	void		(*fn)(struct api_job *);
	struct api_job	*next;
};

/* Owned: api_work_free().  NULL when no thread can be started. */
struct api_work	*api_work_new(size_t max_threads);
/* Run j->fn(j) on a worker, soon; never blocks on the job. */
void		 api_work_submit(struct api_work *, struct api_job *);
/* Workers alive now, and of them running a job. */
size_t		 api_work_threads(struct api_work *, size_t *busy);
/* Wait up to ms for every queued and running job to end; 0 or -1. */
int		 api_work_settle(struct api_work *, long long ms);
/* Run what is queued, then join every worker. */
void		 api_work_free(struct api_work *);

#endif
