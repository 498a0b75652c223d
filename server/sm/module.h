/* module: the events that the sm's features hook, in the way of
 * Prosody's module API.
 *
 * A feature is one file that defines a `struct sm_module` and, in its
 * init function, hooks events and declares its disco features. module.c
 * lists every module; config.xml's <sm><modules> says which are on.
 *
 * Handlers of one event run by decreasing priority (ties: in the order
 * they were hooked). A handler returns SM_NEXT to let the next one run,
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
 *			sm_route_xml(ev->sm, r);  // routed like any stanza
 *		return SM_DONE;
 *	}
 *	static int ping_init(struct sm *sm)
 *	{
 *		if (sm_module_hook(sm, SM_EV_IQ_HOST, "urn:xmpp:ping", 0,
 *				   ping_host, NULL) < 0)
 *			return -1;
 *		return sm_module_add_feature(sm, "urn:xmpp:ping");
 *	}
 *	const struct sm_module sm_module_ping = {"ping", ping_init, NULL};
 *
 * A module with state of its own (offline.c's boxes …) keeps it with
 * sm_module_set_data and gives a free function: {"x", x_init, x_free}.
 *
 * Stanzas a handler builds live in ev->st->arena (freed after the frame);
 * per-user state goes in a slot (sm_session_slot_register). */
#ifndef PALABRE_SM_MODULE_H
#define PALABRE_SM_MODULE_H

#include <stdbool.h>
#include <stddef.h>

struct sm;
struct stanza;
struct session;

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
	 * about to be routed by sm_route_xml. ev->session is NULL. A
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
	char **features;
	size_t nfeatures;
	unsigned seq;
	struct sm_module_loaded *loaded;
	size_t nloaded;
};

struct sm_module {
	const char *name; /* as written in config.xml */
	/* Hooks events and adds features. Returns 0, or -1 to refuse. */
	int (*init)(struct sm *sm);
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
/* Declares a disco#info feature of the server (XEP-0030 'var'). */
int sm_module_add_feature(struct sm *sm, const char *var);

/* A module's own state, for its free function (and for handlers that
 * are not given it as hook data). Set from init; NULL when unset. */
void sm_module_set_data(struct sm *sm, const struct sm_module *m, void *data);
void *sm_module_data(const struct sm *sm, const struct sm_module *m);

/* Runs the handlers of ev->type. Returns SM_DONE when one stopped it. */
enum sm_verdict sm_module_fire(struct sm *sm, struct sm_event *ev);

/* Starts the modules that cfg->modules names. Returns 0, or -1 when one
 * failed (unknown names are logged and skipped). */
int sm_module_load_all(struct sm *sm);
/* Calls the free function of every module loaded, last loaded first. */
void sm_module_free_all(struct sm *sm);
void sm_module_registry_free(struct sm_module_registry *r);

#endif
