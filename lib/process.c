/* process: the skeleton of a component that serves connections (see
 * process.h). */
#include "process.h"

#include <signal.h>
#include <stddef.h>
#include <string.h>

#include "log.h"

/* How long the router has to take our last frames once we close the
 * link; past it, the loop stops anyway. */
#define PROCESS_LINK_CLOSE_MS 1000

void process_init(struct process *p, const char *kind, const char *name,
		  const struct process_ops *ops)
{
	signal(SIGPIPE, SIG_IGN);
	p->loop = uv_default_loop();
	p->kind = kind;
	p->name = name;
	p->ops = ops;
}

static void process_stop_loop(uv_timer_t *t)
{
	uv_stop(t->loop);
}

static void process_finish(struct process *p)
{
	if (p->finished)
		return;
	p->finished = true;
	if (p->ops->release)
		p->ops->release(p);
	if (!p->link) {
		uv_stop(p->loop);
		return;
	}
	/* What the closed streams sent goes out first, then the link's
	 * on_close stops the loop; the timer if the router hangs. */
	link_close(p->link);
	uv_timer_start(&p->link_timer, process_stop_loop, PROCESS_LINK_CLOSE_MS,
		       0);
}

static void process_on_stopped(struct netconn_set *set)
{
	process_finish((struct process *)((char *)set -
					  offsetof(struct process, conns)));
}

void process_stop(struct process *p, int status)
{
	if (p->stopping)
		return;
	p->stopping = true;
	p->exit_status = status;
	listeners_close(&p->listeners);
	if (p->ops->release)
		p->ops->release(p);
	netconn_set_stop(&p->conns, process_on_stopped);
}

static void process_on_signal(uv_signal_t *s, int signum)
{
	struct process *p = s->data;
	log_info("%s: %s, stopping", p->kind, strsignal(signum));
	process_stop(p, 0);
}

/* ------------------------------------------------------------------ */
/* The link to the router */

static void process_on_ready(struct link *l)
{
	struct process *p = link_data(l);
	p->link = l;
	p->ops->ready(p);
}

static void process_on_frame(struct link *l, const struct frame *f)
{
	struct process *p = link_data(l);
	p->ops->frame(p, f);
}

static void process_on_drain(struct link *l)
{
	struct process *p = link_data(l);
	p->ops->drain(p);
}

static void process_on_link_close(struct link *l)
{
	struct process *p = link_data(l);
	bool was_ready = p->link != NULL;
	p->link = NULL;
	if (p->finished) {
		uv_stop(p->loop);
		return;
	}
	if (was_ready)
		log_error("%s: lost the link to the router; closing every "
			  "connection",
			  p->kind);
	else
		log_error("%s: cannot connect to the router at %s", p->kind,
			  p->router_socket);
	process_stop(p, 1);
	p->exit_status = 1;
}

static const struct link_client_callbacks process_link_callbacks = {
	.on_ready = process_on_ready,
	.on_frame = process_on_frame,
	.on_close = process_on_link_close,
	.on_drain = process_on_drain,
};

static void process_init_handles(struct process *p)
{
	uv_timer_init(p->loop, &p->link_timer);
	uv_signal_init(p->loop, &p->sigterm);
	uv_signal_init(p->loop, &p->sigint);
	p->sigterm.data = p->sigint.data = p;
	uv_signal_start(&p->sigterm, process_on_signal, SIGTERM);
	uv_signal_start(&p->sigint, process_on_signal, SIGINT);
}

int process_run(struct process *p, const char *router_socket,
		const char *secret, const char *const *binds)
{
	p->router_socket = router_socket;
	process_init_handles(p);
	if (link_client_connect(p->loop, router_socket, p->name, secret, binds,
				&process_link_callbacks, p) < 0) {
		log_error("%s: cannot connect to the router at %s", p->kind,
			  router_socket);
		return 1;
	}
	uv_run(p->loop, UV_RUN_DEFAULT);
	log_info("%s: %s stopped", p->kind, p->name);
	return p->exit_status;
}
