/* dockmux.c: the admin CLI; speaks only dockmuxd's /_dockmux/ wire. */
/* Threads: single-threaded. */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cli/dockmux.h"
#include "config/cfg.h"
#include "lib/limits.h"

#ifndef DOCKMUX_VERSION
#define DOCKMUX_VERSION		"0.1.0"
#endif

#define CLI_DEFAULT_CONFIG	"/etc/dockmux/dockmux.json"

/* A subcommand, listed once here as tmux lists its cmd_entry tables. */
struct cli_cmd {
	const char	*name;
	const char	*args;
	const char	*help;
	int		 needs_socket;	/* choose one before run */
	int		(*run)(struct cli *, int, char **);
};

static int	cmd_check_config(struct cli *, int, char **);
static int	cmd_backends(struct cli *, int, char **);
static int	cmd_version(struct cli *, int, char **);

static const struct cli_cmd cli_cmds[] = {
	{ "backends", "[--json]",
	  "list the engines behind dockmuxd and their state", 1,
	  cmd_backends },
	{ "check-config", "[FILE]",
	  "validate FILE (default " CLI_DEFAULT_CONFIG ")", 0,
	  cmd_check_config },
	{ "explain", "[-l K=V]... [--platform P] [--name N] [--runtime R]"
	  " [--json] IMAGE | --body FILE|-",
	  "which backend a create would go to (nothing is created)", 1,
	  cli_cmd_explain },
	{ "routes", "[--backend B] [--rule R] [--name N] [--json]",
	  "list the containers dockmuxd routes and their backends", 1,
	  cli_cmd_routes },
	{ "version", "", "print the CLI and dockmuxd versions", 1,
	  cmd_version },
};

#define NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void
usage(FILE *fp)
{
	size_t	i;
	char	left[128];

	fprintf(fp, "usage: dockmux [-H unix:///path] COMMAND [ARGS]\n\n"
	    "Administer dockmuxd, the Docker API multiplexer.\n\n"
	    "Options:\n"
	    "  -H, --host SOCKET   dockmuxd socket: unix:///path or a path\n"
	    "                      (else $DOCKMUX_HOST, else $DOCKER_HOST when"
	    " unix://,\n"
	    "                      else %s)\n"
	    "  -h, --help          this help\n\n"
	    "Commands:\n", cfg_default_socket());
	for (i = 0; i < NCMDS; i++) {
		snprintf(left, sizeof(left), "%s %s", cli_cmds[i].name,
		    cli_cmds[i].args);
		fprintf(fp, "  %s\n      %s\n", left, cli_cmds[i].help);
	}
}

/*
 * Turn a host setting into a socket path: "unix:///path" or a plain path.
 * Any other scheme is refused: dockmuxd only listens on unix sockets.
 * Returns 0, or -1 after printing why.
 */
static int
host_to_path(struct cli *cli, const char *host, const char *from)
{
	const char	*path = host;

	if (strncmp(host, "unix://", 7) == 0)
		path = host + 7;
	else if (strstr(host, "://") != NULL) {
		warnx("%s: %s: only unix:// sockets are supported", from,
		    host);
		return -1;
	}
	if (*path == '\0') {
		warnx("%s: empty socket path", from);
		return -1;
	}
	if (strlen(path) >= sizeof(cli->sock)) {
		warnx("%s: %s: socket path too long", from, path);
		return -1;
	}
	snprintf(cli->sock, sizeof(cli->sock), "%s", path);
	cli->sock_from = from;
	return 0;
}

/* -H, else DOCKMUX_HOST, else DOCKER_HOST if unix://, else the default. */
static int
choose_socket(struct cli *cli, const char *opt_host)
{
	const char	*env;

	if (opt_host != NULL)
		return host_to_path(cli, opt_host, "-H");
	if ((env = getenv("DOCKMUX_HOST")) != NULL && *env != '\0')
		return host_to_path(cli, env, "DOCKMUX_HOST");
	if ((env = getenv("DOCKER_HOST")) != NULL &&
	    strncmp(env, "unix://", 7) == 0)
		return host_to_path(cli, env, "DOCKER_HOST");
	return host_to_path(cli, cfg_default_socket(), "default");
}

