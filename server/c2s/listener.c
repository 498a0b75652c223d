/* listener: the client ports. Each c2s process opens its own sockets
 * with SO_REUSEPORT, and the kernel spreads connections among them. */
#include "../../lib/log.h"
#include "../../lib/net.h"
#include "c2s.h"

static void listener_on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	if (status < 0) {
		log_warn("c2s: accept on port %d: %s", l->cfg->port, uv_strerror(status));
		return;
	}
	c2s_conn_accept(l);
}

static int listener_open(struct c2s *c2s, struct listener *l,
			 const struct config_listener *lc)
{
	char err[256];
	int fd = net_bound_socket(lc->address, lc->port, err, sizeof err);
	if (fd < 0) {
		log_error("c2s: %s", err);
		return -1;
	}
	l->c2s = c2s;
	l->cfg = lc;
	uv_tcp_init(c2s->loop, &l->tcp);
	l->tcp.data = l;
	int r = uv_tcp_open(&l->tcp, fd);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, 1024, listener_on_connection);
	c2s->nlisteners++; /* the handle is initialised: close it later */
	if (r < 0) {
		log_error("c2s: cannot listen on %s port %d: %s", lc->address,
			  lc->port, uv_strerror(r));
		return -1;
	}
	log_info("c2s: listening on %s port %d%s", lc->address, lc->port,
		 lc->direct_tls ? " (direct TLS)" : " (STARTTLS)");
	return 0;
}

int c2s_listener_start_all(struct c2s *c2s)
{
	const struct config *cfg = c2s->cfg;
	for (size_t i = 0; i < cfg->nlisteners && i < CONFIG_MAX_LISTENERS; i++)
		if (listener_open(c2s, &c2s->listeners[c2s->nlisteners],
				  &cfg->listeners[i]) < 0)
			return -1;
	return 0;
}

void c2s_listener_close_all(struct c2s *c2s)
{
	for (size_t i = 0; i < c2s->nlisteners; i++)
		uv_close((uv_handle_t *)&c2s->listeners[i].tcp, NULL);
	c2s->nlisteners = 0;
}
