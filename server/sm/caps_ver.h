/* caps_ver: XEP-0115 Entity Capabilities' verification string and its
 * hash, the 'ver' of a <c/> element (§5), computed from a disco#info
 * <query/>: the server's own, advertised in its stream features (§6.3),
 * and a client's, checked against the ver it announced before its caps
 * are trusted (§5.4). */
#ifndef PALABRE_SM_CAPS_VER_H
#define PALABRE_SM_CAPS_VER_H

#include "../../lib/buf.h"
#include "../../lib/xml.h"

#define NS_CAPS "http://jabber.org/protocol/caps"
#define NS_DISCO_INFO "http://jabber.org/protocol/disco#info"
/* A ver: the base64 of a SHA-1 (28 characters) and a NUL. */
#define CAPS_VER_SIZE 29

/* Appends query's verification string S (§5.1 steps 1 to 8) to out.
 * Returns 0, or -1 with *why saying what was wrong: §5.4 makes the
 * whole query ill-formed (duplicate identities or features, two forms
 * of one FORM_TYPE …), or memory ran out. A form without a hidden
 * FORM_TYPE field is left out, as §5.4 says, not refused. */
int caps_ver_string(const struct xml_node *query, struct buf *out,
		    const char **why);
/* The ver of query, base64(SHA-1(S)) (§5.1 step 9, hash 'sha-1'), with
 * a NUL, in ver. Returns 0, or -1 as caps_ver_string. */
int caps_ver_hash(const struct xml_node *query, char ver[CAPS_VER_SIZE],
		  const char **why);

#endif
