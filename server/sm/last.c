/* last: XEP-0012 Last Activity. The server's uptime (§5), and for a
 * user's bare JID, when the user was last available and the status the
 * user left with (§3). That time is written when the user's last
 * available resource goes unavailable (its client's unavailable
 * presence, or the one the server sends for a client gone without it,
 * RFC 6121 §4.5): one write per logout, and nothing read at login; a
 * request reads it from storage then. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "roster.h"
#include "send.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define NS_LAST "jabber:iq:last"
#define LAST_STORE "last"
#define LAST_KEY "logout"
/* Bytes of the status kept (cut at a character's start). */
#define LAST_STATUS_MAX 1024
/* Requests waiting for their read, in all and of one requester (a bare
 * JID, so that one user cannot take every read from the others,
 * ARCHITECTURE §9); beyond, resource-constraint (wait). */
#define LAST_READS_MAX 1000
#define LAST_READS_PER_USER 8

extern const struct sm_module sm_module_last;

struct last_read;

struct last {
	struct sm *sm;
	struct timespec started;   /* CLOCK_MONOTONIC */
	unsigned reads;            /* in flight */
	struct last_read *pending; /* them */
};

/* A request waiting for the user's stored logout: the request itself,
 * answered once the read completes. */
struct last_read {
	struct last *mod;
	struct last_read *prev, *next; /* in mod->pending */
	const char *from; /* the requester's bare JID, after bytes */
	size_t len;
	char bytes[];
};

static long last_uptime(const struct last *mod)
{
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	return (long)(now.tv_sec - mod->started.tv_sec);
}

/* The result of st: <query seconds='…'>status</query>. */
static void last_answer(struct sm *sm, const struct stanza *st, long seconds,
			const char *status)
{
	char s[24];
	struct arena *a = st->arena;
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q = r ? xml_add_child(a, r, NS_LAST, "query") : NULL;
	snprintf(s, sizeof s, "%ld", seconds < 0 ? 0 : seconds);
	if (!q || xml_set_attr(a, q, "seconds", s) < 0 ||
	    (status && *status &&
	     xml_append_text(a, q, status, strlen(status)) < 0))
		return;
	sm_deliver_xml(sm, r);
}

/* XEP-0012 §5: a request to the server's domain gets its uptime. */
static enum sm_verdict last_host(struct sm_event *ev, void *data)
{
	if (!sm_stanza_is_type(ev->st, "get"))
		sm_deliver_error(ev->sm, ev->st, "bad-request");
	else
		last_answer(ev->sm, ev->st, last_uptime(data), NULL);
	return SM_DONE;
}

/* ------------------------------------------------------------ writing */

/* The value stored: "<time_t> <status>". */
static int last_format(struct buf *b, time_t when, const char *status)
{
	size_t len = strlen(status);
	if (len > LAST_STATUS_MAX) {
		len = LAST_STATUS_MAX;
		while (len > 0 && ((unsigned char)status[len] & 0xc0) == 0x80)
			len--; /* not inside a UTF-8 sequence */
	}
	if (buf_printf(b, "%lld ", (long long)when) < 0)
		return -1;
	return buf_append(b, status, len);
}

static void last_write_done(void *ctx, enum storage_status status)
{
	if (status != STORAGE_OK)
		log_error("last: the logout of %s could not be stored",
			  (char *)ctx);
	free(ctx);
}

/* Stores now and status as u's last logout. */
static void last_store(struct sm *sm, const struct user *u, const char *status)
{
	struct storage *s = sm_storage(sm);
	struct storage_batch *b = s ? storage_batch_new(s) : NULL;
	struct buf v = BUF_INIT;
	char *jid = strdup(u->jid);
	if (!b || !jid || last_format(&v, time(NULL), status) < 0 ||
	    storage_batch_put(b, u->jid, LAST_STORE, LAST_KEY, v.data, v.len) <
		    0) {
		if (b)
			storage_batch_free(b);
		free(jid);
	} else if (storage_batch_commit(b, last_write_done, jid) < 0) {
		log_error("last: the logout of %s could not be stored", jid);
		free(jid);
	}
	buf_free(&v);
}

static bool last_user_available(const struct user *u)
{
	for (const struct session *s = u->sessions; s; s = s->next)
		if (!s->ending && sm_session_available(s))
			return true;
	return false;
}

/* The user's last available resource went unavailable (the session
 * state is updated before this event): that is the logout §3 tells
 * of, with the status of that unavailable presence. */
static enum sm_verdict last_broadcast(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct user *u = ev->session->user;
	if (!sm_stanza_is_type(st, "unavailable") || last_user_available(u))
		return SM_NEXT;
	struct xml_node *status = xml_child(st->xml, XML_NS_CLIENT, "status");
	const char *text = status ? xml_text(st->arena, status) : NULL;
	last_store(ev->sm, u, text ? text : "");
	return SM_NEXT;
}

/* ------------------------------------------------------------ reading */

/* The stored value "<time_t> <status>": 0, or -1 when it is not one. */
static int last_parse(const char *v, long long *when, const char **status)
{
	char *end;
	*when = strtoll(v, &end, 10);
	if (end == v || *end != ' ')
		return -1;
	*status = end + 1;
	return 0;
}

