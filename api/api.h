/* api.h: the Docker-compatible front end (libmicrohttpd on a Unix socket). */
#ifndef DOCKMUX_API_API_H
#define DOCKMUX_API_API_H

#include <sys/types.h>

#include "daemon/disp.h"
#include "lib/dmerr.h"
#include "lib/limits.h"

struct api;	/* opaque: the HTTP server */

/* dockmux.json's client connection limits. */
struct api_limits {
	int	max_connections;
	int	max_connections_per_peer;
	int	idle_timeout_s;		/* 0: no idle timeout */
};

/*
 * One listening socket (the server takes fd).  With cert_pem set it
 * speaks TLS (PEM text, borrowed until api_start returns) and every
 * client must present a certificate signed by ca_pem.
 */
struct api_listener {
	int		 fd;
	const char	*cert_pem;
	const char	*key_pem;
	const char	*ca_pem;
};

/*
 * Serve the Docker API on n listeners.  disp is borrowed and must outlive
 * the server.  Returns owned (api_stop()) or NULL with err.
 */
struct api	*api_start(struct dispatcher *, const struct api_listener *,
		    size_t n, const struct api_limits *, struct dm_err *);
/* New limits after a reload; open connections are kept. */
void		 api_set_limits(struct api *, const struct api_limits *);
/*
 * Stop accepting and close our copies of the listening sockets (another
 * process may serve them); requests in progress go on.  Main thread only;
 * again: nothing more.
 */
void		 api_quiesce(struct api *);
/*
 * Quiesce, for a handover (USR2): every reply from now on asks its client
 * to close the connection, and a connection waiting DM_UPGRADE_IDLE_MS
 * for a request head is shut down, so that clients come back through the
 * listening sockets to the process that serves them now.  Streams and
 * relays go on.
 */
void		 api_drain(struct api *);
/* 1 when no client connection is left (TLS handshakes included). */
int		 api_is_idle(const struct api *);
/* Requests that have not been answered yet (a graceful stop waits). */
unsigned int	 api_unanswered(const struct api *);
/* Close every connection, join every thread, free. */
void		 api_stop(struct api *);

/*
 * A listening socket at path: a stale socket file is replaced, a live one
 * (something accepts on it) is refused.  Mode and group applied (group
 * NULL: unchanged).  Returns the fd or -1 with err.
 */
int		 api_listen_unix(const char *path, mode_t mode,
		    const char *group, struct dm_err *);
/*
 * A listening TCP socket on host:port (a name or an address; IPv6
 * without brackets).  The fd, or -1 with err.
 */
int		 api_listen_tcp(const char *host, int port, struct dm_err *);

/*
 * A listening socket passed in by the sd_listen_fds(3) protocol: by
 * systemd (url ""), or by the dockmuxd that ran before us and handed its
 * sockets over on USR2 (url: the listen URL the socket serves).
 */
struct api_inherited {
	int	fd;
	char	url[DM_LISTEN_NAME_MAX];
};

/*
 * The sockets passed to us (LISTEN_PID is us, LISTEN_FDS of them from fd
 * 3 on, LISTEN_FDNAMES naming them), at most max into out, each made
 * close-on-exec; the variables are removed.  Returns how many (0: none).
 */
size_t		 api_listen_inherited(struct api_inherited *, size_t max);
/*
 * LISTEN_FDNAMES's value for n sockets serving urls (NULL or "": one
 * systemd passed), into out.  0, or -1 when it does not fit in len.
 */
int		 api_listen_names(const char *const *urls, size_t n,
		    char *out, size_t len);

#endif
