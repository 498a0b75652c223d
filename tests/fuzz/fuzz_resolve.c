/* fuzz_resolve: the s2s resolver (server/s2s/resolve.c) reading DNS
 * answers: c-ares's parsing and palabre's own (SRV records, RFC 2782),
 * the merge of the two services (XEP-0368), the fallback (RFC 6120
 * §3.2.2), the order drawn by priority and weight, and the cache.
 *
 * resolve.c is compiled into this file with ares_query replaced by a
 * stand-in that queues the query: the harness answers every query with
 * the next message of the input, in the order asked, with no network.
 * Input: messages, each a byte choosing c-ares's status (success, no
 * data, no such name, timeout), a 16-bit length and the DNS message;
 * once they run out, queries are answered "no data". Properties: the
 * lookup ends, once; its targets are at most RESOLVE_MAX_TARGETS, each
 * a named host with an IPv4 or IPv6 address on the target's port; found
 * means at least one; targets come by priority (RFC 2782: lowest first),
 * as far as the records cached for the domain tell; and a second lookup
 * answered from the cache gives the same targets, in some order (unless
 * there were more than RESOLVE_MAX_TARGETS: then which are cut off
 * depends on the order drawn). */
#include <ares.h>
#include <stdbool.h>

#include "fuzz.h"

static void fuzz_ares_query(ares_channel channel, const char *name,
			    int dnsclass, int type, ares_callback callback,
			    void *arg);
#define ares_query fuzz_ares_query
#include "../../server/s2s/resolve.c"
#undef ares_query

/* The queries asked and not answered yet. */
struct asked {
	ares_callback callback;
	void *arg;
};
static struct asked queue[2 + 2 * RESOLVE_MAX_TARGETS + 2];
static size_t queue_len;
static size_t queries_asked; /* by the current lookup */

static void fuzz_ares_query(ares_channel channel, const char *name,
			    int dnsclass, int type, ares_callback callback,
			    void *arg)
{
	FUZZ_CHECK(queue_len < sizeof queue / sizeof *queue,
		   "more queries than a lookup makes");
	queue[queue_len++] = (struct asked){callback, arg};
	queries_asked++;
}

/* The next message of the input, answering the oldest query. */
static void answer_next(const uint8_t **p, const uint8_t *end)
{
	static const int statuses[] = {ARES_SUCCESS, ARES_ENODATA,
				       ARES_ENOTFOUND, ARES_ETIMEOUT};
	struct asked q = queue[0];
	memmove(queue, queue + 1, --queue_len * sizeof *queue);
	if (end - *p < 3) {
		q.callback(q.arg, ARES_ENODATA, 0, NULL, 0);
		return;
	}
	int status = statuses[**p % 4];
	size_t len = (size_t)(*p)[1] << 8 | (*p)[2];
	if (len > (size_t)(end - *p - 3))
		len = (size_t)(end - *p - 3);
	/* An exact copy: ASan sees a read past the message. */
	unsigned char *msg = malloc(len ? len : 1);
	memcpy(msg, *p + 3, len);
	*p += 3 + len;
	q.callback(q.arg, status, 0, status == ARES_SUCCESS ? msg : NULL,
		   status == ARES_SUCCESS ? (int)len : 0);
	free(msg);
}

struct result {
	int calls;
	enum resolve_status status;
	size_t n;
	struct resolve_target t[RESOLVE_MAX_TARGETS];
};

static void check_target(const struct resolve_target *t)
{
	FUZZ_CHECK(memchr(t->host, '\0', sizeof t->host) && t->host[0],
		   "a target without a host");
	FUZZ_CHECK(t->port >= 0 && t->port <= 65535, "port %d", t->port);
	if (t->addr.ss_family == AF_INET6)
		FUZZ_CHECK(ntohs(((const struct sockaddr_in6 *)&t->addr)
					 ->sin6_port) == t->port,
			   "IPv6 port");
	else
		FUZZ_CHECK(t->addr.ss_family == AF_INET &&
				   ntohs(((const struct sockaddr_in *)&t->addr)
						 ->sin_port) == t->port,
			   "family %d", t->addr.ss_family);
}

