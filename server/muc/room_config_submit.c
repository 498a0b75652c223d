/* room_config_submit: a configuration form an owner submits (XEP-0045
 * §10.1.3, a reserved room's first; §10.2, any later one). Every field
 * is read and checked into a copy of the configuration, then all of it
 * applies at once: the room unlocks, the owner and admin lists are
 * replaced (§10.2: full lists, not deltas), non-members leave a room
 * that became members-only (322), and the occupants learn that the
 * configuration changed (§10.2.1: 104, 170-173). */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/log.h"
#include "muc.h"

#define FORM_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"

/* A jid-multi field's bare JIDs. */
struct jid_list {
	const char **jids;
	size_t n;
	bool given;
};

struct submission {
	struct room *room;
	struct arena *a;
	/* The new configuration; its strings in the arena until applied. */
	struct room_config config;
	struct jid_list owners, admins;
	bool protection_given; /* muc#roomconfig_passwordprotectedroom */
};

static struct muc_refusal refuse(const char *condition, const char *text)
{
	return (struct muc_refusal){.condition = condition, .text = text};
}

/* A refusal whose text names the field and the value (XEP-0004 gives
 * no way to point at a field, so the text does). */
static struct muc_refusal refuse_field(struct submission *s,
				       const char *condition, const char *var,
				       const char *value, const char *why)
{
	char text[512];
	snprintf(text, sizeof text, "%s: '%.64s' %s", var, value, why);
	const char *copy = arena_strdup(s->a, text);
	return refuse(condition, copy ? copy : var);
}

/* The first <value/>'s text, "" without one (XEP-0004 §3.3). */
static const char *field_value(struct submission *s,
			       const struct xml_node *field)
{
	const char *text = muc_form_field_value(s->a, field);
	return text ? text : "";
}

/* ------------------------------------------------------------ fields */

typedef struct muc_refusal field_reader(struct submission *s, const char *var,
					const struct xml_node *field,
					size_t offset);

static struct muc_refusal read_text(struct submission *s, const char *var,
				    const struct xml_node *field, size_t offset)
{
	const char *v = field_value(s, field);
	*(char **)((char *)s + offset) = *v ? (char *)v : NULL;
	return refuse(NULL, NULL);
}

/* XEP-0004 §3.3 boolean: 0, 1, false or true. */
static struct muc_refusal read_bool(struct submission *s, const char *var,
				    const struct xml_node *field, size_t offset)
{
	const char *v = field_value(s, field);
	bool *out = (bool *)((char *)s + offset);
	if (strcmp(v, "1") == 0 || strcmp(v, "true") == 0)
		*out = true;
	else if (strcmp(v, "0") == 0 || strcmp(v, "false") == 0)
		*out = false;
	else
		return refuse_field(s, "bad-request", var, v,
				    "is not a boolean (0, 1, false or true).");
	if (offset == offsetof(struct submission, config.password_protected))
		s->protection_given = true;
	return refuse(NULL, NULL);
}

/* A list-single: one of names (by enum value), into *out. */
static struct muc_refusal read_choice(struct submission *s, const char *var,
				      const struct xml_node *field,
				      const char *const *names, int *out)
{
	const char *v = field_value(s, field);
	if ((*out = muc_name_index(names, v)) < 0)
		return refuse_field(s, "not-acceptable", var, v,
				    "is not one of the field's options.");
	return refuse(NULL, NULL);
}

static struct muc_refusal read_whois(struct submission *s, const char *var,
				     const struct xml_node *field,
				     size_t offset)
{
	int i;
	struct muc_refusal no = read_choice(s, var, field, muc_whois_names, &i);
	if (!no.condition)
		s->config.whois = (enum muc_whois)i;
	return no;
}

static struct muc_refusal read_allow_pm(struct submission *s, const char *var,
					const struct xml_node *field,
					size_t offset)
{
	int i;
	struct muc_refusal no =
		read_choice(s, var, field, muc_allow_pm_names, &i);
	if (!no.condition)
		s->config.allow_pm = (enum muc_allow_pm)i;
	return no;
}

/* A decimal number, nothing else; -1 otherwise. */
static long number_of(const char *v)
{
	char *end;
	if (!*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 9)
		return -1;
	return strtol(v, &end, 10);
}

/* From 1 to the service's bound (<muc><max-occupants>); "none" (the
 * XEP's example) is that bound. */
