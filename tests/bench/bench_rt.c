/*
 * bench_rt.c: the benchmark's HTTP client: keep-alive round trips over a
 * unix socket, or one long GET, timed with libcurl.
 *
 *   bench_rt rt SOCK URL COUNT WARMUP
 *	WARMUP then COUNT requests on one connection (one easy handle);
 *	prints "p50_us=N p99_us=N n=COUNT connects=N" (connects: new
 *	connections opened during the timed part; 0 means keep-alive held).
 *   bench_rt get SOCK URL
 *	one GET, body discarded; prints "bytes=N secs=F mbps=F" (MB = 1e6).
 * SOCK "-" connects to the URL's host instead; an https URL is verified
 * with $BENCH_CA and presents $BENCH_CERT/$BENCH_KEY.
 *
 * Exits 1 on a transport error or a status other than 200.
 */
/* Threads: one; one CURL easy handle. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

static void	usage(void) __attribute__((noreturn));

static void
usage(void)
{
	fprintf(stderr, "usage: bench_rt rt SOCK URL COUNT WARMUP\n"
	    "       bench_rt get SOCK URL\n");
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
	/* The same receive buffer for both sides of the comparison. */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
	return c;
}

/* One request; exits on failure so a broken run never reads as fast. */
static void
perform(CURL *c, const char *url)
{
	CURLcode	rc;
	long		status = 0;

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
}

static int
run_rt(const char *sock, const char *url, long count, long warmup)
{
	CURL			*c;
	double			*lat, t0;
	unsigned long long	 bytes = 0;
	long			 i, nconn, connects = 0;

	lat = calloc((size_t)count, sizeof(*lat));
	if (lat == NULL) {
		fprintf(stderr, "bench_rt: %s\n", strerror(errno));
		return 1;
	}
	c = easy_new(sock, url, &bytes);
	for (i = 0; i < warmup; i++)
		perform(c, url);
	for (i = 0; i < count; i++) {
		t0 = now_s();
		perform(c, url);
		lat[i] = (now_s() - t0) * 1e6;
		nconn = 0;
		curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &nconn);
		connects += nconn;
	}
	curl_easy_cleanup(c);
	qsort(lat, (size_t)count, sizeof(*lat), cmp_double);
	printf("p50_us=%.1f p99_us=%.1f n=%ld connects=%ld\n",
	    percentile(lat, (size_t)count, 50.0),
	    percentile(lat, (size_t)count, 99.0), count, connects);
	free(lat);
	return 0;
}

static int
run_get(const char *sock, const char *url)
{
	CURL			*c;
	unsigned long long	 bytes = 0;
	double			 t0, secs;

	c = easy_new(sock, url, &bytes);
	t0 = now_s();
	perform(c, url);
	secs = now_s() - t0;
	curl_easy_cleanup(c);
	printf("bytes=%llu secs=%.3f mbps=%.1f\n", bytes, secs,
	    secs > 0 ? (double)bytes / 1e6 / secs : 0.0);
	return 0;
}

int
main(int argc, char *argv[])
{
	char	*end;
	long	 count, warmup;
	int	 rc;

	if (argc < 4)
		usage();
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		fprintf(stderr, "bench_rt: curl_global_init failed\n");
		return 1;
	}
	if (strcmp(argv[1], "rt") == 0 && argc == 6) {
		count = strtol(argv[4], &end, 10);
		if (*end != '\0' || count < 1)
			usage();
		warmup = strtol(argv[5], &end, 10);
		if (*end != '\0' || warmup < 0)
			usage();
		rc = run_rt(argv[2], argv[3], count, warmup);
	} else if (strcmp(argv[1], "get") == 0 && argc == 4)
		rc = run_get(argv[2], argv[3]);
	else
		usage();
	curl_global_cleanup();
	return rc;
}
