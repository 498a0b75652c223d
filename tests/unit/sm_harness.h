/* The sm unit tests' harness: a struct sm whose send function records
 * the frames into sent[], fed with frames as the router would hand them
 * from c2s; for the tests on a real storage, an SQLite file in a
 * temporary directory, a uv loop and settle(), which runs that loop
 * until the storage and userdata are quiet.
 *
 * One sm per test process: the tests' fixtures start it, the tests
 * read sent[], nsent and sm directly. */
#ifndef PALABRE_TESTS_SM_HARNESS_H
#define PALABRE_TESTS_SM_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/xml.h"
#include "../../server/sm/sm.h"

/* ------------------------------------------------------------ recorder */

struct sent {
	uint8_t type;
	char to[256];
	uint64_t conn;
	char *payload;
};

#define MAX_SENT 512
extern struct sent sent[MAX_SENT];
extern size_t nsent;

/* An sm send function: appends f to sent[]; always SM_SEND_OK. */
int record_sent(struct sm *s, const struct frame *f);
void clear_sent(void);

/* sent->payload parsed in test_arena (jabber:client); asserts it parses. */
struct xml_node *parse_sent(const struct sent *s);

/* ------------------------------------------------------------ the sm */

extern struct sm sm;
extern struct config cfg;
extern struct arena test_arena;

/* cfg anew, all zero but the hosts served and the modules on. */
void config_reset(char **hosts, size_t nhosts, char **modules, size_t nmodules);
/* <sm><name>value</name></sm> added to cfg (a module's option, or the
 * modules on): the last given counts. */
void config_set_sm(const char *name, const char *value);

/* sm_init on cfg, sending into record_sent. */
void start_sm_recording(void);

/* ------------------------------------------------------------ on storage */

extern uv_loop_t loop;

/* If set, start_sm() gives the sm this account check instead of auth's. */
extern enum auth_user_status (*account_check)(const struct config *c,
					      const char *domain,
					      const char *local);

/* A new directory /tmp/palabre-<name>-XXXXXX for the database, and the
 * loop. */
void make_temp_store(const char *name);
/* Closes the loop, removes the database and the directory. */
void remove_temp_store(void);

/* start_sm_recording, on the loop and the storage in the temporary
 * directory (kept across a stop_sm and start_sm: a restart). */
void start_sm(void);
/* Frees the sm (closing the storage) and runs the loop till it is done. */
void stop_sm(void);

/* The fixture teardown of the tests on storage: clears sent[], stops the
 * sm, removes the temporary store and resets test_arena. */
void teardown_stored_sm(void);

/* Runs the loop until the storage, the account checks and the held
 * frames are quiet. */
void settle(void);

/* One store of a user, as it is on disk: its first 16 items. */
struct stored {
	int done;
	size_t count;
	char keys[16][256];
	char values[16][1024];
};

/* Loads store_name of user; the result stays until the next load. */
struct stored *load_stored(const char *user, const char *store_name);

/* ------------------------------------------------------------ frames in */

/* Hands the sm a frame from `from` to `to`, the payload a string. */
void hand_frame(uint8_t type, const char *from, uint64_t conn, const char *to,
		const char *payload);

/* A frame from c2s.1 to localhost; with a storage, settles after it. */
void frame_in(uint8_t type, uint64_t conn, const char *payload);

/* A client bound on c2s.1 connection conn. */
void bind_session(uint64_t conn, const char *jid);

/* A stanza from the client on conn; `from` is stamped as c2s would. */
void client_sends(uint64_t conn, const char *xml);

/* Available presence from the client on conn, with a priority... */
void available(uint64_t conn, const char *jid, int priority);
/* ... or with none. */
void available_no_priority(uint64_t conn, const char *jid);

#endif
