/* xml: element trees in an arena, built from expat events or by hand, and
 * their serializer. */
#include "xml.h"
#include "have.h"

#include <expat.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

static const char no_ns[] = "";
static const char ns_xml[] = XML_NS_XML; /* interned: compared by address */

/* ---- building ---------------------------------------------------------- */

/* The namespace string for a new node: the parent's pointer when equal,
 * so that a stanza's tree holds its namespace once. */
static const char *ns_intern(struct arena *a, const struct xml_node *parent,
			     const char *ns, size_t len)
{
	if (len == 0)
		return no_ns;
	if (parent && strlen(parent->ns) == len && !memcmp(parent->ns, ns, len))
		return parent->ns;
	if (len == sizeof XML_NS_XML - 1 && !memcmp(ns, XML_NS_XML, len))
		return ns_xml;
	return arena_strndup(a, ns, len);
}

/* Splits "xml:lang" into the XML namespace and "lang". */
static const char *attr_ns(const char **name)
{
	if (!strncmp(*name, "xml:", 4)) {
		*name += 4;
		return ns_xml;
	}
	return no_ns;
}

struct xml_node *xml_node_new(struct arena *a, const char *ns, const char *name)
{
	struct xml_node *n = arena_alloc(a, sizeof *n);
	if (!n)
		return NULL;
	n->ns = ns && *ns ? arena_strdup(a, ns) : no_ns;
	n->name = arena_strdup(a, name);
	return n->ns && n->name ? n : NULL;
}

int xml_set_attr(struct arena *a, struct xml_node *n, const char *name,
		 const char *value)
{
	const char *ns = attr_ns(&name);
	struct xml_attr **link = &n->attrs;
	for (; *link; link = &(*link)->next) {
		struct xml_attr *at = *link;
		if (strcmp(at->name, name) || strcmp(at->ns, ns))
			continue;
		if (!value) {
			*link = at->next;
			return 0;
		}
		at->value = arena_strdup(a, value);
		return at->value ? 0 : -1;
	}
	if (!value)
		return 0;
	struct xml_attr *at = arena_alloc(a, sizeof *at);
	if (!at)
		return -1;
	at->ns = ns;
	at->name = arena_strdup(a, name);
	at->value = arena_strdup(a, value);
	if (!at->name || !at->value)
		return -1;
	*link = at;
	return 0;
}

void xml_append_child(struct xml_node *parent, struct xml_node *child)
{
	child->parent = parent;
	child->next = NULL;
	if (parent->last_child)
		parent->last_child->next = child;
	else
		parent->children = child;
	parent->last_child = child;
}

struct xml_node *xml_add_child(struct arena *a, struct xml_node *parent,
			       const char *ns, const char *name)
{
	struct xml_node *c = xml_node_new(a, ns, name);
	if (c)
		xml_append_child(parent, c);
	return c;
}

int xml_append_text(struct arena *a, struct xml_node *n, const char *text,
		    size_t len)
{
	struct xml_node *t = arena_alloc(a, sizeof *t);
	if (!t || !(t->text = arena_strndup(a, text, len)))
		return -1;
	t->ns = no_ns;
	t->text_len = len;
	xml_append_child(n, t);
	return 0;
}

struct xml_node *xml_add_text_child(struct arena *a, struct xml_node *parent,
				    const char *ns, const char *name,
				    const char *text)
{
	struct xml_node *c = xml_add_child(a, parent, ns, name);
	if (!c || xml_append_text(a, c, text, strlen(text)) < 0)
		return NULL;
	return c;
}

struct xml_node *xml_copy(struct arena *a, const struct xml_node *n)
{
	struct xml_node *c = arena_alloc(a, sizeof *c);
	if (!c)
		return NULL;
	if (!n->name) {
		c->ns = no_ns;
		c->text = arena_strndup(a, n->text, n->text_len);
		c->text_len = n->text_len;
		return c->text ? c : NULL;
	}
	c->ns = *n->ns ? arena_strdup(a, n->ns) : no_ns;
	c->name = arena_strdup(a, n->name);
	if (!c->ns || !c->name)
		return NULL;
	struct xml_attr **link = &c->attrs;
	for (const struct xml_attr *at = n->attrs; at; at = at->next) {
		struct xml_attr *ca = arena_alloc(a, sizeof *ca);
		if (!ca)
			return NULL;
		ca->ns = *at->ns ? arena_strdup(a, at->ns) : no_ns;
		ca->name = arena_strdup(a, at->name);
		ca->value = arena_strdup(a, at->value);
		if (!ca->ns || !ca->name || !ca->value)
			return NULL;
		*link = ca;
		link = &ca->next;
	}
	for (const struct xml_node *k = n->children; k; k = k->next) {
		struct xml_node *ck = xml_copy(a, k);
		if (!ck)
			return NULL;
		xml_append_child(c, ck);
	}
	return c;
}

