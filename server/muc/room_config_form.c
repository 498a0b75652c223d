/* room_config_form: the room's configuration as the form an owner fills
 * (XEP-0045 §10.2, Example 163; the fields of the muc#roomconfig
 * FORM_TYPE, §15.5.3), with the room's current values. What a submitted
 * form does is room_config_submit.c's. */
#include <stdio.h>
#include <string.h>

#include "muc.h"

#define FORM_ROOMCONFIG "http://jabber.org/protocol/muc#roomconfig"

/* A form being built: the first failure (out of memory) sticks. */
struct form {
	struct arena *a;
	struct xml_node *x;
	bool failed;
};

static struct xml_node *form_field(struct form *f, const char *var,
				   const char *type, const char *label)
{
	struct xml_node *field =
		f->failed ? NULL
			  : muc_form_add(f->a, f->x, var, type, label, NULL);
	if (!field)
		f->failed = true;
	return field;
}

static void form_value(struct form *f, struct xml_node *field,
		       const char *value)
{
	if (field && !xml_add_text_child(f->a, field, NS_XDATA, "value", value))
		f->failed = true;
}

static void form_option(struct form *f, struct xml_node *field,
			const char *label, const char *value)
{
	struct xml_node *o =
		field ? xml_add_child(f->a, field, NS_XDATA, "option") : NULL;
	if (field && (!o || xml_set_attr(f->a, o, "label", label) < 0 ||
		      !xml_add_text_child(f->a, o, NS_XDATA, "value", value)))
		f->failed = true;
}

static void form_text(struct form *f, const char *var, const char *type,
		      const char *label, const char *value)
{
	form_value(f, form_field(f, var, type, label), value ? value : "");
}

static void form_boolean(struct form *f, const char *var, const char *label,
			 bool value)
{
	form_value(f, form_field(f, var, "boolean", label), value ? "1" : "0");
}

/* A list-single whose options are names[] (labels[] for people). */
static void form_choice(struct form *f, const char *var, const char *label,
			const char *const *names, const char *const *labels,
			unsigned value)
{
	struct xml_node *field = form_field(f, var, "list-single", label);
	form_value(f, field, names[value]);
	for (unsigned i = 0; names[i]; i++)
		form_option(f, field, labels[i], names[i]);
}

/* muc#roomconfig_maxusers: the usual sizes below the service's bound
 * (<muc><max-occupants>), that bound, and the room's own size, in
 * order. */
static void form_max_users(struct form *f, const struct room *room)
{
	static const unsigned sizes[] = {10, 20, 30, 50, 100, 200, 500};
	unsigned bound = room->muc->cfg->muc.max_occupants;
	unsigned own = room->config.max_users;
	unsigned values[sizeof sizes / sizeof *sizes + 2];
	size_t n = 0, at;
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++)
		if (sizes[i] < bound)
			values[n++] = sizes[i];
	values[n++] = bound;
	for (at = 0; at < n && values[at] < own; at++)
		;
	if (at == n || values[at] != own) {
		memmove(values + at + 1, values + at,
			(n - at) * sizeof *values);
		values[at] = own;
		n++;
	}
	char v[16];
	struct xml_node *field =
		form_field(f, "muc#roomconfig_maxusers", "list-single",
			   "Maximum number of occupants");
	snprintf(v, sizeof v, "%u", own);
	form_value(f, field, v);
	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof v, "%u", values[i]);
		form_option(f, field, v, v);
	}
}

int muc_name_index(const char *const *names, const char *name)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* muc#roomconfig_getmemberlist: a list-multi of roles. */
static void form_member_list(struct form *f, const struct room *room)
{
	static const char *const labels[] = {
		[MUC_ROLE_VISITOR] = "Visitor",
		[MUC_ROLE_PARTICIPANT] = "Participant",
		[MUC_ROLE_MODERATOR] = "Moderator",
	};
	struct xml_node *field =
		form_field(f, "muc#roomconfig_getmemberlist", "list-multi",
			   "Roles that may see the member list");
	for (int r = MUC_ROLE_MODERATOR; r > MUC_ROLE_NONE; r--)
		if (room->config.member_list_roles & (1u << r))
			form_value(f, field, muc_role_name((enum muc_role)r));
	for (int r = MUC_ROLE_MODERATOR; r > MUC_ROLE_NONE; r--)
		form_option(f, field, labels[r],
			    muc_role_name((enum muc_role)r));
}

