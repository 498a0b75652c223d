/* mam_query: the archive queries (XEP-0313 §4, with #extended's
 * after-id, before-id, ids and flip-page, paged by XEP-0059).
 *
 * A query is read into a storage_archive_query and answered from its
 * completion, never on the loop: each result message straight to the
 * session that asked (serialized once, the stored message spliced in
 * as it is), then the iq result with <fin/>. A user has at most
 * MAM_QUERIES_PER_USER queries in flight and the sm MAM_QUERIES_MAX:
 * past them, resource-constraint (type wait). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/log.h"
#include "delivery.h"
#include "mam.h"
#include "module.h"
#include "send.h"
#include "sessions.h"
#include "sm.h"
#include "stanza.h"
#include "userdata.h"

#define MAM_QUERIES_PER_USER 4
#define MAM_QUERIES_MAX 256
#define MAM_IDS_MAX STORAGE_ARCHIVE_PAGE_MAX
#define MAM_MAX_TEXT "at most 250 messages per page (<max/>) or ids"

/* A query waiting for its page. */
struct mam_query {
	struct mam_query *prev, *next; /* the queries in flight */
	struct mam *mod;
	struct mam_reply reply;
	char *queryid; /* NULL: none */
	bool flip;
	bool none; /* <max>0</max>: no message, only <fin/> */
};

/* ------------------------------------------------------------ dates */

void mam_format_stamp(int64_t us, char out[32])
{
	time_t secs = (time_t)(us / 1000000);
	long micros = (long)(us % 1000000);
	struct tm tm;
	if (micros < 0) {
		secs--;
		micros += 1000000;
	}
	gmtime_r(&secs, &tm);
	size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + n, 32 - n, ".%06ldZ", micros);
}

static int mam_parse_digits(const char **p, int n, int *out)
{
	*out = 0;
	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		*out = *out * 10 + (**p - '0');
	}
	return 0;
}

/* The fraction and zone after the seconds: ".123456", "Z" or "+01:00". */
static int mam_parse_zone(const char *p, int64_t *us, int64_t *offset)
{
	*us = 0;
	if (*p == '.') {
		int64_t scale = 100000;
		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			*us += (*p - '0') * scale;
	}
	int h, m;
	if (p[0] == 'Z' && !p[1]) {
		*offset = 0;
		return 0;
	}
	if ((*p != '+' && *p != '-') || (p++, mam_parse_digits(&p, 2, &h)) ||
	    *p++ != ':' || mam_parse_digits(&p, 2, &m) || *p || h > 23 ||
	    m > 59)
		return -1;
	*offset = (int64_t)(h * 60 + m) * 60 * (p[-6] == '-' ? -1 : 1);
	return 0;
}

/* XEP-0082 §3.2: CCYY-MM-DDThh:mm:ss[.sss]TZD. */
int mam_parse_stamp(const char *text, int64_t *us)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, s;
	int64_t frac, offset;
	const char *p = text;
	if (mam_parse_digits(&p, 4, &y) || *p++ != '-' ||
	    mam_parse_digits(&p, 2, &mo) || *p++ != '-' ||
	    mam_parse_digits(&p, 2, &d) || *p++ != 'T' ||
	    mam_parse_digits(&p, 2, &h) || *p++ != ':' ||
	    mam_parse_digits(&p, 2, &mi) || *p++ != ':' ||
	    mam_parse_digits(&p, 2, &s) || mam_parse_zone(p, &frac, &offset) ||
	    mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return -1;
	tm = (struct tm){.tm_year = y - 1900,
			 .tm_mon = mo - 1,
			 .tm_mday = d,
			 .tm_hour = h,
			 .tm_min = mi,
			 .tm_sec = s};
	*us = ((int64_t)timegm(&tm) - offset) * 1000000 + frac;
	return 0;
}

/* ------------------------------------------------------------ reading */

/* The values of the form's field var: the first, and how many. */
static const char *mam_field(struct arena *a, const struct xml_node *form,
			     const char *var, const char **values, size_t max,
			     size_t *n)
{
	*n = 0;
	for (const struct xml_node *f = xml_child(form, NS_DATA, "field"); f;
	     f = xml_next(f, NS_DATA, "field")) {
		const char *name = xml_attr_get(f, "var");
		if (!name || strcmp(name, var) != 0)
			continue;
		for (const struct xml_node *v = xml_child(f, NS_DATA, "value");
		     v; v = xml_next(v, NS_DATA, "value")) {
			const char *text = xml_text(a, v);
			if (!text)
				continue; /* out of memory: as if absent */
			if (*n < max)
				values[*n] = text;
			(*n)++;
		}
	}
	return *n ? values[0] : NULL;
}