void xml_remove_child(struct xml_node *parent, struct xml_node *child)
{
	struct xml_node *prev = NULL;
	for (struct xml_node *k = parent->children; k; prev = k, k = k->next) {
		if (k != child)
			continue;
		if (prev)
			prev->next = k->next;
		else
			parent->children = k->next;
		if (parent->last_child == k)
			parent->last_child = prev;
		k->parent = NULL;
		k->next = NULL;
		return;
	}
}

/* ---- reading ----------------------------------------------------------- */

const char *xml_attr_get(const struct xml_node *n, const char *name)
{
	const char *ns = attr_ns(&name);
	for (const struct xml_attr *at = n->attrs; at; at = at->next)
		if (!strcmp(at->name, name) && !strcmp(at->ns, ns))
			return at->value;
	return NULL;
}

bool xml_is(const struct xml_node *n, const char *ns, const char *name)
{
	return n->name && (!ns || !strcmp(n->ns, ns)) &&
	       (!name || !strcmp(n->name, name));
}

static struct xml_node *first_match(struct xml_node *k, const char *ns,
				    const char *name)
{
	for (; k; k = k->next)
		if (xml_is(k, ns, name))
			return k;
	return NULL;
}

struct xml_node *xml_child(const struct xml_node *n, const char *ns,
			   const char *name)
{
	return first_match(n->children, ns, name);
}

struct xml_node *xml_next(const struct xml_node *child, const char *ns,
			  const char *name)
{
	return first_match(child->next, ns, name);
}

const char *xml_text(struct arena *a, const struct xml_node *n)
{
	const struct xml_node *only = NULL;
	size_t len = 0, count = 0;
	for (const struct xml_node *k = n->children; k; k = k->next) {
		if (k->name)
			continue;
		only = k;
		len += k->text_len;
		count++;
	}
	if (count == 0)
		return no_ns;
	if (count == 1)
		return only->text; /* text nodes are NUL-terminated */
	char *s = arena_alloc(a, len + 1);
	if (!s)
		return NULL;
	char *p = s;
	for (const struct xml_node *k = n->children; k; k = k->next) {
		if (!k->name) {
			memcpy(p, k->text, k->text_len);
			p += k->text_len;
		}
	}
	return s;
}

/* ---- serializing ------------------------------------------------------- */

/* Escapes the five markup characters, and the whitespace that parsing
 * would normalize away: \r everywhere (XML 1.0 §2.11), \t \n in
 * attribute values too (§3.3.3), so that a tree survives a round trip. */
static int put_escaped(struct buf *out, const char *s, size_t len, bool attr)
{
	const char *run = s, *end = s + len;
	for (; s < end; s++) {
		const char *ref;
		switch (*s) {
		case '\r':
			ref = "&#13;";
			break;
		case '\n':
			ref = attr ? "&#10;" : NULL;
			break;
		case '\t':
			ref = attr ? "&#9;" : NULL;
			break;
		default:
			ref = NULL;
		}
		if (!ref)
			continue;
		if (buf_append_xml_escaped(out, run, (size_t)(s - run)) < 0 ||
		    buf_append_str(out, ref) < 0)
			return -1;
		run = s + 1;
	}
	return buf_append_xml_escaped(out, run, (size_t)(s - run));
}

/* The XML namespace: bound to the prefix xml by definition, and never
 * declared, nor the default namespace (Namespaces in XML 1.0 §3). */
static bool is_xml_ns(const char *ns)
{
	return ns == ns_xml || !strcmp(ns, XML_NS_XML);
}

/* Index of the generated prefix for at's namespace among the foreign
 * namespaces of this element's attributes; *first when at introduces it. */
static unsigned attr_prefix(const struct xml_attr *attrs,
			    const struct xml_attr *at, bool *first)
{
	unsigned index = 0;
	for (const struct xml_attr *o = attrs; o != at; o = o->next) {
		if (!*o->ns || is_xml_ns(o->ns))
			continue;
		bool seen = false;
		for (const struct xml_attr *p = attrs; p != o && !seen;
		     p = p->next)
			seen = !strcmp(p->ns, o->ns);
		if (seen)
			continue;
		if (!strcmp(o->ns, at->ns)) {
			*first = false;
			return index;
		}
		index++;
	}
	*first = true;
	return index;
}

