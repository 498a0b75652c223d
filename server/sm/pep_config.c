/* pep_config: a PEP node's configuration (XEP-0060 §8.2, the fields of
 * pubsub#node_config that clients use), as data forms (XEP-0004) for
 * pubsub#owner configure and XEP-0060 §7.1.5 publish-options, and as
 * the text of its record in storage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pep_node.h"
#include "sm.h"

#define NS_DATA "jabber:x:data"
#define FORM_NODE_CONFIG NS_PUBSUB "#node_config"

static const char *const access_names[] = {
	[PEP_ACCESS_PRESENCE] = "presence",
	[PEP_ACCESS_OPEN] = "open",
	[PEP_ACCESS_WHITELIST] = "whitelist",
};

static const char *const send_last_names[] = {
	[PEP_SEND_LAST_NEVER] = "never",
	[PEP_SEND_LAST_ON_SUB] = "on_sub",
	[PEP_SEND_LAST_ON_SUB_AND_PRESENCE] = "on_sub_and_presence",
};

#define NAMES(a) (sizeof(a) / sizeof *(a))

/* XEP-0163 §3: a PEP node's defaults are those of a pubsub service's
 * leaf node, with presence access (§5: "the default access model is
 * presence"); XEP-0223 §3: items persist; one item (the last), as
 * Prosody and ejabberd keep by default. */
void pep_config_default(struct pep_config *c)
{
	*c = (struct pep_config){
		.access = PEP_ACCESS_PRESENCE,
		.max_items = 1,
		.persist_items = true,
		.send_last = PEP_SEND_LAST_ON_SUB_AND_PRESENCE,
		.notify_retract = true,
		.deliver_payloads = true,
	};
}

static int pep_config_name_index(const char *const *names, size_t n,
				 const char *value)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(names[i], value) == 0)
			return (int)i;
	return -1;
}

/* XEP-0004 §3.3 boolean: "0", "false", "1" or "true". */
static int pep_config_boolean(const char *value, bool *out)
{
	if (strcmp(value, "1") == 0 || strcmp(value, "true") == 0)
		*out = true;
	else if (strcmp(value, "0") == 0 || strcmp(value, "false") == 0)
		*out = false;
	else
		return -1;
	return 0;
}

/* pubsub#max_items: a number from 1, or XEP-0060 §16.4.3's 'max', the
 * most the service allows (pep-max-items). A larger number is not
 * acceptable: the service could not keep the items asked for. */
static int pep_config_max_items(const struct pep *pep, const char *value,
				unsigned *out)
{
	if (strcmp(value, "max") == 0) {
		*out = pep->max_items;
		return 0;
	}
	char *end;
	unsigned long n = strtoul(value, &end, 10);
	if (end == value || *end || n < 1 || n > pep->max_items ||
	    value[0] == '-')
		return -1;
	*out = (unsigned)n;
	return 0;
}

/* One field into c. Returns its bit, 0 for a field we do not know, -1
 * for a value that is not valid. */
static int pep_config_field(const struct pep *pep, const char *var,
			    const char *value, struct pep_config *c)
{
	int i;
	if (strcmp(var, "pubsub#access_model") == 0) {
		if ((i = pep_config_name_index(access_names,
					       NAMES(access_names), value)) < 0)
			return -1;
		c->access = (enum pep_access)i;
		return PEP_FIELD_ACCESS;
	}
	if (strcmp(var, "pubsub#max_items") == 0)
		return pep_config_max_items(pep, value, &c->max_items) < 0
			       ? -1
			       : PEP_FIELD_MAX_ITEMS;
	if (strcmp(var, "pubsub#persist_items") == 0)
		return pep_config_boolean(value, &c->persist_items) < 0
			       ? -1
			       : PEP_FIELD_PERSIST;
	if (strcmp(var, "pubsub#send_last_published_item") == 0) {
		if ((i = pep_config_name_index(send_last_names,
					       NAMES(send_last_names), value)) <
		    0)
			return -1;
		c->send_last = (enum pep_send_last)i;
		return PEP_FIELD_SEND_LAST;
	}
	if (strcmp(var, "pubsub#notify_retract") == 0)
		return pep_config_boolean(value, &c->notify_retract) < 0
			       ? -1
			       : PEP_FIELD_NOTIFY_RETRACT;
	if (strcmp(var, "pubsub#deliver_payloads") == 0)
		return pep_config_boolean(value, &c->deliver_payloads) < 0
			       ? -1
			       : PEP_FIELD_DELIVER_PAYLOADS;
	/* Gajim 1.7 asks for it in the publish-options of its XEP-0402
	 * bookmarks: a node's deletion is always notified, so true is met
	 * and false can never be. */
	bool notify_delete;
	if (strcmp(var, "pubsub#notify_delete") == 0)
		return pep_config_boolean(value, &notify_delete) < 0 ||
				       !notify_delete
			       ? -1
			       : PEP_FIELD_NOTIFY_DELETE;
	return 0;
}

