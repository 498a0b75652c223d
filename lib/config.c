#include "config.h"

#include <errno.h>
#include <expat.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "jid.h"
#include "log.h"

/* ---- A tree of the file's elements, with their line numbers ---------- */

struct cnode {
	char *name;
	char **attrs; /* name, value, …, NULL */
	char *text;
	size_t text_len;
	int line;
	struct cnode *children, *last, *next, *parent;
};

struct reader {
	XML_Parser parser;
	struct cnode *root, *current;
	int failed;
};

static char *xstrndup(const char *s, size_t n)
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

static void cnode_free(struct cnode *n)
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

/* ---- Errors that name the file, the line and the setting ------------- */

struct loader {
	struct config *cfg;
	const char *file; /* as given, for messages */
	char *dir;        /* for relative paths */
	char *err;
	size_t errlen;
	/* <auth directory="…"> of each host, resolved once every <ldap>
	 * is read, with the line to blame. */
	struct {
		char *id;
		int line;
	} host_directory[CONFIG_MAX_HOSTS];
};

static int fail(struct loader *l, const struct cnode *n, const char *setting,
		const char *fmt, ...)
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

static const char *cnode_attr(const struct cnode *n, const char *name)
{
	for (char **a = n->attrs; *a; a += 2)
		if (strcmp(a[0], name) == 0)
			return a[1];
	return NULL;
}

/* The element's text without surrounding white space, in place. */
static const char *cnode_value(struct cnode *n)
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

static int parse_path(struct loader *l, const struct cnode *n,
		      const char *setting, const char *value, char **out)
{
	if (!*value)
		return fail(l, n, setting, "a path is required");
	free(*out);
	if (value[0] == '/')
		*out = strdup(value);
	else if (asprintf(out, "%s/%s", l->dir, value) < 0)
		*out = NULL;
	return *out ? 0 : fail(l, n, setting, "out of memory");
}

static int parse_number(struct loader *l, const struct cnode *n,
			const char *setting, const char *value, long min,
			long max, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(value, &end, 10);
	if (!*value || *end || errno || v < min || v > max)
		return fail(l, n, setting, "'%s' is not a number from %ld to %ld",
			    value, min, max);
	*out = v;
	return 0;
}

static int parse_bool(struct loader *l, const struct cnode *n,
		      const char *setting, const char *value, bool *out)
{
	if (strcmp(value, "true") == 0 || strcmp(value, "yes") == 0)
		*out = true;
	else if (strcmp(value, "false") == 0 || strcmp(value, "no") == 0)
		*out = false;
	else
		return fail(l, n, setting, "'%s' is not true or false", value);
	return 0;
}

/* Splits a white-space separated list into out (strdup'd words). */
static int parse_words(struct loader *l, const struct cnode *n,
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
			return fail(l, n, setting, "more than %zu entries", max);
		out[(*count)++] = xstrndup(p, len);
		p += len;
	}
	return 0;
}

static int check_attrs(struct loader *l, const struct cnode *n,
		       const char *setting, const char *const *allowed)
{
	for (char **a = n->attrs; *a; a += 2) {
		const char *const *ok = allowed;
		while (*ok && strcmp(*ok, a[0]) != 0)
			ok++;
		if (!*ok)
			return fail(l, n, setting, "unknown attribute '%s'", a[0]);
	}
	return 0;
}

/* ---- Sections -------------------------------------------------------- */

typedef int (*section_fn)(struct loader *l, struct cnode *n, const char *path);

struct setting {
	const char *name;
	section_fn load;
};

/* Runs the loader of each child of n; an unknown child is an error. */
static int load_children(struct loader *l, struct cnode *n, const char *path,
			 const struct setting *settings)
{
	for (struct cnode *c = n->children; c; c = c->next) {
		char child_path[256];
		snprintf(child_path, sizeof child_path, "%s%s%s", path,
			 *path ? "/" : "", c->name);
		const struct setting *s = settings;
		while (s->name && strcmp(s->name, c->name) != 0)
			s++;
		if (!s->name)
			return fail(l, c, child_path, "unknown setting");
		if (s->load(l, c, child_path) < 0)
			return -1;
	}
	return 0;
}

static int load_pidfile(struct loader *l, struct cnode *n, const char *path)
{
	return parse_path(l, n, path, cnode_value(n), &l->cfg->pidfile);
}

static int load_log(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"level", NULL};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *level = cnode_attr(n, "level");
	if (!level)
		return 0;
	int v = log_level_from_name(level);
	if (v < 0)
		return fail(l, n, "log/@level",
			    "'%s' is not debug, info, warn or error", level);
	l->cfg->log_level = v;
	return 0;
}

