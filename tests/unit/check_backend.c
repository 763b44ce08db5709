/*
 * check_backend.c: backends/ outside any exchange's content: libcurl's
 * process-wide setup (once per process), how long a hijack waits for an
 * engine that does not take or answer the connection, an answer read
 * after its deadline, the relay an event loop steps, and the HTTP/1.1
 * framing our own client reads engines' answers with (backend_h1.c).
 */
/* Threads: Check's runner; a stepped relay's engine accepts on one more. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "backends/backend.h"
#include "backends/backend_int.h"
#include "lib/limits.h"
#include "lib/util.h"

#define NITEMS(a)	(sizeof(a) / sizeof((a)[0]))

/* The cancel pipe main() set the module up with: [1] says "shut down". */
static int	cancel[2] = { -1, -1 };

/* Process-wide setup: once, never again (a reload must not). */

START_TEST(test_lib_init_once)
{
	int	again[2];

	ck_assert_int_eq(pipe2(again, O_CLOEXEC), 0);
	ck_assert_int_eq(backend_lib_init(again[0]), -1);
	close(again[0]);
	close(again[1]);
}
END_TEST

/*
 * Hijack: an engine that never accepts.  Its socket listens with a queue
 * of one, which the first connection fills; later ones are refused with
 * EAGAIN for as long as nobody accepts, as with a wedged engine.
 */

struct stuck_engine {
	char	dir[64];
	char	sock[96];
	int	fd;
	int	queued[8];	/* connections sitting in its queue */
};

