/*
 * api_classify.c: the route table: every Engine API endpoint dockmux
 * treats specially, as data, and the matcher that turns a method and
 * path into a typed request for the dispatcher.
 */
/* Threads: pure functions over a const table; any thread. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "api/api.h"

/*
 * A pattern is a path whose segments are literal, "{id}" (the resource
 * id), "{action}" (one segment kept as the action) or a final "*" (any
 * rest).  Method "*" matches every method.  First match wins.
 */
struct api_route {
	const char		*method;
	const char		*pattern;
	enum disp_kind		 kind;
	enum disp_resource	 res;
	const char		*action;	/* fixed action, or NULL */
};

static const struct api_route routes[] = {
	{ .method = "GET", .pattern = "/_ping", .kind = ROUTE_LOCAL,
	    .res = RES_PING },
	{ .method = "HEAD", .pattern = "/_ping", .kind = ROUTE_LOCAL,
	    .res = RES_PING },
	{ .method = "GET", .pattern = "/version", .kind = ROUTE_LOCAL,
	    .res = RES_VERSION },
	{ .method = "GET", .pattern = "/info", .kind = ROUTE_LOCAL,
	    .res = RES_INFO },
	{ .method = "*", .pattern = "/_dockmux/{action}", .kind = ROUTE_ADMIN,
	    .res = RES_DOCKMUX },
	{ .method = "*", .pattern = "/_dockmux/{action}/*",
	    .kind = ROUTE_ADMIN, .res = RES_DOCKMUX },

	{ .method = "POST", .pattern = "/containers/create",
	    .kind = ROUTE_CREATE, .res = RES_CONTAINERS, .action = "create" },
	{ .method = "GET", .pattern = "/containers/json",
	    .kind = ROUTE_FANOUT, .res = RES_CONTAINERS, .action = "list" },
	{ .method = "POST", .pattern = "/containers/prune",
	    .kind = ROUTE_FANOUT, .res = RES_CONTAINERS, .action = "prune" },
	{ .method = "GET", .pattern = "/containers/{id}/logs",
	    .kind = ROUTE_READ_FALLBACK, .res = RES_CONTAINERS,
	    .action = "logs" },
	{ .method = "GET", .pattern = "/containers/{id}/stats",
	    .kind = ROUTE_READ_FALLBACK, .res = RES_CONTAINERS,
	    .action = "stats" },
	{ .method = "POST", .pattern = "/containers/{id}/attach",
	    .kind = ROUTE_HIJACK, .res = RES_CONTAINERS, .action = "attach" },
	{ .method = "*", .pattern = "/containers/{id}",
	    .kind = ROUTE_PER_CONTAINER, .res = RES_CONTAINERS, .action = "" },
	{ .method = "*", .pattern = "/containers/{id}/{action}",
	    .kind = ROUTE_PER_CONTAINER, .res = RES_CONTAINERS },
	{ .method = "*", .pattern = "/containers/{id}/{action}/*",
	    .kind = ROUTE_PER_CONTAINER, .res = RES_CONTAINERS },
	{ .method = "POST", .pattern = "/commit",
	    .kind = ROUTE_PER_CONTAINER, .res = RES_CONTAINERS,
	    .action = "commit" },

	{ .method = "POST", .pattern = "/exec/{id}/start",
	    .kind = ROUTE_HIJACK, .res = RES_EXEC, .action = "start" },
	{ .method = "*", .pattern = "/exec/{id}/{action}",
	    .kind = ROUTE_PER_EXEC, .res = RES_EXEC },
	{ .method = "*", .pattern = "/exec/{id}/*",
	    .kind = ROUTE_PER_EXEC, .res = RES_EXEC },

	{ .method = "GET", .pattern = "/images/json", .kind = ROUTE_FANOUT,
	    .res = RES_IMAGES, .action = "list" },
	{ .method = "POST", .pattern = "/images/create", .kind = ROUTE_FANOUT,
	    .res = RES_IMAGES, .action = "pull" },
	{ .method = "POST", .pattern = "/images/prune", .kind = ROUTE_FANOUT,
	    .res = RES_IMAGES, .action = "prune" },
	{ .method = "*", .pattern = "/images/*", .kind = ROUTE_PRIMARY,
	    .res = RES_IMAGES },
	{ .method = "GET", .pattern = "/events", .kind = ROUTE_FANOUT,
	    .res = RES_EVENTS, .action = "events" },
	{ .method = "*", .pattern = "/networks/*", .kind = ROUTE_PRIMARY,
	    .res = RES_NETWORKS },
	{ .method = "*", .pattern = "/networks", .kind = ROUTE_PRIMARY,
	    .res = RES_NETWORKS },
	{ .method = "*", .pattern = "/volumes/*", .kind = ROUTE_PRIMARY,
	    .res = RES_VOLUMES },
	{ .method = "*", .pattern = "/volumes", .kind = ROUTE_PRIMARY,
	    .res = RES_VOLUMES },
	{ .method = "*", .pattern = "/system/*", .kind = ROUTE_PRIMARY,
	    .res = RES_SYSTEM },
	{ .method = "POST", .pattern = "/build", .kind = ROUTE_PRIMARY,
	    .res = RES_BUILD, .action = "build" },
};

