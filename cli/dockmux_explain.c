/*
 * dockmux_explain.c: `dockmux explain`, where a create would go, asked of
 * POST /_dockmux/explain so that nothing is created: the create body
 * `docker run` would send, built from its flags, or a whole body given.
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
int
cli_cmd_explain(struct cli *cli, int argc, char **argv)
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
	int			 ch, as_json = 0, rc = CLI_EXIT_USAGE;

	if ((labels = calloc((size_t)argc, sizeof(*labels))) == NULL)
		err(1, "calloc");
	/* "+": the image ends the options; what follows is its command. */
	while ((ch = cli_getopt(cli, argc, argv, "+l:", longopts)) > 0) {
		switch (ch) {
		case 'l':
			labels[nlabels++] = optarg;
			break;
		case 'p':
			if (cli_query_add(path, "platform", optarg) == -1)
				goto out;
			break;
		case 'n':
			if (cli_query_add(path, "name", optarg) == -1)
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
		}
	}
	if (ch == 0) {
		rc = cli->exit;
		goto out;
	}
	if (file != NULL) {
		if (optind != argc || nlabels > 0 || runtime != NULL) {
			cli_usage_error(cli, "--body takes the whole create "
			    "body: no IMAGE, --label or --runtime with it");
			goto out;
		}
		if ((body = read_body(file, &len)) == NULL) {
			rc = CLI_EXIT_FAIL;
			goto out;
		}
	} else {
		if (cli_args_check(cli, argc - optind, 1, argc) == -1)
			goto out;
		req = build_body(argv[optind], labels, nlabels, runtime);
		if ((body = strdup(json_object_to_json_string_ext(req,
		    JSON_C_TO_STRING_PLAIN))) == NULL)
			err(1, "strdup");
		len = strlen(body);
	}
	rc = CLI_EXIT_FAIL;
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
