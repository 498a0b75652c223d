/* caps_ver: XEP-0115 §5.1's verification string and its SHA-1, with
 * the checks of §5.4 that make a disco#info result ill-formed. Every
 * sort is "i;octet" (§5.1, RFC 4790 §9.3): strcmp compares bytes as
 * unsigned char. */
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "caps_ver.h"

#define NS_DATA "jabber:x:data"

/* An extended service discovery form (XEP-0128) and its FORM_TYPE. */
struct caps_form {
	const char *type;
	const struct xml_node *x;
};

static int caps_fail(const char **why, const char *what)
{
	*why = what;
	return -1;
}

static const char *attr_or_empty(const struct xml_node *n, const char *name)
{
	const char *v = xml_attr_get(n, name);
	return v ? v : "";
}

/* §5.1 step 2: identities sort by category, then type, xml:lang, name. */
static const char *const identity_attrs[] = {"category", "type", "xml:lang",
					     "name"};

static int identity_compare(const void *a, const void *b)
{
	const struct xml_node *x = *(const struct xml_node *const *)a;
	const struct xml_node *y = *(const struct xml_node *const *)b;
	for (size_t i = 0; i < 4; i++) {
		int c = strcmp(attr_or_empty(x, identity_attrs[i]),
			       attr_or_empty(y, identity_attrs[i]));
		if (c)
			return c;
	}
	return 0;
}

static int string_compare(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int form_compare(const void *a, const void *b)
{
	return strcmp(((const struct caps_form *)a)->type,
		      ((const struct caps_form *)b)->type);
}

/* parent's ns:name children, in an array of a (*n of them); NULL when
 * memory ran out. */
static const struct xml_node **caps_children(struct arena *a,
					     const struct xml_node *parent,
					     const char *ns, const char *name,
					     size_t *n)
{
	*n = 0;
	for (struct xml_node *c = xml_child(parent, ns, name); c;
	     c = xml_next(c, ns, name))
		(*n)++;
	const struct xml_node **v = arena_alloc(a, (*n + 1) * sizeof *v);
	if (!v)
		return NULL;
	size_t i = 0;
	for (struct xml_node *c = xml_child(parent, ns, name); c;
	     c = xml_next(c, ns, name))
		v[i++] = c;
	return v;
}

/* The same children's attribute attr (their text when attr is NULL),
 * sorted. */
static const char **caps_strings(struct arena *a, const struct xml_node *parent,
				 const char *ns, const char *name,
				 const char *attr, size_t *n)
{
	const struct xml_node **c = caps_children(a, parent, ns, name, n);
	const char **v = c ? arena_alloc(a, (*n + 1) * sizeof *v) : NULL;
	if (!v)
		return NULL;
	for (size_t i = 0; i < *n; i++) {
		v[i] = attr ? attr_or_empty(c[i], attr) : xml_text(a, c[i]);
		if (!v[i])
			return NULL;
	}
	qsort(v, *n, sizeof *v, string_compare);
	return v;
}

/* Appends s and §5.1's separator '<'. */
static int caps_append(struct buf *out, const char *s)
{
	if (buf_append_str(out, s) < 0)
		return -1;
	return buf_append(out, "<", 1);
}

/* §5.1 step 3: 'category/type/lang/name<'. */
static int caps_append_identity(struct buf *out, const struct xml_node *id)
{
	for (size_t j = 0; j < 3; j++) {
		const char *v = attr_or_empty(id, identity_attrs[j]);
		if (buf_append_str(out, v) < 0 || buf_append(out, "/", 1) < 0)
			return -1;
	}
	return caps_append(out, attr_or_empty(id, "name"));
}

/* §5.1 steps 2 and 3; §5.4 step 3.3: two identities alike make the
 * result ill-formed. */
static int caps_append_identities(struct arena *a, const struct xml_node *q,
				  struct buf *out, const char **why)
{
	size_t n;
	const struct xml_node **ids =
		caps_children(a, q, NS_DISCO_INFO, "identity", &n);
	if (!ids)
		return caps_fail(why, "out of memory");
	qsort(ids, n, sizeof *ids, identity_compare);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && identity_compare(&ids[i - 1], &ids[i]) == 0)
			return caps_fail(why, "duplicate identity");
		if (caps_append_identity(out, ids[i]) < 0)
			return caps_fail(why, "out of memory");
	}
	return 0;
}

/* §5.1 steps 4 and 5: each feature and '<'; §5.4 step 3.4: a feature
 * given twice makes the result ill-formed. */
static int caps_append_features(struct arena *a, const struct xml_node *q,
				struct buf *out, const char **why)
{
	size_t n;
	const char **v =
		caps_strings(a, q, NS_DISCO_INFO, "feature", "var", &n);
	if (!v)
		return caps_fail(why, "out of memory");
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(v[i - 1], v[i]) == 0)
			return caps_fail(why, "duplicate feature");
		if (caps_append(out, v[i]) < 0)
			return caps_fail(why, "out of memory");
	}
	return 0;
}

