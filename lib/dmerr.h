/* dmerr.h: the one status enum and the error carrier (leaf header). */
#ifndef DOCKMUX_LIB_DMERR_H
#define DOCKMUX_LIB_DMERR_H

enum dm_status {
	DM_OK = 0,
	DM_ENOTFOUND,		/* 404 */
	DM_ECONFLICT,		/* 409 */
	DM_EPEER,		/* 404 + X-Dockmux-Route-To-Peer */
	DM_EBACKEND,		/* 502: an engine failed or is unreachable */
	DM_EUNAVAIL,		/* 503: the owning engine is down */
	DM_EBADREQ,		/* 400 */
	DM_ETOOBIG,		/* 413 */
	DM_EFORBIDDEN,		/* 403: the access policy said no */
	DM_EINTERNAL		/* 500: details logged, not answered */
};

#define DM_ERR_MSG_MAX	256

struct dm_err {
	enum dm_status	st;
	char		msg[DM_ERR_MSG_MAX];
};

void	dm_err_set(struct dm_err *, enum dm_status, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
void	dm_err_clear(struct dm_err *);
int	dm_status_http(enum dm_status);

#endif
