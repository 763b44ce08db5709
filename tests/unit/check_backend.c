/*
 * check_backend.c: backends/ outside any exchange's content: libcurl's
 * process-wide setup (once per process).
 */
/* Threads: Check's runner only. */

#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

#include "backends/backend.h"

/* The cancel pipe main() set the module up with: [1] says "shut down". */
static int	cancel[2] = { -1, -1 };

/* Process-wide setup: once, never again (a reload must not). */

START_TEST(test_lib_init_once)
{
	int	again[2];

	ck_assert_int_eq(pipe2(again, O_CLOEXEC), 0);
	ck_assert_int_eq(backend_lib_init(again[0]), -1);
	close(again[0]);
	close(again[1]);
}
END_TEST

static Suite *
backend_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("backend");

	tc = tcase_create("lib");
	tcase_add_test(tc, test_lib_init_once);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	/* As dockmuxd's main does, before anything else in the module. */
	if (pipe2(cancel, O_CLOEXEC) == -1 || backend_lib_init(cancel[0]) ==
	    -1)
		return EXIT_FAILURE;
	sr = srunner_create(backend_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	backend_lib_cleanup();
	close(cancel[0]);
	close(cancel[1]);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
