/*
 * api_listen.c: the listening Unix socket: bound here (stale file
 * replaced, live one refused, mode and group set) or passed by systemd.
 */
/* Threads: called once from main before any server thread exists. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <netdb.h>
#include <unistd.h>

#include "api/api.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

#define SD_LISTEN_FDS_START 3	/* sd_listen_fds(3): the first passed fd */

/*
 * Something at path: a live listener (connect succeeds) keeps it and we
 * refuse; a socket nobody answers on is stale and goes; anything that is
 * not a socket is left alone and refused.
 */
static int
clear_stale(const char *path, const struct sockaddr_un *sun, socklen_t len,
    struct dm_err *err)
{
	struct stat	st;
	int		fd, rc;

	if (lstat(path, &st) == -1)
		return errno == ENOENT ? 0 : -1;
	if (!S_ISSOCK(st.st_mode)) {
		dm_err_set(err, DM_EINTERNAL, "%s exists and is not a socket",
		    path);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		dm_err_set(err, DM_EINTERNAL, "socket: %s", strerror(errno));
		return -1;
	}
	rc = connect(fd, (const struct sockaddr *)sun, len);
	close(fd);
	if (rc == 0) {
		dm_err_set(err, DM_EINTERNAL, "%s is in use by a running "
		    "daemon", path);
		return -1;
	}
	log_info("msg=\"replacing stale socket\" socket=%s", log_q(path));
	if (unlink(path) == -1 && errno != ENOENT) {
		dm_err_set(err, DM_EINTERNAL, "unlink %s: %s", path,
		    strerror(errno));
		return -1;
	}
	return 0;
}

int
api_listen_unix(const char *path, mode_t mode, const char *group,
    struct dm_err *err)
{
	struct sockaddr_un	 sun;
	struct group		*gr;
	mode_t			 old_mask;
	int			 fd = -1, len, rc;

	if ((len = dm_sun_path(&sun, path)) == -1) {
		dm_err_set(err, DM_EBADREQ, "socket path too long: %s", path);
		return -1;
	}
	if (clear_stale(path, &sun, (socklen_t)len, err) == -1) {
		if (err->st == DM_OK)
			dm_err_set(err, DM_EINTERNAL, "%s: %s", path,
			    strerror(errno));
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1) {
		dm_err_set(err, DM_EINTERNAL, "socket: %s", strerror(errno));
		return -1;
	}
	/*
	 * bind() creates the file with the mode the umask leaves: with a
	 * lax one (0 is common under service managers) it would be open
	 * to everyone until the chmod below.  Owner only (0600) until the
	 * group and mode are set, so at no moment does the file allow more
	 * than configured.  The umask is the process's: no other thread
	 * runs yet.
	 */
	old_mask = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sun, (socklen_t)len);
	umask(old_mask);
	if (rc == -1) {
		dm_err_set(err, DM_EINTERNAL, "bind %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	/* The group before the mode: its members get in only then. */
	if (group != NULL) {
		gr = getgrnam(group);
		if (gr == NULL) {
			dm_err_set(err, DM_EINTERNAL, "socket_group: no group "
			    "named \"%s\"", group);
			goto fail;
		}
		if (chown(path, (uid_t)-1, gr->gr_gid) == -1) {
			dm_err_set(err, DM_EINTERNAL, "chown %s: %s", path,
			    strerror(errno));
			goto fail;
		}
	}
	if (chmod(path, mode) == -1) {
		dm_err_set(err, DM_EINTERNAL, "chmod %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	if (listen(fd, DM_LISTEN_BACKLOG) == -1) {
		dm_err_set(err, DM_EINTERNAL, "listen %s: %s", path,
		    strerror(errno));
		goto fail;
	}
	return fd;
fail:
	close(fd);
	unlink(path);
	return -1;
}

/* The sd_listen_fds(3) protocol: LISTEN_PID is us, LISTEN_FDS >= 1. */
int
api_listen_inherited(void)
{
	const char	*pid = getenv("LISTEN_PID");
	const char	*nfds = getenv("LISTEN_FDS");
	int		 fd = SD_LISTEN_FDS_START;

	if (pid == NULL || nfds == NULL)
		return -1;
	if (strtol(pid, NULL, 10) != (long)getpid() ||
	    strtol(nfds, NULL, 10) < 1)
		return -1;
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	if (fcntl(fd, F_SETFD, FD_CLOEXEC) == -1)
		return -1;
	return fd;
}

int
api_listen_tcp(const char *host, int port, struct dm_err *err)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 svc[16];
	int		 fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(svc, sizeof(svc), "%d", port);
	if ((rc = getaddrinfo(host, svc, &hints, &res)) != 0) {
		dm_err_set(err, DM_EINTERNAL, "listen tcp://%s:%d: %s", host,
		    port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol);
		if (fd == -1)
			continue;
		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
		    sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, DM_LISTEN_BACKLOG) == 0)
			break;
		dm_err_set(err, DM_EINTERNAL, "listen tcp://%s:%d: %s", host,
		    port, strerror(errno));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}
