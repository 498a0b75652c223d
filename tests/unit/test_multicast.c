/* multicast: FRAME_MULTICAST's payload, written and read back, and
 * malformed payloads refused whole. */
#include <check.h>
#include <string.h>

#include "../../lib/multicast.h"
#include "unit.h"

START_TEST(recipients_and_stanza_read_back)
{
	struct buf b = BUF_INIT;
	const char *stanza = "<message from='r@c.example/n'/>";
	ck_assert_int_eq(multicast_begin(&b), 0);
	ck_assert_int_eq(multicast_add(&b, "a@example.org/1"), 0);
	ck_assert_int_eq(multicast_add(&b, "b@example.org/2"), 0);
	ck_assert_uint_eq(multicast_count(&b), 2);
	ck_assert_int_eq(multicast_finish(&b, stanza, strlen(stanza)), 0);
	struct multicast_reader r;
	ck_assert_int_eq(multicast_read(&r, b.data, b.len), 0);
	ck_assert_str_eq(multicast_next(&r), "a@example.org/1");
	ck_assert_str_eq(multicast_next(&r), "b@example.org/2");
	ck_assert_ptr_null(multicast_next(&r));
	ck_assert_uint_eq(r.stanza_len, strlen(stanza));
	ck_assert(memcmp(r.stanza, stanza, r.stanza_len) == 0);
	/* begin again: a new payload */
	ck_assert_int_eq(multicast_begin(&b), 0);
	ck_assert_uint_eq(multicast_count(&b), 0);
	buf_free(&b);
}
END_TEST

START_TEST(malformed_payloads_are_refused)
{
	struct multicast_reader r;
	/* too short; a count past the JIDs; an empty JID; no stanza */
	ck_assert_int_eq(multicast_read(&r, "\0\0\0", 3), -1);
	ck_assert_int_eq(multicast_read(&r, "\0\0\0\2a@b\0<m/>", 13), -1);
	ck_assert_int_eq(multicast_read(&r, "\0\0\0\1\0<m/>", 9), -1);
	ck_assert_int_eq(multicast_read(&r, "\0\0\0\1a@b\0", 8), -1);
	ck_assert_int_eq(multicast_read(&r, "\0\0\0\1a@b\0<m/>", 12), 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("multicast");
	TCase *tc = tcase_create("payload");
	tcase_add_test(tc, recipients_and_stanza_read_back);
	tcase_add_test(tc, malformed_payloads_are_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