static int load_router_socket(struct loader *l, struct cnode *n,
			      const char *path)
{
	return parse_path(l, n, path, cnode_value(n), &l->cfg->router_socket);
}

static int load_router_secret(struct loader *l, struct cnode *n,
			      const char *path)
{
	char *file = NULL;
	if (parse_path(l, n, path, cnode_value(n), &file) < 0)
		return -1;
	FILE *f = fopen(file, "r");
	char secret[512] = "";
	if (!f) {
		fail(l, n, path, "cannot read %s: %s", file, strerror(errno));
		free(file);
		return -1;
	}
	if (!fgets(secret, sizeof secret, f))
		secret[0] = '\0';
	fclose(f);
	secret[strcspn(secret, "\r\n")] = '\0';
	if (strlen(secret) < 16) {
		fail(l, n, path, "%s holds fewer than 16 characters", file);
		free(file);
		return -1;
	}
	free(file);
	free(l->cfg->router_secret);
	l->cfg->router_secret = strdup(secret);
	return 0;
}

static int load_router(struct loader *l, struct cnode *n, const char *path)
{
	static const struct setting settings[] = {
		{"socket", load_router_socket},
		{"secret-file", load_router_secret},
		{NULL, NULL}};
	return load_children(l, n, path, settings);
}

static int load_storage_path(struct loader *l, struct cnode *n,
			     const char *path)
{
	return parse_path(l, n, path, cnode_value(n), &l->cfg->data_dir);
}

static int load_storage(struct loader *l, struct cnode *n, const char *path)
{
	static const struct setting settings[] = {
		{"path", load_storage_path}, {NULL, NULL}};
	return load_children(l, n, path, settings);
}

static struct config_host *current_host(struct loader *l)
{
	return &l->cfg->hosts[l->cfg->nhosts - 1];
}

/* A path to a file palabred must be able to read at start. */
static int parse_readable_file(struct loader *l, const struct cnode *n,
			       const char *setting, const char *value,
			       char **out)
{
	if (parse_path(l, n, setting, value, out) < 0)
		return -1;
	FILE *f = fopen(*out, "r");
	if (!f)
		return fail(l, n, setting, "cannot read %s: %s", *out,
			    strerror(errno));
	fclose(f);
	return 0;
}

static int load_host_certificate(struct loader *l, struct cnode *n,
				 const char *path)
{
	return parse_readable_file(l, n, path, cnode_value(n),
				   &current_host(l)->certificate);
}

static int load_host_key(struct loader *l, struct cnode *n, const char *path)
{
	return parse_readable_file(l, n, path, cnode_value(n),
				   &current_host(l)->key);
}

static int load_host_auth_base(struct loader *l, struct cnode *n,
			       const char *path)
{
	const char *v = cnode_value(n);
	if (!*v || strlen(v) > 1024)
		return fail(l, n, path, "a DN is required (e.g. "
			    "ou=people,dc=example,dc=org)");
	free(current_host(l)->ldap_base);
	current_host(l)->ldap_base = strdup(v);
	return 0;
}

/* RFC 4515 filter template: parenthesised, balanced, with %u (the
 * prepared local part) and optionally %d (the domain); both are escaped
 * when the filter is built (auth/ldap_filter.c). */
static int check_filter_template(struct loader *l, struct cnode *n,
				 const char *path, const char *v)
{
	int depth = 0;
	bool has_user = false, closed = false;
	if (v[0] != '(' || strlen(v) > 1024)
		return fail(l, n, path, "'%s' is not an LDAP filter in "
			    "parentheses, e.g. (mail=%%u@%%d)", v);
	for (const char *p = v; *p && !closed; p++) {
		if (*p == '%') {
			if (p[1] == 'u')
				has_user = true;
			else if (p[1] != 'd' && p[1] != '%')
				return fail(l, n, path, "'%%%c' is not %%u, "
					    "%%d or %%%%", p[1] ? p[1] : ' ');
			p++;
		} else if (*p == '(') {
			depth++;
		} else if (*p == ')' && --depth == 0) {
			closed = p[1] == '\0';
			if (!closed)
				depth = -1;
		}
		if (depth < 0)
			break;
	}
	if (!closed)
		return fail(l, n, path, "'%s': unbalanced parentheses, or "
			    "more than one filter", v);
	if (!has_user)
		return fail(l, n, path, "'%s' has no %%u (the user's local "
			    "part)", v);
	return 0;
}

static int load_host_auth_filter(struct loader *l, struct cnode *n,
				 const char *path)
{
	const char *v = cnode_value(n);
	if (check_filter_template(l, n, path, v) < 0)
		return -1;
	free(current_host(l)->ldap_filter);
	current_host(l)->ldap_filter = strdup(v);
	return 0;
}

