/*
 * disp_rules.c: which backend a new container goes to (seed: select_for),
 * as a pure function of the request, the backends and the image's facts,
 * so every seed scenario is a table row in tests/unit/check_rules.c.
 */
/* Threads: pure; any thread. */

#include <ctype.h>
#include <json-c/json.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "daemon/disp_int.h"
#include "lib/labels.h"
#include "lib/util.h"


const char *
disp_rule_name(enum disp_rule r)
{
	switch (r) {
	case RULE_PIN:
		return "pin";
	case RULE_ISOLATION:
		return "isolation";
	case RULE_MARKER:
		return "marker";
	case RULE_PLATFORM:
		return "platform";
	case RULE_IMAGE_OS:
		return "image-os";
	case RULE_DEFAULT:
		return "default";
	}
	return "default";
}

/* amd64 == x86_64, arm64 == aarch64, as engines and registries mix them. */
static const char *
arch_norm(const char *a)
{
	if (strcasecmp(a, "x86_64") == 0 || strcasecmp(a, "x86-64") == 0)
		return "amd64";
	if (strcasecmp(a, "aarch64") == 0)
		return "arm64";
	if (strcasecmp(a, "armhf") == 0 || strcasecmp(a, "armv7l") == 0)
		return "arm";
	return a;
}

int
disp_arch_equal(const char *a, const char *b)
{
	return strcasecmp(arch_norm(a), arch_norm(b)) == 0;
}

/* The names containerd's platform parser knows (dockerd uses it). */
static const char *const known_os[] = { "aix", "android", "darwin",
    "dragonfly", "freebsd", "hurd", "illumos", "ios", "js", "linux", "nacl",
    "netbsd", "openbsd", "plan9", "solaris", "windows", "zos", NULL };
static const char *const known_arch[] = { "386", "amd64", "amd64p32",
    "arm", "armbe", "arm64", "arm64be", "ppc64", "ppc64le", "loong64",
    "mips", "mipsle", "mips64", "mips64le", "mips64p32", "mips64p32le",
    "ppc", "riscv", "riscv64", "s390", "s390x", "sparc", "sparc64", "wasm",
    "x86_64", "x86-64", "aarch64", "armhf", "armel", "i386", NULL };

int
disp_platform_check(const char *platform, char *msg, size_t len)
{
	const char	*p;
	size_t		 parts = 1, k;

	for (p = platform; *p != '\0'; p++) {
		if (*p == '/') {
			if (p == platform || p[1] == '\0' || p[1] == '/')
				goto bad;
			parts++;
		} else if (!isalnum((unsigned char)*p) && *p != '_' &&
		    *p != '-')
			goto bad;
	}
	if (*platform == '\0' || parts > 3)
		goto bad;
	if (parts == 1) {
		for (k = 0; known_os[k] != NULL; k++)
			if (strcasecmp(platform, known_os[k]) == 0)
				return 0;
		for (k = 0; known_arch[k] != NULL; k++)
			if (strcasecmp(platform, known_arch[k]) == 0)
				return 0;
		snprintf(msg, len, "\"%s\": unknown operating system or "
		    "architecture: invalid argument", platform);
		return -1;
	}
	return 0;
bad:
	snprintf(msg, len, "\"%s\": invalid platform format: invalid "
	    "argument", platform);
	return -1;
}

static int
list_has(char *const *list, const char *v)
{
	for (; list != NULL && *list != NULL; list++)
		if (strcasecmp(*list, v) == 0)
			return 1;
	return 0;
}

/*
 * First backend serving os; with arch, one with that arch is preferred
 * (strict: required) over the first of that os.  -1 when none.
 */
static ssize_t
serving(const struct disp_pick *p, const char *os, const char *arch,
    int arch_required)
{
	ssize_t	first = -1;
	size_t	i;

	for (i = 0; i < p->n; i++) {
		if (p->b[i].os == NULL || strcasecmp(p->b[i].os, os) != 0)
			continue;
		if (arch == NULL || arch[0] == '\0')
			return (ssize_t)i;
		if (p->b[i].arch != NULL && disp_arch_equal(p->b[i].arch, arch))
			return (ssize_t)i;
		if (first == -1)
			first = (ssize_t)i;
	}
	return arch_required ? -1 : first;
}

