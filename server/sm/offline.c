/* offline: XEP-0160 offline messages. A chat or normal message for a
 * user with no available resource of non-negative priority
 * (SM_EV_MESSAGE_OFFLINE, RFC 6121 §8.5.2.2.1) is stored, stamped with
 * a XEP-0203 delay, in the user's list store "offline"; it is delivered,
 * in order, to the first resource that becomes available with a
 * non-negative priority, then deleted.
 *
 * The quota bounds both the messages and the bytes stored per user
 * (sm/offline-quota, sm/offline-quota-bytes): 400 messages of 250 kB
 * are 100 MB. A module-wide table of "boxes" keeps each user's count
 * and size, learnt once by reading the user's store (at most the quota)
 * and then kept exact by counting what this module appends and deletes
 * (the sm is the storage's only writer). Messages that come while the
 * store is being read wait, in order, in the box. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "../../lib/hash_table.h"
#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define OFFLINE_STORE "offline"
#define NS_DELAY "urn:xmpp:delay"
#define NS_CHATSTATES "http://jabber.org/protocol/chatstates"
#define NS_HINTS "urn:xmpp:hints"
#define NS_SID "urn:xmpp:sid:0"
#define OFFLINE_FULL_TEXT "offline storage is full"

/* A message (serialized, delay included) waiting for its box's count. */
struct offline_waiting {
	struct offline_waiting *next;
	size_t len;
	char bytes[];
};

/* One user's stored messages as this module knows them. */
struct offline_box {
	struct hash_link link; /* in the module's boxes */
	struct offline *mod;
	char *jid; /* bare */
	/* Once counted: how many messages, of how many bytes, the store
	 * holds when every write submitted so far is done. */
	size_t count, bytes;
	bool counted, counting;
	/* Deletes submitted while the count was being read (it did not
	 * see them). */
	size_t deleted_while_counting, bytes_deleted_while_counting;
	struct offline_waiting *waiting, **waiting_tail;
	size_t nwaiting, waiting_bytes;
	bool delivering;
	/* A delivery asked for while counting: to that session. */
	bool delivery_wanted;
	char *want_resource;
	uint64_t want_serial;
	unsigned busy; /* requests in flight whose ctx is this box */
};

extern const struct sm_module sm_module_offline;

struct offline {
	struct sm *sm;
	size_t quota, quota_bytes;
	struct hash_table boxes; /* by bare JID */
	int slot; /* per user: the sessions eligible for delivery */
	struct buf out;
};

/* Per user: serials of the sessions that are available with a
 * non-negative priority, to tell when one becomes so. */
struct offline_eligible {
	size_t n, cap;
	uint64_t *serials;
};

/* ------------------------------------------------------------ boxes */

#define OFFLINE_MIN_BUCKETS 64

static struct offline_box *box_of(const struct hash_link *l)
{
	return hash_entry(l, struct offline_box, link);
}

static uint64_t offline_box_hash(const struct hash_link *l)
{
	return hash_string(box_of(l)->jid);
}

static bool offline_box_match(const struct hash_link *l, const void *jid)
{
	return strcmp(box_of(l)->jid, jid) == 0;
}

static struct offline_box *offline_box_get(struct offline *mod, const char *jid)
{
	uint64_t hash = hash_string(jid);
	struct hash_link *l =
		hash_table_find(&mod->boxes, hash, offline_box_match, jid);
	if (l)
		return box_of(l);
	struct offline_box *b = calloc(1, sizeof *b);
	if (!b || !(b->jid = strdup(jid)) ||
	    hash_table_insert(&mod->boxes, &b->link, hash) < 0) {
		if (b)
			free(b->jid);
		free(b);
		return NULL;
	}
	b->mod = mod;
	b->waiting_tail = &b->waiting;
	return b;
}

/* Frees b once nothing refers to it and it holds nothing worth
 * remembering: an empty store needs no count (reading it again is one
 * query). */
static void offline_box_release(struct offline_box *b)
{
	if (b->busy || b->counting || b->delivering || b->waiting ||
	    b->delivery_wanted || (b->counted && b->count > 0))
		return;
	hash_table_remove(&b->mod->boxes, &b->link);
	free(b->want_resource);
	free(b->jid);
	free(b);
}