static int load_host_auth(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"backend", "directory", NULL};
	static const struct setting ldap_settings[] = {
		{"base", load_host_auth_base},
		{"filter", load_host_auth_filter},
		{NULL, NULL}};
	static const struct setting no_settings[] = {{NULL, NULL}};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	struct config_host *h = current_host(l);
	const char *backend = cnode_attr(n, "backend");
	const char *directory = cnode_attr(n, "directory");
	bool ldap = backend && strcmp(backend, "ldap") == 0;
	if (!backend || (!ldap && strcmp(backend, "local") != 0))
		return fail(l, n, "host/auth/@backend",
			    "'%s' is not a known account backend (local, "
			    "ldap)", backend ? backend : "");
	free(h->auth_backend);
	h->auth_backend = strdup(backend);
	if (!ldap) {
		if (directory)
			return fail(l, n, "host/auth/@directory",
				    "only for backend=\"ldap\"");
		return load_children(l, n, path, no_settings);
	}
	if (!directory || !*directory)
		return fail(l, n, "host/auth/@directory",
			    "missing: the id of an <ldap> directory");
	size_t i = l->cfg->nhosts - 1;
	free(l->host_directory[i].id);
	l->host_directory[i].id = strdup(directory);
	l->host_directory[i].line = n->line;
	if (load_children(l, n, path, ldap_settings) < 0)
		return -1;
	if (!h->ldap_base)
		return fail(l, n, "host/auth/base", "missing for '%s' (the "
			    "search base of its users)", h->domain);
	if (!h->ldap_filter)
		return fail(l, n, "host/auth/filter", "missing for '%s' (e.g. "
			    "(mail=%%u@%%d))", h->domain);
	return 0;
}

/* ---- <ldap id="…"> directories ------------------------------------ */

static struct config_ldap *current_directory(struct loader *l)
{
	return &l->cfg->directories[l->cfg->ndirectories - 1];
}

static int load_ldap_uri(struct loader *l, struct cnode *n, const char *path)
{
	struct config_ldap *d = current_directory(l);
	const char *v = cnode_value(n);
	if (strncasecmp(v, "ldap://", 7) != 0 &&
	    strncasecmp(v, "ldaps://", 8) != 0)
		return fail(l, n, path, "'%s' is not an ldap:// or ldaps:// "
			    "URI", v);
	const char *host = v + (v[4] == ':' ? 7 : 8);
	if (!*host || *host == '/' || strpbrk(v, " \t,"))
		return fail(l, n, path, "'%s' names no server (one URI per "
			    "<uri>, e.g. ldap://ldap.example.org:389)", v);
	if (d->nuris == CONFIG_MAX_LDAP_URIS)
		return fail(l, n, path, "more than %d URIs",
			    CONFIG_MAX_LDAP_URIS);
	d->uris[d->nuris++] = strdup(v);
	return 0;
}

static int load_ldap_starttls(struct loader *l, struct cnode *n,
			      const char *path)
{
	return parse_bool(l, n, path, cnode_value(n),
			  &current_directory(l)->starttls);
}

static int load_ldap_ca_file(struct loader *l, struct cnode *n,
			     const char *path)
{
	return parse_readable_file(l, n, path, cnode_value(n),
				   &current_directory(l)->ca_file);
}

static int load_ldap_bind_dn(struct loader *l, struct cnode *n,
			     const char *path)
{
	const char *v = cnode_value(n);
	if (!*v || !strchr(v, '='))
		return fail(l, n, path, "'%s' is not a DN", v);
	free(current_directory(l)->bind_dn);
	current_directory(l)->bind_dn = strdup(v);
	return 0;
}

static int load_ldap_bind_password_file(struct loader *l, struct cnode *n,
					const char *path)
{
	char *file = NULL, secret[1024] = "";
	if (parse_path(l, n, path, cnode_value(n), &file) < 0)
		return -1;
	FILE *f = fopen(file, "r");
	if (!f) {
		fail(l, n, path, "cannot read %s: %s", file, strerror(errno));
		free(file);
		return -1;
	}
	if (!fgets(secret, sizeof secret, f))
		secret[0] = '\0';
	fclose(f);
	secret[strcspn(secret, "\r\n")] = '\0';
	if (!secret[0]) {
		/* An empty password is an unauthenticated bind (RFC 4513
		 * §5.1.2): never what an administrator means. */
		fail(l, n, path, "%s is empty (its first line is the "
			    "password of bind-dn)", file);
		free(file);
		return -1;
	}
	free(file);
	struct config_ldap *d = current_directory(l);
	free(d->bind_password);
	d->bind_password = strdup(secret);
	memset(secret, 0, sizeof secret);
	return 0;
}

static int load_ldap_timeout(struct loader *l, struct cnode *n,
			     const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1, 300, &v) < 0)
		return -1;
	current_directory(l)->timeout = (unsigned)v;
	return 0;
}

