/* net: sockets shared by c2s and s2s. */
#ifndef PALABRE_NET_H
#define PALABRE_NET_H

#include <stddef.h>
#include <sys/socket.h>

/* A bound, non-blocking TCP socket on address (IPv4 or IPv6) and port,
 * with SO_REUSEADDR and SO_REUSEPORT (processes may share the port).
 * Returns the descriptor, or -1 with a message in err. */
int net_bound_socket(const char *address, int port, char *err, size_t errlen);

/* 0 if nothing listens on address and port: a bind without SO_REUSEPORT
 * fails where any socket listens, even one that shares its port (a
 * palabred of another configuration, whose c2s would otherwise split the
 * clients with ours). Else -1 with a message in err. */
int net_check_port_free(const char *address, int port, char *err,
			size_t errlen);

/* "1.2.3.4:5" or "[::1]:5" into out; NET_ADDR_NAME_MAX bytes hold the
 * longest: "[" INET6_ADDRSTRLEN - 1 "]:65535" and the NUL. */
#define NET_ADDR_NAME_MAX 54
void net_addr_name(const struct sockaddr *sa, char *out, size_t size);

#endif
