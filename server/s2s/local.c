/* local: the names this server answers for on federation, in one
 * place. Streams may be opened to them (the header's 'to', RFC 6120
 * §4.7.2), dialback asked and verified for them (XEP-0220 §2), stanzas
 * sent to them and from them: each <host> (the sm's), each room
 * service of <muc> (the muc's, conference.DOMAIN) and each external
 * component of <components> (the accept process's, XEP-0114: a gateway
 * such as irc.example.org, which users of other servers use as the
 * organisation's own do).
 *
 * Which certificate a name is presented with is the TLS contexts'
 * choice (lib/tls_hosts.c): a service or a component gets the one of
 * the host it is a sub-domain of; a component under no host, the
 * first host's (s2s_tls_new), and the peer authenticates it by
 * dialback unless that certificate names it too. */
#include <string.h>

#include "s2s.h"

static bool is_muc_service(const struct config *cfg, const char *domain)
{
	for (size_t i = 0; i < cfg->muc.nservices; i++)
		if (strcmp(cfg->muc.services[i], domain) == 0)
			return true;
	return false;
}

bool s2s_is_local(const struct s2s *s2s, const char *domain)
{
	return config_find_host(s2s->cfg, domain) ||
	       is_muc_service(s2s->cfg, domain) ||
	       config_find_component(s2s->cfg, domain);
}
