/* s2s resolve: lookups against a real dnsmasq that each test starts on
 * 127.0.0.1 with the records below. --local=/test/ makes every other name
 * under .test NXDOMAIN, and nothing is forwarded: no query leaves the
 * machine. Names outside .test are REFUSED, a server failure (except those
 * given a record below, under .invalid). */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../server/s2s/resolve.h"
#include "unit.h"

static const char *const records[] = {
	/* a.test: two priorities, listed highest first */
	"--srv-host=_xmpp-server._tcp.a.test,second.a.test,5270,20,0",
	"--srv-host=_xmpp-server._tcp.a.test,first.a.test,5269,10,0",
	"--host-record=first.a.test,127.0.0.2,::2",
	"--host-record=second.a.test,127.0.0.3",
	/* m.test: both services (XEP-0368), one host in both */
	"--srv-host=_xmpps-server._tcp.m.test,tls.m.test,5223,5,0",
	"--srv-host=_xmpp-server._tcp.m.test,plain.m.test,5269,10,0",
	"--srv-host=_xmpp-server._tcp.m.test,tls.m.test,5269,20,0",
	"--host-record=tls.m.test,127.0.0.4",
	"--host-record=plain.m.test,127.0.0.5",
	/* w.test: weights 90 and 10 at one priority, a backup after */
	"--srv-host=_xmpp-server._tcp.w.test,heavy.w.test,5269,10,90",
	"--srv-host=_xmpp-server._tcp.w.test,light.w.test,5269,10,10",
	"--srv-host=_xmpp-server._tcp.w.test,backup.w.test,5269,20,0",
	"--host-record=heavy.w.test,127.0.1.1",
	"--host-record=light.w.test,127.0.1.2",
	"--host-record=backup.w.test,127.0.1.3",
	/* z.test: weight 0 beside weight 10 */
	"--srv-host=_xmpp-server._tcp.z.test,zero.z.test,5269,10,0",
	"--srv-host=_xmpp-server._tcp.z.test,ten.z.test,5269,10,10",
	"--host-record=zero.z.test,127.0.2.1",
	"--host-record=ten.z.test,127.0.2.2",
	/* f.test: no SRV at all, addresses of its own */
	"--host-record=f.test,127.0.0.6,::6",
	/* dot.test: the xmpp-server service is decidedly not available,
	 * although the domain has an address */
	"--srv-host=_xmpp-server._tcp.dot.test",
	"--host-record=dot.test,127.0.0.7",
	/* dotx.test: "." for xmpps-server only */
	"--srv-host=_xmpps-server._tcp.dotx.test",
	"--srv-host=_xmpp-server._tcp.dotx.test,in.dotx.test,5269,0,0",
	"--host-record=in.dotx.test,127.0.0.8",
	/* ghost.test: a SRV target without any address */
	"--srv-host=_xmpp-server._tcp.ghost.test,nowhere.ghost.test,5269,0,0",
	/* ttl0.test: an address that may not be cached */
	"--host-record=ttl0.test,127.0.0.9,0",
	/* sf.invalid: SRV queries fail, the domain has an address */
	"--host-record=sf.invalid,127.0.0.10",
	/* half.invalid: xmpps-server fails, xmpp-server answers */
	"--srv-host=_xmpp-server._tcp.half.invalid,in.half.test,5269,0,0",
	"--host-record=in.half.test,127.0.0.11",
	/* far.test: the target's address queries fail */
	"--srv-host=_xmpp-server._tcp.far.test,host.invalid,5269,0,0",
};

static pid_t dnsmasq_pid;
static int dns_port;
static uv_loop_t loop;

/* ---- dnsmasq ---- */

