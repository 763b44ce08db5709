/* backend_int.h: what the files of backends/ share, and nobody else. */
#ifndef DOCKMUX_BACKENDS_BACKEND_INT_H
#define DOCKMUX_BACKENDS_BACKEND_INT_H

#include <curl/curl.h>
#include <pthread.h>
#include <stdatomic.h>

#include "backend.h"

/*
 * A pooled connection.  tcp: with curl's multi interface the connection
 * cache lives in the multi handle, so the pair is what gets reused.  unix
 * and ssh: our own socket (backend_raw.c), multi and easy NULL.
 */
struct pool_ent {
	CURLM		*multi;
	CURL		*easy;
	int		 fd;		/* owned: unix, ssh; -1 for curl's */
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
/* An idle connection of b or NULL; owned as pool_get()'s. */
struct pool_ent	*pool_take(struct backend *);
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

/*
 * Plain sockets (backend.c).  backend_wait: until fd is ready for events
 * or the monotonic deadline (0: none), also seeing shutdown and a client
 * leaving (watch_fd, -1 none; one with bytes waiting sets *watch_off, NULL
 * allowed, and is not watched further): 1 ready (*revents, NULL allowed),
 * 0 the deadline passed, -1 shutdown, error or the client gone.  _wait_fd:
 * the same without a client.  _send_all:
 * 0, or -1 with errno.  _dial_unix: a connected blocking fd (owned: close
 * it), or -1 with err and errno (ETIMEDOUT: no answer in time, ECANCELED:
 * shutdown, else connect's).
 */
int		 backend_wait(int fd, short events, int watch_fd,
		    int *watch_off, long long deadline, short *revents);
int		 backend_wait_fd(int fd, short events, long long deadline);
int		 backend_send_all(int fd, const char *, size_t,
		    long long deadline);
int		 backend_dial_unix(const char *name, const char *path,
		    struct dm_err *);

/*
 * backend_h1.c: the framing of an HTTP/1.1 answer.  struct h1_body is a
 * body's decoder; h1_body_start() sets it from the head.
 */
enum h1_frame {
	H1_NONE = 0,		/* no body: HEAD, 1xx, 204, 304 */
	H1_LENGTH,		/* Content-Length */
	H1_CHUNKED,
	H1_CLOSE		/* until the engine closes */
};

struct h1_body {
	enum h1_frame	 frame;
	long long	 left;		/* LENGTH: to come; CHUNKED: of the chunk */
	int		 ch;		/* where in the chunked framing */
	int		 digits;	/* of the chunk size read so far */
	int		 done;		/* the body ended as framed */
	int		 bad;		/* framing that cannot be followed */
	int		 extra;		/* bytes came past the end */
};

/* The offset past the blank line ending the head in p, or 0: not yet. */
size_t		 h1_head_end(const char *p, size_t n);
/*
 * Parse the head in p (NUL-terminated, ending with its blank line;
 * written into): the status, whether it is HTTP/1.0, the header lines
 * into h.  0, or with why: -1 not an HTTP/1.x head, -2 more than
 * DM_MAX_HEADERS lines (refused, not cut).
 */
int		 h1_parse_head(char *p, int *status, int *http10,
		    struct dm_hdrs *h, char *why, size_t whylen);
/*
 * How the body after a head with status and headers h is framed: b set,
 * *clen to its Content-Length (-1 none), *keep cleared when the
 * connection cannot carry another exchange.  -1: a bad Content-Length.
 */
int		 h1_body_start(struct h1_body *b, int status, int head_req,
		    int http10, const struct dm_hdrs *h, long long *clen,
		    int *keep);
/*
 * n framed body bytes at p turned into body bytes in place (framing only
 * shrinks): their count.  Sets done, bad and extra as they happen.
 */
size_t		 h1_decode(struct h1_body *, char *p, size_t n);

/*
 * backend_raw.c: the HTTP/1.1 exchanges over a plain socket (unix, an ssh
 * bridge), without curl.  The same contract as backend.h's backend_xfer_*,
 * which hand unix and ssh backends to these.  raw_start: owned, raw_free().
 */
struct raw_xfer;

struct raw_xfer	*raw_start(struct backend *, const struct backend_call *,
		    struct dm_err *);
int		 raw_send(struct raw_xfer *, const char *, size_t,
		    struct dm_err *);
int		 raw_head(struct raw_xfer *, int watch_fd, struct dm_err *);
/* raw_head() giving up at the monotonic deadline: 1, the head not in. */
int		 raw_head_within(struct raw_xfer *, int watch_fd,
		    long long deadline, struct dm_err *);
int		 raw_status(const struct raw_xfer *);
int		 raw_fd(const struct raw_xfer *);
const struct dm_hdrs *raw_headers(const struct raw_xfer *);
long long	 raw_length(const struct raw_xfer *);
/* Body bytes read ahead and not yet taken. */
size_t		 raw_buffered(const struct raw_xfer *);
ssize_t		 raw_read(struct raw_xfer *, char *, size_t, int watch_fd);
ssize_t		 raw_try_read(struct raw_xfer *, char *, size_t,
		    struct dm_wait *);
int		 raw_complete(const struct raw_xfer *);
void		 raw_settle(struct raw_xfer *, int max_ms);
/* err saying why the exchange failed, what: the step it failed in. */
void		 raw_fail(const struct raw_xfer *, struct dm_err *,
		    const char *what);
void		 raw_free(struct raw_xfer *);

#endif
