/*
 * fuzz_netvol.c: networks and volumes across one to three engines
 * (disp_netvol.c): the lists merged by Name, the where-view
 * (/_dockmux/objects) built from the same answers, inspect from the
 * first holder, create and remove on every engine (a network removed by
 * ID is removed by the name an engine answers).  Input: the request,
 * then each engine's answer (fuzz.h).
 */
/* Threads: libFuzzer's one thread; the handlers start one per engine. */

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

/*
 * The list: each name once (volumes wrapped in {"Volumes": [...]}).  The
 * where-view over the same answers: each name once, with the backends
 * holding it, at least one, each a configured one.
 */
static void
check_list(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*o, *where, *b;
	struct dm_err		 err;
	const char		*name;
	size_t			 i, k;
	int			 vols = req->res == RES_VOLUMES;

	if (r->status != 200)
		return;
	o = json_tokener_parse(r->body);
	fuzz_check_unique(vols ? dm_json_arr(o, "Volumes") : o, "Name");
	json_object_put(o);
	where = disp_netvol_where(fuzz_dispatcher(n, NULL)->cur, vols, &err);
	FUZZ_ASSERT(where != NULL);
	fuzz_check_unique(where, "Name");
	for (i = 0; i < json_object_array_length(where); i++) {
		b = dm_json_arr(json_object_array_get_idx(where, i),
		    "Backends");
		FUZZ_ASSERT(b != NULL && json_object_array_length(b) > 0);
		for (k = 0; k < json_object_array_length(b); k++) {
			name = json_object_get_string(
			    json_object_array_get_idx(b, k));
			FUZZ_ASSERT(strlen(name) == 1 &&
			    (size_t)(name[0] - 'a') < n);
		}
	}
	json_object_put(where);
}

static const struct fuzz_row rows[] = {
	{ disp_netvol_list, 1, check_list },
	{ disp_first_holder, 0, NULL },
	{ disp_netvol_replicate, 0, NULL },
};

const struct fuzz_rows	fuzz_rows = { rows, sizeof(rows) / sizeof(rows[0]),
    0 };
