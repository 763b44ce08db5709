/* backend.h: one container engine reached over its Unix socket. */
#ifndef DOCKMUX_BACKENDS_BACKEND_H
#define DOCKMUX_BACKENDS_BACKEND_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/dmerr.h"
#include "lib/hdrs.h"
#include "lib/wait.h"

struct backend;		/* an engine: name, socket, pooled connections */
struct backend_xfer;	/* one HTTP exchange, response streamed */
struct backend_hijack;	/* one raw (upgraded) connection */

/* What to send.  All pointers are borrowed for the call's duration. */
struct backend_call {
	const char		*method;
	const char		*path;	/* as the client sent it, with query */
	const struct dm_hdrs	*hdrs;	/* already free of hop-by-hop ones */
	const char		*body;	/* buffered body, or NULL */
	size_t			 body_len;
	int			 body_streamed;	/* body comes by _send() */
	long long		 body_size;	/* streamed size, -1 unknown */
	int			 timeout_ms;	/* whole exchange; 0 none */
	const char		*upgrade;	/* hijack: protocol, NULL "tcp" */
	int			 head_timeout_ms; /* until the answer's head */
};

/*
 * Process-wide setup (curl_global_init), once per process: main calls it
 * before any thread exists and before the first engine is probed, and
 * backend_lib_cleanup() after the last thread is joined.  libcurl's
 * global state must not be set up or torn down while transfers run, so a
 * reload never comes here: a second call is refused (-1).  cancel_fd
 * becomes readable when dockmuxd shuts down: every blocking wait in this
 * module then gives up.
 */
int		 backend_lib_init(int cancel_fd);
void		 backend_lib_cleanup(void);

/* How an engine is reached.  All borrowed; backend_new() copies. */
enum backend_transport {
	BACKEND_UNIX = 0,	/* path */
	BACKEND_TCP,		/* host, port; tls */
	BACKEND_SSH		/* ssh [user@]host[:port] docker system dial-stdio */
};

struct backend_addr {
	enum backend_transport	 transport;
	const char		*path;		/* unix */
	const char		*host;		/* tcp, ssh */
	int			 port;		/* tcp; ssh (0: its default) */
	int			 tls;		/* tcp: TLS, the server verified */
	const char		*ca;		/* tcp+tls: NULL: system CAs */
	const char		*cert;		/* tcp+tls: client certificate */
	const char		*key;
	const char		*ssh_user;	/* NULL: ssh's default */
	const char		*ssh_identity;	/* NULL: the agent's keys */
	const char		*ssh_known_hosts; /* NULL: ssh's default */
};

/*
 * Owned: one reference, dropped with backend_release().  Copies name and
 * the address.  An ssh backend starts its bridge (a private Unix socket
 * whose connections are ssh processes); one whose bridge cannot start is
 * a backend that never answers, its exchanges failing with the reason.
 */
struct backend	*backend_new(const char *name, const struct backend_addr *);
/* A Unix engine at path (autodetection, tests).  Owned, as above. */
struct backend	*backend_new_unix(const char *name, const char *path);
void		 backend_release(struct backend *);
const char	*backend_name(const struct backend *);	/* borrowed */
/* Where it is, for messages: a path, tcp://host:port or ssh://...  */
const char	*backend_where(const struct backend *);	/* borrowed */
/* 1 for tcp and ssh: another host, slower to (re)connect. */
int		 backend_is_remote(const struct backend *);
/*
 * 1 when an exchange with b starts without waiting: a local engine with
 * an idle connection in the pool (a hint: another thread may take it).
 */
int		 backend_has_idle(struct backend *);
/* "unix", "tcp+tls", "tcp" or "ssh". */
const char	*backend_transport_name(const struct backend *);

/*
 * Start an exchange: connects and sends the request head (and a buffered
 * body).  A streamed body follows with backend_xfer_send().  Returns owned
 * (backend_xfer_free()) or NULL with err = DM_EBACKEND naming the backend.
 */
struct backend_xfer *backend_xfer_start(struct backend *,
		    const struct backend_call *, struct dm_err *);

/* Hand one piece of a streamed body over; blocks until sent.  0 or -1. */
int		 backend_xfer_send(struct backend_xfer *, const char *, size_t,
		    struct dm_err *);

/*
 * End the body (if streamed) and wait for the final status and headers;
 * gives up when watch_fd (the client, -1 none) goes away.  0 with the
 * head available, or -1 with err (the engine failed before answering, or
 * the client left: DM_EBACKEND).
 */
int		 backend_xfer_head(struct backend_xfer *, int watch_fd,
		    struct dm_err *);
/*
 * As backend_xfer_head(), waiting at most ms: 1 when the head has not
 * come by then (nothing lost: backend_xfer_head() waits on).  Bodyless
 * exchanges with a local engine only (raw); others answer 1 at once.
 */
int		 backend_xfer_head_within(struct backend_xfer *, int watch_fd,
		    int ms, struct dm_err *);
int		 backend_xfer_status(const struct backend_xfer *);
/* Borrowed: valid until backend_xfer_free(). */
const struct dm_hdrs *backend_xfer_headers(const struct backend_xfer *);
/* The engine's Content-Length, or -1 when the body is open-ended. */
long long	 backend_xfer_length(const struct backend_xfer *);

