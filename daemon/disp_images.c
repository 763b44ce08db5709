/*
 * disp_images.c: images across engines (seed: list_images, remove_image,
 * tag_image, prune_images): lists merge, rmi and tag reach every holder,
 * prunes sum up, and reads go to the first backend holding the image.
 * Pulls are in disp_pull.c.
 */
/* Threads: MHD connection threads; list and prune use one thread per
 * backend through disp_each_backend(). */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"


/* ---- GET /images/json ---- */

/* 1 when array a holds the string s. */
static int
has_string(struct json_object *a, const char *s)
{
	size_t	i;

	for (i = 0; i < json_object_array_length(a); i++)
		if (json_object_is_type(json_object_array_get_idx(a, i),
		    json_type_string) && strcmp(json_object_get_string(
		    json_object_array_get_idx(a, i)), s) == 0)
			return 1;
	return 0;
}

static void
union_strings(struct json_object *into, struct json_object *from,
    const char *key)
{
	struct json_object	*a, *b;
	size_t			 i;
	int			 have;

	if (!json_object_object_get_ex(from, key, &b) ||
	    !json_object_is_type(b, json_type_array))
		return;
	if (!json_object_object_get_ex(into, key, &a) ||
	    !json_object_is_type(a, json_type_array)) {
		a = json_object_new_array();
		json_object_object_add(into, key, a);
	}
	for (i = 0; i < json_object_array_length(b); i++) {
		struct json_object *e = json_object_array_get_idx(b, i);

		/* An engine's null or number is no name: left out. */
		if (!json_object_is_type(e, json_type_string))
			continue;
		have = has_string(a, json_object_get_string(e));
		if (!have)
			json_object_array_add(a, json_object_new_string(
			    json_object_get_string(e)));
	}
}

/* The same image on another backend: its names join the first's. */
static void
union_names(struct json_object *have, struct json_object *e, size_t bi,
    void *arg)
{
	(void)bi;
	(void)arg;
	union_strings(have, e, "RepoTags");
	union_strings(have, e, "RepoDigests");
}

void
disp_list_images(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct disp_slot	 f[DM_MAX_BACKENDS], *same;
	struct json_object	*list;
	struct disp_merge	 m;
	char			*path = disp_req_target(req), msg[256];
	size_t			 i, ok = 0;

	disp_slots_init(d, f, NULL, "GET", path, fwd, NULL, 0);
	disp_slots_run(d, f);
	disp_merge_init(&m, "Id", NULL, union_names, NULL);
	msg[0] = '\0';
	for (i = 0; i < d->n; i++) {
		list = f[i].status == 200 ? json_tokener_parse(f[i].answer) :
		    NULL;
		if (list == NULL || !json_object_is_type(list,
		    json_type_array)) {
			json_object_put(list);
			disp_slot_message(&f[i], msg, sizeof(msg));
			log_warnx("msg=\"image list skipped a backend\" "
			    "backend=%s reason=%s", d->b[i].cfg->name,
			    log_q(msg));
			continue;
		}
		ok++;
		disp_merge_add(&m, list, i);
		json_object_put(list);
	}
	if (ok == 0 && (same = disp_slots_same_error(d, f)) != NULL)
		disp_reply_slot(r, same);	/* a bad filter, say */
	else if (ok == 0)
		disp_reply_error(r, DM_EBACKEND, msg[0] ? msg :
		    "no backend answered");
	else
		disp_reply_json(r, 200, disp_json_text(m.list));
	disp_merge_free(&m);
	disp_slots_free(d, f);
	free(path);
}

/* ---- reads: the first backend (config order) holding the image ---- */

/*
 * The first backend (config order, down ones skipped) whose local store
 * has image ref (as it goes in a path).  Its index, with its inspect
 * answer in *body (owned: free()) when body is not NULL; -1 with err
 * when none has it.  Never a registry.
 */
ssize_t
disp_image_holder(struct disp *d, const char *ref, char **body,
    struct dm_err *err)
{
	char	*path, *enc;
	ssize_t	 i;

	enc = disp_ref_encode(ref);
	path = xasprintf("/images/%s/json", enc);
	free(enc);
	i = disp_first_holding(d, path, DM_LOOKUP_TIMEOUT_MS, 1, (size_t)-1,
	    body, err);
	free(path);
	if (i == -1)
		dm_err_set(err, DM_ENOTFOUND, "No such image: %s", ref);
	return i;
}

/*
 * The image name in /images/{name}/{action} (names hold slashes), or
 * for save (/images/get?names=a) the first name.  Owned: free().
 */
static char *
image_name(const struct disp_req *req)
{
	const char	*s = req->rest + strlen("/images/"), *e;
	char		*out, first[STORE_REF_MAX];

	if (strcmp(req->rest, "/images/get") == 0) {
		if (!disp_query_get(req->query, "names", first, sizeof(first)))
			return NULL;
		out = xstrdup(first);
		return out;
	}
	e = strrchr(s, '/');
	if (e == NULL || e == s)
		return NULL;
	/* Decoded, as the engine reads it; encoded again for each path. */
	out = xmalloc((size_t)(e - s) + 1);
	disp_url_decode(s, (size_t)(e - s), out, (size_t)(e - s) + 1);
	return out;
}

