/* bookmarks_convert: one bookmark in each of its forms (bookmarks.h):
 * a XEP-0402 item of the node urn:xmpp:bookmarks:1 and a XEP-0048
 * <conference/> of a <storage xmlns='storage:bookmarks'/>.
 *
 * XEP-0402 §5.1: "The conference element does not contain the jid -
 * this is present only in the item id." Both forms have a name, an
 * autojoin flag, a nick and a password (XEP-0402 §2, XEP-0048 §2.1);
 * the elements that XEP-0402 keeps in <extensions/> (§2: "Clients MUST
 * preserve these") travel in a XEP-0048 <conference/> as its children
 * of other namespaces, where XEP-0048 clients that keep what they do
 * not know (as they did with their own additions) keep them. */
#include "bookmarks.h"

#include <stdlib.h>
#include <string.h>

#include "../../lib/jid.h"
#include "pep.h"

/* ------------------------------------------------------------ reading */

static int bookmark_dup(char **out, const char *s)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -1 : 0;
}

/* XEP-0402 §2, XEP-0048 §2.1: "boolean defaulting to false", as
 * XML Schema writes it: "true" or "1". */
static bool bookmark_boolean(const char *s)
{
	return s && (strcmp(s, "true") == 0 || strcmp(s, "1") == 0);
}

static const char *bookmark_child_text(struct arena *a,
				       const struct xml_node *parent,
				       const char *ns, const char *name)
{
	const struct xml_node *c = xml_child(parent, ns, name);
	return c ? xml_text(a, c) : NULL;
}

/* The room's JID, prepared, into b->key. 0, 1 when id is not a JID. */
static int bookmark_key(struct bookmark *b, const char *id)
{
	struct jid j;
	char key[JID_MAX + 1];
	if (!id || jid_parse_str(&j, id) < 0)
		return 1;
	jid_format(&j, key);
	return bookmark_dup(&b->key, key);
}

/* What both forms have: the attributes of conf, its nick and password
 * in ns. */
static int bookmark_read_common(struct bookmark *b, struct arena *a,
				const struct xml_node *conf, const char *ns)
{
	b->autojoin = bookmark_boolean(xml_attr_get(conf, "autojoin"));
	return bookmark_dup(&b->name, xml_attr_get(conf, "name")) < 0 ||
			       bookmark_dup(&b->nick,
					    bookmark_child_text(a, conf, ns,
								"nick")) < 0 ||
			       bookmark_dup(&b->password,
					    bookmark_child_text(a, conf, ns,
								"password")) < 0
		       ? -1
		       : 0;
}

/* b->extensions from ext, an <extensions/> element, if it holds any. */
static int bookmark_read_extensions(struct bookmark *b,
				    const struct xml_node *ext)
{
	struct buf out = BUF_INIT;
	int rc = 0;
	if (ext && xml_child(ext, NULL, NULL)) {
		rc = xml_serialize(ext, "", &out) < 0 ||
				     buf_append(&out, "", 1) < 0
			     ? -1
			     : 0;
		if (rc == 0)
			rc = bookmark_dup(&b->extensions, out.data);
	}
	buf_free(&out);
	return rc;
}

static int bookmark_read_done(struct bookmark *b, int rc)
{
	if (rc != 0)
		bookmark_free(b);
	return rc;
}

int bookmark_from_item(struct bookmark *b, struct arena *a,
		       const struct xml_node *item)
{
	const struct xml_node *conf = xml_child(item, NULL, NULL);
	const char *id = xml_attr_get(item, "id");
	*b = (struct bookmark){0};
	if (!conf || !xml_is(conf, NS_BOOKMARKS, "conference"))
		return 1;
	int rc = bookmark_key(b, id);
	if (rc == 0)
		rc = bookmark_dup(&b->id, id);
	if (rc == 0)
		rc = bookmark_read_common(b, a, conf, NS_BOOKMARKS);
	if (rc == 0)
		rc = bookmark_read_extensions(
			b, xml_child(conf, NS_BOOKMARKS, "extensions"));
	return bookmark_read_done(b, rc);
}

/* The children of conf in other namespaces than XEP-0048's, in an
 * <extensions/> of XEP-0402's. */
static struct xml_node *bookmark_foreign(struct arena *a,
					 const struct xml_node *conf)
{
	struct xml_node *ext = xml_node_new(a, NS_BOOKMARKS, "extensions");
	for (const struct xml_node *c = xml_child(conf, NULL, NULL); ext && c;
	     c = xml_next(c, NULL, NULL)) {
		struct xml_node *copy = strcmp(c->ns, NS_BOOKMARKS_LEGACY) != 0
						? xml_copy(a, c)
						: NULL;
		if (copy)
			xml_append_child(ext, copy);
	}
	return ext;
}

int bookmark_from_conference(struct bookmark *b, struct arena *a,
			     const struct xml_node *conference)
{
	*b = (struct bookmark){0};
	/* XEP-0048 §2.1: the 'jid' attribute is REQUIRED. */
	int rc = bookmark_key(b, xml_attr_get(conference, "jid"));
	struct xml_node *ext = NULL;
	if (rc == 0)
		rc = bookmark_dup(&b->id, b->key);
	if (rc == 0)
		rc = bookmark_read_common(b, a, conference,
					  NS_BOOKMARKS_LEGACY);
	if (rc == 0 && !(ext = bookmark_foreign(a, conference)))
		rc = -1;
	if (rc == 0)
		rc = bookmark_read_extensions(b, ext);
	return bookmark_read_done(b, rc);
}

/* ------------------------------------------------------------ writing */

