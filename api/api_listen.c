/*
 * api_listen.c: the listening sockets: a Unix one bound here (stale file
 * replaced, live one refused, mode and group set), a TCP one, or sockets
 * passed in by systemd or by the dockmuxd before us (USR2), and the names
 * that pass ours on.
 */
/* Threads: called once from main before any server thread exists. */

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
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

/*
 * A name in LISTEN_FDNAMES cannot hold ':' (the separator): a URL's ':'
 * goes as "%3A" and '%' as "%25".  A name that is not one of our URLs
 * once decoded ("dockmux.socket", "unknown") is systemd's.
 */
static void
decode_name(const char *s, size_t n, char *out, size_t len)
{
	size_t	i, o = 0;

	for (i = 0; i < n && o + 1 < len; i++) {
		if (n - i >= 3 && strncasecmp(s + i, "%3a", 3) == 0) {
			out[o++] = ':';
			i += 2;
		} else if (n - i >= 3 && strncmp(s + i, "%25", 3) == 0) {
			out[o++] = '%';
			i += 2;
		} else
			out[o++] = s[i];
	}
	out[o] = '\0';
	if (strncmp(out, "unix://", 7) != 0 && strncmp(out, "tcp://", 6) != 0)
		out[0] = '\0';
}

size_t
api_listen_inherited(struct api_inherited *out, size_t max)
{
	const char	*pid = getenv("LISTEN_PID");
	const char	*nfds = getenv("LISTEN_FDS");
	const char	*names = getenv("LISTEN_FDNAMES");
	long		 n;
	size_t		 i, got = 0, len;

	if (pid == NULL || nfds == NULL)
		return 0;
	n = strtol(nfds, NULL, 10);
	if (strtol(pid, NULL, 10) != (long)getpid() || n < 1)
		return 0;
	for (i = 0; i < (size_t)n && got < max; i++) {
		out[got].fd = SD_LISTEN_FDS_START + (int)i;
		out[got].url[0] = '\0';
		if (names != NULL && *names != '\0') {
			len = strcspn(names, ":");
			decode_name(names, len, out[got].url,
			    sizeof(out[got].url));
			names += len + (names[len] == ':');
		}
		if (fcntl(out[got].fd, F_SETFD, FD_CLOEXEC) == -1)
			continue;	/* not open: nothing passed there */
		got++;
	}
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
	return got;
}

int
api_listen_names(const char *const *urls, size_t n, char *out, size_t len)
{
	const char	*u;
	size_t		 i, o = 0, step;

	if (len == 0)
		return -1;
	for (i = 0; i < n; i++) {
		u = urls[i] != NULL && *urls[i] != '\0' ? urls[i] : "systemd";
		if (i > 0) {
			if (o + 1 >= len)
				return -1;
			out[o++] = ':';
		}
		for (; *u != '\0'; u++) {
			step = *u == ':' || *u == '%' ? 3 : 1;
			if (o + step >= len)
				return -1;
			if (step == 1)
				out[o] = *u;
			else
				memcpy(out + o, *u == ':' ? "%3A" : "%25", 3);
			o += step;
		}
	}
	out[o] = '\0';
	return 0;
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
