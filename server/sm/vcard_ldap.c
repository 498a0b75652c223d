/* vcard_ldap: vCards from a directory (XEP-0054 vcard-temp).
 *
 * For a domain whose auth backend is ldap and whose directory has a
 * <vcard> map, a user's entry is searched with the domain's base and
 * filter by the service account (auth_user_attributes) on the worker
 * pool, in the directory's lane (lookup.h): the sm loop never waits;
 * the vCard is built from the mapped attributes. vcard.c merges it
 * with what the user stored; the directory's fields win. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "../../lib/config_reader.h"
#include "../../lib/log.h"
#include "lookup.h"
#include "module.h"
#include "sm.h"
#include "vcard.h"

/* Lookups waiting or running at once (in their directory's lane,
 * lookup.h); past it, an iq gets resource-constraint (wait) rather than
 * queueing behind a directory that hangs. */
#define VCARD_PENDING_MAX 32

struct sm_vcard_directory {
	struct sm *sm;
	struct sm_vcard_map *maps; /* by directory (cfg->directories) */
	unsigned pending;
};

struct vcard_lookup {
	struct sm_vcard_directory *dir;
	const struct config_host *host;
	char *localpart;
	char *jid; /* bare, for JABBERID */
	/* The distinct attributes asked, and each field's index in them. */
	const char *attrs[SM_VCARD_NFIELDS];
	size_t nattrs;
	int field_attr[SM_VCARD_NFIELDS]; /* -1: field off */
	enum auth_user_status status;
	char ***values;
	sm_vcard_directory_fn done;
	void *ctx;
};

/* ------------------------------------------------------------ building */

/* UTF-8 (RFC 3629), without the C0 controls XML 1.0 forbids. */
static bool text_ok(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	if (!*p)
		return false;
	while (*p) {
		unsigned c = *p;
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			if (c < 0x20 && c != '\t' && c != '\n' && c != '\r')
				return false;
			p++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		for (size_t i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i] & 0x3f);
		}
		static const unsigned min[] = {0, 0x80, 0x800, 0x10000};
		if (cp < min[n] || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp == 0xfffe ||
		    cp == 0xffff)
			return false;
		p += n + 1;
	}
	return true;
}

/* The first usable value of field f, or NULL. */
static const char *first(char **const values[], enum sm_vcard_field f)
{
	for (char **v = values[f]; v && *v; v++)
		if (text_ok(*v))
			return *v;
	return NULL;
}

static int add_text(struct arena *a, struct xml_node *parent, const char *name,
		    const char *text)
{
	struct xml_node *n = xml_add_child(a, parent, NS_VCARD, name);
	return n && xml_append_text(a, n, text, strlen(text)) == 0 ? 0 : -1;
}

/* <TEL><type…/><NUMBER>v</NUMBER></TEL> per usable value. */
static int add_tels(struct arena *a, struct xml_node *vc, char **values,
		    const char *kind)
{
	for (char **v = values; v && *v; v++) {
		if (!text_ok(*v))
			continue;
		struct xml_node *t = xml_add_child(a, vc, NS_VCARD, "TEL");
		if (!t || !xml_add_child(a, t, NS_VCARD, kind) ||
		    !xml_add_child(a, t, NS_VCARD, "WORK") ||
		    add_text(a, t, "NUMBER", *v) < 0)
			return -1;
	}
	return 0;
}

