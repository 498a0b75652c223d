/* muc occupant_id: XEP-0421 occupant identifiers, and the service's key
 * they come from. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../server/muc/muc.h"
#include "unit.h"

static char dir[] = "/tmp/palabre-test-muc-id-XXXXXX";
static char key_path[sizeof dir + 32];
static struct config cfg;
static struct muc muc;

static void setup(void)
{
	memset(&cfg, 0, sizeof cfg);
	memset(&muc, 0, sizeof muc);
	cfg.data_dir = dir;
	muc.cfg = &cfg;
	unlink(key_path);
	ck_assert_int_eq(muc_occupant_id_init(&muc), 0);
}

static void id_of(const char *room, const char *jid,
		  char out[MUC_OCCUPANT_ID_SIZE])
{
	ck_assert_int_eq(muc_occupant_id(&muc, room, jid, out), 0);
}

/* §5.1 "stable": one id per real bare JID, whatever the resource. */
START_TEST(one_id_per_bare_jid)
{
	char a[MUC_OCCUPANT_ID_SIZE], b[MUC_OCCUPANT_ID_SIZE];
	id_of("masks@conference.example", "juliet@example/balcony", a);
	id_of("masks@conference.example", "juliet@example/phone", b);
	ck_assert_str_eq(a, b);
	ck_assert_uint_eq(strlen(a), MUC_OCCUPANT_ID_SIZE - 1);
	ck_assert_uint_eq(strspn(a, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				    "opqrstuvwxyz0123456789-_"),
			  MUC_OCCUPANT_ID_SIZE - 1);
	id_of("masks@conference.example", "romeo@example/balcony", b);
	ck_assert_str_ne(a, b);
}
END_TEST

/* §5.1: a user's ids in two rooms do not match; and the room and the
 * JID are not run together ("ab" + "c" is not "a" + "bc"). */
START_TEST(unlinkable_between_rooms)
{
	char a[MUC_OCCUPANT_ID_SIZE], b[MUC_OCCUPANT_ID_SIZE];
	id_of("masks@conference.example", "juliet@example", a);
	id_of("tomb@conference.example", "juliet@example", b);
	ck_assert_str_ne(a, b);
	id_of("a@conference.example", "bc@example", a);
	id_of("a@conference.exampleb", "c@example", b);
	ck_assert_str_ne(a, b);
}
END_TEST

/* The key is kept: the ids outlive a restart; a new key, new ids. */
START_TEST(key_kept_across_restarts)
{
	char a[MUC_OCCUPANT_ID_SIZE], b[MUC_OCCUPANT_ID_SIZE];
	struct stat sb;
	id_of("masks@conference.example", "juliet@example", a);
	ck_assert_int_eq(stat(key_path, &sb), 0);
	ck_assert_int_eq(sb.st_mode & 0777, 0600);
	ck_assert_int_eq(sb.st_size, MUC_OCCUPANT_ID_KEY_SIZE);
	memset(&muc.occupant_id_key, 0, sizeof muc.occupant_id_key);
	ck_assert_int_eq(muc_occupant_id_init(&muc), 0);
	id_of("masks@conference.example", "juliet@example", b);
	ck_assert_str_eq(a, b);
	unlink(key_path);
	ck_assert_int_eq(muc_occupant_id_init(&muc), 0);
	id_of("masks@conference.example", "juliet@example", b);
	ck_assert_str_ne(a, b);
}
END_TEST

/* A damaged key is refused, not replaced: the ids would change. */
START_TEST(damaged_key_refused)
{
	unit_write_file(key_path, "short");
	ck_assert_int_eq(muc_occupant_id_init(&muc), -1);
	unit_write_file(key_path, "0123456789abcdef0123456789abcdef!");
	ck_assert_int_eq(muc_occupant_id_init(&muc), -1);
}
END_TEST

START_TEST(bad_jid_refused)
{
	char a[MUC_OCCUPANT_ID_SIZE];
	ck_assert_int_eq(muc_occupant_id(&muc, "masks@conference.example",
					 "@example", a),
			 -1);
}
END_TEST

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return EXIT_FAILURE;
	}
	snprintf(key_path, sizeof key_path, "%s/muc-occupant-id.key", dir);
	Suite *s = suite_create("muc_occupant_id");
	TCase *tc = tcase_create("ids");
	tcase_add_checked_fixture(tc, setup, NULL);
	tcase_add_test(tc, one_id_per_bare_jid);
	tcase_add_test(tc, unlinkable_between_rooms);
	tcase_add_test(tc, key_kept_across_restarts);
	tcase_add_test(tc, damaged_key_refused);
	tcase_add_test(tc, bad_jid_refused);
	suite_add_tcase(s, tc);
	int status = unit_run(s);
	unlink(key_path);
	rmdir(dir);
	return status;
}