static int load_ldap_pool(struct loader *l, struct cnode *n, const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1, 64, &v) < 0)
		return -1;
	current_directory(l)->pool = (unsigned)v;
	return 0;
}

static int load_ldap_password_access(struct loader *l, struct cnode *n,
				     const char *path)
{
	static const struct {
		const char *word;
		unsigned bit;
	} words[] = {{"bind", CONFIG_LDAP_BIND},
		     {"auth-password", CONFIG_LDAP_AUTH_PASSWORD},
		     {"clear-password", CONFIG_LDAP_CLEAR_PASSWORD}};
	char *list[8];
	size_t count = 0;
	unsigned access = 0;
	int rc = parse_words(l, n, path, cnode_value(n), list, 8, &count);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		size_t w = 0;
		while (w < 3 && strcmp(words[w].word, list[i]) != 0)
			w++;
		if (w == 3)
			rc = fail(l, n, path, "'%s' is not bind, auth-password "
				  "or clear-password", list[i]);
		else
			access |= words[w].bit;
	}
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	if (rc == 0 && !access)
		rc = fail(l, n, path, "empty (bind, auth-password and/or "
			  "clear-password)");
	if (rc == 0)
		current_directory(l)->password_access = access;
	return rc;
}

const char *const config_vcard_field_names[CONFIG_VCARD_NFIELDS] = {
	[CONFIG_VCARD_FN] = "FN",
	[CONFIG_VCARD_GIVEN] = "GIVEN",
	[CONFIG_VCARD_FAMILY] = "FAMILY",
	[CONFIG_VCARD_MIDDLE] = "MIDDLE",
	[CONFIG_VCARD_NICKNAME] = "NICKNAME",
	[CONFIG_VCARD_EMAIL] = "EMAIL",
	[CONFIG_VCARD_TEL] = "TEL",
	[CONFIG_VCARD_MOBILE] = "MOBILE",
	[CONFIG_VCARD_ORGNAME] = "ORGNAME",
	[CONFIG_VCARD_ORGUNIT] = "ORGUNIT",
	[CONFIG_VCARD_TITLE] = "TITLE",
	[CONFIG_VCARD_ROLE] = "ROLE",
	[CONFIG_VCARD_URL] = "URL",
	[CONFIG_VCARD_DESC] = "DESC",
};

/* RFC 4512 §1.4: a descriptor (a letter, then letters, digits,
 * hyphens) or a numeric OID. */
static bool ldap_attribute_ok(const char *a)
{
	size_t len = strlen(a);
	if (len == 0 || len > 64)
		return false;
	bool oid = a[0] >= '0' && a[0] <= '9';
	for (const char *p = a; *p; p++) {
		char c = *p;
		bool digit = c >= '0' && c <= '9';
		bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
		if (oid ? !(digit || c == '.') : !(digit || letter || c == '-'))
			return false;
	}
	return true;
}

static int load_ldap_vcard_field(struct loader *l, struct cnode *n,
				 const char *path)
{
	static const char *const attrs[] = {"name", "attribute", NULL};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *name = cnode_attr(n, "name");
	const char *attr = cnode_attr(n, "attribute");
	char setting[300];
	snprintf(setting, sizeof setting, "%s/@name", path);
	if (!name)
		return fail(l, n, setting, "missing (FN, GIVEN, FAMILY, EMAIL, "
			    "TEL, ORGUNIT …)");
	size_t f = 0;
	while (f < CONFIG_VCARD_NFIELDS &&
	       strcmp(config_vcard_field_names[f], name) != 0)
		f++;
	if (f == CONFIG_VCARD_NFIELDS)
		return fail(l, n, setting, "'%s' is not a vCard field of FN, "
			    "GIVEN, FAMILY, MIDDLE, NICKNAME, EMAIL, TEL, "
			    "MOBILE, ORGNAME, ORGUNIT, TITLE, ROLE, URL, DESC",
			    name);
	snprintf(setting, sizeof setting, "%s/@attribute", path);
	if (!attr)
		return fail(l, n, setting, "missing (an LDAP attribute, or "
			    "\"\" for none)");
	if (*attr && !ldap_attribute_ok(attr))
		return fail(l, n, setting, "'%s' is not an LDAP attribute name",
			    attr);
	struct config_ldap *d = current_directory(l);
	free(d->vcard_map[f]);
	d->vcard_map[f] = *attr ? strdup(attr) : NULL;
	return 0;
}