static void
stuck_engine_start(struct stuck_engine *se, int backlog, int fill)
{
	struct sockaddr_un	sun;
	size_t			i;
	int			len;

	snprintf(se->dir, sizeof(se->dir), "/tmp/check_backend.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(se->dir));
	snprintf(se->sock, sizeof(se->sock), "%s/engine.sock", se->dir);
	len = dm_sun_path(&sun, se->sock);
	ck_assert_int_gt(len, 0);
	se->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(se->fd, -1);
	ck_assert_int_eq(bind(se->fd, (struct sockaddr *)&sun,
	    (socklen_t)len), 0);
	ck_assert_int_eq(listen(se->fd, backlog), 0);
	for (i = 0; i < NITEMS(se->queued); i++) {
		se->queued[i] = -1;
		if (!fill)
			continue;
		se->queued[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
		    SOCK_NONBLOCK, 0);
		ck_assert_int_ne(se->queued[i], -1);
		if (connect(se->queued[i], (struct sockaddr *)&sun,
		    (socklen_t)len) == -1) {
			ck_assert_int_eq(errno, EAGAIN);
			fill = 0;	/* full: the next one would block */
		}
	}
	ck_assert_int_eq(fill, 0);
}

static void
stuck_engine_stop(struct stuck_engine *se)
{
	size_t	i;

	for (i = 0; i < NITEMS(se->queued); i++)
		if (se->queued[i] != -1)
			close(se->queued[i]);
	close(se->fd);
	unlink(se->sock);
	rmdir(se->dir);
}

/* backend_hijack_open() on se: NULL expected; how long it took. */
static long long
hijack_fails(struct stuck_engine *se, struct dm_err *err)
{
	struct backend		*b;
	struct backend_hijack	*hj;
	struct backend_call	 bc;
	long long		 t0;

	b = backend_new_unix("stuck", se->sock);
	memset(&bc, 0, sizeof(bc));
	bc.method = "POST";
	bc.path = "/containers/abc/attach?stream=1";
	dm_err_clear(err);
	t0 = dm_mono_ms();
	hj = backend_hijack_open(b, &bc, err);
	t0 = dm_mono_ms() - t0;
	ck_assert_ptr_null(hj);
	ck_assert_int_eq(err->st, DM_EBACKEND);
	backend_release(b);
	return t0;
}

/*
 * As hijack_fails() on a new stuck engine, with shutdown said first (as
 * main says it; the byte is taken back after, for the cases to come).
 */
static long long
hijack_fails_stopping(int backlog, int fill, struct dm_err *err)
{
	struct stuck_engine	se;
	long long		ms;
	char			c;

	stuck_engine_start(&se, backlog, fill);
	ck_assert_int_eq(write(cancel[1], "x", 1), 1);
	ms = hijack_fails(&se, err);
	ck_assert_int_eq(read(cancel[0], &c, 1), 1);
	stuck_engine_stop(&se);
	return ms;
}

START_TEST(test_hijack_connect_times_out)
{
	struct stuck_engine	se;
	struct dm_err		err;
	char			want[300];
	long long		ms;

	stuck_engine_start(&se, 0, 1);
	ms = hijack_fails(&se, &err);
	snprintf(want, sizeof(want), "backend stuck: connect %s: no answer "
	    "within %d ms", se.sock, DM_CONNECT_TIMEOUT_MS);
	stuck_engine_stop(&se);
	ck_assert_int_ge(ms, DM_CONNECT_TIMEOUT_MS - 50);
	ck_assert_int_lt(ms, DM_CONNECT_TIMEOUT_MS + 1000);
	ck_assert_str_eq(err.msg, want);
}
END_TEST

START_TEST(test_hijack_connect_sees_shutdown)
{
	struct dm_err	err;

	ck_assert_int_lt(hijack_fails_stopping(0, 1, &err), DM_POLL_SLICE_MS);
	ck_assert_msg(strstr(err.msg, ": dockmuxd is stopping") != NULL,
	    "got \"%s\"", err.msg);
}
END_TEST

/* Connected (the queue has room), the request sent, no head ever. */
START_TEST(test_hijack_head_sees_shutdown)
{
	struct dm_err	err;

	ck_assert_int_lt(hijack_fails_stopping(4, 0, &err), DM_POLL_SLICE_MS);
	ck_assert_str_eq(err.msg, "backend stuck: dockmuxd is stopping");
}
END_TEST

/*
 * backend_xfer_try_finish(), an event loop's finish: it never waits,
 * says which socket to wait on, and each call (or a blocking finish
 * after it) goes on from what the last one read.
 */
/*
 * An exchange with the engine listening on lfd, its request taken:
 * *fd is the engine's end.  A new connection is accepted, so the answer
 * before must have closed its own.
 */
static struct backend_xfer *
started(struct backend *b, int lfd, int timeout_ms, int *fd)
{
	struct backend_call	 bc;
	struct backend_xfer	*x;
	struct dm_err		 err;
	char			 req[1024];

	memset(&bc, 0, sizeof(bc));
	bc.method = "GET";
	bc.path = "/containers/json";
	bc.timeout_ms = timeout_ms;
	x = backend_xfer_start(b, &bc, &err);
	ck_assert_ptr_nonnull(x);
	*fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
	ck_assert_int_ne(*fd, -1);
	ck_assert_int_gt(recv(*fd, req, sizeof(req), 0), 0);
	return x;
}

static void
say(int fd, const char *s)
{
	ck_assert_int_eq(send(fd, s, strlen(s), 0), (ssize_t)strlen(s));
}

START_TEST(test_try_finish_goes_on_where_it_stopped)
{
	struct stuck_engine	 se;
	struct backend		*b;
	struct backend_xfer	*x;
	struct dm_wait		 w;
	struct dm_hdrs		 h;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len = 0;
	int			 fd, status = 0;

	/* Every answer here says Connection: close (see started()). */
	stuck_engine_start(&se, 4, 0);
	b = backend_new_unix("slow", se.sock);
	dm_hdrs_init(&h);

	/* Nothing yet, then the head and half the body, then the rest. */
	x = started(b, se.fd, 5000, &fd);
	w.fd = -1;
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, &h,
	    &w, &err), DM_WOULD_BLOCK);
	ck_assert_int_eq(w.fd, backend_xfer_fd(x));
	ck_assert_int_ge(w.fd, 0);
	say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Type: application/json\r\n"
	    "Transfer-Encoding: chunked\r\n\r\n5\r\n[1,2,\r\n");
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, &h,
	    &w, &err), DM_WOULD_BLOCK);
	ck_assert_ptr_null(body);
	say(fd, "2\r\n3]\r\n0\r\n\r\n");
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, &h,
	    &w, &err), 0);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(body, "[1,2,3]");
	ck_assert_uint_eq(len, 7);
	ck_assert_str_eq(dm_hdrs_get(&h, "Content-Type"), "application/json");
	free(body);
	body = NULL;
	dm_hdrs_clear(&h);

	/* Half read without waiting, the rest by a blocking finish. */
	close(fd);
	x = started(b, se.fd, 5000, &fd);
	say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 7\r\n\r\n[4,");
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, NULL,
	    &w, &err), DM_WOULD_BLOCK);
	say(fd, "5,6]");
	ck_assert_int_eq(backend_xfer_finish(x, &status, &body, &len, NULL,
	    &err), 0);
	ck_assert_str_eq(body, "[4,5,6]");
	free(body);
	body = NULL;

	/* Dropped half read: what it held goes with it (valgrind). */
	close(fd);
	x = started(b, se.fd, 5000, &fd);
	say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 7\r\n\r\n[7,");
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, NULL,
	    &w, &err), DM_WOULD_BLOCK);
	backend_xfer_free(x);

	/* An engine that closes mid-answer fails it. */
	close(fd);
	x = started(b, se.fd, 5000, &fd);
	say(fd, "HTTP/1.1 200 OK\r\nConnection: close\r\n"
	    "Content-Length: 7\r\n\r\n[8,");
	close(fd);
	ck_assert_int_eq(backend_xfer_try_finish(x, &status, &body, &len, NULL,
	    &w, &err), -1);
	ck_assert_ptr_null(body);
	ck_assert_msg(strstr(err.msg, "slow") != NULL, "got \"%s\"",
	    err.msg);
	backend_release(b);
	stuck_engine_stop(&se);
}
END_TEST

