/* caps: the XEP-0115 caps cache (caps.h). A module of its own, so that
 * what it costs is visible: a pointer per session, and the entries of
 * the vers seen, shared by every session and contact that announces
 * them (a few client versions make most of a deployment). */
#include "caps.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/hash_table.h"
#include "../../lib/log.h"
#include "caps_ver.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"

#define CAPS_ID_PREFIX "caps:"

extern const struct sm_module sm_module_caps;

struct caps_waiter {
	char *jid;
	char *owner; /* NULL: a local session */
};

struct caps_entry {
	struct hash_link link;
	char *ver;
	char **features; /* sorted; NULL until verified */
	size_t nfeatures;
	unsigned refs;
	struct caps_entry *lru_prev, *lru_next; /* unreferenced ones */
	char *query_jid;                        /* the entity last asked */
	time_t query_time;
	struct caps_waiter waiters[CAPS_WAITERS_MAX];
	size_t nwaiters;
};

struct caps {
	struct sm *sm;
	struct hash_table entries; /* by ver */
	struct caps_entry *lru_first, *lru_last;
	caps_resolved_fn listener;
	void *listener_data;
};

static struct caps *caps_of(struct sm *sm)
{
	return sm_module_data(sm, &sm_module_caps);
}

/* ------------------------------------------------------------ entries */

static struct caps_entry *entry_of(const struct hash_link *l)
{
	return hash_entry(l, struct caps_entry, link);
}

static uint64_t caps_entry_hash(const struct hash_link *l)
{
	return hash_string(entry_of(l)->ver);
}

static bool caps_entry_match(const struct hash_link *l, const void *ver)
{
	return strcmp(entry_of(l)->ver, ver) == 0;
}

static void caps_waiters_clear(struct caps_entry *e)
{
	for (size_t i = 0; i < e->nwaiters; i++) {
		free(e->waiters[i].jid);
		free(e->waiters[i].owner);
	}
	e->nwaiters = 0;
}

static void caps_lru_unlink(struct caps *c, struct caps_entry *e)
{
	if (e->lru_prev)
		e->lru_prev->lru_next = e->lru_next;
	else if (c->lru_first == e)
		c->lru_first = e->lru_next;
	if (e->lru_next)
		e->lru_next->lru_prev = e->lru_prev;
	else if (c->lru_last == e)
		c->lru_last = e->lru_prev;
	e->lru_prev = e->lru_next = NULL;
}

static void caps_entry_free(struct caps *c, struct caps_entry *e)
{
	hash_table_remove(&c->entries, &e->link);
	caps_lru_unlink(c, e);
	caps_waiters_clear(e);
	for (size_t i = 0; i < e->nfeatures; i++)
		free(e->features[i]);
	free(e->features);
	free(e->query_jid);
	free(e->ver);
	free(e);
}

/* Makes room for one more: drops the least recently released entries,
 * which nobody holds. Their waiters, if any, went on to other caps (a
 * query never answered must not pin its entry: a client announcing
 * vers it does not answer for would fill the cache for everyone). */
static void caps_evict(struct caps *c)
{
	while (c->entries.count >= CAPS_CACHE_MAX && c->lru_last)
		caps_entry_free(c, c->lru_last);
}

static struct caps_entry *caps_entry_get(struct caps *c, const char *ver)
{
	uint64_t hash = hash_string(ver);
	struct hash_link *l =
		hash_table_find(&c->entries, hash, caps_entry_match, ver);
	struct caps_entry *e = l ? entry_of(l) : NULL;
	if (e) {
		caps_lru_unlink(c, e);
		return e;
	}
	caps_evict(c);
	if (c->entries.count >= CAPS_CACHE_MAX)
		return NULL; /* every entry is in use */
	if (!(e = calloc(1, sizeof *e)) || !(e->ver = strdup(ver)) ||
	    hash_table_insert(&c->entries, &e->link, hash) < 0) {
		if (e)
			free(e->ver);
		free(e);
		return NULL;
	}
	return e;
}

void caps_release(struct sm *sm, struct caps_entry *e)
{
	struct caps *c = caps_of(sm);
	if (!c || !e || --e->refs > 0)
		return;
	/* Kept for the next session of that client, least recent last. */
	e->lru_next = c->lru_first;
	if (c->lru_first)
		c->lru_first->lru_prev = e;
	c->lru_first = e;
	if (!c->lru_last)
		c->lru_last = e;
}

