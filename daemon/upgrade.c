/*
 * upgrade.c: restarts that keep streams, as nginx's binary upgrade: on
 * USR2 the binary is started anew with the listening sockets (passed as
 * systemd passes them) and one end of a socket pair.  The new process
 * says "R" on it once it serves; the old one then lets the sockets go and
 * answers "A"; the new one is on its own from there.  A new process that
 * exits, closes the pair or takes too long has failed, and the old one
 * goes on serving as if nothing had happened.
 */
/*
 * Threads: main only.  Between fork and exec the child calls only
 * async-signal-safe functions: the other threads' locks (malloc's among
 * them) may be held in the copy.
 */

#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/upgrade.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

#define UPGRADE_FD_ENV	"DOCKMUX_UPGRADE_FD"
#define FIRST_FD	3	/* sd_listen_fds(3): the first passed fd */
#define PID_ROOM	24	/* digits of a pid, and then some */

extern char	**environ;

static struct {
	char			*path;		/* owned: the binary */
	char			**argv;		/* owned array, borrowed strings */
	int			 hs;		/* the handshake socket; -1 */
	int			 successor;	/* an upgrade started us */
	enum upgrade_state	 st;
	pid_t			 child;		/* the new process; 0 */
	long long		 deadline;	/* monotonic ms: ready by then */
} up = { .hs = -1 };

/*
 * The binary as it was started, looked up again at each upgrade: after
 * `make install` the path names the new file, while /proc/self/exe would
 * still be the old one (deleted).  Relative names are made absolute now.
 */
static char *
find_binary(const char *argv0)
{
	const char	*p, *dirs;
	char		 buf[PATH_MAX], cwd[PATH_MAX];
	size_t		 n;

	if (argv0 == NULL || *argv0 == '\0')
		return xstrdup("/proc/self/exe");
	if (argv0[0] == '/')
		return xstrdup(argv0);
	if (strchr(argv0, '/') != NULL) {
		if (getcwd(cwd, sizeof(cwd)) == NULL ||
		    snprintf(buf, sizeof(buf), "%s/%s", cwd, argv0) >=
		    (int)sizeof(buf))
			return xstrdup("/proc/self/exe");
		return xstrdup(buf);
	}
	/* Found through PATH, as the shell did. */
	dirs = getenv("PATH");
	for (p = dirs; p != NULL && *p != '\0'; p += n + (p[n] == ':')) {
		n = strcspn(p, ":");
		if (n == 0 || snprintf(buf, sizeof(buf), "%.*s/%s", (int)n, p,
		    argv0) >= (int)sizeof(buf))
			continue;
		if (buf[0] == '/' && access(buf, X_OK) == 0)
			return xstrdup(buf);
	}
	return xstrdup("/proc/self/exe");
}

