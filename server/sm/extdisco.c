/* extdisco: XEP-0215 External Service Discovery (1.0.0,
 * urn:xmpp:extdisco:2) for the users of a host that has
 * <external-services> (extdisco_config.c): its STUN and TURN servers,
 * the TURN ones with credentials of the TURN REST API
 * (draft-uberti-behave-turn-rest-00 §2.2), which coturn checks with
 * use-auth-secret and the same static-auth-secret. Answered from
 * memory at once: nothing stored, nothing kept per user. */
#include "extdisco.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/base64.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/config_reader.h"
#include "../../lib/jid.h"
#include "../../lib/log.h"
#include "delivery.h"
#include "module.h"
#include "sm.h"
#include "stanza.h"

/* By cfg->hosts' index: the host's services, NULL without any. */
struct extdisco_mod {
	struct extdisco_host **hosts;
	size_t nhosts;
};

int extdisco_credentials(const char *secret, time_t expiry, const char *user,
			 char username[EXTDISCO_USERNAME_MAX + 1],
			 char password[EXTDISCO_PASSWORD_SIZE])
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned mac_len = 0;
	struct buf b = {0};
	int n = snprintf(username, EXTDISCO_USERNAME_MAX + 1, "%lld:%s",
			 (long long)expiry, user);
	/* The user part only helps the TURN server's logs: a JID too long
	 * for a STUN USERNAME is left out rather than cut. */
	if (n < 0 || n > EXTDISCO_USERNAME_MAX)
		snprintf(username, EXTDISCO_USERNAME_MAX + 1, "%lld",
			 (long long)expiry);
	if (!HMAC(EVP_sha1(), secret, (int)strlen(secret),
		  (const unsigned char *)username, strlen(username), mac,
		  &mac_len) ||
	    base64_encode(&b, mac, mac_len) < 0 ||
	    b.len >= EXTDISCO_PASSWORD_SIZE) {
		buf_free(&b);
		return -1;
	}
	memcpy(password, b.data, b.len + 1);
	buf_free(&b);
	return 0;
}

/* ------------------------------------------------------------ answers */

/* The credentials of a restricted service for user, until now + the
 * secret's ttl: 'expires' in XEP-0082 DateTime, UTC (XEP-0215 §2). */
static int credentials_add(struct arena *a, struct xml_node *service,
			   const struct extdisco_secret *secret,
			   const char *user, time_t now)
{
	char username[EXTDISCO_USERNAME_MAX + 1], expires[32];
	char password[EXTDISCO_PASSWORD_SIZE];
	time_t expiry = now + secret->ttl;
	struct tm tm;
	gmtime_r(&expiry, &tm);
	strftime(expires, sizeof expires, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (extdisco_credentials(secret->value, expiry, user, username,
				 password) < 0) {
		log_error("extdisco: cannot sign TURN credentials (HMAC-SHA1)");
		return -1;
	}
	if (xml_set_attr(a, service, "username", username) < 0 ||
	    xml_set_attr(a, service, "password", password) < 0 ||
	    xml_set_attr(a, service, "expires", expires) < 0 ||
	    xml_set_attr(a, service, "restricted", "1") < 0)
		return -1;
	return 0;
}

/* A <service/> of s (XEP-0215 §2), with credentials for user when s
 * needs them. */
static int service_add(struct arena *a, struct xml_node *parent,
		       const struct extdisco_service *s, const char *user,
		       time_t now)
{
	char port[8];
	snprintf(port, sizeof port, "%u", s->port);
	struct xml_node *n = xml_add_child(a, parent, NS_EXTDISCO, "service");
	if (!n || xml_set_attr(a, n, "type", s->type) < 0 ||
	    xml_set_attr(a, n, "host", s->host) < 0 ||
	    xml_set_attr(a, n, "port", port) < 0 ||
	    xml_set_attr(a, n, "transport", s->transport) < 0 ||
	    xml_set_attr(a, n, "name", s->name) < 0)
		return -1;
	return s->secret ? credentials_add(a, n, s->secret, user, now) : 0;
}

/* §3.1 every service of the host; §3.2 those of the type asked, the
 * type repeated on <services/>. */
static void answer_services(struct sm *sm, const struct stanza *st,
			    const struct extdisco_host *h, const char *user)
{
	const char *type = xml_attr_get(st->payload, "type");
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q =
		r ? xml_add_child(st->arena, r, NS_EXTDISCO, "services") : NULL;
	time_t now = time(NULL);
	if (!q || xml_set_attr(st->arena, q, "type", type) < 0)
		goto fail;
	for (size_t i = 0; i < h->nservices; i++)
		if ((!type || strcmp(h->services[i].type, type) == 0) &&
		    service_add(st->arena, q, &h->services[i], user, now) < 0)
			goto fail;
	sm_deliver_xml(sm, r);
	return;
fail:
	sm_deliver_error(sm, st, "internal-server-error");
}

/* §3.3: the services a <service host type [port]/> names, with their
 * credentials; several when that host serves the type on several
 * transports. The port, when given, is a number. */
static void answer_credentials(struct sm *sm, const struct stanza *st,
			       const struct extdisco_host *h, const char *user)
{
	struct xml_node *want = xml_child(st->payload, NS_EXTDISCO, "service");
	const char *host = want ? xml_attr_get(want, "host") : NULL;
	const char *type = want ? xml_attr_get(want, "type") : NULL;
	const char *port = want ? xml_attr_get(want, "port") : NULL;
	char *end = NULL;
	unsigned long p = port ? strtoul(port, &end, 10) : 0;
	if (!host || !type ||
	    (port && (!*port || *end || p == 0 || p > 65535))) {
		sm_deliver_error_text(
			sm, st, "bad-request",
			"<credentials/> names a <service/> by its host "
			"and type, and a port if any (XEP-0215 §3.3)");
		return;
	}
	struct xml_node *r = sm_stanza_result_new(st);
	struct xml_node *q =
		r ? xml_add_child(st->arena, r, NS_EXTDISCO, "credentials")
		  : NULL;
	time_t now = time(NULL);
	size_t found = 0;
	for (size_t i = 0; q && i < h->nservices; i++) {
		const struct extdisco_service *s = &h->services[i];
		if (strcmp(s->host, host) != 0 || strcmp(s->type, type) != 0 ||
		    (port && s->port != p))
			continue;
		if (service_add(st->arena, q, s, user, now) < 0)
			q = NULL;
		found++;
	}
	if (!q)
		sm_deliver_error(sm, st, "internal-server-error");
	else if (!found)
		sm_deliver_error_text(sm, st, "item-not-found",
				      "This server knows no such service");
	else
		sm_deliver_xml(sm, r);
}

/* ------------------------------------------------------------ the iq */

/* The services of the host domain, NULL when it has none. */
static const struct extdisco_host *host_services(const struct extdisco_mod *m,
						 const struct config *cfg,
						 const char *domain)
{
	const struct config_host *host = config_find_host(cfg, domain);
	size_t i = host ? (size_t)(host - cfg->hosts) : m->nhosts;
	return i < m->nhosts ? m->hosts[i] : NULL;
}

/* XEP-0215 §2: a host without services answers service-unavailable
 * (the core's default), and one with services answers only its own
 * users, connected here; others get forbidden. */
static enum sm_verdict extdisco_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	const struct extdisco_host *h =
		host_services(data, ev->sm->cfg, st->to->domain);
	bool get = sm_stanza_is_type(st, "get");
	char user[JID_MAX + 1];
	if (!h || (!get && !sm_stanza_is_type(st, "set")))
		return SM_NEXT;
	if (!ev->session || !st->from || !st->from->local[0] ||
	    strcmp(st->from->domain, st->to->domain) != 0) {
		sm_deliver_error_text(ev->sm, st, "forbidden",
				      "External services are for this server's "
				      "own users");
		return SM_DONE;
	}
	jid_format_bare(st->from, user);
	if (get && xml_is(st->payload, NS_EXTDISCO, "services"))
		answer_services(ev->sm, st, h, user);
	else if (get && xml_is(st->payload, NS_EXTDISCO, "credentials"))
		answer_credentials(ev->sm, st, h, user);
	else
		sm_deliver_error_text(ev->sm, st, "bad-request",
				      "Ask with an iq get of <services/> or "
				      "<credentials/> (XEP-0215 §3)");
	return SM_DONE;
}

