/* s2s dialback_key: XEP-0185 dialback keys. */
#include <check.h>
#include <string.h>

#include "../../server/s2s/dialback_key.h"
#include "unit.h"

/* XEP-0185 §3, "Data Used in Examples". */
#define SECRET "s3cr3tf0rd14lb4ck"
#define RECEIVING "xmpp.example.com"
#define ORIGINATING "example.org"
#define STREAM_ID "D60000229F"
#define EXAMPLE_KEY                                                            \
	"37c69b1cf07a3f67c04a5ef5902fa5114f2c76fe4a2686482ba5b89323075643"

static char out[DIALBACK_KEY_LEN + 1];

/* dialback_key into out. */
static int generate(const char *secret, const char *receiving,
		    const char *originating, const char *stream_id)
{
	return dialback_key(secret, receiving, originating, stream_id, out);
}

static bool valid(const char *key)
{
	return dialback_key_valid(SECRET, RECEIVING, ORIGINATING, STREAM_ID,
				  key, strlen(key));
}

START_TEST(xep0185_example)
{
	/* The HMAC key there is the hex string of SHA-256(secret),
	 * "a7136eb1…9acc"; the 32 raw bytes would give "4530485c…". */
	int rc = generate(SECRET, RECEIVING, ORIGINATING, STREAM_ID);
	ck_assert_int_eq(rc, 0);
	ck_assert_str_eq(out, EXAMPLE_KEY);
}
END_TEST

START_TEST(lowercase_hex_of_fixed_length)
{
	char key[DIALBACK_KEY_LEN + 1];
	memset(key, 'X', sizeof key);
	ck_assert_int_eq(dialback_key("other secret", "a.example", "b.example",
				      "0123", key),
			 0);
	ck_assert_uint_eq(strlen(key), DIALBACK_KEY_LEN);
	ck_assert_uint_eq(strspn(key, "0123456789abcdef"), DIALBACK_KEY_LEN);
}
END_TEST

/* Every input changes the key, and the roles are not interchangeable. */
START_TEST(every_input_counts)
{
	char base[DIALBACK_KEY_LEN + 1], k[DIALBACK_KEY_LEN + 1];
	dialback_key(SECRET, RECEIVING, ORIGINATING, STREAM_ID, base);
	dialback_key("s3cr3tf0rd14lb4cK", RECEIVING, ORIGINATING, STREAM_ID, k);
	ck_assert_str_ne(k, base);
	dialback_key(SECRET, "xmpp.example.net", ORIGINATING, STREAM_ID, k);
	ck_assert_str_ne(k, base);
	dialback_key(SECRET, RECEIVING, "example.net", STREAM_ID, k);
	ck_assert_str_ne(k, base);
	dialback_key(SECRET, RECEIVING, ORIGINATING, "D60000229E", k);
	ck_assert_str_ne(k, base);
	dialback_key(SECRET, ORIGINATING, RECEIVING, STREAM_ID, k);
	ck_assert_str_ne(k, base);
}
END_TEST

/* XEP-0185 §2 note 5: the space keeps "example.info" + "rm.example.org"
 * apart from "example.in" + "form.example.org". */
START_TEST(parts_are_delimited)
{
	char a[DIALBACK_KEY_LEN + 1], b[DIALBACK_KEY_LEN + 1];
	dialback_key(SECRET, "example.info", "rm.example.org", STREAM_ID, a);
	dialback_key(SECRET, "example.in", "form.example.org", STREAM_ID, b);
	ck_assert_str_ne(a, b);
}
END_TEST

START_TEST(missing_input_refused)
{
	strcpy(out, "junk");
	ck_assert_int_eq(generate(NULL, RECEIVING, ORIGINATING, STREAM_ID), -1);
	ck_assert_str_eq(out, "");
	ck_assert_int_eq(generate("", RECEIVING, ORIGINATING, STREAM_ID), -1);
	ck_assert_int_eq(generate(SECRET, NULL, ORIGINATING, STREAM_ID), -1);
	ck_assert_int_eq(generate(SECRET, RECEIVING, "", STREAM_ID), -1);
	ck_assert_int_eq(generate(SECRET, RECEIVING, ORIGINATING, ""), -1);
	ck_assert_int_eq(generate(SECRET, RECEIVING, ORIGINATING, NULL), -1);
}
END_TEST

START_TEST(valid_key_accepted)
{
	ck_assert(valid(EXAMPLE_KEY));
	/* The length is what counts, not a terminating NUL. */
	char longer[] = EXAMPLE_KEY "trailing";
	ck_assert(dialback_key_valid(SECRET, RECEIVING, ORIGINATING, STREAM_ID,
				     longer, DIALBACK_KEY_LEN));
}
END_TEST

START_TEST(wrong_key_refused)
{
	char key[] = EXAMPLE_KEY;
	key[DIALBACK_KEY_LEN - 1] = '4';
	ck_assert(!valid(key));
	key[DIALBACK_KEY_LEN - 1] = '3';
	key[0] = '4';
	ck_assert(!valid(key));
	ck_assert(!valid(""));
	ck_assert(!dialback_key_valid(SECRET, RECEIVING, ORIGINATING, STREAM_ID,
				      NULL, DIALBACK_KEY_LEN));
}
END_TEST

START_TEST(wrong_length_refused)
{
	ck_assert(!dialback_key_valid(SECRET, RECEIVING, ORIGINATING, STREAM_ID,
				      EXAMPLE_KEY, DIALBACK_KEY_LEN - 1));
	ck_assert(!valid(EXAMPLE_KEY " "));
	ck_assert(!valid("\n    " EXAMPLE_KEY "\n"));
}
END_TEST

/* Keys we hand out are lowercase and come back verbatim. */
START_TEST(uppercase_refused)
{
	ck_assert(!valid("37C69B1CF07A3F67C04A5EF5902FA5114F2C76FE4A2686482BA5B"
			 "89323075643"));
}
END_TEST

START_TEST(key_of_other_inputs_refused)
{
	ck_assert(!dialback_key_valid("another secret", RECEIVING, ORIGINATING,
				      STREAM_ID, EXAMPLE_KEY,
				      DIALBACK_KEY_LEN));
	ck_assert(!dialback_key_valid(SECRET, RECEIVING, ORIGINATING,
				      "D60000229E", EXAMPLE_KEY,
				      DIALBACK_KEY_LEN));
	ck_assert(!dialback_key_valid(SECRET, ORIGINATING, RECEIVING, STREAM_ID,
				      EXAMPLE_KEY, DIALBACK_KEY_LEN));
	ck_assert(!dialback_key_valid("", RECEIVING, ORIGINATING, STREAM_ID,
				      EXAMPLE_KEY, DIALBACK_KEY_LEN));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s2s_dialback_key");
	TCase *gen = tcase_create("generate");
	tcase_add_test(gen, xep0185_example);
	tcase_add_test(gen, lowercase_hex_of_fixed_length);
	tcase_add_test(gen, every_input_counts);
	tcase_add_test(gen, parts_are_delimited);
	tcase_add_test(gen, missing_input_refused);
	suite_add_tcase(s, gen);
	TCase *check = tcase_create("validate");
	tcase_add_test(check, valid_key_accepted);
	tcase_add_test(check, wrong_key_refused);
	tcase_add_test(check, wrong_length_refused);
	tcase_add_test(check, uppercase_refused);
	tcase_add_test(check, key_of_other_inputs_refused);
	suite_add_tcase(s, check);
	return unit_run(s);
}
