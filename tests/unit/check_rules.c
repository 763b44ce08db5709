/*
 * check_rules.c: the create-time rules (daemon/disp_rules.c), one row per
 * dispatch scenario of the seeds' tests plus dockmux's own rules.
 */

#include <check.h>
#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/disp_int.h"
#include "lib/rules.h"

static char *iso_sandbox[] = { "sandbox", NULL };
static char *iso_vz[] = { "vz", NULL };
static char *iso_vzlinux[] = { "vz-linux", NULL };
static char *iso_vm[] = { "vm", "libkrun", NULL };
static char *mk_vz[] = { "vz", NULL };
static char *mk_vzlinux[] = { "vz-linux", NULL };
static char *default_labels[] = { "io.dockmux.isolation", NULL };
static char *custom_labels[] = { "com.example.sandbox",
    "io.dockmux.isolation", NULL };

/* A Windows node with a WSL2-style Linux delegate. */
static const struct disp_candidate set_win_linux[] = {
	{ .name = "win", .os = "windows", .arch = "amd64" },
	{ .name = "wsl", .os = "linux", .arch = "amd64" },
};
static const struct disp_candidate set_win_only[] = {
	{ .name = "win", .os = "windows", .arch = "amd64" },
};
/* A macOS node: sandbox primary, VZ-Linux, VZ, libkrun. */
static const struct disp_candidate set_mac[] = {
	{ .name = "sandbox", .os = "darwin", .arch = "arm64",
	    .isolation = iso_sandbox },
	{ .name = "vzlinux", .os = "linux", .arch = "arm64",
	    .isolation = iso_vzlinux, .runtime_markers = mk_vzlinux },
	{ .name = "vz", .os = "darwin", .arch = "arm64", .isolation = iso_vz,
	    .runtime_markers = mk_vz },
	{ .name = "libkrun", .os = "linux", .arch = "arm64",
	    .isolation = iso_vm },
};
static const struct disp_candidate set_mac_no_linux[] = {
	{ .name = "sandbox", .os = "darwin", .arch = "arm64",
	    .isolation = iso_sandbox },
	{ .name = "vz", .os = "darwin", .arch = "arm64", .isolation = iso_vz,
	    .runtime_markers = mk_vz },
};
/* Native amd64 plus an emulated arm64 engine. */
static const struct disp_candidate set_arch[] = {
	{ .name = "native", .os = "linux", .arch = "x86_64" },
	{ .name = "emu", .os = "linux", .arch = "aarch64" },
};

#define SET(s)	(s), (sizeof(s) / sizeof((s)[0]))

struct row {
	const char			*name;	/* the seed test it translates */
	const struct disp_candidate	*set;
	size_t				 nset;
	const char			*labels;	/* JSON object or NULL */
	const char			*platform;
	const char			*image_os;
	const char			*image_arch;
	const char			*marker;
	const char			*unknown_os_backend;
	char *const			*isolation_labels;
	/* expected */
	const char			*backend;	/* NULL: an error */
	enum disp_rule			 rule;
	enum dm_status			 st;
	const char			*peer_os;
	const char			*msg_has;
};

