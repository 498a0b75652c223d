/* muc: the chat rooms' process (XEP-0045), a component bound to each
 * configured service name (conference.DOMAIN). One loop: every room
 * lives in memory here; persistent rooms are written through storage/.
 *
 * A stanza's way through it, file by file:
 *   muc.c        the router link hands a FRAME_STANZA to muc_handle_frame.
 *   service.c    parsed once into muc->arena; to the service itself
 *                (disco) or to a room, by the 'to' JID.
 *   occupant.c   presence: join, change, nick change, leave;
 *                occupant_session.c: one user's resources under one
 *                nick (§7.2.8).
 *   groupchat.c  messages: to the room (groupchat, subject), private
 *                messages to an occupant.
 *   room_request.c  other messages to the room: invitations
 *                (invite.c), voice requests (voice_request.c).
 *   service.c's iq tables: disco.c, room_owner.c, room_vcard.c (the
 *                room's vCard and avatar); occupant_iq.c (self-ping).
 *   room_owner.c, room_config*.c  muc#owner: the configuration form,
 *                destroying a room (§10).
 *   room_admin.c muc#admin: kicks, voice, bans, members, moderators,
 *                admins and owners (§8-§10), through room_role.c and
 *                room_affiliation.c.
 *   muc_send.c   what goes out: serialized, a frame per recipient to
 *                the router, or the backlog while the link is full. */
#ifndef PALABRE_MUC_H
#define PALABRE_MUC_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
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
#define NS_OCCUPANT_ID "urn:xmpp:occupant-id:0"

/* XEP-0421: the service's key (bytes), and an occupant id: base64url of
 * an HMAC-SHA256, 43 characters, and its NUL. */
#define MUC_OCCUPANT_ID_KEY_SIZE 32
#define MUC_OCCUPANT_ID_SIZE 44

/* Frames the link refused wait here, up to this many bytes; past it
 * they are dropped (logged): presence and messages of rooms, whose
 * senders got their own echo or error already. */
#define MUC_BACKLOG_MAX (8u << 20)

/* The largest presence a room takes (service.c). */
#define MUC_PRESENCE_MAX (16u << 10)
/* The most affiliations a room keeps (members, admins, owners,
 * outcasts): its list grows by invitations (§9.3) and by admins'
 * changes, each kept in memory and written whole on every change
 * (room_store.c). Past it a new one is refused (resource-constraint);
 * a domain's affiliation covers its users in one. */
#define MUC_AFFILIATIONS_MAX 10000u
/* XEP-0153 §4.1: an avatar's SHA-1, in hex. */
#define MUC_AVATAR_HASH_LEN 40

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
	/* muc#roomconfig_getmemberlist: the roles (1 << MUC_ROLE_X) whose
	 * occupants may get the member list (§9.5); admins always may. */
	unsigned member_list_roles;
};

/* A field of struct room_config, by its muc#roomconfig var
 * (room_config.c's table): the storage and the owner's form read and
 * write the configuration through it. */
enum room_field_type {
	ROOM_FIELD_TEXT,     /* char *, NULL for "" */
	ROOM_FIELD_BOOL,     /* bool: "1" or "0" */
	ROOM_FIELD_ENUM,     /* an enum: names[value] */
	ROOM_FIELD_UNSIGNED, /* unsigned, decimal */
};

struct room_config_field {
	const char *var; /* muc#roomconfig_roomname … */
	enum room_field_type type;
	size_t offset;            /* in struct room_config */
	const char *const *names; /* ROOM_FIELD_ENUM, NULL-terminated */
};

#define ROOM_FIELD_VALUE_SIZE 24

/* An entity's affiliation with a room, by bare JID (§5.2): only those
 * other than none are kept. */
struct affiliation {
	struct hash_link link;
	enum muc_affiliation affiliation;
	char *reason; /* NULL: none */
	char jid[];   /* bare JID (or a domain) */
};

/* One occupant: a nickname in the room and the real full JID behind
 * it (XEP-0045 §7.2). One user's several resources may share a
 * nickname (§7.2.8, occupant_session.c): each is an occupant of its
 * own, a session, in room->jids and room->occupants; the nick's first
 * session, its primary, alone is in room->nicks and is what the
 * others see. */
