/*
 * log.c: leveled key=value lines on stderr, errno kept (after relayd
 * log.c); each line led by its syslog priority when stderr is the journal.
 */
/*
 * Threads: any thread may log; each line is one fputs under stdio's lock.
 * log_init() runs before the first thread.
 */

#include <sys/stat.h>

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"

enum log_level		 log_max_level = LOG_LVL_INFO;
static const char	*log_prog = "dockmux";
static int		 log_journal;	/* lead lines with "<N>" */

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

/* syslog(3)'s LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG. */
static const int level_priorities[] = {
	[LOG_LVL_ERROR] = 3,
	[LOG_LVL_WARN] = 4,
	[LOG_LVL_INFO] = 6,
	[LOG_LVL_DEBUG] = 7,
};

/*
 * Is stderr the journal?  systemd then sets JOURNAL_STREAM to its
 * "device:inode" (systemd.exec(5)), and the journal reads a leading "<N>"
 * as the line's priority (sd-daemon(3)), so `journalctl -p warning`
 * finds the warnings.  The numbers are compared with stderr's, as
 * systemd.exec(5) asks: a child of a service (a test run from one, with
 * dockmuxd's stderr sent to a file) inherits the variable but not the
 * stream, and its lines stay unprefixed.
 */
static int
stderr_is_journal(void)
{
	const char		*js = getenv("JOURNAL_STREAM");
	unsigned long long	 dev, ino;
	struct stat		 st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) == -1)
		return 0;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

void
log_init(enum log_level lvl, const char *progname)
{
	log_max_level = lvl;
	if (progname != NULL)
		log_prog = progname;
	log_journal = stderr_is_journal();
}

int
log_level_parse(const char *s, enum log_level *out)
{
	size_t	i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -1;
}

/*
 * c as it goes into a line (out has room for 4): itself, or a control
 * character as \n, \r, \t or \xNN.  How many bytes were written.
 */
static size_t
put_char(unsigned char c, char *out)
{
	static const char	hex[] = "0123456789abcdef";

	if (c >= 0x20 && c != 0x7f) {
		out[0] = (char)c;
		return 1;
	}
	out[0] = '\\';
	if (c == '\n' || c == '\r' || c == '\t') {
		out[1] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
		return 2;
	}
	out[1] = 'x';
	out[2] = hex[c >> 4];
	out[3] = hex[c & 15];
	return 4;
}

/*
 * Control characters from client or engine strings (a name, a path)
 * written escaped (put_char()): one event stays one line, and no value
 * can forge a line of its own.
 */
static void
escape_controls(const char *in, char *out, size_t len)
{
	size_t	o = 0;

	for (; *in != '\0' && o + 5 < len; in++)
		o += put_char((unsigned char)*in, out + o);
	out[o] = '\0';
}

/* Does s need quotes to stay one value: empty, a blank, '"', '\\', '='? */
static int
needs_quotes(const char *s)
{
	const unsigned char	*p = (const unsigned char *)s;

	if (*p == '\0')
		return 1;
	for (; *p != '\0'; p++)
		if (*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\' ||
		    *p == '=')
			return 1;
	return 0;
}

const char *
log_quote(char *buf, size_t len, const char *s)
{
	const char	*end = "\"";
	size_t		 o = 0;

	if (len < sizeof("\"...\""))
		return "";
	if (s == NULL)
		s = "";
	if (strlen(s) < len && !needs_quotes(s))
		return s;
	buf[o++] = '"';
	for (; *s != '\0'; s++) {
		/* Room for this character (4 at most), "...\"" and NUL. */
		if (o + 4 + 5 > len) {
			end = "...\"";
			break;
		}
		if (*s == '"' || *s == '\\')
			buf[o++] = '\\';
		o += put_char((unsigned char)*s, buf + o);
	}
	snprintf(buf + o, len - o, "%s", end);
	return buf;
}

static void
vlog(enum log_level lvl, int saved_errno, const char *fmt, va_list ap)
{
	char		 line[2048], out[2048 * 4], why[128];
	char		 ts[32];
	struct timespec	 now;
	struct tm	 tm;
	int		 n;

	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	n = 0;
	if (log_journal)
		n = snprintf(line, sizeof(line), "<%d>",
		    level_priorities[lvl]);
	n += snprintf(line + n, sizeof(line) - (size_t)n,
	    "time=%s.%03ldZ level=%s ", ts, now.tv_nsec / 1000000,
	    level_names[lvl]);
	if (n < 0 || (size_t)n >= sizeof(line))
		return;
	vsnprintf(line + n, sizeof(line) - (size_t)n, fmt, ap);
	if (saved_errno != 0) {
		n = (int)strlen(line);
		snprintf(line + n, sizeof(line) - (size_t)n, " error=\"%s\"",
		    strerror_r(saved_errno, why, sizeof(why)));
	}
	escape_controls(line, out, sizeof(out));
	fprintf(stderr, "%s\n", out);
}

/*
 * Callers write the whole key=value line after time and level:
 * log_warnx("msg=\"logs fallback\" container=%s backend=%s", id, b).
 */
void
log_emit(enum log_level lvl, int with_errno, const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(lvl, with_errno ? saved : 0, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
fatal(const char *fmt, ...)
{
	va_list	ap;
	int	saved = errno;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, saved, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, 0, fmt, ap);
	va_end(ap);
	exit(1);
}
