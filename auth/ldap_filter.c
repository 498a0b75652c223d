/* ldap_filter: RFC 4515 escaping and the template's substitutions. */
#include "ldap_filter.h"

#include <string.h>

long ldap_filter_escape(const char *value, size_t len, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];
		int special = c == '*' || c == '(' || c == ')' || c == '\\' ||
			      c == '\0';
		size_t need = special ? 3 : 1;
		if (n + need >= outlen)
			return -1;
		if (special) {
			out[n++] = '\\';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return (long)n;
}

int ldap_filter_build(const char *template, const char *user,
		      const char *domain, char *out, size_t outlen)
{
	size_t n = 0;
	for (const char *p = template; *p; p++) {
		const char *value = NULL;
		if (*p == '%') {
			p++;
			if (*p == 'u')
				value = user;
			else if (*p == 'd')
				value = domain;
			else if (*p != '%')
				return -1;
		}
		if (value) {
			long w = ldap_filter_escape(value, strlen(value),
						    out + n, outlen - n);
			if (w < 0)
				return -1;
			n += (size_t)w;
		} else {
			if (n + 1 >= outlen)
				return -1;
			out[n++] = *p;
		}
	}
	if (n >= outlen)
		return -1;
	out[n] = '\0';
	return 0;
}
