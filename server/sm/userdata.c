/* userdata: loading a user's stores and account before its stanzas are
 * handled (see userdata.h).
 *
 * One FIFO of held frames. A frame that concerns a user not loaded yet
 * (or that arrives while others wait: order is kept) is copied into
 * it, and the loads of its users start at once, so that loads for
 * several waiting frames run together. The head is handled as soon as
 * its users are loaded. The cost is head-of-line blocking: a stanza for
 * a loaded user waits behind one whose user is loading (one storage
 * round trip and an account check, a few milliseconds). Per-user queues
 * would remove it, at the price of ordering rules between users; not
 * worth it while loads are this quick.
 *
 * A user stays in memory while it has sessions or refs: one per held
 * frame that names it, one while its load is in flight, one while it
 * sits in the cache of recently used offline users (USERDATA_CACHE). */
#include "userdata.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "route.h"
#include "session.h"
#include "sm.h"
#include "stanza.h"

/* Frames waiting at most; beyond, new ones are dropped (logged). */
#define USERDATA_HELD_MAX 100000
#define HELD_USERS 2

struct userdata_store {
	char *name;
	int slot;
	sm_userdata_parse_fn parse;
	void *data;
};

struct held {
	struct held *next;
	struct user *users[HELD_USERS];
	size_t nusers;
	struct frame f; /* points into bytes */
	char bytes[];
};

struct sm_userdata {
	struct userdata_store stores[SESSION_USER_SLOTS];
	size_t nstores;
	struct held *head, **tail;
	size_t nheld;
	bool draining;   /* in drain(): no nested drain */
	bool dispatching; /* handling a held frame: it holds no more */
	bool closing;
	unsigned works; /* account checks on the worker pool */
	struct user *cache_head, *cache_tail;
	size_t ncache;
};

struct store_load {
	struct sm *sm;
	struct user *u;
	size_t store;
};

struct account_check {
	uv_work_t work;
	struct sm *sm;
	struct user *u;
	enum auth_user_status status;
	char *domain, *local;
};

static void drain(struct sm *sm);

/* ------------------------------------------------------------ API */

int sm_userdata_register(struct sm *sm, const char *store, int slot,
			 sm_userdata_parse_fn parse, void *data)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->nstores == SESSION_USER_SLOTS || slot < 0)
		return -1;
	struct userdata_store *s = &ud->stores[ud->nstores];
	if (!(s->name = strdup(store)))
		return -1;
	s->slot = slot;
	s->parse = parse;
	s->data = data;
	ud->nstores++;
	return 0;
}

bool sm_userdata_account_exists(const struct user *u)
{
	return u->account_exists;
}

struct storage *sm_storage(struct sm *sm)
{
	return sm->storage;
}

struct user *sm_userdata_user(struct sm *sm, const char *bare)
{
	struct user *u = sm_session_user_find(&sm->sessions, bare);
	return u && u->loaded ? u : NULL;
}

int sm_userdata_init(struct sm *sm)
{
	struct sm_userdata *ud = calloc(1, sizeof *ud);
	if (!ud)
		return -1;
	ud->tail = &ud->head;
	sm->userdata = ud;
	return 0;
}

/* ------------------------------------------------------------ cache */

static void cache_unlink(struct sm_userdata *ud, struct user *u)
{
	if (u->cache_prev)
		u->cache_prev->cache_next = u->cache_next;
	else
		ud->cache_head = u->cache_next;
	if (u->cache_next)
		u->cache_next->cache_prev = u->cache_prev;
	else
		ud->cache_tail = u->cache_prev;
	u->cache_prev = u->cache_next = NULL;
	u->cached = false;
	ud->ncache--;
}

void sm_userdata_keep(struct sm *sm, struct user *u)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->closing || !u->loaded || !u->account_exists)
		return;
	if (u->cached)
		cache_unlink(ud, u);
	else
		u->refs++;
	u->cached = true;
	u->cache_prev = NULL;
	u->cache_next = ud->cache_head;
	if (ud->cache_head)
		ud->cache_head->cache_prev = u;
	else
		ud->cache_tail = u;
	ud->cache_head = u;
	ud->ncache++;
	if (ud->ncache > USERDATA_CACHE) {
		/* The oldest goes; not through user_release, which would
		 * put it back. */
		struct user *old = ud->cache_tail;
		cache_unlink(ud, old);
		old->refs--;
		sm_session_user_drop_unused(&sm->sessions, old);
	}
}

/* Drops one ref; an offline user nobody holds any more goes to the
 * cache (which holds it) or away. */