static size_t
resp_body(char *data, size_t size, size_t nmemb, void *arg)
{
	struct cli_resp	*r = arg;
	size_t		 n = size * nmemb;
	char		*nb;

	if (r->len + n >= DM_MAX_SMALL_BODY) {
		r->too_big = 1;
		return 0;	/* aborts the transfer */
	}
	if ((nb = realloc(r->body, r->len + n + 1)) == NULL)
		err(1, "realloc");
	r->body = nb;
	memcpy(r->body + r->len, data, n);
	r->len += n;
	r->body[r->len] = '\0';
	return n;
}

/* Only X-Dockmux-Version is wanted from the head. */
static size_t
resp_header(char *data, size_t size, size_t nmemb, void *arg)
{
	static const char	 name[] = "X-Dockmux-Version:";
	struct cli_resp		*r = arg;
	size_t			 n = size * nmemb, vlen;
	const char		*v, *end = data + n;

	if (n > sizeof(name) - 1 &&
	    strncasecmp(data, name, sizeof(name) - 1) == 0) {
		v = data + sizeof(name) - 1;
		while (v < end && (*v == ' ' || *v == '\t'))
			v++;
		while (end > v && (end[-1] == '\r' || end[-1] == '\n' ||
		    end[-1] == ' '))
			end--;
		vlen = (size_t)(end - v);
		if (vlen >= sizeof(r->version))
			vlen = sizeof(r->version) - 1;
		memcpy(r->version, v, vlen);
		r->version[vlen] = '\0';
		r->has_version = 1;
	}
	return n;
}

/*
 * After curl could not connect: connect(2) once more, only to name the
 * reason in the user's terms ("No such file or directory", "Connection
 * refused"); curl's message for a unix socket talks about ports.
 */
static const char *
connect_reason(const char *path, const char *curl_reason)
{
	struct sockaddr_un	sun = { .sun_family = AF_UNIX };
	int			fd, rc, saved;

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return strerror(errno);
	rc = connect(fd, (struct sockaddr *)&sun, sizeof(sun));
	saved = errno;
	close(fd);
	return rc == -1 ? strerror(saved) : curl_reason;
}

/*
 * method path on the socket, with body (JSON) when not NULL; ebuf
 * (CURL_ERROR_SIZE) gets curl's reason.  Returns CURLE_OK with r filled
 * (r->body owned: free() it, also on failure).
 */
static CURLcode
http_fetch(const char *sock, const char *method, const char *path,
    const char *body, size_t body_len, long timeout_ms, struct cli_resp *r,
    char *ebuf)
{
	CURL			*curl;
	CURLcode		 cc;
	struct curl_slist	*hdrs = NULL;
	char			 url[DM_MAX_PATH];

	memset(r, 0, sizeof(*r));
	if ((curl = curl_easy_init()) == NULL)
		errx(1, "curl_easy_init failed");
	snprintf(url, sizeof(url), "http://localhost%s", path);
	curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, sock);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)DM_CONNECT_TIMEOUT_MS);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, timeout_ms);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, resp_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, resp_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, r);
	if (body != NULL) {
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
		curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)body_len);
	}
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	ebuf[0] = '\0';
	cc = curl_easy_perform(curl);
	if (cc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &r->code);
	curl_easy_cleanup(curl);
	curl_slist_free_all(hdrs);
	return cc;
}

int
cli_request(struct cli *cli, const char *method, const char *path,
    const char *body, size_t body_len, struct cli_resp *r)
{
	char		ebuf[CURL_ERROR_SIZE];
	CURLcode	cc;

	cc = http_fetch(cli->sock, method, path, body, body_len,
	    CLI_TIMEOUT_MS, r, ebuf);
	if (cc == CURLE_OK)
		return 0;
	if (r->too_big)
		warnx("%s %s: answer larger than %d bytes", method, path,
		    DM_MAX_SMALL_BODY);
	else
		warnx("%s %s on %s: %s", method, path, cli->sock,
		    ebuf[0] != '\0' ? ebuf : curl_easy_strerror(cc));
	free(r->body);
	r->body = NULL;
	return -1;
}

