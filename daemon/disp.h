/* disp.h: the dispatcher: a typed request in, a reply out, engines behind. */
#ifndef DOCKMUX_DAEMON_DISP_H
#define DOCKMUX_DAEMON_DISP_H

#include <stddef.h>
#include <sys/types.h>

#include "lib/dmerr.h"
#include "lib/hdrs.h"
#include "lib/wait.h"

struct cfg;
struct dispatcher;	/* opaque: the backends, their health, the store */
struct disp_call;	/* opaque: one request in progress */
struct disp_upgrade;	/* opaque: an engine connection to relay */
struct disp_endpoint;	/* opaque: a row of the endpoint table */

/* How a request is served; set by disp_classify() from its row. */
enum disp_kind {
	ROUTE_PRIMARY = 0,	/* forwarded to the primary unchanged */
	ROUTE_LOCAL,		/* answered by dockmuxd (ping, version, info) */
	ROUTE_ADMIN,		/* /_dockmux/... */
	ROUTE_CREATE,		/* POST /containers/create */
	ROUTE_PER_CONTAINER,	/* /containers/{id}/..., owner only */
	ROUTE_PER_EXEC,		/* /exec/{id}/..., the container's owner */
	ROUTE_READ_FALLBACK,	/* logs and stats */
	ROUTE_FANOUT,		/* lists and prunes over every backend */
	ROUTE_HIJACK		/* attach, exec start: raw after the answer */
};

enum disp_resource {
	RES_NONE = 0,
	RES_PING,
	RES_VERSION,
	RES_INFO,
	RES_CONTAINERS,
	RES_EXEC,
	RES_IMAGES,
	RES_NETWORKS,
	RES_VOLUMES,
	RES_SYSTEM,
	RES_EVENTS,
	RES_BUILD,
	RES_DOCKMUX,
	RES_OTHER
};

#define DISP_ID_MAX	256
#define DISP_MAX_GROUPS	64

/*
 * Who is on the other end of a client connection (SO_PEERCRED and
 * SO_PEERGROUPS on a Unix socket), as the access policy matches it.
 */
struct disp_peer {
	int	known;			/* credentials were read */
	uid_t	uid;
	gid_t	gid;
	pid_t	pid;
	int	ngroups;		/* supplementary groups kept */
	gid_t	groups[DISP_MAX_GROUPS];
	char	subject[256];		/* a TLS client's subject; "" */
};

#define DISP_ACTION_MAX	64

/*
 * A classified request.  Strings are borrowed from the front end and stay
 * valid until disp_call_free().
 */
struct disp_req {
	const char		*method;
	const char		*path;		/* as sent, with /vX.Y, no query */
	const char		*query;		/* raw, without '?'; "" if none */
	char			 api_version[16]; /* "1.41", or "" */
	const char		*rest;		/* path after the version prefix */
	const struct dm_hdrs	*hdrs;		/* the client's headers, all */
	const struct disp_endpoint *ep;		/* its row; set by disp_classify */
	enum disp_kind		 kind;
	enum disp_resource	 res;
	char			 id[DISP_ID_MAX];	/* "" when none */
	char			 action[DISP_ACTION_MAX]; /* "" when none */
	int			 has_body;
	long long		 body_size;	/* -1: unknown (chunked) */
	int			 wants_upgrade;	/* Upgrade: tcp or h2c asked */
	char			 upgrade[8];	/* that protocol: "tcp", "h2c" */
	int			 client_fd;	/* watched for a client leaving */
	const struct disp_peer	*peer;		/* the connection's; never NULL */
};

enum disp_reply_kind {
	DISP_REPLY_BODY = 0,
	DISP_REPLY_STREAM,
	DISP_REPLY_UPGRADE
};

/* A body produced piece by piece. */
struct disp_stream {
	/*
	 * Never blocking, for an event loop: >0 bytes, 0 at the end, -1
	 * broken, DM_WOULD_BLOCK with what to wait for, or
	 * DM_NEEDS_WORKER when only a blocking read() can go on (a worker
	 * reads once, then try_read again).
	 */
	ssize_t	(*try_read)(struct disp_stream *, char *, size_t,
		    struct dm_wait *);
	/*
	 * As try_read, but blocking until one of >0, 0 or -1 (also -1
	 * when watch_fd's peer leaves).  NULL when try_read never answers
	 * DM_NEEDS_WORKER.
	 */
	ssize_t	(*read)(struct disp_stream *, char *, size_t, int watch_fd);
	void	(*free)(struct disp_stream *);
};

struct disp_reply {
	int			 status;
	struct dm_hdrs		 hdrs;		/* owned; hop-by-hop removed */
	enum disp_reply_kind	 kind;
	char			*body;		/* owned (BODY) */
	size_t			 body_len;
	int			 chunked;	/* BODY: sent chunked, as the
						   engine framed it */
	long long		 length;	/* STREAM: bytes, -1 unknown */
	struct disp_stream	*stream;	/* owned (STREAM) */
	struct disp_upgrade	*upgrade;	/* owned (UPGRADE) */
};

