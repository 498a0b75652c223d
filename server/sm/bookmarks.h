/* bookmarks: XEP-0402 PEP Native Bookmarks, kept in step with the two
 * older homes of XEP-0048 bookmarks: private storage (XEP-0049, the
 * "#compat" of XEP-0402 §5.3) and the PEP node storage:bookmarks
 * (XEP-0223, "#compat-pep"; XEP-0411's conversion).
 *
 * The node urn:xmpp:bookmarks:1 is where bookmarks live: one item per
 * room, its id the room's JID. The older forms are views of it. A read
 * of either (a private get of storage:bookmarks, an items request of
 * the node storage:bookmarks by its owner) is answered from the :1
 * node, with the <url/> bookmarks that only the private copy holds
 * (XEP-0402 §1: "Storage of URL bookmarks is therefore out of scope"),
 * so that it always says what was acknowledged, whichever form wrote
 * it. A write of either (a private set, a publish to storage:bookmarks)
 * publishes the conferences that changed to the :1 node and retracts
 * those that went (§5.3.2), stores the private copy and republishes the
 * storage:bookmarks item, and is answered once all of it is durable.
 * A change of the :1 node (a client publishes or retracts an item)
 * brings both copies in step after it: the private copy (what a server
 * without this module would answer, and the <url/>s' home) and the
 * storage:bookmarks item (whose notifications reach the clients that
 * use it: XEP-0411 §3).
 *
 * Files: bookmarks.c (the module: its hooks, the guard and listener of
 * the :1 node, options), bookmarks_sync.c (each user's jobs, one at a
 * time: read, convert, write, answer), bookmarks_apply.c (a XEP-0048
 * list written, as the :1 node's publishes and retractions),
 * bookmarks_convert.c (a bookmark in each form). */
#ifndef PALABRE_SM_BOOKMARKS_H
#define PALABRE_SM_BOOKMARKS_H

#include <stdbool.h>
#include <stddef.h>

#include "../../lib/arena.h"
#include "../../lib/hash_table.h"
#include "../../lib/xml.h"
#include "../../storage/storage.h"
#include "pep.h"

#define NS_BOOKMARKS "urn:xmpp:bookmarks:1"
#define NS_BOOKMARKS_LEGACY "storage:bookmarks"
/* XEP-0048 §3.1: the one item of the storage:bookmarks node. */
#define BOOKMARKS_LEGACY_ITEM "current"

struct sm;

/* One bookmarked room, whatever form it came in. */
struct bookmark {
	char *id;  /* the :1 item id: the room's JID */
	char *key; /* id prepared, to match a room across forms */
	char *name, *nick, *password; /* NULL when absent */
	bool autojoin;
	/* <extensions xmlns='urn:xmpp:bookmarks:1'> and its elements,
	 * serialized; NULL without any. */
	char *extensions;
};

struct bookmark_list {
	struct bookmark *v;
	size_t n;
};

/* ------------------------------------------------------------ convert */

/* Reads a :1 item (<item id='room'><conference/></item>). Returns 0,
 * 1 when it is not a bookmark (another payload, an id that is not a
 * JID), -1 (memory). */
int bookmark_from_item(struct bookmark *b, struct arena *a,
		       const struct xml_node *item);
/* Reads a XEP-0048 <conference/>. Returns as bookmark_from_item; 1 for
 * one whose jid is missing or not a JID. */
int bookmark_from_conference(struct bookmark *b, struct arena *a,
			     const struct xml_node *conference);
/* The :1 item of b, in NS_PUBSUB. NULL on memory exhaustion. */
struct xml_node *bookmark_item_new(struct arena *a, const struct bookmark *b);
/* b as a XEP-0048 <conference/>. */
struct xml_node *bookmark_conference_new(struct arena *a,
					 const struct bookmark *b);
/* Whether a and b say the same of their room (the id aside). */
bool bookmark_equal(const struct bookmark *a, const struct bookmark *b);
void bookmark_free(struct bookmark *b);