/*
 * Make sure the socket is dockmuxd's: GET /_dockmux/ping must answer 200
 * with X-Dockmux-Version.  A Docker engine answers 404 there, and what
 * else listens may not answer HTTP at all.  Returns 0 or -1 after
 * printing one line.
 */
int
cli_ping(struct cli *cli)
{
	struct cli_resp	r;
	char		ebuf[CURL_ERROR_SIZE];
	CURLcode	cc;
	int		rc = -1;

	cc = http_fetch(cli->sock, "GET", "/_dockmux/ping", NULL, 0,
	    DM_PING_TIMEOUT_MS, &r, ebuf);
	if (cc == CURLE_COULDNT_CONNECT)
		warnx("cannot connect to %s: %s", cli->sock,
		    connect_reason(cli->sock, ebuf));
	else if (cc == CURLE_OK && r.code == 200 && r.has_version) {
		snprintf(cli->server_version, sizeof(cli->server_version),
		    "%s", r.version);
		rc = 0;
	} else
		warnx("%s is not a dockmux socket", cli->sock);
	free(r.body);
	return rc;
}

static int
cmd_check_config(struct cli *cli, int argc, char **argv)
{
	struct cfg	*cfg;
	const char	*path = CLI_DEFAULT_CONFIG;
	char		 errbuf[4096];
	size_t		 i;

	(void)cli;
	if (argc > 2) {
		warnx("usage: dockmux check-config [FILE]");
		return 2;
	}
	if (argc == 2)
		path = argv[1];
	if ((cfg = cfg_load_file(path, errbuf, sizeof(errbuf))) == NULL) {
		warnx("%s", errbuf);
		return 1;
	}
	printf("configuration OK: %zu backend%s (", cfg->nbackends,
	    cfg->nbackends == 1 ? "" : "s");
	for (i = 0; i < cfg->nbackends; i++)
		printf("%s%s", i == 0 ? "" : ", ", cfg->backends[i].name);
	printf(")\n");
	cfg_free(cfg);
	return 0;
}

const char *
cli_field(struct json_object *o, const char *key)
{
	struct json_object	*v;
	const char		*s;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return "-";
	s = json_object_get_string(v);
	return s != NULL && *s != '\0' ? s : "-";
}

void
cli_print_json(struct json_object *o)
{
	printf("%s\n", json_object_to_json_string_ext(o,
	    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
	    JSON_C_TO_STRING_NOSLASHESCAPE));
}

struct json_object *
cli_get_json(struct cli *cli, const char *path)
{
	struct json_object	*root = NULL, *msg;
	struct cli_resp		 r;

	if (cli_request(cli, "GET", path, NULL, 0, &r) == -1)
		return NULL;
	root = json_tokener_parse(r.body != NULL ? r.body : "");
	if (r.code != 200) {
		if (root != NULL && json_object_object_get_ex(root, "message",
		    &msg))
			warnx("GET %s: %ld %s", path, r.code,
			    json_object_get_string(msg));
		else
			warnx("GET %s: HTTP %ld", path, r.code);
		json_object_put(root);
		root = NULL;
	} else if (root == NULL)
		warnx("GET %s: the answer is not JSON", path);
	free(r.body);
	return root;
}

void
cli_table_init(struct cli_table *t, size_t ncols)
{
	t->ncols = ncols;
	t->nrows = 0;
	t->cell = NULL;
}

void
cli_table_add(struct cli_table *t, const char *const *row)
{
	size_t	j;

	t->cell = reallocarray(t->cell, (t->nrows + 1) * t->ncols,
	    sizeof(*t->cell));
	if (t->cell == NULL)
		err(1, "reallocarray");
	for (j = 0; j < t->ncols; j++)
		if ((t->cell[t->nrows * t->ncols + j] = strdup(row[j])) == NULL)
			err(1, "strdup");
	t->nrows++;
}

