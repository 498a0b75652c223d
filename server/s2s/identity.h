/* identity: does a peer server's certificate prove a domain? The name
 * matching of RFC 6125 as RFC 6120 §13.7.1.2 and XEP-0178 apply it to
 * XMPP servers. Only names: whether the chain is trusted is the caller's
 * check (SSL_get_verify_result). */
#ifndef PALABRE_S2S_IDENTITY_H
#define PALABRE_S2S_IDENTITY_H

#include <openssl/x509.h>
#include <stdbool.h>

/* Whether cert's identities cover domain (an XMPP domain, lowercase ASCII
 * A-label form as the caller gives it). Matches, in this order:
 *  - SRV-ID (RFC 4985 otherName id-on-dnsSRV 1.3.6.1.5.5.7.8.7, IA5String
 *    "_xmpp-server.DOMAIN"; the service part must be _xmpp-server — an
 *    _xmpp-client SRV-ID does NOT prove a server),
 *  - XmppAddr (otherName id-on-xmppAddr 1.3.6.1.5.5.7.8.5, UTF8String)
 *    equal to the domain,
 *  - DNS-ID (dNSName), case-insensitive, with a wildcard only as the whole
 *    left-most label ("*.example.org" matches "a.example.org", not
 *    "example.org" nor "a.b.example.org"; "f*.example.org" never matches;
 *    "*.org", a wildcard over a single label, never matches either),
 *  - the subject's CN only when the certificate has no subjectAltName of
 *    any of these types (RFC 6125 §6.4.4), exact match, no wildcard.
 * All comparisons ignore ASCII case. Trailing dots ignored on both sides;
 * embedded NULs in a name never match; a domain holding '*' never matches.
 * A certificate with a malformed or repeated subjectAltName extension
 * proves nothing. False for a NULL cert or domain. */
bool s2s_identity_matches(X509 *cert, const char *domain);

#endif
