/* cfg.h: the parsed, immutable dockmux.json (see docs/config.md). */
#ifndef DOCKMUX_CONFIG_CFG_H
#define DOCKMUX_CONFIG_CFG_H

#include <stddef.h>
#include <sys/types.h>

#include "config/cfg_net.h"
#include "lib/limits.h"

struct json_object;

/* TLS files (PEM).  Owned; NULL: not given. */
struct cfg_tls {
	char	*ca;		/* verify the peer against this CA */
	char	*cert;		/* our certificate */
	char	*key;		/* its key */
};

enum cfg_tls_mode {
	CFG_TLS_NONE = 0,	/* not a tcp:// endpoint */
	CFG_TLS_VERIFY,		/* TLS, the server verified */
	CFG_TLS_OFF		/* "tls": false: plain TCP */
};

struct cfg_backend {
	char		 name[DM_MAX_NAME];
	char		*endpoint;	/* the URL as written */
	char		*socket_path;	/* unix: the path part; else NULL */
	struct cfg_endpoint ep;		/* endpoint's parts */
	enum cfg_tls_mode tls_mode;	/* tcp:// only */
	struct cfg_tls	 tls;		/* CFG_TLS_VERIFY */
	char		*ssh_identity;	/* ssh: -i; NULL: the agent's keys */
	char		*ssh_known_hosts; /* ssh: UserKnownHostsFile */
	char		*os;		/* NULL: learn from GET /info */
	char		*arch;		/* NULL: learn from GET /info */
	char		**isolation;	/* NULL-terminated, may be empty */
	char		**runtime_markers; /* NULL-terminated, may be empty */
	struct json_object *create_overrides; /* NULL or an object */
};

/* What an access rule grants (docs/security.md). */
enum cfg_grant {
	GRANT_FULL = 0,		/* everything, as the socket itself */
	GRANT_READ_ONLY,	/* GET and HEAD; no attach, exec, upgrade */
	GRANT_RESTRICTED	/* unprivileged creates on listed backends */
};

/* Which credential an access rule matches. */
enum cfg_match {
	MATCH_UID = 0,
	MATCH_USER,		/* a user name, resolved to uid at load */
	MATCH_GID,
	MATCH_GROUP,		/* a group name, resolved to gid at load */
	MATCH_SUBJECT		/* a TLS client certificate's subject */
};

/* One entry of the "access" list; first match wins. */
struct cfg_access {
	char		 name[128];	/* "access[0] (user ci)", for messages */
	enum cfg_match	 match;
	uid_t		 uid;		/* MATCH_UID, MATCH_USER */
	gid_t		 gid;		/* MATCH_GID, MATCH_GROUP */
	char		*subject;	/* MATCH_SUBJECT; owned */
	enum cfg_grant	 grant;
	char		**backends;	/* NULL-terminated, owned; NULL: any */
	int		 scope_owner;	/* "scope": "owner" */
	char		**bind_mounts;	/* NULL-terminated, owned; may be empty */
};

/* One listener of "listen". */
struct cfg_listen {
	char		*url;		/* as written; owned */
	struct cfg_endpoint ep;		/* unix or tcp */
};

struct cfg {
	char		*listen;	/* the first listener's URL */
	char		*socket_path;	/* the first unix listener's path, or
					 * NULL when every listener is tcp */
	size_t		 nlisten;
	struct cfg_listen listens[DM_MAX_LISTEN];
	struct cfg_tls	 tls;		/* for tcp listeners */
	int		 tls_set;	/* "tls" given at the top */
	int		 allow_plain_tcp; /* tcp listeners without TLS beyond
					   * loopback */
	mode_t		 socket_mode;	/* default 0660 */
	char		*socket_group;	/* NULL: leave the group alone */
	char		*store;		/* path of the SQLite file */
	char		**isolation_labels; /* NULL-terminated */
	char		*unknown_os_backend; /* NULL or a backend name */
	int		 image_copy;	/* copy images to where creates go */
	size_t		 nbackends;
	struct cfg_backend backends[DM_MAX_BACKENDS];
	int		 autodetected;	/* backends came from autodetection */
	int		 max_connections;	/* client connections, daemon */
	int		 max_connections_per_peer; /* per uid */
	int		 idle_timeout_s;	/* waiting for a request; 0: none */
	int		 upgrade_grace_s; /* after a USR2 handover, the old
					   * process's streams may run this
					   * long */
	int		 access_set;	/* "access" present: unmatched is denied */
	size_t		 naccess;
	struct cfg_access *access;	/* owned, naccess entries */
};

