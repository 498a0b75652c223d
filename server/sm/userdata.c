/* userdata: loading a user's stores and account before its stanzas are
 * handled (see userdata.h).
 *
 * ARCHITECTURE.md §9: one user's work never delays another user's
 * stanzas, and no frame is dropped silently. Frames wait per source: a
 * queue per sending user (all its connections: a SESSION_START and
 * SESSION_END stay in order with that connection's stanzas), per remote
 * JID for federated frames, per recipient for the stanzas the sm itself
 * defers. RFC 6120 §10.1 asks for in-order processing per sender and
 * recipient; per source is a simple rule that gives it. A frame whose
 * users are loaded and whose source has nothing waiting is handled at
 * once, without a copy; else it is copied to its source's tail. Only
 * the first USERDATA_LOADS_AHEAD frames of a queue start their loads,
 * so that a source flooding the sm with stanzas for users that are not
 * in memory has few loads in flight (storage thread, account checks)
 * and cannot keep them from others. A queue that is ready (its head's
 * users loaded) goes on the run queue, which run() empties.
 *
 * Past the bounds of userdata.h a stanza or SESSION_START is refused
 * and the core answers its sender (resource-constraint, type wait); a
 * SESSION_END always waits in its queue, since losing it would leave a
 * ghost session. The bounds also bound the memory held.
 *
 * A user stays in memory while it has sessions or refs: one per held
 * frame that names it, one while it has a queue, one while its load is
 * in flight, one while it sits in the cache of recently used offline
 * users (USERDATA_CACHE). */
#include "userdata.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "lookup.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"

struct userdata_store {
	char *name;
	int slot;
	sm_userdata_parse_fn parse;
	void *data;
};

struct sm_held {
	struct sm_held *next;       /* in its source's queue */
	struct sm_held *wait_next;  /* in need->waiting */
	struct sm_held *start_next; /* a SESSION_START: in ud->starts */
	struct sm_source *source;
	struct user *need; /* loaded before f is handled, or NULL */
	bool waiting;      /* in need->waiting (only a queue's head) */
	size_t size;       /* what it counts against the bounds */
	struct frame f;    /* points into bytes */
	char bytes[];
};

/* The frames of one source waiting, in arrival order. */
struct sm_source {
	struct user *user;
	struct sm_held *head, *last;
	size_t count, bytes;
	size_t refused;                /* stanzas refused since it filled up */
	struct sm_source *prev, *next; /* ud->sources */
	struct sm_source *run_next;    /* ud->runq */
	bool scheduled;                /* in ud->runq */
};

struct sm_userdata {
	struct userdata_store stores[SESSION_USER_SLOTS];
	size_t nstores;
	struct sm_source *sources;           /* every queue */
	struct sm_source *runq, **runq_tail; /* queues to drain */
	struct sm_held *starts;              /* the SESSION_STARTs held */
	size_t nheld, held_bytes;
	size_t refused;           /* since the start */
	bool refusing;            /* past USERDATA_HELD_BYTES (logged once) */
	bool running;             /* in run(): no nested run */
	struct user *dispatching; /* the source of the frame handled */
	bool closing;
	struct user *cache_head, *cache_tail;
	size_t ncache;
};

struct store_load {
	struct sm *sm;
	struct user *u;
	size_t store;
};

static void schedule(struct sm_userdata *ud, struct sm_source *src);
static void run(struct sm *sm);

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
	ud->runq_tail = &ud->runq;
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