/*
 * The holder's inspect names the image the name resolves to now: facts
 * the store learnt from another image (the tag moved) are dropped, so a
 * create that finds no engine holding it does not go by them.
 */
static void
facts_verify(struct disp *d, const char *name, const char *inspect)
{
	struct json_object	*o;
	struct dm_err		 err;

	o = json_tokener_parse(inspect);
	if (store_image_verify(d->store, name, dm_json_str(o, "Id"), &err) ==
	    1)
		log_info("msg=\"image facts dropped: the name moved to "
		    "another image\" image=%s", log_q(name));
	json_object_put(o);
}

int
disp_image_route(struct disp *d, const struct disp_req *req, size_t *bi,
    struct dm_err *err)
{
	char	*name = image_name(req), *inspect = NULL;
	ssize_t	 i;

	if (name == NULL) {
		*bi = 0;
		return 0;
	}
	i = disp_image_holder(d, name, &inspect, err);
	if (i != -1)
		facts_verify(d, name, inspect);
	free(inspect);
	free(name);
	if (i == -1)
		return -1;
	*bi = (size_t)i;
	return 0;
}

/* ---- DELETE /images/{name} and POST /images/{name}/tag ---- */

/*
 * Run the same request on every backend, primary first.  For rmi the
 * deleted lists merge; 404 only if no backend had it; any other failure
 * (a 409 conflict) is answered naming the backend.  For tag, every
 * backend holding the source is tagged; 404 only if none holds it.
 */
void
disp_image_each(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	struct disp_slot	 f[DM_MAX_BACKENDS];
	struct json_object	*merged = json_object_new_array(), *list;
	char			*path = disp_req_target(req), msg[300], fail[400];
	char			 warn[300];
	size_t			 i, k, ok = 0, okidx = 0;
	int			 failst = 0;

	warn[0] = '\0';
	disp_slots_init(d, f, NULL, req->method, path, fwd, NULL, 0);
	/* In order, primary first (seed), not in parallel. */
	for (i = 0; i < d->n; i++)
		disp_slot_do(d, i, &f[i]);
	fail[0] = '\0';
	for (i = 0; i < d->n; i++) {
		if (f[i].status >= 200 && f[i].status < 300) {
			if (ok++ == 0)
				okidx = i;
			list = json_tokener_parse(f[i].answer != NULL ?
			    f[i].answer : "");
			if (list != NULL && json_object_is_type(list,
			    json_type_array))
				for (k = 0; k < json_object_array_length(list);
				    k++)
					json_object_array_add(merged,
					    json_object_get(
					    json_object_array_get_idx(list, k)));
			json_object_put(list);
			continue;
		}
		if (f[i].status == 404)
			continue;
		disp_slot_message(&f[i], msg, sizeof(msg));
		if (f[i].status == 0) {
			/* Down or unreachable: whether it holds the image is
			 * unknown; skipped and said, not a failure. */
			log_warnx("msg=\"image %s skipped a backend\" "
			    "backend=%s reason=%s", req->method,
			    d->b[i].cfg->name, log_q(msg));
			if (warn[0] == '\0')
				snprintf(warn, sizeof(warn), "%s", msg);
			continue;
		}
		log_warnx("msg=\"image %s failed on a backend\" backend=%s "
		    "reason=%s", req->method, d->b[i].cfg->name, log_q(msg));
		if (failst == 0) {
			failst = f[i].status != 0 ? f[i].status : 502;
			snprintf(fail, sizeof(fail), "backend %s: %s",
			    d->b[i].cfg->name, msg);
		}
	}
	if (failst != 0 && (strcmp(req->method, "DELETE") == 0 || ok == 0)) {
		disp_reply_error(r, DM_ECONFLICT, fail);
		r->status = failst;
	} else if (ok == 0 && warn[0] != '\0')
		disp_reply_error(r, DM_EBACKEND, warn);
	else if (ok == 0) {
		disp_slot_message(&f[0], msg, sizeof(msg));
		disp_reply_error(r, DM_ENOTFOUND, msg);
	} else if (strcmp(req->method, "DELETE") == 0)
		disp_reply_json(r, 200, disp_json_text(merged));
	else
		disp_reply_slot(r, &f[okidx]);
	if (ok > 0 && warn[0] != '\0')
		dm_hdrs_set(&r->hdrs, "X-Dockmux-Warning", warn);
	json_object_put(merged);
	disp_slots_free(d, f);
	free(path);
}

/* ---- prune ---- */


/*
 * POST /images/prune and /containers/prune on every backend: a primary
 * 501 is tolerated when other backends exist (seed), any other primary
 * error is the answer, others' errors are logged; deleted lists merge
 * and SpaceReclaimed sums.  Containers pruned leave the store.
 */