/*
 * An answer read after its exchange's deadline, because the reader was
 * busy with another engine's (a fan-out reads them in turn): what is
 * already on the socket counts, and only silence is a timeout.
 */

START_TEST(test_wait_past_deadline_sees_ready)
{
	int	sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0,
	    sv), 0);
	ck_assert_int_eq(backend_wait_fd(sv[0], POLLIN, dm_mono_ms() - 1),
	    0);
	ck_assert_int_eq(write(sv[1], "x", 1), 1);
	ck_assert_int_eq(backend_wait_fd(sv[0], POLLIN, dm_mono_ms() - 1),
	    1);
	close(sv[0]);
	close(sv[1]);
}
END_TEST

START_TEST(test_answer_read_after_deadline)
{
	static const char	 answer[] = "HTTP/1.1 200 OK\r\n"
	    "Content-Type: application/json\r\nContent-Length: 2\r\n\r\n[]";
	struct stuck_engine	 se;
	struct backend		*b;
	struct backend_xfer	*x;
	struct backend_call	 bc;
	struct dm_hdrs		 h;
	struct dm_err		 err;
	char			*body = NULL;
	size_t			 len = 0;
	int			 fd, status = 0;

	stuck_engine_start(&se, 4, 0);
	b = backend_new_unix("late", se.sock);
	x = started(b, se.fd, 50, &fd);
	ck_assert_int_eq(send(fd, answer, sizeof(answer) - 1, 0),
	    (ssize_t)sizeof(answer) - 1);
	usleep(150 * 1000);	/* the reader was busy: 100 ms late */
	dm_hdrs_init(&h);
	ck_assert_int_eq(backend_xfer_finish(x, &status, &body, &len, &h,
	    &err), 0);
	ck_assert_int_eq(status, 200);
	ck_assert_str_eq(body, "[]");
	ck_assert_str_eq(dm_hdrs_get(&h, "Content-Type"), "application/json");
	free(body);
	dm_hdrs_clear(&h);

	/* Silence past the deadline is still a timeout (on the connection
	 * kept from the answer before). */
	memset(&bc, 0, sizeof(bc));
	bc.method = "GET";
	bc.path = "/containers/json";
	bc.timeout_ms = 50;
	x = backend_xfer_start(b, &bc, &err);
	ck_assert_ptr_nonnull(x);
	usleep(100 * 1000);
	ck_assert_int_eq(backend_xfer_finish(x, &status, &body, &len, NULL,
	    &err), -1);
	ck_assert_ptr_null(body);
	ck_assert_msg(strstr(err.msg, "timed out") != NULL, "got \"%s\"",
	    err.msg);
	close(fd);
	backend_release(b);
	stuck_engine_stop(&se);
}
END_TEST

