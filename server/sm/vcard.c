/* vcard: XEP-0054 vcard-temp, the module.
 *
 * Every user of every domain has a vCard, stored per user (VCARD_STORE,
 * vcard.h), set by the user (an iq set without 'to' or to its own bare
 * JID, §3.2) and read by anyone (an iq get to the user's bare JID,
 * §3.3; without 'to', one's own, §3.1). Nothing is loaded at login: a
 * get reads the store and answers from the completion; a set is
 * answered once its write is durable.
 *
 * For a domain whose directory has a <vcard> map (vcard_ldap.c), the
 * directory's fields stay authoritative and read-only: a get answers
 * the directory's vCard merged with what the user stored (the
 * directory's fields win, vcard_merge.c); a set stores what the
 * directory does not own, and is refused only when it would change a
 * directory value: a client that sends back the whole vCard it got,
 * with a new photo, succeeds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"
#include "vcard.h"

/* A get or set waiting for the storage or the directory. */
struct vcard_req {
	struct vcard_mod *mod;
	const struct config_host *host;
	const struct sm_vcard_map *map; /* NULL: not a directory's user */
	char *user;                     /* the vCard's owner, bare */
	char *local;                    /* its localpart */
	struct buf iq;                  /* the request, serialized */
	struct buf vcard; /* get: what the store holds; set: the vCard set */
	char hash[VCARD_HASH_SIZE]; /* set: its photo's, "" for none */
};

/* ------------------------------------------------------------ requests */

static void answer_error(struct sm *sm, const struct stanza *st,
			 const char *condition, const char *text)
{
	struct xml_node *e = sm_stanza_error_new(st, condition);
	struct xml_node *err = e ? xml_child(e, XML_NS_CLIENT, "error") : NULL;
	if (!err)
		return;
	if (text) {
		struct xml_node *t =
			xml_add_child(st->arena, err, NS_STANZAS, "text");
		if (!t || xml_append_text(st->arena, t, text, strlen(text)) < 0)
			return;
	}
	sm_deliver_xml(sm, e);
}

static void req_free(struct vcard_req *r)
{
	free(r->user);
	free(r->local);
	buf_free(&r->iq);
	buf_free(&r->vcard);
	free(r);
}

/* A request for owner's vCard (a bare JID), keeping st. NULL: memory. */
static struct vcard_req *req_new(struct vcard_mod *m, const struct stanza *st,
				 const struct jid *owner)
{
	struct vcard_req *r = calloc(1, sizeof *r);
	char bare[JID_MAX + 1];
	jid_format_bare(owner, bare);
	if (!r || !(r->user = strdup(bare)) ||
	    !(r->local = strdup(owner->local)) ||
	    xml_serialize(st->xml, XML_NS_CLIENT, &r->iq) < 0) {
		if (r)
			req_free(r);
		return NULL;
	}
	r->mod = m;
	r->host = config_find_host(m->sm->cfg, owner->domain);
	r->map = sm_vcard_directory_map(m->dir, r->host);
	return r;
}

/* The request again, parsed into sm->arena, to be answered. */
static int req_stanza(struct sm *sm, const struct vcard_req *r,
		      struct stanza *st)
{
	struct xml_node *xml =
		xml_parse(&sm->arena, r->iq.data, r->iq.len, XML_NS_CLIENT);
	return xml && sm_stanza_init(st, &sm->arena, xml) == 0 ? 0 : -1;
}

/* Answers a request that could not go on to the directory (rc of
 * sm_vcard_directory_lookup) or the storage (rc -1). */
static void req_refuse(struct sm *sm, const struct stanza *st, int rc)
{
	/* RFC 6120 §8.3.3.18: too much in flight, or the storage's queue
	 * is full: "the server … is busy", wait and retry. */
	answer_error(sm, st,
		     rc == -2 ? "resource-constraint" : "internal-server-error",
		     NULL);
}

