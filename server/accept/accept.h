/* accept: external components (XEP-0114, jabber:component:accept), the
 * process that terminates their streams, so that the router never reads
 * XML (docs/architecture.md). It binds every configured component name
 * on the router for as long as it runs: a stanza for a component that is
 * not connected is answered here, never sent on to federation. This
 * header is private to server/accept/.
 *
 *   accept.c   the process (lib/process.h): ports, frames either way,
 *              backpressure when the router's link is full
 *   conn.c     one component's stream over lib/netconn.h: accepting,
 *              our header and errors, the handshake's time limit
 *   stream.c   XEP-0114 §3: the header, the handshake, and the stanzas
 *              a component may send */
#ifndef PALABRE_ACCEPT_H
#define PALABRE_ACCEPT_H

#include <stdbool.h>
#include <stddef.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/netconn.h"
#include "../../lib/process.h"
#include "../../lib/xml.h"

/* Hex digits of our stream ids (XEP-0114 §3: the handshake covers it). */
#define ACCEPT_STREAM_ID_BYTES 16
/* A component is trusted, but its stanzas still have bounds: MAM pages
 * and vCards with photos are the big ones; a frame ends at 4 MiB. */
#define ACCEPT_MAX_STANZA_SIZE (1u << 20)
#define ACCEPT_MAX_DEPTH 32
/* Bytes waiting for a component that does not read before its stream
 * is closed. */
#define ACCEPT_OUTPUT_MAX (8u << 20)
/* From connection to <handshake/>. */
#define ACCEPT_AUTH_TIMEOUT_MS 30000

struct accept_conn;

/* A configured component, and its stream once it authenticated. */
struct accept_component {
	const struct config_component *cfg;
	struct accept_conn *conn;
};

struct accept {
	struct process proc; /* loop, link, ports, connections, stopping */
	const struct config *cfg;
	struct accept_component components[CONFIG_MAX_COMPONENTS];
	size_t ncomponents;
	/* Frames for the router that its full link refused, oldest first;
	 * meanwhile no component is read. */
	struct buf held;
	struct arena arena; /* per frame; reset after each */
};

struct accept_conn {
	struct netconn nc;
	struct accept *acc;
	char stream_id[2 * ACCEPT_STREAM_ID_BYTES + 1];
	/* The component its header named; serves it once authenticated. */
	struct accept_component *component;
	bool authenticated;
};

static inline struct accept_conn *accept_conn_of(struct netconn *nc)
{
	return netconn_outer(nc, struct accept_conn, nc);
}

/* accept.c */
/* The configured component name, or NULL. */
struct accept_component *accept_find(struct accept *acc, const char *name);
/* Sends a stanza (serialized, its default namespace implicit) to the
 * router for the domain `to`; while the link is full it waits, and no
 * component is read. */
void accept_to_router(struct accept *acc, const char *to, const char *xml,
		      size_t len);
/* Whether frames wait for the router (then a stream is not read). */
bool accept_router_full(const struct accept *acc);

/* conn.c */
extern const struct netconn_type accept_conn_type;
void accept_conn_accept(struct listener *l);
/* Logs, then netconn_stream_error. */
void accept_stream_error(struct accept_conn *c, const char *condition,
			 const char *text);
/* Our stream header into b, from the component's name. */
int accept_stream_header(struct accept_conn *c, struct buf *b);
/* The handshake succeeded: no time limit any more. */
void accept_conn_authenticated(struct accept_conn *c);

/* stream.c */
extern const struct xmlstream_callbacks accept_stream_callbacks;

#endif
