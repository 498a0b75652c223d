/* archive_read: an archive query as a storage_archive_query
 * (XEP-0313 §4.1's form with #extended's fields, XEP-0059's <set/>),
 * and which messages an archive keeps (§5.1.1). For the sm's and the
 * muc's archives alike (archive_query.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/jid.h"
#include "archive_query.h"

#define NS_XDATA "jabber:x:data"
#define NS_MUC_USER "http://jabber.org/protocol/muc#user"
#define MAM_IDS_MAX STORAGE_ARCHIVE_PAGE_MAX

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
	for (const struct xml_node *f = xml_child(form, NS_XDATA, "field"); f;
	     f = xml_next(f, NS_XDATA, "field")) {
		const char *name = xml_attr_get(f, "var");
		if (!name || strcmp(name, var) != 0)
			continue;
		for (const struct xml_node *v = xml_child(f, NS_XDATA, "value");
		     v; v = xml_next(v, NS_XDATA, "value")) {
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

/* ------------------------------------------------------------ the query */

const char *mam_request_read(struct arena *a, const struct xml_node *query,
			     struct mam_request *r)
{
	const struct xml_node *x = xml_child(query, NS_XDATA, "x");
	const struct xml_node *set = xml_child(query, NS_RSM, "set");
	*r = (struct mam_request){.q = {.start = INT64_MIN,
					.end = INT64_MAX,
					.max = MAM_PAGE_DEFAULT}};
	/* §4: a node is for pubsub archives; a user's or a room's has
	 * none. */
	if (xml_attr_get(query, "node"))
		return "item-not-found";
	const char *cond = x ? mam_read_form(a, x, &r->q) : NULL;
	if (!cond && set)
		cond = mam_read_set(a, set, &r->q);
	if (cond)
		return cond;
	r->queryid = xml_attr_get(query, "queryid");
	r->flip = xml_child(query, NS_MAM, "flip-page") != NULL;
	/* XEP-0059 §2.7's <max>0</max>: no item; a page of one still
	 * tells whether there are any (complete). */
	r->none = r->q.max == 0;
	if (r->none)
		r->q.max = 1;
	return NULL;
}

const char *mam_status_condition(enum storage_status status)
{
	switch (status) {
	case STORAGE_OK:
		return NULL;
	case STORAGE_NOT_FOUND:
		return "item-not-found";
	default:
		return "internal-server-error";
	}
}

/* ------------------------------------------------------------ policy */

/* Payloads kept without a body: encrypted messages (OMEMO's old and new
 * namespaces, XEP-0380's hint), direct invitations (XEP-0249), Jingle
 * Message Initiation (XEP-0353: a missed call shows after
 * reconnecting). */
static const char *const mam_kept_namespaces[] = {
	"eu.siacs.conversations.axolotl",
	"urn:xmpp:omemo:2",
	"urn:xmpp:eme:0",
	"jabber:x:conference",
	"urn:xmpp:jingle-message:0",
	"urn:xmpp:jingle-message:1",
	NULL,
};

static bool mam_kept_child(const struct xml_node *m, const struct xml_node *c)
{
	if (xml_is(c, m->ns, "body") || xml_is(c, m->ns, "subject"))
		return true;
	/* A mediated invitation (XEP-0045 §7.8.2); not the bare <x/>
	 * every private message of a room carries (§7.5), nor a status
	 * code. */
	if (xml_is(c, NS_MUC_USER, "x"))
		return xml_child(c, NS_MUC_USER, "invite") != NULL;
	for (const char *const *ns = mam_kept_namespaces; *ns; ns++)
		if (strcmp(c->ns, *ns) == 0)
			return true;
	return false;
}

/* XEP-0334 §4: <no-store/> and <no-permanent-store/> keep it out,
 * <store/> in. Chat states alone (XEP-0085) are not kept. */
bool mam_worth_keeping(const struct xml_node *m)
{
	if (xml_child(m, NS_HINTS, "no-store") ||
	    xml_child(m, NS_HINTS, "no-permanent-store"))
		return false;
	if (xml_child(m, NS_HINTS, "store"))
		return true;
	for (const struct xml_node *c = xml_child(m, NULL, NULL); c;
	     c = xml_next(c, NULL, NULL))
		if (mam_kept_child(m, c))
			return true;
	return false;
}
