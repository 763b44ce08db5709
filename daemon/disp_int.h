/* disp_int.h: what the dispatcher's files share, and nobody else. */
#ifndef DOCKMUX_DAEMON_DISP_INT_H
#define DOCKMUX_DAEMON_DISP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <time.h>

#include "backends/backend.h"
#include "config/cfg.h"
#include "daemon/disp.h"
#include "lib/work.h"
#include "store/store.h"

struct json_object;

#define DM_HEALTH_INTERVAL_MS	2000	/* probe period of an up backend */
#define DISP_FIELD_MAX		64

/* What the last probe learnt of one engine; guarded by disp->lock. */
struct disp_health {
	int		up;
	int		probed;		/* at least one probe finished */
	time_t		since;		/* when up last changed */
	unsigned int	failures;	/* probes failed in a row */
	long long	next_probe_ms;	/* monotonic */
	char		last_error[256];
	char		api_version[DISP_FIELD_MAX];
	char		min_api_version[DISP_FIELD_MAX];
	char		os[DISP_FIELD_MAX];
	char		arch[DISP_FIELD_MAX];
	char		server_version[DISP_FIELD_MAX];
	char		kernel[DISP_FIELD_MAX * 2];
	char		ping_mark[DISP_FIELD_MAX * 3];	/* /_ping's API-Version,
						   Server, OSType */
};

struct disp_backend {
	const struct cfg_backend *cfg;		/* borrowed from disp->cfg */
	struct backend		*be;		/* one reference */
	struct disp_health	 health;
};

struct disp_copy;
struct disp_metrics;
struct disp_watch;

/*
 * One configuration's backends: immutable once published, except health
 * (under lock).  Every call and every stream holds a reference, so a
 * reload can swap in a new view while old requests finish on the old.
 */
struct disp {
	atomic_uint		 refs;
	struct dispatcher	*root;		/* borrowed */
	const struct cfg	*cfg;		/* owned when cfg_owned */
	int			 cfg_owned;
	size_t			 n;
	struct disp_backend	 b[DM_MAX_BACKENDS];	/* b[0] is primary */
	pthread_mutex_t		 lock;		/* guards every health */
	struct store		*store;		/* borrowed from root */
	struct disp_metrics	*metrics;	/* borrowed from root */
	struct disp_watch	*watch;		/* owned; while current */
};

/* What outlives views: the store, the health thread, counters. */
struct dispatcher {
	pthread_mutex_t		 lock;		/* guards cur */
	pthread_cond_t		 wake;
	struct disp		*cur;		/* holds one reference */
	struct store		*store;		/* owned */
	struct disp_metrics	*metrics;	/* owned */
	struct dm_work		*work;		/* owned: fan-outs, probes */
	int			 stopping;
	int			 health_running;
	pthread_t		 health_thread;
	atomic_llong		 health_beat_ms; /* its last round, mono ms */
	atomic_uint		 active;
	atomic_uint		 streams;
	pthread_mutex_t		 copy_lock;	/* guards copies */
	pthread_cond_t		 copy_done;
	struct disp_copy	*copies;	/* image copies in flight */
};

/* ---- views (disp_view.c) ---- */

/* A reference on the current view (release with disp_view_release). */
struct disp	*disp_view_acquire(struct dispatcher *);
void		 disp_view_hold(struct disp *);
void		 disp_view_release(struct disp *);
/* A stream that outlives its call keeps the view (and counts). */
void		 disp_stream_hold(struct disp *);
void		 disp_stream_release(struct disp *);
/*
 * Run fn(d, i, arg[i]) for every backend at once (on the dispatcher's
 * workers, but the last, which runs in the caller's thread); returns
 * when all end.  A NULL args[i] skips backend i.
 */
void		 disp_each_backend(struct disp *,
		    void (*fn)(struct disp *, size_t, void *), void **args);
/*
 * As disp_each_backend(), every fn on the workers, while here(here_arg)
 * runs in the caller's thread; returns when all end.
 */
void		 disp_each_backend_beside(struct disp *,
		    void (*fn)(struct disp *, size_t, void *), void **args,
		    void (*here)(void *), void *here_arg);

/* ---- create-time rules (disp_rules.c; seed: select_for) ---- */

enum disp_rule {
	RULE_PIN = 0,
	RULE_ISOLATION,
	RULE_MARKER,
	RULE_PLATFORM,
	RULE_IMAGE_OS,
	RULE_DEFAULT
};

