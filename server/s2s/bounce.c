/* bounce: the error a sender gets for a stanza s2s cannot deliver
 * (RFC 6120 §8.3): the stanza comes back from its 'to' with type
 * 'error' and the condition, its content kept so that the sender's
 * client can tell which one failed. */
#include <string.h>

#include "../../lib/log.h"
#include "s2s.h"

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

static void bounce(struct s2s *s2s, const char *xml, size_t len,
		   const char *condition)
{
	struct arena *a = &s2s->arena;
	struct xml_node *st = xml_parse(a, xml, len, XML_NS_CLIENT);
	const char *from = st ? xml_attr_get(st, "from") : NULL;
	const char *to = st ? xml_attr_get(st, "to") : NULL;
	struct jid sender;
	if (!st || !from || !to || !bounceable(st) ||
	    jid_parse_str(&sender, from) < 0)
		return;
	from = arena_strdup(a, from);
	to = arena_strdup(a, to);
	struct xml_node *err = xml_node_new(a, XML_NS_CLIENT, "error");
	struct xml_node *cond =
		err ? xml_add_child(a, err, NS_STANZAS, condition) : NULL;
	struct buf b = BUF_INIT;
	if (!cond || !from || !to || xml_set_attr(a, st, "from", to) < 0 ||
	    xml_set_attr(a, st, "to", from) < 0 ||
	    xml_set_attr(a, st, "type", "error") < 0 ||
	    xml_set_attr(a, err, "type", error_type(condition)) < 0 ||
	    (xml_append_child(st, err), xml_serialize(st, XML_NS_CLIENT, &b)) <
		    0) {
		log_warn("s2s: out of memory bouncing a stanza");
		buf_free(&b);
		return;
	}
	log_debug("s2s: %s to %s bounced with %s", st->name, to, condition);
	s2s_to_router(s2s, sender.domain, b.data, b.len);
	buf_free(&b);
}

void s2s_bounce(struct s2s *s2s, const char *xml, size_t len,
		const char *condition)
{
	bounce(s2s, xml, len, condition);
	/* Bounces come in bursts (a whole queue) between router frames. */
	arena_reset(&s2s->arena);
}
