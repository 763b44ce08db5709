/*
 * main.c: dockmuxd: read the config, reach the engines, serve the Docker
 * API on one Unix socket, and stop gracefully on SIGTERM or SIGINT.
 */
/*
 * Threads: main owns start-up, reload and shutdown.  SIGHUP, SIGINT and
 * SIGTERM are blocked before the first thread starts, so every thread
 * inherits the mask and main alone takes them, in sigwait(): no handler
 * runs, and no worker's system call is interrupted.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "api/api.h"
#include "backends/backend.h"
#include "config/cfg.h"
#include "daemon/disp.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"

#define DEFAULT_CONFIG	"/etc/dockmux/dockmux.json"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: dockmuxd [-c FILE] [--check-config] [--log-level LEVEL]\n"
	    "  -c, --config FILE    configuration (default %s;\n"
	    "                       without one, engines are autodetected)\n"
	    "      --check-config   validate the configuration and exit\n"
	    "  -v                   debug logging (same as --log-level debug)\n"
	    "      --log-level L    error, warn, info (default) or debug\n"
	    "      --version        print the version and exit\n",
	    DEFAULT_CONFIG);
}

/* systemd's notify protocol: one datagram to $NOTIFY_SOCKET. */
static void
sd_notify_text(const char *text)
{
	const char		*path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un	 sun;
	int			 fd, len;

	/* "@name" is an abstract socket; dm_sun_path() knows the form. */
	if (path == NULL || (len = dm_sun_path(&sun, path)) == -1)
		return;
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return;
	(void)sendto(fd, text, strlen(text), MSG_NOSIGNAL,
	    (struct sockaddr *)&sun, (socklen_t)len);
	close(fd);
}

static struct cfg *
load_config(const char *path, int explicit_path)
{
	struct cfg	*cfg;
	char		 err[2048];
	struct stat	 st;

	if (!explicit_path && stat(path, &st) == -1 && errno == ENOENT) {
		cfg = cfg_autodetect(backend_socket_answers, err, sizeof(err));
		if (cfg == NULL)
			fatalx("msg=\"no configuration and no engine found\" "
			    "reason=%s", log_q(err));
		log_info("msg=\"no config file, engines autodetected\" "
		    "backends=%zu", cfg->nbackends);
		return cfg;
	}
	cfg = cfg_load_file(path, err, sizeof(err));
	if (cfg == NULL) {
		fprintf(stderr, "dockmuxd: %s\n", err);
		exit(1);
	}
	return cfg;
}

/*
 * A user without XDG_RUNTIME_DIR gets the default socket in
 * /tmp/dockmux-UID/, which anyone could have made first to catch the
 * socket or our clients: made here (0700), or refused unless it is ours
 * alone, before anything is bound in it.  Exits 1 with one line.
 */
static void
socket_dir_ready(const char *sock)
{
	const char	*dir = cfg_default_socket_dir();
	char		 msg[512];
	size_t		 n;

	if (dir == NULL)
		return;
	n = strlen(dir);
	if (strncmp(sock, dir, n) != 0 || sock[n] != '/')
		return;
	if (dm_private_dir(dir, 1, msg, sizeof(msg)) == -1) {
		fprintf(stderr, "dockmuxd: %s: the socket's directory must be "
		    "ours alone (remove it, or set XDG_RUNTIME_DIR or "
		    "\"listen\")\n", msg);
		exit(1);
	}
}

/*
 * Each client connection and each engine connection is a descriptor:
 * the soft limit (often 1024) goes up to the hard one, as dockerd's unit
 * does with LimitNOFILE.  Too low a hard limit is said, not fatal.
 */
static void
raise_fd_limit(const struct cfg *cfg)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)cfg->max_connections +
			    DM_API_CONN_SLACK + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < want)
		log_warnx("msg=\"open file limit below max_connections\" "
		    "nofile=%llu max_connections=%d",
		    (unsigned long long)rl.rlim_cur, cfg->max_connections);
}

/* A PEM file into memory (owned: free()), or exit 1 with one line. */
static char *
read_pem(const char *what, const char *path)
{
	FILE	*fp;
	char	*buf;
	size_t	 n;

	if ((fp = fopen(path, "r")) == NULL) {
		fprintf(stderr, "dockmuxd: tls.%s: %s: %s\n", what, path,
		    strerror(errno));
		exit(1);
	}
	buf = xmalloc(DM_MAX_PEM + 1);
	n = fread(buf, 1, DM_MAX_PEM, fp);
	fclose(fp);
	if (n == 0 || n == DM_MAX_PEM) {
		fprintf(stderr, "dockmuxd: tls.%s: %s: %s\n", what, path,
		    n == 0 ? "empty" : "too large for a PEM file");
		exit(1);
	}
	buf[n] = '\0';
	return buf;
}

