/* session: the table of users and sessions (see session.h). */
#include "session.h"

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
	return (struct sm_session_name *)(void *)(interned -
						  offsetof(struct sm_session_name,
							   name));
}

/* FNV-1a. */
static uint64_t hash_bytes(const char *s, size_t len, uint64_t h)
{
	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)s[i];
		h *= 0x100000001b3ull;
	}
	return h;
}

static uint64_t hash_str(const char *s)
{
	return hash_bytes(s, strlen(s), 0xcbf29ce484222325ull);
}

static uint64_t hash_conn(const char *c2s, size_t len, uint64_t conn)
{
	uint64_t h = hash_bytes(c2s, len, 0xcbf29ce484222325ull);
	return hash_bytes((const char *)&conn, sizeof conn, h);
}

int sm_session_table_init(struct sm_session_table *t)
{
	memset(t, 0, sizeof *t);
	t->users = calloc(INITIAL_BUCKETS, sizeof *t->users);
	t->conns = calloc(INITIAL_BUCKETS, sizeof *t->conns);
	if (!t->users || !t->conns) {
		free(t->users);
		free(t->conns);
		return -1;
	}
	t->user_buckets = t->conn_buckets = INITIAL_BUCKETS;
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
	for (size_t i = 0; i < t->user_buckets; i++) {
		struct user *u = t->users[i];
		while (u) {
			struct user *next_user = u->next;
			struct session *s = u->sessions;
			while (s) {
				struct session *next = s->next;
				session_free(s);
				s = next;
			}
			user_free(t, u);
			u = next_user;
		}
	}
	while (t->names) {
		struct sm_session_name *n = t->names->next;
		free(t->names);
		t->names = n;
	}
	free(t->users);
	free(t->conns);
	memset(t, 0, sizeof *t);
}

int sm_session_slot_register(struct sm_session_table *t, void (*free_fn)(void *))
{
	if (t->nslots == SESSION_USER_SLOTS)
		return -1;
	t->slot_free[t->nslots] = free_fn;
	return (int)t->nslots++;
}

/* ------------------------------------------------------------ lookups */

struct user *sm_session_user_find(const struct sm_session_table *t,
			       const char *bare)
{
	struct user *u = t->users[hash_str(bare) & (t->user_buckets - 1)];
	while (u && strcmp(u->jid, bare) != 0)
		u = u->next;
	return u;
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

struct session *sm_session_find_conn(const struct sm_session_table *t,
				  const char *c2s, size_t c2s_len,
				  uint64_t conn)
{
	uint64_t h = hash_conn(c2s, c2s_len, conn);
	struct session *s = t->conns[h & (t->conn_buckets - 1)];
	while (s && !(s->conn == conn && name_record(s->c2s)->len == c2s_len &&
		      memcmp(s->c2s, c2s, c2s_len) == 0))
		s = s->conn_next;
	return s;
}

bool sm_session_known_component(const struct sm_session_table *t, const char *name,
			     size_t len)
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

/* ------------------------------------------------------------ growth */

static int grow_users(struct sm_session_table *t)
{
	size_t n = t->user_buckets * 2;
	struct user **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < t->user_buckets; i++) {
		struct user *u = t->users[i];
		while (u) {
			struct user *next = u->next;
			size_t k = hash_str(u->jid) & (n - 1);
			u->next = b[k];
			b[k] = u;
			u = next;
		}
	}
	free(t->users);
	t->users = b;
	t->user_buckets = n;
	return 0;
}

static int grow_conns(struct sm_session_table *t)
{
	size_t n = t->conn_buckets * 2;
	struct session **b = calloc(n, sizeof *b);
	if (!b)
		return -1;
	for (size_t i = 0; i < t->conn_buckets; i++) {
		struct session *s = t->conns[i];
		while (s) {
			struct session *next = s->conn_next;
			size_t k = hash_conn(s->c2s, strlen(s->c2s), s->conn) &
				   (n - 1);
			s->conn_next = b[k];
			b[k] = s;
			s = next;
		}
	}
	free(t->conns);
	t->conns = b;
	t->conn_buckets = n;
	return 0;
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
	struct user *u = sm_session_user_find(t, bare);
	if (u)
		return u;
	if (t->nusers >= t->user_buckets && grow_users(t) < 0)
		return NULL;
	u = calloc(1, sizeof *u);
	if (!u || !(u->jid = strdup(bare))) {
		free(u);
		return NULL;
	}
	size_t k = hash_str(bare) & (t->user_buckets - 1);
	u->next = t->users[k];
	t->users[k] = u;
	t->nusers++;
	return u;
}

static void user_unlink(struct sm_session_table *t, struct user *u)
{
	struct user **p = &t->users[hash_str(u->jid) & (t->user_buckets - 1)];
	while (*p != u)
		p = &(*p)->next;
	*p = u->next;
	t->nusers--;
	user_free(t, u);
}

struct session *sm_session_add(struct sm_session_table *t, const struct jid *j,
			    const char *c2s, size_t c2s_len, uint64_t conn)
{
	char bare[JID_MAX + 1], full[JID_MAX + 1];
	jid_format_bare(j, bare);
	size_t bare_len = strlen(bare);
	jid_format(j, full);

	if (t->nsessions >= t->conn_buckets && grow_conns(t) < 0)
		return NULL;
	const char *name = intern_name(t, c2s, c2s_len);
	struct user *u = name ? sm_session_user_get(t, bare) : NULL;
	if (!u)
		return NULL;
	struct session *s = calloc(1, sizeof *s);
	if (!s || !(s->jid = strdup(full))) {
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
	size_t k = hash_conn(name, c2s_len, conn) & (t->conn_buckets - 1);
	s->conn_next = t->conns[k];
	t->conns[k] = s;
	struct sm_session_name *n = name_record(name);
	s->c2s_next = n->sessions;
	if (n->sessions)
		n->sessions->c2s_prev = s;
	n->sessions = s;
	t->nsessions++;
	return s;
}

void sm_session_remove(struct sm_session_table *t, struct session *s)
{
	size_t k = hash_conn(s->c2s, strlen(s->c2s), s->conn) &
		   (t->conn_buckets - 1);
	struct session **p = &t->conns[k];
	while (*p != s)
		p = &(*p)->conn_next;
	*p = s->conn_next;
	t->nsessions--;

	if (s->c2s_prev)
		s->c2s_prev->c2s_next = s->c2s_next;
	else
		name_record(s->c2s)->sessions = s->c2s_next;
	if (s->c2s_next)
		s->c2s_next->c2s_prev = s->c2s_prev;

	struct user *u = s->user;
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
