/* xml: a small element tree for stanzas, built in an arena, and its
 * serializer. Names are split into namespace URI and local name. */
#ifndef PALABRE_XML_H
#define PALABRE_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "arena.h"
#include "buf.h"

#define XML_NS_CLIENT "jabber:client"
#define XML_NS_SERVER "jabber:server"
/* XEP-0114: what an external component's stream carries. */
#define XML_NS_COMPONENT "jabber:component:accept"
#define XML_NS_STREAM "http://etherx.jabber.org/streams"
#define XML_NS_XML "http://www.w3.org/XML/1998/namespace"

struct xml_attr {
	const char *ns;   /* "" when the attribute has no namespace */
	const char *name; /* local name */
	const char *value;
	struct xml_attr *next;
};

/* An element (name != NULL) or a text node (name == NULL, text/text_len). */
struct xml_node {
	const char *ns;   /* namespace URI, "" for none */
	const char *name; /* local name; NULL for a text node */
	const char *text; /* text node only */
	size_t text_len;
	struct xml_attr *attrs;
	struct xml_node *parent;
	struct xml_node *children; /* first child */
	struct xml_node *last_child;
	struct xml_node *next; /* next sibling */
};

/* Parses one complete element (a stanza as carried in a frame) whose
 * unprefixed names are in default_ns unless it declares its own.
 * Returns the element, or NULL when the bytes are not one well-formed
 * element. DOCTYPE, entity declarations and processing instructions are
 * refused. Whitespace around the element is ignored. Thread-safe: each
 * thread keeps its own expat parser(s) open between calls, for speed. */
struct xml_node *xml_parse(struct arena *a, const char *bytes, size_t len,
			   const char *default_ns);
/* The same for bytes that xml_parse refuses: the element's start tag
 * alone (name, attributes, no children), if that much parses, so that a
 * stanza that cannot be read can still be answered. NULL otherwise. */
struct xml_node *xml_parse_head(struct arena *a, const char *bytes, size_t len,
				const char *default_ns);

/* Building. Strings are copied into the arena. NULL when out of memory. */
struct xml_node *xml_node_new(struct arena *a, const char *ns,
			      const char *name);
/* Sets (or replaces) the un-namespaced attribute name; value NULL removes it. */
int xml_set_attr(struct arena *a, struct xml_node *n, const char *name,
		 const char *value);
void xml_append_child(struct xml_node *parent, struct xml_node *child);
/* Creates a child element and appends it. */
struct xml_node *xml_add_child(struct arena *a, struct xml_node *parent,
			       const char *ns, const char *name);
int xml_append_text(struct arena *a, struct xml_node *n, const char *text,
		    size_t len);
/* Creates a child element holding text (<name>text</name>). */
struct xml_node *xml_add_text_child(struct arena *a, struct xml_node *parent,
				    const char *ns, const char *name,
				    const char *text);
/* Deep copy into arena a. */
struct xml_node *xml_copy(struct arena *a, const struct xml_node *n);
/* Unlinks child from its parent. */
void xml_remove_child(struct xml_node *parent, struct xml_node *child);

/* Reading. xml_attr_get and xml_set_attr also accept "xml:lang" (any
 * "xml:" name), meaning the attribute in the XML namespace. */
const char *xml_attr_get(const struct xml_node *n, const char *name);
/* First child element with this namespace (NULL: any) and local name
 * (NULL: any). */
struct xml_node *xml_child(const struct xml_node *n, const char *ns,
			   const char *name);
/* Next sibling element after child with the same filters. */
struct xml_node *xml_next(const struct xml_node *child, const char *ns,
			  const char *name);
/* The concatenated text of n's direct text children, in the arena. */
const char *xml_text(struct arena *a, const struct xml_node *n);
bool xml_is(const struct xml_node *n, const char *ns, const char *name);

/* Appends n serialized. An xmlns declaration is written wherever an
 * element's namespace differs from the default namespace in scope
 * (parent_ns for n: pass the stream's default namespace for a top-level
 * stanza, so that it is left implicit). Namespaced attributes get
 * generated prefixes; names in the XML namespace keep the prefix xml
 * (<xml:foo/>, xml:lang), which is never declared. */
int xml_serialize(const struct xml_node *n, const char *parent_ns,
		  struct buf *out);

/* Tree building from expat's namespace-aware events, shared by xml_parse
 * and xmlstream. The expat parser is created with XML_NS_SEP as its
 * namespace separator, so that names arrive as "uri" XML_NS_SEP "local"
 * (XML 1.0 forbids U+0001 in a document, so it never occurs in a URI). */
#define XML_NS_SEP '\x01'

struct xml_builder {
	struct arena *arena;
	struct xml_node *cur; /* innermost open element; NULL at top level */
	size_t text_cap;      /* room in cur's last child when it is text */
};

/* Opens an element (a child of cur, or a new top-level one) and makes it
 * cur. atts as expat gives them. NULL when out of memory. */
struct xml_node *xml_builder_start(struct xml_builder *b, const char *name,
				   const char **atts);
/* Closes cur; returns it. */
struct xml_node *xml_builder_end(struct xml_builder *b);
/* Appends character data to cur, merging consecutive pieces into one text
 * node (amortized linear). -1 when out of memory. */
int xml_builder_text(struct xml_builder *b, const char *s, size_t len);

#endif
