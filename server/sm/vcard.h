/* vcard: directory vCards (XEP-0054 vcard-temp), read-only, built from
 * the attributes of a user's LDAP entry (lib/config.h <ldap><vcard>). */
#ifndef PALABRE_SM_VCARD_H
#define PALABRE_SM_VCARD_H

#include "../../lib/arena.h"
#include "../../lib/config.h"
#include "../../lib/xml.h"

#define NS_VCARD "vcard-temp"

/* The <vCard xmlns='vcard-temp'/> of jid (a bare JID, its JABBERID)
 * from values[f]: the NULL-terminated values of the attribute mapped to
 * field f (enum config_vcard_field; NULL: none). Values that are not
 * UTF-8 or hold control characters XML forbids are left out; empty ones
 * too. NULL when out of memory. */
struct xml_node *sm_vcard_build(struct arena *a,
				char **const values[CONFIG_VCARD_NFIELDS],
				const char *jid);

#endif
