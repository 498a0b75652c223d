/* avatar: what an image's first bytes tell (avatar_image.c), and the
 * XEP-0398 conversion (avatar_convert.c) on a real storage: a PEP
 * avatar becomes the vCard's PHOTO, a vCard's PHOTO the PEP avatar, and
 * neither comes back as the other's change. */
#include <check.h>
#include <string.h>

#include "../../server/sm/avatar.h"
#include "../../server/sm/pep.h"
#include "../../server/sm/vcard.h"
#include "sm_harness.h"
#include "unit.h"

/* ------------------------------------------------------------ images */

/* A PNG of 2 x 3 pixels, and its SHA-1. */
#define PNG_B64                                                                \
	"iVBORw0KGgoAAAANSUhEUgAAAAIAAAADCAIAAAA2iEnWAAAAD0lEQVR4nGNgYPgPRsgU" \
	"ADjcBftBwbf8AAAAAElFTkSuQmCC"
#define PNG_SHA1 "8e959c031d713c66ae3c56cfdb24e86b9404d893"

START_TEST(image_types_and_sizes)
{
	struct avatar_image im;
	const unsigned char png[24] = "\x89PNG\r\n\x1a\n\0\0\0\rIHDR"
				      "\0\0\x01\x00\0\0\0\x30";
	avatar_image_probe(png, sizeof png, &im);
	ck_assert_str_eq(im.type, "image/png");
	ck_assert_uint_eq(im.width, 256);
	ck_assert_uint_eq(im.height, 48);
	/* Cut before IHDR's size: the type alone. */
	avatar_image_probe(png, 20, &im);
	ck_assert_str_eq(im.type, "image/png");
	ck_assert_uint_eq(im.width, 0);
	avatar_image_probe((const unsigned char *)"GIF89a\x40\x01\x20\x00", 10,
			   &im);
	ck_assert_str_eq(im.type, "image/gif");
	ck_assert_uint_eq(im.width, 320);
	ck_assert_uint_eq(im.height, 32);
	avatar_image_probe((const unsigned char *)"\xff\xd8\xff\xe0", 4, &im);
	ck_assert_str_eq(im.type, "image/jpeg");
	ck_assert_uint_eq(im.width, 0);
	avatar_image_probe((const unsigned char *)"RIFF\0\0\0\0WEBPVP8 ", 16,
			   &im);
	ck_assert_str_eq(im.type, "image/webp");
	avatar_image_probe((const unsigned char *)"hello", 5, &im);
	ck_assert_ptr_null(im.type);
	avatar_image_probe(png, 0, &im);
	ck_assert_ptr_null(im.type);
}
END_TEST

/* ------------------------------------------------------------ conversion */

static char *hosts[] = {"localhost"};
static char *modules_on[] = {"roster",         "presence", "caps",
			     "avatar_convert", "pep",      "vcard"};

/* The publishes to each avatar node, as pep's listeners hear them. */
static int heard_data, heard_metadata;

static void heard(struct sm *s, const char *owner, const char *node,
		  const char *id, const struct xml_node *item, void *data)
{
	(void)s, (void)owner, (void)id, (void)item, (void)data;
	if (strcmp(node, NS_AVATAR_DATA) == 0)
		heard_data++;
	else
		heard_metadata++;
}

static void setup(void)
{
	make_temp_store("avatar");
	/* avatar_convert before pep and vcard: .started, not the order,
	 * lets it find them. */
	config_reset(hosts, 1, modules_on, 6);
	start_sm();
	bind_session(1, "juliet@localhost/balcony");
	heard_data = heard_metadata = 0;
	ck_assert_int_eq(pep_listen(&sm, NS_AVATAR_DATA, heard, NULL), 0);
	ck_assert_int_eq(pep_listen(&sm, NS_AVATAR_METADATA, heard, NULL), 0);
}

static void teardown(void)
{
	teardown_stored_sm();
}

static void publish(const char *node, const char *payload)
{
	char xml[1024];
	snprintf(xml, sizeof xml,
		 "<iq type='set' id='p'><pubsub "
		 "xmlns='http://jabber.org/protocol/pubsub'><publish "
		 "node='%s'><item id='" PNG_SHA1 "'>%s</item></publish>"
		 "</pubsub></iq>",
		 node, payload);
	client_sends(1, xml);
	settle();
}

START_TEST(pep_avatar_becomes_the_vcard_photo)
{
	publish(NS_AVATAR_DATA,
		"<data xmlns='" NS_AVATAR_DATA "'>" PNG_B64 "</data>");
	publish(NS_AVATAR_METADATA,
		"<metadata xmlns='" NS_AVATAR_METADATA "'><info bytes='72' "
		"id='" PNG_SHA1 "' type='image/png'/></metadata>");
	struct stored *vc = load_stored("juliet@localhost", "vcard");
	ck_assert_uint_eq(vc->count, 2);
	ck_assert_str_eq(vc->keys[0], "photo");
	ck_assert_str_eq(vc->values[0], PNG_SHA1);
	ck_assert_ptr_nonnull(strstr(vc->values[1], "<BINVAL>" PNG_B64));
	ck_assert_ptr_nonnull(strstr(vc->values[1], "<TYPE>image/png"));
	/* The client's publishes only: the vCard written is not
	 * published back. */
	ck_assert_int_eq(heard_data, 1);
	ck_assert_int_eq(heard_metadata, 1);
	/* Empty metadata: the PHOTO goes, and the vCard with it (it held
	 * nothing else). */
	publish(NS_AVATAR_METADATA,
		"<metadata xmlns='" NS_AVATAR_METADATA "'/>");
	ck_assert_uint_eq(load_stored("juliet@localhost", "vcard")->count, 0);
}
END_TEST

