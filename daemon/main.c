/*
 * main.c: dockmuxd: read the config, reach the engines, serve the Docker
 * API on one Unix socket, stop gracefully on SIGTERM or SIGINT, and hand
 * the sockets to a new binary on SIGUSR2 (daemon/upgrade.c).
 */
/*
 * Threads: main owns start-up, reload, upgrade and shutdown.  SIGHUP,
 * SIGINT, SIGTERM and SIGUSR2 are blocked before the first thread starts,
 * so every thread inherits the mask and main alone takes them, in
 * sigwaitinfo(): no handler runs, and no worker's system call is
 * interrupted.
 */

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "api/api.h"
#include "backends/backend.h"
#include "config/cfg.h"
#include "daemon/disp.h"
#include "daemon/main_notify.h"
#include "daemon/upgrade.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/version.h"

#define DEFAULT_CONFIG	"/etc/dockmux/dockmux.json"

static void
usage(FILE *f)
{
	fprintf(f,
	    "Usage:  dockmuxd [OPTIONS]\n\n"
	    "One Docker API socket in front of several container engines.\n\n"
	    "Options:\n"
	    "  -c, --config FILE     configuration (default %s;\n"
	    "                        without one, engines are autodetected)\n"
	    "      --check-config    validate the configuration and exit\n"
	    "  -H, --host ADDR       listen on ADDR, unix:///path or\n"
	    "                        tcp://host:port, instead of the\n"
	    "                        configuration's \"listen\" (repeatable)\n"
	    "      --store PATH      the store (an SQLite file) instead of\n"
	    "                        the configuration's \"store\"\n"
	    "      --log-level L     error, warn, info (default) or debug\n"
	    "  -v                    debug logging (--log-level debug)\n"
	    "  -h, --help            print this help and exit\n"
	    "      --version         print the version and exit\n",
	    DEFAULT_CONFIG);
}

/*
 * A usage error, as the docker CLI words it: what is wrong, then where
 * to look.  Exit status 2, as dockmux's.
 */
static void __attribute__((noreturn))
usage_error(const char *what)
{
	fprintf(stderr, "dockmuxd: %s\nSee 'dockmuxd --help'.\n", what);
	exit(2);
}

/* A flag's value that cannot be right, whatever the file says: one line. */
static void __attribute__((noreturn))
bad_value(const char *value, const char *flag, const char *why)
{
	fprintf(stderr, "dockmuxd: invalid argument \"%s\" for \"%s\" flag: "
	    "%s\n", value, flag, why);
	exit(2);
}

/* -H and --store over the file's "listen" and "store"; exit 1 if refused. */
static void
apply_overrides(struct cfg *cfg, const struct cfg_override *ov)
{
	char	err[2048];

	if (cfg_override_apply(cfg, ov, err, sizeof(err)) == -1) {
		fprintf(stderr, "dockmuxd: %s\n", err);
		cfg_free(cfg);
		exit(1);
	}
}

