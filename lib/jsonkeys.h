/*
 * jsonkeys.h: JSON object keys read the way dockerd (Go's encoding/json)
 * reads them.  Go fills a struct field from any key equal to the field's
 * name under case folding, the last such key winning, and a second
 * object for the same struct field is merged into the first; json-c
 * keeps exactly one value per exact key.  So a body that a filter reads
 * with exact keys can mean something else to the engine.  These
 * functions close that gap: a body with two keys for one field is
 * refused, and the keys a filter reads are renamed to their canonical
 * spelling before it reads them.
 *
 * "Struct level" means an object whose keys are field names; the values
 * of the map-valued fields (Labels, Volumes, ExposedPorts, PortBindings,
 * Sysctls, StorageOpt, Tmpfs, EndpointsConfig, DriverOpts, Options,
 * Annotations, Config of LogConfig) are maps whose keys are data, compared
 * exactly by the engine too, and are left alone; the values inside them
 * are struct level again.
 */
#ifndef DOCKMUX_LIB_JSONKEYS_H
#define DOCKMUX_LIB_JSONKEYS_H

#include <stddef.h>

struct json_object;

/*
 * key (len bytes, JSON escapes already decoded) folded as Go's
 * bytes.EqualFold compares: ASCII letters lowered, U+017F (long s) to
 * 's', U+212A (Kelvin sign) to 'k'.  Writes at most outlen - 1 bytes and
 * a NUL; returns the folded length (truncated when it did not fit).
 */
size_t	dm_json_key_fold(const char *key, size_t len, char *out,
	    size_t outlen);

/*
 * Scan JSON text (already known to parse) for a struct-level object with
 * two keys that fold equal, exact duplicates included.  1 with the
 * second key (decoded, truncated to duplen) in dup; 0 when there is none.
 */
int	dm_json_dup_key(const char *text, size_t len, char *dup,
	    size_t duplen);

/*
 * Rename, in every struct-level object of o, each key that folds equal
 * to one of names (a NULL-terminated list of canonical field names) but
 * is spelled otherwise.  Returns how many keys were renamed.  Call after
 * dm_json_dup_key() found none, so a rename never meets its target.
 */
int	dm_json_canon(struct json_object *o, const char *const *names);

/*
 * The same with the keys of tmpl as the names, level by level: a key of
 * o at a path where tmpl has a key folding equal takes tmpl's spelling.
 */
int	dm_json_canon_like(struct json_object *o,
	    const struct json_object *tmpl);

#endif
