/* backend_int.h: what the files of backends/ share, and nobody else. */
#ifndef DOCKMUX_BACKENDS_BACKEND_INT_H
#define DOCKMUX_BACKENDS_BACKEND_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "backend.h"

/*
 * A pooled connection: with the multi interface the connection cache lives
 * in the multi handle, so the pair is what gets reused.
 */
struct pool_ent {
	CURLM		*multi;
	CURL		*easy;
	char		*buf;		/* DM_STREAM_CHUNK: the relay buffer */
	struct pool_ent	*next;
};

struct backend {
	atomic_uint	 refs;		/* the owner's, one per exchange */
	char		*name;
	char		*sock;
	pthread_mutex_t	 lock;		/* guards idle */
	struct pool_ent	*idle;		/* connections ready for reuse */
	size_t		 nidle;
};

extern int	backend_cancel_fd;

/* Another reference on b, dropped with backend_release(). */
void		 backend_hold(struct backend *);

/*
 * backend.c is the bottom of this folder: backend_http.c and
 * backend_hijack.c call into it, never the reverse.
 */
/* An idle connection of b, or a new one.  Owned: pool_put() it back, or
 * pool_ent_free() it when the exchange left it unusable. */
struct pool_ent	*pool_get(struct backend *);
void		 pool_put(struct backend *, struct pool_ent *);	/* takes */
void		 pool_ent_free(struct pool_ent *);
/* 1 when fd (cancel or a watched client) says stop; polls nothing else. */
int		 fd_says_stop(int fd);

#endif