struct occupant {
	struct hash_link by_nick; /* room->nicks, the primary only */
	struct hash_link by_jid;  /* room->jids, by real full JID */
	struct room *room;
	struct occupant *prev, *next; /* room->occupants, in join order */
	/* NULL for the nick's primary; for its other sessions, the
	 * primary, which lists them through next_session in join order. */
	struct occupant *primary, *next_session;
	enum muc_role role; /* the same in every session of the nick */
	char *nick;
	char *jid;  /* real full JID */
	bool local; /* at a domain the sm serves: reached by multicast */
	char occupant_id[MUC_OCCUPANT_ID_SIZE]; /* XEP-0421 */
	/* The occupant's presence as last sent to the room: its children
	 * other than the MUC <x/>, serialized (show, status, caps …). */
	char *presence;
	size_t presence_len;
	time_t voice_requested; /* §7.13: its last request, 0: none */
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
	unsigned noccupants; /* nicknames: a nick's sessions count once */
	char *subject; /* the last <message><subject/> broadcast, NULL: none */
	size_t subject_len;
	struct history_entry *history; /* ring of config.history entries */
	unsigned history_start, history_count, history_cap;
	bool stored; /* in the storage (room_store.c) */
	/* XEP-0486: the vCard its owners set (serialized <vCard/>, NULL:
	 * none), and the SHA-1 of each of its PHOTOs, MUC_AVATAR_HASH_LEN
	 * hex digits each, one after the other (NULL: no avatar); stored
	 * as ROOM_STORE_VCARD. */
	char *vcard;
	size_t vcard_len;
	char *avatar_hashes;
	/* The bare JIDs whose affiliation changed since the room was last
	 * written, each followed by its NUL (muc_room_set_affiliation
	 * adds them): room_store.c writes those items, not the list. */
	struct buf affiliations_changed;
};

struct muc_presence;
struct muc_archive;
struct storage;

/* A fan-out under way (muc_send.c): the bytes, and per local domain
 * the recipients of its multicast. */
struct fanout_group {
	const char *domain; /* into a recipient's JID, valid until the end */
	size_t domain_len;
	struct buf payload; /* lib/multicast.h, kept between fan-outs */
};

struct muc_fanout {
	const char *bytes;
	size_t len;
	struct fanout_group groups[CONFIG_MAX_HOSTS];
	size_t ngroups;
};

