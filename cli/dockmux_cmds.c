/*
 * dockmux_cmds.c: the dockmux CLI's command table, its subcommands and
 * main(): `backends`, `check-config`, `version`, `routes` (what dockmuxd
 * knows of each container) and `explain` (where a create would go, asked
 * of POST /_dockmux/explain, so nothing is created).  The top of cli/.
 */
/* Threads: single-threaded. */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "cli/dockmux.h"
#include "config/cfg.h"
#include "lib/limits.h"
#include "lib/version.h"

#define CLI_DEFAULT_CONFIG	"/etc/dockmux/dockmux.json"
#define ID_SHORT	12	/* as `docker ps` prints container IDs */

/* A subcommand, listed once here as tmux lists its cmd_entry tables. */
struct cli_cmd {
	const char	*name;
	const char	*args;
	const char	*help;
	int		 needs_socket;	/* choose one before run */
	int		(*run)(struct cli *, int, char **);
};

static int	cmd_backends(struct cli *, int, char **);
static int	cmd_check_config(struct cli *, int, char **);
static int	cmd_explain(struct cli *, int, char **);
static int	cmd_objects(struct cli *, int, char **);
static int	cmd_routes(struct cli *, int, char **);
static int	cmd_version(struct cli *, int, char **);
static struct json_object *get_list(struct cli *, const char *, int, int *);

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
	  cmd_explain },
	{ "networks", "[--json]",
	  "list the networks and the backends each one is on", 1,
	  cmd_objects },
	{ "routes", "[--backend B] [--rule R] [--name N] [--json]",
	  "list the containers dockmuxd routes and their backends", 1,
	  cmd_routes },
	{ "version", "", "print the CLI and dockmuxd versions", 1,
	  cmd_version },
	{ "volumes", "[--json]",
	  "list the volumes and the backends each one is on", 1,
	  cmd_objects },
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

/*
 * GET /_dockmux/backends: a JSON array of {name, endpoint, transport,
 * primary, os, arch, state, api_version, failures, error, routes...};
 * printed as an
 * aligned table, or as JSON with --json.  Backend errors follow the
 * table, one line each.
 */
static int
cmd_backends(struct cli *cli, int argc, char **argv)
{
	static const char *const cols[] = { "NAME", "ENDPOINT", "TRANSPORT",
	    "OS", "ARCH", "STATE", "API", "ROUTES" };
	static const char *const keys[] = { "name", "endpoint", "transport",
	    "os", "arch", "state", "api_version", "routes" };
	struct json_object	*list, *be;
	struct cli_table	 t;
	const char		*row[8];
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
	cli_table_init(&t, 8);
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

/* Append "&key=<escaped value>" (or "?key=...") to a path of DM_MAX_PATH. */
static int
query_add(char *path, const char *key, const char *value)
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

static void
routes_usage(void)
{
	fprintf(stderr, "usage: dockmux routes [--backend B] [--rule R] "
	    "[--name N] [--json]\n");
}

/*
 * GET /_dockmux/routes with the filters as query: an aligned table (ID
 * cut to 12 like `docker ps`, a route whose backend is no longer
 * configured marked "(orphaned)"), or the JSON array with --json.
 */
static int
cmd_routes(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "rule", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const head[] = { "ID", "NAME", "BACKEND", "RULE",
	    "IMAGE", "CREATED" };
	struct json_object	*list = NULL, *rt, *v;
	struct cli_table	 t;
	const char		*row[6], *name;
	char			 path[DM_MAX_PATH] = "/_dockmux/routes";
	char			 id[ID_SHORT + 1], backend[256];
	size_t			 i, n;
	int			 ch, as_json = 0, rc = 1;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (ch) {
		case 'b':
			if (query_add(path, "backend", optarg) == -1)
				return 2;
			break;
		case 'r':
			if (query_add(path, "rule", optarg) == -1)
				return 2;
			break;
		case 'n':
			if (query_add(path, "name", optarg) == -1)
				return 2;
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			routes_usage();
			return 2;
		}
	}
	if (optind != argc) {
		routes_usage();
		return 2;
	}
	list = get_list(cli, path, as_json, &rc);
	if (list == NULL || as_json)
		goto out;
	cli_table_init(&t, 6);
	cli_table_add(&t, head);
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		rt = json_object_array_get_idx(list, i);
		snprintf(id, sizeof(id), "%s", cli_field(rt, "id"));
		name = cli_field(rt, "name");
		if (name[0] == '/' && name[1] != '\0')
			name++;
		if (json_object_object_get_ex(rt, "orphaned", &v) &&
		    json_object_get_boolean(v))
			snprintf(backend, sizeof(backend), "%s (orphaned)",
			    cli_field(rt, "backend"));
		else
			snprintf(backend, sizeof(backend), "%s",
			    cli_field(rt, "backend"));
		row[0] = id;
		row[1] = name;
		row[2] = backend;
		row[3] = cli_field(rt, "rule");
		row[4] = cli_field(rt, "image");
		row[5] = cli_field(rt, "created");
		cli_table_add(&t, row);
	}
	cli_table_print(&t);
	cli_table_free(&t);
	rc = 0;