static size_t offline_minus(size_t a, size_t b)
{
	return a >= b ? a - b : 0;
}

/* Whether a message of len bytes fits beside count messages of bytes. */
static bool offline_fits(const struct offline *mod, size_t count, size_t bytes,
			 size_t len)
{
	return count < mod->quota && len <= mod->quota_bytes &&
	       bytes <= mod->quota_bytes - len;
}

/* ------------------------------------------------------------ bounces */

/* Answers the message in bytes (one we could not store) with an error,
 * from its recipient. RFC 6120 §8.3.1: never for an error. */
static void offline_bounce(struct sm *sm, const char *bytes, size_t len,
			   const char *condition, const char *text)
{
	struct xml_node *xml = xml_parse(&sm->arena, bytes, len, XML_NS_CLIENT);
	struct stanza st;
	if (!xml || sm_stanza_init(&st, &sm->arena, xml) != 0 || !st.from)
		return;
	struct xml_node *e = sm_stanza_error_new(&st, condition);
	struct xml_node *err = e ? xml_child(e, XML_NS_CLIENT, "error") : NULL;
	if (!err)
		return;
	if (text) {
		struct xml_node *t =
			xml_add_child(&sm->arena, err, NS_STANZAS, "text");
		if (!t ||
		    xml_append_text(&sm->arena, t, text, strlen(text)) < 0)
			return;
	}
	sm_deliver_xml(sm, e);
}

/* ------------------------------------------------------------ storing */

struct offline_append {
	struct offline_box *box;
	size_t len;
	char bytes[]; /* to bounce if the write fails */
};

static void offline_append_done(void *ctx, enum storage_status status)
{
	struct offline_append *a = ctx;
	struct offline_box *b = a->box;
	struct sm *sm = b->mod->sm;
	b->busy--;
	if (status != STORAGE_OK) {
		/* Not stored: RFC 6121 §8.5.2.2.1, the sender learns. */
		log_error("offline: a message for %s could not be stored",
			  b->jid);
		b->count--;
		b->bytes -= a->len;
		offline_bounce(sm, a->bytes, a->len, "service-unavailable",
			       NULL);
		arena_reset(&sm->arena);
	}
	free(a);
	offline_box_release(b);
}

/* Appends one message to b's store; b is counted. On a full box the
 * sender gets service-unavailable (XEP-0160 §2: "if not (e.g., because
 * the recipient's offline message queue is full), the server returns a
 * <service-unavailable/> error to the sender"). */
static void offline_box_append(struct offline_box *b, const char *bytes,
			       size_t len)
{
	struct offline *mod = b->mod;
	struct sm *sm = mod->sm;
	if (!offline_fits(mod, b->count, b->bytes, len)) {
		log_info("offline: %s has %zu messages of %zu bytes stored: a "
			 "message of %zu bytes bounced",
			 b->jid, b->count, b->bytes, len);
		offline_bounce(sm, bytes, len, "service-unavailable",
			       OFFLINE_FULL_TEXT);
		return;
	}
	struct storage *s = sm_storage(sm);
	struct storage_batch *batch = s ? storage_batch_new(s) : NULL;
	struct offline_append *a = malloc(sizeof *a + len);
	if (!batch || !a ||
	    storage_batch_append(batch, b->jid, OFFLINE_STORE, bytes, len) <
		    0) {
		if (batch)
			storage_batch_free(batch);
		free(a);
		offline_bounce(sm, bytes, len, "service-unavailable", NULL);
		return;
	}
	a->box = b;
	a->len = len;
	memcpy(a->bytes, bytes, len);
	if (storage_batch_commit(batch, offline_append_done, a) < 0) {
		free(a);
		offline_bounce(sm, bytes, len, "service-unavailable", NULL);
		return;
	}
	b->count++;
	b->bytes += len;
	b->busy++;
}

static void offline_start_delivery(struct offline_box *b, const char *resource,
				   uint64_t serial);