struct muc {
	const struct config *cfg;
	const char *name;            /* on the router: "muc" */
	const char *secret;          /* the router's, until the link is made */
	struct storage *storage;     /* muc.sqlite */
	struct muc_archive *archive; /* muc_archive.c */
	uv_loop_t *loop;
	struct link *link;
	struct hash_table rooms;
	struct hash_table owners; /* owners.c: rooms owned per bare JID */
	struct arena arena;       /* per stanza, reset after each frame */
	struct buf out;           /* a serialized stanza, reused */
	struct buf addressed;     /* the same with one recipient's 'to' */
	/* A presence broadcast's two forms (occupant_presence.c). */
	struct buf with_jid, without_jid;
	struct buf backlog; /* encoded frames waiting for the link */
	uint64_t dropped;   /* frames lost past MUC_BACKLOG_MAX */
	struct muc_fanout fanout;
	unsigned char occupant_id_key[MUC_OCCUPANT_ID_KEY_SIZE];
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

/* ---- room_vcard.c ---- */
void muc_room_vcard(struct muc *muc, struct room *room, struct stanza *st);

/* ---- room_config_form.c ---- */
/* §10.2: the muc#roomconfig form with room's current values, into
 * query. -1: out of memory. */
int muc_room_config_form(struct room *room, struct arena *a,
			 struct xml_node *query);
/* The form's names of whois and allowpm, by enum value, up to NULL. */
extern const char *const muc_whois_names[];
extern const char *const muc_allow_pm_names[];
int muc_name_index(const char *const *names, const char *name); /* -1 */

/* ---- room_config_submit.c ---- */
/* §10.1.3, §10.2: the submitted form x applied to room, or an error
 * answered; the result is sent. The room may be gone after it (no
 * longer persistent and empty). */
void muc_room_config_submit(struct muc *muc, struct room *room,
			    struct stanza *st, const struct xml_node *x);

/* ---- room_admin.c ---- */
void muc_room_admin(struct muc *muc, struct room *room, struct stanza *st);

/* Who makes a request to a room: the bare JID, and the occupant
 * behind the full JID if it is in the room. */
struct muc_actor {
	char jid[JID_MAX + 1];       /* bare */
	char nick[JID_PART_MAX + 1]; /* "": not in the room */
	enum muc_affiliation affiliation;
	enum muc_role role; /* an admin or owner outside: moderator */
};
void muc_actor_of(struct muc_actor *actor, const struct room *room,
		  const struct stanza *st);

/* Why a request may not be done: an error condition (RFC 6120 §8.3.3)
 * and a text; condition NULL: it may. */
struct muc_refusal {
	const char *condition;
	const char *text;
};

/* ---- room_role.c ---- */
/* §8.2-§8.5, §9.6-§9.8: whether actor may give target role. */
struct muc_refusal muc_role_check(const struct muc_actor *actor,
				  const struct occupant *target,
				  enum muc_role role);
/* Does it: none is a kick (307), told to everyone. */
void muc_role_change(struct occupant *target, enum muc_role role,
		     const struct muc_actor *actor, const char *reason);
/* §8.5, §9.8: an item per occupant of that role into query. */
int muc_role_list(const struct room *room, struct arena *a,
		  struct xml_node *query, enum muc_role role);
int muc_role_parse(const char *name); /* -1: not a role */

/* ---- room_affiliation.c ---- */
/* §9, §10.3-§10.8: whether actor may give bare the affiliation aff. */
struct muc_refusal muc_affiliation_check(const struct room *room,
					 const struct muc_actor *actor,
					 const char *bare,
					 enum muc_affiliation aff);
/* Sets it, and the occupants of that JID follow: removed when banned
 * (301) or no longer members of a members-only room (321), else their
 * new affiliation and role are told to everyone. -1: out of memory. */
int muc_affiliation_change(struct room *room, const char *bare,
			   enum muc_affiliation aff,
			   const struct muc_actor *actor, const char *reason);
/* How many JIDs room's list gives aff (the service admins not
 * counted). */
unsigned muc_affiliation_count(const struct room *room,
			       enum muc_affiliation aff);
/* §9.2, §9.5, §10.5, §10.8: an item per JID of that affiliation into
 * query, for viewer (the nicks of the occupants behind them only if it
 * may see real JIDs). -1: out of memory. */
int muc_affiliation_list(const struct room *room, struct arena *a,
			 struct xml_node *query, enum muc_affiliation aff,
			 const struct muc_actor *viewer);
int muc_affiliation_parse(const char *name); /* -1: not an affiliation */

/* ---- occupant_iq.c ---- */
void muc_occupant_iq(struct muc *muc, struct room *room, struct stanza *st);

/* ---- owners.c ---- */
void muc_owners_init(struct muc *muc);
void muc_owners_free(struct muc *muc);
/* The rooms bare owns (an owner affiliation, not as a service admin). */
unsigned muc_owned_rooms(const struct muc *muc, const char *bare);
/* bare owns delta more (or fewer) rooms. */
void muc_owners_add(struct muc *muc, const char *bare, int delta);

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
/* Sets jid's affiliation (none removes it); -1: out of memory, or a
 * new one past MUC_AFFILIATIONS_MAX. */
int muc_room_set_affiliation(struct room *room, const char *bare,
			     enum muc_affiliation aff, const char *reason);
/* bare's entry of the affiliation list (not its domain's, nor a
 * service admin's), NULL: none. */
const struct affiliation *muc_room_affiliation_entry(const struct room *room,
						     const char *bare);
struct occupant *muc_room_occupant(const struct room *room, const char *nick);
/* o (its nick taken: muc_session_attach) into the table by real JID,
 * last in the join order; and out of both. */
void muc_room_add_occupant(struct room *room, struct occupant *o);
void muc_room_remove_occupant(struct room *room, struct occupant *o);
struct occupant *muc_room_occupant_by_jid(const struct room *room,
					  const char *jid);
/* Whether st's sender may learn of room: a hidden members-only room
 * shows itself to its members and occupants only. */
bool muc_room_visible_to(const struct room *room, const struct stanza *st);
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
/* Removes o's nickname, every session of it: everyone else sees it
 * leave once (unavailable, with status codes such as 307 kicked or 301
 * banned: p->codes, p->actor, p->reason; p NULL: a plain leave), and
 * each session gets its own copy (110). The room stays: the caller
 * releases it (muc_room_release). */
void muc_occupant_remove(struct occupant *o, const struct muc_presence *p);
/* One session leaves (§7.14; p as above: 333, its server cannot reach
 * it): it gets its own unavailable, and the others see the nick leave
 * only with its last session. The caller releases the room. */
void muc_occupant_leave(struct occupant *o, const struct muc_presence *p);
/* Takes o out of its room and frees it, telling nobody (§10.9: a
 * destroyed room told each occupant already). */
void muc_occupant_free(struct occupant *o);
/* o cannot be reached (its server answered with an error, or the
 * router has no route to it: why, for the log): that session leaves
 * with status 333, the room released. */
void muc_occupant_unreachable(struct occupant *o, const char *why);
/* st, of type error, answers what the room sent: when it comes from an
 * occupant and says that the occupant is gone, it is removed (333). */
void muc_occupant_error(struct room *room, struct stanza *st);
/* A new role for o's nick (every session), told to everyone (§8.4
 * voice, §9.6 moderator). */
void muc_occupant_set_role(struct occupant *o, enum muc_role role,
			   const char *actor, const char *reason);

/* ---- occupant_session.c ---- */
/* The primary of o's nick: o, or the session o joined. */
struct occupant *muc_session_primary(const struct occupant *o);
bool muc_session_same_nick(const struct occupant *a, const struct occupant *b);
/* Whether o's real JID is of the user bare (a bare JID): only that
 * user's resources may share o's nick (§7.2.8). */
bool muc_session_is_of(const struct occupant *o, const char *bare);
/* o takes its nick: primary NULL, as a nick nobody has (into
 * room->nicks, counted); else as another session of primary's nick,
 * with its role. -1: out of memory. */
int muc_session_attach(struct occupant *o, struct occupant *primary);
/* o leaves its nick's sessions: the next one becomes the primary, and
 * the nick goes (out of room->nicks, uncounted) with its last. The
 * nick's primary after, NULL when it went. */
struct occupant *muc_session_detach(struct occupant *o);
/* The first occupant after o (room->occupants) that is not a session
 * of o's nick: where a loop that removes o's nick goes on. */
struct occupant *muc_session_next_other(const struct occupant *o);

/* ---- occupant_id.c ---- */
/* Reads the service's XEP-0421 key from the data directory, or makes
 * it. 0, or -1 (logged). */
int muc_occupant_id_init(struct muc *muc);
void muc_occupant_id_free(struct muc *muc);
/* The occupant id of real_jid (its bare JID counts) in room. 0 or -1. */
int muc_occupant_id(const struct muc *muc, const char *room,
		    const char *real_jid, char id[MUC_OCCUPANT_ID_SIZE]);
/* Replaces any <occupant-id/> of stanza with o's. 0 or -1 (memory). */
int muc_occupant_id_stamp(struct arena *a, struct xml_node *stanza,
			  const struct occupant *o);

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
	/* Serialized children of the <x/> after the item: §10.9's
	 * <destroy/>. NULL: none. */
	const char *extra;
};
bool muc_may_see_jids(const struct room *room, const struct occupant *viewer);
/* p as bytes into b, without 'to': with the real JID or not, and with
 * status 110 for the occupant's own copy. -1: out of memory. */
