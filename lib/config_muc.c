/* config_muc: the <muc> section (chat rooms, server/muc/). Without it
 * palabred runs no muc process. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_reader.h"
#include "jid.h"

static struct config_muc *muc_of(struct config_loader *l)
{
	return &l->cfg->muc;
}

/* <service>conference.example.org</service>: a name the muc process
 * binds, a domain of its own (rooms are room@service). */
static int load_service(struct config_loader *l, struct cnode *n,
			const char *path)
{
	struct config_muc *m = muc_of(l);
	char prepared[JID_PART_MAX + 1];
	const char *v = cnode_value(n);
	if (!*v || jid_prep_domain(prepared, v) < 0)
		return config_fail(l, n, path, "'%s' is not a domain name", v);
	for (size_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i], prepared) == 0)
			return config_fail(l, n, path, "'%s' is given twice",
					   prepared);
	if (m->nservices == CONFIG_MAX_MUC_SERVICES)
		return config_fail(l, n, path, "more than %d services",
				   CONFIG_MAX_MUC_SERVICES);
	if (!(m->services[m->nservices] = strdup(prepared)))
		return config_fail(l, n, path, "out of memory");
	m->nservices++;
	return 0;
}

static int load_create(struct config_loader *l, struct cnode *n,
		       const char *path)
{
	static const char *const names[] = {"local", "admins", "anyone"};
	const char *v = cnode_value(n);
	for (size_t i = 0; i < sizeof names / sizeof *names; i++)
		if (strcmp(v, names[i]) == 0) {
			muc_of(l)->create = (enum config_muc_create)i;
			return 0;
		}
	return config_fail(l, n, path, "'%s' is not local, admins or anyone",
			   v);
}

/* <admin>alice@example.org</admin>: a bare JID that owns every room. */
static int load_admin(struct config_loader *l, struct cnode *n,
		      const char *path)
{
	struct config_muc *m = muc_of(l);
	struct jid j;
	char bare[JID_MAX + 1];
	const char *v = cnode_value(n);
	if (jid_parse_str(&j, v) < 0 || !j.local[0] || j.resource[0])
		return config_fail(l, n, path,
				   "'%s' is not a bare JID (user@domain)", v);
	if (m->nadmins == CONFIG_MAX_MUC_ADMINS)
		return config_fail(l, n, path, "more than %d admins",
				   CONFIG_MAX_MUC_ADMINS);
	jid_format_bare(&j, bare);
	if (!(m->admins[m->nadmins] = strdup(bare)))
		return config_fail(l, n, path, "out of memory");
	m->nadmins++;
	return 0;
}

static int load_history(struct config_loader *l, struct cnode *n,
			const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 0, 1000,
				     &muc_of(l)->history);
}

static int load_max_occupants(struct config_loader *l, struct cnode *n,
			      const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 100000,
				     &muc_of(l)->max_occupants);
}

static int load_max_owned_rooms(struct config_loader *l, struct cnode *n,
				const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 1000000,
				     &muc_of(l)->max_owned_rooms);
}

static int load_retention(struct config_loader *l, struct cnode *n,
			  const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 0, 36500,
				     &muc_of(l)->retention_days);
}

int config_muc_load(struct config_loader *l, struct cnode *n, const char *path)
{
	static const struct config_setting settings[] = {
		{"service", load_service},
		{"create", load_create},
		{"admin", load_admin},
		{"history", load_history},
		{"max-occupants", load_max_occupants},
		{"max-owned-rooms", load_max_owned_rooms},
		{"archive-retention-days", load_retention},
		{NULL, NULL}};
	struct config_muc *m = muc_of(l);
	if (m->enabled)
		return config_fail(l, n, path, "<muc> is given twice");
	m->enabled = true;
	m->line = n->line;
	m->create = CONFIG_MUC_CREATE_LOCAL;
	m->history = 20;
	m->max_occupants = 1000;
	m->max_owned_rooms = 100;
	return config_load_children(l, n, path, settings);
}

/* Once the hosts are known: conference.DOMAIN of each when no service
 * is named, and no service that is also a host (the sm binds those). */
int config_muc_resolve(struct config_loader *l)
{
	struct config_muc *m = muc_of(l);
	struct config *cfg = l->cfg;
	struct cnode at = {.line = m->line};
	if (!m->enabled)
		return 0;
	size_t ndefaults = m->nservices == 0 ? cfg->nhosts : 0;
	for (size_t i = 0; i < ndefaults && i < CONFIG_MAX_MUC_SERVICES; i++) {
		char name[JID_PART_MAX + 1];
		int len = snprintf(name, sizeof name, "conference.%s",
				   cfg->hosts[i].domain);
		if (len < 0 || (size_t)len >= sizeof name)
			continue;
		if (!(m->services[m->nservices] = strdup(name)))
			return config_fail(l, &at, "muc/service",
					   "out of memory");
		m->nservices++;
	}
	for (size_t i = 0; i < m->nservices; i++)
		if (config_find_host(cfg, m->services[i]))
			return config_fail(l, &at, "muc/service",
					   "'%s' is also a <host>: a room "
					   "service needs a name of its own",
					   m->services[i]);
	return 0;
}

void config_muc_free(struct config_muc *m)
{
	for (size_t i = 0; i < m->nservices; i++)
		free(m->services[i]);
	for (size_t i = 0; i < m->nadmins; i++)
		free(m->admins[i]);
}