static const struct row rows[] = {
	{ "dispatch_windows_spec_goes_to_primary", SET(set_win_linux),
	    NULL, "windows/amd64", NULL, NULL, NULL, NULL, NULL,
	    "win", RULE_PLATFORM, DM_OK, NULL, NULL },
	{ "dispatch_linux_spec_goes_to_delegate", SET(set_win_linux),
	    NULL, "linux/amd64", NULL, NULL, NULL, NULL, NULL,
	    "wsl", RULE_PLATFORM, DM_OK, NULL, NULL },
	{ "dispatch_linux_without_delegate_errors", SET(set_win_only),
	    NULL, "linux/amd64", NULL, NULL, NULL, NULL, NULL,
	    NULL, RULE_DEFAULT, DM_EPEER, "linux",
	    "configure a backend for linux in dockmux.json, or run this "
	    "workload on a peer node" },
	{ "dispatch_linux_image_cache_without_delegate_routes_to_peer",
	    SET(set_win_only), NULL, NULL, "linux", "amd64", NULL, NULL, NULL,
	    NULL, RULE_DEFAULT, DM_EPEER, "linux",
	    "image \"nginx:1.25\" is a linux image" },
	{ "dispatch_macos_spec_goes_to_primary", SET(set_mac), NULL, "darwin",
	    NULL, NULL, NULL, NULL, NULL, "sandbox", RULE_PLATFORM, DM_OK,
	    NULL, NULL },
	{ "dispatch_no_platform_no_image_os_falls_through_to_primary",
	    SET(set_win_linux), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "win", RULE_DEFAULT, DM_OK, NULL, NULL },
	{ "dispatch_uses_image_os_cache_when_platform_missing",
	    SET(set_win_linux), NULL, NULL, "linux", "amd64", NULL, NULL,
	    NULL, "wsl", RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "dispatch_vz_bundle_annotation_auto_routes_to_vz", SET(set_mac),
	    NULL, NULL, "darwin", "arm64", "vz", NULL, NULL, "vz",
	    RULE_MARKER, DM_OK, NULL, NULL },
	{ "dispatch_vz_label_forces_vz", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"vz\"}", NULL, NULL, NULL, NULL, NULL,
	    NULL, "vz", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "dispatch_sandbox_label_overrides_vz_bundle", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"sandbox\"}", NULL, "darwin", NULL,
	    "vz", NULL, NULL, "sandbox", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "dispatch_vz_linux_label_forces_vz_linux", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"vz-linux\"}", NULL, "darwin", NULL,
	    NULL, NULL, NULL, "vzlinux", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "dispatch_vz_linux_marker_auto_routes_to_vz_linux", SET(set_mac),
	    NULL, NULL, "linux", "arm64", "vz-linux", NULL, NULL, "vzlinux",
	    RULE_MARKER, DM_OK, NULL, NULL },
	{ "dispatch_linux_platform_with_vz_linux_routes_to_vz_linux",
	    SET(set_mac), NULL, "linux", NULL, NULL, NULL, NULL, NULL,
	    "vzlinux", RULE_PLATFORM, DM_OK, NULL, NULL },
	{ "dispatch_linux_image_os_with_vz_linux_routes_to_vz_linux",
	    SET(set_mac), NULL, NULL, "linux", "arm64", NULL, NULL, NULL,
	    "vzlinux", RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "dispatch_macos_image_os_with_vz_linux_routes_to_primary",
	    SET(set_mac), NULL, NULL, "darwin", "arm64", NULL, NULL, NULL,
	    "sandbox", RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "dispatch_unknown_os_with_vz_linux_defaults_to_vz_linux",
	    SET(set_mac), NULL, NULL, NULL, NULL, NULL, "vzlinux", NULL,
	    "vzlinux", RULE_DEFAULT, DM_OK, NULL, NULL },
	{ "dispatch_unknown_os_without_vz_linux_falls_through_to_primary",
	    SET(set_mac_no_linux), NULL, NULL, NULL, NULL, NULL, NULL, NULL,
	    "sandbox", RULE_DEFAULT, DM_OK, NULL, NULL },
	{ "dispatch_vm_label_forces_libkrun_delegate", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"vm\"}", NULL, "linux", NULL, NULL,
	    NULL, NULL, "libkrun", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "dispatch_unmarked_image_with_vz_delegate_falls_through_to_primary",
	    SET(set_mac_no_linux), NULL, NULL, "darwin", "arm64", "", NULL,
	    NULL, "sandbox", RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "isolation_value_no_backend_has_falls_through", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"gvisor\"}", NULL, "linux", NULL,
	    NULL, NULL, NULL, "vzlinux", RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "isolation_value_is_case_blind", SET(set_mac),
	    "{\"io.dockmux.isolation\":\"LibKrun\"}", NULL, NULL, NULL, NULL,
	    NULL, NULL, "libkrun", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "isolation_label_keys_from_config", SET(set_mac),
	    "{\"com.example.sandbox\":\"vm\"}", NULL, NULL, NULL, NULL, NULL,
	    custom_labels, "libkrun", RULE_ISOLATION, DM_OK, NULL, NULL },
	{ "isolation_label_key_not_configured_is_ignored", SET(set_mac),
	    "{\"com.example.sandbox\":\"vm\"}", NULL, NULL, NULL, NULL, NULL,
	    NULL, "sandbox", RULE_DEFAULT, DM_OK, NULL, NULL },
	{ "pin_label_beats_every_other_rule", SET(set_mac),
	    "{\"io.dockmux.backend\":\"libkrun\","
	    "\"io.dockmux.isolation\":\"vz\"}", "darwin", "darwin", NULL,
	    "vz", NULL, NULL, "libkrun", RULE_PIN, DM_OK, NULL, NULL },
	{ "pin_label_unknown_backend_is_400", SET(set_mac),
	    "{\"io.dockmux.backend\":\"nope\"}", NULL, NULL, NULL, NULL, NULL,
	    NULL, NULL, RULE_DEFAULT, DM_EBADREQ, NULL,
	    "no dockmux backend named \"nope\"" },
	{ "platform_arch_picks_the_emulated_engine", SET(set_arch), NULL,
	    "linux/arm64", NULL, NULL, NULL, NULL, NULL, "emu", RULE_PLATFORM,
	    DM_OK, NULL, NULL },
	{ "platform_arch_aliases_match", SET(set_arch), NULL,
	    "linux/aarch64/v8", NULL, NULL, NULL, NULL, NULL, "emu",
	    RULE_PLATFORM, DM_OK, NULL, NULL },
	{ "platform_os_only_picks_first_of_that_os", SET(set_arch), NULL,
	    "linux", NULL, NULL, NULL, NULL, NULL, "native", RULE_PLATFORM,
	    DM_OK, NULL, NULL },
	{ "platform_arch_served_by_none_routes_to_peer", SET(set_arch), NULL,
	    "linux/s390x", NULL, NULL, NULL, NULL, NULL, NULL, RULE_DEFAULT,
	    DM_EPEER, "linux", "platform linux/s390x was asked for, but no "
	    "dockmux backend serves linux/s390x: configure a backend for "
	    "linux/s390x" },
	{ "image_arch_prefers_matching_engine", SET(set_arch), NULL, NULL,
	    "linux", "arm64", NULL, NULL, NULL, "emu", RULE_IMAGE_OS, DM_OK,
	    NULL, NULL },
	{ "image_arch_unserved_still_runs_on_its_os", SET(set_arch), NULL,
	    NULL, "linux", "riscv64", NULL, NULL, NULL, "native",
	    RULE_IMAGE_OS, DM_OK, NULL, NULL },
	{ "darwin_image_without_darwin_backend_routes_to_peer",
	    SET(set_win_linux), NULL, NULL, "darwin", NULL, NULL, NULL, NULL,
	    NULL, RULE_DEFAULT, DM_EPEER, "darwin",
	    "no dockmux backend serves darwin" },
};

