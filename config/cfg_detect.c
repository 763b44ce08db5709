/*
 * cfg_detect.c: a configuration from the engine sockets that answer.  The
 * probe is the caller's, so this file does no network I/O.  It calls into
 * cfg.c (cfg_load_string(), the default paths); cfg.c never calls here.
 */
/* Threads: main only, before other threads start. */

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* One candidate socket: the backend name it would get, its path(s). */
struct detect_cand {
	char	name[DM_MAX_NAME];
	char	path[PATH_MAX];
	char	real[PATH_MAX];	/* realpath(path); "" unless it answered */
};

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
 * Probe every candidate socket with answers() (1: an engine answered
 * GET /_ping there; the probe is the caller's, so this module does no
 * network I/O); those answering become backends in
 * order, a socket reached twice (/var/run -> /run) only once.  The config
 * is then built by cfg_load_string(), so defaults and validation are the
 * ones a file gets.
 */
struct cfg *
cfg_autodetect(int (*answers)(const char *), char *errbuf, size_t errlen)
{
	struct detect_cand	*cand;
	char			 url[PATH_MAX + 8];
	char			 tried[1024] = "";
	struct json_object	*root, *arr, *be;
	struct cfg		*cfg = NULL;
	size_t			 i, j, n, nfound = 0;

	/* 32 candidates of two PATH_MAX paths: too much for a stack. */
	cand = xcalloc(DM_MAX_BACKENDS, sizeof(*cand));
	root = json_object_new_object();
	arr = json_object_new_array();
	json_object_object_add(root, "backends", arr);
	n = detect_candidates(cand, DM_MAX_BACKENDS);
	for (i = 0; i < n; i++) {
		snprintf(tried + strlen(tried), sizeof(tried) - strlen(tried),
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
		nfound++;
	}
	if (nfound == 0) {
		if (errbuf != NULL && errlen > 0)
			snprintf(errbuf, errlen, "no configuration file and no "
			    "container engine answered GET /_ping on %s",
			    n == 0 ? "(no sockets to try)" : tried);
		goto out;
	}
	cfg = cfg_load_string(json_object_to_json_string(root), errbuf,
	    errlen);
	if (cfg != NULL)
		cfg->autodetected = 1;
out:
	json_object_put(root);
	free(cand);
	return cfg;
}
