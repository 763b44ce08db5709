/*
 * bench_rt.c: the benchmark's HTTP clients: keep-alive round trips over a
 * unix socket, one long GET, many clients at once (libcurl, timed), or
 * many streams held open.
 *
 *   bench_rt rt SOCKS URL COUNT WARMUP
 *	WARMUP then COUNT rounds; a round sends URL once to each socket of
 *	SOCKS (comma separated) at the same time, each on its own kept-alive
 *	connection, and lasts until every answer is in.  Prints
 *	"p50_us=N p99_us=N n=COUNT connects=N" (connects: new connections
 *	opened during the timed part; 0 means keep-alive held).
 *   bench_rt alt URL COUNT WARMUP SOCKS...
 *	rt for several sides (each SOCKS as there), their rounds
 *	interleaved: every step runs one round on each side, a different
 *	side first each step, so a burst of the host's other work lands on
 *	every side alike.  One result line per side, in the order given.
 *   bench_rt get SOCK URL
 *	one GET, body discarded; prints "bytes=N secs=F mbps=F" (MB = 1e6).
 *   bench_rt load SOCK URL CONC SECS
 *	CONC clients (threads), each on its own kept-alive connection,
 *	sending URL back to back for SECS seconds (after one warm-up
 *	request each); prints "rps=F n=N connects=N".
 *   bench_rt hold SOCK PATH COUNT MAXSECS
 *	what COUNT `docker logs -f` clients look like to a daemon, without
 *	COUNT processes: opens COUNT connections to SOCK, sends "GET PATH"
 *	on each (plain HTTP/1.1, no libcurl) and waits (30 s at most) for
 *	every status line; then prints "open=N failed=N ms=N" (open:
 *	answered 200; ms: until the last answer) and keeps every stream
 *	open, reading and discarding what arrives, until SIGTERM or
 *	MAXSECS.  Last it prints "ended=N" (the streams the other side
 *	closed meanwhile).  Raises its own RLIMIT_NOFILE to fit COUNT; a
 *	refused or failed stream is counted, not fatal.
 * A SOCK "-" connects to the URL's host instead; an https URL is verified
 * with $BENCH_CA and presents $BENCH_CERT/$BENCH_KEY.
 *
 * Exits 1 on a transport error or a status other than 200 (hold: when it
 * cannot start).
 */
/* Threads: one (rt, get: one CURLM multi handle drives every easy handle;
 * hold: poll(2) over every stream); load: one more per client, each with
 * its own easy handle. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define MAX_SOCKS	8	/* rt: sockets asked at once */
#define MAX_SIDES	4	/* alt: sides interleaved */
#define MAX_CONC	1024	/* load: clients */
#define MAX_STREAMS	100000	/* hold: streams */

#define HEAD_LEN	12	/* "HTTP/1.1 200" */

/* hold: one stream, and the first bytes of its answer. */
enum state { WAITING, STREAMING, CLOSED };

struct stream {
	enum state	st;
	size_t		hlen;
	char		head[HEAD_LEN];
};

static volatile sig_atomic_t	stop;	/* hold: SIGTERM or SIGINT came */

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rt rt SOCK[,SOCK...] URL COUNT WARMUP\n"
	    "       bench_rt alt URL COUNT WARMUP SOCK[,SOCK...]...\n"
	    "       bench_rt get SOCK URL\n"
	    "       bench_rt load SOCK URL CONC SECS\n"
	    "       bench_rt hold SOCK PATH COUNT MAXSECS\n");
	exit(2);
}

