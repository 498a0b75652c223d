/* vcard: users' vCards (XEP-0054 vcard-temp) and their avatar hashes
 * (XEP-0153), in four files:
 * - vcard.c, the module: get and set, storage, the size limit;
 * - vcard_ldap.c, the directory: each <ldap>'s <vcard> map and the
 *   vCard built from a user's entry (docs/configuration.md, ldap/vcard);
 * - vcard_merge.c, pure: which elements a directory's map owns, what a
 *   set would change of them, the merge; the photo's SHA-1;
 * - vcard_update.c, XEP-0153 and XEP-0398 §4: the photo hash carried in
 *   the user's available presence;
 * - vcard_photo.c, the photo set by another module (XEP-0398's
 *   conversion, avatar_convert.c), and what it hears of users' sets. */
#ifndef PALABRE_SM_VCARD_H
#define PALABRE_SM_VCARD_H

#include <stdbool.h>
#include <stddef.h>

#include "../../auth/auth.h"
#include "../../lib/arena.h"
#include "../../lib/xml.h"
#include "../../storage/storage.h"

#define NS_VCARD "vcard-temp"
#define NS_VCARD_UPDATE "vcard-temp:x:update"

/* A user's store: the vCard as set (serialized <vCard/>; for a
 * directory's user, without what the directory owns), and beside it
 * the photo's SHA-1 in lowercase hex (XEP-0153 §4.1; the same value is
 * a XEP-0084 avatar's item id, for the XEP-0398 conversion), absent
 * without a photo. Both are written in one batch. */
#define VCARD_STORE "vcard"
#define VCARD_KEY "vcard"
#define VCARD_KEY_PHOTO "photo"
/* SHA-1 in hex, and its NUL. */
#define VCARD_HASH_SIZE 41

/* The vCard fields a directory's entries can fill, in vcard-temp
 * (XEP-0054) element names. */
enum sm_vcard_field {
	SM_VCARD_FN,
	SM_VCARD_GIVEN,  /* N/GIVEN */
	SM_VCARD_FAMILY, /* N/FAMILY */
	SM_VCARD_MIDDLE, /* N/MIDDLE */
	SM_VCARD_NICKNAME,
	SM_VCARD_EMAIL,   /* EMAIL/USERID, one per value */
	SM_VCARD_TEL,     /* TEL/NUMBER with VOICE, WORK; one per value */
	SM_VCARD_MOBILE,  /* TEL/NUMBER with CELL, WORK; one per value */
	SM_VCARD_ORGNAME, /* ORG/ORGNAME */
	SM_VCARD_ORGUNIT, /* ORG/ORGUNIT, one per value */
	SM_VCARD_TITLE,
	SM_VCARD_ROLE,
	SM_VCARD_URL,
	SM_VCARD_DESC,
	SM_VCARD_NFIELDS
};

/* A directory's <vcard> (the module's option "vcard", read with
 * sm_module_option_read): the attribute of each field, NULL when that
 * field stays empty. The names point into the configuration. */
struct sm_vcard_map {
	bool on; /* the directory has a <vcard> */
	const char *attrs[SM_VCARD_NFIELDS];
};

struct cnode;
struct config_host;
struct config_loader;
struct sm;
struct sm_module;
struct user;
extern const struct sm_module sm_module_vcard;

/* ------------------------------------------------ vcard_ldap.c */

/* The option "vcard" (struct sm_option's read). */
int sm_vcard_map_read(struct config_loader *l, struct cnode *n,
		      const char *path);

/* The <vCard xmlns='vcard-temp'/> of jid (a bare JID, its JABBERID)
 * from values[f]: the NULL-terminated values of the attribute mapped to
 * field f (enum sm_vcard_field; NULL: none). Values that are not
 * UTF-8 or hold control characters XML forbids are left out; empty ones
 * too. NULL when out of memory. */
struct xml_node *sm_vcard_build(struct arena *a,
				char **const values[SM_VCARD_NFIELDS],
				const char *jid);