/* One backend as the rules see it.  All borrowed. */
struct disp_candidate {
	const char	*name;
	const char	*os;		/* configured, else reported; may be NULL */
	const char	*arch;
	char *const	*isolation;	/* NULL-terminated or NULL */
	char *const	*runtime_markers;
};

struct disp_pick {
	/* in; all borrowed */
	const struct disp_candidate *b;	/* config order, b[0] primary */
	size_t			 n;
	char *const		*isolation_labels;
	const char		*unknown_os_backend;
	struct json_object	*labels;	/* the create body's Labels */
	const char		*platform;	/* query "os[/arch[/variant]]" */
	const char		*image;		/* as the client wrote it */
	const char		*image_os;	/* NULL/"" when unknown */
	const char		*image_arch;
	const char		*image_marker;
	/* out */
	size_t			 chosen;
	enum disp_rule		 rule;
	char			 peer_os[DISP_FIELD_MAX]; /* set with DM_EPEER */
};

/*
 * Apply the rules in order (pin, isolation, marker, platform, image OS,
 * default).  0 with chosen and rule set; -1 with err: DM_EBADREQ for a pin
 * naming no backend, DM_EPEER (and peer_os) when the workload needs an OS
 * no backend serves.
 */
int		 disp_pick_backend(struct disp_pick *, struct dm_err *);
const char	*disp_rule_name(enum disp_rule);
int		 disp_arch_equal(const char *, const char *);
/*
 * Is platform ("os[/arch[/variant]]") one dockerd would parse?  0, or -1
 * with msg (dockerd answers 400: an empty part, more than three, a
 * character outside [A-Za-z0-9_-], or a lone word that is neither a known
 * OS nor a known architecture).
 */
int		 disp_platform_check(const char *platform, char *msg,
		    size_t len);

/* ---- query strings (disp_query.c) ---- */

size_t	disp_url_decode(const char *, size_t, char *, size_t);
char	*disp_url_encode(const char *);		/* owned: free() */
/* An image reference for a path: '/', ':' and '@' kept, '#', '?', '%',
 * spaces and the like encoded.  Owned: free(). */
char	*disp_ref_encode(const char *);
int	disp_query_get(const char *, const char *, char *, size_t);
char	*disp_query_set(const char *, const char *, const char *); /* owned */

/* ---- health probes (disp_probe.c) ---- */

/* 1 when the last probe found backend i down; msg says why. */
int	disp_backend_down(struct disp *, size_t i, char *msg, size_t);
void	disp_probe_all(struct disp *);
void	disp_health_copy(struct disp *, size_t, struct disp_health *);
/* The health thread's body (arg: the struct dispatcher). */
void	*disp_probe_main(void *);

/* ---- the endpoint table (disp_table.c) and its handlers ---- */

/* Where a call goes before its handler runs. */
enum disp_target {
	TARGET_PRIMARY = 0,
	TARGET_PLATFORM,	/* the backend the platform query selects */
	TARGET_OWNER,		/* the container's or exec's owner */
	TARGET_LINK_OWNER,	/* "parent/alias": the parent's owner */
	TARGET_IMAGE_HOLDER	/* the first backend holding the image */
};

/* ---- the access policy (disp_access.c) ---- */

/* One request's standing under the policy, decided at its start. */
struct disp_access {
	const struct disp_peer	*peer;		/* borrowed */
	const struct cfg_access	*rule;		/* borrowed from the view's
						 * cfg; NULL: no rule applies */
	enum cfg_grant		 grant;
	int			 policed;	/* "access" is configured */
	char			 owner[24];	/* the peer's uid, as labelled */
};

/*
 * The peer's rule and grant (full without "access", and for uid 0).  -1
 * with err (403) when "access" is set and no rule matches.
 */
int	disp_access_decide(const struct cfg *, const struct disp_peer *,
	    struct disp_access *, struct dm_err *);
/* What the grant allows of the method and endpoint.  0, or -1 (403). */
int	disp_access_request(const struct disp_access *,
	    const struct disp_req *, struct dm_err *);
/*
 * Owner scope: the container (or exec's container) ctr_id on backend
 * target must carry the peer's owner label.  0, or -1 (404 as if absent).
 */
int	disp_access_owner(struct disp *, const struct disp_access *,
	    const struct disp_req *, size_t target, const char *ctr_id,
	    struct dm_err *);
/* Owner scope: the query with the owner label filter added.  Owned:
 * free(); NULL when unchanged. */
char	*disp_access_query(const struct disp_access *,
	    const struct disp_req *);