static double
now_s(void)
{
	struct timespec	ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Counts what arrives and keeps none of it. */
static size_t
discard(char *data, size_t size, size_t nmemb, void *arg)
{
	unsigned long long	*bytes = arg;

	(void)data;
	*bytes += (unsigned long long)size * nmemb;
	return size * nmemb;
}

static int
cmp_double(const void *a, const void *b)
{
	double	x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted v[0..n). */
static double
percentile(const double *v, size_t n, double pct)
{
	size_t	rank;

	rank = (size_t)(pct / 100.0 * (double)n + 0.999999);
	if (rank < 1)
		rank = 1;
	if (rank > n)
		rank = n;
	return v[rank - 1];
}

static long
num_arg(const char *s, long min, long max)
{
	char	*end;
	long	 v;

	v = strtol(s, &end, 10);
	if (*end != '\0' || end == s || v < min || v > max)
		usage();
	return v;
}

/* Owned: curl_easy_cleanup(). */
static CURL *
easy_new(const char *sock, const char *url, unsigned long long *bytes)
{
	CURL	*c;

	c = curl_easy_init();
	if (c == NULL) {
		fprintf(stderr, "bench_rt: curl_easy_init failed\n");
		exit(1);
	}
	/* SOCK "-": the URL's host (https: with $BENCH_CA, _CERT, _KEY). */
	if (strcmp(sock, "-") != 0)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, sock);
	if (getenv("BENCH_CA") != NULL) {
		curl_easy_setopt(c, CURLOPT_CAINFO, getenv("BENCH_CA"));
		curl_easy_setopt(c, CURLOPT_SSLCERT, getenv("BENCH_CERT"));
		curl_easy_setopt(c, CURLOPT_SSLKEY, getenv("BENCH_KEY"));
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, bytes);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* The same receive buffer for every side of a comparison. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	return c;
}

/* Owned: curl_multi_cleanup(); caches up to conns connections. */
static CURLM *
multi_new(long conns)
{
	CURLM	*m;

	m = curl_multi_init();
	if (m == NULL) {
		fprintf(stderr, "bench_rt: curl_multi_init failed\n");
		exit(1);
	}
	curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, conns);
	return m;
}

/* The end of one transfer; exits on failure so a broken run never reads
 * as fast. */
static void
check_done(CURLMsg *msg, const char *url)
{
	long	status = 0;

	if (msg->data.result != CURLE_OK) {
		fprintf(stderr, "bench_rt: %s: %s\n", url,
		    curl_easy_strerror(msg->data.result));
		exit(1);
	}
	curl_easy_getinfo(msg->easy_handle, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "bench_rt: %s: status %ld\n", url, status);
		exit(1);
	}
}

/* Drives m one step: transfers, then a wait for activity (at most 1 s). */
static int
multi_step(CURLM *m)
{
	int	running = 0;

	if (curl_multi_perform(m, &running) != CURLM_OK) {
		fprintf(stderr, "bench_rt: curl_multi_perform failed\n");
		exit(1);
	}
	if (running > 0 && curl_multi_poll(m, NULL, 0, 1000, NULL) !=
	    CURLM_OK) {
		fprintf(stderr, "bench_rt: curl_multi_poll failed\n");
		exit(1);
	}
	return running;
}

/* One request on each of h[0..n) at once, until all are answered; the
 * connections stay in m's cache for the next round.  Returns the new
 * connections opened. */
