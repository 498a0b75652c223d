/* fuzz_frame: the router link's frames (lib/frame.c), as a link reads
 * them from a socket: frame after frame from one buffer. A frame decoded
 * must lie within the bytes, encode back to the same bytes (the reserved
 * ones aside), and every shorter prefix of it must read as "more bytes
 * needed", never as another frame or as garbage. */
#include <string.h>

#include "../../lib/frame.h"
#include "fuzz.h"

/* Bytes 9 to 11 of the header are reserved: encoded as zero, not read. */
static void check_encoding(const char *bytes, long len, const struct frame *f)
{
	struct buf out = BUF_INIT;
	FUZZ_CHECK(frame_encode(&out, f) == 0,
		   "a decoded frame cannot be encoded");
	FUZZ_CHECK(out.len == (size_t)len, "encoded in %zu bytes, not %ld",
		   out.len, len);
	FUZZ_CHECK(memcmp(out.data, bytes, 9) == 0 &&
			   memcmp(out.data + 12, bytes + 12,
				  (size_t)len - 12) == 0,
		   "encoded differently");
	buf_free(&out);
}

static void check_prefixes(const char *bytes, long len)
{
	struct frame f;
	for (long n = 0; n < len; n++)
		FUZZ_CHECK(frame_decode(bytes, (size_t)n, &f) == 0,
			   "a prefix of %ld bytes of a %ld-byte frame reads "
			   "as something",
			   n, len);
}

static void check_frame(const char *bytes, size_t size, long len,
			const struct frame *f)
{
	FUZZ_CHECK((size_t)len <= size && len >= FRAME_HEADER_SIZE,
		   "length %ld of %zu bytes", len, size);
	FUZZ_CHECK(f->type > 0 && f->type < FRAME_TYPE_MAX, "type %u", f->type);
	FUZZ_CHECK(f->to == bytes + FRAME_HEADER_SIZE &&
			   f->from == f->to + f->to_len &&
			   f->payload == f->from + f->from_len &&
			   f->payload + f->payload_len == bytes + len,
		   "the parts do not tile the frame");
	check_encoding(bytes, len, f);
	check_prefixes(bytes, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *bytes = (const char *)data;
	struct frame f;
	long len;
	while (size > 0 && (len = frame_decode(bytes, size, &f)) > 0) {
		check_frame(bytes, size, len, &f);
		bytes += len;
		size -= (size_t)len;
	}
	return 0;
}
