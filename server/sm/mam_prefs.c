/* mam_prefs: archiving preferences (XEP-0313 §7): a default (always,
 * never, roster) and JIDs always or never archived.
 *
 * Every archived message asks them, synchronously, for each local
 * party: they must be in memory. They are a store loaded with the user
 * (userdata.h) rather than read on a message's way: one more read of an
 * empty key range per user load, on the storage thread, in the group of
 * the roster's (measured: docs/architecture.md), and nothing in memory
 * for the users who keep the defaults (the slot stays NULL), which is
 * nearly everyone. Reading them at the first message instead would hold
 * that message (and those behind it) for a storage round trip, or
 * archive it against preferences not yet known.
 *
 * The store "mam-prefs" holds "default" → always | never | roster, and
 * "always JID" / "never JID" → "". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "delivery.h"
#include "mam.h"
#include "module.h"
#include "roster.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define MAM_PREFS_STORE "mam-prefs"
/* JIDs in the always and never lists together. */
#define MAM_PREFS_MAX_JIDS 1000
#define MAM_PREFS_FULL_TEXT "at most 1000 JIDs in <always/> and <never/>"

enum mam_default { MAM_ALWAYS, MAM_NEVER, MAM_ROSTER };

static const char *const mam_default_names[] = {"always", "never", "roster"};

struct mam_prefs_jid {
	char *jid; /* prepared, bare or full */
	bool always;
};

struct mam_prefs {
	enum mam_default def;
	size_t n;
	struct mam_prefs_jid *jids;
};

static void mam_prefs_free(void *p)
{
	struct mam_prefs *prefs = p;
	for (size_t i = 0; prefs && i < prefs->n; i++)
		free(prefs->jids[i].jid);
	if (prefs)
		free(prefs->jids);
	free(prefs);
}

static int mam_default_parse(const char *name, enum mam_default *out)
{
	for (int i = 0; i < 3; i++)
		if (name && strcmp(name, mam_default_names[i]) == 0) {
			*out = (enum mam_default)i;
			return 0;
		}
	return -1;
}

static int mam_prefs_add(struct mam_prefs *p, const char *jid, bool always)
{
	if (p->n == MAM_PREFS_MAX_JIDS)
		return -1;
	struct mam_prefs_jid *jids =
		realloc(p->jids, (p->n + 1) * sizeof *jids);
	if (!jids)
		return -1;
	p->jids = jids;
	if (!(jids[p->n].jid = strdup(jid)))
		return -1;
	jids[p->n++].always = always;
	return 0;
}

/* ------------------------------------------------------------ deciding */

static bool mam_in_roster(struct user *u, const char *bare)
{
	struct roster *r = sm_roster_of(u);
	struct roster_item *it = r ? sm_roster_find(r, bare) : NULL;
	return it && it->shown;
}

/* §7: "a JID in <always/> or <never/> … bare JIDs match every
 * resource", a full JID only itself; else the default. */
bool mam_prefs_archives(struct mam *mod, struct user *u, const struct jid *with)
{
	const struct mam_prefs *p = u->slots[mod->prefs_slot];
	if (!p)
		return true; /* the default: always */
	char bare[JID_MAX + 1], full[JID_MAX + 1];
	jid_format_bare(with, bare);
	jid_format(with, full);
	for (size_t i = 0; i < p->n; i++)
		if (strcmp(p->jids[i].jid, bare) == 0 ||
		    strcmp(p->jids[i].jid, full) == 0)
			return p->jids[i].always;
	return p->def == MAM_ALWAYS ||
	       (p->def == MAM_ROSTER && mam_in_roster(u, bare));
}

/* ------------------------------------------------------------ the store */

static int mam_prefs_parse(struct sm *sm, struct user *u,
			   const struct storage_items *items, void *data)
{
	struct mam *mod = data;
	if (!items->count)
		return 0;
	struct mam_prefs *p = calloc(1, sizeof *p);
	if (!p)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < items->count; i++) {
		const char *key = items->items[i].key;
		if (strcmp(key, "default") == 0)
			rc = mam_default_parse(items->items[i].value, &p->def);
		else if (strncmp(key, "always ", 7) == 0)
			rc = mam_prefs_add(p, key + 7, true);
		else if (strncmp(key, "never ", 6) == 0)
			rc = mam_prefs_add(p, key + 6, false);
	}
	u->slots[mod->prefs_slot] = p;
	return rc;
}