/* The directory's answer that is not a vCard. */
static void req_directory_failed(struct sm *sm, const struct stanza *st,
				 enum auth_user_status status)
{
	if (status == AUTH_USER_UNKNOWN)
		answer_error(sm, st, "item-not-found", NULL);
	else
		/* RFC 6120 §8.3.3.16: a service needed to fulfil the
		 * request (the directory) could not be reached in time;
		 * type wait, the client may retry later. */
		answer_error(sm, st, "remote-server-timeout",
			     "The directory does not answer; try again later");
}

/* ------------------------------------------------------------ get */

static void get_answer(struct sm *sm, const struct vcard_req *r,
		       struct xml_node *dir)
{
	struct stanza st;
	if (req_stanza(sm, r, &st) < 0)
		return;
	struct xml_node *stored = r->vcard.len
					  ? xml_parse(&sm->arena, r->vcard.data,
						      r->vcard.len, NS_VCARD)
					  : NULL;
	struct xml_node *vc = dir ? dir : stored;
	if (dir && sm_vcard_merge(&sm->arena, r->map, dir, stored) < 0) {
		answer_error(sm, &st, "internal-server-error", NULL);
		return;
	}
	char from[JID_MAX + 1] = "";
	if (st.from)
		jid_format_bare(st.from, from);
	if (!vc && strcmp(from, r->user) != 0) {
		/* §3.3: "If no vCard exists …, the server MUST return a
		 * stanza error, which SHOULD [be] … <item-not-found/>". */
		answer_error(sm, &st, "item-not-found", NULL);
		return;
	}
	/* §3.1, one's own: "… or an IQ-result containing an empty
	 * <vCard/> element", which a profile editor opens as it is. */
	struct xml_node *res = sm_stanza_result_new(&st);
	if (!vc)
		vc = xml_node_new(&sm->arena, NS_VCARD, "vCard");
	if (!res || !vc) {
		answer_error(sm, &st, "internal-server-error", NULL);
		return;
	}
	xml_append_child(res, vc);
	sm_deliver_xml(sm, res);
}

static void get_directory_done(struct sm *sm, void *ctx,
			       enum auth_user_status status,
			       struct xml_node *vcard)
{
	struct vcard_req *r = ctx;
	struct stanza st;
	if (!r->mod->closing) {
		if (status == AUTH_USER_EXISTS)
			get_answer(sm, r, vcard);
		else if (req_stanza(sm, r, &st) == 0)
			req_directory_failed(sm, &st, status);
	}
	req_free(r);
}

static void get_read_done(void *ctx, enum storage_status status,
			  const struct storage_items *res)
{
	struct vcard_req *r = ctx;
	struct vcard_mod *m = r->mod;
	struct sm *sm = m->sm;
	struct stanza st;
	int rc = -1;
	if (status == STORAGE_OK && res->count == 1 &&
	    buf_append(&r->vcard, res->items[0].value,
		       res->items[0].value_len) < 0)
		status = STORAGE_ERROR;
	if (status == STORAGE_OK && !r->map)
		get_answer(sm, r, NULL);
	else if (status == STORAGE_OK &&
		 (rc = sm_vcard_directory_lookup(m->dir, r->host, r->local,
						 get_directory_done, r)) == 0)
		return;
	else if (req_stanza(sm, r, &st) == 0)
		req_refuse(sm, &st, rc);
	arena_reset(&sm->arena);
	req_free(r);
}

static void vcard_get(struct vcard_mod *m, struct stanza *st,
		      struct vcard_req *r)
{
	struct storage *storage = sm_storage(m->sm);
	if (!storage || storage_get(storage, r->user, VCARD_STORE, VCARD_KEY,
				    get_read_done, r) < 0) {
		req_refuse(m->sm, st, -2);
		req_free(r);
	}
}

/* ------------------------------------------------------------ set */

