/*
 * dockmux_lists.c: the dockmux commands that list what dockmuxd knows:
 * `backends` and `status` (each engine and its health), `routes` (each
 * container and its backend) and `networks`/`volumes` (where each lives).
 * Tables for people, --json for programs; `status` exits by health.
 */
/* Threads: single-threaded. */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "cli/dockmux.h"
#include "lib/limits.h"
#include "lib/rules.h"

#define ID_SHORT	12	/* as `docker ps` prints container IDs */

/* `dockmux status` exit statuses, for scripts and monitors. */
#define STATUS_UP		0	/* every backend is up */
#define STATUS_DEGRADED		1	/* one or more is not */
#define STATUS_UNREACHABLE	2	/* dockmuxd could not be asked */

/*
 * GET /_dockmux/backends: a JSON array of {name, endpoint, transport,
 * primary, os, arch, state, api_version, failures, error, routes...};
 * printed as an aligned table, or as JSON with --json.  Backend errors
 * follow the table, one line each.
 */
int
cli_cmd_backends(struct cli *cli, int argc, char **argv)
{
	static const char *const cols[] = { "NAME", "ENDPOINT", "TRANSPORT",
	    "OS", "ARCH", "STATE", "API", "ROUTES" };
	static const char *const keys[] = { "name", "endpoint", "transport",
	    "os", "arch", "state", "api_version", "routes" };
	struct json_object	*list, *be;
	struct cli_table	 t;
	const char		*row[8];
	size_t			 i, j, n;
	int			 as_json = 0, no_trunc = 0, rc;

	/* --no-trunc, as on every listing: nothing here is cut. */
	if ((rc = cli_simple_flags(cli, argc, argv, &as_json, &no_trunc,
	    0)) != -1)
		return rc;
	if ((list = cli_get_list(cli, "/_dockmux/backends")) == NULL)
		return CLI_EXIT_FAIL;
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
		for (j = 0; j < 8; j++)
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

/*
 * dockmux status [--json]: whether dockmuxd and every engine behind it
 * are up, for scripts and monitors.  One line per backend: NAME, STATE,
 * TRANSPORT and, unless it is up, the reason; no heading.  Exit
 * STATUS_UP when every backend is up, STATUS_DEGRADED when one is down
 * (or not probed yet), STATUS_UNREACHABLE when dockmuxd cannot be asked.
 * With --json the array of `backends --json`, and the same exit status.
 */
int
cli_cmd_status(struct cli *cli, int argc, char **argv)
{
	struct json_object	*list, *be;
	size_t			 i, n, wname = 0, wstate = 0, wtr = 0;
	int			 as_json = 0, rc;
	const char		*state, *reason;

	if ((rc = cli_simple_flags(cli, argc, argv, &as_json, NULL, 0)) !=
	    -1)
		return rc;
	if ((list = cli_get_list(cli, "/_dockmux/backends")) == NULL)
		return STATUS_UNREACHABLE;
	n = json_object_array_length(list);
	rc = STATUS_UP;
	for (i = 0; i < n; i++) {
		be = json_object_array_get_idx(list, i);
		if (strcmp(cli_field(be, "state"), "up") != 0)
			rc = STATUS_DEGRADED;
		if (strlen(cli_field(be, "name")) > wname)
			wname = strlen(cli_field(be, "name"));
		if (strlen(cli_field(be, "state")) > wstate)
			wstate = strlen(cli_field(be, "state"));
		if (strlen(cli_field(be, "transport")) > wtr)
			wtr = strlen(cli_field(be, "transport"));
	}
	if (as_json)
		cli_print_json(list);
	for (i = 0; i < n && !as_json; i++) {
		be = json_object_array_get_idx(list, i);
		state = cli_field(be, "state");
		reason = cli_field(be, "error");
		if (strcmp(state, "up") == 0 || strcmp(reason, "-") == 0)
			printf("%-*s  %-*s  %s\n", (int)wname,
			    cli_field(be, "name"), (int)wstate, state,
			    cli_field(be, "transport"));
		else
			printf("%-*s  %-*s  %-*s  %s\n", (int)wname,
			    cli_field(be, "name"), (int)wstate, state,
			    (int)wtr, cli_field(be, "transport"), reason);
	}
	json_object_put(list);
	return rc;
}

/*
 * A --backend that matched no route: fine for a backend dockmuxd has
 * (it holds no container) or had (an orphaned route would have
 * matched); otherwise a typo, named with the backends there are.
 * 0, or -1 after saying so.
 */
static int
backend_known(struct cli *cli, const char *name)
{
	struct json_object	*list;
	const char		*be;
	char			 names[1024];
	size_t			 i, n, len = 0;
	int			 found = 0;

	if ((list = cli_get_list(cli, "/_dockmux/backends")) == NULL)
		return -1;
	names[0] = '\0';
	n = json_object_array_length(list);
	for (i = 0; i < n; i++) {
		be = cli_field(json_object_array_get_idx(list, i), "name");
		if (strcmp(be, name) == 0)
			found = 1;
		if (len < sizeof(names))
			len += (size_t)snprintf(names + len,
			    sizeof(names) - len, "%s%s", i == 0 ? "" : ", ",
			    be);
	}
	json_object_put(list);
	if (!found)
		warnx("routes: no backend \"%s\"; dockmuxd has %s", name,
		    names);
	return found ? 0 : -1;
}

/* Is rule one a route can record (lib/rules.h)?  Else say which are. */
static int
rule_known(const char *rule)
{
	static const char *const rules[] = DM_RULE_NAMES;
	char			 names[256];
	size_t			 i, len = 0;

	names[0] = '\0';
	for (i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (strcmp(rule, rules[i]) == 0)
			return 0;
		len += (size_t)snprintf(names + len, sizeof(names) - len,
		    "%s%s", i == 0 ? "" : ", ", rules[i]);
	}
	warnx("routes: no rule \"%s\"; the rules are %s", rule, names);
	return -1;
}

/*
 * GET /_dockmux/routes with the filters as query: an aligned table (ID
 * cut to 12 like `docker ps` unless --no-trunc, a route whose backend
 * is no longer configured marked "(orphaned)"), or the JSON array with
 * --json.  An unknown --rule or --backend exits 1 naming the ones
 * there are, rather than print an empty list.
 */
int
cli_cmd_routes(struct cli *cli, int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "backend", required_argument, NULL, 'b' },
		{ "rule", required_argument, NULL, 'r' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "no-trunc", no_argument, NULL, 'T' },
		{ NULL, 0, NULL, 0 },
	};
	static const char *const head[] = { "ID", "NAME", "BACKEND", "RULE",
	    "IMAGE", "CREATED" };
	struct json_object	*list = NULL, *rt, *v;
	struct cli_table	 t;
	const char		*row[6], *name, *backend = NULL;
	char			 path[DM_MAX_PATH] = "/_dockmux/routes";
	char			 id[DM_STORE_ID_MAX], be[256];
	size_t			 i, n;
	int			 ch, as_json = 0, no_trunc = 0;
	int			 rc = CLI_EXIT_FAIL;

	while ((ch = cli_getopt(cli, argc, argv, "", longopts)) > 0) {
		switch (ch) {
		case 'b':
			backend = optarg;
			if (cli_query_add(path, "backend", optarg) == -1)
				return CLI_EXIT_USAGE;
			break;
		case 'r':
			if (rule_known(optarg) == -1)
				return CLI_EXIT_FAIL;
			if (cli_query_add(path, "rule", optarg) == -1)
				return CLI_EXIT_USAGE;
			break;
		case 'n':
			if (cli_query_add(path, "name", optarg) == -1)
				return CLI_EXIT_USAGE;
			break;
		case 'j':
			as_json = 1;
			break;
		case 'T':
			no_trunc = 1;
			break;
		}
	}
	if (ch == 0)
		return cli->exit;
	if (cli_args_check(cli, argc - optind, 0, 0) == -1)
		return CLI_EXIT_USAGE;
	if ((list = cli_get_list(cli, path)) == NULL)
		goto out;
	n = json_object_array_length(list);
	if (n == 0 && backend != NULL && backend_known(cli, backend) == -1)
		goto out;
	rc = 0;
	if (as_json) {
		cli_print_json(list);
		goto out;
	}
	cli_table_init(&t, 6);
	cli_table_add(&t, head);
	for (i = 0; i < n; i++) {
		rt = json_object_array_get_idx(list, i);
		snprintf(id, no_trunc ? sizeof(id) : ID_SHORT + 1, "%s",
		    cli_field(rt, "id"));
		name = cli_field(rt, "name");
		if (name[0] == '/' && name[1] != '\0')
			name++;
		if (json_object_object_get_ex(rt, "orphaned", &v) &&
		    json_object_get_boolean(v))
			snprintf(be, sizeof(be), "%s (orphaned)",
			    cli_field(rt, "backend"));
		else
			snprintf(be, sizeof(be), "%s",
			    cli_field(rt, "backend"));
		row[0] = id;
		row[1] = name;
		row[2] = be;
		row[3] = cli_field(rt, "rule");
		row[4] = cli_field(rt, "image");
		row[5] = cli_field(rt, "created");
		cli_table_add(&t, row);
	}
	cli_table_print(&t);
	cli_table_free(&t);
out:
	json_object_put(list);
	return rc;
}

/*
 * dockmux networks|volumes [--json]: NAME and BACKENDS, from GET
 * /_dockmux/objects (the merged Docker lists show each object once, as
 * the engine returns it).
 */
int
cli_cmd_objects(struct cli *cli, int argc, char **argv)
{
	static const char *const head[] = { "NAME", "BACKENDS" };
	struct json_object	*list = NULL, *o, *b;
	struct cli_table	 t;
	const char		*row[2];
	char			 path[64], backends[1024];
	size_t			 i, k, len;
	int			 as_json = 0, no_trunc = 0, rc;

	/* --no-trunc, as on every listing: nothing here is cut. */
	if ((rc = cli_simple_flags(cli, argc, argv, &as_json, &no_trunc,
	    0)) != -1)
		return rc;
	snprintf(path, sizeof(path), "/_dockmux/objects?type=%s", argv[0]);
	if ((list = cli_get_list(cli, path)) == NULL)
		return CLI_EXIT_FAIL;
	if (as_json) {
		cli_print_json(list);
		goto out;
	}
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
out:
	json_object_put(list);
	return 0;
}
