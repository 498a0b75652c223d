/* contacts: XEP-0157 Contact Addresses for XMPP Services. Each host's
 * <contacts> (docs/configuration.md, host/contacts) becomes the
 * http://jabber.org/network/serverinfo form (XEP-0128) of its
 * disco#info:
 *
 *	<contacts>
 *	  <admin>mailto:admin@example.org</admin>
 *	  <admin>xmpp:admin@example.org</admin>
 *	  <abuse>https://example.org/abuse</abuse>
 *	</contacts>
 */
#include <string.h>

#include "../../lib/config_reader.h"
#include "../../lib/xml.h"
#include "module.h"

#define NS_DATA "jabber:x:data"
#define NS_SERVERINFO "http://jabber.org/network/serverinfo"
/* Addresses per host, and bytes per address. */
#define CONTACTS_MAX 32
#define CONTACTS_ADDRESS_MAX 1023

extern const struct sm_module sm_module_contacts;

/* XEP-0157 §2: the kinds of address, each the field TYPE-addresses. */
static const char *const contact_types[] = {
	"abuse", "admin", "feedback", "sales", "security", "support", NULL};

/* Where the read function puts the form (its target). */
struct contacts_form {
	struct arena *arena;
	struct xml_node *query;
};

static bool contacts_type_known(const char *name)
{
	for (const char *const *t = contact_types; *t; t++)
		if (strcmp(*t, name) == 0)
			return true;
	return false;
}

/* XEP-0157 §2: each value is a URI (mailto:, xmpp:, https: …): a scheme
 * and a colon, no white space. */
static bool contacts_uri_ok(const char *v)
{
	size_t scheme = strspn(v, "abcdefghijklmnopqrstuvwxyz"
				  "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
	return scheme > 0 && v[scheme] == ':' && v[scheme + 1] &&
	       strlen(v) <= CONTACTS_ADDRESS_MAX && !strpbrk(v, " \t\r\n");
}

static int contacts_check(struct config_loader *l, struct cnode *n,
			  const char *path)
{
	size_t count = 0;
	for (struct cnode *c = n->children; c; c = c->next) {
		const char *v = cnode_value(c);
		if (!contacts_type_known(c->name))
			return config_fail(l, c, path,
					   "<%s> is not a kind of address "
					   "(abuse, admin, feedback, sales, "
					   "security, support)",
					   c->name);
		if (!contacts_uri_ok(v))
			return config_fail(l, c, path,
					   "'%s' is not an address URI "
					   "(mailto:…, xmpp:…, https:…)",
					   v);
		if (++count > CONTACTS_MAX)
			return config_fail(l, c, path, "more than %d addresses",
					   CONTACTS_MAX);
	}
	return 0;
}

/* The field TYPE-addresses with each address of that kind, if any. */
static int contacts_add_field(struct arena *a, struct xml_node *x,
			      struct cnode *n, const char *type)
{
	struct xml_node *field = NULL;
	for (struct cnode *c = n->children; c; c = c->next) {
		if (strcmp(c->name, type) != 0)
			continue;
		if (!field) {
			char var[32];
			strcpy(var, type);
			strcat(var, "-addresses");
			field = xml_add_child(a, x, NS_DATA, "field");
			if (!field || xml_set_attr(a, field, "var", var) < 0)
				return -1;
		}
		if (!xml_add_text_child(a, field, NS_DATA, "value",
					cnode_value(c)))
			return -1;
	}
	return 0;
}

/* XEP-0157 §2: the form, a result with its hidden FORM_TYPE. */
static int contacts_add_form(struct arena *a, struct xml_node *query,
			     struct cnode *n)
{
	if (!n->children)
		return 0;
	struct xml_node *x = xml_add_child(a, query, NS_DATA, "x");
	struct xml_node *f = x ? xml_add_child(a, x, NS_DATA, "field") : NULL;
	if (!f || xml_set_attr(a, x, "type", "result") < 0 ||
	    xml_set_attr(a, f, "var", "FORM_TYPE") < 0 ||
	    xml_set_attr(a, f, "type", "hidden") < 0 ||
	    !xml_add_text_child(a, f, NS_DATA, "value", NS_SERVERINFO))
		return -1;
	for (const char *const *t = contact_types; *t; t++)
		if (contacts_add_field(a, x, n, *t) < 0)
			return -1;
	return 0;
}

/* host/contacts: checked when palabred reads config.xml; read into the
 * form of a host's disco#info (its target) once at start. */
static int contacts_read(struct config_loader *l, struct cnode *n,
			 const char *path)
{
	struct contacts_form *form = l->target;
	if (contacts_check(l, n, path) < 0)
		return -1;
	return form ? contacts_add_form(form->arena, form->query, n) : 0;
}

static int contacts_disco_extend(const struct config *cfg, size_t host,
				 struct arena *a, struct xml_node *query)
{
	struct contacts_form form = {a, query};
	char err[256];
	return sm_module_option_read_host(cfg, &sm_module_contacts, "contacts",
					  host, &form, err, sizeof err) < 0
		       ? -1
		       : 0;
}

static int contacts_init(struct sm *sm)
{
	return 0; /* nothing but its disco#info form */
}

static const struct sm_option contacts_options[] = {
	{.name = "contacts", .type = SM_OPTION_HOST, .read = contacts_read},
	{0}};

const struct sm_module sm_module_contacts = {
	.name = "contacts",
	.on_by_default = true,
	.options = contacts_options,
	.disco_extend = contacts_disco_extend,
	.init = contacts_init,
};
