#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config_reader.h"
#include "jid.h"
#include "log.h"

/* ---- Sections -------------------------------------------------------- */

static int load_pidfile(struct config_loader *l, struct cnode *n,
			const char *path)
{
	return config_parse_path(l, n, path, cnode_value(n), &l->cfg->pidfile);
}

static int load_log(struct config_loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"level", NULL};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *level = cnode_attr(n, "level");
	if (!level)
		return 0;
	int v = log_level_from_name(level);
	if (v < 0)
		return config_fail(l, n, "log/@level",
				   "'%s' is not debug, info, warn or error",
				   level);
	l->cfg->log_level = v;
	return 0;
}

static int load_router_socket(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	return config_parse_path(l, n, path, cnode_value(n),
				 &l->cfg->router_socket);
}

static int load_router_secret(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	char *file = NULL, secret[512] = "";
	if (config_parse_first_line(l, n, path, cnode_value(n), &file, secret,
				    sizeof secret) < 0) {
		free(file);
		return -1;
	}
	if (strlen(secret) < 16) {
		config_fail(l, n, path, "%s holds fewer than 16 characters",
			    file);
		free(file);
		return -1;
	}
	free(file);
	free(l->cfg->router_secret);
	l->cfg->router_secret = strdup(secret);
	return 0;
}

static int load_router(struct config_loader *l, struct cnode *n,
		       const char *path)
{
	static const struct config_setting settings[] = {
		{"socket", load_router_socket},
		{"secret-file", load_router_secret},
		{NULL, NULL}};
	return config_load_children(l, n, path, settings);
}

static int load_storage_path(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	return config_parse_path(l, n, path, cnode_value(n), &l->cfg->data_dir);
}

static int load_storage(struct config_loader *l, struct cnode *n,
			const char *path)
{
	static const struct config_setting settings[] = {
		{"path", load_storage_path}, {NULL, NULL}};
	return config_load_children(l, n, path, settings);
}

static struct config_host *current_host(struct config_loader *l)
{
	return &l->cfg->hosts[l->cfg->nhosts - 1];
}

static int load_host_certificate(struct config_loader *l, struct cnode *n,
				 const char *path)
{
	return config_parse_readable_file(l, n, path, cnode_value(n),
					  &current_host(l)->certificate);
}

static int load_host_key(struct config_loader *l, struct cnode *n,
			 const char *path)
{
	return config_parse_readable_file(l, n, path, cnode_value(n),
					  &current_host(l)->key);
}

static int load_host_auth_base(struct config_loader *l, struct cnode *n,
			       const char *path)
{
	const char *v = cnode_value(n);
	if (!*v || strlen(v) > 1024)
		return config_fail(l, n, path,
				   "a DN is required (e.g. "
				   "ou=people,dc=example,dc=org)");
	free(current_host(l)->ldap_base);
	current_host(l)->ldap_base = strdup(v);
	return 0;
}

/* RFC 4515 filter template: parenthesised, balanced, with %u (the
 * prepared local part) and optionally %d (the domain); both are escaped
 * when the filter is built (auth/ldap_filter.c). */