/* conf's name, autojoin, nick and password in ns. 0 or -1. */
static int bookmark_write_common(struct arena *a, struct xml_node *conf,
				 const struct bookmark *b, const char *ns)
{
	if ((b->name && xml_set_attr(a, conf, "name", b->name) < 0) ||
	    (b->autojoin && xml_set_attr(a, conf, "autojoin", "true") < 0) ||
	    (b->nick && !xml_add_text_child(a, conf, ns, "nick", b->nick)) ||
	    (b->password &&
	     !xml_add_text_child(a, conf, ns, "password", b->password)))
		return -1;
	return 0;
}

static struct xml_node *bookmark_extensions(struct arena *a,
					    const struct bookmark *b)
{
	return xml_parse(a, b->extensions, strlen(b->extensions), NS_BOOKMARKS);
}

struct xml_node *bookmark_item_new(struct arena *a, const struct bookmark *b)
{
	struct xml_node *item = xml_node_new(a, NS_PUBSUB, "item");
	struct xml_node *conf =
		item ? xml_add_child(a, item, NS_BOOKMARKS, "conference")
		     : NULL;
	struct xml_node *ext = NULL;
	if (!conf || xml_set_attr(a, item, "id", b->id) < 0 ||
	    bookmark_write_common(a, conf, b, NS_BOOKMARKS) < 0 ||
	    (b->extensions && !(ext = bookmark_extensions(a, b))))
		return NULL;
	if (ext)
		xml_append_child(conf, ext);
	return item;
}

struct xml_node *bookmark_conference_new(struct arena *a,
					 const struct bookmark *b)
{
	struct xml_node *conf =
		xml_node_new(a, NS_BOOKMARKS_LEGACY, "conference");
	struct xml_node *ext = NULL;
	if (!conf || xml_set_attr(a, conf, "jid", b->id) < 0 ||
	    bookmark_write_common(a, conf, b, NS_BOOKMARKS_LEGACY) < 0 ||
	    (b->extensions && !(ext = bookmark_extensions(a, b))))
		return NULL;
	for (struct xml_node *c = ext ? xml_child(ext, NULL, NULL) : NULL, *n;
	     c; c = n) {
		n = xml_next(c, NULL, NULL);
		xml_remove_child(ext, c);
		xml_append_child(conf, c);
	}
	return conf;
}

/* ------------------------------------------------------------ compare */

static bool bookmark_same(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

bool bookmark_equal(const struct bookmark *a, const struct bookmark *b)
{
	return a->autojoin == b->autojoin && bookmark_same(a->name, b->name) &&
	       bookmark_same(a->nick, b->nick) &&
	       bookmark_same(a->password, b->password) &&
	       bookmark_same(a->extensions, b->extensions);
}

void bookmark_free(struct bookmark *b)
{
	free(b->id);
	free(b->key);
	free(b->name);
	free(b->nick);
	free(b->password);
	free(b->extensions);
	*b = (struct bookmark){0};
}

/* ------------------------------------------------------------ lists */

struct bookmark *bookmark_list_find(const struct bookmark_list *l,
				    const char *key)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].key, key) == 0)
			return &l->v[i];
	return NULL;
}

/* Takes b into l, replacing the bookmark of the same room. 0 or -1. */
static int bookmark_list_take(struct bookmark_list *l, struct bookmark *b)
{
	struct bookmark *same = bookmark_list_find(l, b->key);
	struct bookmark *v =
		same ? l->v : realloc(l->v, (l->n + 1) * sizeof *l->v);
	if (!v) {
		bookmark_free(b);
		return -1;
	}
	l->v = v;
	if (same)
		bookmark_free(same);
	else
		same = &l->v[l->n++];
	*same = *b;
	return 0;
}

long bookmark_list_read_storage(struct bookmark_list *l, struct arena *a,
				const struct xml_node *storage)
{
	long skipped = 0;
	for (const struct xml_node *c =
		     xml_child(storage, NS_BOOKMARKS_LEGACY, "conference");
	     c; c = xml_next(c, NS_BOOKMARKS_LEGACY, "conference")) {
		struct bookmark b;
		int rc = bookmark_from_conference(&b, a, c);
		if (rc < 0 || (rc == 0 && bookmark_list_take(l, &b) < 0))
			return -1;
		skipped += rc;
	}
	return skipped;
}

int bookmark_list_read_items(struct bookmark_list *l, struct arena *a,
			     const struct storage_items *items)
{
	for (size_t i = 0; i < items->count; i++) {
		const struct storage_item *it = &items->items[i];
		struct xml_node *item =
			xml_parse(a, it->value, it->value_len, NS_PUBSUB);
		struct bookmark b;
		int rc = item ? bookmark_from_item(&b, a, item) : 1;
		if (rc < 0 || (rc == 0 && bookmark_list_take(l, &b) < 0))
			return -1;
	}
	return 0;
}

void bookmark_list_free(struct bookmark_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		bookmark_free(&l->v[i]);
	free(l->v);
	*l = (struct bookmark_list){0};
}

struct xml_node *bookmark_storage_new(struct arena *a,
				      const struct bookmark_list *l,
				      const struct xml_node *urls)
{
	struct xml_node *s = xml_node_new(a, NS_BOOKMARKS_LEGACY, "storage");
	for (size_t i = 0; s && i < l->n; i++) {
		struct xml_node *c = bookmark_conference_new(a, &l->v[i]);
		if (!c)
			return NULL;
		xml_append_child(s, c);
	}
	for (const struct xml_node *u =
		     urls ? xml_child(urls, NS_BOOKMARKS_LEGACY, "url") : NULL;
	     s && u; u = xml_next(u, NS_BOOKMARKS_LEGACY, "url")) {
		struct xml_node *c = xml_copy(a, u);
		if (!c)
			return NULL;
		xml_append_child(s, c);
	}
	return s;
}
