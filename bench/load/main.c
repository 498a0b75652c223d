/* xmppload: the parent process — checks the limits, forks the workers,
 * holds them at the barrier between setup and the measured phase, and
 * sums their reports (see README.md). */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xmppload.h"

struct child {
	pid_t pid;
	int fd;
	bool ready, reported, gone;
	uint64_t open;
};

static struct child *children;
static int nchildren;

/* SIGINT, SIGTERM: the workers stop too (by their pids). */
static void on_signal(int sig)
{
	for (int i = 0; i < nchildren; i++)
		if (children[i].pid > 0)
			kill(children[i].pid, SIGTERM);
	signal(sig, SIG_DFL);
}

/* Descriptors: every session a socket, a few for the loop. */
static int check_files(const struct options *o)
{
	uint32_t most = 0;
	for (int i = 0; i < o->processes; i++) {
		uint64_t base;
		uint32_t count;
		options_share(o, i, &base, &count);
		uint32_t slots = options_slots(o, count);
		most = slots > most ? slots : most;
	}
	rlim_t need = (rlim_t)most + 64;
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return 0;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max >= need) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == 0)
			return 0;
	}
	fprintf(stderr,
		"xmppload: %u sessions per process need %llu file "
		"descriptors, and RLIMIT_NOFILE allows %llu: use more "
		"--processes "
		"(about %llu)\n",
		most, (unsigned long long)need, (unsigned long long)rl.rlim_max,
		(unsigned long long)((uint64_t)most * o->processes /
					     (rl.rlim_max > 64
						      ? rl.rlim_max - 64
						      : 1) +
				     1));
	return -1;
}

/* Connections at once must fit the ports of the source addresses. */
static int check_ports(const struct options *o)
{
	long low = 32768, high = 60999;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	if (f) {
		if (fscanf(f, "%ld %ld", &low, &high) != 2)
			low = 32768, high = 60999;
		fclose(f);
	}
	uint64_t sources =
		o->source_first ? o->source_last - o->source_first + 1 : 1;
	uint64_t total = 0;
	for (int i = 0; i < o->processes; i++) {
		uint64_t base;
		uint32_t count;
		options_share(o, i, &base, &count);
		total += options_slots(o, count);
	}
	if (total <= (uint64_t)(high - low + 1) * sources)
		return 0;
	fprintf(stderr,
		"xmppload: %" PRIu64 " connections at once do not fit in "
		"%ld local ports x %" PRIu64
		" source address(es): give --sources "
		"(e.g. 127.0.0.2-127.0.0.250)\n",
		total, high - low + 1, sources);
	return -1;
}

static int read_exact(int fd, void *p, size_t n)
{
	char *c = p;
	while (n) {
		ssize_t r = read(fd, c, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		c += r;
		n -= (size_t)r;
	}
	return 0;
}

/* One message from child c; false when it is gone. */
static bool read_message(struct child *c, struct report *total)
{
	char type;
	if (read_exact(c->fd, &type, 1) < 0) {
		c->gone = true;
		return false;
	}
	if (type == MSG_READY &&
	    read_exact(c->fd, &c->open, sizeof c->open) == 0) {
		c->ready = true;
		return true;
	}
	static struct report r;
	if (type == MSG_REPORT && read_exact(c->fd, &r, sizeof r) == 0) {
		report_merge(total, &r);
		c->reported = c->ready = true;
		return true;
	}
	c->gone = true;
	return false;
}

/* Reads messages until every child is ready (or reported: until
 * reported), or gone. */
static void wait_children(struct report *total, bool reports)
{
	struct pollfd *p = calloc((size_t)nchildren, sizeof *p);
	if (!p)
		return;
	for (;;) {
		int n = 0;
		for (int i = 0; i < nchildren; i++) {
			struct child *c = &children[i];
			if (c->gone || c->reported || (!reports && c->ready))
				continue;
			p[n++] = (struct pollfd){.fd = c->fd, .events = POLLIN};
		}
		if (n == 0)
			break;
		if (poll(p, (nfds_t)n, -1) < 0 && errno != EINTR)
			break;
		for (int k = 0; k < n; k++) {
			if (!p[k].revents)
				continue;
			for (int i = 0; i < nchildren; i++)
				if (children[i].fd == p[k].fd)
					read_message(&children[i], total);
		}
	}
	free(p);
}

static int spawn_workers(const struct options *o)
{
	children = calloc((size_t)o->processes, sizeof *children);
	if (!children)
		return -1;
	for (int i = 0; i < o->processes; i++) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) <
		    0) {
			perror("xmppload: socketpair");
			return -1;
		}
		fflush(NULL);
		pid_t pid = fork();
		if (pid < 0) {
			perror("xmppload: fork");
			return -1;
		}
		if (pid == 0) {
			close(sv[0]);
			for (int k = 0; k < i; k++)
				close(children[k].fd);
			signal(SIGINT, SIG_DFL);
			signal(SIGTERM, SIG_DFL);
			_exit(worker_main(o, i, sv[1]));
		}
		close(sv[1]);
		children[i] = (struct child){.pid = pid, .fd = sv[0]};
		nchildren = i + 1;
	}
	return 0;
}

