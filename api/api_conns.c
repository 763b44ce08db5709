/*
 * api_conns.c: the client connections: who each peer is (SO_PEERCRED),
 * the daemon-wide and per-uid limits, and the idle timeout.  A reaper
 * thread closes connections that have waited too long for a request head
 * (idle keep-alive, or a head dribbled in byte by byte).
 */
/*
 * Threads: api_conn_open and api_conn_closed run on MHD's threads, the
 * state calls on a connection's own thread, the reaper on its own; one
 * mutex guards the list and the counts.  A connection is shut down
 * (never closed) by the reaper, under the mutex, and MHD reports its
 * close (api_conn_closed, which takes the mutex) before it closes the
 * fd: the fd the reaper touches is always still this connection's.
 */

#include <sys/socket.h>

#include <netdb.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "api/api_conns.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/* One peer's connections: a uid, or a remote address over TCP. */
struct peer_count {
	char		key[64];
	int		n;
	long long	logged_ms;	/* last refusal logged */
};

struct api_conns {
	pthread_mutex_t		 lock;
	pthread_cond_t		 wake;
	struct api_conn		*head;		/* every open connection */
	int			 total;		/* counted ones */
	struct peer_count	*peers;		/* owned, npeers of them */
	size_t			 npeers;
	size_t			 peers_cap;
	int			 max;
	int			 per_peer;
	int			 idle_ms;	/* 0: no idle timeout */
	int			 drain_ms;	/* handed over: waiting longer
						 * than this closes; 0: not */
	int			 open;		/* connections in the list */
	long long		 total_logged_ms;
	int			 stopping;
	int			 reaper_running;
	pthread_t		 reaper;
};

/*
 * Who counts against max_connections_per_peer: "uid N" on a Unix socket,
 * "ip A" over TCP (the uid is not known there).
 */
static void
peer_key(int fd, const struct disp_peer *p, char *key, size_t len)
{
	struct sockaddr_storage	ss;
	socklen_t		sl = sizeof(ss);
	char			host[64];

	if (p->known) {
		snprintf(key, len, "uid %ld", (long)p->uid);
		return;
	}
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == 0 &&
	    getnameinfo((struct sockaddr *)&ss, sl, host, sizeof(host), NULL,
	    0, NI_NUMERICHOST) == 0)
		snprintf(key, len, "ip %.60s", host);
	else
		snprintf(key, len, "unknown");
}

/* Read the peer's credentials off fd; known stays 0 when not Unix. */
static void
read_peer(int fd, struct disp_peer *p)
{
	struct ucred	uc;
	socklen_t	len = sizeof(uc);
	gid_t		groups[DISP_MAX_GROUPS];
	socklen_t	glen = sizeof(groups);
	struct sockaddr_storage ss;
	socklen_t	sl = sizeof(ss);

	memset(p, 0, sizeof(*p));
	/* Over TCP the kernel's answer would be nobody's. */
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    ss.ss_family != AF_UNIX)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) == -1 ||
	    len != sizeof(uc))
		return;
	p->known = 1;
	p->uid = uc.uid;
	p->gid = uc.gid;
	p->pid = uc.pid;
#ifdef SO_PEERGROUPS
	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &glen) == 0) {
		p->ngroups = (int)(glen / sizeof(gid_t));
		memcpy(p->groups, groups, (size_t)p->ngroups * sizeof(gid_t));
	}
#else
	(void)groups;
	(void)glen;
#endif
}

/* Under lock.  The peer's counter, made when absent. */
static struct peer_count *
peer_count(struct api_conns *cs, const char *key)
{
	size_t	i;

	for (i = 0; i < cs->npeers; i++)
		if (strcmp(cs->peers[i].key, key) == 0)
			return &cs->peers[i];
	if (cs->npeers == cs->peers_cap) {
		cs->peers_cap = cs->peers_cap == 0 ? 8 : cs->peers_cap * 2;
		cs->peers = xrealloc(cs->peers, cs->peers_cap *
		    sizeof(*cs->peers));
	}
	snprintf(cs->peers[cs->npeers].key, sizeof(cs->peers[0].key), "%s",
	    key);
	cs->peers[cs->npeers].n = 0;
	cs->peers[cs->npeers].logged_ms = 0;
	return &cs->peers[cs->npeers++];
}

