/*
 * jsonkeys.c: JSON keys compared the way Go's encoding/json compares
 * them with struct field names (see jsonkeys.h): a raw-text scan for
 * duplicate keys, which json-c's parser would hide, and key renaming.
 */
/* Threads: pure functions; any thread. */

#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/jscan.h"
#include "lib/jsonkeys.h"
#include "lib/util.h"

#define KEY_MAX		256	/* folded bytes compared; longer keys cut */
#define SCAN_DEPTH	64	/* deeper than json-c parses anyway */

size_t
dm_json_key_fold(const char *key, size_t len, char *out, size_t outlen)
{
	const unsigned char	*k = (const unsigned char *)key;
	size_t			 i = 0, n = 0;
	char			 c;

	if (outlen == 0)
		return 0;
	while (i < len && n + 1 < outlen) {
		if (i + 1 < len && k[i] == 0xc5 && k[i + 1] == 0xbf) {
			c = 's';	/* U+017F LATIN SMALL LETTER LONG S */
			i += 2;
		} else if (i + 2 < len && k[i] == 0xe2 && k[i + 1] == 0x84 &&
		    k[i + 2] == 0xaa) {
			c = 'k';	/* U+212A KELVIN SIGN */
			i += 3;
		} else {
			c = (char)k[i];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			i++;
		}
		out[n++] = c;
	}
	out[n] = '\0';
	return n;
}

/*
 * Is the value of field key (folded) under parent (folded, "" at the
 * top) a map, whose keys are data rather than field names?
 */
static int
is_map_field(const char *parent, const char *key)
{
	static const char *const maps[] = {
		"labels", "volumes", "exposedports", "portbindings",
		"sysctls", "storageopt", "tmpfs", "endpointsconfig",
		"driveropts", "options", "annotations", NULL
	};
	size_t	i;

	if (strcmp(key, "config") == 0)
		return strcmp(parent, "logconfig") == 0;
	for (i = 0; maps[i] != NULL; i++)
		if (strcmp(key, maps[i]) == 0)
			return 1;
	return 0;
}

/* ---- the raw-text scan ---- */

struct scan {
	const char	*s;
	size_t		 len;
	size_t		 pos;
	int		 found;
	char		*dup;
	size_t		 duplen;
};

/*
 * The string at sc->pos (on its opening quote), decoded into out (room
 * for max + 1 bytes: at most max kept and a NUL, the rest read past);
 * returns the decoded length kept.  sc->pos ends after the closing quote
 * (at the end of the text, for one that is not JSON).
 */
static size_t
scan_string(struct scan *sc, char *out, size_t max)
{
	const char		*e = jscan_value(sc->s + sc->pos, sc->s + sc->len);
	struct jscan_span	 raw;
	size_t			 n;

	if (e == NULL) {
		sc->pos = sc->len;
		return 0;
	}
	raw.p = sc->s + sc->pos + 1;
	raw.n = (size_t)(e - raw.p) - 1;
	sc->pos = (size_t)(e - sc->s);
	if (out == NULL)
		return 0;
	n = jscan_str(&raw, out, max + 1);
	return n < max ? n : max;
}

static void
skip_ws(struct scan *sc)
{
	while (sc->pos < sc->len && strchr(" \t\r\n", sc->s[sc->pos]) !=
	    NULL && sc->s[sc->pos] != '\0')
		sc->pos++;
}

struct seen_key {
	char	fold[KEY_MAX];
	char	raw[KEY_MAX];
};

static int
seen_cmp(const void *a, const void *b)
{
	return strcmp(((const struct seen_key *)a)->fold,
	    ((const struct seen_key *)b)->fold);
}

static void	scan_value(struct scan *, int depth, int is_map,
		    const char *self);

/*
 * Object at sc->pos, the value of field self (folded; "" for none); the
 * keys of a struct-level object are checked for twins.
 */
static void
scan_object(struct scan *sc, int depth, int is_map, const char *self)
{
	struct seen_key	*keys = NULL;
	size_t		 n = 0, cap = 0, i, klen;
	char		 raw[KEY_MAX], fold[KEY_MAX];

	sc->pos++;
	for (;;) {
		skip_ws(sc);
		if (sc->pos >= sc->len || sc->s[sc->pos] == '}' || sc->found)
			break;
		if (sc->s[sc->pos] == ',') {
			sc->pos++;
			continue;
		}
		if (sc->s[sc->pos] != '"')
			break;		/* not JSON: json-c said otherwise */
		klen = scan_string(sc, raw, sizeof(raw) - 1);
		raw[klen] = '\0';
		(void)dm_json_key_fold(raw, klen, fold, sizeof(fold));
		if (!is_map) {
			if (n == cap) {
				cap = cap == 0 ? 16 : cap * 2;
				keys = xrealloc(keys, cap * sizeof(*keys));
			}
			memcpy(keys[n].fold, fold, sizeof(fold));
			memcpy(keys[n].raw, raw, sizeof(raw));
			n++;
		}
		skip_ws(sc);
		if (sc->pos < sc->len && sc->s[sc->pos] == ':')
			sc->pos++;
		skip_ws(sc);
		scan_value(sc, depth + 1, !is_map && is_map_field(self, fold),
		    is_map ? "" : fold);
	}
	if (sc->pos < sc->len && sc->s[sc->pos] == '}')
		sc->pos++;
	if (n > 1 && !sc->found) {
		qsort(keys, n, sizeof(*keys), seen_cmp);
		for (i = 1; i < n; i++)
			if (strcmp(keys[i - 1].fold, keys[i].fold) == 0) {
				sc->found = 1;
				snprintf(sc->dup, sc->duplen, "%s",
				    keys[i].raw);
				break;
			}
	}
	free(keys);
}