static int check_filter_template(struct config_loader *l, struct cnode *n,
				 const char *path, const char *v)
{
	int depth = 0;
	bool has_user = false, closed = false;
	if (v[0] != '(' || strlen(v) > 1024)
		return config_fail(l, n, path,
				   "'%s' is not an LDAP filter in "
				   "parentheses, e.g. (mail=%%u@%%d)",
				   v);
	for (const char *p = v; *p && !closed; p++) {
		if (*p == '%') {
			if (p[1] == 'u')
				has_user = true;
			else if (p[1] != 'd' && p[1] != '%')
				return config_fail(l, n, path,
						   "'%%%c' is not %%u, "
						   "%%d or %%%%",
						   p[1] ? p[1] : ' ');
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
		return config_fail(l, n, path,
				   "'%s': unbalanced parentheses, or "
				   "more than one filter",
				   v);
	if (!has_user)
		return config_fail(l, n, path,
				   "'%s' has no %%u (the user's local "
				   "part)",
				   v);
	return 0;
}

static int load_host_auth_filter(struct config_loader *l, struct cnode *n,
				 const char *path)
{
	const char *v = cnode_value(n);
	if (check_filter_template(l, n, path, v) < 0)
		return -1;
	free(current_host(l)->ldap_filter);
	current_host(l)->ldap_filter = strdup(v);
	return 0;
}

static int load_host_auth(struct config_loader *l, struct cnode *n,
			  const char *path)
{
	static const char *const attrs[] = {"backend", "directory", NULL};
	static const struct config_setting ldap_settings[] = {
		{"base", load_host_auth_base},
		{"filter", load_host_auth_filter},
		{NULL, NULL}};
	static const struct config_setting no_settings[] = {{NULL, NULL}};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	struct config_host *h = current_host(l);
	const char *backend = cnode_attr(n, "backend");
	const char *directory = cnode_attr(n, "directory");
	bool ldap = backend && strcmp(backend, "ldap") == 0;
	if (!backend || (!ldap && strcmp(backend, "local") != 0))
		return config_fail(
			l, n, "host/auth/@backend",
			"'%s' is not a known account backend (local, "
			"ldap)",
			backend ? backend : "");
	free(h->auth_backend);
	h->auth_backend = strdup(backend);
	if (!ldap) {
		if (directory)
			return config_fail(l, n, "host/auth/@directory",
					   "only for backend=\"ldap\"");
		return config_load_children(l, n, path, no_settings);
	}
	if (!directory || !*directory)
		return config_fail(l, n, "host/auth/@directory",
				   "missing: the id of an <ldap> directory");
	size_t i = l->cfg->nhosts - 1;
	free(l->host_directory[i].id);
	l->host_directory[i].id = strdup(directory);
	l->host_directory[i].line = n->line;
	if (config_load_children(l, n, path, ldap_settings) < 0)
		return -1;
	if (!h->ldap_base)
		return config_fail(l, n, "host/auth/base",
				   "missing for '%s' (the "
				   "search base of its users)",
				   h->domain);
	if (!h->ldap_filter)
		return config_fail(l, n, "host/auth/filter",
				   "missing for '%s' (e.g. "
				   "(mail=%%u@%%d))",
				   h->domain);
	return 0;
}

static int load_host(struct config_loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"domain", NULL};
	static const struct config_setting settings[] = {
		{"certificate", load_host_certificate},
		{"key", load_host_key},
		{"auth", load_host_auth},
		{NULL, NULL}};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *domain = cnode_attr(n, "domain");
	char prepared[JID_PART_MAX + 1];
	if (!domain || jid_prep_domain(prepared, domain) < 0)
		return config_fail(l, n, "host/@domain",
				   "'%s' is not a domain name",
				   domain ? domain : "");
	if (config_find_host(l->cfg, prepared))
		return config_fail(l, n, "host/@domain", "'%s' is served twice",
				   prepared);
	if (l->cfg->nhosts == CONFIG_MAX_HOSTS)
		return config_fail(l, n, path, "more than %d hosts",
				   CONFIG_MAX_HOSTS);
	struct config_host *h = &l->cfg->hosts[l->cfg->nhosts++];
	h->domain = strdup(prepared);
	h->auth_backend = strdup("local");
	/* What it does not know is the sm's (server/sm/module.h). */
	if (config_load_children_keeping(l, n, path, settings, &h->kept) < 0)
		return -1;
	if (!h->certificate)
		return config_fail(l, n, "host/certificate",
				   "missing for '%s' (a PEM certificate file)",
				   h->domain);
	if (!h->key)
		return config_fail(l, n, "host/key",
				   "missing for '%s' (a PEM private key file)",
				   h->domain);
	return 0;
}

int config_parse_listen(struct config_loader *l, struct cnode *n,
			const char *path, struct config_listener *listeners,
			size_t *count)
{
	static const char *const attrs[] = {"address", "port", "tls", NULL};
	char setting[64];
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	if (*count == CONFIG_MAX_LISTENERS)
		return config_fail(l, n, path, "more than %d listeners",
				   CONFIG_MAX_LISTENERS);
	const char *port = cnode_attr(n, "port");
	const char *tls = cnode_attr(n, "tls");
	const char *address = cnode_attr(n, "address");
	long v;
	snprintf(setting, sizeof setting, "%s/@port", path);
	if (!port)
		return config_fail(l, n, setting, "missing");
	if (config_parse_number(l, n, setting, port, 1, 65535, &v) < 0)
		return -1;
	snprintf(setting, sizeof setting, "%s/@tls", path);
	if (tls && strcmp(tls, "direct") != 0 && strcmp(tls, "starttls") != 0)
		return config_fail(l, n, setting,
				   "'%s' is not starttls or direct", tls);
	struct config_listener *li = &listeners[(*count)++];
	li->address = strdup(address ? address : "0.0.0.0");
	li->port = (int)v;
	li->direct_tls = tls && strcmp(tls, "direct") == 0;
	return 0;
}

static int load_c2s_listen(struct config_loader *l, struct cnode *n,
			   const char *path)
{
	return config_parse_listen(l, n, path, l->cfg->listeners,
				   &l->cfg->nlisteners);
}

static int load_c2s_require_starttls(struct config_loader *l, struct cnode *n,
				     const char *path)
{
	return config_parse_bool(l, n, path, cnode_value(n),
				 &l->cfg->require_starttls);
}

static int load_c2s_max_stanza_size(struct config_loader *l, struct cnode *n,
				    const char *path)
{
	long v;
	if (config_parse_number(l, n, path, cnode_value(n), 1024, 16 << 20,
				&v) < 0)
		return -1;
	l->cfg->max_stanza_size = (size_t)v;
	return 0;
}

static int load_c2s_max_depth(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 4, 1000,
				     &l->cfg->max_depth);
}

