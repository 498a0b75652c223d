/* s2s: federation, the server-to-server component (RFC 6120, XEP-0220,
 * XEP-0178, XEP-0368). It binds the router's default route: every stanza
 * for a domain no local component serves comes here. This header is
 * private to server/s2s/.
 *
 *   s2s.c          the process (lib/process.h): ports, frames, sweeps
 *   local.c        the names this server answers for: hosts, room
 *                  services, external components
 *   conn.c         one stream either way over lib/netconn.h: accepting,
 *                  connecting, our header and errors, idle streams
 *   tls.c          contexts: per host, accepting and connecting; what the
 *                  peer's certificate proves
 *   stream_in.c    streams peers open to us: features, STARTTLS, SASL
 *                  EXTERNAL, which (local, remote) pairs may send
 *   stream_out.c   streams we open: STARTTLS, EXTERNAL, else dialback
 *   dialback.c     XEP-0220 on both sides: db:result, db:verify
 *   outgoing.c     outgoing routes per (local, remote): resolution,
 *                  connection attempts, the queue, timeouts
 *   bounce.c       errors for stanzas that cannot be delivered
 *   resolve.c      SRV and address lookups with c-ares (resolve.h)
 *   identity.c     RFC 6125 name checks of certificates (identity.h)
 *   dialback_key.c XEP-0185 keys (dialback_key.h) */
#ifndef PALABRE_S2S_H
#define PALABRE_S2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "../../lib/jid.h"
#include "../../lib/link.h"
#include "../../lib/netconn.h"
#include "../../lib/process.h"
#include "../../lib/tls.h"
#include "../../lib/tls_hosts.h"
#include "../../lib/xml.h"
#include "../../lib/xmlstream.h"
#include "resolve.h"

#define NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_DIALBACK "jabber:server:dialback"
#define NS_DIALBACK_FEATURE "urn:xmpp:features:dialback"

#define S2S_SWEEP_MS 1000
#define S2S_MAX_DEPTH 32
/* Bytes that may wait for a peer that does not read before the stream
 * is closed. */
#define S2S_OUTPUT_MAX (4u << 20)
/* Domains one incoming stream may be authorized for (piggybacking). */
#define S2S_MAX_PAIRS 64
/* A federated domain is a DNS name (RFC 1035 §2.3.4: 255 octets). */
#define S2S_DOMAIN_MAX 255
/* Longer stream ids from a peer are refused rather than cut: the
 * dialback key covers the whole id. */
#define S2S_STREAM_ID_MAX 256
/* Dialback keys we pass on: XEP-0185 keys are 64 hex digits; other
 * servers' are shorter or longer, never more than this. */
#define S2S_KEY_MAX 128
/* db:result requests one incoming stream may have waiting. */
#define S2S_MAX_VERIFIES 16

struct s2s_conn;
struct s2s_route;

struct s2s {
	struct process proc; /* loop, link, ports, connections, stopping */
	const struct config *cfg;
	const struct config_s2s *sc;
	struct resolver *resolver;
	struct tls_hosts tls_accept;  /* our certificate, by SNI */
	struct tls_hosts tls_connect; /* our certificate as the client's */
	char dialback_secret[65];
	struct s2s_route *routes; /* every outgoing route */
	uv_timer_t sweep;
	struct buf held;    /* frames to the router it refused, oldest first */
	struct arena arena; /* per frame or per stanza; reset after each */
};

/* A (local, remote) pair an incoming stream was authenticated for; an
 * empty local means any local domain (SASL EXTERNAL authenticates the
 * peer itself). */
struct s2s_pair {
	char local[S2S_DOMAIN_MAX + 1];
	char remote[S2S_DOMAIN_MAX + 1];
};

/* One stream either way: the socket, TLS, the stream parser and the
 * output are the connection layer's (nc, lib/netconn.h; nc.outgoing
 * says which way); the rest is federation's. */
