/* check_lines.c: complete lines out of a stream that comes in pieces. */
/* Threads: Check's runner only. */

#include <stdlib.h>
#include <string.h>

#include <check.h>

#include "lib/lines.h"

/* What the callback saw: whole lines joined by '|', pieces by '+'. */
struct seen {
	char	text[512];
	int	stop_after;	/* stop at this call (0: never) */
	int	calls;
};

static int
record(void *arg, const char *text, size_t len, int whole)
{
	struct seen	*s = arg;
	size_t		 have = strlen(s->text);

	ck_assert_uint_lt(have + len + 2, sizeof(s->text));
	if (whole)
		ck_assert_int_eq(text[len], '\0');
	s->text[have] = whole ? '|' : '+';
	memcpy(s->text + have + 1, text, len);
	s->text[have + 1 + len] = '\0';
	s->calls++;
	return s->stop_after != 0 && s->calls == s->stop_after ? -1 : 0;
}

START_TEST(test_lines_across_pieces)
{
	struct dm_lines	 l;
	struct seen	 s = { "", 0, 0 };
	const char	*rest;
	size_t		 len;

	dm_lines_init(&l, 64);
	ck_assert_int_eq(dm_lines_feed(&l, "{\"a\"", 4, record, &s), 0);
	ck_assert_str_eq(s.text, "");
	ck_assert_int_eq(dm_lines_feed(&l, ":1}\n{\"b\":2}\n{\"c\"", 16,
	    record, &s), 0);
	ck_assert_str_eq(s.text, "|{\"a\":1}\n|{\"b\":2}\n");
	rest = dm_lines_rest(&l, &len);
	ck_assert_ptr_nonnull(rest);
	ck_assert_uint_eq(len, 4);
	ck_assert_str_eq(rest, "{\"c\"");
	dm_lines_reset(&l);
	ck_assert_ptr_null(dm_lines_rest(&l, &len));
	dm_lines_free(&l);
}
END_TEST

START_TEST(test_line_past_max_comes_in_pieces)
{
	struct dm_lines	 l;
	struct seen	 s = { "", 0, 0 };

	dm_lines_init(&l, 8);
	ck_assert_int_eq(dm_lines_feed(&l, "abcdef", 6, record, &s), 0);
	/* 6 held + 5 more passes 8: the held part, then each piece. */
	ck_assert_int_eq(dm_lines_feed(&l, "ghijk", 5, record, &s), 0);
	ck_assert_int_eq(dm_lines_feed(&l, "lm\nok\n", 6, record, &s), 0);
	ck_assert_str_eq(s.text, "+abcdef+ghijk+lm\n|ok\n");
	dm_lines_free(&l);
}
END_TEST

START_TEST(test_line_exactly_max_is_whole)
{
	struct dm_lines	 l;
	struct seen	 s = { "", 0, 0 };

	dm_lines_init(&l, 4);
	ck_assert_int_eq(dm_lines_feed(&l, "abc\n", 4, record, &s), 0);
	ck_assert_str_eq(s.text, "|abc\n");
	dm_lines_free(&l);
}
END_TEST

START_TEST(test_stop_is_passed_on)
{
	struct dm_lines	 l;
	struct seen	 s = { "", 1, 0 };

	dm_lines_init(&l, 16);
	ck_assert_int_eq(dm_lines_feed(&l, "a\nb\n", 4, record, &s), -1);
	ck_assert_str_eq(s.text, "|a\n");
	dm_lines_free(&l);
}
END_TEST

static Suite *
lines_suite(void)
{
	Suite	*s = suite_create("lines");
	TCase	*tc = tcase_create("split");

	tcase_add_test(tc, test_lines_across_pieces);
	tcase_add_test(tc, test_line_past_max_comes_in_pieces);
	tcase_add_test(tc, test_line_exactly_max_is_whole);
	tcase_add_test(tc, test_stop_is_passed_on);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner	*sr = srunner_create(lines_suite());
	int	 failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
