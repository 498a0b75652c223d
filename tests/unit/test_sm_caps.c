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

int main(void)
{
	log_init("test_sm_caps", LOG_WARN);
	Suite *s = suite_create("sm_caps");
	TCase *tc = tcase_create("cache");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, unanswered_vers_do_not_fill_the_cache);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
