/*
 * cfg_detect.c: what this host offers a configuration that names no
 * engines: the XDG directories, the usual engine sockets, and which of
 * them answer GET /_ping.  The bottom of config/: cfg.c calls here (for
 * "backends": "auto" and cfg_autodetect()), never the reverse.
 */
/* Threads: main only, before other threads start (and on reload). */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>

#include "config/cfg.h"
#include "lib/limits.h"
#include "lib/util.h"

/* The usual engine sockets, probed in this order (DESIGN.md). */
static const struct detect_default {
	const char	*name;
	const char	*dir_env;	/* NULL: path is absolute */
	const char	*path;
} detect_defaults[] = {
	{ "docker", NULL, "/var/run/docker.sock" },
	{ "podman", NULL, "/run/podman/podman.sock" },
	{ "docker-user", "XDG_RUNTIME_DIR", "/docker.sock" },
	{ "podman-user", "XDG_RUNTIME_DIR", "/podman/podman.sock" },
};

#define NDEFAULTS	(sizeof(detect_defaults) / sizeof(detect_defaults[0]))

/* Enough for an engine's answer to GET /_ping: a head and "OK". */
#define PING_ANSWER_MAX	2048

/* One candidate socket: the backend name it would get, its path(s). */
struct detect_cand {
	char	name[DM_MAX_NAME];
	char	path[PATH_MAX];
	char	real[PATH_MAX];	/* realpath(path); "" unless it answered */
};

const char *
cfg_xdg_dir(const char *var)
{
	const char	*s = getenv(var);

	if (s == NULL || s[0] != '/')
		return NULL;
	return s;
}

/*
 * The candidate list: DOCKMUX_AUTODETECT_SOCKETS (colon-separated, names
 * engine0, engine1, ... by position) when set, else the usual sockets
 * whose directory variable is set.  Returns how many were filled.
 */
static size_t
detect_candidates(struct detect_cand *cand, size_t max)
{
	const struct detect_default	*d;
	const char			*env, *dir;
	char				*list, *p, *s;
	size_t				 i, n = 0;

	if ((env = getenv("DOCKMUX_AUTODETECT_SOCKETS")) != NULL) {
		list = xstrdup(env);
		for (i = 0, p = list; (s = strsep(&p, ":")) != NULL; i++) {
			if (*s == '\0' || n == max)
				continue;
			snprintf(cand[n].name, sizeof(cand[n].name),
			    "engine%zu", i);
			snprintf(cand[n].path, sizeof(cand[n].path), "%s", s);
			n++;
		}
		free(list);
		return n;
	}
	for (i = 0; i < NDEFAULTS && n < max; i++) {
		d = &detect_defaults[i];
		dir = "";
		if (d->dir_env != NULL &&
		    (dir = cfg_xdg_dir(d->dir_env)) == NULL)
			continue;
		snprintf(cand[n].name, sizeof(cand[n].name), "%s", d->name);
		snprintf(cand[n].path, sizeof(cand[n].path), "%s%s", dir,
		    d->path);
		n++;
	}
	return n;
}

/*
 * Read what the engine sends until it closes (HTTP/1.0), buf is full or
 * the deadline passes.  Returns the bytes read.
 */
