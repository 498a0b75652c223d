/* session: one client session, logged in as a real client does.
 *
 * TCP connect (from the worker's next source address), stream header,
 * STARTTLS (or direct TLS with ALPN xmpp-client, or none), TLS without
 * certificate verification, SASL, stream restart, resource binding (the
 * server picks the resource), roster get, initial presence. The login is
 * done when the roster result has arrived and the presence was sent.
 * Then the session answers the server's iqs (pings, roster pushes) and
 * hands every stanza to the scenario.
 *
 * A session lives in a slot of its worker's array and keeps only what
 * an idle connection needs: the socket, the TLS object (whose buffers
 * OpenSSL releases while idle) and the bytes of a partial element. */
#ifndef XMPPLOAD_SESSION_H
#define XMPPLOAD_SESSION_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/socket_output.h"
#include "scan.h"
#include "xmppload.h"

struct worker;
struct tls_conn;
struct sasl_client;

enum session_state {
	SESSION_FREE, /* no connection */
	SESSION_CONNECTING,
	SESSION_FEATURES,      /* header sent, waiting for the first features */
	SESSION_STARTTLS,      /* waiting for <proceed/> */
	SESSION_HANDSHAKE,     /* TLS handshake */
	SESSION_AUTH_FEATURES, /* waiting for the mechanisms */
	SESSION_SASL,
	SESSION_BIND_FEATURES, /* after SASL, waiting for <bind/> */
	SESSION_BIND,
	SESSION_LEGACY_SESSION, /* RFC 3921 session iq, when required */
	SESSION_ROSTER,
	SESSION_ONLINE,
	SESSION_CLOSING, /* </stream:stream> sent, waiting for the server's */
	SESSION_CLOSED,  /* the handle is closing */
};
_Static_assert(SESSION_CLOSED + 1 == SESSION_STEPS, "SESSION_STEPS");

struct session {
	uv_tcp_t tcp;
	struct socket_output out;
	struct scan scan;
	struct tls_conn *tls;
	struct sasl_client *sasl;
	struct worker *w;
	uint64_t login_start_ns;
	uint64_t deadline_ms; /* the loop's time; 0: none */
	uint64_t account; /* account index (FIRST + account is its number) */
	uint32_t slot;    /* in the worker's array */
	uint8_t state;
	bool dirty;            /* in the worker's list of outputs to flush */
	bool in_progress;      /* counted in the worker's logins in progress */
	bool session_required; /* RFC 3921 <session/> without <optional/> */
	bool clean;            /* ended by a clean close, not a failure */
	bool logging_out;      /* counted in the worker's logouts in progress */
};

/* Starts logging in slot s (SESSION_FREE) as account. */
void session_login(struct session *s, uint64_t account);
/* Queues plaintext for the server (encrypted when TLS runs); it leaves
 * before the loop next waits. */
void session_send(struct session *s, const char *data, size_t len);
void session_send_str(struct session *s, const char *text);
/* Logs out cleanly (</stream:stream>, the server's answer, close_notify),
 * or closes at once, not as a failure, when the login is not done. */
void session_logout(struct session *s);
/* Ends the session now, counting failure f (a enum failure; -1: none). */
void session_abort(struct session *s, int f);
/* Writes what is queued; called by the worker before the loop waits. */
void session_flush(struct session *s);
bool session_online(const struct session *s);

#endif
