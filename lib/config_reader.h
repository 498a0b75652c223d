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

struct config_loader;

/* ---- A tree of the file's elements, with their line numbers ---------- */

struct cnode {
	char *name;
	char **attrs; /* name, value, …, NULL */
	char *text;
	size_t text_len;
	int line;
	struct cnode *children, *last, *next, *parent;
};

char *config_strndup(const char *s, size_t n);
/* Reads path into a tree; on failure writes l->err, returns NULL. */
struct cnode *config_read_tree(struct config_loader *l, const char *path);
/* Frees n and the elements after it (next), with their subtrees. */
void cnode_free(struct cnode *n);
/* Appends n to the list *list. */
void cnode_append(struct cnode **list, struct cnode *n);
const char *cnode_attr(const struct cnode *n, const char *name);
/* The element's text without surrounding white space, in place. */
const char *cnode_value(struct cnode *n);

/* ---- Errors that name the file, the line and the setting ------------- */

struct config_loader {
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
int config_fail(struct config_loader *l, const struct cnode *n,
		const char *setting, const char *fmt, ...);

/* ---- Typed values --------------------------------------------------- */

int config_parse_path(struct config_loader *l, const struct cnode *n,
		      const char *setting, const char *value, char **out);
/* A path to a file palabred must be able to read at start. */
int config_parse_readable_file(struct config_loader *l, const struct cnode *n,
			       const char *setting, const char *value,
			       char **out);
/* The first line of the file the path value names, without its line
 * end, into buf; *file is the resolved path (the caller frees it, also
 * on failure). */
int config_parse_first_line(struct config_loader *l, const struct cnode *n,
			    const char *setting, const char *value, char **file,
			    char *buf, size_t size);
int config_parse_number(struct config_loader *l, const struct cnode *n,
			const char *setting, const char *value, long min,
			long max, long *out);
/* config_parse_number into an unsigned field. */
int config_parse_unsigned(struct config_loader *l, const struct cnode *n,
			  const char *setting, const char *value, long min,
			  long max, unsigned *out);
int config_parse_bool(struct config_loader *l, const struct cnode *n,
		      const char *setting, const char *value, bool *out);
/* Splits a white-space separated list into out (strdup'd words). */
int config_parse_words(struct config_loader *l, const struct cnode *n,
		       const char *setting, const char *value, char **out,
		       size_t max, size_t *count);
/* Each of words is one of known (NULL-terminated); else fails with
 * "'word' is <what>". */
int config_check_words(struct config_loader *l, const struct cnode *n,
		       const char *setting, char *const *words, size_t count,
		       const char *const *known, const char *what);
int config_check_attrs(struct config_loader *l, const struct cnode *n,
		       const char *setting, const char *const *allowed);

/* A <listen address port tls> element, appended to listeners. */
int config_parse_listen(struct config_loader *l, struct cnode *n,
			const char *path, struct config_listener *listeners,
			size_t *count);

/* ---- Sections -------------------------------------------------------- */

typedef int (*config_section_fn)(struct config_loader *l, struct cnode *n,
				 const char *path);

struct config_setting {
	const char *name;
	config_section_fn load;
};

/* Runs the loader of each child of n; an unknown child is an error. */
int config_load_children(struct config_loader *l, struct cnode *n,
			 const char *path,
			 const struct config_setting *settings);
/* The same, but a child without a loader moves, with its subtree and
 * line, to the end of the list *kept: lib/ keeps it for the code above
 * it. */
int config_load_children_keeping(struct config_loader *l, struct cnode *n,
				 const char *path,
				 const struct config_setting *settings,
				 struct cnode **kept);

/* ---- config_ldap.c: <ldap id="…"> directories ---------------------- */

/* The <ldap> section. */
int config_ldap_load(struct config_loader *l, struct cnode *n,
		     const char *path);
/* After the whole file: each ldap host's directory exists. */
int config_ldap_resolve(struct config_loader *l);

/* ---- config_s2s.c: <s2s> ------------------------------------------- */

int config_s2s_load(struct config_loader *l, struct cnode *n, const char *path);
void config_s2s_free(struct config_s2s *s);

/* ---- config_muc.c: <muc> ------------------------------------------- */

int config_muc_load(struct config_loader *l, struct cnode *n, const char *path);
/* After the whole file: the default services, and no service that is
 * also a host. */
int config_muc_resolve(struct config_loader *l);
void config_muc_free(struct config_muc *m);

/* ---- config_components.c: <components> ---------------------------- */

int config_components_load(struct config_loader *l, struct cnode *n,
			   const char *path);
/* After the whole file and the muc services: no component named as a
 * host or a room service. */
int config_components_resolve(struct config_loader *l);
void config_components_free(struct config_components *c);

#endif
