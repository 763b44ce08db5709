/*
 * check_events.c: the merged GET /events stream (daemon/disp_events.c)
 * read as the front end's event loop reads it: try_read never waits, an
 * engine without a head holds up nobody, a busy engine cannot starve a
 * quiet one, and the stream ends once every part has.
 */
/* Threads: Check's runner reads the stream; one thread per fake engine. */

#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "backends/backend.h"
#include "daemon/disp_int.h"
#include "lib/limits.h"
#include "lib/util.h"
#include "check_tmpdir.h"

/*
 * A try_read that waits shows up as one taking this long or more (a
 * late head comes after 4 times that); valgrind tags a piece in 50 ms.
 */
#define EV_QUICK_MS	250
#define EV_BUSY_LINES	4000
#define EV_LINE_PAD	80

/* One engine: answers one GET /events as scripted, on its own thread. */
struct engine {
	char		 name[16];
	char		 sock[128];
	int		 lfd;
	int		 stop[2];	/* [1] closed: stop holding */
	int		 said[2];	/* [0] readable: head and body sent */
	pthread_t	 thread;
	const char	*head;		/* NULL: never answers */
	int		 head_delay_ms;
	int		 busy;		/* EV_BUSY_LINES padded lines */
	const char	*body;
	int		 hold;		/* keep the stream open after body */
};

static struct dispatcher root;
static struct cfg_backend cfgs[2];

static void
write_all(int fd, const char *s, size_t n)
{
	ssize_t	k;

	while (n > 0 && (k = write(fd, s, n)) > 0) {
		s += k;
		n -= (size_t)k;
	}
}

/* 1 when e->stop was said within ms. */
static int
engine_stopped(struct engine *e, int ms)
{
	struct pollfd	pfd = { .fd = e->stop[0], .events = POLLIN };

	return poll(&pfd, 1, ms) == 1;
}