/* The directories' maps and their lookups in flight. */
struct sm_vcard_directory;
/* Reads each directory's map. NULL on error (logged). */
struct sm_vcard_directory *sm_vcard_directory_new(struct sm *sm);
/* Waits for the lookups in flight (each is bounded by its directory's
 * timeout; their done functions run), then frees d. */
void sm_vcard_directory_free(struct sm_vcard_directory *d);
/* The map of host's directory, or NULL when its vCards are not a
 * directory's. */
const struct sm_vcard_map *
sm_vcard_directory_map(const struct sm_vcard_directory *d,
		       const struct config_host *host);

/* On the loop: the entry's status, and with AUTH_USER_EXISTS its vCard,
 * built in sm->arena (reset once done returns). */
typedef void (*sm_vcard_directory_fn)(struct sm *sm, void *ctx,
				      enum auth_user_status status,
				      struct xml_node *vcard);
/* Reads the entry of local@host->domain in its directory's lane
 * (lookup.h): the sm loop never waits. Returns 0 (done will run), -1
 * (memory, or the sm is stopping) or -2 (too many lookups in flight:
 * the caller answers resource-constraint); done does not run then. */
int sm_vcard_directory_lookup(struct sm_vcard_directory *d,
			      const struct config_host *host, const char *local,
			      sm_vcard_directory_fn done, void *ctx);

/* ------------------------------------------------ vcard_merge.c */

/* Whether the top-level element `name` of a vCard is the directory's:
 * one of the fields its map fills lives in it (N for GIVEN …, TEL for
 * TEL and MOBILE, ORG for ORGNAME and ORGUNIT), or JABBERID, which
 * the directory's vCard always carries. map NULL: none is. */
bool sm_vcard_owned(const struct sm_vcard_map *map, const char *name);
/* Whether vCard `set` changes what the directory owns in `dir`: a value
 * (the text of a leaf element, by its path: "FN", "N/GIVEN",
 * "TEL/NUMBER" …) in an owned element of set that no element of dir
 * at that path holds. Values the client left out are no change (the
 * directory's stay). Returns the first such path, written into field,
 * or NULL. */
const char *sm_vcard_directory_change(struct arena *a,
				      const struct sm_vcard_map *map,
				      const struct xml_node *set,
				      const struct xml_node *dir, char *field,
				      size_t len);
/* Removes from vc the elements the map owns. */
void sm_vcard_strip_owned(const struct sm_vcard_map *map, struct xml_node *vc);
/* Appends to dir a copy of each element of stored (NULL: none) that
 * the map does not own: the directory's fields win. 0 or -1 (memory). */
int sm_vcard_merge(struct arena *a, const struct sm_vcard_map *map,
		   struct xml_node *dir, const struct xml_node *stored);

/* What a vCard's photo is. */
enum sm_vcard_photo {
	SM_VCARD_PHOTO_NONE, /* no PHOTO/BINVAL */
	SM_VCARD_PHOTO_OK,   /* its hash in hex */
	SM_VCARD_PHOTO_BAD,  /* a BINVAL that is not base64 */
};
/* The bytes of base64 text (whitespace and missing padding allowed:
 * BINVAL as clients send it, a XEP-0084 <data/>), into *image in a.
 * Returns their length, 0 for none, or -1 when text is not base64. */
long sm_vcard_base64_decode(struct arena *a, const char *text,
			    unsigned char **image);
/* The SHA-1 of data in lowercase hex. 0 or -1. */
int sm_vcard_sha1_hex(const unsigned char *data, size_t len,
		      char hex[VCARD_HASH_SIZE]);
/* XEP-0153 §4.1: the SHA-1 of the image data (BINVAL decoded, the line
 * breaks of base64 wrapped at 76 columns allowed) of vc's PHOTO. */
enum sm_vcard_photo sm_vcard_photo_hash(struct arena *a,
					const struct xml_node *vc,
					char hex[VCARD_HASH_SIZE]);

