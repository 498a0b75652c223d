/* config_components: the <components> section (external components,
 * XEP-0114, served by server/accept/). Without it palabred runs no
 * accept process. A component's secret comes from a file of its own,
 * never from config.xml, and is never logged. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config_reader.h"
#include "jid.h"

static struct config_components *components_of(struct config_loader *l)
{
	return &l->cfg->components;
}

/* <listen address="127.0.0.1" port="5347"/>: XEP-0114 streams are plain
 * TCP and the handshake is a bare SHA-1, so no tls, and loopback unless
 * an address is given. */
static int load_listen(struct config_loader *l, struct cnode *n,
		       const char *path)
{
	static const char *const attrs[] = {"address", "port", NULL};
	struct config_components *c = components_of(l);
	if (config_check_attrs(l, n, path, attrs) < 0 ||
	    config_parse_listen(l, n, path, c->listeners, &c->nlisteners) < 0)
		return -1;
	struct config_listener *li = &c->listeners[c->nlisteners - 1];
	if (!cnode_attr(n, "address")) {
		free(li->address);
		li->address = strdup("127.0.0.1");
	}
	return li->address ? 0 : config_fail(l, n, path, "out of memory");
}

/* The first line of the secret-file into *out. */
static int load_secret(struct config_loader *l, struct cnode *n,
		       const char *value, char **out)
{
	static const char setting[] = "components/component/@secret-file";
	char *file = NULL, secret[512] = "";
	int rc = config_parse_first_line(l, n, setting, value, &file, secret,
					 sizeof secret);
	if (rc == 0 && !secret[0])
		rc = config_fail(l, n, setting,
				 "%s holds no secret on its "
				 "first line",
				 file);
	if (rc == 0 && !(*out = strdup(secret)))
		rc = config_fail(l, n, setting, "out of memory");
	OPENSSL_cleanse(secret, sizeof secret);
	free(file);
	return rc;
}

/* <component name="irc.example.org" secret-file="irc.secret"
 * federate="false"/> */
static int load_component(struct config_loader *l, struct cnode *n,
			  const char *path)
{
	static const char *const attrs[] = {"name", "secret-file", "federate",
					    NULL};
	struct config_components *c = components_of(l);
	const char *name = cnode_attr(n, "name");
	const char *file = cnode_attr(n, "secret-file");
	char prepared[JID_PART_MAX + 1];
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	if (!name)
		return config_fail(l, n, "components/component/@name",
				   "missing");
	if (!*name || jid_prep_domain(prepared, name) < 0)
		return config_fail(l, n, "components/component/@name",
				   "'%s' is not a domain name", name);
	if (config_find_component(l->cfg, prepared))
		return config_fail(l, n, "components/component/@name",
				   "'%s' is given twice", prepared);
	if (!file)
		return config_fail(l, n, "components/component/@secret-file",
				   "missing (the secret is read from a file)");
	if (c->count == CONFIG_MAX_COMPONENTS)
		return config_fail(l, n, path, "more than %d components",
				   CONFIG_MAX_COMPONENTS);
	struct config_component *comp = &c->list[c->count];
	const char *federate = cnode_attr(n, "federate");
	comp->federate = false;
	if (federate &&
	    config_parse_bool(l, n, "components/component/@federate", federate,
			      &comp->federate) < 0)
		return -1;
	if (load_secret(l, n, file, &comp->secret) < 0)
		return -1;
	comp->line = n->line;
	if (!(comp->name = strdup(prepared))) {
		free(comp->secret);
		comp->secret = NULL;
		return config_fail(l, n, path, "out of memory");
	}
	c->count++;
	return 0;
}

int config_components_load(struct config_loader *l, struct cnode *n,
			   const char *path)
{
	static const struct config_setting settings[] = {
		{"listen", load_listen},
		{"component", load_component},
		{NULL, NULL}};
	struct config_components *c = components_of(l);
	if (c->enabled)
		return config_fail(l, n, path, "<components> is given twice");
	c->enabled = true;
	c->line = n->line;
	if (config_load_children(l, n, path, settings) < 0)
		return -1;
	if (c->count == 0)
		return config_fail(l, n, "components/component",
				   "no <component> is configured");
	if (c->nlisteners == 0) {
		c->listeners[0].address = strdup("127.0.0.1");
		c->listeners[0].port = 5347;
		c->nlisteners = 1;
		if (!c->listeners[0].address)
			return config_fail(l, n, path, "out of memory");
	}
	return 0;
}

/* A name the sm binds (a host) or the muc process binds (a room
 * service) would be served twice on the router. */
int config_components_resolve(struct config_loader *l)
{
	const struct config *cfg = l->cfg;
	const struct config_components *c = &cfg->components;
	for (size_t i = 0; i < c->count; i++) {
		const struct config_component *comp = &c->list[i];
		struct cnode at = {.line = comp->line};
		if (config_find_host(cfg, comp->name))
			return config_fail(l, &at, "components/component/@name",
					   "'%s' is also a <host>: a component "
					   "needs a name of its own",
					   comp->name);
		for (size_t s = 0; cfg->muc.enabled && s < cfg->muc.nservices;
		     s++)
			if (strcmp(cfg->muc.services[s], comp->name) == 0)
				return config_fail(
					l, &at, "components/component/@name",
					"'%s' is also a <muc> service",
					comp->name);
	}
	return 0;
}

const struct config_component *config_find_component(const struct config *cfg,
						     const char *name)
{
	const struct config_components *c = &cfg->components;
	for (size_t i = 0; i < c->count; i++)
		if (strcmp(c->list[i].name, name) == 0)
			return &c->list[i];
	return NULL;
}

void config_components_free(struct config_components *c)
{
	for (size_t i = 0; i < c->nlisteners; i++)
		free(c->listeners[i].address);
	for (size_t i = 0; i < c->count; i++) {
		free(c->list[i].name);
		if (c->list[i].secret) {
			OPENSSL_cleanse(c->list[i].secret,
					strlen(c->list[i].secret));
			free(c->list[i].secret);
		}
	}
}
