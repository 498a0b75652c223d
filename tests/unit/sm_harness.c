#include "sm_harness.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../server/sm/userdata.h"

struct sent sent[MAX_SENT];
size_t nsent;
struct sm sm;
struct config cfg;
struct arena test_arena;
uv_loop_t loop;
enum auth_user_status (*account_check)(const struct config *c,
				       const char *domain, const char *local);

static char dir[64], db[128];

/* ------------------------------------------------------------ recorder */

int record_sent(struct sm *s, const struct frame *f)
{
	ck_assert_uint_lt(nsent, MAX_SENT);
	struct sent *r = &sent[nsent++];
	r->type = f->type;
	snprintf(r->to, sizeof r->to, "%.*s", (int)f->to_len, f->to);
	r->conn = f->conn;
	r->payload = strndup(f->payload, f->payload_len);
	return SM_SEND_OK;
}

void clear_sent(void)
{
	for (size_t i = 0; i < nsent; i++)
		free(sent[i].payload);
	nsent = 0;
}

struct xml_node *parse_sent(const struct sent *s)
{
	struct xml_node *x = xml_parse(&test_arena, s->payload,
				       strlen(s->payload), XML_NS_CLIENT);
	ck_assert_ptr_nonnull(x);
	return x;
}

/* ------------------------------------------------------------ the sm */

void config_reset(char **hosts, size_t nhosts, char **modules, size_t nmodules)
{
	char list[512] = "";
	config_kept_free(cfg.sm);
	for (size_t i = 0; i < cfg.ndirectories; i++)
		config_kept_free(cfg.directories[i].kept);
	memset(&cfg, 0, sizeof cfg);
	for (size_t i = 0; i < nhosts; i++)
		cfg.hosts[i].domain = hosts[i];
	cfg.nhosts = nhosts;
	for (size_t i = 0; i < nmodules; i++)
		snprintf(list + strlen(list), sizeof list - strlen(list), "%s ",
			 modules[i]);
	config_set_sm("modules", list);
}

void config_set_sm(const char *name, const char *value)
{
	ck_assert_int_eq(config_keep(&cfg.sm, name, value), 0);
}

void start_sm_recording(void)
{
	ck_assert_int_eq(sm_init(&sm, &cfg, "sm"), 0);
	sm.send = record_sent;
}

/* ------------------------------------------------------------ on storage */

void make_temp_store(const char *name)
{
	snprintf(dir, sizeof dir, "/tmp/palabre-%s-XXXXXX", name);
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(db, sizeof db, "%s/sm.sqlite", dir);
	ck_assert_int_eq(uv_loop_init(&loop), 0);
}

void remove_temp_store(void)
{
	ck_assert_int_eq(uv_loop_close(&loop), 0);
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		char p[160];
		snprintf(p, sizeof p, "%s%s", db, suffixes[i]);
		unlink(p);
	}
	rmdir(dir);
}

void start_sm(void)
{
	char err[256];
	start_sm_recording();
	sm.loop = &loop;
	if (account_check)
		sm.user_exists = account_check;
	sm.storage = storage_open(&loop, db, err, sizeof err);
	ck_assert_msg(sm.storage != NULL, "storage_open: %s", err);
}

void stop_sm(void)
{
	sm_free(&sm); /* closes the storage */
	ck_assert_int_eq(uv_run(&loop, UV_RUN_DEFAULT), 0);
}

void teardown_stored_sm(void)
{
	clear_sent();
	stop_sm();
	remove_temp_store();
	arena_reset(&test_arena);
}

static void on_barrier(void *ctx, enum storage_status status)
{
	*(int *)ctx = 1;
}

/* A barrier (an empty batch completes after every earlier request),
 * until nothing but the barrier itself went through. */
void settle(void)
{
	for (;;) {
		struct storage_stats a, b;
		storage_get_stats(sm.storage, &a);
		int done = 0;
		struct storage_batch *batch = storage_batch_new(sm.storage);
		ck_assert_int_eq(storage_batch_commit(batch, on_barrier, &done),
				 0);
		struct sm_userdata_stats ud;
		sm_userdata_get_stats(&sm, &ud);
		while (!done || ud.works > 0) {
			uv_run(&loop, UV_RUN_ONCE);
			sm_userdata_get_stats(&sm, &ud);
		}
		storage_get_stats(sm.storage, &b);
		if (b.reads == a.reads && b.batches == a.batches + 1 &&
		    ud.held == 0)
			return;
	}
}

static void on_loaded(void *ctx, enum storage_status status,
		      const struct storage_items *items)
{
	struct stored *s = ctx;
	ck_assert_int_eq(status, STORAGE_OK);
	s->count = items->count;
	for (size_t i = 0; i < items->count && i < 16; i++) {
		snprintf(s->keys[i], sizeof s->keys[i], "%s",
			 items->items[i].key);
		snprintf(s->values[i], sizeof s->values[i], "%s",
			 (const char *)items->items[i].value);
	}
	s->done = 1;
}

struct stored *load_stored(const char *user, const char *store_name)
{
	static struct stored s;
	memset(&s, 0, sizeof s);
	ck_assert_int_eq(
		storage_load(sm.storage, user, store_name, on_loaded, &s), 0);
	while (!s.done)
		uv_run(&loop, UV_RUN_ONCE);
	return &s;
}

/* ------------------------------------------------------------ frames in */

void hand_frame(uint8_t type, const char *from, uint64_t conn, const char *to,
		const char *payload)
{
	struct frame f = {.type = type, .conn = conn};
	frame_set_from(&f, from);
	frame_set_to(&f, to);
	f.payload = payload;
	f.payload_len = strlen(payload);
	sm_handle_frame(&sm, &f);
}

void frame_in(uint8_t type, uint64_t conn, const char *payload)
{
	hand_frame(type, "c2s.1", conn, "localhost", payload);
	if (sm.storage)
		settle();
}

void bind_session(uint64_t conn, const char *jid)
{
	frame_in(FRAME_SESSION_START, conn, jid);
}

void client_sends(uint64_t conn, const char *xml)
{
	frame_in(FRAME_STANZA, conn, xml);
}

void available(uint64_t conn, const char *jid, int priority)
{
	char xml[512];
	snprintf(xml, sizeof xml,
		 "<presence from='%s'><priority>%d</priority></presence>", jid,
		 priority);
	client_sends(conn, xml);
}

void available_no_priority(uint64_t conn, const char *jid)
{
	char xml[512];
	snprintf(xml, sizeof xml, "<presence from='%s'/>", jid);
	client_sends(conn, xml);
}
