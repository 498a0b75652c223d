/* history: the discussion history a room keeps for newcomers (XEP-0045
 * §7.2.15): the last config.history messages, as broadcast, in a ring,
 * each sent with a XEP-0203 <delay/> saying when the room got it.
 * What a newcomer gets is bounded by its <history/> (maxchars,
 * maxstanzas, seconds, since), §7.2.15. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../lib/log.h"
#include "muc.h"

void muc_history_free(struct room *room)
{
	for (unsigned i = 0; i < room->history_count; i++)
		free(room->history[(room->history_start + i) %
				   room->history_cap]
			     .bytes);
	free(room->history);
	room->history = NULL;
	room->history_start = room->history_count = room->history_cap = 0;
}

/* Makes the ring hold config.history entries, keeping the newest. */
int muc_history_fit(struct room *room)
{
	unsigned cap = room->config.history;
	if (cap == room->history_cap)
		return 0;
	struct history_entry *ring = cap ? calloc(cap, sizeof *ring) : NULL;
	if (cap && !ring)
		return -1;
	unsigned keep = room->history_count < cap ? room->history_count : cap;
	unsigned drop = room->history_count - keep;
	for (unsigned i = 0; i < room->history_count; i++) {
		struct history_entry *e =
			&room->history[(room->history_start + i) %
				       room->history_cap];
		if (i < drop)
			free(e->bytes);
		else
			ring[i - drop] = *e;
	}
	free(room->history);
	room->history = ring;
	room->history_cap = cap;
	room->history_start = 0;
	room->history_count = keep;
	return 0;
}

int muc_history_add(struct room *room, const char *bytes, size_t len)
{
	if (muc_history_fit(room) < 0 || room->history_cap == 0)
		return -1;
	char *copy = malloc(len);
	if (!copy)
		return -1;
	memcpy(copy, bytes, len);
	struct history_entry *e;
	if (room->history_count == room->history_cap) {
		e = &room->history[room->history_start];
		free(e->bytes);
		room->history_start =
			(room->history_start + 1) % room->history_cap;
	} else {
		e = &room->history[(room->history_start +
				    room->history_count++) %
				   room->history_cap];
	}
	e->bytes = copy;
	e->len = len;
	e->stamp = time(NULL);
	return 0;
}

int muc_history_add_older(struct room *room, const char *bytes, size_t len,
			  time_t stamp)
{
	if (muc_history_fit(room) < 0 ||
	    room->history_count == room->history_cap)
		return -1;
	char *copy = malloc(len);
	if (!copy)
		return -1;
	memcpy(copy, bytes, len);
	room->history_start = (room->history_start + room->history_cap - 1) %
			      room->history_cap;
	room->history_count++;
	room->history[room->history_start] =
		(struct history_entry){copy, len, stamp};
	return 0;
}

/* §7.2.15's limits, from the join's <history/>; absent: everything
 * the room keeps. */
struct history_limits {
	long maxchars, maxstanzas;
	time_t since; /* 0: none */
};

static long attr_number(const struct xml_node *n, const char *name)
{
	const char *v = n ? xml_attr_get(n, name) : NULL;
	char *end;
	if (!v || !*v)
		return -1;
	long x = strtol(v, &end, 10);
	return *end || x < 0 ? -1 : x;
}

static time_t parse_datetime(const char *s)
{
	struct tm tm = {0};
	const char *end = s ? strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
	if (!end)
		return 0;
	return timegm(&tm);
}

static struct history_limits history_limits(const struct xml_node *join)
{
	struct xml_node *h = join ? xml_child(join, NS_MUC, "history") : NULL;
	struct history_limits lim = {
		.maxchars = attr_number(h, "maxchars"),
		.maxstanzas = attr_number(h, "maxstanzas"),
	};
	long seconds = attr_number(h, "seconds");
	if (seconds >= 0)
		lim.since = time(NULL) - seconds;
	time_t since = parse_datetime(h ? xml_attr_get(h, "since") : NULL);
	if (since > lim.since)
		lim.since = since;
	return lim;
}

/* One history message: the bytes as broadcast with a <delay/> before
 * the closing tag (XEP-0203, from the room). */
static void history_send_one(struct occupant *o, const struct history_entry *e)
{
	struct muc *muc = o->room->muc;
	char stamp[SM_DATETIME_SIZE];
	const char *close = "</message>";
	size_t head = e->len - strlen(close);
	sm_stanza_datetime(e->stamp, stamp);
	struct buf *b = &muc->out;
	buf_clear(b);
	if (e->len < strlen(close) ||
	    memcmp(e->bytes + head, close, strlen(close)) != 0 ||
	    buf_append(b, e->bytes, head) < 0 ||
	    buf_printf(b, "<delay xmlns=\"" NS_DELAY "\" stamp=\"%s\" from=\"",
		       stamp) < 0 ||
	    buf_append_xml_escaped(b, o->room->jid, strlen(o->room->jid)) < 0 ||
	    buf_append_str(b, "\"/></message>") < 0)
		return;
	muc_send_to(muc, o->jid, b->data, b->len);
}

void muc_history_send(struct occupant *o, const struct xml_node *join)
{
	struct room *room = o->room;
	struct history_limits lim = history_limits(join);
	/* From the newest back, as far as the limits allow; then sent in
	 * order, oldest first. */
	unsigned first = room->history_count;
	long chars = 0;
	while (first > 0) {
		const struct history_entry *e =
			&room->history[(room->history_start + first - 1) %
				       room->history_cap];
		if (lim.maxstanzas >= 0 &&
		    (long)(room->history_count - first) >= lim.maxstanzas)
			break;
		if (lim.maxchars >= 0 && chars + (long)e->len > lim.maxchars)
			break;
		if (lim.since && e->stamp < lim.since)
			break;
		chars += (long)e->len;
		first--;
	}
	for (unsigned i = first; i < room->history_count; i++)
		history_send_one(o, &room->history[(room->history_start + i) %
						   room->history_cap]);
}
