/*
 * fuzz_df.c: GET /system/df over one to three engines' answers
 * (disp_netvol.c): LayersSize summed, the four lists joined.  Input: the
 * request, then each engine's answer (fuzz.h).
 */
/* Threads: libFuzzer's one thread; the handler starts one per engine. */

#include <json-c/json.h>
#include <stdint.h>

#include "lib/util.h"
#include "tests/fuzz/fuzz.h"

/* One object: LayersSize a number, each list an array. */
static void
check_df(const struct disp_req *req, const struct disp_reply *r, size_t n)
{
	static const char *const lists[] = { "Images", "Containers",
	    "Volumes", "BuildCache" };
	struct json_object	*o;
	int64_t			 layers = -1;
	size_t			 k;

	(void)req;
	(void)n;
	if (r->status != 200)
		return;
	o = json_tokener_parse(r->body);
	FUZZ_ASSERT(dm_json_int64(o, "LayersSize", &layers));
	for (k = 0; k < sizeof(lists) / sizeof(lists[0]); k++)
		FUZZ_ASSERT(dm_json_arr(o, lists[k]) != NULL);
	json_object_put(o);
}

static const struct fuzz_row rows[] = {
	{ disp_system_df, 1, check_df },
};

const struct fuzz_rows	fuzz_rows = { rows, sizeof(rows) / sizeof(rows[0]),
    0 };
