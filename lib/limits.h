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

#endif