/*
 * A create, exec create or volume create body: refused (400) when two
 * keys name one field, its keys renamed to the canonical spelling, then
 * the grant's checks (403, or 404 for another's container), and the
 * owner label stamped.  *body may be replaced (owned by the caller).
 */
int	disp_access_body(struct disp *, const struct disp_access *,
	    const struct disp_req *, char **body, size_t *len,
	    struct dm_err *);
const char *disp_access_grant_name(enum cfg_grant);

/* What a handler gets: one planned call with its whole body.  All
 * borrowed for the handler's run. */
struct disp_ctx {
	struct disp		*d;
	const struct disp_req	*req;
	const struct dm_hdrs	*fwd;		/* the headers for an engine */
	const char		*body;		/* NUL-terminated, or NULL */
	size_t			 body_len;
	size_t			 target;	/* the row's target backend */
	const char		*path;		/* path and query to send */
	const char		*ctr_id;	/* TARGET_OWNER: the full ID */
	const struct disp_access *access;	/* the peer's standing */
};

/* A handler: fills r (disp_reply_init()ed) from x. */
typedef void	disp_serve_fn(const struct disp_ctx *x, struct disp_reply *r);

/*
 * A handler begun without waiting (its row's start), for the quick path
 * on the stream loop's thread: its exchanges are under way.  pump: 0 when
 * everything is in (finish answers without waiting), else 1 with *fd to
 * wait for readable, or -1 when the rest is a worker's.  finish: the
 * answer into r (disp_reply_init()ed), waiting for what is not in.
 * free: all of it, answered or not.
 */
struct disp_pending {
	int	(*pump)(struct disp_pending *, int *fd);
	void	(*finish)(struct disp_pending *, struct disp_reply *);
	void	(*free)(struct disp_pending *);
};
/* Owned (p->free(p)); NULL when it cannot begin so (serve then runs).
 * x's strings are borrowed for the pending's life. */
typedef struct disp_pending *disp_start_fn(const struct disp_ctx *x);

/* One row of the endpoint table (see disp_table.c). */
struct disp_endpoint {
	const char		*method;	/* "*": any */
	const char		*pattern;
	enum disp_kind		 kind;
	enum disp_resource	 res;
	const char		*action;	/* fixed action, or NULL */
	const char		*query;		/* key the query must have */
	enum disp_target	 target;
	int			 json_body;	/* a bad body is said first */
	disp_serve_fn		*serve;		/* NULL: streamed to target */
	disp_start_fn		*start;		/* serve begun without waiting;
						   NULL: none */
};

/* disp_local.c */
disp_serve_fn	disp_local_ping, disp_local_version, disp_local_info;
/* disp_admin.c: /_dockmux/ endpoints. */
disp_serve_fn	disp_admin_answer;
/* disp_create.c */
disp_serve_fn	disp_create;
/* disp_routes.c: POST /containers/{id}/exec, the Id remembered. */
disp_serve_fn	disp_exec_create;
/* disp_containers.c: GET /containers/json merged. */
disp_serve_fn	disp_list_containers;
disp_start_fn	disp_list_containers_start;
/* disp_reads.c: logs and stats, owner first, then fallbacks. */
disp_serve_fn	disp_read_fallback;
/* disp_images.c */
disp_serve_fn	disp_list_images, disp_image_each, disp_prune;
/* disp_pull.c */
disp_serve_fn	disp_pull;
/* disp_events.c */
disp_serve_fn	disp_events;
/* disp_netvol.c */
disp_serve_fn	disp_netvol_list, disp_netvol_replicate, disp_first_holder,
		disp_network_connect, disp_system_df;

/* ---- helpers the handlers share ---- */

/* disp_create.c */
/* Owned JSON: where a create would go and why; nothing is created. */
struct json_object *disp_create_explain(struct disp *, const char *query,
	    const char *body, size_t body_len);
int	disp_image_inspect(struct disp *, const char *, struct store_image *);
ssize_t	disp_image_holder(struct disp *, const char *ref, char **body,
	    struct dm_err *);
int	disp_image_facts_parse(const char *, struct store_image *);
void	disp_json_merge(struct json_object *dst, struct json_object *src);

/* disp_routes.c */
size_t	disp_backend_index(const struct disp *, const char *);
int	disp_lookup_container(struct disp *, const char *ref,
	    struct store_route *, size_t *bi, struct dm_err *);
int	disp_resolve_container(struct disp *, const char *raw,
	    struct store_route *, size_t *bi, struct dm_err *);
/*
 * Owner of a per-container or per-exec request: *bi, the path to send
 * (owned, or NULL: the client's own), the container's full ID.
 */