/* How often the parent waits for every worker: muc twice (before the
 * joins, before the messages), the others once (before the measured
 * phase). */
static int barriers(const struct options *o)
{
	return o->scenario == SCENARIO_MUC ? 2 : 1;
}

static void sleep_s(double s)
{
	struct timespec t = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

static void announce(const char *what, uint64_t n)
{
	fprintf(stderr, "%s %" PRIu64 "\n", what, n);
	fflush(stderr);
}

/* Barrier b: waits until every worker is ready, tells a driver, which
 * can act then (measure the server's memory, stop a directory), and
 * lets the workers go on. muc waits --hold seconds after each of its
 * lines, so that the server settles before it is measured. */
static void barrier(const struct options *o, struct report *total, int b)
{
	wait_children(total, false);
	uint64_t n = 0;
	for (int i = 0; i < nchildren; i++) {
		n += children[i].open;
		children[i].ready = children[i].reported;
	}
	if (o->scenario != SCENARIO_MUC) {
		announce(o->scenario == SCENARIO_IDLE ? "HOLDING" : "RUNNING",
			 n);
	} else {
		announce(b == 0 ? "JOINING" : "JOINED", n);
		sleep_s(o->hold);
		if (b == 1)
			announce("RUNNING", n);
	}
	for (int i = 0; i < nchildren; i++) {
		char go = MSG_GO;
		if (!children[i].gone && !children[i].reported &&
		    write(children[i].fd, &go, 1) != 1)
			children[i].gone = true;
	}
}

static double seconds_of(struct timeval t)
{
	return (double)t.tv_sec + (double)t.tv_usec / 1e6;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	static struct options o;
	static struct report total;
	if (options_parse(&o, argc, argv) < 0)
		return 2;
	if (o.source_first && o.server.ss_family != AF_INET) {
		fputs("xmppload: --sources are IPv4: --connect an IPv4 "
		      "address\n",
		      stderr);
		return 2;
	}
	if (check_files(&o) < 0 || check_ports(&o) < 0)
		return 2;
	signal(SIGPIPE, SIG_IGN);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	double start = now_s();
	int failed = spawn_workers(&o) < 0;

	for (int b = 0; b < barriers(&o); b++)
		barrier(&o, &total, b);
	wait_children(&total, true);

	for (int i = 0; i < nchildren; i++) {
		int status;
		while (waitpid(children[i].pid, &status, 0) < 0 &&
		       errno == EINTR)
			;
		if (!children[i].reported || !WIFEXITED(status) ||
		    WEXITSTATUS(status) != 0) {
			fprintf(stderr,
				"xmppload: worker %d (pid %d) ended without "
				"its "
				"report\n",
				i, (int)children[i].pid);
			failed = 1;
		}
		children[i].pid = 0;
		close(children[i].fd);
	}
	struct rusage self, kids;
	getrusage(RUSAGE_SELF, &self);
	getrusage(RUSAGE_CHILDREN, &kids);
	total.cpu_s = seconds_of(self.ru_utime) + seconds_of(self.ru_stime) +
		      seconds_of(kids.ru_utime) + seconds_of(kids.ru_stime);
	uint64_t mine = report_rss_kib(); /* not per session: in the base too */
	total.rss_kib += mine;
	total.rss_base_kib += mine;
	total.elapsed_s = now_s() - start;
	if (report_write(&total, &o, o.report) < 0)
		failed = 1;
	free(children);
	return failed;
}