static int port_bind(int type, int port)
{
	int fd = socket(AF_INET, type, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, len) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

/* A port free for both UDP and TCP on 127.0.0.1. */
static int free_port(void)
{
	for (int i = 0; i < 50; i++) {
		int port = port_bind(SOCK_DGRAM, 0);
		if (port > 0 && port_bind(SOCK_STREAM, port) == port)
			return port;
	}
	return -1;
}

static bool tcp_answers(int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	bool ok = connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0;
	close(fd);
	return ok;
}

static void dnsmasq_exec(void)
{
	char port_arg[32];
	const char *argv[64] = {
		"dnsmasq",
		/* foreground, no pid file, no change of user (which would
		 * clear the parent-death signal), no TCP children */
		"--no-daemon", "--conf-file=/dev/null", "--no-resolv",
		"--no-hosts", "--bind-interfaces", "--listen-address=127.0.0.1",
		port_arg, "--local=/test/",
		/* records from the command line have TTL 0 otherwise */
		"--local-ttl=300"};
	size_t n = 10;
	snprintf(port_arg, sizeof port_arg, "--port=%d", dns_port);
	for (size_t i = 0; i < sizeof records / sizeof *records; i++)
		argv[n++] = records[i];
	argv[n] = NULL;
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	int null = open("/dev/null", O_WRONLY);
	dup2(null, STDOUT_FILENO);
	dup2(null, STDERR_FILENO);
	execv("/usr/sbin/dnsmasq", (char *const *)argv);
	execvp("dnsmasq", (char *const *)argv);
	_exit(127);
}

static void dnsmasq_stop(void)
{
	if (dnsmasq_pid <= 0)
		return;
	kill(dnsmasq_pid, SIGTERM);
	waitpid(dnsmasq_pid, NULL, 0);
	dnsmasq_pid = 0;
}

/* On port, or on a free one if 0. */
static void dnsmasq_start(int port)
{
	dns_port = port ? port : free_port();
	ck_assert_int_gt(dns_port, 0);
	dnsmasq_pid = fork();
	ck_assert_int_ge(dnsmasq_pid, 0);
	if (dnsmasq_pid == 0)
		dnsmasq_exec();
	for (int i = 0; i < 500 && !tcp_answers(dns_port); i++) {
		int status;
		if (waitpid(dnsmasq_pid, &status, WNOHANG) == dnsmasq_pid) {
			dnsmasq_pid = 0;
			ck_abort_msg("dnsmasq exited (status %d): is "
				     "dnsmasq-base installed?",
				     status);
		}
		usleep(10000);
	}
	ck_assert_msg(tcp_answers(dns_port), "dnsmasq does not answer");
}

static void setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
	dnsmasq_start(0);
}

static void teardown(void)
{
	dnsmasq_stop();
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* ---- lookups ---- */

struct result {
	int calls;
	enum resolve_status status;
	size_t n;
	struct resolve_target t[RESOLVE_MAX_TARGETS];
	bool freeing; /* the callback frees the resolver */
	struct resolver *r;
};

static void on_result(void *ctx, enum resolve_status status,
		      const struct resolve_target *targets, size_t ntargets)
{
	struct result *res = ctx;
	res->calls++;
	res->status = status;
	res->n = ntargets;
	if (ntargets)
		memcpy(res->t, targets, ntargets * sizeof *targets);
	if (res->freeing) {
		resolver_free(res->r);
		ck_assert_ptr_null(
			resolver_lookup(res->r, "a.test", on_result, res));
	}
}

static struct resolver *resolver_at(int port)
{
	char err[256] = "";
	struct resolver *r =
		resolver_new(&loop, "127.0.0.1", port, err, sizeof err);
	ck_assert_msg(r != NULL, "resolver_new: %s", err);
	return r;
}

/* Runs the loop until res's callback is called. */
static void wait_for(struct result *res)
{
	while (res->calls == 0 && uv_run(&loop, UV_RUN_ONCE))
		;
	ck_assert_int_eq(res->calls, 1);
}

static void lookup(struct resolver *r, const char *domain, struct result *res)
{
	memset(res, 0, sizeof *res);
	ck_assert_ptr_nonnull(resolver_lookup(r, domain, on_result, res));
	ck_assert_int_eq(res->calls, 0);
	wait_for(res);
}

static void target_is(const struct resolve_target *t, const char *host,
		      const char *ip, int port, bool direct_tls)
{
	char text[INET6_ADDRSTRLEN] = "";
	int sa_port;
	if (t->addr.ss_family == AF_INET6) {
		const struct sockaddr_in6 *sa = (const void *)&t->addr;
		inet_ntop(AF_INET6, &sa->sin6_addr, text, sizeof text);
		sa_port = ntohs(sa->sin6_port);
	} else {
		const struct sockaddr_in *sa = (const void *)&t->addr;
		ck_assert_int_eq(sa->sin_family, AF_INET);
		inet_ntop(AF_INET, &sa->sin_addr, text, sizeof text);
		sa_port = ntohs(sa->sin_port);
	}
	ck_assert_str_eq(t->host, host);
	ck_assert_str_eq(text, ip);
	ck_assert_int_eq(t->port, port);
	ck_assert_int_eq(sa_port, port);
	ck_assert(t->direct_tls == direct_tls);
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

START_TEST(priority_order)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 3);
	target_is(&res.t[0], "first.a.test", "::2", 5269, false);
	target_is(&res.t[1], "first.a.test", "127.0.0.2", 5269, false);
	target_is(&res.t[2], "second.a.test", "127.0.0.3", 5270, false);
	resolver_free(r);
}
END_TEST

