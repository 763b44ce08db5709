/*
 * wait.h: what a read that would block waits for, so an event loop can
 * wait for it instead of a thread.
 */
#ifndef DOCKMUX_LIB_WAIT_H
#define DOCKMUX_LIB_WAIT_H

/* A non-blocking read's answer when nothing is there yet. */
#define DM_WOULD_BLOCK	(-2)
/*
 * Its answer when what comes next has to be waited for in a way no
 * socket shows (a connect, a head with its own deadline, a whole other
 * exchange): a worker takes one blocking read() instead.
 */
#define DM_NEEDS_WORKER	(-3)

struct dm_wait {
	int	fd;	/* readable: try again; -1 none */
	long	ms;	/* at most this long, then try again; -1 none */
};

#endif