START_TEST(test_rule_row)
{
	const struct row	*r = &rows[_i];
	struct disp_pick	 p;
	struct dm_err		 err;
	struct json_object	*labels = NULL;
	int			 rc;

	memset(&p, 0, sizeof(p));
	dm_err_clear(&err);
	if (r->labels != NULL)
		labels = json_tokener_parse(r->labels);
	p.b = r->set;
	p.n = r->nset;
	p.isolation_labels = r->isolation_labels != NULL ?
	    r->isolation_labels : default_labels;
	p.unknown_os_backend = r->unknown_os_backend;
	p.labels = labels;
	p.platform = r->platform;
	p.image = "nginx:1.25";
	p.image_os = r->image_os;
	p.image_arch = r->image_arch;
	p.image_marker = r->marker;
	rc = disp_pick_backend(&p, &err);
	if (r->backend != NULL) {
		ck_assert_msg(rc == 0, "%s: unexpected error %s", r->name,
		    err.msg);
		ck_assert_msg(strcmp(r->set[p.chosen].name, r->backend) == 0,
		    "%s: chose %s, want %s", r->name, r->set[p.chosen].name,
		    r->backend);
		ck_assert_msg(p.rule == r->rule, "%s: rule %s, want %s",
		    r->name, disp_rule_name(p.rule), disp_rule_name(r->rule));
	} else {
		ck_assert_msg(rc == -1, "%s: expected an error, chose %s",
		    r->name, r->set[p.chosen].name);
		ck_assert_msg(err.st == r->st, "%s: status %d, want %d",
		    r->name, err.st, r->st);
		if (r->peer_os != NULL)
			ck_assert_str_eq(p.peer_os, r->peer_os);
		if (r->msg_has != NULL)
			ck_assert_msg(strstr(err.msg, r->msg_has) != NULL,
			    "%s: message \"%s\" lacks \"%s\"", r->name,
			    err.msg, r->msg_has);
	}
	json_object_put(labels);
}
END_TEST