static void offline_count_done(void *ctx, enum storage_status status,
			       const struct storage_items *result)
{
	struct offline_box *b = ctx;
	struct sm *sm = b->mod->sm;
	b->busy--;
	b->counting = false;
	struct offline_waiting *w = b->waiting;
	b->waiting = NULL;
	b->waiting_tail = &b->waiting;
	b->nwaiting = b->waiting_bytes = 0;
	if (status == STORAGE_OK) {
		size_t bytes = 0;
		for (size_t i = 0; i < result->count; i++)
			bytes += result->items[i].value_len;
		b->counted = true;
		b->count =
			offline_minus(result->count, b->deleted_while_counting);
		b->bytes =
			offline_minus(bytes, b->bytes_deleted_while_counting);
	} else {
		log_error("offline: cannot count the messages of %s", b->jid);
	}
	b->deleted_while_counting = b->bytes_deleted_while_counting = 0;
	while (w) {
		struct offline_waiting *next = w->next;
		if (b->counted)
			offline_box_append(b, w->bytes, w->len);
		else
			offline_bounce(sm, w->bytes, w->len,
				       "service-unavailable", NULL);
		arena_reset(&sm->arena);
		free(w);
		w = next;
	}
	if (b->delivery_wanted) {
		b->delivery_wanted = false;
		/* Submitted after the appends above: the load sees them. */
		offline_start_delivery(b, b->want_resource, b->want_serial);
	}
	arena_reset(&sm->arena);
	offline_box_release(b);
}

/* Stores bytes for b, counting b's store first if needed. */
static void offline_box_store(struct offline_box *b, const char *bytes,
			      size_t len)
{
	struct offline *mod = b->mod;
	if (b->counted) {
		offline_box_append(b, bytes, len);
		return;
	}
	if (!offline_fits(mod, b->nwaiting, b->waiting_bytes, len)) {
		offline_bounce(mod->sm, bytes, len, "service-unavailable",
			       OFFLINE_FULL_TEXT);
		return;
	}
	struct offline_waiting *w = malloc(sizeof *w + len);
	if (!w) {
		offline_bounce(mod->sm, bytes, len, "service-unavailable",
			       NULL);
		return;
	}
	w->next = NULL;
	w->len = len;
	memcpy(w->bytes, bytes, len);
	if (!b->counting) {
		struct storage *s = sm_storage(mod->sm);
		/* The values are needed for their sizes: storage_count
		 * gives no bytes. Once per user with messages stored. */
		if (!s || storage_load(s, b->jid, OFFLINE_STORE,
				       offline_count_done, b) < 0) {
			free(w);
			offline_bounce(mod->sm, bytes, len,
				       "service-unavailable", NULL);
			return;
		}
		b->counting = true;
		b->busy++;
	}
	*b->waiting_tail = w;
	b->waiting_tail = &w->next;
	b->nwaiting++;
	b->waiting_bytes += len;
}

/* ------------------------------------------------------------ policy */

/* XEP-0160 §3: "chat -- ... with the exception of messages that contain
 * only XEP-0085 content (such messages SHOULD NOT be stored offline)".
 * A message with no body or subject whose children are all chat states,
 * processing hints (XEP-0334), ids (XEP-0359) or a thread: nothing a
 * person would read later. Normal messages are treated alike. */
static bool offline_only_chat_states(const struct xml_node *m)
{
	bool state = false;
	for (const struct xml_node *c = xml_child(m, NULL, NULL); c;
	     c = xml_next(c, NULL, NULL)) {
		if (strcmp(c->ns, NS_CHATSTATES) == 0)
			state = true;
		else if (strcmp(c->ns, NS_HINTS) != 0 &&
			 strcmp(c->ns, NS_SID) != 0 &&
			 !xml_is(c, m->ns, "thread"))
			return false;
	}
	return state;
}

/* XEP-0203: stamp is UTC, XEP-0082 DateTime. */
static int offline_add_delay(struct stanza *st, const char *domain)
{
	char stamp[SM_DATETIME_SIZE];
	sm_stanza_datetime(time(NULL), stamp);
	struct xml_node *d =
		xml_add_child(st->arena, st->xml, NS_DELAY, "delay");
	static const char text[] = "Offline Storage";
	if (!d || xml_set_attr(st->arena, d, "from", domain) < 0 ||
	    xml_set_attr(st->arena, d, "stamp", stamp) < 0 ||
	    xml_append_text(st->arena, d, text, sizeof text - 1) < 0)
		return -1;
	return 0;
}