static long
round_all(CURLM *m, CURL **h, int n, const char *url)
{
	CURLMsg	*msg;
	long	 nconn, connects = 0;
	int	 i, left, done = 0;

	for (i = 0; i < n; i++)
		curl_multi_add_handle(m, h[i]);
	while (done < n) {
		multi_step(m);
		while ((msg = curl_multi_info_read(m, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE)
				continue;
			check_done(msg, url);
			done++;
		}
	}
	for (i = 0; i < n; i++) {
		nconn = 0;
		curl_easy_getinfo(h[i], CURLINFO_NUM_CONNECTS, &nconn);
		connects += nconn;
		curl_multi_remove_handle(m, h[i]);
	}
	return connects;
}

/* One side of rt or alt: the sockets it asks at once, and the latency
 * of each of its timed rounds. */
struct side {
	CURLM			*m;		/* owned */
	CURL			*h[MAX_SOCKS];	/* owned */
	int			 n;
	double			*lat;		/* owned: one per round */
	long			 connects;
	unsigned long long	 bytes;
};

/*
 * COUNT timed rounds (after WARMUP) on each of nsides sides, interleaved:
 * step i runs one round on every side, side i % nsides first, so a burst
 * of the host's other work lands on every side alike and no side always
 * goes first.  One result line per side, in order.
 */
static int
run_sides(const char *url, long count, long warmup, int nsides,
    char **socks)
{
	struct side	*sd, *x;
	double		 t0;
	char		*sock, *save;
	long		 i;
	int		 k;

	sd = calloc((size_t)nsides, sizeof(*sd));
	if (sd == NULL) {
		fprintf(stderr, "bench_rt: %s\n", strerror(errno));
		return 1;
	}
	for (k = 0; k < nsides; k++) {
		x = &sd[k];
		x->lat = calloc((size_t)count, sizeof(*x->lat));
		if (x->lat == NULL) {
			fprintf(stderr, "bench_rt: %s\n", strerror(errno));
			exit(1);
		}
		save = NULL;
		for (sock = strtok_r(socks[k], ",", &save); sock != NULL;
		    sock = strtok_r(NULL, ",", &save)) {
			if (x->n == MAX_SOCKS)
				usage();
			x->h[x->n++] = easy_new(sock, url, &x->bytes);
		}
		if (x->n == 0)
			usage();
		x->m = multi_new(x->n);
	}
	for (i = 0; i < warmup; i++)
		for (k = 0; k < nsides; k++) {
			x = &sd[(i + k) % nsides];
			round_all(x->m, x->h, x->n, url);
		}
	for (i = 0; i < count; i++)
		for (k = 0; k < nsides; k++) {
			x = &sd[(i + k) % nsides];
			t0 = now_s();
			x->connects += round_all(x->m, x->h, x->n, url);
			x->lat[i] = (now_s() - t0) * 1e6;
		}
	for (k = 0; k < nsides; k++) {
		x = &sd[k];
		while (x->n > 0)
			curl_easy_cleanup(x->h[--x->n]);
		curl_multi_cleanup(x->m);
		qsort(x->lat, (size_t)count, sizeof(*x->lat), cmp_double);
		printf("p50_us=%.1f p99_us=%.1f n=%ld connects=%ld\n",
		    percentile(x->lat, (size_t)count, 50.0),
		    percentile(x->lat, (size_t)count, 99.0), count,
		    x->connects);
		free(x->lat);
	}
	free(sd);
	return 0;
}

static int
run_get(const char *sock, const char *url)
{
	CURLM			*m;
	CURL			*c;
	unsigned long long	 bytes = 0;
	double			 t0, secs;

	c = easy_new(sock, url, &bytes);
	m = multi_new(1);
	t0 = now_s();
	round_all(m, &c, 1, url);
	secs = now_s() - t0;
	curl_easy_cleanup(c);
	curl_multi_cleanup(m);
	printf("bytes=%llu secs=%.3f mbps=%.1f\n", bytes, secs,
	    secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
	return 0;
}

/* One request with c alone; exits on failure. */
static long
perform(CURL *c, const char *url)
{
	CURLcode	rc;
	long		status = 0, nconn = 0;

	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		fprintf(stderr, "bench_rt: %s: %s\n", url,
		    curl_easy_strerror(rc));
		exit(1);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (status != 200) {
		fprintf(stderr, "bench_rt: %s: status %ld\n", url, status);
		exit(1);
	}
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
	return nconn;
}

/* One client of "load": its own thread, easy handle and connection. */
struct client {
	pthread_t		 tid;
	const char		*sock, *url;
	pthread_barrier_t	*start;
	double			 end;	/* set before the barrier opens */
	long			 n, connects;
};

static void *
client_run(void *arg)
{
	struct client		*cl = arg;
	CURL			*c;
	unsigned long long	 bytes = 0;

	c = easy_new(cl->sock, cl->url, &bytes);
	perform(c, cl->url);		/* warm-up: the connection opens */
	pthread_barrier_wait(cl->start);
	pthread_barrier_wait(cl->start);	/* main has set end */
	do {
		cl->connects += perform(c, cl->url);
		cl->n++;
	} while (now_s() < cl->end);
	curl_easy_cleanup(c);
	return NULL;
}

static int
run_load(const char *sock, const char *url, long conc, double secs)
{
	pthread_barrier_t	 start;
	struct client		*cl;
	double			 t0, end;
	long			 i, n = 0, connects = 0;

	cl = calloc((size_t)conc, sizeof(*cl));
	if (cl == NULL) {
		fprintf(stderr, "bench_rt: %s\n", strerror(errno));
		return 1;
	}
	pthread_barrier_init(&start, NULL, (unsigned)conc + 1);
	for (i = 0; i < conc; i++) {
		cl[i].sock = sock;
		cl[i].url = url;
		cl[i].start = &start;
		if (pthread_create(&cl[i].tid, NULL, client_run, &cl[i]) != 0) {
			fprintf(stderr, "bench_rt: pthread_create failed\n");
			exit(1);
		}
	}
	pthread_barrier_wait(&start);	/* every client is connected */
	t0 = now_s();
	end = t0 + secs;
	for (i = 0; i < conc; i++)
		cl[i].end = end;
	pthread_barrier_wait(&start);
	for (i = 0; i < conc; i++) {
		pthread_join(cl[i].tid, NULL);
		n += cl[i].n;
		connects += cl[i].connects;
	}
	printf("rps=%.1f n=%ld connects=%ld\n", (double)n / (now_s() - t0), n,
	    connects);
	pthread_barrier_destroy(&start);
	free(cl);
	return 0;
}

/* Room for count streams plus stdio. */
static void
raise_nofile(long count)
{
	struct rlimit	rl;
	rlim_t		want = (rlim_t)count + 64;

	if (getrlimit(RLIMIT_NOFILE, &rl) != 0 || rl.rlim_cur >= want)
		return;
	if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < want) {
		fprintf(stderr, "bench_rt: RLIMIT_NOFILE hard limit %llu "
		    "< %llu\n", (unsigned long long)rl.rlim_max,
		    (unsigned long long)want);
		exit(1);
	}
	rl.rlim_cur = want;
	if (setrlimit(RLIMIT_NOFILE, &rl) != 0) {
		fprintf(stderr, "bench_rt: setrlimit: %s\n", strerror(errno));
		exit(1);
	}
}

/* A connected socket with the request sent, non-blocking; -1 if refused. */
static int
open_stream(const struct sockaddr_un *sa, const char *req, size_t reqlen)
{
	int	fd;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		fprintf(stderr, "bench_rt: socket: %s\n", strerror(errno));
		exit(1);
	}
	/* Blocking connect and write: a full backlog waits, not fails. */
	if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) != 0 ||
	    write(fd, req, reqlen) != (ssize_t)reqlen ||
	    fcntl(fd, F_SETFL, O_NONBLOCK) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Reads what fds[i] has; the first bytes are the status line.  Returns
 * the stream's state afterwards. */
