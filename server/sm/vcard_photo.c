/* vcard_photo: a user's vCard photo as another module sees it (XEP-0398
 * conversion, avatar_convert.c): the sets it hears, and the photo it
 * puts.
 *
 * A put changes one element of the stored vCard (PHOTO), so it reads
 * the store, changes it and writes it back: a read-modify-write, which
 * a set of the whole vCard by its user may overtake (the storage runs
 * requests in order, so only a set submitted while the put's read is in
 * flight can be lost). The puts in flight are a short list; a set marks
 * those of its user stale, and they read again once their read
 * completes. A put never calls the listener: the conversion it comes
 * from does not come back to it (docs/architecture.md). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/log.h"
#include "module.h"
#include "sessions.h"
#include "sm.h"
#include "userdata.h"
#include "vcard.h"

/* Reads of one put a run of sets may force, before it gives up. */
#define PUT_TRIES_MAX 4

struct vcard_photo_put {
	struct vcard_photo_put *next;
	struct vcard_mod *mod;
	char *user, *type, *binval; /* binval NULL: remove */
	char hash[VCARD_HASH_SIZE];
	bool stale;
	unsigned tries;
	sm_vcard_photo_fn done;
	void *ctx;
};

/* ------------------------------------------------------------ hearing */

int sm_vcard_listen(struct sm *sm, sm_vcard_listener_fn fn, void *data)
{
	struct vcard_mod *m = sm_module_data(sm, &sm_module_vcard);
	if (!m)
		return -1;
	m->listener = fn;
	m->listener_data = data;
	return 0;
}

void sm_vcard_photo_heard(struct vcard_mod *m, const char *user,
			  const struct xml_node *vc, const char *hash)
{
	if (m->listener)
		m->listener(m->sm, user, vc, hash, m->listener_data);
}

const char *sm_vcard_photo_known(struct sm *sm, const char *user)
{
	struct vcard_mod *m = sm_module_data(sm, &sm_module_vcard);
	struct user *u = m ? sm_session_user_find(&sm->sessions, user) : NULL;
	return u ? sm_vcard_update_known(&m->update, u) : NULL;
}

/* ------------------------------------------------------------ puts */

static void put_free(struct vcard_photo_put *p)
{
	free(p->user);
	free(p->type);
	free(p->binval);
	free(p);
}

static void put_unlink(struct vcard_photo_put *p)
{
	struct vcard_photo_put **pp = &p->mod->puts;
	while (*pp && *pp != p)
		pp = &(*pp)->next;
	if (*pp)
		*pp = p->next;
}

void sm_vcard_photo_stale(struct vcard_mod *m, const char *user)
{
	for (struct vcard_photo_put *p = m->puts; p; p = p->next)
		if (strcmp(p->user, user) == 0)
			p->stale = true;
}

/* Ends p: done told error (NULL: success). */
static void put_finish(struct vcard_photo_put *p, const char *error)
{
	p->done(p->mod->sm, p->ctx, error);
	put_free(p);
}

static void put_written(void *ctx, enum storage_status status)
{
	struct vcard_photo_put *p = ctx;
	struct sm *sm = p->mod->sm;
	struct user *u = sm_session_user_find(&sm->sessions, p->user);
	if (status == STORAGE_OK && u)
		sm_vcard_update_changed(&p->mod->update, u, p->hash);
	put_finish(p, status == STORAGE_OK ? NULL : "the vCard was not saved");
	arena_reset(&sm->arena);
}

/* vc with its PHOTO replaced by p's (or removed). 0 or -1. */
static int put_photo(struct arena *a, struct xml_node *vc,
		     const struct vcard_photo_put *p)
{
	struct xml_node *old;
	while ((old = xml_child(vc, NS_VCARD, "PHOTO")))
		xml_remove_child(vc, old);
	if (!p->binval)
		return 0;
	struct xml_node *photo = xml_add_child(a, vc, NS_VCARD, "PHOTO");
	struct xml_node *type =
		photo ? xml_add_child(a, photo, NS_VCARD, "TYPE") : NULL;
	struct xml_node *bin =
		type ? xml_add_child(a, photo, NS_VCARD, "BINVAL") : NULL;
	if (!bin || xml_append_text(a, type, p->type, strlen(p->type)) < 0 ||
	    xml_append_text(a, bin, p->binval, strlen(p->binval)) < 0)
		return -1;
	return 0;
}

