/*
 * util.h: the small helpers every floor shares: threads that leave signals
 * to main, monotonic time, allocation
 * that aborts, typed JSON getters, unix socket addresses, private
 * directories, the text of an engine's error answer and of a refused
 * command-line flag (leaf header: system and json-c headers only).
 */
#ifndef DOCKMUX_LIB_UTIL_H
#define DOCKMUX_LIB_UTIL_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/un.h>

struct json_object;

/*
 * Start a thread that blocks every signal (signals are main's alone,
 * taken with sigwait): pthread_create()'s 0 or error number.
 */
int		 dm_thread_start(pthread_t *, void *(*)(void *), void *);
/* Milliseconds on CLOCK_MONOTONIC: for deadlines and durations only. */
long long	 dm_mono_ms(void);
/*
 * 1 when a readable socket means its peer is gone (EOF or an error),
 * 0 when bytes wait to be read; peeks, never consumes.
 */
int		 dm_peer_gone(int fd);

/*
 * Allocation that never fails: out of memory prints one line on stderr
 * and abort()s, as every caller did by hand.  A size of 0 still returns
 * a unique pointer.
 */
void		*xmalloc(size_t);		/* owned: free() */
void		*xcalloc(size_t, size_t);	/* owned: free() */
void		*xrealloc(void *, size_t);	/* takes p; owned: free() */
char		*xstrdup(const char *);		/* owned: free() */
/* At most n bytes of s, NUL-terminated.  Owned: free(). */
char		*xstrndup(const char *, size_t);
/* Owned: free(). */
char		*xasprintf(const char *, ...)
		    __attribute__((format(printf, 1, 2)));

/*
 * Typed getters for one member of a JSON object.  Each returns NULL (or
 * 0) when o is NULL or not an object, when the key is missing, when its
 * value is JSON null, and when the value has another type, so calls
 * chain: dm_json_str(dm_json_obj(o, "Config"), "Image").  Borrowed: valid
 * while o is.
 */
const char	*dm_json_str(struct json_object *o, const char *key);
struct json_object *dm_json_obj(struct json_object *o, const char *key);
struct json_object *dm_json_arr(struct json_object *o, const char *key);
/*
 * 1 and *out set when o[key] is a JSON integer (json-c clamps one beyond
 * int64 to its bounds); 0 and *out untouched otherwise, so the caller's
 * default stays: int64_t n = -1; dm_json_int64(o, "Size", &n);
 */
int		 dm_json_int64(struct json_object *o, const char *key,
		    int64_t *out);
/*
 * a + b, held at INT64_MAX or INT64_MIN where it would overflow: a sum
 * of what engines report (sizes, counts) never wraps, whatever they send.
 */
int64_t		 dm_add_clamped(int64_t a, int64_t b);

/*
 * 1 when path is absolute and has no "." or ".." segment (repeated or
 * trailing slashes are fine): a host path compared by prefix means what
 * it says.
 */
int		 dm_path_clean_abs(const char *path);

/* Bytes a sun_path holds, its terminating NUL included. */
#define DM_SUN_PATH_MAX	(sizeof(((struct sockaddr_un *)0)->sun_path))

/*
 * Fill sun (zeroed first, AF_UNIX) for path.  A path starting with '@'
 * names a Linux abstract socket (the '@' becomes the leading NUL, as
 * systemd's $NOTIFY_SOCKET writes it); configured sockets are absolute
 * paths, so only such a variable reaches that case.  Returns the address
 * length to hand to bind(), connect() or sendto(), or -1 with errno set
 * (EINVAL: empty; ENAMETOOLONG: path has DM_SUN_PATH_MAX bytes or more).
 */
int		 dm_sun_path(struct sockaddr_un *sun, const char *path);

/*
 * Is dir a directory only we can use?  With create, a missing dir is made
 * (mode 0700) first.  Then dir must be a directory itself (a symbolic
 * link is refused, even to one of ours), owned by our effective uid, with
 * mode 0700: in a shared place like /tmp anyone may have made it first.
 * 0, or -1 with msg saying what is wrong and naming the owner when it is
 * not us; errno is ENOENT when dir does not exist (and create is 0),
 * EPERM when it is not private.
 */
int		 dm_private_dir(const char *dir, int create, char *msg,
		    size_t len);

/*
 * The reason in an engine's error answer, for our own messages: the
 * "message" of a {"message":"..."} body (Docker and Podman both answer
 * so); any other body, JSON or not, as its text with the surrounding
 * white space trimmed.  out is "" when body is NULL or blank; the
 * caller then says what it knows ("answered 500").  Truncated to len.
 */
void		 dm_engine_message(const char *body, char *out, size_t len);

/*
 * What getopt_long() refused, in the docker CLI's words, for dockmux and
 * dockmuxd alike: ch is what it returned ('?', or ':' when the optstring
 * starts with ':'), opt is optopt and arg argv[optind - 1].  Writes
 * "unknown flag: --bogus", "unknown shorthand flag: 'x'", "flag needs
 * an argument: --backend" (or "-l") or "flag takes no argument: --json";
 * truncated to len.
 */
void		 dm_flag_error(char *buf, size_t len, int ch, int opt,
		    const char *arg);

#endif