static struct muc_refusal read_max_users(struct submission *s, const char *var,
					 const struct xml_node *field,
					 size_t offset)
{
	const char *v = field_value(s, field);
	unsigned bound = s->room->muc->cfg->muc.max_occupants;
	long n = strcmp(v, "none") == 0 ? (long)bound : number_of(v);
	char why[96];
	if (n < 0)
		return refuse_field(s, "bad-request", var, v,
				    "is not a number.");
	snprintf(why, sizeof why,
		 "is not from 1 to %u, this service's "
		 "largest room.",
		 bound);
	if (n < 1 || n > (long)bound)
		return refuse_field(s, "not-acceptable", var, v, why);
	s->config.max_users = (unsigned)n;
	return refuse(NULL, NULL);
}

/* From 0 to what the service keeps (<muc><history>). */
static struct muc_refusal read_history(struct submission *s, const char *var,
				       const struct xml_node *field,
				       size_t offset)
{
	const char *v = field_value(s, field);
	unsigned bound = s->room->muc->cfg->muc.history;
	long n = number_of(v);
	char why[96];
	if (n < 0)
		return refuse_field(s, "bad-request", var, v,
				    "is not a number.");
	snprintf(why, sizeof why, "is more than this service keeps (%u).",
		 bound);
	if (n > (long)bound)
		return refuse_field(s, "not-acceptable", var, v, why);
	s->config.history = (unsigned)n;
	return refuse(NULL, NULL);
}

static struct muc_refusal read_member_list(struct submission *s,
					   const char *var,
					   const struct xml_node *field,
					   size_t offset)
{
	unsigned roles = 0;
	for (const struct xml_node *v = xml_child(field, NS_XDATA, "value"); v;
	     v = xml_next(v, NS_XDATA, "value")) {
		const char *name = xml_text(s->a, v);
		int r = name ? muc_role_parse(name) : -1;
		if (r <= MUC_ROLE_NONE)
			return refuse_field(s, "not-acceptable", var,
					    name ? name : "",
					    "is not moderator, participant "
					    "or visitor.");
		roles |= 1u << r;
	}
	s->config.member_list_roles = roles;
	return refuse(NULL, NULL);
}

/* jid-multi: each value a JID, kept bare. */
static struct muc_refusal read_jids(struct submission *s, const char *var,
				    const struct xml_node *field, size_t offset)
{
	struct jid_list *list = (struct jid_list *)((char *)s + offset);
	size_t n = 0;
	for (const struct xml_node *v = xml_child(field, NS_XDATA, "value"); v;
	     v = xml_next(v, NS_XDATA, "value"))
		n++;
	list->jids = arena_alloc(s->a, (n ? n : 1) * sizeof *list->jids);
	if (!list->jids)
		return refuse("resource-constraint", NULL);
	list->given = true;
	list->n = 0;
	for (const struct xml_node *v = xml_child(field, NS_XDATA, "value"); v;
	     v = xml_next(v, NS_XDATA, "value")) {
		const char *text = xml_text(s->a, v);
		struct jid j;
		char bare[JID_MAX + 1];
		if (!text || !*text)
			continue; /* an empty line of the form */
		if (jid_parse_str(&j, text) < 0)
			return refuse_field(s, "jid-malformed", var, text,
					    "is not a JID.");
		jid_format_bare(&j, bare);
		if (!(list->jids[list->n++] = arena_strdup(s->a, bare)))
			return refuse("resource-constraint", NULL);
	}
	return refuse(NULL, NULL);
}

#define CONFIG(member) offsetof(struct submission, config.member)

static const struct {
	const char *var;
	field_reader *read;
	size_t offset;
} fields[] = {
	{"muc#roomconfig_roomname", read_text, CONFIG(name)},
	{"muc#roomconfig_roomdesc", read_text, CONFIG(description)},
	{"muc#roomconfig_roomsecret", read_text, CONFIG(password)},
	{"muc#roomconfig_persistentroom", read_bool, CONFIG(persistent)},
	{"muc#roomconfig_publicroom", read_bool, CONFIG(public)},
	{"muc#roomconfig_membersonly", read_bool, CONFIG(members_only)},
	{"muc#roomconfig_moderatedroom", read_bool, CONFIG(moderated)},
	{"muc#roomconfig_passwordprotectedroom", read_bool,
	 CONFIG(password_protected)},
	{"muc#roomconfig_changesubject", read_bool, CONFIG(change_subject)},
	{"muc#roomconfig_allowinvites", read_bool, CONFIG(allow_invites)},
	{"muc#roomconfig_enablelogging", read_bool, CONFIG(logging)},
	{"muc#roomconfig_whois", read_whois, 0},
	{"muc#roomconfig_allowpm", read_allow_pm, 0},
	{"muc#roomconfig_maxusers", read_max_users, 0},
	{"muc#maxhistoryfetch", read_history, 0},
	{"muc#roomconfig_getmemberlist", read_member_list, 0},
	{"muc#roomconfig_roomowners", read_jids,
	 offsetof(struct submission, owners)},
	{"muc#roomconfig_roomadmins", read_jids,
	 offsetof(struct submission, admins)},
};

