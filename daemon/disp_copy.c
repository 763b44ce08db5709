/*
 * disp_copy.c: an image follows its container: copied engine to engine
 * when a create lands on a backend that lacks it, streamed from one
 * engine's GET /images/{name}/get into the other's POST /images/load,
 * never held whole in memory or on disk.
 */
/*
 * Threads: the call workers.  Copies in flight are listed under
 * root->copy_lock; a create that needs an image already being copied to
 * the same backend waits on root->copy_done for that copy instead of
 * starting another.
 */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/* One copy in flight: (ref, to) and, once done, how it went. */
struct disp_copy {
	struct disp_copy	*next;
	char			 ref[STORE_REF_MAX];
	char			 to[DM_MAX_NAME];
	int			 done;
	int			 rc;
	unsigned int		 waiters;
	char			 note[512];	/* rc 0: the warning text */
	struct dm_err		 err;		/* rc -1: why */
};

/* 1 when the load stream's answer reports an error (message in out). */
static int
load_failed(const char *body, char *out, size_t len)
{
	const char		*p = body, *nl;
	struct json_object	*o;
	const char		*msg;
	int			 failed = 0;

	while (p != NULL && *p != '\0' && !failed) {
		nl = strchr(p, '\n');
		o = json_tokener_parse(p);
		msg = dm_json_str(o, "error");
		if (msg != NULL) {
			snprintf(out, len, "%s", msg);
			failed = 1;
		}
		json_object_put(o);
		p = nl != NULL ? nl + 1 : NULL;
	}
	return failed;
}

/*
 * Stream ref from backend `from` into backend `to`.  0 with *bytes set,
 * or -1 with err naming the backend that failed.
 */
static int
copy_stream(struct disp *d, const char *ref, size_t from, size_t to,
    long long *bytes, struct dm_err *err)
{
	struct backend_call	 get, load;
	struct backend_xfer	*src = NULL, *dst = NULL;
	struct dm_hdrs		 hdrs;
	char			*path = NULL, *enc, *body = NULL, *buf;
	char			 msg[300];
	size_t			 len;
	ssize_t			 n;
	int			 rc = -1;

	dm_hdrs_init(&hdrs);
	buf = xmalloc(DM_STREAM_CHUNK);
	*bytes = 0;
	enc = disp_ref_encode(ref);
	path = xasprintf("/images/%s/get", enc);
	free(enc);
	memset(&get, 0, sizeof(get));
	get.method = "GET";
	get.path = path;
	get.head_timeout_ms = DM_LOOKUP_TIMEOUT_MS;
	src = backend_xfer_start(d->b[from].be, &get, err);
	if (src == NULL || backend_xfer_head(src, -1, err) == -1)
		goto out;
	if (backend_xfer_status(src) != 200) {
		if (backend_xfer_slurp(src, DM_MAX_MISS_BODY, &body, &len,
		    err) == 0)
			dm_engine_message(body, msg, sizeof(msg));
		else
			snprintf(msg, sizeof(msg), "status %d",
			    backend_xfer_status(src));
		dm_err_set(err, DM_EBACKEND, "backend %s could not export "
		    "image %s: %s", d->b[from].cfg->name, ref, msg);
		goto out;
	}
	(void)dm_hdrs_add(&hdrs, "Content-Type", "application/x-tar");
	memset(&load, 0, sizeof(load));
	load.method = "POST";
	load.path = "/images/load?quiet=1";
	load.hdrs = &hdrs;
	load.body_streamed = 1;
	load.body_size = backend_xfer_length(src);
	load.head_timeout_ms = DM_PULL_HEAD_TIMEOUT_MS;
	dst = backend_xfer_start(d->b[to].be, &load, err);
	if (dst == NULL)
		goto out;
	while ((n = backend_xfer_read(src, buf, DM_STREAM_CHUNK, -1)) > 0) {
		if (backend_xfer_send(dst, buf, (size_t)n, err) == -1)
			goto out;
		*bytes += n;
	}
	if (n == -1) {
		dm_err_set(err, DM_EBACKEND, "backend %s broke off exporting "
		    "image %s", d->b[from].cfg->name, ref);
		goto out;
	}
	if (backend_xfer_head(dst, -1, err) == -1)
		goto out;
	free(body);
	body = NULL;
	if (backend_xfer_slurp(dst, DM_MAX_SMALL_BODY, &body, &len, err) == -1)
		goto out;
	if (backend_xfer_status(dst) != 200 || load_failed(body, msg,
	    sizeof(msg))) {
		if (backend_xfer_status(dst) != 200)
			dm_engine_message(body, msg, sizeof(msg));
		dm_err_set(err, DM_EBACKEND, "backend %s could not load image "
		    "%s: %s", d->b[to].cfg->name, ref, msg);
		goto out;
	}
	rc = 0;
out:
	backend_xfer_free(src);
	backend_xfer_free(dst);
	dm_hdrs_clear(&hdrs);
	free(body);
	free(path);
	free(buf);
	return rc;
}

