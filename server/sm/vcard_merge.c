/* vcard_merge: what a directory owns of a vCard, and the photo's hash.
 *
 * The unit is a top-level element of the vCard: the directory owns an
 * element in which one of the fields its map fills lives (the map, not
 * the entry, decides: an element stays the directory's when the entry
 * has no value for it), so that what a user sees never depends on which
 * attributes an entry happens to hold. Everything else (PHOTO, BDAY,
 * ADR, a NICKNAME the map leaves out …) is the user's. */
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>

#include "../../lib/base64.h"
#include "vcard.h"

/* The top-level element in which each field lives. */
static const char *const field_element[SM_VCARD_NFIELDS] = {
	[SM_VCARD_FN] = "FN",
	[SM_VCARD_GIVEN] = "N",
	[SM_VCARD_FAMILY] = "N",
	[SM_VCARD_MIDDLE] = "N",
	[SM_VCARD_NICKNAME] = "NICKNAME",
	[SM_VCARD_EMAIL] = "EMAIL",
	[SM_VCARD_TEL] = "TEL",
	[SM_VCARD_MOBILE] = "TEL",
	[SM_VCARD_ORGNAME] = "ORG",
	[SM_VCARD_ORGUNIT] = "ORG",
	[SM_VCARD_TITLE] = "TITLE",
	[SM_VCARD_ROLE] = "ROLE",
	[SM_VCARD_URL] = "URL",
	[SM_VCARD_DESC] = "DESC",
};

bool sm_vcard_owned(const struct sm_vcard_map *map, const char *name)
{
	if (!map)
		return false;
	if (strcmp(name, "JABBERID") == 0)
		return true;
	for (size_t f = 0; f < SM_VCARD_NFIELDS; f++)
		if (map->attrs[f] && strcmp(field_element[f], name) == 0)
			return true;
	return false;
}

static bool element_owned(const struct sm_vcard_map *map,
			  const struct xml_node *n)
{
	return n->name && strcmp(n->ns, NS_VCARD) == 0 &&
	       sm_vcard_owned(map, n->name);
}

/* ------------------------------------------------------------ values */

/* A value: a leaf element's text without the spaces around it. */
struct leaf {
	const char *path;
	const char *text;
	size_t len;
};

typedef bool (*leaf_fn)(const struct leaf *l, void *data);

/* Calls fn on each leaf under n that holds text, its path ("N/GIVEN")
 * written after path[0..at). Returns false when fn stopped. */
static bool leaves_walk(struct arena *a, const struct xml_node *n, char *path,
			size_t size, size_t at, leaf_fn fn, void *data)
{
	int w = snprintf(path + at, size - at, "%s%s", at ? "/" : "", n->name);
	if (w < 0 || (size_t)w >= size - at)
		return true; /* deeper than any vCard field: not a value */
	at += (size_t)w;
	bool leaf = true;
	for (const struct xml_node *c = xml_child(n, NULL, NULL); c;
	     c = xml_next(c, NULL, NULL)) {
		leaf = false;
		if (!leaves_walk(a, c, path, size, at, fn, data))
			return false;
	}
	const char *t = leaf ? xml_text(a, n) : NULL;
	if (!t)
		return true;
	size_t len = strlen(t);
	while (len && strchr(" \t\r\n", t[len - 1]))
		len--;
	while (len && strchr(" \t\r\n", *t)) {
		t++;
		len--;
	}
	struct leaf l = {path, t, len};
	return !len || fn(&l, data);
}

struct leaf_search {
	const struct leaf *wanted;
	bool found;
};

static bool leaf_match(const struct leaf *l, void *data)
{
	struct leaf_search *s = data;
	s->found = strcmp(l->path, s->wanted->path) == 0 &&
		   l->len == s->wanted->len &&
		   memcmp(l->text, s->wanted->text, l->len) == 0;
	return !s->found;
}

struct change_search {
	struct arena *a;
	const struct xml_node *dir;
	char *field;
	size_t len;
	bool changed;
};

/* Whether the directory's vCard holds value l; stops (false) at the
 * first it does not, with its path in field. */
