/*
 * dockmux.h: what the dockmux CLI's commands (dockmux_cmds.c) use from
 * dockmux.c: the socket, one HTTP exchange with dockmuxd, and aligned-table
 * and JSON output.
 */
#ifndef DOCKMUX_CLI_DOCKMUX_H
#define DOCKMUX_CLI_DOCKMUX_H

#include <stddef.h>

#include <json-c/json.h>

#include "lib/limits.h"
#include "lib/util.h"

/* Where the CLI talks: the socket path and which setting chose it. */
struct cli {
	char		 sock[DM_SUN_PATH_MAX];
	const char	*sock_from;	/* "-H", "DOCKMUX_HOST", ... */
	char		 server_version[DM_MAX_VERSION];
};

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

void	cli_table_init(struct cli_table *, size_t ncols);
void	cli_table_add(struct cli_table *, const char *const *row);
void	cli_table_print(const struct cli_table *);
void	cli_table_free(struct cli_table *);

#endif