/* The copy, done by the one caller that registered it. */
static void
copy_run(struct disp *d, const char *ref, size_t to, struct disp_copy *c)
{
	struct dm_err	 err;
	char		*path, *enc;
	ssize_t		 from;
	long long	 t0, bytes = 0;
	double		 secs;

	t0 = dm_mono_ms();
	enc = disp_ref_encode(ref);
	path = xasprintf("/images/%s/json", enc);
	free(enc);
	from = disp_first_holding(d, path, DM_LOOKUP_TIMEOUT_MS, 1, to, NULL,
	    &err);
	free(path);
	if (from == -1) {
		dm_err_set(&c->err, DM_ENOTFOUND, "No such image: %s", ref);
		c->rc = -1;
		return;
	}
	if (copy_stream(d, ref, (size_t)from, to, &bytes, &err) == -1) {
		log_warnx("msg=\"image copy failed\" image=%s from=%s to=%s "
		    "reason=%s", log_q(ref), d->b[from].cfg->name,
		    d->b[to].cfg->name, log_q(err.msg));
		disp_metrics_copy(d->metrics, d->b[from].cfg->name,
		    d->b[to].cfg->name, 0, 0);
		c->rc = -1;
		c->err = err;
		return;
	}
	secs = (double)(dm_mono_ms() - t0) / 1000.0;
	log_info("msg=\"image copied\" image=%s from=%s to=%s bytes=%lld "
	    "seconds=%.3f", log_q(ref), d->b[from].cfg->name,
	    d->b[to].cfg->name, bytes, secs);
	disp_metrics_copy(d->metrics, d->b[from].cfg->name,
	    d->b[to].cfg->name, 1, bytes);
	snprintf(c->note, sizeof(c->note), "dockmux: image %s copied from "
	    "backend %s to backend %s (%.1f MB in %.1f s)", ref,
	    d->b[from].cfg->name, d->b[to].cfg->name,
	    (double)bytes / 1e6, secs);
	c->rc = 0;
}

int
disp_image_copy(struct disp *d, const char *ref, size_t to, char *note,
    size_t notelen, struct dm_err *err)
{
	struct dispatcher	*root = d->root;
	struct disp_copy	*c, **pp;
	int			 rc, mine = 0;

	pthread_mutex_lock(&root->copy_lock);
	for (c = root->copies; c != NULL; c = c->next)
		if (strcmp(c->ref, ref) == 0 &&
		    strcmp(c->to, d->b[to].cfg->name) == 0)
			break;
	if (c == NULL) {
		c = xcalloc(1, sizeof(*c));
		snprintf(c->ref, sizeof(c->ref), "%s", ref);
		snprintf(c->to, sizeof(c->to), "%s", d->b[to].cfg->name);
		c->next = root->copies;
		root->copies = c;
		mine = 1;
	}
	c->waiters++;
	if (mine) {
		/* No lock across network I/O: the others wait on the cond. */
		pthread_mutex_unlock(&root->copy_lock);
		copy_run(d, ref, to, c);
		pthread_mutex_lock(&root->copy_lock);
		c->done = 1;
		pthread_cond_broadcast(&root->copy_done);
	}
	while (!c->done)
		pthread_cond_wait(&root->copy_done, &root->copy_lock);
	rc = c->rc;
	if (rc == 0)
		snprintf(note, notelen, "%s", c->note);
	else
		*err = c->err;
	if (--c->waiters == 0) {
		for (pp = &root->copies; *pp != c; pp = &(*pp)->next)
			;
		*pp = c->next;
		free(c);
	}
	pthread_mutex_unlock(&root->copy_lock);
	return rc;
}
