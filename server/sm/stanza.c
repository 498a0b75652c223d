/* stanza: parsing a stanza's addressing once, and building replies. */
#include "stanza.h"

#include <string.h>

static int parse_jid_attr(struct stanza *st, const char *name, struct jid **out)
{
	const char *v = xml_attr_get(st->xml, name);
	*out = NULL;
	if (!v)
		return 0;
	struct jid *j = arena_alloc(st->arena, sizeof *j);
	if (!j || jid_parse_str(j, v) < 0)
		return -1;
	*out = j;
	return 0;
}

int sm_stanza_init(struct stanza *st, struct arena *a, struct xml_node *xml)
{
	memset(st, 0, sizeof *st);
	st->arena = a;
	st->xml = xml;
	if (!xml || !xml->name ||
	    (strcmp(xml->ns, XML_NS_CLIENT) != 0 &&
	     strcmp(xml->ns, XML_NS_SERVER) != 0))
		return -1;
	if (strcmp(xml->name, "message") == 0)
		st->kind = STANZA_MESSAGE;
	else if (strcmp(xml->name, "presence") == 0)
		st->kind = STANZA_PRESENCE;
	else if (strcmp(xml->name, "iq") == 0)
		st->kind = STANZA_IQ;
	else
		return -1;
	const char *type = xml_attr_get(xml, "type");
	st->type = type ? type : "";
	st->id = xml_attr_get(xml, "id");
	if (st->kind == STANZA_IQ)
		st->payload = xml_child(xml, NULL, NULL);
	if (parse_jid_attr(st, "from", &st->from) < 0 ||
	    parse_jid_attr(st, "to", &st->to) < 0)
		return -2;
	return 0;
}

bool sm_stanza_is_type(const struct stanza *st, const char *type)
{
	return strcmp(st->type, type) == 0;
}

bool sm_stanza_to_self(const struct stanza *st)
{
	if (!st->to)
		return true;
	return st->from && jid_is_bare(st->to) &&
	       jid_equal_bare(st->from, st->to);
}

/* RFC 6120 §8.3.3, the type each condition's definition gives. */
const char *sm_stanza_error_type(const char *condition)
{
	static const struct {
		const char *condition, *type;
	} types[] = {
		{"bad-request", "modify"},
		{"conflict", "cancel"},
		{"feature-not-implemented", "cancel"},
		{"forbidden", "auth"},
		{"gone", "cancel"},
		{"internal-server-error", "cancel"},
		{"item-not-found", "cancel"},
		{"jid-malformed", "modify"},
		{"not-acceptable", "modify"},
		{"not-allowed", "cancel"},
		{"not-authorized", "auth"},
		{"policy-violation", "modify"},
		{"recipient-unavailable", "wait"},
		{"redirect", "modify"},
		{"registration-required", "auth"},
		{"remote-server-not-found", "cancel"},
		{"remote-server-timeout", "wait"},
		{"resource-constraint", "wait"},
		{"service-unavailable", "cancel"},
		{"subscription-required", "auth"},
		{"undefined-condition", "cancel"},
		{"unexpected-request", "wait"},
	};
	for (size_t i = 0; i < sizeof types / sizeof *types; i++)
		if (strcmp(types[i].condition, condition) == 0)
			return types[i].type;
	return "cancel";
}

/* A reply to st: same kind and id, 'to' = st's 'from', 'from' = st's
 * 'to' (RFC 6120 §8.2.3, §8.3.1). Without 'to' (the server answering
 * for the account, §10.3.3) the reply has no 'from'. */
static struct xml_node *reply_new(const struct stanza *st, const char *type)
{
	struct arena *a = st->arena;
	struct xml_node *r = xml_node_new(a, XML_NS_CLIENT, st->xml->name);
	if (!r)
		return NULL;
	const char *from = xml_attr_get(st->xml, "from");
	const char *to = xml_attr_get(st->xml, "to");
	if ((from && xml_set_attr(a, r, "to", from) < 0) ||
	    (to && xml_set_attr(a, r, "from", to) < 0) ||
	    (st->id && xml_set_attr(a, r, "id", st->id) < 0) ||
	    xml_set_attr(a, r, "type", type) < 0)
		return NULL;
	return r;
}

struct xml_node *sm_stanza_error_new(const struct stanza *st,
				     const char *condition)
{
	if (sm_stanza_is_type(st, "error"))
		return NULL;
	struct xml_node *r = reply_new(st, "error");
	if (!r)
		return NULL;
	struct xml_node *e =
		xml_add_child(st->arena, r, XML_NS_CLIENT, "error");
	if (!e ||
	    xml_set_attr(st->arena, e, "type",
			 sm_stanza_error_type(condition)) < 0 ||
	    !xml_add_child(st->arena, e, NS_STANZAS, condition))
		return NULL;
	return r;
}

struct xml_node *sm_stanza_error_text_new(const struct stanza *st,
					  const char *condition,
					  const char *text)
{
	struct xml_node *r = sm_stanza_error_new(st, condition);
	struct xml_node *e = r ? xml_child(r, XML_NS_CLIENT, "error") : NULL;
	struct xml_node *t =
		e ? xml_add_child(st->arena, e, NS_STANZAS, "text") : NULL;
	if (!t || xml_append_text(st->arena, t, text, strlen(text)) < 0)
		return NULL;
	return r;
}

struct xml_node *sm_stanza_result_new(const struct stanza *st)
{
	return reply_new(st, "result");
}

void sm_stanza_datetime(time_t t, char out[SM_DATETIME_SIZE])
{
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, SM_DATETIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
