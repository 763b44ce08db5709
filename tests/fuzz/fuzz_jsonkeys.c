/*
 * fuzz_jsonkeys.c: lib/jsonkeys.c, which decides whether a create, exec
 * or volume body is refused for naming one field twice and renames keys
 * before the access policy and the rules read them.  Input: a JSON text.
 * Properties: the raw scan never reads past the text; when it finds no
 * duplicate, renaming leaves no two struct-level keys that fold equal
 * (the scan of the renamed text finds none either), and renaming twice
 * changes nothing more.  As in disp_access_body(), only a text that
 * starts with a JSON value (jscan) is read: json-c alone takes more, and
 * makes of "{\"Labels\":{\"a\":1,\"A\":2}//}" the inner object.
 */
/* Threads: libFuzzer's one thread. */

#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jscan.h"
#include "lib/jsonkeys.h"
#include "tests/fuzz/fuzz.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static const char *const names[] = {
	"Image", "Labels", "HostConfig", "Privileged", "Binds", "Mounts",
	"Type", "Source", "NetworkMode", "SecurityOpt", "CapAdd", NULL
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct json_object	*o;
	const char		*again;
	char			*text, dup[64];
	int			 found;

	text = fuzz_strndup((const char *)data, size);
	found = dm_json_dup_key(text, size, dup, sizeof(dup));
	o = jscan_value(text, text + size) != NULL ?
	    json_tokener_parse(text) : NULL;
	if (o != NULL && !found) {
		(void)dm_json_canon(o, names);
		again = json_object_to_json_string_ext(o,
		    JSON_C_TO_STRING_PLAIN);
		FUZZ_ASSERT(!dm_json_dup_key(again, strlen(again), dup,
		    sizeof(dup)));
		FUZZ_ASSERT(dm_json_canon(o, names) == 0);
	}
	json_object_put(o);
	free(text);
	return 0;
}