START_TEST(data_not_matching_its_id_is_not_converted)
{
	publish(NS_AVATAR_DATA,
		"<data xmlns='" NS_AVATAR_DATA "'>aGVsbG8=</data>");
	publish(NS_AVATAR_METADATA,
		"<metadata xmlns='" NS_AVATAR_METADATA "'><info bytes='5' "
		"id='" PNG_SHA1 "' type='image/png'/></metadata>");
	ck_assert_uint_eq(load_stored("juliet@localhost", "vcard")->count, 0);
}
END_TEST

START_TEST(vcard_photo_becomes_the_pep_avatar)
{
	client_sends(1, "<iq type='set' id='v'><vCard xmlns='vcard-temp'>"
			"<FN>Juliet</FN><PHOTO><TYPE>image/png</TYPE><BINVAL>"
			"\n" PNG_B64 "\n</BINVAL></PHOTO></vCard></iq>");
	settle();
	/* The data, then the metadata, once each. */
	ck_assert_int_eq(heard_data, 1);
	ck_assert_int_eq(heard_metadata, 1);
	struct stored *data =
		load_stored("juliet@localhost", "pep:" NS_AVATAR_DATA);
	ck_assert_uint_eq(data->count, 1);
	ck_assert_str_eq(data->keys[0], PNG_SHA1);
	ck_assert_ptr_nonnull(strstr(data->values[0], ">" PNG_B64 "</data>"));
	struct stored *md =
		load_stored("juliet@localhost", "pep:" NS_AVATAR_METADATA);
	ck_assert_uint_eq(md->count, 1);
	ck_assert_ptr_nonnull(strstr(md->values[0], "bytes='72'"));
	ck_assert_ptr_nonnull(strstr(md->values[0], "width='2'"));
	ck_assert_ptr_nonnull(strstr(md->values[0], "height='3'"));
	ck_assert_ptr_nonnull(strstr(md->values[0], "type='image/png'"));
	/* The same photo again: the metadata says it already. */
	client_sends(1, "<iq type='set' id='v'><vCard xmlns='vcard-temp'>"
			"<FN>Juliet C.</FN><PHOTO><TYPE>image/png</TYPE>"
			"<BINVAL>" PNG_B64 "</BINVAL></PHOTO></vCard></iq>");
	settle();
	ck_assert_int_eq(heard_metadata, 1);
	/* Without PHOTO: an empty <metadata/>. */
	client_sends(1, "<iq type='set' id='v'><vCard xmlns='vcard-temp'>"
			"<FN>Juliet</FN></vCard></iq>");
	settle();
	ck_assert_int_eq(heard_metadata, 2);
	ck_assert_int_eq(heard_data, 1);
	md = load_stored("juliet@localhost", "pep:" NS_AVATAR_METADATA);
	ck_assert_uint_eq(md->count, 1);
	ck_assert_ptr_null(strstr(md->values[0], "<info"));
	ck_assert_ptr_nonnull(strstr(md->values[0], "<metadata"));
}
END_TEST

static int put_calls;
static void put_done(struct sm *s, void *ctx, const char *error)
{
	(void)s, (void)ctx;
	ck_assert_ptr_null(error);
	put_calls++;
}

START_TEST(a_set_during_a_photo_put_is_kept)
{
	/* The put's read is in flight when the user's set is written: the
	 * put reads again, and keeps what the set wrote. */
	put_calls = 0;
	ck_assert_int_eq(sm_vcard_photo_put(&sm, "juliet@localhost",
					    "image/png", PNG_B64, PNG_SHA1,
					    put_done, NULL),
			 0);
	client_sends(1, "<iq type='set' id='v'><vCard xmlns='vcard-temp'>"
			"<FN>Juliet</FN></vCard></iq>");
	settle();
	ck_assert_int_eq(put_calls, 1);
	struct stored *vc = load_stored("juliet@localhost", "vcard");
	ck_assert_uint_eq(vc->count, 2);
	ck_assert_str_eq(vc->values[0], PNG_SHA1);
	ck_assert_ptr_nonnull(strstr(vc->values[1], "<FN>Juliet</FN>"));
	ck_assert_ptr_nonnull(strstr(vc->values[1], "<BINVAL>" PNG_B64));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("avatar");
	TCase *tc = tcase_create("image");
	tcase_add_test(tc, image_types_and_sizes);
	suite_add_tcase(s, tc);
	tc = tcase_create("conversion");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, pep_avatar_becomes_the_vcard_photo);
	tcase_add_test(tc, data_not_matching_its_id_is_not_converted);
	tcase_add_test(tc, vcard_photo_becomes_the_pep_avatar);
	tcase_add_test(tc, a_set_during_a_photo_put_is_kept);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
