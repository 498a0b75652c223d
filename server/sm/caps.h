/* caps: the sm's cache of XEP-0115 Entity Capabilities, for PEP's
 * filtered notifications (XEP-0163 §4, XEP-0060 §9.2).
 *
 * A presence with <c xmlns='http://jabber.org/protocol/caps' hash='sha-1'
 * node='…' ver='…'/> names its sender's features by their hash. The
 * cache keeps one entry per ver, process-wide (ver strings interned, at
 * most CAPS_CACHE_MAX, the least recently used unreferenced ones
 * dropped); for a ver it has not verified, it sends a disco#info query
 * (§6.2) to each entity that announces it (one that does not answer
 * must not hold the ver for the others), checks the first answer whose
 * hash matches (§5.4) and only then keeps its features.
 * A session holds a pointer to its entry (struct session's caps); what
 * waited for the answer hears of it through caps_listen. */
#ifndef PALABRE_SM_CAPS_H
#define PALABRE_SM_CAPS_H

#include <stdbool.h>

struct sm;
struct stanza;
struct caps_entry;

#define CAPS_CACHE_MAX 4096
/* Entities waiting for one ver's answer. */
#define CAPS_WAITERS_MAX 16
/* An entity asked is asked again, when it announces the ver again,
 * after this long. */
#define CAPS_QUERY_TIMEOUT 30

/* The entry of the caps of presence st, from full JID jid, held (one
 * reference, caps_release), or NULL when it has none (or an unknown
 * hash). If the ver is not verified yet, a query goes (or is in
 * flight) and (jid, owner) waits for it: owner is the local user who
 * received the presence from a remote contact, NULL for a local
 * session's own presence. */
struct caps_entry *caps_learn(struct sm *sm, const struct stanza *st,
			      const char *jid, const char *owner);
void caps_release(struct sm *sm, struct caps_entry *e);
/* Whether e's features are known (verified). */
bool caps_verified(const struct caps_entry *e);
/* Whether e is verified and lists feature. */
bool caps_has_feature(const struct caps_entry *e, const char *feature);
/* XEP-0163 §4.2: whether e lists NODE+notify. */
bool caps_wants_notify(const struct caps_entry *e, const char *node);

/* Told, for each (jid, owner) that waited, that e is now verified. */
typedef void (*caps_resolved_fn)(struct sm *sm, const char *jid,
				 const char *owner, struct caps_entry *e,
				 void *data);
/* One listener (the pep module). Returns 0, -1 when the caps module is
 * off. */
int caps_listen(struct sm *sm, caps_resolved_fn fn, void *data);

#endif
