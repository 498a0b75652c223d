/* extdisco_config: a host's <external-services>, read into the
 * <service/> entries of XEP-0215 that the extdisco module lists.
 *
 *	<external-services>
 *	  <turn host="turn.example.org" secret-file="turn-secret"
 *	        tls-port="5349"/>
 *	  <stun host="stun.example.net"/>
 *	</external-services>
 *
 * A <turn> is a coturn (or any TURN server of the TURN REST API's
 * shared secret): it serves STUN and TURN on its port, over the
 * transports given, and TURN over TLS on tls-port. The secret is never
 * written into a message: errors name the attribute or the file. */
#include "extdisco.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/config_reader.h"

#define DEFAULT_PORT 3478 /* RFC 8489 §9, RFC 8656 §18 */
#define DEFAULT_TTL 86400
#define TTL_MIN 60
#define TTL_MAX (7 * 86400)

/* The transports of a server, as bits. */
enum { TRANSPORT_UDP = 1, TRANSPORT_TCP = 2 };

/* A DNS name or an IP address (v4, v6 without brackets): what a
 * client's ICE agent can resolve, checked only for what surely is not. */
static bool host_ok(const char *h)
{
	size_t len = strlen(h);
	if (len == 0 || len > 253)
		return false;
	for (const char *p = h; *p; p++) {
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return false;
	}
	return true;
}

/* The host attribute of n (required) into *out. */
static int read_host(struct config_loader *l, struct cnode *n, const char *path,
		     const char **out)
{
	char setting[160];
	const char *h = cnode_attr(n, "host");
	snprintf(setting, sizeof setting, "%s/@host", path);
	if (!h)
		return config_fail(l, n, setting,
				   "missing (the server's DNS name or IP "
				   "address, as clients reach it)");
	if (!host_ok(h))
		return config_fail(l, n, setting,
				   "'%s' is not a DNS name or an IP address",
				   h);
	*out = h;
	return 0;
}

/* An optional number attribute; def when absent. */
static int read_number(struct config_loader *l, struct cnode *n,
		       const char *path, const char *attr, long min, long max,
		       long def, long *out)
{
	char setting[160];
	const char *v = cnode_attr(n, attr);
	snprintf(setting, sizeof setting, "%s/@%s", path, attr);
	*out = def;
	return v ? config_parse_number(l, n, setting, v, min, max, out) : 0;
}

/* transports="udp tcp" (either, or both) into bits; def when absent. */
static int read_transports(struct config_loader *l, struct cnode *n,
			   const char *path, unsigned def, unsigned *out)
{
	static const char *const known[] = {"udp", "tcp", NULL};
	const char *v = cnode_attr(n, "transports");
	char setting[160], *words[4];
	size_t count = 0;
	int rc = 0;
	snprintf(setting, sizeof setting, "%s/@transports", path);
	*out = v ? 0 : def;
	if (!v)
		return 0;
	if (config_parse_words(l, n, setting, v, words, 4, &count) < 0)
		return -1;
	if (count == 0)
		rc = config_fail(l, n, setting, "empty (udp, tcp or both)");
	else
		rc = config_check_words(l, n, setting, words, count, known,
					"not a transport (udp, tcp)");
	for (size_t i = 0; i < count; i++) {
		*out |= strcmp(words[i], "udp") == 0 ? TRANSPORT_UDP
						     : TRANSPORT_TCP;
		free(words[i]);
	}
	return rc;
}

/* One more entry of h, or NULL (the error written) past the limit. */
static struct extdisco_service *service_add(struct config_loader *l,
					    struct cnode *n, const char *path,
					    struct extdisco_host *h,
					    const char *type)
{
	if (h->nservices == EXTDISCO_SERVICES_MAX) {
		config_fail(l, n, path,
			    "more than %d services (each transport of a "
			    "server is one) for one host",
			    EXTDISCO_SERVICES_MAX);
		return NULL;
	}
	struct extdisco_service *s = &h->services[h->nservices++];
	*s = (struct extdisco_service){.type = type,
				       .name = cnode_attr(n, "name")};
	return s;
}

/* An entry of type on each transport of bits. */
static int services_add(struct config_loader *l, struct cnode *n,
			const char *path, struct extdisco_host *h,
			const char *type, const char *host, long port,
			unsigned bits, const struct extdisco_secret *secret)
{
	static const struct {
		unsigned bit;
		const char *name;
	} transports[] = {{TRANSPORT_UDP, "udp"}, {TRANSPORT_TCP, "tcp"}};
	for (size_t i = 0; i < 2; i++) {
		if (!(bits & transports[i].bit))
			continue;
		struct extdisco_service *s = service_add(l, n, path, h, type);
		if (!s)
			return -1;
		s->host = host;
		s->port = (unsigned)port;
		s->transport = transports[i].name;
		s->secret = secret;
	}
	return 0;
}

/* <stun host port transports name/>: a STUN server, no credentials. */
static int read_stun(struct config_loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {"host", "port", "transports",
					    "name", NULL};
	const char *host;
	long port;
	unsigned bits;
	if (config_check_attrs(l, n, path, attrs) < 0 ||
	    read_host(l, n, path, &host) < 0 ||
	    read_number(l, n, path, "port", 1, 65535, DEFAULT_PORT, &port) <
		    0 ||
	    read_transports(l, n, path, TRANSPORT_UDP, &bits) < 0)
		return -1;
	return services_add(l, n, path, l->target, "stun", host, port, bits,
			    NULL);
}

