/*
 * disp_table.c: the endpoint table: every Engine API endpoint dockmux
 * treats specially, as data, each row with the backend it goes to and
 * the handler that serves it; and the matcher that turns a method, path
 * and query into a typed request.  One screen shows the whole surface.
 */
/* Threads: pure functions over a const table; any thread. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "daemon/disp_int.h"

/*
 * A pattern is a path whose segments are literal, "{id}" (the resource
 * id), "{action}" (one segment kept as the action) or "*": last, any
 * rest (even empty); elsewhere, one or more segments followed by the
 * pattern's literal tail ("/images/ * /json" for names with slashes).
 * Method "*" matches every method; a row with .query matches only when
 * the query has that key.  First match wins; no match is ROUTE_PRIMARY,
 * streamed to the primary.
 *
 * .target: where the call goes before its handler runs (TARGET_PRIMARY
 * unless said).  .json_body: when the target cannot be found, a body that
 * is not JSON is refused first (400), as dockerd reads it first.  .serve: the handler, run once the body is in; NULL
 * means the request is streamed to the target as it comes (a ROUTE_HIJACK
 * row with Upgrade: tcp is relayed raw).
 */
#define OWNER	.target = TARGET_OWNER

static const struct disp_endpoint endpoints[] = {
	/* answered by dockmuxd */
	{ "GET", "/_ping", ROUTE_LOCAL, RES_PING, .serve = disp_local_ping },
	{ "HEAD", "/_ping", ROUTE_LOCAL, RES_PING, .serve = disp_local_ping },
	{ "GET", "/version", ROUTE_LOCAL, RES_VERSION,
	    .serve = disp_local_version },
	{ "GET", "/info", ROUTE_LOCAL, RES_INFO, .serve = disp_local_info },
	{ "*", "/_dockmux/{action}", ROUTE_ADMIN, RES_DOCKMUX,
	    .serve = disp_admin_answer },
	{ "*", "/_dockmux/{action}/*", ROUTE_ADMIN, RES_DOCKMUX,
	    .serve = disp_admin_answer },

	/* containers: created by the rules, then served by their owner */
	{ "POST", "/containers/create", ROUTE_CREATE, RES_CONTAINERS,
	    .action = "create", .serve = disp_create },
	{ "GET", "/containers/json", ROUTE_FANOUT, RES_CONTAINERS,
	    .action = "list", .serve = disp_list_containers,
	    .start = disp_list_containers_start },
	{ "POST", "/containers/prune", ROUTE_FANOUT, RES_CONTAINERS,
	    .action = "prune", .serve = disp_prune },
	{ "GET", "/containers/{id}/logs", ROUTE_READ_FALLBACK,
	    RES_CONTAINERS, .action = "logs", OWNER,
	    .serve = disp_read_fallback },
	{ "GET", "/containers/{id}/stats", ROUTE_READ_FALLBACK,
	    RES_CONTAINERS, .action = "stats", OWNER,
	    .serve = disp_read_fallback },
	{ "POST", "/containers/{id}/attach", ROUTE_HIJACK, RES_CONTAINERS,
	    .action = "attach", OWNER },
	{ "POST", "/containers/{id}/exec", ROUTE_PER_CONTAINER,
	    RES_CONTAINERS, .action = "exec", OWNER, .json_body = 1,
	    .serve = disp_exec_create },
	{ "*", "/containers/{id}", ROUTE_PER_CONTAINER, RES_CONTAINERS,
	    .action = "", OWNER },
	/* A link's name is "parent/alias": removing it (?link=1), or any
	 * request naming a container by it, goes to the parent's owner as
	 * sent (a link and its child live on the parent's engine). */
	{ "DELETE", "/containers/{id}/{action}", ROUTE_PER_CONTAINER,
	    RES_CONTAINERS, .target = TARGET_LINK_OWNER },
	{ "*", "/containers/{id}/{action}", ROUTE_PER_CONTAINER,
	    RES_CONTAINERS, OWNER },
	{ "*", "/containers/{id}/attach/*", ROUTE_PER_CONTAINER,
	    RES_CONTAINERS, .action = "attach", OWNER },
	/* No other action has a sub-path: this is a link's name. */
	{ "*", "/containers/{id}/{action}/*", ROUTE_PER_CONTAINER,
	    RES_CONTAINERS, .target = TARGET_LINK_OWNER },
	{ "POST", "/commit", ROUTE_PER_CONTAINER, RES_CONTAINERS,
	    .action = "commit", OWNER },
	{ "POST", "/exec/{id}/start", ROUTE_HIJACK, RES_EXEC,
	    .action = "start", OWNER, .json_body = 1 },
	{ "*", "/exec/{id}/{action}", ROUTE_PER_EXEC, RES_EXEC, OWNER },
	{ "*", "/exec/{id}/*", ROUTE_PER_EXEC, RES_EXEC, OWNER },

	/* images: merged, pulled and removed everywhere, read where held */
	{ "GET", "/images/json", ROUTE_FANOUT, RES_IMAGES, .action = "list",
	    .serve = disp_list_images },
	{ "*", "/images/create", ROUTE_FANOUT, RES_IMAGES, .action = "pull",
	    .query = "fromImage", .serve = disp_pull },
	{ "*", "/images/create", ROUTE_FANOUT, RES_IMAGES,
	    .action = "import", .target = TARGET_PLATFORM },
	{ "POST", "/images/prune", ROUTE_FANOUT, RES_IMAGES,
	    .action = "prune", .serve = disp_prune },
	{ "*", "/images/load", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_PLATFORM },
	{ "DELETE", "/images/*", ROUTE_PRIMARY, RES_IMAGES,
	    .serve = disp_image_each },
	{ "POST", "/images/*/tag", ROUTE_PRIMARY, RES_IMAGES,
	    .serve = disp_image_each },
	{ "*", "/images/get", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_IMAGE_HOLDER },
	{ "*", "/images/*/json", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_IMAGE_HOLDER },
	{ "*", "/images/*/history", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_IMAGE_HOLDER },
	{ "*", "/images/*/push", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_IMAGE_HOLDER },
	{ "*", "/images/*/get", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_IMAGE_HOLDER },
	{ "*", "/images/*", ROUTE_PRIMARY, RES_IMAGES,
	    .target = TARGET_PRIMARY },
	/* BuildKit: the session (Upgrade: h2c) is relayed raw to the
	 * primary, and the build naming a session goes where it is. */
	{ "POST", "/session", ROUTE_HIJACK, RES_BUILD, .action = "session",
	    .target = TARGET_PRIMARY },
	{ "*", "/grpc", ROUTE_HIJACK, RES_BUILD, .action = "grpc",
	    .target = TARGET_PRIMARY },
	{ "POST", "/build", ROUTE_PRIMARY, RES_BUILD, .action = "build",
	    .query = "session", .target = TARGET_PRIMARY },
	{ "POST", "/build", ROUTE_PRIMARY, RES_BUILD, .action = "build",
	    .target = TARGET_PLATFORM },

	{ "GET", "/events", ROUTE_FANOUT, RES_EVENTS, .action = "events",
	    .serve = disp_events },

	/* networks and volumes: replicated by name, lists merged */
	{ "GET", "/networks", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_netvol_list },
	{ "POST", "/networks/create", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_netvol_replicate },
	{ "POST", "/networks/prune", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_prune },
	{ "DELETE", "/networks/{id}", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_netvol_replicate },
	{ "POST", "/networks/*/connect", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_network_connect },
	{ "POST", "/networks/*/disconnect", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_network_connect },
	{ "GET", "/networks/*", ROUTE_PRIMARY, RES_NETWORKS,
	    .serve = disp_first_holder },
	{ "*", "/networks/*", ROUTE_PRIMARY, RES_NETWORKS,
	    .target = TARGET_PRIMARY },
	{ "*", "/networks", ROUTE_PRIMARY, RES_NETWORKS,
	    .target = TARGET_PRIMARY },
	{ "GET", "/volumes", ROUTE_PRIMARY, RES_VOLUMES,
	    .serve = disp_netvol_list },
	{ "POST", "/volumes/create", ROUTE_PRIMARY, RES_VOLUMES,
	    .serve = disp_netvol_replicate },
	{ "POST", "/volumes/prune", ROUTE_PRIMARY, RES_VOLUMES,
	    .serve = disp_prune },
	{ "DELETE", "/volumes/{id}", ROUTE_PRIMARY, RES_VOLUMES,
	    .serve = disp_netvol_replicate },
	{ "GET", "/volumes/*", ROUTE_PRIMARY, RES_VOLUMES,
	    .serve = disp_first_holder },
	{ "*", "/volumes/*", ROUTE_PRIMARY, RES_VOLUMES,
	    .target = TARGET_PRIMARY },
	{ "*", "/volumes", ROUTE_PRIMARY, RES_VOLUMES,
	    .target = TARGET_PRIMARY },
	{ "GET", "/system/df", ROUTE_PRIMARY, RES_SYSTEM,
	    .serve = disp_system_df },
	{ "*", "/system/*", ROUTE_PRIMARY, RES_SYSTEM,
	    .target = TARGET_PRIMARY },
};

