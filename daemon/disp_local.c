/*
 * disp_local.c: requests dockmuxd answers itself: /_ping, /version and
 * /info over every backend.
 */
/* Threads: the call workers; health is copied out under disp->lock. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/version.h"
#include "lib/util.h"

#define FALLBACK_API_VERSION	"1.41"	/* when no engine was ever reached */

/* Compare "1.41" and "1.40" numerically: <0, 0, >0. */
static int
version_cmp(const char *a, const char *b)
{
	long	amaj, amin, bmaj, bmin;
	char	*end;

	amaj = strtol(a, &end, 10);
	amin = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
	bmaj = strtol(b, &end, 10);
	bmin = *end == '.' ? strtol(end + 1, NULL, 10) : 0;
	if (amaj != bmaj)
		return amaj < bmaj ? -1 : 1;
	if (amin != bmin)
		return amin < bmin ? -1 : 1;
	return 0;
}

/*
 * The API dockmuxd speaks: the lowest ApiVersion among healthy backends
 * (any backend ever probed when none is up), and the highest
 * MinAPIVersion, so every engine understands a negotiated client.
 */
static void
negotiate(struct disp *d, char *api, char *min_api, size_t len)
{
	struct disp_health	h;
	size_t			i;
	int			pass;

	api[0] = min_api[0] = '\0';
	for (pass = 0; pass < 2 && api[0] == '\0'; pass++) {
		for (i = 0; i < d->n; i++) {
			disp_health_copy(d, i, &h);
			if ((pass == 0 && !h.up) || h.api_version[0] == '\0')
				continue;
			if (api[0] == '\0' ||
			    version_cmp(h.api_version, api) < 0)
				snprintf(api, len, "%s", h.api_version);
			if (h.min_api_version[0] != '\0' &&
			    (min_api[0] == '\0' ||
			    version_cmp(h.min_api_version, min_api) > 0))
				snprintf(min_api, len, "%s",
				    h.min_api_version);
		}
	}
	if (api[0] == '\0')
		snprintf(api, len, "%s", FALLBACK_API_VERSION);
	if (min_api[0] == '\0')
		snprintf(min_api, len, "%s", "1.12");
}

static void
answer_ping(struct disp *d, const struct disp_req *req, struct disp_reply *r)
{
	char			api[DISP_FIELD_MAX], min_api[DISP_FIELD_MAX];
	struct disp_health	h;

	negotiate(d, api, min_api, sizeof(api));
	disp_health_copy(d, 0, &h);
	r->status = 200;
	r->kind = DISP_REPLY_BODY;
	r->body = xstrdup(strcmp(req->method, "HEAD") == 0 ? "" : "OK");
	r->body_len = strlen(r->body);
	dm_hdrs_set(&r->hdrs, "Content-Type", "text/plain; charset=utf-8");
	dm_hdrs_set(&r->hdrs, "API-Version", api);
	dm_hdrs_set(&r->hdrs, "Docker-Experimental", "false");
	dm_hdrs_set(&r->hdrs, "Ostype", h.os[0] != '\0' ? h.os : "linux");
	dm_hdrs_set(&r->hdrs, "Cache-Control",
	    "no-cache, no-store, must-revalidate");
	dm_hdrs_set(&r->hdrs, "Pragma", "no-cache");
}

static void
answer_version(struct disp *d, struct disp_reply *r)
{
	char			 api[DISP_FIELD_MAX], min_api[DISP_FIELD_MAX];
	char			 name[DM_MAX_NAME + 16];
	struct disp_health	 h, primary;
	struct json_object	*o, *comps, *c, *det;
	size_t			 i;

	negotiate(d, api, min_api, sizeof(api));
	disp_health_copy(d, 0, &primary);
	o = json_object_new_object();
	c = json_object_new_object();
	json_object_object_add(c, "Name", json_object_new_string("dockmux"));
	json_object_object_add(o, "Platform", c);

	comps = json_object_new_array();
	c = json_object_new_object();
	json_object_object_add(c, "Name", json_object_new_string("dockmux"));
	json_object_object_add(c, "Version",
	    json_object_new_string(DOCKMUX_VERSION));
	det = json_object_new_object();
	json_object_object_add(det, "ApiVersion", json_object_new_string(api));
	json_object_object_add(det, "MinAPIVersion",
	    json_object_new_string(min_api));
	json_object_object_add(c, "Details", det);
	json_object_array_add(comps, c);
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		c = json_object_new_object();
		snprintf(name, sizeof(name), "Engine %s", d->b[i].cfg->name);
		json_object_object_add(c, "Name", json_object_new_string(name));
		json_object_object_add(c, "Version", json_object_new_string(
		    h.server_version[0] ? h.server_version : "unknown"));
		det = json_object_new_object();
		json_object_object_add(det, "ApiVersion",
		    json_object_new_string(h.api_version));
		json_object_object_add(det, "MinAPIVersion",
		    json_object_new_string(h.min_api_version));
		json_object_object_add(det, "Os", json_object_new_string(h.os));
		json_object_object_add(det, "Arch",
		    json_object_new_string(h.arch));
		json_object_object_add(det, "Endpoint",
		    json_object_new_string(d->b[i].cfg->endpoint));
		json_object_object_add(det, "State",
		    json_object_new_string(h.up ? "up" : "down"));
		json_object_object_add(c, "Details", det);
		json_object_array_add(comps, c);
	}
	json_object_object_add(o, "Components", comps);
	json_object_object_add(o, "Version",
	    json_object_new_string(DOCKMUX_VERSION));
	json_object_object_add(o, "ApiVersion", json_object_new_string(api));
	json_object_object_add(o, "MinAPIVersion",
	    json_object_new_string(min_api));
	json_object_object_add(o, "GitCommit",
	    json_object_new_string(DOCKMUX_COMMIT));
	json_object_object_add(o, "GoVersion", json_object_new_string("n/a"));
	json_object_object_add(o, "Os", json_object_new_string(
	    primary.os[0] ? primary.os : "linux"));
	json_object_object_add(o, "Arch", json_object_new_string(
	    primary.arch[0] ? primary.arch : "unknown"));
	json_object_object_add(o, "KernelVersion",
	    json_object_new_string(primary.kernel));
	json_object_object_add(o, "BuildTime",
	    json_object_new_string(DOCKMUX_BUILD_TIME));
	disp_reply_json(r, 200, disp_json_take(o));
}

