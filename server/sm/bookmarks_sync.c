/* bookmarks_sync: each user's bookmarks jobs (bookmarks.h), one at a
 * time in the order asked, so that a read follows the writes asked for
 * before it and two writes never mix. A job is a chain of reads and
 * writes through private.h and pep.h:
 *
 *   1. the private copy of storage:bookmarks (its <url/>s, and what a
 *      server without this module kept);
 *   2. the :1 node's items; a write of an older form, or a copy made
 *      before the :1 node existed (the module was off), is applied to
 *      them first: items published or retracted, then read again;
 *   3. the <storage/> built from them, which answers a read;
 *   4. the private copy and the storage:bookmarks item, each written
 *      only if it differs (XEP-0402 §5.3.2: "SHOULD NOT send
 *      notifications for unchanged items");
 *   5. the answer to a write, once all of it is durable.
 *
 * A read repairs what a crash left behind (a :1 change acknowledged,
 * its copies not written yet): its step 4 writes them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "bookmarks.h"
#include "delivery.h"
#include "private.h"
#include "sm.h"
#include "stanza.h"

/* Jobs of one user waiting at once; past it a request is refused with
 * resource-constraint (a client that floods). A sync is always taken:
 * one waits at most. */
#define BOOKMARKS_JOBS_MAX 16

static const struct pep_error bookmarks_error_internal = {
	"internal-server-error", NULL, NULL};

/* One user's jobs; the first is the one running. */
struct bookmarks_user {
	struct hash_link link;
	struct bookmarks *bm;
	char *jid;
	struct bookmarks_job *head, **tail;
	size_t n;
	bool sync_waiting; /* a sync waits, not started */
};

struct bookmarks_job {
	struct bookmarks_job *next;
	struct bookmarks_user *user;
	enum bookmarks_job_kind kind;
	char *iq, *given; /* serialized; NULL when none */
	size_t iq_len, given_len;
	char *copy; /* the private copy read (a <query/>); NULL: none */
	size_t copy_len;
	struct bookmark_list current; /* the :1 node's */
	bool missing;                 /* no :1 node */
	bool applied;                 /* step 2's writes are done */
	bool answered;
	size_t pending;          /* writes in flight */
	struct pep_error failed; /* the first failure, to answer */
	char text[160];
	struct buf built; /* step 3's private copy, a <query/> */
};

/* ------------------------------------------------------------ users */

static struct bookmarks_user *user_of(const struct hash_link *l)
{
	return hash_entry(l, struct bookmarks_user, link);
}

static uint64_t bookmarks_user_hash(const struct hash_link *l)
{
	return hash_string(user_of(l)->jid);
}

static bool bookmarks_user_match(const struct hash_link *l, const void *jid)
{
	return strcmp(user_of(l)->jid, jid) == 0;
}

static struct bookmarks_user *bookmarks_user_get(struct bookmarks *bm,
						 const char *jid)
{
	uint64_t hash = hash_string(jid);
	struct hash_link *l =
		hash_table_find(&bm->users, hash, bookmarks_user_match, jid);
	struct bookmarks_user *u = l ? user_of(l) : calloc(1, sizeof *u);
	if (l || !u)
		return u;
	*u = (struct bookmarks_user){.bm = bm, .jid = strdup(jid)};
	u->tail = &u->head;
	if (!u->jid || hash_table_insert(&bm->users, &u->link, hash) < 0) {
		free(u->jid);
		free(u);
		return NULL;
	}
	return u;
}

static void bookmarks_user_free(struct bookmarks_user *u)
{
	hash_table_remove(&u->bm->users, &u->link);
	free(u->jid);
	free(u);
}

static void bookmarks_job_free(struct bookmarks_job *job)
{
	free(job->iq);
	free(job->given);
	free(job->copy);
	bookmark_list_free(&job->current);
	buf_free(&job->built);
	free(job);
}

/* ------------------------------------------------------------ answers */

