/*
 * main_notify.h: dockmuxd and systemd (sd_notify(3)'s protocol, without
 * libsystemd): READY=1 and the like, STATUS= for `systemctl status`,
 * WATCHDOG=1 for WatchdogSec=.  main's floor: it reads the dispatcher.
 */
#ifndef DOCKMUX_DAEMON_MAIN_NOTIFY_H
#define DOCKMUX_DAEMON_MAIN_NOTIFY_H

#include <sys/types.h>

struct dispatcher;

/*
 * One datagram of text ("STOPPING=1") to $NOTIFY_SOCKET, if set and
 * until notify_hand_over().  Any thread.
 */
void	notify_send(const char *text);

/*
 * "READY=1" and, in the same datagram, "STATUS=2/2 backends up, 37
 * routes": at start and at the end of a reload.  Main thread.
 */
void	notify_ready(struct dispatcher *);

/*
 * Under systemd ($NOTIFY_SOCKET set), a thread that sends STATUS= when
 * the summary changes (a backend goes down or up, routes come and go),
 * and, with $WATCHDOG_USEC set for this process, WATCHDOG=1 every half
 * interval while the dispatcher's health thread still goes round.  A
 * successor (a USR2 upgrade started us) takes the watchdog of its
 * parent, whose main process it has just become.  Call after
 * disp_start(); notify_stop() before disp_free().  0, or -1 when the
 * thread cannot start (dockmuxd runs on without it).
 */
int	notify_start(struct dispatcher *, int successor);
void	notify_stop(void);

/*
 * A USR2 upgrade's new process serves: the notifier stopped, systemd told
 * that successor is the main process now (MAINPID=), and nothing sent
 * any more, so that systemd hears only the new process.
 */
void	notify_hand_over(pid_t successor);

#endif
