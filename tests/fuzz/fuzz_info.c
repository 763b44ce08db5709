/*
 * fuzz_info.c: GET /info over one to three engines' answers
 * (disp_local.c): the first answer is the base, the container and image
 * counts summed, every backend said in Labels and the silent ones in
 * Warnings.  Input: the request, then each engine's answer (fuzz.h).
 */
/* Threads: libFuzzer's one thread; the handler starts one per engine. */

#include <json-c/json.h>
#include <stdint.h>
#include <string.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

/* One object: the counts numbers, one Labels line per backend. */
static void
check_info(const struct disp_req *req, const struct disp_reply *r,
    size_t n)
{
	struct json_object	*o, *labels;
	int64_t			 count = -1;
	size_t			 i, mine = 0;
	const char		*s;

	(void)req;
	if (r->status != 200)
		return;
	o = json_tokener_parse(r->body);
	FUZZ_ASSERT(dm_json_int64(o, "Containers", &count));
	FUZZ_ASSERT(dm_json_int64(o, "Images", &count));
	FUZZ_ASSERT(dm_json_arr(o, "Warnings") != NULL);
	labels = dm_json_arr(o, "Labels");
	FUZZ_ASSERT(labels != NULL);
	for (i = 0; i < json_object_array_length(labels); i++) {
		s = json_object_get_string(json_object_array_get_idx(labels,
		    i));
		if (s != NULL && strncmp(s, "io.dockmux.backend.", 19) == 0)
			mine++;
	}
	FUZZ_ASSERT(mine >= n);
	json_object_put(o);
}

static const struct fuzz_row rows[] = {
	{ disp_local_info, 1, check_info },
};

const struct fuzz_rows	fuzz_rows = { rows, sizeof(rows) / sizeof(rows[0]),
    0 };
