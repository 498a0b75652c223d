/* form: the data forms (XEP-0004) rooms read and write: the room's
 * information (muc#roominfo), a voice request and its approval form
 * (muc#request). */
#include <string.h>

#include "muc.h"

struct xml_node *muc_form_field(const struct xml_node *form, const char *var)
{
	for (struct xml_node *f = xml_child(form, NS_XDATA, "field"); f;
	     f = xml_next(f, NS_XDATA, "field")) {
		const char *v = xml_attr_get(f, "var");
		if (v && strcmp(v, var) == 0)
			return f;
	}
	return NULL;
}

const char *muc_form_field_value(struct arena *a, const struct xml_node *field)
{
	struct xml_node *v = xml_child(field, NS_XDATA, "value");
	return v ? xml_text(a, v) : NULL;
}

const char *muc_form_value(struct arena *a, const struct xml_node *form,
			   const char *var)
{
	struct xml_node *f = muc_form_field(form, var);
	return f ? muc_form_field_value(a, f) : NULL;
}

bool muc_form_is(struct arena *a, const struct xml_node *form,
		 const char *form_type)
{
	const char *v = muc_form_value(a, form, "FORM_TYPE");
	return v && strcmp(v, form_type) == 0;
}

/* XEP-0004 §3.3: a boolean is "1"/"true" or "0"/"false". */
bool muc_form_true(const char *value)
{
	return value && (strcmp(value, "1") == 0 || strcmp(value, "true") == 0);
}

struct xml_node *muc_form_add(struct arena *a, struct xml_node *form,
			      const char *var, const char *type,
			      const char *label, const char *value)
{
	struct xml_node *f = xml_add_child(a, form, NS_XDATA, "field");
	if (!f || xml_set_attr(a, f, "var", var) < 0 ||
	    (type && xml_set_attr(a, f, "type", type) < 0) ||
	    (label && xml_set_attr(a, f, "label", label) < 0) ||
	    (value && !xml_add_text_child(a, f, NS_XDATA, "value", value)))
		return NULL;
	return f;
}