static int load_ldap_vcard(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"defaults", NULL};
	static const struct setting settings[] = {
		{"field", load_ldap_vcard_field},
		{NULL, NULL}};
	static const char *const defaults[CONFIG_VCARD_NFIELDS] = {
		[CONFIG_VCARD_FN] = "cn",
		[CONFIG_VCARD_GIVEN] = "givenName",
		[CONFIG_VCARD_FAMILY] = "sn",
		[CONFIG_VCARD_EMAIL] = "mail",
		[CONFIG_VCARD_TEL] = "telephoneNumber",
		[CONFIG_VCARD_MOBILE] = "mobile",
		[CONFIG_VCARD_ORGUNIT] = "ou",
		[CONFIG_VCARD_TITLE] = "title",
	};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	struct config_ldap *d = current_directory(l);
	if (d->vcard)
		return fail(l, n, path, "given twice");
	const char *def = cnode_attr(n, "defaults");
	bool use_defaults = true;
	if (def && strcmp(def, "true") != 0) {
		if (strcmp(def, "false") != 0)
			return fail(l, n, "ldap/vcard/@defaults",
				    "'%s' is not true or false", def);
		use_defaults = false;
	}
	d->vcard = true;
	for (size_t f = 0; use_defaults && f < CONFIG_VCARD_NFIELDS; f++)
		if (defaults[f] && !(d->vcard_map[f] = strdup(defaults[f])))
			return fail(l, n, path, "out of memory");
	return load_children(l, n, path, settings);
}

static int load_ldap(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"id", NULL};
	static const struct setting settings[] = {
		{"uri", load_ldap_uri},
		{"starttls", load_ldap_starttls},
		{"ca-file", load_ldap_ca_file},
		{"bind-dn", load_ldap_bind_dn},
		{"bind-password-file", load_ldap_bind_password_file},
		{"timeout", load_ldap_timeout},
		{"pool", load_ldap_pool},
		{"password-access", load_ldap_password_access},
		{"vcard", load_ldap_vcard},
		{NULL, NULL}};
	struct config *cfg = l->cfg;
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *id = cnode_attr(n, "id");
	if (!id || !*id)
		return fail(l, n, "ldap/@id", "missing (the name hosts use in "
			    "<auth backend=\"ldap\" directory=\"…\">)");
	for (size_t i = 0; i < cfg->ndirectories; i++)
		if (strcmp(cfg->directories[i].id, id) == 0)
			return fail(l, n, "ldap/@id", "'%s' is defined twice",
				    id);
	if (cfg->ndirectories == CONFIG_MAX_DIRECTORIES)
		return fail(l, n, path, "more than %d directories",
			    CONFIG_MAX_DIRECTORIES);
	struct config_ldap *d = &cfg->directories[cfg->ndirectories++];
	d->id = strdup(id);
	d->timeout = 5;
	d->pool = 4;
	d->password_access = CONFIG_LDAP_BIND;
	if (load_children(l, n, path, settings) < 0)
		return -1;
	if (!d->nuris)
		return fail(l, n, "ldap/uri", "missing for directory '%s'",
			    id);
	if (!d->bind_dn != !d->bind_password)
		return fail(l, n, d->bind_dn ? "ldap/bind-password-file"
					     : "ldap/bind-dn",
			    "bind-dn and bind-password-file go together");
	if ((d->password_access & ~CONFIG_LDAP_BIND) && !d->bind_dn)
		return fail(l, n, "ldap/password-access",
			    "auth-password and clear-password need a service "
			    "account (bind-dn) allowed to read them");
	return 0;
}

/* After the whole file: each ldap host's directory exists. */
static int resolve_directories(struct loader *l)
{
	struct config *cfg = l->cfg;
	for (size_t i = 0; i < cfg->nhosts; i++) {
		struct config_host *h = &cfg->hosts[i];
		h->directory = -1;
		const char *id = l->host_directory[i].id;
		if (!id)
			continue;
		for (size_t d = 0; d < cfg->ndirectories; d++)
			if (strcmp(cfg->directories[d].id, id) == 0)
				h->directory = (int)d;
		if (h->directory < 0) {
			struct cnode at = {.line = l->host_directory[i].line};
			return fail(l, &at, "host/auth/@directory",
				    "no <ldap id=\"%s\"> is defined", id);
		}
	}
	return 0;
}

static int load_host(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"domain", NULL};
	static const struct setting settings[] = {
		{"certificate", load_host_certificate},
		{"key", load_host_key},
		{"auth", load_host_auth},
		{NULL, NULL}};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *domain = cnode_attr(n, "domain");
	char prepared[JID_PART_MAX + 1];
	if (!domain || jid_prep_domain(prepared, domain) < 0)
		return fail(l, n, "host/@domain", "'%s' is not a domain name",
			    domain ? domain : "");
	if (config_find_host(l->cfg, prepared))
		return fail(l, n, "host/@domain", "'%s' is served twice",
			    prepared);
	if (l->cfg->nhosts == CONFIG_MAX_HOSTS)
		return fail(l, n, path, "more than %d hosts", CONFIG_MAX_HOSTS);
	struct config_host *h = &l->cfg->hosts[l->cfg->nhosts++];
	h->domain = strdup(prepared);
	h->auth_backend = strdup("local");
	if (load_children(l, n, path, settings) < 0)
		return -1;
	if (!h->certificate)
		return fail(l, n, "host/certificate",
			    "missing for '%s' (a PEM certificate file)", h->domain);
	if (!h->key)
		return fail(l, n, "host/key",
			    "missing for '%s' (a PEM private key file)", h->domain);
	return 0;
}

