/* accept: the process of external components (XEP-0114), on
 * lib/process.h. Connects to the router binding every configured
 * component name, opens the ports of <components>, and runs until
 * SIGTERM (exit 0) or until the link is lost (exit 1: the supervisor
 * starts a new one). A port it cannot bind exits PALABRED_EXIT_CONFIG. */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/bounce.h"
#include "../../lib/log.h"
#include "../palabred.h"
#include "accept.h"

static struct accept *accept_of(struct process *p)
{
	return (struct accept *)((char *)p - offsetof(struct accept, proc));
}

struct accept_component *accept_find(struct accept *acc, const char *name)
{
	for (size_t i = 0; i < acc->ncomponents; i++)
		if (strcmp(acc->components[i].cfg->name, name) == 0)
			return &acc->components[i];
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Frames to the router, and backpressure */

bool accept_router_full(const struct accept *acc)
{
	return acc->held.len > 0;
}

/* Reading stops or starts again for every component's stream. */
static void accept_read_all(struct accept *acc, bool on)
{
	for (struct netconn *nc = acc->proc.conns.all; nc; nc = nc->next) {
		if (nc->closing || !accept_conn_of(nc)->authenticated)
			continue;
		if (on)
			netconn_read_start(nc);
		else
			netconn_read_stop(nc);
	}
}

void accept_to_router(struct accept *acc, const char *to, const char *xml,
		      size_t len)
{
	struct frame f = {
		.type = FRAME_STANZA, .payload = xml, .payload_len = len};
	struct link *link = acc->proc.link;
	frame_set_to(&f, to);
	frame_set_from(&f, acc->proc.name);
	if (!link)
		return;
	if (!accept_router_full(acc) && link_send(link, &f) == 0)
		return;
	if (!link_full(link) && !accept_router_full(acc)) {
		log_warn("accept: cannot send a stanza to %s", to);
		return;
	}
	/* What the current read still holds joins it; then nothing more is
	 * read until the router drains: the wait is bounded by one read
	 * per stream. */
	if (frame_encode(&acc->held, &f) < 0)
		log_warn("accept: out of memory; a stanza for %s is dropped",
			 to);
	accept_read_all(acc, false);
}

static void accept_on_drain(struct process *p)
{
	struct accept *acc = accept_of(p);
	size_t off = 0;
	while (p->link && off < acc->held.len) {
		struct frame f;
		long n = frame_decode(acc->held.data + off, acc->held.len - off,
				      &f);
		if (n <= 0 || link_send(p->link, &f) < 0)
			break;
		off += (size_t)n;
	}
	buf_consume(&acc->held, off);
	if (acc->held.len)
		return;
	buf_free(&acc->held);
	accept_read_all(acc, true);
}

/* ------------------------------------------------------------------ */
/* Frames from the router */

/* To one of our components directly (dropped if it is not connected:
 * only errors go this way), else through the router. */
static void accept_route(struct accept *acc, const char *domain,
			 const struct buf *b)
{
	struct accept_component *comp = accept_find(acc, domain);
	if (!comp)
		accept_to_router(acc, domain, b->data, b->len);
	else if (comp->conn)
		netconn_send_buf(&comp->conn->nc, b);
}

/* The error for a stanza that cannot be delivered, to its sender. */
static void accept_bounce(struct accept *acc, const struct frame *f,
			  const char *condition, const char *text)
{
	struct jid sender;
	struct buf b = BUF_INIT;
	int rc = bounce_stanza(&acc->arena, f->payload, f->payload_len,
			       condition, text, &sender, &b);
	if (rc < 0)
		log_warn("accept: out of memory bouncing a stanza");
	else if (rc > 0)
		accept_route(acc, sender.domain, &b);
	buf_free(&b);
}

/* Whether f came in from another server: the router names the process
 * that sent each frame, and only s2s carries federation's. */
static bool from_federation(const struct frame *f)
{
	return frame_name_equals(f->from, f->from_len, "s2s");
}

/* A stanza for a component: onto its stream, or, XEP-0114 leaving it to
 * the server, remote-server-timeout (RFC 6120 §8.3.3.17: the service
 * exists but cannot be reached now; type wait), as Prosody answers. */
static void accept_deliver(struct accept *acc, const struct frame *f)
{
	char name[FRAME_NAME_MAX + 1];
	snprintf(name, sizeof name, "%.*s", (int)f->to_len, f->to);
	struct accept_component *comp = accept_find(acc, name);
	if (comp && from_federation(f) && !comp->cfg->federate) {
		char why[FRAME_NAME_MAX + 64];
		snprintf(why, sizeof why,
			 "%s serves the users of this server only", name);
		log_debug("accept: a stanza from federation for %s, which "
			  "does not federate: not-allowed",
			  name);
		accept_bounce(acc, f, "not-allowed", why);
		return;
	}
	if (comp && comp->conn) {
		netconn_send(&comp->conn->nc, f->payload, f->payload_len);
		return;
	}
	char text[FRAME_NAME_MAX + 32];
	snprintf(text, sizeof text, "%s is not connected", name);
	log_debug("accept: a stanza for %s, which is not connected", name);
	accept_bounce(acc, f, "remote-server-timeout", text);
}

static void accept_on_frame(struct process *p, const struct frame *f)
{
	struct accept *acc = accept_of(p);
	switch (f->type) {
	case FRAME_STANZA:
		accept_deliver(acc, f);
		break;
	case FRAME_NO_ROUTE:
		/* A component wrote to a domain nobody serves (and no s2s
		 * runs): RFC 6120 §8.3.3.16. */
		if (f->flags == FRAME_STANZA)
			accept_bounce(acc, f, "remote-server-not-found", NULL);
		break;
	default:
		break;
	}
	arena_reset(&acc->arena);
}

/* ------------------------------------------------------------------ */
/* The process (lib/process.h) */

static void accept_on_ready(struct process *p)
{
	struct accept *acc = accept_of(p);
	const struct config_components *cc = &acc->cfg->components;
	log_info("accept: %s connected to the router, serving %zu "
		 "component(s)",
		 p->name, acc->ncomponents);
	if (listeners_open(&p->listeners, p->loop, "accept", cc->listeners,
			   cc->nlisteners, 128, accept_conn_accept, acc) < 0)
		process_stop(p, PALABRED_EXIT_CONFIG);
}

static const struct process_ops accept_process_ops = {
	.ready = accept_on_ready,
	.frame = accept_on_frame,
	.drain = accept_on_drain,
};

int accept_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct accept state; /* its listeners: not on the stack */
	static const char *binds[CONFIG_MAX_COMPONENTS + 1];
	struct accept *acc = &state;
	const struct config_components *cc = &cfg->components;
	process_init(&acc->proc, "accept", name, &accept_process_ops);
	acc->cfg = cfg;
	for (size_t i = 0; i < cc->count; i++) {
		acc->components[i].cfg = &cc->list[i];
		binds[i] = cc->list[i].name;
	}
	acc->ncomponents = cc->count;
	binds[cc->count] = NULL;
	struct xmlstream_limits limits = {ACCEPT_MAX_STANZA_SIZE,
					  ACCEPT_MAX_DEPTH};
	netconn_set_init(&acc->proc.conns, acc->proc.loop, &accept_conn_type,
			 &limits, ACCEPT_OUTPUT_MAX);
	int status = process_run(&acc->proc, cfg->router_socket, secret, binds);
	arena_reset(&acc->arena);
	buf_free(&acc->held);
	return status;
}
