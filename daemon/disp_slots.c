/*
 * disp_slots.c: what every fan-out shares: one slot per backend holding a
 * whole small exchange (down backends and unwanted ones skipped), the
 * message of a failed slot, lists merged by key, the request target and
 * JSON text helpers.
 */
/* Threads: a slot belongs to the thread disp_each_backend() gives it. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/util.h"

#define JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

void
disp_slots_init(struct disp *d, struct disp_slot *s, void **args,
    const char *method, const char *path, const struct dm_hdrs *hdrs,
    const char *body, size_t body_len)
{
	size_t	i;

	memset(s, 0, sizeof(*s) * d->n);
	for (i = 0; i < d->n; i++) {
		s[i].method = method;
		s[i].path = path;
		s[i].hdrs = hdrs;
		s[i].body = body;
		s[i].body_len = body_len;
		s[i].wanted = 1;
		s[i].timeout_ms = DM_FAN_TIMEOUT_MS;
		dm_hdrs_init(&s[i].ahdrs);
		if (args != NULL)
			args[i] = &s[i];
	}
}

static void
slot_call(const struct disp_slot *s, struct backend_call *call)
{
	memset(call, 0, sizeof(*call));
	call->method = s->method;
	call->path = s->path;
	call->hdrs = s->hdrs;
	call->body = s->body;
	call->body_len = s->body_len;
	call->timeout_ms = s->timeout_ms;
}

/* 1 when slot i has nothing to ask: not wanted, or its backend down. */
static int
slot_idle(struct disp *d, size_t i, struct disp_slot *s)
{
	if (!s->wanted)
		return 1;
	if (disp_backend_down(d, i, s->err, sizeof(s->err))) {
		s->status = 0;
		return 1;
	}
	return 0;
}

void
disp_slot_do(struct disp *d, size_t i, void *arg)
{
	struct disp_slot	*s = arg;
	struct backend_call	 call;
	struct dm_err		 err;

	if (slot_idle(d, i, s))
		return;
	slot_call(s, &call);
	dm_err_clear(&err);
	if (backend_do(d->b[i].be, &call, &s->status, &s->answer,
	    &s->answer_len, &s->ahdrs, &err) == -1) {
		s->status = 0;
		snprintf(s->err, sizeof(s->err), "%s", err.msg);
	}
}

/* The exchanges disp_slots_run() started in its own thread. */
struct slots_sent {
	struct disp		*d;
	struct disp_slot	*s;
	struct backend_xfer	*x[DM_MAX_BACKENDS];	/* owned */
};

static void
slots_finish(void *arg)
{
	struct slots_sent	*t = arg;
	struct disp_slot	*s;
	struct dm_err		 err;
	size_t			 i;

	for (i = 0; i < t->d->n; i++) {
		if (t->x[i] == NULL)
			continue;
		s = &t->s[i];
		dm_err_clear(&err);
		if (backend_xfer_finish(t->x[i], &s->status, &s->answer,
		    &s->answer_len, &s->ahdrs, &err) == -1) {
			s->status = 0;
			snprintf(s->err, sizeof(s->err), "%s", err.msg);
		}
		t->x[i] = NULL;
	}
}

void
disp_slots_run(struct disp *d, struct disp_slot *s)
{
	struct slots_sent	 t = { .d = d, .s = s };
	void			*args[DM_MAX_BACKENDS];
	struct backend_call	 call;
	struct dm_err		 err;
	size_t			 i, sent = 0;

	for (i = 0; i < d->n; i++) {
		args[i] = NULL;
		if (!s[i].wanted)
			continue;
		if (backend_is_remote(d->b[i].be)) {
			args[i] = &s[i];
			continue;
		}
		if (slot_idle(d, i, &s[i]))
			continue;
		slot_call(&s[i], &call);
		dm_err_clear(&err);
		if ((t.x[i] = backend_xfer_start(d->b[i].be, &call, &err)) ==
		    NULL) {
			s[i].status = 0;
			snprintf(s[i].err, sizeof(s[i].err), "%s", err.msg);
		} else
			sent++;
	}
	if (sent == 0)
		disp_each_backend(d, disp_slot_do, args);
	else
		disp_each_backend_beside(d, disp_slot_do, args, slots_finish,
		    &t);
}

struct disp_fan {
	struct slots_sent	t;		/* the exchanges not yet in */
};

struct disp_fan *
disp_fan_start(struct disp *d, struct disp_slot *s)
{
	struct disp_fan		*f;
	struct backend_call	 call;
	struct dm_err		 err;
	size_t			 i;

	for (i = 0; i < d->n; i++)
		if (s[i].wanted && backend_is_remote(d->b[i].be) &&
		    !disp_backend_down(d, i, NULL, 0))
			return NULL;
	f = xcalloc(1, sizeof(*f));
	f->t.d = d;
	f->t.s = s;
	for (i = 0; i < d->n; i++) {
		if (slot_idle(d, i, &s[i]))
			continue;
		slot_call(&s[i], &call);
		dm_err_clear(&err);
		if ((f->t.x[i] = backend_xfer_start(d->b[i].be, &call,
		    &err)) == NULL) {
			s[i].status = 0;
			snprintf(s[i].err, sizeof(s[i].err), "%s", err.msg);
		}
	}
	return f;
}

