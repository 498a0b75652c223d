/* log: one line per message, whatever the message holds (a JID, a
 * namespace, a caps ver … that a client or a remote server chose). */

#include "../../lib/log.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* What log_msg writes for fmt and arg, read back from stderr. */
static void logged(const char *fmt, const char *arg, char *out, size_t size)
{
	FILE *f = tmpfile();
	ck_assert_ptr_nonnull(f);
	int saved = dup(STDERR_FILENO);
	ck_assert_int_ge(saved, 0);
	ck_assert_int_ge(dup2(fileno(f), STDERR_FILENO), 0);
	log_msg(LOG_ERROR, fmt, arg);
	dup2(saved, STDERR_FILENO);
	close(saved);
	rewind(f);
	size_t n = fread(out, 1, size - 1, f);
	out[n] = '\0';
	fclose(f);
}

/* A control character from outside (an attribute's &#10;, &#27; …)
 * would forge a line of its own or drive the terminal that shows it. */
START_TEST(control_characters_do_not_make_lines)
{
	char out[2048];
	logged("caps: %s: does not verify",
	       "v\n2026-01-01T00:00:00.000Z palabred[1] error: forged\r\x1b[2J",
	       out, sizeof out);
	ck_assert_ptr_nonnull(strstr(out, "caps: v"));
	ck_assert_ptr_nonnull(strstr(out, ": does not verify\n"));
	ck_assert_ptr_eq(strchr(out, '\n'), out + strlen(out) - 1);
	ck_assert_ptr_null(strchr(out, '\r'));
	ck_assert_ptr_null(strchr(out, '\x1b'));
}
END_TEST

START_TEST(text_is_kept)
{
	char out[2048];
	logged("sm: %s", "h\xc3\xa9llo\tw\xc3\xb6rld", out, sizeof out);
	ck_assert_ptr_nonnull(strstr(out, "sm: h\xc3\xa9llo\tw\xc3\xb6rld\n"));
}
END_TEST

int main(void)
{
	log_init("test_log", LOG_DEBUG);
	Suite *s = suite_create("log");
	TCase *tc = tcase_create("lines");
	tcase_add_test(tc, control_characters_do_not_make_lines);
	tcase_add_test(tc, text_is_kept);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