/*
 * Copy one path segment [s, e) into dst.  -1 when it does not fit.
 */
static int
copy_seg(char *dst, size_t len, const char *s, const char *e)
{
	size_t	n = (size_t)(e - s);

	if (n >= len)
		return -1;
	memcpy(dst, s, n);
	dst[n] = '\0';
	return 0;
}

static int
match(const struct api_route *r, const char *method, const char *path,
    struct disp_req *out)
{
	const char	*p = r->pattern, *s = path, *pe, *se;

	if (strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0)
		return 0;
	out->id[0] = '\0';
	out->action[0] = '\0';
	for (;;) {
		if (*p == '\0')
			return *s == '\0' || strcmp(s, "/") == 0;
		if (*p != '/' || *s != '/')
			return 0;
		p++;
		s++;
		pe = strchr(p, '/');
		if (pe == NULL)
			pe = p + strlen(p);
		se = strchr(s, '/');
		if (se == NULL)
			se = s + strlen(s);
		if (strncmp(p, "*", (size_t)(pe - p)) == 0 && pe - p == 1)
			return 1;	/* any rest, even empty */
		if (se == s)
			return 0;	/* empty segment */
		if (strncmp(p, "{id}", 4) == 0 && pe - p == 4) {
			if (copy_seg(out->id, sizeof(out->id), s, se) == -1)
				return 0;
		} else if (strncmp(p, "{action}", 8) == 0 && pe - p == 8) {
			if (copy_seg(out->action, sizeof(out->action), s, se)
			    == -1)
				return 0;
		} else if ((size_t)(pe - p) != (size_t)(se - s) ||
		    strncmp(p, s, (size_t)(pe - p)) != 0)
			return 0;
		p = pe;
		s = se;
	}
}

/* "/v1.41/..." → api_version "1.41", rest "/...". */
static int
split_version(const char *path, struct disp_req *out)
{
	const char	*p = path + 2;
	size_t		 n;

	out->api_version[0] = '\0';
	out->rest = path;
	if (strncmp(path, "/v", 2) != 0 || !isdigit((unsigned char)*p))
		return 0;
	while (isdigit((unsigned char)*p) || *p == '.')
		p++;
	if (*p != '/' && *p != '\0')
		return 0;	/* "/vfoo": not a version prefix */
	n = (size_t)(p - (path + 2));
	if (n >= sizeof(out->api_version))
		return -1;
	memcpy(out->api_version, path + 2, n);
	out->api_version[n] = '\0';
	out->rest = *p == '\0' ? "/" : p;
	return 0;
}

int
api_classify(const char *method, const char *path, struct disp_req *out)
{
	size_t	i;

	out->kind = ROUTE_PRIMARY;
	out->res = RES_OTHER;
	out->id[0] = '\0';
	out->action[0] = '\0';
	if (split_version(path, out) == -1)
		return -1;
	for (i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (match(&routes[i], method, out->rest, out)) {
			out->kind = routes[i].kind;
			out->res = routes[i].res;
			if (routes[i].action != NULL)
				snprintf(out->action, sizeof(out->action),
				    "%s", routes[i].action);
			return 0;
		}
	}
	out->id[0] = '\0';
	out->action[0] = '\0';
	return 0;
}
