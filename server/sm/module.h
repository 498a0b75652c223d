/* module: the events that the sm's features hook, in the way of
 * Prosody's module API.
 *
 * A feature is one file, server/sm/NAME.c, that defines
 * `const struct sm_module sm_module_NAME`: its name in config.xml, its
 * disco features, its options with their defaults, whether it is on
 * by default, and its init (which hooks events) and free functions.
 * The Makefile finds every such definition and lists it in
 * sm_modules.h (generated), so that module.c knows every module; a new
 * feature edits no other file. config.xml's <sm><modules> says which
 * are on (none of the sm's settings is read by lib/: it keeps them, and
 * palabred checks them against the declarations when it loads the
 * file, sm_module_check_config).
 *
 * Handlers of one event run by decreasing priority (ties: in the order
 * they were hooked, which is the order the modules start in: the order
 * of <sm><modules>, else of sm_modules.h; a module must not count on
 * it, and orders itself against another by priority). A handler
 * returns SM_NEXT to let the next one run,
 * or SM_DONE when it took care of the event: later handlers, the core's
 * default included, do not run. The core's own rules (delivery per
 * RFC 6121 §8, the service-unavailable answer …) are the default
 * handlers, hooked at SM_PRIORITY_DEFAULT, below any module: a module
 * takes a case over by hooking above and returning SM_DONE, e.g.
 * blocking.c on SM_EV_STANZA_IN, offline.c on SM_EV_MESSAGE_OFFLINE.
 *
 * A whole module (ping.c is one):
 *
 *	static enum sm_verdict ping_host(struct sm_event *ev, void *data)
 *	{
 *		struct xml_node *r = sm_stanza_result_new(ev->st);
 *		if (r)
 *			sm_deliver_xml(ev->sm, r);  // routed like any stanza
 *		return SM_DONE;
 *	}
 *	static int ping_init(struct sm *sm)
 *	{
 *		return sm_module_hook(sm, SM_EV_IQ_HOST, "urn:xmpp:ping", 0,
 *				      ping_host, NULL);
 *	}
 *	const struct sm_module sm_module_ping = {
 *		.name = "ping",
 *		.on_by_default = true,
 *		.features = (const char *const[]){"urn:xmpp:ping", NULL},
 *		.init = ping_init,
 *	};
 *
 * A module with options declares them (offline.c's quotas) and reads
 * them in its init with sm_module_option_integer: once, never per
 * stanza. A module with state of its own (offline.c's boxes …) keeps it
 * with sm_module_set_data and gives a free function.
 *
 * Stanzas a handler builds live in ev->st->arena (freed after the frame);
 * per-user state goes in a slot (sm_session_slot_register). */
#ifndef PALABRE_SM_MODULE_H
#define PALABRE_SM_MODULE_H

#include <stdbool.h>
#include <stddef.h>

struct arena;
struct buf;
struct cnode;
struct config;
struct config_host;
struct config_loader;
struct sm;
struct stanza;
struct session;
struct xml_node;

enum sm_event_type {
	/* ev->session has just been created / is about to go. */
	SM_EV_SESSION_STARTED,
	SM_EV_SESSION_ENDED,
	/* Any stanza from a local session, before it is routed. */
	SM_EV_STANZA_OUT,
	/* Any stanza for a local user (bare or full JID), before the events
	 * below. */
	SM_EV_STANZA_IN,
	/* An iq to a served domain itself. Keyed by the namespace of its
	 * child. get/set nobody answers: service-unavailable. */
	SM_EV_IQ_HOST,
	/* An iq to a local bare JID, or without 'to' (RFC 6120 §10.3.3:
	 * the server answers for the account). Keyed like IQ_HOST. */
	SM_EV_IQ_BARE,
	/* An iq to a connected full JID. Default: deliver. */
	SM_EV_IQ_FULL,
	/* A message to a served domain. Default: service-unavailable. */
	SM_EV_MESSAGE_HOST,
	/* A message to a local bare JID (or to a full JID whose resource is
	 * not connected, RFC 6121 §8.5.3.2.1). Default: §8.5.2 delivery. */
	SM_EV_MESSAGE_BARE,
	/* A message to a connected full JID. Default: deliver. */
	SM_EV_MESSAGE_FULL,
	/* A chat or normal message for a local user with no available
	 * resource (RFC 6121 §8.5.2.2.1). Default: service-unavailable;
	 * offline storage takes it over. */
	SM_EV_MESSAGE_OFFLINE,
	/* Presence to a served domain. Default: ignore. */
	SM_EV_PRESENCE_HOST,
	/* Presence to a local bare JID, or a subscription/probe presence to
	 * a full JID. Default: to every available resource (probe: drop). */
	SM_EV_PRESENCE_BARE,
	/* Presence without subscription meaning to a connected full JID.
	 * Default: deliver. */
	SM_EV_PRESENCE_FULL,
	/* Presence without 'to' from a local session (RFC 6120 §10.3.2:
	 * broadcast), after the session's state was updated (ev->initial
	 * tells initial presence). Default: to the user's available
	 * resources (RFC 6121 §4.2.2, §4.4.2, §4.5.2). */
	SM_EV_PRESENCE_BROADCAST,
	/* A stanza the server made on behalf of a local user (its 'from'
	 * is at a served domain: presence broadcast, probe answers …),
	 * about to be routed by sm_deliver_xml. ev->session is NULL. A
	 * handler returning SM_DONE drops it (blocking.c: XEP-0191 §3.3,
	 * no presence to a blocked contact). */
	SM_EV_STANZA_FROM_LOCAL,
	SM_EV_MAX
};