/* ------------------------------------------------------------ the iq */

static struct xml_node *mam_prefs_xml(struct arena *a,
				      const struct mam_prefs *p)
{
	struct xml_node *x = xml_node_new(a, NS_MAM, "prefs");
	struct xml_node *always =
		x ? xml_add_child(a, x, NS_MAM, "always") : NULL;
	struct xml_node *never =
		always ? xml_add_child(a, x, NS_MAM, "never") : NULL;
	if (!never || xml_set_attr(a, x, "default",
				   mam_default_names[p ? p->def : 0]) < 0)
		return NULL;
	for (size_t i = 0; p && i < p->n; i++) {
		struct xml_node *j = xml_add_child(
			a, p->jids[i].always ? always : never, NS_MAM, "jid");
		if (!j || xml_append_text(a, j, p->jids[i].jid,
					  strlen(p->jids[i].jid)) < 0)
			return NULL;
	}
	return x;
}

/* A list of <prefs/> (always or never) into p; NULL or the error. */
static const char *mam_prefs_read_list(struct arena *a, struct mam_prefs *p,
				       const struct xml_node *list, bool always)
{
	for (const struct xml_node *j = xml_child(list, NS_MAM, "jid"); j;
	     j = xml_next(j, NS_MAM, "jid")) {
		const char *text = xml_text(a, j);
		struct jid parsed;
		char jid[JID_MAX + 1];
		if (!text || jid_parse_str(&parsed, text) < 0)
			return "jid-malformed";
		jid_format(&parsed, jid);
		if (mam_prefs_add(p, jid, always) < 0)
			return p->n == MAM_PREFS_MAX_JIDS
				       ? "policy-violation"
				       : "internal-server-error";
	}
	return NULL;
}

/* §7.2's set: <prefs default='…'> with <always/> and <never/>. */
static const char *mam_prefs_read(struct arena *a, const struct xml_node *x,
				  struct mam_prefs *p)
{
	if (mam_default_parse(xml_attr_get(x, "default"), &p->def) < 0)
		return "bad-request";
	const struct xml_node *always = xml_child(x, NS_MAM, "always");
	const struct xml_node *never = xml_child(x, NS_MAM, "never");
	const char *cond =
		always ? mam_prefs_read_list(a, p, always, true) : NULL;
	if (!cond && never)
		cond = mam_prefs_read_list(a, p, never, false);
	return cond;
}

static int mam_prefs_write(struct storage_batch *b, const char *user,
			   const struct mam_prefs *p)
{
	if (storage_batch_delete(b, user, MAM_PREFS_STORE, NULL) < 0 ||
	    storage_batch_put(b, user, MAM_PREFS_STORE, "default",
			      mam_default_names[p->def],
			      strlen(mam_default_names[p->def])) < 0)
		return -1;
	for (size_t i = 0; i < p->n; i++) {
		char key[JID_MAX + 8];
		snprintf(key, sizeof key, "%s %s",
			 p->jids[i].always ? "always" : "never",
			 p->jids[i].jid);
		if (storage_batch_put(b, user, MAM_PREFS_STORE, key, "", 0) < 0)
			return -1;
	}
	return 0;
}

/* A set waiting for its write: the preferences before, to put back if
 * it fails, and after. */
struct mam_prefs_change {
	struct mam *mod;
	struct mam_reply reply;
	struct mam_prefs *before, *after;
};

/* Answers the set once its write is done (or refused), and puts the
 * preferences back when it failed. */
