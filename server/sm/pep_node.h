/* pep_node: what the PEP files share (pep.h has the outside API): the
 * module's state, each owner's nodes as pep_store.c keeps them, the
 * configuration forms of pep_config.c and the notifications of
 * pep_notify.c.
 *
 * Storage: the store "pep" of an owner holds one record per node (key:
 * the node's name), its configuration and its item ids in publication
 * order; the store "pep:NODE" holds the node's items (key: the item id,
 * value: the serialized <item/>). An owner's records are read once,
 * when a request first needs them, and kept in a bounded cache; items
 * are read when asked for. */
#ifndef PALABRE_SM_PEP_NODE_H
#define PALABRE_SM_PEP_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "../../lib/buf.h"
#include "../../lib/hash_table.h"
#include "pep.h"

#define PEP_STORE "pep"
#define PEP_ITEMS_PREFIX "pep:"

struct sm;
struct session;
struct stanza;
struct user;
struct caps_entry;

struct pep_node {
	char *name;
	struct pep_config config;
	char **ids;    /* item ids, oldest first */
	size_t *sizes; /* each item's stored bytes, for the quota */
	size_t nids;
	size_t bytes; /* their sum */
};

struct pep_waiter;

/* One owner's nodes, in the cache. */
struct pep_owner {
	struct hash_link link; /* in pep->owners */
	struct pep *pep;
	char *jid; /* bare */
	struct pep_node **nodes;
	size_t nnodes;
	bool loaded, loading;
	bool running; /* its waiters are running */
	/* What waits for the load, in order. */
	struct pep_waiter *waiting, **waiting_tail;
	unsigned busy;     /* storage requests in flight about this owner */
	unsigned nwaiting; /* in waiting */
	unsigned writes;   /* changes on their way to the disk */
	struct pep_owner *lru_prev, *lru_next; /* most recent first */
	size_t bytes; /* what it holds, for the cache's bound */
};

/* A listener (fn) or a guard of the nodes called node (pep.h). */
struct pep_listener {
	char *node;
	pep_listener_fn fn;
	pep_guard_fn guard;
	void *data;
};

/* The module. */
struct pep {
	struct sm *sm;
	/* Settings (docs/configuration.md). */
	unsigned max_items;       /* pep-max-items: bound of pubsub#max_items */
	size_t max_item_bytes;    /* pep-max-item-bytes */
	size_t max_nodes;         /* pep-max-nodes, per owner */
	size_t quota_bytes;       /* pep-quota-bytes, items per owner */
	char quota_text[96];      /* the error that names it */
	struct hash_table owners; /* struct pep_owner, by bare JID */
	struct pep_owner *lru_first, *lru_last;
	size_t cache_bytes;
	struct pep_listener *listeners;
	size_t nlisteners;
	/* pep_notify.c: remote contacts' available resources. */
	struct hash_table remotes;
	unsigned seq; /* item ids and notification ids */
	struct buf out;
};

/* The owners kept in memory: at most this many bytes of records (nodes,
 * their configuration and item ids), the least recently used dropped
 * first; an owner in use stays. */
#define PEP_CACHE_BYTES (4u << 20)
/* One owner's records at most (item ids mostly): a publish that would
 * pass it is refused, so that an owner always fits in the cache with
 * others and is not read again at each request. */
#define PEP_OWNER_BYTES_MAX (PEP_CACHE_BYTES / 4)
/* An owner's iq requests waiting for its nodes plus its changes waiting
 * for the disk; beyond, a request gets resource-constraint (wait). */
#define PEP_OWNER_QUEUE_MAX 64
/* Bytes of a node name, an item id. */
#define PEP_NAME_MAX 1023

/* ------------------------------------------------------------ pep.c */

struct pep *pep_of(struct sm *sm);

/* ------------------------------------------------------------ pep_store.c */

/* Runs fn(pep, o, ctx) once owner's nodes are loaded (o NULL when they
 * cannot be: storage error, memory); at once if they are. o stays in
 * the cache (pinned) while fn runs and while o->busy. Returns 0, or -1
 * when fn will not run (memory). */
typedef void (*pep_owner_fn)(struct pep *pep, struct pep_owner *o, void *ctx);
int pep_store_with_owner(struct pep *pep, const char *owner, pep_owner_fn fn,
			 void *ctx);
struct pep_node *pep_store_find_node(const struct pep_owner *o,
				     const char *name);
/* A new node of o (no items). NULL on memory exhaustion. */
struct pep_node *pep_store_add_node(struct pep_owner *o, const char *name,
				    const struct pep_config *config);
void pep_store_remove_node(struct pep_owner *o, struct pep_node *n);
/* Adds id, of size stored bytes, as the newest item of n (moved there
 * if n has it). 0/-1. */
