/* archive_query: what an archive query (XEP-0313 §4, with #extended's
 * after-id, before-id, ids and flip-page, paged by XEP-0059) is and
 * how it is answered, whoever keeps the archive: the sm a user's
 * (server/sm/mam_query.c), the muc a room's (server/muc/muc_mam.c).
 *
 * archive_read.c reads a query iq into a storage_archive_query and
 * says which messages are worth keeping; archive_answer.c builds the
 * result messages, the <fin/> and the form of §4.1.1; stanza_id.c
 * puts the XEP-0359 ids on messages and takes forged ones off;
 * archive_expiry.c deletes what is older than the retention. Each
 * process
 * runs the query and sends the answer its own way. */
#ifndef PALABRE_ARCHIVE_QUERY_H
#define PALABRE_ARCHIVE_QUERY_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "../../lib/arena.h"
#include "../../lib/buf.h"
#include "../../lib/xml.h"
#include "../../storage/storage.h"

#define NS_MAM "urn:xmpp:mam:2"
#define NS_MAM_EXTENDED "urn:xmpp:mam:2#extended"
#define NS_SID "urn:xmpp:sid:0"
#define NS_RSM "http://jabber.org/protocol/rsm"
#define NS_FORWARD "urn:xmpp:forward:0"
#define NS_HINTS "urn:xmpp:hints"

/* XEP-0059 page sizes: what a query without <max> gets, and the most
 * it may ask (policy-violation past it). */
#define MAM_PAGE_DEFAULT 50
#define MAM_PAGE_MAX STORAGE_ARCHIVE_PAGE_MAX
#define MAM_MAX_TEXT "at most 250 messages per page (<max/>) or ids"

/* A query as read from its <query/>. Its strings live in the arena. */
struct mam_request {
	struct storage_archive_query q; /* without q.user */
	const char *queryid;            /* NULL: none */
	bool flip; /* #extended's flip-page: each page newest first */
	bool none; /* <max>0</max>: no message, only <fin/> */
};

/* Reads the <query xmlns='urn:xmpp:mam:2'/> of a set into r. NULL, or
 * the error condition (RFC 6120 §8.3.3) to answer with. */
const char *mam_request_read(struct arena *a, const struct xml_node *query,
			     struct mam_request *r);
/* The error condition for a query's storage status: NULL for
 * STORAGE_OK; §4.1.4: an after or before id the archive does not hold
 * is item-not-found. */
const char *mam_status_condition(enum storage_status status);

/* XEP-0313 §5.1.1 leaves what an archive keeps to the server: as
 * Prosody and ejabberd, a message with something a person reads later
 * (a body, an encrypted payload, an invitation …), honouring
 * XEP-0334's hints. The message's type is the caller's to check. */
bool mam_worth_keeping(const struct xml_node *m);

/* Removes the stanza ids of m 'by' bare, and returns the last one's id
 * (in the arena) or NULL. XEP-0359 §4: "the archiving entity MUST
 * remove any <stanza-id/> element that has a 'by' attribute matching
 * its own JID", else a sender could forge ids of the archive. */
const char *mam_take_ids(struct xml_node *m, const char *bare);
/* Adds <stanza-id by='by' id='id'/> to m; 0 or -1 (memory). */
int mam_stanza_id_add(struct arena *a, struct xml_node *m, const char *by,
		      const char *id);

/* One result message (§4.2), serialized by hand: the stored message
 * goes in as it is, already with its xmlns. from and to may be NULL
 * (none). 0, or -1 (memory). */
int mam_result_bytes(struct buf *out, const char *from, const char *to,
		     const char *queryid,
		     const struct storage_archive_item *it);
/* The i-th of the shown messages of page, in the order they go out
 * (flip-page: newest first). */
const struct storage_archive_item *
mam_page_item(const struct storage_archive_page *page, size_t shown, size_t i,
	      bool flip);
/* §4.3: <fin complete='true'?><set><first/><last/></set></fin>, or
 * NULL (memory). */
struct xml_node *mam_fin(struct arena *a,
			 const struct storage_archive_page *page, size_t shown);
/* §4.1.1: the form of the query's fields, with #extended's, as a
 * <query/> child of result. 0 or -1 (memory). */
int mam_fields_add(struct arena *a, struct xml_node *result);

/* An archive's retention (archive_expiry.c). */
struct archive_expiry {
	uv_timer_t timer; /* its data is the owner's; close it at the end */
	struct storage *storage;
	int64_t retention_us; /* 0: kept for ever, the timer does not run */
	bool expiring;        /* a chunk is in flight */
	const char *who;      /* "mam", "muc": for the log */
};
/* Initializes the timer on loop and, with a retention period, starts
 * it (unreferenced: it keeps no loop running). */
void archive_expiry_start(struct archive_expiry *e, uv_loop_t *loop,
			  struct storage *s, int64_t retention_us,
			  const char *who);
/* The archive's time: µs since the epoch. */
int64_t archive_now_us(void);

/* XEP-0082 DateTime of a time in µs since the epoch, with microseconds:
 * "2010-07-10T23:08:25.123456Z". out holds 32 bytes. */
void mam_format_stamp(int64_t us, char out[32]);
/* Parses a XEP-0082 DateTime (fraction and offset optional) into µs;
 * 0 or -1. */
int mam_parse_stamp(const char *text, int64_t *us);

#endif
