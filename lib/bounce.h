/* bounce: the error a sender gets for a stanza a transport (s2s, an
 * external component's process) cannot deliver (RFC 6120 §8.3): the
 * stanza comes back from its 'to' with type 'error' and the condition,
 * its content kept so that the sender's client can tell which one
 * failed. */
#ifndef PALABRE_BOUNCE_H
#define PALABRE_BOUNCE_H

#include <stddef.h>

#include "arena.h"
#include "buf.h"
#include "jid.h"

/* Builds into out the error answering the serialized stanza xml (its
 * default namespace jabber:client, as on the router link), with
 * condition (RFC 6120 §8.3.3, its type the one §8.3.3 gives) and text
 * when not NULL; *sender is the stanza's 'from', where the error goes.
 * Returns 1 when built, 0 when the stanza is not to be answered (an
 * error, a result, presence; or no 'from' or 'to'), -1 when out of
 * memory. */
int bounce_stanza(struct arena *a, const char *xml, size_t len,
		  const char *condition, const char *text, struct jid *sender,
		  struct buf *out);

#endif
