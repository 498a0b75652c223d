#include "config_reader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- <ldap id="…"> directories ------------------------------------ */

static struct config_ldap *current_directory(struct config_loader *l)
{
	return &l->cfg->directories[l->cfg->ndirectories - 1];
}

static int load_ldap_uri(struct config_loader *l, struct cnode *n,
			 const char *path)
{
	struct config_ldap *d = current_directory(l);
	const char *v = cnode_value(n);
	if (strncasecmp(v, "ldap://", 7) != 0 &&
	    strncasecmp(v, "ldaps://", 8) != 0)
		return config_fail(l, n, path,
				   "'%s' is not an ldap:// or ldaps:// "
				   "URI",
				   v);
	const char *host = v + (v[4] == ':' ? 7 : 8);
	if (!*host || *host == '/' || strpbrk(v, " \t,"))
		return config_fail(l, n, path,
				   "'%s' names no server (one URI per "
				   "<uri>, e.g. ldap://ldap.example.org:389)",
				   v);
	if (d->nuris == CONFIG_MAX_LDAP_URIS)
		return config_fail(l, n, path, "more than %d URIs",
				   CONFIG_MAX_LDAP_URIS);
	d->uris[d->nuris++] = strdup(v);
	return 0;
}

static int load_ldap_starttls(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	return config_parse_bool(l, n, path, cnode_value(n),
				 &current_directory(l)->starttls);
}

static int load_ldap_ca_file(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	return config_parse_readable_file(l, n, path, cnode_value(n),
					  &current_directory(l)->ca_file);
}

static int load_ldap_bind_dn(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	const char *v = cnode_value(n);
	if (!*v || !strchr(v, '='))
		return config_fail(l, n, path, "'%s' is not a DN", v);
	free(current_directory(l)->bind_dn);
	current_directory(l)->bind_dn = strdup(v);
	return 0;
}

static int load_ldap_bind_password_file(struct config_loader *l,
					struct cnode *n, const char *path)
{
	char *file = NULL, secret[1024] = "";
	if (config_parse_first_line(l, n, path, cnode_value(n), &file, secret,
				    sizeof secret) < 0) {
		free(file);
		return -1;
	}
	if (!secret[0]) {
		/* An empty password is an unauthenticated bind (RFC 4513
		 * §5.1.2): never what an administrator means. */
		config_fail(l, n, path,
			    "%s is empty (its first line is the "
			    "password of bind-dn)",
			    file);
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

static int load_ldap_timeout(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 300,
				     &current_directory(l)->timeout);
}

static int load_ldap_pool(struct config_loader *l, struct cnode *n,
			  const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 64,
				     &current_directory(l)->pool);
}

static int load_ldap_password_access(struct config_loader *l, struct cnode *n,
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
	int rc =
		config_parse_words(l, n, path, cnode_value(n), list, 8, &count);
	for (size_t i = 0; rc == 0 && i < count; i++) {
		size_t w = 0;
		while (w < 3 && strcmp(words[w].word, list[i]) != 0)
			w++;
		if (w == 3)
			rc = config_fail(l, n, path,
					 "'%s' is not bind, auth-password "
					 "or clear-password",
					 list[i]);
		else
			access |= words[w].bit;
	}
	for (size_t i = 0; i < count; i++)
		free(list[i]);
	if (rc == 0 && !access)
		rc = config_fail(l, n, path,
				 "empty (bind, auth-password and/or "
				 "clear-password)");
	if (rc == 0)
		current_directory(l)->password_access = access;
	return rc;
}

int config_ldap_load(struct config_loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"id", NULL};
	static const struct config_setting settings[] = {
		{"uri", load_ldap_uri},
		{"starttls", load_ldap_starttls},
		{"ca-file", load_ldap_ca_file},
		{"bind-dn", load_ldap_bind_dn},
		{"bind-password-file", load_ldap_bind_password_file},
		{"timeout", load_ldap_timeout},
		{"pool", load_ldap_pool},
		{"password-access", load_ldap_password_access},
		{NULL, NULL}};
	struct config *cfg = l->cfg;
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	const char *id = cnode_attr(n, "id");
	if (!id || !*id)
		return config_fail(l, n, "ldap/@id",
				   "missing (the name hosts use in "
				   "<auth backend=\"ldap\" directory=\"…\">)");
	for (size_t i = 0; i < cfg->ndirectories; i++)
		if (strcmp(cfg->directories[i].id, id) == 0)
			return config_fail(l, n, "ldap/@id",
					   "'%s' is defined twice", id);
	if (cfg->ndirectories == CONFIG_MAX_DIRECTORIES)
		return config_fail(l, n, path, "more than %d directories",
				   CONFIG_MAX_DIRECTORIES);
	struct config_ldap *d = &cfg->directories[cfg->ndirectories++];
	d->id = strdup(id);
	d->timeout = 5;
	d->pool = 4;
	d->password_access = CONFIG_LDAP_BIND;
	/* What it does not know is the sm's (server/sm/module.h). */
	if (config_load_children_keeping(l, n, path, settings, &d->kept) < 0)
		return -1;
	if (!d->nuris)
		return config_fail(l, n, "ldap/uri",
				   "missing for directory '%s'", id);
	if (!d->bind_dn != !d->bind_password)
		return config_fail(
			l, n,
			d->bind_dn ? "ldap/bind-password-file" : "ldap/bind-dn",
			"bind-dn and bind-password-file go together");
	if ((d->password_access & ~CONFIG_LDAP_BIND) && !d->bind_dn)
		return config_fail(
			l, n, "ldap/password-access",
			"auth-password and clear-password need a service "
			"account (bind-dn) allowed to read them");
	return 0;
}

/* After the whole file: each ldap host's directory exists. */
int config_ldap_resolve(struct config_loader *l)
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
			return config_fail(l, &at, "host/auth/@directory",
					   "no <ldap id=\"%s\"> is defined",
					   id);
		}
	}
	return 0;
}