static enum sm_verdict offline_message(struct sm_event *ev, void *data)
{
	struct offline *mod = data;
	struct stanza *st = ev->st;
	/* The core fires this for chat and normal only (delivery.c,
	 * default_message_bare); an error is never stored nor answered. */
	if (sm_stanza_is_type(st, "error"))
		return SM_DONE;
	if (sm_stanza_is_type(st, "groupchat") ||
	    sm_stanza_is_type(st, "headline") || !st->to || !st->to->local[0])
		return SM_NEXT;
	/* RFC 6121 §8.5.1: no account, no storage (the core's answer). */
	if (!st->to_user || !sm_userdata_account_exists(st->to_user))
		return SM_NEXT;
	bool store_hint = xml_child(st->xml, NS_HINTS, "store") != NULL;
	if (!store_hint && offline_only_chat_states(st->xml)) {
		/* XEP-0085 §5.5 alike: dropped, not bounced. */
		log_debug("offline: chat state for %s dropped",
			  st->to_user->jid);
		return SM_DONE;
	}
	if (!store_hint &&
	    (xml_child(st->xml, NS_HINTS, "no-store") ||
	     xml_child(st->xml, NS_HINTS, "no-permanent-store"))) {
		/* XEP-0334 §4: not to be stored, "e.g. for later delivery
		 * to an offline client": not delivered either. */
		sm_deliver_error(ev->sm, st, "service-unavailable");
		return SM_DONE;
	}
	struct offline_box *b = offline_box_get(mod, st->to_user->jid);
	if (!b ||
	    (!xml_attr_get(st->xml, "to") &&
	     xml_set_attr(st->arena, st->xml, "to", st->to_user->jid) < 0) ||
	    offline_add_delay(st, st->to->domain) < 0) {
		log_error("offline: out of memory storing a message");
		sm_deliver_error(ev->sm, st, "service-unavailable");
		if (b)
			offline_box_release(b);
		return SM_DONE;
	}
	buf_clear(&mod->out);
	if (xml_serialize(st->xml, XML_NS_CLIENT, &mod->out) < 0) {
		sm_deliver_error(ev->sm, st, "service-unavailable");
		offline_box_release(b);
		return SM_DONE;
	}
	offline_box_store(b, mod->out.data, mod->out.len);
	offline_box_release(b);
	return SM_DONE;
}

/* ------------------------------------------------------------ delivery */

struct offline_delete {
	struct offline_box *box;
	size_t n, bytes;
};

static void offline_delete_done(void *ctx, enum storage_status status)
{
	struct offline_delete *d = ctx;
	struct offline_box *b = d->box;
	b->busy--;
	if (status != STORAGE_OK) {
		/* Delivered but still stored: delivered again next time. */
		log_error("offline: %zu delivered messages of %s could not be "
			  "deleted",
			  d->n, b->jid);
		if (b->counted) {
			b->count += d->n;
			b->bytes += d->bytes;
		}
	}
	free(d);
	offline_box_release(b);
}

/* The session to deliver to: the one that asked if it is still there
 * and eligible, else the most available one (highest priority, then most
 * recent), else none. */
static struct session *offline_delivery_target(struct sm *sm, const char *jid,
					       const char *resource,
					       uint64_t serial)
{
	struct user *u = sm_session_user_find(&sm->sessions, jid);
	struct session *s = sm_session_find(u, resource);
	if (s && s->serial == serial && sm_session_available(s) &&
	    s->priority >= 0)
		return s;
	struct session *best = NULL;
	for (s = u ? u->sessions : NULL; s; s = s->next)
		if (sm_session_available(s) && s->priority >= 0 &&
		    (!best || s->priority > best->priority ||
		     (s->priority == best->priority &&
		      s->serial > best->serial)))
			best = s;
	return best;
}

struct offline_load {
	struct offline_box *box;
	uint64_t serial;
	char resource[];
};

/* Deletes the first `sent` items of result (of `bytes` in all), which
 * were delivered. */
