/* vcard: directory vCards (XEP-0054 vcard-temp), read-only, built from
 * the attributes of a user's LDAP entry, as each directory's <vcard>
 * map says (docs/configuration.md, ldap/vcard). */
#ifndef PALABRE_SM_VCARD_H
#define PALABRE_SM_VCARD_H

#include <stdbool.h>

#include "../../lib/arena.h"
#include "../../lib/xml.h"

#define NS_VCARD "vcard-temp"

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

struct sm_module;
extern const struct sm_module sm_module_vcard;

/* The <vCard xmlns='vcard-temp'/> of jid (a bare JID, its JABBERID)
 * from values[f]: the NULL-terminated values of the attribute mapped to
 * field f (enum sm_vcard_field; NULL: none). Values that are not
 * UTF-8 or hold control characters XML forbids are left out; empty ones
 * too. NULL when out of memory. */
struct xml_node *sm_vcard_build(struct arena *a,
				char **const values[SM_VCARD_NFIELDS],
				const char *jid);

#endif
