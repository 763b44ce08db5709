/* api_conns.h: client connections: peers, limits, the idle timeout. */
#ifndef DOCKMUX_API_API_CONNS_H
#define DOCKMUX_API_API_CONNS_H

#include "daemon/disp.h"

struct api_conns;	/* opaque: every open client connection */

/* A client that came over TCP+TLS (api_tls.c): who it said it is. */
struct api_remote {
	char	subject[256];	/* its certificate's subject */
	char	addr[64];	/* its address */
};

/* One client connection, from MHD's connect notice to its close. */
struct api_conn {
	struct disp_peer	 peer;
	int			 fd;		/* borrowed: MHD's */
	char			 key[64];	/* "uid N" or "ip A": per-peer limit */
	long long		 deadline_ms;	/* monotonic; 0: none */
	long long		 waiting_ms;	/* waiting for a head since;
						 * 0: a request or relay runs */
	int			 upgraded;	/* a raw relay: never idle */
	int			 counted;	/* within the limits */
	int			 reaped;	/* shut down by us */
	struct api_conn		*prev, *next;
};

/*
 * The registry and its reaper thread, with dockmux.json's limits.
 * Owned: api_conns_free(), after every connection has closed.
 */
struct api_conns *api_conns_new(int max, int per_peer, int idle_s);
/* New limits (a reload); open connections are not cut. */
void		 api_conns_limits(struct api_conns *, int max, int per_peer,
		    int idle_s);
/*
 * Another process serves the sockets now: from here on a connection
 * waiting ms for a request head is shut down (streams and relays never).
 */
void		 api_conns_drain(struct api_conns *, int ms);
/* How many connections are open. */
int		 api_conns_count(struct api_conns *);
/* Stop the reaper (before MHD closes every connection). */
void		 api_conns_stop(struct api_conns *);
void		 api_conns_free(struct api_conns *);

/*
 * A connection MHD accepted on fd: its peer read (SO_PEERCRED; for a TLS
 * client, remote: its subject and address, never fd's credentials),
 * counted, waiting for a head.  Over a limit it is shut down at once
 * (logged once per peer per minute).  Owned by the registry until
 * api_conn_closed().
 */
struct api_conn	*api_conn_open(struct api_conns *, int fd,
		    const struct api_remote *);
void		 api_conn_closed(struct api_conns *, struct api_conn *);
/* Waiting for a request head (connected, or a reply finished). */
void		 api_conn_waiting(struct api_conns *, struct api_conn *);
/* A head is in: no idle timeout while the request runs. */
void		 api_conn_busy(struct api_conns *, struct api_conn *);
/* Upgraded to a raw relay (attach, exec, a BuildKit session). */
void		 api_conn_upgraded(struct api_conns *, struct api_conn *);

#endif
