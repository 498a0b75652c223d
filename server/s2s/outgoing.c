/* outgoing: our outgoing routes, one per (local domain, remote domain).
 *
 * A stanza for a remote domain finds its route or makes one: the route
 * resolves the domain (resolve.c), tries each target in order until a
 * stream authenticates, and meanwhile keeps the stanzas in a bounded
 * queue. When every target fails, or the route takes longer than
 * s2s/connect-timeout, the queued stanzas bounce (RFC 6120 §8.3.3.15,
 * §8.3.3.16). An established route lives as long as its stream. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "s2s.h"

static void route_resolved(void *ctx, enum resolve_status status,
			   const struct resolve_target *targets, size_t n);

static void route_unlink(struct s2s_route *r)
{
	struct s2s *s2s = r->s2s;
	if (r->prev)
		r->prev->next = r->next;
	else
		s2s->routes = r->next;
	if (r->next)
		r->next->prev = r->prev;
}

/* Ends r: what waits bounces with condition, verifications fail. */
static void route_fail(struct s2s_route *r, const char *condition)
{
	struct s2s_queued *q;
	struct s2s_conn *c = r->conn;
	if (r->nqueued || r->verifies)
		log_info("s2s: route %s -> %s failed (%s): %zu stanza(s) "
			 "bounced",
			 r->local, r->remote, condition, r->nqueued);
	route_unlink(r);
	if (r->req)
		resolve_cancel(r->req);
	while ((q = r->head)) {
		r->head = q->next;
		s2s_bounce(r->s2s, q->data, q->len, condition);
		free(q);
	}
	s2s_dialback_fail_verifies(r, condition);
	r->conn = NULL;
	if (c && c->route == r) {
		c->route = NULL;
		netconn_abort(&c->nc);
	}
	free(r);
}

static void route_try_next(struct s2s_route *r)
{
	while (r->next_target < r->ntargets) {
		const struct resolve_target *t = &r->targets[r->next_target++];
		r->conn = s2s_conn_connect(r, t);
		if (r->conn) {
			r->state = ROUTE_CONNECTING;
			return;
		}
	}
	route_fail(r, "remote-server-not-found");
}

static void route_resolved(void *ctx, enum resolve_status status,
			   const struct resolve_target *targets, size_t n)
{
	struct s2s_route *r = ctx;
	r->req = NULL;
	if (status != RESOLVE_OK || n == 0) {
		log_info("s2s: %s: %s", r->remote,
			 status == RESOLVE_FAILED ? "DNS lookup failed"
						  : "no server found in DNS");
		route_fail(r, status == RESOLVE_FAILED
				      ? "remote-server-timeout"
				      : "remote-server-not-found");
		return;
	}
	if (n > RESOLVE_MAX_TARGETS)
		n = RESOLVE_MAX_TARGETS;
	memcpy(r->targets, targets, n * sizeof *targets);
	r->ntargets = n;
	route_try_next(r);
}

struct s2s_route *s2s_route_find(struct s2s *s2s, const char *local,
				 const char *remote)
{
	for (struct s2s_route *r = s2s->routes; r; r = r->next)
		if (strcmp(r->remote, remote) == 0 &&
		    strcmp(r->local, local) == 0)
			return r;
	return NULL;
}

static void route_resolve(struct s2s_route *r)
{
	r->piggyback = false;
	r->conn = NULL;
	r->state = ROUTE_RESOLVING;
	char ascii[S2S_DOMAIN_MAX + 1];
	if (s2s_domain_ascii(r->remote, ascii, sizeof ascii) < 0) {
		route_fail(r, "remote-server-not-found");
		return;
	}
	r->req = resolver_lookup(r->s2s->resolver, ascii, route_resolved, r);
	if (!r->req)
		route_fail(r, "internal-server-error");
}

/* XEP-0220 §2.6: an authenticated stream to the same peer can carry
 * dialback for another of our domains, when the peer said it handles
 * dialback errors (which such a request may end with). */