/*
 * Read the next piece of body into buf.  Blocks until bytes arrive; also
 * returns when watch_fd (the client's socket, -1 for none) is closed by
 * the peer, or on shutdown.  >0 bytes, 0 at the end of the body, -1 when
 * the exchange broke (engine died, client left, shutting down).
 */
ssize_t		 backend_xfer_read(struct backend_xfer *, char *, size_t,
		    int watch_fd);

/*
 * As backend_xfer_read() without ever blocking (an event loop's read):
 * >0, 0 and -1 as there, or DM_WOULD_BLOCK with *w saying what to
 * wait for before trying again.  The client is not watched here.
 */
ssize_t		 backend_xfer_try_read(struct backend_xfer *, char *, size_t,
		    struct dm_wait *);

/*
 * Wait up to max_ms for the rest of a small answer (engines send a head
 * and the body's pieces apart), so it can be relayed in one piece.
 * Returns early with a buffer's worth; streams just start later.
 */
void		 backend_xfer_settle(struct backend_xfer *, int max_ms);
/* 1 when the whole answer is already here (small answers usually are). */
int		 backend_xfer_complete(const struct backend_xfer *);
/*
 * The socket the answer comes on, for a caller's own wait (readable:
 * try backend_xfer_head_within() again); -1 when libcurl holds it.
 */
int		 backend_xfer_fd(const struct backend_xfer *);

/*
 * Read the whole body, up to max bytes.  Owned: *body is NUL-terminated,
 * free() it.  -1 with err when it does not fit or the exchange broke.
 */
int		 backend_xfer_slurp(struct backend_xfer *, size_t max,
		    char **body, size_t *len, struct dm_err *);
void		 backend_xfer_free(struct backend_xfer *);

/*
 * One whole exchange with a small answer (pings, inspects, lists).
 * Owned: *body (free()); hdrs_out may be NULL, else filled (caller
 * dm_hdrs_clear()s it).  0 with *status set, or -1 with err.
 */
int		 backend_do(struct backend *, const struct backend_call *,
		    int *status, char **body, size_t *len,
		    struct dm_hdrs *hdrs_out, struct dm_err *);
/*
 * backend_do()'s second half, for a caller that started several
 * exchanges before waiting on any: the answer of x, as there.  Frees x
 * (taken either way).
 */
int		 backend_xfer_finish(struct backend_xfer *x, int *status,
		    char **body, size_t *len, struct dm_hdrs *hdrs_out,
		    struct dm_err *);
/*
 * backend_xfer_finish() without waiting, for an event loop: 0 or -1 as
 * there (x freed), or DM_WOULD_BLOCK with *w saying what to wait for
 * before calling again (x kept, with what came so far; a later
 * backend_xfer_finish() or _free() takes it from there).
 * DM_NEEDS_WORKER (x kept) for libcurl's exchanges, whose head only a
 * blocking backend_xfer_finish() waits for.
 */
int		 backend_xfer_try_finish(struct backend_xfer *x, int *status,
		    char **body, size_t *len, struct dm_hdrs *hdrs_out,
		    struct dm_wait *, struct dm_err *);

/*
 * Hijacked endpoints (attach, exec start): send the request with
 * "Upgrade: tcp" on a raw connection and read the answer's head.
 * Owned: free with backend_hijack_free().  NULL with err when the engine
 * cannot be reached or answers garbage.
 */
struct backend_hijack *backend_hijack_open(struct backend *,
		    const struct backend_call *, struct dm_err *);
/* 1 when the engine switched protocols (101, or 200 raw-stream). */
int		 backend_hijack_upgraded(const struct backend_hijack *);
int		 backend_hijack_status(const struct backend_hijack *);
/* Borrowed: valid until backend_hijack_free(). */
const struct dm_hdrs *backend_hijack_headers(const struct backend_hijack *);
/* The body of a refusal (not upgraded).  Borrowed, may be empty. */
const char	*backend_hijack_body(const struct backend_hijack *, size_t *);

/*
 * Relay bytes both ways between client_fd and the engine, a step at a
 * time, for an event loop: a step moves what can move now, both ways,
 * without blocking (it reads 1 MiB at most, then lets others run).
 * extra (bytes the client sent early) is taken (copied) by the first
 * step and goes first.  The client's half-close (EOF on read) becomes
 * shutdown(SHUT_WR) toward the engine; the engine's EOF, once all it
 * sent is with the client, a shutdown(SHUT_WR) toward the client and the
 * end.  Never closes client_fd.  0 when it must wait: *engine_ev for
 * backend_hijack_fd() and *client_ev for client_fd say for what (POLLIN,
 * POLLOUT, both or 0; level-triggered); 2 when it stopped at its 1 MiB
 * with more to move (step again soon, without waiting); 1 on a clean
 * end, -1 on error (either side broke).  Bytes a side cannot take yet wait in
 * the hijack, in a buffer sized to them; nothing more is read from the
 * other side until they are gone.
 */
int		 backend_hijack_step(struct backend_hijack *, int client_fd,
		    const char *extra, size_t extra_len, short *engine_ev,
		    short *client_ev);
int		 backend_hijack_fd(const struct backend_hijack *);
void		 backend_hijack_free(struct backend_hijack *);

/*
 * 1 when an engine on the Unix socket at path answers GET /_ping with
 * 200 "OK" within DM_PING_TIMEOUT_MS (autodetection's probe), else 0.
 */
int		 backend_socket_answers(const char *path);

#endif
