/* avatar_image: what an image is, from its first bytes (avatar.h). */
#include <string.h>

#include "avatar.h"

/* PNG (ISO/IEC 15948 §5.2): the signature, then the IHDR chunk: its
 * length (4 bytes), "IHDR", width and height as 4-byte big-endian. */
static void probe_png(const unsigned char *d, size_t len,
		      struct avatar_image *out)
{
	out->type = "image/png";
	if (len < 24 || memcmp(d + 12, "IHDR", 4) != 0)
		return;
	out->width = (unsigned)d[16] << 24 | (unsigned)d[17] << 16 |
		     (unsigned)d[18] << 8 | d[19];
	out->height = (unsigned)d[20] << 24 | (unsigned)d[21] << 16 |
		      (unsigned)d[22] << 8 | d[23];
}

/* GIF89a §18: the logical screen's width and height, 2 bytes each,
 * little-endian, after the 6-byte header. */
static void probe_gif(const unsigned char *d, size_t len,
		      struct avatar_image *out)
{
	out->type = "image/gif";
	if (len < 10)
		return;
	out->width = d[6] | (unsigned)d[7] << 8;
	out->height = d[8] | (unsigned)d[9] << 8;
}

void avatar_image_probe(const unsigned char *data, size_t len,
			struct avatar_image *out)
{
	*out = (struct avatar_image){0};
	if (len >= 8 && memcmp(data, "\x89PNG\r\n\x1a\n", 8) == 0)
		probe_png(data, len, out);
	else if (len >= 6 && (memcmp(data, "GIF87a", 6) == 0 ||
			      memcmp(data, "GIF89a", 6) == 0))
		probe_gif(data, len, out);
	else if (len >= 3 && memcmp(data, "\xff\xd8\xff", 3) == 0)
		out->type = "image/jpeg"; /* its size is in a later SOF */
	else if (len >= 12 && memcmp(data, "RIFF", 4) == 0 &&
		 memcmp(data + 8, "WEBP", 4) == 0)
		out->type = "image/webp";
}