int muc_presence_build(struct buf *b, const struct muc_presence *p,
		       bool with_jid, bool self);
int muc_presence_send(struct muc *muc, const struct muc_presence *p,
		      const struct occupant *viewer);
/* p, of a nick (p->occupant its primary, whose presence the others
 * see), to every session of the other nicks; then each session of the
 * nick gets its own copy (its presence and real JID, 110), last. */
void muc_presence_broadcast(struct muc *muc, const struct muc_presence *p);
/* p to every session of the other nicks only. */
void muc_presence_to_others(struct muc *muc, const struct muc_presence *p);

/* ---- groupchat.c ---- */
void muc_room_message(struct muc *muc, struct room *room, struct stanza *st);
/* Sends the serialized stanza bytes (no 'to') to every occupant. */
void muc_room_broadcast(struct room *room, const char *bytes, size_t len);

/* ---- room_request.c ---- */
/* A message to the room's bare JID, not groupchat, from o (NULL: one
 * not in the room). */
void muc_room_request(struct muc *muc, struct room *room, struct occupant *o,
		      struct stanza *st);

/* ---- invite.c ---- */
/* §7.8.2: st's <x/> (x) invites others; o NULL: not an occupant. */
void muc_invite(struct muc *muc, struct room *room, struct occupant *o,
		struct stanza *st, struct xml_node *x);