static struct muc_refusal read_field(struct submission *s,
				     const struct xml_node *field)
{
	const char *var = xml_attr_get(field, "var");
	if (!var)
		return refuse(NULL, NULL); /* a fixed field: text */
	if (strcmp(var, "FORM_TYPE") == 0) {
		const char *v = field_value(s, field);
		return strcmp(v, FORM_ROOMCONFIG) == 0
			       ? refuse(NULL, NULL)
			       : refuse_field(s, "bad-request", var, v,
					      "is not " FORM_ROOMCONFIG ".");
	}
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		if (strcmp(var, fields[i].var) == 0)
			return fields[i].read(s, var, field, fields[i].offset);
	return refuse(NULL, NULL); /* a field we do not offer: ignored */
}

/* Every field, then what holds between fields. */
static struct muc_refusal submission_read(struct submission *s,
					  const struct xml_node *x)
{
	for (const struct xml_node *f = xml_child(x, NS_XDATA, "field"); f;
	     f = xml_next(f, NS_XDATA, "field")) {
		struct muc_refusal no = read_field(s, f);
		if (no.condition)
			return no;
	}
	struct room_config *c = &s->config;
	/* A client that sends only a password means it. */
	if (!s->protection_given && c->password)
		c->password_protected = true;
	if (c->password_protected && !c->password)
		return refuse("not-acceptable",
			      "muc#roomconfig_roomsecret: a password-protected "
			      "room needs a password.");
	/* §10.2: the last owner cannot go. */
	if (s->owners.given && s->owners.n == 0)
		return refuse("conflict", "muc#roomconfig_roomowners: a room "
					  "needs an owner.");
	return refuse(NULL, NULL);
}

/* ------------------------------------------------------------ applying */

static bool listed(const struct jid_list *l, const char *jid)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->jids[i], jid) == 0)
			return true;
	return false;
}

/* The affiliation the lists give an owner or admin of now. */
static enum muc_affiliation listed_as(const struct submission *s,
				      const char *jid, enum muc_affiliation now)
{
	bool owner = s->owners.given ? listed(&s->owners, jid)
				     : now == MUC_AFF_OWNER;
	bool admin = s->admins.given ? listed(&s->admins, jid)
				     : now == MUC_AFF_ADMIN;
	/* §10.2: an owner who loses ownership stays an admin unless the
	 * admin list says otherwise. */
	if (now == MUC_AFF_OWNER && !owner && !s->admins.given)
		admin = true;
	return owner ? MUC_AFF_OWNER : admin ? MUC_AFF_ADMIN : MUC_AFF_NONE;
}

/* §10.2: muc#roomconfig_roomowners and _roomadmins are the full lists;
 * those left out lose the affiliation, those added gain it, and their
 * occupants are told. */
static int lists_apply(struct submission *s, const struct muc_actor *actor)
{
	struct room *room = s->room;
	size_t n = muc_affiliation_count(room, MUC_AFF_OWNER) +
		   muc_affiliation_count(room, MUC_AFF_ADMIN),
	       k = 0;
	struct affiliation **now = arena_alloc(s->a, (n + 1) * sizeof *now);
	struct hash_link *l, *next;
	int status = 0;
	if (!now)
		return -1;
	hash_table_for_each(&room->affiliations, l, next)
	{
		struct affiliation *a = hash_entry(l, struct affiliation, link);
		if (a->affiliation >= MUC_AFF_ADMIN)
			now[k++] = a;
	}
	for (size_t i = 0; i < k; i++) {
		const char *jid = arena_strdup(s->a, now[i]->jid);
		enum muc_affiliation was = now[i]->affiliation;
		enum muc_affiliation will = jid ? listed_as(s, jid, was) : was;
		if (will != was &&
		    muc_affiliation_change(room, jid, will, actor, NULL) < 0)
			status = -1;
	}
	for (size_t i = 0; i < s->owners.n + s->admins.n; i++) {
		bool owner = i < s->owners.n;
		const char *jid = owner ? s->owners.jids[i]
					: s->admins.jids[i - s->owners.n];
		enum muc_affiliation will = owner || listed(&s->owners, jid)
						    ? MUC_AFF_OWNER
						    : MUC_AFF_ADMIN;
		if (muc_room_affiliation(room, jid) != will &&
		    muc_affiliation_change(room, jid, will, actor, NULL) < 0)
			status = -1;
	}
	return status;
}