enum sm_verdict { SM_NEXT, SM_DONE };

#define SM_PRIORITY_DEFAULT (-1000)

struct sm_event {
	struct sm *sm;
	enum sm_event_type type;
	/* Stanza events: the stanza, parsed (stanza.h); NULL otherwise. */
	struct stanza *st;
	/* SESSION_*: that session. Stanza events: the local session that
	 * sent it, or NULL (the server, another component, a remote
	 * server). */
	struct session *session;
	/* SM_EV_PRESENCE_BROADCAST: the session was not available before. */
	bool initial;
};

typedef enum sm_verdict (*sm_hook_fn)(struct sm_event *ev, void *data);

struct sm_hook;
struct sm_module;

/* A module that init ran for, and the state it left (sm_module_set_data). */
struct sm_module_loaded {
	const struct sm_module *module;
	void *data;
};

struct sm_module_registry {
	struct sm_hook *hooks[SM_EV_MAX];
	unsigned seq;
	struct sm_module_loaded *loaded;
	size_t nloaded;
};

enum sm_option_type {
	/* <sm><NAME>n</NAME></sm>: a number from min to max; def when the
	 * element is absent (the last one counts when given twice). */
	SM_OPTION_INTEGER,
	/* <sm><NAME>true</NAME></sm> (or false, yes, no); def (0 or 1)
	 * when absent. */
	SM_OPTION_BOOLEAN,
	/* <ldap id="…"><NAME …>…</NAME></ldap>: an element of each
	 * directory, at most once, that the module's read function checks
	 * and reads (vcard.c's map). */
	SM_OPTION_DIRECTORY,
	/* <host domain="…"><NAME …>…</NAME></host>: the same for an element
	 * of each host (a host's TURN server, its contact addresses …). */
	SM_OPTION_HOST,
};

/* An option of a module, as config.xml gives it. */
struct sm_option {
	const char *name; /* the element */
	enum sm_option_type type;
	long min, max, def; /* SM_OPTION_INTEGER, SM_OPTION_BOOLEAN (def) */
	/* SM_OPTION_DIRECTORY, SM_OPTION_HOST: checks n, whose setting is
	 * path (e.g. "ldap/vcard", "host/turn"), and reads it into
	 * l->target unless that is NULL (a check only). Errors through
	 * config_fail() (lib/config_reader.h): file:line: setting: message.
	 * Returns 0 or -1. */
	int (*read)(struct config_loader *l, struct cnode *n, const char *path);
};