int	disp_route_request(struct disp *, const struct disp_req *, size_t *bi,
	    char **path, char *ctr_id, struct dm_err *);
/*
 * /containers/{parent}/{alias}[/...]: the owner of parent (a link and its
 * child live on the parent's engine).  The path goes as sent, since the
 * engine knows the link by its name; no route is touched.
 */
int	disp_resolve_link(struct disp *, const struct disp_req *, size_t *bi,
	    struct dm_err *);
int	disp_route_verify(struct disp *, const struct store_route *);
void	disp_route_after(struct disp *, const struct disp_req *,
	    const char *ctr_id, int status);
void	disp_reconcile(struct disp *);

/* ---- fan-out slots (disp_slots.c): one small exchange per backend ---- */


struct disp_slot {
	const char		*method;	/* borrowed, all of these */
	const char		*path;
	const struct dm_hdrs	*hdrs;
	const char		*body;
	size_t			 body_len;
	int			 wanted;	/* 0: skip this backend */
	int			 timeout_ms;
	int			 status;	/* 0: unreachable or down */
	char			*answer;	/* owned */
	size_t			 answer_len;
	struct dm_hdrs		 ahdrs;		/* owned: the answer's head */
	char			 err[256];	/* why status is 0 */
};

/* Fill d->n slots (args[i] = &s[i] when args is not NULL). */
void	disp_slots_init(struct disp *, struct disp_slot *, void **args,
	    const char *method, const char *path, const struct dm_hdrs *,
	    const char *body, size_t body_len);
/* A disp_each_backend() callback: one exchange, down backends skipped. */
void	disp_slot_do(struct disp *, size_t, void *);
/*
 * Every wanted slot's exchange: a local engine's request is sent from
 * this thread before any answer is waited for, then each answer read
 * here in turn; a remote engine's exchange (its connect may take
 * seconds) runs on a worker meanwhile.
 */
void	disp_slots_run(struct disp *, struct disp_slot *);
/*
 * disp_slots_run() for an event loop: every wanted slot's request sent
 * at once, each answer read as it comes, nothing waited for.  NULL (and
 * nothing sent) when a wanted backend that is up is remote: its connect
 * may take seconds.  Owned: disp_fan_free().  disp_fan_pump: the slots
 * whose answers are in filled; 1 when all are, else 0 with *fd to wait
 * for readable (-1: a blocking disp_fan_finish() has to go on).
 * disp_fan_finish: the rest, waited for.  s is borrowed throughout.
 */
struct disp_fan;
struct disp_fan	*disp_fan_start(struct disp *, struct disp_slot *);
int		 disp_fan_pump(struct disp_fan *, int *fd);
void		 disp_fan_finish(struct disp_fan *);
void		 disp_fan_free(struct disp_fan *);
/*
 * The first wanted slot when every wanted one holds the same error answer
 * (one status, 400 or more, one body; a bad filter, say): a list then
 * answers as one engine would.  Else NULL.
 */
struct disp_slot *disp_slots_same_error(struct disp *, struct disp_slot *);
/* A failed slot's reason: the engine's {"message"} or why unreachable. */
void	disp_slot_message(const struct disp_slot *, char *, size_t);
void	disp_slots_free(struct disp *, struct disp_slot *);
/* Answer with the slot's status, head and body (takes the body). */
void	disp_reply_slot(struct disp_reply *, struct disp_slot *);
/*
 * One list out of every backend's JSON array answer: the first entry of
 * each distinct string member key, in backend then answer order; entries
 * without that key (or with a JSON null or other type there) are left
 * out.  fresh(e, bi, arg) sees each entry kept, again(have, e, bi, arg)
 * each later one with the same key (both may be NULL).  m->list is owned
 * by the merge (take a reference to keep it); free with disp_merge_free.
 */
struct disp_merge {
	const char		*key;		/* borrowed */
	struct json_object	*list;		/* owned: the merged array */
	struct json_object	*seen;		/* owned: key -> entry */
	void			(*fresh)(struct json_object *, size_t, void *);
	void			(*again)(struct json_object *,
				    struct json_object *, size_t, void *);
	void			*arg;
};

void	disp_merge_init(struct disp_merge *, const char *key,
	    void (*fresh)(struct json_object *, size_t, void *),
	    void (*again)(struct json_object *, struct json_object *, size_t,
	    void *), void *arg);
/* Add the entries of array, a JSON array (anything else: nothing). */
void	disp_merge_add(struct disp_merge *, struct json_object *array,
	    size_t bi);
