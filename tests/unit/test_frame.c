/* frame: the codec of the router's binary frames. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/frame.h"
#include "unit.h"

static struct frame stanza(void)
{
	struct frame f = {0};
	f.type = FRAME_STANZA;
	f.flags = 7;
	f.conn = 0x0102030405060708ull;
	frame_set_to(&f, "example.org");
	frame_set_from(&f, "c2s.1");
	f.payload = "<message/>";
	f.payload_len = strlen(f.payload);
	return f;
}

START_TEST(round_trip)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	ck_assert_uint_eq(b.len, FRAME_HEADER_SIZE + 11 + 5 + 10);
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), (long)b.len);
	ck_assert_uint_eq(out.type, FRAME_STANZA);
	ck_assert_uint_eq(out.flags, 7);
	ck_assert(out.conn == 0x0102030405060708ull);
	ck_assert(frame_name_equals(out.to, out.to_len, "example.org"));
	ck_assert(frame_name_equals(out.from, out.from_len, "c2s.1"));
	ck_assert_uint_eq(out.payload_len, 10);
	ck_assert(memcmp(out.payload, "<message/>", 10) == 0);
	/* the decoded frame points into the input */
	ck_assert_ptr_eq(out.to, b.data + FRAME_HEADER_SIZE);
	buf_free(&b);
}
END_TEST

START_TEST(wire_layout)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza();
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	const unsigned char *p = (const unsigned char *)b.data;
	ck_assert_uint_eq(p[0], 0);
	ck_assert_uint_eq(p[3], b.len);
	ck_assert_uint_eq(p[4], FRAME_VERSION);
	ck_assert_uint_eq(p[5], FRAME_STANZA);
	ck_assert_uint_eq(p[6], 11);
	ck_assert_uint_eq(p[7], 5);
	ck_assert_uint_eq(p[8], 7);
	ck_assert_uint_eq(p[12], 1);
	ck_assert_uint_eq(p[19], 8);
	buf_free(&b);
}
END_TEST

START_TEST(empty_names_and_payload)
{
	struct buf b = BUF_INIT;
	struct frame in = {.type = FRAME_HELLO}, out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	ck_assert_uint_eq(b.len, FRAME_HEADER_SIZE);
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), FRAME_HEADER_SIZE);
	ck_assert_uint_eq(out.to_len, 0);
	ck_assert_uint_eq(out.from_len, 0);
	ck_assert_uint_eq(out.payload_len, 0);
	buf_free(&b);
}
END_TEST

START_TEST(several_frames_in_a_row)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	for (int i = 0; i < 3; i++) {
		in.conn = (uint64_t)i;
		ck_assert_int_eq(frame_encode(&b, &in), 0);
	}
	size_t off = 0;
	for (int i = 0; i < 3; i++) {
		long n = frame_decode(b.data + off, b.len - off, &out);
		ck_assert_int_gt(n, 0);
		ck_assert(out.conn == (uint64_t)i);
		off += (size_t)n;
	}
	ck_assert_uint_eq(off, b.len);
	buf_free(&b);
}
END_TEST

START_TEST(partial_input_needs_more)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	for (size_t n = 0; n < b.len; n++)
		ck_assert_int_eq(frame_decode(b.data, n, &out), 0);
	buf_free(&b);
}
END_TEST

START_TEST(bad_version)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	b.data[4] = 2;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	/* refused as soon as the version byte is there */
	ck_assert_int_eq(frame_decode(b.data, 5, &out), -1);
	buf_free(&b);
}
END_TEST

START_TEST(bad_type)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	b.data[5] = 0;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	b.data[5] = FRAME_TYPE_MAX;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	b.data[5] = (char)0xff;
	ck_assert_int_eq(frame_decode(b.data, 6, &out), -1);
	buf_free(&b);
}
END_TEST

