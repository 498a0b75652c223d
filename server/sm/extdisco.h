/* extdisco: XEP-0215 External Service Discovery, the STUN and TURN
 * servers a host's users reach for calls, with time-limited TURN
 * credentials in the shared-secret scheme of coturn's use-auth-secret
 * (the TURN REST API, draft-uberti-behave-turn-rest-00 §2.2).
 *
 * A host's <external-services> (docs/configuration.md) is read once
 * into a struct extdisco_host: extdisco_config.c reads it,
 * extdisco.c answers with it. */
#ifndef PALABRE_SM_EXTDISCO_H
#define PALABRE_SM_EXTDISCO_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define NS_EXTDISCO "urn:xmpp:extdisco:2"
#define EXTDISCO_OPTION "external-services"

/* Per host: the <service/> entries it lists, and the <turn> servers
 * whose secrets sign credentials. */
#define EXTDISCO_SERVICES_MAX 32
#define EXTDISCO_TURN_MAX 8
/* A secret's bytes, at most (coturn reads its static-auth-secret as a
 * line of text). */
#define EXTDISCO_SECRET_MAX 512
/* RFC 5389 §15.3: a STUN USERNAME is less than 513 bytes. */
#define EXTDISCO_USERNAME_MAX 512
/* base64 of an HMAC-SHA1 (20 bytes), and its NUL. */
#define EXTDISCO_PASSWORD_SIZE 29

/* A <turn> server's shared secret (static-auth-secret) and how long the
 * credentials it signs last. */
struct extdisco_secret {
	char *value;  /* malloc'd; wiped when freed */
	unsigned ttl; /* seconds */
};

/* One <service/> of XEP-0215 §2. The strings point into the
 * configuration (or are literals). */
struct extdisco_service {
	const char *type;      /* "stun", "turn", "turns" */
	const char *host;      /* a DNS name or an IP address */
	const char *transport; /* "udp" or "tcp" */
	const char *name;      /* a label for people; NULL: none */
	unsigned port;
	/* Credentials signed with it; NULL: none needed (STUN). */
	const struct extdisco_secret *secret;
};

struct extdisco_host {
	struct extdisco_service services[EXTDISCO_SERVICES_MAX];
	size_t nservices;
	struct extdisco_secret secrets[EXTDISCO_TURN_MAX];
	size_t nsecrets;
};

struct config_loader;
struct cnode;
struct sm_module;
extern const struct sm_module sm_module_extdisco;

/* The host option <external-services> (struct sm_option's read): its
 * <turn> and <stun> children into l->target, a struct extdisco_host,
 * or only checked when that is NULL. */
int extdisco_config_read(struct config_loader *l, struct cnode *n,
			 const char *path);
/* Wipes and frees h's secrets; h is empty after. */
void extdisco_host_clear(struct extdisco_host *h);

/* The TURN REST API credentials of user (a bare JID) valid until
 * expiry: username "EXPIRY:USER" ("EXPIRY" alone when that would not
 * fit a STUN USERNAME), password base64(HMAC-SHA1(secret, username)).
 * Returns 0, or -1 (the crypto library failed). */
int extdisco_credentials(const char *secret, time_t expiry, const char *user,
			 char username[EXTDISCO_USERNAME_MAX + 1],
			 char password[EXTDISCO_PASSWORD_SIZE]);

#endif