/* The listeners dockmuxd serves: every one bound, or exit 1. */
struct listeners {
	struct api_listener	 l[DM_MAX_LISTEN];
	size_t			 n;
	int			 inherited;	/* l[0] came from systemd */
	char			*pem[3];	/* owned: cert, key, ca */
	char			*unix_paths[DM_MAX_LISTEN]; /* ours to unlink */
};

/* Unlink the socket files we bound; the PEM text goes. */
static void
close_listeners(struct listeners *ls)
{
	size_t	i;

	for (i = 0; i < DM_MAX_LISTEN; i++)
		if (ls->unix_paths[i] != NULL)
			unlink(ls->unix_paths[i]);
	for (i = 0; i < 3; i++) {
		free(ls->pem[i]);
		ls->pem[i] = NULL;
	}
}

static void
open_listeners(const struct cfg *cfg, struct listeners *ls)
{
	const struct cfg_listen	*cl;
	struct dm_err		 err;
	size_t			 i;
	int			 fd, sd_used = 0;

	memset(ls, 0, sizeof(*ls));
	fd = api_listen_inherited();
	if (fd != -1) {
		ls->inherited = 1;
		ls->l[ls->n++].fd = fd;
	}
	if (cfg->tls_set) {
		ls->pem[0] = read_pem("cert", cfg->tls.cert);
		ls->pem[1] = read_pem("key", cfg->tls.key);
		ls->pem[2] = read_pem("ca", cfg->tls.ca);
	}
	for (i = 0; i < cfg->nlisten && ls->n < DM_MAX_LISTEN; i++) {
		cl = &cfg->listens[i];
		dm_err_clear(&err);
		if (cl->ep.transport == CFG_UNIX) {
			/* systemd's socket stands for the first unix one. */
			if (ls->inherited && !sd_used) {
				sd_used = 1;
				continue;
			}
			socket_dir_ready(cl->ep.path);
			fd = api_listen_unix(cl->ep.path, cfg->socket_mode,
			    cfg->socket_group, &err);
			if (fd != -1)
				ls->unix_paths[ls->n] = cl->ep.path;
		} else {
			fd = api_listen_tcp(cl->ep.host, cl->ep.port, &err);
			if (fd != -1 && cfg->tls_set) {
				ls->l[ls->n].cert_pem = ls->pem[0];
				ls->l[ls->n].key_pem = ls->pem[1];
				ls->l[ls->n].ca_pem = ls->pem[2];
			} else if (fd != -1)
				log_warnx("msg=\"plain TCP listener: anyone who "
				    "can connect owns the host\" listen=%s",
				    log_q(cl->url));
		}
		if (fd == -1) {
			fprintf(stderr, "dockmuxd: %s\n", err.msg);
			close_listeners(ls);
			exit(1);
		}
		ls->l[ls->n++].fd = fd;
	}
}

static void
limits_of(const struct cfg *cfg, struct api_limits *lim)
{
	lim->max_connections = cfg->max_connections;
	lim->max_connections_per_peer = cfg->max_connections_per_peer;
	lim->idle_timeout_s = cfg->idle_timeout_s;
}

/*
 * SIGHUP: read the configuration again and swap it in.  A bad file, or
 * one dockmuxd cannot apply, leaves the running configuration alone.
 * libcurl's global state stays as main set it up: requests keep running.
 */
