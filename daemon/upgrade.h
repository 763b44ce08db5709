/*
 * upgrade.h: restarts that keep streams (USR2): the binary started anew
 * with the listening sockets, and the word between the two processes.
 */
#ifndef DOCKMUX_DAEMON_UPGRADE_H
#define DOCKMUX_DAEMON_UPGRADE_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/dmerr.h"

/* Where an upgrade this process started stands. */
enum upgrade_state {
	UPGRADE_NONE = 0,	/* none under way */
	UPGRADE_STARTING,	/* the new process is starting */
	UPGRADE_READY,		/* it serves: hand over, then confirm */
	UPGRADE_FAILED		/* it did not start (logged); none again */
};

/*
 * First thing in main: remember the binary and argv (borrowed: argv must
 * live as long as the process) and, in a process an upgrade started,
 * take the handshake socket (DOCKMUX_UPGRADE_FD, removed from the
 * environment).
 */
void		 upgrade_init(int argc, char *argv[]);
/* Free what upgrade_init and upgrade_start keep. */
void		 upgrade_free(void);

/* ---- the old process ---- */

/*
 * Start the binary anew with the same argv and environment, the n
 * listening fds passed as systemd passes them (LISTEN_FDS from fd 3 on,
 * LISTEN_PID the new pid, LISTEN_FDNAMES fdnames) and the handshake
 * socket after them.  0 (STARTING), or -1 with err and nothing started.
 */
int		 upgrade_start(const int *fds, size_t n, const char *fdnames,
		    struct dm_err *);
/*
 * Look at a start under way without blocking: STARTING while it starts,
 * READY once the new process serves, FAILED when it exited, closed the
 * handshake or took longer than DM_UPGRADE_READY_MS (then it is killed);
 * the failure is logged and the next call says NONE.
 */
enum upgrade_state upgrade_check(void);
/* The new process's pid (0: none started). */
pid_t		 upgrade_successor(void);
/* After READY and the handover: tell the new process it serves alone. */
void		 upgrade_confirm(void);
/* A start under way is given up (SIGTERM meanwhile): the child killed. */
void		 upgrade_abort(void);
/* Reap the new process if it has exited (it may die before we do). */
void		 upgrade_reap(void);

/* ---- the new process ---- */

/* 1 when an upgrade started this process. */
int		 upgrade_is_successor(void);
/*
 * Tell the old process that we serve, and wait (a few seconds at most)
 * for its word that it has let the sockets go.  1 when it said so, 0 when
 * it did not answer.
 */
int		 upgrade_tell_ready(void);

#endif
