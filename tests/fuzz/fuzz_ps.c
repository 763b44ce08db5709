/*
 * fuzz_ps.c: GET /containers/json merged from one to three engines'
 * answers (disp_containers.c): the backend label filter taken out of
 * the query, entries de-duplicated by Id, labelled with their owner,
 * newest first, "limit" applied, a down engine's containers from the
 * store.  Input: the request, then each engine's answer (fuzz.h).
 */
/* Threads: libFuzzer's one thread; the handler starts one per engine. */

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/labels.h"
#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

/* Created as the merge reads it: a number, else 0. */
static int64_t
created(struct json_object *e)
{
	struct json_object	*v;

	if (!json_object_object_get_ex(e, "Created", &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)))
		return 0;
	return json_object_get_int64(v);
}

/* Every entry once, labelled, newest first, no more than asked for. */
static void
check_list(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*list, *e;
	char			 lim[32];
	size_t			 i, len;

	(void)n;
	if (r->status != 200)
		return;
	list = json_tokener_parse(r->body);
	FUZZ_ASSERT(json_object_is_type(list, json_type_array));
	fuzz_check_unique(list, "Id");
	len = json_object_array_length(list);
	if (disp_query_get(req->query, "limit", lim, sizeof(lim)) &&
	    strtol(lim, NULL, 10) > 0)
		FUZZ_ASSERT(len <= (size_t)strtol(lim, NULL, 10));
	for (i = 0; i < len; i++) {
		e = json_object_array_get_idx(list, i);
		FUZZ_ASSERT(dm_json_str(dm_json_obj(e, "Labels"),
		    DM_LABEL_BACKEND) != NULL);
		if (i > 0)
			FUZZ_ASSERT(created(json_object_array_get_idx(list,
			    i - 1)) >= created(e));
	}
	json_object_put(list);
}

static const struct fuzz_row rows[] = {
	{ disp_list_containers, 1, check_list },
};

const struct fuzz_rows	fuzz_rows = { rows, sizeof(rows) / sizeof(rows[0]),
    1 };