/* The new strings, copied out of the arena, replace the old. */
static int strings_apply(struct room *room, struct room_config *c)
{
	char *name = c->name ? strdup(c->name) : NULL;
	char *description = c->description ? strdup(c->description) : NULL;
	char *password = c->password ? strdup(c->password) : NULL;
	if ((c->name && !name) || (c->description && !description) ||
	    (c->password && !password)) {
		free(name);
		free(description);
		free(password);
		return -1;
	}
	free(room->config.name);
	free(room->config.description);
	free(room->config.password);
	c->name = name;
	c->description = description;
	c->password = password;
	return 0;
}

/* §10.2: "if … the room type is changed to members-only but there are
 * non-members in the room, the service MUST remove any non-members
 * from the room and include a status code of 322". */
static void remove_non_members(struct room *room)
{
	static const char *const codes[] = {"322", NULL};
	struct occupant *o, *next;
	for (o = room->occupants; o; o = next) {
		next = muc_session_next_other(o); /* o's nick goes whole */
		enum muc_affiliation aff = muc_room_affiliation(room, o->jid);
		if (aff >= MUC_AFF_MEMBER)
			continue;
		struct muc_presence p = {
			.occupant = o, .affiliation = aff, .codes = codes};
		muc_occupant_remove(o, &p);
	}
}

/* An unmoderated room has no visitors: they get voice. */
static void give_voice(struct room *room)
{
	for (struct occupant *o = room->occupants; o; o = o->next)
		if (o->role == MUC_ROLE_VISITOR)
			muc_occupant_set_role(o, MUC_ROLE_PARTICIPANT, NULL,
					      NULL);
}

/* §10.2.1: a message from the room with the status codes: 104 for
 * any change, 170/171 logging on/off, 172/173 non-/semi-anonymous. */
static void notify(struct room *room, const struct room_config *old)
{
	const struct room_config *c = &room->config;
	struct buf *b = &room->muc->out;
	buf_clear(b);
	int fail = buf_append_str(b, "<message type=\"groupchat\" from=\"") ||
		   buf_append_xml_escaped(b, room->jid, strlen(room->jid)) ||
		   buf_append_str(b, "\"><x xmlns=\"" NS_MUC_USER "\">"
				     "<status code=\"104\"/>");
	if (c->logging != old->logging)
		fail |= buf_printf(b, "<status code=\"%s\"/>",
				   c->logging ? "170" : "171");
	if (c->whois != old->whois)
		fail |= buf_printf(b, "<status code=\"%s\"/>",
				   c->whois == MUC_WHOIS_ANYONE ? "172"
								: "173");
	fail |= buf_append_str(b, "</x></message>");
	if (!fail)
		muc_room_broadcast(room, b->data, b->len);
}

static int submission_apply(struct submission *s, const struct muc_actor *actor)
{
	struct room *room = s->room;
	struct room_config old = room->config;
	bool was_locked = room->locked;
	if (strings_apply(room, &s->config) < 0)
		return -1;
	room->config = s->config;
	room->locked = false;
	if (was_locked)
		log_info("muc: %s configured and unlocked", room->jid);
	int status = muc_history_fit(room) | lists_apply(s, actor);
	if (room->config.members_only && !old.members_only)
		remove_non_members(room);
	if (!room->config.moderated && old.moderated)
		give_voice(room);
	if (!was_locked)
		notify(room, &old);
	return status;
}

void muc_room_config_submit(struct muc *muc, struct room *room,
			    struct stanza *st, const struct xml_node *x)
{
	struct submission s = {
		.room = room, .a = st->arena, .config = room->config};
	struct muc_refusal no = submission_read(&s, x);
	struct muc_actor actor;
	if (no.condition) {
		muc_send_error(muc, st, no.condition, no.text);
		return;
	}
	muc_actor_of(&actor, room, st);
	if (submission_apply(&s, &actor) < 0) {
		log_error("muc: %s: out of memory applying a configuration",
			  room->jid);
		muc_send_error(muc, st, "resource-constraint", NULL);
	} else {
		/* Answered once a persistent room is stored (room_store.c). */
		muc_room_store_reply(
			room, ROOM_STORE_CONFIG | ROOM_STORE_AFFILIATIONS, st);
	}
	/* No longer persistent, and nobody in it: gone. */
	muc_room_release(room);
}
