/* muc_send: the muc's way out. A stanza is serialized once; each
 * recipient gets those bytes behind its own 'to', in a frame to the
 * router addressed to the recipient's domain (the sm of a local domain,
 * s2s for the rest). A room's fan-out (muc_fanout_*) sends the
 * occupants of each local domain one FRAME_MULTICAST, which the sm
 * delivers to each; remote occupants get a frame each (s2s sends each
 * its stanza anyway). No round trip: the link batches every frame of
 * one loop iteration into one write.
 *
 * ARCHITECTURE.md §2: when the link is full, frames wait here, encoded,
 * in order, and the muc stops reading from the router until the link
 * drains; past MUC_BACKLOG_MAX they are dropped and counted. */
#include <string.h>

#include "../../lib/link.h"
#include "../../lib/log.h"
#include "../../lib/multicast.h"
#include "muc.h"

int muc_serialize(struct muc *muc, const struct xml_node *xml)
{
	buf_clear(&muc->out);
	if (xml_serialize(xml, XML_NS_CLIENT, &muc->out) < 0) {
		log_error("muc: out of memory serializing a stanza");
		return -1;
	}
	return 0;
}

static void backlog_add(struct muc *muc, const struct frame *f)
{
	if (muc->backlog.len > 0 &&
	    muc->backlog.len + f->payload_len > MUC_BACKLOG_MAX) {
		if (muc->dropped++ == 0)
			log_warn("muc: %zu bytes wait for the router link; "
				 "stanzas past that are dropped",
				 muc->backlog.len);
		return;
	}
	if (frame_encode(&muc->backlog, f) < 0)
		log_error("muc: a frame to %.*s dropped: out of memory",
			  (int)f->to_len, f->to);
}

static int send_frame(struct muc *muc, const struct frame *f)
{
	if (!muc->link)
		return -1;
	if (muc->backlog.len == 0) {
		if (link_send(muc->link, f) == 0)
			return 0;
		if (!link_full(muc->link))
			return -1;
		log_info("muc: the router link is full; frames wait");
		link_pause(muc->link);
	}
	backlog_add(muc, f);
	return 0;
}

/* The domain of a JID, the frame's destination on the router. */
static size_t jid_domain_span(const char *jid, const char **start)
{
	const char *slash = strchr(jid, '/');
	size_t bare = slash ? (size_t)(slash - jid) : strlen(jid);
	const char *at = memchr(jid, '@', bare);
	*start = at ? at + 1 : jid;
	return bare - (size_t)(*start - jid);
}

static int send_payload(struct muc *muc, const char *to, const char *payload,
			size_t len)
{
	struct frame f = {
		.type = FRAME_STANZA, .payload = payload, .payload_len = len};
	f.to_len = jid_domain_span(to, &f.to);
	frame_set_from(&f, muc->name);
	return send_frame(muc, &f);
}

int muc_send_xml(struct muc *muc, const struct xml_node *xml)
{
	const char *to = xml_attr_get(xml, "to");
	if (!to || muc_serialize(muc, xml) < 0)
		return -1;
	return send_payload(muc, to, muc->out.data, muc->out.len);
}

int muc_send_to(struct muc *muc, const char *to, const char *bytes, size_t len)
{
	struct buf *copy = &muc->addressed;
	size_t name = strcspn(bytes, " />");
	buf_clear(copy);
	if (buf_append(copy, bytes, name) < 0 ||
	    buf_append_str(copy, " to=\"") < 0 ||
	    buf_append_xml_escaped(copy, to, strlen(to)) < 0 ||
	    buf_append_str(copy, "\"") < 0 ||
	    buf_append(copy, bytes + name, len - name) < 0) {
		log_error("muc: out of memory sending to %s", to);
		return -1;
	}
	return send_payload(muc, to, copy->data, copy->len);
}

void muc_send_drained(struct muc *muc)
{
	size_t done = 0;
	while (done < muc->backlog.len) {
		struct frame f;
		long n = frame_decode(muc->backlog.data + done,
				      muc->backlog.len - done, &f);
		if (n <= 0 || link_send(muc->link, &f) < 0)
			break;
		done += (size_t)n;
	}
	buf_consume(&muc->backlog, done);
	if (muc->backlog.len == 0) {
		if (muc->dropped)
			log_warn("muc: %llu frames were dropped while the "
				 "router link was full",
				 (unsigned long long)muc->dropped);
		muc->dropped = 0;
		link_resume(muc->link);
	}
}

/* ------------------------------------------------------------ fan-out */

/* Past this many bytes of recipients, a domain's multicast goes and a
 * new one starts (FRAME_MAX_SIZE bounds a frame). */
#define FANOUT_FLUSH_BYTES (256u << 10)

static struct fanout_group *fanout_group(struct muc *muc, const char *domain,
					 size_t len)
{
	struct muc_fanout *fo = &muc->fanout;
	for (size_t i = 0; i < fo->ngroups; i++)
		if (fo->groups[i].domain_len == len &&
		    memcmp(fo->groups[i].domain, domain, len) == 0)
			return &fo->groups[i];
	if (fo->ngroups == CONFIG_MAX_HOSTS)
		return NULL;
	struct fanout_group *g = &fo->groups[fo->ngroups++];
	g->domain = domain;
	g->domain_len = len;
	return multicast_begin(&g->payload) == 0 ? g : NULL;
}

static void fanout_flush(struct muc *muc, struct fanout_group *g)
{
	struct muc_fanout *fo = &muc->fanout;
	if (multicast_count(&g->payload) == 0)
		return;
	if (multicast_finish(&g->payload, fo->bytes, fo->len) < 0) {
		log_error("muc: out of memory sending to %.*s",
			  (int)g->domain_len, g->domain);
		return;
	}
	struct frame f = {.type = FRAME_MULTICAST,
			  .to = g->domain,
			  .to_len = g->domain_len,
			  .payload = g->payload.data,
			  .payload_len = g->payload.len};
	frame_set_from(&f, muc->name);
	send_frame(muc, &f);
	multicast_begin(&g->payload);
}

void muc_fanout_begin(struct muc *muc, const char *bytes, size_t len)
{
	muc->fanout.bytes = bytes;
	muc->fanout.len = len;
	muc->fanout.ngroups = 0;
}

void muc_fanout_add(struct muc *muc, const char *to, bool local)
{
	struct muc_fanout *fo = &muc->fanout;
	const char *domain;
	size_t len = jid_domain_span(to, &domain);
	struct fanout_group *g = local ? fanout_group(muc, domain, len) : NULL;
	if (!g || multicast_add(&g->payload, to) < 0) {
		muc_send_to(muc, to, fo->bytes, fo->len);
		return;
	}
	if (g->payload.len >= FANOUT_FLUSH_BYTES)
		fanout_flush(muc, g);
}

void muc_fanout_end(struct muc *muc)
{
	for (size_t i = 0; i < muc->fanout.ngroups; i++)
		fanout_flush(muc, &muc->fanout.groups[i]);
	muc->fanout.ngroups = 0;
}

void muc_fanout_free(struct muc *muc)
{
	for (size_t i = 0; i < CONFIG_MAX_HOSTS; i++)
		buf_free(&muc->fanout.groups[i].payload);
}