/* ------------------------------------------------ vcard.c */

/* Adds to b the write of user's store: vc (an empty <vCard/>: the
 * store's removal) and its photo's hash ("" for none). 0 or -1. */
int sm_vcard_store_batch(struct storage_batch *b, const char *user,
			 const struct xml_node *vc, const char *hash);

/* ------------------------------------------------ vcard_update.c */

/* XEP-0398 §4 applied to presence p (an available presence of a user
 * whose photo hash is `hash`, "" when the user has no photo): adds or
 * corrects <x xmlns='vcard-temp:x:update'><photo/></x>. Returns 1 when
 * p changed, 0 when not, -1 (memory). */
int sm_vcard_update_presence(struct arena *a, struct xml_node *p,
			     const char *hash);

/* The hashes known in memory: one per user while it is loaded (a
 * slot), read lazily at its first available presence. */
struct sm_vcard_update {
	struct sm *sm;
	int slot;
};
/* Hooks the presence of local sessions. 0 or -1. */
int sm_vcard_update_init(struct sm *sm, struct sm_vcard_update *u);
/* The photo hash of user has become hash ("" for none): after a set. */
void sm_vcard_update_set(struct sm_vcard_update *u, struct user *user,
			 const char *hash);
/* The same, and the presence of each available resource broadcast
 * again if the hash changes it (XEP-0398 §4: the hash follows an
 * avatar the client did not set as a vCard). */
void sm_vcard_update_changed(struct sm_vcard_update *u, struct user *user,
			     const char *hash);
/* user's photo hash as memory knows it: "" for none, NULL unknown. */
const char *sm_vcard_update_known(const struct sm_vcard_update *u,
				  const struct user *user);

/* ------------------------------------------------ vcard_photo.c */

/* What vcard.c and vcard_photo.c share: the module's state. */
struct vcard_photo_put;
struct vcard_mod {
	struct sm *sm;
	struct sm_vcard_directory *dir;
	struct sm_vcard_update update;
	size_t max_bytes;
	bool closing;
	struct vcard_photo_put *puts; /* reading the vCard they change */
	void (*listener)(struct sm *sm, const char *user,
			 const struct xml_node *vc, const char *hash,
			 void *data);
	void *listener_data;
};

/* Hears each vCard a user sets (XEP-0054 §3.2), once it is durable: vc
 * as the client sent it, hash its photo's ("" for none); not the
 * changes of sm_vcard_photo_put. One listener. 0, or -1 (vcard off). */
typedef void (*sm_vcard_listener_fn)(struct sm *sm, const char *user,
				     const struct xml_node *vc,
				     const char *hash, void *data);
int sm_vcard_listen(struct sm *sm, sm_vcard_listener_fn fn, void *data);
/* Calls the listener (vcard.c, after a set). */
void sm_vcard_photo_heard(struct vcard_mod *m, const char *user,
			  const struct xml_node *vc, const char *hash);
/* user's photo hash if known in memory ("" for none), else NULL. */
const char *sm_vcard_photo_known(struct sm *sm, const char *user);

/* error NULL: done and durable; else why not (for the log). */
typedef void (*sm_vcard_photo_fn)(struct sm *sm, void *ctx, const char *error);
/* Sets the PHOTO of user's stored vCard to type and binval (base64 of
 * the image whose SHA-1 is hash), or removes it (binval NULL), keeping
 * the rest; writes nothing when the vCard already has that photo. The
 * hash in user's presence follows. Within vcard-max-bytes. Returns 0,
 * or -1 when done will not be called (vcard off, memory). */
int sm_vcard_photo_put(struct sm *sm, const char *user, const char *type,
		       const char *binval, const char *hash,
		       sm_vcard_photo_fn done, void *ctx);
/* A set of user's vCard was submitted: the puts reading it read again,
 * so that what the set wrote is kept (vcard.c). */
void sm_vcard_photo_stale(struct vcard_mod *m, const char *user);

#endif