START_TEST(both_services_merged)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "m.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 3);
	target_is(&res.t[0], "tls.m.test", "127.0.0.4", 5223, true);
	target_is(&res.t[1], "plain.m.test", "127.0.0.5", 5269, false);
	target_is(&res.t[2], "tls.m.test", "127.0.0.4", 5269, false);
	resolver_free(r);
}
END_TEST

/* How often heavy.w.test comes first in 200 lookups, each on a new
 * resolver (fresh DNS) or all on one (from the cache after the first). */
static int heavy_first(bool fresh)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	int heavy = 0, light = 0;
	for (int i = 0; i < 200; i++) {
		if (fresh && i > 0) {
			resolver_free(r);
			r = resolver_at(dns_port);
		}
		lookup(r, "w.test", &res);
		ck_assert_int_eq(res.status, RESOLVE_OK);
		ck_assert_uint_eq(res.n, 3);
		target_is(&res.t[2], "backup.w.test", "127.0.1.3", 5269, false);
		if (strcmp(res.t[0].host, "heavy.w.test") == 0) {
			target_is(&res.t[1], "light.w.test", "127.0.1.2", 5269,
				  false);
			heavy++;
		} else {
			target_is(&res.t[0], "light.w.test", "127.0.1.2", 5269,
				  false);
			light++;
		}
	}
	resolver_free(r);
	/* 90 % expected: 180 ± 4.2. Light first never in 200 draws:
	 * 0.9^200 < 1e-9. */
	ck_assert_int_ge(light, 1);
	ck_assert_int_ge(heavy, 140);
	return heavy;
}

START_TEST(weighted_order_fresh)
{
	heavy_first(true);
}
END_TEST

START_TEST(weighted_order_drawn_again_from_cache)
{
	heavy_first(false);
}
END_TEST

/* RFC 2782: weight 0 beside weight 10 comes first 1 time in 11. */
START_TEST(weight_zero_small_chance)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	int zero = 0;
	for (int i = 0; i < 400; i++) {
		lookup(r, "z.test", &res);
		ck_assert_int_eq(res.status, RESOLVE_OK);
		ck_assert_uint_eq(res.n, 2);
		zero += strcmp(res.t[0].host, "zero.z.test") == 0;
	}
	resolver_free(r);
	/* 36 ± 5.7 expected */
	ck_assert_int_ge(zero, 8);
	ck_assert_int_le(zero, 80);
}
END_TEST

START_TEST(fallback_to_domain_on_5269)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "f.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 2);
	target_is(&res.t[0], "f.test", "::6", 5269, false);
	target_is(&res.t[1], "f.test", "127.0.0.6", 5269, false);
	resolver_free(r);
}
END_TEST

START_TEST(unknown_domain_not_found)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "nothing.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	ck_assert_uint_eq(res.n, 0);
	resolver_free(r);
}
END_TEST

START_TEST(dot_target_not_found_no_fallback)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "dot.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	ck_assert_uint_eq(res.n, 0);
	resolver_free(r);
}
END_TEST

