/*
 * util.c: monotonic milliseconds, allocation that aborts, typed JSON
 * getters, unix socket addresses, private directories, the text of an
 * engine's error and of a refused command-line flag.
 */
/* Threads: pure functions (json-c objects are the caller's); any thread. */

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "lib/util.h"

int
dm_thread_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	sigset_t	all, old;
	int		rc;

	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	rc = pthread_create(t, NULL, fn, arg);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	return rc;
}

int
dm_peer_gone(int fd)
{
	char	c;
	ssize_t	n;

	n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
	return n == 0 || (n == -1 && errno != EAGAIN &&
	    errno != EWOULDBLOCK && errno != EINTR);
}

long long
dm_mono_ms(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void __attribute__((noreturn))
out_of_memory(const char *what)
{
	fprintf(stderr, "dockmux: %s: out of memory\n", what);
	abort();
}

void *
xmalloc(size_t size)
{
	void	*p;

	if ((p = malloc(size == 0 ? 1 : size)) == NULL)
		out_of_memory("malloc");
	return p;
}

void *
xcalloc(size_t nmemb, size_t size)
{
	void	*p;

	if (nmemb == 0 || size == 0)
		nmemb = size = 1;
	if ((p = calloc(nmemb, size)) == NULL)
		out_of_memory("calloc");
	return p;
}

void *
xrealloc(void *p, size_t size)
{
	void	*n;

	if ((n = realloc(p, size == 0 ? 1 : size)) == NULL)
		out_of_memory("realloc");
	return n;
}

char *
xstrdup(const char *s)
{
	char	*p;

	if ((p = strdup(s)) == NULL)
		out_of_memory("strdup");
	return p;
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p;

	if ((p = strndup(s, n)) == NULL)
		out_of_memory("strndup");
	return p;
}

char *
xasprintf(const char *fmt, ...)
{
	va_list	 ap;
	char	*p;
	int	 rc;

	va_start(ap, fmt);
	rc = vasprintf(&p, fmt, ap);
	va_end(ap);
	if (rc == -1)
		out_of_memory("asprintf");
	return p;
}

/* o[key] when it is of type t; NULL for every other case. */
static struct json_object *
json_member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object	*v;

	if (o == NULL || !json_object_is_type(o, json_type_object))
		return NULL;
	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	return json_object_is_type(v, t) ? v : NULL;
}

const char *
dm_json_str(struct json_object *o, const char *key)
{
	struct json_object	*v = json_member(o, key, json_type_string);

	return v != NULL ? json_object_get_string(v) : NULL;
}

struct json_object *
dm_json_obj(struct json_object *o, const char *key)
{
	return json_member(o, key, json_type_object);
}

struct json_object *
dm_json_arr(struct json_object *o, const char *key)
{
	return json_member(o, key, json_type_array);
}

int
dm_json_int64(struct json_object *o, const char *key, int64_t *out)
{
	struct json_object	*v = json_member(o, key, json_type_int);

	if (v == NULL)
		return 0;
	*out = json_object_get_int64(v);
	return 1;
}

int64_t
dm_add_clamped(int64_t a, int64_t b)
{
	int64_t	sum;

	if (__builtin_add_overflow(a, b, &sum))
		return b > 0 ? INT64_MAX : INT64_MIN;
	return sum;
}