/* What every request no row matches gets: streamed to the primary. */
static const struct disp_endpoint fallback = {
	"*", "*", ROUTE_PRIMARY, RES_OTHER, .target = TARGET_PRIMARY
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

/* 1 when s, one or more segments, ends with tail ("/json"). */
static int
ends_with_tail(const char *s, const char *tail)
{
	size_t	n = strlen(s), t = strlen(tail);

	return n > t && *s != '/' && strcmp(s + n - t, tail) == 0;
}

static int
match(const struct disp_endpoint *r, const char *method, const char *path,
    const char *query, struct disp_req *out)
{
	const char	*p = r->pattern, *s = path, *pe, *se;
	char		 v[2];

	if (strcmp(r->method, "*") != 0 && strcmp(r->method, method) != 0)
		return 0;
	if (r->query != NULL && !disp_query_get(query, r->query, v,
	    sizeof(v)))
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
		if (pe - p == 1 && *p == '*')
			return *pe == '\0' ? 1 :	/* any rest, even empty */
			    ends_with_tail(s, pe);
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
disp_classify(const char *method, const char *path, struct disp_req *out)
{
	size_t	i;

	out->kind = ROUTE_PRIMARY;
	out->res = RES_OTHER;
	out->ep = &fallback;
	out->id[0] = '\0';
	out->action[0] = '\0';
	if (split_version(path, out) == -1)
		return -1;
	for (i = 0; i < sizeof(endpoints) / sizeof(endpoints[0]); i++) {
		if (match(&endpoints[i], method, out->rest, out->query, out)) {
			out->ep = &endpoints[i];
			out->kind = endpoints[i].kind;
			out->res = endpoints[i].res;
			if (endpoints[i].action != NULL)
				snprintf(out->action, sizeof(out->action),
				    "%s", endpoints[i].action);
			return 0;
		}
	}
	out->id[0] = '\0';
	out->action[0] = '\0';
	return 0;
}