static void
scan_value(struct scan *sc, int depth, int is_map, const char *self)
{
	char	c;

	if (sc->pos >= sc->len || depth > SCAN_DEPTH)
		return;
	c = sc->s[sc->pos];
	if (c == '{')
		scan_object(sc, depth, is_map, self);
	else if (c == '[') {
		sc->pos++;
		for (;;) {
			size_t	at;

			skip_ws(sc);
			if (sc->pos >= sc->len || sc->s[sc->pos] == ']' ||
			    sc->found)
				break;
			if (sc->s[sc->pos] == ',') {
				sc->pos++;
				continue;
			}
			at = sc->pos;
			scan_value(sc, depth + 1, 0, "");
			if (sc->pos == at)
				break;	/* not JSON ("[}"): stop, never spin */
		}
		sc->pos++;
	} else if (c == '"')
		(void)scan_string(sc, NULL, 0);
	else
		while (sc->pos < sc->len && strchr(",}] \t\r\n",
		    sc->s[sc->pos]) == NULL)
			sc->pos++;
}

int
dm_json_dup_key(const char *text, size_t len, char *dup, size_t duplen)
{
	struct scan	sc = { text, len, 0, 0, dup, duplen };

	if (duplen > 0)
		dup[0] = '\0';
	skip_ws(&sc);
	scan_value(&sc, 0, 0, "");
	return sc.found;
}

/* ---- renaming ---- */

/* The canonical spelling of folded key: from names, or from tmpl. */
typedef const char *canon_fn(const char *fold, const void *arg);

static const char *
canon_from_names(const char *fold, const void *arg)
{
	const char *const	*names = arg;
	char			 f[KEY_MAX];
	size_t			 i;

	for (i = 0; names[i] != NULL; i++) {
		(void)dm_json_key_fold(names[i], strlen(names[i]), f,
		    sizeof(f));
		if (strcmp(f, fold) == 0)
			return names[i];
	}
	return NULL;
}

static const char *
canon_from_tmpl(const char *fold, const void *arg)
{
	struct json_object	*tmpl = (struct json_object *)(uintptr_t)arg;
	char			 f[KEY_MAX];

	if (!json_object_is_type(tmpl, json_type_object))
		return NULL;
	json_object_object_foreach(tmpl, key, val) {
		(void)val;
		(void)dm_json_key_fold(key, strlen(key), f, sizeof(f));
		if (strcmp(f, fold) == 0)
			return key;
	}
	return NULL;
}

static int	canon_walk(struct json_object *, int is_map,
		    const char *self, canon_fn *, const void *arg, int depth);

/*
 * One object's keys renamed (struct level only), then its values walked:
 * with fn's own arg, or, for canon_from_tmpl, the template's value at
 * the same key.
 */
static int
canon_object(struct json_object *o, int is_map, const char *self,
    canon_fn *fn, const void *arg, int depth)
{
	struct json_object	*v, *t;
	const char		*want, **to = NULL;
	const void		*sub;
	char			 fold[KEY_MAX], **from = NULL;
	size_t			 n = 0, i, cap = 0;
	int			 renamed = 0;

	if (!is_map) {
		json_object_object_foreach(o, key, val) {
			(void)val;
			(void)dm_json_key_fold(key, strlen(key), fold,
			    sizeof(fold));
			want = fn(fold, arg);
			if (want == NULL || strcmp(want, key) == 0)
				continue;
			if (n == cap) {
				cap = cap == 0 ? 4 : cap * 2;
				from = xrealloc(from, cap * sizeof(*from));
				to = xrealloc(to, cap * sizeof(*to));
			}
			from[n] = xstrdup(key);
			to[n++] = want;
		}
		for (i = 0; i < n; i++) {
			v = json_object_get(json_object_object_get(o,
			    from[i]));
			json_object_object_del(o, from[i]);
			json_object_object_add(o, to[i], v);
			free(from[i]);
			renamed++;
		}
		free(from);
		free(to);
	}
	json_object_object_foreach(o, k2, v2) {
		(void)dm_json_key_fold(k2, strlen(k2), fold, sizeof(fold));
		sub = arg;
		if (fn == canon_from_tmpl) {
			t = NULL;
			if (!json_object_object_get_ex(
			    (struct json_object *)(uintptr_t)arg, k2, &t) ||
			    !json_object_is_type(t, json_type_object))
				continue;
			sub = t;
		}
		renamed += canon_walk(v2, !is_map && is_map_field(self, fold),
		    is_map ? "" : fold, fn, sub, depth + 1);
	}
	return renamed;
}

static int
canon_walk(struct json_object *o, int is_map, const char *self,
    canon_fn *fn, const void *arg, int depth)
{
	size_t	i, n;
	int	renamed = 0;

	if (depth > SCAN_DEPTH)
		return 0;
	if (json_object_is_type(o, json_type_object))
		return canon_object(o, is_map, self, fn, arg, depth);
	/* Array elements have no template counterpart. */
	if (json_object_is_type(o, json_type_array) && fn != canon_from_tmpl) {
		n = json_object_array_length(o);
		for (i = 0; i < n; i++)
			renamed += canon_walk(json_object_array_get_idx(o, i),
			    0, "", fn, arg, depth + 1);
	}
	return renamed;
}

int
dm_json_canon(struct json_object *o, const char *const *names)
{
	return canon_walk(o, 0, "", canon_from_names, names, 0);
}

int
dm_json_canon_like(struct json_object *o, const struct json_object *tmpl)
{
	return canon_walk(o, 0, "", canon_from_tmpl, tmpl, 0);
}