static int load_c2s_listen(struct loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"address", "port", "tls", NULL};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	struct config *cfg = l->cfg;
	if (cfg->nlisteners == CONFIG_MAX_LISTENERS)
		return fail(l, n, path, "more than %d listeners",
			    CONFIG_MAX_LISTENERS);
	const char *port = cnode_attr(n, "port");
	const char *tls = cnode_attr(n, "tls");
	const char *address = cnode_attr(n, "address");
	long v;
	if (!port)
		return fail(l, n, "c2s/listen/@port", "missing");
	if (parse_number(l, n, "c2s/listen/@port", port, 1, 65535, &v) < 0)
		return -1;
	if (tls && strcmp(tls, "direct") != 0 && strcmp(tls, "starttls") != 0)
		return fail(l, n, "c2s/listen/@tls",
			    "'%s' is not starttls or direct", tls);
	struct config_listener *li = &cfg->listeners[cfg->nlisteners++];
	li->address = strdup(address ? address : "0.0.0.0");
	li->port = (int)v;
	li->direct_tls = tls && strcmp(tls, "direct") == 0;
	return 0;
}

static int load_c2s_require_starttls(struct loader *l, struct cnode *n,
				     const char *path)
{
	return parse_bool(l, n, path, cnode_value(n), &l->cfg->require_starttls);
}

static int load_c2s_max_stanza_size(struct loader *l, struct cnode *n,
				    const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1024, 16 << 20, &v) < 0)
		return -1;
	l->cfg->max_stanza_size = (size_t)v;
	return 0;
}

static int load_c2s_max_depth(struct loader *l, struct cnode *n,
			      const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 4, 1000, &v) < 0)
		return -1;
	l->cfg->max_depth = (unsigned)v;
	return 0;
}

static const char *const known_mechanisms[] = {
	"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
	"SCRAM-SHA-1", "PLAIN", "DIGEST-MD5", NULL};

static int load_c2s_mechanisms(struct loader *l, struct cnode *n,
			       const char *path)
{
	struct config *cfg = l->cfg;
	if (parse_words(l, n, path, cnode_value(n), cfg->mechanisms,
			CONFIG_MAX_MECHANISMS, &cfg->nmechanisms) < 0)
		return -1;
	for (size_t i = 0; i < cfg->nmechanisms; i++) {
		const char *const *k = known_mechanisms;
		while (*k && strcmp(*k, cfg->mechanisms[i]) != 0)
			k++;
		if (!*k)
			return fail(l, n, path,
				    "'%s' is not a supported SASL mechanism",
				    cfg->mechanisms[i]);
	}
	if (!cfg->nmechanisms)
		return fail(l, n, path, "no mechanism listed");
	return 0;
}

static int load_c2s_resource_conflict(struct loader *l, struct cnode *n,
				      const char *path)
{
	const char *v = cnode_value(n);
	if (strcmp(v, "replace") == 0)
		l->cfg->resource_conflict_replace = true;
	else if (strcmp(v, "refuse") == 0)
		l->cfg->resource_conflict_replace = false;
	else
		return fail(l, n, path, "'%s' is not replace or refuse", v);
	return 0;
}

static int load_c2s_auth_timeout(struct loader *l, struct cnode *n,
				 const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1, 3600, &v) < 0)
		return -1;
	l->cfg->auth_timeout = (unsigned)v;
	return 0;
}

static int load_c2s_auth_throttle(struct loader *l, struct cnode *n,
				  const char *path)
{
	static const char *const attrs[] = {"per-address", "per-account",
					    "period", "delay", NULL};
	static const struct {
		const char *attr;
		long min, max;
	} limits[] = {{"per-address", 0, 100000},
		      {"per-account", 0, 100000},
		      {"period", 1, 86400},
		      {"delay", 0, 30}};
	struct config *cfg = l->cfg;
	unsigned *fields[] = {&cfg->throttle_per_address,
			      &cfg->throttle_per_account,
			      &cfg->throttle_period, &cfg->throttle_delay_ms};
	if (check_attrs(l, n, path, attrs) < 0)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		const char *v = cnode_attr(n, limits[i].attr);
		char setting[64];
		long value;
		if (!v)
			continue;
		snprintf(setting, sizeof setting, "%s/@%s", path,
			 limits[i].attr);
		if (parse_number(l, n, setting, v, limits[i].min,
				 limits[i].max, &value) < 0)
			return -1;
		*fields[i] = (unsigned)value * (i == 3 ? 1000 : 1);
	}
	return 0;
}

