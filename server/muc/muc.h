/* muc: the chat rooms' process (XEP-0045), a component bound to each
 * configured service name (conference.DOMAIN). One loop: every room
 * lives in memory here; persistent rooms are written through storage/.
 *
 * A stanza's way through it, file by file:
 *   muc.c        the router link hands a FRAME_STANZA to muc_handle_frame.
 *   service.c    parsed once into muc->arena; to the service itself
 *                (disco) or to a room, by the 'to' JID.
 *   occupant.c   presence: join, change, nick change, leave.
 *   groupchat.c  messages: to the room (groupchat, subject), private
 *                messages to an occupant.
 *   muc_send.c   what goes out: serialized, a frame per recipient to
 *                the router, or the backlog while the link is full. */
#ifndef PALABRE_MUC_H
#define PALABRE_MUC_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/config.h"
#include "../../lib/frame.h"
#include "../../lib/hash_table.h"
#include "../../lib/jid.h"
#include "../../lib/xml.h"
#include "../sm/stanza.h"

#define NS_MUC "http://jabber.org/protocol/muc"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define NS_MUC_ADMIN "http://jabber.org/protocol/muc#admin"
#define NS_MUC_OWNER "http://jabber.org/protocol/muc#owner"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
#define NS_DISCO_ITEMS "http://jabber.org/protocol/disco#items"
#define NS_DELAY "urn:xmpp:delay"
#define NS_XDATA "jabber:x:data"

/* Frames the link refused wait here, up to this many bytes; past it
 * they are dropped (logged): presence and messages of rooms, whose
 * senders got their own echo or error already. */
#define MUC_BACKLOG_MAX (8u << 20)

/* XEP-0045 §5.1 roles and §5.2 affiliations, in increasing order. */
enum muc_role {
	MUC_ROLE_NONE,
	MUC_ROLE_VISITOR,
	MUC_ROLE_PARTICIPANT,
	MUC_ROLE_MODERATOR,
};

enum muc_affiliation {
	MUC_AFF_OUTCAST,
	MUC_AFF_NONE,
	MUC_AFF_MEMBER,
	MUC_AFF_ADMIN,
	MUC_AFF_OWNER,
};

/* XEP-0045 §15.5.3: muc#roomconfig_whois. */
enum muc_whois { MUC_WHOIS_MODERATORS, MUC_WHOIS_ANYONE };

/* muc#roomconfig_allowpm: who may send private messages. */
enum muc_allow_pm {
	MUC_PM_ANYONE,
	MUC_PM_PARTICIPANTS,
	MUC_PM_MODERATORS,
	MUC_PM_NONE,
};

/* The room's configuration (XEP-0045 §10.2, muc#roomconfig). */
struct room_config {
	char *name;
	char *description;
	char *password; /* NULL: none */
	bool persistent;
	bool public; /* listed in the service's disco#items */
	bool members_only;
	bool moderated;
	bool password_protected;
	bool change_subject; /* occupants (not only moderators) may */
	bool allow_invites;  /* occupants (not only admins) may invite */
	bool logging;        /* archived (XEP-0313 on the room) */
	enum muc_whois whois;
	enum muc_allow_pm allow_pm;
	unsigned max_users;
	unsigned history; /* messages kept for newcomers */
};

/* An entity's affiliation with a room, by bare JID (§5.2): only those
 * other than none are kept. */
struct affiliation {
	struct hash_link link;
	enum muc_affiliation affiliation;
	char *reason; /* NULL: none */
	char jid[];   /* bare JID (or a domain) */
};

/* One occupant: a nickname in the room and the real full JID behind
 * it (XEP-0045 §7.2). */
struct occupant {
	struct hash_link by_nick; /* room->nicks */
	struct hash_link by_jid;  /* room->jids, by real full JID */
	struct room *room;
	struct occupant *prev, *next; /* room->occupants, in join order */
	enum muc_role role;
	char *nick;
	char *jid; /* real full JID */
	/* The occupant's presence as last sent to the room: its children
	 * other than the MUC <x/>, serialized (show, status, caps …). */
	char *presence;
	size_t presence_len;
};