/* Columns two spaces apart, the last one not padded (no trailing blanks). */
void
cli_table_print(const struct cli_table *t)
{
	size_t	width[16] = { 0 }, i, j, len;

	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols && j < 16; j++) {
			len = strlen(t->cell[i * t->ncols + j]);
			if (len > width[j])
				width[j] = len;
		}
	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols; j++) {
			if (j + 1 == t->ncols)
				printf("%s\n", t->cell[i * t->ncols + j]);
			else
				printf("%-*s  ", (int)width[j < 16 ? j : 15],
				    t->cell[i * t->ncols + j]);
		}
}

void
cli_table_free(struct cli_table *t)
{
	size_t	i;

	for (i = 0; i < t->nrows * t->ncols; i++)
		free(t->cell[i]);
	free(t->cell);
	t->cell = NULL;
	t->nrows = 0;
}

/*
 * GET /_dockmux/backends: a JSON array of {name, endpoint, primary, os,
 * arch, state, api_version, failures, error, routes...}; printed as an
 * aligned table, or as JSON with --json.  Backend errors follow the
 * table, one line each.
 */
static int
cmd_backends(struct cli *cli, int argc, char **argv)
{
	static const char *const cols[] = { "NAME", "ENDPOINT", "OS", "ARCH",
	    "STATE", "API", "ROUTES" };
	static const char *const keys[] = { "name", "endpoint", "os", "arch",
	    "state", "api_version", "routes" };
	struct json_object	*list, *be;
	struct cli_table	 t;
	const char		*row[7];
	size_t			 i, j, n;
	int			 as_json = 0;

	for (i = 1; i < (size_t)argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			as_json = 1;
		else {
			warnx("usage: dockmux backends [--json]");
			return 2;
		}
	}
	if (cli_ping(cli) == -1)
		return 1;
	if ((list = cli_get_json(cli, "/_dockmux/backends")) == NULL)
		return 1;
	if (!json_object_is_type(list, json_type_array)) {
		warnx("GET /_dockmux/backends: expected a JSON array");
		json_object_put(list);
		return 1;
	}
	if (as_json) {
		cli_print_json(list);
		json_object_put(list);
		return 0;
	}
	n = json_object_array_length(list);
	cli_table_init(&t, 7);
	cli_table_add(&t, cols);
	for (i = 0; i < n; i++) {
		be = json_object_array_get_idx(list, i);
		for (j = 0; j < 7; j++)
			row[j] = cli_field(be, keys[j]);
		cli_table_add(&t, row);
	}
	cli_table_print(&t);
	cli_table_free(&t);
	for (i = 0; i < n; i++) {
		be = json_object_array_get_idx(list, i);
		if (strcmp(cli_field(be, "error"), "-") != 0)
			printf("%s: %s\n", cli_field(be, "name"),
			    cli_field(be, "error"));
	}
	json_object_put(list);
	return 0;
}

static int
cmd_version(struct cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc > 1) {
		warnx("usage: dockmux version");
		return 2;
	}
	printf("Client: dockmux %s\n", DOCKMUX_VERSION);
	fflush(stdout);
	if (cli_ping(cli) == -1)
		return 1;
	printf("Server: dockmuxd %s (unix://%s)\n", cli->server_version,
	    cli->sock);
	return 0;
}

int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli		 cli;
	const struct cli_cmd	*cmd = NULL;
	const char		*opt_host = NULL;
	size_t			 i;
	int			 ch, rc = 1;

	memset(&cli, 0, sizeof(cli));
	/* "+": options stop at the command, whose own options follow it. */
	while ((ch = getopt_long(argc, argv, "+hH:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'H':
			opt_host = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return 2;
	}
	if (strcmp(argv[0], "help") == 0) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < NCMDS; i++)
		if (strcmp(argv[0], cli_cmds[i].name) == 0)
			cmd = &cli_cmds[i];
	if (cmd == NULL) {
		warnx("unknown command \"%s\" (see dockmux --help)", argv[0]);
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		errx(1, "curl_global_init failed");
	/* Commands check their arguments, then cli_ping() the socket. */
	if (!cmd->needs_socket || choose_socket(&cli, opt_host) == 0)
		rc = cmd->run(&cli, argc, argv);
	curl_global_cleanup();
	return rc;
}
