/*
 * check_work.c: the front end's worker pool (work.c) and stream loop
 * (api_loop.c): jobs run concurrently up to the cap, the pool settles and
 * joins; a waiter wakes once, for the right reason; a relay's waiter asks
 * for its own events.
 */

#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "api/api_loop.h"
#include "lib/work.h"
#include "lib/util.h"

/* A job that holds its worker until the gate opens. */
struct gated {
	struct dm_job	 job;
	pthread_mutex_t	*lock;
	pthread_cond_t	*cv;
	int		*open;
	atomic_int	*inside;
	atomic_int	*most;
	atomic_int	*done;
};

static void
gated_run(struct dm_job *j)
{
	struct gated	*g = (struct gated *)(void *)j;
	int		 now, seen;

	now = atomic_fetch_add(g->inside, 1) + 1;
	seen = atomic_load(g->most);
	while (now > seen && !atomic_compare_exchange_weak(g->most, &seen,
	    now))
		;
	pthread_mutex_lock(g->lock);
	while (!*g->open)
		pthread_cond_wait(g->cv, g->lock);
	pthread_mutex_unlock(g->lock);
	atomic_fetch_sub(g->inside, 1);
	atomic_fetch_add(g->done, 1);
}

static void
run_gated(size_t cap, int njobs, int *most_out, size_t *threads_out)
{
	pthread_mutex_t	 lock = PTHREAD_MUTEX_INITIALIZER;
	pthread_cond_t	 cv = PTHREAD_COND_INITIALIZER;
	struct gated	*g;
	struct dm_work	*wk;
	atomic_int	 inside, most, done;
	int		 open = 0, i;
	long long	 until;

	atomic_init(&inside, 0);
	atomic_init(&most, 0);
	atomic_init(&done, 0);
	wk = dm_work_new(cap);
	ck_assert_ptr_nonnull(wk);
	g = xcalloc((size_t)njobs, sizeof(*g));
	for (i = 0; i < njobs; i++) {
		g[i].job.fn = gated_run;
		g[i].lock = &lock;
		g[i].cv = &cv;
		g[i].open = &open;
		g[i].inside = &inside;
		g[i].most = &most;
		g[i].done = &done;
		dm_work_submit(wk, &g[i].job);
	}
	/* Let as many start as will. */
	until = dm_mono_ms() + 2000;
	while (atomic_load(&inside) < njobs && dm_mono_ms() < until)
		usleep(5000);
	usleep(50000);
	*threads_out = dm_work_threads(wk, NULL);
	ck_assert_int_eq(dm_work_settle(wk, 10), -1);	/* still held */
	pthread_mutex_lock(&lock);
	open = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&lock);
	ck_assert_int_eq(dm_work_settle(wk, 5000), 0);
	ck_assert_int_eq(atomic_load(&done), njobs);
	*most_out = atomic_load(&most);
	dm_work_free(wk);
	free(g);
}

START_TEST(test_work_grows_while_every_worker_waits)
{
	size_t	threads;
	int	most;

	run_gated(64, 20, &most, &threads);
	/* 20 blocking calls at once: 20 workers, not the 4 kept idle. */
	ck_assert_int_eq(most, 20);
	ck_assert_uint_ge(threads, 20);
	ck_assert_uint_le(threads, 64);
}
END_TEST

START_TEST(test_work_cap_queues_the_rest)
{
	size_t	threads;
	int	most;

	run_gated(6, 20, &most, &threads);
	ck_assert_int_eq(most, 6);
	ck_assert_uint_eq(threads, 6);
}
END_TEST

/* A waiter that records its one wake. */
struct rec {
	struct api_waiter	w;
	atomic_int		wakes;
	atomic_int		why;
};

static void
rec_wake(struct api_waiter *w, enum api_wake why)
{
	struct rec	*r = (struct rec *)(void *)w;

	atomic_store(&r->why, (int)why);
	atomic_fetch_add(&r->wakes, 1);
}

