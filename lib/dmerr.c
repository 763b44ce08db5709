/* dmerr.c: status enum to HTTP, and filling a struct dm_err. */
/* Threads: pure functions; any thread. */

#include <stdarg.h>
#include <stdio.h>

#include "lib/dmerr.h"

void
dm_err_set(struct dm_err *err, enum dm_status st, const char *fmt, ...)
{
	va_list	ap;

	if (err == NULL)
		return;
	err->st = st;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
}

void
dm_err_clear(struct dm_err *err)
{
	err->st = DM_OK;
	err->msg[0] = '\0';
}

/* A switch without default: -Wswitch flags a status left unmapped. */
int
dm_status_http(enum dm_status st)
{
	switch (st) {
	case DM_OK:
		return 200;
	case DM_ENOTFOUND:
		return 404;
	case DM_ECONFLICT:
		return 409;
	case DM_EPEER:
		return 404;	/* what dockerd answers for a platform */
	case DM_EBACKEND:
		return 502;
	case DM_EUNAVAIL:
		return 503;
	case DM_EBADREQ:
		return 400;
	case DM_ETOOBIG:
		return 413;
	case DM_EFORBIDDEN:
		return 403;
	case DM_EINTERNAL:
		return 500;
	}
	return 500;
}
