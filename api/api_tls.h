/*
 * api_tls.h: a TCP listener with TLS and client certificates: the
 * handshake and the bytes are ours, each connection reaches
 * libmicrohttpd as a plain socket pair.
 */
#ifndef DOCKMUX_API_API_TLS_H
#define DOCKMUX_API_API_TLS_H

#include "api/api.h"
#include "api/api_conns.h"

struct MHD_Daemon;
struct api_tls;		/* opaque: the acceptor, its pumps, the claims */

/*
 * Accept TLS clients on lfd (taken) with l's PEM text (read now), and
 * hand each to mhd (a daemon without a listening socket).  Owned:
 * api_tls_stop().  NULL with err (a bad certificate, key or CA).
 */
struct api_tls	*api_tls_start(int lfd, const struct api_listener *l,
		    struct MHD_Daemon *mhd, struct dm_err *);
/*
 * Who is at the far end of fd (one end of a pair this listener handed to
 * libmicrohttpd): its certificate's subject and address, filled into who;
 * "?" when fd is not one of ours.  Each fd is claimed once.
 */
void		 api_tls_claim(struct api_tls *, int fd, struct api_remote *);
/*
 * Accept no more and close our copy of the listening socket (never shut
 * down: after a USR2 another process accepts on it); open connections go
 * on.  Again: nothing more.
 */
void		 api_tls_quiesce(struct api_tls *);
/* 1 when no TLS client is connected (handshakes included). */
int		 api_tls_is_idle(const struct api_tls *);
/* End every connection and free; before the daemon it feeds stops. */
void		 api_tls_stop(struct api_tls *);

#endif