/*
 * The relay an event loop steps (backend_hijack_step): an engine that
 * answers 101 and then speaks raw bytes on the accepted socket, a client
 * on a socket pair.  Every step is non-blocking, so one thread plays the
 * engine, the client and the loop in turn.
 */

struct up_engine {
	struct stuck_engine	 se;
	pthread_t		 t;
	int			 fd;	/* the engine's end, once accepted */
};

static const char up_head[] = "HTTP/1.1 101 UPGRADED\r\n"
    "Content-Type: application/vnd.docker.raw-stream\r\n"
    "Connection: Upgrade\r\nUpgrade: tcp\r\n\r\nearly";

/* Accept, read the request head, answer 101 with stream bytes after it. */
static void *
up_accept(void *arg)
{
	struct up_engine	*ue = arg;
	char			 req[4096];
	size_t			 have = 0;
	ssize_t			 n;

	ue->fd = accept4(ue->se.fd, NULL, NULL, SOCK_CLOEXEC);
	while (ue->fd != -1 && have < sizeof(req) - 1) {
		n = recv(ue->fd, req + have, sizeof(req) - 1 - have, 0);
		if (n <= 0)
			break;
		have += (size_t)n;
		req[have] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (ue->fd != -1)
		(void)!send(ue->fd, up_head, sizeof(up_head) - 1, MSG_NOSIGNAL);
	return NULL;
}

/* A hijack relayed by steps, its engine's end and a client pair. */
struct up_rig {
	struct up_engine	 ue;
	struct backend		*b;
	struct backend_hijack	*h;
	int			 cl[2];	/* [0] dockmuxd's end, [1] the client */
	short			 eev, cev;
};

static void
up_open(struct up_rig *r)
{
	struct backend_call	bc;
	struct dm_err		err;

	stuck_engine_start(&r->ue.se, 4, 0);
	r->ue.fd = -1;
	ck_assert_int_eq(pthread_create(&r->ue.t, NULL, up_accept, &r->ue),
	    0);
	r->b = backend_new_unix("up", r->ue.se.sock);
	memset(&bc, 0, sizeof(bc));
	bc.method = "POST";
	bc.path = "/containers/abc/attach?stream=1&stdin=1&stdout=1";
	r->h = backend_hijack_open(r->b, &bc, &err);
	ck_assert_int_eq(pthread_join(r->ue.t, NULL), 0);
	ck_assert_ptr_nonnull(r->h);
	ck_assert_int_eq(backend_hijack_upgraded(r->h), 1);
	ck_assert_int_ne(r->ue.fd, -1);
	ck_assert_int_eq(fcntl(r->ue.fd, F_SETFL, O_NONBLOCK), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC |
	    SOCK_NONBLOCK, 0, r->cl), 0);
}

/* One step of r's relay with no extra: what it returned. */
static int
up_step(struct up_rig *r)
{
	return backend_hijack_step(r->h, r->cl[0], NULL, 0, &r->eev, &r->cev);
}

