/* ldap_pool: connections per directory, failover over its URIs. */
#include "ldap_pool.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../lib/log.h"

struct ldap_slot {
	struct ldap_pool_conn conn;
	bool busy;
};

struct ldap_pool {
	struct ldap_pool *next;
	const struct config_ldap *dir;
	char *id;
	pthread_mutex_t lock;
	pthread_cond_t freed;
	struct ldap_slot *slots[2]; /* [role][dir->pool] */
	unsigned size;
	/* A URI that failed is skipped until then (unless all fail). */
	time_t down_until[CONFIG_MAX_LDAP_URIS];
};

static struct ldap_pool *pools;
static pthread_mutex_t pools_lock = PTHREAD_MUTEX_INITIALIZER;

struct ldap_pool *ldap_pool_of(const struct config_ldap *d)
{
	pthread_mutex_lock(&pools_lock);
	if (!pools) {
		/* libldap's global state, set up by one thread before any
		 * other opens a connection. */
		int version = LDAP_VERSION3;
		ldap_set_option(NULL, LDAP_OPT_PROTOCOL_VERSION, &version);
	}
	struct ldap_pool *p = pools;
	while (p && strcmp(p->id, d->id) != 0)
		p = p->next;
	if (!p && (p = calloc(1, sizeof *p))) {
		p->id = strdup(d->id);
		p->size = d->pool;
		p->slots[0] = calloc(d->pool, sizeof *p->slots[0]);
		p->slots[1] = calloc(d->pool, sizeof *p->slots[1]);
		pthread_condattr_t attr;
		pthread_condattr_init(&attr);
		pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
		if (!p->id || !p->slots[0] || !p->slots[1] ||
		    pthread_mutex_init(&p->lock, NULL) != 0 ||
		    pthread_cond_init(&p->freed, &attr) != 0) {
			free(p->id);
			free(p->slots[0]);
			free(p->slots[1]);
			free(p);
			p = NULL;
		} else {
			p->next = pools;
			pools = p;
		}
		pthread_condattr_destroy(&attr);
	}
	/* The configuration is read once per process; keep the latest. */
	if (p)
		p->dir = d;
	pthread_mutex_unlock(&pools_lock);
	return p;
}

bool ldap_pool_conn_failed(int rc)
{
	return rc == LDAP_SERVER_DOWN || rc == LDAP_CONNECT_ERROR ||
	       rc == LDAP_TIMEOUT || rc == LDAP_UNAVAILABLE ||
	       rc == LDAP_BUSY || rc == LDAP_LOCAL_ERROR ||
	       rc == LDAP_ENCODING_ERROR || rc == LDAP_DECODING_ERROR;
}

/* ---- opening a connection --------------------------------------- */

static int set_options(LDAP *ld, const struct config_ldap *d)
{
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, zero = 0;
	struct timeval tv = {.tv_sec = d->timeout};
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) ||
	    ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF) ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) ||
	    ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON) ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand))
		return -1;
	if (d->ca_file &&
	    ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, d->ca_file))
		return -1;
	/* A TLS context of this handle's own, with the options above. */
	return ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &zero) ? -1 : 0;
}

/* Opens a connection to uri: TCP (and TLS for ldaps), StartTLS when
 * configured, the service account's bind for searches. */
static LDAP *open_uri(const struct config_ldap *d, const char *uri,
		      enum ldap_pool_role role)
{
	LDAP *ld = NULL;
	int rc = ldap_initialize(&ld, uri);
	const char *what = "initialize";
	if (rc == LDAP_SUCCESS && set_options(ld, d) < 0) {
		rc = LDAP_OTHER;
		what = "set options";
	}
	if (rc == LDAP_SUCCESS) {
		what = "connect";
		rc = ldap_connect(ld);
	}
	if (rc == LDAP_SUCCESS && d->starttls &&
	    strncasecmp(uri, "ldap://", 7) == 0) {
		what = "StartTLS";
		rc = ldap_start_tls_s(ld, NULL, NULL);
	}
	if (rc == LDAP_SUCCESS && role == LDAP_POOL_SEARCH && d->bind_dn) {
		struct berval cred = {.bv_val = d->bind_password,
				      .bv_len = strlen(d->bind_password)};
		what = "bind as the service account";
		rc = ldap_sasl_bind_s(ld, d->bind_dn, LDAP_SASL_SIMPLE, &cred,
				      NULL, NULL, NULL);
	} else if (rc == LDAP_SUCCESS) {
		/* A TCP connection is no proof: a hung server accepts them.
		 * Any answer to a read of the root DSE is. */
		static char *no_attrs[] = {LDAP_NO_ATTRS, NULL};
		struct timeval tv = {.tv_sec = d->timeout};
		LDAPMessage *res = NULL;
		what = "read the root DSE";
		rc = ldap_search_ext_s(ld, "", LDAP_SCOPE_BASE,
				       "(objectClass=*)", no_attrs, 0, NULL,
				       NULL, &tv, 1, &res);
		ldap_msgfree(res);
		if (!ldap_pool_conn_failed(rc))
			rc = LDAP_SUCCESS;
	}
	if (rc == LDAP_SUCCESS)
		return ld;
	char *detail = NULL;
	if (ld)
		ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &detail);
	log_warn("ldap %s: %s: %s failed: %s%s%s", d->id, uri, what,
		 ldap_err2string(rc), detail && *detail ? ": " : "",
		 detail ? detail : "");
	ldap_memfree(detail);
	if (ld)
		ldap_unbind_ext_s(ld, NULL, NULL);
	return NULL;
}

