/* sessions: the sm's table of users and their connected resources.
 *
 * A user (bare JID) exists while at least one of its resources has a
 * session, or while something holds it (refs: a stanza waiting for its
 * data, a load in flight, the cache of recent offline users: see
 * userdata.c). Two indexes: users by bare JID, and sessions by the c2s
 * component name and connection id that frames from c2s carry; and each
 * c2s name's list of its sessions.
 * Budget (ARCHITECTURE.md §9): <= 2 KiB per idle session, roster aside:
 * one struct session, its full JID and its last presence. */
#ifndef PALABRE_SM_SESSIONS_H
#define PALABRE_SM_SESSIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/hash_table.h"
#include "../../lib/jid.h"

/* Per-user slots that modules (roster, blocking …) may fill. */
#define SESSION_USER_SLOTS 8

struct user;
struct caps_entry;

struct session {
	struct user *user;
	struct session *next;       /* the user's next session */
	struct hash_link conn_link; /* in the (c2s, conn) index */
	/* The sessions of one c2s component (its name record's list), to
	 * end them all when it goes without scanning the index. */
	struct session *c2s_prev, *c2s_next;
	const char *c2s;      /* c2s component name, interned */
	uint64_t conn;        /* its connection id */
	char *jid;            /* full JID, prepared */
	const char *resource; /* inside jid */
	char *presence;       /* last available presence (XML) or NULL */
	uint64_t serial;      /* start order: larger is more recent */
	int priority;         /* RFC 6121 §4.7.2.3: -128 .. 127 */
	bool initial_presence_sent;
	/* The client is gone but stanzas it sent still wait for user data
	 * (userdata.c): unavailable, and found by no one's stanza, until its
	 * SESSION_END, which waits behind them, ends it (core.c). */
	bool ending;
	/* RFC 6121 §2.2: an "interested resource" gets roster pushes. */
	bool roster_requested;
	/* XEP-0280 §4: the client enabled Message Carbons (carbons.c). */
	bool carbons;
	/* RFC 6121 §4.6: entities that got directed available presence
	 * from this session and must get its unavailable (presence.c). */
	char **directed;
	size_t ndirected;
	/* caps.c: the XEP-0115 caps of its last available presence. */
	struct caps_entry *caps;
};

struct user {
	char *jid;             /* bare JID, prepared */
	struct hash_link link; /* in the index of users */
	struct session *sessions;
	void *slots[SESSION_USER_SLOTS];
	/* userdata.c: loading the slots and the account check. */
	unsigned refs;          /* held while > 0, even without sessions */
	unsigned loads_pending; /* stores and account check in flight */
	bool loaded;            /* slots filled, account checked */
	bool account_exists;    /* checked, or known: a session starts */
	bool cached;            /* in userdata's cache of offline users */
	struct user *cache_prev, *cache_next;
	/* userdata.c: the frames from this user (or remote JID) waiting
	 * for other users' data, or NULL; and the first frames of other
	 * sources' queues that wait for this user's load. */
	struct sm_source *source;
	struct sm_held *waiting;
};

struct sm_session_name; /* an interned component name */

struct sm_session_table {
	struct hash_table users; /* by bare JID */
	struct hash_table conns; /* sessions, by (c2s, conn) */
	struct sm_session_name *names;
	uint64_t serial;
	void (*slot_free[SESSION_USER_SLOTS])(void *);
	unsigned nslots;
};

/* Returns 0, or -1 when memory is exhausted. */
int sm_session_table_init(struct sm_session_table *t);
/* Frees every session and user, without any notification. */
void sm_session_table_free(struct sm_session_table *t);

/* A module asks for a per-user slot; free_fn (may be NULL) is called on
 * a non-NULL slot when its user goes away. Returns the slot, or -1. */
int sm_session_slot_register(struct sm_session_table *t,
			     void (*free_fn)(void *));

struct user *sm_session_user_find(const struct sm_session_table *t,
				  const char *bare);
/* Finds or creates the user of bare (created unloaded, with no
 * sessions: hold it with refs). NULL when memory is exhausted. */
struct user *sm_session_user_get(struct sm_session_table *t, const char *bare);
/* Frees u if nothing keeps it any more (no session, refs 0). */
void sm_session_user_drop_unused(struct sm_session_table *t, struct user *u);
/* u's session of resource, not one that is ending. */
struct session *sm_session_find(const struct user *u, const char *resource);
struct session *sm_session_find_conn(const struct sm_session_table *t,
				     const char *c2s, size_t c2s_len,
				     uint64_t conn);
/* Whether some session is reached through component c2s. */
bool sm_session_known_component(const struct sm_session_table *t,
				const char *name, size_t len);

/* Creates the session of full JID j (the caller has checked that the
 * resource is free). NULL when memory is exhausted. */
struct session *sm_session_add(struct sm_session_table *t, const struct jid *j,
			       const char *c2s, size_t c2s_len, uint64_t conn);
/* Frees s, and its user when it was the last session and nothing holds
 * the user. */
void sm_session_remove(struct sm_session_table *t, struct session *s);

/* The session is available once it sent available presence. */
static inline bool sm_session_available(const struct session *s)
{
	return s->presence != NULL;
}
/* Stores the last available presence (copied), or with xml NULL makes
 * the session unavailable. Returns 0 or -1 (memory). */
int sm_session_set_presence(struct session *s, const char *xml, size_t len,
			    int priority);

/* The first session reached through component name, or NULL: end them
 * one by one when that component goes away. O(number of c2s names). */
struct session *sm_session_first_of_component(const struct sm_session_table *t,
					      const char *name, size_t len);

#endif