START_TEST(dot_for_one_service_only)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "dotx.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 1);
	target_is(&res.t[0], "in.dotx.test", "127.0.0.8", 5269, false);
	resolver_free(r);
}
END_TEST

START_TEST(target_without_address_not_found)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "ghost.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	resolver_free(r);
}
END_TEST

/* dnsmasq answers REFUSED outside .test: it forwards nowhere. */
START_TEST(refused_is_failed)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "example.invalid", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	resolver_free(r);
}
END_TEST

START_TEST(cache_answers_without_dns)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	lookup(r, "nothing.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	lookup(r, "ttl0.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	dnsmasq_stop();

	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 3);
	target_is(&res.t[0], "first.a.test", "::2", 5269, false);
	target_is(&res.t[2], "second.a.test", "127.0.0.3", 5270, false);
	lookup(r, "nothing.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	/* TTL 0: not kept; and the server is gone */
	lookup(r, "ttl0.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	resolver_free(r);
}
END_TEST

/* RFC 6120 §3.2.2: no fallback when the SRV lookup itself failed. */
START_TEST(srv_failure_no_fallback)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "sf.invalid", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	resolver_free(r);
}
END_TEST

START_TEST(address_failure_is_failed)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "far.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	resolver_free(r);
}
END_TEST

START_TEST(failures_are_not_cached)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	int port = dns_port;
	dnsmasq_stop();
	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	dnsmasq_start(port);
	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	resolver_free(r);
}
END_TEST

/* One service failed: the other's targets, but only this once. */
START_TEST(partial_failure_not_cached)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "half.invalid", &res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	ck_assert_uint_eq(res.n, 1);
	target_is(&res.t[0], "in.half.test", "127.0.0.11", 5269, false);
	dnsmasq_stop();
	lookup(r, "half.invalid", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	resolver_free(r);
}
END_TEST

START_TEST(callback_never_inside_lookup)
{
	struct resolver *r = resolver_at(dns_port);
	struct result res;
	lookup(r, "a.test", &res);
	/* cached now: still delivered from the loop */
	memset(&res, 0, sizeof res);
	ck_assert_ptr_nonnull(resolver_lookup(r, "a.test", on_result, &res));
	ck_assert_int_eq(res.calls, 0);
	wait_for(&res);
	ck_assert_int_eq(res.status, RESOLVE_OK);
	/* so is a name that cannot exist */
	char long_name[300];
	memset(long_name, 'x', sizeof long_name - 1);
	long_name[sizeof long_name - 1] = '\0';
	lookup(r, long_name, &res);
	ck_assert_int_eq(res.status, RESOLVE_NOT_FOUND);
	resolver_free(r);
}
END_TEST

START_TEST(cancel_runs_no_callback)
{
	struct resolver *r = resolver_at(dns_port);
	struct result fresh = {0}, cached = {0}, check;
	lookup(r, "m.test", &check);
	resolve_cancel(resolver_lookup(r, "a.test", on_result, &fresh));
	resolve_cancel(resolver_lookup(r, "m.test", on_result, &cached));
	/* every query answered, every handle idle: the loop ends */
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(fresh.calls, 0);
	ck_assert_int_eq(cached.calls, 0);
	/* the cancelled lookup did not disturb the cache */
	lookup(r, "f.test", &check);
	ck_assert_int_eq(check.status, RESOLVE_OK);
	resolver_free(r);
}
END_TEST

START_TEST(free_cancels_pending)
{
	struct resolver *r = resolver_at(dns_port);
	struct result fresh = {0}, cached = {0}, check;
	lookup(r, "m.test", &check);
	ck_assert_ptr_nonnull(resolver_lookup(r, "a.test", on_result, &fresh));
	ck_assert_ptr_nonnull(resolver_lookup(r, "m.test", on_result, &cached));
	resolver_free(r);
	ck_assert_int_eq(fresh.calls, 1);
	ck_assert_int_eq(fresh.status, RESOLVE_CANCELLED);
	ck_assert_int_eq(cached.calls, 1);
	ck_assert_int_eq(cached.status, RESOLVE_CANCELLED);
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(fresh.calls, 1);
	ck_assert_int_eq(cached.calls, 1);
}
END_TEST