static void user_release(struct sm *sm, struct user *u)
{
	if (--u->refs > 0)
		return;
	if (!u->sessions && u->loaded && !u->cached && !sm->userdata->closing &&
	    u->account_exists) {
		sm_userdata_keep(sm, u);
		return;
	}
	sm_session_user_drop_unused(&sm->sessions, u);
}

/* ------------------------------------------------------------ loading */

static void load_done(struct sm *sm, struct user *u)
{
	if (--u->loads_pending > 0)
		return;
	u->loaded = true;
	log_debug("sm: user %s loaded", u->jid);
	user_release(sm, u); /* the load's ref */
	drain(sm);
}

static void on_store_loaded(void *ctx, enum storage_status status,
			    const struct storage_items *items)
{
	struct store_load *l = ctx;
	struct sm *sm = l->sm;
	struct userdata_store *s = &sm->userdata->stores[l->store];
	if (status != STORAGE_OK) {
		/* The user is handled with that store empty: better than
		 * stanzas stuck forever; the error was logged by storage. */
		log_error("sm: could not load store '%s' of %s", s->name,
			  l->u->jid);
	} else if (!sm->userdata->closing &&
		   s->parse(sm, l->u, items, s->data) < 0) {
		log_error("sm: store '%s' of %s: bad data or out of memory",
			  s->name, l->u->jid);
	}
	load_done(sm, l->u);
	free(l);
}

static void account_work(uv_work_t *w)
{
	struct account_check *c = w->data;
	c->status = c->sm->user_exists(c->sm->cfg, c->domain, c->local);
}

static void account_done(uv_work_t *w, int status)
{
	struct account_check *c = w->data;
	struct sm *sm = c->sm;
	sm->userdata->works--;
	if (status < 0 || c->status == AUTH_USER_ERROR) {
		/* Not knowing is not "no such user": no bounce for that. */
		log_warn("sm: account check of %s failed; taken as existing",
			 c->u->jid);
		c->u->account_exists = true;
	} else {
		c->u->account_exists = c->status == AUTH_USER_EXISTS;
	}
	load_done(sm, c->u);
	free(c->domain);
	free(c->local);
	free(c);
}

static void check_account(struct sm *sm, struct user *u)
{
	const char *at = strchr(u->jid, '@');
	struct account_check *c = NULL;
	if (sm->user_exists && sm->loop && at)
		c = calloc(1, sizeof *c);
	if (c) {
		c->sm = sm;
		c->u = u;
		c->work.data = c;
		c->local = strndup(u->jid, (size_t)(at - u->jid));
		c->domain = strdup(at + 1);
		if (c->local && c->domain &&
		    uv_queue_work(sm->loop, &c->work, account_work,
				  account_done) == 0) {
			sm->userdata->works++;
			return;
		}
		free(c->local);
		free(c->domain);
		free(c);
		log_warn("sm: cannot check the account of %s", u->jid);
	}
	u->account_exists = true;
	load_done(sm, u);
}

/* Starts loading u unless it is loaded or loading. */
static void user_load(struct sm *sm, struct user *u)
{
	struct sm_userdata *ud = sm->userdata;
	if (u->loaded || u->loads_pending)
		return;
	u->refs++; /* released by load_done */
	u->loads_pending = (unsigned)ud->nstores + 1;
	for (size_t i = 0; i < ud->nstores; i++) {
		struct store_load *l = NULL;
		if (sm->storage && (l = malloc(sizeof *l))) {
			*l = (struct store_load){sm, u, i};
			if (storage_load(sm->storage, u->jid, ud->stores[i].name,
					 on_store_loaded, l) == 0)
				continue;
			log_error("sm: cannot load store '%s' of %s",
				  ud->stores[i].name, u->jid);
			free(l);
		}
		/* No storage (unit tests) or no room: start empty. */
		struct storage_items none = {0, NULL};
		ud->stores[i].parse(sm, u, &none, ud->stores[i].data);
		load_done(sm, u);
	}
	check_account(sm, u);
}

/* ------------------------------------------------------------ queue */

static bool held_ready(const struct held *h)
{
	for (size_t i = 0; i < h->nusers; i++)
		if (!h->users[i]->loaded)
			return false;
	return true;
}

static void held_free(struct sm *sm, struct held *h)
{
	for (size_t i = 0; i < h->nusers; i++)
		user_release(sm, h->users[i]);
	free(h);
}