static void on_result(void *ctx, enum resolve_status status,
		      const struct resolve_target *targets, size_t ntargets)
{
	struct result *res = ctx;
	res->calls++;
	res->status = status;
	FUZZ_CHECK(ntargets <= RESOLVE_MAX_TARGETS, "%zu targets", ntargets);
	FUZZ_CHECK((status == RESOLVE_OK) == (ntargets > 0),
		   "status %d with %zu targets", status, ntargets);
	for (size_t i = 0; i < ntargets; i++)
		check_target(&targets[i]);
	res->n = ntargets;
	memcpy(res->t, targets, ntargets * sizeof *targets);
}

static uv_loop_t loop;

/* The lowest priority of the records that t may come from that is at
 * least floor; -1 if none. */
static long target_priority(const struct answer *a,
			    const struct resolve_target *t, long floor)
{
	long best = -1;
	for (size_t i = 0; i < a->nrecord; i++) {
		const struct record *rec = &a->records[i];
		if (rec->port != t->port || rec->direct_tls != t->direct_tls ||
		    strcmp(a->hosts[rec->host].name, t->host) != 0 ||
		    rec->priority < floor)
			continue;
		if (best < 0 || rec->priority < best)
			best = rec->priority;
	}
	return best;
}

/* The targets in an order of non-decreasing priority (chosen greedily:
 * the lowest that fits keeps the most room for the next). */
static void check_order(struct resolver *r, const struct result *res)
{
	struct cache_entry *e = cache_find(r, "example.org");
	if (!e || res->status != RESOLVE_OK)
		return;
	long floor = 0;
	for (size_t i = 0; i < res->n; i++) {
		floor = target_priority(&e->answer, &res->t[i], floor);
		FUZZ_CHECK(floor >= 0,
			   "target %zu (%s port %d) out of order "
			   "or from no record",
			   i, res->t[i].host, res->t[i].port);
	}
}

/* One lookup of example.org, its queries answered from the input. */
static void lookup(struct resolver *r, struct result *res, const uint8_t **p,
		   const uint8_t *end)
{
	queries_asked = 0;
	FUZZ_CHECK(resolver_lookup(r, "example.org", on_result, res) != NULL,
		   "resolver_lookup");
	while (queue_len > 0)
		answer_next(p, end);
	while (res->calls == 0 && uv_run(&loop, UV_RUN_NOWAIT))
		;
	FUZZ_CHECK(res->calls == 1, "%d calls", res->calls);
}

/* Targets compare whole: target_set zeroes each one first. */
static int target_compare(const void *a, const void *b)
{
	return memcmp(a, b, sizeof(struct resolve_target));
}

static void check_same_targets(struct result *a, struct result *b)
{
	FUZZ_CHECK(a->status == b->status && a->n == b->n,
		   "from the cache: status %d, %zu targets; first %d, %zu",
		   b->status, b->n, a->status, a->n);
	qsort(a->t, a->n, sizeof *a->t, target_compare);
	qsort(b->t, b->n, sizeof *b->t, target_compare);
	FUZZ_CHECK(memcmp(a->t, b->t, a->n * sizeof *a->t) == 0,
		   "other targets from the cache");
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	fuzz_quiet();
	FUZZ_CHECK(uv_loop_init(&loop) == 0, "uv_loop_init");
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[256];
	struct result first, second;
	const uint8_t *p = data, *end = data + size;
	struct resolver *r =
		resolver_new(&loop, "127.0.0.1", 53, err, sizeof err);
	FUZZ_CHECK(r != NULL, "resolver_new: %s", err);
	memset(&first, 0, sizeof first);
	memset(&second, 0, sizeof second);
	lookup(r, &first, &p, end);
	check_order(r, &first);
	lookup(r, &second, &p, end);
	check_order(r, &second);
	if (queries_asked == 0 && first.n < RESOLVE_MAX_TARGETS)
		check_same_targets(&first, &second);
	resolver_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	return 0;
}
