/* store_images.c: facts learnt about images (OS, architecture, runtime
 * marker, the image ID they came from), keyed by the canonical form of a
 * Docker image reference, kept DM_STORE_IMAGE_FACTS_S since last seen. */
/* Threads: MHD workers call in; st->db under st->lock.  The canonical
 * form is a pure function: any thread. */

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "lib/dmerr.h"
#include "store_int.h"

#define DIGEST_HEX	64	/* sha256 */

/* Appends to a fixed buffer; overflow sticks and fails the whole. */
struct refbuf {
	char	*s;
	size_t	 len;
	size_t	 used;
	int	 overflow;
};

static void
ref_add(struct refbuf *b, const char *s, size_t n)
{
	if (b->overflow || b->used + n >= b->len) {
		b->overflow = 1;
		return;
	}
	memcpy(b->s + b->used, s, n);
	b->used += n;
	b->s[b->used] = '\0';
}

static void
ref_adds(struct refbuf *b, const char *s)
{
	ref_add(b, s, strlen(s));
}

/* n characters of s, all hex digits? */
static int
all_hex(const char *s, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return 1;
}

/* s is an image ID: "sha256:<1..64 hex>" or exactly 64 hex digits.
 * *hex points at the digits. */
static int
is_image_id(const char *s, const char **hex)
{
	size_t	n;

	if (strncmp(s, "sha256:", 7) == 0) {
		n = strlen(s + 7);
		if (n > 0 && n <= DIGEST_HEX && all_hex(s + 7, n)) {
			*hex = s + 7;
			return 1;
		}
		return 0;
	}
	if (strlen(s) == DIGEST_HEX && all_hex(s, DIGEST_HEX)) {
		*hex = s;
		return 1;
	}
	return 0;
}

/*
 * Docker's rule: the first path component names a registry when it has a
 * '.' or a ':' (a port) or is "localhost"; otherwise the image is on
 * Docker Hub.  The component is first[0..n).
 */
static int
is_registry(const char *first, size_t n)
{
	return memchr(first, '.', n) != NULL || memchr(first, ':', n) !=
	    NULL || (n == 9 && strncmp(first, "localhost", 9) == 0);
}

/* Docker Hub's other spellings. */
static int
is_docker_hub(const char *host)
{
	return strcmp(host, "docker.io") == 0 ||
	    strcmp(host, "index.docker.io") == 0 ||
	    strcmp(host, "registry-1.docker.io") == 0;
}

int
store_image_canonical(const char *ref, char *out, size_t len)
{
	struct refbuf	 b = { out, len, 0, 0 };
	char		 host[STORE_REF_MAX];
	const char	*hex, *at, *path, *slash, *last, *c;
	size_t		 nname, i;
	int		 tagged;
	char		 ch;

	if (len == 0)
		return -1;
	out[0] = '\0';
	if (ref == NULL || ref[0] == '\0')
		return -1;
	if (is_image_id(ref, &hex)) {
		ref_adds(&b, "sha256:");
		for (c = hex; *c != '\0'; c++) {
			ch = (char)tolower((unsigned char)*c);
			ref_add(&b, &ch, 1);
		}
		return b.overflow ? -1 : 0;
	}

	/* name[:tag][@digest]: the digest is kept as given. */
	at = strchr(ref, '@');
	nname = at != NULL ? (size_t)(at - ref) : strlen(ref);
	if (nname == 0)
		return -1;

	slash = memchr(ref, '/', nname);
	if (slash != NULL && is_registry(ref, (size_t)(slash - ref))) {
		i = (size_t)(slash - ref);
		if (i >= sizeof(host))
			return -1;
		for (c = ref; c < slash; c++)
			host[c - ref] = (char)tolower((unsigned char)*c);
		host[i] = '\0';
		path = slash + 1;
	} else {
		snprintf(host, sizeof(host), "docker.io");
		path = ref;
	}
	if (is_docker_hub(host))
		snprintf(host, sizeof(host), "docker.io");
	nname -= (size_t)(path - ref);
	if (nname == 0)
		return -1;

	/* A tag is a ':' after the path's last '/' (the host's port is not
	 * in path any more). */
	last = path;
	for (c = path; c < path + nname; c++)
		if (*c == '/')
			last = c + 1;
	tagged = memchr(last, ':', nname - (size_t)(last - path)) != NULL;

	ref_adds(&b, host);
	ref_adds(&b, "/");
	if (strcmp(host, "docker.io") == 0 &&
	    memchr(path, '/', nname) == NULL)
		ref_adds(&b, "library/");
	ref_add(&b, path, nname);
	if (!tagged && at == NULL)
		ref_adds(&b, ":latest");
	if (at != NULL)
		ref_adds(&b, at);
	return b.overflow ? -1 : 0;
}