static bool uri_down(struct ldap_pool *p, size_t i, time_t now)
{
	pthread_mutex_lock(&p->lock);
	bool down = p->down_until[i] > now;
	pthread_mutex_unlock(&p->lock);
	return down;
}

static void uri_set_down(struct ldap_pool *p, size_t i, bool down)
{
	pthread_mutex_lock(&p->lock);
	p->down_until[i] = down ? time(NULL) + LDAP_POOL_DOWN_FOR : 0;
	pthread_mutex_unlock(&p->lock);
}

/* The URIs in order, those that failed lately last: each failed one
 * would cost a timeout before the next is tried. */
static int open_conn(struct ldap_pool *p, const struct config_ldap *d,
		     enum ldap_pool_role role, struct ldap_pool_conn *c)
{
	time_t now = time(NULL);
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < d->nuris; i++) {
			if (uri_down(p, i, now) != (pass == 1))
				continue;
			LDAP *ld = open_uri(d, d->uris[i], role);
			uri_set_down(p, i, !ld);
			if (!ld)
				continue;
			if (i > 0)
				log_info("ldap %s: failed over to %s", d->id,
					 d->uris[i]);
			c->ld = ld;
			c->uri = i;
			c->opened = time(NULL);
			c->fresh = true;
			return 0;
		}
	}
	log_error("ldap %s: no URI answered", d->id);
	return -1;
}

static void close_conn(struct ldap_pool_conn *c)
{
	if (c->ld)
		ldap_unbind_ext_s(c->ld, NULL, NULL);
	c->ld = NULL;
}

/* ---- lending -------------------------------------------------------- */

struct ldap_pool_conn *ldap_pool_acquire(struct ldap_pool *p,
					 enum ldap_pool_role role)
{
	struct timespec deadline;
	clock_gettime(CLOCK_MONOTONIC, &deadline);
	pthread_mutex_lock(&p->lock);
	const struct config_ldap *d = p->dir;
	deadline.tv_sec += d->timeout;
	struct ldap_slot *slots = p->slots[role], *slot = NULL;
	for (;;) {
		/* An open idle connection first, else an empty slot. */
		for (unsigned i = 0; i < p->size && !slot; i++)
			if (!slots[i].busy && slots[i].conn.ld)
				slot = &slots[i];
		for (unsigned i = 0; i < p->size && !slot; i++)
			if (!slots[i].busy)
				slot = &slots[i];
		if (slot)
			break;
		int rc = pthread_cond_timedwait(&p->freed, &p->lock, &deadline);
		if (rc == ETIMEDOUT) {
			pthread_mutex_unlock(&p->lock);
			log_warn("ldap %s: no free connection within %u s",
				 d->id, d->timeout);
			return NULL;
		}
	}
	slot->busy = true;
	pthread_mutex_unlock(&p->lock);

	slot->conn.fresh = false;
	if (!slot->conn.ld && open_conn(p, d, role, &slot->conn) < 0) {
		ldap_pool_release(p, &slot->conn, true);
		return NULL;
	}
	return &slot->conn;
}

/* Under p->lock: closes the idle connections to uri, which the failure
 * of one of them makes suspect (each would cost a timeout to find out). */
static void close_idle_to(struct ldap_pool *p, size_t uri)
{
	for (int role = 0; role < 2; role++) {
		for (unsigned i = 0; i < p->size; i++) {
			struct ldap_slot *s = &p->slots[role][i];
			if (!s->busy && s->conn.ld && s->conn.uri == uri)
				close_conn(&s->conn);
		}
	}
}

void ldap_pool_release(struct ldap_pool *p, struct ldap_pool_conn *c,
		       bool broken)
{
	size_t uri = c->uri;
	bool had = c->ld != NULL;
	/* Failover, then return: a connection to a later URI lives
	 * LDAP_POOL_RETURN_AFTER seconds. */
	if (broken || (c->ld && c->uri > 0 &&
		       time(NULL) - c->opened >= LDAP_POOL_RETURN_AFTER))
		close_conn(c);
	pthread_mutex_lock(&p->lock);
	if (broken && had) {
		close_idle_to(p, uri);
		p->down_until[uri] = time(NULL) + LDAP_POOL_DOWN_FOR;
	}
	struct ldap_slot *slot = (struct ldap_slot *)c;
	slot->busy = false;
	pthread_cond_signal(&p->freed);
	pthread_mutex_unlock(&p->lock);
}