static void
reload(struct dispatcher *disp, struct api *api, const char *path,
    int explicit_path)
{
	struct api_limits lim;
	struct cfg	*cfg;
	struct dm_err	 err;
	char		 ebuf[2048];
	size_t		 orphans;
	struct stat	 st;

	sd_notify_text("RELOADING=1");
	if (!explicit_path && stat(path, &st) == -1 && errno == ENOENT)
		cfg = cfg_autodetect(backend_socket_answers, ebuf,
		    sizeof(ebuf));
	else
		cfg = cfg_load_file(path, ebuf, sizeof(ebuf));
	if (cfg == NULL) {
		log_warnx("msg=\"reload refused; running configuration kept\" "
		    "reason=%s", log_q(ebuf));
		sd_notify_text("READY=1");
		return;
	}
	dm_err_clear(&err);
	limits_of(cfg, &lim);
	if (disp_reload(disp, cfg, &orphans, &err) == -1)
		log_warnx("msg=\"reload failed; running configuration kept\" "
		    "reason=%s", log_q(err.msg));
	else
		api_set_limits(api, &lim);
	sd_notify_text("READY=1");
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*config = DEFAULT_CONFIG;
	int			 explicit_config = 0, check_only = 0;
	enum log_level		 level = LOG_LVL_INFO;
	struct cfg		*cfg;
	struct dispatcher	*disp;
	struct api		*api;
	struct api_limits	 lim;
	struct listeners	 ls;
	struct dm_err		 err;
	sigset_t		 sigs;
	int			 ch, cancel[2], sig;
	size_t			 i;
	long long		 deadline;

	while ((ch = getopt_long(argc, argv, "c:vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			explicit_config = 1;
			break;
		case 'C':
			check_only = 1;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'L':
			if (log_level_parse(optarg, &level) == -1) {
				fprintf(stderr, "dockmuxd: --log-level: "
				    "unknown level \"%s\"\n", optarg);
				return 1;
			}
			break;
		case 'V':
			printf("dockmuxd %s\n", DOCKMUX_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 1;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 1;
	}
	log_init(level, "dockmuxd");

	if (check_only) {
		char	ebuf[2048];

		cfg = cfg_load_file(config, ebuf, sizeof(ebuf));
		if (cfg == NULL) {
			fprintf(stderr, "dockmuxd: %s\n", ebuf);
			return 1;
		}
		printf("dockmuxd: %s: configuration OK (%zu backends)\n",
		    config, cfg->nbackends);
		cfg_free(cfg);
		return 0;
	}
	/* Before any thread exists (libcurl, libmicrohttpd, ours): each
	 * inherits the mask, so these wait for main's sigwait() below. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (pthread_sigmask(SIG_BLOCK, &sigs, NULL) != 0)
		fatalx("msg=\"cannot block signals\"");
	/* Writes to a closed peer fail with EPIPE in whichever thread. */
	signal(SIGPIPE, SIG_IGN);

	/* libcurl's global state: set up once, here, before autodetection
	 * probes the first engine; a reload never touches it again. */
	if (pipe2(cancel, O_CLOEXEC) == -1)
		fatal("msg=\"pipe\"");
	if (backend_lib_init(cancel[0]) == -1)
		fatalx("msg=\"libcurl init failed\"");
	cfg = load_config(config, explicit_config);

	/* The sockets first: a second daemon must not touch the store of
	 * the one already serving there. */
	open_listeners(cfg, &ls);
	dm_err_clear(&err);
	disp = disp_new(cfg, &err);
	if (disp == NULL) {
		close_listeners(&ls);
		fatalx("msg=\"cannot start\" reason=%s", log_q(err.msg));
	}
	limits_of(cfg, &lim);
	raise_fd_limit(cfg);
	api = api_start(disp, ls.l, ls.n, &lim, &err);
	/* The PEM text was for the start; the sockets are the server's. */
	for (i = 0; i < 3; i++) {
		free(ls.pem[i]);
		ls.pem[i] = NULL;
	}
	if (api == NULL) {
		close_listeners(&ls);
		fatalx("msg=\"cannot serve\" reason=%s", log_q(err.msg));
	}
	if (disp_start(disp) == -1)
		fatalx("msg=\"cannot start health probes\"");
	for (i = 0; i < cfg->nlisten; i++)
		log_info("msg=\"listening\" listen=%s tls=%s",
		    log_q(ls.inherited && i == 0 && cfg->listens[0].ep.transport
		    == CFG_UNIX ? "(systemd)" : cfg->listens[i].url),
		    cfg->listens[i].ep.transport == CFG_TCP && cfg->tls_set ?
		    "yes" : "no");
	log_info("msg=\"serving\" backends=%zu primary=%s%s", cfg->nbackends,
	    cfg->backends[0].name, ls.inherited ? " activation=socket" : "");
	sd_notify_text("READY=1");

	/* SIGHUP reloads; SIGINT and SIGTERM stop. */
	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		reload(disp, api, config, explicit_config);
	}

	/* Graceful stop: no new connections, let short requests finish,
	 * then end every stream and join every thread. */
	log_info("msg=\"stopping\" signal=%d", sig);
	sd_notify_text("STOPPING=1");
	api_quiesce(api);
	deadline = dm_mono_ms() + DM_SHUTDOWN_GRACE_MS;
	while (api_unanswered(api) > 0 && dm_mono_ms() < deadline)
		poll(NULL, 0, DM_SHUTDOWN_POLL_MS);
	(void)write(cancel[1], "x", 1);
	api_stop(api);
	disp_free(disp);
	backend_lib_cleanup();
	close_listeners(&ls);
	cfg_free(cfg);
	close(cancel[0]);
	close(cancel[1]);
	log_info("msg=\"stopped\"");
	return 0;
}
