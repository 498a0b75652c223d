/* ldap: the `ldap` account backend (ARCHITECTURE §5).
 *
 * A domain's users are entries of a directory (lib/config.h struct
 * config_ldap, shared by the domains that name it), found by a subtree
 * search under the host's base with its filter, as the service account,
 * on pooled connections (ldap_pool.h). Exactly one entry is the user;
 * none, or several, is no user.
 *
 * - PLAIN: a bind as the entry's DN with the given password, on a
 *   connection kept for user binds. Nothing is cached.
 * - SCRAM-SHA-1/-256: keys derived from a clear userPassword, or the
 *   RFC 5803 authPassword values of the entry while its password stamp
 *   says they are still the password's (ldap_stamp.h), handed to
 *   cyrus-sasl by auth/sasl.c's auxprop plugin exactly as the local
 *   backend's.
 * - DIGEST-MD5: the HA1 of a clear userPassword.
 * Which of these a directory allows is its <password-access>.
 *
 * Everything here blocks (bounded by the directory's <timeout>): call
 * it on worker threads only. The local part given is already prepared
 * (RFC 7622 nodeprep); it is escaped (RFC 4515) into the filter. */
#ifndef PALABRE_AUTH_LDAP_H
#define PALABRE_AUTH_LDAP_H

#include "../lib/config.h"
#include "account.h"

/* Fills *out with the secrets password-access lets palabre read.
 * ACCOUNT_FOUND: the entry exists (a secret it lacks is left made-up,
 * so that mechanism fails like a wrong password; so are authPassword
 * secrets that ldap_stamp.h finds stale). db: the thread's connection
 * to accounts.sqlite, where the password stamps are kept (NULL: none
 * could be opened; authPassword secrets then give ACCOUNT_ERROR). */
enum account_status ldap_account_lookup(const struct config_host *host,
					const struct config_ldap *dir,
					const char *localpart,
					struct local_db *db,
					struct local_account *out);

/* PLAIN. ACCOUNT_FOUND: the directory accepted the bind (and, with
 * auth-password, the account's password stamp in db is confirmed or
 * its authPassword marked stale); ACCOUNT_UNKNOWN: no such user, or a
 * wrong (or empty) password; ACCOUNT_ERROR: the directory could not be
 * asked (logged). */
enum account_status ldap_account_check_password(const struct config_host *host,
						const struct config_ldap *dir,
						const char *localpart,
						const char *password,
						struct local_db *db);

/* Whether the user's entry exists (exactly one). */
enum account_status ldap_account_exists(const struct config_host *host,
					const struct config_ldap *dir,
					const char *localpart);

/* The values of the attributes attrs[0..nattrs-1] of the user's entry
 * (for directory vCards): on ACCOUNT_FOUND, (*values)[i] is a
 * NULL-terminated array of the values of attrs[i] (NULL when it has
 * none, or the same attribute already came earlier in attrs), each a
 * string (a value holding a NUL byte is left out); free them with
 * ldap_attribute_values_free. ACCOUNT_UNKNOWN: no such entry;
 * ACCOUNT_ERROR: the directory could not be asked (logged). */
enum account_status ldap_account_attributes(const struct config_host *host,
					    const struct config_ldap *dir,
					    const char *localpart,
					    const char *const *attrs,
					    size_t nattrs, char ****values);
void ldap_attribute_values_free(char ***values, size_t nattrs);

#endif