static void offline_delete_sent(struct offline_box *b,
				const struct storage_items *result, size_t sent,
				size_t bytes)
{
	struct storage_batch *batch = storage_batch_new(sm_storage(b->mod->sm));
	struct offline_delete *d = malloc(sizeof *d);
	bool ok = batch && d;
	for (size_t i = 0; ok && i < sent; i++)
		ok = storage_batch_delete(batch, b->jid, OFFLINE_STORE,
					  result->items[i].key) == 0;
	if (ok) {
		*d = (struct offline_delete){b, sent, bytes};
		ok = storage_batch_commit(batch, offline_delete_done, d) == 0;
		batch = NULL; /* owned by the storage now */
	}
	if (!ok) {
		log_error("offline: cannot delete the messages delivered to "
			  "%s: they will come again",
			  b->jid);
		if (batch)
			storage_batch_free(batch);
		free(d);
		return;
	}
	b->busy++;
	if (b->counted) {
		b->count = offline_minus(b->count, sent);
		b->bytes = offline_minus(b->bytes, bytes);
	} else if (b->counting) {
		b->deleted_while_counting += sent;
		b->bytes_deleted_while_counting += bytes;
	}
}

/* Sends every stored message, in order, then deletes exactly those
 * that were sent: what came meanwhile stays for the next time. */
static void offline_load_done(void *ctx, enum storage_status status,
			      const struct storage_items *result)
{
	struct offline_load *l = ctx;
	struct offline_box *b = l->box;
	struct sm *sm = b->mod->sm;
	b->busy--;
	b->delivering = false;
	struct session *s =
		status == STORAGE_OK
			? offline_delivery_target(sm, b->jid, l->resource,
						  l->serial)
			: NULL;
	if (status != STORAGE_OK)
		log_error("offline: cannot read the messages of %s", b->jid);
	size_t sent = 0, bytes = 0;
	for (; s && sent < result->count; sent++) {
		const struct storage_item *it = &result->items[sent];
		if (sm_send_stanza_bytes(sm, s, it->value, it->value_len) < 0)
			break; /* the link is full: the rest waits */
		bytes += it->value_len;
	}
	if (sent) {
		log_info("offline: %zu messages delivered to %s", sent, s->jid);
		offline_delete_sent(b, result, sent, bytes);
	}
	free(l);
	offline_box_release(b);
}

static void offline_start_delivery(struct offline_box *b, const char *resource,
				   uint64_t serial)
{
	if (b->delivering)
		return; /* the load in flight serves this session too */
	if (b->counting) {
		/* The load must come after the appends that wait for the
		 * count: offline_count_done starts it. */
		char *r = strdup(resource);
		if (!r)
			return;
		free(b->want_resource);
		b->want_resource = r;
		b->want_serial = serial;
		b->delivery_wanted = true;
		return;
	}
	struct storage *s = sm_storage(b->mod->sm);
	size_t rlen = strlen(resource);
	struct offline_load *l = malloc(sizeof *l + rlen + 1);
	if (!s || !l) {
		free(l);
		return;
	}
	l->box = b;
	l->serial = serial;
	memcpy(l->resource, resource, rlen + 1);
	if (storage_load(s, b->jid, OFFLINE_STORE, offline_load_done, l) < 0) {
		log_error("offline: cannot read the messages of %s", b->jid);
		free(l);
		return;
	}
	b->delivering = true;
	b->busy++;
}

/* ------------------------------------------------------------ presence */

static struct offline_eligible *offline_eligible_of(struct offline *mod,
						    struct user *u)
{
	if (!u->slots[mod->slot])
		u->slots[mod->slot] =
			calloc(1, sizeof(struct offline_eligible));
	return u->slots[mod->slot];
}

static void offline_eligible_free(void *p)
{
	struct offline_eligible *e = p;
	free(e->serials);
	free(e);
}

/* Records whether s is eligible now; returns whether it was before. */
static bool offline_eligible_update(struct offline_eligible *e,
				    const struct session *s)
{
	bool now = sm_session_available(s) && s->priority >= 0;
	for (size_t i = 0; i < e->n; i++)
		if (e->serials[i] == s->serial) {
			if (!now)
				e->serials[i] = e->serials[--e->n];
			return true;
		}
	if (now) {
		if (e->n == e->cap) {
			size_t cap = e->cap ? e->cap * 2 : 4;
			uint64_t *n = realloc(e->serials, cap * sizeof *n);
			if (!n)
				return true; /* no delivery rather than two */
			e->serials = n;
			e->cap = cap;
		}
		e->serials[e->n++] = s->serial;
	}
	return false;
}

