/* log.c: leveled key=value lines on stderr, errno kept (after relayd log.c). */
/* Threads: any thread may log; each line is one fputs under stdio's lock. */

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "lib/log.h"

enum log_level		 log_max_level = LOG_LVL_INFO;
static const char	*log_prog = "dockmux";

static const char *const level_names[] = {
	[LOG_LVL_ERROR] = "error",
	[LOG_LVL_WARN] = "warn",
	[LOG_LVL_INFO] = "info",
	[LOG_LVL_DEBUG] = "debug",
};

void
log_init(enum log_level lvl, const char *progname)
{
	log_max_level = lvl;
	if (progname != NULL)
		log_prog = progname;
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
 * Control characters from client or engine strings (a name, a path)
 * written as \n, \r, \t or \xNN: one event stays one line, and no value
 * can forge a line of its own.
 */
static void
escape_controls(const char *in, char *out, size_t len)
{
	static const char	 hex[] = "0123456789abcdef";
	size_t			 o = 0;
	unsigned char		 c;

	for (; *in != '\0' && o + 5 < len; in++) {
		c = (unsigned char)*in;
		if (c >= 0x20 && c != 0x7f) {
			out[o++] = (char)c;
			continue;
		}
		out[o++] = '\\';
		if (c == '\n')
			out[o++] = 'n';
		else if (c == '\r')
			out[o++] = 'r';
		else if (c == '\t')
			out[o++] = 't';
		else {
			out[o++] = 'x';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 15];
		}
	}
	out[o] = '\0';
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
	n = snprintf(line, sizeof(line), "time=%s.%03ldZ level=%s ", ts,
	    now.tv_nsec / 1000000, level_names[lvl]);
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
