/* send: the sm's way out. Stanzas for a local session's client or for
 * another domain, serialized once into sm->out, and the frames that
 * carry them to the router, kept in a backlog while the link is full. */
#ifndef PALABRE_SM_SEND_H
#define PALABRE_SM_SEND_H

#include <stddef.h>
#include <stdint.h>

#include "../../lib/xml.h"

struct sm;
struct session;

/* What sm->send answers. */
enum sm_send_status {
	SM_SEND_OK = 0,
	/* The link's queue is full: the sm keeps the frame (send.c) and
	 * hands it again after sm_send_drained. */
	SM_SEND_FULL = 1,
	/* Closed, or a frame that cannot be encoded: dropped. */
	SM_SEND_FAILED = -1,
};

/* Frames the router link refused wait in the sm's backlog (send.c), up
 * to this many bytes; past it, messages and iq requests are bounced to
 * their local sender with resource-constraint, and the rest dropped. */
#define SM_BACKLOG_MAX (4u << 20)
/* Room beyond SM_BACKLOG_MAX for those bounces (small: no payload). */
#define SM_BACKLOG_BOUNCES (1u << 20)

/* Serializes xml into sm->out (reused), with jabber:client as its
 * parent namespace, so that the top element carries no xmlns: the
 * payload of FRAME_STANZA. Returns 0, or -1 (memory, logged). */
int sm_send_serialize(struct sm *sm, const struct xml_node *xml);

/* Sends xml, or its serialized bytes, to a local session's client. */
int sm_send_stanza(struct sm *sm, struct session *s,
		   const struct xml_node *xml);
int sm_send_stanza_bytes(struct sm *sm, struct session *s, const char *bytes,
			 size_t len);
/* Sends xml to another domain: the router knows who serves it (muc, a
 * component, s2s for the rest) or answers FRAME_NO_ROUTE. */
int sm_send_remote(struct sm *sm, const char *domain,
		   const struct xml_node *xml);

/* Sends a frame with to = name, conn and payload, from us. Returns 0
 * when it went or waits in the backlog, -1 when it was dropped or
 * bounced. */
int sm_send(struct sm *sm, uint8_t type, const char *to, size_t to_len,
	    uint64_t conn, const char *payload, size_t payload_len);
/* The router link can take frames again: hands it the backlog, as much
 * as it takes; once it is empty, reading starts again. */
void sm_send_drained(struct sm *sm);
/* Bytes waiting in the backlog. */
size_t sm_send_backlog(const struct sm *sm);

#endif