/* §7.8.3: st's <x/> declines an invitation. */
void muc_invite_decline(struct muc *muc, struct room *room, struct stanza *st,
			struct xml_node *x);
/* The room's invitation to invitee from inviter (a bare JID), with the
 * reason and <continue/> of invite (NULL: none) and the room's
 * password; §9.3 sends one to a new member too. id NULL: none. NULL:
 * out of memory. */
struct xml_node *muc_invite_message(const struct room *room, struct arena *a,
				    const char *id, const char *inviter,
				    const char *invitee,
				    const struct xml_node *invite);

/* ---- voice_request.c ---- */
/* §7.13 and §8.6: form (muc#request) asks for voice, or answers such
 * a request; o NULL: not an occupant. */
void muc_voice_request(struct muc *muc, struct room *room, struct occupant *o,
		       struct stanza *st, struct xml_node *form);

/* ---- form.c ---- */
struct xml_node *muc_form_field(const struct xml_node *form, const char *var);
/* The first <value/> of field (XEP-0004 §3.3), NULL when it has none
 * (or out of memory). */
const char *muc_form_field_value(struct arena *a, const struct xml_node *field);
/* The first value of form's field var, NULL when it has none. */
const char *muc_form_value(struct arena *a, const struct xml_node *form,
			   const char *var);
/* Whether form's FORM_TYPE is form_type. */
bool muc_form_is(struct arena *a, const struct xml_node *form,
		 const char *form_type);
bool muc_form_true(const char *value);
/* A field of form (type, label and value NULL: none). NULL: memory. */
struct xml_node *muc_form_add(struct arena *a, struct xml_node *form,
			      const char *var, const char *type,
			      const char *label, const char *value);

/* ---- history.c ---- */
int muc_history_add(struct room *room, const char *bytes, size_t len);
/* Adds a message older than those kept, of time stamp (the history
 * read back from the archive, newest first); -1: memory, or full. */
int muc_history_add_older(struct room *room, const char *bytes, size_t len,
			  time_t stamp);
/* Keeps the newest config.history messages (after a new configuration,
 * §10.2). -1: out of memory. */
int muc_history_fit(struct room *room);
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
/* The same bytes (a serialized stanza without 'to') to many: begin,
 * add each recipient (local: at a domain the sm serves, which gets one
 * multicast frame for all its recipients; else a frame each), end. The
 * bytes and the recipients' JIDs stay valid until the end. */
void muc_fanout_begin(struct muc *muc, const char *bytes, size_t len);
void muc_fanout_add(struct muc *muc, const char *to, bool local);
void muc_fanout_end(struct muc *muc);
void muc_fanout_free(struct muc *muc);

/* ---- room_config.c ---- */
extern const struct room_config_field room_config_fields[];
const struct room_config_field *room_config_field_find(const char *var);
/* The field's value as text (in buf, or a constant string). */
const char *room_config_get(const struct room_config *c,
			    const struct room_config_field *f,
			    char buf[ROOM_FIELD_VALUE_SIZE]);
