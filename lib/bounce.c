/* bounce: errors for stanzas that cannot be delivered (see bounce.h). */
#include "bounce.h"

#include <stdbool.h>
#include <string.h>

#include "xml.h"

#define NS_STANZAS "urn:ietf:params:xml:ns:xmpp-stanzas"

/* RFC 6120 §8.3.3: the error type that goes with each condition. */
static const char *error_type(const char *condition)
{
	if (strcmp(condition, "remote-server-timeout") == 0 ||
	    strcmp(condition, "resource-constraint") == 0 ||
	    strcmp(condition, "internal-server-error") == 0)
		return "wait";
	return "cancel";
}

/* Never an error for an error (§8.3.1), nor for a result, nor for
 * presence: a presence error could answer a presence error for ever,
 * and presence to an unreachable server is simply not delivered. */
static bool bounceable(const struct xml_node *st)
{
	const char *type = xml_attr_get(st, "type");
	if (strcmp(st->name, "message") == 0)
		return !type || strcmp(type, "error") != 0;
	if (strcmp(st->name, "iq") == 0)
		return type &&
		       (strcmp(type, "get") == 0 || strcmp(type, "set") == 0);
	return false;
}

static struct xml_node *error_element(struct arena *a, const char *condition,
				      const char *text)
{
	struct xml_node *err = xml_node_new(a, XML_NS_CLIENT, "error");
	if (!err || xml_set_attr(a, err, "type", error_type(condition)) < 0 ||
	    !xml_add_child(a, err, NS_STANZAS, condition))
		return NULL;
	if (text && !xml_add_text_child(a, err, NS_STANZAS, "text", text))
		return NULL;
	return err;
}

int bounce_stanza(struct arena *a, const char *xml, size_t len,
		  const char *condition, const char *text, struct jid *sender,
		  struct buf *out)
{
	struct xml_node *st = xml_parse(a, xml, len, XML_NS_CLIENT);
	const char *from = st ? xml_attr_get(st, "from") : NULL;
	const char *to = st ? xml_attr_get(st, "to") : NULL;
	if (!st || !from || !to || !bounceable(st) ||
	    jid_parse_str(sender, from) < 0)
		return 0;
	from = arena_strdup(a, from);
	to = arena_strdup(a, to);
	struct xml_node *err = error_element(a, condition, text);
	if (!err || !from || !to || xml_set_attr(a, st, "from", to) < 0 ||
	    xml_set_attr(a, st, "to", from) < 0 ||
	    xml_set_attr(a, st, "type", "error") < 0)
		return -1;
	xml_append_child(st, err);
	return xml_serialize(st, XML_NS_CLIENT, out) < 0 ? -1 : 1;
}
