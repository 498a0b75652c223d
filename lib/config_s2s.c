/* config_s2s: the <s2s> section (federation). Without it palabred
 * serves its own domains only. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "config_reader.h"

static struct config_s2s *s2s_of(struct config_loader *l)
{
	return &l->cfg->s2s;
}

static int load_listen(struct config_loader *l, struct cnode *n,
		       const char *path)
{
	return config_parse_listen(l, n, path, s2s_of(l)->listeners,
				   &s2s_of(l)->nlisteners);
}

/* <resolver address="127.0.0.1" port="5353"/>: the DNS server asked for
 * SRV and address records instead of those of /etc/resolv.conf. */
static int load_resolver(struct config_loader *l, struct cnode *n,
			 const char *path)
{
	static const char *const attrs[] = {"address", "port", NULL};
	struct config_s2s *s = s2s_of(l);
	const char *address = cnode_attr(n, "address");
	const char *port = cnode_attr(n, "port");
	unsigned char any[sizeof(struct in6_addr)];
	long v = 53;
	if (config_check_attrs(l, n, path, attrs) < 0)
		return -1;
	if (!address)
		return config_fail(l, n, "s2s/resolver/@address", "missing");
	if (inet_pton(AF_INET, address, any) != 1 &&
	    inet_pton(AF_INET6, address, any) != 1)
		return config_fail(l, n, "s2s/resolver/@address",
				   "'%s' is not an IPv4 or IPv6 address",
				   address);
	if (port && config_parse_number(l, n, "s2s/resolver/@port", port, 1,
					65535, &v) < 0)
		return -1;
	free(s->resolver);
	s->resolver = strdup(address);
	s->resolver_port = (int)v;
	return 0;
}

static int load_require_tls(struct config_loader *l, struct cnode *n,
			    const char *path)
{
	return config_parse_bool(l, n, path, cnode_value(n),
				 &s2s_of(l)->require_tls);
}

static int load_require_valid_certificate(struct config_loader *l,
					  struct cnode *n, const char *path)
{
	return config_parse_bool(l, n, path, cnode_value(n),
				 &s2s_of(l)->require_valid_certificate);
}

static int load_ca_file(struct config_loader *l, struct cnode *n,
			const char *path)
{
	free(s2s_of(l)->ca_file);
	s2s_of(l)->ca_file = NULL;
	return config_parse_readable_file(l, n, path, cnode_value(n),
					  &s2s_of(l)->ca_file);
}

static int load_ca_path(struct config_loader *l, struct cnode *n,
			const char *path)
{
	free(s2s_of(l)->ca_path);
	s2s_of(l)->ca_path = NULL;
	return config_parse_path(l, n, path, cnode_value(n),
				 &s2s_of(l)->ca_path);
}

static int load_connect_timeout(struct config_loader *l, struct cnode *n,
				const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 3600,
				     &s2s_of(l)->connect_timeout);
}

static int load_idle_timeout(struct config_loader *l, struct cnode *n,
			     const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 86400,
				     &s2s_of(l)->idle_timeout);
}

static int load_queue_size(struct config_loader *l, struct cnode *n,
			   const char *path)
{
	return config_parse_unsigned(l, n, path, cnode_value(n), 1, 1000000,
				     &s2s_of(l)->queue_size);
}

static int load_max_stanza_size(struct config_loader *l, struct cnode *n,
				const char *path)
{
	long v;
	/* RFC 6120 §13.12: at least 10,000 bytes must be accepted. */
	if (config_parse_number(l, n, path, cnode_value(n), 10000, 16 << 20,
				&v) < 0)
		return -1;
	s2s_of(l)->max_stanza_size = (size_t)v;
	return 0;
}

int config_s2s_load(struct config_loader *l, struct cnode *n, const char *path)
{
	static const struct config_setting settings[] = {
		{"listen", load_listen},
		{"resolver", load_resolver},
		{"require-tls", load_require_tls},
		{"require-valid-certificate", load_require_valid_certificate},
		{"ca-file", load_ca_file},
		{"ca-path", load_ca_path},
		{"connect-timeout", load_connect_timeout},
		{"idle-timeout", load_idle_timeout},
		{"queue-size", load_queue_size},
		{"max-stanza-size", load_max_stanza_size},
		{NULL, NULL}};
	struct config_s2s *s = s2s_of(l);
	if (s->enabled)
		return config_fail(l, n, path, "<s2s> is given twice");
	s->enabled = true;
	s->require_tls = true;
	s->connect_timeout = 30;
	s->idle_timeout = 300;
	s->queue_size = 1000;
	s->max_stanza_size = 262144;
	if (config_load_children(l, n, path, settings) < 0)
		return -1;
	if (s->nlisteners == 0) {
		struct config_listener *li = &s->listeners[s->nlisteners++];
		li->address = strdup("0.0.0.0");
		li->port = 5269;
	}
	return 0;
}

void config_s2s_free(struct config_s2s *s)
{
	for (size_t i = 0; i < s->nlisteners; i++)
		free(s->listeners[i].address);
	free(s->resolver);
	free(s->ca_file);
	free(s->ca_path);
}