static void set_done(void *ctx, enum storage_status status)
{
	struct vcard_req *r = ctx;
	struct sm *sm = r->mod->sm;
	struct stanza st;
	if (req_stanza(sm, r, &st) == 0) {
		if (status != STORAGE_OK) {
			log_error("vcard: the vCard of %s could not be saved",
				  r->user);
			answer_error(sm, &st, "internal-server-error", NULL);
		} else {
			struct user *u =
				sm_session_user_find(&sm->sessions, r->user);
			if (u)
				sm_vcard_update_set(&r->mod->update, u,
						    r->hash);
			struct xml_node *res = sm_stanza_result_new(&st);
			if (res)
				sm_deliver_xml(sm, res);
			sm_vcard_photo_heard(r->mod, r->user, st.payload,
					     r->hash);
		}
	}
	arena_reset(&sm->arena);
	req_free(r);
}

int sm_vcard_store_batch(struct storage_batch *b, const char *user,
			 const struct xml_node *vc, const char *hash)
{
	if (!xml_child(vc, NULL, NULL))
		return storage_batch_delete(b, user, VCARD_STORE, NULL);
	struct buf out = BUF_INIT;
	int rc = xml_serialize(vc, XML_NS_CLIENT, &out);
	if (rc == 0)
		rc = storage_batch_put(b, user, VCARD_STORE, VCARD_KEY,
				       out.data, out.len);
	buf_free(&out);
	if (rc < 0)
		return -1;
	if (hash[0])
		return storage_batch_put(b, user, VCARD_STORE, VCARD_KEY_PHOTO,
					 hash, strlen(hash));
	return storage_batch_delete(b, user, VCARD_STORE, VCARD_KEY_PHOTO);
}

/* Writes vc, the vCard to keep; st is answered once it is durable. */
static void set_store(struct sm *sm, const struct stanza *st,
		      struct vcard_req *r, const struct xml_node *vc)
{
	struct storage *storage = sm_storage(sm);
	struct storage_batch *b = storage ? storage_batch_new(storage) : NULL;
	if (b && sm_vcard_store_batch(b, r->user, vc, r->hash) < 0) {
		storage_batch_free(b);
		b = NULL;
	}
	if (!b || storage_batch_commit(b, set_done, r) < 0) {
		req_refuse(sm, st, -2);
		req_free(r);
		return;
	}
	sm_vcard_photo_stale(r->mod, r->user);
}

static void set_directory_done(struct sm *sm, void *ctx,
			       enum auth_user_status status,
			       struct xml_node *dir)
{
	struct vcard_req *r = ctx;
	struct stanza st;
	struct xml_node *vc = NULL;
	char field[64], text[200];
	if (r->mod->closing || req_stanza(sm, r, &st) < 0) {
		req_free(r);
		return;
	}
	if (status != AUTH_USER_EXISTS) {
		req_directory_failed(sm, &st, status);
	} else if (!(vc = xml_parse(&sm->arena, r->vcard.data, r->vcard.len,
				    NS_VCARD))) {
		answer_error(sm, &st, "internal-server-error", NULL);
	} else if (sm_vcard_directory_change(&sm->arena, r->map, vc, dir, field,
					     sizeof field)) {
		/* RFC 6120 §8.3.3.10 not-allowed: "the recipient or server
		 * does not allow any entity to perform the action". */
		snprintf(text, sizeof text,
			 "%s comes from the organisation's directory and "
			 "cannot be changed here; change it in the directory",
			 field);
		answer_error(sm, &st, "not-allowed", text);
	} else {
		sm_vcard_strip_owned(r->map, vc);
		set_store(sm, &st, r, vc);
		return;
	}
	req_free(r);
}

/* The checks of a vCard set before anything is asked: its size and its
 * photo. Returns 0, or -1 once st is answered. */