static void
up_close(struct up_rig *r)
{
	backend_hijack_free(r->h);
	backend_release(r->b);
	close(r->cl[0]);
	if (r->cl[1] != -1)
		close(r->cl[1]);
	if (r->ue.fd != -1)
		close(r->ue.fd);
	stuck_engine_stop(&r->ue.se);
}

/* All that is there to read on fd now (non-blocking), into buf. */
static size_t
drain(int fd, char *buf, size_t cap)
{
	size_t	have = 0;
	ssize_t	n;

	while (have < cap && (n = recv(fd, buf + have, cap - have,
	    MSG_DONTWAIT)) > 0)
		have += (size_t)n;
	return have;
}

START_TEST(test_step_relay_both_ways)
{
	struct up_rig	r;
	char		buf[64];

	up_open(&r);
	/* The first step: the engine's early bytes and the client's extra. */
	ck_assert_int_eq(backend_hijack_step(r.h, r.cl[0], "extra", 5, &r.eev,
	    &r.cev), 0);
	ck_assert_uint_eq(drain(r.cl[1], buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "early", 5), 0);
	ck_assert_uint_eq(drain(r.ue.fd, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "extra", 5), 0);
	/* Idle: it waits to read both sides, to write neither. */
	ck_assert_int_eq(r.eev, POLLIN);
	ck_assert_int_eq(r.cev, POLLIN);

	ck_assert_int_eq(send(r.cl[1], "stdin", 5, 0), 5);
	ck_assert_int_eq(send(r.ue.fd, "stdout", 6, 0), 6);
	ck_assert_int_eq(up_step(&r), 0);
	ck_assert_uint_eq(drain(r.ue.fd, buf, sizeof(buf)), 5);
	ck_assert_int_eq(memcmp(buf, "stdin", 5), 0);
	ck_assert_uint_eq(drain(r.cl[1], buf, sizeof(buf)), 6);
	ck_assert_int_eq(memcmp(buf, "stdout", 6), 0);

	/* The client's half-close reaches the engine; the relay goes on. */
	ck_assert_int_eq(shutdown(r.cl[1], SHUT_WR), 0);
	ck_assert_int_eq(up_step(&r), 0);
	ck_assert_int_eq(recv(r.ue.fd, buf, sizeof(buf), MSG_DONTWAIT), 0);
	ck_assert_int_eq(r.cev, 0);
	ck_assert_int_eq(r.eev, POLLIN);

	/* The engine's last bytes, then its end: the relay's clean end. */
	ck_assert_int_eq(send(r.ue.fd, "bye", 3, 0), 3);
	ck_assert_int_eq(shutdown(r.ue.fd, SHUT_WR), 0);
	ck_assert_int_eq(up_step(&r), 1);
	ck_assert_uint_eq(drain(r.cl[1], buf, sizeof(buf)), 3);
	ck_assert_int_eq(memcmp(buf, "bye", 3), 0);
	ck_assert_int_eq(recv(r.cl[1], buf, sizeof(buf), MSG_DONTWAIT), 0);
	up_close(&r);
}
END_TEST

/* The engine writes what its socket takes: bytes sent so far, grown. */
static void
engine_fill(struct up_rig *r, const char *out, size_t len, size_t *sent)
{
	ssize_t	w;

	while (*sent < len && (w = send(r->ue.fd, out + *sent, len - *sent,
	    MSG_DONTWAIT)) > 0)
		*sent += (size_t)w;
}

/*
 * A client that does not read: the relay stops reading the engine (what
 * it holds is one read's worth) and waits for the client to take it;
 * then every byte arrives, in order.
 */