static int load_c2s_processes(struct loader *l, struct cnode *n,
			      const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1, 64, &v) < 0)
		return -1;
	l->cfg->c2s_processes = (unsigned)v;
	return 0;
}

static int load_c2s(struct loader *l, struct cnode *n, const char *path)
{
	static const struct setting settings[] = {
		{"listen", load_c2s_listen},
		{"require-starttls", load_c2s_require_starttls},
		{"max-stanza-size", load_c2s_max_stanza_size},
		{"max-depth", load_c2s_max_depth},
		{"mechanisms", load_c2s_mechanisms},
		{"resource-conflict", load_c2s_resource_conflict},
		{"auth-timeout", load_c2s_auth_timeout},
		{"auth-throttle", load_c2s_auth_throttle},
		{"processes", load_c2s_processes},
		{NULL, NULL}};
	return load_children(l, n, path, settings);
}

static const char *const known_modules[] = {
	"roster", "presence", "offline", "blocking", "disco", "ping", "vcard",
	NULL};

static int load_sm_modules(struct loader *l, struct cnode *n, const char *path)
{
	struct config *cfg = l->cfg;
	if (parse_words(l, n, path, cnode_value(n), cfg->modules,
			CONFIG_MAX_MODULES, &cfg->nmodules) < 0)
		return -1;
	for (size_t i = 0; i < cfg->nmodules; i++) {
		const char *const *k = known_modules;
		while (*k && strcmp(*k, cfg->modules[i]) != 0)
			k++;
		if (!*k)
			return fail(l, n, path, "'%s' is not a known module",
				    cfg->modules[i]);
	}
	return 0;
}

static int load_sm_offline_quota(struct loader *l, struct cnode *n,
				 const char *path)
{
	long v;
	if (parse_number(l, n, path, cnode_value(n), 1, 100000, &v) < 0)
		return -1;
	l->cfg->offline_quota = (unsigned)v;
	return 0;
}

static int load_sm(struct loader *l, struct cnode *n, const char *path)
{
	static const struct setting settings[] = {
		{"modules", load_sm_modules},
		{"offline-quota", load_sm_offline_quota},
		{NULL, NULL}};
	return load_children(l, n, path, settings);
}

/* ---- Defaults, the whole file ----------------------------------------- */

static int set_defaults(struct loader *l)
{
	static const char *const mechanisms[] = {
		"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
		"SCRAM-SHA-1", "PLAIN"};
	static const char *const modules[] = {"roster", "presence", "offline",
					       "blocking", "disco", "ping"};
	struct config *cfg = l->cfg;
	cfg->log_level = LOG_INFO;
	cfg->require_starttls = true;
	cfg->max_stanza_size = 262144;
	cfg->max_depth = 32;
	cfg->resource_conflict_replace = true;
	cfg->c2s_processes = 1;
	cfg->auth_timeout = 30;
	cfg->throttle_per_address = 30;
	cfg->throttle_per_account = 10;
	cfg->throttle_period = 60;
	cfg->throttle_delay_ms = 2000;
	cfg->offline_quota = 1000;
	for (size_t i = 0; i < 5; i++)
		cfg->mechanisms[cfg->nmechanisms++] = strdup(mechanisms[i]);
	for (size_t i = 0; i < sizeof modules / sizeof *modules; i++)
		cfg->modules[cfg->nmodules++] = strdup(modules[i]);
	if (parse_path(l, NULL, "pidfile", "palabred.pid", &cfg->pidfile) < 0 ||
	    parse_path(l, NULL, "router/socket", "router.sock",
		       &cfg->router_socket) < 0 ||
	    parse_path(l, NULL, "storage/path", "data", &cfg->data_dir) < 0)
		return -1;
	return 0;
}

static void set_default_listeners(struct config *cfg)
{
	static const struct {
		int port;
		bool direct_tls;
	} defaults[] = {{5222, false}, {5223, true}};
	for (size_t i = 0; i < 2; i++) {
		struct config_listener *li = &cfg->listeners[cfg->nlisteners++];
		li->address = strdup("0.0.0.0");
		li->port = defaults[i].port;
		li->direct_tls = defaults[i].direct_tls;
	}
}

