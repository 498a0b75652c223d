#include "config_reader.h"

#include <errno.h>
#include <expat.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- A tree of the file's elements, with their line numbers ---------- */

struct reader {
	XML_Parser parser;
	struct cnode *root, *current;
	int failed;
};

char *config_strndup(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = '\0';
	}
	return p;
}

static void reader_start(void *data, const char *name, const char **attrs)
{
	struct reader *r = data;
	struct cnode *n = calloc(1, sizeof *n);
	size_t count = 0;
	while (attrs[count])
		count++;
	if (n)
		n->attrs = calloc(count + 1, sizeof *n->attrs);
	if (!n || !n->attrs) {
		free(n);
		r->failed = 1;
		XML_StopParser(r->parser, XML_FALSE);
		return;
	}
	for (size_t i = 0; i < count; i++)
		n->attrs[i] = strdup(attrs[i]);
	n->name = strdup(name);
	n->line = (int)XML_GetCurrentLineNumber(r->parser);
	n->parent = r->current;
	if (!r->current) {
		r->root = n;
	} else if (r->current->last) {
		r->current->last->next = n;
		r->current->last = n;
	} else {
		r->current->children = r->current->last = n;
	}
	r->current = n;
}

static void reader_end(void *data, const char *name)
{
	struct reader *r = data;
	r->current = r->current->parent;
}

static void reader_text(void *data, const char *s, int len)
{
	struct reader *r = data;
	struct cnode *n = r->current;
	if (!n)
		return;
	char *text = realloc(n->text, n->text_len + (size_t)len + 1);
	if (!text) {
		r->failed = 1;
		XML_StopParser(r->parser, XML_FALSE);
		return;
	}
	memcpy(text + n->text_len, s, (size_t)len);
	n->text_len += (size_t)len;
	text[n->text_len] = '\0';
	n->text = text;
}

void cnode_free(struct cnode *n)
{
	while (n) {
		struct cnode *next = n->next;
		cnode_free(n->children);
		for (char **a = n->attrs; a && *a; a++)
			free(*a);
		free(n->attrs);
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

struct cnode *config_read_tree(struct config_loader *l, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		snprintf(l->err, l->errlen, "%s: cannot open: %s", path,
			 strerror(errno));
		return NULL;
	}
	struct reader r = {XML_ParserCreate(NULL), NULL, NULL, 0};
	XML_SetUserData(r.parser, &r);
	XML_SetElementHandler(r.parser, reader_start, reader_end);
	XML_SetCharacterDataHandler(r.parser, reader_text);
	char chunk[8192];
	size_t n;
	int ok = 1;
	do {
		n = fread(chunk, 1, sizeof chunk, f);
		if (XML_Parse(r.parser, chunk, (int)n, n == 0) ==
		    XML_STATUS_ERROR) {
			ok = 0;
			break;
		}
	} while (n > 0);
	fclose(f);
	if (!ok || r.failed) {
		snprintf(l->err, l->errlen, "%s:%lu: not well-formed XML: %s",
			 path, XML_GetCurrentLineNumber(r.parser),
			 r.failed
				 ? "out of memory"
				 : XML_ErrorString(XML_GetErrorCode(r.parser)));
		cnode_free(r.root);
		XML_ParserFree(r.parser);
		return NULL;
	}
	XML_ParserFree(r.parser);
	return r.root;
}

/* ---- Errors that name the file, the line and the setting ------------- */

int config_fail(struct config_loader *l, const struct cnode *n,
		const char *setting, const char *fmt, ...)
{
	int len = snprintf(l->err, l->errlen, "%s:%d: %s: ", l->file,
			   n ? n->line : 0, setting);
	if (len < 0 || (size_t)len >= l->errlen)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(l->err + len, l->errlen - (size_t)len, fmt, ap);
	va_end(ap);
	return -1;
}

const char *cnode_attr(const struct cnode *n, const char *name)
{
	for (char **a = n->attrs; *a; a += 2)
		if (strcmp(a[0], name) == 0)
			return a[1];
	return NULL;
}

/* The element's text without surrounding white space, in place. */
const char *cnode_value(struct cnode *n)
{
	if (!n->text)
		return "";
	char *s = n->text;
	while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
		s++;
	char *end = s + strlen(s);
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' ||
			   end[-1] == '\n' || end[-1] == '\r'))
		end--;
	*end = '\0';
	return s;
}

/* ---- Typed values --------------------------------------------------- */

int config_parse_path(struct config_loader *l, const struct cnode *n,
		      const char *setting, const char *value, char **out)
{
	if (!*value)
		return config_fail(l, n, setting, "a path is required");
	free(*out);
	if (value[0] == '/')
		*out = strdup(value);
	else if (asprintf(out, "%s/%s", l->dir, value) < 0)
		*out = NULL;
	return *out ? 0 : config_fail(l, n, setting, "out of memory");
}

