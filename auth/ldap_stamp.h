/* ldap_stamp: whether a directory's authPassword values still go with
 * the entry's password (docs/ldap.md, "When a password changes").
 *
 * RFC 5803 SCRAM secrets are written by whatever tool sets passwords; a
 * change made without them (ldappasswd's RFC 3062 password modify, an
 * ldapmodify of userPassword) would leave SCRAM accepting the old
 * password, and palabre cannot compare the two without a clear password.
 * So every lookup of the secrets also reads a stamp of the entry that
 * changes with its password, and palabre remembers per account (struct
 * local_stamp, in accounts.sqlite, shared by every c2s process and kept
 * across restarts) the stamp and the secrets it last trusted. The stamp
 * is the first of these the service account can read:
 *   1. userPassword, when every value is hashed ("{SSHA}…"): changes with
 *      the password only (a clear value is never digested: palabre keeps
 *      no unsalted hash of a password);
 *   2. pwdChangedTime (draft-behera-ldap-password-policy, OpenLDAP's
 *      ppolicy overlay): changes with the password only;
 *   3. entryCSN (OpenLDAP): changes with any change of the entry;
 *   4. modifyTimestamp (RFC 4512 §3.4): the same, to the second.
 * The kind is part of the stamp: moving from one to another is a change.
 * Judged against the record (ldap_stamp_judge):
 *   - no record: trusted and remembered (first use);
 *   - other secrets than remembered: a tool rewrote them, so trusted and
 *     remembered (with the new stamp);
 *   - same secrets, same stamp: trusted;
 *   - same secrets, another stamp: stale; SCRAM fails, logged once;
 *   - no stamp readable at all: never trusted.
 * A PLAIN login the directory accepts settles the question, whatever the
 * record (a first use may have trusted stale secrets): the record
 * is re-confirmed when the password gives the secrets, and marked stale
 * (password stamp all zero) when it does not. */
#ifndef PALABRE_AUTH_LDAP_STAMP_H
#define PALABRE_AUTH_LDAP_STAMP_H

#include <stdbool.h>

#include <lber.h>

#include "local.h"
#include "scram_keys.h"

enum ldap_stamp_kind {
	LDAP_STAMP_USER_PASSWORD,
	LDAP_STAMP_PWD_CHANGED_TIME,
	LDAP_STAMP_ENTRY_CSN,
	LDAP_STAMP_MODIFY_TIMESTAMP,
	LDAP_STAMP_NONE,
};
#define LDAP_STAMP_KINDS LDAP_STAMP_NONE

/* The attribute of each kind ("userPassword" …), by kind. */
extern const char *const ldap_stamp_attributes[LDAP_STAMP_KINDS];

/* What one lookup saw of an entry. */
struct ldap_stamp_view {
	enum ldap_stamp_kind kind;
	unsigned char password[LOCAL_STAMP_LEN];
	unsigned char secrets[LOCAL_STAMP_LEN];
};

/* values[k]: the values of ldap_stamp_attributes[k] (NULL: none read);
 * sha1, sha256: the SCRAM secrets read from authPassword (NULL: none). */
void ldap_stamp_view_make(struct ldap_stamp_view *v,
			  struct berval **const values[LDAP_STAMP_KINDS],
			  const struct scram_secret *sha1,
			  const struct scram_secret *sha256);

enum ldap_stamp_verdict {
	LDAP_STAMP_NEW,       /* no record: trust, remember */
	LDAP_STAMP_SAME,      /* trust */
	LDAP_STAMP_REWRITTEN, /* trust, remember */
	LDAP_STAMP_STALE,     /* refuse */
	LDAP_STAMP_BLIND,     /* no stamp: refuse */
};

/* record: what palabre remembers of the account, NULL when nothing. */
enum ldap_stamp_verdict ldap_stamp_judge(const struct local_stamp *record,
					 const struct ldap_stamp_view *v);

/* Whether a userPassword value is hashed: it names its scheme, "{SSHA}…",
 * and that scheme is not a clear one ({CLEAR}, {CLEARTEXT}). */
bool ldap_password_is_hashed(const struct berval *v);
/* Where the password begins in a value that is not hashed: after its
 * "{CLEAR}" or "{CLEARTEXT}", else 0. */
size_t ldap_password_clear_offset(const struct berval *v);

/* SCRAM: whether the secrets of v may be used for localpart@domain of
 * directory dir_id; remembers them when trusted. 1: trusted; 0: stale,
 * or no stamp (logged once); -1: the record could not be read or
 * written (logged). */
int ldap_stamp_trust(struct local_db *db, const char *dir_id,
		     const char *domain, const char *localpart,
		     const struct ldap_stamp_view *v);

/* PLAIN: the directory accepted password for localpart@domain; sha1 and
 * sha256 (NULL: none) are the secrets of v. Re-confirms the record when
 * password gives them, marks it stale when not (logged). */
void ldap_stamp_confirm(struct local_db *db, const char *dir_id,
			const char *domain, const char *localpart,
			const struct ldap_stamp_view *v,
			const struct scram_secret *sha1,
			const struct scram_secret *sha256,
			const char *password);

#endif
