/* resolve: where to connect for a remote XMPP domain, found in DNS without
 * blocking the loop (RFC 6120 §3.2, RFC 2782, XEP-0368).
 *
 * A lookup asks for the _xmpps-server._tcp and _xmpp-server._tcp SRV
 * records of a domain at once, merges them, orders them by priority and
 * weight, and resolves every target's AAAA and A records. Without any SRV
 * record it falls back to the domain's own addresses on port 5269. Only
 * DNS is asked: /etc/hosts is not read. Answers are cached per domain for
 * their smallest TTL (at most an hour; a negative answer at most 60 s);
 * the weighted order is drawn again for every lookup, cached or not. */
#ifndef PALABRE_S2S_RESOLVE_H
#define PALABRE_S2S_RESOLVE_H

#include <netinet/in.h>
#include <stdbool.h>
#include <uv.h>

#define RESOLVE_MAX_TARGETS 32

/* One address to try, in the order they come. */
struct resolve_target {
	char host[256]; /* the SRV target, or the domain itself on fallback */
	struct sockaddr_storage addr; /* port set */
	int port;
	bool direct_tls; /* from _xmpps-server._tcp (XEP-0368) */
};

enum resolve_status {
	RESOLVE_OK = 0,
	RESOLVE_NOT_FOUND, /* NXDOMAIN / no records / SRV target "." / no
			      address: remote-server-not-found */
	RESOLVE_FAILED,    /* DNS server failure or timeout:
			      remote-server-timeout */
	RESOLVE_CANCELLED,
};

struct resolver;
struct resolve_req;
/* targets are valid during the call only; ntargets is 0 unless RESOLVE_OK.
 * The request is freed once this returns. */
typedef void (*resolve_cb)(void *ctx, enum resolve_status status,
			   const struct resolve_target *targets,
			   size_t ntargets);

/* server: NULL for the system's resolv.conf, else an IPv4/IPv6 address;
 * port 0 means 53. NULL with a message in err. */
struct resolver *resolver_new(uv_loop_t *loop, const char *server, int port,
			      char *err, size_t errlen);
/* Cancels pending lookups (their callbacks run with RESOLVE_CANCELLED
 * before this returns), closes handles; frees once they are closed. May be
 * called from a lookup's callback. */
void resolver_free(struct resolver *r);
/* domain is already nameprep'd/lowercase ASCII (IDNA A-label). The callback
 * is never called from inside resolver_lookup (always from the loop),
 * exactly once unless resolve_cancel is called first. NULL (and no
 * callback) only when out of memory or once resolver_free has begun. */
struct resolve_req *resolver_lookup(struct resolver *r, const char *domain,
				    resolve_cb cb, void *ctx);
/* The callback will not be called. Not for a request whose callback has
 * begun. */
void resolve_cancel(struct resolve_req *req);

#endif
