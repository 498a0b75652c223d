/* muc.c: the rooms' process: a libuv loop, the link to the router
 * (binding every service name), and signals. The rooms are service.c's
 * and the files it leads to (muc.h draws the way). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../../lib/link.h"
#include "../../lib/log.h"
#include "../palabred.h"
#include "muc.h"

static void on_ready(struct link *l)
{
	struct muc *muc = link_data(l);
	muc->link = l;
	log_info("muc: linked to the router as '%s', serving %zu "
		 "service(s)",
		 muc->name, muc->cfg->muc.nservices);
}

static void on_frame(struct link *l, const struct frame *f)
{
	struct muc *muc = link_data(l);
	muc->link = l;
	muc_handle_frame(muc, f);
	arena_reset(&muc->arena);
}

static void on_close(struct link *l)
{
	struct muc *muc = link_data(l);
	muc->link = NULL;
	if (!muc->stopping) {
		log_error("muc: lost the link to the router");
		muc->exit_status = 1;
	}
	uv_stop(muc->loop);
}

static void on_drain(struct link *l)
{
	muc_send_drained(link_data(l));
}

static void on_signal(uv_signal_t *h, int signum)
{
	struct muc *muc = h->data;
	if (muc->stopping)
		return;
	log_info("muc: signal %d, stopping", signum);
	muc->stopping = true;
	if (muc->link)
		link_close(muc->link); /* flushes; on_close stops the loop */
	else
		uv_stop(muc->loop);
}

static void close_handle(uv_handle_t *h, void *arg)
{
	if (!uv_is_closing(h))
		uv_close(h, NULL);
}

int muc_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct muc muc; /* keep it off the stack */
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	if (uv_loop_init(&loop) < 0)
		return 1;
	memset(&muc, 0, sizeof muc);
	muc.cfg = cfg;
	muc.name = name;
	muc.loop = &loop;
	muc_rooms_init(&muc);

	uv_signal_init(&loop, &sigterm);
	uv_signal_init(&loop, &sigint);
	sigterm.data = sigint.data = &muc;
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);

	const char *binds[CONFIG_MAX_MUC_SERVICES + 1];
	for (size_t i = 0; i < cfg->muc.nservices; i++)
		binds[i] = cfg->muc.services[i];
	binds[cfg->muc.nservices] = NULL;
	static const struct link_client_callbacks cb = {
		.on_ready = on_ready,
		.on_frame = on_frame,
		.on_close = on_close,
		.on_drain = on_drain,
	};
	if (muc_occupant_id_init(&muc) < 0) {
		muc.exit_status = 1;
	} else if (link_client_connect(&loop, cfg->router_socket, name, secret,
				       binds, &cb, &muc) < 0) {
		log_error("muc: cannot connect to the router at %s",
			  cfg->router_socket);
		muc.exit_status = 1;
	} else {
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	int status = muc.exit_status;
	muc_rooms_free(&muc);
	muc_occupant_id_free(&muc);
	arena_reset(&muc.arena);
	buf_free(&muc.out);
	buf_free(&muc.addressed);
	buf_free(&muc.with_jid);
	buf_free(&muc.without_jid);
	buf_free(&muc.backlog);
	uv_walk(&loop, close_handle, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return status;
}
