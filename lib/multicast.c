/* multicast: FRAME_MULTICAST's payload (multicast.h). */
#include "multicast.h"

#include <string.h>

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

int multicast_begin(struct buf *out)
{
	static const unsigned char zero[4];
	buf_clear(out);
	return buf_append(out, zero, sizeof zero);
}

uint32_t multicast_count(const struct buf *out)
{
	return out->len >= 4 ? get_u32((const unsigned char *)out->data) : 0;
}

int multicast_add(struct buf *out, const char *jid)
{
	if (buf_append(out, jid, strlen(jid) + 1) < 0)
		return -1;
	put_u32((unsigned char *)out->data, multicast_count(out) + 1);
	return 0;
}

int multicast_finish(struct buf *out, const char *stanza, size_t len)
{
	return buf_append(out, stanza, len);
}

int multicast_read(struct multicast_reader *r, const char *payload, size_t len)
{
	if (len < 4)
		return -1;
	r->left = get_u32((const unsigned char *)payload);
	r->next = payload + 4;
	const char *p = r->next, *end = payload + len;
	for (uint32_t i = 0; i < r->left; i++) {
		const char *nul = memchr(p, '\0', (size_t)(end - p));
		if (!nul || nul == p)
			return -1;
		p = nul + 1;
	}
	if (p == end)
		return -1;
	r->stanza = p;
	r->stanza_len = (size_t)(end - p);
	return 0;
}

const char *multicast_next(struct multicast_reader *r)
{
	if (r->left == 0)
		return NULL;
	const char *jid = r->next;
	r->next += strlen(jid) + 1;
	r->left--;
	return jid;
}