static void last_answer_stored(struct sm *sm, const struct stanza *st,
			       enum storage_status status,
			       const struct storage_items *result)
{
	long long when;
	const char *text;
	if (status != STORAGE_OK)
		sm_deliver_error(sm, st, "internal-server-error");
	else if (result->count == 0)
		/* No logout since the server keeps them. */
		sm_deliver_error(sm, st, "item-not-found");
	else if (last_parse(result->items[0].value, &when, &text) < 0)
		sm_deliver_error(sm, st, "internal-server-error");
	else
		last_answer(sm, st, (long)(time(NULL) - when), text);
}

static void last_read_unlink(struct last_read *r)
{
	if (r->prev)
		r->prev->next = r->next;
	else
		r->mod->pending = r->next;
	if (r->next)
		r->next->prev = r->prev;
	r->mod->reads--;
}

static void last_read_link(struct last *mod, struct last_read *r)
{
	r->prev = NULL;
	r->next = mod->pending;
	if (mod->pending)
		mod->pending->prev = r;
	mod->pending = r;
	mod->reads++;
}

/* Whether mod may read one more for the requester from. */
static bool last_read_allowed(const struct last *mod, const char *from)
{
	unsigned n = 0;
	if (mod->reads >= LAST_READS_MAX)
		return false;
	for (const struct last_read *r = mod->pending; r; r = r->next)
		if (strcmp(r->from, from) == 0 && ++n >= LAST_READS_PER_USER)
			return false;
	return true;
}

static void last_read_done(void *ctx, enum storage_status status,
			   const struct storage_items *result)
{
	struct last_read *r = ctx;
	struct sm *sm = r->mod->sm;
	struct xml_node *xml =
		xml_parse(&sm->arena, r->bytes, r->len, XML_NS_CLIENT);
	struct stanza st;
	last_read_unlink(r);
	if (xml && sm_stanza_init(&st, &sm->arena, xml) == 0)
		last_answer_stored(sm, &st, status, result);
	arena_reset(&sm->arena);
	free(r);
}

/* Reads the user's last logout; the answer goes out from the read's
 * completion (the loop never waits on disk), which has the request
 * again from its bytes. */
static void last_read(struct last *mod, struct sm_event *ev)
{
	struct storage *s = sm_storage(ev->sm);
	struct buf b = BUF_INIT;
	struct last_read *r = NULL;
	char from[JID_MAX + 1] = "";
	if (ev->st->from)
		jid_format_bare(ev->st->from, from);
	if (last_read_allowed(mod, from) && s &&
	    xml_serialize(ev->st->xml, XML_NS_CLIENT, &b) == 0 &&
	    (r = malloc(sizeof *r + b.len + strlen(from) + 1))) {
		r->mod = mod;
		r->len = b.len;
		memcpy(r->bytes, b.data, b.len);
		r->from = strcpy(r->bytes + b.len, from);
		last_read_link(mod, r);
		if (storage_get(s, ev->st->to_user->jid, LAST_STORE, LAST_KEY,
				last_read_done, r) < 0) {
			last_read_unlink(r);
			free(r);
			r = NULL;
		}
	}
	buf_free(&b);
	if (!r)
		sm_deliver_error(ev->sm, ev->st, "resource-constraint");
}

/* XEP-0012 §3 (and §8, security): only the user and those subscribed to
 * the user's presence may learn it; others get forbidden. */
static bool last_may_see(const struct stanza *st, struct user *u)
{
	char from[JID_MAX + 1];
	if (sm_stanza_to_self(st))
		return true;
	if (!st->from)
		return false;
	jid_format_bare(st->from, from);
	struct roster *r = sm_roster_of(u);
	struct roster_item *it = r ? sm_roster_find(r, from) : NULL;
	return it && (it->sub & ROSTER_SUB_FROM);
}

/* XEP-0012 §3: a request to a user's bare JID. With a resource
 * available, the user is here: seconds 0. */
static enum sm_verdict last_bare(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	struct user *u = st->to_user;
	if (!sm_stanza_is_type(st, "get"))
		sm_deliver_error(ev->sm, st, "bad-request");
	else if (!u || !last_may_see(st, u))
		sm_deliver_error(ev->sm, st, "forbidden");
	else if (last_user_available(u))
		last_answer(ev->sm, st, 0, NULL);
	else
		last_read(data, ev);
	return SM_DONE;
}

static int last_init(struct sm *sm)
{
	struct last *mod = calloc(1, sizeof *mod);
	if (!mod)
		return -1;
	mod->sm = sm;
	clock_gettime(CLOCK_MONOTONIC, &mod->started);
	sm_module_set_data(sm, &sm_module_last, mod);
	if (sm_module_hook(sm, SM_EV_IQ_HOST, NS_LAST, 0, last_host, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_IQ_BARE, NS_LAST, 0, last_bare, mod) < 0 ||
	    sm_module_hook(sm, SM_EV_PRESENCE_BROADCAST, NULL, 0,
			   last_broadcast, mod) < 0)
		return -1;
	return 0;
}

static void last_free(struct sm *sm)
{
	free(sm_module_data(sm, &sm_module_last));
	sm_module_set_data(sm, &sm_module_last, NULL);
}

const struct sm_module sm_module_last = {
	.name = "last",
	.on_by_default = true,
	.features = (const char *const[]){NS_LAST, NULL},
	.init = last_init,
	.free = last_free,
};
