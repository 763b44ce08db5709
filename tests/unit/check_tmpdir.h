/*
 * check_tmpdir.h: a fresh directory under /tmp for each test, as a Check
 * checked fixture, removed with all it holds; for the suites that need
 * files (included by one test file each, hence the statics).
 */
#ifndef DOCKMUX_TESTS_UNIT_CHECK_TMPDIR_H
#define DOCKMUX_TESTS_UNIT_CHECK_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

#include <check.h>

static char	tmpdir[64];

static void
tmpdir_setup(void)
{
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/dockmux-unit.XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void
tmpdir_teardown(void)
{
	char	cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	ck_assert_int_eq(system(cmd), 0);
}

#endif
