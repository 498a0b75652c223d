/* carbons: XEP-0280 Message Carbons (carbons.c), and the rule of which
 * messages are copied, for its unit tests. */
#ifndef PALABRE_SM_CARBONS_H
#define PALABRE_SM_CARBONS_H

#include <stdbool.h>

#define NS_CARBONS "urn:xmpp:carbons:2"

struct stanza;

/* Whether message st is copied (XEP-0280 §6, as carbons.c says):
 * received, on its way to a local user; else sent by a local user. */
bool sm_carbons_eligible(const struct stanza *st, bool received);

#endif