/* u is loaded: the queues whose head waited for it can go on. */
static void load_done(struct sm *sm, struct user *u)
{
	struct sm_userdata *ud = sm->userdata;
	if (--u->loads_pending > 0)
		return;
	u->loaded = true;
	log_debug("sm: user %s loaded", u->jid);
	struct sm_held *h;
	while ((h = u->waiting)) {
		u->waiting = h->wait_next;
		h->waiting = false;
		schedule(ud, h->source);
	}
	user_release(sm, u); /* the load's ref */
	run(sm);
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

static void on_account_checked(struct sm *sm, struct user *u,
			       enum auth_user_status status)
{
	if (status == AUTH_USER_ERROR) {
		/* Not knowing is not "no such user": no bounce for that. */
		log_warn("sm: account check of %s failed; taken as existing",
			 u->jid);
		u->account_exists = true;
	} else {
		u->account_exists = status == AUTH_USER_EXISTS;
	}
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
			if (storage_load(sm->storage, u->jid,
					 ud->stores[i].name, on_store_loaded,
					 l) == 0)
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
	if (u->account_exists) /* a session starts: c2s authenticated it */
		load_done(sm, u);
	else if (sm_lookup_account(sm, u, on_account_checked) < 0) {
		log_warn("sm: cannot check the account of %s", u->jid);
		on_account_checked(sm, u, AUTH_USER_ERROR);
	}
}

/* ------------------------------------------------------------ sources */

static struct sm_source *source_get(struct sm *sm, struct user *u)
{
	struct sm_userdata *ud = sm->userdata;
	if (u->source)
		return u->source;
	struct sm_source *src = calloc(1, sizeof *src);
	if (!src)
		return NULL;
	src->user = u;
	u->refs++; /* released by source_free */
	u->source = src;
	src->next = ud->sources;
	if (ud->sources)
		ud->sources->prev = src;
	ud->sources = src;
	return src;
}

static void source_free(struct sm *sm, struct sm_source *src)
{
	struct sm_userdata *ud = sm->userdata;
	if (src->prev)
		src->prev->next = src->next;
	else
		ud->sources = src->next;
	if (src->next)
		src->next->prev = src->prev;
	if (src->refused)
		log_warn("sm: %s: its waiting stanzas are handled; %zu were "
			 "refused with resource-constraint",
			 src->user->jid, src->refused);
	struct user *u = src->user;
	u->source = NULL;
	free(src);
	user_release(sm, u);
}

static void schedule(struct sm_userdata *ud, struct sm_source *src)
{
	if (src->scheduled)
		return;
	src->scheduled = true;
	src->run_next = NULL;
	*ud->runq_tail = src;
	ud->runq_tail = &src->run_next;
}

/* ------------------------------------------------------------ held */

static struct sm_held *held_new(const struct frame *f, size_t size)
{
	struct sm_held *h = malloc(size);
	if (!h)
		return NULL;
	memset(h, 0, sizeof *h);
	h->size = size;
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

static void held_free(struct sm *sm, struct sm_held *h)
{
	if (h->need)
		user_release(sm, h->need);
	free(h);
}

static void held_link(struct sm_userdata *ud, struct sm_source *src,
		      struct sm_held *h)
{
	h->source = src;
	if (src->last)
		src->last->next = h;
	else
		src->head = h;
	src->last = h;
	src->count++;
	src->bytes += h->size;
	ud->nheld++;
	ud->held_bytes += h->size;
	if (h->f.type == FRAME_SESSION_START) {
		h->start_next = ud->starts;
		ud->starts = h;
	}
}

/* Takes h, the head of its source, out of the queue. */
static void held_unlink(struct sm_userdata *ud, struct sm_held *h)
{
	struct sm_source *src = h->source;
	if (!(src->head = h->next))
		src->last = NULL;
	src->count--;
	src->bytes -= h->size;
	ud->nheld--;
	ud->held_bytes -= h->size;
	if (h->f.type == FRAME_SESSION_START) {
		struct sm_held **p = &ud->starts;
		while (*p != h)
			p = &(*p)->start_next;
		*p = h->start_next;
	}
}

/* ------------------------------------------------------------ queues */

/* The head h of a queue waits for its user's load: in that user's list,
 * and the first frames of the queue start their loads. */
static void queue_wait(struct sm *sm, struct sm_source *src)
{
	struct sm_held *h = src->head;
	if (!h->waiting && h->need && !h->need->loaded) {
		h->wait_next = h->need->waiting;
		h->need->waiting = h;
		h->waiting = true;
	}
	for (int i = 0; h && i < USERDATA_LOADS_AHEAD; i++, h = h->next)
		if (h->need)
			user_load(sm, h->need);
}

/* Handles the frames at src's head while their users are loaded. */
static void queue_drain(struct sm *sm, struct sm_source *src)
{
	struct sm_userdata *ud = sm->userdata;
	struct sm_held *h;
	while (!ud->closing && (h = src->head) &&
	       (!h->need || h->need->loaded)) {
		held_unlink(ud, h);
		ud->dispatching = src->user;
		sm_dispatch_frame(sm, &h->f);
		ud->dispatching = NULL;
		arena_reset(&sm->arena);
		held_free(sm, h);
	}
	if (src->head)
		queue_wait(sm, src);
}

/* Drains the queues that are ready. Not nested: what becomes ready
 * while it runs joins the run queue. */
static void run(struct sm *sm)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->running || ud->closing)
		return;
	ud->running = true;
	struct sm_source *src;
	while ((src = ud->runq)) {
		if (!(ud->runq = src->run_next))
			ud->runq_tail = &ud->runq;
		src->scheduled = false;
		queue_drain(sm, src);
		if (!src->head && !src->scheduled)
			source_free(sm, src);
	}
	ud->running = false;
}