void	disp_merge_free(struct disp_merge *);
/*
 * The first backend (config order; down ones skipped when skip_down;
 * never except, (size_t)-1 for none) that
 * answers GET path with 200: its index, with the answer in *body (owned:
 * free()) when body is not NULL.  -1 when none does (err says why the
 * last one failed, if it failed to answer at all).
 */
ssize_t	disp_first_holding(struct disp *, const char *path, int timeout_ms,
	    int skip_down, size_t except, char **body, struct dm_err *);
/* Owned: free().  The client's path with its query. */
char	*disp_req_target(const struct disp_req *);
/* Owned: free().  Compact JSON text; _take also puts o. */
char	*disp_json_text(struct json_object *);
char	*disp_json_take(struct json_object *);

/* ---- replies (disp_reply.c) ---- */

/*
 * The engine's head into r's headers (end-to-end ones only).  -1, with r
 * made a 502, when it has more lines than dockmux relays.
 */
int	disp_reply_head(struct disp_reply *, const struct dm_hdrs *engine);
/* A reply streaming the engine's answer (takes the xfer). */
void	disp_reply_from_xfer(struct disp *, struct disp_reply *,
	    struct backend_xfer *);
/* An upgrade to relay over hj (takes hj; holds the view). */
void	disp_reply_upgrade(struct disp *, struct disp_reply *,
	    struct backend_hijack *, const char *proto);

/*
 * Bytes a merged stream made that its client has not taken yet (the
 * events and pull merges).  Zeroed is empty; the buffer goes once it is
 * drained, so an idle stream keeps none.
 */
struct disp_out {
	char	*p;		/* owned */
	size_t	 len, off, cap;
};
void	disp_out_add(struct disp_out *, const char *, size_t);
/* Bytes not yet taken. */
size_t	disp_out_pending(const struct disp_out *);
/* Up to max pending bytes into buf; how many. */
size_t	disp_out_take(struct disp_out *, char *buf, size_t max);
void	disp_out_free(struct disp_out *);

/* disp_copy.c: an image follows its container. */
/*
 * Make image ref present on backend to by streaming it from the first
 * other backend holding it (GET /images/{ref}/get into POST
 * /images/load).  Concurrent calls for the same ref and backend share one
 * copy.  0 with note (a line for the create's Warnings) filled; -1 with
 * err: DM_ENOTFOUND when no other backend holds it, DM_EBACKEND when the
 * copy failed.
 */
int	disp_image_copy(struct disp *, const char *ref, size_t to, char *note,
	    size_t notelen, struct dm_err *);

/* disp_events.c */
/*
 * One engine event line (len bytes, no NUL needed) tagged with its
 * backend in Actor.Attributes.  Owned text ending in '\n' (free()), or
 * NULL when the line is not a JSON object and is dropped.
 */
char	*disp_event_tag(const char *line, size_t len, const char *backend);

/* disp_netvol.c */
/*
 * Where each network (vols 0) or volume (vols 1) lives: owned JSON
 * [{"Name": n, "Backends": ["a", "b"]}], or NULL with err when no
 * backend answered.
 */
struct json_object *disp_netvol_where(struct disp *, int vols,
	    struct dm_err *);

/* disp_images.c: where image reads and builds go. */
int	disp_pull_is_wrong_platform(const char *);
int	disp_image_route(struct disp *, const struct disp_req *, size_t *bi,
	    struct dm_err *);
size_t	disp_platform_backend(struct disp *, const struct disp_req *);
/*
 * 0 when some backend serves platform ("os[/arch[/variant]]"); -1 with
 * err (DM_EPEER, the route-to-peer message) and peer_os when none does.
 */
int	disp_platform_served(struct disp *, const char *platform,
	    char *peer_os, size_t peer_len, struct dm_err *);

/* disp_watch.c: routes follow engine-side destroy and rename events. */
int	disp_watch_start(struct disp *);
void	disp_watch_stop(struct disp *);

/* disp_metrics.c */
struct disp_metrics	*disp_metrics_new(void);
void	disp_metrics_free(struct disp_metrics *);
void	disp_metrics_request(struct disp_metrics *, enum disp_kind,
	    const char *backend, int status, double seconds);
void	disp_metrics_read(struct disp_metrics *, const char *backend,
	    const char *mode);
/* One image copy from -> to: ok or failed, bytes moved. */
void	disp_metrics_copy(struct disp_metrics *, const char *from,
	    const char *to, int ok, long long bytes);
/* Owned: free().  Prometheus text exposition. */
char	*disp_metrics_text(struct disp *);

#endif
