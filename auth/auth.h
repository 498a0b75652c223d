/* auth: SASL for c2s through cyrus-sasl, over the account backends.
 *
 * auth_sasl_init runs once per process. The step functions block (they
 * may read the account database or, later, ask a directory): c2s calls
 * them on libuv's worker pool, never on its loop. One auth_exchange is
 * used by one thread at a time. */
#ifndef PALABRE_AUTH_H
#define PALABRE_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "../lib/config.h"

#define AUTH_MAX_BINDINGS 3

/* Channel-binding data of one TLS connection, computed by c2s on its loop
 * once the handshake is done (RFC 5929 tls-unique and
 * tls-server-end-point, RFC 9266 tls-exporter). */
struct auth_channel_binding {
	/* "tls-exporter", "tls-unique", "tls-server-end-point" */
	const char *type;
	unsigned char data[64];
	size_t len;
};

enum auth_result { AUTH_CONTINUE, AUTH_SUCCESS, AUTH_FAILURE };

struct auth_step {
	enum auth_result result;
	/* AUTH_FAILURE: an RFC 6120 §6.5 condition: "not-authorized",
	 * "invalid-mechanism", "malformed-request", "encryption-required",
	 * "temporary-auth-failure", "mechanism-too-weak", "invalid-authzid",
	 * "incorrect-encoding", "aborted" */
	const char *condition;
	/* AUTH_CONTINUE: the challenge; AUTH_SUCCESS: additional data (may be
	 * empty). Raw bytes, malloc'd, owned by the caller. */
	unsigned char *out;
	size_t out_len;
	/* AUTH_SUCCESS: the authenticated local part, prepared, malloc'd. */
	char *localpart;
};

struct auth_exchange;

/* Before auth_sasl_init: a secret shared by every c2s process (the
 * router link's), from which the made-up salts of unknown users are
 * derived, so that they do not differ between processes (which would
 * tell an unknown user from a real one, whose salt never changes). */
void auth_set_secret(const char *secret);

/* Once per process, before any session. Returns 0, or -1 with a message. */
int auth_sasl_init(const struct config *cfg, char *err, size_t errlen);

/* Asks each account backend a domain uses whether it can serve (the
 * local account database is opened once), so that a database this
 * palabre cannot use (unreadable, or of a newer schema) is reported at
 * start rather than at every login. 0, or -1 with a message naming the
 * file. */
int auth_check_accounts(const struct config *cfg, char *err, size_t errlen);

/* The mechanisms to offer on a stream to `domain`: those configured that
 * the domain's backend can serve, none at all before TLS unless the
 * config relaxes require_starttls (and never PLAIN without TLS), the
 * -PLUS variants only when bindings exist. Writes up to max names
 * (static strings) into out and returns how many. */
size_t auth_mechanisms(const struct config *cfg, const char *domain, bool tls,
		       bool channel_binding, const char **out, size_t max);

/* A new exchange for a stream to `domain`. bindings (may be NULL/0) are
 * copied. NULL when out of memory. */
struct auth_exchange *
auth_exchange_new(const struct config *cfg, const char *domain, bool tls,
		  const struct auth_channel_binding *bindings,
		  size_t nbindings);

/* A gate asked, on the worker thread, once per exchange, before any
 * secret of the user a mechanism names is read or compared: false
 * refuses the attempt (the exchange then fails as with a wrong password,
 * and auth_exchange_gated says so). c2s's throttle (server/c2s/sasl.c)
 * is one. */
typedef bool (*auth_gate_fn)(void *ctx, const char *domain,
			     const char *localpart);
void auth_exchange_set_gate(struct auth_exchange *s, auth_gate_fn gate,
			    void *ctx);
/* After a step: whether the gate refused its user. */
bool auth_exchange_gated(const struct auth_exchange *s);
/* The prepared local part the exchange named so far, or NULL (for
 * counting failures per account). Valid until the next step. */
const char *auth_exchange_user(const struct auth_exchange *s);
/* Whether the mechanism names its user in the client's first message
 * (PLAIN, SCRAM): a step the gate refused can then run again, as the
 * start of a new session, with the same input. */
bool auth_exchange_replayable(const struct auth_exchange *s);
/* For such a replay, before its first step: the exchange names user
 * (auth_exchange_user says so from now on), whose attempt the gate's
 * owner has already counted; the gate is not asked again, and a step
 * that names another user fails. */
void auth_exchange_replay_user(struct auth_exchange *s, const char *user);

/* Blocking. `in` is the decoded initial response (NULL when the client
 * sent none; empty when it sent "="). Fills *step. */
void auth_start(struct auth_exchange *s, const char *mechanism,
		const unsigned char *in, size_t in_len, struct auth_step *step);
/* Blocking. The decoded <response/>. */
void auth_continue(struct auth_exchange *s, const unsigned char *in,
		   size_t in_len, struct auth_step *step);
void auth_step_clear(struct auth_step *step);
void auth_exchange_free(struct auth_exchange *s);

/* Whether localpart@domain (both prepared) has an account. Blocking:
 * call it on a worker thread. */
enum auth_user_status { AUTH_USER_EXISTS, AUTH_USER_UNKNOWN, AUTH_USER_ERROR };
enum auth_user_status auth_user_exists(const struct config *cfg,
				       const char *domain,
				       const char *localpart);

/* The values of the attributes attrs[0..nattrs-1] of the directory
 * entry of localpart@domain (both prepared), for directory vCards:
 * with AUTH_USER_EXISTS, (*values)[i] is a NULL-terminated array of the
 * values of attrs[i] (NULL when it has none, or the same attribute
 * already came earlier in attrs), each a string (a value holding a NUL
 * byte is left out); free them with auth_attribute_values_free.
 * AUTH_USER_UNKNOWN: no such entry, or a backend that keeps no
 * attributes; AUTH_USER_ERROR: the directory could not be asked
 * (logged). Blocking: call it on a worker thread. */
enum auth_user_status auth_user_attributes(const struct config *cfg,
					   const char *domain,
					   const char *localpart,
					   const char *const *attrs,
					   size_t nattrs, char ****values);
void auth_attribute_values_free(char ***values, size_t nattrs);

/* Blocking work of the backends runs in lanes of the worker pool
 * (lib/lanes.h), so that a hung directory holds its own lane's threads
 * only: lane 0 is the local accounts', lane i + 1 that of
 * cfg->directories[i], shared by the domains that name it. */
size_t auth_lane_count(const struct config *cfg);
/* The lane of host's accounts (NULL host: the local accounts'). */
size_t auth_lane(const struct config *cfg, const struct config_host *host);

/* Whether host's accounts are managed elsewhere than by palabrectl (a
 * directory's tools): true, with the reason for the administrator in
 * why. */
bool auth_accounts_elsewhere(const struct config *cfg,
			     const struct config_host *host, char *why,
			     size_t len);

#endif
