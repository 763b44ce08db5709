/*
 * api_tls.c: a TCP listener with TLS, as dockerd --tlsverify has one.
 * Each connection's handshake requires a client certificate signed by
 * the configured CA (refused at the handshake, as dockerd refuses it);
 * the connection is then handed to libmicrohttpd as the plain end of a
 * socket pair, and a pump moves bytes between TLS and that pair.  The
 * pump, not libmicrohttpd, speaks TLS so that a client's half-close
 * (close_notify, or a TCP FIN) reaches an attach or exec as EOF on
 * stdin, and the engine's end of output becomes the client's
 * close_notify.  GnuTLS because libmicrohttpd already links it.
 */
/*
 * Threads: one acceptor per listener; one pump per connection, detached
 * and counted, each ending at EOF both ways or at api_tls_stop().  The
 * claims list (who is at the far end of each socket pair, until
 * libmicrohttpd's connect notice takes it) is under a mutex.
 */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "api/api_tls.h"
#include "lib/limits.h"
#include "lib/log.h"
#include "lib/util.h"

/* Who a socket pair end stands for, until its connection claims it. */
struct claim {
	unsigned long		 id;
	int			 fd;
	struct api_remote	 who;
	struct claim		*next;
};

struct api_tls {
	int					 lfd;
	int					 wake[2];	/* stop */
	int					 hush[2];	/* quiesce */
	struct MHD_Daemon			*mhd;		/* borrowed */
	gnutls_certificate_credentials_t	 cred;
	pthread_t				 acceptor;
	int					 running;
	atomic_uint				 pumps;
	pthread_mutex_t				 lock;
	struct claim				*claims;
	unsigned long				 next_id;
};

struct pump {
	struct api_tls		*t;
	int			 fd;		/* the client's TCP socket */
	struct api_remote	 who;
};

/* 1 ready, 0 timed out, -1 stop (deadline 0: none). */
static int
wait_io(struct api_tls *t, int fd, short ev, long long deadline)
{
	struct pollfd	p[2];
	long long	left;
	int		n;

	for (;;) {
		p[0].fd = fd;
		p[0].events = ev;
		p[1].fd = t->wake[0];
		p[1].events = POLLIN;
		p[0].revents = p[1].revents = 0;
		left = deadline == 0 ? -1 : deadline - dm_mono_ms();
		if (deadline != 0 && left <= 0)
			return 0;
		n = poll(p, 2, (int)left);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 || p[1].revents)
			return -1;
		return n > 0 ? 1 : 0;
	}
}

/* The handshake within DM_TLS_HANDSHAKE_TIMEOUT_MS; the subject after. */
static int
handshake(struct pump *pu, gnutls_session_t s)
{
	long long		 deadline = dm_mono_ms() +
				    DM_TLS_HANDSHAKE_TIMEOUT_MS;
	const gnutls_datum_t	*certs;
	gnutls_x509_crt_t	 crt;
	gnutls_datum_t		 dn = { NULL, 0 };
	unsigned int		 n = 0;
	int			 rc;

	for (;;) {
		rc = gnutls_handshake(s);
		if (rc == GNUTLS_E_SUCCESS)
			break;
		if (rc != GNUTLS_E_AGAIN && rc != GNUTLS_E_INTERRUPTED) {
			log_warnx("msg=\"TLS client refused\" client=%s "
			    "reason=%s", log_q(pu->who.addr),
			    log_q(gnutls_strerror(rc)));
			return -1;
		}
		if (wait_io(pu->t, pu->fd, gnutls_record_get_direction(s) ?
		    POLLOUT : POLLIN, deadline) != 1)
			return -1;
	}
	certs = gnutls_certificate_get_peers(s, &n);
	if (certs == NULL || n == 0 || gnutls_x509_crt_init(&crt) < 0)
		return -1;
	if (gnutls_x509_crt_import(crt, &certs[0], GNUTLS_X509_FMT_DER) >= 0 &&
	    gnutls_x509_crt_get_dn3(crt, &dn, 0) >= 0) {
		snprintf(pu->who.subject, sizeof(pu->who.subject), "%.*s",
		    (int)dn.size, (char *)dn.data);
		gnutls_free(dn.data);
	}
	gnutls_x509_crt_deinit(crt);
	return 0;
}