static struct s2s_conn *route_shared_stream(struct s2s *s2s,
					    const struct s2s_route *r)
{
	if (s2s->sc->require_valid_certificate)
		return NULL;
	for (struct s2s_route *o = s2s->routes; o; o = o->next) {
		struct s2s_conn *c = o->conn;
		if (o != r && o->state == ROUTE_UP && !o->piggyback && c &&
		    strcmp(o->remote, r->remote) == 0 && c->authenticated &&
		    c->dialback_errors && c->stream_id[0] && !c->nc.closing)
			return c;
	}
	return NULL;
}

struct s2s_route *s2s_route_get(struct s2s *s2s, const char *local,
				const char *remote)
{
	struct s2s_route *r = s2s_route_find(s2s, local, remote);
	if (r)
		return r;
	if (s2s->proc.stopping || !(r = calloc(1, sizeof *r)))
		return NULL;
	r->s2s = s2s;
	snprintf(r->local, sizeof r->local, "%s", local);
	snprintf(r->remote, sizeof r->remote, "%s", remote);
	r->started_at = uv_now(s2s->proc.loop);
	r->next = s2s->routes;
	if (r->next)
		r->next->prev = r;
	s2s->routes = r;
	struct s2s_conn *shared = route_shared_stream(s2s, r);
	if (shared) {
		log_info("s2s: new route %s -> %s, over the stream of conn "
			 "%" PRIu64,
			 local, remote, shared->nc.id);
		r->piggyback = true;
		r->conn = shared;
		r->state = ROUTE_CONNECTING;
		s2s_dialback_send_result(shared, local);
		return s2s_route_find(s2s, local, remote);
	}
	log_info("s2s: new route %s -> %s", local, remote);
	route_resolve(r);
	return s2s_route_find(s2s, local, remote);
}

void s2s_route_refused(struct s2s_route *r)
{
	if (!r->piggyback) {
		route_fail(r, "remote-server-not-found");
		return;
	}
	log_info("s2s: %s refused %s over a shared stream; connecting on its "
		 "own",
		 r->remote, r->local);
	route_resolve(r);
}

void s2s_route_up(struct s2s_route *r)
{
	struct s2s_queued *q;
	if (r->state == ROUTE_UP)
		return;
	r->state = ROUTE_UP;
	log_info("s2s: route %s -> %s is up (%zu stanza(s) waited)", r->local,
		 r->remote, r->nqueued);
	while ((q = r->head)) {
		r->head = q->next;
		s2s_out_send_stanza(r->conn, q->data, q->len);
		free(q);
	}
	r->tail = NULL;
	r->nqueued = 0;
}

static void route_conn_lost(struct s2s_route *r, struct s2s_conn *c,
			    const char *why)
{
	r->conn = NULL;
	if (r->state == ROUTE_UP || r->piggyback) {
		/* Its stanzas went out; the next one makes a new route. */
		log_info("s2s: route %s -> %s closed: %s", r->local, r->remote,
			 why);
		route_fail(r, "remote-server-not-found");
		return;
	}
	log_info("s2s: route %s -> %s: %s at %s", r->local, r->remote, why,
		 c->nc.peer);
	/* Verifications sent on the lost stream are asked again. */
	for (struct s2s_verify *v = r->verifies; v; v = v->next)
		v->sent = false;
	route_try_next(r);
}

void s2s_route_conn_gone(struct s2s *s2s, struct s2s_conn *c, const char *why)
{
	struct s2s_route *r = s2s->routes, *next;
	for (; r; r = next) {
		next = r->next;
		if (r->conn == c)
			route_conn_lost(r, c, why);
	}
}

/* ------------------------------------------------------------------ */
/* Stanzas from the router */

static void route_enqueue(struct s2s_route *r, const struct frame *f)
{
	if (r->nqueued >= r->s2s->sc->queue_size) {
		s2s_bounce(r->s2s, f->payload, f->payload_len,
			   "resource-constraint");
		return;
	}
	struct s2s_queued *q = malloc(sizeof *q + f->payload_len);
	if (!q) {
		s2s_bounce(r->s2s, f->payload, f->payload_len,
			   "resource-constraint");
		return;
	}
	q->next = NULL;
	q->len = f->payload_len;
	memcpy(q->data, f->payload, f->payload_len);
	if (r->tail)
		r->tail->next = q;
	else
		r->head = q;
	r->tail = q;
	r->nqueued++;
}