/* muc#roomconfig_roomowners, _roomadmins: the full lists (§10.2). */
static void form_jids(struct form *f, const struct room *room, const char *var,
		      const char *label, enum muc_affiliation aff)
{
	struct xml_node *field = form_field(f, var, "jid-multi", label);
	struct hash_link *l, *next;
	hash_table_for_each(&room->affiliations, l, next)
	{
		const struct affiliation *a =
			hash_entry(l, struct affiliation, link);
		if (a->affiliation == aff)
			form_value(f, field, a->jid);
	}
}

static void form_fields(struct form *f, const struct room *room)
{
	static const char *const whois_labels[] = {"Moderators only", "Anyone"};
	static const char *const pm_labels[] = {"Anyone", "Participants",
						"Moderators", "Nobody"};
	const struct room_config *c = &room->config;
	char history[16];
	snprintf(history, sizeof history, "%u", c->history);
	form_text(f, "FORM_TYPE", "hidden", NULL, FORM_ROOMCONFIG);
	form_text(f, "muc#roomconfig_roomname", "text-single", "Room name",
		  c->name);
	form_text(f, "muc#roomconfig_roomdesc", "text-single", "Description",
		  c->description);
	form_boolean(f, "muc#roomconfig_persistentroom",
		     "Keep the room when it is empty", c->persistent);
	form_boolean(f, "muc#roomconfig_publicroom",
		     "List the room in the directory", c->public);
	form_boolean(f, "muc#roomconfig_membersonly", "Only members may enter",
		     c->members_only);
	form_boolean(f, "muc#roomconfig_moderatedroom",
		     "Only occupants given voice may speak", c->moderated);
	form_boolean(f, "muc#roomconfig_passwordprotectedroom",
		     "A password is required to enter", c->password_protected);
	form_text(f, "muc#roomconfig_roomsecret", "text-private", "Password",
		  c->password);
	form_choice(f, "muc#roomconfig_whois", "Who may see real JIDs",
		    muc_whois_names, whois_labels, c->whois);
	form_choice(f, "muc#roomconfig_allowpm",
		    "Who may send private messages", muc_allow_pm_names,
		    pm_labels, c->allow_pm);
	form_boolean(f, "muc#roomconfig_changesubject",
		     "Occupants may change the subject", c->change_subject);
	form_boolean(f, "muc#roomconfig_allowinvites",
		     "Occupants may invite others", c->allow_invites);
	form_max_users(f, room);
	form_text(f, "muc#maxhistoryfetch", "text-single",
		  "Messages of history sent to newcomers", history);
	form_boolean(f, "muc#roomconfig_enablelogging",
		     "Archive the discussion", c->logging);
	form_member_list(f, room);
	form_jids(f, room, "muc#roomconfig_roomowners", "Room owners",
		  MUC_AFF_OWNER);
	form_jids(f, room, "muc#roomconfig_roomadmins", "Room admins",
		  MUC_AFF_ADMIN);
}

int muc_room_config_form(struct room *room, struct arena *a,
			 struct xml_node *query)
{
	struct form f = {.a = a};
	char title[JID_PART_MAX + 64];
	const char *at = strchr(room->jid, '@');
	snprintf(title, sizeof title, "Configuration of the room \"%.*s\"",
		 (int)(at ? at - room->jid : 0), room->jid);
	f.x = xml_add_child(a, query, NS_XDATA, "x");
	if (!f.x || xml_set_attr(a, f.x, "type", "form") < 0 ||
	    !xml_add_text_child(a, f.x, NS_XDATA, "title", title))
		return -1;
	form_fields(&f, room);
	return f.failed ? -1 : 0;
}
