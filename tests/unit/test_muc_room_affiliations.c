/* muc room affiliations: a room's affiliation list is bounded
 * (MUC_AFFILIATIONS_MAX): invitations (XEP-0045 §9.3) and admins'
 * changes add to it, so without a bound any member allowed to invite
 * could grow the muc process without end. */
#include <check.h>
#include <stdio.h>
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
	muc.cfg = &cfg;
	muc_rooms_init(&muc);
	room = muc_room_new(&muc, "hall@conference.example",
			    "conference.example");
	ck_assert_ptr_nonnull(room);
}

static void teardown(void)
{
	muc_rooms_free(&muc);
}

static const char *jid_of(unsigned i)
{
	static char jid[64];
	snprintf(jid, sizeof jid, "user%u@example", i);
	return jid;
}

static int set(unsigned i, enum muc_affiliation aff)
{
	return muc_room_set_affiliation(room, jid_of(i), aff, NULL);
}

START_TEST(a_full_list_refuses_new_jids_only)
{
	for (unsigned i = 0; i < MUC_AFFILIATIONS_MAX; i++)
		ck_assert_int_eq(set(i, MUC_AFF_MEMBER), 0);
	ck_assert_int_lt(set(MUC_AFFILIATIONS_MAX, MUC_AFF_MEMBER), 0);
	ck_assert_int_eq(
		muc_room_affiliation(room, jid_of(MUC_AFFILIATIONS_MAX)),
		MUC_AFF_NONE);
	/* A JID already listed changes; one removed makes room. */
	ck_assert_int_eq(set(7, MUC_AFF_ADMIN), 0);
	ck_assert_int_eq(muc_room_affiliation(room, jid_of(7)), MUC_AFF_ADMIN);
	ck_assert_int_eq(set(8, MUC_AFF_NONE), 0);
	ck_assert_int_eq(set(MUC_AFFILIATIONS_MAX, MUC_AFF_OUTCAST), 0);
	ck_assert_uint_eq(muc_affiliation_count(room, MUC_AFF_MEMBER),
			  MUC_AFFILIATIONS_MAX - 2);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("muc_room_affiliations");
	TCase *tc = tcase_create("bound");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_full_list_refuses_new_jids_only);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