/* XEP-0313 §4.1.1: a bare JID matches each of its resources, a full
 * JID only itself. 0, or -1 when text is not a JID. */
static int mam_read_with(struct arena *a, const char *text,
			 struct storage_archive_query *q)
{
	struct jid *j = arena_alloc(a, sizeof *j);
	char *bare = arena_alloc(a, JID_MAX + 1);
	if (!j || !bare || jid_parse_str(j, text) < 0)
		return -1;
	jid_format_bare(j, bare);
	q->with_bare = bare;
	q->with_resource = j->resource[0] ? j->resource : NULL;
	return 0;
}

/* §4.1's form: with, start, end; #extended's after-id, before-id, ids.
 * Returns NULL or the error condition. */
static const char *mam_read_form(struct arena *a, const struct xml_node *x,
				 struct storage_archive_query *q)
{
	const char *one[1], **ids = arena_alloc(a, MAM_IDS_MAX * sizeof *ids);
	const char *type = NULL, *v;
	size_t n;
	if (!ids)
		return "internal-server-error";
	/* XEP-0068: FORM_TYPE names the form. */
	if ((type = mam_field(a, x, "FORM_TYPE", one, 1, &n)) &&
	    strcmp(type, NS_MAM) != 0)
		return "bad-request";
	if ((v = mam_field(a, x, "with", one, 1, &n)) &&
	    mam_read_with(a, v, q) < 0)
		return "bad-request";
	if ((v = mam_field(a, x, "start", one, 1, &n)) &&
	    mam_parse_stamp(v, &q->start) < 0)
		return "bad-request";
	if ((v = mam_field(a, x, "end", one, 1, &n)) &&
	    mam_parse_stamp(v, &q->end) < 0)
		return "bad-request";
	q->after[0] = mam_field(a, x, "after-id", one, 1, &n);
	q->before[0] = mam_field(a, x, "before-id", one, 1, &n);
	mam_field(a, x, "ids", ids, MAM_IDS_MAX, &n);
	if (n > MAM_IDS_MAX)
		return "policy-violation";
	q->ids = ids;
	q->nids = n;
	return NULL;
}

/* XEP-0059: <max/>, <after/>, <before/> (empty: the last page). */
static const char *mam_read_set(struct arena *a, const struct xml_node *set,
				struct storage_archive_query *q)
{
	const struct xml_node *max = xml_child(set, NS_RSM, "max");
	const struct xml_node *after = xml_child(set, NS_RSM, "after");
	const struct xml_node *before = xml_child(set, NS_RSM, "before");
	/* §2.6's index: paging by offset is not kept (§2.6: "MAY"). */
	if (xml_child(set, NS_RSM, "index"))
		return "feature-not-implemented";
	if (max) {
		const char *text = xml_text(a, max);
		char *end;
		long n = text ? strtol(text, &end, 10) : -1;
		if (!text || end == text || *end || n < 0)
			return "bad-request";
		if (n > MAM_PAGE_MAX)
			return "policy-violation";
		q->max = (size_t)n;
	}
	if (after && !(q->after[1] = xml_text(a, after)))
		return "internal-server-error";
	if (before) {
		const char *text = xml_text(a, before);
		q->before[1] = text && *text ? text : NULL;
		q->backward = true;
	}
	return NULL;
}

/* ------------------------------------------------------------ answering */

/* One result message, serialized by hand: the stored message goes in as
 * it is, already with its xmlns (mam.c serializes it so). */
static int mam_result_bytes(struct buf *out, const struct mam_query *mq,
			    const char *to,
			    const struct storage_archive_item *it)
{
	char stamp[32];
	mam_format_stamp(it->stamp, stamp);
	buf_clear(out);
	int rc = buf_append_str(out, "<message to='") ||
		 buf_append_xml_escaped(out, to, strlen(to)) ||
		 buf_append_str(out, "'><result xmlns='" NS_MAM "'");
	if (!rc && mq->queryid)
		rc = buf_append_str(out, " queryid='") ||
		     buf_append_xml_escaped(out, mq->queryid,
					    strlen(mq->queryid)) ||
		     buf_append_str(out, "'");
	if (!rc)
		rc = buf_printf(out,
				" id='%s'><forwarded xmlns='" NS_FORWARD
				"'><delay xmlns='" NS_DELAY "' stamp='%s'/>",
				it->id, stamp) < 0 ||
		     buf_append(out, it->message, it->message_len) ||
		     buf_append_str(out, "</forwarded></result></message>");
	return rc ? -1 : 0;
}