START_TEST(test_step_relay_backpressure)
{
	struct up_rig	 r;
	static char	 out[1 << 20], back[1 << 20];
	size_t		 sent = 0, got = 0, n;
	int		 i, rc;

	up_open(&r);
	ck_assert_int_eq(up_step(&r), 0);
	ck_assert_uint_eq(drain(r.cl[1], back, sizeof(back)), 5); /* early */
	for (n = 0; n < sizeof(out); n++)
		out[n] = (char)(n * 7 + n / 251);
	/* The engine writes until its socket is full, the client reads
	 * nothing, the loop steps until the relay holds bytes. */
	for (i = 0; i < 64; i++) {
		engine_fill(&r, out, sizeof(out), &sent);
		ck_assert_int_eq(up_step(&r), 0);
		if (!(r.eev & POLLIN))
			break;
	}
	ck_assert_msg(!(r.eev & POLLIN), "still reading the engine after %zu "
	    "bytes", sent);
	ck_assert_int_eq(r.cev & POLLOUT, POLLOUT);
	/* The client reads; the engine writes the rest; all arrives. */
	for (i = 0; i < 100000 && got < sizeof(out); i++) {
		got += drain(r.cl[1], back + got, sizeof(back) - got);
		engine_fill(&r, out, sizeof(out), &sent);
		/* 0 (wait) or 2 (more at once): neither end nor error. */
		rc = up_step(&r);
		ck_assert_msg(rc == 0 || rc == 2, "step: %d", rc);
	}
	ck_assert_uint_eq(got, sizeof(out));
	ck_assert_int_eq(memcmp(out, back, sizeof(out)), 0);
	up_close(&r);
}
END_TEST

/* A client gone for good: the relay's end, as an error. */
START_TEST(test_step_relay_client_gone)
{
	struct up_rig	r;
	char		buf[64];

	up_open(&r);
	ck_assert_int_eq(up_step(&r), 0);
	ck_assert_uint_eq(drain(r.cl[1], buf, sizeof(buf)), 5);
	close(r.cl[1]);
	r.cl[1] = -1;
	ck_assert_int_eq(send(r.ue.fd, "lost", 4, 0), 4);
	ck_assert_int_eq(up_step(&r), -1);
	up_close(&r);
}
END_TEST

/*
 * HTTP/1.1 framing (backend_h1.c).  The decoder is fed the bytes as a
 * socket hands them over: every way of cutting an answer in two, and
 * byte by byte, must give the same body.
 */

static const char chunked_answer[] =
    "5\r\nhello\r\n6;name=value\r\n world\r\n"
    "0\r\nX-Trailer: t\r\n\r\n";

/* Decode text cut at cut (and byte by byte when cut is 0): the body. */
static size_t
decode_cut(struct h1_body *b, const char *text, size_t cut, char *out)
{
	size_t	n = strlen(text), at = 0, got = 0, step, m;
	char	piece[256];

	memset(b, 0, sizeof(*b));
	b->frame = H1_CHUNKED;
	while (at < n) {
		step = cut == 0 ? 1 : at < cut ? cut - at : n - at;
		memcpy(piece, text + at, step);
		m = h1_decode(b, piece, step);
		memcpy(out + got, piece, m);
		got += m;
		at += step;
	}
	out[got] = '\0';
	return got;
}

START_TEST(test_h1_chunked_any_cut)
{
	struct h1_body	b;
	char		out[256];
	size_t		cut;

	for (cut = 0; cut < strlen(chunked_answer); cut++) {
		ck_assert_uint_eq(decode_cut(&b, chunked_answer, cut, out),
		    11);
		ck_assert_msg(strcmp(out, "hello world") == 0, "cut %zu: %s",
		    cut, out);
		ck_assert_msg(b.done && !b.bad && !b.extra, "cut %zu", cut);
	}
}
END_TEST

