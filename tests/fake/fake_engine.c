/*
 * fake_engine.c: a scriptable fake Docker engine on a unix socket, so the
 * integration tests can make a backend answer, stream, fail, hang or die on
 * cue and can read back exactly what dockmuxd sent it.
 */
/* Threads: MHD runs one thread per connection and calls fe_handle() there;
 * record lines are written under rec_lock; main only waits for a signal. */

#include <sys/socket.h>
#include <sys/un.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>
#include <microhttpd.h>

#include "lib/log.h"

#define FE_MAX_BODY	(16 * 1024 * 1024)	/* request bytes recorded */
#define FE_MAX_QUERY	4096
#define FE_STREAM_BLOCK	4096
#define FE_JSON_FLAGS	(JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

enum fe_mode {
	MODE_NORMAL = 0,
	MODE_NOT_FOUND_ALL,
	MODE_501_STREAMS
};

/* Per-request state: born in fe_uri_log(), freed in fe_completed(). */
struct fe_req {
	char	*uri;		/* raw request target, query included */
	char	*body;
	size_t	 len;
	int	 started;
};

/* A scripted chunked answer; chunks are borrowed from the script. */
struct fe_stream {
	json_object	*chunks;
	size_t		 idx;
	size_t		 off;
	int		 delay_ms;
	int		 die_after;	/* -1: never */
};

static const char	*fe_socket;
static const char	*fe_pidfile;
static const char	*fe_api = "1.41";
static const char	*fe_os = "linux";
static const char	*fe_arch = "amd64";
static const char	*fe_name = "fake";
static enum fe_mode	 fe_mode = MODE_NORMAL;
static json_object	*fe_rules;	/* read-only after start */
#define FE_MAX_RULES	256
static unsigned int	 fe_used[FE_MAX_RULES];	/* under rule_lock */
static pthread_mutex_t	 rule_lock = PTHREAD_MUTEX_INITIALIZER;
static int		 fe_rec_fd = -1;
static pthread_mutex_t	 rec_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_int	 fe_stopping;

static const char *const rule_keys[] = {
	"method", "path", "query_has", "status", "headers", "body", "json",
	"chunks", "chunk_delay_ms", "die_after_chunks", "hang", "comment",
	"times", "die_after_ms", "head_delay_ms",
};

static void __attribute__((noreturn))
usage(void)
{
	fprintf(stderr, "usage: fake-engine --socket PATH [--record FILE] "
	    "[--pidfile FILE] [--script FILE]\n\t[--api-version V] [--os OS] "
	    "[--arch A] [--name X] [--mode normal|not-found-all|501-streams]\n");
	exit(2);
}

/* Sleep in short slices so SIGTERM is not held up; -1 when stopping. */
static int
fe_sleep(int ms)
{
	struct timespec	ts = { 0, 0 };

	for (; ms > 0 && !atomic_load(&fe_stopping); ms -= 20) {
		ts.tv_nsec = (ms < 20 ? ms : 20) * 1000000L;
		nanosleep(&ts, NULL);
	}
	return atomic_load(&fe_stopping) ? -1 : 0;
}

/* "/v1.41/containers/json" -> "/containers/json"; others unchanged. */
static const char *
strip_version(const char *path)
{
	int	n = 0;

	if (strncmp(path, "/v", 2) == 0 && isdigit((unsigned char)path[2]))
		sscanf(path, "/v%*u.%*u%n", &n);
	if (n == 0 || (path[n] != '/' && path[n] != '\0'))
		return path;
	return path[n] == '\0' ? "/" : path + n;
}

/*
 * A rule path matches with or without the client's /vX.Y prefix; a rule
 * that spells a prefix itself is compared with the full path. A trailing
 * '*' makes it a prefix glob.
 */
static int
path_matches(const char *want, const char *path)
{
	const char	*p;
	size_t		 n;

	p = strip_version(want) != want ? path : strip_version(path);
	n = strlen(want);
	if (n > 0 && want[n - 1] == '*')
		return strncmp(p, want, n - 1) == 0;
	return strcmp(p, want) == 0;
}

