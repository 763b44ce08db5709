/*
 * check_backend.c: backends/ outside any exchange's content: libcurl's
 * process-wide setup (once per process), and how long a hijack waits for
 * an engine that does not take or answer the connection.
 */
/* Threads: Check's runner only. */

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "backends/backend.h"
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