struct sm_module {
	const char *name;   /* as written in <sm><modules> */
	bool on_by_default; /* when config.xml has no <sm><modules> */
	/* Its disco#info features (XEP-0030 'var') on the server's domain,
	 * NULL-terminated; the disco module lists those of every module on
	 * that serves the domain. */
	const char *const *features;
	/* The same on an account's bare JID (XEP-0313 §6.1's mam:2 …). */
	const char *const *account_features;
	/* Identities it adds to the account's disco#info, as pairs of
	 * category and type, NULL-terminated (XEP-0163 §1's pubsub/pep). */
	const char *const *account_identities;
	/* Optional: whether the module serves this host, for its disco
	 * features (vcard.c without a store for LDAP domains …); NULL:
	 * every host. */
	bool (*serves)(const struct config *cfg,
		       const struct config_host *host);
	/* What it adds to the stream features after SASL (c2s, RFC 6120
	 * §4.3.2), e.g. XEP-0237's <ver/>; NULL: nothing. */
	const char *stream_feature;
	/* Optional: adds to the disco#info <query/> of cfg->hosts[host]
	 * what it tells there beyond features: a XEP-0128 form (contacts.c's
	 * XEP-0157 addresses). From the configuration alone, once per host
	 * at start (disco_info.h: c2s hashes the same query into its caps).
	 * Returns 0 or -1 (memory). */
	int (*disco_extend)(const struct config *cfg, size_t host,
			    struct arena *a, struct xml_node *query);
	/* Its options, ended by one without a name; NULL: none. */
	const struct sm_option *options;
	/* Hooks events. Returns 0, or -1 to refuse. Optional when
	 * .started does all. */
	int (*init)(struct sm *sm);
	/* Optional: runs once every module on has run its init, for what
	 * needs another module's state (pep_listen, sm_vcard_listen), which
	 * the order of <sm><modules> must not decide. 0, or -1 to refuse. */
	int (*started)(struct sm *sm);
	/* Optional: frees what init and the module's life left (its
	 * sm_module_data), at sm_free, once the storage's last completions
	 * have run and before the users and sessions go. Called for every
	 * module whose init ran, even one that failed. */
	void (*free)(struct sm *sm);
};

/* Hooks fn on an event. ns, for SM_EV_IQ_HOST and SM_EV_IQ_BARE, limits
 * it to iqs whose child is in that namespace (NULL: every iq).
 * Returns 0, or -1 (memory). */
int sm_module_hook(struct sm *sm, enum sm_event_type type, const char *ns,
		   int priority, sm_hook_fn fn, void *data);

/* ---- Options (Prosody's module:get_option_*): read in init ---------- */

/* The value of m's integer option name: config.xml's, else its
 * default. */
long sm_module_option_integer(const struct config *cfg,
			      const struct sm_module *m, const char *name);
bool sm_module_option_boolean(const struct config *cfg,
			      const struct sm_module *m, const char *name);
/* Reads m's directory option name of cfg->directories[directory] into
 * out (its read function's l->target). Returns 1, 0 when that directory
 * does not give it, or -1 with the message in err. */
int sm_module_option_read(const struct config *cfg, const struct sm_module *m,
			  const char *name, size_t directory, void *out,
			  char *err, size_t errlen);
/* The same for m's host option name of cfg->hosts[host]. */
int sm_module_option_read_host(const struct config *cfg,
			       const struct sm_module *m, const char *name,
			       size_t host, void *out, char *err,
			       size_t errlen);
/* Whether module m, on, serves host (its .serves; true without one). */
bool sm_module_serves(const struct config *cfg, const struct sm_module *m,
		      const struct config_host *host);
/* Checks <sm> and what lib/ kept of each <ldap> against the modules'
 * declarations: module names, options, their values. Returns 0, or -1
 * with "file:line: setting: message" in err. palabred runs it as soon
 * as it has read config.xml, before any component starts. */
int sm_module_check_config(const struct config *cfg, char *err, size_t errlen);
/* At most this many modules. */
#define SM_MODULES_MAX 64
/* The modules on, each once, in the order they start: <sm><modules>'s,
 * else those on by default in sm_modules.h's order. Returns how many. */
size_t sm_module_list_on(const struct config *cfg,
			 const struct sm_module *on[SM_MODULES_MAX]);
/* Whether the module called name is on. */
bool sm_module_is_on(const struct config *cfg, const char *name);
/* Appends the stream features of the modules on (c2s, after SASL). */
void sm_module_append_stream_features(const struct config *cfg,
				      struct buf *out);

/* A module's own state, for its free function (and for handlers that
 * are not given it as hook data). Set from init; NULL when unset. */
void sm_module_set_data(struct sm *sm, const struct sm_module *m, void *data);
void *sm_module_data(const struct sm *sm, const struct sm_module *m);

/* Runs the handlers of ev->type. Returns SM_DONE when one stopped it. */
enum sm_verdict sm_module_fire(struct sm *sm, struct sm_event *ev);

/* Starts the modules on, in order. Returns 0, or -1 when one failed or
 * the configuration does not pass sm_module_check_config (logged). */
int sm_module_load_all(struct sm *sm);
/* Calls the free function of every module loaded, last loaded first. */
void sm_module_free_all(struct sm *sm);
void sm_module_registry_free(struct sm_module_registry *r);

#endif
