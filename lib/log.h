/*
 * log.h: one line per event on stderr, key=value fields, led by "<N>",
 * the syslog priority, when stderr is the journal ($JOURNAL_STREAM)
 * (leaf header: it includes only the other leaf, limits.h).
 */
#ifndef DOCKMUX_LIB_LOG_H
#define DOCKMUX_LIB_LOG_H

#include <stddef.h>

#include "lib/limits.h"

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

extern enum log_level log_max_level;

/* The level; and whether lines get "<N>": stderr is the stream that
 * $JOURNAL_STREAM names.  Call again after moving stderr. */
void	log_init(enum log_level, const char *progname);
int	log_level_parse(const char *, enum log_level *);

/* Each takes the key=value text of the line, printf-style: msg="..." k=v. */
void	log_emit(enum log_level, int with_errno, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

/* The level is tested before the arguments are evaluated. */
#define log_warn(...)	do { if (log_max_level >= LOG_LVL_WARN)	\
	log_emit(LOG_LVL_WARN, 1, __VA_ARGS__); } while (0)
#define log_warnx(...)	do { if (log_max_level >= LOG_LVL_WARN)	\
	log_emit(LOG_LVL_WARN, 0, __VA_ARGS__); } while (0)
#define log_info(...)	do { if (log_max_level >= LOG_LVL_INFO)	\
	log_emit(LOG_LVL_INFO, 0, __VA_ARGS__); } while (0)
#define log_debug(...)	do { if (log_max_level >= LOG_LVL_DEBUG)	\
	log_emit(LOG_LVL_DEBUG, 0, __VA_ARGS__); } while (0)
#define log_error(...)	log_emit(LOG_LVL_ERROR, 0, __VA_ARGS__)

/*
 * A value a client or an engine chose (a path, a name, an image
 * reference, an error text) as one key=value value, whatever it holds:
 * bare when it is plain, else in double quotes with '"' and '\' escaped
 * by a backslash and control characters as \n, \r, \t or \xNN.  A value
 * longer than DM_LOG_VALUE_MAX is cut, ending in "...", and quoted.  NULL
 * is "".  The format writes plain %s, no quotes of its own:
 *
 *	log_warnx("msg=\"forward failed\" path=%s reason=%s",
 *	    log_q(req->path), log_q(err.msg));
 *
 * Borrowed: the text lives in a buffer (a compound literal) that lasts
 * to the end of the block around the call, so log_q() belongs in the
 * arguments of log_*() and fatal*() only; it costs nothing when the
 * level drops the line.
 */
#define log_q(s)	log_quote((char[DM_LOG_VALUE_MAX]){ '\0' },	\
			    DM_LOG_VALUE_MAX, (s))
const char	*log_quote(char *buf, size_t len, const char *s);

#endif