START_TEST(bad_length)
{
	struct buf b = BUF_INIT;
	struct frame in = stanza(), out;
	ck_assert_int_eq(frame_encode(&b, &in), 0);
	unsigned char *p = (unsigned char *)b.data;
	/* shorter than the header */
	p[3] = FRAME_HEADER_SIZE - 1;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	ck_assert_int_eq(frame_decode(b.data, 4, &out), -1);
	/* shorter than header + names */
	p[3] = FRAME_HEADER_SIZE + 11 + 5 - 1;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	/* exactly header + names is fine */
	p[3] = FRAME_HEADER_SIZE + 11 + 5;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out),
			 FRAME_HEADER_SIZE + 11 + 5);
	ck_assert_uint_eq(out.payload_len, 0);
	/* too big: refused on the length alone */
	uint32_t big = FRAME_MAX_SIZE + 1;
	p[0] = (unsigned char)(big >> 24);
	p[1] = (unsigned char)(big >> 16);
	p[2] = (unsigned char)(big >> 8);
	p[3] = (unsigned char)big;
	ck_assert_int_eq(frame_decode(b.data, 4, &out), -1);
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), -1);
	buf_free(&b);
}
END_TEST

START_TEST(name_too_long_refused)
{
	char name[FRAME_NAME_MAX + 2];
	memset(name, 'a', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	struct buf b = BUF_INIT;
	struct frame f = stanza();
	frame_set_to(&f, name);
	ck_assert_int_eq(frame_encode(&b, &f), -1);
	f = stanza();
	frame_set_from(&f, name);
	ck_assert_int_eq(frame_encode(&b, &f), -1);
	ck_assert_uint_eq(b.len, 0);
	/* FRAME_NAME_MAX itself is fine */
	name[FRAME_NAME_MAX] = '\0';
	frame_set_from(&f, name);
	ck_assert_int_eq(frame_encode(&b, &f), 0);
	buf_free(&b);
}
END_TEST

START_TEST(too_big_refused)
{
	struct buf b = BUF_INIT;
	struct frame f = stanza();
	char *big = calloc(1, FRAME_MAX_SIZE);
	ck_assert_ptr_nonnull(big);
	f.payload = big;
	f.payload_len =
		FRAME_MAX_SIZE - FRAME_HEADER_SIZE - f.to_len - f.from_len + 1;
	ck_assert_int_eq(frame_encode(&b, &f), -1);
	f.payload_len--;
	ck_assert_int_eq(frame_encode(&b, &f), 0);
	struct frame out;
	ck_assert_int_eq(frame_decode(b.data, b.len, &out), FRAME_MAX_SIZE);
	free(big);
	buf_free(&b);
}
END_TEST

/* Logs name frame types; a type off the wire that is none says so. */
START_TEST(type_names)
{
	ck_assert_str_eq(frame_type_name(FRAME_HELLO), "HELLO");
	ck_assert_str_eq(frame_type_name(FRAME_SESSION_START), "SESSION_START");
	ck_assert_str_eq(frame_type_name(FRAME_NO_ROUTE), "NO_ROUTE");
	ck_assert_str_eq(frame_type_name(0), "unknown");
	ck_assert_str_eq(frame_type_name(FRAME_TYPE_MAX), "unknown");
	ck_assert_str_eq(frame_type_name(255), "unknown");
}
END_TEST

START_TEST(name_equals)
{
	ck_assert(frame_name_equals("abc", 3, "abc"));
	ck_assert(!frame_name_equals("abc", 2, "abc"));
	ck_assert(!frame_name_equals("abcd", 4, "abc"));
	ck_assert(frame_name_equals(NULL, 0, ""));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("frame");
	TCase *tc = tcase_create("codec");
	tcase_add_test(tc, round_trip);
	tcase_add_test(tc, wire_layout);
	tcase_add_test(tc, empty_names_and_payload);
	tcase_add_test(tc, several_frames_in_a_row);
	tcase_add_test(tc, partial_input_needs_more);
	tcase_add_test(tc, bad_version);
	tcase_add_test(tc, bad_type);
	tcase_add_test(tc, bad_length);
	tcase_add_test(tc, name_too_long_refused);
	tcase_add_test(tc, too_big_refused);
	tcase_add_test(tc, name_equals);
	tcase_add_test(tc, type_names);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