static const char *const known_mechanisms[] = {"SCRAM-SHA-256-PLUS",
					       "SCRAM-SHA-1-PLUS",
					       "SCRAM-SHA-256",
					       "SCRAM-SHA-1",
					       "PLAIN",
					       "DIGEST-MD5",
					       NULL};

static int load_c2s_mechanisms(struct config_loader *l, struct cnode *n,
			       const char *path)
{
	struct config *cfg = l->cfg;
	if (config_parse_words(l, n, path, cnode_value(n), cfg->mechanisms,
			       CONFIG_MAX_MECHANISMS, &cfg->nmechanisms) < 0)
		return -1;
	if (config_check_words(l, n, path, cfg->mechanisms, cfg->nmechanisms,
			       known_mechanisms,
			       "not a supported SASL mechanism") < 0)
		return -1;
	if (!cfg->nmechanisms)
		return config_fail(l, n, path, "no mechanism listed");
	return 0;
}

static int load_c2s_resource_conflict(struct config_loader *l, struct cnode *n,
				      const char *path)
{
	const char *v = cnode_value(n);
	if (strcmp(v, "replace") == 0)
		l->cfg->resource_conflict_replace = true;
	else if (strcmp(v, "refuse") == 0)
		l->cfg->resource_conflict_replace = false;
	else
		return config_fail(l, n, path, "'%s' is not replace or refuse",
				   v);
	return 0;
}

static int load_c2s_auth_timeout(struct config_loader *l, struct cnode *n,
				 const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 3600,
				     &l->cfg->auth_timeout);
}

static int load_c2s_auth_throttle(struct config_loader *l, struct cnode *n,
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
			      &cfg->throttle_per_account, &cfg->throttle_period,
			      &cfg->throttle_delay_ms};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	for (size_t i = 0; i < 4; i++) {
		const char *v = cnode_attr(n, limits[i].attr);
		char setting[64];
		long value;
		if (!v)
			continue;
		snprintf(setting, sizeof setting, "%s/@%s", path,
			 limits[i].attr);
		if (config_parse_number(l, n, setting, v, limits[i].min,
					limits[i].max, &value) < 0)
			return -1;
		*fields[i] = (unsigned)value * (i == 3 ? 1000 : 1);
	}
	return 0;
}

/* Absent, a rate is 0 (no limit) and a burst keeps its default. */
static int load_c2s_rate_limit(struct config_loader *l, struct cnode *n,
			       const char *path)
{
	static const char *const attrs[] = {"stanzas-per-second", "burst",
					    "bytes-per-second", "bytes-burst",
					    NULL};
	static const long min[] = {0, 1, 0, 1};
	static const long max[] = {1000000, 10000000, 1L << 30, 1L << 30};
	struct config *cfg = l->cfg;
	unsigned *fields[] = {&cfg->rate_stanzas, &cfg->rate_stanza_burst,
			      &cfg->rate_bytes, &cfg->rate_byte_burst};
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	cfg->rate_stanzas = cfg->rate_bytes = 0;
	for (size_t i = 0; i < 4; i++) {
		const char *v = cnode_attr(n, attrs[i]);
		char setting[64];
		snprintf(setting, sizeof setting, "%s/@%s", path, attrs[i]);
		if (v && config_parse_unsigned(l, n, setting, v, min[i], max[i],
					       fields[i]) < 0)
			return -1;
	}
	return 0;
}

static int load_c2s_processes(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 64,
				     &l->cfg->c2s_processes);
}

static int load_c2s(struct config_loader *l, struct cnode *n, const char *path)
{
	static const struct config_setting settings[] = {
		{"listen", load_c2s_listen},
		{"require-starttls", load_c2s_require_starttls},
		{"max-stanza-size", load_c2s_max_stanza_size},
		{"max-depth", load_c2s_max_depth},
		{"mechanisms", load_c2s_mechanisms},
		{"resource-conflict", load_c2s_resource_conflict},
		{"auth-timeout", load_c2s_auth_timeout},
		{"auth-throttle", load_c2s_auth_throttle},
		{"rate-limit", load_c2s_rate_limit},
		{"processes", load_c2s_processes},
		{NULL, NULL}};
	return config_load_children(l, n, path, settings);
}

