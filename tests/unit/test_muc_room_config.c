/* muc room_config: every field of a room's configuration goes to text
 * and back (what room_store.c writes and reads), and a submitted form
 * (XEP-0045 §10.2) changes all of its fields or none. */
#include <check.h>
#include <string.h>

#include "../../lib/arena.h"
#include "../../server/muc/muc.h"
#include "unit.h"

/* A configuration unlike the defaults in every field. */
static void fill(struct room_config *c)
{
	c->name = strdup("Verona");
	c->description = strdup("A public place");
	c->password = strdup("balcony");
	c->persistent = c->members_only = c->moderated = true;
	c->password_protected = c->change_subject = true;
	c->allow_invites = c->logging = true;
	c->public = false;
	c->whois = MUC_WHOIS_ANYONE;
	c->allow_pm = MUC_PM_MODERATORS;
	c->max_users = 42;
	c->history = 7;
}

START_TEST(every_field_round_trips_as_text)
{
	struct room_config a = {0}, b = {0};
	char buf[ROOM_FIELD_VALUE_SIZE];
	fill(&a);
	for (const struct room_config_field *f = room_config_fields; f->var;
	     f++)
		ck_assert_msg(room_config_set(&b, f,
					      room_config_get(&a, f, buf)) == 0,
			      "%s", f->var);
	ck_assert_str_eq(b.name, "Verona");
	ck_assert_str_eq(b.description, "A public place");
	ck_assert_str_eq(b.password, "balcony");
	ck_assert(b.persistent && b.members_only && b.moderated &&
		  b.password_protected && b.change_subject && b.allow_invites &&
		  b.logging && !b.public);
	ck_assert_int_eq(b.whois, MUC_WHOIS_ANYONE);
	ck_assert_int_eq(b.allow_pm, MUC_PM_MODERATORS);
	ck_assert_uint_eq(b.max_users, 42);
	ck_assert_uint_eq(b.history, 7);
	room_config_free(&a);
	room_config_free(&b);
}
END_TEST

START_TEST(bad_values_are_refused)
{
	struct room_config c = {0};
	const struct room_config_field *persistent =
		room_config_field_find("muc#roomconfig_persistentroom");
	const struct room_config_field *whois =
		room_config_field_find("muc#roomconfig_whois");
	const struct room_config_field *max =
		room_config_field_find("muc#roomconfig_maxusers");
	ck_assert_ptr_nonnull(persistent);
	ck_assert_int_eq(room_config_set(&c, persistent, "true"), 0);
	ck_assert(c.persistent);
	ck_assert_int_lt(room_config_set(&c, persistent, "perhaps"), 0);
	ck_assert(c.persistent);
	ck_assert_int_lt(room_config_set(&c, whois, "everybody"), 0);
	ck_assert_int_lt(room_config_set(&c, max, "-1"), 0);
	ck_assert_int_lt(room_config_set(&c, max, "12x"), 0);
	ck_assert_ptr_null(room_config_field_find("muc#roomconfig_nothing"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("muc_room_config");
	TCase *tc = tcase_create("fields");
	tcase_add_test(tc, every_field_round_trips_as_text);
	tcase_add_test(tc, bad_values_are_refused);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
