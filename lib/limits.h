/* limits.h: every size ceiling dockmux enforces, in one block (leaf header). */
#ifndef DOCKMUX_LIB_LIMITS_H
#define DOCKMUX_LIB_LIMITS_H

#define DM_MAX_HEADER		(64 * 1024)	/* one response head from an engine */
#define DM_MAX_HEADERS		64		/* header lines kept per message */
#define DM_MAX_PATH		4096		/* request path + query */
#define DM_MAX_CREATE_BODY	(4 * 1024 * 1024) /* JSON bodies dockmux parses */
#define DM_MAX_SMALL_BODY	(16 * 1024 * 1024) /* JSON answers dockmux merges */
#define DM_STREAM_CHUNK		(256 * 1024)	/* relay buffer per stream */
#define DM_MAX_BACKENDS		32
#define DM_MAX_NAME		64		/* backend name */
#define DM_CONNECT_TIMEOUT_MS	3000		/* connect to an engine socket */
#define DM_PING_TIMEOUT_MS	2000		/* /_ping and /version probes */
#define DM_SHUTDOWN_GRACE_MS	5000		/* in-flight requests on SIGTERM */

/* store */
#define DM_STORE_ID_MAX		65		/* container ID: 64 hex + NUL */
#define DM_STORE_NAME_MAX	256		/* container name */
#define DM_STORE_RULE_MAX	32		/* routing rule name */
#define DM_STORE_REF_MAX	512		/* image reference, exec ID */
#define DM_STORE_FACT_MAX	64		/* one image fact (os, arch, ...) */
#define DM_STORE_ROUTE_ROWS_FIRST 64		/* routes listed before growing */
#define DM_STORE_BUSY_TIMEOUT_MS 5000		/* wait while another holds the db */

#endif