/* Everything TLS has for us, into the pair; -1 at EOF or error. */
static int
tls_to_pair(struct api_tls *t, gnutls_session_t s, int pair, char *buf)
{
	ssize_t	n;
	size_t	off;
	ssize_t	w;

	do {
		n = gnutls_record_recv(s, buf, DM_STREAM_READ);
		if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
			return 0;
		if (n <= 0)
			return -1;	/* close_notify, FIN or an error */
		for (off = 0; off < (size_t)n; off += (size_t)w) {
			w = send(pair, buf + off, (size_t)n - off,
			    MSG_NOSIGNAL | MSG_DONTWAIT);
			if (w == -1 && (errno == EAGAIN || errno == EINTR)) {
				if (wait_io(t, pair, POLLOUT, 0) != 1)
					return -1;
				w = 0;
			} else if (w == -1)
				return -1;
		}
	} while (gnutls_record_check_pending(s) > 0);
	return 0;
}

/* What libmicrohttpd wrote, over TLS; -1 at EOF or error. */
static int
pair_to_tls(struct api_tls *t, gnutls_session_t s, int fd, int pair,
    char *buf)
{
	ssize_t	n, w;
	size_t	off;

	n = recv(pair, buf, DM_STREAM_READ, MSG_DONTWAIT);
	if (n == -1 && (errno == EAGAIN || errno == EINTR))
		return 0;
	if (n <= 0)
		return -1;
	for (off = 0; off < (size_t)n; off += (size_t)w) {
		w = gnutls_record_send(s, buf + off, (size_t)n - off);
		if (w == GNUTLS_E_AGAIN || w == GNUTLS_E_INTERRUPTED) {
			if (wait_io(t, fd, POLLOUT, 0) != 1)
				return -1;
			w = 0;
		} else if (w < 0)
			return -1;
	}
	return 0;
}

/* Drop claim id if nobody took it. */
static void
unclaim(struct api_tls *t, unsigned long id)
{
	struct claim	**pp, *c;

	pthread_mutex_lock(&t->lock);
	for (pp = &t->claims; (c = *pp) != NULL; pp = &c->next)
		if (c->id == id) {
			*pp = c->next;
			free(c);
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

static void *
pump_main(void *arg)
{
	struct pump		*pu = arg;
	struct api_tls		*t = pu->t;
	gnutls_session_t	 s = NULL;
	struct pollfd		 p[3];
	struct claim		*cl;
	struct sockaddr_un	 sun = { .sun_family = AF_UNIX };
	unsigned long		 id = 0;
	char			*buf = NULL;
	int			 pair[2] = { -1, -1 }, in_open = 1, out_open = 1;

	if (gnutls_init(&s, GNUTLS_SERVER | GNUTLS_NONBLOCK) < 0 ||
	    gnutls_set_default_priority(s) < 0 ||
	    gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, t->cred) < 0)
		goto out;
	gnutls_certificate_server_set_request(s, GNUTLS_CERT_REQUIRE);
	gnutls_session_set_verify_cert(s, NULL, 0);
	gnutls_transport_set_int(s, pu->fd);
	if (handshake(pu, s) == -1)
		goto out;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) == -1)
		goto out;
	cl = xcalloc(1, sizeof(*cl));
	cl->fd = pair[1];
	cl->who = pu->who;
	pthread_mutex_lock(&t->lock);
	cl->id = id = ++t->next_id;
	cl->next = t->claims;
	t->claims = cl;
	pthread_mutex_unlock(&t->lock);
	/* libmicrohttpd owns pair[1] from here, even when this fails. */
	if (MHD_add_connection(t->mhd, pair[1], (struct sockaddr *)&sun,
	    sizeof(sun.sun_family)) != MHD_YES) {
		pair[1] = -1;
		goto out;
	}
	pair[1] = -1;
	buf = xmalloc(DM_STREAM_READ);
	while (in_open || out_open) {
		p[0].fd = in_open ? pu->fd : -1;
		p[0].events = POLLIN;
		p[1].fd = out_open ? pair[0] : -1;
		p[1].events = POLLIN;
		p[2].fd = t->wake[0];
		p[2].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (gnutls_record_check_pending(s) > 0)
			p[0].revents = POLLIN;
		else if (poll(p, 3, -1) == -1 && errno != EINTR)
			break;
		if (p[2].revents)
			break;
		if (in_open && p[0].revents &&
		    tls_to_pair(t, s, pair[0], buf) == -1) {
			/* The client is done sending: EOF for libmicrohttpd. */
			shutdown(pair[0], SHUT_WR);
			in_open = 0;
		}
		if (out_open && p[1].revents &&
		    pair_to_tls(t, s, pu->fd, pair[0], buf) == -1) {
			(void)gnutls_bye(s, GNUTLS_SHUT_WR);
			shutdown(pu->fd, SHUT_WR);
			out_open = 0;
		}
	}
