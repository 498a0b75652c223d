/* mam: the message archive (XEP-0313), what its files share.
 *
 * mam.c archives the messages (both sides), adds XEP-0359 stanza ids
 * and expires old messages; mam_query.c answers the archive queries;
 * mam_prefs.c keeps the archiving preferences (§7) and decides from
 * them. The archive itself is storage.h's; reading a query and the
 * pieces of its answer are server/archive/'s, shared with the rooms. */
#ifndef PALABRE_SM_MAM_H
#define PALABRE_SM_MAM_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/buf.h"
#include "../../storage/storage.h"
#include "../archive/archive_query.h"

#define NS_DELAY "urn:xmpp:delay"

struct jid;
struct mam_query;
struct session;
struct sm;
struct sm_event;
struct stanza;
struct user;
struct xml_node;

struct mam {
	struct sm *sm;
	int prefs_slot;       /* per user: its preferences, NULL for defaults */
	int64_t retention_us; /* 0: kept for ever */
	/* The appends of this turn of the loop, committed at its check
	 * phase: one batch for all the messages read at once. */
	struct storage_batch *batch;
	size_t batch_count;
	bool handles; /* the handles below are initialized */
	uv_check_t flush;
	struct archive_expiry expiry;
	unsigned closing; /* handles closing at free */
	bool freed;       /* free ran: the last handle closed frees */
	struct buf out;   /* serialization, reused */
	/* mam_query.c: the queries waiting for their pages. */
	struct mam_query *queries;
	size_t nqueries;
};

/* The module's state, for the files of mam. */
struct mam *mam_of(struct sm *sm);

/* An iq answered from a storage completion: who asked (the session
 * may be gone by then) and the iq's id. */
struct mam_reply {
	char *user, *resource, *id;
	uint64_t serial;
};

/* Copies what the answer to ev's iq needs. 0 or -1 (memory). */
int mam_reply_init(struct mam_reply *r, const struct sm_event *ev);
void mam_reply_free(struct mam_reply *r);
/* The session that asked, if it is still there. */
struct session *mam_reply_session(struct sm *sm, const struct mam_reply *r);
/* <iq type='…' id='…' to='s'/> from the account, in sm's arena. */
struct xml_node *mam_reply_iq(struct sm *sm, struct session *s,
			      const struct mam_reply *r, const char *type);
/* Sends the error condition (RFC 6120 §8.3.3's type) to s. */
void mam_reply_error(struct sm *sm, struct session *s,
		     const struct mam_reply *r, const char *condition);

/* Answers st with an error, with a <text/> when text is not NULL. */
void mam_deliver_error(struct sm *sm, const struct stanza *st,
		       const char *condition, const char *text);

/* mam_prefs.c: whether u archives a message with the bare JID with
 * (§7: its default, always and never lists). */
bool mam_prefs_archives(struct mam *mod, struct user *u,
			const struct jid *with);
/* Registers the preferences' store and iq handler. 0 or -1. */
int mam_prefs_init(struct mam *mod);

/* mam_query.c: hooks the query iq. 0 or -1. */
int mam_query_init(struct mam *mod);

#endif