/* The oldest seen time that still counts, for now. */
static long long
facts_oldest(void)
{
	return (long long)time(NULL) - DM_STORE_IMAGE_FACTS_S;
}

/* The canonical form of ref into canon; -1 with err (DM_EBADREQ). */
static int
canonical_or_fail(const char *ref, char *canon, size_t len,
    struct dm_err *err)
{
	if (store_image_canonical(ref, canon, len) == 0)
		return 0;
	dm_err_set(err, DM_EBADREQ, "invalid reference format: %s",
	    ref != NULL ? ref : "");
	return -1;
}

int
store_image_put(struct store *st, const struct store_image *img,
    struct dm_err *err)
{
	char			ref[STORE_REF_MAX];
	const struct store_arg	args[] = {
		STORE_TEXT(ref, sizeof(ref)),
		STORE_TEXT(img->os, sizeof(img->os)),
		STORE_TEXT(img->arch, sizeof(img->arch)),
		STORE_TEXT(img->marker, sizeof(img->marker)),
		STORE_TEXT(img->backend, sizeof(img->backend)),
		STORE_INT(img->seen),
		STORE_TEXT(img->id, sizeof(img->id)),
	};
	const struct store_arg	old[] = { STORE_INT(facts_oldest()) };
	int			rc;

	if (canonical_or_fail(img->ref, ref, sizeof(ref), err) == -1)
		return -1;
	store_lock(st);
	/* Every create learns facts: the table keeps only live ones. */
	rc = store_run(st, STMT_IMAGE_EXPIRE, old, NITEMS(old), 0,
	    "image expire", err);
	if (rc == 0)
		rc = store_run(st, STMT_IMAGE_PUT, args, NITEMS(args), 0,
		    "image put", err);
	store_unlock(st);
	return rc;
}

int
store_image_verify(struct store *st, const char *ref, const char *image_id,
    struct dm_err *err)
{
	char			canon[STORE_REF_MAX];
	const struct store_arg	args[] = {
		STORE_TEXT(canon, sizeof(canon)),
		STORE_TEXT(image_id, STORE_REF_MAX),
	};
	int			rc;

	if (image_id == NULL || image_id[0] == '\0')
		return 0;
	if (canonical_or_fail(ref, canon, sizeof(canon), err) == -1)
		return -1;
	store_lock(st);
	rc = store_run(st, STMT_IMAGE_DROP_MOVED, args, NITEMS(args), 0,
	    "image verify", err);
	if (rc == 0)
		rc = sqlite3_changes(st->db) > 0;
	store_unlock(st);
	return rc;
}

int
store_image_find(struct store *st, const char *ref, struct store_image *out,
    struct dm_err *err)
{
	sqlite3_stmt	*stmt;
	char		 canon[STORE_REF_MAX];
	int		 rc = -1, s;

	if (canonical_or_fail(ref, canon, sizeof(canon), err) == -1)
		return -1;
	store_lock(st);
	stmt = store_stmt(st, STMT_IMAGE_FIND);
	if (store_bind_text(stmt, 1, canon, sizeof(canon)) != SQLITE_OK ||
	    sqlite3_bind_int64(stmt, 2, (sqlite3_int64)facts_oldest()) !=
	    SQLITE_OK) {
		store_fail(st, err, "image find");
		goto out;
	}
	s = sqlite3_step(stmt);
	if (s == SQLITE_DONE) {
		rc = 1;
		goto out;
	}
	if (s != SQLITE_ROW) {
		store_fail(st, err, "image find");
		goto out;
	}
	memset(out, 0, sizeof(*out));
	store_col_text(stmt, 0, out->ref, sizeof(out->ref));
	store_col_text(stmt, 1, out->os, sizeof(out->os));
	store_col_text(stmt, 2, out->arch, sizeof(out->arch));
	store_col_text(stmt, 3, out->marker, sizeof(out->marker));
	store_col_text(stmt, 4, out->backend, sizeof(out->backend));
	out->seen = sqlite3_column_int64(stmt, 5);
	store_col_text(stmt, 6, out->id, sizeof(out->id));
	rc = 0;
out:
	store_stmt_done(stmt);
	store_unlock(st);
	return rc;
}