/* §4.3: <fin complete='true'?><set><first/><last/></set></fin>. */
static struct xml_node *
mam_fin(struct arena *a, const struct storage_archive_page *page, size_t shown)
{
	struct xml_node *fin = xml_node_new(a, NS_MAM, "fin");
	struct xml_node *set =
		fin ? xml_add_child(a, fin, NS_RSM, "set") : NULL;
	if (!set ||
	    (page->complete && xml_set_attr(a, fin, "complete", "true") < 0))
		return NULL;
	if (!shown)
		return fin;
	const char *ids[2] = {page->items[0].id, page->items[shown - 1].id};
	const char *names[2] = {"first", "last"};
	for (int i = 0; i < 2; i++) {
		struct xml_node *e = xml_add_child(a, set, NS_RSM, names[i]);
		if (!e || xml_append_text(a, e, ids[i], strlen(ids[i])) < 0)
			return NULL;
	}
	return fin;
}

static void mam_send_page(struct mam_query *mq, struct session *s,
			  const struct storage_archive_page *page, size_t shown)
{
	struct sm *sm = mq->mod->sm;
	struct buf *out = &mq->mod->out;
	for (size_t i = 0; i < shown; i++) {
		/* #extended's flip-page: the same page, newest first. */
		const struct storage_archive_item *it =
			&page->items[mq->flip ? shown - 1 - i : i];
		if (mam_result_bytes(out, mq, s->jid, it) < 0) {
			mam_reply_error(sm, s, &mq->reply,
					"internal-server-error");
			return;
		}
		sm_send_stanza_bytes(sm, s, out->data, out->len);
	}
	struct xml_node *iq = mam_reply_iq(sm, s, &mq->reply, "result");
	struct xml_node *fin = iq ? mam_fin(&sm->arena, page, shown) : NULL;
	if (!fin)
		return;
	xml_append_child(iq, fin);
	sm_send_stanza(sm, s, iq);
}

static void mam_query_free(struct mam_query *mq)
{
	if (mq->prev)
		mq->prev->next = mq->next;
	else
		mq->mod->queries = mq->next;
	if (mq->next)
		mq->next->prev = mq->prev;
	mq->mod->nqueries--;
	mam_reply_free(&mq->reply);
	free(mq->queryid);
	free(mq);
}

static void mam_query_done(void *ctx, enum storage_status status,
			   const struct storage_archive_page *page)
{
	struct mam_query *mq = ctx;
	struct sm *sm = mq->mod->sm;
	struct session *s = mam_reply_session(sm, &mq->reply);
	/* §4.1.4 (XEP-0059 §2.5 alike): an after or before id the archive
	 * does not hold is item-not-found. */
	if (s && status == STORAGE_NOT_FOUND)
		mam_reply_error(sm, s, &mq->reply, "item-not-found");
	else if (s && status != STORAGE_OK)
		mam_reply_error(sm, s, &mq->reply, "internal-server-error");
	else if (s)
		mam_send_page(mq, s, page, mq->none ? 0 : page->count);
	mam_query_free(mq);
	arena_reset(&sm->arena);
}

/* ------------------------------------------------------------ the iq */

static size_t mam_queries_of(const struct mam *mod, const char *user)
{
	size_t n = 0;
	for (const struct mam_query *mq = mod->queries; mq; mq = mq->next)
		n += strcmp(mq->reply.user, user) == 0;
	return n;
}

/* Reads the query into q; NULL or the error condition. */
static const char *mam_read_query(struct stanza *st,
				  struct storage_archive_query *q)
{
	const struct xml_node *x = xml_child(st->payload, NS_DATA, "x");
	const struct xml_node *set = xml_child(st->payload, NS_RSM, "set");
	/* §4: a node is for pubsub archives; a user's has none. */
	if (xml_attr_get(st->payload, "node"))
		return "item-not-found";
	const char *cond = x ? mam_read_form(st->arena, x, q) : NULL;
	if (!cond && set)
		cond = mam_read_set(st->arena, set, q);
	return cond;
}