/* The job's request, parsed again into the sm's arena. 0 or -1. */
static int bookmarks_job_stanza(struct bookmarks_job *job, struct stanza *st)
{
	struct sm *sm = job->user->bm->sm;
	struct xml_node *xml =
		xml_parse(&sm->arena, job->iq, job->iq_len, XML_NS_CLIENT);
	return xml && sm_stanza_init(st, &sm->arena, xml) == 0 ? 0 : -1;
}

static void bookmarks_job_fail(struct bookmarks_job *job,
			       const struct pep_error *err)
{
	if (job->failed.condition)
		return; /* the first says what went wrong */
	job->failed = *err;
	snprintf(job->text, sizeof job->text, "%s", err->text ? err->text : "");
	job->failed.text = err->text ? job->text : NULL;
}

/* The answer a job still owes at its end: its failure, or a write's
 * result (XEP-0049 §2.3's empty one; XEP-0060 §7.1.2's, Example 101,
 * with the item's id). */
static void bookmarks_answer_end(struct bookmarks_job *job)
{
	struct sm *sm = job->user->bm->sm;
	struct stanza st;
	if (!job->iq || job->answered || bookmarks_job_stanza(job, &st) < 0)
		return;
	struct arena *a = st.arena;
	struct xml_node *res = sm_stanza_result_new(&st), *p, *pub, *it;
	if (job->failed.condition)
		pep_deliver_error(sm, &st, &job->failed);
	else if (job->kind == BOOKMARKS_SET_PRIVATE && res)
		sm_deliver_xml(sm, res);
	else if (res && (p = xml_add_child(a, res, NS_PUBSUB, "pubsub")) &&
		 (pub = xml_add_child(a, p, NS_PUBSUB, "publish")) &&
		 xml_set_attr(a, pub, "node", NS_BOOKMARKS_LEGACY) == 0 &&
		 (it = xml_add_child(a, pub, NS_PUBSUB, "item")) &&
		 xml_set_attr(a, it, "id", BOOKMARKS_LEGACY_ITEM) == 0)
		sm_deliver_xml(sm, res);
}

/* A read's answer, storage: XEP-0049 §2.3's query, or XEP-0060 §6.5.2's
 * items (Example 78) with XEP-0048 §3.3's one item. Without any
 * bookmark ever stored, the node storage:bookmarks does not exist:
 * item-not-found (XEP-0060 §6.5.9.11). */
static void bookmarks_answer_get(struct bookmarks_job *job,
				 struct xml_node *query,
				 struct xml_node *storage)
{
	struct sm *sm = job->user->bm->sm;
	struct stanza st;
	if (bookmarks_job_stanza(job, &st) < 0)
		return;
	struct arena *a = st.arena;
	struct xml_node *res = sm_stanza_result_new(&st), *p, *its, *it;
	job->answered = true;
	if (job->kind == BOOKMARKS_GET_PRIVATE && res) {
		xml_append_child(res, query);
		sm_deliver_xml(sm, res);
	} else if (job->missing && !job->copy) {
		sm_deliver_error(sm, &st, "item-not-found");
	} else if (res && (p = xml_add_child(a, res, NS_PUBSUB, "pubsub")) &&
		   (its = xml_add_child(a, p, NS_PUBSUB, "items")) &&
		   xml_set_attr(a, its, "node", NS_BOOKMARKS_LEGACY) == 0 &&
		   (it = xml_add_child(a, its, NS_PUBSUB, "item")) &&
		   xml_set_attr(a, it, "id", BOOKMARKS_LEGACY_ITEM) == 0) {
		xml_remove_child(query, storage);
		xml_append_child(it, storage);
		sm_deliver_xml(sm, res);
	}
}

/* ------------------------------------------------------------ the chain */

static int bookmarks_job_start(struct bookmarks_job *job);
static void bookmarks_read_current(struct bookmarks_job *job);

