/* roster: RFC 6121 §2, jabber:iq:roster get / set / remove, roster
 * pushes, and versioning (XEP-0237, RFC 6121 §2.6).
 *
 * Storage: the "roster" store of each user, one item per contact keyed
 * by its JID (the value: roster_item_encode below), and the version under
 * VER_KEY. A set is answered, and pushed, from the completion of its
 * batch: an acknowledged change survives kill -9. */
#include "roster.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define ROSTER_STORE "roster"
/* Not a JID (control characters are in none of the stringprep
 * profiles), so never a contact's key. */
#define VER_KEY "\x01ver"

#define ITEM_FORMAT 1

static int roster_slot = -1;

/* ------------------------------------------------------------ items */

#define ROSTER_MIN_BUCKETS 16

static struct roster_item *item_of(const struct hash_link *l)
{
	return hash_entry(l, struct roster_item, link);
}

static uint64_t roster_item_hash(const struct hash_link *l)
{
	return hash_string(item_of(l)->jid);
}

static void roster_item_free(struct roster_item *it)
{
	for (size_t i = 0; i < it->ngroups; i++)
		free(it->groups[i]);
	free(it->groups);
	free(it->name);
	free(it->request);
	free(it->jid);
	free(it);
}

static void roster_free(void *p)
{
	struct roster *r = p;
	struct hash_link *l, *next;
	hash_table_for_each(&r->items, l, next) roster_item_free(item_of(l));
	hash_table_free(&r->items);
	free(r);
}

struct roster *sm_roster_of(struct user *u)
{
	if (roster_slot < 0)
		return NULL;
	return u->slots[roster_slot];
}

static bool roster_item_match(const struct hash_link *l, const void *jid)
{
	return strcmp(item_of(l)->jid, jid) == 0;
}

struct roster_item *sm_roster_find(const struct roster *r, const char *jid)
{
	struct hash_link *l = hash_table_find(&r->items, hash_string(jid),
					      roster_item_match, jid);
	return l ? item_of(l) : NULL;
}

static int roster_insert(struct roster *r, struct roster_item *it)
{
	if (hash_table_insert(&r->items, &it->link, hash_string(it->jid)) < 0)
		return -1;
	if (it->shown)
		r->shown++;
	return 0;
}

struct roster_item *sm_roster_get(struct roster *r, const char *jid)
{
	struct roster_item *it = sm_roster_find(r, jid);
	if (it)
		return it;
	it = calloc(1, sizeof *it);
	if (!it || !(it->jid = strdup(jid)) || roster_insert(r, it) < 0) {
		if (it)
			free(it->jid);
		free(it);
		return NULL;
	}
	return it;
}

static void roster_delete(struct roster *r, struct roster_item *it)
{
	hash_table_remove(&r->items, &it->link);
	roster_item_free(it);
}

struct roster_item *sm_roster_next(const struct roster *r,
				   const struct roster_item *it)
{
	struct hash_link *l = hash_table_next(&r->items, it ? &it->link : NULL);
	return l ? item_of(l) : NULL;
}

int sm_roster_set_request(struct roster_item *it, const char *xml)
{
	char *copy = NULL;
	if (xml && !(copy = strdup(xml)))
		return -1;
	free(it->request);
	it->request = copy;
	return 0;
}

/* ------------------------------------------------------------ encoding */

/* An item as stored: u8 format, u8 flags, then the name (u16 length,
 * 0xffff: none), u8 count of groups and each (u16 length), the stored
 * request (u32 length); lengths big-endian. */
enum {
	F_TO = 1,
	F_FROM = 2,
	F_ASK = 4,
	F_PENDING_IN = 8,
	F_APPROVED = 16,
	F_SHOWN = 32,
};

static int roster_put_u16(struct buf *b, size_t v)
{
	unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
	return buf_append(b, x, 2);
}

static int roster_put_str16(struct buf *b, const char *s)
{
	size_t n = strlen(s);
	return roster_put_u16(b, n) < 0 ? -1 : buf_append(b, s, n);
}

