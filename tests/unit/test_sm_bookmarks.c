/* sm bookmarks: a bookmark in each of its forms (bookmarks_convert.c),
 * XEP-0402's item and XEP-0048's <conference/>, and a XEP-0048 list
 * read with what it skips. */
#include <check.h>
#include <string.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/xml.h"
#include "../../server/sm/bookmarks.h"
#include "unit.h"

static struct arena a;

static struct xml_node *parse(const char *xml)
{
	struct xml_node *n = xml_parse(&a, xml, strlen(xml), "");
	ck_assert_ptr_nonnull(n);
	return n;
}

/* n serialized, in the arena. */
static const char *text(const struct xml_node *n)
{
	struct buf b = BUF_INIT;
	ck_assert_ptr_nonnull(n);
	ck_assert_int_eq(xml_serialize(n, "", &b), 0);
	char *s = arena_alloc(&a, b.len + 1);
	memcpy(s, b.data, b.len);
	s[b.len] = '\0';
	buf_free(&b);
	return s;
}

static void teardown(void)
{
	arena_reset(&a);
}

#define LEGACY_COUNCIL                                                         \
	"<conference xmlns='storage:bookmarks' name='Council of Oberon' "      \
	"autojoin='1' jid='Council@Conference.Underhill.org'>"                 \
	"<nick>Puck</nick><password>secret</password>"                         \
	"<minimize xmlns='xmpp:gajim.org/bookmarks'>1</minimize>"              \
	"</conference>"

START_TEST(legacy_conference_becomes_an_item)
{
	struct bookmark b;
	ck_assert_int_eq(
		bookmark_from_conference(&b, &a, parse(LEGACY_COUNCIL)), 0);
	/* The id is the room's JID, prepared (RFC 7622 §3.3). */
	ck_assert_str_eq(b.id, "council@conference.underhill.org");
	ck_assert(b.autojoin);
	ck_assert_str_eq(b.nick, "Puck");
	ck_assert_str_eq(b.password, "secret");
	ck_assert_str_eq(
		text(bookmark_item_new(&a, &b)),
		"<item xmlns='http://jabber.org/protocol/pubsub' "
		"id='council@conference.underhill.org'><conference "
		"xmlns='urn:xmpp:bookmarks:1' name='Council of Oberon' "
		"autojoin='true'><nick>Puck</nick><password>secret</password>"
		"<extensions><minimize xmlns='xmpp:gajim.org/bookmarks'>1"
		"</minimize></extensions></conference></item>");
	bookmark_free(&b);
}
END_TEST

START_TEST(item_becomes_a_legacy_conference)
{
	struct bookmark b;
	struct xml_node *item =
		parse("<item xmlns='http://jabber.org/protocol/pubsub' "
		      "id='orchard@conference.shakespeare.lit'><conference "
		      "xmlns='urn:xmpp:bookmarks:1' name='The Orchard' "
		      "autojoin='false'><nick>JC</nick><extensions><state "
		      "xmlns='http://myclient.example/bookmark/state' "
		      "minimized='true'/></extensions></conference></item>");
	ck_assert_int_eq(bookmark_from_item(&b, &a, item), 0);
	ck_assert(!b.autojoin);
	ck_assert_ptr_null(b.password);
	/* XEP-0402 §5.3.1: "setting the jid attribute to the item id". */
	ck_assert_str_eq(text(bookmark_conference_new(&a, &b)),
			 "<conference xmlns='storage:bookmarks' "
			 "jid='orchard@conference.shakespeare.lit' name='The "
			 "Orchard'><nick>JC</nick><state "
			 "xmlns='http://myclient.example/bookmark/state' "
			 "minimized='true'/></conference>");
	/* And back: the same bookmark. */
	struct bookmark again;
	ck_assert_int_eq(bookmark_from_conference(
				 &again, &a, bookmark_conference_new(&a, &b)),
			 0);
	ck_assert(bookmark_equal(&b, &again));
	bookmark_free(&again);
	bookmark_free(&b);
}
END_TEST

START_TEST(what_is_not_a_bookmark)
{
	struct bookmark b;
	/* XEP-0402 §2: the payload is a conference; the id, a JID. */
	ck_assert_int_eq(
		bookmark_from_item(&b, &a,
				   parse("<item id='a@b'><storage "
					 "xmlns='storage:bookmarks'/></item>")),
		1);
	ck_assert_int_eq(
		bookmark_from_item(
			&b, &a,
			parse("<item id='two@@ats'><conference "
			      "xmlns='urn:xmpp:bookmarks:1'/></item>")),
		1);
	ck_assert_int_eq(bookmark_from_conference(
				 &b, &a,
				 parse("<conference xmlns='storage:bookmarks' "
				       "name='no jid'/>")),
			 1);
}
END_TEST

START_TEST(a_list_skips_and_merges)
{
	struct bookmark_list l = {0};
	struct xml_node *s = parse(
		"<storage xmlns='storage:bookmarks'>" LEGACY_COUNCIL
		"<conference jid='two@@ats'/><conference name='none'/>"
		"<conference jid='orchard@conference.shakespeare.lit'/>"
		"<conference jid='council@conference.underhill.org' "
		"name='Again'/>"
		"<url name='Works' url='http://the-tech.mit.edu/Shakespeare/'/>"
		"</storage>");
	ck_assert_int_eq(bookmark_list_read_storage(&l, &a, s), 2);
	/* A room given twice is one bookmark, as its last says, in the
	 * place of its first. */
	ck_assert_uint_eq(l.n, 2);
	ck_assert_str_eq(l.v[0].key, "council@conference.underhill.org");
	ck_assert_str_eq(l.v[0].name, "Again");
	ck_assert_ptr_null(l.v[0].nick);
	ck_assert_ptr_nonnull(
		bookmark_list_find(&l, "orchard@conference.shakespeare.lit"));
	/* The <url/>s come after the conferences. */
	ck_assert_str_eq(text(bookmark_storage_new(&a, &l, s)),
			 "<storage xmlns='storage:bookmarks'><conference "
			 "jid='council@conference.underhill.org' "
			 "name='Again'/><conference "
			 "jid='orchard@conference.shakespeare.lit'/><url "
			 "name='Works' "
			 "url='http://the-tech.mit.edu/Shakespeare/'/>"
			 "</storage>");
	bookmark_list_free(&l);
}
END_TEST

START_TEST(equal_compares_what_the_room_is)
{
	struct bookmark x, y;
	ck_assert_int_eq(
		bookmark_from_conference(&x, &a, parse(LEGACY_COUNCIL)), 0);
	ck_assert_int_eq(
		bookmark_from_conference(&y, &a, parse(LEGACY_COUNCIL)), 0);
	ck_assert(bookmark_equal(&x, &y));
	y.autojoin = false;
	ck_assert(!bookmark_equal(&x, &y));
	bookmark_free(&x);
	bookmark_free(&y);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sm_bookmarks");
	TCase *tc = tcase_create("convert");
	tcase_add_checked_fixture(tc, NULL, teardown);
	tcase_add_test(tc, legacy_conference_becomes_an_item);
	tcase_add_test(tc, item_becomes_a_legacy_conference);
	tcase_add_test(tc, what_is_not_a_bookmark);
	tcase_add_test(tc, a_list_skips_and_merges);
	tcase_add_test(tc, equal_compares_what_the_room_is);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
