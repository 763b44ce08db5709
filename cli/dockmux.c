/*
 * dockmux.c: what the dockmux CLI's commands share (dockmux.h): which
 * socket, one HTTP exchange with dockmuxd, flags and help the docker
 * CLI's way, JSON and aligned-table output.  The bottom of cli/: the
 * commands call here, never the reverse.
 */
/* Threads: single-threaded. */

#include <sys/socket.h>
#include <sys/un.h>

#include <err.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
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
#include "lib/util.h"

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

int
cli_choose_socket(struct cli *cli, const char *opt_host)
{
	const char	*env, *dir;
	char		 msg[512];

	if (opt_host != NULL)
		return host_to_path(cli, opt_host, "-H");
	if ((env = getenv("DOCKMUX_HOST")) != NULL && *env != '\0')
		return host_to_path(cli, env, "DOCKMUX_HOST");
	if ((env = getenv("DOCKER_HOST")) != NULL &&
	    strncmp(env, "unix://", 7) == 0)
		return host_to_path(cli, env, "DOCKER_HOST");
	/* dockmuxd's own check (main.c): a socket in a directory someone
	 * else made is not dockmuxd's, whatever answers there.  Missing:
	 * dockmuxd is not running, as connecting will say. */
	if ((dir = cfg_default_socket_dir()) != NULL &&
	    dm_private_dir(dir, 0, msg, sizeof(msg)) == -1 && errno != ENOENT) {
		warnx("default socket: %s: not using it (remove it, or say "
		    "which socket with -H or DOCKMUX_HOST)", msg);
		return -1;
	}
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
	struct sockaddr_un	sun;
	int			fd, rc, saved, len;

	if ((len = dm_sun_path(&sun, path)) == -1)
		return strerror(errno);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return strerror(errno);
	rc = connect(fd, (struct sockaddr *)&sun, (socklen_t)len);
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
	    DM_CLI_TIMEOUT_MS, r, ebuf);
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

struct json_object *
cli_get_list(struct cli *cli, const char *path)
{
	struct json_object	*list;

	if (cli_ping(cli) == -1)
		return NULL;
	if ((list = cli_get_json(cli, path)) == NULL)
		return NULL;
	if (!json_object_is_type(list, json_type_array)) {
		warnx("GET %s: expected a JSON array", path);
		json_object_put(list);
		return NULL;
	}
	return list;
}

int
cli_query_add(char *path, const char *key, const char *value)
{
	char	*esc;
	size_t	 len = strlen(path);
	int	 n;

	if ((esc = curl_easy_escape(NULL, value, 0)) == NULL)
		errx(1, "curl_easy_escape failed");
	n = snprintf(path + len, DM_MAX_PATH - len, "%c%s=%s",
	    strchr(path, '?') != NULL ? '&' : '?', key, esc);
	curl_free(esc);
	if (n < 0 || (size_t)n >= DM_MAX_PATH - len) {
		warnx("%s: value too long", key);
		return -1;
	}
	return 0;
}

/* ---- flags and help, the docker CLI's way ---- */

#define CLI_MAX_FLAGS	16	/* long flags of one command, --help too */

void
cli_usage_error(const struct cli *cli, const char *fmt, ...)
{
	va_list	ap;

	fprintf(stderr, "dockmux: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nSee 'dockmux %s%s--help'.\n",
	    cli->cmd != NULL ? cli->cmd->name : "",
	    cli->cmd != NULL ? " " : "");
}

/*
 * The command's flags with --help added, and shortopts with ':' (report
 * a missing value) and 'h': "+l:" becomes "+:l:h".  getopt_long() keeps
 * no pointer into either between calls, so locals will do.
 */
