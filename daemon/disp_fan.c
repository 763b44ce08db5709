/*
 * disp_fan.c: what every fan-out shares: one slot per backend holding a
 * whole small exchange (down backends and unwanted ones skipped), the
 * message of a failed slot, the request target and JSON text helpers.
 */
/* Threads: a slot belongs to the thread disp_each_backend() gives it. */

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/limits.h"

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
		s[i].timeout_ms = DISP_FAN_TIMEOUT_MS;
		dm_hdrs_init(&s[i].ahdrs);
		if (args != NULL)
			args[i] = &s[i];
	}
}

void
disp_slot_do(struct disp *d, size_t i, void *arg)
{
	struct disp_slot	*s = arg;
	struct backend_call	 call;
	struct dm_err		 err;
	size_t			 len;

	if (!s->wanted)
		return;
	if (disp_backend_down(d, i, s->err, sizeof(s->err))) {
		s->status = 0;
		return;
	}
	memset(&call, 0, sizeof(call));
	call.method = s->method;
	call.path = s->path;
	call.hdrs = s->hdrs;
	call.body = s->body;
	call.body_len = s->body_len;
	call.timeout_ms = s->timeout_ms;
	dm_err_clear(&err);
	if (backend_do(d->b[i].be, &call, &s->status, &s->answer, &len,
	    &s->ahdrs, &err) == -1) {
		s->status = 0;
		snprintf(s->err, sizeof(s->err), "%s", err.msg);
	}
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
	size_t	i;

	r->status = s->status;
	r->kind = DISP_REPLY_BODY;
	r->body = s->answer != NULL ? s->answer : strdup("");
	if (r->body == NULL)
		abort();
	r->body_len = strlen(r->body);
	s->answer = NULL;
	for (i = 0; i < s->ahdrs.n; i++)
		if (!dm_hdr_is_hop_by_hop(s->ahdrs.v[i].name))
			(void)dm_hdrs_add(&r->hdrs, s->ahdrs.v[i].name,
			    s->ahdrs.v[i].value);
}

char *
disp_req_target(const struct disp_req *req)
{
	char	*p;

	if (asprintf(&p, "%s%s%s", req->path, req->query[0] != '\0' ? "?" :
	    "", req->query) == -1)
		abort();
	return p;
}

char *
disp_json_text(struct json_object *o)
{
	char	*s = strdup(json_object_to_json_string_ext(o, JSON_FLAGS));

	if (s == NULL)
		abort();
	return s;
}

char *
disp_json_take(struct json_object *o)
{
	char	*s = disp_json_text(o);

	json_object_put(o);
	return s;
}
