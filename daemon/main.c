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
 * SIGHUP: read the configuration again and swap it in.  A bad file, or
 * one dockmuxd cannot apply, leaves the running configuration alone.
 * libcurl's global state stays as main set it up: requests keep running.
 */
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

static void
limits_of(const struct cfg *cfg, struct api_limits *lim)
{
	lim->max_connections = cfg->max_connections;
	lim->max_connections_per_peer = cfg->max_connections_per_peer;
	lim->idle_timeout_s = cfg->idle_timeout_s;
}

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
	struct dm_err		 err;
	sigset_t		 sigs;
	int			 ch, listen_fd, inherited, cancel[2], sig;
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

	/* The socket first: a second daemon must not touch the store of
	 * the one already serving there. */
	dm_err_clear(&err);
	listen_fd = api_listen_inherited();
	inherited = listen_fd != -1;
	if (!inherited) {
		socket_dir_ready(cfg->socket_path);
		listen_fd = api_listen_unix(cfg->socket_path, cfg->socket_mode,
		    cfg->socket_group, &err);
		if (listen_fd == -1) {
			fprintf(stderr, "dockmuxd: %s\n", err.msg);
			exit(1);
		}
	}
	disp = disp_new(cfg, &err);
	if (disp == NULL) {
		if (!inherited)
			unlink(cfg->socket_path);
		fatalx("msg=\"cannot start\" reason=%s", log_q(err.msg));
	}
	limits_of(cfg, &lim);
	raise_fd_limit(cfg);
	api = api_start(disp, listen_fd, &lim, &err);
	if (api == NULL)
		fatalx("msg=\"cannot serve\" reason=%s", log_q(err.msg));
	if (disp_start(disp) == -1)
		fatalx("msg=\"cannot start health probes\"");
	log_info("msg=\"listening\" socket=%s backends=%zu primary=%s%s",
	    log_q(inherited ? "(systemd)" : cfg->socket_path), cfg->nbackends,
	    cfg->backends[0].name, inherited ? " activation=socket" : "");
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
	if (!inherited)
		unlink(cfg->socket_path);
	cfg_free(cfg);
	close(cancel[0]);
	close(cancel[1]);
	log_info("msg=\"stopped\"");
	return 0;
}
