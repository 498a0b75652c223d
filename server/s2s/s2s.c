/* s2s: the process. Connects to the router and binds the default route,
 * opens the server ports, and runs until SIGTERM (exit 0) or until the
 * link is lost (exit 1: the supervisor starts a new s2s). What no restart
 * can fix (TLS, the resolver, ports) exits PALABRED_EXIT_CONFIG. */
#include <openssl/hmac.h>
#include <idn-free.h>
#include <idna.h>
#include <signal.h>
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
	while (s2s->link && off < s2s->held.len) {
		struct frame f;
		long n = frame_decode(s2s->held.data + off,
				      s2s->held.len - off, &f);
		if (n <= 0 || link_send(s2s->link, &f) < 0)
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
	struct frame f = {.type = FRAME_STANZA, .payload = xml,
			  .payload_len = len};
	frame_set_to(&f, domain);
	frame_set_from(&f, s2s->name);
	if (!s2s->link)
		return;
	if (!s2s->held.len && link_send(s2s->link, &f) == 0)
		return;
	if (!link_full(s2s->link) && !s2s->held.len) {
		log_warn("s2s: cannot send a stanza to %s", domain);
		return;
	}
	if (s2s->held.len > S2S_HELD_MAX || frame_encode(&s2s->held, &f) < 0)
		log_warn("s2s: the router does not keep up; a stanza for %s "
			 "is dropped", domain);
}

/* ------------------------------------------------------------------ */
/* Stopping */

static void s2s_stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void s2s_finish(struct s2s *s2s)
{
	if (s2s->finished)
		return;
	s2s->finished = true;
	s2s_route_free_all(s2s);
	if (!s2s->link) {
		uv_stop(s2s->loop);
		return;
	}
	link_close(s2s->link);
	uv_timer_start(&s2s->shutdown_timer, s2s_stop_loop, 1000, 0);
}

static void s2s_shutdown_timeout(uv_timer_t *t)
{
	struct s2s *s2s = t->data;
	struct s2s_conn *c, *next;
	for (c = s2s->conns; c; c = next) {
		next = c->next;
		s2s_conn_abort(c);
	}
	s2s_finish(s2s);
}

void s2s_conn_gone(struct s2s *s2s)
{
	if (s2s->stopping && !s2s->conns)
		s2s_finish(s2s);
}

void s2s_stop(struct s2s *s2s, int status)
{
	struct s2s_conn *c, *next;
	if (s2s->stopping)
		return;
	s2s->stopping = true;
	s2s->exit_status = status;
	s2s_listener_close_all(s2s);
	s2s_route_free_all(s2s);
	for (c = s2s->conns; c; c = next) {
		next = c->next;
		s2s_stream_error(c, "system-shutdown", NULL);
	}
	uv_timer_start(&s2s->shutdown_timer, s2s_shutdown_timeout,
		       S2S_SHUTDOWN_TIMEOUT_MS, 0);
	s2s_conn_gone(s2s);
}

static void s2s_on_signal(uv_signal_t *s, int signum)
{
	log_info("s2s: %s, stopping", strsignal(signum));
	s2s_stop(s->data, 0);
}

static void s2s_on_sweep(uv_timer_t *t)
{
	s2s_route_sweep(t->data);
	s2s_conn_sweep(t->data);
}

static void s2s_on_check(uv_check_t *h)
{
	s2s_conn_flush_all(h->data);
}

/* ------------------------------------------------------------------ */
/* The link to the router */

static void s2s_on_ready(struct link *l)
{
	struct s2s *s2s = link_data(l);
	s2s->link = l;
	log_info("s2s: %s connected to the router, serving the default route",
		 s2s->name);
	if (s2s_listener_start_all(s2s) < 0)
		s2s_stop(s2s, PALABRED_EXIT_CONFIG);
}

static void s2s_on_frame(struct link *l, const struct frame *f)
{
	struct s2s *s2s = link_data(l);
	switch (f->type) {
	case FRAME_STANZA:
		s2s_route_on_frame(s2s, f);
		break;
	case FRAME_NO_ROUTE:
		log_warn("s2s: no component serves %.*s; a stanza from a "
			 "peer is dropped", (int)f->to_len, f->to);
		break;
	default:
		break;
	}
	arena_reset(&s2s->arena);
}

static void s2s_on_drain(struct link *l)
{
	s2s_send_held(link_data(l));
}

static void s2s_on_link_close(struct link *l)
{
	struct s2s *s2s = link_data(l);
	bool was_ready = s2s->link != NULL;
	s2s->link = NULL;
	if (s2s->finished) {
		uv_stop(s2s->loop);
		return;
	}
	if (was_ready)
		log_error("s2s: lost the link to the router");
	else
		log_error("s2s: cannot connect to the router at %s",
			  s2s->cfg->router_socket);
	s2s_stop(s2s, 1);
	s2s->exit_status = 1;
}

static const struct link_client_callbacks s2s_link_callbacks = {
	.on_ready = s2s_on_ready,
	.on_frame = s2s_on_frame,
	.on_close = s2s_on_link_close,
	.on_drain = s2s_on_drain,
};

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
	uv_check_init(s2s->loop, &s2s->flusher);
	s2s->flusher.data = s2s;
	uv_check_start(&s2s->flusher, s2s_on_check);
	uv_unref((uv_handle_t *)&s2s->flusher);
	uv_timer_init(s2s->loop, &s2s->shutdown_timer);
	s2s->shutdown_timer.data = s2s;
	uv_timer_init(s2s->loop, &s2s->sweep);
	s2s->sweep.data = s2s;
	uv_timer_start(&s2s->sweep, s2s_on_sweep, S2S_SWEEP_MS, S2S_SWEEP_MS);
	uv_unref((uv_handle_t *)&s2s->sweep);
	uv_signal_init(s2s->loop, &s2s->sigterm);
	uv_signal_init(s2s->loop, &s2s->sigint);
	s2s->sigterm.data = s2s->sigint.data = s2s;
	uv_signal_start(&s2s->sigterm, s2s_on_signal, SIGTERM);
	uv_signal_start(&s2s->sigint, s2s_on_signal, SIGINT);
}

int s2s_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct s2s state; /* 64 KiB of read buffer: not on the stack */
	static const char *const binds[] = {"*", NULL};
	struct s2s *s2s = &state;
	char err[512];

	signal(SIGPIPE, SIG_IGN);
	s2s->loop = uv_default_loop();
	s2s->cfg = cfg;
	s2s->sc = &cfg->s2s;
	s2s->name = name;
	s2s_dialback_secret(s2s, secret ? secret : "");
	if (s2s_tls_init(s2s, err, sizeof err) < 0 ||
	    !(s2s->resolver = resolver_new(s2s->loop, s2s->sc->resolver,
					   s2s->sc->resolver_port, err,
					   sizeof err))) {
		log_error("s2s: %s", err);
		return PALABRED_EXIT_CONFIG;
	}
	s2s_init_handles(s2s);
	if (link_client_connect(s2s->loop, cfg->router_socket, name, secret,
				binds, &s2s_link_callbacks, s2s) < 0) {
		log_error("s2s: cannot connect to the router at %s",
			  cfg->router_socket);
		return 1;
	}
	uv_run(s2s->loop, UV_RUN_DEFAULT);
	resolver_free(s2s->resolver);
	s2s_tls_free(s2s);
	arena_reset(&s2s->arena);
	buf_free(&s2s->held);
	log_info("s2s: %s stopped", name);
	return s2s->exit_status;
}