/* ------------------------------------------------------------ module */

/* Only where it is configured (XEP-0215 §5: the feature says the
 * protocol is there; the services are what a client wants). */
static bool extdisco_serves(const struct config *cfg,
			    const struct config_host *host)
{
	for (struct cnode *n = host ? host->kept : NULL; n; n = n->next)
		if (strcmp(n->name, EXTDISCO_OPTION) == 0)
			return true;
	return false;
}

static int extdisco_host_read(struct extdisco_mod *m, const struct config *cfg,
			      size_t i)
{
	char err[512];
	struct extdisco_host *h = calloc(1, sizeof *h);
	int rc = h ? sm_module_option_read_host(cfg, &sm_module_extdisco,
						EXTDISCO_OPTION, i, h, err,
						sizeof err)
		   : -1;
	if (rc == 1) {
		log_info("extdisco: %s lists %zu external services",
			 cfg->hosts[i].domain, h->nservices);
		m->hosts[i] = h;
		return 0;
	}
	if (rc < 0 && h)
		log_error("%s", err);
	free(h);
	return rc;
}

static int extdisco_init(struct sm *sm)
{
	const struct config *cfg = sm->cfg;
	struct extdisco_mod *m = calloc(1, sizeof *m);
	if (!m)
		return -1;
	sm_module_set_data(sm, &sm_module_extdisco, m);
	m->hosts = calloc(cfg->nhosts + 1, sizeof *m->hosts);
	if (!m->hosts)
		return -1;
	m->nhosts = cfg->nhosts;
	for (size_t i = 0; i < cfg->nhosts; i++)
		if (extdisco_host_read(m, cfg, i) < 0)
			return -1;
	return sm_module_hook(sm, SM_EV_IQ_HOST, NS_EXTDISCO, 0, extdisco_iq,
			      m);
}

static void extdisco_free(struct sm *sm)
{
	struct extdisco_mod *m = sm_module_data(sm, &sm_module_extdisco);
	if (!m)
		return;
	for (size_t i = 0; i < m->nhosts; i++) {
		if (m->hosts[i])
			extdisco_host_clear(m->hosts[i]);
		free(m->hosts[i]);
	}
	free(m->hosts);
	free(m);
}

static const struct sm_option extdisco_options[] = {
	{.name = EXTDISCO_OPTION,
	 .type = SM_OPTION_HOST,
	 .read = extdisco_config_read},
	{0}};

const struct sm_module sm_module_extdisco = {
	.name = "extdisco",
	.on_by_default = true,
	.features = (const char *const[]){NS_EXTDISCO, NULL},
	.serves = extdisco_serves,
	.options = extdisco_options,
	.init = extdisco_init,
	.free = extdisco_free,
};