/* Every element of <sm> is the sm's: its modules declare them
 * (server/sm/module.h), and palabred checks them once the file is read. */
static int load_sm(struct config_loader *l, struct cnode *n, const char *path)
{
	static const struct config_setting none[] = {{NULL, NULL}};
	return config_load_children_keeping(l, n, path, none, &l->cfg->sm);
}

/* ---- Defaults, the whole file ----------------------------------------- */

static int set_defaults(struct config_loader *l)
{
	static const char *const mechanisms[] = {
		"SCRAM-SHA-256-PLUS", "SCRAM-SHA-1-PLUS", "SCRAM-SHA-256",
		"SCRAM-SHA-1", "PLAIN"};
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
	/* docs/configuration.md, c2s/rate-limit, says why these. */
	cfg->rate_stanzas = 50;
	cfg->rate_stanza_burst = 500;
	cfg->rate_bytes = 64 << 10;
	cfg->rate_byte_burst = 512 << 10;
	for (size_t i = 0; i < 5; i++)
		cfg->mechanisms[cfg->nmechanisms++] = strdup(mechanisms[i]);
	if (config_parse_path(l, NULL, "pidfile", "palabred.pid",
			      &cfg->pidfile) < 0 ||
	    config_parse_path(l, NULL, "router/socket", "router.sock",
			      &cfg->router_socket) < 0 ||
	    config_parse_path(l, NULL, "storage/path", "data", &cfg->data_dir) <
		    0)
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
int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof *cfg);
	cfg->path = strdup(path);
	const char *slash = strrchr(path, '/');
	static const struct config_loader blank;
	struct config_loader l = blank;
	l.cfg = cfg;
	l.file = path;
	l.dir = slash ? config_strndup(path, (size_t)(slash - path + 1))
		      : strdup(".");
	l.err = err;
	l.errlen = errlen;
	if (slash)
		l.dir[slash - path] = '\0';
	if (slash == path)
		strcpy(l.dir, "/");
	static const struct config_setting settings[] = {
		{"pidfile", load_pidfile},
		{"log", load_log},
		{"router", load_router},
		{"storage", load_storage},
		{"host", load_host},
		{"ldap", config_ldap_load},
		{"c2s", load_c2s},
		{"sm", load_sm},
		{"s2s", config_s2s_load},
		{"muc", config_muc_load},
		{"components", config_components_load},
		{NULL, NULL}};
	int rc = -1;
	struct cnode *root = config_read_tree(&l, path);
	if (!root)
		goto out;
	if (strcmp(root->name, "palabred") != 0) {
		config_fail(&l, root, root->name,
			    "the root element must be <palabred>");
		goto out;
	}
	if (set_defaults(&l) < 0 ||
	    config_load_children(&l, root, "", settings) < 0)
		goto out;
	if (config_ldap_resolve(&l) < 0)
		goto out;
	if (!cfg->nhosts) {
		config_fail(&l, root, "host", "no <host> is configured");
		goto out;
	}
	if (config_muc_resolve(&l) < 0 || config_components_resolve(&l) < 0)
		goto out;
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
		cnode_free(cfg->hosts[i].kept);
	}
	for (size_t i = 0; i < cfg->ndirectories; i++) {
		struct config_ldap *d = &cfg->directories[i];
		free(d->id);
		for (size_t u = 0; u < d->nuris; u++)
			free(d->uris[u]);
		free(d->ca_file);
		free(d->bind_dn);
		cnode_free(d->kept);
		if (d->bind_password) {
			memset(d->bind_password, 0, strlen(d->bind_password));
			free(d->bind_password);
		}
	}
	for (size_t i = 0; i < cfg->nlisteners; i++)
		free(cfg->listeners[i].address);
	config_s2s_free(&cfg->s2s);
	config_muc_free(&cfg->muc);
	config_components_free(&cfg->components);
	for (size_t i = 0; i < cfg->nmechanisms; i++)
		free(cfg->mechanisms[i]);
	cnode_free(cfg->sm);
	memset(cfg, 0, sizeof *cfg);
}

int config_keep(struct cnode **kept, const char *name, const char *text)
{
	struct cnode *n = calloc(1, sizeof *n);
	if (!n || !(n->attrs = calloc(1, sizeof *n->attrs)) ||
	    !(n->name = strdup(name)) || !(n->text = strdup(text))) {
		cnode_free(n);
		return -1;
	}
	n->text_len = strlen(text);
	cnode_append(kept, n);
	return 0;
}

void config_kept_free(struct cnode *kept)
{
	cnode_free(kept);
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