struct s2s_conn {
	struct netconn nc;
	struct s2s *s2s;
	uv_connect_t connect_req;
	/* The stream id: ours on incoming streams, the peer's on outgoing
	 * ones (the dialback key covers it). */
	char stream_id[S2S_STREAM_ID_MAX + 1];
	/* Outgoing: the route's pair. Incoming: the header's to and from. */
	char local[S2S_DOMAIN_MAX + 1];
	char remote[S2S_DOMAIN_MAX + 1];
	struct s2s_route *route; /* outgoing: the route it serves */
	struct s2s_pair *pairs;  /* incoming: authorized pairs */
	size_t npairs;
	uint64_t last_active; /* uv_now of the last byte either way */
	uint64_t created_at;
	bool cert_valid;      /* the peer's chain verified */
	bool sasl_done;       /* incoming: EXTERNAL succeeded */
	bool sasl_tried;      /* outgoing: EXTERNAL was tried */
	bool dialback_errors; /* the peer understands XEP-0220 errors */
	bool peer_dialback;   /* the peer offers dialback */
	bool authenticated;   /* outgoing: stanzas may flow */
	bool verify_ready;  /* outgoing: open (and secured), db:verify may go */
	bool left_routes;   /* outgoing: its routes were told it ended */
	unsigned nverifies; /* incoming: db:result waiting for an answer */
};

static inline struct s2s_conn *s2s_conn_of(struct netconn *nc)
{
	return netconn_outer(nc, struct s2s_conn, nc);
}

/* The verifications an incoming db:result waits for, on a route. */
struct s2s_verify {
	struct s2s_verify *next;
	uint64_t conn_id; /* the incoming conn that asked */
	char stream_id[S2S_STREAM_ID_MAX + 1];
	char key[S2S_KEY_MAX + 1];
	/* uv_now: unanswered after connect-timeout, it fails */
	uint64_t asked_at;
	bool sent;
};

enum s2s_route_state {
	ROUTE_RESOLVING,
	ROUTE_CONNECTING, /* a connection is being negotiated */
	ROUTE_UP,
};

struct s2s_queued {
	struct s2s_queued *next;
	size_t len;
	char data[];
};

struct s2s_route {
	struct s2s *s2s;
	struct s2s_route *prev, *next;
	char local[S2S_DOMAIN_MAX + 1];
	char remote[S2S_DOMAIN_MAX + 1];
	enum s2s_route_state state;
	struct resolve_req *req;
	struct resolve_target targets[RESOLVE_MAX_TARGETS];
	size_t ntargets, next_target;
	struct s2s_conn *conn;
	struct s2s_queued *head, *tail; /* stanzas waiting for the route */
	size_t nqueued;
	/* db:verify to send once the stream is open */
	struct s2s_verify *verifies;
	uint64_t started_at; /* uv_now when set-up began */
	/* Dialback for this pair over another route's stream (XEP-0220
	 * §2.6): conn is shared, and owned by the route it was made for. */
	bool piggyback;
};

/* s2s.c */
/* The ASCII form (IDNA A-labels) of a prepared domain, for DNS, SNI and
 * certificate names. Returns 0, or -1. */
int s2s_domain_ascii(const char *domain, char *out, size_t size);
/* Sends a stanza (serialized, jabber:client default namespace) to the
 * router for a local domain. */
void s2s_to_router(struct s2s *s2s, const char *domain, const char *xml,
		   size_t len);

/* local.c */
/* Whether domain is one of the names this server answers for (a
 * <host>, a room service, an external component). */
bool s2s_is_local(const struct s2s *s2s, const char *domain);

/* conn.c */
extern const struct netconn_type s2s_conn_type;
void s2s_conn_accept(struct listener *l);
/* Connects to target for route; the stream starts once TCP is up. */
struct s2s_conn *s2s_conn_connect(struct s2s_route *r,
				  const struct resolve_target *target);