struct xml_node *sm_vcard_build(struct arena *a,
				char **const values[SM_VCARD_NFIELDS],
				const char *jid)
{
	struct xml_node *vc = xml_node_new(a, NS_VCARD, "vCard");
	if (!vc)
		return NULL;
	const char *s;
	/* XEP-0054 §3's order: FN, N, NICKNAME, URL, TEL, EMAIL, JABBERID,
	 * TITLE, ROLE, ORG, DESC. */
	if ((s = first(values, SM_VCARD_FN)) && add_text(a, vc, "FN", s) < 0)
		return NULL;
	const char *family = first(values, SM_VCARD_FAMILY);
	const char *given = first(values, SM_VCARD_GIVEN);
	const char *middle = first(values, SM_VCARD_MIDDLE);
	if (family || given || middle) {
		struct xml_node *n = xml_add_child(a, vc, NS_VCARD, "N");
		if (!n || (family && add_text(a, n, "FAMILY", family) < 0) ||
		    (given && add_text(a, n, "GIVEN", given) < 0) ||
		    (middle && add_text(a, n, "MIDDLE", middle) < 0))
			return NULL;
	}
	if ((s = first(values, SM_VCARD_NICKNAME)) &&
	    add_text(a, vc, "NICKNAME", s) < 0)
		return NULL;
	if ((s = first(values, SM_VCARD_URL)) && add_text(a, vc, "URL", s) < 0)
		return NULL;
	if (add_tels(a, vc, values[SM_VCARD_TEL], "VOICE") < 0 ||
	    add_tels(a, vc, values[SM_VCARD_MOBILE], "CELL") < 0)
		return NULL;
	for (char **v = values[SM_VCARD_EMAIL]; v && *v; v++) {
		if (!text_ok(*v))
			continue;
		struct xml_node *e = xml_add_child(a, vc, NS_VCARD, "EMAIL");
		if (!e || !xml_add_child(a, e, NS_VCARD, "INTERNET") ||
		    add_text(a, e, "USERID", *v) < 0)
			return NULL;
	}
	if (jid && add_text(a, vc, "JABBERID", jid) < 0)
		return NULL;
	if ((s = first(values, SM_VCARD_TITLE)) &&
	    add_text(a, vc, "TITLE", s) < 0)
		return NULL;
	if ((s = first(values, SM_VCARD_ROLE)) &&
	    add_text(a, vc, "ROLE", s) < 0)
		return NULL;
	const char *orgname = first(values, SM_VCARD_ORGNAME);
	const char *unit = first(values, SM_VCARD_ORGUNIT);
	if (orgname || unit) {
		struct xml_node *o = xml_add_child(a, vc, NS_VCARD, "ORG");
		/* The DTD wants ORGNAME first, even when only units are
		 * known. */
		if (!o || add_text(a, o, "ORGNAME", orgname ? orgname : "") < 0)
			return NULL;
		for (char **v = values[SM_VCARD_ORGUNIT]; v && *v; v++)
			if (text_ok(*v) && add_text(a, o, "ORGUNIT", *v) < 0)
				return NULL;
	}
	if ((s = first(values, SM_VCARD_DESC)) &&
	    add_text(a, vc, "DESC", s) < 0)
		return NULL;
	return vc;
}

/* ------------------------------------------------------------ the map */

