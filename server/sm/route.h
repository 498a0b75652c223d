/* route: where a stanza goes (RFC 6121 §8, RFC 6120 §10), and the
 * means of getting it there. */
#ifndef PALABRE_SM_ROUTE_H
#define PALABRE_SM_ROUTE_H

#include <stddef.h>

#include "../../lib/frame.h"
#include "../../lib/xml.h"

struct sm;
struct session;
struct stanza;

/* Hooks the core's default handlers (the delivery rules). */
int sm_route_init(struct sm *sm);

/* Routes st; origin is the local session that sent it, or NULL. */
void sm_route_stanza(struct sm *sm, struct stanza *st, struct session *origin);
/* Routes a stanza built by the server (a result, an error, a push) from
 * the server: xml must live in sm->arena or outlive the call. */
void sm_route_xml(struct sm *sm, struct xml_node *xml);
/* Answers st with an error (nothing when st is an error). */
void sm_route_error(struct sm *sm, const struct stanza *st,
		 const char *condition);

/* Sends xml to a local session's client / to another domain. */
int sm_route_deliver(struct sm *sm, struct session *s,
		  const struct xml_node *xml);
int sm_route_deliver_bytes(struct sm *sm, struct session *s, const char *bytes,
			size_t len);
int sm_route_remote(struct sm *sm, const char *domain,
		 const struct xml_node *xml);

/* Frames: a stanza from the router, parsed into st with its origin
 * (the local session that sent it, or NULL): 0, or -1 when it was
 * dropped or answered (not a stanza, no session, bad JID); then a
 * stanza that found no route. */
int sm_route_frame_parse(struct sm *sm, const struct frame *f,
			 struct stanza *st, struct session **origin);
void sm_route_frame_no_route(struct sm *sm, const struct frame *f);

#endif