void
disp_prune(const struct disp_ctx *ctx, struct disp_reply *r)
{
	struct disp		*d = ctx->d;
	const struct disp_req	*req = ctx->req;
	const struct dm_hdrs	*fwd = ctx->fwd;
	static const char *const lists[] = { "ImagesDeleted",
	    "ContainersDeleted", "VolumesDeleted", "NetworksDeleted" };
	struct disp_slot	 f[DM_MAX_BACKENDS];
	struct json_object	*out, *o, *v, *a;
	struct dm_err		 err;
	char			*path = disp_req_target(req), msg[300];
	size_t			 i, k, li;
	int64_t			 space = 0;
	int			 any = 0, has_space = 0;

	disp_slots_init(d, f, NULL, "POST", path, fwd, NULL, 0);
	disp_slots_run(d, f);
	out = json_object_new_object();
	for (i = 0; i < d->n; i++) {
		o = f[i].status == 200 ? json_tokener_parse(f[i].answer) :
		    NULL;
		if (o == NULL) {
			disp_slot_message(&f[i], msg, sizeof(msg));
			if (i == 0 && !(f[i].status == 501 && d->n > 1)) {
				char full[400];

				snprintf(full, sizeof(full), "backend %s: %s",
				    d->b[0].cfg->name, msg);
				disp_reply_error(r, DM_EBACKEND, full);
				if (f[i].status != 0)
					r->status = f[i].status;
				goto out;
			}
			log_warnx("msg=\"prune failed on a backend\" "
			    "backend=%s reason=%s", d->b[i].cfg->name,
			    log_q(msg));
			continue;
		}
		any = 1;
		/* Every key an engine answered is kept, null included
		 * (dockerd's "ContainersDeleted": null when nothing went). */
		for (li = 0; li < sizeof(lists) / sizeof(lists[0]); li++) {
			if (!json_object_object_get_ex(o, lists[li], &v))
				continue;
			a = NULL;
			if (!json_object_object_get_ex(out, lists[li], &a))
				json_object_object_add(out, lists[li], NULL);
			if (!json_object_is_type(v, json_type_array))
				continue;
			if (a == NULL) {
				a = json_object_new_array();
				json_object_object_add(out, lists[li], a);
			}
			for (k = 0; k < json_object_array_length(v); k++) {
				struct json_object *e =
				    json_object_array_get_idx(v, k);

				if (!json_object_is_type(e, json_type_string) &&
				    !json_object_is_type(e, json_type_object))
					continue;	/* null, numbers: nothing */
				/* A replicated network or volume is one name. */
				if (li >= 2 && json_object_is_type(e,
				    json_type_string) && has_string(a,
				    json_object_get_string(e)))
					continue;
				json_object_array_add(a, json_object_get(e));
				if (li == 1 && json_object_is_type(e,
				    json_type_string))
					(void)store_route_del(d->store,
					    json_object_get_string(e), &err);
			}
		}
		if (json_object_object_get_ex(o, "SpaceReclaimed", &v)) {
			space = dm_add_clamped(space, json_object_get_int64(v));
			has_space = 1;
		}
		json_object_put(o);
	}
	if (!any) {
		disp_reply_error(r, DM_EBACKEND, "no backend could prune");
		goto out;
	}
	if (has_space)
		json_object_object_add(out, "SpaceReclaimed",
		    json_object_new_int64(space));
	disp_reply_json(r, 200, disp_json_text(out));
out:
	json_object_put(out);
	disp_slots_free(d, f);
	free(path);
}

/* ---- build, load, import: by platform, else the primary ---- */

int
disp_platform_served(struct disp *d, const char *platform, char *peer_os,
    size_t peer_len, struct dm_err *err)
{
	struct disp_candidate	 cand[DM_MAX_BACKENDS];
	struct disp_health	 h[DM_MAX_BACKENDS];
	struct disp_pick	 pick;
	size_t			 i;

	memset(&pick, 0, sizeof(pick));
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h[i]);
		memset(&cand[i], 0, sizeof(cand[i]));
		cand[i].name = d->b[i].cfg->name;
		cand[i].os = h[i].os[0] != '\0' ? h[i].os : NULL;
		cand[i].arch = h[i].arch[0] != '\0' ? h[i].arch : NULL;
	}
	pick.b = cand;
	pick.n = d->n;
	pick.platform = platform;
	if (disp_pick_backend(&pick, err) == -1) {
		snprintf(peer_os, peer_len, "%s", pick.peer_os);
		return -1;
	}
	return 0;
}

size_t
disp_platform_backend(struct disp *d, const struct disp_req *req)
{
	struct disp_health	h;
	char			plat[128], *slash, *arch = NULL;
	size_t			i;

	if (!disp_query_get(req->query, "platform", plat, sizeof(plat)) ||
	    plat[0] == '\0')
		return 0;
	slash = strchr(plat, '/');
	if (slash != NULL) {
		*slash = '\0';
		arch = slash + 1;
		slash = strchr(arch, '/');
		if (slash != NULL)
			*slash = '\0';
	}
	for (i = 0; i < d->n; i++) {
		disp_health_copy(d, i, &h);
		if (strcasecmp(h.os, plat) == 0 && (arch == NULL ||
		    disp_arch_equal(h.arch, arch)))
			return i;
	}
	return 0;
}
