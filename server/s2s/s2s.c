/* s2s: the process, on lib/process.h. Connects to the router and binds
 * the default route, opens the server ports, and runs until SIGTERM
 * (exit 0) or until the link is lost (exit 1: the supervisor starts a new
 * s2s). What no restart can fix (TLS, the resolver, ports) exits
 * PALABRED_EXIT_CONFIG. */
#include <idn-free.h>
#include <idna.h>
#include <openssl/hmac.h>
#include <stddef.h>
#include <string.h>

#include "../../lib/log.h"
#include "../palabred.h"
#include "s2s.h"

/* Frames to the router that wait while its link is full; past this,
 * stanzas from peers are dropped (logged) rather than taking memory. */
#define S2S_HELD_MAX (16u << 20)

int s2s_domain_ascii(const char *domain, char *out, size_t size)
{
	char *ascii = NULL;
	if (idna_to_ascii_8z(domain, &ascii, 0) != IDNA_SUCCESS)
		return -1;
	int n = snprintf(out, size, "%s", ascii);
	idn_free(ascii);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Frames to the router */

static void s2s_send_held(struct s2s *s2s)
{
	size_t off = 0;
	while (s2s->proc.link && off < s2s->held.len) {
		struct frame f;
		long n = frame_decode(s2s->held.data + off, s2s->held.len - off,
				      &f);
		if (n <= 0 || link_send(s2s->proc.link, &f) < 0)
			break;
		off += (size_t)n;
	}
	buf_consume(&s2s->held, off);
	if (!s2s->held.len)
		buf_free(&s2s->held);
}

void s2s_to_router(struct s2s *s2s, const char *domain, const char *xml,
		   size_t len)
{
	struct frame f = {
		.type = FRAME_STANZA, .payload = xml, .payload_len = len};
	struct link *link = s2s->proc.link;
	frame_set_to(&f, domain);
	frame_set_from(&f, s2s->proc.name);
	if (!link)
		return;
	if (!s2s->held.len && link_send(link, &f) == 0)
		return;
	if (!link_full(link) && !s2s->held.len) {
		log_warn("s2s: cannot send a stanza to %s", domain);
		return;
	}
	if (s2s->held.len > S2S_HELD_MAX || frame_encode(&s2s->held, &f) < 0)
		log_warn("s2s: the router does not keep up; a stanza for %s "
			 "is dropped",
			 domain);
}

/* ------------------------------------------------------------------ */
/* The process (lib/process.h) */

static struct s2s *s2s_of(struct process *p)
{
	return (struct s2s *)((char *)p - offsetof(struct s2s, proc));
}

static void s2s_on_ready(struct process *p)
{
	const struct config_s2s *sc = s2s_of(p)->sc;
	log_info("s2s: %s connected to the router, serving the default route",
		 p->name);
	if (listeners_open(&p->listeners, p->loop, "s2s", sc->listeners,
			   sc->nlisteners, 511, s2s_conn_accept, s2s_of(p)) < 0)
		process_stop(p, PALABRED_EXIT_CONFIG);
}

static void s2s_on_frame(struct process *p, const struct frame *f)
{
	struct s2s *s2s = s2s_of(p);
	switch (f->type) {
	case FRAME_STANZA:
		s2s_route_on_frame(s2s, f);
		break;
	case FRAME_NO_ROUTE:
		log_warn("s2s: no component serves %.*s; a stanza from a "
			 "peer is dropped",
			 (int)f->to_len, f->to);
		break;
	default:
		break;
	}
	arena_reset(&s2s->arena);
}

static void s2s_on_drain(struct process *p)
{
	s2s_send_held(s2s_of(p));
}

/* Stopping: what waits on a route goes (bounced), before the streams
 * end and again before the link closes. */
static void s2s_on_release(struct process *p)
{
	s2s_route_free_all(s2s_of(p));
}

static const struct process_ops s2s_process_ops = {
	.ready = s2s_on_ready,
	.frame = s2s_on_frame,
	.drain = s2s_on_drain,
	.release = s2s_on_release,
};

static void s2s_on_sweep(uv_timer_t *t)
{
	s2s_route_sweep(t->data);
	s2s_conn_sweep(t->data);
}

/* ------------------------------------------------------------------ */

/* XEP-0185 §3: a secret of the server's own. Derived from the link
 * secret, so that a restarted s2s still validates the keys it gave. */
static void s2s_dialback_secret(struct s2s *s2s, const char *secret)
{
	static const char label[] = "palabre s2s dialback secret";
	unsigned char mac[32];
	unsigned int len = 0;
	static const char hex[] = "0123456789abcdef";
	HMAC(EVP_sha256(), secret, (int)strlen(secret),
	     (const unsigned char *)label, sizeof label - 1, mac, &len);
	for (size_t i = 0; i < sizeof mac; i++) {
		s2s->dialback_secret[2 * i] = hex[mac[i] >> 4];
		s2s->dialback_secret[2 * i + 1] = hex[mac[i] & 15];
	}
	s2s->dialback_secret[64] = '\0';
}

static void s2s_init_handles(struct s2s *s2s)
{
	uv_loop_t *loop = s2s->proc.loop;
	struct xmlstream_limits limits = {s2s->sc->max_stanza_size,
					  S2S_MAX_DEPTH};
	netconn_set_init(&s2s->proc.conns, loop, &s2s_conn_type, &limits,
			 S2S_OUTPUT_MAX);
	uv_timer_init(loop, &s2s->sweep);
	s2s->sweep.data = s2s;
	uv_timer_start(&s2s->sweep, s2s_on_sweep, S2S_SWEEP_MS, S2S_SWEEP_MS);
	uv_unref((uv_handle_t *)&s2s->sweep);
}

int s2s_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct s2s state; /* its listeners: not on the stack */
	static const char *const binds[] = {"*", NULL};
	struct s2s *s2s = &state;
	char err[512];

	process_init(&s2s->proc, "s2s", name, &s2s_process_ops);
	s2s->cfg = cfg;
	s2s->sc = &cfg->s2s;
	s2s_dialback_secret(s2s, secret ? secret : "");
	if (s2s_tls_init(s2s, err, sizeof err) < 0 ||
	    !(s2s->resolver =
		      resolver_new(s2s->proc.loop, s2s->sc->resolver,
				   s2s->sc->resolver_port, err, sizeof err))) {
		log_error("s2s: %s", err);
		return PALABRED_EXIT_CONFIG;
	}
	s2s_init_handles(s2s);
	int status = process_run(&s2s->proc, cfg->router_socket, secret, binds);
	resolver_free(s2s->resolver);
	s2s_tls_free(s2s);
	arena_reset(&s2s->arena);
	buf_free(&s2s->held);
	return status;
}