/* The local name a stanza comes from: its 'from', which the sm (a
 * user's domain) or the muc (a room service) set. */
static int stanza_local_domain(struct s2s *s2s, const struct frame *f,
			       char *out)
{
	struct xml_node *st = xml_parse(&s2s->arena, f->payload, f->payload_len,
					XML_NS_CLIENT);
	const char *from = st ? xml_attr_get(st, "from") : NULL;
	struct jid j;
	if (!from || jid_parse_str(&j, from) < 0 ||
	    !s2s_is_local(s2s, j.domain))
		return -1;
	strcpy(out, j.domain);
	return 0;
}

void s2s_route_on_frame(struct s2s *s2s, const struct frame *f)
{
	char local[JID_PART_MAX + 1], remote[S2S_DOMAIN_MAX + 1];
	if (stanza_local_domain(s2s, f, local) < 0) {
		log_warn("s2s: a stanza for %.*s not from one of our domains; "
			 "dropped",
			 (int)f->to_len, f->to);
		return;
	}
	if (f->to_len > S2S_DOMAIN_MAX || f->to_len == 0 ||
	    memchr(f->to, '\0', f->to_len)) {
		s2s_bounce(s2s, f->payload, f->payload_len,
			   "remote-server-not-found");
		return;
	}
	memcpy(remote, f->to, f->to_len);
	remote[f->to_len] = '\0';
	struct s2s_route *r = s2s_route_get(s2s, local, remote);
	if (!r) {
		s2s_bounce(s2s, f->payload, f->payload_len,
			   s2s->proc.stopping ? "remote-server-timeout"
					      : "internal-server-error");
		return;
	}
	if (r->state == ROUTE_UP)
		s2s_out_send_stanza(r->conn, f->payload, f->payload_len);
	else
		route_enqueue(r, f);
}

/* ------------------------------------------------------------------ */

/* One address that drops packets must not use up the route's whole
 * connect-timeout: a TCP connection gets a third of it (2 s at least),
 * then the next address is tried. Returns whether it gave one up. */
static bool route_check_attempt(struct s2s_route *r, uint64_t now)
{
	uint64_t limit = (uint64_t)r->s2s->sc->connect_timeout * 1000 / 3;
	struct s2s_conn *c = r->conn;
	if (limit < 2000)
		limit = 2000;
	if (r->piggyback || !c || c->nc.connected || c->nc.closing ||
	    now - c->created_at < limit)
		return false;
	log_info("s2s conn %" PRIu64 ": no answer from %s in %llu ms", c->nc.id,
		 c->nc.peer, (unsigned long long)limit);
	netconn_abort(&c->nc); /* the route goes on to its next address */
	return true;
}

/* Returns whether routes may have been freed (closing a stream ends the
 * routes that share it). */
static bool route_sweep_one(struct s2s_route *r, uint64_t now, uint64_t limit)
{
	if (now >= limit)
		s2s_dialback_expire_verifies(r, now - limit);
	if (r->state != ROUTE_UP && now - r->started_at >= limit) {
		log_info("s2s: route %s -> %s not up after %u s", r->local,
			 r->remote, r->s2s->sc->connect_timeout);
		route_fail(r, "remote-server-timeout");
		return true;
	}
	return route_check_attempt(r, now);
}

void s2s_route_sweep(struct s2s *s2s)
{
	uint64_t now = uv_now(s2s->proc.loop);
	uint64_t limit = (uint64_t)s2s->sc->connect_timeout * 1000;
	struct s2s_route *r = s2s->routes;
	while (r)
		r = route_sweep_one(r, now, limit) ? s2s->routes : r->next;
}

void s2s_route_free_all(struct s2s *s2s)
{
	while (s2s->routes)
		route_fail(s2s->routes, "remote-server-timeout");
}
