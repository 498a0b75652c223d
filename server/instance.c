/* instance: the locks that keep one palabred per configuration.
 *
 * flock(2), not fcntl(2) locks: a flock belongs to the open file, so it
 * survives the forks of `palabred -d` and stays with the daemon. The file
 * is opened O_CLOEXEC so that no component holds it: a component left
 * alive by a kill -9 of the supervisor must not keep the next one out.
 * The kernel drops the lock when its process dies, kill -9 included, so a
 * lock file left behind stops nobody. The files are never removed: a
 * second palabred that opened the old file just before would lock a file
 * nobody else can see any more, and a third could then start. */
#include "instance.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "../lib/log.h"
#include "../lib/net.h"

#define INSTANCE_STORAGE_LOCK "palabred.lock"

/* The pid its holder wrote in the lock file; 0 if not written yet. */
static long instance_holder(int fd)
{
	char text[32];
	ssize_t n = pread(fd, text, sizeof text - 1, 0);
	if (n <= 0)
		return 0;
	text[n] = '\0';
	return strtol(text, NULL, 10);
}

static int instance_write_pid(int fd)
{
	char text[32];
	int n = snprintf(text, sizeof text, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, text, (size_t)n, 0) != n)
		return -1;
	return 0;
}

static void instance_refusal(int fd, const char *setting, const char *value,
			     char *err, size_t errlen)
{
	long pid = instance_holder(fd);
	if (pid > 0)
		snprintf(err, errlen,
			 "another palabred (pid %ld) runs with "
			 "%s: %s; stop it first",
			 pid, setting, value);
	else
		snprintf(err, errlen,
			 "another palabred runs with %s: %s; "
			 "stop it first",
			 setting, value);
}

/* Locks the file `path` that stands for the setting's value. Returns its
 * descriptor, or -1 with err. */
static int instance_lock_file(const char *path, const char *setting,
			      const char *value, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the lock file %s: %s",
			 setting, path, strerror(errno));
		return -1;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		if (instance_write_pid(fd) < 0)
			log_warn("%s: cannot write the pid: %s", path,
				 strerror(errno));
		return fd;
	}
	if (errno == EWOULDBLOCK)
		instance_refusal(fd, setting, value, err, errlen);
	else
		snprintf(err, errlen, "%s: cannot lock %s: %s", setting, path,
			 strerror(errno));
	close(fd);
	return -1;
}

int instance_lock(struct instance *in, const struct config *cfg, char *err,
		  size_t errlen)
{
	char *storage = config_data_path(cfg, INSTANCE_STORAGE_LOCK);
	char *socket = NULL;
	in->storage_fd = in->socket_fd = -1;
	if (!storage || asprintf(&socket, "%s.lock", cfg->router_socket) < 0) {
		snprintf(err, errlen, "out of memory");
		free(storage);
		return -1;
	}
	/* The storage first: on the same configuration, the message names
	 * the data that two instances would both write. */
	in->storage_fd = instance_lock_file(storage, "storage/path",
					    cfg->data_dir, err, errlen);
	if (in->storage_fd >= 0)
		in->socket_fd =
			instance_lock_file(socket, "router/socket",
					   cfg->router_socket, err, errlen);
	free(storage);
	free(socket);
	if (in->socket_fd < 0) {
		instance_unlock(in);
		return -1;
	}
	return 0;
}

void instance_note_pid(const struct instance *in)
{
	if (instance_write_pid(in->storage_fd) < 0 ||
	    instance_write_pid(in->socket_fd) < 0)
		log_warn("cannot write the pid into the lock files: %s",
			 strerror(errno));
}

void instance_unlock(struct instance *in)
{
	if (in->storage_fd >= 0)
		close(in->storage_fd);
	if (in->socket_fd >= 0)
		close(in->socket_fd);
	in->storage_fd = in->socket_fd = -1;
}

static int check_listeners(const struct config_listener *l, size_t n,
			   const char *setting, char *err, size_t errlen)
{
	char why[512];
	for (size_t i = 0; i < n; i++) {
		if (net_check_port_free(l[i].address, l[i].port, why,
					sizeof why) == 0)
			continue;
		snprintf(err, errlen,
			 "%s: %s (another program, or a palabred "
			 "with another configuration, listens there)",
			 setting, why);
		return -1;
	}
	return 0;
}

/* c2s processes share their ports with SO_REUSEPORT: the kernel would let
 * a palabred of another configuration bind the same port too and split
 * the clients between both, silently. So the supervisor checks, before
 * spawning them, that nobody listens there yet. */
int instance_check_ports(const struct config *cfg, char *err, size_t errlen)
{
	if (check_listeners(cfg->listeners, cfg->nlisteners, "c2s/listen", err,
			    errlen) < 0)
		return -1;
	if (!cfg->s2s.enabled)
		return 0;
	return check_listeners(cfg->s2s.listeners, cfg->s2s.nlisteners,
			       "s2s/listen", err, errlen);
}
