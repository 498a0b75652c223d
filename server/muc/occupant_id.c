/* occupant_id: XEP-0421 occupant identifiers. An occupant's id is the
 * HMAC-SHA256, under the service's key, of the room's JID and the
 * occupant's real bare JID, in base64url: the same each time a user
 * enters a room (§4.1: stable), different from room to room (§4.1: "the
 * occupant identifier of a user in one room of the service does not
 * match the occupant identifier of the same user in another room"), and
 * not computable from a JID without the key (pseudonymous).
 *
 * The key is 32 random bytes in the data directory, made on the first
 * start and read on the next ones, so that ids outlive restarts (the
 * room archive keeps them). */
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/base64.h"
#include "../../lib/log.h"
#include "../../lib/random.h"
#include "muc.h"

#define KEY_FILE "muc-occupant-id.key"

/* 0: read; 1: there is none yet; -1: unreadable (logged). */
static int key_read(const char *path, unsigned char *key)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0 && errno == ENOENT)
		return 1;
	unsigned char extra;
	ssize_t n = fd < 0 ? -1 : read(fd, key, MUC_OCCUPANT_ID_KEY_SIZE);
	bool longer = n > 0 && read(fd, &extra, 1) != 0;
	if (fd >= 0)
		close(fd);
	if (n != MUC_OCCUPANT_ID_KEY_SIZE || longer) {
		log_error("muc: %s: not a key of %d bytes (%s); remove it to "
			  "make a new one (occupant ids then change)",
			  path, MUC_OCCUPANT_ID_KEY_SIZE,
			  n < 0 ? strerror(errno) : "wrong size");
		return -1;
	}
	return 0;
}

static int key_create(const char *path, unsigned char *key)
{
	random_bytes(key, MUC_OCCUPANT_ID_KEY_SIZE);
	int fd =
		open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
		     0600);
	bool ok = fd >= 0 &&
		  write(fd, key, MUC_OCCUPANT_ID_KEY_SIZE) ==
			  MUC_OCCUPANT_ID_KEY_SIZE &&
		  fsync(fd) == 0;
	int saved = errno;
	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok) {
		log_error("muc: cannot write %s: %s", path, strerror(saved));
		unlink(path);
		return -1;
	}
	log_info("muc: made the occupant id key %s (XEP-0421)", path);
	return 0;
}

int muc_occupant_id_init(struct muc *muc)
{
	char *path = config_data_path(muc->cfg, KEY_FILE);
	if (!path)
		return -1;
	int rc = key_read(path, muc->occupant_id_key);
	if (rc == 1)
		rc = key_create(path, muc->occupant_id_key);
	free(path);
	return rc;
}

void muc_occupant_id_free(struct muc *muc)
{
	OPENSSL_cleanse(muc->occupant_id_key, sizeof muc->occupant_id_key);
}

int muc_occupant_id(const struct muc *muc, const char *room,
		    const char *real_jid, char id[MUC_OCCUPANT_ID_SIZE])
{
	struct jid j;
	char bare[JID_MAX + 1];
	if (jid_parse_str(&j, real_jid) < 0)
		return -1;
	size_t room_len = strlen(room), bare_len = jid_format_bare(&j, bare);
	/* A NUL between the two: no other pair gives the same bytes. */
	unsigned char data[2 * (JID_MAX + 1)];
	memcpy(data, room, room_len + 1);
	memcpy(data + room_len + 1, bare, bare_len);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	if (!HMAC(EVP_sha256(), muc->occupant_id_key, MUC_OCCUPANT_ID_KEY_SIZE,
		  data, room_len + 1 + bare_len, mac, &len) ||
	    len != 32)
		return -1;
	base64url_encode(mac, len, id);
	return 0;
}

int muc_occupant_id_stamp(struct arena *a, struct xml_node *stanza,
			  const struct occupant *o)
{
	/* §5: "If the message or presence received by the MUC service
	 * already contains <occupant-id> element, the MUC service MUST
	 * replace such element". */
	struct xml_node *forged;
	while ((forged = xml_child(stanza, NS_OCCUPANT_ID, "occupant-id")))
		xml_remove_child(stanza, forged);
	struct xml_node *id =
		xml_add_child(a, stanza, NS_OCCUPANT_ID, "occupant-id");
	return id ? xml_set_attr(a, id, "id", o->occupant_id) : -1;
}
