/*
 * dockmux_cmds.c: the dockmux CLI's command table, its global flags,
 * help and main(); and the two commands that list nothing: `version` and
 * `check-config`.  The top of cli/: the listing commands are in
 * dockmux_lists.c, `explain` in dockmux_explain.c.
 */
/* Threads: single-threaded. */

#include <err.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "cli/dockmux.h"
#include "config/cfg.h"
#include "lib/util.h"
#include "lib/version.h"

#define CLI_DEFAULT_CONFIG	"/etc/dockmux/dockmux.json"

static int	cmd_check_config(struct cli *, int, char **);
static int	cmd_version(struct cli *, int, char **);

/* The flags' help, the description starting at column 24. */
#define OPT_JSON \
	"      --json            print the JSON that dockmuxd answers\n"
/* Taken by every listing, as docker's are; these tables cut nothing. */
#define OPT_LIST OPT_JSON \
	"      --no-trunc        print every value whole (none is cut)\n"

/*
 * Every command, in the order `dockmux --help` lists them.  Without
 * dockmuxd a command exits 1, `status` 2 (its own three statuses).
 */
static const struct cli_cmd cli_cmds[] = {
	{ "backends", "[OPTIONS]",
	  "List the engines behind dockmuxd and their state", NULL,
	  OPT_LIST, 1, CLI_EXIT_FAIL, cli_cmd_backends },
	{ "check-config", "[FILE]",
	  "Validate a configuration file; dockmuxd need not run",
	  "FILE is " CLI_DEFAULT_CONFIG " unless given.\n", NULL, 0,
	  CLI_EXIT_FAIL, cmd_check_config },
	{ "explain", "[OPTIONS] IMAGE [COMMAND [ARG...]]\n"
	  "        dockmux explain [OPTIONS] --body FILE|-",
	  "Say which backend a create would go to (nothing is created)",
	  "Prints the backend and the rule that chose it, or why the create\n"
	  "would be refused (exit 1).\n",
	  "  -l, --label K=V       a label, as docker run -l (repeatable)\n"
	  "      --platform P      as docker run --platform (os[/arch])\n"
	  "      --name N          the container's name\n"
	  "      --runtime R       as docker run --runtime\n"
	  "      --body FILE       a whole create body (JSON; - for stdin)\n"
	  OPT_JSON, 1, CLI_EXIT_FAIL, cli_cmd_explain },
	{ "networks", "[OPTIONS]",
	  "List the networks and the backends each one is on", NULL,
	  OPT_LIST, 1, CLI_EXIT_FAIL, cli_cmd_objects },
	{ "routes", "[OPTIONS]",
	  "List the containers dockmuxd routes and their backends", NULL,
	  "      --backend B       only the routes to backend B\n"
	  "      --rule R          only the routes made by rule R: pin,\n"
	  "                        isolation, marker, platform, image-os,\n"
	  "                        default or adopted\n"
	  "      --name N          only the containers whose name holds N\n"
	  OPT_JSON
	  "      --no-trunc        print whole container IDs\n", 1,
	  CLI_EXIT_FAIL, cli_cmd_routes },
	{ "status", "[OPTIONS]",
	  "Say whether every backend is up, for scripts and monitors",
	  "Prints a line per backend: its name, state and transport, and why\n"
	  "it is down.  Exits 0 when every backend is up, 1 when one is down,\n"
	  "2 when dockmuxd cannot be reached.\n", OPT_JSON, 1, 2,
	  cli_cmd_status },
	{ "version", "", "Print the versions of dockmux and dockmuxd", NULL,
	  NULL, 1, CLI_EXIT_FAIL, cmd_version },
	{ "volumes", "[OPTIONS]",
	  "List the volumes and the backends each one is on", NULL,
	  OPT_LIST, 1, CLI_EXIT_FAIL, cli_cmd_objects },
};

#define NCMDS	(sizeof(cli_cmds) / sizeof(cli_cmds[0]))

