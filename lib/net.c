/* net: sockets shared by c2s and s2s (see net.h). */
#include "net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

/* A socket bound to address and port; shared: with SO_REUSEPORT. */
static int bound_socket(const char *address, int port, bool shared, char *err,
			size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t len;
	memset(&ss, 0, sizeof ss);
	if (uv_ip4_addr(address, port, (struct sockaddr_in *)&ss) == 0) {
		len = sizeof(struct sockaddr_in);
	} else if (uv_ip6_addr(address, port, (struct sockaddr_in6 *)&ss) ==
		   0) {
		len = sizeof(struct sockaddr_in6);
	} else {
		snprintf(err, errlen,
			 "listen address '%s' is not an IPv4 or "
			 "IPv6 address",
			 address);
		return -1;
	}
	int fd = socket(ss.ss_family,
			SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "socket for %s port %d: %s", address,
			 port, strerror(errno));
		return -1;
	}
	int one = 1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    (shared &&
	     setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, len) < 0) {
		snprintf(err, errlen, "cannot listen on %s port %d: %s",
			 address, port, strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int net_bound_socket(const char *address, int port, char *err, size_t errlen)
{
	return bound_socket(address, port, true, err, errlen);
}

int net_check_port_free(const char *address, int port, char *err, size_t errlen)
{
	int fd = bound_socket(address, port, false, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

void net_addr_name(const struct sockaddr *sa, char *out, size_t size)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	snprintf(out, size, "?");
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)sa;
		uv_ip6_name(a, ip, sizeof ip);
		snprintf(out, size, "[%s]:%u", ip, ntohs(a->sin6_port));
	} else if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *a = (const struct sockaddr_in *)sa;
		uv_ip4_name(a, ip, sizeof ip);
		snprintf(out, size, "%s:%u", ip, ntohs(a->sin_port));
	}
}
