/* log.h: one line per event on stderr, key=value fields (leaf header). */
#ifndef DOCKMUX_LIB_LOG_H
#define DOCKMUX_LIB_LOG_H

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG
};

extern enum log_level log_max_level;

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

#endif