/* Their names in <field name="…">, by enum sm_vcard_field. */
static const char *const field_names[SM_VCARD_NFIELDS] = {
	[SM_VCARD_FN] = "FN",
	[SM_VCARD_GIVEN] = "GIVEN",
	[SM_VCARD_FAMILY] = "FAMILY",
	[SM_VCARD_MIDDLE] = "MIDDLE",
	[SM_VCARD_NICKNAME] = "NICKNAME",
	[SM_VCARD_EMAIL] = "EMAIL",
	[SM_VCARD_TEL] = "TEL",
	[SM_VCARD_MOBILE] = "MOBILE",
	[SM_VCARD_ORGNAME] = "ORGNAME",
	[SM_VCARD_ORGUNIT] = "ORGUNIT",
	[SM_VCARD_TITLE] = "TITLE",
	[SM_VCARD_ROLE] = "ROLE",
	[SM_VCARD_URL] = "URL",
	[SM_VCARD_DESC] = "DESC",
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

/* <field name="TEL" attribute="homePhone"/>, into l->target's map. */
static int vcard_field_read(struct config_loader *l, struct cnode *n,
			    const char *path)
{
	static const char *const attrs[] = {"name", "attribute", NULL};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *name = cnode_attr(n, "name");
	const char *attr = cnode_attr(n, "attribute");
	char setting[300];
	snprintf(setting, sizeof setting, "%s/@name", path);
	if (!name)
		return config_fail(l, n, setting,
				   "missing (FN, GIVEN, FAMILY, EMAIL, "
				   "TEL, ORGUNIT …)");
	size_t f = 0;
	while (f < SM_VCARD_NFIELDS && strcmp(field_names[f], name) != 0)
		f++;
	if (f == SM_VCARD_NFIELDS)
		return config_fail(
			l, n, setting,
			"'%s' is not a vCard field of FN, "
			"GIVEN, FAMILY, MIDDLE, NICKNAME, EMAIL, TEL, "
			"MOBILE, ORGNAME, ORGUNIT, TITLE, ROLE, URL, DESC",
			name);
	snprintf(setting, sizeof setting, "%s/@attribute", path);
	if (!attr)
		return config_fail(l, n, setting,
				   "missing (an LDAP attribute, or "
				   "\"\" for none)");
	if (*attr && !ldap_attribute_ok(attr))
		return config_fail(l, n, setting,
				   "'%s' is not an LDAP attribute name", attr);
	struct sm_vcard_map *map = l->target;
	map->attrs[f] = *attr ? attr : NULL;
	return 0;
}

/* The option "vcard": <ldap><vcard defaults="…"><field …/>…</vcard>
 * (struct sm_option's read). */
int sm_vcard_map_read(struct config_loader *l, struct cnode *n,
		      const char *path)
{
	static const char *const attrs[] = {"defaults", NULL};
	static const struct config_setting settings[] = {
		{"field", vcard_field_read}, {NULL, NULL}};
	static const char *const defaults[SM_VCARD_NFIELDS] = {
		[SM_VCARD_FN] = "cn",
		[SM_VCARD_GIVEN] = "givenName",
		[SM_VCARD_FAMILY] = "sn",
		[SM_VCARD_EMAIL] = "mail",
		[SM_VCARD_TEL] = "telephoneNumber",
		[SM_VCARD_MOBILE] = "mobile",
		[SM_VCARD_ORGUNIT] = "ou",
		[SM_VCARD_TITLE] = "title",
	};
	/* Read into the caller's map, or (at palabred's check) into one
	 * that lives only as long as this call. */
	void *outer = l->target;
	struct sm_vcard_map checked, *map = outer ? outer : &checked;
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *def = cnode_attr(n, "defaults");
	bool use_defaults = true;
	if (def && strcmp(def, "true") != 0) {
		if (strcmp(def, "false") != 0)
			return config_fail(l, n, "ldap/vcard/@defaults",
					   "'%s' is not true or false", def);
		use_defaults = false;
	}
	*map = (struct sm_vcard_map){.on = true};
	for (size_t f = 0; use_defaults && f < SM_VCARD_NFIELDS; f++)
		map->attrs[f] = defaults[f];
	l->target = map;
	int rc = config_load_children(l, n, path, settings);
	l->target = outer; /* never left pointing at `checked` */
	return rc;
}

/* ------------------------------------------------------------ lookups */

static void lookup_free(struct vcard_lookup *r)
{
	auth_attribute_values_free(r->values, r->nattrs);
	free(r->localpart);
	free(r->jid);
	free(r);
}

static void lookup_work(void *ctx)
{
	struct vcard_lookup *r = ctx;
	r->status = auth_user_attributes(r->dir->sm->cfg, r->host->domain,
					 r->localpart, r->attrs, r->nattrs,
					 &r->values);
}

/* The entry's vCard, in sm->arena; NULL when out of memory. */
static struct xml_node *lookup_vcard(struct sm *sm, struct vcard_lookup *r)
{
	char **values[SM_VCARD_NFIELDS];
	for (size_t f = 0; f < SM_VCARD_NFIELDS; f++)
		values[f] = r->field_attr[f] < 0 ? NULL
						 : r->values[r->field_attr[f]];
	return sm_vcard_build(&sm->arena, values, r->jid);
}

static void lookup_done(struct sm *sm, void *ctx, int status)
{
	struct vcard_lookup *r = ctx;
	r->dir->pending--;
	if (status < 0)
		r->status = AUTH_USER_ERROR;
	log_debug("vcard: %s from the directory: %s", r->jid,
		  r->status == AUTH_USER_EXISTS    ? "found"
		  : r->status == AUTH_USER_UNKNOWN ? "no such entry"
						   : "unreachable");
	struct xml_node *vc = NULL;
	if (r->status == AUTH_USER_EXISTS && !(vc = lookup_vcard(sm, r)))
		r->status = AUTH_USER_ERROR;
	r->done(sm, r->ctx, r->status, vc);
	arena_reset(&sm->arena);
	lookup_free(r);
}

/* The distinct attributes of map into r. */
static void lookup_attributes(struct vcard_lookup *r,
			      const struct sm_vcard_map *map)
{
	for (size_t f = 0; f < SM_VCARD_NFIELDS; f++) {
		const char *attr = map->attrs[f];
		r->field_attr[f] = -1;
		if (!attr)
			continue;
		size_t i = 0;
		while (i < r->nattrs && strcasecmp(r->attrs[i], attr) != 0)
			i++;
		if (i == r->nattrs)
			r->attrs[r->nattrs++] = attr;
		r->field_attr[f] = (int)i;
	}
}

int sm_vcard_directory_lookup(struct sm_vcard_directory *d,
			      const struct config_host *host, const char *local,
			      sm_vcard_directory_fn done, void *ctx)
{
	if (d->pending >= VCARD_PENDING_MAX) {
		log_warn("vcard: %u directory lookups pending; refusing one",
			 d->pending);
		return -2;
	}
	struct vcard_lookup *r = calloc(1, sizeof *r);
	size_t jl = strlen(local) + 1 + strlen(host->domain) + 1;
	if (!r || !(r->localpart = strdup(local)) || !(r->jid = malloc(jl))) {
		if (r)
			lookup_free(r);
		return -1;
	}
	snprintf(r->jid, jl, "%s@%s", local, host->domain);
	r->dir = d;
	r->host = host;
	r->done = done;
	r->ctx = ctx;
	lookup_attributes(r, &d->maps[host->directory]);
	/* In the directory's lane (lookup.h): a hung directory holds few
	 * worker threads, never the account checks of other domains. */
	d->pending++;
	if (sm_lookup_queue(d->sm, host->domain, lookup_work, lookup_done, r) <
	    0) {
		d->pending--;
		lookup_free(r);
		return -1;
	}
	return 0;
}

const struct sm_vcard_map *
sm_vcard_directory_map(const struct sm_vcard_directory *d,
		       const struct config_host *host)
{
	const struct config_ldap *dir =
		host ? config_host_directory(d->sm->cfg, host) : NULL;
	const struct sm_vcard_map *map = dir ? &d->maps[host->directory] : NULL;
	return map && map->on ? map : NULL;
}

/* Each directory's map, from config.xml (checked when palabred loaded
 * it). */
struct sm_vcard_directory *sm_vcard_directory_new(struct sm *sm)
{
	const struct config *cfg = sm->cfg;
	struct sm_vcard_directory *d = calloc(1, sizeof *d);
	if (!d || !(d->maps = calloc(cfg->ndirectories + 1, sizeof *d->maps))) {
		free(d);
		return NULL;
	}
	d->sm = sm;
	char err[512];
	for (size_t i = 0; i < cfg->ndirectories; i++)
		if (sm_module_option_read(cfg, &sm_module_vcard, "vcard", i,
					  &d->maps[i], err, sizeof err) < 0) {
			log_error("%s", err);
			sm_vcard_directory_free(d);
			return NULL;
		}
	return d;
}

void sm_vcard_directory_free(struct sm_vcard_directory *d)
{
	if (!d)
		return;
	/* The lookups use the configuration: wait for them. */
	while (d->pending > 0 && d->sm->loop)
		uv_run(d->sm->loop, UV_RUN_ONCE);
	free(d->maps);
	free(d);
}
