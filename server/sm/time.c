/* time: XEP-0202 Entity Time of the server: its UTC time and the
 * offset of the host's time zone. */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "delivery.h"
#include "module.h"
#include "sm.h"
#include "stanza.h"

#define NS_TIME "urn:xmpp:time"

/* XEP-0202 §3: the offset from UTC, XEP-0082's TZD: "+02:00", "-06:00",
 * "+00:00" for UTC itself (tm_gmtoff: the zone and its daylight saving
 * time at t). */
static void time_zone_offset(time_t t, char out[8])
{
	struct tm tm;
	localtime_r(&t, &tm);
	long off = tm.tm_gmtoff;
	char sign = off < 0 ? '-' : '+';
	off = labs(off) / 60;
	snprintf(out, 8, "%c%02ld:%02ld", sign, off / 60 % 100, off % 60);
}

/* XEP-0202 §3: a get to the server's domain; a set means nothing. */
static enum sm_verdict time_host(struct sm_event *ev, void *data)
{
	if (!sm_stanza_is_type(ev->st, "get")) {
		sm_deliver_error(ev->sm, ev->st, "bad-request");
		return SM_DONE;
	}
	struct arena *a = ev->st->arena;
	time_t now = time(NULL);
	char tzo[8], utc[SM_DATETIME_SIZE];
	time_zone_offset(now, tzo);
	sm_stanza_datetime(now, utc);
	struct xml_node *r = sm_stanza_result_new(ev->st);
	struct xml_node *t = r ? xml_add_child(a, r, NS_TIME, "time") : NULL;
	if (t && xml_add_text_child(a, t, NS_TIME, "tzo", tzo) &&
	    xml_add_text_child(a, t, NS_TIME, "utc", utc))
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static int time_init(struct sm *sm)
{
	tzset(); /* the zone read from disk now, not in a handler */
	return sm_module_hook(sm, SM_EV_IQ_HOST, NS_TIME, 0, time_host, NULL);
}

const struct sm_module sm_module_time = {
	.name = "time",
	.on_by_default = true,
	.features = (const char *const[]){NS_TIME, NULL},
	.init = time_init,
};