int pep_config_read_form(const struct pep *pep, const struct xml_node *form,
			 const char *form_type, struct pep_config *c,
			 unsigned *fields, const char **why)
{
	struct arena *a = &pep->sm->arena;
	bool strict = strcmp(form_type, NS_PUBSUB "#publish-options") == 0;
	for (const struct xml_node *f = xml_child(form, NS_DATA, "field"); f;
	     f = xml_next(f, NS_DATA, "field")) {
		const char *var = xml_attr_get(f, "var");
		const struct xml_node *v = xml_child(f, NS_DATA, "value");
		const char *value = v ? xml_text(a, v) : "";
		if (!var || !value) {
			*why = "a field without var";
			return -1;
		}
		if (strcmp(var, "FORM_TYPE") == 0) {
			if (strcmp(value, form_type) != 0) {
				*why = "FORM_TYPE";
				return -1;
			}
			continue;
		}
		int bit = pep_config_field(pep, var, value, c);
		/* An option of publish-options that we do not know is a
		 * precondition we cannot check: not met. A configuration
		 * form may carry fields we do not offer: ignored. */
		if (bit < 0 || (bit == 0 && strict)) {
			*why = var;
			return -1;
		}
		*fields |= (unsigned)bit;
	}
	return 0;
}

/* ------------------------------------------------------------ forms */

static struct xml_node *pep_config_add_field(struct arena *a,
					     struct xml_node *x,
					     const char *var, const char *type,
					     const char *value)
{
	struct xml_node *f = xml_add_child(a, x, NS_DATA, "field");
	struct xml_node *v = f ? xml_add_child(a, f, NS_DATA, "value") : NULL;
	if (!v || xml_set_attr(a, f, "var", var) < 0 ||
	    xml_set_attr(a, f, "type", type) < 0 ||
	    xml_append_text(a, v, value, strlen(value)) < 0)
		return NULL;
	return f;
}

static int pep_config_add_options(struct arena *a, struct xml_node *f,
				  const char *const *names, size_t n)
{
	for (size_t i = 0; f && i < n; i++) {
		struct xml_node *o = xml_add_child(a, f, NS_DATA, "option");
		struct xml_node *v =
			o ? xml_add_child(a, o, NS_DATA, "value") : NULL;
		if (!v || xml_append_text(a, v, names[i], strlen(names[i])) < 0)
			return -1;
	}
	return f ? 0 : -1;
}

