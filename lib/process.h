/* process: the skeleton of a component that serves connections (c2s,
 * s2s): its loop, SIGTERM and SIGINT, the link to the router, its ports
 * and connections, and a graceful stop. Stopping closes the ports, ends
 * every stream with system-shutdown (netconn_set_stop) and, once they are
 * gone or NETCONN_STOP_TIMEOUT_MS has passed, closes the link: what the
 * streams sent last (c2s's SESSION_END) reaches the router first. */
#ifndef PALABRE_PROCESS_H
#define PALABRE_PROCESS_H

#include <stdbool.h>
#include <uv.h>

#include "frame.h"
#include "link.h"
#include "listener.h"
#include "netconn.h"

struct process;

struct process_ops {
	/* The link to the router is up: open the ports (or process_stop). */
	void (*ready)(struct process *p);
	void (*frame)(struct process *p, const struct frame *f);
	/* The link has room again after it was full. */
	void (*drain)(struct process *p);
	/* Optional: lets go of what waits for connections (s2s: its
	 * routes), when stopping begins and again before the link closes. */
	void (*release)(struct process *p);
};

struct process {
	uv_loop_t *loop;
	const char *kind; /* in logs: "c2s" */
	const char *name; /* on the router: "c2s.1" */
	const char *router_socket;
	const struct process_ops *ops;
	struct link *link; /* NULL until ready, and once lost */
	struct netconn_set conns;
	struct listeners listeners;
	uv_signal_t sigterm, sigint;
	uv_timer_t link_timer; /* the router's time to take our last frames */
	bool stopping;
	bool finished;
	int exit_status;
};

/* On the default loop; ignores SIGPIPE (a peer gone is a write error).
 * The caller sets up p->conns (netconn_set_init) before process_run. */
void process_init(struct process *p, const char *kind, const char *name,
		  const struct process_ops *ops);
/* Connects to the router, binding binds (NULL-terminated), and runs
 * until the process stops. Returns the exit status: 0 after SIGTERM or
 * SIGINT, 1 when the link is lost or cannot be made, else what
 * process_stop was given. */
int process_run(struct process *p, const char *router_socket,
		const char *secret, const char *const *binds);
/* Starts the graceful stop (once); status is the exit status. */
void process_stop(struct process *p, int status);

#endif
