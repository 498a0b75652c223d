/* listener: the TCP ports a process serves (see listener.h). */
#include "listener.h"

#include <stdlib.h>

#include "log.h"
#include "net.h"

static void listener_on_connection(uv_stream_t *server, int status)
{
	struct listener *l = server->data;
	if (status < 0) {
		log_warn("%s: accept on port %d: %s", l->who, l->cfg->port,
			 uv_strerror(status));
		return;
	}
	l->on_accept(l);
}

static int listener_open(struct listeners *ls, uv_loop_t *loop, const char *who,
			 const struct config_listener *lc, int backlog)
{
	struct listener *l = &ls->l[ls->n];
	char err[256];
	int fd = net_bound_socket(lc->address, lc->port, err, sizeof err);
	if (fd < 0) {
		log_error("%s: %s", who, err);
		return -1;
	}
	l->cfg = lc;
	l->who = who;
	uv_tcp_init(loop, &l->tcp);
	l->tcp.data = l;
	int r = uv_tcp_open(&l->tcp, fd);
	if (r == 0)
		r = uv_listen((uv_stream_t *)&l->tcp, backlog,
			      listener_on_connection);
	ls->n++; /* the handle is initialised: close it later */
	if (r < 0) {
		log_error("%s: cannot listen on %s port %d: %s", who,
			  lc->address, lc->port, uv_strerror(r));
		return -1;
	}
	log_info("%s: listening on %s port %d%s", who, lc->address, lc->port,
		 lc->direct_tls ? " (direct TLS)" : " (STARTTLS)");
	return 0;
}

int listeners_open(struct listeners *ls, uv_loop_t *loop, const char *who,
		   const struct config_listener *cfg, size_t n, int backlog,
		   listener_accept_fn on_accept, void *data)
{
	for (size_t i = 0; i < n && i < CONFIG_MAX_LISTENERS; i++) {
		ls->l[ls->n].on_accept = on_accept;
		ls->l[ls->n].data = data;
		if (listener_open(ls, loop, who, &cfg[i], backlog) < 0)
			return -1;
	}
	return 0;
}

void listeners_close(struct listeners *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		uv_close((uv_handle_t *)&ls->l[i].tcp, NULL);
	ls->n = 0;
}

void listener_drop(struct listener *l)
{
	uv_tcp_t *t = malloc(sizeof *t);
	if (t && uv_tcp_init(l->tcp.loop, t) == 0) {
		uv_accept((uv_stream_t *)&l->tcp, (uv_stream_t *)t);
		uv_close((uv_handle_t *)t, (uv_close_cb)free);
	} else {
		free(t);
	}
}