/* The job is over: it is answered, the next job starts. */
static void bookmarks_job_finish(struct bookmarks_job *job)
{
	struct bookmarks_user *u = job->user;
	for (;;) {
		bookmarks_answer_end(job);
		if (!(u->head = job->next))
			u->tail = &u->head;
		u->n--;
		bookmarks_job_free(job);
		if (!(job = u->head) || bookmarks_job_start(job) == 0)
			break;
		/* It cannot even start: it fails as a whole. */
		bookmarks_job_fail(job, &bookmarks_error_internal);
	}
	if (!u->head)
		bookmarks_user_free(u);
}

/* Step 4b: the storage:bookmarks item written, or not. */
static void bookmarks_legacy_written(struct sm *sm, void *ctx,
				     const struct pep_error *err)
{
	struct bookmarks_job *job = ctx;
	if (err) {
		/* XEP-0411 §5: the node must be the user's alone; one that
		 * a client opened to others is not written ("not doing the
		 * conversion"). */
		log_info("bookmarks: %s: storage:bookmarks not written: %s",
			 job->user->jid,
			 err->text ? err->text : err->condition);
		if (job->kind == BOOKMARKS_SET_PEP)
			bookmarks_job_fail(job, err);
	}
	bookmarks_job_finish(job);
}

/* The <storage/> of step 3, from job->built. */
static struct xml_node *bookmarks_built_storage(struct bookmarks_job *job)
{
	struct sm *sm = job->user->bm->sm;
	struct xml_node *q = xml_parse(&sm->arena, job->built.data,
				       job->built.len, XML_NS_CLIENT);
	return q ? xml_child(q, NS_BOOKMARKS_LEGACY, "storage") : NULL;
}

/* Whether item (the stored storage:bookmarks item) holds storage. */
static bool bookmarks_legacy_same(struct sm *sm,
				  const struct storage_item *item,
				  const struct xml_node *storage)
{
	struct xml_node *it =
		xml_parse(&sm->arena, item->value, item->value_len, NS_PUBSUB);
	struct xml_node *had = it ? xml_child(it, NULL, NULL) : NULL;
	struct buf a = BUF_INIT, b = BUF_INIT;
	bool same = had && xml_serialize(had, NS_PUBSUB, &a) == 0 &&
		    xml_serialize(storage, NS_PUBSUB, &b) == 0 &&
		    a.len == b.len && memcmp(a.data, b.data, a.len) == 0;
	buf_free(&a);
	buf_free(&b);
	return same;
}

/* XEP-0048 §3.1 (Example 3): the item 'current', in a node whose access
 * model is whitelist (XEP-0411 §5: "the user is the only one who has
 * access to that node"). */
static void bookmarks_legacy_publish(struct bookmarks_job *job,
				     struct xml_node *storage)
{
	struct sm *sm = job->user->bm->sm;
	struct pep_options o = {
		.fields = PEP_FIELD_ACCESS | PEP_FIELD_PERSIST,
		.config = {.access = PEP_ACCESS_WHITELIST,
			   .persist_items = true},
	};
	struct xml_node *item = xml_node_new(&sm->arena, NS_PUBSUB, "item");
	if (!item ||
	    xml_set_attr(&sm->arena, item, "id", BOOKMARKS_LEGACY_ITEM) < 0) {
		bookmarks_legacy_written(sm, job, &bookmarks_error_internal);
		return;
	}
	xml_append_child(item, storage);
	if (pep_publish(sm, job->user->jid, NS_BOOKMARKS_LEGACY, item, &o,
			bookmarks_legacy_written, job) < 0)
		bookmarks_legacy_written(sm, job, &bookmarks_error_internal);
}