static int caps_compare(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

bool caps_verified(const struct caps_entry *e)
{
	return e && e->features;
}

bool caps_has_feature(const struct caps_entry *e, const char *feature)
{
	return e && e->features &&
	       bsearch(&feature, e->features, e->nfeatures, sizeof(char *),
		       caps_compare);
}

bool caps_wants_notify(const struct caps_entry *e, const char *node)
{
	char feature[1100];
	size_t len = strlen(node);
	if (!e || !e->features || len + sizeof "+notify" > sizeof feature)
		return false;
	memcpy(feature, node, len);
	memcpy(feature + len, "+notify", sizeof "+notify");
	return caps_has_feature(e, feature);
}

/* ------------------------------------------------------------ queries */

/* XEP-0115 §6.2: "the querying entity sends a disco#info request to the
 * entity ... the 'node' attribute of the query is the value of the
 * 'node' attribute of the caps element plus a hash character plus the
 * 'ver' attribute". From the server's domain (from_domain). */
static void caps_query(struct caps *c, struct caps_entry *e, const char *jid,
		       const char *node, const char *from_domain)
{
	struct sm *sm = c->sm;
	struct arena *a = &sm->arena;
	char *qnode = arena_alloc(a, strlen(node) + strlen(e->ver) + 2);
	char *id = arena_alloc(a, sizeof CAPS_ID_PREFIX + strlen(e->ver));
	if (!qnode || !id || !(e->query_jid = strdup(jid)))
		return;
	strcat(strcat(strcpy(qnode, node), "#"), e->ver);
	strcat(strcpy(id, CAPS_ID_PREFIX), e->ver);
	e->query_time = time(NULL);
	struct xml_node *iq = xml_node_new(a, XML_NS_CLIENT, "iq");
	struct xml_node *q =
		iq ? xml_add_child(a, iq, NS_DISCO_INFO, "query") : NULL;
	if (q && xml_set_attr(a, iq, "type", "get") == 0 &&
	    xml_set_attr(a, iq, "id", id) == 0 &&
	    xml_set_attr(a, iq, "from", from_domain) == 0 &&
	    xml_set_attr(a, iq, "to", jid) == 0 &&
	    xml_set_attr(a, q, "node", qnode) == 0)
		sm_deliver_xml(sm, iq);
}

static void caps_wait(struct caps_entry *e, const char *jid, const char *owner)
{
	for (size_t i = 0; i < e->nwaiters; i++)
		if (strcmp(e->waiters[i].jid, jid) == 0 &&
		    !e->waiters[i].owner == !owner &&
		    (!owner || strcmp(e->waiters[i].owner, owner) == 0))
			return;
	if (e->nwaiters == CAPS_WAITERS_MAX)
		return; /* it will learn at its next presence */
	struct caps_waiter *w = &e->waiters[e->nwaiters];
	w->jid = strdup(jid);
	w->owner = owner ? strdup(owner) : NULL;
	if (w->jid && (!owner || w->owner))
		e->nwaiters++;
	else
		free(w->jid), free(w->owner);
}

struct caps_entry *caps_learn(struct sm *sm, const struct stanza *st,
			      const char *jid, const char *owner)
{
	struct caps *c = caps_of(sm);
	const struct xml_node *x = c ? xml_child(st->xml, NS_CAPS, "c") : NULL;
	const char *hash = x ? xml_attr_get(x, "hash") : NULL;
	const char *ver = x ? xml_attr_get(x, "ver") : NULL;
	const char *node = x ? xml_attr_get(x, "node") : NULL;
	/* §5.1: SHA-1 is the one hash every entity supports; a ver of
	 * another hash, or the legacy format without one, is not kept. */
	if (!hash || strcmp(hash, "sha-1") != 0 || !ver || !node ||
	    strlen(ver) >= CAPS_VER_SIZE)
		return NULL;
	struct caps_entry *e = caps_entry_get(c, ver);
	if (!e)
		return NULL;
	e->refs++;
	if (e->features)
		return e;
	caps_wait(e, jid, owner);
	/* Each entity that announces a ver not verified yet is asked (the
	 * same one again only after CAPS_QUERY_TIMEOUT): one that never
	 * answers, or answers wrong, must not keep the ver unverified for
	 * the others that announce it. */
	if (e->query_jid && strcmp(e->query_jid, jid) == 0 &&
	    time(NULL) - e->query_time <= CAPS_QUERY_TIMEOUT)
		return e;
	free(e->query_jid);
	e->query_jid = NULL;
	struct jid j;
	if (jid_parse_str(&j, owner ? owner : jid) == 0)
		caps_query(c, e, jid, node, j.domain);
	return e;
}

/* The answer's features, sorted, into e: verified. */
static int caps_keep_features(struct caps_entry *e, struct arena *a,
			      const struct xml_node *query)
{
	size_t n = 0;
	for (const struct xml_node *f =
		     xml_child(query, NS_DISCO_INFO, "feature");
	     f; f = xml_next(f, NS_DISCO_INFO, "feature"))
		n++;
	char **features = calloc(n + 1, sizeof *features);
	size_t k = 0;
	for (const struct xml_node *f =
		     xml_child(query, NS_DISCO_INFO, "feature");
	     features && f; f = xml_next(f, NS_DISCO_INFO, "feature")) {
		const char *var = xml_attr_get(f, "var");
		if (var && !(features[k++] = strdup(var)))
			break;
	}
	if (!features || (k && !features[k - 1])) {
		for (size_t i = 0; features && i < k; i++)
			free(features[i]);
		free(features);
		return -1;
	}
	qsort(features, k, sizeof *features, caps_compare);
	e->features = features;
	e->nfeatures = k;
	return 0;
}

/* The answer to a caps query (to the server's domain, id caps:VER),
 * from `from`. */
static void caps_answer(struct caps *c, struct caps_entry *e,
			const struct stanza *st, const char *from)
{
	char ver[CAPS_VER_SIZE];
	const char *why = "not a disco#info result";
	const struct xml_node *q =
		sm_stanza_is_type(st, "result")
			? xml_child(st->xml, NS_DISCO_INFO, "query")
			: NULL;
	/* §5.4: "If the values of the received and reconstructed hashes
	 * do not match, the processing application MUST consider the
	 * result to be invalid and MUST NOT globally cache the
	 * verification string". */
	if (!q || caps_ver_hash(q, ver, &why) < 0 || strcmp(ver, e->ver) ||
	    caps_keep_features(e, st->arena, q) < 0) {
		/* The others that announced it still wait for theirs. */
		log_info("caps: %s: the caps of %s do not verify (%s)", e->ver,
			 from, strcmp(why, "") ? why : "ver differs");
		return;
	}
	free(e->query_jid);
	e->query_jid = NULL;
	e->refs++; /* held while its waiters hear of it */
	for (size_t i = 0; i < e->nwaiters; i++)
		if (c->listener)
			c->listener(c->sm, e->waiters[i].jid,
				    e->waiters[i].owner, e, c->listener_data);
	caps_waiters_clear(e);
	caps_release(c->sm, e);
}

static enum sm_verdict caps_iq_host(struct sm_event *ev, void *data)
{
	struct caps *c = data;
	struct stanza *st = ev->st;
	if ((!sm_stanza_is_type(st, "result") &&
	     !sm_stanza_is_type(st, "error")) ||
	    !st->id ||
	    strncmp(st->id, CAPS_ID_PREFIX, sizeof CAPS_ID_PREFIX - 1) != 0)
		return SM_NEXT;
	const char *ver = st->id + sizeof CAPS_ID_PREFIX - 1;
	struct hash_link *l = hash_table_find(&c->entries, hash_string(ver),
					      caps_entry_match, ver);
	struct caps_entry *e = l ? entry_of(l) : NULL;
	char from[JID_MAX + 1];
	/* Whoever answers (each entity announcing the ver was asked), the
	 * answer counts only if it hashes to the ver (§5.4). */
	if (e && !e->features && st->from) {
		jid_format(st->from, from);
		caps_answer(c, e, st, from);
	}
	return SM_DONE;
}

/* ------------------------------------------------------------ sessions */

/* A session's caps follow its last available presence (RFC 6121
 * §4.4: an update may announce other caps). Before the other modules
 * hear of the presence. */
static enum sm_verdict caps_presence(struct sm_event *ev, void *data)
{
	struct session *s = ev->session;
	struct caps_entry *old = s->caps;
	s->caps = sm_session_available(s)
			  ? caps_learn(ev->sm, ev->st, s->jid, NULL)
			  : NULL;
	caps_release(ev->sm, old);
	return SM_NEXT;
}

static enum sm_verdict caps_session_ended(struct sm_event *ev, void *data)
{
	caps_release(ev->sm, ev->session->caps);
	ev->session->caps = NULL;
	return SM_NEXT;
}

int caps_listen(struct sm *sm, caps_resolved_fn fn, void *data)
{
	struct caps *c = caps_of(sm);
	if (!c)
		return -1;
	c->listener = fn;
	c->listener_data = data;
	return 0;
}

static int caps_init(struct sm *sm)
{
	struct caps *c = calloc(1, sizeof *c);
	if (!c)
		return -1;
	c->sm = sm;
	hash_table_init(&c->entries, caps_entry_hash, 64);
	sm_module_set_data(sm, &sm_module_caps, c);
	if (sm_module_hook(sm, SM_EV_PRESENCE_BROADCAST, NULL, 100,
			   caps_presence, c) < 0 ||
	    sm_module_hook(sm, SM_EV_SESSION_ENDED, NULL, 0, caps_session_ended,
			   c) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_HOST, NULL, 100, caps_iq_host, c) < 0)
		return -1;
	return 0;
}

static void caps_free(struct sm *sm)
{
	struct caps *c = caps_of(sm);
	if (!c)
		return;
	struct hash_link *l, *next;
	hash_table_for_each(&c->entries, l, next)
	{
		caps_entry_free(c, entry_of(l));
	}
	hash_table_free(&c->entries);
	free(c);
	sm_module_set_data(sm, &sm_module_caps, NULL);
}

const struct sm_module sm_module_caps = {
	.name = "caps",
	.on_by_default = true,
	.init = caps_init,
	.free = caps_free,
};