/* Copy the value of query parameter key into buf; -1 when absent. */
static int
query_get(const char *query, const char *key, char *buf, size_t size)
{
	const char	*p = query, *end, *eq;
	size_t		 klen = strlen(key), vlen;

	while (*p != '\0') {
		end = strchr(p, '&');
		if (end == NULL)
			end = p + strlen(p);
		eq = memchr(p, '=', (size_t)(end - p));
		if ((size_t)((eq != NULL ? eq : end) - p) == klen &&
		    strncmp(p, key, klen) == 0) {
			vlen = eq != NULL ? (size_t)(end - eq - 1) : 0;
			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, eq != NULL ? eq + 1 : "", vlen);
			buf[vlen] = '\0';
			return 0;
		}
		p = *end == '&' ? end + 1 : end;
	}
	return -1;
}

/* Every '&'-separated "k=v" (or bare "k") of want is in the query. */
static int
query_has(const char *query, const char *want)
{
	char	 copy[FE_MAX_QUERY], val[FE_MAX_QUERY];
	char	*tok, *save = NULL, *eq;

	if (strlen(want) >= sizeof(copy))
		return 0;
	strcpy(copy, want);
	for (tok = strtok_r(copy, "&", &save); tok != NULL;
	    tok = strtok_r(NULL, "&", &save)) {
		eq = strchr(tok, '=');
		if (eq != NULL)
			*eq = '\0';
		if (query_get(query, tok, val, sizeof(val)) == -1)
			return 0;
		if (eq != NULL && strcmp(val, eq + 1) != 0)
			return 0;
	}
	return 1;
}

static int
query_is(const char *query, const char *key, const char *a, const char *b)
{
	char	val[64];

	if (query_get(query, key, val, sizeof(val)) == -1)
		return 0;
	return strcmp(val, a) == 0 || strcmp(val, b) == 0;
}