/* netconn_send, and the stream counts as active (the idle timeout). */
void s2s_conn_send(struct s2s_conn *c, const char *data, size_t len);
void s2s_conn_send_str(struct s2s_conn *c, const char *s);
void s2s_conn_send_buf(struct s2s_conn *c, const struct buf *b);
struct s2s_conn *s2s_conn_find(struct s2s *s2s, uint64_t id);
/* Closes streams quiet for longer than the idle timeout. */
void s2s_conn_sweep(struct s2s *s2s);
/* Logs, then netconn_stream_error (RFC 6120 §4.9): our header first if
 * not sent, the error, </stream:stream>, close. */
void s2s_stream_error(struct s2s_conn *c, const char *condition,
		      const char *text);
/* Our stream header for c into b. */
int s2s_stream_header(struct s2s_conn *c, struct buf *b);
/* The xmlstream callbacks both directions share. */
void s2s_stream_on_close(void *ctx);
void s2s_stream_on_error(void *ctx, enum xmlstream_error error,
			 const char *text);

/* tls.c */
int s2s_tls_init(struct s2s *s2s, char *err, size_t errlen);
void s2s_tls_free(struct s2s *s2s);
/* A TLS connection for c: accepting, or connecting to c->remote with
 * c->local's certificate. */
struct tls_conn *s2s_tls_new(struct s2s_conn *c);
/* Once the handshake is done: whether the peer's chain verified, and
 * whether its certificate names domain (RFC 6125). */
bool s2s_tls_peer_verified(const struct s2s_conn *c);
bool s2s_tls_peer_proves(const struct s2s_conn *c, const char *domain);

/* stream_in.c */
extern const struct xmlstream_callbacks s2s_in_callbacks;
void s2s_in_authorize(struct s2s_conn *c, const char *local,
		      const char *remote);

/* stream_out.c */
extern const struct xmlstream_callbacks s2s_out_callbacks;
/* TCP is up (and TLS started when direct): send our header. */
void s2s_out_start(struct s2s_conn *c);
/* Writes one serialized stanza on an authenticated outgoing stream. */
void s2s_out_send_stanza(struct s2s_conn *c, const char *data, size_t len);

/* dialback.c */
/* Outgoing: asks the peer to accept our domain `local` by dialback. */
void s2s_dialback_send_result(struct s2s_conn *c, const char *local);
/* Incoming db:result / db:verify; outgoing answers to ours. */
void s2s_dialback_in(struct s2s_conn *c, struct xml_node *el, struct arena *a);
void s2s_dialback_out(struct s2s_conn *c, struct xml_node *el);
/* The outgoing stream of r can carry db:verify now: sends those waiting. */
void s2s_dialback_flush_verifies(struct s2s_route *r);
/* Verifications asked before asked_before (uv_now) fail as timed out. */
void s2s_dialback_expire_verifies(struct s2s_route *r, uint64_t asked_before);
/* r failed: answers every verification waiting on it as an error. */
void s2s_dialback_fail_verifies(struct s2s_route *r, const char *condition);

/* outgoing.c */
void s2s_route_on_frame(struct s2s *s2s, const struct frame *f);
/* The route of (local, remote), made and started when missing. */
struct s2s_route *s2s_route_get(struct s2s *s2s, const char *local,
				const char *remote);
/* The route's stream is authenticated: the queue goes out. */
void s2s_route_up(struct s2s_route *r);
/* The route of (local, remote), or NULL. */
struct s2s_route *s2s_route_find(struct s2s *s2s, const char *local,
				 const char *remote);
/* Connection c ended: each route on it tries its next target or ends. */
void s2s_route_conn_gone(struct s2s *s2s, struct s2s_conn *c, const char *why);
/* The peer refused dialback for a piggybacked route: it makes its own
 * connection. Any other route: it fails. */
void s2s_route_refused(struct s2s_route *r);
void s2s_route_sweep(struct s2s *s2s);
void s2s_route_free_all(struct s2s *s2s);

/* bounce.c */
/* Answers a stanza that cannot be delivered with an error from its 'to'
 * (iq get/set and messages; never errors, results or presence). */
void s2s_bounce(struct s2s *s2s, const char *xml, size_t len,
		const char *condition);

#endif