int pep_store_add_id(struct pep_node *n, const char *id, size_t size);
/* Whether n has item id; removes it. */
bool pep_store_remove_id(struct pep_node *n, const char *id);
bool pep_store_has_id(const struct pep_node *n, const char *id);
/* The index of item id in n, or -1. */
ssize_t pep_store_id_index(const struct pep_node *n, const char *id);
/* Bytes of o's records in memory (what the cache counts), and what
 * one more item id adds to them. */
size_t pep_store_owner_bytes(const struct pep_owner *o);
size_t pep_store_id_bytes(const char *id);
/* Whether owner's iq requests must wait (PEP_OWNER_QUEUE_MAX). */
bool pep_store_owner_full(struct pep *pep, const char *owner);
/* Adds to b the put of n's record in o's store. 0/-1. */
int pep_store_put_node(struct storage_batch *b, const struct pep_owner *o,
		       const struct pep_node *n);
/* The store of n's items: "pep:" and its name, in out. 0/-1. */
int pep_store_items_name(const char *node, struct buf *out);
/* Recounts o's bytes and keeps the cache within its bound. */
void pep_store_touch(struct pep_owner *o);
void pep_store_init(struct pep *pep);
/* Drops every owner (at the module's free). */
void pep_store_free_all(struct pep *pep);

/* ------------------------------------------------------------ pep_node.c */

/* A publish, checked (pep_node_prepare_item). */
struct pep_publish {
	const char *node;
	const char *id;
	const char *item; /* serialized <item id='…'>…</item>, NS_PUBSUB */
	size_t item_len;
	bool has_options;
	struct pep_options options;
	pep_done_fn done;
	void *ctx;
};

/* Checks item (XEP-0060 §7.1.3: one payload, its size) and serializes
 * it into out with its id (the one given, or a new one) for a publish.
 * Returns 0, or -1 with err filled. */
int pep_node_prepare_item(struct pep *pep, const struct xml_node *item,
			  struct buf *out, struct pep_error *err);
/* The operations, on an owner whose nodes are loaded; done may run
 * before they return. */
void pep_node_publish(struct pep *pep, struct pep_owner *o,
		      struct pep_publish *p);
void pep_node_retract(struct pep *pep, struct pep_owner *o, const char *node,
		      const char *id, bool notify, pep_done_fn done, void *ctx);
void pep_node_delete(struct pep *pep, struct pep_owner *o, const char *node,
		     pep_done_fn done, void *ctx);
void pep_node_configure(struct pep *pep, struct pep_owner *o, const char *node,
			const struct pep_options *options, pep_done_fn done,
			void *ctx);
void pep_node_items(struct pep *pep, struct pep_owner *o, const char *node,
		    const char *id, size_t max, pep_items_fn done, void *ctx);
/* An <item/> as stored (NS_PUBSUB), in the event's namespace, in the
 * sm's arena: with its payload, or its id alone (XEP-0060 §6.1.7's
 * pubsub#deliver_payloads false). NULL on memory exhaustion. */
struct xml_node *pep_node_event_item(struct pep *pep, const char *bytes,
				     size_t len, bool payload);

/* ------------------------------------------------------------ pep_config.c */

/* XEP-0163 §3 / XEP-0223 defaults of a new node. */
void pep_config_default(struct pep_config *c);
/* Reads the fields of form (a jabber:x:data submit form) into c,
 * setting their bits in *fields; form_type is the FORM_TYPE it must
 * have. Returns NULL, or the field that is wrong (var) as an error. */
int pep_config_read_form(const struct pep *pep, const struct xml_node *form,
			 const char *form_type, struct pep_config *c,
			 unsigned *fields, const char **why);
/* Appends to parent the pubsub#node_config form of c. 0/-1. */
int pep_config_add_form(struct arena *a, struct xml_node *parent,
			const struct pep_config *c);
/* Record text of c, and back. */
int pep_config_encode(const struct pep_config *c, struct buf *out);
int pep_config_decode(struct pep_config *c, const char *text);
/* Whether c has the values options gives (§7.1.5 preconditions). */
bool pep_config_meets(const struct pep_config *c,
		      const struct pep_options *options);
/* c with options' fields set. */
void pep_config_apply(struct pep_config *c, const struct pep_options *options);

/* ------------------------------------------------------------ pep_notify.c */

/* Notifies every recipient of owner's node (XEP-0163 §4: the owner's
 * available resources and contacts whose caps ask for NODE+notify)
 * with event, a pubsub#event <items/> or <delete/> element. */
void pep_notify_event(struct pep *pep, const char *owner,
		      const struct pep_node *n, const struct xml_node *event);
/* Remote contacts' resources (pep_notify.c): per owner while online. */
void pep_notify_free_remotes(struct pep *pep);
int pep_notify_init(struct pep *pep);

#endif