out:
	/* A claim nobody took (the connection never started) goes. */
	if (id != 0)
		unclaim(t, id);
	if (pair[0] != -1)
		close(pair[0]);
	if (pair[1] != -1)
		close(pair[1]);
	if (s != NULL)
		gnutls_deinit(s);
	close(pu->fd);
	free(buf);
	free(pu);
	atomic_fetch_sub(&t->pumps, 1);
	return NULL;
}

/*
 * 1 when a client waits on the listening socket; 0 once quiesced or
 * stopping.  The listener is never shut down to stop us: after a USR2
 * another process accepts on the same socket.
 */
static int
acceptor_wait(struct api_tls *t)
{
	struct pollfd	p[3];

	for (;;) {
		p[0].fd = t->lfd;
		p[1].fd = t->wake[0];
		p[2].fd = t->hush[0];
		p[0].events = p[1].events = p[2].events = POLLIN;
		p[0].revents = p[1].revents = p[2].revents = 0;
		if (poll(p, 3, -1) == -1) {
			if (errno == EINTR)
				continue;
			return 0;
		}
		return p[1].revents == 0 && p[2].revents == 0;
	}
}

static void *
acceptor_main(void *arg)
{
	struct api_tls		*t = arg;
	struct sockaddr_storage	 ss;
	socklen_t		 sl;
	struct pump		*pu;
	pthread_attr_t		 attr;
	pthread_t		 th;
	int			 fd;

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	while (acceptor_wait(t)) {
		sl = sizeof(ss);
		fd = accept4(t->lfd, (struct sockaddr *)&ss, &sl,
		    SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd == -1)
			continue;
		pu = xcalloc(1, sizeof(*pu));
		pu->t = t;
		pu->fd = fd;
		if (getnameinfo((struct sockaddr *)&ss, sl, pu->who.addr,
		    sizeof(pu->who.addr), NULL, 0, NI_NUMERICHOST) != 0)
			snprintf(pu->who.addr, sizeof(pu->who.addr), "?");
		atomic_fetch_add(&t->pumps, 1);
		if (pthread_create(&th, &attr, pump_main, pu) != 0) {
			atomic_fetch_sub(&t->pumps, 1);
			close(fd);
			free(pu);
		}
	}
	pthread_attr_destroy(&attr);
	return NULL;
}