int
disp_fan_pump(struct disp_fan *f, int *fd)
{
	struct disp_slot	*s;
	struct dm_wait		 w;
	struct dm_err		 err;
	size_t			 i;
	int			 rc;

	*fd = -1;
	for (i = 0; i < f->t.d->n; i++) {
		if (f->t.x[i] == NULL)
			continue;
		s = &f->t.s[i];
		dm_err_clear(&err);
		w.fd = -1;
		rc = backend_xfer_try_finish(f->t.x[i], &s->status, &s->answer,
		    &s->answer_len, &s->ahdrs, &w, &err);
		if (rc == DM_NEEDS_WORKER || (rc == DM_WOULD_BLOCK &&
		    w.fd == -1)) {
			*fd = -1;	/* nothing to wait on: a worker's */
			return 0;
		}
		if (rc == DM_WOULD_BLOCK) {
			/* The first one unanswered: all are needed anyway. */
			if (*fd == -1)
				*fd = w.fd;
			continue;
		}
		f->t.x[i] = NULL;
		if (rc == -1) {
			s->status = 0;
			snprintf(s->err, sizeof(s->err), "%s", err.msg);
		}
	}
	return *fd == -1;	/* none left to wait for: all are in */
}

void
disp_fan_finish(struct disp_fan *f)
{
	slots_finish(&f->t);
}

void
disp_fan_free(struct disp_fan *f)
{
	size_t	i;

	if (f == NULL)
		return;
	for (i = 0; i < f->t.d->n; i++)
		backend_xfer_free(f->t.x[i]);
	free(f);
}

struct disp_slot *
disp_slots_same_error(struct disp *d, struct disp_slot *s)
{
	struct disp_slot	*first = NULL;
	size_t			 i;

	for (i = 0; i < d->n; i++) {
		if (!s[i].wanted)
			continue;
		if (s[i].status < 400 || s[i].answer == NULL)
			return NULL;
		if (first == NULL)
			first = &s[i];
		else if (s[i].status != first->status || s[i].answer_len !=
		    first->answer_len || memcmp(s[i].answer, first->answer,
		    first->answer_len) != 0)
			return NULL;
	}
	return first;
}

void
disp_slot_message(const struct disp_slot *s, char *out, size_t len)
{
	struct json_object	*o, *m;

	if (s->status == 0) {
		snprintf(out, len, "%s", s->err);
		return;
	}
	o = s->answer != NULL ? json_tokener_parse(s->answer) : NULL;
	if (o != NULL && json_object_object_get_ex(o, "message", &m))
		snprintf(out, len, "%s", json_object_get_string(m));
	else
		snprintf(out, len, "answered %d", s->status);
	json_object_put(o);
}

void
disp_slots_free(struct disp *d, struct disp_slot *s)
{
	size_t	i;

	for (i = 0; i < d->n; i++) {
		free(s[i].answer);
		s[i].answer = NULL;
		dm_hdrs_clear(&s[i].ahdrs);
	}
}

void
disp_reply_slot(struct disp_reply *r, struct disp_slot *s)
{
	r->status = s->status;
	r->kind = DISP_REPLY_BODY;
	r->body = s->answer != NULL ? s->answer : xstrdup("");
	r->body_len = strlen(r->body);
	s->answer = NULL;
	(void)dm_hdrs_copy_end_to_end(&s->ahdrs, &r->hdrs);
}

char *
disp_req_target(const struct disp_req *req)
{
	char	*p;

	p = xasprintf("%s%s%s", req->path, req->query[0] != '\0' ? "?" :
	    "", req->query);
	return p;
}

char *
disp_json_text(struct json_object *o)
{
	return xstrdup(json_object_to_json_string_ext(o, JSON_FLAGS));
}

char *
disp_json_take(struct json_object *o)
{
	char	*s = disp_json_text(o);

	json_object_put(o);
	return s;
}

void
disp_merge_init(struct disp_merge *m, const char *key,
    void (*fresh)(struct json_object *, size_t, void *),
    void (*again)(struct json_object *, struct json_object *, size_t, void *),
    void *arg)
{
	m->key = key;
	m->list = json_object_new_array();
	m->seen = json_object_new_object();
	m->fresh = fresh;
	m->again = again;
	m->arg = arg;
}

void
disp_merge_add(struct disp_merge *m, struct json_object *array, size_t bi)
{
	struct json_object	*e, *k, *have;
	const char		*key;
	size_t			 i;

	if (!json_object_is_type(array, json_type_array))
		return;
	for (i = 0; i < json_object_array_length(array); i++) {
		e = json_object_array_get_idx(array, i);
		/* An engine's null or wrong type is no key: left out. */
		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, m->key, &k) ||
		    !json_object_is_type(k, json_type_string))
			continue;
		key = json_object_get_string(k);
		if (json_object_object_get_ex(m->seen, key, &have)) {
			if (m->again != NULL)
				m->again(have, e, bi, m->arg);
			continue;
		}
		if (m->fresh != NULL)
			m->fresh(e, bi, m->arg);
		json_object_object_add(m->seen, key, json_object_get(e));
		json_object_array_add(m->list, json_object_get(e));
	}
}

void
disp_merge_free(struct disp_merge *m)
{
	json_object_put(m->list);
	json_object_put(m->seen);
	m->list = m->seen = NULL;
}

ssize_t
disp_first_holding(struct disp *d, const char *path, int timeout_ms,
    int skip_down, size_t except, char **body, struct dm_err *err)
{
	struct backend_call	 call = { .method = "GET", .path = path,
	    .timeout_ms = timeout_ms };
	char			*answer = NULL;
	size_t			 i, len;
	int			 status;

	for (i = 0; i < d->n; i++) {
		status = 0;
		if (i == except || (skip_down && disp_backend_down(d, i, NULL,
		    0)))
			continue;
		if (backend_do(d->b[i].be, &call, &status, &answer, &len, NULL,
		    err) == 0 && status == 200) {
			if (body != NULL)
				*body = answer;
			else
				free(answer);
			return (ssize_t)i;
		}
		free(answer);
		answer = NULL;
	}
	return -1;
}
