/* listener: the server-to-server ports (5269, and direct TLS where
 * configured, XEP-0368). */
#include "../../lib/log.h"
#include "../../lib/net.h"
#include "s2s.h"

static void listener_on_connection(uv_stream_t *server, int status)
{
	struct s2s_listener *l = server->data;
	if (status < 0) {
		log_warn("s2s: accept on port %d: %s", l->cfg->port,
			 uv_strerror(status));
		return;
	}
	s2s_conn_accept(l);
}

static int listener_open(struct s2s *s2s, struct s2s_listener *l,
			 const struct config_listener *lc)
{
	char err[256];
	int fd = net_bound_socket(lc->address, lc->port, err, sizeof err);
	if (fd < 0) {
		log_error("s2s: %s", err);
		return -1;
	}
	l->s2s = s2s;
	l->cfg = lc;
	uv_tcp_init(s2s->loop, &l->tcp);
	l->tcp.data = l;
	int r = uv_tcp_open(&l->tcp, fd);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, 511, listener_on_connection);
	s2s->nlisteners++; /* the handle is initialised: close it later */
	if (r < 0) {
		log_error("s2s: cannot listen on %s port %d: %s", lc->address,
			  lc->port, uv_strerror(r));
		return -1;
	}
	log_info("s2s: listening on %s port %d%s", lc->address, lc->port,
		 lc->direct_tls ? " (direct TLS)" : " (STARTTLS)");
	return 0;
}

int s2s_listener_start_all(struct s2s *s2s)
{
	const struct config_s2s *sc = s2s->sc;
	for (size_t i = 0; i < sc->nlisteners; i++)
		if (listener_open(s2s, &s2s->listeners[s2s->nlisteners],
				  &sc->listeners[i]) < 0)
			return -1;
	return 0;
}

void s2s_listener_close_all(struct s2s *s2s)
{
	for (size_t i = 0; i < s2s->nlisteners; i++)
		uv_close((uv_handle_t *)&s2s->listeners[i].tcp, NULL);
	s2s->nlisteners = 0;
}