static void mam_prefs_finish(struct mam_prefs_change *c,
			     enum storage_status status)
{
	struct sm *sm = c->mod->sm;
	struct user *u = sm_session_user_find(&sm->sessions, c->reply.user);
	void **slot = u ? &u->slots[c->mod->prefs_slot] : NULL;
	struct session *s = mam_reply_session(sm, &c->reply);
	if (status != STORAGE_OK && slot && *slot == c->after) {
		*slot = c->before; /* as the store still has them */
		c->before = c->after;
	}
	struct xml_node *iq =
		s ? mam_reply_iq(sm, s, &c->reply, "result") : NULL;
	struct xml_node *x = iq ? mam_prefs_xml(&sm->arena, c->after) : NULL;
	if (status != STORAGE_OK && s)
		mam_reply_error(sm, s, &c->reply, "internal-server-error");
	else if (x) {
		xml_append_child(iq, x);
		sm_send_stanza(sm, s, iq);
	}
	mam_prefs_free(c->before);
	mam_reply_free(&c->reply);
	free(c);
}

/* The write's completion, on the loop: what it built goes with the
 * sm's arena. */
static void mam_prefs_written(void *ctx, enum storage_status status)
{
	struct mam_prefs_change *c = ctx;
	struct sm *sm = c->mod->sm;
	mam_prefs_finish(c, status);
	arena_reset(&sm->arena);
}

static void mam_prefs_set(struct mam *mod, struct sm_event *ev)
{
	struct sm *sm = ev->sm;
	struct user *u = ev->session->user;
	struct storage *storage = sm_storage(sm);
	struct mam_prefs_change *c = calloc(1, sizeof *c);
	struct mam_prefs *p = calloc(1, sizeof *p);
	const char *cond =
		!c || !p || !storage || mam_reply_init(&c->reply, ev) < 0
			? "internal-server-error"
			: mam_prefs_read(ev->st->arena, ev->st->payload, p);
	struct storage_batch *b = cond ? NULL : storage_batch_new(storage);
	if (!cond && (!b || mam_prefs_write(b, u->jid, p) < 0))
		cond = "internal-server-error";
	if (cond) {
		storage_batch_free(b);
		mam_prefs_free(p);
		if (c)
			mam_reply_free(&c->reply);
		free(c);
		mam_deliver_error(sm, ev->st, cond,
				  strcmp(cond, "policy-violation") == 0
					  ? MAM_PREFS_FULL_TEXT
					  : NULL);
		return;
	}
	/* In force at once (write-through); answered once durable. */
	c->mod = mod;
	c->before = u->slots[mod->prefs_slot];
	c->after = u->slots[mod->prefs_slot] = p;
	/* Refused at once: answered within the handler, whose stanza
	 * lives in the sm's arena until the frame is done. */
	if (storage_batch_commit(b, mam_prefs_written, c) < 0)
		mam_prefs_finish(c, STORAGE_ERROR);
}

static enum sm_verdict mam_prefs_iq(struct sm_event *ev, void *data)
{
	struct mam *mod = data;
	struct stanza *st = ev->st;
	/* Results and errors are never answered (RFC 6120 §8.2.3). */
	if (!xml_is(st->payload, NS_MAM, "prefs") ||
	    !(sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set")))
		return SM_NEXT;
	if (!ev->session || !sm_stanza_to_self(st)) {
		/* §7: a user's own preferences only. */
		sm_deliver_error(ev->sm, st, "forbidden");
		return SM_DONE;
	}
	if (sm_stanza_is_type(st, "set")) {
		mam_prefs_set(mod, ev);
		return SM_DONE;
	}
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *x =
		r ? mam_prefs_xml(st->arena,
				  ev->session->user->slots[mod->prefs_slot])
		  : NULL;
	if (x) {
		xml_append_child(r, x);
		sm_deliver_xml(ev->sm, r);
	}
	return SM_DONE;
}

int mam_prefs_init(struct mam *mod)
{
	struct sm *sm = mod->sm;
	mod->prefs_slot =
		sm_session_slot_register(&sm->sessions, mam_prefs_free);
	if (mod->prefs_slot < 0 ||
	    sm_userdata_register(sm, MAM_PREFS_STORE, mod->prefs_slot,
				 mam_prefs_parse, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_MAM, 0, mam_prefs_iq, mod) < 0)
		return -1;
	return 0;
}