static void bookmarks_legacy_read(struct sm *sm, void *ctx,
				  const struct pep_error *err,
				  const struct storage_items *items)
{
	struct bookmarks_job *job = ctx;
	bool exists = !err || strcmp(err->condition, "item-not-found") != 0;
	struct xml_node *storage = bookmarks_built_storage(job);
	if ((err && exists) || !storage) {
		log_error("bookmarks: %s: cannot read storage:bookmarks",
			  job->user->jid);
		bookmarks_job_finish(job);
	} else if ((exists || xml_child(storage, NULL, NULL)) &&
		   !(items && items->count &&
		     bookmarks_legacy_same(sm, &items->items[0], storage))) {
		bookmarks_legacy_publish(job, storage);
	} else {
		bookmarks_job_finish(job);
	}
}

/* Step 4b: the storage:bookmarks item, read to compare. */
static void bookmarks_read_legacy(struct bookmarks_job *job)
{
	if (pep_items(job->user->bm->sm, job->user->jid, NS_BOOKMARKS_LEGACY,
		      BOOKMARKS_LEGACY_ITEM, 1, bookmarks_legacy_read, job) < 0)
		bookmarks_job_finish(job);
}

static void bookmarks_copy_written(struct sm *sm, void *ctx,
				   enum sm_private_status status)
{
	struct bookmarks_job *job = ctx;
	if (status != SM_PRIVATE_OK) {
		struct pep_error err = {
			status == SM_PRIVATE_TOO_MANY ? "policy-violation"
						      : "internal-server-error",
			NULL,
			status == SM_PRIVATE_TOO_MANY
				? "private storage holds as many namespaces as "
				  "sm/private-namespaces allows"
				: NULL};
		log_info("bookmarks: %s: the private copy is not written",
			 job->user->jid);
		bookmarks_job_fail(job, &err);
	}
	bookmarks_read_legacy(job);
	arena_reset(&sm->arena);
}

/* Step 4a: the private copy, if it differs and there is one or any
 * bookmark; within sm/private-item-bytes, else left as it is (what
 * reads answer comes from the :1 node). */
static void bookmarks_write_copy(struct bookmarks_job *job, bool any)
{
	struct bookmarks_user *u = job->user;
	const struct buf *b = &job->built;
	bool same = job->copy && job->copy_len == b->len &&
		    memcmp(job->copy, b->data, b->len) == 0;
	if (same || (!job->copy && !any)) {
		bookmarks_read_legacy(job);
	} else if (b->len > sm_private_item_max(u->bm->sm)) {
		log_info("bookmarks: %s: the private copy would pass "
			 "sm/private-item-bytes: not written",
			 u->jid);
		bookmarks_read_legacy(job);
	} else if (sm_private_put(u->bm->sm, u->jid, NS_BOOKMARKS_LEGACY,
				  b->data, b->len, bookmarks_copy_written,
				  job) < 0) {
		bookmarks_job_fail(job, &bookmarks_error_internal);
		bookmarks_read_legacy(job);
	}
}

/* The <url/>s kept: those written, else the private copy's. */
static struct xml_node *bookmarks_urls(struct bookmarks_job *job)
{
	struct arena *a = &job->user->bm->sm->arena;
	struct xml_node *q;
	if (job->given)
		return xml_parse(a, job->given, job->given_len, "");
	q = job->copy ? xml_parse(a, job->copy, job->copy_len, XML_NS_CLIENT)
		      : NULL;
	return q ? xml_child(q, NS_BOOKMARKS_LEGACY, "storage") : NULL;
}

/* Step 3: the storage built from the :1 node; a read is answered. */
static void bookmarks_build(struct bookmarks_job *job)
{
	struct arena *a = &job->user->bm->sm->arena;
	struct xml_node *q = xml_node_new(a, NS_PRIVATE, "query");
	struct xml_node *s =
		q ? bookmark_storage_new(a, &job->current, bookmarks_urls(job))
		  : NULL;
	buf_clear(&job->built);
	if (!s || (xml_append_child(q, s),
		   xml_serialize(q, XML_NS_CLIENT, &job->built) < 0)) {
		bookmarks_job_fail(job, &bookmarks_error_internal);
		bookmarks_job_finish(job);
		return;
	}
	if (job->kind == BOOKMARKS_GET_PRIVATE ||
	    job->kind == BOOKMARKS_GET_PEP)
		bookmarks_answer_get(job, q, s);
	/* A write that failed half-way leaves the copies as they were: a
	 * copy made while the module was off is not lost to a :1 node that
	 * could not take it (the next read tries again). */
	if (job->failed.condition)
		bookmarks_job_finish(job);
	else
		bookmarks_write_copy(job, xml_child(s, NULL, NULL) != NULL);
}