START_TEST(test_h1_chunked_refused)
{
	static const char *const bad[] = {
		"zz\r\n",			/* no hex digits */
		"5\r\nhelloXX\r\n",		/* no CRLF after the data */
		"5\rX",				/* CR without LF */
		"FFFFFFFFFFFFFFFFFF\r\n",	/* past any size */
		";x\r\n",			/* an extension, no size */
	};
	struct h1_body	b;
	char		out[256];
	size_t		i;

	for (i = 0; i < NITEMS(bad); i++) {
		decode_cut(&b, bad[i], 0, out);
		ck_assert_msg(b.bad && !b.done, "%s: accepted", bad[i]);
	}
}
END_TEST

START_TEST(test_h1_past_the_end)
{
	struct h1_body	b;
	char		buf[64];
	long long	clen = -2;
	int		keep = 1;
	struct dm_hdrs	h;

	/* Chunked: a LF-only last line is taken; what follows is extra. */
	memset(&b, 0, sizeof(b));
	b.frame = H1_CHUNKED;
	memcpy(buf, "2\nok\n0\n\nHTTP", 12);
	ck_assert_uint_eq(h1_decode(&b, buf, 12), 2);
	ck_assert(b.done && b.extra && !b.bad);

	/* Content-Length: the body's bytes only. */
	dm_hdrs_init(&h);
	dm_hdrs_add(&h, "Content-Length", "5");
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), 0);
	ck_assert_int_eq(clen, 5);
	ck_assert(b.frame == H1_LENGTH && !b.done && keep);
	memcpy(buf, "abcdefg", 7);
	ck_assert_uint_eq(h1_decode(&b, buf, 7), 5);
	ck_assert(b.done && b.extra);
	dm_hdrs_clear(&h);
}
END_TEST

START_TEST(test_h1_body_framing)
{
	struct h1_body	b;
	struct dm_hdrs	h;
	long long	clen;
	int		keep;

	dm_hdrs_init(&h);
	dm_hdrs_add(&h, "Content-Length", "12");

	/* No body whatever the length says: HEAD, 204, 304, 1xx. */
	keep = 1;
	ck_assert_int_eq(h1_body_start(&b, 200, 1, 0, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_NONE && b.done && keep && clen == 12);
	ck_assert_int_eq(h1_body_start(&b, 204, 0, 0, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_NONE && b.done);
	ck_assert_int_eq(h1_body_start(&b, 304, 0, 0, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_NONE && b.done && keep);

	/* Chunked wins over a length (and hides it). */
	dm_hdrs_add(&h, "Transfer-Encoding", "gzip, chunked");
	keep = 1;
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_CHUNKED && clen == -1 && keep);
	dm_hdrs_clear(&h);

	/* Neither: until the engine closes, so never reused. */
	keep = 1;
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_CLOSE && !keep && clen == -1);

	/* HTTP/1.0 and "Connection: close" end the connection. */
	dm_hdrs_add(&h, "Content-Length", "0");
	keep = 1;
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 1, &h, &clen, &keep), 0);
	ck_assert(b.frame == H1_LENGTH && b.done && !keep);
	dm_hdrs_add(&h, "Connection", "Keep-Alive");
	keep = 1;
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 1, &h, &clen, &keep), 0);
	ck_assert(keep);
	dm_hdrs_clear(&h);
	dm_hdrs_add(&h, "Connection", "foo, close");
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), 0);
	ck_assert(!keep);
	dm_hdrs_clear(&h);

	/* A length that is not a number is refused. */
	dm_hdrs_add(&h, "Content-Length", "12abc");
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), -1);
	dm_hdrs_clear(&h);
	dm_hdrs_add(&h, "Content-Length", "-1");
	ck_assert_int_eq(h1_body_start(&b, 200, 0, 0, &h, &clen, &keep), -1);
	dm_hdrs_clear(&h);
}
END_TEST