static void
rec_init(struct rec *r, int fd, int client_fd, long long deadline)
{
	memset(r, 0, sizeof(*r));
	r->w.wake = rec_wake;
	r->w.fd = fd;
	r->w.client_fd = client_fd;
	r->w.deadline = deadline;
	atomic_init(&r->wakes, 0);
	atomic_init(&r->why, -1);
}

static int
wait_wakes(struct rec *r, int n, int ms)
{
	long long	until = dm_mono_ms() + ms;

	while (atomic_load(&r->wakes) < n && dm_mono_ms() < until)
		usleep(2000);
	return atomic_load(&r->wakes);
}

START_TEST(test_loop_wakes_once_for_each_reason)
{
	struct api_loop	*l;
	struct dm_err	 err;
	struct rec	 r;
	int		 eng[2], cli[2];
	char		 c = 'x';

	l = api_loop_new(&err);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, eng), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, cli), 0);

	/* The engine's bytes: READY, once, though more keep coming. */
	rec_init(&r, eng[0], cli[0], 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	ck_assert_uint_eq(api_loop_count(l), 1);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&r.wakes), 0);
	ck_assert_int_eq(write(eng[1], &c, 1), 1);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_READY);
	ck_assert_int_eq(write(eng[1], &c, 1), 1);
	usleep(20000);
	ck_assert_int_eq(atomic_load(&r.wakes), 1);
	ck_assert_uint_eq(api_loop_count(l), 0);
	ck_assert_int_eq(read(eng[0], &c, 1), 1);
	ck_assert_int_eq(read(eng[0], &c, 1), 1);

	/* Re-armed (the same fds): the client's bytes, then its close. */
	rec_init(&r, eng[0], cli[0], 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	ck_assert_int_eq(write(cli[1], &c, 1), 1);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_CLIENT_DATA);
	ck_assert_int_eq(read(cli[0], &c, 1), 1);
	rec_init(&r, eng[0], cli[0], 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	close(cli[1]);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_CLIENT_GONE);

	/* A deadline alone. */
	rec_init(&r, eng[0], -1, dm_mono_ms() + 50);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	usleep(10000);
	ck_assert_int_eq(atomic_load(&r.wakes), 0);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_READY);

	/* Stopping wakes the armed one and refuses the next. */
	rec_init(&r, eng[0], -1, 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	api_loop_stop(l);
	ck_assert_int_eq(atomic_load(&r.wakes), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_CANCEL);
	rec_init(&r, eng[0], -1, 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), -1);
	api_loop_free(l);
	close(eng[0]);
	close(eng[1]);
	close(cli[0]);
}
END_TEST

/*
 * A relay's waiter: its own events on each socket (writable, here), a
 * client's bytes wake it READY, and a client socket epoll refuses fails
 * the watch, leaving the engine's socket out of the set.
 */
START_TEST(test_loop_relay_events)
{
	struct api_loop	*l;
	struct dm_err	 err;
	struct rec	 r;
	int		 eng[2], cli[2], file;
	char		 c = 'x';

	l = api_loop_new(&err);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, eng), 0);
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, cli), 0);

	/* Writable at once: a waiter for EPOLLOUT wakes without a byte. */
	rec_init(&r, eng[0], -1, 0);
	r.w.fd_events = EPOLLOUT;
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_READY);

	/* The client watched for its bytes: READY, not CLIENT_DATA. */
	rec_init(&r, eng[0], cli[0], 0);
	r.w.fd_events = EPOLLIN;
	r.w.client_events = EPOLLIN;
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	ck_assert_int_eq(write(cli[1], &c, 1), 1);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	ck_assert_int_eq(atomic_load(&r.why), API_WAKE_READY);
	ck_assert_int_eq(read(cli[0], &c, 1), 1);

	/* A regular file cannot be in an epoll set: the watch fails... */
	file = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ne(file, -1);
	rec_init(&r, eng[0], file, 0);
	r.w.client_events = EPOLLIN;
	ck_assert_int_eq(api_loop_watch(l, &r.w), -1);
	ck_assert_uint_eq(api_loop_count(l), 0);
	/* ...and took the engine's socket out again: it can be re-added. */
	rec_init(&r, eng[0], -1, 0);
	ck_assert_int_eq(api_loop_watch(l, &r.w), 0);
	ck_assert_int_eq(write(eng[1], &c, 1), 1);
	ck_assert_int_eq(wait_wakes(&r, 1, 2000), 1);
	api_loop_free(l);
	close(file);
	close(eng[0]);
	close(eng[1]);
	close(cli[0]);
	close(cli[1]);
}
END_TEST