/* The secret of a <turn>: secret="…" or the first line of secret-file,
 * one of them; into a malloc'd *out. */
static int read_secret(struct config_loader *l, struct cnode *n,
		       const char *path, char **out)
{
	const char *inline_secret = cnode_attr(n, "secret");
	const char *file_name = cnode_attr(n, "secret-file");
	char setting[160], value[EXTDISCO_SECRET_MAX + 2], *file = NULL;
	snprintf(setting, sizeof setting, "%s/@secret-file", path);
	if (!inline_secret == !file_name)
		return config_fail(
			l, n, setting,
			inline_secret ? "give secret or secret-file, not both"
				      : "missing (a file whose first line is "
					"coturn's static-auth-secret; or "
					"secret=\"…\")");
	if (inline_secret) {
		snprintf(setting, sizeof setting, "%s/@secret", path);
		snprintf(value, sizeof value, "%s", inline_secret);
	} else if (config_parse_first_line(l, n, setting, file_name, &file,
					   value, sizeof value) < 0) {
		free(file);
		return -1;
	}
	int rc = 0;
	if (!value[0])
		rc = config_fail(l, n, setting, "%s is empty",
				 file ? file : "the secret");
	else if (strlen(value) > EXTDISCO_SECRET_MAX)
		rc = config_fail(l, n, setting, "%s is longer than %d bytes",
				 file ? file : "the secret",
				 EXTDISCO_SECRET_MAX);
	else if (!(*out = strdup(value)))
		rc = config_fail(l, n, setting, "out of memory");
	OPENSSL_cleanse(value, sizeof value);
	free(file);
	return rc;
}

/* <turn host port transports tls-port secret|secret-file ttl stun
 * name/>: a TURN server of the TURN REST API. */
static int read_turn(struct config_loader *l, struct cnode *n, const char *path)
{
	static const char *const attrs[] = {
		"host",        "port", "transports", "tls-port", "secret",
		"secret-file", "ttl",  "stun",       "name",     NULL};
	struct extdisco_host *h = l->target;
	const char *host, *stun = cnode_attr(n, "stun");
	long port, tls_port, ttl;
	unsigned bits;
	bool with_stun = true;
	char setting[160];
	snprintf(setting, sizeof setting, "%s/@stun", path);
	if (config_check_attrs(l, n, path, attrs) < 0 ||
	    read_host(l, n, path, &host) < 0 ||
	    read_number(l, n, path, "port", 1, 65535, DEFAULT_PORT, &port) <
		    0 ||
	    read_number(l, n, path, "tls-port", 1, 65535, 0, &tls_port) < 0 ||
	    read_number(l, n, path, "ttl", TTL_MIN, TTL_MAX, DEFAULT_TTL,
			&ttl) < 0 ||
	    read_transports(l, n, path, TRANSPORT_UDP | TRANSPORT_TCP, &bits) <
		    0 ||
	    (stun && config_parse_bool(l, n, setting, stun, &with_stun) < 0))
		return -1;
	if (h->nsecrets == EXTDISCO_TURN_MAX)
		return config_fail(l, n, path, "more than %d for one host",
				   EXTDISCO_TURN_MAX);
	struct extdisco_secret *secret = &h->secrets[h->nsecrets];
	if (read_secret(l, n, path, &secret->value) < 0)
		return -1;
	h->nsecrets++;
	secret->ttl = (unsigned)ttl;
	/* The STUN of a TURN server needs no credentials (RFC 8489 §9:
	 * a Binding request may go unauthenticated); clients use it over
	 * UDP. */
	if ((with_stun && services_add(l, n, path, h, "stun", host, port,
				       bits & TRANSPORT_UDP, NULL) < 0) ||
	    services_add(l, n, path, h, "turn", host, port, bits, secret) < 0)
		return -1;
	return tls_port ? services_add(l, n, path, h, "turns", host, tls_port,
				       TRANSPORT_TCP, secret)
			: 0;
}

int extdisco_config_read(struct config_loader *l, struct cnode *n,
			 const char *path)
{
	static const char *const attrs[] = {NULL};
	static const struct config_setting settings[] = {
		{"turn", read_turn}, {"stun", read_stun}, {NULL, NULL}};
	/* Read into the caller's host, or (at palabred's check) into one
	 * that lives only as long as this call. */
	void *outer = l->target;
	struct extdisco_host checked = {0}, *h = outer ? outer : &checked;
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	extdisco_host_clear(h);
	l->target = h;
	int rc = config_load_children(l, n, path, settings);
	l->target = outer; /* never left pointing at `checked` */
	if (rc == 0 && h->nservices == 0)
		rc = config_fail(l, n, path,
				 "empty (a <turn> or <stun> server)");
	if (rc < 0 || !outer)
		extdisco_host_clear(h);
	return rc;
}

void extdisco_host_clear(struct extdisco_host *h)
{
	for (size_t i = 0; i < h->nsecrets; i++) {
		char *v = h->secrets[i].value;
		OPENSSL_cleanse(v, strlen(v));
		free(v);
	}
	*h = (struct extdisco_host){0};
}