/* ------------------------------------------------------------ holding */

/* Whether a new frame of size bytes from src (NULL: none waiting) goes
 * past the bounds; says so in the log once per episode. An empty queue
 * takes a frame of any size. */
static bool over_bounds(struct sm *sm, struct sm_source *src, size_t size)
{
	struct sm_userdata *ud = sm->userdata;
	if (src && (src->count >= USERDATA_SOURCE_FRAMES ||
		    src->bytes + size > USERDATA_SOURCE_BYTES)) {
		if (src->refused++ == 0)
			log_warn("sm: %s: %zu frames (%zu bytes) wait for "
				 "user data; its stanzas are refused with "
				 "resource-constraint until they drain",
				 src->user->jid, src->count, src->bytes);
		return true;
	}
	if (ud->held_bytes > 0 && ud->held_bytes + size > USERDATA_HELD_BYTES) {
		if (!ud->refusing)
			log_warn("sm: %zu bytes wait for user data; stanzas "
				 "that must wait are refused with "
				 "resource-constraint",
				 ud->held_bytes);
		ud->refusing = true;
		return true;
	}
	if (ud->held_bytes + size < USERDATA_HELD_BYTES / 2)
		ud->refusing = false;
	return false;
}

/* Copies f to the tail of source's queue (source, or the user of
 * source_key), waiting for need (or NULL). */
static enum sm_hold enqueue(struct sm *sm, const struct frame *f,
			    struct user *source, const char *source_key,
			    const char *need_bare)
{
	struct sm_userdata *ud = sm->userdata;
	bool refusable = f->type == FRAME_STANZA ||
			 f->type == FRAME_MULTICAST ||
			 f->type == FRAME_SESSION_START;
	size_t size = sizeof(struct sm_held) + f->to_len + f->from_len +
		      f->payload_len + 1;
	/* Its own bounds apply to a source named by key too (the server's
	 * stanzas for a user). */
	if (!source && source_key)
		source = sm_session_user_find(&sm->sessions, source_key);
	if (refusable &&
	    over_bounds(sm, source ? source->source : NULL, size)) {
		ud->refused++;
		return SM_HOLD_REFUSED;
	}
	if (!source)
		source = sm_session_user_get(&sm->sessions, source_key);
	struct user *need = NULL;
	if (source && need_bare &&
	    (need = sm_session_user_get(&sm->sessions, need_bare)))
		need->refs++;
	/* Only an account c2s authenticated starts a session: its load
	 * need not ask the directory. */
	if (need && f->type == FRAME_SESSION_START)
		need->account_exists = true;
	struct sm_source *src =
		source && (!need_bare || need) ? source_get(sm, source) : NULL;
	struct sm_held *h = src ? held_new(f, size) : NULL;
	if (!h) {
		log_error("sm: out of memory holding a frame");
		if (src && !src->head)
			source_free(sm, src);
		else if (source)
			sm_session_user_drop_unused(&sm->sessions, source);
		if (need)
			user_release(sm, need);
		return refusable ? SM_HOLD_REFUSED : SM_HOLD_NOW;
	}
	h->need = need;
	held_link(ud, src, h);
	/* Loads may complete at once (no storage): nothing drains before
	 * h is in place. */
	bool running = ud->running;
	ud->running = true;
	if (src->count <= USERDATA_LOADS_AHEAD)
		queue_wait(sm, src);
	ud->running = running;
	run(sm);
	return SM_HOLD_HELD;
}