/* Writes vc changed by p, within vcard-max-bytes. */
static void put_write(struct vcard_photo_put *p, struct xml_node *vc)
{
	struct sm *sm = p->mod->sm;
	struct buf out = BUF_INIT;
	char why[160];
	if (put_photo(&sm->arena, vc, p) < 0 ||
	    xml_serialize(vc, XML_NS_CLIENT, &out) < 0) {
		buf_free(&out);
		put_finish(p, "out of memory");
		return;
	}
	size_t len = out.len;
	buf_free(&out);
	if (len > p->mod->max_bytes) {
		snprintf(why, sizeof why,
			 "the vCard would be %zu bytes, more than "
			 "vcard-max-bytes (%zu)",
			 len, p->mod->max_bytes);
		put_finish(p, why);
		return;
	}
	struct storage_batch *b = storage_batch_new(sm_storage(sm));
	/* A batch of which a put failed is refused by its commit. */
	if (b)
		(void)sm_vcard_store_batch(b, p->user, vc, p->hash);
	if (!b || storage_batch_commit(b, put_written, p) < 0)
		put_finish(p, "the storage refused the write");
}

static void put_read(struct vcard_photo_put *p);

static void put_read_done(void *ctx, enum storage_status status,
			  const struct storage_items *res)
{
	struct vcard_photo_put *p = ctx;
	struct sm *sm = p->mod->sm;
	char hash[VCARD_HASH_SIZE];
	put_unlink(p);
	struct xml_node *vc =
		status != STORAGE_OK ? NULL
		: res->count == 1 ? xml_parse(&sm->arena, res->items[0].value,
					      res->items[0].value_len, NS_VCARD)
				  : xml_node_new(&sm->arena, NS_VCARD, "vCard");
	if (!vc)
		put_finish(p, "the vCard could not be read");
	else if (p->stale && p->tries < PUT_TRIES_MAX)
		put_read(p); /* a set overtook the read: its vCard counts */
	else if (sm_vcard_photo_hash(&sm->arena, vc, hash) !=
			 SM_VCARD_PHOTO_BAD &&
		 strcmp(hash, p->hash) == 0)
		put_finish(p, NULL); /* that photo already */
	else
		put_write(p, vc);
	arena_reset(&sm->arena);
}

static void put_read(struct vcard_photo_put *p)
{
	struct storage *s = sm_storage(p->mod->sm);
	p->stale = false;
	p->tries++;
	if (!s || storage_get(s, p->user, VCARD_STORE, VCARD_KEY, put_read_done,
			      p) < 0) {
		put_finish(p, "the storage refused the read");
		return;
	}
	p->next = p->mod->puts;
	p->mod->puts = p;
}

int sm_vcard_photo_put(struct sm *sm, const char *user, const char *type,
		       const char *binval, const char *hash,
		       sm_vcard_photo_fn done, void *ctx)
{
	struct vcard_mod *m = sm_module_data(sm, &sm_module_vcard);
	struct vcard_photo_put *p = m ? calloc(1, sizeof *p) : NULL;
	if (!p)
		return -1;
	*p = (struct vcard_photo_put){.mod = m, .done = done, .ctx = ctx};
	snprintf(p->hash, sizeof p->hash, "%s", binval ? hash : "");
	if (!(p->user = strdup(user)) ||
	    (binval &&
	     (!(p->type = strdup(type)) || !(p->binval = strdup(binval))))) {
		put_free(p);
		return -1;
	}
	put_read(p);
	return 0;
}
