/* backend: what auth asks of an account backend (ARCHITECTURE §5), as
 * storage/backend.h is what storage asks of a database. Each backend is
 * one table of functions: `local` (local.c, accounts.sqlite) and `ldap`
 * (ldap.c, a directory). A host's <auth backend="…"> chooses its
 * backend (auth_backend_of); account.c is the only caller, for the SASL
 * path, the sm's account checks and vCards, and palabrectl. Private to
 * auth/.
 *
 * The local part given is prepared (RFC 7622 nodeprep) and the host
 * uses the backend. lookup, check_password, exists and attributes
 * block (a database, a directory): worker threads only. */
#ifndef PALABRE_AUTH_BACKEND_H
#define PALABRE_AUTH_BACKEND_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/config.h"
#include "account.h"

/* What a backend can verify for a host, by SASL mechanism. */
enum auth_backend_mech {
	AUTH_BACKEND_PLAIN = 1 << 0,      /* a password */
	AUTH_BACKEND_SCRAM = 1 << 1,      /* SCRAM secrets, -PLUS too */
	AUTH_BACKEND_DIGEST_MD5 = 1 << 2, /* a DIGEST-MD5 HA1 */
};

struct auth_backend {
	const char *name; /* in <auth backend="…"> */
	/* At the start of a process that has a host of this backend:
	 * whether what it needs can be used, so that a fault is reported
	 * then rather than at every login. 0, or -1 with a message naming
	 * the file or server. NULL: nothing to check. */
	int (*check)(const struct config *cfg, char *err, size_t errlen);
	/* enum auth_backend_mech bits. */
	unsigned (*mechanisms)(const struct config *cfg,
			       const struct config_host *host);
	/* The worker-pool lane of host's accounts (auth_lane). */
	size_t (*lane)(const struct config *cfg,
		       const struct config_host *host);
	/* SCRAM and DIGEST-MD5: ACCOUNT_FOUND fills *out with the user's
	 * secrets, a secret the backend cannot give made-up (account.h),
	 * so that its mechanism fails like a wrong password. Otherwise
	 * *out is left to the caller, who makes all of it up. */
	enum account_status (*lookup)(const struct config *cfg,
				      const struct config_host *host,
				      const char *localpart,
				      struct local_account *out);
	/* PLAIN (account_check_password). */
	enum account_status (*check_password)(const struct config *cfg,
					      const struct config_host *host,
					      const char *localpart,
					      const char *password);
	enum account_status (*exists)(const struct config *cfg,
				      const struct config_host *host,
				      const char *localpart);
	/* auth_user_attributes. NULL: the backend keeps no attributes. */
	enum account_status (*attributes)(const struct config *cfg,
					  const struct config_host *host,
					  const char *localpart,
					  const char *const *attrs,
					  size_t nattrs, char ****values);
	/* Why palabrectl does not manage host's accounts, written into
	 * why (auth_accounts_elsewhere). NULL: palabrectl manages them. */
	void (*elsewhere)(const struct config *cfg,
			  const struct config_host *host, char *why,
			  size_t len);
};

extern const struct auth_backend auth_backend_local;
extern const struct auth_backend auth_backend_ldap;

/* host's backend; NULL for no host, or a backend nobody implements. */
const struct auth_backend *auth_backend_of(const struct config_host *host);

#endif
