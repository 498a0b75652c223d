/* fuzz_sm: the session manager (server/sm/) fed arbitrary frames, as the
 * router would hand them from c2s, s2s and the router itself, with every
 * module on, no storage (users load empty, at once) and an account check
 * on libuv's worker pool that says "no such user" for local parts
 * beginning with "nobody" and fails for "broken" (as a directory may).
 *
 * Input: one byte of configuration (bit 0: a new session replaces one on
 * the same resource), then records separated by 0xff bytes (a byte that
 * UTF-8 never uses): a type byte (0 runs the loop until the account
 * checks and the frames held for them are done; else 1 + type % 12), a
 * byte choosing the sender, one the destination, the c2s connection
 * (0-3), the flags, then the payload. Properties: every frame the sm
 * sends can be encoded, every stanza it sends parses as XML, and a
 * SESSION_OK names a full JID. */
#include <string.h>

#include "../../lib/jid.h"
#include "../../lib/xml.h"
#include "../../server/sm/sm.h"
#include "../../server/sm/userdata.h"
#include "fuzz.h"

#define SEPARATOR 0xff

static const char *const senders[] = {"c2s.1", "c2s.2", "s2s", "router"};
static const char *const destinations[] = {
	"localhost", "example.org", "remote.example", "c2s.1", "sm", ""};
static char *hosts[] = {"localhost", "example.org"};
static const char modules[] =
	"disco ping offline blocking roster presence vcard caps pep private "
	"carbons last version time contacts extdisco mam bookmarks "
	"avatar_convert";

static struct config cfg;
static struct sm sm;
static uv_loop_t loop;
static struct arena arena;

static enum auth_user_status
account_check(const struct config *c, const char *domain, const char *local)
{
	if (strncmp(local, "nobody", 6) == 0)
		return AUTH_USER_UNKNOWN;
	if (strncmp(local, "broken", 6) == 0)
		return AUTH_USER_ERROR;
	return AUTH_USER_EXISTS;
}

/* The sm's send function: checks what it sends. */
static int check_sent(struct sm *s, const struct frame *f)
{
	struct buf b = BUF_INIT;
	FUZZ_CHECK(frame_encode(&b, f) == 0, "a frame that cannot be encoded");
	buf_free(&b);
	if (f->type == FRAME_STANZA)
		FUZZ_CHECK(xml_parse(&arena, f->payload, f->payload_len,
				     XML_NS_CLIENT) != NULL,
			   "sent a stanza that does not parse: %.*s",
			   (int)f->payload_len, f->payload);
	if (f->type == FRAME_SESSION_OK) {
		struct jid j;
		FUZZ_CHECK(jid_parse(&j, f->payload, f->payload_len) == 0 &&
				   j.local[0] && j.resource[0],
			   "SESSION_OK for '%.*s'", (int)f->payload_len,
			   f->payload);
	}
	arena_reset(&arena);
	return SM_SEND_OK;
}

/* Runs the loop until the account checks and the held frames are done. */
static void settle(void)
{
	struct sm_userdata_stats st;
	sm_userdata_get_stats(&sm, &st);
	while (st.works > 0 || st.held > 0) {
		uv_run(&loop, UV_RUN_ONCE);
		sm_userdata_get_stats(&sm, &st);
	}
}

static void hand_record(const uint8_t *r, size_t len)
{
	if (len < 5)
		return;
	if (r[0] == 0) {
		settle();
		return;
	}
	struct frame f = {.type = (uint8_t)(1 + r[0] % 12),
			  .conn = r[3] % 4,
			  .flags = r[4]};
	frame_set_from(&f, senders[r[1] % 4]);
	frame_set_to(&f, destinations[r[2] % 6]);
	f.payload = (const char *)r + 5;
	f.payload_len = len - 5;
	sm_handle_frame(&sm, &f);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	FUZZ_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
	for (size_t i = 0; i < 2; i++)
		cfg.hosts[i].domain = hosts[i];
	cfg.nhosts = 2;
	FUZZ_CHECK(config_keep(&cfg.sm, "modules", modules) == 0,
		   "config_keep");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	cfg.resource_conflict_replace = data[0] & 1;
	FUZZ_CHECK(sm_init(&sm, &cfg, "sm") == 0, "sm_init");
	sm.send = check_sent;
	sm.loop = &loop;
	sm.user_exists = account_check;
	const uint8_t *p = data + 1, *end = data + size;
	while (p < end) {
		const uint8_t *sep = memchr(p, SEPARATOR, (size_t)(end - p));
		size_t len = (size_t)((sep ? sep : end) - p);
		hand_record(p, len);
		p += len + (sep != NULL);
	}
	settle();
	sm_free(&sm);
	uv_run(&loop, UV_RUN_DEFAULT);
	return 0;
}
