/* muc occupant_session: one user's sessions under one nickname
 * (XEP-0045 §7.2.8). The nick is its primary in room->nicks and counts
 * once; when the primary goes, the next session takes its place; the
 * last one takes the nick away. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/muc/muc.h"
#include "unit.h"

static struct config cfg;
static struct muc muc;
static struct room *room;

static void setup(void)
{
	memset(&cfg, 0, sizeof cfg);
	memset(&muc, 0, sizeof muc);
	cfg.muc.max_occupants = 10;
	muc.cfg = &cfg;
	muc_rooms_init(&muc);
	room = muc_room_new(&muc, "masks@conference.example",
			    "conference.example");
	ck_assert_ptr_nonnull(room);
}

static void teardown(void)
{
	muc_rooms_free(&muc); /* frees room->occupants too */
}

/* An occupant of room at the end of room->occupants, its nick taken as
 * a new one (primary NULL) or as another session of primary's. */
static struct occupant *add(const char *nick, const char *jid,
			    struct occupant *primary)
{
	struct occupant *o = calloc(1, sizeof *o);
	ck_assert_ptr_nonnull(o);
	o->room = room;
	o->nick = strdup(nick);
	o->jid = strdup(jid);
	ck_assert_int_eq(muc_session_attach(o, primary), 0);
	muc_room_add_occupant(room, o);
	return o;
}

START_TEST(sessions_share_the_nick_and_count_once)
{
	struct occupant *balcony =
		add("juliet", "juliet@example/balcony", NULL);
	balcony->role = MUC_ROLE_MODERATOR;
	struct occupant *phone = add("juliet", "juliet@example/phone", balcony);
	add("romeo", "romeo@example/pc", NULL);
	ck_assert_uint_eq(room->noccupants, 2);
	ck_assert_ptr_eq(muc_room_occupant(room, "juliet"), balcony);
	ck_assert_ptr_eq(muc_session_primary(phone), balcony);
	ck_assert(muc_session_same_nick(phone, balcony));
	ck_assert_int_eq(phone->role, MUC_ROLE_MODERATOR);
	ck_assert(muc_session_is_of(phone, "juliet@example"));
	ck_assert(!muc_session_is_of(phone, "juliet@exam"));
	ck_assert(!muc_session_is_of(phone, "romeo@example"));
}
END_TEST

START_TEST(the_next_session_takes_the_primary_s_place)
{
	struct occupant *a = add("juliet", "juliet@example/balcony", NULL);
	struct occupant *b = add("juliet", "juliet@example/phone", a);
	struct occupant *c = add("juliet", "juliet@example/tablet", a);
	ck_assert_ptr_eq(muc_session_detach(a), b);
	ck_assert_ptr_eq(muc_room_occupant(room, "juliet"), b);
	ck_assert_ptr_null(b->primary);
	ck_assert_ptr_eq(c->primary, b);
	ck_assert_ptr_eq(b->next_session, c);
	ck_assert_uint_eq(room->noccupants, 1);
	/* Another session than the primary: the nick stays as it was. */
	ck_assert_ptr_eq(muc_session_detach(c), b);
	ck_assert_ptr_null(b->next_session);
	ck_assert_ptr_eq(muc_room_occupant(room, "juliet"), b);
	/* The last one: the nick goes. */
	ck_assert_ptr_null(muc_session_detach(b));
	ck_assert_ptr_null(muc_room_occupant(room, "juliet"));
	ck_assert_uint_eq(room->noccupants, 0);
}
END_TEST

/* A loop that removes a nick goes on at the first occupant of another
 * nick; the nick's later sessions are unlinked as they are freed. */
START_TEST(next_other_skips_the_nick_s_sessions)
{
	struct occupant *a = add("juliet", "juliet@example/balcony", NULL);
	add("juliet", "juliet@example/phone", a);
	struct occupant *r = add("romeo", "romeo@example/pc", NULL);
	add("juliet", "juliet@example/tablet", a);
	ck_assert_ptr_eq(muc_session_next_other(a), r);
	ck_assert_ptr_eq(muc_session_next_other(r), r->next);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("muc_occupant_session");
	TCase *tc = tcase_create("sessions");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, sessions_share_the_nick_and_count_once);
	tcase_add_test(tc, the_next_session_takes_the_primary_s_place);
	tcase_add_test(tc, next_other_skips_the_nick_s_sessions);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
