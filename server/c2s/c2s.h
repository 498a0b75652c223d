/* c2s: the client-to-server component. This header is private to
 * server/c2s/: the process state (struct c2s), one client connection
 * (struct conn) and the entry points of each file.
 *
 *   c2s.c          the process (lib/process.h): ports, sweeps, shutdown
 *   conn_table.c   connection id -> conn
 *   conn.c         one client over lib/netconn.h: accept, reading, rate
 *                  limit, backpressure, idle memory, close
 *   tls.c          OpenSSL over memory, per-host contexts, channel
 *                  bindings
 *   stream.c       RFC 6120 stream: header, features, errors, dispatch
 *   sasl.c         RFC 6120 §6 SASL on libuv's worker pool, a lane per
 *                  directory (lib/lanes.h)
 *   throttle.c     authentication attempts counted per address and
 *                  account
 *   bind.c         RFC 6120 §7 resource binding, legacy session iq
 *   router_link.c  frames to and from the sm, backpressure
 *   ratelimit.c    token buckets: how fast a client may send */
#ifndef PALABRE_C2S_H
#define PALABRE_C2S_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../../auth/auth.h"
#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "../../lib/hash_table.h"
#include "../../lib/lanes.h"
#include "../../lib/link.h"
#include "../../lib/netconn.h"
#include "../../lib/process.h"
#include "../../lib/xml.h"
#include "../../lib/xmlstream.h"
#include "../sm/caps_ver.h"
#include "ratelimit.h"
#include "throttle.h"

#define NS_STREAMS "urn:ietf:params:xml:ns:xmpp-streams"
#define NS_TLS "urn:ietf:params:xml:ns:xmpp-tls"
#define NS_SASL "urn:ietf:params:xml:ns:xmpp-sasl"
#define NS_BIND "urn:ietf:params:xml:ns:xmpp-bind"
#define NS_SESSION "urn:ietf:params:xml:ns:xmpp-session"
#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"
#define NS_SASL_CB "urn:xmpp:sasl-cb:0"

/* The read size of a client that has used half its burst: what it sent
 * is parsed in small steps, and the rate limit catches it sooner. */
#define C2S_SLOW_READ_SIZE 4096
#define C2S_MAX_AUTH_FAILURES 5
#define C2S_DEFAULT_AUTH_TIMEOUT 30
#define C2S_IDLE_SWEEP_MS 5000
/* A client quiet this long after its initial presence has logged in:
 * its parser and TLS state go then rather than at a sweep (conn.c). */
#define C2S_LOGIN_QUIET_MS 1000
/* malloc_trim after a burst of at least this many connections, once a
 * sweep sees fewer than C2S_TRIM_QUIET arrive and log in (c2s.c). */
#define C2S_TRIM_AFTER 256
#define C2S_TRIM_QUIET 16
#define C2S_TRIM_MIN_BYTES (8u << 20)

struct tls_server;
struct tls_conn;
struct sasl_job;
struct conn;

struct c2s {
	struct process proc; /* loop, link, ports, connections, stopping */
	const struct config *cfg;
	struct tls_server *tls;
	struct lanes *lanes;     /* sasl.c's steps, a lane per directory */
	struct hash_table conns; /* id -> conn (conn_table.c) */
	struct conn *paused;     /* conns that wait for the link to drain */
	struct conn *slowed;     /* conns that wait for their rate limit */
	struct ratelimit rate_stanzas, rate_bytes; /* c2s/rate-limit */
	uv_timer_t rate_timer; /* resumes the slowed conns: one for all */
	/* router_link.c: the last conn whose sm was told it is gone, and since */
	uint64_t gone_id, gone_at;
	struct buf held;       /* encoded control frames the link refused */
	uint64_t swept_id;     /* proc.conns.next_id at the last idle sweep */
	uint64_t trimmed_id;   /* proc.conns.next_id at the last malloc_trim */
	size_t fd_limit;       /* RLIMIT_NOFILE, raised to the hard limit */
	uint64_t fd_warned_at; /* uv_now of the last "near the limit" */
	uv_timer_t idle_timer; /* shrinks the parsers of quiet conns */
	struct buf scratch;    /* stanza serialization, reused */
	/* Each host's XEP-0115 ver ("": none), for the stream features. */
	char caps_ver[CONFIG_MAX_HOSTS][CAPS_VER_SIZE];
};

enum conn_state {
	CONN_NEGOTIATING,   /* before SASL success: STARTTLS, SASL */
	CONN_AUTHENTICATED, /* SASL done, resource not bound yet */
	CONN_BINDING,       /* SESSION_START sent, waiting for the sm */
	CONN_BOUND,         /* stanzas flow */
};

/* One client: the socket, TLS, the stream parser and the output are the
 * connection layer's (nc, lib/netconn.h); the rest is c2s's. */
