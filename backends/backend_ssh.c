/*
 * backend_ssh.c: an engine behind ssh, reached the way the docker CLI
 * reaches ssh://user@host: "ssh ... docker system dial-stdio" on the far
 * side, HTTP over the ssh process's stdin and stdout.  A private Unix
 * socket (in a 0700 directory) stands for the engine here; each
 * connection accepted on it becomes one ssh process whose stdin and
 * stdout are that connection, so the rest of backends/ talks to it as to
 * any Unix engine, and its pooled connections keep their ssh processes.
 */
/*
 * Threads: one acceptor per bridge.  It starts ssh with posix_spawn
 * (nothing runs between fork and exec), reaps the ones that ended, and
 * keeps the last line an ssh wrote on stderr as the reason a failure is
 * reported with.  The bridge's mutex guards that line and the children.
 */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

extern char	**environ;

#define DM_SSH_ARGV_MAX	32	/* the longest ssh command line, with NULL */

/* One ssh process: its pid and the read end of its stderr. */
struct ssh_child {
	pid_t	pid;
	int	errfd;		/* -1 once read to its end */
	char	line[256];	/* the stderr line being read */
	size_t	len;
};

struct ssh_bridge {
	char		*name;		/* the backend's, for logs */
	char		*dir;		/* owned: the private directory */
	char		*sock;		/* owned: dir/engine.sock */
	char		**argv;		/* owned: ssh ... dial-stdio */
	int		 lfd;
	int		 wake[2];	/* a byte: stop */
	pthread_t	 thread;
	int		 running;
	pthread_mutex_t	 lock;
	struct ssh_child children[DM_SSH_MAX_CHILDREN];
	size_t		 nchildren;
	char		 last_error[256];
};