/* Sets the field from text; -1: not a value of the field (unchanged),
 * or out of memory. */
int room_config_set(struct room_config *c, const struct room_config_field *f,
		    const char *text);
void room_config_free(struct room_config *c);

/* ---- room_store.c ---- */
/* What of a room to write. */
enum room_store_part {
	ROOM_STORE_CONFIG = 1,
	/* The affiliations changed since the last write (an item each). */
	ROOM_STORE_AFFILIATIONS = 2,
	ROOM_STORE_SUBJECT = 4,
	ROOM_STORE_VCARD = 8, /* and its avatar hashes */
	ROOM_STORE_ALL = 15,
};
/* A write's completion: room NULL when it is gone meanwhile; ok once
 * the write is durable. */
typedef void (*room_stored_cb)(struct muc *muc, struct room *room, void *ctx,
			       bool ok);
/* Writes parts of a persistent room (all of it when it was not stored
 * yet; affiliations changed and not yet written go with any part),
 * deletes a stored room that is not persistent any more, and calls
 * done once that is durable, after the room's earlier writes: then
 * acknowledge the change (XEP-0045's iq result, the broadcast). A
 * room with nothing to write (temporary, locked) gets done at once.
 * -1: nothing was queued and done is not called. */
int muc_room_store(struct room *room, unsigned parts, room_stored_cb done,
		   void *ctx);
/* The stanzas a change sends once it is stored, made before the write
 * (a stanza lives in the frame's arena): st is the change's request,
 * whose author gets internal-server-error instead if the write fails.
 * NULL: out of memory. */
struct muc_outbox;
struct muc_outbox *muc_outbox_new(struct muc *muc, const struct stanza *st);
/* bytes (a serialized stanza without 'to') for to, or, to NULL, for
 * every occupant. -1: out of memory. */
int muc_outbox_add(struct muc_outbox *o, const char *to, const char *bytes,
		   size_t len);
/* xml, for its 'to'; -1: out of memory, or xml NULL or without 'to'. */
int muc_outbox_add_xml(struct muc_outbox *o, struct xml_node *xml);
void muc_outbox_free(struct muc_outbox *o);
/* muc_room_store, then o's stanzas; o is freed. o NULL, or nothing
 * queued: resource-constraint to st. */
void muc_room_store_send(struct room *room, unsigned parts,
			 const struct stanza *st, struct muc_outbox *o);
/* muc_room_store_send of the iq result to st. */
void muc_room_store_reply(struct room *room, unsigned parts,
			  const struct stanza *st);
/* muc_room_store_send of bytes (a serialized stanza without 'to') to
 * every occupant. */
void muc_room_store_broadcast(struct room *room, unsigned parts,
			      const struct stanza *st, const char *bytes,
			      size_t len);
/* Deletes all the storage holds of room (its configuration and
 * archive): a room destroyed, or a new room of that name. */
void muc_room_store_forget(struct muc *muc, const char *jid);
/* Loads every stored room, then calls done (ok false: a read failed). */
void muc_rooms_load(struct muc *muc, void (*done)(struct muc *, bool ok));

/* ---- muc_archive.c (muc_archive.h: its state) ---- */
/* Starts the archive (its retention timer); 0 or -1. */
int muc_archive_start(struct muc *muc);
/* Closes its handles (run the loop once more). */
void muc_archive_stop(struct muc *muc);
/* Before a groupchat message st from o is broadcast: removes stanza
 * ids forged in the room's name, gives it the room's XEP-0359
 * stanza-id, and archives it when the room logs. -1: memory. */
int muc_archive_message(struct room *room, const struct occupant *o,
			struct stanza *st);
/* Fills the room's history from its archive (at start); done gets
 * false when the read failed. */
int muc_archive_load_history(struct room *room,
			     void (*done)(struct muc *, bool ok));

/* ---- muc_mam.c ---- */
void muc_mam_query(struct muc *muc, struct room *room, struct stanza *st);

#endif
