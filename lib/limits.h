/* limits.h: every ceiling and timeout, in one place (leaf header). */
#ifndef DOCKMUX_LIB_LIMITS_H
#define DOCKMUX_LIB_LIMITS_H

/*
 * Header ceilings refuse, they never cut or drop a line.  A client
 * request with more than DM_MAX_HEADERS header lines is answered 431 with
 * a Docker-shaped body (api.c); one whose head does not fit
 * DM_API_CONN_MEMORY gets 431 from libmicrohttpd itself (its own HTML
 * body, as Go's net/http answers text).  A request head to an engine past
 * DM_MAX_HEADER is refused (400); an engine's answer past either ceiling
 * fails that exchange with DM_EBACKEND naming the backend (backends/).
 */
#define DM_MAX_HEADER		(64 * 1024)	/* a head to/from an engine */
#define DM_MAX_HEADERS		64		/* header lines kept per message */
#define DM_MAX_PATH		4096		/* request path + query */
#define DM_MAX_CREATE_BODY	(4 * 1024 * 1024) /* JSON bodies dockmux parses */
#define DM_MAX_SMALL_BODY	(16 * 1024 * 1024) /* JSON answers dockmux merges */
#define DM_STREAM_CHUNK		(256 * 1024)	/* relay buffer per stream, most */
#define DM_RELAY_STEP		(1024 * 1024)	/* a hijack relay's step, most */
#define DM_POOL_KEEP_BUF	(16 * 1024)	/* an idle connection's, most */
#define DM_MAX_BACKENDS		32
#define DM_MAX_NAME		64		/* backend name */
#define DM_MAX_LISTEN		8		/* entries of "listen" */
#define DM_LISTEN_NAME_MAX	256		/* a passed socket's name, with NUL
						 * (systemd's FDNAME_MAX + 1) */
#define DM_CONNECT_TIMEOUT_MS	3000		/* connect to an engine socket */
#define DM_PING_TIMEOUT_MS	2000		/* /_ping probes */
/* The same over tcp or ssh: a new connection may need a TLS or ssh
 * handshake first. */
#define DM_REMOTE_PING_TIMEOUT_MS 6000
#define DM_VERSION_TIMEOUT_MS	10000		/* /version, what an engine is */
#define DM_SHUTDOWN_GRACE_MS	5000		/* in-flight requests on SIGTERM */
#define DM_SHUTDOWN_POLL_MS	20		/* how often the grace looks */
#define DM_UPGRADE_GRACE_S	3600		/* old process's streams after
						 * USR2 (upgrade_grace_s) */
#define DM_UPGRADE_READY_MS	120000		/* new process's start, USR2 */
#define DM_UPGRADE_IDLE_MS	1000		/* then, an idle keep-alive of
						 * the old process closes */
#define DM_UPGRADE_POLL_MS	100		/* how often an upgrade looks */
#define DM_UPGRADE_CONFIRM_MS	5000		/* the new process waits for the
						 * old one's word this long */
#define DM_MAX_VERSION		64		/* a version string kept */
#define DM_LOG_VALUE_MAX	1024		/* one value quoted in a log line */

/*
 * Front end (api/): libmicrohttpd, one thread per connection.  Its memory
 * per connection holds the request head plus one response block; MHD
 * zeroes it for every request, so it stays small.  The idle timeout
 * covers only a connection waiting for a request head (idle keep-alive,
 * or a head dribbled in): logs -f and attach stay silent for hours.
 * The three defaults are dockmux.json's max_connections,
 * max_connections_per_peer and idle_timeout_s.
 */
/*
 * MHD per connection.  Above 32 KiB libmicrohttpd maps its pool instead
 * of taking it from malloc: an idle stream's untouched pages cost
 * nothing, and a closed connection's go back to the system.
 */
#define DM_API_CONN_MEMORY	(36 * 1024)
#define DM_WORKERS_MIN	4		/* kept even when idle */
#define DM_WORKERS_MAX	1024		/* blocking calls at once */
#define DM_WORKER_IDLE_MS	10000		/* an idle worker leaves */
#define DM_WORKERS_EAGER	16		/* started at once when needed */
#define DM_WORKER_SPAWN_MS	5		/* then one per this, at most, per
						   DM_WORKERS_EAGER there are */
#define DM_API_BLOCK		(16 * 1024)	/* one streamed reply block */
#define DM_API_CHUNKED_BLOCK	1024		/* ... of a chunked one (unused
						   by MHD over HTTP/1.1) */
