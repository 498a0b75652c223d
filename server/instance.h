/* instance: one palabred per configuration. The supervisor locks what two
 * instances must never share, the storage directory and the router
 * socket, before it touches either, and holds the locks until it exits. */
#ifndef PALABRE_INSTANCE_H
#define PALABRE_INSTANCE_H

#include <stddef.h>

#include "../lib/config.h"

struct instance {
	int storage_fd; /* STORAGE/palabred.lock */
	int socket_fd;  /* SOCKET.lock */
};

/* Takes both locks for this process (and the processes it forks, until
 * they exec). Returns 0; or -1 with err naming what is locked, where, and
 * the pid of the palabred that holds it. */
int instance_lock(struct instance *in, const struct config *cfg, char *err,
		  size_t errlen);
/* Writes this process's pid into the lock files: after daemonizing, it
 * is not the pid that took the locks. */
void instance_note_pid(const struct instance *in);
/* Once the locks are ours: 0 if no other program listens on the c2s and
 * s2s ports; else -1 with err naming the setting and the port. */
int instance_check_ports(const struct config *cfg, char *err, size_t errlen);
/* Releases the locks; the files stay (see instance.c). */
void instance_unlock(struct instance *in);

#endif
