/* archive_answer: the pieces of an archive query's answer (XEP-0313
 * §4.2, §4.3) and of its form (§4.1.1), for the sm's and the muc's
 * archives alike (archive_query.h). */
#include <string.h>

#include "archive_query.h"

#define NS_XDATA "jabber:x:data"
#define NS_DELAY "urn:xmpp:delay"

static int append_attr(struct buf *out, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (buf_printf(out, " %s='", name) < 0 ||
	    buf_append_xml_escaped(out, value, strlen(value)) < 0 ||
	    buf_append_str(out, "'") < 0)
		return -1;
	return 0;
}

int mam_result_bytes(struct buf *out, const char *from, const char *to,
		     const char *queryid, const struct storage_archive_item *it)
{
	char stamp[32];
	mam_format_stamp(it->stamp, stamp);
	buf_clear(out);
	if (buf_append_str(out, "<message") || append_attr(out, "from", from) ||
	    append_attr(out, "to", to) ||
	    buf_append_str(out, "><result xmlns='" NS_MAM "'") ||
	    append_attr(out, "queryid", queryid) ||
	    buf_printf(out,
		       " id='%s'><forwarded xmlns='" NS_FORWARD
		       "'><delay xmlns='" NS_DELAY "' stamp='%s'/>",
		       it->id, stamp) < 0 ||
	    buf_append(out, it->message, it->message_len) ||
	    buf_append_str(out, "</forwarded></result></message>"))
		return -1;
	return 0;
}

const struct storage_archive_item *
mam_page_item(const struct storage_archive_page *page, size_t shown, size_t i,
	      bool flip)
{
	return &page->items[flip ? shown - 1 - i : i];
}

struct xml_node *mam_fin(struct arena *a,
			 const struct storage_archive_page *page, size_t shown)
{
	struct xml_node *fin = xml_node_new(a, NS_MAM, "fin");
	struct xml_node *set =
		fin ? xml_add_child(a, fin, NS_RSM, "set") : NULL;
	if (!set ||
	    (page->complete && xml_set_attr(a, fin, "complete", "true") < 0))
		return NULL;
	if (!shown)
		return fin;
	const char *ids[2] = {page->items[0].id, page->items[shown - 1].id};
	const char *names[2] = {"first", "last"};
	for (int i = 0; i < 2; i++) {
		struct xml_node *e = xml_add_child(a, set, NS_RSM, names[i]);
		if (!e || xml_append_text(a, e, ids[i], strlen(ids[i])) < 0)
			return NULL;
	}
	return fin;
}

int mam_fields_add(struct arena *a, struct xml_node *result)
{
	static const char *const fields[][2] = {
		{"with", "jid-single"},       {"start", "text-single"},
		{"end", "text-single"},       {"after-id", "text-single"},
		{"before-id", "text-single"}, {"ids", "text-multi"},
	};
	struct xml_node *query = xml_add_child(a, result, NS_MAM, "query");
	struct xml_node *x =
		query ? xml_add_child(a, query, NS_XDATA, "x") : NULL;
	struct xml_node *f = x ? xml_add_child(a, x, NS_XDATA, "field") : NULL;
	struct xml_node *v = f ? xml_add_child(a, f, NS_XDATA, "value") : NULL;
	if (!v || xml_set_attr(a, x, "type", "form") < 0 ||
	    xml_set_attr(a, f, "type", "hidden") < 0 ||
	    xml_set_attr(a, f, "var", "FORM_TYPE") < 0 ||
	    xml_append_text(a, v, NS_MAM, strlen(NS_MAM)) < 0)
		return -1;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		if (!(f = xml_add_child(a, x, NS_XDATA, "field")) ||
		    xml_set_attr(a, f, "var", fields[i][0]) < 0 ||
		    xml_set_attr(a, f, "type", fields[i][1]) < 0)
			return -1;
	return 0;
}
