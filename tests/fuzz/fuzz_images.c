/*
 * fuzz_images.c: the image fan-outs (disp_images.c) over one to three
 * engines' answers: GET /images/json merged by Id with tags and digests
 * joined, rmi and tag on every holder, and the prunes (images,
 * containers, networks, volumes) summed.  Input: the request, then each
 * engine's answer (fuzz.h).
 */
/* Threads: libFuzzer's one thread; the handlers start one per engine. */

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

/* The merged list: each Id once (an engine's own duplicates too). */
static void
check_list(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*list;

	(void)req;
	(void)n;
	if (r->status != 200)
		return;
	list = json_tokener_parse(r->body);
	fuzz_check_unique(list, "Id");
	json_object_put(list);
}

/* rmi answers the deleted lists joined: a JSON array. */
static void
check_each(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*o;

	(void)n;
	if (r->status != 200 || strcmp(req->method, "DELETE") != 0)
		return;
	o = json_tokener_parse(r->body);
	FUZZ_ASSERT(json_object_is_type(o, json_type_array));
	json_object_put(o);
}

/* A prune answers one object; SpaceReclaimed, when there, a number. */
static void
check_prune(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*o, *v;

	(void)req;
	(void)n;
	if (r->status != 200)
		return;
	o = json_tokener_parse(r->body);
	FUZZ_ASSERT(json_object_is_type(o, json_type_object));
	if (json_object_object_get_ex(o, "SpaceReclaimed", &v))
		FUZZ_ASSERT(json_object_is_type(v, json_type_int));
	json_object_put(o);
}

static const struct fuzz_row rows[] = {
	{ disp_list_images, 1, check_list },
	{ disp_image_each, 0, check_each },
	{ disp_prune, 1, check_prune },
};

const struct fuzz_rows	fuzz_rows = { rows, sizeof(rows) / sizeof(rows[0]),
    0 };
