/* sessions: the table of users and sessions (see sessions.h). */
#include "sessions.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define INITIAL_BUCKETS 64

/* The c2s component names seen so far: a handful, kept for the process's
 * life so that every session points at one copy, with the list of the
 * sessions each one carries. */
struct sm_session_name {
	struct sm_session_name *next;
	struct session *sessions; /* through c2s_next */
	size_t len;
	char name[];
};

/* The record of an interned name (session->c2s points into it). */
static struct sm_session_name *name_record(const char *interned)
{
	return (struct sm_session_name
			*)(void *)(interned -
				   offsetof(struct sm_session_name, name));
}

static struct user *user_of(const struct hash_link *l)
{
	return hash_entry(l, struct user, link);
}

static struct session *session_of_conn(const struct hash_link *l)
{
	return hash_entry(l, struct session, conn_link);
}

static uint64_t hash_conn(const char *c2s, size_t len, uint64_t conn)
{
	return hash_bytes_from(hash_bytes(c2s, len), &conn, sizeof conn);
}

static uint64_t user_hash(const struct hash_link *l)
{
	return hash_string(user_of(l)->jid);
}

static uint64_t session_conn_hash(const struct hash_link *l)
{
	const struct session *s = session_of_conn(l);
	return hash_conn(s->c2s, name_record(s->c2s)->len, s->conn);
}

int sm_session_table_init(struct sm_session_table *t)
{
	memset(t, 0, sizeof *t);
	hash_table_init(&t->users, user_hash, INITIAL_BUCKETS);
	hash_table_init(&t->conns, session_conn_hash, INITIAL_BUCKETS);
	return 0;
}

static void user_free(struct sm_session_table *t, struct user *u)
{
	for (unsigned i = 0; i < t->nslots; i++)
		if (u->slots[i] && t->slot_free[i])
			t->slot_free[i](u->slots[i]);
	free(u->jid);
	free(u);
}

static void session_free(struct session *s)
{
	for (size_t i = 0; i < s->ndirected; i++)
		free(s->directed[i]);
	free(s->directed);
	free(s->jid);
	free(s->presence);
	free(s);
}

void sm_session_table_free(struct sm_session_table *t)
{
	struct hash_link *l, *next_user;
	hash_table_for_each(&t->users, l, next_user)
	{
		struct user *u = user_of(l);
		struct session *s = u->sessions;
		while (s) {
			struct session *next = s->next;
			session_free(s);
			s = next;
		}
		user_free(t, u);
	}
	while (t->names) {
		struct sm_session_name *n = t->names->next;
		free(t->names);
		t->names = n;
	}
	hash_table_free(&t->users);
	hash_table_free(&t->conns);
	memset(t, 0, sizeof *t);
}

int sm_session_slot_register(struct sm_session_table *t,
			     void (*free_fn)(void *))
{
	if (t->nslots == SESSION_USER_SLOTS)
		return -1;
	t->slot_free[t->nslots] = free_fn;
	return (int)t->nslots++;
}

/* ------------------------------------------------------------ lookups */

static bool user_match(const struct hash_link *l, const void *bare)
{
	return strcmp(user_of(l)->jid, bare) == 0;
}

static struct user *user_find(const struct sm_session_table *t,
			      const char *bare, uint64_t hash)
{
	struct hash_link *l =
		hash_table_find(&t->users, hash, user_match, bare);
	return l ? user_of(l) : NULL;
}

struct user *sm_session_user_find(const struct sm_session_table *t,
				  const char *bare)
{
	return user_find(t, bare, hash_string(bare));
}

struct session *sm_session_find(const struct user *u, const char *resource)
{
	if (!u)
		return NULL;
	struct session *s = u->sessions;
	while (s && (s->ending || strcmp(s->resource, resource) != 0))
		s = s->next;
	return s;
}

static bool name_is(const struct sm_session_name *n, const char *s, size_t len)
{
	return n->len == len && memcmp(n->name, s, len) == 0;
}

/* A (c2s name, connection id), as session_conn_match's key. */
struct session_conn_key {
	const char *c2s;
	size_t len;
	uint64_t conn;
};

static bool session_conn_match(const struct hash_link *l, const void *key)
{
	const struct session *s = session_of_conn(l);
	const struct session_conn_key *k = key;
	return s->conn == k->conn &&
	       name_is(name_record(s->c2s), k->c2s, k->len);
}