START_TEST(test_route_to_peer_names_both_remedies)
{
	struct disp_pick	p;
	struct dm_err		err;

	memset(&p, 0, sizeof(p));
	p.b = set_win_only;
	p.n = 1;
	p.isolation_labels = default_labels;
	p.platform = "linux";
	ck_assert_int_eq(disp_pick_backend(&p, &err), -1);
	ck_assert_int_eq(dm_status_http(err.st), 404);
	ck_assert_ptr_nonnull(strstr(err.msg, "configure a backend for "
	    "linux in dockmux.json"));
	ck_assert_ptr_nonnull(strstr(err.msg, "peer node that has one"));
}
END_TEST

/* Platforms dockerd parses, and the ones it refuses with 400. */
static const struct {
	const char	*platform;
	int		 ok;
	const char	*says;
} platform_rows[] = {
	{ "linux", 1, NULL },
	{ "windows/amd64", 1, NULL },
	{ "linux/arm64/v8", 1, NULL },
	{ "arm64", 1, NULL },			/* an arch alone */
	{ "linux/s390x", 1, NULL },		/* parsed; served or not */
	{ "foo", 0, "unknown operating system or architecture" },
	{ "linux/amd64/v2/x", 0, "invalid platform format" },
	{ "linux//amd64", 0, "invalid platform format" },
	{ "/amd64", 0, "invalid platform format" },
	{ "linux/", 0, "invalid platform format" },
	{ "linux/am d64", 0, "invalid platform format" },
};

START_TEST(test_platform_check)
{
	char	msg[256] = "";
	int	rc = disp_platform_check(platform_rows[_i].platform, msg,
	    sizeof(msg));

	if (platform_rows[_i].ok) {
		ck_assert_msg(rc == 0, "%s refused: %s",
		    platform_rows[_i].platform, msg);
		return;
	}
	ck_assert_msg(rc == -1, "%s accepted", platform_rows[_i].platform);
	ck_assert_msg(strstr(msg, platform_rows[_i].says) != NULL,
	    "%s: \"%s\"", platform_rows[_i].platform, msg);
}
END_TEST

/* The list the CLI checks --rule against: every rule, then "adopted". */
START_TEST(test_rule_names_listed)
{
	static const char *const names[] = DM_RULE_NAMES;
	enum disp_rule		 r;

	for (r = RULE_PIN; r <= RULE_DEFAULT; r++)
		ck_assert_str_eq(names[r], disp_rule_name(r));
	ck_assert_uint_eq(sizeof(names) / sizeof(names[0]), RULE_DEFAULT + 2);
	ck_assert_str_eq(names[RULE_DEFAULT + 1], "adopted");
}
END_TEST

START_TEST(test_rule_names)
{
	ck_assert_str_eq(disp_rule_name(RULE_PIN), "pin");
	ck_assert_str_eq(disp_rule_name(RULE_ISOLATION), "isolation");
	ck_assert_str_eq(disp_rule_name(RULE_MARKER), "marker");
	ck_assert_str_eq(disp_rule_name(RULE_PLATFORM), "platform");
	ck_assert_str_eq(disp_rule_name(RULE_IMAGE_OS), "image-os");
	ck_assert_str_eq(disp_rule_name(RULE_DEFAULT), "default");
	ck_assert(disp_arch_equal("x86_64", "amd64"));
	ck_assert(disp_arch_equal("aarch64", "ARM64"));
	ck_assert(!disp_arch_equal("arm64", "amd64"));
}
END_TEST

static Suite *
rules_suite(void)
{
	Suite	*s = suite_create("rules");
	TCase	*tc;

	tc = tcase_create("seed_scenarios");
	tcase_add_loop_test(tc, test_rule_row, 0,
	    (int)(sizeof(rows) / sizeof(rows[0])));
	suite_add_tcase(s, tc);
	tc = tcase_create("route_to_peer");
	tcase_add_test(tc, test_route_to_peer_names_both_remedies);
	suite_add_tcase(s, tc);
	tc = tcase_create("names");
	tcase_add_test(tc, test_rule_names);
	tcase_add_test(tc, test_rule_names_listed);
	tcase_add_loop_test(tc, test_platform_check, 0,
	    (int)(sizeof(platform_rows) / sizeof(platform_rows[0])));
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(rules_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
