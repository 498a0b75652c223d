/* roster: a loaded user's roster (RFC 6121 §2), for roster.c and
 * presence.c, which changes subscription states (§3).
 *
 * An item is kept for a contact that is in the roster, or whose
 * subscription request waits (pending in, RFC 6121 §3.1.3: the request
 * is stored, without adding the contact to the roster). Every change
 * goes through a struct roster_change: the items are written to the
 * "roster" store, the version (XEP-0237) goes up, and the roster pushes
 * (§2.1.6) and replies go out once the write is durable. */
#ifndef PALABRE_SM_ROSTER_H
#define PALABRE_SM_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../../lib/hash_table.h"

#define NS_ROSTER "jabber:iq:roster"

/* Limits (RFC 6121 §2.1.2.2, §2.1.2.3, §2.3.3: a server may limit the
 * name and groups and the roster's size). */
#define ROSTER_MAX_ITEMS 1000   /* items shown */
#define ROSTER_MAX_PENDING 1000 /* requests waiting, not shown */
#define ROSTER_MAX_GROUPS 32
#define ROSTER_MAX_TEXT 1023     /* bytes of a name or a group */
#define ROSTER_MAX_REQUEST 16384 /* a stored subscribe request */

/* Subscription bits: the user receives the contact's presence (to),
 * the contact receives the user's (from); both bits: "both". */
#define ROSTER_SUB_TO 1u
#define ROSTER_SUB_FROM 2u

struct sm;
struct user;
struct session;
struct xml_node;

struct roster_item {
	struct hash_link link; /* in the roster's items */
	char *jid;             /* the contact, prepared */
	char *name;            /* NULL: none */
	char **groups;
	size_t ngroups;
	unsigned sub;    /* ROSTER_SUB_* */
	bool ask;        /* pending out: our subscribe awaits an answer */
	bool pending_in; /* the contact's subscribe awaits our answer */
	bool approved;   /* pre-approved (§3.4) */
	bool shown;      /* in the roster (not only a pending request) */
	char *request;   /* pending_in: the subscribe stanza, as received */
};

struct roster {
	struct hash_table items; /* by contact JID */
	size_t shown;
	uint64_t ver;
};

/* u's roster (u loaded), or NULL when the roster module is off. */
struct roster *sm_roster_of(struct user *u);
struct roster_item *sm_roster_find(const struct roster *r, const char *jid);
/* The item of jid, created (not shown, no subscription) when absent.
 * NULL when memory is exhausted. */
struct roster_item *sm_roster_get(struct roster *r, const char *jid);
/* Iteration: first with it NULL. */
struct roster_item *sm_roster_next(const struct roster *r,
				   const struct roster_item *it);
/* Keeps a copy of the subscribe request (NULL: drops it). 0 or -1. */
int sm_roster_set_request(struct roster_item *it, const char *xml);

struct roster_change;
/* A change of u's roster. NULL when memory is exhausted. */
struct roster_change *sm_roster_change_new(struct sm *sm, struct user *u);
/* Records it as it now is (written, version bumped; pushed when push
 * is true and it is or was shown: a change that the roster does not
 * show, pending in, is not pushed). An item left with nothing (not
 * shown, not pending) is deleted and freed here. Returns 0 or -1. */
int sm_roster_change_item(struct roster_change *c, struct roster_item *it,
			  bool was_shown, bool push);
/* What a push shows of an item, to compare before and after. */
unsigned sm_roster_item_view(const struct roster_item *it);
/* xml (a reply to s's client) goes out once the change is durable;
 * error_xml (may be NULL) instead if the write fails. */
int sm_roster_change_reply(struct roster_change *c, const struct session *s,
			   const struct xml_node *xml,
			   const struct xml_node *error_xml);
/* Submits the change (and frees it later). */
void sm_roster_change_commit(struct roster_change *c);

#endif
