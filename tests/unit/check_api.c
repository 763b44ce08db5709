/*
 * check_api.c: api/api_listen.c: the listening socket's file never allows
 * more than the configured mode, not even between bind() and chmod().
 * Linked with -Wl,--wrap=bind: every bind() of api_listen.c passes here
 * first, so the mode the file was born with can be read.  Sockets passed
 * on at a USR2 upgrade come back with the URLs they were passed with.
 */
/* Threads: Check's runner only. */

#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/un.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

START_TEST(test_listen_names_escape_colons)
{
	const char	*urls[] = { "unix:///run/a%b.sock", NULL,
			    "tcp://[::1]:2376" };
	char		 out[256];

	ck_assert_int_eq(api_listen_names(urls, 3, out, sizeof(out)), 0);
	ck_assert_str_eq(out, "unix%3A///run/a%25b.sock:systemd:"
	    "tcp%3A//[%3A%3A1]%3A2376");
	ck_assert_int_eq(api_listen_names(urls, 3, out, 20), -1);
}
END_TEST

/*
 * Three sockets passed as a USR2 upgrade passes them: fds 3, 4 and 5
 * (what Check had there is put back after), named by api_listen_names.
 */
START_TEST(test_listen_inherited_by_name)
{
	const char		*urls[] = { "unix:///run/d.sock", "",
				    "tcp://127.0.0.1:2376" };
	struct api_inherited	 got[4];
	char			 names[256], pid[32];
	int			 saved[3], sv[2], i;
	size_t			 n;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	for (i = 0; i < 3; i++) {
		saved[i] = fcntl(3 + i, F_DUPFD_CLOEXEC, 100);
		ck_assert_int_eq(dup2(sv[0], 3 + i), 3 + i);
	}
	ck_assert_int_eq(api_listen_names(urls, 3, names, sizeof(names)), 0);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "3", 1);
	setenv("LISTEN_FDNAMES", names, 1);
	n = api_listen_inherited(got, 4);
	ck_assert_uint_eq(n, 3);
	ck_assert_int_eq(got[0].fd, 3);
	ck_assert_str_eq(got[0].url, "unix:///run/d.sock");
	ck_assert_str_eq(got[1].url, "");	/* systemd's */
	ck_assert_int_eq(got[2].fd, 5);
	ck_assert_str_eq(got[2].url, "tcp://127.0.0.1:2376");
	ck_assert_int_eq(fcntl(4, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
	ck_assert_ptr_null(getenv("LISTEN_PID"));
	ck_assert_ptr_null(getenv("LISTEN_FDNAMES"));
	/* Not for us: another pid's sockets are left alone. */
	setenv("LISTEN_PID", "1", 1);
	setenv("LISTEN_FDS", "3", 1);
	ck_assert_uint_eq(api_listen_inherited(got, 4), 0);
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	for (i = 0; i < 3; i++) {
		if (saved[i] != -1) {
			dup2(saved[i], 3 + i);
			close(saved[i]);
		} else
			close(3 + i);
	}
	close(sv[0]);
	close(sv[1]);
}
END_TEST

/* systemd's own names ("dockmux.socket"), or none, are not URLs. */
START_TEST(test_listen_inherited_from_systemd)
{
	struct api_inherited	 got[2];
	char			 pid[32];
	int			 saved, sv[2];

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	saved = fcntl(3, F_DUPFD_CLOEXEC, 100);
	ck_assert_int_eq(dup2(sv[0], 3), 3);
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	setenv("LISTEN_FDNAMES", "dockmux.socket", 1);
	ck_assert_uint_eq(api_listen_inherited(got, 2), 1);
	ck_assert_int_eq(got[0].fd, 3);
	ck_assert_str_eq(got[0].url, "");
	setenv("LISTEN_PID", pid, 1);
	setenv("LISTEN_FDS", "1", 1);
	ck_assert_uint_eq(api_listen_inherited(got, 2), 1);
	ck_assert_str_eq(got[0].url, "");
	if (saved != -1) {
		dup2(saved, 3);
		close(saved);
	} else
		close(3);
	close(sv[0]);
	close(sv[1]);
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

	tc = tcase_create("passed");
	tcase_add_test(tc, test_listen_names_escape_colons);
	tcase_add_test(tc, test_listen_inherited_by_name);
	tcase_add_test(tc, test_listen_inherited_from_systemd);
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
