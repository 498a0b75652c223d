/* router_forward: what the router does with an authenticated component's
 * frames: binds, forwarding by the `to` name, backpressure, and the
 * UNBOUND notices when a component goes. Headers and names only: the
 * payload is never looked at. */
#include <string.h>

#include "../../lib/log.h"
#include "router_internal.h"

#define DEFAULT_ROUTE "*"

/* ---- binds ---- */

static void router_reply(struct component *c, enum frame_type type,
			 const char *name, size_t len)
{
	struct frame f = {.type = type, .to = name, .to_len = len};
	link_send_control(c->link, &f);
}

static void router_bind(struct component *c, const struct frame *f)
{
	struct router *r = c->router;
	struct component *owner = router_table_get(&r->binds, f->to, f->to_len);
	struct component *named = router_table_get(&r->names, f->to, f->to_len);
	if (f->to_len == 0 || (owner && owner != c) || (named && named != c)) {
		log_warn("router: %s may not bind '%.*s': %s", c->name,
			 (int)f->to_len, f->to,
			 f->to_len == 0 ? "empty name"
					: "served by another component");
		router_reply(c, FRAME_BIND_FAIL, f->to, f->to_len);
		return;
	}
	if (router_table_put(&r->binds, f->to, f->to_len, c) < 0) {
		log_error("router: out of memory binding '%.*s'",
			  (int)f->to_len, f->to);
		router_reply(c, FRAME_BIND_FAIL, f->to, f->to_len);
		return;
	}
	log_info("router: %s bound %.*s", c->name, (int)f->to_len, f->to);
	router_reply(c, FRAME_BIND_OK, f->to, f->to_len);
}

/* ---- forwarding ---- */

/* Exact bound name, else a component of that name (c2s instances are
 * addressed by component name), else the default route. */
static struct component *router_lookup(struct router *r, const char *to,
				       size_t len)
{
	struct component *c = router_table_get(&r->binds, to, len);
	if (!c)
		c = router_table_get(&r->names, to, len);
	if (!c)
		c = router_table_get(&r->binds, DEFAULT_ROUTE, 1);
	return c;
}

static void router_wait_for(struct component *src, struct component *dst)
{
	src->blocked_on = dst;
	src->next_waiter = dst->waiters;
	dst->waiters = src;
	link_pause(src->link);
}

/* Delivers f from src. Returns 0 when it is gone (delivered, bounced
 * or, failing everything, dropped), -1 when its destination is full:
 * then f is kept in src->held and src waits, paused, for the drain. */
static int router_forward(struct component *src, const struct frame *f)
{
	struct router *r = src->router;
	struct component *dst = router_lookup(r, f->to, f->to_len);
	struct frame out = *f;
	if (dst && link_send(dst->link, &out) == 0)
		return 0;
	if (dst && link_full(dst->link))
		goto full;
	/* Nobody serves `to` (or its component is closing): back to the
	 * sender, whole, with the original type in flags. */
	log_debug("router: no route to '%.*s' for %s", (int)f->to_len, f->to,
		  src->name);
	out.type = FRAME_NO_ROUTE;
	out.flags = f->type;
	dst = src;
	if (link_send(src->link, &out) == 0 || !link_full(src->link))
		return 0;
full:
	buf_clear(&src->held);
	if (frame_encode(&src->held, f) < 0) {
		log_error("router: out of memory holding a frame from %s; "
			  "dropped",
			  src->name);
		return 0;
	}
	router_wait_for(src, dst);
	return -1;
}

/* Delivers src's held frame, then lets src read again. */
static void router_retry(struct component *src)
{
	struct buf held = src->held;
	src->held = (struct buf)BUF_INIT;
	struct frame f;
	if (held.len && frame_decode(held.data, held.len, &f) > 0 &&
	    router_forward(src, &f) < 0) {
		buf_free(&held);
		return; /* blocked again */
	}
	buf_free(&held);
	link_resume(src->link);
}

void router_handle_drain(struct component *c)
{
	struct component *w = c->waiters;
	c->waiters = NULL;
	while (w) {
		struct component *next = w->next_waiter;
		w->next_waiter = NULL;
		w->blocked_on = NULL;
		router_retry(w);
		w = next;
	}
}

void router_handle_frame(struct component *c, const struct frame *f)
{
	switch (f->type) {
	case FRAME_BIND:
		router_bind(c, f);
		return;
	case FRAME_STANZA:
	case FRAME_MULTICAST:
	case FRAME_SESSION_START:
	case FRAME_SESSION_OK:
	case FRAME_SESSION_END:
		break;
	default:
		log_warn("router: %s sent a %s frame, which components do "
			 "not send; dropped",
			 c->name, frame_type_name(f->type));
		return;
	}
	if (f->from_len != c->name_len ||
	    memcmp(f->from, c->name, c->name_len) != 0) {
		log_warn("router: %s sent a frame from '%.*s'; dropped",
			 c->name, (int)f->from_len, f->from);
		return;
	}
	router_forward(c, f);
}

/* ---- a component goes ---- */

static void router_announce_unbound(const char *name, size_t len, void *ctx)
{
	struct component *gone = ctx;
	struct router *r = gone->router;
	if (r->stopping)
		return;
	struct frame f = {.type = FRAME_UNBOUND, .to = name, .to_len = len};
	for (struct component *c = r->components; c; c = c->next)
		if (c != gone && c->authenticated && !c->gone)
			link_send_control(c->link, &f);
}

void router_unregister(struct component *c)
{
	if (c->gone)
		return;
	c->gone = true;
	struct router *r = c->router;
	if (c->blocked_on) {
		struct component **w = &c->blocked_on->waiters;
		while (*w && *w != c)
			w = &(*w)->next_waiter;
		if (*w)
			*w = c->next_waiter;
		c->blocked_on = NULL;
	}
	buf_free(&c->held);
	if (!c->authenticated)
		return;
	router_table_del_owner(&r->binds, c, router_announce_unbound, c);
	router_table_del_owner(&r->names, c, router_announce_unbound, c);
	log_info("router: component %s gone", c->name);
	/* What waited for c goes elsewhere now: default route or bounce. */
	router_handle_drain(c);
}