static struct cnode *read_tree(struct loader *l, const char *path)
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
			 r.failed ? "out of memory"
				  : XML_ErrorString(XML_GetErrorCode(r.parser)));
		cnode_free(r.root);
		XML_ParserFree(r.parser);
		return NULL;
	}
	XML_ParserFree(r.parser);
	return r.root;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->path = strdup(path);
	const char *slash = strrchr(path, '/');
	static const struct loader blank;
	struct loader l = blank;
	l.cfg = cfg;
	l.file = path;
	l.dir = slash ? xstrndup(path, (size_t)(slash - path + 1))
		      : strdup(".");
	l.err = err;
	l.errlen = errlen;
	if (slash)
		l.dir[slash - path] = '\0';
	if (slash == path)
		strcpy(l.dir, "/");
	static const struct setting settings[] = {
		{"pidfile", load_pidfile}, {"log", load_log},
		{"router", load_router},   {"storage", load_storage},
		{"host", load_host},       {"ldap", load_ldap},
		{"c2s", load_c2s},
		{"sm", load_sm},           {NULL, NULL}};
	int rc = -1;
	struct cnode *root = read_tree(&l, path);
	if (!root)
		goto out;
	if (strcmp(root->name, "palabred") != 0) {
		fail(&l, root, root->name, "the root element must be <palabred>");
		goto out;
	}
	if (set_defaults(&l) < 0 || load_children(&l, root, "", settings) < 0)
		goto out;
	if (resolve_directories(&l) < 0)
		goto out;
	if (!cfg->nhosts) {
		fail(&l, root, "host", "no <host> is configured");
		goto out;
	}
	if (!cfg->nlisteners)
		set_default_listeners(cfg);
	rc = 0;
out:
	cnode_free(root);
	free(l.dir);
	for (size_t i = 0; i < CONFIG_MAX_HOSTS; i++)
		free(l.host_directory[i].id);
	if (rc < 0)
		config_free(cfg);
	return rc;
}

void config_free(struct config *cfg)
{
	free(cfg->path);
	free(cfg->pidfile);
	free(cfg->router_socket);
	free(cfg->router_secret);
	free(cfg->data_dir);
	for (size_t i = 0; i < cfg->nhosts; i++) {
		free(cfg->hosts[i].domain);
		free(cfg->hosts[i].certificate);
		free(cfg->hosts[i].key);
		free(cfg->hosts[i].auth_backend);
		free(cfg->hosts[i].ldap_base);
		free(cfg->hosts[i].ldap_filter);
	}
	for (size_t i = 0; i < cfg->ndirectories; i++) {
		struct config_ldap *d = &cfg->directories[i];
		free(d->id);
		for (size_t u = 0; u < d->nuris; u++)
			free(d->uris[u]);
		free(d->ca_file);
		free(d->bind_dn);
		for (size_t f = 0; f < CONFIG_VCARD_NFIELDS; f++)
			free(d->vcard_map[f]);
		if (d->bind_password) {
			memset(d->bind_password, 0, strlen(d->bind_password));
			free(d->bind_password);
		}
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		free(cfg->listeners[i].address);
	for (size_t i = 0; i < cfg->nmechanisms; i++)
		free(cfg->mechanisms[i]);
	for (size_t i = 0; i < cfg->nmodules; i++)
		free(cfg->modules[i]);
	memset(cfg, 0, sizeof *cfg);
}

const struct config_host *config_find_host(const struct config *cfg,
					   const char *domain)
{
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (strcmp(cfg->hosts[i].domain, domain) == 0)
			return &cfg->hosts[i];
	return NULL;
}

const struct config_ldap *config_host_directory(const struct config *cfg,
						const struct config_host *host)
{
	if (!host || !host->auth_backend ||
	    strcmp(host->auth_backend, "ldap") != 0 || host->directory < 0 ||
	    (size_t)host->directory >= cfg->ndirectories)
		return NULL;
	return &cfg->directories[host->directory];
}

static bool word_in(char *const *words, size_t n, const char *word)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(words[i], word) == 0)
			return true;
	return false;
}

bool config_has_mechanism(const struct config *cfg, const char *mech)
{
	return word_in(cfg->mechanisms, cfg->nmechanisms, mech);
}

bool config_has_module(const struct config *cfg, const char *module)
{
	return word_in(cfg->modules, cfg->nmodules, module);
}

int config_make_data_dir(const struct config *cfg, char *err, size_t errlen)
{
	if (mkdir(cfg->data_dir, 0700) == 0 || errno == EEXIST)
		return 0;
	snprintf(err, errlen, "%s: storage/path: cannot create %s: %s",
		 cfg->path, cfg->data_dir, strerror(errno));
	return -1;
}

char *config_data_path(const struct config *cfg, const char *file)
{
	char *path;
	if (asprintf(&path, "%s/%s", cfg->data_dir, file) < 0)
		return NULL;
	return path;
}