static int set_check(struct vcard_mod *m, const struct stanza *st,
		     struct vcard_req *r)
{
	char text[200];
	if (xml_serialize(st->payload, XML_NS_CLIENT, &r->vcard) < 0) {
		answer_error(m->sm, st, "internal-server-error", NULL);
		return -1;
	}
	if (r->vcard.len > m->max_bytes) {
		/* XEP-0054 sets no limit; RFC 6120 §8.3.3.12 not-acceptable:
		 * the request "does not meet criteria defined by the
		 * server"; type modify: a smaller photo will do. */
		snprintf(text, sizeof text,
			 "This vCard is %zu bytes; this server keeps vCards "
			 "of at most %zu bytes (try a smaller photo)",
			 r->vcard.len, m->max_bytes);
		answer_error(m->sm, st, "not-acceptable", text);
		return -1;
	}
	if (sm_vcard_photo_hash(st->arena, st->payload, r->hash) ==
	    SM_VCARD_PHOTO_BAD) {
		answer_error(m->sm, st, "bad-request",
			     "PHOTO/BINVAL is not base64 (RFC 4648)");
		return -1;
	}
	return 0;
}

static void vcard_set(struct vcard_mod *m, struct sm_event *ev,
		      struct vcard_req *r)
{
	struct stanza *st = ev->st;
	int rc;
	if (!ev->session || !sm_stanza_to_self(st)) {
		/* §3.2: a set of another's vCard "MUST return a stanza
		 * error, which SHOULD be <forbidden/> or <not-allowed/>". */
		answer_error(m->sm, st, "forbidden", NULL);
	} else if (set_check(m, st, r) < 0) {
		;
	} else if (!r->map) {
		set_store(m->sm, st, r, st->payload);
		return;
	} else if ((rc = sm_vcard_directory_lookup(m->dir, r->host, r->local,
						   set_directory_done, r)) ==
		   0) {
		return; /* what the directory owns is compared first */
	} else {
		req_refuse(m->sm, st, rc);
	}
	req_free(r);
}

/* ------------------------------------------------------------ the iq */

static enum sm_verdict vcard_iq(struct sm_event *ev, void *data)
{
	struct vcard_mod *m = data;
	struct stanza *st = ev->st;
	const struct jid *owner = st->to ? st->to : st->from;
	bool get = sm_stanza_is_type(st, "get");
	if (!owner || !owner->local[0] ||
	    !xml_is(st->payload, NS_VCARD, "vCard") ||
	    (!get && !sm_stanza_is_type(st, "set")))
		return SM_NEXT;
	struct vcard_req *r = req_new(m, st, owner);
	if (!r)
		sm_deliver_error(ev->sm, st, "internal-server-error");
	else if (get)
		vcard_get(m, st, r);
	else
		vcard_set(m, ev, r);
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

static int vcard_init(struct sm *sm)
{
	struct vcard_mod *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	m->sm = sm;
	sm_module_set_data(sm, &sm_module_vcard, m);
	m->max_bytes = (size_t)sm_module_option_integer(
		sm->cfg, &sm_module_vcard, "vcard-max-bytes");
	if (!(m->dir = sm_vcard_directory_new(sm)) ||
	    sm_vcard_update_init(sm, &m->update) < 0)
		return -1;
	return sm_module_hook(sm, SM_EV_IQ_BARE, NS_VCARD, 0, vcard_iq, m);
}

static void vcard_free(struct sm *sm)
{
	struct vcard_mod *m = sm_module_data(sm, &sm_module_vcard);
	if (!m)
		return;
	/* The storage's completions have run; the directory's still may:
	 * they answer nobody now. */
	m->closing = true;
	sm_vcard_directory_free(m->dir);
	free(m);
}

/* <sm><vcard-max-bytes>: a vCard's size as the client sends it; the
 * default (128 KiB) keeps a photo of 90 KB, 120 KB in base64, below
 * c2s/max-stanza-size (docs/configuration.md). */
static const struct sm_option vcard_options[] = {{.name = "vcard",
						  .type = SM_OPTION_DIRECTORY,
						  .read = sm_vcard_map_read},
						 {.name = "vcard-max-bytes",
						  .type = SM_OPTION_INTEGER,
						  .min = 1024,
						  .max = 8L << 20,
						  .def = 128L << 10},
						 {0}};

const struct sm_module sm_module_vcard = {
	.name = "vcard",
	.on_by_default = true,
	.features = (const char *const[]){NS_VCARD, NULL},
	.options = vcard_options,
	.init = vcard_init,
	.free = vcard_free,
};
