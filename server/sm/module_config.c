/* module_config: which sm modules exist, which are on, and their
 * options, from the elements lib/ keeps unread for the sm (<sm>, and
 * what it does not know in each <ldap>): checked against the modules'
 * declarations when palabred loads config.xml, read by each module in
 * its init (module.h). */
#include "module.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/config_reader.h"
#include "../../lib/log.h"

/* Every module the sm knows: the Makefile writes one SM_MODULE(name)
 * into sm_modules.h per `const struct sm_module sm_module_NAME` that it
 * finds in the files of server/sm/. A table rather than a linker section: it
 * makes palabred and the unit tests, which link the sm from a static
 * library, pull in every module's object. */
#define SM_MODULE(name) extern const struct sm_module sm_module_##name;
#include "sm_modules.h"
#undef SM_MODULE

static const struct sm_module *const all_modules[] = {
#define SM_MODULE(name) &sm_module_##name,
#include "sm_modules.h"
#undef SM_MODULE
};

#define NMODULES (sizeof all_modules / sizeof *all_modules)
_Static_assert(NMODULES <= SM_MODULES_MAX, "raise SM_MODULES_MAX");

/* ------------------------------------------------------------ names */

static const struct sm_module *module_find(const char *name, size_t len)
{
	for (size_t i = 0; i < NMODULES; i++)
		if (strlen(all_modules[i]->name) == len &&
		    memcmp(all_modules[i]->name, name, len) == 0)
			return all_modules[i];
	return NULL;
}

/* The next word of a white-space separated list, from *p; NULL at its
 * end. */
static const char *next_word(const char **p, size_t *len)
{
	const char *w = *p + strspn(*p, " \t\r\n");
	*len = strcspn(w, " \t\r\n");
	*p = w + *len;
	return *len ? w : NULL;
}

/* The last element called name in a kept list (a setting given twice:
 * the last counts, as for lib/'s own). */
static struct cnode *kept_last(struct cnode *kept, const char *name)
{
	struct cnode *last = NULL;
	for (struct cnode *n = kept; n; n = n->next)
		if (strcmp(n->name, name) == 0)
			last = n;
	return last;
}

static size_t list_add(const struct sm_module *on[], size_t n,
		       const struct sm_module *m)
{
	for (size_t i = 0; i < n; i++)
		if (on[i] == m)
			return n; /* named twice */
	on[n] = m;
	return n + 1;
}

size_t sm_module_list_on(const struct config *cfg,
			 const struct sm_module *on[SM_MODULES_MAX])
{
	struct cnode *list = kept_last(cfg->sm, "modules");
	size_t n = 0, len;
	if (!list) {
		for (size_t i = 0; i < NMODULES; i++)
			if (all_modules[i]->on_by_default)
				on[n++] = all_modules[i];
		return n;
	}
	const char *p = list->text ? list->text : "";
	for (const char *w; (w = next_word(&p, &len));) {
		/* Checked at load (sm_module_check_config). */
		const struct sm_module *m = module_find(w, len);
		if (m)
			n = list_add(on, n, m);
	}
	return n;
}

bool sm_module_is_on(const struct config *cfg, const char *name)
{
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	for (size_t i = 0; i < n; i++)
		if (strcmp(on[i]->name, name) == 0)
			return true;
	return false;
}

void sm_module_append_stream_features(const struct config *cfg, struct buf *out)
{
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	for (size_t i = 0; i < n; i++)
		if (on[i]->stream_feature)
			buf_append_str(out, on[i]->stream_feature);
}

/* ------------------------------------------------------------ options */

static const struct sm_option *
option_of(const struct sm_module *m, enum sm_option_type type, const char *name)
{
	for (const struct sm_option *o = m->options; o && o->name; o++)
		if (o->type == type && strcmp(o->name, name) == 0)
			return o;
	return NULL;
}

/* The option called name of any module. */
static const struct sm_option *option_find(enum sm_option_type type,
					   const char *name)
{
	const struct sm_option *o = NULL;
	for (size_t i = 0; !o && i < NMODULES; i++)
		o = option_of(all_modules[i], type, name);
	return o;
}

/* A loader for the kept elements: its errors name cfg's file, and
 * relative paths (a secret's file) start from that file's directory,
 * written into dir, as for lib/'s settings. */
static void option_loader(struct config_loader *l, const struct config *cfg,
			  char *err, size_t errlen, char dir[PATH_MAX])
{
	static const struct config_loader blank;
	const char *slash = cfg->path ? strrchr(cfg->path, '/') : NULL;
	*l = blank;
	l->file = cfg->path ? cfg->path : "config.xml";
	l->err = err;
	l->errlen = errlen;
	if (slash)
		snprintf(dir, PATH_MAX, "%.*s",
			 slash == cfg->path ? 1 : (int)(slash - cfg->path),
			 cfg->path);
	else
		snprintf(dir, PATH_MAX, ".");
	l->dir = dir;
}

/* The value of m's option name of that type in <sm>: the last element
 * given, or NULL when absent (its default then), with o its
 * declaration. */
static struct cnode *option_given(const struct config *cfg,
				  const struct sm_module *m,
				  enum sm_option_type type, const char *name,
				  const struct sm_option **o)
{
	*o = option_of(m, type, name);
	if (!*o) {
		log_error("sm: module '%s' has no option '%s'", m->name, name);
		return NULL;
	}
	return kept_last(cfg->sm, name);
}

