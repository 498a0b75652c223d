/* account: how the SASL path finds the secrets of one user, whatever
 * the domain's backend (backend.h): `local` (local.c, one SQLite
 * connection per worker thread) or `ldap` (ldap.c, pooled directory
 * connections).
 *
 * Runs on worker threads only: every call may block. An unknown user gets made-up secrets (a salt that
 * stays the same for that name during the process's life, random keys)
 * so that the exchange runs to its last step and fails there exactly as
 * a wrong password does (RFC 5802 §5.1: do not reveal whether the
 * user exists). */
#ifndef PALABRE_AUTH_ACCOUNT_H
#define PALABRE_AUTH_ACCOUNT_H

#include "../lib/config.h"
#include "local.h"

enum account_status { ACCOUNT_FOUND, ACCOUNT_UNKNOWN, ACCOUNT_ERROR };

/* Fills *out for localpart (prepared) of host (NULL: no account).
 * ACCOUNT_UNKNOWN: *out holds made-up secrets. ACCOUNT_ERROR: the
 * backend could not be asked (logged); *out holds made-up secrets too. */
enum account_status account_lookup(const struct config *cfg,
				   const struct config_host *host,
				   const char *localpart,
				   struct local_account *out);

/* Fills *out with the made-up secrets of an unknown user, without asking
 * any backend. Returns ACCOUNT_UNKNOWN. */
enum account_status account_made_up(const char *domain, const char *localpart,
				    struct local_account *out);

/* PLAIN: whether password (NUL-terminated) is that of localpart
 * (prepared) of host. ACCOUNT_FOUND: it is; ACCOUNT_UNKNOWN: no such
 * account, or a wrong password; ACCOUNT_ERROR: the backend could not be
 * asked (logged). */
enum account_status account_check_password(const struct config *cfg,
					   const struct config_host *host,
					   const char *localpart,
					   const char *password);

/* The calling worker thread's connection to accounts.sqlite (the local
 * accounts, and the ldap backend's password stamps), opened on first
 * use and closed with the thread; NULL when it cannot be opened
 * (logged). */
struct local_db *account_db(const struct config *cfg);
/* After an error: the next account_db opens the file again (it may
 * have been replaced). */
void account_db_reopen(void);

#endif