/* ------------------------------------------------------------ applying */

static void bookmarks_applied(struct sm *sm, void *ctx,
			      const struct pep_error *err)
{
	struct bookmarks_job *job = ctx;
	if (err)
		bookmarks_job_fail(job, err);
	if (--job->pending == 0)
		bookmarks_read_current(job); /* what the node holds now */
}

/* Step 2: a write applied to the :1 node, or a copy made while the
 * module was off (XEP-0411 §4: "the data gets copied from Private XML
 * to PEP"). Conferences without a valid jid are skipped: they cannot
 * name an item (XEP-0402 §2: "Each item SHALL have, as item id, the
 * Room JID"), and are left out of the copies too. */
static void bookmarks_apply_storage(struct bookmarks_job *job,
				    const struct xml_node *storage, bool write)
{
	struct bookmarks *bm = job->user->bm;
	struct bookmark_list desired = {0};
	long skipped =
		bookmark_list_read_storage(&desired, &bm->sm->arena, storage);
	size_t max = bookmarks_max(bm), n;
	if (skipped > 0)
		log_info("bookmarks: %s: %ld conference(s) without a valid "
			 "jid skipped",
			 job->user->jid, skipped);
	if (skipped < 0 || (write && desired.n > max)) {
		bookmarks_job_fail(
			job,
			skipped < 0
				? &bookmarks_error_internal
				: bookmarks_too_many(
					  bm, job->kind == BOOKMARKS_SET_PEP,
					  max));
		bookmark_list_free(&desired);
		bookmarks_job_finish(job);
		return;
	}
	while (desired.n > max) /* a copy: what the node can hold */
		bookmark_free(&desired.v[--desired.n]);
	job->applied = true;
	job->pending = 1;
	n = bookmarks_apply(bm, job->user->jid, &job->current, &desired,
			    bookmarks_applied, job, &job->pending);
	bookmark_list_free(&desired);
	if (n == 0) {
		job->pending = 0;
		bookmarks_build(job);
	} else {
		bookmarks_applied(bm->sm, job, NULL);
	}
}

/* Step 2: what the :1 node must hold first, if anything. */
static void bookmarks_decide(struct bookmarks_job *job)
{
	struct arena *a = &job->user->bm->sm->arena;
	struct xml_node *q, *s = NULL;
	if (!job->applied && job->given)
		s = xml_parse(a, job->given, job->given_len, "");
	else if (!job->applied && job->missing && job->copy &&
		 (q = xml_parse(a, job->copy, job->copy_len, XML_NS_CLIENT)))
		s = xml_child(q, NS_BOOKMARKS_LEGACY, "storage");
	if (s &&
	    (job->given || xml_child(s, NS_BOOKMARKS_LEGACY, "conference")))
		bookmarks_apply_storage(job, s, job->given != NULL);
	else
		bookmarks_build(job);
}

static void bookmarks_current_read(struct sm *sm, void *ctx,
				   const struct pep_error *err,
				   const struct storage_items *items)
{
	struct bookmarks_job *job = ctx;
	bookmark_list_free(&job->current);
	job->missing = err && strcmp(err->condition, "item-not-found") == 0;
	if ((err && !job->missing) ||
	    (!err &&
	     bookmark_list_read_items(&job->current, &sm->arena, items) < 0)) {
		log_error("bookmarks: %s: cannot read urn:xmpp:bookmarks:1",
			  job->user->jid);
		bookmarks_job_fail(job, &bookmarks_error_internal);
		bookmarks_job_finish(job);
		return;
	}
	bookmarks_decide(job);
}