static struct cfg *
load_config(const char *path, int explicit_path)
{
	struct cfg	*cfg;
	char		 err[2048];
	struct stat	 st;

	if (!explicit_path && stat(path, &st) == -1 && errno == ENOENT) {
		cfg = cfg_autodetect(cfg_socket_answers, err, sizeof(err));
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
	int			 inherited;	/* a socket came from systemd */
	char			*pem[3];	/* owned: cert, key, ca */
	const char		*urls[DM_MAX_LISTEN]; /* passed on at USR2;
						 * NULL: systemd's */
	char			*unix_paths[DM_MAX_LISTEN]; /* ours to unlink */
	char			*taken_paths[DM_MAX_LISTEN]; /* the dockmuxd
						 * before us bound them: ours
						 * once it has let them go */
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

/*
 * A passed socket for listener cl, taken out of inh (its fd set to -1):
 * the one named by cl's URL (a USR2 hand-over), else for the first unix
 * listener systemd's (*from_systemd set).  -1 when none.
 */
static int
take_inherited(struct api_inherited *inh, size_t ninh,
    const struct cfg_listen *cl, int *from_systemd)
{
	size_t	i;
	int	fd;

	*from_systemd = 0;
	for (i = 0; i < ninh; i++)
		if (inh[i].fd != -1 && strcmp(inh[i].url, cl->url) == 0)
			goto found;
	if (cl->ep.transport != CFG_UNIX)
		return -1;
	for (i = 0; i < ninh; i++)
		if (inh[i].fd != -1 && inh[i].url[0] == '\0') {
			*from_systemd = 1;
			goto found;
		}
	return -1;
found:
	fd = inh[i].fd;
	inh[i].fd = -1;
	return fd;
}

static void
open_listeners(const struct cfg *cfg, struct listeners *ls)
{
	const struct cfg_listen	*cl;
	struct api_inherited	 inh[DM_MAX_LISTEN];
	struct dm_err		 err;
	size_t			 i, ninh;
	int			 fd, sd;

	memset(ls, 0, sizeof(*ls));
	ninh = api_listen_inherited(inh, DM_MAX_LISTEN);
	if (cfg->tls_set) {
		ls->pem[0] = read_pem("cert", cfg->tls.cert);
		ls->pem[1] = read_pem("key", cfg->tls.key);
		ls->pem[2] = read_pem("ca", cfg->tls.ca);
	}
	for (i = 0; i < cfg->nlisten && ls->n < DM_MAX_LISTEN; i++) {
		cl = &cfg->listens[i];
		dm_err_clear(&err);
		fd = take_inherited(inh, ninh, cl, &sd);
		if (fd != -1 && sd) {
			/* systemd's socket stands for the first unix one. */
			ls->inherited = 1;
		} else if (fd != -1) {
			ls->urls[ls->n] = cl->url;
			if (cl->ep.transport == CFG_UNIX)
				ls->taken_paths[ls->n] = cl->ep.path;
		} else if (cl->ep.transport == CFG_UNIX) {
			socket_dir_ready(cl->ep.path);
			fd = api_listen_unix(cl->ep.path, cfg->socket_mode,
			    cfg->socket_group, &err);
			if (fd != -1)
				ls->unix_paths[ls->n] = cl->ep.path;
			ls->urls[ls->n] = cl->url;
		} else {
			fd = api_listen_tcp(cl->ep.host, cl->ep.port, &err);
			ls->urls[ls->n] = cl->url;
		}
		if (fd != -1 && cl->ep.transport == CFG_TCP && cfg->tls_set) {
			ls->l[ls->n].cert_pem = ls->pem[0];
			ls->l[ls->n].key_pem = ls->pem[1];
			ls->l[ls->n].ca_pem = ls->pem[2];
		} else if (fd != -1 && cl->ep.transport == CFG_TCP)
			log_warnx("msg=\"plain TCP listener: anyone who "
			    "can connect owns the host\" listen=%s",
			    log_q(cl->url));
		if (fd == -1) {
			fprintf(stderr, "dockmuxd: %s\n", err.msg);
			close_listeners(ls);
			exit(1);
		}
		ls->l[ls->n++].fd = fd;
	}
	for (i = 0; i < ninh; i++) {
		if (inh[i].fd == -1)
			continue;
		/* systemd's socket is served even without a unix listener. */
		if (inh[i].url[0] == '\0' && !ls->inherited &&
		    ls->n < DM_MAX_LISTEN) {
			ls->inherited = 1;
			ls->l[ls->n++].fd = inh[i].fd;
			continue;
		}
		/* Passed on USR2, but no longer configured: not served. */
		log_warnx("msg=\"passed socket not in the configuration: "
		    "closed\" listen=%s", log_q(inh[i].url[0] != '\0' ?
		    inh[i].url : "(systemd)"));
		close(inh[i].fd);
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
    int explicit_path, const struct cfg_override *ov, int *grace_s)
{
	struct api_limits lim;
	struct cfg	*cfg;
	struct dm_err	 err;
	char		 ebuf[2048];
	size_t		 orphans;
	struct stat	 st;
	int		 grace;

	notify_send("RELOADING=1");
	if (!explicit_path && stat(path, &st) == -1 && errno == ENOENT)
		cfg = cfg_autodetect(cfg_socket_answers, ebuf,
		    sizeof(ebuf));
	else
		cfg = cfg_load_file(path, ebuf, sizeof(ebuf));
	if (cfg != NULL && cfg_override_apply(cfg, ov, ebuf, sizeof(ebuf)) ==
	    -1) {
		cfg_free(cfg);
		cfg = NULL;
	}
	if (cfg == NULL) {
		log_warnx("msg=\"reload refused; running configuration kept\" "
		    "reason=%s", log_q(ebuf));
		notify_ready(disp);
		return;
	}
	dm_err_clear(&err);
	limits_of(cfg, &lim);
	grace = cfg->upgrade_grace_s;	/* cfg is the dispatcher's below */
	if (disp_reload(disp, cfg, &orphans, &err) == -1)
		log_warnx("msg=\"reload failed; running configuration kept\" "
		    "reason=%s", log_q(err.msg));
	else {
		api_set_limits(api, &lim);
		*grace_s = grace;
	}
	notify_ready(disp);
}

/* What the signal loop serves with, and where a USR2 upgrade stands. */
struct serving {
	struct dispatcher	*disp;
	struct api		*api;
	struct listeners	*ls;
	const char		*config;
	int			 explicit_config;
	const struct cfg_override *ov;	/* -H, --store */
	int			 grace_s;	/* upgrade_grace_s in force */
	int			 upgrading;	/* a new process is starting */
	int			 handed_over;	/* it serves; we drain */
	long long		 grace_end;	/* monotonic ms, once handed over */
};

/*
 * Tell whoever waits that we serve: the dockmuxd that started us (USR2),
 * whose sockets then become ours, and systemd, whose main process we
 * become (NotifyAccess=main accepts it: the old one has named us first).
 */
static void
announce_ready(struct listeners *ls, struct dispatcher *disp)
{
	char	msg[64];
	size_t	i;

	if (!upgrade_is_successor()) {
		notify_ready(disp);
		return;
	}
	if (!upgrade_tell_ready())
		log_warnx("msg=\"upgrade: the old process did not answer; "
		    "serving alone\"");
	/* Its socket files are ours to remove when we stop. */
	for (i = 0; i < DM_MAX_LISTEN; i++)
		if (ls->taken_paths[i] != NULL) {
			ls->unix_paths[i] = ls->taken_paths[i];
			ls->taken_paths[i] = NULL;
		}
	log_info("msg=\"upgrade: serving in place of the old process\" "
	    "pid=%ld", (long)getpid());
	/* STATUS= follows from the notifier, once it runs. */
	snprintf(msg, sizeof(msg), "MAINPID=%ld\nREADY=1", (long)getpid());
	notify_send(msg);
}

/* USR2: the binary anew with every listening socket. */
static void
begin_upgrade(struct serving *sv)
{
	char		names[DM_MAX_LISTEN * DM_LISTEN_NAME_MAX];
	int		fds[DM_MAX_LISTEN];
	struct dm_err	err;
	size_t		i;

	if (sv->upgrading || sv->handed_over) {
		log_warnx("msg=\"upgrade under way; USR2 ignored\"");
		return;
	}
	for (i = 0; i < sv->ls->n; i++)
		fds[i] = sv->ls->l[i].fd;
	dm_err_clear(&err);
	if (api_listen_names(sv->ls->urls, sv->ls->n, names,
	    sizeof(names)) == -1)
		dm_err_set(&err, DM_EINTERNAL, "a listen URL is too long to "
		    "pass on");
	else if (upgrade_start(fds, sv->ls->n, names, &err) == 0) {
		sv->upgrading = 1;
		return;
	}
	log_warnx("msg=\"upgrade failed; this process goes on serving\" "
	    "reason=%s", log_q(err.msg));
}

/*
 * The new process serves: stop accepting, leave the socket files to it,
 * stop writing what it now keeps (engine events into the store), name it
 * systemd's main process, tell it, and drain.
 */
static void
hand_over(struct serving *sv)
{
	size_t	i;

	api_drain(sv->api);
	for (i = 0; i < DM_MAX_LISTEN; i++)
		sv->ls->unix_paths[i] = NULL;
	disp_retire(sv->disp);
	notify_hand_over(upgrade_successor());
	upgrade_confirm();
	sv->upgrading = 0;
	sv->handed_over = 1;
	sv->grace_end = dm_mono_ms() + (long long)sv->grace_s * 1000;
	log_info("msg=\"handed over; open streams go on until they end\" "
	    "successor=%ld upgrade_grace_s=%d", (long)upgrade_successor(),
	    sv->grace_s);
}

/*
 * The signal loop.  SIGHUP reloads, SIGUSR2 starts an upgrade; while one
 * starts, or this process drains after handing over, it looks every
 * DM_UPGRADE_POLL_MS.  Returns the signal that stops us (SIGTERM,
 * SIGINT), or 0 when the drain is over: every client gone, or
 * upgrade_grace_s spent.
 */
static int
serve_signals(struct serving *sv, const sigset_t *sigs)
{
	struct timespec	tick = { 0, DM_UPGRADE_POLL_MS * 1000000L };
	int		sig;

	for (;;) {
		if (sv->upgrading || sv->handed_over)
			sig = sigtimedwait(sigs, NULL, &tick);
		else
			sig = sigwaitinfo(sigs, NULL);
		if (sig == SIGTERM || sig == SIGINT) {
			upgrade_abort();
			return sig;
		}
		if (sig == SIGHUP && sv->handed_over)
			log_info("msg=\"reload ignored: another process "
			    "serves now\"");
		else if (sig == SIGHUP)
			reload(sv->disp, sv->api, sv->config,
			    sv->explicit_config, sv->ov, &sv->grace_s);
		else if (sig == SIGUSR2)
			begin_upgrade(sv);
		if (sv->upgrading) {
			switch (upgrade_check()) {
			case UPGRADE_STARTING:
				break;
			case UPGRADE_READY:
				hand_over(sv);
				break;
			case UPGRADE_NONE:
			case UPGRADE_FAILED:
				sv->upgrading = 0;
				break;
			}
		}
		if (!sv->handed_over)
			continue;
		upgrade_reap();
		if (api_is_idle(sv->api)) {
			log_info("msg=\"every client of this process is "
			    "gone\"");
			return 0;
		}
		if (dm_mono_ms() >= sv->grace_end) {
			log_info("msg=\"upgrade_grace_s is over: ending the "
			    "streams left\"");
			return 0;
		}
	}
}

/*
 * Graceful stop: no new connections, let short requests finish, then end
 * every stream (cancel) and join every thread.  After a hand-over the
 * service is the new process's: systemd hears nothing from us.
 */
static void
stop_serving(struct serving *sv, int sig, int cancel)
{
	long long	deadline;

	if (sig != 0)
		log_info("msg=\"stopping\" signal=%d", sig);
	else
		log_info("msg=\"stopping\" reason=\"handed over\"");
	notify_send("STOPPING=1");
	notify_stop();
	api_quiesce(sv->api);
	deadline = dm_mono_ms() + DM_SHUTDOWN_GRACE_MS;
	while (api_unanswered(sv->api) > 0 && dm_mono_ms() < deadline)
		poll(NULL, 0, DM_SHUTDOWN_POLL_MS);
	(void)!write(cancel, "x", 1);
	api_stop(sv->api);
}

/*
 * glibc's defaults cost a merged list about a third of its CPU
 * (perf, 2 x 40 containers): each worker's arena handed its free top
 * back (madvise) after every answer and faulted it in again on the
 * next, and every large allocation among json-c's small ones merged the
 * fast bins first.  Keep up to DM_MALLOC_TRIM free per arena and no
 * fast bins; setting the thresholds also stops glibc moving them, so
 * the mmap one is set too.
 */
static void
tune_malloc(void)
{
	(void)mallopt(M_MXFAST, 0);
	(void)mallopt(M_TRIM_THRESHOLD, DM_MALLOC_TRIM);
	(void)mallopt(M_MMAP_THRESHOLD, DM_MALLOC_MMAP);
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "host", required_argument, NULL, 'H' },
		{ "store", required_argument, NULL, 'S' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	const char		*config = DEFAULT_CONFIG;
	struct cfg_override	 ov = { .nlisten = 0 };
	struct cfg_endpoint	 ep;
	char			 why[256];
	int			 explicit_config = 0, check_only = 0;
	enum log_level		 level = LOG_LVL_INFO;
	struct cfg		*cfg;
	struct dispatcher	*disp;
	struct api		*api;
	struct api_limits	 lim;
	struct listeners	 ls;
	struct dm_err		 err;
	struct serving		 sv;
	sigset_t		 sigs;
	int			 ch, cancel[2], sig;
	size_t			 i;

	upgrade_init(argc, argv);	/* before getopt reorders argv */
	tune_malloc();
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":c:vhH:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			explicit_config = 1;
			break;
		case 'C':
			check_only = 1;
			break;
		case 'H':
			/* The form here; what the file allows (plain TCP
			 * beyond loopback) once it is read. */
			if (cfg_endpoint_parse(optarg, 0, &ep, why,
			    sizeof(why)) == -1)
				bad_value(optarg, "-H, --host", why);
			cfg_endpoint_clear(&ep);
			if (ov.nlisten == DM_MAX_LISTEN) {
				snprintf(why, sizeof(why), "at most %d "
				    "listeners", DM_MAX_LISTEN);
				bad_value(optarg, "-H, --host", why);
			}
			ov.listen[ov.nlisten++] = optarg;
			break;
		case 'S':
			if (*optarg == '\0')
				bad_value(optarg, "--store",
				    "a path is needed");
			ov.store = optarg;
			break;
		case 'v':
			level = LOG_LVL_DEBUG;
			break;
		case 'L':
			if (log_level_parse(optarg, &level) == -1)
				bad_value(optarg, "--log-level", "error, warn, "
				    "info or debug");
			break;
		case 'V':
			printf("dockmuxd %s\n", DOCKMUX_VERSION);
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			dm_flag_error(why, sizeof(why), ch, optopt,
			    argv[optind - 1]);
			usage_error(why);
		}
	}
	/* "dockmuxd help", as "dockmux help". */
	if (argc - optind == 1 && strcmp(argv[optind], "help") == 0) {
		usage(stdout);
		return 0;
	}
	if (optind != argc)
		usage_error("\"dockmuxd\" accepts no arguments.");
	log_init(level, "dockmuxd");

	if (check_only) {
		char	ebuf[2048];

		cfg = cfg_load_file(config, ebuf, sizeof(ebuf));
		if (cfg == NULL) {
			fprintf(stderr, "dockmuxd: %s\n", ebuf);
			return 1;
		}
		apply_overrides(cfg, &ov);
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
	sigaddset(&sigs, SIGUSR2);
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
	apply_overrides(cfg, &ov);

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
	announce_ready(&ls, disp);
	if (notify_start(disp, upgrade_is_successor()) == -1)
		log_warnx("msg=\"cannot start the systemd notifier; no STATUS= "
		    "updates or watchdog pings\"");

	memset(&sv, 0, sizeof(sv));
	sv.disp = disp;
	sv.api = api;
	sv.ls = &ls;
	sv.config = config;
	sv.explicit_config = explicit_config;
	sv.ov = &ov;
	sv.grace_s = cfg->upgrade_grace_s;
	sig = serve_signals(&sv, &sigs);
	stop_serving(&sv, sig, cancel[1]);
	disp_free(disp);
	backend_lib_cleanup();
	close_listeners(&ls);
	cfg_free(cfg);
	close(cancel[0]);
	close(cancel[1]);
	upgrade_free();
	log_info("msg=\"stopped\"");
	return 0;
}
