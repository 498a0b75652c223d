/* legacy_session: RFC 3921 §3 session establishment, which RFC 6121
 * Appendix E dropped but older clients (Psi …) still send after binding.
 * Always on: the session exists already, so the answer is an empty
 * result. */
#include "module.h"
#include "route.h"
#include "sm.h"
#include "stanza.h"

#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"

/* Sent without 'to' (the account) or to the server: clients did both. */
static enum sm_verdict session_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	if (sm_stanza_is_type(st, "set")) {
		struct xml_node *r = sm_stanza_result_new(st);
		if (r)
			sm_route_xml(ev->sm, r);
	} else if (sm_stanza_is_type(st, "get")) {
		sm_route_error(ev->sm, st, "service-unavailable");
	}
	return SM_DONE;
}

static int legacy_session_init(struct sm *sm)
{
	if (sm_module_hook(sm, SM_EV_IQ_BARE, NS_SESSION, 0, session_iq,
			   NULL) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_HOST, NS_SESSION, 0, session_iq,
			   NULL) < 0)
		return -1;
	return 0;
}

const struct sm_module sm_module_legacy_session = {"legacy-session",
						   legacy_session_init};
