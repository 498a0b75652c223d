/* delivery: which event a stanza is (RFC 6121 §8, RFC 6120 §10), and the
 * core's default handlers of those events. */
#ifndef PALABRE_SM_DELIVERY_H
#define PALABRE_SM_DELIVERY_H

#include "../../lib/xml.h"

struct sm;
struct session;
struct stanza;

struct user;

/* The priority of the resources that a chat or normal message to u's
 * bare JID goes to (RFC 6121 §8.5.2.1.1: every available resource of
 * that priority), or -1 when none is available with a non-negative one
 * (§8.5.2.2.1: offline). For carbons.c, which copies to the others. */
int sm_deliver_bare_priority(const struct user *u);

/* Hooks the core's default handlers (the delivery rules). */
int sm_delivery_init(struct sm *sm);

/* Routes st; origin is the local session that sent it, or NULL. */
void sm_deliver_stanza(struct sm *sm, struct stanza *st,
		       struct session *origin);
/* Routes a stanza built by the server (a result, an error, a push) from
 * the server: xml must live in sm->arena or outlive the call. */
void sm_deliver_xml(struct sm *sm, struct xml_node *xml);
/* Answers st with an error (nothing when st is an error). */
void sm_deliver_error(struct sm *sm, const struct stanza *st,
		      const char *condition);
/* The same with a <text/> for the person who reads it (RFC 6120
 * §8.3.2): what was wrong, a limit's value. */
void sm_deliver_error_text(struct sm *sm, const struct stanza *st,
			   const char *condition, const char *text);

#endif
