/* muc.c: the rooms' process: a libuv loop, its storage (muc.sqlite:
 * the persistent rooms, room_store.c, and the archive, muc_archive.c),
 * the link to the router (binding every service name once the stored
 * rooms are loaded, so that no stanza finds a room missing), and
 * signals. The rooms are service.c's and the files it leads to (muc.h
 * draws the way). */
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "../../lib/heap_trim.h"
#include "../../lib/link.h"
#include "../../lib/log.h"
#include "../../storage/storage.h"
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

/* The storage, opened as the sm opens its own: a database that cannot
 * be opened, or is newer than this palabre, stays so across restarts. */
static int muc_open_storage(struct muc *muc)
{
	char *db = config_data_path(muc->cfg, "muc.sqlite");
	char err[256] = "muc.sqlite: out of memory";
	if (db)
		muc->storage = storage_open(muc->loop, db, err, sizeof err);
	free(db);
	if (!muc->storage) {
		log_error("muc: cannot open the storage: %s", err);
		return -1;
	}
	return 0;
}

static void muc_connect(struct muc *muc, bool loaded)
{
	static const struct link_client_callbacks cb = {
		.on_ready = on_ready,
		.on_frame = on_frame,
		.on_close = on_close,
		.on_drain = on_drain,
	};
	const struct config *cfg = muc->cfg;
	const char *binds[CONFIG_MAX_MUC_SERVICES + 1];
	for (size_t i = 0; i < cfg->muc.nservices; i++)
		binds[i] = cfg->muc.services[i];
	binds[cfg->muc.nservices] = NULL;
	if (!loaded) {
		log_error("muc: the stored rooms could not be read");
		muc->exit_status = 1;
		uv_stop(muc->loop);
	} else if (muc->stopping) {
		uv_stop(muc->loop);
	} else if (link_client_connect(muc->loop, cfg->router_socket, muc->name,
				       muc->secret, binds, &cb, muc) < 0) {
		log_error("muc: cannot connect to the router at %s",
			  cfg->router_socket);
		muc->exit_status = 1;
		uv_stop(muc->loop);
	}
}

static void muc_free(struct muc *muc)
{
	/* The storage's last completions run before the rooms go. */
	if (muc->storage)
		storage_close(muc->storage);
	muc_archive_stop(muc);
	muc_rooms_free(muc);
	muc_occupant_id_free(muc);
	arena_reset(&muc->arena);
	buf_free(&muc->out);
	buf_free(&muc->addressed);
	buf_free(&muc->with_jid);
	buf_free(&muc->without_jid);
	muc_fanout_free(muc);
	buf_free(&muc->backlog);
}

/* What went through the router link, for heap_trim. */
static uint64_t muc_traffic(void *ctx)
{
	static uint64_t seen;
	struct muc *muc = ctx;
	struct link_stats st;
	if (muc->link) {
		link_get_stats(muc->link, &st);
		seen = st.bytes_in + st.bytes_out;
	}
	return seen;
}

int muc_main(const struct config *cfg, const char *name, const char *secret)
{
	static struct heap_trim trim;
	static struct muc muc; /* keep it off the stack */
	uv_loop_t loop;
	uv_signal_t sigterm, sigint;
	if (uv_loop_init(&loop) < 0)
		return 1;
	memset(&muc, 0, sizeof muc);
	muc.cfg = cfg;
	muc.name = name;
	muc.secret = secret;
	muc.loop = &loop;
	muc_rooms_init(&muc);
	if (muc_open_storage(&muc) < 0) {
		muc_free(&muc);
		uv_loop_close(&loop);
		return PALABRED_EXIT_CONFIG;
	}

	uv_signal_init(&loop, &sigterm);
	uv_signal_init(&loop, &sigint);
	sigterm.data = sigint.data = &muc;
	uv_signal_start(&sigterm, on_signal, SIGTERM);
	uv_signal_start(&sigint, on_signal, SIGINT);

	if (muc_occupant_id_init(&muc) < 0) {
		muc.exit_status = 1;
	} else if (muc_archive_start(&muc) < 0) {
		log_error("muc: out of memory");
		muc.exit_status = 1;
	} else {
		muc_rooms_load(&muc, muc_connect);
		heap_trim_start(&trim, &loop, muc_traffic, &muc);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	int status = muc.exit_status;
	muc_free(&muc);
	uv_walk(&loop, close_handle, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	return status;
}