static enum state
drain(struct pollfd *p, struct stream *s)
{
	static char	buf[64 * 1024];
	ssize_t		n;
	size_t		k;

	for (;;) {
		n = read(p->fd, buf, sizeof(buf));
		if (n < 0 && (errno == EAGAIN || errno == EINTR))
			return s->st;
		if (n <= 0) {
			close(p->fd);
			p->fd = -1;
			return CLOSED;
		}
		if (s->st == WAITING) {
			k = HEAD_LEN - s->hlen;
			if ((size_t)n < k)
				k = (size_t)n;
			memcpy(s->head + s->hlen, buf, k);
			s->hlen += k;
			if (s->hlen == HEAD_LEN) {
				if (memcmp(s->head, "HTTP/1.1 200", HEAD_LEN) != 0 &&
				    memcmp(s->head, "HTTP/1.0 200", HEAD_LEN) != 0) {
					close(p->fd);
					p->fd = -1;
					return CLOSED;
				}
				s->st = STREAMING;
			}
		}
	}
}

static int
run_hold(const char *sock, const char *path, long count, double maxsecs)
{
	struct sigaction	 sa_term;
	struct sockaddr_un	 sa;
	struct pollfd		*pfd;
	struct stream		*s;
	char			*req;
	double			 t0, deadline, t_last = 0;
	long			 i, open = 0, failed = 0, ended = 0;
	enum state		 was, now;
	int			 reported = 0, n;

	if (strlen(sock) >= sizeof(sa.sun_path))
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, sock);
	if (asprintf(&req, "GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n",
	    path) < 0)
		return 1;
	memset(&sa_term, 0, sizeof(sa_term));
	sa_term.sa_handler = on_term;	/* no SA_RESTART: poll returns */
	sigaction(SIGTERM, &sa_term, NULL);
	sigaction(SIGINT, &sa_term, NULL);
	raise_nofile(count);
	pfd = calloc((size_t)count, sizeof(*pfd));
	s = calloc((size_t)count, sizeof(*s));
	if (pfd == NULL || s == NULL)
		return 1;

	t0 = now_s();
	deadline = t0 + maxsecs;
	for (i = 0; i < count && !stop; i++) {
		pfd[i].fd = open_stream(&sa, req, strlen(req));
		pfd[i].events = POLLIN;
		if (pfd[i].fd < 0) {
			s[i].st = CLOSED;
			failed++;
		}
	}
	while (!stop && now_s() < deadline) {
		if (!reported && (open + failed == count ||
		    now_s() - t0 > 30)) {
			printf("open=%ld failed=%ld ms=%.0f\n", open,
			    count - open, (t_last - t0) * 1000);
			fflush(stdout);
			reported = 1;
		}
		n = poll(pfd, (nfds_t)count, 200);
		if (n < 0 && errno != EINTR) {
			fprintf(stderr, "bench_rt: poll: %s\n",
			    strerror(errno));
			return 1;
		}
		for (i = 0; n > 0 && i < count; i++) {
			if (pfd[i].fd < 0 || pfd[i].revents == 0)
				continue;
			was = s[i].st;
			now = drain(&pfd[i], &s[i]);
			s[i].st = now;
			if (was == WAITING && now == STREAMING) {
				open++;
				t_last = now_s();
			} else if (was == WAITING && now == CLOSED)
				failed++;
			else if (was == STREAMING && now == CLOSED)
				ended++;
		}
	}
	if (!reported)
		printf("open=%ld failed=%ld ms=%.0f\n", open, count - open,
		    (t_last - t0) * 1000);
	printf("ended=%ld\n", ended);
	for (i = 0; i < count; i++)
		if (pfd[i].fd >= 0)
			close(pfd[i].fd);
	free(pfd);
	free(s);
	free(req);
	return 0;
}