START_TEST(test_h1_head)
{
	char		head[8192], why[96];
	struct dm_hdrs	h;
	int		status = 0, http10 = -1;
	size_t		i, n;

	ck_assert_uint_eq(h1_head_end("HTTP/1.1 200 OK\r\nA: b\r\n", 23), 0);
	ck_assert_uint_eq(h1_head_end("HTTP/1.1 200 OK\r\n\r\nbody", 23), 19);
	ck_assert_uint_eq(h1_head_end("HTTP/1.1 200 OK\n\nbody", 21), 17);

	dm_hdrs_init(&h);
	snprintf(head, sizeof(head), "HTTP/1.0 404 Not Found\r\n"
	    "Content-Type:  application/json \r\nnot a header\r\n"
	    "Api-Version: 1.41\r\n\r\n");
	ck_assert_int_eq(h1_parse_head(head, &status, &http10, &h, why,
	    sizeof(why)), 0);
	ck_assert_int_eq(status, 404);
	ck_assert_int_eq(http10, 1);
	ck_assert_uint_eq(h.n, 2);
	ck_assert_str_eq(dm_hdrs_get(&h, "content-type"), "application/json");
	ck_assert_str_eq(dm_hdrs_get(&h, "Api-Version"), "1.41");
	dm_hdrs_clear(&h);

	snprintf(head, sizeof(head), "SSH-2.0-OpenSSH_9.2\r\n\r\n");
	ck_assert_int_eq(h1_parse_head(head, &status, &http10, &h, why,
	    sizeof(why)), -1);
	ck_assert_msg(strncmp(why, "bad status line: SSH-2.0", 24) == 0,
	    "%s", why);

	/* One line past DM_MAX_HEADERS: refused, not cut. */
	n = (size_t)snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\n");
	for (i = 0; i <= DM_MAX_HEADERS; i++)
		n += (size_t)snprintf(head + n, sizeof(head) - n,
		    "X-%zu: v\r\n", i);
	snprintf(head + n, sizeof(head) - n, "\r\n");
	ck_assert_int_eq(h1_parse_head(head, &status, &http10, &h, why,
	    sizeof(why)), -2);
	ck_assert_str_eq(why, "answer has more than 64 header lines");
	dm_hdrs_clear(&h);
}
END_TEST

static Suite *
backend_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("backend");

	tc = tcase_create("lib");
	tcase_add_test(tc, test_lib_init_once);
	suite_add_tcase(s, tc);

	tc = tcase_create("hijack waits");
	/* One case waits out DM_CONNECT_TIMEOUT_MS; Check's default is 4 s. */
	tcase_set_timeout(tc, 10);
	tcase_add_test(tc, test_hijack_connect_times_out);
	tcase_add_test(tc, test_hijack_connect_sees_shutdown);
	tcase_add_test(tc, test_hijack_head_sees_shutdown);
	suite_add_tcase(s, tc);

	tc = tcase_create("late readers");
	tcase_add_test(tc, test_wait_past_deadline_sees_ready);
	tcase_add_test(tc, test_answer_read_after_deadline);
	tcase_add_test(tc, test_try_finish_goes_on_where_it_stopped);
	suite_add_tcase(s, tc);

	tc = tcase_create("stepped relay");
	tcase_add_test(tc, test_step_relay_both_ways);
	tcase_add_test(tc, test_step_relay_backpressure);
	tcase_add_test(tc, test_step_relay_client_gone);
	suite_add_tcase(s, tc);

	tc = tcase_create("h1 framing");
	tcase_add_test(tc, test_h1_chunked_any_cut);
	tcase_add_test(tc, test_h1_chunked_refused);
	tcase_add_test(tc, test_h1_past_the_end);
	tcase_add_test(tc, test_h1_body_framing);
	tcase_add_test(tc, test_h1_head);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	/* As dockmuxd's main does, before anything else in the module. */
	if (pipe2(cancel, O_CLOEXEC) == -1 || backend_lib_init(cancel[0]) ==
	    -1)
		return EXIT_FAILURE;
	sr = srunner_create(backend_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	backend_lib_cleanup();
	close(cancel[0]);
	close(cancel[1]);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