START_TEST(test_loop_many_waiters_each_woken_by_its_own)
{
	enum { N = 200 };
	struct api_loop	*l;
	struct dm_err	 err;
	struct rec	*r;
	int		 (*sp)[2], i, total = 0;
	char		 c = 'x';

	l = api_loop_new(&err);
	ck_assert_ptr_nonnull(l);
	r = xcalloc(N, sizeof(*r));
	sp = xcalloc(N, sizeof(*sp));
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]),
		    0);
		rec_init(&r[i], sp[i][0], -1, 0);
		ck_assert_int_eq(api_loop_watch(l, &r[i].w), 0);
	}
	ck_assert_uint_eq(api_loop_count(l), N);
	for (i = 0; i < N; i += 2)
		ck_assert_int_eq(write(sp[i][1], &c, 1), 1);
	for (i = 0; i < N; i += 2)
		ck_assert_int_eq(wait_wakes(&r[i], 1, 2000), 1);
	for (i = 0; i < N; i++)
		total += atomic_load(&r[i].wakes);
	ck_assert_int_eq(total, N / 2);
	ck_assert_uint_eq(api_loop_count(l), N / 2);
	api_loop_free(l);
	for (i = 0; i < N; i++) {
		ck_assert_int_eq(atomic_load(&r[i].wakes), 1);
		close(sp[i][0]);
		close(sp[i][1]);
	}
	free(r);
	free(sp);
}
END_TEST

/*
 * A source: what the loop's thread runs whenever its fd is readable
 * (level: again and again until the source reads it), once when it is
 * added, when its timeout comes, and after a kick from any thread; and
 * never again once the loop stopped.
 */
struct src_rec {
	struct api_loop_src	 src;
	struct api_loop		*l;
	int			 rd;		/* the pipe's read end */
	atomic_int		 runs;
	atomic_long		 timeout;	/* what timeout() answers */
	atomic_int		 drain;		/* run() reads the pipe */
	atomic_int		 kick_self;	/* run() kicks once */
	atomic_int		 on_loop;	/* a kick from run() counted */
};

static void
src_run(void *arg)
{
	struct src_rec	*sr = arg;
	char		 buf[16];

	atomic_fetch_add(&sr->runs, 1);
	if (atomic_load(&sr->drain))
		(void)!read(sr->rd, buf, sizeof(buf));
	if (atomic_exchange(&sr->kick_self, 0)) {
		atomic_store(&sr->on_loop, 1);
		api_loop_kick(sr->l);
	}
}

static long
src_timeout(void *arg)
{
	return atomic_load(&((struct src_rec *)arg)->timeout);
}

/* Runs counted over ms. */
static int
runs_in(struct src_rec *sr, int ms)
{
	int	before = atomic_load(&sr->runs);

	usleep((useconds_t)ms * 1000);
	return atomic_load(&sr->runs) - before;
}

static int
wait_runs(struct src_rec *sr, int n, int ms)
{
	long long	until = dm_mono_ms() + ms;

	while (atomic_load(&sr->runs) < n && dm_mono_ms() < until)
		usleep(2000);
	return atomic_load(&sr->runs);
}