static int put_attr(struct buf *out, const struct xml_node *n,
		    const struct xml_attr *at)
{
	int r = 0;
	if (!*at->ns) {
		r |= buf_append(out, " ", 1);
	} else if (is_xml_ns(at->ns)) {
		r |= buf_append(out, " xml:", 5);
	} else {
		bool first;
		unsigned prefix = attr_prefix(n->attrs, at, &first);
		if (first) {
			r |= buf_printf(out, " xmlns:a%u='", prefix);
			r |= put_escaped(out, at->ns, strlen(at->ns), true);
			r |= buf_append(out, "'", 1);
		}
		r |= buf_printf(out, " a%u:", prefix);
	}
	r |= buf_append_str(out, at->name);
	r |= buf_append(out, "='", 2);
	r |= put_escaped(out, at->value, strlen(at->value), true);
	r |= buf_append(out, "'", 1);
	return r;
}

/* An element's name; <xml:…> keeps its prefix, the only one bound. */
static int put_name(struct buf *out, const struct xml_node *n)
{
	int r = is_xml_ns(n->ns) ? buf_append(out, "xml:", 4) : 0;
	return r | buf_append_str(out, n->name);
}

/* default_ns: the default namespace in scope, which an xmlns declaration
 * changes where n's namespace differs. */
static int put_start(struct buf *out, const struct xml_node *n,
		     const char *default_ns)
{
	int r = buf_append(out, "<", 1);
	r |= put_name(out, n);
	if (!is_xml_ns(n->ns) && strcmp(n->ns, default_ns)) {
		r |= buf_append(out, " xmlns='", 8);
		r |= put_escaped(out, n->ns, strlen(n->ns), true);
		r |= buf_append(out, "'", 1);
	}
	for (const struct xml_attr *at = n->attrs; at; at = at->next)
		r |= put_attr(out, n, at);
	if (n->children)
		r |= buf_append(out, ">", 1);
	else
		r |= buf_append(out, "/>", 2);
	return r;
}

static int put_end(struct buf *out, const struct xml_node *n)
{
	int r = buf_append(out, "</", 2);
	r |= put_name(out, n);
	r |= buf_append(out, ">", 1);
	return r;
}

/* The default namespace in scope inside cur's parent: that of the nearest
 * ancestor (up to top) written without a prefix, else parent_ns. */
static const char *scope_ns(const struct xml_node *top, const char *parent_ns,
			    const struct xml_node *cur)
{
	while (cur != top) {
		cur = cur->parent;
		if (!is_xml_ns(cur->ns))
			return cur->ns;
	}
	return parent_ns;
}

/* Iterative over parent/next links: the depth of a tree costs no stack. */
int xml_serialize(const struct xml_node *n, const char *parent_ns,
		  struct buf *out)
{
	const struct xml_node *cur = n;
	int r = 0;
	for (;;) {
		if (!cur->name) {
			r |= buf_reserve(out, cur->text_len);
			r |= put_escaped(out, cur->text, cur->text_len, false);
		} else {
			r |= put_start(out, cur,
				       scope_ns(n,
						parent_ns ? parent_ns : no_ns,
						cur));
			if (cur->children) {
				cur = cur->children;
				continue;
			}
		}
		for (;;) {
			if (cur == n || r)
				return r ? -1 : 0;
			if (cur->next) {
				cur = cur->next;
				break;
			}
			cur = cur->parent;
			r |= put_end(out, cur);
		}
	}
}

/* ---- building from expat events ---------------------------------------- */

struct xml_node *xml_builder_start(struct xml_builder *b, const char *name,
				   const char **atts)
{
	struct arena *a = b->arena;
	struct xml_node *n = arena_alloc(a, sizeof *n);
	if (!n)
		return NULL;
	const char *sep = strchr(name, XML_NS_SEP);
	if (sep) {
		n->ns = ns_intern(a, b->cur, name, (size_t)(sep - name));
		n->name = arena_strdup(a, sep + 1);
	} else {
		n->ns = no_ns;
		n->name = arena_strdup(a, name);
	}
	if (!n->ns || !n->name)
		return NULL;
	struct xml_attr **link = &n->attrs;
	for (; atts[0]; atts += 2) {
		struct xml_attr *at = arena_alloc(a, sizeof *at);
		if (!at)
			return NULL;
		sep = strchr(atts[0], XML_NS_SEP);
		if (sep) {
			at->ns = ns_intern(a, n, atts[0],
					   (size_t)(sep - atts[0]));
			at->name = arena_strdup(a, sep + 1);
		} else {
			at->ns = no_ns;
			at->name = arena_strdup(a, atts[0]);
		}
		at->value = arena_strdup(a, atts[1]);
		if (!at->ns || !at->name || !at->value)
			return NULL;
		*link = at;
		link = &at->next;
	}
	if (b->cur)
		xml_append_child(b->cur, n);
	b->cur = n;
	return n;
}

