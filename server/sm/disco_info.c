/* disco_info: what a served domain's disco#info says, from the
 * configuration. */
#include "disco_info.h"

#include "../../lib/log.h"
#include "module.h"

int sm_disco_add_identity(struct arena *a, struct xml_node *query,
			  const char *category, const char *type)
{
	struct xml_node *id =
		xml_add_child(a, query, NS_DISCO_INFO, "identity");
	if (!id || xml_set_attr(a, id, "category", category) < 0)
		return -1;
	return xml_set_attr(a, id, "type", type);
}

int sm_disco_add_feature(struct arena *a, struct xml_node *q, const char *var)
{
	struct xml_node *f = xml_add_child(a, q, NS_DISCO_INFO, "feature");
	return f ? xml_set_attr(a, f, "var", var) : -1;
}

int sm_disco_add_features(struct arena *a, struct xml_node *query,
			  const struct config *cfg,
			  const struct config_host *host, bool account)
{
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	for (size_t i = 0; i < n; i++) {
		if (!sm_module_serves(cfg, on[i], host))
			continue;
		for (const char *const *f = account ? on[i]->account_features
						    : on[i]->features;
		     f && *f; f++)
			if (sm_disco_add_feature(a, query, *f) < 0)
				return -1;
	}
	return 0;
}

int sm_disco_add_account_identities(struct arena *a, struct xml_node *query,
				    const struct config *cfg,
				    const struct config_host *host)
{
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	for (size_t i = 0; i < n; i++) {
		if (!sm_module_serves(cfg, on[i], host))
			continue;
		for (const char *const *id = on[i]->account_identities;
		     id && id[0] && id[1]; id += 2)
			if (sm_disco_add_identity(a, query, id[0], id[1]) < 0)
				return -1;
	}
	return 0;
}

/* The forms of the modules on that serve the host. */
static int disco_add_forms(struct arena *a, struct xml_node *query,
			   const struct config *cfg, size_t host)
{
	const struct sm_module *on[SM_MODULES_MAX];
	size_t n = sm_module_list_on(cfg, on);
	for (size_t i = 0; i < n; i++)
		if (on[i]->disco_extend &&
		    sm_module_serves(cfg, on[i], &cfg->hosts[host]) &&
		    on[i]->disco_extend(cfg, host, a, query) < 0)
			return -1;
	return 0;
}

/* XEP-0030 §3.1: the server is category 'server', type 'im'. */
struct xml_node *sm_disco_host_info(struct arena *a, const struct config *cfg,
				    size_t host)
{
	struct xml_node *q = xml_node_new(a, NS_DISCO_INFO, "query");
	if (!q || sm_disco_add_identity(a, q, "server", "im") < 0 ||
	    sm_disco_add_features(a, q, cfg, &cfg->hosts[host], false) < 0 ||
	    disco_add_forms(a, q, cfg, host) < 0)
		return NULL;
	return q;
}

void sm_disco_host_ver(const struct config *cfg, size_t host,
		       char ver[CAPS_VER_SIZE])
{
	struct arena a = ARENA_INIT;
	const char *why = "out of memory";
	ver[0] = '\0';
	if (!sm_module_is_on(cfg, "disco"))
		return;
	struct xml_node *q = sm_disco_host_info(&a, cfg, host);
	if (!q || caps_ver_hash(q, ver, &why) < 0) {
		log_error("caps of %s: %s", cfg->hosts[host].domain, why);
		ver[0] = '\0';
	}
	arena_reset(&a);
}
