/*
 * main_notify.c: systemd's notify protocol for dockmuxd (sd_notify(3),
 * without libsystemd): READY=1 and STATUS= from main, and a notifier
 * thread for STATUS= changes and WATCHDOG=1 pings.
 */
/*
 * Threads: notify_send() from any thread.  main starts and stops the
 * notifier; nt.lock guards nt.status and nt.stopping between the two.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daemon/disp.h"
#include "daemon/main_notify.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

static struct {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;		/* CLOCK_MONOTONIC */
	pthread_t		 thread;
	int			 running;
	int			 stopping;
	struct dispatcher	*disp;		/* borrowed */
	long long		 watchdog_ms;	/* 0: no watchdog */
	char			 status[384];	/* the last STATUS= sent */
	atomic_int		 silent;	/* another process serves */
} nt = { .lock = PTHREAD_MUTEX_INITIALIZER };

void
notify_send(const char *text)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	int			 fd, len;

	/* "@name" is an abstract socket; dm_sun_path() knows the form. */
	if (atomic_load(&nt.silent) || path == NULL ||
	    (len = dm_sun_path(&sun, path)) == -1)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	(void)sendto(fd, text, strlen(text), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, (socklen_t)len);
	close(fd);
}

/* "2/2 backends up, 37 routes", and which are down. */
static void
status_text(const struct disp_summary *s, char *buf, size_t len)
{
	snprintf(buf, len, "%zu/%zu backends up, %zu route%s%s%s", s->nup,
	    s->nbackends, s->nroutes, s->nroutes == 1 ? "" : "s",
	    s->down[0] != '\0' ? "; down: " : "", s->down);
}

void
notify_ready(struct dispatcher *disp)
{
	struct disp_summary	s;
	char			text[sizeof(nt.status)], msg[sizeof(text) + 32];

	if (getenv("NOTIFY_SOCKET") == NULL)
		return;
	disp_summary(disp, &s);
	status_text(&s, text, sizeof(text));
	snprintf(msg, sizeof(msg), "READY=1\nSTATUS=%s", text);
	pthread_mutex_lock(&nt.lock);
	snprintf(nt.status, sizeof(nt.status), "%s", text);
	pthread_mutex_unlock(&nt.lock);
	notify_send(msg);
}

/*
 * The watchdog interval systemd asks of this process, as
 * sd_watchdog_enabled(3) reads it: $WATCHDOG_USEC, for us when
 * $WATCHDOG_PID is unset or our pid, or, for a successor, our parent's
 * (the old process that named us MAINPID; the environment is its).
 * Milliseconds, 0 when none.
 */
static long long
watchdog_ms(int successor)
{
	const char	*usec = getenv("WATCHDOG_USEC");
	const char	*pid = getenv("WATCHDOG_PID");
	char		*end;
	long long	 us, p;

	if (usec == NULL)
		return 0;
	errno = 0;
	us = strtoll(usec, &end, 10);
	if (errno != 0 || end == usec || *end != '\0' || us <= 0)
		return 0;
	if (pid != NULL) {
		p = strtoll(pid, &end, 10);
		if (end == pid || *end != '\0' || (p != (long long)getpid() &&
		    !(successor && p == (long long)getppid())))
			return 0;
	}
	return us < 1000 ? 1 : us / 1000;
}

/* Sleep until when (CLOCK_MONOTONIC ms) or notify_stop(); 1 if stopping. */
static int
wait_until(long long when)
{
	struct timespec	ts;
	int		stop;

	ts.tv_sec = when / 1000;
	ts.tv_nsec = (when % 1000) * 1000000L;
	pthread_mutex_lock(&nt.lock);
	while (!nt.stopping && dm_mono_ms() < when)
		if (pthread_cond_timedwait(&nt.wake, &nt.lock, &ts) ==
		    ETIMEDOUT)
			break;
	stop = nt.stopping;
	pthread_mutex_unlock(&nt.lock);
	return stop;
}

/*
 * STATUS= when the text changes, checked every DM_NOTIFY_POLL_MS;
 * WATCHDOG=1 every half interval, as sd_watchdog_enabled(3) advises,
 * but only while the health thread went round within the interval: a
 * dispatcher that hangs (a wedged lock, a stuck store, which also stops
 * disp_summary() itself) stops the pings, and systemd restarts dockmuxd.
 */
static void *
notifier_main(void *arg)
{
	struct disp_summary	 s;
	char			 text[sizeof(nt.status)];
	char			 msg[sizeof(text) + 16];
	long long		 now, next_status, next_ping, next;
	int			 stalled = 0, changed;

	(void)arg;
	next_status = next_ping = dm_mono_ms();
	for (;;) {
		disp_summary(nt.disp, &s);
		now = dm_mono_ms();
		if (now >= next_status) {
			status_text(&s, text, sizeof(text));
			pthread_mutex_lock(&nt.lock);
			changed = strcmp(text, nt.status) != 0;
			if (changed)
				snprintf(nt.status, sizeof(nt.status), "%s",
				    text);
			pthread_mutex_unlock(&nt.lock);
			if (changed) {
				snprintf(msg, sizeof(msg), "STATUS=%s", text);
				notify_send(msg);
			}
			next_status = now + DM_NOTIFY_POLL_MS;
		}
		if (nt.watchdog_ms > 0 && now >= next_ping) {
			if (s.health_age_ms >= 0 &&
			    s.health_age_ms < nt.watchdog_ms) {
				if (stalled)
					log_info("msg=\"watchdog: health "
					    "probes go round again\"");
				stalled = 0;
				notify_send("WATCHDOG=1");
			} else if (!stalled) {
				stalled = 1;
				log_warnx("msg=\"watchdog: health probes "
				    "stalled, systemd not pinged\" "
				    "stalled_ms=%lld", s.health_age_ms);
			}
			next_ping = now + (nt.watchdog_ms + 1) / 2;
		}
		next = next_status;
		if (nt.watchdog_ms > 0 && next_ping < next)
			next = next_ping;
		if (wait_until(next))
			break;
	}
	return NULL;
}

int
notify_start(struct dispatcher *disp, int successor)
{
	pthread_condattr_t	attr;

	if (getenv("NOTIFY_SOCKET") == NULL)
		return 0;
	nt.disp = disp;
	nt.stopping = 0;
	nt.watchdog_ms = watchdog_ms(successor);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&nt.wake, &attr);
	pthread_condattr_destroy(&attr);
	if (pthread_create(&nt.thread, NULL, notifier_main, NULL) != 0) {
		pthread_cond_destroy(&nt.wake);
		return -1;
	}
	nt.running = 1;
	if (nt.watchdog_ms > 0)
		log_info("msg=\"watchdog\" interval_ms=%lld ping_ms=%lld",
		    nt.watchdog_ms, nt.watchdog_ms / 2);
	return 0;
}

void
notify_stop(void)
{
	if (!nt.running)
		return;
	pthread_mutex_lock(&nt.lock);
	nt.stopping = 1;
	pthread_cond_broadcast(&nt.wake);
	pthread_mutex_unlock(&nt.lock);
	pthread_join(nt.thread, NULL);
	pthread_cond_destroy(&nt.wake);
	nt.running = 0;
}

void
notify_hand_over(pid_t successor)
{
	char	msg[64];

	notify_stop();
	snprintf(msg, sizeof(msg), "MAINPID=%ld", (long)successor);
	notify_send(msg);
	atomic_store(&nt.silent, 1);
}