static void drain(struct sm *sm)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->draining || ud->closing)
		return;
	ud->draining = true;
	struct held *h;
	while ((h = ud->head) && held_ready(h)) {
		ud->head = h->next;
		if (!ud->head)
			ud->tail = &ud->head;
		ud->nheld--;
		ud->dispatching = true;
		sm_dispatch_frame(sm, &h->f);
		ud->dispatching = false;
		arena_reset(&sm->arena);
		held_free(sm, h);
	}
	ud->draining = false;
}

static struct held *held_new(const struct frame *f)
{
	struct held *h = malloc(sizeof *h + f->to_len + f->from_len +
				f->payload_len + 1);
	if (!h)
		return NULL;
	h->next = NULL;
	h->nusers = 0;
	h->f = *f;
	char *p = h->bytes;
	memcpy(p, f->to, f->to_len);
	h->f.to = p;
	p += f->to_len;
	memcpy(p, f->from, f->from_len);
	h->f.from = p;
	p += f->from_len;
	memcpy(p, f->payload, f->payload_len);
	h->f.payload = p;
	p[f->payload_len] = '\0';
	return h;
}

/* Queues f for the users in bare[]. Returns 0, or -1 (dropped). */
static int enqueue(struct sm *sm, const struct frame *f,
		   const char *const *bare, size_t n)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->nheld >= USERDATA_HELD_MAX) {
		log_error("sm: %zu stanzas wait for user data; one dropped",
			  ud->nheld);
		return -1;
	}
	struct held *h = held_new(f);
	if (!h) {
		log_error("sm: out of memory holding a frame");
		return -1;
	}
	for (size_t i = 0; i < n && h->nusers < HELD_USERS; i++) {
		struct user *u = sm_session_user_get(&sm->sessions, bare[i]);
		if (!u) {
			held_free(sm, h);
			log_error("sm: out of memory holding a frame");
			return -1;
		}
		u->refs++;
		h->users[h->nusers++] = u;
	}
	*ud->tail = h;
	ud->tail = &h->next;
	ud->nheld++;
	/* Loads may complete at once (no storage): h must stay in place
	 * until both started. */
	bool draining = ud->draining;
	ud->draining = true;
	struct user *users[HELD_USERS];
	size_t nusers = h->nusers;
	memcpy(users, h->users, sizeof users);
	for (size_t i = 0; i < nusers; i++)
		user_load(sm, users[i]);
	ud->draining = draining;
	drain(sm);
	return 0;
}

bool sm_userdata_hold(struct sm *sm, const struct frame *f,
		      const char *const *bare, size_t n)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->dispatching || ud->closing)
		return false;
	bool ready = !ud->head;
	for (size_t i = 0; ready && i < n; i++) {
		struct user *u = sm_session_user_find(&sm->sessions, bare[i]);
		ready = u && u->loaded;
	}
	if (ready)
		return false;
	enqueue(sm, f, bare, n);
	return true;
}

void sm_userdata_defer(struct sm *sm, const struct stanza *st,
		       const char *bare)
{
	if (sm->userdata->closing)
		return;
	struct buf b = BUF_INIT;
	if (xml_serialize(st->xml, XML_NS_CLIENT, &b) < 0) {
		buf_free(&b);
		return;
	}
	struct frame f = {.type = FRAME_STANZA,
			  .payload = b.data,
			  .payload_len = b.len};
	frame_set_from(&f, sm->name);
	frame_set_to(&f, st->to->domain);
	enqueue(sm, &f, &bare, 1);
	buf_free(&b);
}

/* ------------------------------------------------------------ end */

void sm_userdata_shutdown(struct sm *sm)
{
	struct sm_userdata *ud = sm->userdata;
	if (!ud || ud->closing)
		return;
	ud->closing = true;
	if (sm->storage) {
		storage_close(sm->storage); /* runs the completions */
		sm->storage = NULL;
	}
	while (ud->works > 0 && sm->loop)
		uv_run(sm->loop, UV_RUN_ONCE);
}

void sm_userdata_free(struct sm *sm)
{
	struct sm_userdata *ud = sm->userdata;
	if (!ud)
		return;
	sm_userdata_shutdown(sm);
	while (ud->head) {
		struct held *h = ud->head;
		ud->head = h->next;
		free(h); /* users go with the session table */
	}
	for (size_t i = 0; i < ud->nstores; i++)
		free(ud->stores[i].name);
	free(ud);
	sm->userdata = NULL;
}

void sm_userdata_get_stats(const struct sm *sm, struct sm_userdata_stats *st)
{
	const struct sm_userdata *ud = sm->userdata;
	st->held = ud ? ud->nheld : 0;
	st->works = ud ? ud->works : 0;
	st->cached = ud ? ud->ncache : 0;
}
