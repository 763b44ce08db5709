/*
 * dockmux.h: the dockmux CLI's module header.  What its commands
 * (dockmux_lists.c, dockmux_explain.c, dockmux_cmds.c) use from
 * dockmux.c: the socket, one HTTP exchange with dockmuxd, flags read the
 * docker CLI's way, help, aligned-table and JSON output; and the
 * commands themselves, for the table in dockmux_cmds.c.
 */
#ifndef DOCKMUX_CLI_DOCKMUX_H
#define DOCKMUX_CLI_DOCKMUX_H

#include <getopt.h>
#include <stddef.h>
#include <stdio.h>

#include <json-c/json.h>

#include "lib/limits.h"
#include "lib/util.h"

struct cli;

/*
 * A subcommand, listed once in dockmux_cmds.c as tmux lists its
 * cmd_entry tables.  The texts are what `dockmux CMD --help` prints.
 */
struct cli_cmd {
	const char	*name;
	const char	*usage;		/* after "dockmux NAME": "[OPTIONS]" */
	const char	*help;		/* one line, for dockmux --help */
	const char	*more;		/* more lines for its own; NULL */
	const char	*options;	/* its flags, a line each; NULL: none */
	int		 needs_socket;	/* choose one before run */
	int		 unreachable;	/* exit status without dockmuxd */
	int		(*run)(struct cli *, int, char **);
};

/* Where the CLI talks: the socket path and which setting chose it. */
struct cli {
	char		 sock[DM_SUN_PATH_MAX];
	const char	*sock_from;	/* "-H", "DOCKMUX_HOST", ... */
	char		 server_version[DM_MAX_VERSION];
	const struct cli_cmd *cmd;	/* the command running */
	int		 exit;		/* cli_getopt()'s status when it ends */
	int		 opts_begun;	/* cli_getopt() is inside an argv */
};

/* dockmux's exit statuses; `dockmux status` has its own three. */
#define CLI_EXIT_FAIL	1	/* the command failed, said on stderr */
#define CLI_EXIT_USAGE	2	/* a usage error, as for dockmuxd */

/* One answer from dockmuxd; body bounded by DM_MAX_SMALL_BODY. */
struct cli_resp {
	long	 code;
	char	*body;		/* owned, NUL-terminated; free() */
	size_t	 len;
	int	 too_big;
	int	 has_version;	/* X-Dockmux-Version was present */
	char	 version[DM_MAX_VERSION];
};

/* Rows of text printed as columns two spaces apart; row 0 is the head. */
struct cli_table {
	size_t	  ncols;
	size_t	  nrows;
	char	**cell;		/* owned: nrows * ncols strdup'd strings */
};

/*
 * Pick the socket: opt_host (-H), else $DOCKMUX_HOST, else $DOCKER_HOST
 * when unix://, else cfg_default_socket().  "unix:///path" or a plain
 * path; any other scheme is refused.  0, or -1 after printing why.
 */
int	cli_choose_socket(struct cli *, const char *opt_host);

/*
 * GET /_dockmux/ping: 0 when the socket is dockmuxd's (200 with
 * X-Dockmux-Version), else -1 after one line on stderr ("cannot connect
 * to ...", "... is not a dockmux socket").
 */
int	cli_ping(struct cli *);

/*
 * method path on the socket with an optional JSON body (NULL: none).
 * Returns 0 when a whole HTTP answer came (r->body owned: free()), or -1
 * after printing why (nothing to free).
 */
int	cli_request(struct cli *, const char *method, const char *path,
	    const char *body, size_t body_len, struct cli_resp *r);

/*
 * GET path and parse the JSON answer.  Returns the parsed value (owned:
 * json_object_put()), or NULL after printing the error dockmuxd gave.
 */
struct json_object *cli_get_json(struct cli *, const char *path);

/* Text of o[key] for a table cell; "-" when absent, null or empty.
 * Borrowed: valid while o is. */
const char *cli_field(struct json_object *o, const char *key);

void	cli_print_json(struct json_object *);

/*
 * GET path, which must answer a JSON array, after cli_ping().  Owned
 * (json_object_put()), or NULL after printing why.
 */
struct json_object *cli_get_list(struct cli *, const char *path);

/*
 * Append "?key=<value, URL-escaped>" (or "&key=...") to path, a buffer
 * of DM_MAX_PATH.  0, or -1 after printing that it does not fit.
 */
int	cli_query_add(char *path, const char *key, const char *value);

/*
 * getopt_long() over a command's flags, the docker CLI's way: optind is
 * reset, -h and --help need not be listed (longopts may be NULL), and a
 * leading ':' is added to shortopts.  Returns the next flag (> 0), -1
 * after the last one, or 0 when the command must end with cli->exit:
 * 0 after printing its help on stdout (-h, --help), CLI_EXIT_USAGE after
 * naming a refused flag on stderr (cli_usage_error()).
 */
int	cli_getopt(struct cli *, int argc, char **argv, const char *shortopts,
	    const struct option *longopts);

/*
 * A command's flags when they are at most --json (json not NULL) and
 * --no-trunc (no_trunc not NULL), with at most maxargs arguments.  -1 to
 * go on (*json, *no_trunc set when given), or the exit status after
 * printing help or a usage error.
 */
int	cli_simple_flags(struct cli *, int argc, char **argv, int *json,
	    int *no_trunc, int maxargs);

/*
 * The number of arguments left after the flags, nargs, against what the
 * command takes: 0, or -1 after a usage error in docker's words
 * ("\"dockmux routes\" accepts no arguments.").
 */
int	cli_args_check(struct cli *, int nargs, int min, int max);

/*
 * A usage error: "dockmux: " and the text on stderr, then "See 'dockmux
 * CMD --help'." (or 'dockmux --help' outside a command).  The caller
 * exits CLI_EXIT_USAGE.
 */
void	cli_usage_error(const struct cli *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* `dockmux CMD --help`: usage, what it does, its flags. */
void	cli_cmd_help(FILE *, const struct cli_cmd *);

void	cli_table_init(struct cli_table *, size_t ncols);
void	cli_table_add(struct cli_table *, const char *const *row);
void	cli_table_print(const struct cli_table *);
void	cli_table_free(struct cli_table *);

/* The commands.  Each takes argv[0] = its name; returns the exit status. */
int	cli_cmd_backends(struct cli *, int, char **);	/* dockmux_lists.c */
int	cli_cmd_status(struct cli *, int, char **);
int	cli_cmd_routes(struct cli *, int, char **);
int	cli_cmd_objects(struct cli *, int, char **);	/* networks, volumes */
int	cli_cmd_explain(struct cli *, int, char **);	/* dockmux_explain.c */

#endif