/* A message of the discussion history (§7.2.15), kept as sent to the
 * room, with its time for <delay/>. */
struct history_entry {
	char *bytes; /* the message as broadcast, without 'to' */
	size_t len;
	time_t stamp;
};

struct room {
	struct hash_link link; /* muc->rooms, by bare JID */
	struct muc *muc;
	char *jid;     /* room@service */
	char *service; /* points into the configuration */
	struct room_config config;
	/* Created and not yet configured (§10.1.1): only its owner may
	 * enter until an instant room is accepted or the form submitted. */
	bool locked;
	struct hash_table affiliations;
	struct hash_table nicks, jids;
	struct occupant *occupants, *last_occupant;
	unsigned noccupants;
	char *subject; /* the last <message><subject/> broadcast, NULL: none */
	size_t subject_len;
	struct history_entry *history; /* ring of config.history entries */
	unsigned history_start, history_count, history_cap;
};

struct muc_presence;

struct muc {
	const struct config *cfg;
	const char *name; /* on the router: "muc" */
	uv_loop_t *loop;
	struct link *link;
	struct hash_table rooms;
	struct arena arena;   /* per stanza, reset after each frame */
	struct buf out;       /* a serialized stanza, reused */
	struct buf addressed; /* the same with one recipient's 'to' */
	/* A presence broadcast's two forms (occupant_presence.c). */
	struct buf with_jid, without_jid;
	struct buf backlog; /* encoded frames waiting for the link */
	uint64_t dropped;   /* frames lost past MUC_BACKLOG_MAX */
	bool stopping;
	int exit_status;
};

/* An iq handler, by the namespace of the iq's child (service.c's
 * tables); room is NULL for the service, or a room that does not
 * exist. */
struct muc_iq_handler {
	const char *ns;
	void (*handle)(struct muc *muc, struct room *room, struct stanza *st);
};

/* ---- service.c ---- */
void muc_handle_frame(struct muc *muc, const struct frame *f);
/* Whether domain is one of the services. */
const char *muc_service_find(const struct muc *muc, const char *domain);
/* Whether bare is a service admin (owner of every room). */
bool muc_is_service_admin(const struct muc *muc, const char *bare);
/* An answer to st: the error with condition (RFC 6120 §8.3), sent. */
void muc_send_error(struct muc *muc, const struct stanza *st,
		    const char *condition, const char *text);
/* The iq result answering st: result, or an empty one when NULL. */
int muc_send_result(struct muc *muc, const struct stanza *st,
		    struct xml_node *result);

/* ---- disco.c ---- */
void muc_service_disco_info(struct muc *muc, struct room *room,
			    struct stanza *st);
void muc_service_disco_items(struct muc *muc, struct room *room,
			     struct stanza *st);
void muc_room_disco_info(struct muc *muc, struct room *room, struct stanza *st);
void muc_room_disco_items(struct muc *muc, struct room *room,
			  struct stanza *st);

/* ---- room_owner.c ---- */
void muc_room_owner(struct muc *muc, struct room *room, struct stanza *st);

/* ---- occupant_iq.c ---- */
void muc_occupant_iq(struct muc *muc, struct room *room, struct stanza *st);

/* ---- room.c ---- */
void muc_rooms_init(struct muc *muc);
void muc_rooms_free(struct muc *muc);
struct room *muc_room_find(struct muc *muc, const char *jid);
/* A new room, empty, locked, with the service's default configuration. */
struct room *muc_room_new(struct muc *muc, const char *jid,
			  const char *service);
/* Frees room once nobody is in it, unless it is persistent. */
void muc_room_release(struct room *room);
void muc_room_destroy(struct room *room);
enum muc_affiliation muc_room_affiliation(const struct room *room,
					  const char *jid);
/* Sets jid's affiliation (none removes it); -1: out of memory. */
int muc_room_set_affiliation(struct room *room, const char *bare,
			     enum muc_affiliation aff, const char *reason);
