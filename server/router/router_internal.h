/* router internals: the components, the name tables, the routing. */
#ifndef PALABRE_ROUTER_INTERNAL_H
#define PALABRE_ROUTER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "../../lib/buf.h"
#include "../../lib/frame.h"
#include "../../lib/hash_table.h"
#include "../../lib/heap_trim.h"
#include "../../lib/link.h"

struct component;

/* ---- router_table.c: names to components ---- */

struct router_table_entry {
	struct hash_link link;
	struct component *owner;
	size_t len;
	char name[]; /* len bytes, NUL-terminated */
};

struct router_table {
	struct hash_table index;
};

void router_table_init(struct router_table *t);
void router_table_free(struct router_table *t);
struct component *router_table_get(const struct router_table *t,
				   const char *name, size_t len);
/* Sets name's owner (adds the entry or replaces the owner). -1: no memory. */
int router_table_put(struct router_table *t, const char *name, size_t len,
		     struct component *owner);
/* Removes every entry of owner, calling fn on each name first. */
void router_table_del_owner(struct router_table *t,
			    const struct component *owner,
			    void (*fn)(const char *name, size_t len, void *ctx),
			    void *ctx);

/* ---- the router and its components ---- */

struct router {
	uv_loop_t *loop;
	uv_pipe_t listener;
	char *path;
	char *secret;
	struct component *components; /* every link, authenticated or not */
	struct router_table names;    /* authenticated component names */
	struct router_table binds;    /* bound names, "*" the default route */
	struct heap_trim trim;        /* malloc_trim after a burst */
	int open; /* listener, trim timer, components not yet freed */
	bool stopping;
};

struct component {
	struct router *router;
	struct link *link;
	uv_timer_t auth_timer; /* closes a link that does not authenticate */
	struct component *prev, *next;
	char name[FRAME_NAME_MAX + 1]; /* once authenticated */
	size_t name_len;
	bool authenticated;
	bool gone; /* unregistered: no route leads here any more */
	unsigned char nonce[FRAME_NONCE_SIZE];
	/* Backpressure: the frame from this component that its destination
	 * refused, kept (encoded) until that destination drains; meanwhile
	 * this component's link is paused. */
	struct buf held;
	struct component *blocked_on;
	struct component *next_waiter; /* in blocked_on->waiters */
	struct component *waiters;     /* components blocked on this one */
};

/* ---- router_forward.c ---- */

/* An authenticated component's frame. */
void router_handle_frame(struct component *c, const struct frame *f);
/* c's queue drained: deliver what waited for it. */
void router_handle_drain(struct component *c);
/* Removes c's names and routes, tells the others (FRAME_UNBOUND) unless
 * the router stops, and re-routes the frames that waited for c.
 * Idempotent. */
void router_unregister(struct component *c);

#endif
