/* stanza_id: the XEP-0359 <stanza-id/> an archive gives the messages
 * it keeps, and the forged ones it takes out, for the sm's and the
 * muc's archives alike (archive_query.h). */
#include <string.h>

#include "../../lib/jid.h"
#include "archive_query.h"

/* Whether the id is by bare, however the forger wrote the JID. */
static bool mam_id_by(const struct xml_node *id, const char *bare)
{
	const char *by = xml_attr_get(id, "by");
	struct jid j;
	char prepared[JID_MAX + 1];
	if (!by)
		return false;
	if (strcmp(by, bare) == 0)
		return true;
	/* A forger may write the JID another way (case, a resource). */
	return jid_parse_str(&j, by) == 0 &&
	       jid_format_bare(&j, prepared) > 0 && strcmp(prepared, bare) == 0;
}

const char *mam_take_ids(struct xml_node *m, const char *bare)
{
	const char *id = NULL;
	struct xml_node *c = xml_child(m, NS_SID, "stanza-id"), *next;
	for (; c; c = next) {
		next = xml_next(c, NS_SID, "stanza-id");
		if (mam_id_by(c, bare)) {
			id = xml_attr_get(c, "id");
			xml_remove_child(m, c);
		}
	}
	return id;
}

int mam_stanza_id_add(struct arena *a, struct xml_node *m, const char *by,
		      const char *id)
{
	struct xml_node *sid = xml_add_child(a, m, NS_SID, "stanza-id");
	if (!sid)
		return -1;
	if (xml_set_attr(a, sid, "by", by) < 0 ||
	    xml_set_attr(a, sid, "id", id) < 0) {
		xml_remove_child(m, sid);
		return -1;
	}
	return 0;
}
