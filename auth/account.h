/* account: how the SASL path finds the secrets of one user.
 *
 * Runs on worker threads: each thread keeps its own connection to the
 * account database. An unknown user gets made-up secrets (a salt that
 * stays the same for that name during the process's life, random keys)
 * so that the exchange runs to its last step and fails there exactly as
 * a wrong password does (RFC 5802 §5.1: do not reveal whether the
 * user exists). */
#ifndef PALABRE_AUTH_ACCOUNT_H
#define PALABRE_AUTH_ACCOUNT_H

#include "../lib/config.h"
#include "local.h"

enum account_status { ACCOUNT_FOUND, ACCOUNT_UNKNOWN, ACCOUNT_ERROR };

/* Fills *out for localpart@domain (both prepared). ACCOUNT_UNKNOWN: *out
 * holds made-up secrets. ACCOUNT_ERROR: the database could not be read
 * (logged); *out holds made-up secrets too. */
enum account_status account_lookup(const struct config *cfg,
				   const char *domain, const char *localpart,
				   struct local_account *out);

#endif
