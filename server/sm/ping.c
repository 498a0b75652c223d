/* ping: XEP-0199 XMPP Ping, answered by the server. */
#include "delivery.h"
#include "module.h"
#include "sm.h"
#include "stanza.h"

#define NS_PING "urn:xmpp:ping"

/* XEP-0199 §4.2: a ping (an iq get) to the server gets an empty
 * result. A set means nothing here. */
static enum sm_verdict ping_host(struct sm_event *ev, void *data)
{
	if (!sm_stanza_is_type(ev->st, "get")) {
		sm_deliver_error(ev->sm, ev->st, "bad-request");
		return SM_DONE;
	}
	struct xml_node *r = sm_stanza_result_new(ev->st);
	if (r)
		sm_deliver_xml(ev->sm, r);
	return SM_DONE;
}

static int ping_init(struct sm *sm)
{
	return sm_module_hook(sm, SM_EV_IQ_HOST, NS_PING, 0, ping_host, NULL);
}

const struct sm_module sm_module_ping = {
	.name = "ping",
	.on_by_default = true,
	.features = (const char *const[]){NS_PING, NULL},
	.init = ping_init,
};