struct xml_node *xml_builder_end(struct xml_builder *b)
{
	struct xml_node *n = b->cur;
	b->cur = n->parent;
	return n;
}

int xml_builder_text(struct xml_builder *b, const char *s, size_t len)
{
	struct xml_node *t = b->cur->last_child;
	if (t && !t->name) {
		/* Expat splits text at newlines and references: grow the open
		 * text node geometrically rather than copying it each time. */
		char *text = (char *)t->text;
		size_t need = t->text_len + len + 1;
		if (need > b->text_cap) {
			size_t cap =
				2 * b->text_cap > need ? 2 * b->text_cap : need;
			char *grown = arena_alloc(b->arena, cap);
			if (!grown)
				return -1;
			memcpy(grown, text, t->text_len);
			t->text = text = grown;
			b->text_cap = cap;
		}
		memcpy(text + t->text_len, s, len);
		t->text_len += len;
		text[t->text_len] = '\0';
		return 0;
	}
	if (xml_append_text(b->arena, b->cur, s, len) < 0)
		return -1;
	b->text_cap = len + 1;
	return 0;
}

/* ---- parsing one element ----------------------------------------------- */

struct parse {
	XML_Parser parser;
	struct xml_builder builder;
	unsigned depth;    /* 1 inside the wrapper, 2 in the element */
	unsigned elements; /* top-level elements seen */
	struct xml_node *root;
	bool failed;
	bool head_only; /* stop once root's start tag is built */
};

static void parse_fail(struct parse *p)
{
	if (!p->failed)
		XML_StopParser(p->parser, XML_FALSE);
	p->failed = true;
}

static void XMLCALL parse_start(void *ud, const char *name, const char **atts)
{
	struct parse *p = ud;
	if (p->failed || p->depth++ == 0)
		return; /* the wrapper */
	if (p->depth == 2 && ++p->elements > 1)
		return parse_fail(p);
	struct xml_node *n = xml_builder_start(&p->builder, name, atts);
	if (!n)
		parse_fail(p);
	else if (p->depth == 2)
		p->root = n;
	if (n && p->head_only)
		parse_fail(p); /* done */
}

static void XMLCALL parse_end(void *ud, const char *name)
{
	struct parse *p = ud;
	if (p->failed)
		return;
	if (--p->depth > 0)
		xml_builder_end(&p->builder);
	else
		parse_fail(p); /* the wrapper's end: "</r>" in the bytes */
}

static void XMLCALL parse_text(void *ud, const char *s, int len)
{
	struct parse *p = ud;
	if (p->failed)
		return;
	if (p->depth == 1) { /* beside the element: only whitespace */
		for (int i = 0; i < len; i++)
			if (!strchr(" \t\r\n", s[i]))
				return parse_fail(p);
		return;
	}
	if (xml_builder_text(&p->builder, s, (size_t)len) < 0)
		parse_fail(p);
}

static void XMLCALL parse_refuse_doctype(void *ud, const char *name,
					 const char *sysid, const char *pubid,
					 int has_internal_subset)
{
	parse_fail(ud);
}

static void XMLCALL parse_refuse_entity(void *ud, const char *name, int pe,
					const char *value, int len,
					const char *base, const char *sysid,
					const char *pubid, const char *notation)
{
	parse_fail(ud);
}

static void XMLCALL parse_refuse_pi(void *ud, const char *target,
				    const char *data)
{
	parse_fail(ud);
}

static void XMLCALL parse_refuse_comment(void *ud, const char *data)
{
	parse_fail(ud);
}

/* Each thread keeps an open document per default namespace, "<r
 * xmlns='default_ns'>", and feeds it one element after another: opening
 * and resetting an expat document costs more than parsing a stanza. A
 * parser that saw an error, or enough bytes (its name tables grow with
 * every new name), is replaced. */
#define PARSER_BYTES_MAX (1024 * 1024)

struct cached_parser {
	XML_Parser parser;
	char *default_ns;
	uint64_t fed; /* bytes given to it, the wrapper included */
};

static _Thread_local struct cached_parser thread_parsers[2];
static _Thread_local unsigned thread_next_victim;
/* Expat draws a hash salt from getrandom() for every parser unless given
 * one: one per thread keeps the hash-flooding defence, cheaper. */
static _Thread_local unsigned long thread_salt;

