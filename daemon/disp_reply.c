/*
 * disp_reply.c: the replies every handler writes: Docker-shaped errors,
 * JSON bodies, an engine's answer streamed through, an upgraded
 * connection to relay.  The bottom of the dispatcher: it calls no
 * handler.
 */
/* Threads: any thread, on its own reply. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/util.h"


struct xfer_stream {
	struct disp_stream	 base;
	struct disp		*d;		/* a view reference */
	struct backend_xfer	*x;		/* owned */
};

struct disp_upgrade {
	struct disp		*d;		/* a view reference */
	struct backend_hijack	*hj;		/* owned */
};

void
disp_reply_init(struct disp_reply *r)
{
	memset(r, 0, sizeof(*r));
	dm_hdrs_init(&r->hdrs);
	r->length = -1;
}

void
disp_reply_json(struct disp_reply *r, int status, char *json_text)
{
	r->status = status;
	r->kind = DISP_REPLY_BODY;
	free(r->body);
	r->body = json_text;
	r->body_len = strlen(json_text);
	dm_hdrs_set(&r->hdrs, "Content-Type", "application/json");
}

void
disp_reply_error(struct disp_reply *r, enum dm_status st, const char *msg)
{
	struct json_object	*o;
	char			*text;

	o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(msg));
	/* With the newline Go's encoder ends dockerd's error bodies with. */
	text = xasprintf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
	json_object_put(o);
	disp_reply_json(r, dm_status_http(st), text);
}

void
disp_reply_free(struct disp_reply *r)
{
	dm_hdrs_clear(&r->hdrs);
	free(r->body);
	r->body = NULL;
	if (r->stream != NULL)
		r->stream->free(r->stream);
	r->stream = NULL;
	if (r->upgrade != NULL) {
		backend_hijack_free(r->upgrade->hj);
		disp_stream_release(r->upgrade->d);
		free(r->upgrade);
	}
	r->upgrade = NULL;
}

static ssize_t
xfer_stream_try_read(struct disp_stream *s, char *buf, size_t len,
    struct dm_wait *w)
{
	struct xfer_stream	*xs = (struct xfer_stream *)s;

	return backend_xfer_try_read(xs->x, buf, len, w);
}

static void
xfer_stream_free(struct disp_stream *s)
{
	struct xfer_stream	*xs = (struct xfer_stream *)s;

	backend_xfer_free(xs->x);
	disp_stream_release(xs->d);
	free(xs);
}

int
disp_reply_head(struct disp_reply *r, const struct dm_hdrs *engine)
{
	if (dm_hdrs_copy_end_to_end(engine, &r->hdrs) == 0)
		return 0;
	dm_hdrs_clear(&r->hdrs);
	disp_reply_error(r, DM_EBACKEND, "engine answer has more headers "
	    "than dockmux relays");
	return -1;
}

/*
 * A reply carrying the engine's answer; takes x.  An answer that
 * arrived whole with its head goes back as one body, written to the
 * client at once: with its length, or chunked when the engine chunked it
 * (the client sees the engine's framing; line readers of build output
 * count on chunks).  Anything else streams as it comes.
 */
void
disp_reply_from_xfer(struct disp *d, struct disp_reply *r,
    struct backend_xfer *x)
{
	struct xfer_stream	*xs;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len = 0;

	if (disp_reply_head(r, backend_xfer_headers(x)) == -1) {
		backend_xfer_free(x);
		return;
	}
	r->status = backend_xfer_status(x);
	r->length = backend_xfer_length(x);
	backend_xfer_settle(x, DM_SETTLE_MS);
	if (backend_xfer_complete(x) && backend_xfer_slurp(x, DM_STREAM_CHUNK,
	    &body, &len, &err) == 0) {
		/* Whole: one body, chunked again if the engine chunked it. */
		backend_xfer_free(x);
		r->kind = DISP_REPLY_BODY;
		r->body = body;
		r->body_len = len;
		r->chunked = r->length < 0;
		return;
	}
	/* Streamed: the client gets the pieces as they come. */
	r->kind = DISP_REPLY_STREAM;
	xs = xcalloc(1, sizeof(*xs));
	xs->base.try_read = xfer_stream_try_read;
	xs->base.free = xfer_stream_free;
	xs->x = x;
	xs->d = d;
	disp_stream_hold(d);
	r->stream = &xs->base;
}

/*
 * Make r an upgrade to relay over hj (taken); the view is held until the
 * reply is freed.
 */
void
disp_reply_upgrade(struct disp *d, struct disp_reply *r,
    struct backend_hijack *hj, const char *proto)
{
	r->status = 101;
	r->kind = DISP_REPLY_UPGRADE;
	dm_hdrs_set(&r->hdrs, "Upgrade", proto);
	r->upgrade = xcalloc(1, sizeof(*r->upgrade));
	r->upgrade->hj = hj;
	r->upgrade->d = d;
	disp_stream_hold(d);
}

int
disp_relay_step(struct disp_reply *r, int client_fd, const char *extra,
    size_t extra_len, short *engine_ev, short *client_ev)
{
	if (r->upgrade == NULL)
		return -1;
	return backend_hijack_step(r->upgrade->hj, client_fd, extra,
	    extra_len, engine_ev, client_ev);
}

int
disp_relay_fd(const struct disp_reply *r)
{
	return r->upgrade != NULL ? backend_hijack_fd(r->upgrade->hj) : -1;
}

void
disp_out_add(struct disp_out *o, const char *s, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = o->len + n > 2 * o->cap ? o->len + n : 2 * o->cap;
		o->p = xrealloc(o->p, o->cap);
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

size_t
disp_out_pending(const struct disp_out *o)
{
	return o->len - o->off;
}

size_t
disp_out_take(struct disp_out *o, char *buf, size_t max)
{
	size_t	n = o->len - o->off;

	if (n > max)
		n = max;
	memcpy(buf, o->p + o->off, n);
	o->off += n;
	if (o->off == o->len)
		disp_out_free(o);
	return n;
}

void
disp_out_free(struct disp_out *o)
{
	free(o->p);
	o->p = NULL;
	o->len = o->off = o->cap = 0;
}