static void *
engine_main(void *arg)
{
	struct engine	*e = arg;
	char		 req[4096], line[EV_LINE_PAD + 32];
	size_t		 len = 0;
	ssize_t		 n;
	int		 fd, i;

	fd = accept(e->lfd, NULL, NULL);
	if (fd == -1)
		return NULL;
	while (len < sizeof(req) - 1 && (n = read(fd, req + len,
	    sizeof(req) - 1 - len)) > 0) {
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (e->head != NULL && !engine_stopped(e, e->head_delay_ms)) {
		write_all(fd, e->head, strlen(e->head));
		if (e->body != NULL)
			write_all(fd, e->body, strlen(e->body));
		write_all(e->said[1], "x", 1);
		for (i = 0; e->busy && i < EV_BUSY_LINES; i++) {
			n = snprintf(line, sizeof(line), "{\"busy\":%d,"
			    "\"pad\":\"%0*d\"}\n", i, EV_LINE_PAD, 0);
			write_all(fd, line, (size_t)n);
		}
	}
	if (e->hold || e->head == NULL)
		(void)engine_stopped(e, -1);
	close(fd);
	return NULL;
}

static void
engine_start(struct engine *e, const char *name)
{
	struct sockaddr_un	sun;
	int			len;

	snprintf(e->name, sizeof(e->name), "%s", name);
	snprintf(e->sock, sizeof(e->sock), "%s/%s.sock", tmpdir, name);
	len = dm_sun_path(&sun, e->sock);
	ck_assert_int_gt(len, 0);
	e->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ne(e->lfd, -1);
	ck_assert_int_eq(bind(e->lfd, (struct sockaddr *)&sun,
	    (socklen_t)len), 0);
	ck_assert_int_eq(listen(e->lfd, 4), 0);
	ck_assert_int_eq(pipe(e->stop), 0);
	ck_assert_int_eq(pipe(e->said), 0);
	ck_assert_int_eq(pthread_create(&e->thread, NULL, engine_main, e), 0);
}

static void
engine_stop(struct engine *e)
{
	close(e->stop[1]);
	shutdown(e->lfd, SHUT_RDWR);
	pthread_join(e->thread, NULL);
	close(e->stop[0]);
	close(e->said[0]);
	close(e->said[1]);
	close(e->lfd);
}

/* Wait until e has sent its head and body. */
static void
engine_wait_said(struct engine *e)
{
	char	c;

	ck_assert_int_eq(read(e->said[0], &c, 1), 1);
}

/* GET /events over engines e[0..n-1]: the stream, in r. */
static void
events_open(struct engine *e, size_t n, struct disp_reply *r)
{
	static const struct disp_req req = { .method = "GET",
	    .path = "/v1.41/events", .query = "", .client_fd = -1 };
	struct dm_hdrs		 fwd;
	struct disp_ctx		 ctx;
	struct disp		*d;
	size_t			 i;

	d = xcalloc(1, sizeof(*d));
	atomic_init(&d->refs, 1);
	d->root = &root;
	d->n = n;
	pthread_mutex_init(&d->lock, NULL);
	for (i = 0; i < n; i++) {
		snprintf(cfgs[i].name, sizeof(cfgs[i].name), "%s", e[i].name);
		d->b[i].cfg = &cfgs[i];
		d->b[i].be = backend_new_unix(e[i].name, e[i].sock);
	}
	dm_hdrs_init(&fwd);
	memset(&ctx, 0, sizeof(ctx));
	ctx.d = d;
	ctx.req = &req;
	ctx.fwd = &fwd;
	disp_reply_init(r);
	disp_events(&ctx, r);
	ck_assert_int_eq(r->status, 200);
	ck_assert_int_eq(r->kind, DISP_REPLY_STREAM);
	ck_assert_ptr_nonnull(r->stream->try_read);
	disp_view_release(d);	/* the stream holds it now */
}

/* The stream freed (every exchange closed), then engines e[0..n-1]. */
static void
events_close(struct disp_reply *r, struct engine *e, size_t n)
{
	size_t	i;

	disp_reply_free(r);
	for (i = 0; i < n; i++)
		engine_stop(&e[i]);
}

/*
 * The stream's next bytes as an event loop gets them: each try_read
 * quick, its wait honoured.  >0, 0 at the end; -1 broken.
 */
static ssize_t
events_next(struct disp_stream *s, char *buf, size_t max)
{
	struct pollfd	pfd;
	struct dm_wait	w;
	long long	t0;
	ssize_t		n;

	for (;;) {
		t0 = dm_mono_ms();
		n = s->try_read(s, buf, max, &w);
		ck_assert_int_lt(dm_mono_ms() - t0, EV_QUICK_MS);
		if (n != DM_WOULD_BLOCK)
			return n;
		ck_assert_int_ne(w.fd, -1);
		ck_assert_int_le(w.ms, DM_STREAM_HEAD_TIMEOUT_MS);
		pfd.fd = w.fd;
		pfd.events = POLLIN;
		(void)poll(&pfd, 1, w.ms >= 0 && w.ms < 1000 ? (int)w.ms : 1000);
	}
}

/* The next piece of s, which must come, as a string in buf. */
static void
events_piece(struct disp_stream *s, char *buf, size_t size)
{
	ssize_t	n;

	n = events_next(s, buf, size - 1);
	ck_assert_int_gt(n, 0);
	buf[n] = '\0';
}

/* A quiet engine's line comes out between a busy engine's pieces. */
START_TEST(test_busy_engine_does_not_starve)
{
	struct engine		e[2];
	struct disp_reply	r;
	char			buf[DM_API_BLOCK + 1], *nl, *p;
	size_t			busy = 0, have = 0;
	ssize_t			n;
	int			seen = 0;

	memset(e, 0, sizeof(e));
	e[0].head = e[1].head = "HTTP/1.1 200 OK\r\n\r\n";
	e[0].busy = e[0].hold = 1;
	e[1].body = "{\"quiet\":1}\n";
	e[1].hold = 1;
	engine_start(&e[0], "busy");
	engine_start(&e[1], "quiet");
	events_open(e, 2, &r);
	engine_wait_said(&e[0]);
	engine_wait_said(&e[1]);
	while (!seen && busy < EV_BUSY_LINES) {
		n = events_next(r.stream, buf + have, sizeof(buf) - 1 - have);
		ck_assert_int_gt(n, 0);
		have += (size_t)n;
		buf[have] = '\0';
		for (p = buf; !seen && (nl = strchr(p, '\n')) != NULL;
		    p = nl + 1) {
			if (strstr(p, "\"quiet\":1") != NULL && nl >
			    strstr(p, "\"quiet\":1"))
				seen = 1;
			else
				busy++;
		}
		have -= (size_t)(p - buf);
		memmove(buf, p, have);
	}
	ck_assert_msg(seen, "the quiet engine's line never came");
	/* Round robin: at most a piece or two of the busy one first. */
	ck_assert_uint_lt(busy, 3 * DM_STREAM_READ / EV_LINE_PAD);
	events_close(&r, e, 2);
}
END_TEST

/*
 * An engine without a head: the other's lines come, its end does not
 * end the stream; a late head is noticed through the wait fd, and the
 * stream ends when both parts have.
 */
START_TEST(test_late_head_waits_in_the_loop)
{
	struct engine		e[2];
	struct disp_reply	r;
	struct dm_wait		w;
	char			buf[DM_API_BLOCK + 1];
	char			got[256] = "";
	ssize_t			n;

	memset(e, 0, sizeof(e));
	e[0].head = e[1].head = "HTTP/1.1 200 OK\r\n\r\n";
	e[0].body = "{\"n\":1}\n";
	e[1].head_delay_ms = 4 * EV_QUICK_MS;
	e[1].body = "{\"n\":2}\n";
	engine_start(&e[0], "early");
	engine_start(&e[1], "late");
	events_open(e, 2, &r);
	events_piece(r.stream, buf, sizeof(buf));
	ck_assert_str_eq(buf,
	    "{\"n\":1,\"Actor\":{\"Attributes\":{\"io.dockmux.backend\":"
	    "\"early\"}}}\n");
	/* early has ended; late has not answered: wait, do not end. */
	engine_wait_said(&e[0]);
	usleep(50 * 1000);
	ck_assert_int_eq(r.stream->try_read(r.stream, buf, sizeof(buf), &w),
	    DM_WOULD_BLOCK);
	ck_assert_int_gt(w.ms, 0);
	while ((n = events_next(r.stream, buf, sizeof(buf) - 1)) > 0) {
		buf[n] = '\0';
		ck_assert_uint_lt(strlen(got) + (size_t)n, sizeof(got));
		strcat(got, buf);
	}
	ck_assert_int_eq(n, 0);
	ck_assert_str_eq(got,
	    "{\"n\":2,\"Actor\":{\"Attributes\":{\"io.dockmux.backend\":"
	    "\"late\"}}}\n");
	events_close(&r, e, 2);
}
END_TEST

/* A part that is not 200 is left out; its body never reaches the client. */
START_TEST(test_refusal_left_out)
{
	struct engine		e[2];
	struct disp_reply	r;
	char			buf[DM_API_BLOCK + 1];

	memset(e, 0, sizeof(e));
	e[0].head = "HTTP/1.1 501 Not Implemented\r\nContent-Length: 18\r\n\r\n";
	e[0].body = "{\"message\":\"no\"}\n";
	e[1].head = "HTTP/1.1 200 OK\r\n\r\n";
	e[1].body = "{\"n\":1}\n";
	engine_start(&e[0], "refuses");
	engine_start(&e[1], "answers");
	events_open(e, 2, &r);
	events_piece(r.stream, buf, sizeof(buf));
	ck_assert_ptr_null(strstr(buf, "message"));
	ck_assert_ptr_nonnull(strstr(buf, "\"answers\""));
	ck_assert_int_eq(events_next(r.stream, buf, sizeof(buf)), 0);
	events_close(&r, e, 2);
}
END_TEST

static Suite *
events_suite(void)
{
	Suite	*s = suite_create("events");
	TCase	*tc;

	tc = tcase_create("event loop");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_busy_engine_does_not_starve);
	tcase_add_test(tc, test_late_head_waits_in_the_loop);
	tcase_add_test(tc, test_refusal_left_out);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 cancel[2], failed;

	signal(SIGPIPE, SIG_IGN);	/* a busy engine's client leaves */
	if (pipe(cancel) == -1 || backend_lib_init(cancel[0]) == -1)
		return 1;
	sr = srunner_create(events_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	backend_lib_cleanup();
	close(cancel[0]);
	close(cancel[1]);
	return failed == 0 ? 0 : 1;
}