/* The handshake socket the old process passed, when LISTEN_PID is us. */
static int
take_handshake(void)
{
	const char	*v = getenv(UPGRADE_FD_ENV);
	const char	*pid = getenv("LISTEN_PID");
	long		 fd;
	char		*end;

	if (v == NULL)
		return -1;
	unsetenv(UPGRADE_FD_ENV);
	if (pid == NULL || strtol(pid, NULL, 10) != (long)getpid())
		return -1;
	fd = strtol(v, &end, 10);
	if (*end != '\0' || fd < FIRST_FD || fd > INT_MAX ||
	    fcntl((int)fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return (int)fd;
}

void
upgrade_init(int argc, char *argv[])
{
	int	i;

	up.argv = xcalloc((size_t)argc + 1, sizeof(*up.argv));
	for (i = 0; i < argc; i++)
		up.argv[i] = argv[i];
	up.path = find_binary(argc > 0 ? argv[0] : NULL);
	up.hs = take_handshake();
	up.successor = up.hs != -1;
}

void
upgrade_free(void)
{
	if (up.hs != -1)
		close(up.hs);
	up.hs = -1;
	free(up.path);
	free(up.argv);
	up.path = NULL;
	up.argv = NULL;
}

/* ---- the old process ---- */

/* Our environment less what describes our own start, plus the hand-over. */
static char **
child_env(size_t n, const char *fdnames, char **pid_at)
{
	static const char *const drop[] = {
		"LISTEN_PID=", "LISTEN_FDS=", "LISTEN_FDNAMES=",
		UPGRADE_FD_ENV "=",
	};
	char	**env, **e;
	size_t	  count = 0, k, i;
	int	  keep;

	for (e = environ; *e != NULL; e++)
		count++;
	env = xcalloc(count + 5, sizeof(*env));
	for (k = 0, e = environ; *e != NULL; e++) {
		keep = 1;
		for (i = 0; i < sizeof(drop) / sizeof(drop[0]); i++)
			if (strncmp(*e, drop[i], strlen(drop[i])) == 0)
				keep = 0;
		if (keep)
			env[k++] = xstrdup(*e);
	}
	env[k] = xmalloc(32);
	snprintf(env[k++], 32, "LISTEN_FDS=%zu", n);
	env[k] = xmalloc(strlen(fdnames) + 16);
	snprintf(env[k], strlen(fdnames) + 16, "LISTEN_FDNAMES=%s", fdnames);
	k++;
	env[k] = xmalloc(64);
	snprintf(env[k++], 64, "%s=%zu", UPGRADE_FD_ENV, FIRST_FD + n);
	/* The child writes its own pid here: only it knows it. */
	env[k] = xcalloc(1, sizeof("LISTEN_PID=") + PID_ROOM);
	memcpy(env[k], "LISTEN_PID=", sizeof("LISTEN_PID=") - 1);
	*pid_at = env[k] + sizeof("LISTEN_PID=") - 1;
	return env;
}

static void
free_env(char **env)
{
	char	**e;

	for (e = env; *e != NULL; e++)
		free(*e);
	free(env);
}

/* Async-signal-safe: pid in decimal at p. */
static void
put_pid(char *p, pid_t pid)
{
	char		 tmp[PID_ROOM];
	unsigned long	 v = (unsigned long)pid;
	int		 k = 0;

	do
		tmp[k++] = (char)('0' + v % 10);
	while ((v /= 10) != 0 && k < PID_ROOM - 1);
	while (k > 0)
		*p++ = tmp[--k];
	*p = '\0';
}

/*
 * In the child, between fork and exec: the listeners to fds 3.., the
 * handshake after them, every other fd closed (a client connection kept
 * open here would never see its EOF), signals unblocked.  Async-signal
 * safe only; never returns.
 */
static void
child_exec(const int *fds, size_t n, int hs, char **env, char *pid_at,
    const sigset_t *none, unsigned int maxfd)
{
	int		hi[DM_MAX_LISTEN + 1];
	unsigned int	top = FIRST_FD + (unsigned int)n, fd;
	size_t		i;

	/* Out of the way first: a source may sit where a target goes. */
	for (i = 0; i <= n; i++) {
		hi[i] = fcntl(i < n ? fds[i] : hs, F_DUPFD, (int)top + 1);
		if (hi[i] == -1)
			_exit(127);
	}
	for (i = 0; i <= n; i++)
		if (dup2(hi[i], FIRST_FD + (int)i) == -1)
			_exit(127);
	if (close_range(top + 1, ~0U, 0) == -1)
		for (fd = top + 1; fd < maxfd; fd++)
			(void)close((int)fd);
	put_pid(pid_at, getpid());
	(void)sigprocmask(SIG_SETMASK, none, NULL);
	execve(up.path, up.argv, env);
	_exit(127);
}

int
upgrade_start(const int *fds, size_t n, const char *fdnames,
    struct dm_err *err)
{
	char		**env = NULL, *pid_at = NULL;
	sigset_t	  none;
	pid_t		  pid;
	long		  maxfd = sysconf(_SC_OPEN_MAX);
	int		  sv[2] = { -1, -1 }, rc = -1;

	if (up.st != UPGRADE_NONE) {
		dm_err_set(err, DM_ECONFLICT, "an upgrade is under way");
		goto out;
	}
	if (n > DM_MAX_LISTEN) {
		dm_err_set(err, DM_EINTERNAL, "too many listeners");
		goto out;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == -1) {
		dm_err_set(err, DM_EINTERNAL, "socketpair: %s",
		    strerror(errno));
		goto out;
	}
	env = child_env(n, fdnames, &pid_at);
	sigemptyset(&none);
	pid = fork();
	if (pid == -1) {
		dm_err_set(err, DM_EINTERNAL, "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(fds, n, sv[1], env, pid_at, &none, maxfd > 0 &&
		    maxfd < (long)UINT_MAX ? (unsigned int)maxfd : 65536);
	(void)fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
	up.hs = sv[0];
	sv[0] = -1;
	up.child = pid;
	up.deadline = dm_mono_ms() + DM_UPGRADE_READY_MS;
	up.st = UPGRADE_STARTING;
	log_info("msg=\"upgrade: starting the new process\" binary=%s pid=%ld",
	    log_q(up.path), (long)pid);
	rc = 0;
out:
	if (env != NULL)
		free_env(env);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	return rc;
}

/* How a reaped child ended, for the log. */
static void
exit_text(int status, char *buf, size_t len)
{
	if (WIFEXITED(status))
		snprintf(buf, len, "exit=%d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(buf, len, "signal=%d", WTERMSIG(status));
	else
		snprintf(buf, len, "status=%d", status);
}

/*
 * The start failed: the child is made to end (killed unless it already
 * did, within a second) and reaped; the handshake goes.  FAILED.
 */
static enum upgrade_state
fail(const char *why)
{
	long long	until = dm_mono_ms() + 1000;
	char		how[32] = "killed";
	int		status;
	pid_t		r;

	while ((r = waitpid(up.child, &status, WNOHANG)) == 0 &&
	    dm_mono_ms() < until)
		poll(NULL, 0, DM_SHUTDOWN_POLL_MS);
	if (r == 0) {
		(void)kill(up.child, SIGKILL);
		r = waitpid(up.child, &status, 0);
	}
	if (r == up.child && !(WIFSIGNALED(status) &&
	    WTERMSIG(status) == SIGKILL))
		exit_text(status, how, sizeof(how));
	log_warnx("msg=\"upgrade failed; this process goes on serving\" "
	    "reason=%s pid=%ld %s", log_q(why), (long)up.child, how);
	close(up.hs);
	up.hs = -1;
	up.child = 0;
	up.st = UPGRADE_NONE;
	return UPGRADE_FAILED;
}

enum upgrade_state
upgrade_check(void)
{
	ssize_t	n;
	char	c;

	if (up.st != UPGRADE_STARTING)
		return up.st;
	n = read(up.hs, &c, 1);
	if (n == 1 && c == 'R') {
		up.st = UPGRADE_READY;
		log_info("msg=\"upgrade: the new process serves\" pid=%ld",
		    (long)up.child);
		return up.st;
	}
	if (n == 1 || n == 0)
		return fail("the new process ended before it was ready (see "
		    "its log lines above)");
	if (errno != EAGAIN && errno != EINTR)
		return fail(strerror(errno));
	if (dm_mono_ms() >= up.deadline) {
		(void)kill(up.child, SIGKILL);
		return fail("the new process was not ready in time");
	}
	return UPGRADE_STARTING;
}

pid_t
upgrade_successor(void)
{
	return up.child;
}

void
upgrade_confirm(void)
{
	if (up.st != UPGRADE_READY)
		return;
	if (write(up.hs, "A", 1) != 1)
		log_warn("msg=\"upgrade: cannot tell the new process\"");
	close(up.hs);
	up.hs = -1;
	up.st = UPGRADE_NONE;
}

void
upgrade_abort(void)
{
	if (up.st == UPGRADE_NONE)
		return;
	(void)kill(up.child, SIGKILL);
	(void)fail("stopped while the new process was starting");
}

void
upgrade_reap(void)
{
	char	how[32];
	int	status;

	if (up.child == 0 || up.st != UPGRADE_NONE ||
	    waitpid(up.child, &status, WNOHANG) != up.child)
		return;
	exit_text(status, how, sizeof(how));
	log_warnx("msg=\"upgrade: the new process has exited\" pid=%ld %s",
	    (long)up.child, how);
	up.child = 0;
}

/* ---- the new process ---- */

int
upgrade_is_successor(void)
{
	return up.successor;
}

int
upgrade_tell_ready(void)
{
	struct pollfd	p;
	char		c = 0;
	int		ok = 0;

	if (up.hs == -1)
		return 0;
	p.fd = up.hs;
	p.events = POLLIN;
	if (write(up.hs, "R", 1) == 1 &&
	    poll(&p, 1, DM_UPGRADE_CONFIRM_MS) == 1 &&
	    read(up.hs, &c, 1) == 1 && c == 'A')
		ok = 1;
	close(up.hs);
	up.hs = -1;
	return ok;
}
