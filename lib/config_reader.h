/* config_reader: what lib/config*.c share: a tree of the file's
 * elements with their line numbers, the loader and its errors (which
 * name the file, the line and the setting), the typed value parsers and
 * the table-driven section loader. Code above lib/ uses it for the
 * settings lib/ keeps for it, unread (config.h: the sm's modules read
 * theirs, server/sm/module.c). */
#ifndef PALABRE_CONFIG_READER_H
#define PALABRE_CONFIG_READER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct loader;

/* ---- A tree of the file's elements, with their line numbers ---------- */

struct cnode {
	char *name;
	char **attrs; /* name, value, …, NULL */
	char *text;
	size_t text_len;
	int line;
	struct cnode *children, *last, *next, *parent;
};

char *xstrndup(const char *s, size_t n);
/* Reads path into a tree; on failure writes l->err, returns NULL. */
struct cnode *read_tree(struct loader *l, const char *path);
/* Frees n and the elements after it (next), with their subtrees. */
void cnode_free(struct cnode *n);
/* Appends n to the list *list. */
void cnode_append(struct cnode **list, struct cnode *n);
const char *cnode_attr(const struct cnode *n, const char *name);
/* The element's text without surrounding white space, in place. */
const char *cnode_value(struct cnode *n);

/* ---- Errors that name the file, the line and the setting ------------- */

struct loader {
	struct config *cfg;
	const char *file; /* as given, for messages */
	char *dir;        /* for relative paths */
	char *err;
	size_t errlen;
	/* What the section loaders of a kept setting fill (its reader's
	 * out, server/sm/module.h). */
	void *target;
	/* <auth directory="…"> of each host, resolved once every <ldap>
	 * is read, with the line to blame. */
	struct {
		char *id;
		int line;
	} host_directory[CONFIG_MAX_HOSTS];
};

/* Writes "file:line: setting: …" to l->err; returns -1. */
int fail(struct loader *l, const struct cnode *n, const char *setting,
	 const char *fmt, ...);

/* ---- Typed values --------------------------------------------------- */

int parse_path(struct loader *l, const struct cnode *n, const char *setting,
	       const char *value, char **out);
/* A path to a file palabred must be able to read at start. */
int parse_readable_file(struct loader *l, const struct cnode *n,
			const char *setting, const char *value, char **out);
/* The first line of the file the path value names, without its line
 * end, into buf; *file is the resolved path (the caller frees it, also
 * on failure). */
int parse_first_line(struct loader *l, const struct cnode *n,
		     const char *setting, const char *value, char **file,
		     char *buf, size_t size);
int parse_number(struct loader *l, const struct cnode *n, const char *setting,
		 const char *value, long min, long max, long *out);
/* parse_number into an unsigned field. */
int parse_unsigned(struct loader *l, const struct cnode *n,
		   const char *setting, const char *value, long min, long max,
		   unsigned *out);
int parse_bool(struct loader *l, const struct cnode *n, const char *setting,
	       const char *value, bool *out);
/* Splits a white-space separated list into out (strdup'd words). */
int parse_words(struct loader *l, const struct cnode *n, const char *setting,
		const char *value, char **out, size_t max, size_t *count);
/* Each of words is one of known (NULL-terminated); else fails with
 * "'word' is <what>". */
int check_words(struct loader *l, const struct cnode *n, const char *setting,
		char *const *words, size_t count, const char *const *known,
		const char *what);
int check_attrs(struct loader *l, const struct cnode *n, const char *setting,
		const char *const *allowed);

/* A <listen address port tls> element, appended to listeners. */
int parse_listen(struct loader *l, struct cnode *n, const char *path,
		 struct config_listener *listeners, size_t *count);

/* ---- Sections -------------------------------------------------------- */

typedef int (*section_fn)(struct loader *l, struct cnode *n, const char *path);

struct setting {
	const char *name;
	section_fn load;
};

/* Runs the loader of each child of n; an unknown child is an error. */
int load_children(struct loader *l, struct cnode *n, const char *path,
		  const struct setting *settings);
/* The same, but a child without a loader moves, with its subtree and
 * line, to the end of the list *kept: lib/ keeps it for the code above
 * it. */
int load_children_keeping(struct loader *l, struct cnode *n, const char *path,
			  const struct setting *settings, struct cnode **kept);

/* ---- config_ldap.c: <ldap id="…"> directories ---------------------- */

/* The <ldap> section. */
int config_ldap_load(struct loader *l, struct cnode *n, const char *path);
/* After the whole file: each ldap host's directory exists. */
int config_ldap_resolve(struct loader *l);

/* ---- config_s2s.c: <s2s> ------------------------------------------- */

int config_s2s_load(struct loader *l, struct cnode *n, const char *path);
void config_s2s_free(struct config_s2s *s);

#endif