/* ---- /info: each backend's answer, counts summed ---- */

struct info_slot {
	const char		*path;	/* borrowed: the client's, with /vX.Y */
	struct json_object	*o;	/* owned; NULL when the backend failed */
	char			 err[256];
};

static void
fetch_info(struct disp *d, size_t i, void *arg)
{
	struct info_slot	*slot = arg;
	struct backend_call	 call = { .method = "GET", .path = slot->path,
	    .timeout_ms = DM_INSPECT_TIMEOUT_MS };
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len;
	int			 status = 0;

	dm_err_clear(&err);
	if (disp_backend_down(d, i, slot->err, sizeof(slot->err)))
		return;
	if (backend_do(d->b[i].be, &call, &status, &body, &len, NULL, &err)
	    == -1)
		snprintf(slot->err, sizeof(slot->err), "%s", err.msg);
	else if (status != 200)
		snprintf(slot->err, sizeof(slot->err), "GET /info answered %d",
		    status);
	else if ((slot->o = json_tokener_parse(body)) == NULL ||
	    !json_object_is_type(slot->o, json_type_object)) {
		json_object_put(slot->o);
		slot->o = NULL;
		snprintf(slot->err, sizeof(slot->err), "GET /info: not JSON");
	}
	free(body);
}

static int64_t
int_field(struct json_object *o, const char *key)
{
	struct json_object	*v;

	if (o != NULL && json_object_object_get_ex(o, key, &v))
		return json_object_get_int64(v);
	return 0;
}

/*
 * GET /info: asked of every backend at the client's API version (the
 * path as sent), so the version-dependent fields are the engines' own;
 * counts summed, backends and their health said.
 */
static void
answer_info(struct disp *d, const struct disp_req *req, struct disp_reply *r)
{
	static const char *const sums[] = { "Containers",
	    "ContainersRunning", "ContainersPaused", "ContainersStopped",
	    "Images" };
	struct info_slot	 slots[DM_MAX_BACKENDS];
	void			*args[DM_MAX_BACKENDS];
	struct json_object	*base = NULL, *warn, *labels, *v;
	struct disp_health	 h;
	char			 line[512];
	size_t			 i, k;
	int64_t			 total;

	memset(slots, 0, sizeof(slots));
	for (i = 0; i < d->n; i++) {
		slots[i].path = req->path;
		args[i] = &slots[i];
	}
	disp_each_backend(d, fetch_info, args);

	for (i = 0; i < d->n && base == NULL; i++)
		if (slots[i].o != NULL)
			base = json_object_get(slots[i].o);
	if (base == NULL) {
		snprintf(line, sizeof(line), "no backend answered: %s",
		    slots[0].err);
		disp_reply_error(r, DM_EBACKEND, line);
		goto out;
	}
	for (k = 0; k < sizeof(sums) / sizeof(sums[0]); k++) {
		total = 0;
		for (i = 0; i < d->n; i++)
			total = dm_add_clamped(total,
			    int_field(slots[i].o, sums[k]));
		json_object_object_add(base, sums[k],
		    json_object_new_int64(total));
	}
	/* Each backend in Labels, so `docker info` shows them; the down
	 * ones in Warnings too. */
	if (!json_object_object_get_ex(base, "Warnings", &warn) ||
	    !json_object_is_type(warn, json_type_array)) {
		warn = json_object_new_array();
		json_object_object_add(base, "Warnings", warn);
	}
	if (!json_object_object_get_ex(base, "Labels", &labels) ||
	    !json_object_is_type(labels, json_type_array)) {
		labels = json_object_new_array();
		json_object_object_add(base, "Labels", labels);
	}
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		snprintf(line, sizeof(line),
		    "io.dockmux.backend.%s=%s %s %s %s/%s api=%s",
		    d->b[i].cfg->name, slots[i].o != NULL ? "up" : "down",
		    d->b[i].cfg->endpoint, backend_transport_name(d->b[i].be),
		    h.os, h.arch, h.api_version);
		json_object_array_add(labels, json_object_new_string(line));
		if (slots[i].o == NULL) {
			/* slot errors already name the backend */
			snprintf(line, sizeof(line), "WARNING: dockmux: %s",
			    slots[i].err[0] != '\0' ? slots[i].err :
			    "a backend did not answer");
			json_object_array_add(warn,
			    json_object_new_string(line));
		}
	}
	v = json_object_new_string(DOCKMUX_VERSION);
	json_object_object_add(base, "DockmuxVersion", v);
	disp_reply_json(r, 200, disp_json_take(base));
out:
	for (i = 0; i < d->n; i++)
		json_object_put(slots[i].o);
}

/* GET and HEAD /_ping. */
void
disp_local_ping(const struct disp_ctx *ctx, struct disp_reply *r)
{
	answer_ping(ctx->d, ctx->req, r);
}

void
disp_local_version(const struct disp_ctx *ctx, struct disp_reply *r)
{
	answer_version(ctx->d, r);
}

void
disp_local_info(const struct disp_ctx *ctx, struct disp_reply *r)
{
	answer_info(ctx->d, ctx->req, r);
}