/* The ssh command line; every option before the host, "--" before it. */
static char **
ssh_argv(const struct backend_addr *a)
{
	char	**v = xcalloc(DM_SSH_ARGV_MAX, sizeof(*v));
	size_t	  n = 0;

	v[n++] = xstrdup("ssh");
	v[n++] = xstrdup("-T");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("BatchMode=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xstrdup("StrictHostKeyChecking=yes");
	v[n++] = xstrdup("-o");
	v[n++] = xasprintf("ConnectTimeout=%d",
	    (DM_CONNECT_TIMEOUT_MS + 999) / 1000);
	v[n++] = xstrdup("-o");
	v[n++] = xasprintf("ServerAliveInterval=%d", DM_SSH_ALIVE_S);
	if (a->ssh_known_hosts != NULL) {
		v[n++] = xstrdup("-o");
		v[n++] = xasprintf("UserKnownHostsFile=%s",
		    a->ssh_known_hosts);
	}
	if (a->ssh_identity != NULL) {
		v[n++] = xstrdup("-i");
		v[n++] = xstrdup(a->ssh_identity);
		v[n++] = xstrdup("-o");
		v[n++] = xstrdup("IdentitiesOnly=yes");
	}
	if (a->port > 0) {
		v[n++] = xstrdup("-p");
		v[n++] = xasprintf("%d", a->port);
	}
	if (a->ssh_user != NULL) {
		v[n++] = xstrdup("-l");
		v[n++] = xstrdup(a->ssh_user);
	}
	v[n++] = xstrdup("--");
	v[n++] = xstrdup(a->host);
	v[n++] = xstrdup("docker");
	v[n++] = xstrdup("system");
	v[n++] = xstrdup("dial-stdio");
	return v;
}

static void
argv_free(char **v)
{
	size_t	i;

	for (i = 0; v != NULL && v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* Start ssh with fd as its stdin and stdout.  0, or -1 (logged). */
static int
spawn_ssh(struct ssh_bridge *sb, int fd)
{
	posix_spawn_file_actions_t	 fa;
	posix_spawnattr_t		 attr;
	sigset_t			 none, dflt;
	struct ssh_child		*c;
	int				 errp[2], rc;
	pid_t				 pid;

	if (pipe2(errp, O_CLOEXEC) == -1)
		return -1;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd, 0);
	posix_spawn_file_actions_adddup2(&fa, fd, 1);
	posix_spawn_file_actions_adddup2(&fa, errp[1], 2);
	posix_spawnattr_init(&attr);
	/* dockmuxd blocks and ignores signals ssh must take as usual. */
	sigemptyset(&none);
	sigemptyset(&dflt);
	sigaddset(&dflt, SIGPIPE);
	sigaddset(&dflt, SIGTERM);
	sigaddset(&dflt, SIGINT);
	sigaddset(&dflt, SIGHUP);
	sigaddset(&dflt, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &dflt);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
	    POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawnp(&pid, "ssh", &fa, &attr, sb->argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(errp[1]);
	if (rc != 0) {
		close(errp[0]);
		pthread_mutex_lock(&sb->lock);
		snprintf(sb->last_error, sizeof(sb->last_error),
		    "cannot start ssh: %s", strerror(rc));
		pthread_mutex_unlock(&sb->lock);
		log_warnx("msg=\"cannot start ssh\" backend=%s reason=\"%s\"",
		    sb->name, strerror(rc));
		return -1;
	}
	(void)fcntl(errp[0], F_SETFL, O_NONBLOCK);
	pthread_mutex_lock(&sb->lock);
	c = &sb->children[sb->nchildren++];
	c->pid = pid;
	c->errfd = errp[0];
	c->len = 0;
	pthread_mutex_unlock(&sb->lock);
	return 0;
}

/* Under lock.  Read what child i wrote on stderr; keep the last line. */
static void
read_stderr(struct ssh_bridge *sb, struct ssh_child *c)
{
	char	buf[512];
	ssize_t	n, i;

	while (c->errfd != -1) {
		n = read(c->errfd, buf, sizeof(buf));
		if (n == -1 && (errno == EAGAIN || errno == EINTR))
			return;
		if (n <= 0) {
			close(c->errfd);
			c->errfd = -1;
			break;
		}
		for (i = 0; i < n; i++) {
			if (buf[i] == '\n' || buf[i] == '\r') {
				if (c->len > 0) {
					c->line[c->len] = '\0';
					snprintf(sb->last_error,
					    sizeof(sb->last_error), "ssh: %.240s",
					    c->line);
					log_warnx("msg=\"ssh said\" backend=%s "
					    "line=\"%s\"", sb->name, c->line);
				}
				c->len = 0;
			} else if (c->len + 1 < sizeof(c->line))
				c->line[c->len++] = buf[i];
		}
	}
}

/* Under lock.  Drop the children that ended (reaped, stderr read). */
static void
reap(struct ssh_bridge *sb)
{
	size_t	i = 0;
	int	st;

	while (i < sb->nchildren) {
		struct ssh_child *c = &sb->children[i];

		read_stderr(sb, c);
		if (waitpid(c->pid, &st, WNOHANG) != c->pid) {
			i++;
			continue;
		}
		read_stderr(sb, c);
		if (c->errfd != -1)
			close(c->errfd);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			sb->last_error[0] = '\0';
		sb->children[i] = sb->children[--sb->nchildren];
	}
}

static void *
acceptor(void *arg)
{
	struct ssh_bridge	*sb = arg;
	struct pollfd		 pfd[2];
	int			 fd;

	pfd[0].fd = sb->lfd;
	pfd[0].events = POLLIN;
	pfd[1].fd = sb->wake[0];
	pfd[1].events = POLLIN;
	for (;;) {
		pfd[0].revents = pfd[1].revents = 0;
		(void)poll(pfd, 2, DM_SSH_REAP_MS);
		if (pfd[1].revents != 0)
			break;
		pthread_mutex_lock(&sb->lock);
		reap(sb);
		pthread_mutex_unlock(&sb->lock);
		if (!(pfd[0].revents & POLLIN))
			continue;
		fd = accept4(sb->lfd, NULL, NULL, SOCK_CLOEXEC);
		if (fd == -1)
			continue;
		pthread_mutex_lock(&sb->lock);
		if (sb->nchildren == DM_SSH_MAX_CHILDREN) {
			snprintf(sb->last_error, sizeof(sb->last_error),
			    "more than %d ssh connections at once",
			    DM_SSH_MAX_CHILDREN);
			pthread_mutex_unlock(&sb->lock);
			close(fd);
			continue;
		}
		pthread_mutex_unlock(&sb->lock);
		(void)spawn_ssh(sb, fd);
		close(fd);	/* ssh has its own copies */
	}
	return NULL;
}

struct ssh_bridge *
ssh_bridge_start(const char *name, const struct backend_addr *a,
    struct dm_err *err)
{
	struct ssh_bridge	*sb = xcalloc(1, sizeof(*sb));
	struct sockaddr_un	 sun;
	char			 tmpl[] = "/tmp/dockmux-ssh.XXXXXX";
	const char		*base = getenv("TMPDIR");
	int			 len;

	sb->lfd = -1;
	sb->wake[0] = sb->wake[1] = -1;
	pthread_mutex_init(&sb->lock, NULL);
	sb->name = xstrdup(name);
	sb->argv = ssh_argv(a);
	if (base != NULL && base[0] == '/' && strlen(base) < 64)
		sb->dir = xasprintf("%s/dockmux-ssh.XXXXXX", base);
	else
		sb->dir = xstrdup(tmpl);
	if (mkdtemp(sb->dir) == NULL) {
		dm_err_set(err, DM_EINTERNAL, "ssh backend %s: mkdtemp: %s",
		    name, strerror(errno));
		free(sb->dir);
		sb->dir = NULL;
		goto fail;
	}
	sb->sock = xasprintf("%s/engine.sock", sb->dir);
	if ((len = dm_sun_path(&sun, sb->sock)) == -1 ||
	    (sb->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    bind(sb->lfd, (struct sockaddr *)&sun, (socklen_t)len) == -1 ||
	    listen(sb->lfd, DM_POOL_MAX_IDLE * 2) == -1 ||
	    pipe2(sb->wake, O_CLOEXEC) == -1) {
		dm_err_set(err, DM_EINTERNAL, "ssh backend %s: %s: %s", name,
		    sb->sock, strerror(errno));
		goto fail;
	}
	if (pthread_create(&sb->thread, NULL, acceptor, sb) != 0) {
		dm_err_set(err, DM_EINTERNAL, "ssh backend %s: no thread",
		    name);
		goto fail;
	}
	sb->running = 1;
	return sb;
fail:
	ssh_bridge_stop(sb);
	return NULL;
}

const char *
ssh_bridge_socket(const struct ssh_bridge *sb)
{
	return sb->sock;
}

void
ssh_bridge_error(struct ssh_bridge *sb, char *buf, size_t len)
{
	pthread_mutex_lock(&sb->lock);
	reap(sb);
	snprintf(buf, len, "%s", sb->last_error);
	pthread_mutex_unlock(&sb->lock);
}

void
ssh_bridge_stop(struct ssh_bridge *sb)
{
	size_t	i;
	int	st;

	if (sb == NULL)
		return;
	if (sb->running) {
		(void)!write(sb->wake[1], "x", 1);
		pthread_join(sb->thread, NULL);
	}
	/* Only the children this bridge started, by pid. */
	for (i = 0; i < sb->nchildren; i++)
		(void)kill(sb->children[i].pid, SIGTERM);
	for (i = 0; i < sb->nchildren; i++) {
		(void)waitpid(sb->children[i].pid, &st, 0);
		if (sb->children[i].errfd != -1)
			close(sb->children[i].errfd);
	}
	if (sb->lfd != -1)
		close(sb->lfd);
	if (sb->wake[0] != -1) {
		close(sb->wake[0]);
		close(sb->wake[1]);
	}
	if (sb->sock != NULL)
		unlink(sb->sock);
	if (sb->dir != NULL)
		rmdir(sb->dir);
	pthread_mutex_destroy(&sb->lock);
	argv_free(sb->argv);
	free(sb->sock);
	free(sb->dir);
	free(sb->name);
	free(sb);
}