static void cached_drop(struct cached_parser *c)
{
	if (c->parser)
		XML_ParserFree(c->parser);
	free(c->default_ns);
	*c = (struct cached_parser){0};
}

/* "<r xmlns='default_ns'>", so that unprefixed names get default_ns. */
static int wrapper_open(struct buf *out, const char *default_ns)
{
	if (!*default_ns)
		return buf_append_str(out, "<r>");
	int r = buf_append_str(out, "<r xmlns='");
	r |= put_escaped(out, default_ns, strlen(default_ns), true);
	r |= buf_append_str(out, "'>");
	return r;
}

static struct cached_parser *cached_open(struct cached_parser *c,
					 const char *default_ns)
{
	struct buf open = BUF_INIT;
	struct parse prime = {.parser = NULL};
	c->parser = XML_ParserCreateNS("UTF-8", XML_NS_SEP);
	c->default_ns = strdup(default_ns);
	if (!c->parser || !c->default_ns || wrapper_open(&open, default_ns) < 0)
		goto fail;
	if (!thread_salt && getrandom(&thread_salt, sizeof thread_salt, 0) !=
				    sizeof thread_salt)
		thread_salt = 0; /* expat draws its own */
	if (thread_salt)
		XML_SetHashSalt(c->parser, thread_salt);
#ifdef HAVE_XML_SETREPARSEDEFERRALENABLED
	/* Never wait for more bytes to retry a token: there are no more. */
	XML_SetReparseDeferralEnabled(c->parser, XML_FALSE);
#endif
	XML_SetElementHandler(c->parser, parse_start, parse_end);
	XML_SetCharacterDataHandler(c->parser, parse_text);
	XML_SetStartDoctypeDeclHandler(c->parser, parse_refuse_doctype);
	XML_SetEntityDeclHandler(c->parser, parse_refuse_entity);
	XML_SetProcessingInstructionHandler(c->parser, parse_refuse_pi);
	XML_SetCommentHandler(c->parser, parse_refuse_comment);
	prime.parser = c->parser;
	XML_SetUserData(c->parser, &prime);
	if (XML_Parse(c->parser, open.data, (int)open.len, 0) !=
		    XML_STATUS_OK ||
	    prime.depth != 1)
		goto fail;
	c->fed = open.len;
	buf_free(&open);
	return c;
fail:
	buf_free(&open);
	cached_drop(c);
	return NULL;
}

static struct cached_parser *cached_get(const char *default_ns)
{
	struct cached_parser *c = NULL;
	for (unsigned i = 0; i < 2 && !c; i++)
		if (thread_parsers[i].parser &&
		    !strcmp(thread_parsers[i].default_ns, default_ns))
			c = &thread_parsers[i];
	if (c && c->fed < PARSER_BYTES_MAX)
		return c;
	if (!c) {
		c = &thread_parsers[thread_next_victim];
		thread_next_victim = (thread_next_victim + 1) % 2;
	}
	cached_drop(c);
	return cached_open(c, default_ns);
}

struct xml_node *xml_parse(struct arena *a, const char *bytes, size_t len,
			   const char *default_ns)
{
	/* Trailing whitespace means nothing; expat would hold a final \r. */
	while (len > 0 && strchr(" \t\r\n", bytes[len - 1]) && bytes[len - 1])
		len--;
	struct cached_parser *c = cached_get(default_ns ? default_ns : "");
	if (!c || len == 0 || len > (size_t)0x7fffffff)
		return NULL;
	struct parse p = {
		.parser = c->parser, .builder = {.arena = a}, .depth = 1};
	XML_SetUserData(c->parser, &p);
	enum XML_Status st = XML_Parse(c->parser, bytes, (int)len, 0);
	c->fed += len;
	/* One element, closed, and no bytes left pending in expat. */
	if (st == XML_STATUS_OK && !p.failed && p.elements == 1 &&
	    p.depth == 1 &&
	    (uint64_t)XML_GetCurrentByteIndex(c->parser) == c->fed)
		return p.root;
	cached_drop(c);
	return NULL;
}

struct xml_node *xml_parse_head(struct arena *a, const char *bytes, size_t len,
				const char *default_ns)
{
	struct cached_parser c = {0}; /* of its own: it is left stopped */
	if (len > (size_t)0x7fffffff ||
	    !cached_open(&c, default_ns ? default_ns : ""))
		return NULL;
	struct parse p = {.parser = c.parser,
			  .builder = {.arena = a},
			  .depth = 1,
			  .head_only = true};
	XML_SetUserData(c.parser, &p);
	XML_Parse(c.parser, bytes, (int)len, 0);
	cached_drop(&c);
	return p.root;
}