/*
 * Under lock.  After a handover, a connection that has waited drain_ms
 * for a request head goes, so its client's next request reaches the
 * process that serves now.  drain_ms leaves a client that connected
 * just before the handover the time to send the head it had ready.
 */
static int
is_drained(const struct api_conns *cs, const struct api_conn *c,
    long long now)
{
	return cs->drain_ms > 0 && c->waiting_ms != 0 &&
	    now - c->waiting_ms >= cs->drain_ms;
}

static void *
reaper_main(void *arg)
{
	struct api_conns	*cs = arg;
	struct api_conn		*c;
	struct timespec		 until;
	long long		 now;

	pthread_mutex_lock(&cs->lock);
	while (!cs->stopping) {
		now = dm_mono_ms();
		for (c = cs->head; c != NULL; c = c->next) {
			if (c->reaped)
				continue;
			if (is_drained(cs, c, now)) {
				c->reaped = 1;
				log_debug("msg=\"idle connection closed: "
				    "another process serves\" peer=%s pid=%ld",
				    log_q(c->key), (long)c->peer.pid);
				(void)shutdown(c->fd, SHUT_RDWR);
				continue;
			}
			if (c->deadline_ms == 0 || c->deadline_ms > now)
				continue;
			c->reaped = 1;
			log_info("msg=\"idle connection closed\" peer=%s "
			    "pid=%ld idle_timeout_s=%d", log_q(c->key),
			    (long)c->peer.pid, cs->idle_ms / 1000);
			(void)shutdown(c->fd, SHUT_RDWR);
		}
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_nsec += (long)DM_API_REAP_MS * 1000000L;
		if (until.tv_nsec >= 1000000000L) {
			until.tv_sec++;
			until.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&cs->wake, &cs->lock, &until);
	}
	pthread_mutex_unlock(&cs->lock);
	return NULL;
}

struct api_conns *
api_conns_new(int max, int per_peer, int idle_s)
{
	struct api_conns	*cs = xcalloc(1, sizeof(*cs));

	pthread_mutex_init(&cs->lock, NULL);
	pthread_cond_init(&cs->wake, NULL);
	api_conns_limits(cs, max, per_peer, idle_s);
	if (pthread_create(&cs->reaper, NULL, reaper_main, cs) == 0)
		cs->reaper_running = 1;
	else
		log_warnx("msg=\"no idle reaper: idle_timeout_s is not "
		    "applied\" reason=%s", log_q(strerror(errno)));
	return cs;
}

void
api_conns_limits(struct api_conns *cs, int max, int per_peer, int idle_s)
{
	pthread_mutex_lock(&cs->lock);
	cs->max = max;
	cs->per_peer = per_peer;
	cs->idle_ms = idle_s * 1000;
	pthread_mutex_unlock(&cs->lock);
}

