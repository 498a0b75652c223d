/* private: XEP-0049 Private XML Storage (private.c), and its items for
 * other modules: a bookmarks module keeps XEP-0048's storage:bookmarks
 * here in step with its XEP-0402 PEP node.
 *
 * An item is one namespace's elements of one user, kept as their
 * <query xmlns='jabber:iq:private'>, serialized (the value of the
 * "private" store under the namespace as key). A user's requests run
 * one at a time, in the order made, whoever makes them: what one reads
 * comes after every write asked for before it. Nothing is loaded at
 * login; each request reads what it needs. */
#ifndef PALABRE_SM_PRIVATE_H
#define PALABRE_SM_PRIVATE_H

#include <stddef.h>

#define NS_PRIVATE "jabber:iq:private"

struct sm;

enum sm_private_status {
	SM_PRIVATE_OK = 0,
	SM_PRIVATE_ERROR = -1, /* the storage failed (logged) */
	/* A put of a namespace not stored yet, past sm/private-namespaces
	 * of the user's: nothing was written. */
	SM_PRIVATE_TOO_MANY = -2,
};

/* value (len bytes): the item, a <query xmlns='jabber:iq:private'>
 * holding the namespace's elements; NULL when none is stored. Valid
 * during the call. */
typedef void (*sm_private_get_cb)(struct sm *sm, void *ctx,
				  enum sm_private_status status,
				  const char *value, size_t len);
/* Called once the write is durable (or refused, or failed). */
typedef void (*sm_private_put_cb)(struct sm *sm, void *ctx,
				  enum sm_private_status status);

/* Reads the item of namespace ns of user (a bare JID, prepared).
 * Returns 0, or -1 when it could not be asked (the module is off, no
 * storage, memory, too many requests of that user waiting): then cb is
 * not called. After 0, cb is called from a storage completion, never
 * before this returns. */
int sm_private_get(struct sm *sm, const char *user, const char *ns,
		   sm_private_get_cb cb, void *ctx);
/* Stores value (a query as above, at most sm/private-item-bytes: the
 * caller checks, sm_private_item_max) as the item of ns, replacing it.
 * Returns as sm_private_get. */
int sm_private_put(struct sm *sm, const char *user, const char *ns,
		   const char *value, size_t len, sm_private_put_cb cb,
		   void *ctx);
struct buf;
struct stanza;

/* The item of st, an iq set of private storage: its query, serialized
 * into out. Returns 0, or -1 after answering st with the error (the
 * query is larger than sm/private-item-bytes). */
int sm_private_item(struct sm *sm, const struct stanza *st, struct buf *out);
/* sm/private-item-bytes and sm/private-namespaces; 0 when the module
 * is off. */
size_t sm_private_item_max(const struct sm *sm);
size_t sm_private_namespaces_max(const struct sm *sm);

/* ---- private.c's own: the module's state (private_store.c) ----------- */

struct private_store;

struct private_store *private_store_new(struct sm *sm, size_t item_max,
					size_t namespaces_max);
void private_store_free(struct private_store *store);

#endif