START_TEST(free_from_a_callback)
{
	struct resolver *r = resolver_at(dns_port);
	struct result first = {0}, second = {0}, check;
	lookup(r, "a.test", &check);
	first.freeing = true;
	first.r = r;
	ck_assert_ptr_nonnull(resolver_lookup(r, "a.test", on_result, &first));
	ck_assert_ptr_nonnull(resolver_lookup(r, "a.test", on_result, &second));
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(first.calls, 1);
	ck_assert_int_eq(first.status, RESOLVE_OK);
	ck_assert_int_eq(second.calls, 1);
	ck_assert_int_eq(second.status, RESOLVE_CANCELLED);
}
END_TEST

/* ---- without dnsmasq ---- */

static void loop_setup(void)
{
	ck_assert_int_eq(uv_loop_init(&loop), 0);
}

static void loop_teardown(void)
{
	uv_run(&loop, UV_RUN_DEFAULT);
	ck_assert_int_eq(uv_loop_close(&loop), 0);
}

/* A UDP socket that reads nothing: every query times out. */
START_TEST(silent_server_fails_in_time)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof sa;
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, len), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	struct resolver *r = resolver_at(ntohs(sa.sin_port));
	struct result res;
	double start = seconds();
	lookup(r, "a.test", &res);
	double took = seconds() - start;
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	ck_assert_msg(took >= 2.5 && took <= 15, "failed after %.1f s", took);
	resolver_free(r);
	close(fd);
}
END_TEST

START_TEST(closed_port_fails)
{
	struct resolver *r = resolver_at(free_port());
	struct result res;
	double start = seconds();
	lookup(r, "a.test", &res);
	ck_assert_int_eq(res.status, RESOLVE_FAILED);
	ck_assert_double_le(seconds() - start, 15);
	resolver_free(r);
}
END_TEST

START_TEST(bad_server_refused)
{
	char err[256] = "";
	ck_assert_ptr_null(
		resolver_new(&loop, "dns.example", 0, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "dns.example"));
	ck_assert_ptr_null(resolver_new(&loop, "::1", 70000, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "70000"));
	struct resolver *r = resolver_new(&loop, "::1", 0, err, sizeof err);
	ck_assert_ptr_nonnull(r);
	resolver_free(r);
	r = resolver_new(&loop, NULL, 0, err, sizeof err);
	ck_assert_ptr_nonnull(r);
	resolver_free(r);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("s2s_resolve");
	TCase *tc = tcase_create("dnsmasq");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, priority_order);
	tcase_add_test(tc, both_services_merged);
	tcase_add_test(tc, weighted_order_fresh);
	tcase_add_test(tc, weighted_order_drawn_again_from_cache);
	tcase_add_test(tc, weight_zero_small_chance);
	tcase_add_test(tc, fallback_to_domain_on_5269);
	tcase_add_test(tc, unknown_domain_not_found);
	tcase_add_test(tc, dot_target_not_found_no_fallback);
	tcase_add_test(tc, dot_for_one_service_only);
	tcase_add_test(tc, target_without_address_not_found);
	tcase_add_test(tc, refused_is_failed);
	tcase_add_test(tc, cache_answers_without_dns);
	tcase_add_test(tc, srv_failure_no_fallback);
	tcase_add_test(tc, address_failure_is_failed);
	tcase_add_test(tc, failures_are_not_cached);
	tcase_add_test(tc, partial_failure_not_cached);
	tcase_add_test(tc, callback_never_inside_lookup);
	tcase_add_test(tc, cancel_runs_no_callback);
	tcase_add_test(tc, free_cancels_pending);
	tcase_add_test(tc, free_from_a_callback);
	suite_add_tcase(s, tc);

	TCase *tf = tcase_create("no answer");
	tcase_add_checked_fixture(tf, loop_setup, loop_teardown);
	tcase_set_timeout(tf, 30);
	tcase_add_test(tf, silent_server_fails_in_time);
	tcase_add_test(tf, closed_port_fails);
	tcase_add_test(tf, bad_server_refused);
	suite_add_tcase(s, tf);
	return unit_run(s);
}