static int roster_item_encode(const struct roster_item *it, struct buf *b)
{
	unsigned char head[2] = {
		ITEM_FORMAT,
		(unsigned char)((it->sub & ROSTER_SUB_TO ? F_TO : 0) |
				(it->sub & ROSTER_SUB_FROM ? F_FROM : 0) |
				(it->ask ? F_ASK : 0) |
				(it->pending_in ? F_PENDING_IN : 0) |
				(it->approved ? F_APPROVED : 0) |
				(it->shown ? F_SHOWN : 0))};
	size_t rlen = it->request ? strlen(it->request) : 0;
	unsigned char r[4] = {(unsigned char)(rlen >> 24),
			      (unsigned char)(rlen >> 16),
			      (unsigned char)(rlen >> 8), (unsigned char)rlen};
	if (buf_append(b, head, 2) < 0 ||
	    (it->name ? roster_put_str16(b, it->name)
		      : roster_put_u16(b, 0xffff)) < 0)
		return -1;
	unsigned char ng = (unsigned char)it->ngroups;
	if (buf_append(b, &ng, 1) < 0)
		return -1;
	for (size_t i = 0; i < it->ngroups; i++)
		if (roster_put_str16(b, it->groups[i]) < 0)
			return -1;
	if (buf_append(b, r, 4) < 0 ||
	    (rlen && buf_append(b, it->request, rlen) < 0))
		return -1;
	return 0;
}

struct reader {
	const unsigned char *p, *end;
};

static bool roster_get_bytes(struct reader *r, size_t n,
			     const unsigned char **out)
{
	if ((size_t)(r->end - r->p) < n)
		return false;
	*out = r->p;
	r->p += n;
	return true;
}

/* A string of n bytes, or NULL (bad data or memory). */
static char *roster_get_str(struct reader *r, size_t n)
{
	const unsigned char *s;
	return roster_get_bytes(r, n, &s) ? strndup((const char *)s, n) : NULL;
}

static bool roster_get_u16(struct reader *r, size_t *v)
{
	const unsigned char *x;
	if (!roster_get_bytes(r, 2, &x))
		return false;
	*v = (size_t)x[0] << 8 | x[1];
	return true;
}

static int roster_item_decode(struct roster_item *it, const void *value,
			      size_t len)
{
	struct reader r = {value, (const unsigned char *)value + len};
	const unsigned char *x;
	size_t n;
	if (!roster_get_bytes(&r, 2, &x) || x[0] != ITEM_FORMAT)
		return -1;
	unsigned flags = x[1];
	it->sub = (flags & F_TO ? ROSTER_SUB_TO : 0) |
		  (flags & F_FROM ? ROSTER_SUB_FROM : 0);
	it->ask = flags & F_ASK;
	it->pending_in = flags & F_PENDING_IN;
	it->approved = flags & F_APPROVED;
	it->shown = flags & F_SHOWN;
	if (!roster_get_u16(&r, &n))
		return -1;
	if (n != 0xffff && !(it->name = roster_get_str(&r, n)))
		return -1;
	if (!roster_get_bytes(&r, 1, &x))
		return -1;
	size_t ng = x[0];
	if (ng && !(it->groups = calloc(ng, sizeof *it->groups)))
		return -1;
	for (; it->ngroups < ng; it->ngroups++)
		if (!roster_get_u16(&r, &n) ||
		    !(it->groups[it->ngroups] = roster_get_str(&r, n)))
			return -1;
	if (!roster_get_bytes(&r, 4, &x))
		return -1;
	n = (size_t)x[0] << 24 | (size_t)x[1] << 16 | (size_t)x[2] << 8 | x[3];
	if (n && !(it->request = roster_get_str(&r, n)))
		return -1;
	return 0;
}

