/* disco_info: a served domain's XEP-0030 disco#info, built from the
 * configuration alone (the modules on, their features and forms), so
 * that the sm answers with it and c2s announces its XEP-0115 caps in
 * the stream features (§6.3) without asking the sm. */
#ifndef PALABRE_SM_DISCO_INFO_H
#define PALABRE_SM_DISCO_INFO_H

#include <stdbool.h>

#include "../../lib/arena.h"
#include "../../lib/config.h"
#include "../../lib/xml.h"
#include "caps_ver.h"

/* XEP-0115 §4: the node that names the software, for its caps. */
#define SM_CAPS_NODE "https://palabre.example/caps"

/* Adds an <identity/>, a <feature/> to a disco#info query. Return 0 or
 * -1 (memory). */
int sm_disco_add_identity(struct arena *a, struct xml_node *query,
			  const char *category, const char *type);
int sm_disco_add_feature(struct arena *a, struct xml_node *query,
			 const char *var);
/* Adds a <feature/> per feature of each module on that serves host (the
 * modules' features, or their account_features with account). Returns
 * 0 or -1 (memory). */
int sm_disco_add_features(struct arena *a, struct xml_node *query,
			  const struct config *cfg,
			  const struct config_host *host, bool account);
/* Adds the account identities (XEP-0163 §1's pubsub/pep …) of each
 * module on that serves host. Returns 0 or -1 (memory). */
int sm_disco_add_account_identities(struct arena *a, struct xml_node *query,
				    const struct config *cfg,
				    const struct config_host *host);
/* The disco#info <query/> of cfg->hosts[host]: the server's identity
 * (XEP-0030 §3.1: server/im), the features, the modules' forms
 * (.disco_extend). NULL when memory ran out. */
struct xml_node *sm_disco_host_info(struct arena *a, const struct config *cfg,
				    size_t host);
/* The XEP-0115 ver of that query in ver; "" when the disco module is
 * off (nobody could check it) or the query cannot be hashed (logged). */
void sm_disco_host_ver(const struct config *cfg, size_t host,
		       char ver[CAPS_VER_SIZE]);

#endif
