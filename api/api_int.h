/*
 * api_int.h: what api.c shows beyond the front end's public header: the
 * checks that refuse a request head, for tests/fuzz/fuzz_target.c.
 */
#ifndef DOCKMUX_API_API_INT_H
#define DOCKMUX_API_API_INT_H

#include "lib/hdrs.h"

/*
 * Why the request target (path and query as sent, query without '?') is
 * refused, or NULL when it is clean.  Static text.
 */
const char	*api_target_problem(const char *path, const char *query);
/* Why the head's framing is refused (a smuggling vector), or NULL. */
const char	*api_framing_problem(const struct dm_hdrs *);

#endif