static bool leaf_known(const struct leaf *l, void *data)
{
	struct change_search *s = data;
	struct leaf_search in = {l, false};
	char path[64];
	for (const struct xml_node *c = xml_child(s->dir, NS_VCARD, NULL);
	     c && !in.found; c = xml_next(c, NS_VCARD, NULL))
		leaves_walk(s->a, c, path, sizeof path, 0, leaf_match, &in);
	if (in.found)
		return true;
	snprintf(s->field, s->len, "%s", l->path);
	s->changed = true;
	return false;
}

const char *sm_vcard_directory_change(struct arena *a,
				      const struct sm_vcard_map *map,
				      const struct xml_node *set,
				      const struct xml_node *dir, char *field,
				      size_t len)
{
	struct change_search s = {a, dir, field, len, false};
	char path[64];
	for (const struct xml_node *c = xml_child(set, NULL, NULL);
	     c && !s.changed; c = xml_next(c, NULL, NULL))
		if (element_owned(map, c))
			leaves_walk(a, c, path, sizeof path, 0, leaf_known, &s);
	return s.changed ? field : NULL;
}

/* ------------------------------------------------------------ merging */

void sm_vcard_strip_owned(const struct sm_vcard_map *map, struct xml_node *vc)
{
	struct xml_node *c = vc->children;
	while (c) {
		struct xml_node *next = c->next;
		if (element_owned(map, c))
			xml_remove_child(vc, c);
		c = next;
	}
}

int sm_vcard_merge(struct arena *a, const struct sm_vcard_map *map,
		   struct xml_node *dir, const struct xml_node *stored)
{
	for (const struct xml_node *c = stored ? xml_child(stored, NULL, NULL)
					       : NULL;
	     c; c = xml_next(c, NULL, NULL)) {
		if (element_owned(map, c))
			continue;
		struct xml_node *copy = xml_copy(a, c);
		if (!copy)
			return -1;
		xml_append_child(dir, copy);
	}
	return 0;
}

/* ------------------------------------------------------------ photo */

/* The base64 of text without its whitespace (clients wrap it at 76
 * columns, RFC 2045 §6.8) and with the padding some leave out. NULL
 * when it cannot be base64; *len 0 when empty. */
static char *photo_base64(struct arena *a, const char *text, size_t *len)
{
	size_t n = 0, size = strlen(text) + 3;
	char *b = arena_alloc(a, size);
	if (!b)
		return NULL;
	for (const char *p = text; *p; p++)
		if (!strchr(" \t\r\n", *p))
			b[n++] = *p;
	if (n % 4 == 1)
		return NULL;
	while (n % 4)
		b[n++] = '=';
	b[n] = '\0';
	*len = n;
	return b;
}

long sm_vcard_base64_decode(struct arena *a, const char *text,
			    unsigned char **image)
{
	size_t len = 0;
	char *b64 = photo_base64(a, text, &len);
	*image = b64 ? arena_alloc(a, len / 4 * 3 + 1) : NULL;
	return *image ? base64_decode(b64, len, *image) : -1;
}

int sm_vcard_sha1_hex(const unsigned char *data, size_t len,
		      char hex[VCARD_HASH_SIZE])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	if (!EVP_Digest(data, len, md, &mdlen, EVP_sha1(), NULL) || mdlen != 20)
		return -1;
	for (unsigned i = 0; i < mdlen; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return 0;
}

enum sm_vcard_photo sm_vcard_photo_hash(struct arena *a,
					const struct xml_node *vc,
					char hex[VCARD_HASH_SIZE])
{
	hex[0] = '\0';
	const struct xml_node *photo = xml_child(vc, NS_VCARD, "PHOTO");
	const struct xml_node *bin =
		photo ? xml_child(photo, NS_VCARD, "BINVAL") : NULL;
	const char *text = bin ? xml_text(a, bin) : NULL;
	unsigned char *image;
	long n = text ? sm_vcard_base64_decode(a, text, &image) : 0;
	if (n == 0)
		return SM_VCARD_PHOTO_NONE;
	if (n < 0 || sm_vcard_sha1_hex(image, (size_t)n, hex) < 0)
		return SM_VCARD_PHOTO_BAD;
	return SM_VCARD_PHOTO_OK;
}