struct session *sm_session_find_conn(const struct sm_session_table *t,
				     const char *c2s, size_t c2s_len,
				     uint64_t conn)
{
	struct session_conn_key key = {c2s, c2s_len, conn};
	struct hash_link *l =
		hash_table_find(&t->conns, hash_conn(c2s, c2s_len, conn),
				session_conn_match, &key);
	return l ? session_of_conn(l) : NULL;
}

bool sm_session_known_component(const struct sm_session_table *t,
				const char *name, size_t len)
{
	for (const struct sm_session_name *n = t->names; n; n = n->next)
		if (name_is(n, name, len))
			return true;
	return false;
}

struct session *sm_session_first_of_component(const struct sm_session_table *t,
					      const char *name, size_t len)
{
	for (const struct sm_session_name *n = t->names; n; n = n->next)
		if (name_is(n, name, len))
			return n->sessions;
	return NULL;
}

/* ------------------------------------------------------------ changes */

static const char *intern_name(struct sm_session_table *t, const char *s,
			       size_t len)
{
	for (struct sm_session_name *n = t->names; n; n = n->next)
		if (name_is(n, s, len))
			return n->name;
	struct sm_session_name *n = malloc(sizeof *n + len + 1);
	if (!n)
		return NULL;
	memcpy(n->name, s, len);
	n->name[len] = '\0';
	n->len = len;
	n->sessions = NULL;
	n->next = t->names;
	t->names = n;
	return n->name;
}

struct user *sm_session_user_get(struct sm_session_table *t, const char *bare)
{
	uint64_t hash = hash_string(bare);
	struct user *u = user_find(t, bare, hash);
	if (u)
		return u;
	u = calloc(1, sizeof *u);
	if (!u || !(u->jid = strdup(bare)) ||
	    hash_table_insert(&t->users, &u->link, hash) < 0) {
		if (u)
			free(u->jid);
		free(u);
		return NULL;
	}
	return u;
}

static void user_unlink(struct sm_session_table *t, struct user *u)
{
	hash_table_remove(&t->users, &u->link);
	user_free(t, u);
}

struct session *sm_session_add(struct sm_session_table *t, const struct jid *j,
			       const char *c2s, size_t c2s_len, uint64_t conn)
{
	char bare[JID_MAX + 1], full[JID_MAX + 1];
	jid_format_bare(j, bare);
	size_t bare_len = strlen(bare);
	jid_format(j, full);

	const char *name = intern_name(t, c2s, c2s_len);
	struct user *u = name ? sm_session_user_get(t, bare) : NULL;
	if (!u)
		return NULL;
	struct session *s = calloc(1, sizeof *s);
	if (!s || !(s->jid = strdup(full)) ||
	    hash_table_insert(&t->conns, &s->conn_link,
			      hash_conn(name, c2s_len, conn)) < 0) {
		if (s)
			free(s->jid);
		free(s);
		sm_session_user_drop_unused(t, u);
		return NULL;
	}
	s->user = u;
	s->resource = s->jid + bare_len + 1;
	s->c2s = name;
	s->conn = conn;
	s->serial = ++t->serial;
	s->next = u->sessions;
	u->sessions = s;
	struct sm_session_name *n = name_record(name);
	s->c2s_next = n->sessions;
	if (n->sessions)
		n->sessions->c2s_prev = s;
	n->sessions = s;
	return s;
}

void sm_session_remove(struct sm_session_table *t, struct session *s)
{
	hash_table_remove(&t->conns, &s->conn_link);

	if (s->c2s_prev)
		s->c2s_prev->c2s_next = s->c2s_next;
	else
		name_record(s->c2s)->sessions = s->c2s_next;
	if (s->c2s_next)
		s->c2s_next->c2s_prev = s->c2s_prev;

	struct user *u = s->user;
	struct session **p;
	for (p = &u->sessions; *p != s; p = &(*p)->next)
		;
	*p = s->next;
	session_free(s);
	sm_session_user_drop_unused(t, u);
}

void sm_session_user_drop_unused(struct sm_session_table *t, struct user *u)
{
	if (!u->sessions && u->refs == 0)
		user_unlink(t, u);
}

int sm_session_set_presence(struct session *s, const char *xml, size_t len,
			    int priority)
{
	char *copy = NULL;
	if (xml) {
		if (!(copy = malloc(len + 1)))
			return -1;
		memcpy(copy, xml, len);
		copy[len] = '\0';
	}
	free(s->presence);
	s->presence = copy;
	s->priority = priority;
	return 0;
}
