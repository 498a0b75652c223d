/* sm mam: the XEP-0082 dates of the archive's queries and results,
 * and which messages are worth keeping. */
#include <check.h>
#include <stdint.h>
#include <string.h>

#include "../../server/archive/archive_query.h"
#include "unit.h"

START_TEST(formats_microseconds_in_utc)
{
	char out[32];
	mam_format_stamp(0, out);
	ck_assert_str_eq(out, "1970-01-01T00:00:00.000000Z");
	mam_format_stamp(1278803305123456, out);
	ck_assert_str_eq(out, "2010-07-10T23:08:25.123456Z");
	mam_format_stamp(-1, out);
	ck_assert_str_eq(out, "1969-12-31T23:59:59.999999Z");
}
END_TEST

START_TEST(parses_xep_0082_datetimes)
{
	int64_t us;
	ck_assert_int_eq(mam_parse_stamp("2010-07-10T23:08:25Z", &us), 0);
	ck_assert_int_eq(us, 1278803305000000);
	ck_assert_int_eq(mam_parse_stamp("2010-07-10T23:08:25.123456Z", &us),
			 0);
	ck_assert_int_eq(us, 1278803305123456);
	/* fewer and more digits of a fraction */
	ck_assert_int_eq(mam_parse_stamp("2010-07-10T23:08:25.5Z", &us), 0);
	ck_assert_int_eq(us, 1278803305500000);
	ck_assert_int_eq(mam_parse_stamp("2010-07-10T23:08:25.1234567Z", &us),
			 0);
	ck_assert_int_eq(us, 1278803305123456);
	/* an offset: the same instant */
	ck_assert_int_eq(mam_parse_stamp("2010-07-11T01:08:25+02:00", &us), 0);
	ck_assert_int_eq(us, 1278803305000000);
	ck_assert_int_eq(mam_parse_stamp("2010-07-10T18:38:25-04:30", &us), 0);
	ck_assert_int_eq(us, 1278803305000000);
}
END_TEST

START_TEST(refuses_what_is_not_a_datetime)
{
	int64_t us;
	const char *bad[] = {
		"",
		"yesterday",
		"2010-07-10",
		"2010-07-10T23:08Z",
		"2010-07-10T23:08:25",
		"2010-13-10T23:08:25Z",
		"2010-07-10T24:08:25Z",
		"2010-07-10T23:08:25+0200",
		"2010-07-10T23:08:25Z ",
		"2010-07-10 23:08:25Z",
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
		ck_assert_msg(mam_parse_stamp(bad[i], &us) < 0, "'%s'", bad[i]);
}
END_TEST

static struct arena arena = ARENA_INIT;

static bool kept(const char *message)
{
	struct xml_node *m =
		xml_parse(&arena, message, strlen(message), "jabber:client");
	ck_assert_msg(m != NULL, "'%s' should parse", message);
	bool worth = mam_worth_keeping(m);
	arena_reset(&arena);
	return worth;
}

#define MUC_USER "'http://jabber.org/protocol/muc#user'"

START_TEST(keeps_mediated_invitations_only_of_muc_user)
{
	/* XEP-0045 §7.8.2: an invitation, even without a body. */
	ck_assert(kept("<message from='room@conference.example.org'>"
		       "<x xmlns=" MUC_USER "><invite from='romeo@example.org'>"
		       "<reason>Come</reason></invite></x></message>"));
	/* §7.5: a private message of a room carries an empty <x/>; with
	 * only a chat state, nothing to keep. */
	ck_assert(!kept("<message type='chat' "
			"from='room@conference.example.org/romeo'>"
			"<x xmlns=" MUC_USER "/>"
			"<composing xmlns='http://jabber.org/protocol/"
			"chatstates'/></message>"));
	/* A status code or a decline is no invitation either. */
	ck_assert(!kept("<message from='room@conference.example.org'>"
			"<x xmlns=" MUC_USER "><status code='104'/></x>"
			"</message>"));
	ck_assert(!kept("<message from='room@conference.example.org'>"
			"<x xmlns=" MUC_USER
			"><decline from='juliet@example.org'/>"
			"</x></message>"));
	/* With a body, a private message is kept as any other. */
	ck_assert(kept("<message type='chat' "
		       "from='room@conference.example.org/romeo'>"
		       "<body>Hi</body><x xmlns=" MUC_USER "/></message>"));
	/* XEP-0249's direct invitation. */
	ck_assert(kept("<message><x xmlns='jabber:x:conference' "
		       "jid='room@conference.example.org'/></message>"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sm_mam");
	TCase *tc = tcase_create("dates");
	tcase_add_test(tc, formats_microseconds_in_utc);
	tcase_add_test(tc, parses_xep_0082_datetimes);
	tcase_add_test(tc, refuses_what_is_not_a_datetime);
	suite_add_tcase(s, tc);
	TCase *keep = tcase_create("worth keeping");
	tcase_add_test(keep, keeps_mediated_invitations_only_of_muc_user);
	suite_add_tcase(s, keep);
	return unit_run(s);
}
