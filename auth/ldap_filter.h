/* ldap_filter: the search filter of one login, from a host's template.
 *
 * The template (<auth><filter>, checked by lib/config.c) names the
 * login's local part %u and the domain %d. Both values are escaped per
 * RFC 4515 §3 before they are put in, so that no login can change the
 * filter's shape ("*", ")(uid=*" …). Pure functions: unit-tested. */
#ifndef PALABRE_AUTH_LDAP_FILTER_H
#define PALABRE_AUTH_LDAP_FILTER_H

#include <stddef.h>

/* Longest filter palabre builds: a template of 1024 bytes and two values
 * of at most JID_PART_MAX bytes, each byte escaped to three. */
#define LDAP_FILTER_MAX 8192

/* RFC 4515 §3: writes value (len bytes, which may hold NUL) into out
 * with "*", "(", ")", "\" and NUL as "\2a", "\28", "\29", "\5c", "\00",
 * NUL-terminated. Returns the length written, or -1 when out (outlen
 * bytes) is too small. */
long ldap_filter_escape(const char *value, size_t len, char *out,
			size_t outlen);

/* The template with %u as user, %d as domain (both escaped), %% as "%".
 * Returns 0, or -1 when out is too small or the template has another
 * "%" sequence. */
int ldap_filter_build(const char *template, const char *user,
		      const char *domain, char *out, size_t outlen);

#endif
