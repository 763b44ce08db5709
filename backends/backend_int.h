/* backend_int.h: what the files of backends/ share, and nobody else. */
#ifndef DOCKMUX_BACKENDS_BACKEND_INT_H
#define DOCKMUX_BACKENDS_BACKEND_INT_H

#include <pthread.h>

#include "backend.h"

struct pool_ent;

struct backend {
	char		*name;
	char		*sock;
	pthread_mutex_t	 lock;		/* guards idle */
	struct pool_ent	*idle;		/* connections ready for reuse */
	size_t		 nidle;
};

extern int	backend_cancel_fd;

void		pool_drain(struct backend *);
/* 1 when fd (cancel or a watched client) says stop; polls nothing else. */
int		fd_says_stop(int fd);

#endif