int
dm_sun_path(struct sockaddr_un *sun, const char *path)
{
	size_t	len = strlen(path);

	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (len == 0) {
		errno = EINVAL;
		return -1;
	}
	if (len >= DM_SUN_PATH_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun->sun_path, path, len);
	if (path[0] == '@') {
		/* Abstract: no NUL at the end; the length ends it. */
		sun->sun_path[0] = '\0';
		return (int)(offsetof(struct sockaddr_un, sun_path) + len);
	}
	return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

int
dm_private_dir(const char *dir, int create, char *msg, size_t len)
{
	struct passwd	 pw, *owner = NULL;
	struct stat	 st;
	char		 pwbuf[1024];
	int		 saved;

	/* chmod: the umask may have taken bits off 0700. */
	if (create && mkdir(dir, 0700) == 0 && chmod(dir, 0700) == -1) {
		saved = errno;
		snprintf(msg, len, "chmod %s: %s", dir, strerror(saved));
		errno = saved;
		return -1;
	}
	if (lstat(dir, &st) == -1) {
		saved = errno;
		snprintf(msg, len, "%s: %s", dir, strerror(saved));
		errno = saved;
		return -1;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(msg, len, "%s is a symbolic link, not a directory of "
		    "our own", dir);
		goto refused;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(msg, len, "%s is not a directory", dir);
		goto refused;
	}
	if (st.st_uid != geteuid()) {
		(void)getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &owner);
		snprintf(msg, len, "%s is owned by uid %lu (%s), not by us "
		    "(uid %lu)", dir, (unsigned long)st.st_uid,
		    owner != NULL ? owner->pw_name : "no such user",
		    (unsigned long)geteuid());
		goto refused;
	}
	if ((st.st_mode & 07777) != 0700) {
		snprintf(msg, len, "%s has mode %04o, not 0700", dir,
		    (unsigned int)(st.st_mode & 07777));
		goto refused;
	}
	return 0;
refused:
	errno = EPERM;
	return -1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Copy s[0..n) to out (len bytes) without the white space around it. */
static void
copy_trimmed(const char *s, size_t n, char *out, size_t len)
{
	while (n > 0 && is_blank(s[0])) {
		s++;
		n--;
	}
	while (n > 0 && is_blank(s[n - 1]))
		n--;
	if (n >= len)
		n = len - 1;
	memcpy(out, s, n);
	out[n] = '\0';
}

void
dm_engine_message(const char *body, char *out, size_t len)
{
	struct json_object	*o;
	const char		*msg;

	if (len == 0)
		return;
	out[0] = '\0';
	if (body == NULL)
		return;
	o = json_tokener_parse(body);
	if ((msg = dm_json_str(o, "message")) != NULL)
		copy_trimmed(msg, strlen(msg), out, len);
	else
		copy_trimmed(body, strlen(body), out, len);
	json_object_put(o);
}

int
dm_path_clean_abs(const char *path)
{
	const char	*seg;
	size_t		 n;

	if (path == NULL || path[0] != '/')
		return 0;
	for (seg = path; *seg != '\0'; seg += n) {
		seg += strspn(seg, "/");
		n = strcspn(seg, "/");
		if ((n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' &&
		    seg[1] == '.'))
			return 0;
	}
	return 1;
}

/*
 * getopt_long() sets optopt to 0 for a long flag it does not know, and
 * to the flag's letter (or value) otherwise: an unknown letter, or a
 * value given to a long flag that takes none ("--json=1").  A missing
 * argument leaves optind past the word that lacked it, the last one; an
 * unknown letter inside a cluster ("-xv") does not, so arg is not the
 * word then.
 */
void
dm_flag_error(char *buf, size_t len, int ch, int opt, const char *arg)
{
	if (arg == NULL)
		arg = "";
	if (ch == ':' && strncmp(arg, "--", 2) == 0)
		snprintf(buf, len, "flag needs an argument: %.*s",
		    (int)strcspn(arg, "="), arg);
	else if (ch == ':')
		snprintf(buf, len, "flag needs an argument: -%c", opt);
	else if (opt != 0 && strncmp(arg, "--", 2) == 0 &&
	    strchr(arg, '=') != NULL)
		snprintf(buf, len, "flag takes no argument: %.*s",
		    (int)strcspn(arg, "="), arg);
	else if (opt != 0)
		snprintf(buf, len, "unknown shorthand flag: '%c'", opt);
	else
		snprintf(buf, len, "unknown flag: %.*s",
		    (int)strcspn(arg, "="), arg);
}