/* what: "linux" or "linux/arm64", the platform nobody serves. */
static void
route_to_peer(struct disp_pick *p, const char *os, const char *what,
    const char *why, struct dm_err *err)
{
	snprintf(p->peer_os, sizeof(p->peer_os), "%s", os);
	dm_err_set(err, DM_EPEER, "%s, but no dockmux backend serves %s: "
	    "configure a backend for %s in dockmux.json, or run this "
	    "workload on a peer node that has one", why, what, what);
}

int
disp_pick_backend(struct disp_pick *p, struct dm_err *err)
{
	char		 os[DISP_FIELD_MAX], arch[DISP_FIELD_MAX], why[300];
	const char	*v, *slash;
	char *const	*key;
	ssize_t		 i;
	size_t		 k;

	p->peer_os[0] = '\0';
	/* 0: an explicit pin by name. */
	v = dm_json_str(p->labels, DM_LABEL_BACKEND);
	if (v != NULL) {
		for (k = 0; k < p->n; k++) {
			if (strcmp(p->b[k].name, v) == 0) {
				p->chosen = k;
				p->rule = RULE_PIN;
				return 0;
			}
		}
		dm_err_set(err, DM_EBADREQ, "label %s=%s: no dockmux backend "
		    "named \"%s\"", DM_LABEL_BACKEND, v, v);
		return -1;
	}
	/* 1: isolation labels; no backend offering it falls through. */
	for (key = p->isolation_labels; key != NULL && *key != NULL; key++) {
		v = dm_json_str(p->labels, *key);
		if (v == NULL)
			continue;
		for (k = 0; k < p->n; k++) {
			if (list_has(p->b[k].isolation, v)) {
				p->chosen = k;
				p->rule = RULE_ISOLATION;
				return 0;
			}
		}
	}
	/* 2: the image's runtime marker. */
	if (p->image_marker != NULL && p->image_marker[0] != '\0') {
		for (k = 0; k < p->n; k++) {
			if (list_has(p->b[k].runtime_markers,
			    p->image_marker)) {
				p->chosen = k;
				p->rule = RULE_MARKER;
				return 0;
			}
		}
	}
	/* 3: platform=os[/arch[/variant]]: decides, or sends to a peer. */
	if (p->platform != NULL && p->platform[0] != '\0') {
		slash = strchr(p->platform, '/');
		snprintf(os, sizeof(os), "%.*s", slash != NULL ?
		    (int)(slash - p->platform) : (int)strlen(p->platform),
		    p->platform);
		arch[0] = '\0';
		if (slash != NULL)
			snprintf(arch, sizeof(arch), "%.*s",
			    (int)strcspn(slash + 1, "/"), slash + 1);
		i = serving(p, os, arch, 1);
		if (i == -1) {
			char	what[2 * DISP_FIELD_MAX + 2];

			snprintf(why, sizeof(why), "platform %s was asked for",
			    p->platform);
			snprintf(what, sizeof(what), "%s%s%s", os,
			    arch[0] != '\0' && serving(p, os, NULL, 0) != -1 ?
			    "/" : "", arch[0] != '\0' && serving(p, os, NULL, 0)
			    != -1 ? arch : "");
			route_to_peer(p, os, what, why, err);
			return -1;
		}
		p->chosen = (size_t)i;
		p->rule = RULE_PLATFORM;
		return 0;
	}
	/* 4: the image's OS as recorded from the backends' local stores. */
	if (p->image_os != NULL && p->image_os[0] != '\0') {
		i = serving(p, p->image_os, p->image_arch, 0);
		if (i == -1) {
			snprintf(why, sizeof(why), "image \"%s\" is a %s image",
			    p->image != NULL ? p->image : "", p->image_os);
			route_to_peer(p, p->image_os, p->image_os, why, err);
			return -1;
		}
		p->chosen = (size_t)i;
		p->rule = RULE_IMAGE_OS;
		return 0;
	}
	/* 5: unknown_os_backend, else the primary. */
	p->chosen = 0;
	p->rule = RULE_DEFAULT;
	if (p->unknown_os_backend != NULL)
		for (k = 0; k < p->n; k++)
			if (strcmp(p->b[k].name, p->unknown_os_backend) == 0)
				p->chosen = k;
	return 0;
}
