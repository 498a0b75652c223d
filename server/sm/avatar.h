/* avatar: XEP-0398, the conversion between User Avatars (XEP-0084, in
 * PEP) and vCard-Based Avatars (XEP-0153), in two files:
 * - avatar_convert.c, the module: it hears the metadata a user
 *   publishes (pep_listen) and the vCards a user sets
 *   (sm_vcard_listen), and writes the other side;
 * - avatar_image.c, pure: what an image is (its type, its size in
 *   pixels) from its first bytes, for the metadata's <info/>. */
#ifndef PALABRE_SM_AVATAR_H
#define PALABRE_SM_AVATAR_H

#include <stddef.h>

#define NS_AVATAR_DATA "urn:xmpp:avatar:data"
#define NS_AVATAR_METADATA "urn:xmpp:avatar:metadata"
#define NS_PEP_VCARD_CONVERSION "urn:xmpp:pep-vcard-conversion:0"

/* What the bytes of an image tell without decoding it. */
struct avatar_image {
	const char *type;       /* "image/png" … ; NULL: not known */
	unsigned width, height; /* 0: not known */
};

/* The type of PNG, JPEG, GIF and WebP images from their signature, and
 * the width and height of a PNG (its IHDR chunk, which PNG puts first)
 * and of a GIF (its logical screen). */
void avatar_image_probe(const unsigned char *data, size_t len,
			struct avatar_image *out);

#endif