/*
 * Classify method + path (no query; a "/vX.Y" prefix allowed) into out's
 * ep, kind, res, id, action, api_version and rest (rest points into
 * path); out->query must be set (rows may ask for a query key).  0, or
 * -1 for a path dockerd would refuse outright (bad version prefix).
 */
int		 disp_classify(const char *method, const char *path,
		    struct disp_req *out);

/*
 * Build the dispatcher over cfg's backends (cfg is borrowed and must
 * outlive it), open the store, probe every backend once and reconcile.
 * Owned: disp_free().
 */
struct dispatcher *disp_new(const struct cfg *, struct dm_err *);
/* Start the periodic health probes.  0 or -1. */
int		 disp_start(struct dispatcher *);
/* Stop probes, free backends.  Calls must all be freed before. */
void		 disp_free(struct dispatcher *);
/*
 * Another process serves now (a USR2 upgrade): stop following engine
 * events, which it follows too, so that this one writes the store only
 * for the requests it still finishes.  No reload may follow.
 */
void		 disp_retire(struct dispatcher *);

/*
 * Swap in a new configuration (takes cfg; it is freed once no request
 * uses it).  Backends added are probed and reconciled; backends removed
 * keep their routes, counted in *orphans (requests for them answer 503).
 * The listen socket and the store cannot change: warned, not applied.
 * 0, or -1 with err and nothing changed.
 */
int		 disp_reload(struct dispatcher *, struct cfg *, size_t *orphans,
		    struct dm_err *);

/*
 * One request: begin with the head, hand over the body piece by piece,
 * end to get the reply.  Errors latch inside the call and come back from
 * disp_end() as a Docker-shaped error reply, so the front end has one
 * path.  Owned: disp_call_free(), after the reply is done with.
 */
struct disp_call *disp_begin(struct dispatcher *, const struct disp_req *);
void		 disp_body(struct disp_call *, const char *, size_t);
/*
 * 1 when disp_body() may wait on an engine (the body is streamed to it);
 * 0 when it only keeps the piece.  disp_begin() and disp_end() may
 * always wait.
 */
int		 disp_body_blocks(const struct disp_call *);
void		 disp_end(struct disp_call *, struct disp_reply *);
void		 disp_call_free(struct disp_call *);

/*
 * The quick path, for the front end's own thread.  disp_quick_ok: 1 when
 * req is a bodyless GET or HEAD of a routed container whose owner is a
 * local engine with an idle connection, or a bodyless GET whose row's
 * handler begins without waiting (the merged container list) and whose
 * engines are all down or local with an idle connection, so disp_begin()
 * starts it without waiting.  disp_end_within: disp_end() if the
 * engine's head (the handler's: every answer) comes within ms (0, r
 * filled), else 1 and the call waits on: disp_end_within() again once
 * disp_call_fd() is readable (or its time passes), or disp_end().
 * disp_call_fd: the engine's socket the call waits on, -1 for none (not
 * a forward, libcurl's, or the rest is a worker's).
 */
int		 disp_quick_ok(struct dispatcher *, const struct disp_req *);
int		 disp_end_within(struct disp_call *, struct disp_reply *,
		    int ms);
int		 disp_call_fd(const struct disp_call *);

/*
 * Relay an UPGRADE reply, a step at a time, for an event loop
 * (backend_hijack_step()): 0 to wait for *engine_ev on disp_relay_fd()
 * and *client_ev on client_fd (POLLIN, POLLOUT), 2 to step again without
 * waiting once others had their turn, 1 ended, -1 broke.  extra goes
 * with the first step.
 */
int		 disp_relay_step(struct disp_reply *, int client_fd,
		    const char *extra, size_t extra_len, short *engine_ev,
		    short *client_ev);
int		 disp_relay_fd(const struct disp_reply *);

void		 disp_reply_init(struct disp_reply *);
/* A Docker error: {"message":"..."} with Content-Type application/json. */
void		 disp_reply_error(struct disp_reply *, enum dm_status,
		    const char *);
/* A JSON body; takes json_text (freed with the reply). */
void		 disp_reply_json(struct disp_reply *, int status,
		    char *json_text);
void		 disp_reply_free(struct disp_reply *);

/* How dockmuxd is doing, in a few numbers: what systemd is told. */
struct disp_summary {
	size_t		 nbackends;
	size_t		 nup;		/* backends up at their last probe */
	char		 down[256];	/* the others' names, ", "-separated */
	size_t		 nroutes;	/* containers in the store */
	long long	 health_age_ms;	/* since the health thread last went
					 * round; -1 before disp_start() */
};

/*
 * Fill out from the current view and the store.  Any thread; it takes
 * the view's and the store's locks briefly, so a wedged store blocks it.
 */
void		 disp_summary(struct dispatcher *, struct disp_summary *);

/* Number of calls and streams in progress (for a graceful stop). */
unsigned int	 disp_active_calls(const struct dispatcher *);

#endif