/* XEP-0160 §2: "When the recipient next sends non-negative available
 * presence to the server, the server delivers the message to the
 * resource that has sent that presence": initial presence, or a
 * priority going from negative to non-negative. */
static enum sm_verdict offline_presence(struct sm_event *ev, void *data)
{
	struct offline *mod = data;
	struct session *s = ev->session;
	struct offline_eligible *e = offline_eligible_of(mod, s->user);
	if (!e)
		return SM_NEXT;
	bool was = offline_eligible_update(e, s);
	if (was || !sm_session_available(s) || s->priority < 0)
		return SM_NEXT;
	struct offline_box *b = offline_box_get(mod, s->user->jid);
	if (b) {
		offline_start_delivery(b, s->resource, s->serial);
		offline_box_release(b);
	}
	return SM_NEXT;
}

static enum sm_verdict offline_session_ended(struct sm_event *ev, void *data)
{
	struct offline *mod = data;
	struct session *s = ev->session;
	struct offline_eligible *e = s->user->slots[mod->slot];
	for (size_t i = 0; e && i < e->n; i++)
		if (e->serials[i] == s->serial) {
			e->serials[i] = e->serials[--e->n];
			break;
		}
	return SM_NEXT;
}

/* ------------------------------------------------------------ module */

static int offline_init(struct sm *sm)
{
	struct offline *mod = calloc(1, sizeof *mod);
	if (!mod)
		return -1;
	hash_table_init(&mod->boxes, offline_box_hash, OFFLINE_MIN_BUCKETS);
	mod->sm = sm;
	sm_module_set_data(sm, &sm_module_offline, mod);
	mod->quota = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_offline, "offline-quota");
	mod->quota_bytes = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_offline, "offline-quota-bytes");
	mod->slot =
		sm_session_slot_register(&sm->sessions, offline_eligible_free);
	/* Above the core's bounce; offline_presence lets the broadcast go
	 * on, and runs after the presence module's (priority -1, whatever
	 * order the modules load in): the initial presence goes to the
	 * contacts first, then the stored messages are fetched, as when
	 * the default modules loaded roster, presence, offline. */
	if (mod->slot < 0 ||
	    sm_module_hook(sm, SM_EV_MESSAGE_OFFLINE, NULL, 0, offline_message,
			   mod) < 0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_BROADCAST, NULL, -1,
			   offline_presence, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_SESSION_ENDED, NULL, 0,
			   offline_session_ended, mod) < 0)
		return -1; /* mod lives on: hooks may point at it */
	return 0;
}

/* At sm_free: the storage is closed and its completions have run, so
 * no request refers to a box any more; what is left is the counts of
 * non-empty boxes (and, after a failed write, messages still waiting). */
static void offline_free(struct sm *sm)
{
	struct offline *mod = sm_module_data(sm, &sm_module_offline);
	if (!mod)
		return;
	struct hash_link *l, *next;
	hash_table_for_each(&mod->boxes, l, next)
	{
		struct offline_box *b = box_of(l);
		while (b->waiting) {
			struct offline_waiting *w = b->waiting;
			b->waiting = w->next;
			free(w);
		}
		free(b->want_resource);
		free(b->jid);
		free(b);
	}
	hash_table_free(&mod->boxes);
	buf_free(&mod->out);
	free(mod);
	sm_module_set_data(sm, &sm_module_offline, NULL);
}

/* <sm><offline-quota>: messages stored per user; and their bytes, as
 * stored (docs/configuration.md). */
static const struct sm_option offline_options[] = {
	{.name = "offline-quota",
	 .type = SM_OPTION_INTEGER,
	 .min = 1,
	 .max = 100000,
	 .def = 1000},
	{.name = "offline-quota-bytes",
	 .type = SM_OPTION_INTEGER,
	 .min = 1024,
	 .max = 1L << 30,
	 .def = 10L << 20},
	{0}};

const struct sm_module sm_module_offline = {
	.name = "offline",
	.on_by_default = true,
	.features = (const char *const[]){"msgoffline", NULL}, /* XEP-0160 §4 */
	.options = offline_options,
	.init = offline_init,
	.free = offline_free,
};
