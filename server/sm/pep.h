/* pep: XEP-0163 Personal Eventing Protocol, every account's own pubsub
 * service (the subset of XEP-0060 that clients use), and the internal
 * API that other modules build on: XEP-0402 bookmarks (the user's node
 * urn:xmpp:bookmarks:1) and XEP-0398 avatars (urn:xmpp:avatar:data and
 * :metadata).
 *
 * Files: pep.c (the module, iq pubsub requests and their answers),
 * pep_node.c (the operations below: publish, retract, items, delete,
 * configure, with their checks and limits), pep_store.c (each owner's
 * nodes, loaded lazily from storage and kept in a bounded cache),
 * pep_config.c (node configuration and its data forms), pep_notify.c
 * (notifications, their recipients, the last item), caps.c (XEP-0115).
 *
 * Every function below runs on the sm's loop. A completion may run
 * before the call returns (an error found at once, an owner already in
 * memory); what it is given is valid during the call only. */
#ifndef PALABRE_SM_PEP_H
#define PALABRE_SM_PEP_H

#include <stdbool.h>
#include <stddef.h>

#include "../../lib/xml.h"
#include "../../storage/storage.h"

#define NS_PUBSUB "http://jabber.org/protocol/pubsub"
#define NS_PUBSUB_OWNER "http://jabber.org/protocol/pubsub#owner"
#define NS_PUBSUB_EVENT "http://jabber.org/protocol/pubsub#event"
#define NS_PUBSUB_ERRORS "http://jabber.org/protocol/pubsub#errors"

struct sm;

/* XEP-0060 §4.5 access models that PEP offers (XEP-0163 §5). */
enum pep_access {
	PEP_ACCESS_PRESENCE, /* the default: contacts with from/both */
	PEP_ACCESS_OPEN,
	PEP_ACCESS_WHITELIST, /* the owner only */
};

/* pubsub#send_last_published_item. */
enum pep_send_last {
	PEP_SEND_LAST_NEVER,
	PEP_SEND_LAST_ON_SUB,
	PEP_SEND_LAST_ON_SUB_AND_PRESENCE,
};

/* A node's configuration: the fields of pubsub#node_config we keep. */
struct pep_config {
	enum pep_access access;
	unsigned max_items; /* 1 .. the pep-max-items setting ('max') */
	bool persist_items;
	enum pep_send_last send_last;
	bool notify_retract;
	bool deliver_payloads;
};

/* Which fields of a struct pep_config a form or caller gave. */
enum pep_field {
	PEP_FIELD_ACCESS = 1u << 0,
	PEP_FIELD_MAX_ITEMS = 1u << 1,
	PEP_FIELD_PERSIST = 1u << 2,
	PEP_FIELD_SEND_LAST = 1u << 3,
	PEP_FIELD_NOTIFY_RETRACT = 1u << 4,
	PEP_FIELD_DELIVER_PAYLOADS = 1u << 5,
	/* pubsub#notify_delete: always true here (pep_node_delete notifies,
	 * XEP-0060 §8.4.2), so checked when read, never stored. */
	PEP_FIELD_NOTIFY_DELETE = 1u << 6,
};

/* XEP-0060 §7.1.5 publish options: preconditions on an existing node,
 * the configuration of one that publish creates. */
struct pep_options {
	unsigned fields; /* enum pep_field bits */
	struct pep_config config;
	/* Of fields, those that only configure a node the publish creates,
	 * not required of an existing one: a module's defaults (bookmarks
	 * asks an existing node for whitelist access only). */
	unsigned create_only;
};

/* Why an operation failed, as XEP-0060 says to answer it: a stanza
 * error condition (RFC 6120 §8.3.3), a pubsub#errors condition or
 * NULL, and a text for people or NULL. */
struct pep_error {
	const char *condition;
	const char *pubsub;
	const char *text;
};

struct stanza;

/* Answers st with err (XEP-0060 §7.1.3 and the like: a stanza error
 * with a pubsub-specific condition and a text, when err has them). */
void pep_deliver_error(struct sm *sm, const struct stanza *st,
		       const struct pep_error *err);

/* err NULL: done, and durable (what a write changed survives kill -9). */
typedef void (*pep_done_fn)(struct sm *sm, void *ctx,
			    const struct pep_error *err);
/* items: serialized <item id='…'>payload</item> elements (namespace
 * NS_PUBSUB), oldest first; NULL with err. */
typedef void (*pep_items_fn)(struct sm *sm, void *ctx,
			     const struct pep_error *err,
			     const struct storage_items *items);

/* Publishes item (an <item/> element, its one child the payload; its
 * 'id' attribute, or a new one, names it) to owner's node, creating the
 * node (XEP-0163 §3: auto-create) with options if it does not exist, or
 * failing with conflict + precondition-not-met if an existing node's
 * configuration differs from options (XEP-0060 §7.1.5). options may be
 * NULL. Notifies (pep_notify.c) and the listeners of node once durable,
 * then calls done. Returns 0, or -1 when done was not and will not be
 * called (memory). */
int pep_publish(struct sm *sm, const char *owner, const char *node,
		const struct xml_node *item, const struct pep_options *options,
		pep_done_fn done, void *ctx);
/* Retracts item id of owner's node (XEP-0060 §7.2), notifying
 * retraction when notify and the node's pubsub#notify_retract say so. */
int pep_retract(struct sm *sm, const char *owner, const char *node,
		const char *id, bool notify, pep_done_fn done, void *ctx);
/* The items of owner's node (XEP-0060 §6.5): item id alone (NULL:
 * every item), at most max of the most recent (0: no limit). No access
 * check: the caller is the owner or decided. */
int pep_items(struct sm *sm, const char *owner, const char *node,
	      const char *id, size_t max, pep_items_fn done, void *ctx);

/* Hears every publish (item) and retraction (item NULL) of a node of
 * that name, any owner, once durable: bookmarks keeps XEP-0048's copy in
 * sync, avatars its vCard hash. Returns 0 or -1. */
typedef void (*pep_listener_fn)(struct sm *sm, const char *owner,
				const char *node, const char *id,
				const struct xml_node *item, void *data);
int pep_listen(struct sm *sm, const char *node, pep_listener_fn fn, void *data);

/* Checks every publish to a node of that name, any owner, before it is
 * taken, the iq's and the API's alike: item is the <item/> with its id,
 * count the items the node holds and max its pubsub#max_items (0 and 0
 * when the publish creates it), replaces whether the item's id is one
 * of them. Returns NULL to let it be, or the error the publish fails
 * with, valid until the guard's next call (bookmarks: XEP-0402's
 * payload and the number of bookmarks, refused rather than the oldest
 * trimmed). Returns 0 or -1. */
typedef const struct pep_error *(*pep_guard_fn)(struct sm *sm,
						const char *owner,
						const struct xml_node *item,
						size_t count, size_t max,
						bool replaces, void *data);
int pep_guard(struct sm *sm, const char *node, pep_guard_fn fn, void *data);

#endif