out:
	json_object_put(list);
	return rc;
}

/*
 * GET path, a JSON array from dockmuxd.  Owned (json_object_put), with
 * *rc 1; printed as JSON instead when as_json (*rc 0); NULL with *rc 1 on
 * failure, said on stderr.
 */
static struct json_object *
get_list(struct cli *cli, const char *path, int as_json, int *rc)
{
	struct json_object	*list;

	*rc = 1;
	if (cli_ping(cli) == -1)
		return NULL;
	if ((list = cli_get_json(cli, path)) == NULL)
		return NULL;
	if (!json_object_is_type(list, json_type_array)) {
		warnx("GET %s: expected a JSON array", path);
		json_object_put(list);
		return NULL;
	}
	if (as_json) {
		cli_print_json(list);
		*rc = 0;
	}
	return list;
}

/*
 * dockmux networks|volumes [--json]: NAME and BACKENDS, from GET
 * /_dockmux/objects (the merged Docker lists show each object once, as
 * the engine returns it).
 */
static int
cmd_objects(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "NAME", "BACKENDS" };
	struct json_object	*list = NULL, *o, *b;
	struct cli_table	 t;
	const char		*row[2];
	char			 path[64], backends[1024];
	size_t			 i, k, len;
	int			 as_json = 0, rc = 1;

	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0)) {
		fprintf(stderr, "usage: dockmux %s [--json]\n", argv[0]);
		return 2;
	}
	as_json = argc == 2;
	snprintf(path, sizeof(path), "/_dockmux/objects?type=%s", argv[0]);
	list = get_list(cli, path, as_json, &rc);
	if (list == NULL || as_json)
		goto out;
	cli_table_init(&t, 2);
	cli_table_add(&t, head);
	for (i = 0; i < json_object_array_length(list); i++) {
		o = json_object_array_get_idx(list, i);
		backends[0] = '\0';
		len = 0;
		if (json_object_object_get_ex(o, "Backends", &b) &&
		    json_object_is_type(b, json_type_array))
			for (k = 0; k < json_object_array_length(b) &&
			    len < sizeof(backends); k++)
				len += (size_t)snprintf(backends + len,
				    sizeof(backends) - len, "%s%s",
				    k == 0 ? "" : ",", json_object_get_string(
				    json_object_array_get_idx(b, k)));
		row[0] = cli_field(o, "Name");
		row[1] = backends;
		cli_table_add(&t, row);
	}
	cli_table_print(&t);
	cli_table_free(&t);
	rc = 0;
out:
	json_object_put(list);
	return rc;
}

static void
explain_usage(void)
{
	fprintf(stderr,
	    "usage: dockmux explain [-l|--label K=V]... [--platform P] "
	    "[--name N]\n"
	    "                       [--runtime R] [--json] IMAGE [COMMAND...]\n"
	    "       dockmux explain [--platform P] [--name N] [--json] "
	    "--body FILE|-\n");
}

/* The whole of FILE ("-": stdin), at most DM_MAX_CREATE_BODY bytes.
 * Owned: free().  NULL after printing why. */
static char *
read_body(const char *file, size_t *lenp)
{
	FILE	*fp = stdin;
	char	*buf;
	size_t	 len = 0, n;

	if (strcmp(file, "-") != 0 && (fp = fopen(file, "r")) == NULL) {
		warn("%s", file);
		return NULL;
	}
	if ((buf = malloc(DM_MAX_CREATE_BODY + 1)) == NULL)
		err(1, "malloc");
	while ((n = fread(buf + len, 1, DM_MAX_CREATE_BODY + 1 - len, fp)) > 0)
		len += n;
	if (ferror(fp) || len > DM_MAX_CREATE_BODY) {
		warnx("%s: %s", file, ferror(fp) ? "read error" :
		    "larger than the create body limit");
		free(buf);
		buf = NULL;
	} else
		buf[len] = '\0';
	if (fp != stdin)
		fclose(fp);
	*lenp = len;
	return buf;
}

/*
 * The create body `docker run` would send for these flags: Image, Labels,
 * HostConfig.Runtime.  Labels is the only thing with a shape to check:
 * "K=V" (or "K", an empty value, as docker accepts).  Owned JSON.
 */