/*
 * Parse and validate the file at path.  Every problem found is written to
 * errbuf as one line naming the key by path ("backends[1].isolation:
 * expected array of strings"), several joined with "; ".
 * Returns the config (owned: free with cfg_free()) or NULL.
 */
struct cfg	*cfg_load_file(const char *path, char *errbuf, size_t errlen);

/* As cfg_load_file, from text in memory (tests, dockmux check-config). */
struct cfg	*cfg_load_string(const char *text, char *errbuf, size_t errlen);

/*
 * The configuration used when no file exists: default listen/store paths
 * for this user (root: /run/dockmux.sock, /var/lib/dockmux/dockmux.db;
 * otherwise under $XDG_RUNTIME_DIR and $XDG_STATE_HOME), backends from the
 * usual engine sockets for which answers(path) returns 1 (an engine
 * answered GET /_ping there and it is not a dockmuxd; main passes
 * cfg_socket_answers), as a
 * file saying only {"backends": "auto"} would give.
 * Returns owned (cfg_free()) or NULL with errbuf filled when none does.
 */
struct cfg	*cfg_autodetect(int (*answers)(const char *), char *errbuf,
		    size_t errlen);

/*
 * The usual engine sockets (or those of $DOCKMUX_AUTODETECT_SOCKETS) for
 * which answers(path) returns 1, in order, a socket reached by two paths
 * once: a JSON array of {"name", "endpoint"}, the backends "auto" stands
 * for.  tried gets the paths tried, ", "-separated, for a message when
 * the array is empty.  Returns owned (json_object_put()), never NULL.
 */
struct json_object *cfg_detect_backends(int (*answers)(const char *),
		    char *tried, size_t triedlen);

/*
 * 1 when an engine answers GET /_ping with 200 "OK" on the Unix socket at
 * path within DM_PING_TIMEOUT_MS, else 0: backend_socket_answers()'s
 * question without libcurl, except that a dockmuxd (200 on GET
 * /_dockmux/ping) is no engine.  The probe of "backends": "auto".
 */
int		 cfg_socket_answers(const char *path);

/* Fill defaults for listen/store when the file leaves them out. */
const char	*cfg_default_socket(void);	/* owned by a static buffer */
const char	*cfg_default_store(void);	/* owned by a static buffer */
/*
 * The directory of the default socket when it is in /tmp (a user without
 * XDG_RUNTIME_DIR): /tmp/dockmux-UID, which must be private to us
 * (dm_private_dir(): dockmuxd makes it, the CLI checks it).  NULL for
 * root and with XDG_RUNTIME_DIR.  Owned by a static buffer.
 */
const char	*cfg_default_socket_dir(void);
/*
 * The XDG directory variable var ("XDG_RUNTIME_DIR"), or NULL when it is
 * unset, empty or relative.  Borrowed: the environment's.
 */
const char	*cfg_xdg_dir(const char *var);

/*
 * What dockmuxd's command line sets over the file, as dockerd's -H and
 * --data-root do: listeners (-H, repeatable) and the store (--store).
 */
struct cfg_override {
	const char	*listen[DM_MAX_LISTEN];	/* borrowed URLs */
	size_t		 nlisten;		/* 0: keep "listen" */
	const char	*store;			/* borrowed; NULL: keep it */
};

/*
 * Apply ov to cfg (loaded, or autodetected) as if the file had said so:
 * the -H URLs replace "listen" (listens[], listen, socket_path), each
 * parsed and checked as a "listen" entry is (unix:// or tcp://; plain TCP
 * beyond loopback needs "tls" or "allow_plain_tcp"), and ov->store
 * replaces "store".  0; or -1 with every problem in errbuf ("-H
 * \"tcp://x\": the port is missing (tcp://host:2376)") and cfg unchanged.
 */
int		 cfg_override_apply(struct cfg *, const struct cfg_override *,
		    char *errbuf, size_t errlen);

/* Borrowed: valid while cfg lives.  NULL when no backend has that name. */
const struct cfg_backend *cfg_backend_find(const struct cfg *, const char *);

void		 cfg_free(struct cfg *);

#endif
