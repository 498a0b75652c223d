/* sasl_internal: what auth/sasl.c (process-wide cyrus-sasl set-up and its
 * in-process plugins) and auth/sasl_exchange.c (one exchange) share. */
#ifndef PALABRE_AUTH_SASL_INTERNAL_H
#define PALABRE_AUTH_SASL_INTERNAL_H

#include <stdbool.h>

#include <sasl/sasl.h>
#include <sasl/saslplug.h>

#include "../lib/jid.h"
#include "account.h"
#include "auth.h"

#define AUTH_MAX_OFFERED 16

/* cyrus-sasl keeps every callback as int (*)(void); void (*)(void) in
 * between tells the compiler the cast is meant. */
#define AUTH_SASL_CALLBACK(fn) ((sasl_callback_ft)(void (*)(void))(fn))

/* A mechanism palabre knows: its name on the wire, the cyrus-sasl
 * plugin that serves it, whether the client speaks first. */
struct auth_mech {
	const char *name;
	const char *plugin; /* cyrus-sasl mechanism without -PLUS */
	bool plus;
	bool scram;
	bool client_first;
	bool needs_tls;    /* PLAIN: never offered in clear */
	unsigned verified; /* what the backend verifies (backend.h) */
};

const struct auth_mech *auth_mech_find(const char *name);
/* auth_mechanisms for a host found already (NULL: none offered). */
size_t auth_host_mechanisms(const struct config *cfg,
			    const struct config_host *host, bool tls,
			    bool channel_binding, const char **out, size_t max);

enum auth_state {
	AUTH_STATE_NEW,
	/* Client-first mechanism chosen without an initial response: the
	 * first <response/> starts cyrus-sasl. */
	AUTH_STATE_AWAIT_FIRST,
	AUTH_STATE_STEPPING,
	AUTH_STATE_DONE,
};

struct auth_exchange {
	const struct config *cfg;
	const struct config_host *host; /* NULL: a domain not served */
	char domain[JID_PART_MAX + 1];
	bool tls;
	struct auth_channel_binding bindings[AUTH_MAX_BINDINGS];
	size_t nbindings;
	const char *offered[AUTH_MAX_OFFERED];
	size_t noffered;
	bool plus_offered;

	sasl_conn_t *conn;
	sasl_callback_t callbacks[6];
	sasl_channel_binding_t cbinding; /* points into bindings[] */
	const struct auth_mech *mech;
	enum auth_state state;
	bool succeeded;
	/* SCRAM: server-first-message sent, so a failure now is about the
	 * proof or the binding (cyrus reports both as SASL_BADPROT). */
	bool scram_challenge_sent;

	/* The authzid as the client sent it (RFC 6120 §6.3.8). */
	char authzid[JID_MAX + 1];

	/* The user the mechanism named (prepared), and whether the gate
	 * refused it. */
	char user[JID_PART_MAX + 1];
	auth_gate_fn gate;
	void *gate_ctx;
	bool gated;

	/* Looked up once, by whichever of cyrus's callbacks asks first. */
	bool account_loaded;
	enum account_status account_status;
	struct local_account account;
};

/* The session that owns the cyrus-sasl connection of a plugin call
 * (found through the checkpass callback registered on it), or NULL. */
struct auth_exchange *auth_exchange_of(const sasl_utils_t *utils);
/* The account of localpart (prepared) for the session, looked up once. */
const struct local_account *auth_exchange_account(struct auth_exchange *s,
						  const char *localpart);

/* sasl.c: per-connection callbacks that sasl_exchange.c installs. */
int auth_sasl_getopt(void *context, const char *plugin_name, const char *option,
		     const char **result, unsigned *len);
int auth_sasl_log(void *context, int level, const char *message);

#endif
