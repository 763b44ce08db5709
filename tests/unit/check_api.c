/*
 * check_api.c: api/api_listen.c: the listening socket's file never allows
 * more than the configured mode, not even between bind() and chmod().
 * Linked with -Wl,--wrap=bind: every bind() of api_listen.c passes here
 * first, so the mode the file was born with can be read.
 */
/* Threads: Check's runner only. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <check.h>

#include "api/api.h"
#include "lib/dmerr.h"
#include "tests/unit/check_tmpdir.h"

int	__real_bind(int, const struct sockaddr *, socklen_t);
int	__wrap_bind(int, const struct sockaddr *, socklen_t);

static mode_t	born_mode;	/* the socket file's mode right after bind */

int
__wrap_bind(int fd, const struct sockaddr *sa, socklen_t len)
{
	const struct sockaddr_un	*sun = (const struct sockaddr_un *)sa;
	struct stat			 st;
	int				 rc;

	rc = __real_bind(fd, sa, len);
	born_mode = (mode_t)-1;
	if (rc == 0 && sa->sa_family == AF_UNIX &&
	    lstat(sun->sun_path, &st) == 0)
		born_mode = st.st_mode & 07777;
	return rc;
}

/* Under umask mask: the file ends with mode, born owner only (0600). */
static void
listen_with(mode_t mask, mode_t mode)
{
	struct dm_err	err;
	struct stat	st;
	char		path[128];
	mode_t		before;
	int		fd;

	snprintf(path, sizeof(path), "%s/d.sock", tmpdir);
	before = umask(mask);
	dm_err_clear(&err);
	fd = api_listen_unix(path, mode, NULL, &err);
	ck_assert_msg(fd != -1, "%s", err.msg);
	ck_assert_uint_eq(umask(before), mask);	/* put back as it was */
	ck_assert_int_eq(lstat(path, &st), 0);
	ck_assert_uint_eq(st.st_mode & 07777, mode);
	close(fd);
	unlink(path);
	ck_assert_msg(born_mode == 0600, "born with mode %04o",
	    (unsigned int)born_mode);
}

START_TEST(test_listen_born_owner_only_lax_umask)
{
	listen_with(0, 0660);
}
END_TEST

START_TEST(test_listen_born_owner_only_usual_umask)
{
	listen_with(022, 0666);
}
END_TEST

START_TEST(test_listen_born_owner_only_narrow_mode)
{
	listen_with(0, 0600);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite	*s;
	TCase	*tc;

	s = suite_create("api");

	tc = tcase_create("listen");
	tcase_add_checked_fixture(tc, tmpdir_setup, tmpdir_teardown);
	tcase_add_test(tc, test_listen_born_owner_only_lax_umask);
	tcase_add_test(tc, test_listen_born_owner_only_usual_umask);
	tcase_add_test(tc, test_listen_born_owner_only_narrow_mode);
	suite_add_tcase(s, tc);

	return s;
}

int
main(void)
{
	SRunner	*sr;
	int	 nfailed;

	sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	nfailed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nfailed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