void
api_conns_drain(struct api_conns *cs, int ms)
{
	pthread_mutex_lock(&cs->lock);
	cs->drain_ms = ms > 0 ? ms : 1;
	pthread_cond_broadcast(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
}

int
api_conns_count(struct api_conns *cs)
{
	int	n;

	pthread_mutex_lock(&cs->lock);
	n = cs->open;
	pthread_mutex_unlock(&cs->lock);
	return n;
}

void
api_conns_stop(struct api_conns *cs)
{
	pthread_mutex_lock(&cs->lock);
	cs->stopping = 1;
	pthread_cond_broadcast(&cs->wake);
	pthread_mutex_unlock(&cs->lock);
	if (cs->reaper_running)
		pthread_join(cs->reaper, NULL);
	cs->reaper_running = 0;
}

void
api_conns_free(struct api_conns *cs)
{
	struct api_conn	*c, *next;

	if (cs == NULL)
		return;
	api_conns_stop(cs);
	for (c = cs->head; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(cs->peers);
	pthread_cond_destroy(&cs->wake);
	pthread_mutex_destroy(&cs->lock);
	free(cs);
}

/* Under lock.  Log a refusal once per peer (or daemon) per minute. */
static void
log_refusal(struct api_conns *cs, struct api_conn *c, struct peer_count *pc,
    int whole)
{
	long long	now = dm_mono_ms(), *last;

	last = whole ? &cs->total_logged_ms : &pc->logged_ms;
	if (*last != 0 && now - *last < DM_API_REFUSAL_LOG_MS)
		return;
	*last = now;
	if (whole)
		log_warnx("msg=\"connection refused: max_connections "
		    "reached\" max_connections=%d peer=%s pid=%ld", cs->max,
		    log_q(c->key), (long)c->peer.pid);
	else
		log_warnx("msg=\"connection refused: "
		    "max_connections_per_peer reached\" "
		    "max_connections_per_peer=%d peer=%s pid=%ld",
		    cs->per_peer, log_q(c->key), (long)c->peer.pid);
}

struct api_conn *
api_conn_open(struct api_conns *cs, int fd, const struct api_remote *remote)
{
	struct api_conn		*c = xcalloc(1, sizeof(*c));
	struct peer_count	*pc;

	c->fd = fd;
	c->waiting_ms = dm_mono_ms();
	if (remote != NULL) {
		/* fd is our own socket pair: its credentials are ours. */
		snprintf(c->peer.subject, sizeof(c->peer.subject), "%s",
		    remote->subject);
		snprintf(c->key, sizeof(c->key), "ip %.60s", remote->addr);
	} else {
		read_peer(fd, &c->peer);
		peer_key(fd, &c->peer, c->key, sizeof(c->key));
	}
	pthread_mutex_lock(&cs->lock);
	cs->open++;
	c->next = cs->head;
	if (cs->head != NULL)
		cs->head->prev = c;
	cs->head = c;
	pc = peer_count(cs, c->key);
	if (cs->total >= cs->max || pc->n >= cs->per_peer) {
		/* A clean close: the client sees the connection end. */
		log_refusal(cs, c, pc, cs->total >= cs->max);
		c->reaped = 1;
		(void)shutdown(fd, SHUT_RDWR);
	} else {
		c->counted = 1;
		cs->total++;
		pc->n++;
		if (cs->idle_ms > 0)
			c->deadline_ms = dm_mono_ms() + cs->idle_ms;
	}
	pthread_mutex_unlock(&cs->lock);
	return c;
}

void
api_conn_closed(struct api_conns *cs, struct api_conn *c)
{
	struct peer_count	*pc;

	if (c == NULL)
		return;
	pthread_mutex_lock(&cs->lock);
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		cs->head = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	cs->open--;
	if (c->counted) {
		cs->total--;
		pc = peer_count(cs, c->key);
		/* A peer with no connection left and no recent refusal goes:
		 * remote addresses must not grow the table for ever. */
		if (--pc->n == 0 && (pc->logged_ms == 0 || dm_mono_ms() -
		    pc->logged_ms >= DM_API_REFUSAL_LOG_MS))
			*pc = cs->peers[--cs->npeers];
	}
	pthread_mutex_unlock(&cs->lock);
	free(c);
}

void
api_conn_waiting(struct api_conns *cs, struct api_conn *c)
{
	pthread_mutex_lock(&cs->lock);
	if (!c->upgraded && cs->idle_ms > 0)
		c->deadline_ms = dm_mono_ms() + cs->idle_ms;
	if (!c->upgraded)
		c->waiting_ms = dm_mono_ms();
	pthread_mutex_unlock(&cs->lock);
}

void
api_conn_busy(struct api_conns *cs, struct api_conn *c)
{
	pthread_mutex_lock(&cs->lock);
	c->deadline_ms = 0;
	c->waiting_ms = 0;
	pthread_mutex_unlock(&cs->lock);
}

void
api_conn_upgraded(struct api_conns *cs, struct api_conn *c)
{
	pthread_mutex_lock(&cs->lock);
	c->upgraded = 1;
	c->deadline_ms = 0;
	c->waiting_ms = 0;
	pthread_mutex_unlock(&cs->lock);
}
