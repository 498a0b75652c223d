/* frame: encoding and strict decoding of the router's binary frames
 * (wire format in frame.h). */
#include "frame.h"

#include <string.h>

const char *frame_type_name(unsigned type)
{
	static const char *const names[FRAME_TYPE_MAX] = {
		[FRAME_HELLO] = "HELLO",
		[FRAME_AUTH] = "AUTH",
		[FRAME_AUTH_OK] = "AUTH_OK",
		[FRAME_BIND] = "BIND",
		[FRAME_BIND_OK] = "BIND_OK",
		[FRAME_BIND_FAIL] = "BIND_FAIL",
		[FRAME_UNBOUND] = "UNBOUND",
		[FRAME_STANZA] = "STANZA",
		[FRAME_MULTICAST] = "MULTICAST",
		[FRAME_SESSION_START] = "SESSION_START",
		[FRAME_SESSION_OK] = "SESSION_OK",
		[FRAME_SESSION_END] = "SESSION_END",
		[FRAME_NO_ROUTE] = "NO_ROUTE",
	};
	return type < FRAME_TYPE_MAX && names[type] ? names[type] : "unknown";
}

static void put_u32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

static void put_u64(unsigned char *p, uint64_t v)
{
	put_u32(p, (uint32_t)(v >> 32));
	put_u32(p + 4, (uint32_t)v);
}

static uint64_t get_u64(const unsigned char *p)
{
	return (uint64_t)get_u32(p) << 32 | get_u32(p + 4);
}

int frame_encode(struct buf *out, const struct frame *f)
{
	if (f->to_len > FRAME_NAME_MAX || f->from_len > FRAME_NAME_MAX)
		return -1;
	if (f->payload_len > FRAME_MAX_SIZE)
		return -1;
	size_t total =
		FRAME_HEADER_SIZE + f->to_len + f->from_len + f->payload_len;
	if (total > FRAME_MAX_SIZE)
		return -1;
	if (buf_reserve(out, total) < 0)
		return -1;

	unsigned char *p = (unsigned char *)out->data + out->len;
	put_u32(p, (uint32_t)total);
	p[4] = FRAME_VERSION;
	p[5] = f->type;
	p[6] = (unsigned char)f->to_len;
	p[7] = (unsigned char)f->from_len;
	p[8] = f->flags;
	p[9] = p[10] = p[11] = 0;
	put_u64(p + 12, f->conn);
	p += FRAME_HEADER_SIZE;
	if (f->to_len)
		memcpy(p, f->to, f->to_len);
	p += f->to_len;
	if (f->from_len)
		memcpy(p, f->from, f->from_len);
	p += f->from_len;
	if (f->payload_len)
		memcpy(p, f->payload, f->payload_len);
	out->len += total;
	out->data[out->len] = '\0';
	return 0;
}

long frame_decode(const char *bytes, size_t len, struct frame *f)
{
	const unsigned char *p = (const unsigned char *)bytes;
	/* Check what the bytes already show, so that garbage is refused
	 * as soon as it arrives rather than after 4 MiB of waiting. */
	if (len >= 4) {
		uint32_t total = get_u32(p);
		if (total < FRAME_HEADER_SIZE || total > FRAME_MAX_SIZE)
			return -1;
	}
	if (len >= 5 && p[4] != FRAME_VERSION)
		return -1;
	if (len >= 6 && (p[5] == 0 || p[5] >= FRAME_TYPE_MAX))
		return -1;
	if (len < FRAME_HEADER_SIZE)
		return 0;

	uint32_t total = get_u32(p);
	size_t names = (size_t)p[6] + p[7];
	if (total < FRAME_HEADER_SIZE + names)
		return -1;
	if (len < total)
		return 0;

	f->type = p[5];
	f->flags = p[8];
	f->conn = get_u64(p + 12);
	f->to = bytes + FRAME_HEADER_SIZE;
	f->to_len = p[6];
	f->from = f->to + f->to_len;
	f->from_len = p[7];
	f->payload = f->from + f->from_len;
	f->payload_len = total - FRAME_HEADER_SIZE - names;
	return (long)total;
}

void frame_set_to(struct frame *f, const char *to)
{
	f->to = to;
	f->to_len = to ? strlen(to) : 0;
}

void frame_set_from(struct frame *f, const char *from)
{
	f->from = from;
	f->from_len = from ? strlen(from) : 0;
}

int frame_name_equals(const char *name, size_t len, const char *s)
{
	size_t n = strlen(s);
	return n == len && (len == 0 || memcmp(name, s, len) == 0);
}
