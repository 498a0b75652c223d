/* stanza: a stanza as the sm sees it, parsed once, and the replies it
 * builds (results and errors, RFC 6120 §8.2.3, §8.3). */
#ifndef PALABRE_SM_STANZA_H
#define PALABRE_SM_STANZA_H

#include <stdbool.h>
#include <time.h>

#include "../../lib/arena.h"
#include "../../lib/jid.h"
#include "../../lib/xml.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

enum sm_stanza_kind { STANZA_MESSAGE, STANZA_PRESENCE, STANZA_IQ };

struct user;
struct session;

struct stanza {
	struct arena *arena; /* where xml and everything below live */
	struct xml_node *xml;
	enum sm_stanza_kind kind;
	const char *type; /* the 'type' attribute, "" when absent */
	const char *id;   /* NULL when absent */
	struct jid *from; /* NULL when absent */
	struct jid *to;   /* NULL when absent */
	/* iq: its first child element (the one child of a get/set) */
	struct xml_node *payload;
	/* Set by routing for stanzas to local users: */
	struct user *to_user;       /* the recipient, loaded (userdata.h) */
	struct session *to_session; /* the addressed full JID's session */
};

/* Fills st from xml (a message, presence or iq). Returns 0, -1 when xml
 * is not a stanza, -2 when 'to' or 'from' is not a valid JID. */
int sm_stanza_init(struct stanza *st, struct arena *a, struct xml_node *xml);

bool sm_stanza_is_type(const struct stanza *st, const char *type);
/* No 'to', or 'to' is the sender's own bare JID. */
bool sm_stanza_to_self(const struct stanza *st);

/* RFC 6120 §8.3.3: the error type that goes with a defined condition. */
const char *sm_stanza_error_type(const char *condition);

/* The error answering st (RFC 6120 §8.3.1: to/from swapped, same id,
 * type 'error', an <error/> with the condition in NS_STANZAS), or NULL
 * when st is itself an error (never answer an error with an error) or
 * memory ran out. */
struct xml_node *sm_stanza_error_new(const struct stanza *st,
				     const char *condition);
/* The same with a <text/> that says why, for people (RFC 6120
 * §8.3.2). */
struct xml_node *sm_stanza_error_text_new(const struct stanza *st,
					  const char *condition,
					  const char *text);
/* The empty iq result answering iq get/set st; add children to it. */
struct xml_node *sm_stanza_result_new(const struct stanza *st);

/* t as a XEP-0082 DateTime in UTC ("2006-12-19T17:58:35Z"), with a NUL:
 * the stamps of XEP-0203 delays, XEP-0202 entity time. */
#define SM_DATETIME_SIZE 32
void sm_stanza_datetime(time_t t, char out[SM_DATETIME_SIZE]);

#endif
