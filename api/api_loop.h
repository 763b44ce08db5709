/*
 * api_loop.h: one thread and one epoll set where every stream that has
 * nothing to send waits for its engine, instead of a thread per stream.
 * A waiter is armed once; it fires once, from the loop's thread.  A
 * source (libmicrohttpd's own epoll set) stays in the set and is run by
 * the same thread whenever it is ready.
 */
#ifndef DOCKMUX_API_API_LOOP_H
#define DOCKMUX_API_API_LOOP_H

#include "lib/dmerr.h"

struct api_loop;	/* opaque */

enum api_wake {
	API_WAKE_READY = 0,	/* the engine's socket, or the time came */
	API_WAKE_CLIENT_DATA,	/* the client sent bytes: stop watching it */
	API_WAKE_CLIENT_GONE,	/* the client closed its end */
	API_WAKE_CANCEL		/* the loop is stopping */
};

struct api_waiter_tag {
	struct api_waiter	*w;
	int			 client;
};

/* Embedded in its owner, which must outlive the wake. */
struct api_waiter {
	/* the owner's, set before api_loop_watch() */
	void		(*wake)(struct api_waiter *, enum api_wake);
	int		 fd;		/* readable: wake; -1 none */
	int		 client_fd;	/* closed by the peer: wake; -1 none */
	long long	 deadline;	/* monotonic ms: wake; 0 none */
	/*
	 * A relay's own: epoll events to wait for on fd and on client_fd
	 * instead (0: the above); a client_fd so watched wakes READY, and
	 * one that cannot be watched fails api_loop_watch().
	 */
	unsigned	 fd_events;
	unsigned	 client_events;

	/* the loop's */
	struct api_waiter_tag	 tag[2];
	struct api_waiter	*prev, *next;
	int			 armed;
};

/*
 * A source: a pollable fd that stays in the set (level-triggered), and
 * what the loop's thread runs when it is readable, when its timeout has
 * passed, and after api_loop_kick() in an iteration.  Embedded in its
 * owner, which must outlive the loop's thread (api_loop_stop()).
 */
struct api_loop_src {
	int	  fd;
	void	(*run)(void *arg);
	long	(*timeout)(void *arg);	/* ms until run is due; -1 none */
	void	 *arg;
	/* the loop's */
	int	  due;
	long long at;		/* when its timeout comes; 0 none */
};

/* Owned: api_loop_free().  NULL with err. */
struct api_loop	*api_loop_new(struct dm_err *);
/* Arm w (not armed); any thread.  -1 (not armed) when fd cannot be added. */
int		 api_loop_watch(struct api_loop *, struct api_waiter *);
/* Add a source (at most DM_MAX_LISTEN); any thread.  0 or -1. */
int		 api_loop_source(struct api_loop *, struct api_loop_src *);
/*
 * Run the sources once more before the next wait (a connection was
 * resumed: libmicrohttpd, run from outside, is not woken by it).  Any
 * thread; from another, kicks that come together wake the loop once.
 */
void		 api_loop_kick(struct api_loop *);
/* Waiters armed now. */
size_t		 api_loop_count(struct api_loop *);
/*
 * Stop the thread; every armed waiter wakes with API_WAKE_CANCEL, and
 * api_loop_watch() refuses from here on.
 */
void		 api_loop_stop(struct api_loop *);
/* Stop, then free. */
void		 api_loop_free(struct api_loop *);

#endif