static int
load_cred(struct api_tls *t, const struct api_listener *l, struct dm_err *err)
{
	gnutls_datum_t	cert = { (unsigned char *)(uintptr_t)l->cert_pem,
			    (unsigned int)strlen(l->cert_pem) };
	gnutls_datum_t	key = { (unsigned char *)(uintptr_t)l->key_pem,
			    (unsigned int)strlen(l->key_pem) };
	gnutls_datum_t	ca = { (unsigned char *)(uintptr_t)l->ca_pem,
			    (unsigned int)strlen(l->ca_pem) };
	int		rc;

	if ((rc = gnutls_certificate_allocate_credentials(&t->cred)) < 0 ||
	    (rc = gnutls_certificate_set_x509_key_mem(t->cred, &cert, &key,
	    GNUTLS_X509_FMT_PEM)) < 0) {
		dm_err_set(err, DM_EINTERNAL, "tls.cert/tls.key: %s",
		    gnutls_strerror(rc));
		return -1;
	}
	rc = gnutls_certificate_set_x509_trust_mem(t->cred, &ca,
	    GNUTLS_X509_FMT_PEM);
	if (rc <= 0) {
		dm_err_set(err, DM_EINTERNAL, "tls.ca: %s", rc == 0 ? "no "
		    "certificate in it" : gnutls_strerror(rc));
		return -1;
	}
	return 0;
}

struct api_tls *
api_tls_start(int lfd, const struct api_listener *l, struct MHD_Daemon *mhd,
    struct dm_err *err)
{
	struct api_tls	*t = xcalloc(1, sizeof(*t));

	t->lfd = lfd;
	t->mhd = mhd;
	t->wake[0] = t->wake[1] = -1;
	t->hush[0] = t->hush[1] = -1;
	atomic_init(&t->pumps, 0);
	pthread_mutex_init(&t->lock, NULL);
	if (load_cred(t, l, err) == -1)
		goto fail;
	if (pipe2(t->wake, O_CLOEXEC) == -1 ||
	    pipe2(t->hush, O_CLOEXEC) == -1 ||
	    fcntl(lfd, F_SETFL, fcntl(lfd, F_GETFL) | O_NONBLOCK) == -1) {
		dm_err_set(err, DM_EINTERNAL, "TLS listener: %s",
		    strerror(errno));
		goto fail;
	}
	if (pthread_create(&t->acceptor, NULL, acceptor_main, t) != 0) {
		dm_err_set(err, DM_EINTERNAL, "TLS listener: no thread");
		goto fail;
	}
	t->running = 1;
	return t;
fail:
	api_tls_stop(t);
	return NULL;
}

void
api_tls_claim(struct api_tls *t, int fd, struct api_remote *who)
{
	struct claim	**pp, *c;

	memset(who, 0, sizeof(*who));
	snprintf(who->addr, sizeof(who->addr), "?");
	pthread_mutex_lock(&t->lock);
	for (pp = &t->claims; (c = *pp) != NULL; pp = &c->next)
		if (c->fd == fd) {
			*who = c->who;
			*pp = c->next;
			free(c);
			break;
		}
	pthread_mutex_unlock(&t->lock);
}

void
api_tls_quiesce(struct api_tls *t)
{
	if (t == NULL || !t->running)
		return;
	/* The acceptor stops; pumps go on.  Our copy of the socket goes. */
	(void)!write(t->hush[1], "x", 1);
	pthread_join(t->acceptor, NULL);
	t->running = 0;
	close(t->lfd);
	t->lfd = -1;
}

int
api_tls_is_idle(const struct api_tls *t)
{
	return t == NULL || atomic_load(&((struct api_tls *)(uintptr_t)t)->
	    pumps) == 0;
}

void
api_tls_stop(struct api_tls *t)
{
	struct claim	*c, *next;

	if (t == NULL)
		return;
	if (t->wake[1] != -1)
		(void)!write(t->wake[1], "x", 1);
	if (t->running)
		pthread_join(t->acceptor, NULL);
	while (atomic_load(&t->pumps) > 0)
		poll(NULL, 0, DM_SHUTDOWN_POLL_MS);
	for (c = t->claims; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	if (t->cred != NULL)
		gnutls_certificate_free_credentials(t->cred);
	if (t->wake[0] != -1) {
		close(t->wake[0]);
		close(t->wake[1]);
	}
	if (t->hush[0] != -1) {
		close(t->hush[0]);
		close(t->hush[1]);
	}
	if (t->lfd != -1)
		close(t->lfd);
	pthread_mutex_destroy(&t->lock);
	free(t);
}
