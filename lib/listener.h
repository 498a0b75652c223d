/* listener: the TCP ports a process serves (c2s: 5222, 5223; s2s: 5269).
 * Each process opens its own sockets with SO_REUSEPORT (lib/net.h), and
 * the kernel spreads connections among the processes sharing a port. */
#ifndef PALABRE_LISTENER_H
#define PALABRE_LISTENER_H

#include <stddef.h>
#include <uv.h>

#include "config.h"

struct listener;
/* A connection waits on l: accept it (netconn_accept) or drop it. */
typedef void (*listener_accept_fn)(struct listener *l);

struct listener {
	uv_tcp_t tcp;
	const struct config_listener *cfg;
	const char *who; /* the process, in logs: "c2s" */
	listener_accept_fn on_accept;
	void *data;
};

struct listeners {
	struct listener l[CONFIG_MAX_LISTENERS];
	size_t n; /* initialised handles, closed by listeners_close */
};

/* Opens a listener for each of cfg[0..n), with backlog; what arrives
 * goes to on_accept with l->data = data. who names the process in logs.
 * Returns 0, or -1 (logged) when a port cannot be had. */
int listeners_open(struct listeners *ls, uv_loop_t *loop, const char *who,
		   const struct config_listener *cfg, size_t n, int backlog,
		   listener_accept_fn on_accept, void *data);
void listeners_close(struct listeners *ls);
/* Takes the waiting connection off the queue and closes it (when there
 * is no memory for it): else libuv would call on_accept again at once. */
void listener_drop(struct listener *l);

#endif