int
main(int argc, char *argv[])
{
	int	rc;

	if (argc < 4)
		usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench_rt: curl_global_init failed\n");
		return 1;
	}
	if (strcmp(argv[1], "rt") == 0 && argc == 6)
		rc = run_sides(argv[3], num_arg(argv[4], 1, LONG_MAX),
		    num_arg(argv[5], 0, LONG_MAX), 1, &argv[2]);
	else if (strcmp(argv[1], "alt") == 0 && argc >= 6 &&
	    argc - 5 <= MAX_SIDES)
		rc = run_sides(argv[2], num_arg(argv[3], 1, LONG_MAX),
		    num_arg(argv[4], 0, LONG_MAX), argc - 5, &argv[5]);
	else if (strcmp(argv[1], "get") == 0 && argc == 4)
		rc = run_get(argv[2], argv[3]);
	else if (strcmp(argv[1], "load") == 0 && argc == 6)
		rc = run_load(argv[2], argv[3], num_arg(argv[4], 1, MAX_CONC),
		    (double)num_arg(argv[5], 1, 86400));
	else if (strcmp(argv[1], "hold") == 0 && argc == 6)
		rc = run_hold(argv[2], argv[3],
		    num_arg(argv[4], 1, MAX_STREAMS),
		    (double)num_arg(argv[5], 1, 86400));
	else
		usage();
	curl_global_cleanup();
	return rc;
}