static struct json_object *
build_body(const char *image, char **labels, size_t nlabels,
    const char *runtime)
{
	struct json_object	*o, *lab, *hc;
	char			*eq;
	size_t			 i;

	o = json_object_new_object();
	json_object_object_add(o, "Image", json_object_new_string(image));
	lab = json_object_new_object();
	for (i = 0; i < nlabels; i++) {
		eq = strchr(labels[i], '=');
		if (eq != NULL)
			*eq = '\0';
		json_object_object_add(lab, labels[i],
		    json_object_new_string(eq != NULL ? eq + 1 : ""));
		if (eq != NULL)
			*eq = '=';
	}
	json_object_object_add(o, "Labels", lab);
	hc = json_object_new_object();
	if (runtime != NULL)
		json_object_object_add(hc, "Runtime",
		    json_object_new_string(runtime));
	json_object_object_add(o, "HostConfig", hc);
	return o;
}

/*
 * POST /_dockmux/explain with a create body built from docker-run-like
 * flags, or the raw body of --body.  Prints "backend: X  rule: Y" and
 * exits 0, or the reason the create would be refused and exits 1.
 */
static int
cmd_explain(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "platform", required_argument, NULL, 'p' },
		{ "name", required_argument, NULL, 'n' },
		{ "runtime", required_argument, NULL, 'R' },
		{ "body", required_argument, NULL, 'B' },
		{ "json", no_argument, NULL, 'j' },
		{ NULL, 0, NULL, 0 },
	};
	struct json_object	*req = NULL, *ans = NULL, *v;
	struct cli_resp		 r = { 0 };
	const char		*runtime = NULL, *file = NULL;
	char			 path[DM_MAX_PATH] = "/_dockmux/explain";
	char			*body = NULL, **labels;
	size_t			 nlabels = 0, len = 0;
	int			 ch, as_json = 0, rc = 2;

	if ((labels = calloc((size_t)argc, sizeof(*labels))) == NULL)
		err(1, "calloc");
	optind = 0;
	opterr = 0;
	/* "+": the image ends the options; what follows is its command. */
	while ((ch = getopt_long(argc, argv, "+l:", longopts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			labels[nlabels++] = optarg;
			break;
		case 'p':
			if (query_add(path, "platform", optarg) == -1)
				goto out;
			break;
		case 'n':
			if (query_add(path, "name", optarg) == -1)
				goto out;
			break;
		case 'R':
			runtime = optarg;
			break;
		case 'B':
			file = optarg;
			break;
		case 'j':
			as_json = 1;
			break;
		default:
			explain_usage();
			goto out;
		}
	}
	if (file != NULL) {
		if (optind != argc || nlabels > 0 || runtime != NULL) {
			warnx("explain: --body takes the whole create body: "
			    "no IMAGE, --label or --runtime with it");
			goto out;
		}
		if ((body = read_body(file, &len)) == NULL)
			goto out;
	} else {
		if (optind >= argc) {
			explain_usage();
			goto out;
		}
		req = build_body(argv[optind], labels, nlabels, runtime);
		if ((body = strdup(json_object_to_json_string_ext(req,
		    JSON_C_TO_STRING_PLAIN))) == NULL)
			err(1, "strdup");
		len = strlen(body);
	}
	rc = 1;
	if (cli_ping(cli) == -1)
		goto out;
	if (cli_request(cli, "POST", path, body, len, &r) == -1)
		goto out;
	ans = json_tokener_parse(r.body != NULL ? r.body : "");
	if (r.code != 200 || !json_object_is_type(ans, json_type_object)) {
		if (ans != NULL && json_object_object_get_ex(ans, "message",
		    &v))
			warnx("POST %s: %ld %s", path, r.code,
			    json_object_get_string(v));
		else
			warnx("POST %s: HTTP %ld", path, r.code);
		goto out;
	}
	if (as_json)
		cli_print_json(ans);
	if (json_object_object_get_ex(ans, "error", &v)) {
		if (!as_json) {
			fprintf(stderr, "dockmux: explain: %s (a create "
			    "would answer %s)\n", json_object_get_string(v),
			    cli_field(ans, "status"));
			if (json_object_object_get_ex(ans, "route_to_peer",
			    &v))
				fprintf(stderr, "dockmux: explain: route it "
				    "to a peer serving %s\n",
				    json_object_get_string(v));
		}
		goto out;
	}
	if (!as_json)
		printf("backend: %s  rule: %s\n", cli_field(ans, "backend"),
		    cli_field(ans, "rule"));
	rc = 0;
out:
	json_object_put(req);
	json_object_put(ans);
	free(r.body);
	free(body);
	free(labels);
	return rc;
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
	if (!cmd->needs_socket || cli_choose_socket(&cli, opt_host) == 0)
		rc = cmd->run(&cli, argc, argv);
	curl_global_cleanup();
	return rc;
}