long sm_module_option_integer(const struct config *cfg,
			      const struct sm_module *m, const char *name)
{
	const struct sm_option *o;
	struct cnode *n = option_given(cfg, m, SM_OPTION_INTEGER, name, &o);
	struct config_loader l;
	char dir[PATH_MAX];
	char err[256];
	long v;
	if (!o)
		return 0;
	option_loader(&l, cfg, err, sizeof err, dir);
	if (!n || config_parse_number(&l, n, name, cnode_value(n), o->min,
				      o->max, &v) < 0)
		return o->def;
	return v;
}

bool sm_module_option_boolean(const struct config *cfg,
			      const struct sm_module *m, const char *name)
{
	const struct sm_option *o;
	struct cnode *n = option_given(cfg, m, SM_OPTION_BOOLEAN, name, &o);
	struct config_loader l;
	char dir[PATH_MAX];
	char err[256];
	bool v;
	if (!o)
		return false;
	option_loader(&l, cfg, err, sizeof err, dir);
	if (!n || config_parse_bool(&l, n, name, cnode_value(n), &v) < 0)
		return o->def != 0;
	return v;
}

/* Reads the element name of a kept list (a directory's, a host's)
 * with m's option of that type, whose setting is prefix/name. */
static int option_read_kept(const struct config *cfg, const struct sm_module *m,
			    enum sm_option_type type, struct cnode *kept,
			    const char *prefix, const char *name, void *out,
			    char *err, size_t errlen)
{
	const struct sm_option *o = option_of(m, type, name);
	struct cnode *n = kept_last(kept, name);
	struct config_loader l;
	char dir[PATH_MAX];
	char path[128];
	if (!o || !n)
		return 0;
	option_loader(&l, cfg, err, errlen, dir);
	l.target = out;
	snprintf(path, sizeof path, "%s/%s", prefix, name);
	return o->read(&l, n, path) < 0 ? -1 : 1;
}

int sm_module_option_read(const struct config *cfg, const struct sm_module *m,
			  const char *name, size_t directory, void *out,
			  char *err, size_t errlen)
{
	return option_read_kept(cfg, m, SM_OPTION_DIRECTORY,
				cfg->directories[directory].kept, "ldap", name,
				out, err, errlen);
}

int sm_module_option_read_host(const struct config *cfg,
			       const struct sm_module *m, const char *name,
			       size_t host, void *out, char *err, size_t errlen)
{
	return option_read_kept(cfg, m, SM_OPTION_HOST, cfg->hosts[host].kept,
				"host", name, out, err, errlen);
}

bool sm_module_serves(const struct config *cfg, const struct sm_module *m,
		      const struct config_host *host)
{
	return !m->serves || m->serves(cfg, host);
}

/* ------------------------------------------------------------ checks */

static int check_module_list(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	const char *p = cnode_value(n), *w;
	size_t len, count = 0;
	while ((w = next_word(&p, &len))) {
		if (++count > SM_MODULES_MAX)
			return config_fail(l, n, path, "more than %d entries",
					   SM_MODULES_MAX);
		if (!module_find(w, len))
			return config_fail(l, n, path,
					   "'%.*s' is not a known module",
					   (int)len, w);
	}
	return 0;
}

/* An element of <sm>: the list of modules, or an integer or boolean
 * option. */
static int check_sm_setting(struct config_loader *l, struct cnode *n)
{
	char path[128];
	long v;
	bool b;
	snprintf(path, sizeof path, "sm/%s", n->name);
	if (strcmp(n->name, "modules") == 0)
		return check_module_list(l, n, path);
	const struct sm_option *o = option_find(SM_OPTION_INTEGER, n->name);
	if (o)
		return config_parse_number(l, n, path, cnode_value(n), o->min,
					   o->max, &v);
	if (option_find(SM_OPTION_BOOLEAN, n->name))
		return config_parse_bool(l, n, path, cnode_value(n), &b);
	return config_fail(l, n, path, "unknown setting");
}

/* An element of an <ldap> directory or a <host> that lib/ kept: an
 * option of that type, once. */
static int check_kept_setting(struct config_loader *l, struct cnode *kept,
			      struct cnode *n, enum sm_option_type type,
			      const char *prefix)
{
	char path[128];
	snprintf(path, sizeof path, "%s/%s", prefix, n->name);
	const struct sm_option *o = option_find(type, n->name);
	if (!o)
		return config_fail(l, n, path, "unknown setting");
	for (struct cnode *e = kept; e != n; e = e->next)
		if (strcmp(e->name, n->name) == 0)
			return config_fail(l, n, path, "given twice");
	return o->read(l, n, path);
}

static int check_kept(struct config_loader *l, struct cnode *kept,
		      enum sm_option_type type, const char *prefix)
{
	for (struct cnode *n = kept; n; n = n->next)
		if (check_kept_setting(l, kept, n, type, prefix) < 0)
			return -1;
	return 0;
}

int sm_module_check_config(const struct config *cfg, char *err, size_t errlen)
{
	struct config_loader l;
	char dir[PATH_MAX];
	option_loader(&l, cfg, err, errlen, dir);
	for (struct cnode *n = cfg->sm; n; n = n->next)
		if (check_sm_setting(&l, n) < 0)
			return -1;
	for (size_t d = 0; d < cfg->ndirectories; d++)
		if (check_kept(&l, cfg->directories[d].kept,
			       SM_OPTION_DIRECTORY, "ldap") < 0)
			return -1;
	for (size_t h = 0; h < cfg->nhosts; h++)
		if (check_kept(&l, cfg->hosts[h].kept, SM_OPTION_HOST, "host") <
		    0)
			return -1;
	return 0;
}