int config_parse_readable_file(struct config_loader *l, const struct cnode *n,
			       const char *setting, const char *value,
			       char **out)
{
	if (config_parse_path(l, n, setting, value, out) < 0)
		return -1;
	FILE *f = fopen(*out, "r");
	if (!f)
		return config_fail(l, n, setting, "cannot read %s: %s", *out,
				   strerror(errno));
	fclose(f);
	return 0;
}

int config_parse_first_line(struct config_loader *l, const struct cnode *n,
			    const char *setting, const char *value, char **file,
			    char *buf, size_t size)
{
	if (config_parse_path(l, n, setting, value, file) < 0)
		return -1;
	FILE *f = fopen(*file, "r");
	if (!f)
		return config_fail(l, n, setting, "cannot read %s: %s", *file,
				   strerror(errno));
	if (!fgets(buf, (int)size, f))
		buf[0] = '\0';
	fclose(f);
	buf[strcspn(buf, "\r\n")] = '\0';
	return 0;
}

int config_parse_number(struct config_loader *l, const struct cnode *n,
			const char *setting, const char *value, long min,
			long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (!*value || *end || errno || v < min || v > max)
		return config_fail(l, n, setting,
				   "'%s' is not a number from %ld to %ld",
				   value, min, max);
	*out = v;
	return 0;
}

int config_parse_unsigned(struct config_loader *l, const struct cnode *n,
			  const char *setting, const char *value, long min,
			  long max, unsigned *out)
{
	long v;
	if (config_parse_number(l, n, setting, value, min, max, &v) < 0)
		return -1;
	*out = (unsigned)v;
	return 0;
}

int config_parse_bool(struct config_loader *l, const struct cnode *n,
		      const char *setting, const char *value, bool *out)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
		*out = false;
	else
		return config_fail(l, n, setting, "'%s' is not true or false",
				   value);
	return 0;
}

/* Splits a white-space separated list into out (strdup'd words). */
int config_parse_words(struct config_loader *l, const struct cnode *n,
		       const char *setting, const char *value, char **out,
		       size_t max, size_t *count)
{
	for (size_t i = 0; i < *count; i++)
		free(out[i]);
	*count = 0;
	const char *p = value;
	while (*p) {
		p += strspn(p, " \t\r\n");
		size_t len = strcspn(p, " \t\r\n");
		if (!len)
			break;
		if (*count == max)
			return config_fail(l, n, setting,
					   "more than %zu entries", max);
		out[(*count)++] = config_strndup(p, len);
		p += len;
	}
	return 0;
}

int config_check_attrs(struct config_loader *l, const struct cnode *n,
		       const char *setting, const char *const *allowed)
{
	for (char **a = n->attrs; *a; a += 2) {
		const char *const *ok = allowed;
		while (*ok && strcmp(*ok, a[0]) != 0)
			ok++;
		if (!*ok)
			return config_fail(l, n, setting,
					   "unknown attribute '%s'", a[0]);
	}
	return 0;
}

int config_check_words(struct config_loader *l, const struct cnode *n,
		       const char *setting, char *const *words, size_t count,
		       const char *const *known, const char *what)
{
	for (size_t i = 0; i < count; i++) {
		const char *const *k = known;
		while (*k && strcmp(*k, words[i]) != 0)
			k++;
		if (!*k)
			return config_fail(l, n, setting, "'%s' is %s",
					   words[i], what);
	}
	return 0;
}

/* ---- Sections -------------------------------------------------------- */

void cnode_append(struct cnode **list, struct cnode *n)
{
	while (*list)
		list = &(*list)->next;
	*list = n;
}

int config_load_children_keeping(struct config_loader *l, struct cnode *n,
				 const char *path,
				 const struct config_setting *settings,
				 struct cnode **kept)
{
	struct cnode **p = &n->children;
	n->last = NULL;
	while (*p) {
		struct cnode *c = *p;
		char child_path[256];
		snprintf(child_path, sizeof child_path, "%s%s%s", path,
			 *path ? "/" : "", c->name);
		const struct config_setting *s = settings;
		while (s->name && strcmp(s->name, c->name) != 0)
			s++;
		if (!s->name && kept) {
			*p = c->next;
			c->next = c->parent = NULL;
			cnode_append(kept, c);
			continue;
		}
		if (!s->name)
			return config_fail(l, c, child_path, "unknown setting");
		if (s->load(l, c, child_path) < 0)
			return -1;
		n->last = c;
		p = &c->next;
	}
	return 0;
}

int config_load_children(struct config_loader *l, struct cnode *n,
			 const char *path,
			 const struct config_setting *settings)
{
	return config_load_children_keeping(l, n, path, settings, NULL);
}