static void
usage(FILE *fp)
{
	size_t	i;

	fprintf(fp, "Usage:  dockmux [OPTIONS] COMMAND\n\n"
	    "Administer dockmuxd, the Docker API multiplexer.\n\n"
	    "Options:\n"
	    "  -H, --host SOCKET     dockmuxd's socket: unix:///path or a\n"
	    "                        path (else $DOCKMUX_HOST, else\n"
	    "                        $DOCKER_HOST when unix://, else\n"
	    "                        %s)\n"
	    "  -h, --help            print this help and exit\n"
	    "      --version         print the version and exit\n\n"
	    "Commands:\n", cfg_default_socket());
	for (i = 0; i < NCMDS; i++)
		fprintf(fp, "  %-14s%s\n", cli_cmds[i].name, cli_cmds[i].help);
	fprintf(fp, "\nRun 'dockmux COMMAND --help' for more information on "
	    "a command.\n");
}

static const struct cli_cmd *
cmd_find(const char *name)
{
	size_t	i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(name, cli_cmds[i].name) == 0)
			return &cli_cmds[i];
	return NULL;
}

static int
cmd_check_config(struct cli *cli, int argc, char **argv)
{
	struct cfg	*cfg;
	const char	*path = CLI_DEFAULT_CONFIG;
	char		 errbuf[4096];
	size_t		 i;
	int		 rc;

	if ((rc = cli_simple_flags(cli, argc, argv, NULL, NULL, 1)) != -1)
		return rc;
	if (optind < argc)
		path = argv[optind];
	if ((cfg = cfg_load_file(path, errbuf, sizeof(errbuf))) == NULL) {
		warnx("%s", errbuf);
		return CLI_EXIT_FAIL;
	}
	printf("configuration OK: %zu backend%s (", cfg->nbackends,
	    cfg->nbackends == 1 ? "" : "s");
	for (i = 0; i < cfg->nbackends; i++)
		printf("%s%s", i == 0 ? "" : ", ", cfg->backends[i].name);
	printf(")\n");
	cfg_free(cfg);
	return 0;
}

static int
cmd_version(struct cli *cli, int argc, char **argv)
{
	int	rc;

	if ((rc = cli_simple_flags(cli, argc, argv, NULL, NULL, 0)) != -1)
		return rc;
	printf("Client: dockmux %s\n", DOCKMUX_VERSION);
	fflush(stdout);
	if (cli_ping(cli) == -1)
		return CLI_EXIT_FAIL;
	printf("Server: dockmuxd %s (unix://%s)\n", cli->server_version,
	    cli->sock);
	return 0;
}

/*
 * dockmux [-H SOCKET] COMMAND [FLAGS] [ARGS]; help, --help, -h, and
 * `dockmux help COMMAND` print help on stdout and exit 0; a usage error
 * exits 2 (CLI_EXIT_USAGE), as dockmuxd's does.
 */
int
main(int argc, char *argv[])
{
	static const struct option longopts[] = {
		{ "host", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli		 cli;
	const struct cli_cmd	*cmd = NULL;
	const char		*opt_host = NULL;
	char			 why[128];
	int			 ch, rc;

	memset(&cli, 0, sizeof(cli));
	opterr = 0;
	/* "+": flags stop at the command, whose own flags follow it. */
	while ((ch = getopt_long(argc, argv, "+:hH:", longopts, NULL)) !=
	    -1) {
		switch (ch) {
		case 'H':
			opt_host = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("dockmux %s\n", DOCKMUX_VERSION);
			return 0;
		default:
			dm_flag_error(why, sizeof(why), ch, optopt,
			    argv[optind - 1]);
			cli_usage_error(&cli, "%s", why);
			return CLI_EXIT_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc == 0) {
		usage(stderr);
		return CLI_EXIT_USAGE;
	}
	if (strcmp(argv[0], "help") == 0 && argc <= 2) {
		if (argc == 1) {
			usage(stdout);
			return 0;
		}
		if ((cmd = cmd_find(argv[1])) != NULL) {
			cli_cmd_help(stdout, cmd);
			return 0;
		}
		argv++;
	}
	if ((cmd = cmd_find(argv[0])) == NULL) {
		cli_usage_error(&cli, "'%s' is not a dockmux command.",
		    argv[0]);
		return CLI_EXIT_USAGE;
	}
	cli.cmd = cmd;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		errx(1, "curl_global_init failed");
	/* Commands check their flags, then cli_ping() the socket. */
	if (cmd->needs_socket && cli_choose_socket(&cli, opt_host) == -1)
		rc = cmd->unreachable;
	else
		rc = cmd->run(&cli, argc, argv);
	curl_global_cleanup();
	return rc;
}
