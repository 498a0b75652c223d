/* muc room_store: a persistent room's affiliations are written an item
 * per JID, only those a change touched (deleted when none is left),
 * and its vCard and avatar hashes are written and read back with the
 * room (muc.sqlite, storage/). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "../../server/muc/muc.h"
#include "../../storage/storage.h"
#include "storage_fixture.h"
#include "unit.h"

#define SERVICE "conference.localhost"
#define ROOM "big@" SERVICE
#define HASH "0123456789abcdef0123456789abcdef01234567"

static struct config cfg;
static struct muc muc;
static int pending;

static void setup(void)
{
	storage_fixture_setup();
	memset(&cfg, 0, sizeof cfg);
	cfg.muc.services[0] = SERVICE;
	cfg.muc.nservices = 1;
	cfg.muc.max_occupants = 100; /* history 0: no archive to read */
}

static void teardown(void)
{
	storage_fixture_teardown();
}

static void muc_open(void)
{
	memset(&muc, 0, sizeof muc);
	muc.cfg = &cfg;
	muc.loop = &storage_loop;
	muc.storage = open_storage();
	muc_rooms_init(&muc);
}

static void muc_close(void)
{
	muc_rooms_free(&muc);
	close_storage(muc.storage);
	arena_reset(&muc.arena);
}

static void written(struct muc *m, struct room *room, void *ctx, bool ok)
{
	ck_assert(ok);
	pending--;
}

static void store(struct room *r, unsigned parts)
{
	pending++;
	ck_assert_int_eq(muc_room_store(r, parts, written, NULL), 0);
	while (pending)
		uv_run(&storage_loop, UV_RUN_ONCE);
	ck_assert_uint_eq(r->affiliations_changed.len, 0);
}

/* A store of the room, "key=value;" each, in key order. */
static char listed[512];

static void listed_loaded(void *ctx, enum storage_status status,
			  const struct storage_items *items)
{
	ck_assert_int_eq(status, STORAGE_OK);
	listed[0] = '\0';
	for (size_t i = 0; i < items->count; i++) {
		strcat(listed, items->items[i].key);
		strcat(listed, "=");
		strcat(listed, items->items[i].value);
		strcat(listed, ";");
	}
	pending--;
}

static const char *stored(const char *store)
{
	pending++;
	ck_assert_int_eq(
		storage_load(muc.storage, ROOM, store, listed_loaded, NULL), 0);
	while (pending)
		uv_run(&storage_loop, UV_RUN_ONCE);
	return listed;
}

static struct room *persistent_room(void)
{
	struct room *r = muc_room_new(&muc, ROOM, SERVICE);
	ck_assert_ptr_nonnull(r);
	r->locked = false;
	r->config.persistent = true;
	return r;
}

START_TEST(a_change_writes_the_items_it_touched)
{
	muc_open();
	struct room *r = persistent_room();
	ck_assert_int_eq(muc_room_set_affiliation(r, "romeo@localhost",
						  MUC_AFF_OWNER, NULL),
			 0);
	ck_assert_int_eq(muc_room_set_affiliation(r, "nurse@localhost",
						  MUC_AFF_MEMBER, NULL),
			 0);
	store(r, ROOM_STORE_CONFIG); /* the first write: all of it */
	ck_assert_str_eq(stored("muc_affiliations"),
			 "nurse@localhost=member;romeo@localhost=owner;");

	/* XEP-0045 §9.1, §9.4: a ban with its reason, a member removed. */
	muc_room_set_affiliation(r, "tybalt@localhost", MUC_AFF_OUTCAST,
				 "A Capulet");
	muc_room_set_affiliation(r, "nurse@localhost", MUC_AFF_NONE, NULL);
	store(r, ROOM_STORE_AFFILIATIONS);
	ck_assert_str_eq(stored("muc_affiliations"),
			 "romeo@localhost=owner;"
			 "tybalt@localhost=outcast\nA Capulet;");

	/* A change goes with any later write, whatever its parts. */
	muc_room_set_affiliation(r, "juliet@localhost", MUC_AFF_MEMBER, NULL);
	store(r, ROOM_STORE_SUBJECT);
	ck_assert_str_eq(stored("muc_affiliations"),
			 "juliet@localhost=member;romeo@localhost=owner;"
			 "tybalt@localhost=outcast\nA Capulet;");
	muc_close();
}
END_TEST

static void loaded(struct muc *m, bool ok)
{
	ck_assert(ok);
	pending--;
}

START_TEST(the_vcard_and_affiliations_come_back_with_the_room)
{
	muc_open();
	struct room *r = persistent_room();
	muc_room_set_affiliation(r, "romeo@localhost", MUC_AFF_OWNER, NULL);
	store(r, ROOM_STORE_ALL);
	static const char card[] = "<vCard xmlns='vcard-temp'><FN>Big</FN>"
				   "</vCard>";
	r->vcard = strdup(card);
	r->vcard_len = strlen(card);
	r->avatar_hashes = strdup(HASH HASH);
	store(r, ROOM_STORE_VCARD);
	muc_close();

	muc_open();
	pending++;
	muc_rooms_load(&muc, loaded);
	while (pending)
		uv_run(&storage_loop, UV_RUN_ONCE);
	r = muc_room_find(&muc, ROOM);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(muc_room_affiliation(r, "romeo@localhost"),
			 MUC_AFF_OWNER);
	ck_assert_uint_eq(r->affiliations_changed.len, 0);
	ck_assert_uint_eq(r->vcard_len, strlen(card));
	ck_assert(memcmp(r->vcard, card, r->vcard_len) == 0);
	ck_assert_str_eq(r->avatar_hashes, HASH HASH);

	/* An empty vCard removes it (XEP-0486 §3.2). */
	free(r->vcard);
	free(r->avatar_hashes);
	r->vcard = r->avatar_hashes = NULL;
	r->vcard_len = 0;
	store(r, ROOM_STORE_VCARD);
	ck_assert_str_eq(stored("muc_vcard"), "");
	muc_close();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("muc_room_store");
	TCase *tc = tcase_create("store");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_change_writes_the_items_it_touched);
	tcase_add_test(tc, the_vcard_and_affiliations_come_back_with_the_room);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