START_TEST(test_loop_source_runs_when_ready_due_or_kicked)
{
	struct api_loop	*l;
	struct dm_err	 err;
	struct src_rec	 sr;
	int		 p[2], n;
	char		 c = 'x';

	l = api_loop_new(&err);
	ck_assert_ptr_nonnull(l);
	ck_assert_int_eq(pipe2(p, O_NONBLOCK), 0);
	memset(&sr, 0, sizeof(sr));
	sr.l = l;
	sr.rd = p[0];
	atomic_init(&sr.runs, 0);
	atomic_init(&sr.timeout, -1);
	atomic_init(&sr.drain, 1);
	atomic_init(&sr.kick_self, 0);
	atomic_init(&sr.on_loop, 0);
	sr.src.fd = p[0];
	sr.src.run = src_run;
	sr.src.timeout = src_timeout;
	sr.src.arg = &sr;

	/* Added: run once, then not while nothing happens. */
	ck_assert_int_eq(api_loop_source(l, &sr.src), 0);
	ck_assert_int_eq(wait_runs(&sr, 1, 2000), 1);
	ck_assert_int_eq(runs_in(&sr, 50), 0);

	/* Readable: run, and the source reads it. */
	ck_assert_int_eq(write(p[1], &c, 1), 1);
	ck_assert_int_eq(wait_runs(&sr, 2, 2000), 2);
	ck_assert_int_eq(runs_in(&sr, 50), 0);

	/* Level: while it stays readable, it runs again and again. */
	atomic_store(&sr.drain, 0);
	ck_assert_int_eq(write(p[1], &c, 1), 1);
	n = runs_in(&sr, 50);
	ck_assert_int_ge(n, 3);
	atomic_store(&sr.drain, 1);
	ck_assert_int_ge(wait_runs(&sr, atomic_load(&sr.runs) + 1, 2000), 1);
	usleep(10000);
	ck_assert_int_eq(runs_in(&sr, 50), 0);

	/* Its timeout: due in 30 ms, then none. */
	atomic_store(&sr.timeout, 30);
	ck_assert_int_eq(write(p[1], &c, 1), 1);	/* asked anew */
	n = atomic_load(&sr.runs);
	ck_assert_int_ge(wait_runs(&sr, n + 2, 2000), n + 2);
	atomic_store(&sr.timeout, -1);
	ck_assert_int_eq(write(p[1], &c, 1), 1);
	usleep(50000);
	ck_assert_int_eq(runs_in(&sr, 80), 0);

	/* A kick from this thread wakes the loop to run it once. */
	n = atomic_load(&sr.runs);
	api_loop_kick(l);
	ck_assert_int_eq(wait_runs(&sr, n + 1, 2000), n + 1);
	ck_assert_int_eq(runs_in(&sr, 50), 0);

	/* A kick from a run: once more before the loop waits. */
	n = atomic_load(&sr.runs);
	atomic_store(&sr.kick_self, 1);
	api_loop_kick(l);
	ck_assert_int_eq(wait_runs(&sr, n + 2, 2000), n + 2);
	ck_assert_int_eq(atomic_load(&sr.on_loop), 1);
	ck_assert_int_eq(runs_in(&sr, 50), 0);

	/* Stopped: never again. */
	api_loop_stop(l);
	n = atomic_load(&sr.runs);
	ck_assert_int_eq(write(p[1], &c, 1), 1);
	api_loop_kick(l);
	ck_assert_int_eq(runs_in(&sr, 50), 0);
	ck_assert_int_eq(api_loop_source(l, &sr.src), -1);
	api_loop_free(l);
	close(p[0]);
	close(p[1]);
}
END_TEST

static Suite *
work_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("work");
	tc = tcase_create("pool");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_work_grows_while_every_worker_waits);
	tcase_add_test(tc, test_work_cap_queues_the_rest);
	suite_add_tcase(s, tc);
	tc = tcase_create("loop");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_loop_wakes_once_for_each_reason);
	tcase_add_test(tc, test_loop_many_waiters_each_woken_by_its_own);
	tcase_add_test(tc, test_loop_relay_events);
	tcase_add_test(tc, test_loop_source_runs_when_ready_due_or_kicked);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(work_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