enum sm_hold sm_userdata_hold(struct sm *sm, const struct frame *f,
			      struct user *source, const char *source_key,
			      const char *need)
{
	struct sm_userdata *ud = sm->userdata;
	if (ud->dispatching || ud->closing)
		return SM_HOLD_NOW;
	/* No lookup of the source while nothing waits anywhere. */
	if (!source && source_key && ud->sources)
		source = sm_session_user_find(&sm->sessions, source_key);
	if (!source || !source->source) {
		struct user *u =
			need ? sm_session_user_find(&sm->sessions, need) : NULL;
		if (!need || (u && u->loaded))
			return SM_HOLD_NOW;
	}
	return enqueue(sm, f, source, source_key, need);
}

struct user *sm_userdata_dispatching(const struct sm *sm)
{
	return sm->userdata->dispatching;
}

static bool frame_from(const struct frame *f, const char *c2s, size_t len)
{
	return f->from_len == len && memcmp(f->from, c2s, len) == 0;
}

struct user *sm_userdata_start_source(struct sm *sm, const char *c2s,
				      size_t c2s_len, uint64_t conn)
{
	for (struct sm_held *h = sm->userdata->starts; h; h = h->start_next)
		if (h->f.conn == conn && frame_from(&h->f, c2s, c2s_len))
			return h->source->user;
	return NULL;
}

void sm_userdata_end_starts(struct sm *sm, const char *c2s, size_t c2s_len)
{
	struct sm_userdata *ud = sm->userdata;
	bool running = ud->running;
	ud->running = true; /* the list stays as it is meanwhile */
	for (struct sm_held *h = ud->starts; h; h = h->start_next) {
		if (!frame_from(&h->f, c2s, c2s_len))
			continue;
		struct frame end = {.type = FRAME_SESSION_END,
				    .conn = h->f.conn,
				    .to = h->f.to,
				    .to_len = h->f.to_len,
				    .from = h->f.from,
				    .from_len = h->f.from_len,
				    .payload = "",
				    .payload_len = 0};
		enqueue(sm, &end, h->source->user, NULL, NULL);
	}
	ud->running = running;
	run(sm);
}

void sm_userdata_defer(struct sm *sm, const struct stanza *st, const char *bare)
{
	if (sm->userdata->closing)
		return;
	struct buf b = BUF_INIT;
	if (xml_serialize(st->xml, XML_NS_CLIENT, &b) < 0) {
		buf_free(&b);
		log_error("sm: out of memory: a %s for %s dropped",
			  st->xml->name, bare);
		return;
	}
	struct frame f = {
		.type = FRAME_STANZA, .payload = b.data, .payload_len = b.len};
	frame_set_from(&f, sm->name);
	frame_set_to(&f, st->to->domain);
	if (enqueue(sm, &f, NULL, bare, bare) == SM_HOLD_REFUSED)
		log_warn("sm: a %s of the server for %s dropped: too many "
			 "frames wait for that user's data",
			 st->xml->name, bare);
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
	sm_lookup_close(sm);
	while (sm_lookup_pending(sm) > 0 && sm->loop)
		uv_run(sm->loop, UV_RUN_ONCE);
}

void sm_userdata_free(struct sm *sm)
{
	struct sm_userdata *ud = sm->userdata;
	if (!ud)
		return;
	sm_userdata_shutdown(sm);
	sm_lookup_free(sm);
	while (ud->sources) {
		struct sm_source *src = ud->sources;
		ud->sources = src->next;
		while (src->head) {
			struct sm_held *h = src->head;
			src->head = h->next;
			free(h); /* users go with the session table */
		}
		src->user->source = NULL;
		free(src);
	}
	for (size_t i = 0; i < ud->nstores; i++)
		free(ud->stores[i].name);
	free(ud);
	sm->userdata = NULL;
}

void sm_userdata_get_stats(const struct sm *sm, struct sm_userdata_stats *st)
{
	const struct sm_userdata *ud = sm->userdata;
	memset(st, 0, sizeof *st);
	if (!ud)
		return;
	st->held = ud->nheld;
	st->held_bytes = ud->held_bytes;
	st->works = sm_lookup_pending(sm);
	st->cached = ud->ncache;
	st->refused = ud->refused;
}
