/* room_config: the fields of a room's configuration (struct
 * room_config, muc.h) as the muc#roomconfig form names them (XEP-0045
 * §15.5.3), one row each: the storage (room_store.c) and the owner's
 * form read and write every field through this table. A new field is
 * a member of struct room_config and a row here. */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "muc.h"

static const char *const whois_names[] = {"moderators", "anyone", NULL};
static const char *const allow_pm_names[] = {"anyone", "participants",
					     "moderators", "none", NULL};

#define FIELD(var, type, member, names)                                        \
	{                                                                      \
		var, type, offsetof(struct room_config, member), names         \
	}

const struct room_config_field room_config_fields[] = {
	FIELD("muc#roomconfig_roomname", ROOM_FIELD_TEXT, name, NULL),
	FIELD("muc#roomconfig_roomdesc", ROOM_FIELD_TEXT, description, NULL),
	FIELD("muc#roomconfig_roomsecret", ROOM_FIELD_TEXT, password, NULL),
	FIELD("muc#roomconfig_persistentroom", ROOM_FIELD_BOOL, persistent,
	      NULL),
	FIELD("muc#roomconfig_publicroom", ROOM_FIELD_BOOL, public, NULL),
	FIELD("muc#roomconfig_membersonly", ROOM_FIELD_BOOL, members_only,
	      NULL),
	FIELD("muc#roomconfig_moderatedroom", ROOM_FIELD_BOOL, moderated, NULL),
	FIELD("muc#roomconfig_passwordprotectedroom", ROOM_FIELD_BOOL,
	      password_protected, NULL),
	FIELD("muc#roomconfig_changesubject", ROOM_FIELD_BOOL, change_subject,
	      NULL),
	FIELD("muc#roomconfig_allowinvites", ROOM_FIELD_BOOL, allow_invites,
	      NULL),
	FIELD("muc#roomconfig_enablelogging", ROOM_FIELD_BOOL, logging, NULL),
	FIELD("muc#roomconfig_whois", ROOM_FIELD_ENUM, whois, whois_names),
	FIELD("muc#roomconfig_allowpm", ROOM_FIELD_ENUM, allow_pm,
	      allow_pm_names),
	FIELD("muc#roomconfig_maxusers", ROOM_FIELD_UNSIGNED, max_users, NULL),
	FIELD("muc#maxhistoryfetch", ROOM_FIELD_UNSIGNED, history, NULL),
	{NULL, 0, 0, NULL},
};

const struct room_config_field *room_config_field_find(const char *var)
{
	for (const struct room_config_field *f = room_config_fields; f->var;
	     f++)
		if (strcmp(f->var, var) == 0)
			return f;
	return NULL;
}

static void *member(struct room_config *c, const struct room_config_field *f)
{
	return (char *)c + f->offset;
}

const char *room_config_get(const struct room_config *c,
			    const struct room_config_field *f,
			    char buf[ROOM_FIELD_VALUE_SIZE])
{
	const void *m = (const char *)c + f->offset;
	switch (f->type) {
	case ROOM_FIELD_TEXT:
		return *(char *const *)m ? *(char *const *)m : "";
	case ROOM_FIELD_BOOL:
		return *(const bool *)m ? "1" : "0";
	case ROOM_FIELD_ENUM:
		/* Every enum of the table is an int-sized enum. */
		return f->names[*(const int *)m];
	case ROOM_FIELD_UNSIGNED:
		snprintf(buf, ROOM_FIELD_VALUE_SIZE, "%u",
			 *(const unsigned *)m);
		return buf;
	}
	return "";
}

/* XEP-0004 §3.3: a boolean is "0", "1", "false" or "true". */
static int parse_bool(const char *text, bool *out)
{
	if (!strcmp(text, "1") || !strcmp(text, "true"))
		*out = true;
	else if (!strcmp(text, "0") || !strcmp(text, "false"))
		*out = false;
	else
		return -1;
	return 0;
}

static int parse_enum(const char *const *names, const char *text, int *out)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], text) == 0) {
			*out = i;
			return 0;
		}
	return -1;
}

static int parse_unsigned(const char *text, unsigned *out)
{
	char *end;
	unsigned long v = strtoul(text, &end, 10);
	if (!*text || *end || text[0] == '-' || v > 1000000)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int room_config_set(struct room_config *c, const struct room_config_field *f,
		    const char *text)
{
	void *m = member(c, f);
	switch (f->type) {
	case ROOM_FIELD_TEXT: {
		char *copy = *text ? strdup(text) : NULL;
		if (*text && !copy)
			return -1;
		free(*(char **)m);
		*(char **)m = copy;
		return 0;
	}
	case ROOM_FIELD_BOOL:
		return parse_bool(text, m);
	case ROOM_FIELD_ENUM:
		return parse_enum(f->names, text, m);
	case ROOM_FIELD_UNSIGNED:
		return parse_unsigned(text, m);
	}
	return -1;
}

void room_config_free(struct room_config *c)
{
	for (const struct room_config_field *f = room_config_fields; f->var;
	     f++)
		if (f->type == ROOM_FIELD_TEXT) {
			free(*(char **)member(c, f));
			*(char **)member(c, f) = NULL;
		}
}

/* ------------------------------------------------------------ the form */

/* XEP-0045 §10.2: the fields the form has, checked on a scratch copy
 * first, then applied; FORM_TYPE and fields this room does not have
 * are left alone (XEP-0004 §3.2). */
const char *room_config_submit(struct room *room, const struct xml_node *x,
			       struct arena *a)
{
	struct room_config scratch = {0};
	const char *cond = NULL;
	for (int pass = 0; pass < 2 && !cond; pass++) {
		struct room_config *c = pass ? &room->config : &scratch;
		for (const struct xml_node *f = xml_child(x, NS_XDATA, "field");
		     f && !cond; f = xml_next(f, NS_XDATA, "field")) {
			const char *var = xml_attr_get(f, "var");
			const struct room_config_field *field =
				var ? room_config_field_find(var) : NULL;
			const char *v =
				field ? muc_form_field_value(a, f) : NULL;
			if (field && room_config_set(c, field, v ? v : "") < 0)
				cond = pass ? "resource-constraint"
					    : "not-acceptable";
		}
	}
	room_config_free(&scratch);
	return cond;
}