static const char *
rule_str(json_object *rule, const char *key)
{
	json_object	*v;

	if (!json_object_object_get_ex(rule, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static int
rule_int(json_object *rule, const char *key, int dflt)
{
	json_object	*v;

	if (!json_object_object_get_ex(rule, key, &v))
		return dflt;
	return json_object_get_int(v);
}

/*
 * The first rule whose method, path and query_has all match and that has
 * not answered its "times" yet (no "times": any number), or NULL.
 */
static json_object *
rule_find(const char *method, const char *path, const char *query)
{
	json_object	*rule;
	const char	*m, *p, *q;
	size_t		 i, n;

	if (fe_rules == NULL)
		return NULL;
	n = json_object_array_length(fe_rules);
	for (i = 0; i < n; i++) {
		rule = json_object_array_get_idx(fe_rules, i);
		m = rule_str(rule, "method");
		p = rule_str(rule, "path");
		q = rule_str(rule, "query_has");
		if (m != NULL && strcmp(m, "*") != 0 && strcmp(m, method) != 0)
			continue;
		if (p != NULL && !path_matches(p, path))
			continue;
		if (q != NULL && !query_has(query, q))
			continue;
		pthread_mutex_lock(&rule_lock);
		if (rule_int(rule, "times", -1) >= 0 &&
		    fe_used[i] >= (unsigned int)rule_int(rule, "times", -1)) {
			pthread_mutex_unlock(&rule_lock);
			continue;
		}
		fe_used[i]++;
		pthread_mutex_unlock(&rule_lock);
		return rule;
	}
	return NULL;
}

/* Refuse a script with a typo rather than let a case pass by accident. */
static void
rules_load(const char *file)
{
	json_object	*rule;
	size_t		 i, k, n;

	fe_rules = json_object_from_file(file);
	if (fe_rules == NULL || !json_object_is_type(fe_rules, json_type_array))
		fatalx("msg=\"script is not a JSON array\" file=%s", file);
	n = json_object_array_length(fe_rules);
	if (n > FE_MAX_RULES)
		fatalx("msg=\"too many rules\" rules=%zu max=%d", n,
		    FE_MAX_RULES);
	for (i = 0; i < n; i++) {
		rule = json_object_array_get_idx(fe_rules, i);
		if (!json_object_is_type(rule, json_type_object))
			fatalx("msg=\"rule is not an object\" rule=%zu", i);
		json_object_object_foreach(rule, key, val) {
			(void)val;
			for (k = 0; k < sizeof(rule_keys) / sizeof(*rule_keys);
			    k++)
				if (strcmp(key, rule_keys[k]) == 0)
					break;
			if (k == sizeof(rule_keys) / sizeof(*rule_keys))
				fatalx("msg=\"unknown rule key\" rule=%zu "
				    "key=%s", i, key);
		}
	}
}

static enum MHD_Result
record_header(void *cls, enum MHD_ValueKind kind, const char *key,
    const char *value)
{
	json_object	*hdrs = cls, *old;
	char		 name[256], *joined;
	size_t		 i;

	(void)kind;
	for (i = 0; key[i] != '\0' && i < sizeof(name) - 1; i++)
		name[i] = (char)tolower((unsigned char)key[i]);
	name[i] = '\0';
	if (value == NULL)
		value = "";
	if (json_object_object_get_ex(hdrs, name, &old)) {
		/* A repeated header is kept as one comma-joined value. */
		if (asprintf(&joined, "%s, %s", json_object_get_string(old),
		    value) == -1)
			fatalx("msg=\"out of memory\"");
		json_object_object_add(hdrs, name,
		    json_object_new_string(joined));
		free(joined);
	} else
		json_object_object_add(hdrs, name,
		    json_object_new_string(value));
	return MHD_YES;
}

/* Append one JSON line per request; one write() so lines never mix. */
static void
record(struct MHD_Connection *conn, const char *method, const char *path,
    const char *query, const struct fe_req *r)
{
	json_object	*o, *hdrs;
	const char	*s;
	char		*line = NULL;
	size_t		 len;

	if (fe_rec_fd == -1)
		return;
	o = json_object_new_object();
	hdrs = json_object_new_object();
	MHD_get_connection_values(conn, MHD_HEADER_KIND, record_header, hdrs);
	json_object_object_add(o, "method", json_object_new_string(method));
	json_object_object_add(o, "path", json_object_new_string(path));
	json_object_object_add(o, "query", json_object_new_string(query));
	json_object_object_add(o, "headers", hdrs);
	json_object_object_add(o, "body",
	    json_object_new_string_len(r->body != NULL ? r->body : "",
	    (int)r->len));
	s = json_object_to_json_string_ext(o, FE_JSON_FLAGS);
	if (asprintf(&line, "%s\n", s) == -1)
		fatalx("msg=\"out of memory\"");
	len = strlen(line);
	pthread_mutex_lock(&rec_lock);
	if (write(fe_rec_fd, line, len) != (ssize_t)len)
		log_warn("msg=\"record write failed\"");
	pthread_mutex_unlock(&rec_lock);
	free(line);
	json_object_put(o);
}

/*
 * Headers dockerd puts on every answer, then the caller's (one of the same
 * name in place of dockerd's), then a type.
 */
static void
add_headers(struct MHD_Response *resp, json_object *extra, const char *type)
{
	const char	*had;
	char		 server[128], *was;

	snprintf(server, sizeof(server), "Docker/fake-1.0 (%s)", fe_os);
	MHD_add_response_header(resp, "Api-Version", fe_api);
	MHD_add_response_header(resp, "Docker-Experimental", "false");
	MHD_add_response_header(resp, "Ostype", fe_os);
	MHD_add_response_header(resp, "Server", server);
	if (extra != NULL) {
		json_object_object_foreach(extra, key, val) {
			if ((had = MHD_get_response_header(resp, key)) !=
			    NULL) {
				if ((was = strdup(had)) == NULL)
					fatalx("msg=\"out of memory\"");
				MHD_del_response_header(resp, key, was);
				free(was);
			}
			MHD_add_response_header(resp, key,
			    json_object_get_string(val));
		}
	}
	if (type != NULL &&
	    MHD_get_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE) == NULL)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
}

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *type,
    const char *body, size_t len, json_object *extra)
{
	struct MHD_Response	*resp;
	enum MHD_Result		 ret;
	char			*copy;

	copy = malloc(len + 1);
	if (copy == NULL)
		fatalx("msg=\"out of memory\"");
	memcpy(copy, body, len);
	resp = MHD_create_response_from_buffer(len, copy, MHD_RESPMEM_MUST_FREE);
	if (resp == NULL) {
		free(copy);
		return MHD_NO;
	}
	add_headers(resp, extra, type);
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* Takes obj. */
static enum MHD_Result
reply_json(struct MHD_Connection *conn, unsigned int status, json_object *obj,
    json_object *extra)
{
	enum MHD_Result	 ret;
	const char	*s;

	s = json_object_to_json_string_ext(obj, FE_JSON_FLAGS);
	ret = reply(conn, status, "application/json", s, strlen(s), extra);
	json_object_put(obj);
	return ret;
}

static enum MHD_Result
reply_message(struct MHD_Connection *conn, unsigned int status,
    const char *fmt, ...)
{
	json_object	*o;
	va_list		 ap;
	char		 msg[512];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	o = json_object_new_object();
	json_object_object_add(o, "message", json_object_new_string(msg));
	return reply_json(conn, status, o, NULL);
}

/*
 * Hands MHD the scripted chunks one by one. MHD asks for the next block
 * only after the previous one went out, so when asked for chunk
 * die_after the client has had the chunks before it: the process dies
 * there, as an engine that crashes mid-stream. _exit, not exit: other
 * MHD threads are running and there is nothing to flush.
 */
static ssize_t
stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct fe_stream	*s = cls;
	json_object		*c;
	size_t			 clen, n;

	(void)pos;
	for (;;) {
		if (s->off == 0 && s->die_after >= 0 &&
		    s->idx == (size_t)s->die_after) {
			fe_sleep(s->delay_ms);
			log_warnx("msg=\"dying mid-stream as scripted\" "
			    "name=%s chunks=%zu", fe_name, s->idx);
			_exit(1);
		}
		if (s->idx >= json_object_array_length(s->chunks))
			return MHD_CONTENT_READER_END_OF_STREAM;
		if (s->off == 0 && s->idx > 0 && fe_sleep(s->delay_ms) == -1)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		c = json_object_array_get_idx(s->chunks, s->idx);
		clen = (size_t)json_object_get_string_len(c);
		if (clen > 0)
			break;
		s->idx++;	/* an empty chunk would read as "not yet" */
	}
	n = clen - s->off < max ? clen - s->off : max;
	memcpy(buf, json_object_get_string(c) + s->off, n);
	s->off += n;
	if (s->off == clen) {
		s->idx++;
		s->off = 0;
	}
	return (ssize_t)n;
}

static enum MHD_Result
reply_stream(struct MHD_Connection *conn, unsigned int status,
    json_object *rule, json_object *chunks, json_object *extra)
{
	struct MHD_Response	*resp;
	struct fe_stream	*s;
	enum MHD_Result		 ret;

	s = calloc(1, sizeof(*s));
	if (s == NULL)
		fatalx("msg=\"out of memory\"");
	s->chunks = chunks;
	s->delay_ms = rule_int(rule, "chunk_delay_ms", 0);
	s->die_after = rule_int(rule, "die_after_chunks", -1);
	resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN,
	    FE_STREAM_BLOCK, stream_read, s, free);
	if (resp == NULL) {
		free(s);
		return MHD_NO;
	}
	add_headers(resp, extra, "text/plain; charset=utf-8");
	ret = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result
reply_rule(struct MHD_Connection *conn, json_object *rule)
{
	json_object	*v, *extra = NULL, *chunks;
	unsigned int	 status;
	const char	*body;

	if (rule_int(rule, "die_after_ms", -1) >= 0) {
		/* An engine that crashes while the request is in flight:
		 * no answer at all, the connection just closes. */
		if (fe_sleep(rule_int(rule, "die_after_ms", -1)) == -1)
			return MHD_NO;
		log_warnx("msg=\"dying before answering as scripted\" "
		    "name=%s", fe_name);
		_exit(1);
	}
	/* A slow engine: the answer, head and all, comes late. */
	if (rule_int(rule, "head_delay_ms", 0) > 0 &&
	    fe_sleep(rule_int(rule, "head_delay_ms", 0)) == -1)
		return MHD_NO;
	if (json_object_object_get_ex(rule, "hang", &v) &&
	    json_object_get_boolean(v)) {
		/* Never answer; let go only so that SIGTERM can finish. */
		while (fe_sleep(1000) == 0)
			;
		return MHD_NO;
	}
	status = (unsigned int)rule_int(rule, "status", 200);
	json_object_object_get_ex(rule, "headers", &extra);
	if (json_object_object_get_ex(rule, "chunks", &chunks) &&
	    json_object_is_type(chunks, json_type_array))
		return reply_stream(conn, status, rule, chunks, extra);
	if (json_object_object_get_ex(rule, "json", &v))
		return reply_json(conn, status, json_object_get(v), extra);
	body = rule_str(rule, "body");
	if (body == NULL)
		body = "";
	return reply(conn, status, "text/plain; charset=utf-8", body,
	    strlen(body), extra);
}

/*
 * GET /version and GET /info. The option values are the test's own words
 * (nothing to escape), so the documents are plain templates.
 */
static enum MHD_Result
reply_about(struct MHD_Connection *conn, int info)
{
	char	buf[1024];

	if (info)
		snprintf(buf, sizeof(buf), "{\"ID\":\"%s\",\"Name\":\"%s\","
		    "\"Containers\":1,\"ContainersRunning\":1,"
		    "\"ContainersPaused\":0,\"ContainersStopped\":0,"
		    "\"Images\":2,\"OSType\":\"%s\",\"Architecture\":\"%s\","
		    "\"ServerVersion\":\"fake-1.0\",\"OperatingSystem\":"
		    "\"Fake OS\",\"NCPU\":1,\"MemTotal\":1073741824,"
		    "\"Driver\":\"fake\",\"Warnings\":[]}",
		    fe_name, fe_name, fe_os, fe_arch);
	else
		snprintf(buf, sizeof(buf), "{\"Platform\":{\"Name\":"
		    "\"Fake Engine\"},\"Components\":[{\"Name\":\"Engine\","
		    "\"Version\":\"fake-1.0\",\"Details\":{\"ApiVersion\":"
		    "\"%s\",\"MinAPIVersion\":\"1.12\",\"Os\":\"%s\","
		    "\"Arch\":\"%s\"}}],\"Version\":\"fake-1.0\","
		    "\"ApiVersion\":\"%s\",\"MinAPIVersion\":\"1.12\","
		    "\"GitCommit\":\"fake\",\"GoVersion\":\"go0\","
		    "\"Os\":\"%s\",\"Arch\":\"%s\","
		    "\"KernelVersion\":\"0.0.0-fake\"}",
		    fe_api, fe_os, fe_arch, fe_api, fe_os, fe_arch);
	return reply(conn, MHD_HTTP_OK, "application/json", buf, strlen(buf),
	    NULL);
}

/* The seed's stream_unsupported: follow/stream asked, or stats by default. */
static int
wants_stream(const char *p, const char *query)
{
	size_t	n = strlen(p);

	if (query_is(query, "follow", "1", "true") ||
	    query_is(query, "stream", "1", "true"))
		return 1;
	return n >= 6 && strcmp(p + n - 6, "/stats") == 0 &&
	    !query_is(query, "stream", "0", "false");
}

/* "/containers/abc/json" -> "abc"; a one-segment path gives itself. */
static void
id_segment(const char *p, char *buf, size_t size)
{
	const char	*s, *e;
	size_t		 n;

	s = p + (*p == '/');
	e = strchr(s, '/');
	if (e != NULL && e[1] != '\0')
		s = e + 1;
	e = strchr(s, '/');
	n = e != NULL ? (size_t)(e - s) : strlen(s);
	if (n >= size)
		n = size - 1;
	memcpy(buf, s, n);
	buf[n] = '\0';
}

/*
 * Script first, then the --mode fault, then dockerd-like defaults.
 * not-found-all spares /_ping, /version and /info: the seed's mock models a
 * backend that owns no container, and such a backend still describes itself.
 */
static enum MHD_Result
answer(struct MHD_Connection *conn, const char *method, const char *path,
    const char *query)
{
	json_object	*rule;
	const char	*p = strip_version(path);
	int		 get = strcmp(method, "GET") == 0;
	char		 id[256];

	rule = rule_find(method, path, query);
	if (rule != NULL)
		return reply_rule(conn, rule);
	if ((get || strcmp(method, "HEAD") == 0) && strcmp(p, "/_ping") == 0)
		return reply(conn, MHD_HTTP_OK, "text/plain; charset=utf-8",
		    "OK", 2, NULL);
	if (fe_mode == MODE_NOT_FOUND_ALL && strcmp(p, "/version") != 0 &&
	    strcmp(p, "/info") != 0) {
		id_segment(p, id, sizeof(id));
		return reply_message(conn, MHD_HTTP_NOT_FOUND,
		    "No such container: %s", id);
	}
	if (fe_mode == MODE_501_STREAMS && wants_stream(p, query))
		return reply_message(conn, MHD_HTTP_NOT_IMPLEMENTED,
		    "streaming not supported");
	if (get && strcmp(p, "/version") == 0)
		return reply_about(conn, 0);
	if (get && strcmp(p, "/info") == 0)
		return reply_about(conn, 1);
	if (get && (strcmp(p, "/containers/json") == 0 ||
	    strcmp(p, "/images/json") == 0))
		return reply(conn, MHD_HTTP_OK, "application/json", "[]", 2,
		    NULL);
	return reply_message(conn, MHD_HTTP_NOT_FOUND, "page not found");
}

/* MHD hands us the raw target here, before it unescapes the path. */
static void *
fe_uri_log(void *cls, const char *uri, struct MHD_Connection *conn)
{
	struct fe_req	*r;

	(void)cls;
	(void)conn;
	r = calloc(1, sizeof(*r));
	if (r == NULL || (r->uri = strdup(uri)) == NULL)
		fatalx("msg=\"out of memory\"");
	return r;
}

static void
fe_completed(void *cls, struct MHD_Connection *conn, void **ctx,
    enum MHD_RequestTerminationCode toe)
{
	struct fe_req	*r = *ctx;

	(void)cls;
	(void)conn;
	if (r == NULL)
		return;
	/* A client that left mid-answer (dockmuxd ended its exchange). */
	if (toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
	    toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN)
		log_info("msg=\"answer cut short\" name=%s uri=%s toe=%d",
		    fe_name, r->uri, (int)toe);
	free(r->uri);
	free(r->body);
	free(r);
	*ctx = NULL;
}

/* Called: once at headers, once per body piece, once at the end. */
static enum MHD_Result
fe_handle(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_size, void **ctx)
{
	struct fe_req	*r = *ctx;
	const char	*q;
	char		*path, *nb;
	enum MHD_Result	 ret;

	(void)cls;
	(void)url;
	(void)version;
	if (r == NULL)
		return MHD_NO;
	if (!r->started) {
		r->started = 1;
		return MHD_YES;
	}
	if (*upload_size > 0) {
		nb = NULL;
		if (r->len + *upload_size <= FE_MAX_BODY)
			nb = realloc(r->body, r->len + *upload_size);
		if (nb == NULL) {
			log_warnx("msg=\"request body too large\" uri=%s",
			    r->uri);
			return MHD_NO;
		}
		memcpy(nb + r->len, upload, *upload_size);
		r->body = nb;
		r->len += *upload_size;
		*upload_size = 0;
		return MHD_YES;
	}
	q = strchr(r->uri, '?');
	path = strndup(r->uri, q != NULL ? (size_t)(q - r->uri) :
	    strlen(r->uri));
	if (path == NULL)
		fatalx("msg=\"out of memory\"");
	q = q != NULL ? q + 1 : "";
	record(conn, method, path, q, r);
	ret = answer(conn, method, path, q);
	free(path);
	return ret;
}

static int
listen_unix(const char *path)
{
	struct sockaddr_un	sun;
	int			fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path))
		fatalx("msg=\"socket path too long\" socket=%s", path);
	strcpy(sun.sun_path, path);
	if (unlink(path) == -1 && errno != ENOENT)
		fatal("msg=\"unlink\" socket=%s", path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		fatal("msg=\"socket\"");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		fatal("msg=\"bind\" socket=%s", path);
	if (listen(fd, 64) == -1)
		fatal("msg=\"listen\" socket=%s", path);
	return fd;
}

