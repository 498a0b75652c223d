/* multicast: FRAME_MULTICAST, one stanza for several local recipients
 * (a room's message or presence for its occupants of one domain, from
 * the muc process): parsed once here, then delivered to each recipient
 * as if it had come alone (RFC 6121 §8.5.3 to each full JID: a
 * recipient without that session makes an error for the room, which
 * then removes the occupant). The room sends one frame per domain, not
 * one per occupant (ARCHITECTURE.md §10: fan-out costs O(N) work, no
 * frame through the router per recipient on the way in). */
#include <string.h>

#include "../../lib/log.h"
#include "../../lib/multicast.h"
#include "delivery.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

static int multicast_parse(struct sm *sm, const struct frame *f,
			   struct multicast_reader *r, struct stanza *st)
{
	if (multicast_read(r, f->payload, f->payload_len) < 0) {
		log_warn("sm: a malformed MULTICAST frame from %.*s",
			 (int)f->from_len, f->from);
		return -1;
	}
	struct xml_node *xml =
		xml_parse(&sm->arena, r->stanza, r->stanza_len, XML_NS_CLIENT);
	if (!xml || sm_stanza_init(st, &sm->arena, xml) != 0 || !st->from ||
	    st->to) {
		log_warn("sm: a MULTICAST frame from %.*s whose stanza does "
			 "not parse, has no 'from' or has a 'to': dropped",
			 (int)f->from_len, f->from);
		return -1;
	}
	return 0;
}

void sm_multicast_frame(struct sm *sm, const struct frame *f)
{
	struct multicast_reader r;
	struct stanza st;
	if (multicast_parse(sm, f, &r, &st) < 0)
		return;
	/* In order with the other frames of its sender (the room service),
	 * which wait under the sender's domain (core.c). */
	switch (sm_userdata_hold(sm, f, NULL, st.from->domain, NULL)) {
	case SM_HOLD_HELD:
		return;
	case SM_HOLD_REFUSED:
		log_debug("sm: a MULTICAST from %s for %u recipients "
			  "dropped: too many of its sender's frames wait",
			  st.from->domain, r.left);
		return;
	case SM_HOLD_NOW:
		break;
	}
	struct jid to;
	for (const char *jid; (jid = multicast_next(&r));) {
		if (jid_parse_str(&to, jid) < 0 || !sm_serves(sm, to.domain) ||
		    xml_set_attr(st.arena, st.xml, "to", jid) < 0) {
			log_debug("sm: MULTICAST recipient '%s' skipped", jid);
			continue;
		}
		st.to = &to;
		st.to_user = NULL;
		st.to_session = NULL;
		sm_deliver_stanza(sm, &st, NULL);
	}
}