/* The FORM_TYPE of form x in *type: NULL when x has no FORM_TYPE field
 * of type hidden, and §5.4 step 3.6 leaves x out. Returns -1 when x's
 * FORM_TYPE makes the result ill-formed (§5.4 step 3.5: values that
 * differ). */
static int caps_form_type(struct arena *a, const struct xml_node *x,
			  const char **type, const char **why)
{
	const struct xml_node *field = NULL;
	*type = NULL;
	for (struct xml_node *f = xml_child(x, NS_DATA, "field"); f;
	     f = xml_next(f, NS_DATA, "field")) {
		if (strcmp(attr_or_empty(f, "var"), "FORM_TYPE") != 0)
			continue;
		if (field)
			return caps_fail(why, "two FORM_TYPE fields in a form");
		field = f;
	}
	if (!field || strcmp(attr_or_empty(field, "type"), "hidden") != 0)
		return 0;
	size_t n;
	const char **v = caps_strings(a, field, NS_DATA, "value", NULL, &n);
	if (!v)
		return caps_fail(why, "out of memory");
	if (n == 0)
		return caps_fail(why, "a FORM_TYPE without a value");
	if (strcmp(v[0], v[n - 1]) != 0)
		return caps_fail(why, "a FORM_TYPE with several values");
	*type = v[0];
	return 0;
}

static int field_compare(const void *a, const void *b)
{
	return strcmp(attr_or_empty(*(const struct xml_node *const *)a, "var"),
		      attr_or_empty(*(const struct xml_node *const *)b, "var"));
}

/* §5.1 step 7: a form's FORM_TYPE, then each other field's var and its
 * sorted values, each followed by '<'. */
static int caps_append_form(struct arena *a, const struct caps_form *form,
			    struct buf *out)
{
	size_t n;
	const struct xml_node **fields =
		caps_children(a, form->x, NS_DATA, "field", &n);
	if (!fields || caps_append(out, form->type) < 0)
		return -1;
	qsort(fields, n, sizeof *fields, field_compare);
	for (size_t i = 0; i < n; i++) {
		const char *var = attr_or_empty(fields[i], "var");
		if (strcmp(var, "FORM_TYPE") == 0)
			continue;
		size_t nv;
		const char **v =
			caps_strings(a, fields[i], NS_DATA, "value", NULL, &nv);
		if (!v || caps_append(out, var) < 0)
			return -1;
		for (size_t j = 0; j < nv; j++)
			if (caps_append(out, v[j]) < 0)
				return -1;
	}
	return 0;
}

/* §5.1 steps 6 and 7: the forms with a FORM_TYPE, sorted by it; §5.4
 * step 3.5: two of one FORM_TYPE make the result ill-formed. */
static int caps_append_forms(struct arena *a, const struct xml_node *q,
			     struct buf *out, const char **why)
{
	size_t n, nforms = 0;
	const struct xml_node **x = caps_children(a, q, NS_DATA, "x", &n);
	struct caps_form *forms =
		x ? arena_alloc(a, (n + 1) * sizeof *forms) : NULL;
	if (!forms)
		return caps_fail(why, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const char *type;
		if (caps_form_type(a, x[i], &type, why) < 0)
			return -1;
		if (type)
			forms[nforms++] = (struct caps_form){type, x[i]};
	}
	qsort(forms, nforms, sizeof *forms, form_compare);
	for (size_t i = 0; i < nforms; i++) {
		if (i > 0 && form_compare(&forms[i - 1], &forms[i]) == 0)
			return caps_fail(why, "two forms of one FORM_TYPE");
		if (caps_append_form(a, &forms[i], out) < 0)
			return caps_fail(why, "out of memory");
	}
	return 0;
}

int caps_ver_string(const struct xml_node *query, struct buf *out,
		    const char **why)
{
	struct arena a = ARENA_INIT;
	int rc = -1;
	if (caps_append_identities(&a, query, out, why) == 0 &&
	    caps_append_features(&a, query, out, why) == 0 &&
	    caps_append_forms(&a, query, out, why) == 0)
		rc = 0;
	arena_reset(&a);
	return rc;
}

int caps_ver_hash(const struct xml_node *query, char ver[CAPS_VER_SIZE],
		  const char **why)
{
	struct buf s = BUF_INIT;
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	int rc = caps_ver_string(query, &s, why);
	if (rc == 0 && !EVP_Digest(s.data ? s.data : "", s.len, md, &len,
				   EVP_sha1(), NULL))
		rc = caps_fail(why, "SHA-1 failed");
	buf_free(&s);
	if (rc == 0)
		EVP_EncodeBlock((unsigned char *)ver, md, (int)len);
	return rc;
}