static void
write_pidfile(const char *path)
{
	FILE	*f;

	f = fopen(path, "w");
	if (f == NULL)
		fatal("msg=\"pidfile\" file=%s", path);
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) == EOF)
		fatal("msg=\"pidfile\" file=%s", path);
}

int
main(int argc, char *argv[])
{
	static const struct option	 opts[] = {
		{ "socket",	 required_argument, NULL, 0 },
		{ "record",	 required_argument, NULL, 0 },
		{ "pidfile",	 required_argument, NULL, 0 },
		{ "script",	 required_argument, NULL, 0 },
		{ "api-version", required_argument, NULL, 0 },
		{ "os",		 required_argument, NULL, 0 },
		{ "arch",	 required_argument, NULL, 0 },
		{ "name",	 required_argument, NULL, 0 },
		{ "mode",	 required_argument, NULL, 0 },
		{ NULL,		 0,		    NULL, 0 }
	};
	const char			*recfile = NULL, *script = NULL;
	const char			*mode = "normal";
	const char **const		 optvar[] = {
		&fe_socket, &recfile, &fe_pidfile, &script, &fe_api, &fe_os,
		&fe_arch, &fe_name, &mode
	};
	struct MHD_Daemon		*d;
	sigset_t			 sigs;
	int				 ch, fd, sig, idx;

	log_init(LOG_LVL_INFO, "fake-engine");
	while ((ch = getopt_long(argc, argv, "", opts, &idx)) != -1) {
		if (ch != 0)
			usage();
		*optvar[idx] = optarg;
	}
	if (strcmp(mode, "not-found-all") == 0)
		fe_mode = MODE_NOT_FOUND_ALL;
	else if (strcmp(mode, "501-streams") == 0)
		fe_mode = MODE_501_STREAMS;
	else if (strcmp(mode, "normal") != 0)
		usage();
	if (fe_socket == NULL || optind != argc)
		usage();
	if (script != NULL)
		rules_load(script);
	if (recfile != NULL) {
		fe_rec_fd = open(recfile, O_WRONLY | O_CREAT | O_APPEND |
		    O_CLOEXEC, 0644);
		if (fe_rec_fd == -1)
			fatal("msg=\"open record\" file=%s", recfile);
	}

	/* Blocked before MHD starts, so only main's sigwait() sees them. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	fd = listen_unix(fe_socket);
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
	    MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG, 0, NULL, NULL,
	    fe_handle, NULL,
	    MHD_OPTION_LISTEN_SOCKET, fd,
	    MHD_OPTION_URI_LOG_CALLBACK, fe_uri_log, NULL,
	    MHD_OPTION_NOTIFY_COMPLETED, fe_completed, NULL,
	    MHD_OPTION_END);
	if (d == NULL)
		fatalx("msg=\"MHD_start_daemon failed\" socket=%s", fe_socket);
	if (fe_pidfile != NULL)
		write_pidfile(fe_pidfile);
	log_info("msg=\"listening\" name=%s socket=%s api=%s os=%s mode=%s",
	    fe_name, fe_socket, fe_api, fe_os, mode);

	while (sigwait(&sigs, &sig) != 0)
		;
	atomic_store(&fe_stopping, 1);
	MHD_stop_daemon(d);
	unlink(fe_socket);
	if (fe_pidfile != NULL)
		unlink(fe_pidfile);
	if (fe_rec_fd != -1)
		close(fe_rec_fd);
	json_object_put(fe_rules);
	log_info("msg=\"stopped\" name=%s signal=%d", fe_name, sig);
	return 0;
}