int
cli_getopt(struct cli *cli, int argc, char **argv, const char *shortopts,
    const struct option *longopts)
{
	struct option	 opts[CLI_MAX_FLAGS + 1];
	char		 shorts[64], why[128];
	size_t		 n = 0;
	int		 ch, plus = shortopts[0] == '+';

	while (longopts != NULL && longopts[n].name != NULL &&
	    n < CLI_MAX_FLAGS - 1) {
		opts[n] = longopts[n];
		n++;
	}
	opts[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	snprintf(shorts, sizeof(shorts), "%s:%sh", plus ? "+" : "",
	    shortopts + plus);
	if (!cli->opts_begun) {
		optind = 0;	/* glibc: start over, on this argv */
		opterr = 0;
		cli->opts_begun = 1;
	}
	ch = getopt_long(argc, argv, shorts, opts, NULL);
	if (ch == -1) {
		cli->opts_begun = 0;
		return -1;
	}
	if (ch != 'h' && ch != '?' && ch != ':')
		return ch;
	cli->opts_begun = 0;
	if (ch == 'h') {
		cli_cmd_help(stdout, cli->cmd);
		cli->exit = 0;
	} else {
		dm_flag_error(why, sizeof(why), ch, optopt, argv[optind - 1]);
		cli_usage_error(cli, "%s", why);
		cli->exit = CLI_EXIT_USAGE;
	}
	return 0;
}

int
cli_args_check(struct cli *cli, int nargs, int min, int max)
{
	const char	*name = cli->cmd->name;

	if (nargs >= min && nargs <= max)
		return 0;
	if (max == 0)
		cli_usage_error(cli, "\"dockmux %s\" accepts no arguments.",
		    name);
	else if (nargs < min)
		cli_usage_error(cli, "\"dockmux %s\" requires at least %d "
		    "argument%s.", name, min, min == 1 ? "" : "s");
	else
		cli_usage_error(cli, "\"dockmux %s\" requires at most %d "
		    "argument%s.", name, max, max == 1 ? "" : "s");
	return -1;
}

int
cli_simple_flags(struct cli *cli, int argc, char **argv, int *json,
    int *no_trunc, int maxargs)
{
	struct option	opts[3];
	size_t		n = 0;
	int		ch;

	if (json != NULL)
		opts[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	if (no_trunc != NULL)
		opts[n++] = (struct option){ "no-trunc", no_argument, NULL,
		    'T' };
	opts[n] = (struct option){ NULL, 0, NULL, 0 };
	while ((ch = cli_getopt(cli, argc, argv, "", opts)) > 0)
		*(ch == 'j' ? json : no_trunc) = 1;
	if (ch == 0)
		return cli->exit;
	if (cli_args_check(cli, argc - optind, 0, maxargs) == -1)
		return CLI_EXIT_USAGE;
	return -1;
}

void
cli_cmd_help(FILE *fp, const struct cli_cmd *cmd)
{
	fprintf(fp, "Usage:  dockmux %s%s%s\n\n%s\n", cmd->name,
	    cmd->usage[0] != '\0' ? " " : "", cmd->usage, cmd->help);
	if (cmd->more != NULL)
		fprintf(fp, "\n%s", cmd->more);
	fprintf(fp, "\nOptions:\n%s"
	    "  -h, --help            print this help and exit\n",
	    cmd->options != NULL ? cmd->options : "");
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
	size_t	width[DM_CLI_MAX_COLUMNS] = { 0 }, i, j, w, len;

	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols && j < DM_CLI_MAX_COLUMNS; j++) {
			len = strlen(t->cell[i * t->ncols + j]);
			if (len > width[j])
				width[j] = len;
		}
	for (i = 0; i < t->nrows; i++)
		for (j = 0; j < t->ncols; j++) {
			if (j + 1 == t->ncols)
				printf("%s\n", t->cell[i * t->ncols + j]);
			else {
				/* Past DM_CLI_MAX_COLUMNS: the last width. */
				w = width[j < DM_CLI_MAX_COLUMNS ? j :
				    DM_CLI_MAX_COLUMNS - 1];
				printf("%-*s  ", (int)w,
				    t->cell[i * t->ncols + j]);
			}
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