/* userdata: fills the slot from the stored items. */
static int roster_parse(struct sm *sm, struct user *u,
			const struct storage_items *items, void *data)
{
	struct roster *r = calloc(1, sizeof *r);
	if (!r)
		return -1;
	hash_table_init(&r->items, roster_item_hash, ROSTER_MIN_BUCKETS);
	if (u->slots[roster_slot])
		roster_free(u->slots[roster_slot]);
	u->slots[roster_slot] = r;
	for (size_t i = 0; i < items->count; i++) {
		const struct storage_item *si = &items->items[i];
		if (strcmp(si->key, VER_KEY) == 0) {
			char v[24];
			size_t n = si->value_len < 23 ? si->value_len : 23;
			memcpy(v, si->value, n);
			v[n] = '\0';
			r->ver = strtoull(v, NULL, 10);
			continue;
		}
		struct roster_item *it = calloc(1, sizeof *it);
		if (!it || !(it->jid = strdup(si->key)) ||
		    roster_item_decode(it, si->value, si->value_len) < 0) {
			log_error("sm: %s: roster item %s unreadable; skipped",
				  u->jid, si->key);
			if (it)
				roster_item_free(it);
			continue;
		}
		if (roster_insert(r, it) < 0) {
			roster_item_free(it);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------ XML */

static const char *roster_subscription_name(unsigned sub)
{
	static const char *const names[] = {"none", "to", "from", "both"};
	return names[sub & 3];
}

/* <item/> as in a roster result or push (RFC 6121 §2.1.2). */
static int roster_item_xml(const struct roster_item *it, bool removed,
			   struct buf *b)
{
	if (buf_append_str(b, "<item jid='") < 0 ||
	    buf_append_xml_escaped(b, it->jid, strlen(it->jid)) < 0)
		return -1;
	if (removed)
		return buf_append_str(b, "' subscription='remove'/>");
	if (it->name &&
	    (buf_append_str(b, "' name='") < 0 ||
	     buf_append_xml_escaped(b, it->name, strlen(it->name)) < 0))
		return -1;
	if (buf_printf(b, "' subscription='%s'%s%s>",
		       roster_subscription_name(it->sub),
		       it->ask ? " ask='subscribe'" : "",
		       it->approved ? " approved='true'" : "") < 0)
		return -1;
	for (size_t i = 0; i < it->ngroups; i++)
		if (buf_append_str(b, "<group>") < 0 ||
		    buf_append_xml_escaped(b, it->groups[i],
					   strlen(it->groups[i])) < 0 ||
		    buf_append_str(b, "</group>") < 0)
			return -1;
	return buf_append_str(b, "</item>");
}

/* ------------------------------------------------------------ changes */

struct push {
	struct push *next;
	uint64_t ver;
	char *item; /* <item/> */
};

struct reply {
	struct reply *next;
	const char *c2s; /* interned: lives as long as the sm */
	uint64_t conn;
	char *ok, *error;
};

struct roster_change {
	struct sm *sm;
	char *user;
	struct storage_batch *batch;
	struct push *pushes, **push_tail;
	struct reply *replies, **reply_tail;
	bool broken;
};

struct roster_change *sm_roster_change_new(struct sm *sm, struct user *u)
{
	struct roster_change *c = calloc(1, sizeof *c);
	if (!c || !(c->user = strdup(u->jid))) {
		free(c);
		return NULL;
	}
	c->sm = sm;
	c->push_tail = &c->pushes;
	c->reply_tail = &c->replies;
	if (sm->storage && !(c->batch = storage_batch_new(sm->storage)))
		c->broken = true;
	return c;
}

unsigned sm_roster_item_view(const struct roster_item *it)
{
	if (!it)
		return 0;
	return it->sub | (it->ask ? 4u : 0) | (it->approved ? 8u : 0) |
	       (it->shown ? 16u : 0);
}

int sm_roster_change_item(struct roster_change *c, struct roster_item *it,
			  bool was_shown, bool push)
{
	struct user *u = sm_userdata_user(c->sm, c->user);
	struct roster *r = u ? sm_roster_of(u) : NULL;
	if (!r)
		return -1;
	bool gone = !it->shown && !it->pending_in;
	if (was_shown != it->shown) {
		if (it->shown)
			r->shown++;
		else
			r->shown--;
	}
	struct buf b = BUF_INIT;
	int rc = 0;
	r->ver++;
	if (c->batch) {
		char ver[24];
		int n = snprintf(ver, sizeof ver, "%llu",
				 (unsigned long long)r->ver);
		if (gone)
			rc = storage_batch_delete(c->batch, c->user,
						  ROSTER_STORE, it->jid);
		else if ((rc = roster_item_encode(it, &b)) == 0)
			rc = storage_batch_put(c->batch, c->user, ROSTER_STORE,
					       it->jid, b.data, b.len);
		if (rc == 0)
			rc = storage_batch_put(c->batch, c->user, ROSTER_STORE,
					       VER_KEY, ver, (size_t)n);
	}
	buf_clear(&b);
	/* RFC 6121 §2.1.6: a push for every change of a roster item. */
	if (rc == 0 && push && (was_shown || it->shown)) {
		struct push *p = calloc(1, sizeof *p);
		if (!p || roster_item_xml(it, !it->shown, &b) < 0) {
			free(p);
			rc = -1;
		} else {
			p->ver = r->ver;
			p->item = b.data; /* taken over */
			b = (struct buf)BUF_INIT;
			*c->push_tail = p;
			c->push_tail = &p->next;
		}
	}
	buf_free(&b);
	if (gone)
		roster_delete(r, it);
	if (rc < 0)
		c->broken = true;
	return rc;
}

static char *roster_serialize_copy(const struct xml_node *xml)
{
	struct buf b = BUF_INIT;
	if (!xml)
		return NULL;
	if (xml_serialize(xml, XML_NS_CLIENT, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	return b.data;
}

int sm_roster_change_reply(struct roster_change *c, const struct session *s,
			   const struct xml_node *xml,
			   const struct xml_node *error_xml)
{
	struct reply *r = calloc(1, sizeof *r);
	if (!r || !(r->ok = roster_serialize_copy(xml))) {
		free(r);
		c->broken = true;
		return -1;
	}
	r->error = roster_serialize_copy(error_xml);
	r->c2s = s->c2s;
	r->conn = s->conn;
	*c->reply_tail = r;
	c->reply_tail = &r->next;
	return 0;
}

/* Sends the pushes to every interested resource (RFC 6121 §2.2: one
 * that requested the roster), each with the version it brings. */
static void roster_send_pushes(struct sm *sm, struct roster_change *c)
{
	struct user *u = sm_session_user_find(&sm->sessions, c->user);
	static unsigned long long push_id;
	struct buf b = BUF_INIT;
	for (struct push *p = c->pushes; p; p = p->next)
		for (struct session *s = u ? u->sessions : NULL; s;
		     s = s->next) {
			if (!s->roster_requested)
				continue;
			buf_clear(&b);
			if (buf_append_str(&b, "<iq type='set' id='push") < 0 ||
			    buf_printf(&b, "%llu' to='", ++push_id) < 0 ||
			    buf_append_xml_escaped(&b, s->jid, strlen(s->jid)) <
				    0 ||
			    buf_printf(&b,
				       "'><query xmlns='" NS_ROSTER
				       "' ver='%llu'>%s</query></iq>",
				       (unsigned long long)p->ver, p->item) < 0)
				break;
			sm_send_stanza_bytes(sm, s, b.data, b.len);
		}
	buf_free(&b);
}

static void roster_change_free(struct roster_change *c)
{
	while (c->pushes) {
		struct push *p = c->pushes;
		c->pushes = p->next;
		free(p->item);
		free(p);
	}
	while (c->replies) {
		struct reply *r = c->replies;
		c->replies = r->next;
		free(r->ok);
		free(r->error);
		free(r);
	}
	if (c->batch)
		storage_batch_free(c->batch);
	free(c->user);
	free(c);
}

static void roster_change_done(void *ctx, enum storage_status status)
{
	struct roster_change *c = ctx;
	struct sm *sm = c->sm;
	c->batch = NULL; /* the storage's */
	bool ok = status == STORAGE_OK && !c->broken;
	if (!ok)
		log_error("sm: roster change of %s not stored", c->user);
	if (ok)
		roster_send_pushes(sm, c);
	for (struct reply *r = c->replies; r; r = r->next) {
		struct session *s = sm_session_find_conn(
			&sm->sessions, r->c2s, strlen(r->c2s), r->conn);
		const char *bytes = ok ? r->ok : r->error;
		if (s && bytes)
			sm_send_stanza_bytes(sm, s, bytes, strlen(bytes));
	}
	roster_change_free(c);
}

void sm_roster_change_commit(struct roster_change *c)
{
	if (!c->batch) {
		roster_change_done(c, c->broken ? STORAGE_ERROR : STORAGE_OK);
		return;
	}
	if (c->broken) {
		roster_change_done(c, STORAGE_ERROR);
		return;
	}
	struct storage_batch *b = c->batch;
	if (storage_batch_commit(b, roster_change_done, c) < 0) {
		c->batch = NULL; /* dropped by the storage */
		roster_change_done(c, STORAGE_ERROR);
	}
}

/* ------------------------------------------------------------ get */

/* RFC 6121 §2.1.3 and §2.6.3 (XEP-0237): the whole roster, or, when the
 * client has the current version, an empty result (changes come as
 * pushes). */
static void roster_get(struct sm *sm, struct stanza *st, struct session *s,
		       struct roster *r)
{
	s->roster_requested = true;
	char ver[24];
	snprintf(ver, sizeof ver, "%llu", (unsigned long long)r->ver);
	const char *have = xml_attr_get(st->payload, "ver");
	struct xml_node *res = sm_stanza_result_new(st);
	if (!res)
		return;
	if (have && strcmp(have, ver) == 0) {
		sm_send_stanza(sm, s, res);
		return;
	}
	/* Serialized by hand: a roster of 1000 items as a tree would cost
	 * more than the bytes. */
	struct buf items = BUF_INIT;
	for (struct roster_item *it = sm_roster_next(r, NULL); it;
	     it = sm_roster_next(r, it))
		if (it->shown && roster_item_xml(it, false, &items) < 0) {
			buf_free(&items);
			sm_deliver_error(sm, st, "resource-constraint");
			return;
		}
	struct buf out = BUF_INIT;
	if (xml_serialize(res, XML_NS_CLIENT, &out) == 0 && out.len > 2) {
		/* "<iq …/>" → "<iq …><query …>items</query></iq>" */
		out.len -= 2;
		out.data[out.len] = '\0';
		if (buf_printf(&out, "><query xmlns='" NS_ROSTER "' ver='%s'>",
			       ver) == 0 &&
		    (!items.len ||
		     buf_append(&out, items.data, items.len) == 0) &&
		    buf_append_str(&out, "</query></iq>") == 0)
			sm_send_stanza_bytes(sm, s, out.data, out.len);
	}
	buf_free(&out);
	buf_free(&items);
}

/* ------------------------------------------------------------ set */

/* RFC 6121 §2.3.3, the errors of a roster set, checked before any
 * change. Returns the condition, or NULL when the item is acceptable;
 * fills jid (prepared, bare). */
static const char *roster_set_check(struct sm *sm, struct stanza *st,
				    struct user *u, struct roster *r,
				    struct xml_node **item_out, char *jid)
{
	struct xml_node *item = xml_child(st->payload, NS_ROSTER, "item");
	/* "The <query/> element contains more than one <item/> child
	 * element": bad-request. */
	if (!item || xml_next(item, NS_ROSTER, "item"))
		return "bad-request";
	*item_out = item;
	const char *v = xml_attr_get(item, "jid");
	struct jid j;
	if (!v)
		return "bad-request";
	if (jid_parse_str(&j, v) < 0)
		return "jid-malformed";
	jid_format(&j, jid);
	/* The user's own JID is not a contact (its presence is the user's
	 * own, §4.2.2): refused. */
	if (strcmp(jid, u->jid) == 0)
		return "not-allowed";
	const char *sub = xml_attr_get(item, "subscription");
	if (sub && strcmp(sub, "remove") == 0)
		return NULL;
	/* §2.1.2.5, §2.1.2.1: other values of 'subscription', and 'ask',
	 * are the server's to set; a client's are ignored. */
	const char *name = xml_attr_get(item, "name");
	if (name && strlen(name) > ROSTER_MAX_TEXT)
		return "not-acceptable";
	size_t ngroups = 0;
	for (struct xml_node *g = xml_child(item, NS_ROSTER, "group"); g;
	     g = xml_next(g, NS_ROSTER, "group")) {
		const char *text = xml_text(st->arena, g);
		/* "The <group/> element contains no XML character data":
		 * not-acceptable; a group too long for the server: the
		 * same. */
		if (!text || !text[0] || strlen(text) > ROSTER_MAX_TEXT)
			return "not-acceptable";
		/* "more than one <group/> element, but there are duplicate
		 * groups": bad-request. */
		for (struct xml_node *h = xml_child(item, NS_ROSTER, "group");
		     h != g; h = xml_next(h, NS_ROSTER, "group"))
			if (strcmp(xml_text(st->arena, h), text) == 0)
				return "bad-request";
		if (++ngroups > ROSTER_MAX_GROUPS)
			return "policy-violation";
	}
	struct roster_item *it = sm_roster_find(r, jid);
	if ((!it || !it->shown) && r->shown >= ROSTER_MAX_ITEMS)
		return "policy-violation";
	return NULL;
}

/* Name and groups from a set's <item/>. 0 or -1 (memory). */
static int roster_item_update(struct stanza *st, struct roster_item *it,
			      struct xml_node *item)
{
	const char *name = xml_attr_get(item, "name");
	char *n = name && name[0] ? strdup(name) : NULL;
	size_t ng = 0;
	for (struct xml_node *g = xml_child(item, NS_ROSTER, "group"); g;
	     g = xml_next(g, NS_ROSTER, "group"))
		ng++;
	char **groups = ng ? calloc(ng, sizeof *groups) : NULL;
	if ((name && name[0] && !n) || (ng && !groups)) {
		free(n);
		free(groups);
		return -1;
	}
	size_t i = 0;
	for (struct xml_node *g = xml_child(item, NS_ROSTER, "group"); g;
	     g = xml_next(g, NS_ROSTER, "group"))
		if ((groups[i] = strdup(xml_text(st->arena, g))) != NULL)
			i++;
	for (size_t k = 0; k < it->ngroups; k++)
		free(it->groups[k]);
	free(it->groups);
	free(it->name);
	it->name = n;
	it->groups = groups;
	it->ngroups = i;
	return 0;
}

/* A subscription stanza from the user's bare JID, routed as the server
 * sends it for a removed item (§2.5.2). */
static void roster_send_subscription(struct sm *sm, struct stanza *st,
				     const char *from, const char *to,
				     const char *type)
{
	struct xml_node *p = xml_node_new(st->arena, XML_NS_CLIENT, "presence");
	if (p && xml_set_attr(st->arena, p, "from", from) == 0 &&
	    xml_set_attr(st->arena, p, "to", to) == 0 &&
	    xml_set_attr(st->arena, p, "type", type) == 0)
		sm_deliver_xml(sm, p);
}

static void roster_set(struct sm *sm, struct stanza *st, struct session *s,
		       struct user *u, struct roster *r)
{
	struct xml_node *item;
	char jid[JID_MAX + 1];
	const char *condition = roster_set_check(sm, st, u, r, &item, jid);
	if (condition) {
		sm_deliver_error(sm, st, condition);
		return;
	}
	const char *sub = xml_attr_get(item, "subscription");
	bool remove = sub && strcmp(sub, "remove") == 0;
	struct roster_item *it = sm_roster_find(r, jid);
	if (remove && (!it || !it->shown)) {
		/* §2.5.3: removing an item that is not there. */
		sm_deliver_error(sm, st, "item-not-found");
		return;
	}
	struct roster_change *c = sm_roster_change_new(sm, u);
	if (!c || !(it = sm_roster_get(r, jid))) {
		if (c)
			sm_roster_change_commit(c);
		sm_deliver_error(sm, st, "resource-constraint");
		return;
	}
	bool was_shown = it->shown;
	if (remove) {
		/* §2.5.2: the server cancels the subscriptions both ways:
		 * unsubscribe if the user had one to the contact or asked
		 * for one, unsubscribed if the contact had one from the
		 * user (or asked: its request is declined). */
		if (it->sub & ROSTER_SUB_TO || it->ask)
			roster_send_subscription(sm, st, u->jid, jid,
						 "unsubscribe");
		if (it->sub & ROSTER_SUB_FROM || it->pending_in)
			roster_send_subscription(sm, st, u->jid, jid,
						 "unsubscribed");
		/* §3.2.2: a contact that loses its subscription gets
		 * unavailable presence from each available resource. */
		if (it->sub & ROSTER_SUB_FROM)
			for (struct session *o = u->sessions; o; o = o->next)
				if (sm_session_available(o))
					roster_send_subscription(sm, st, o->jid,
								 jid,
								 "unavailable");
		it->sub = 0;
		it->ask = it->pending_in = it->approved = it->shown = false;
		sm_roster_set_request(it, NULL);
	} else if (roster_item_update(st, it, item) < 0) {
		sm_roster_change_commit(c);
		sm_deliver_error(sm, st, "resource-constraint");
		return;
	} else {
		it->shown = true;
	}
	sm_roster_change_item(c, it, was_shown, true);
	sm_roster_change_reply(
		c, s, sm_stanza_result_new(st),
		sm_stanza_error_new(st, "internal-server-error"));
	sm_roster_change_commit(c);
}

/* ------------------------------------------------------------ module */

static enum sm_verdict roster_iq(struct sm_event *ev, void *data)
{
	struct sm *sm = ev->sm;
	struct stanza *st = ev->st;
	struct session *s = ev->session;
	bool request =
		sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set");
	if (!request)
		return SM_DONE; /* a result or error: nothing to do */
	/* RFC 6121 §2.3.3: a roster is its owner's; a request from
	 * another entity gets forbidden. */
	struct user *u = st->to_user;
	if (!s || !u || s->user != u) {
		sm_deliver_error(sm, st, "forbidden");
		return SM_DONE;
	}
	struct roster *r = sm_roster_of(u);
	if (!r) {
		sm_deliver_error(sm, st, "internal-server-error");
		return SM_DONE;
	}
	if (sm_stanza_is_type(st, "get"))
		roster_get(sm, st, s, r);
	else
		roster_set(sm, st, s, u, r);
	return SM_DONE;
}

static int roster_init(struct sm *sm)
{
	roster_slot = sm_session_slot_register(&sm->sessions, roster_free);
	if (roster_slot < 0 ||
	    sm_userdata_register(sm, ROSTER_STORE, roster_slot, roster_parse,
				 NULL) < 0)
		return -1;
	return sm_module_hook(sm, SM_EV_IQ_BARE, NS_ROSTER, 0, roster_iq, NULL);
}

/* The slot number is the module's only state outside the users: an sm
 * made later without the roster module must not read another module's
 * slot as a roster. */
static void roster_module_free(struct sm *sm)
{
	roster_slot = -1;
}

const struct sm_module sm_module_roster = {
	.name = "roster",
	.on_by_default = true,
	/* XEP-0237 §3: roster versioning is announced as a stream
	 * feature. */
	.stream_feature = "<ver xmlns='urn:xmpp:features:rosterver'/>",
	.init = roster_init,
	.free = roster_module_free,
};