struct occupant *muc_room_occupant(const struct room *room, const char *nick);
struct occupant *muc_room_occupant_by_jid(const struct room *room,
					  const char *jid);
const char *muc_role_name(enum muc_role role);
const char *muc_affiliation_name(enum muc_affiliation aff);
/* The role an entity of this affiliation gets on entering (§5.1.2). */
enum muc_role muc_room_default_role(const struct room *room,
				    enum muc_affiliation aff);

/* ---- occupant.c ---- */
void muc_occupant_presence(struct muc *muc, struct room *room,
			   struct stanza *st);
/* Keeps presence's children (not the MUC <x/>) as o's presence. */
int muc_occupant_keep_presence(struct muc *muc, struct occupant *o,
			       const struct xml_node *presence);
/* Removes o, telling everyone (unavailable, with status codes such as
 * 307 kicked or 301 banned: p->codes, p->actor, p->reason; p NULL: a
 * plain leave). The room stays: the caller releases it
 * (muc_room_release). */
void muc_occupant_remove(struct occupant *o, const struct muc_presence *p);
/* o cannot be reached (its server answered with an error, or the
 * router has no route to it: why, for the log): removed with status
 * 333, the room released. */
void muc_occupant_unreachable(struct occupant *o, const char *why);
/* st, of type error, answers what the room sent: when it comes from an
 * occupant and says that the occupant is gone, it is removed (333). */
void muc_occupant_error(struct room *room, struct stanza *st);
/* A new role for o, told to everyone (§8.4 voice, §9.6 moderator). */
void muc_occupant_set_role(struct occupant *o, enum muc_role role,
			   const char *actor, const char *reason);

/* ---- join.c ---- */
/* st enters room (NULL: creates it, if the sender may). */
void muc_occupant_join(struct muc *muc, struct room *room, struct stanza *st);
/* o sent a MUC join again: it gets the room's state again. */
void muc_occupant_rejoin(struct muc *muc, struct occupant *o,
			 struct stanza *st);

/* ---- occupant_presence.c ---- */
/* What a room says of an occupant (XEP-0045 §7.2.3). */
struct muc_presence {
	const struct occupant *occupant;
	enum muc_affiliation affiliation;
	enum muc_role role;
	bool unavailable;
	const char *new_nick; /* §7.6: with status 303 */
	const char *actor;    /* the moderator's nick, kicks and bans */
	const char *reason;
	const char *const *codes; /* NULL-terminated status codes */
};
bool muc_may_see_jids(const struct room *room, const struct occupant *viewer);
/* p as bytes into b, without 'to': with the real JID or not, and with
 * status 110 for the occupant's own copy. -1: out of memory. */
int muc_presence_build(struct buf *b, const struct muc_presence *p,
		       bool with_jid, bool self);
int muc_presence_send(struct muc *muc, const struct muc_presence *p,
		      const struct occupant *viewer);
/* p to every occupant, the occupant's own copy last. */
void muc_presence_broadcast(struct muc *muc, const struct muc_presence *p);

/* ---- groupchat.c ---- */
void muc_room_message(struct muc *muc, struct room *room, struct stanza *st);
/* Sends the serialized stanza bytes (no 'to') to every occupant. */
void muc_room_broadcast(struct room *room, const char *bytes, size_t len);

/* ---- history.c ---- */
int muc_history_add(struct room *room, const char *bytes, size_t len);
/* Sends the history the join stanza's <history/> asks for to o. */
void muc_history_send(struct occupant *o, const struct xml_node *join);
void muc_history_free(struct room *room);

/* ---- muc_send.c ---- */
/* Serializes xml into muc->out (jabber:client, no xmlns on top). */
int muc_serialize(struct muc *muc, const struct xml_node *xml);
/* Sends xml to its 'to'. */
int muc_send_xml(struct muc *muc, const struct xml_node *xml);
/* Sends bytes, a serialized stanza without 'to', to `to`: the
 * attribute goes in after the element's name. */
int muc_send_to(struct muc *muc, const char *to, const char *bytes, size_t len);
void muc_send_drained(struct muc *muc);

#endif