struct conn {
	struct netconn nc;
	struct c2s *c2s;
	struct hash_link hash_link;              /* c2s->conns */
	struct conn *pause_prev, *pause_next;    /* c2s->paused */
	struct conn *slow_next;                  /* c2s->slowed */
	uint64_t stanzas_full_at, bytes_full_at; /* rate limit (ratelimit.h) */
	struct buf held; /* encoded stanza frames the link refused */
	const struct config_host *host; /* the stream's domain */
	char *jid;     /* bare JID once authenticated, full JID once bound */
	char *bind_id; /* id of the bind iq waiting for the sm */
	struct sasl_job *job;       /* SASL step in its lane or running */
	struct auth_exchange *auth; /* SASL exchange in progress */
	const char *mechanism;      /* of that exchange (a static string) */
	struct arena hold;          /* stanzas received while binding */
	struct xml_node *hold_first, *hold_last;
	enum conn_state state;
	uint8_t auth_failures;
	bool session_started; /* SESSION_START sent to the sm */
	bool session_ended;   /* SESSION_END sent or received */
	bool paused;
	bool slowed;        /* not reading until its rate limit allows */
	bool sasl_abort;    /* <abort/> arrived while a step was running */
	uint8_t sasl_claim; /* sasl.c: whose attempt the exchange counts as */
	bool active;        /* read something since the last idle sweep */
	bool presence_seen; /* the initial presence has passed */
	bool login_quiet;   /* nothing read since the initial presence */
};

static inline struct conn *conn_of(struct netconn *nc)
{
	return netconn_outer(nc, struct conn, nc);
}

/* conn_table.c */
void c2s_conn_table_init(struct hash_table *t);
int c2s_conn_table_insert(struct hash_table *t, struct conn *c);
void c2s_conn_table_remove(struct hash_table *t, struct conn *c);
struct conn *c2s_conn_table_find(const struct hash_table *t, uint64_t id);

/* conn.c */
extern const struct netconn_type c2s_conn_type;
void c2s_conn_accept(struct listener *l);
void c2s_conn_pause(struct conn *c);
void c2s_conn_resume(struct conn *c);
/* Counts a stanza of a bound client against its rate limit. */
void c2s_conn_charge_stanza(struct conn *c);
/* Lets go of OpenSSL's state of a bound TLS 1.3 conn (lib/tls.h). */
void c2s_conn_release_tls(struct conn *c);
/* The client sent its initial presence: let go of its parser and TLS
 * state if it stays quiet for C2S_LOGIN_QUIET_MS. */
void c2s_conn_logged_in(struct conn *c);
/* Frees the parser state of conns quiet since the last call. */
size_t c2s_conn_sweep_idle(struct c2s *c2s);
void c2s_conn_stop_timer(struct conn *c);
const char *c2s_conn_domain(const struct conn *c);

/* tls.c (see tls.h) */

/* stream.c */
extern const struct xmlstream_callbacks c2s_stream_callbacks;
/* Our stream header into b (the connection layer's append_header). */
int c2s_stream_append_header(struct conn *c, struct buf *b);
/* Logs, then netconn_stream_error: our header if needed, the error,
 * </stream:stream>, close. */
void c2s_stream_error(struct conn *c, const char *condition, const char *text);
/* Handles the stanzas kept while the session was being started. */
void c2s_stream_replay_held(struct conn *c);

/* sasl.c */
void c2s_sasl_append_features(struct conn *c, struct buf *out);
void c2s_sasl_handle(struct conn *c, struct xml_node *el, struct arena *a);
void c2s_sasl_cancel(struct conn *c);

/* bind.c */
/* Computes each host's caps once, at start (XEP-0115 §6.3). */
void c2s_bind_caps_init(struct c2s *c2s);
void c2s_bind_append_features(const struct conn *c, struct buf *out);
/* Handles a bind or session iq; returns false when iq is neither. */
bool c2s_bind_handle_iq(struct conn *c, struct xml_node *iq, struct arena *a);
void c2s_bind_session_ok(struct conn *c, const char *jid, size_t len);
void c2s_bind_session_refused(struct conn *c, const char *type,
			      const char *condition);
void c2s_bind_reply_error(struct conn *c, const char *id, const char *type,
			  const char *condition);

/* router_link.c */
void c2s_route_stanza(struct conn *c, struct xml_node *stanza, struct arena *a);
void c2s_route_on_frame(struct c2s *c2s, const struct frame *f);
void c2s_route_on_drain(struct c2s *c2s);
/* Sends a frame that must not be lost; kept when the link is full. */
void c2s_route_send_control(struct c2s *c2s, const struct frame *f);
void c2s_route_session_start(struct conn *c, const char *full_jid);
void c2s_route_session_end(struct conn *c, const char *reason);

#endif