/* Step 2: the :1 node's items. */
static void bookmarks_read_current(struct bookmarks_job *job)
{
	if (pep_items(job->user->bm->sm, job->user->jid, NS_BOOKMARKS, NULL, 0,
		      bookmarks_current_read, job) < 0) {
		bookmarks_job_fail(job, &bookmarks_error_internal);
		bookmarks_job_finish(job);
	}
}

static void bookmarks_copy_read(struct sm *sm, void *ctx,
				enum sm_private_status status,
				const char *value, size_t len)
{
	struct bookmarks_job *job = ctx;
	if (status != SM_PRIVATE_OK || (value && !(job->copy = malloc(len)))) {
		bookmarks_job_fail(job, &bookmarks_error_internal);
		bookmarks_job_finish(job);
	} else {
		if (value)
			memcpy(job->copy, value, job->copy_len = len);
		bookmarks_read_current(job);
	}
	arena_reset(&sm->arena);
}

/* Step 1: the private copy. Returns 0, or -1 when it cannot be asked. */
static int bookmarks_job_start(struct bookmarks_job *job)
{
	struct bookmarks_user *u = job->user;
	if (job->kind == BOOKMARKS_SYNC)
		u->sync_waiting = false;
	return sm_private_get(u->bm->sm, u->jid, NS_BOOKMARKS_LEGACY,
			      bookmarks_copy_read, job);
}

/* ------------------------------------------------------------ the API */

static char *bookmarks_dup(const char *bytes, size_t len)
{
	char *copy = bytes ? malloc(len ? len : 1) : NULL;
	if (copy)
		memcpy(copy, bytes, len);
	return copy;
}

int bookmarks_sync_queue(struct bookmarks *bm, const char *user,
			 enum bookmarks_job_kind kind, const char *iq,
			 size_t iq_len, const char *given, size_t given_len)
{
	struct bookmarks_user *u = bookmarks_user_get(bm, user);
	struct bookmarks_job *job = NULL;
	if (u && kind == BOOKMARKS_SYNC && u->sync_waiting)
		return 0; /* it will see this change too */
	if (u && (kind == BOOKMARKS_SYNC || u->n < BOOKMARKS_JOBS_MAX))
		job = calloc(1, sizeof *job);
	if (job) {
		*job = (struct bookmarks_job){.user = u, .kind = kind};
		job->iq = bookmarks_dup(iq, job->iq_len = iq_len);
		job->given = bookmarks_dup(given, job->given_len = given_len);
	}
	if (!job || (iq && !job->iq) || (given && !job->given)) {
		if (job)
			bookmarks_job_free(job);
		if (u && !u->head)
			bookmarks_user_free(u);
		return -1;
	}
	*u->tail = job;
	u->tail = &job->next;
	u->n++;
	u->sync_waiting |= kind == BOOKMARKS_SYNC && u->head != job;
	if (u->head != job || bookmarks_job_start(job) == 0)
		return 0;
	u->head = NULL; /* alone, taken out again */
	bookmarks_job_free(job);
	bookmarks_user_free(u);
	return -1;
}

size_t bookmarks_max(const struct bookmarks *bm)
{
	return bm->max < bm->pep_max_items ? bm->max : bm->pep_max_items;
}

void bookmarks_sync_init(struct bookmarks *bm)
{
	hash_table_init(&bm->users, bookmarks_user_hash, 16);
}

void bookmarks_sync_free(struct bookmarks *bm)
{
	struct hash_link *l, *next;
	hash_table_for_each(&bm->users, l, next)
	{
		struct bookmarks_user *u = user_of(l);
		while (u->head) {
			struct bookmarks_job *job = u->head;
			u->head = job->next;
			bookmarks_job_free(job);
		}
		free(u->jid);
		free(u);
	}
	hash_table_free(&bm->users);
}