static void mam_query_start(struct mam *mod, struct sm_event *ev)
{
	struct stanza *st = ev->st;
	struct storage_archive_query q = {.user = ev->session->user->jid,
					  .start = INT64_MIN,
					  .end = INT64_MAX,
					  .max = MAM_PAGE_DEFAULT};
	const char *cond = mam_read_query(st, &q);
	if (cond) {
		mam_deliver_error(ev->sm, st, cond,
				  strcmp(cond, "policy-violation") == 0
					  ? MAM_MAX_TEXT
					  : NULL);
		return;
	}
	if (mod->nqueries >= MAM_QUERIES_MAX ||
	    mam_queries_of(mod, q.user) >= MAM_QUERIES_PER_USER) {
		mam_deliver_error(ev->sm, st, "resource-constraint",
				  "too many archive queries at once");
		return;
	}
	struct mam_query *mq = calloc(1, sizeof *mq);
	const char *queryid = xml_attr_get(st->payload, "queryid");
	/* XEP-0059 §2.7's <max>0</max>: no item; a page of one still
	 * tells whether there are any (complete). */
	bool none = q.max == 0;
	if (none)
		q.max = 1;
	if (!mq || mam_reply_init(&mq->reply, ev) < 0 ||
	    (queryid && !(mq->queryid = strdup(queryid)))) {
		if (mq)
			mam_reply_free(&mq->reply);
		free(mq);
		sm_deliver_error(ev->sm, st, "internal-server-error");
		return;
	}
	mq->mod = mod;
	mq->flip = xml_child(st->payload, NS_MAM, "flip-page") != NULL;
	mq->none = none;
	mq->next = mod->queries;
	if (mod->queries)
		mod->queries->prev = mq;
	mod->queries = mq;
	mod->nqueries++;
	struct storage *s = sm_storage(ev->sm);
	if (!s || storage_archive_query(s, &q, mam_query_done, mq) < 0) {
		mam_query_free(mq);
		sm_deliver_error(ev->sm, st, "resource-constraint");
	}
}

/* §4.1.1: the form's fields, with #extended's. */
static void mam_query_fields(struct sm_event *ev)
{
	static const char *const fields[][2] = {
		{"with", "jid-single"},       {"start", "text-single"},
		{"end", "text-single"},       {"after-id", "text-single"},
		{"before-id", "text-single"}, {"ids", "text-multi"},
	};
	struct arena *a = ev->st->arena;
	struct xml_node *r = sm_stanza_result_new(ev->st);
	struct xml_node *query =
		r ? xml_add_child(a, r, NS_MAM, "query") : NULL;
	struct xml_node *x =
		query ? xml_add_child(a, query, NS_DATA, "x") : NULL;
	struct xml_node *f = x ? xml_add_child(a, x, NS_DATA, "field") : NULL;
	struct xml_node *v = f ? xml_add_child(a, f, NS_DATA, "value") : NULL;
	if (!v || xml_set_attr(a, x, "type", "form") < 0 ||
	    xml_set_attr(a, f, "type", "hidden") < 0 ||
	    xml_set_attr(a, f, "var", "FORM_TYPE") < 0 ||
	    xml_append_text(a, v, NS_MAM, strlen(NS_MAM)) < 0)
		return;
	for (size_t i = 0; i < sizeof fields / sizeof *fields; i++)
		if (!(f = xml_add_child(a, x, NS_DATA, "field")) ||
		    xml_set_attr(a, f, "var", fields[i][0]) < 0 ||
		    xml_set_attr(a, f, "type", fields[i][1]) < 0)
			return;
	sm_deliver_xml(ev->sm, r);
}

static enum sm_verdict mam_query_iq(struct sm_event *ev, void *data)
{
	struct stanza *st = ev->st;
	/* Results and errors are never answered (RFC 6120 §8.2.3). */
	if (!xml_is(st->payload, NS_MAM, "query") ||
	    !(sm_stanza_is_type(st, "get") || sm_stanza_is_type(st, "set")))
		return SM_NEXT;
	/* §4: a user queries its own archive; nobody else's. */
	if (!ev->session || !sm_stanza_to_self(st))
		sm_deliver_error(ev->sm, st, "forbidden");
	else if (sm_stanza_is_type(st, "get"))
		mam_query_fields(ev);
	else
		mam_query_start(data, ev);
	return SM_DONE;
}

int mam_query_init(struct mam *mod)
{
	return sm_module_hook(mod->sm, SM_EV_IQ_BARE, NS_MAM, 0, mam_query_iq,
			      mod);
}