#define DM_API_MAX_CONNECTIONS	1024		/* client connections */
#define DM_API_MAX_PER_PEER	256		/* of them, per uid */
#define DM_API_IDLE_TIMEOUT_S	60		/* a whole head must come */
#define DM_API_MAX_LIMIT	65536		/* largest limit accepted */
#define DM_API_CONN_SLACK	256		/* MHD room for refused ones */
#define DM_API_REAP_MS		250		/* idle connections looked at */
#define DM_API_REFUSAL_LOG_MS	60000		/* a refused peer logged once */
#define DM_LISTEN_BACKLOG	1024		/* listen(2) queue */
#define DM_MAX_PEM		(256 * 1024)	/* a certificate, key or CA file */

/* Engines (backends/). */
#define DM_POOL_MAX_IDLE	64		/* idle conns per backend */
/* The longest wait before looking at shutdown and the client again. */
#define DM_POLL_SLICE_MS	1000
#define DM_MALLOC_TRIM		(4 * 1024 * 1024) /* free kept per arena */
#define DM_MALLOC_MMAP		(512 * 1024)	/* larger: mapped alone */
#define DM_SLURP_STEP		(16 * 1024)	/* a whole answer read grows */
#define DM_CURL_BUFFER		(64 * 1024)	/* curl's receive buffer */
#define DM_HIJACK_HEAD_TIMEOUT_MS 60000		/* attach/exec answer */
#define DM_CONNECT_RETRY_MS	50		/* engine's listen queue full */
#define DM_MAX_REFUSAL_BODY	(64 * 1024)	/* a refused upgrade */
#define DM_TLS_HANDSHAKE_TIMEOUT_MS 10000	/* a TLS client's handshake */
/* ssh backends: one ssh process per pooled or streaming connection. */
#define DM_SSH_MAX_CHILDREN	256		/* ssh processes per backend */
#define DM_SSH_ALIVE_S		15		/* ServerAliveInterval */
#define DM_SSH_REAP_MS		500		/* ended ssh processes reaped */

/* Admin CLI (cli/). */
#define DM_CLI_TIMEOUT_MS	30000		/* may probe engines */
#define DM_CLI_MAX_COLUMNS	16		/* table columns kept aligned */

/* The dispatcher (daemon/disp_*.c). */
#define DM_HEALTH_INTERVAL_MS	2000		/* probe period of an up backend */
#define DM_HEALTH_MAX_BACKOFF_MS 30000		/* longest wait for a down one */
#define DM_HEALTH_TICK_MS	250		/* how often probes fall due */
#define DM_NOTIFY_POLL_MS	1000		/* STATUS= checked for a change */
#define DM_SETTLE_MS		2		/* for the rest of a small answer */
#define DM_QUICK_WAIT_MS	1		/* an engine's head, on MHD's thread */
#define DM_QUICK_RECHECK_MS	1000		/* a quick call waiting in the stream
						   loop looks at its deadline */
#define DM_QUICK_MERGE_MAX	(256 * 1024)	/* answers merged on the stream
						   loop's thread; more: a worker */
#define DM_FAN_TIMEOUT_MS	60000		/* one fan-out exchange, exec create */
#define DM_INSPECT_TIMEOUT_MS	10000		/* one inspect or /info */
#define DM_LOOKUP_TIMEOUT_MS	15000		/* image holder, reconcile list */
#define DM_LIST_TIMEOUT_MS	30000		/* a list, a rollback remove */
#define DM_CREATE_TIMEOUT_MS	120000		/* a container create */
#define DM_PULL_HEAD_TIMEOUT_MS	120000		/* a pull's first answer */
#define DM_STREAM_HEAD_TIMEOUT_MS 15000		/* events, logs, stats heads */
#define DM_WATCH_HEAD_TIMEOUT_MS 10000		/* the route watcher's events */
#define DM_WATCH_RETRY_MS	2000		/* between watcher reconnects */
#define DM_STREAM_READ		(16 * 1024)	/* one read of an engine stream */
#define DM_MAX_LINE		(64 * 1024)	/* one event or progress line */
#define DM_MAX_MISS_BODY	(64 * 1024)	/* a failed read's error body */
#define DM_METRIC_SERIES	512		/* (class, backend, status) kept */

/* store */
#define DM_STORE_ID_MAX		65		/* container ID: 64 hex + NUL */
#define DM_STORE_NAME_MAX	256		/* container name */
#define DM_STORE_RULE_MAX	32		/* routing rule name */
#define DM_STORE_REF_MAX	512		/* image reference, exec ID */
#define DM_STORE_FACT_MAX	64		/* one image fact (os, arch, ...) */
#define DM_STORE_ROUTE_ROWS_FIRST 64		/* routes listed before growing */
#define DM_STORE_BUSY_TIMEOUT_MS 5000		/* wait while another holds the db */
/* An exec ID unused this long is forgotten (each lookup renews it). */
#define DM_STORE_EXEC_IDLE_S	(24 * 60 * 60)
/*
 * Stored image facts are trusted this long; then the next create
 * inspects the image again (a tag moved outside dockmux is seen then).
 */
#define DM_STORE_IMAGE_FACTS_S	(60 * 60)

#endif