static size_t
read_until_close(int fd, char *buf, size_t max, long long deadline)
{
	struct pollfd	pfd = { .fd = fd, .events = POLLIN };
	long long	left;
	size_t		got = 0;
	ssize_t		n;

	while (got < max && (left = deadline - dm_mono_ms()) > 0) {
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;	/* EINTR, or the deadline: loop ends */
		n = read(fd, buf + got, max - got);
		if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/*
 * One HTTP/1.0 GET of uri on the Unix socket at path, so the server closes
 * once it has answered.  Returns the status, with *body pointing at the
 * body inside buf (len bytes at most); -1 when no HTTP answer came within
 * DM_PING_TIMEOUT_MS.
 */
static int
unix_get(const char *path, const char *uri, char *buf, size_t len,
    const char **body)
{
	struct sockaddr_un	 sun;
	char			 req[128];
	size_t			 got;
	int			 fd = -1, n, status = -1;

	if ((n = dm_sun_path(&sun, path)) == -1)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		goto out;
	/* A Unix socket connects at once or not at all (EAGAIN: the
	 * server's backlog is full, as good as no answer). */
	if (connect(fd, (struct sockaddr *)&sun, (socklen_t)n) == -1)
		goto out;
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.0\r\nHost: docker\r\n"
	    "\r\n", uri);
	if (send(fd, req, (size_t)n, MSG_NOSIGNAL) != n)
		goto out;
	got = read_until_close(fd, buf, len - 1, dm_mono_ms() +
	    DM_PING_TIMEOUT_MS);
	buf[got] = '\0';
	/* "HTTP/1.x NNN " */
	if (got < 13 || strncmp(buf, "HTTP/1.", 7) != 0 || buf[8] != ' ' ||
	    strspn(buf + 9, "0123456789") != 3 || buf[12] != ' ')
		goto out;
	if ((*body = strstr(buf, "\r\n\r\n")) == NULL)
		goto out;
	*body += 4;
	status = atoi(buf + 9);
out:
	if (fd != -1)
		close(fd);
	return status;
}

/*
 * The question backend_socket_answers() asks over libcurl, asked here
 * without it (config/ links no HTTP client): 1 when GET /_ping answers 200
 * with the body "OK", each exchange within DM_PING_TIMEOUT_MS, else 0.
 * One more question first: a dockmuxd answers /_ping too, and when it
 * serves /var/run/docker.sock itself, taking it for an engine would send
 * its requests back to itself forever.  An engine answers 404 under
 * /_dockmux/; a dockmuxd 200.
 */
int
cfg_socket_answers(const char *path)
{
	char		 buf[PING_ANSWER_MAX];
	const char	*body;
	int		 st;

	st = unix_get(path, "/_dockmux/ping", buf, sizeof(buf), &body);
	if (st == -1 || (st >= 200 && st < 300))
		return 0;
	st = unix_get(path, "/_ping", buf, sizeof(buf), &body);
	return st == 200 && strcmp(body, "OK") == 0;
}

struct json_object *
cfg_detect_backends(int (*answers)(const char *), char *tried,
    size_t triedlen)
{
	struct detect_cand	*cand;
	struct json_object	*arr, *be;
	char			 url[PATH_MAX + 8];
	size_t			 i, j, n, used = 0;

	/* 32 candidates of two PATH_MAX paths: too much for a stack. */
	cand = xcalloc(DM_MAX_BACKENDS, sizeof(*cand));
	arr = json_object_new_array();
	n = detect_candidates(cand, DM_MAX_BACKENDS);
	if (triedlen > 0)
		snprintf(tried, triedlen, "%s", n == 0 ?
		    "(no sockets to try)" : "");
	for (i = 0; i < n; i++) {
		if (used < triedlen)
			used += (size_t)snprintf(tried + used, triedlen - used,
			    "%s%s", i == 0 ? "" : ", ", cand[i].path);
		if (realpath(cand[i].path, cand[i].real) == NULL) {
			cand[i].real[0] = '\0';
			continue;
		}
		for (j = 0; j < i; j++)
			if (strcmp(cand[j].real, cand[i].real) == 0)
				break;
		if (j < i || !answers(cand[i].real)) {
			cand[i].real[0] = '\0';
			continue;
		}
		/* A relative path from the environment is made absolute. */
		snprintf(url, sizeof(url), "unix://%s", cand[i].path[0] == '/' ?
		    cand[i].path : cand[i].real);
		be = json_object_new_object();
		json_object_object_add(be, "name",
		    json_object_new_string(cand[i].name));
		json_object_object_add(be, "endpoint",
		    json_object_new_string(url));
		json_object_array_add(arr, be);
	}
	free(cand);
	return arr;
}
