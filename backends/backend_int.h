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
	char		*buf;		/* owned: the relay buffer, grown as
					   data comes, DM_STREAM_CHUNK at most */
	size_t		 cap;
	struct pool_ent	*next;
};

struct ssh_bridge;

struct backend {
	atomic_uint	 refs;		/* the owner's, one per exchange */
	char		*name;
	char		*sock;		/* unix, and an ssh bridge's socket */
	char		*where;		/* for messages */
	enum backend_transport transport;
	char		*base_url;	/* tcp: "https://host:port" */
	int		 tls;
	char		*ca, *cert, *key; /* tcp+tls; NULL: not given */
	struct ssh_bridge *ssh;		/* owned: ssh */
	char		*broken;	/* owned: why it can never connect */
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
/*
 * backend_ssh.c: the ssh bridge.  Start: a private Unix socket whose
 * connections become "ssh ... docker system dial-stdio" processes.
 * Owned: ssh_bridge_stop().  _error: the last line an ssh wrote on
 * stderr ("" when the last one ended well).
 */
struct ssh_bridge *ssh_bridge_start(const char *name,
		    const struct backend_addr *, struct dm_err *);
const char	*ssh_bridge_socket(const struct ssh_bridge *);
void		 ssh_bridge_error(struct ssh_bridge *, char *, size_t);
void		 ssh_bridge_stop(struct ssh_bridge *);

/* Set e's URL for path and the transport's options (socket, TLS). */
void		 backend_curl_target(const struct backend *, CURL *e,
		    char *url, size_t urllen, const char *path);
/* err for a failure to reach b: why, and what its ssh said, if any. */
void		 backend_unreachable(struct backend *, struct dm_err *,
		    const char *why);

/* 1 when fd (cancel or a watched client) says stop; polls nothing else. */
int		 fd_says_stop(int fd);

#endif