/* Adds the conferences of a <storage xmlns='storage:bookmarks'/> to l:
 * a room given twice counts once, as its last <conference/> says.
 * Returns how many were skipped (bookmark_from_conference's 1), or -1
 * (memory). */
long bookmark_list_read_storage(struct bookmark_list *l, struct arena *a,
				const struct xml_node *storage);
/* Adds the bookmarks of a :1 node's items (pep_items) to l, in their
 * order; those that are not bookmarks are left out. 0 or -1. */
int bookmark_list_read_items(struct bookmark_list *l, struct arena *a,
			     const struct storage_items *items);
struct bookmark *bookmark_list_find(const struct bookmark_list *l,
				    const char *key);
void bookmark_list_free(struct bookmark_list *l);
/* <storage xmlns='storage:bookmarks'> with l's conferences, then the
 * <url/> elements of urls (a storage element, or NULL). */
struct xml_node *bookmark_storage_new(struct arena *a,
				      const struct bookmark_list *l,
				      const struct xml_node *urls);

/* ------------------------------------------------------------ sync */

/* The module's state. */
struct bookmarks {
	struct sm *sm;
	/* Settings (docs/configuration.md): sm/bookmarks-max, and pep's
	 * that bound what the nodes hold. */
	size_t max;
	size_t pep_max_items, pep_max_item_bytes;
	bool attached; /* the guard and listener of the :1 node are set */
	struct hash_table users; /* struct bookmarks_user, while it has jobs */
	/* The guard's answer (pep.h: valid until its next call). */
	struct pep_error refused;
	char why[160];
};

/* What a job does: bring the copies in step after a change of the :1
 * node, answer a read of an older form, or apply a write of one. */
enum bookmarks_job_kind {
	BOOKMARKS_SYNC,
	BOOKMARKS_GET_PRIVATE,
	BOOKMARKS_GET_PEP,
	BOOKMARKS_SET_PRIVATE,
	BOOKMARKS_SET_PEP,
};

/* Queues a job of user's (a bare JID): iq, the request to answer
 * (serialized, NULL for a sync), given, for a write, the <storage/>
 * written (serialized). A sync is queued once: one that waits already
 * covers a later change. Returns 0, or -1 when it cannot be (memory, a
 * user with too many jobs waiting: the caller answers). */
int bookmarks_sync_queue(struct bookmarks *bm, const char *user,
			 enum bookmarks_job_kind kind, const char *iq,
			 size_t iq_len, const char *given, size_t given_len);
void bookmarks_sync_init(struct bookmarks *bm);
/* Drops the jobs left (none: the storage's completions have run). */
void bookmarks_sync_free(struct bookmarks *bm);
/* The number of bookmarks a user may have: sm/bookmarks-max, within
 * what a :1 node keeps (pep-max-items). */
size_t bookmarks_max(const struct bookmarks *bm);

/* ------------------------------------------------------------ apply */

/* Publishes to user's :1 node the bookmarks of desired that current
 * does not hold as they are, and retracts those of current that
 * desired has not (XEP-0402 §5.3.2: "update the individual items as
 * required, sending updates or retraction notifications as needed");
 * retractions first, so that the number of items stays within the
 * limit. done hears each, once durable; *pending counts them. Returns
 * how many were made. desired's ids become the items' ids. */
size_t bookmarks_apply(struct bookmarks *bm, const char *user,
		       const struct bookmark_list *current,
		       struct bookmark_list *desired, pep_done_fn done,
		       void *ctx, size_t *pending);

/* ------------------------------------------------------------ module */

/* The error of a write past limit, the number of bookmarks a user may
 * have: for a pubsub request XEP-0060 §13.11's not-allowed with
 * max-items-exceeded, else policy-violation as private storage's own
 * limits; with a text that gives limit. Valid until the next call. */
const struct pep_error *bookmarks_too_many(struct bookmarks *bm, bool pubsub,
					   size_t limit);

#endif
