/* ldap_pool: the connections of one process to one directory.
 *
 * Two sets of up to <pool> connections per directory: one for the
 * service account's searches, one for users' binds (a bind changes the
 * connection's identity, so the two never mix). A connection is opened
 * on the first URI that answers, in order (failover); one opened on a
 * later URI is closed after LDAP_POOL_RETURN_AFTER seconds so that the
 * next one tries the first URI again (return). A URI that failed (no
 * connection, no answer within the timeout, a pooled connection that
 * broke) is tried after the others for LDAP_POOL_DOWN_FOR seconds: a
 * hung directory costs one timeout, not one per new connection.
 *
 * Every call blocks (up to the directory's <timeout> for a free
 * connection, and as much per URI to open one): call them from worker
 * threads only, never from an event loop. Thread-safe. */
#ifndef PALABRE_AUTH_LDAP_POOL_H
#define PALABRE_AUTH_LDAP_POOL_H

#include <stdbool.h>
#include <time.h>

#include <ldap.h>

#include "../lib/config.h"

#define LDAP_POOL_RETURN_AFTER 60
#define LDAP_POOL_DOWN_FOR 30

enum ldap_pool_role { LDAP_POOL_SEARCH, LDAP_POOL_BIND };

struct ldap_pool;

/* One connection lent by the pool. */
struct ldap_pool_conn {
	LDAP *ld;
	size_t uri; /* index of the URI it is connected to */
	time_t opened;
	bool fresh; /* opened for this loan: no point retrying on another */
};

/* The pool of directory d in this process, made on first use (keyed by
 * the directory's id). NULL when out of memory. */
struct ldap_pool *ldap_pool_of(const struct config_ldap *d);

/* Lends a connection of role, opening it if needed (StartTLS, and the
 * service account's bind for searches). NULL when none is free within
 * the timeout or no URI answers (logged). */
struct ldap_pool_conn *ldap_pool_acquire(struct ldap_pool *p,
					 enum ldap_pool_role role);
/* Gives it back; broken: close it (the next loan opens a new one). */
void ldap_pool_release(struct ldap_pool *p, struct ldap_pool_conn *c,
		       bool broken);

/* Whether rc (from an operation) says the connection itself failed. */
bool ldap_pool_conn_failed(int rc);

#endif