/* XEP-0060 §8.2.1 (Example 126): the form of the node's configuration. */
int pep_config_add_form(struct arena *a, struct xml_node *parent,
			const struct pep_config *c)
{
	char max[16];
	snprintf(max, sizeof max, "%u", c->max_items);
	struct xml_node *x = xml_add_child(a, parent, NS_DATA, "x");
	if (!x || xml_set_attr(a, x, "type", "form") < 0 ||
	    !pep_config_add_field(a, x, "FORM_TYPE", "hidden",
				  FORM_NODE_CONFIG) ||
	    pep_config_add_options(
		    a,
		    pep_config_add_field(a, x, "pubsub#access_model",
					 "list-single",
					 access_names[c->access]),
		    access_names, NAMES(access_names)) < 0 ||
	    !pep_config_add_field(a, x, "pubsub#max_items", "text-single",
				  max) ||
	    !pep_config_add_field(a, x, "pubsub#persist_items", "boolean",
				  c->persist_items ? "1" : "0") ||
	    pep_config_add_options(
		    a,
		    pep_config_add_field(
			    a, x, "pubsub#send_last_published_item",
			    "list-single", send_last_names[c->send_last]),
		    send_last_names, NAMES(send_last_names)) < 0 ||
	    !pep_config_add_field(a, x, "pubsub#notify_retract", "boolean",
				  c->notify_retract ? "1" : "0") ||
	    !pep_config_add_field(a, x, "pubsub#deliver_payloads", "boolean",
				  c->deliver_payloads ? "1" : "0"))
		return -1;
	return 0;
}

/* ------------------------------------------------------------ options */

bool pep_config_meets(const struct pep_config *c, const struct pep_options *o)
{
	const struct pep_config *w = &o->config;
	unsigned f = o->fields & ~o->create_only;
	return (!(f & PEP_FIELD_ACCESS) || c->access == w->access) &&
	       (!(f & PEP_FIELD_MAX_ITEMS) || c->max_items == w->max_items) &&
	       (!(f & PEP_FIELD_PERSIST) ||
		c->persist_items == w->persist_items) &&
	       (!(f & PEP_FIELD_SEND_LAST) || c->send_last == w->send_last) &&
	       (!(f & PEP_FIELD_NOTIFY_RETRACT) ||
		c->notify_retract == w->notify_retract) &&
	       (!(f & PEP_FIELD_DELIVER_PAYLOADS) ||
		c->deliver_payloads == w->deliver_payloads);
}

void pep_config_apply(struct pep_config *c, const struct pep_options *o)
{
	const struct pep_config *w = &o->config;
	if (o->fields & PEP_FIELD_ACCESS)
		c->access = w->access;
	if (o->fields & PEP_FIELD_MAX_ITEMS)
		c->max_items = w->max_items;
	if (o->fields & PEP_FIELD_PERSIST)
		c->persist_items = w->persist_items;
	if (o->fields & PEP_FIELD_SEND_LAST)
		c->send_last = w->send_last;
	if (o->fields & PEP_FIELD_NOTIFY_RETRACT)
		c->notify_retract = w->notify_retract;
	if (o->fields & PEP_FIELD_DELIVER_PAYLOADS)
		c->deliver_payloads = w->deliver_payloads;
}

/* ------------------------------------------------------------ records */

int pep_config_encode(const struct pep_config *c, struct buf *out)
{
	return buf_printf(out,
			  "access=%s\nmax=%u\npersist=%d\nsend_last=%s\n"
			  "notify_retract=%d\npayloads=%d\n",
			  access_names[c->access], c->max_items,
			  c->persist_items, send_last_names[c->send_last],
			  c->notify_retract, c->deliver_payloads);
}

int pep_config_decode(struct pep_config *c, const char *text)
{
	char access[32], send_last[32];
	int persist, notify_retract, payloads, i, j;
	if (sscanf(text,
		   "access=%31[a-z_]\nmax=%u\npersist=%d\nsend_last=%31[a-z_]"
		   "\nnotify_retract=%d\npayloads=%d\n",
		   access, &c->max_items, &persist, send_last, &notify_retract,
		   &payloads) != 6 ||
	    (i = pep_config_name_index(access_names, NAMES(access_names),
				       access)) < 0 ||
	    (j = pep_config_name_index(send_last_names, NAMES(send_last_names),
				       send_last)) < 0 ||
	    c->max_items < 1)
		return -1;
	c->access = (enum pep_access)i;
	c->send_last = (enum pep_send_last)j;
	c->persist_items = persist;
	c->notify_retract = notify_retract;
	c->deliver_payloads = payloads;
	return 0;
}
