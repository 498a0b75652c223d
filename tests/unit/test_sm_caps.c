/* sm caps: the XEP-0115 cache's bound (caps.c), driven with frames as
 * c2s would send them and checked on the queries the sm sends back (no
 * storage). */

#include "../../lib/log.h"
#include "../../lib/xml.h"
#include "../../server/sm/caps.h"
#include "../../server/sm/sm.h"
#include "sm_harness.h"
#include "unit.h"
#include <check.h>
#include <stdio.h>
#include <string.h>

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"caps"};

static void setup(void)
{
	config_reset(hosts, 1, modules_on, 1);
	start_sm_recording();
}

static void teardown(void)
{
	clear_sent();
	sm_free(&sm);
	arena_reset(&test_arena);
}

static void announce(uint64_t conn, const char *jid, const char *ver)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<presence from='%s'><c xmlns='http://jabber.org/protocol/"
		 "caps' hash='sha-1' node='http://example.org' ver='%s'/>"
		 "</presence>",
		 jid, ver);
	client_sends(conn, xml);
}

static bool queried(const char *ver)
{
	char id[64];
	snprintf(id, sizeof id, "id='caps:%s'", ver);
	for (size_t i = 0; i < nsent; i++)
		if (sent[i].type == FRAME_STANZA && strstr(sent[i].payload, id))
			return true;
	return false;
}

/* XEP-0115 §6.2: a client that announces vers and never answers their
 * queries must not fill the cache shared by every session: an entry
 * nobody holds goes, waiters or not (its waiters moved on). */
START_TEST(unanswered_vers_do_not_fill_the_cache)
{
	bind_session(1, "mallory@localhost/a");
	bind_session(2, "romeo@localhost/b");
	for (unsigned i = 0; i <= CAPS_CACHE_MAX; i++) {
		char ver[32];
		snprintf(ver, sizeof ver, "flood%08u=", i);
		announce(1, "mallory@localhost/a", ver);
		clear_sent();
	}
	announce(2, "romeo@localhost/b", "QgayPKawpkPSDYmwT/WM94uAlu0=");
	ck_assert(queried("QgayPKawpkPSDYmwT/WM94uAlu0="));
}
END_TEST

/* §6.2 lets the server ask one entity; one that never answers (or
 * answers wrong) must not keep a ver unverified for every other entity
 * announcing it: each is asked in turn. */
START_TEST(a_silent_entity_does_not_hold_a_ver_for_others)
{
	static const char ver[] = "QgayPKawpkPSDYmwT/WM94uAlu0=";
	bind_session(1, "mallory@localhost/a");
	bind_session(2, "romeo@localhost/b");
	announce(1, "mallory@localhost/a", ver);
	ck_assert(queried(ver));
	clear_sent();
	announce(2, "romeo@localhost/b", ver);
	ck_assert(queried(ver));
	ck_assert_ptr_nonnull(
		strstr(sent[0].payload, "to='romeo@localhost/b'"));
}
END_TEST

static char *pep_modules_on[] = {"roster", "presence", "caps", "pep"};

static void setup_pep(void)
{
	config_reset(hosts, 1, pep_modules_on, 4);
	start_sm_recording();
}

/* XEP-0163 §4: a remote resource matters to PEP when its account is
 * subscribed to the owner's presence (from or both). A remote server
 * sending presences of strangers must not make the sm query them and
 * hold their caps (PEP_REMOTES_MAX per online user, each pinning an
 * entry of the shared cache). */
START_TEST(a_stranger_s_caps_are_not_queried)
{
	bind_session(1, "romeo@localhost/a");
	available(1, "romeo@localhost/a", 0);
	clear_sent();
	hand_frame(FRAME_STANZA, "s2s", 0, "localhost",
		   "<presence from='eve@remote.example/r' "
		   "to='romeo@localhost'><c xmlns='http://jabber.org/"
		   "protocol/caps' hash='sha-1' node='http://example.org' "
		   "ver='QgayPKawpkPSDYmwT/WM94uAlu0='/></presence>");
	ck_assert(!queried("QgayPKawpkPSDYmwT/WM94uAlu0="));
}
END_TEST

int main(void)
{
	log_init("test_sm_caps", LOG_WARN);
	Suite *s = suite_create("sm_caps");
	TCase *remote = tcase_create("remote");
	tcase_add_checked_fixture(remote, setup_pep, teardown);
	tcase_add_test(remote, a_stranger_s_caps_are_not_queried);
	suite_add_tcase(s, remote);
	TCase *tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unanswered_vers_do_not_fill_the_cache);
	tcase_add_test(tc, a_silent_entity_does_not_hold_a_ver_for_others);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
