/* resolve: the s2s resolver (see resolve.h) on c-ares. Every c-ares
 * socket is watched by a uv_poll_t of its own (ARES_OPT_SOCK_STATE_CB) and
 * c-ares's timeouts by one uv_timer_t. A lookup's callback always runs
 * from an idle handle: never inside c-ares, never inside resolver_lookup.
 *
 * A lookup goes in two rounds: the two SRV queries, then AAAA and A for
 * every target host (or for the domain itself on fallback). What DNS said
 * is kept as an `answer` (records that point at hosts with addresses) and
 * cached as it is; each lookup draws its order of targets from it. */
#include "resolve.h"

#include <ares.h>
#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "../../lib/hash_table.h"
#include "../../lib/log.h"

#define XMPP_SERVER_PORT 5269 /* RFC 6120 §3.2.2 */
#define TRY_TIMEOUT_MS 3000
#define TRIES 2
#define CACHE_TTL_MAX 3600        /* s */
#define CACHE_NEGATIVE_TTL_MAX 60 /* s */
#define CACHE_MIN_BUCKETS 256
#define CACHE_ENTRIES_MAX 1024
#define MAX_RECORDS RESOLVE_MAX_TARGETS
#define DNS_HEADER_SIZE 12
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_SRV 33
#define DNS_CLASS_IN 1

/* ---- what DNS said about a domain ---- */

struct host {
	char name[256];
	size_t n6, n4;
	struct in6_addr addr6[RESOLVE_MAX_TARGETS];
	struct in_addr addr4[RESOLVE_MAX_TARGETS];
};

struct record {
	uint16_t priority, weight, port;
	bool direct_tls;
	uint8_t host; /* index in answer.hosts */
};

struct answer {
	enum resolve_status status;
	size_t nrecord, nhost;
	struct record records[MAX_RECORDS];
	struct host *hosts; /* nhost of them, at most one per record */
};

/* A SRV record as read from a DNS message. */
struct srv_rr {
	uint16_t priority, weight, port;
	bool direct_tls;
	char target[256];
};

/* ---- the resolver ---- */

enum query_kind { QUERY_XMPPS_SRV, QUERY_XMPP_SRV, QUERY_AAAA, QUERY_A };

/* One c-ares query of a lookup: the argument of its callback. */
struct query {
	struct resolve_req *req;
	enum query_kind kind;
	uint8_t host;
};

struct req_list {
	struct resolve_req *head, *tail;
};

struct resolve_req {
	struct resolver *r;
	struct resolve_req *prev, *next;
	struct req_list *list; /* running or done; NULL once cancelled */
	resolve_cb cb;         /* NULL once cancelled or called */
	void *ctx;
	char domain[256];
	unsigned pending; /* c-ares queries not answered yet */
	bool addresses_asked;
	bool failed;      /* a query met a server failure or timeout */
	bool unavailable; /* a lone SRV record with target "." */
	uint32_t ttl;     /* the smallest met, s */
	size_t nsrv;
	struct srv_rr srv[MAX_RECORDS];
	struct answer answer;
	struct host hosts[MAX_RECORDS];
	struct query queries[2 + 2 * MAX_RECORDS];
};

struct resolver_poll {
	uv_poll_t handle;
	struct resolver *r;
	ares_socket_t fd;
	struct resolver_poll *next;
};

struct cache_entry {
	struct hash_link link; /* in resolver->cache */
	uint64_t expires;      /* loop time, ms */
	struct answer answer;
	char domain[];
};

struct resolver {
	uv_loop_t *loop;
	ares_channel channel;
	uv_timer_t timer;
	uv_idle_t deliver;
	struct resolver_poll *polls;
	unsigned handles; /* open or closing; freed when the last closes */
	bool closing;
	struct req_list running, done;
	struct hash_table cache; /* by domain */
};

static void req_next_round(struct resolve_req *req);

/* ---- reading DNS messages (RFC 1035 §4.1), bounds-checked ---- */

struct rr {
	uint16_t type, class;
	uint32_t ttl;
	size_t rdata, rdlen; /* offset in the message, length */
};

struct rr_reader {
	const unsigned char *msg;
	size_t len, pos;
	unsigned answers; /* left to read */
};

static uint16_t get16(const unsigned char *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const unsigned char *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

/* Moves *pos past an encoded name: labels ended by a zero length or by a
 * compression pointer (RFC 1035 §4.1.4). -1 if it leaves the message. */
static int name_skip(const unsigned char *msg, size_t len, size_t *pos)
{
	size_t p = *pos;
	while (p < len) {
		unsigned char c = msg[p];
		if (c == 0) {
			*pos = p + 1;
			return 0;
		}
		if ((c & 0xc0) == 0xc0) {
			if (len - p < 2)
				return -1;
			*pos = p + 2;
			return 0;
		}
		if (c & 0xc0)
			return -1; /* RFC 6891 §5: no other label types */
		p += 1 + (size_t)c;
	}
	return -1;
}

/* Positions rd at the answer section. */
static int rr_reader_init(struct rr_reader *rd, const unsigned char *msg,
			  size_t len)
{
	if (len < DNS_HEADER_SIZE)
		return -1;
	*rd = (struct rr_reader){msg, len, DNS_HEADER_SIZE, get16(msg + 6)};
	for (unsigned q = get16(msg + 4); q > 0; q--) {
		if (name_skip(msg, len, &rd->pos) < 0 || len - rd->pos < 4)
			return -1;
		rd->pos += 4; /* type, class */
	}
	return 0;
}

/* 1 when an answer RR was read into rr, 0 at the end, -1 if malformed. */
static int rr_next(struct rr_reader *rd, struct rr *rr)
{
	if (rd->answers == 0)
		return 0;
	rd->answers--;
	if (name_skip(rd->msg, rd->len, &rd->pos) < 0 || rd->len - rd->pos < 10)
		return -1;
	const unsigned char *p = rd->msg + rd->pos;
	rr->type = get16(p);
	rr->class = get16(p + 2);
	rr->ttl = get32(p + 4);
	rr->rdlen = get16(p + 8);
	rr->rdata = rd->pos + 10;
	if (rd->len - rr->rdata < rr->rdlen)
		return -1;
	rd->pos = rr->rdata + rr->rdlen;
	/* RFC 2181 §8: a TTL with the top bit set is read as zero. */
	if (rr->ttl > INT32_MAX)
		rr->ttl = 0;
	return 1;
}

/* The target "." reads as "". */
static int srv_decode(const unsigned char *msg, size_t len, const struct rr *rr,
		      struct srv_rr *srv)
{
	if (rr->rdlen < 7)
		return -1;
	const unsigned char *p = msg + rr->rdata;
	srv->priority = get16(p);
	srv->weight = get16(p + 2);
	srv->port = get16(p + 4);
	char *name;
	long enclen;
	if (ares_expand_name(p + 6, msg, (int)len, &name, &enclen) !=
	    ARES_SUCCESS)
		return -1;
	int rc = -1;
	if ((size_t)enclen == rr->rdlen - 6 &&
	    strlen(name) < sizeof srv->target) {
		strcpy(srv->target, name);
		rc = 0;
	}
	ares_free_string(name);
	return rc;
}

/* ---- one lookup ---- */

static void req_ttl(struct resolve_req *req, uint32_t ttl)
{
	if (ttl < req->ttl)
		req->ttl = ttl;
}

/* Past MAX_RECORDS, the records of the lowest priority values are kept. */
static void req_keep_srv(struct resolve_req *req, const struct srv_rr *srv)
{
	if (req->nsrv < MAX_RECORDS) {
		req->srv[req->nsrv++] = *srv;
		return;
	}
	size_t worst = 0;
	for (size_t i = 1; i < req->nsrv; i++)
		if (req->srv[i].priority > req->srv[worst].priority)
			worst = i;
	if (srv->priority < req->srv[worst].priority)
		req->srv[worst] = *srv;
}

/* The SRV records of one service. -1 if the message is malformed. */
static int req_read_srv(struct resolve_req *req, const unsigned char *abuf,
			size_t alen, bool direct_tls)
{
	struct rr_reader rd;
	struct rr rr;
	struct srv_rr srv;
	size_t n = 0;
	bool dot = false;
	int rc;
	if (rr_reader_init(&rd, abuf, alen) < 0)
		return -1;
	while ((rc = rr_next(&rd, &rr)) > 0) {
		if (rr.type != DNS_TYPE_SRV || rr.class != DNS_CLASS_IN)
			continue; /* a CNAME on the way */
		if (srv_decode(abuf, alen, &rr, &srv) < 0)
			return -1;
		n++;
		req_ttl(req, rr.ttl);
		if (srv.target[0] == '\0') {
			dot = true;
			continue;
		}
		srv.direct_tls = direct_tls;
		req_keep_srv(req, &srv);
	}
	/* RFC 2782 and RFC 6120 §3.2.1: a single SRV record whose target is
	 * "." means that the service is decidedly not available. */
	if (n == 1 && dot)
		req->unavailable = true;
	return rc;
}

static void req_read_addresses(struct resolve_req *req, struct host *h, bool v6,
			       const unsigned char *abuf, int alen)
{
	int n = RESOLVE_MAX_TARGETS, rc;
	if (v6) {
		struct ares_addr6ttl a[RESOLVE_MAX_TARGETS];
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			memcpy(&h->addr6[i], &a[i].ip6addr, sizeof h->addr6[i]);
			req_ttl(req, a[i].ttl < 0 ? 0 : (uint32_t)a[i].ttl);
		}
		h->n6 = rc == ARES_SUCCESS ? (size_t)n : 0;
	} else {
		struct ares_addrttl a[RESOLVE_MAX_TARGETS];
		rc = ares_parse_a_reply(abuf, alen, NULL, a, &n);
		for (int i = 0; rc == ARES_SUCCESS && i < n; i++) {
			h->addr4[i] = a[i].ipaddr;
			req_ttl(req, a[i].ttl < 0 ? 0 : (uint32_t)a[i].ttl);
		}
		h->n4 = rc == ARES_SUCCESS ? (size_t)n : 0;
	}
	if (rc != ARES_SUCCESS && rc != ARES_ENODATA) {
		log_warn("resolve: %s: bad %s answer for %s: %s", req->domain,
			 v6 ? "AAAA" : "A", h->name, ares_strerror(rc));
		req->failed = true;
	}
}

static const char *query_type_name(enum query_kind kind)
{
	return kind == QUERY_AAAA ? "AAAA" : kind == QUERY_A ? "A" : "SRV";
}

/* NXDOMAIN, no data of that type, or a name that cannot exist: an answer,
 * not a failure. */
static bool status_is_absence(int status)
{
	return status == ARES_ENOTFOUND || status == ARES_ENODATA ||
	       status == ARES_EBADNAME;
}

static void on_answer(void *arg, int status, int timeouts, unsigned char *abuf,
		      int alen)
{
	struct query *q = arg;
	struct resolve_req *req = q->req;
	req->pending--;
	if (!req->cb) { /* cancelled; or the channel is being destroyed */
		if (req->pending == 0)
			free(req);
		return;
	}
	if (status != ARES_SUCCESS) {
		if (!status_is_absence(status)) {
			log_debug("resolve: %s: %s query failed: %s",
				  req->domain, query_type_name(q->kind),
				  ares_strerror(status));
			req->failed = true;
		}
	} else if (q->kind == QUERY_AAAA || q->kind == QUERY_A) {
		req_read_addresses(req, &req->hosts[q->host],
				   q->kind == QUERY_AAAA, abuf, alen);
	} else if (req_read_srv(req, abuf, (size_t)alen,
				q->kind == QUERY_XMPPS_SRV) < 0) {
		log_warn("resolve: %s: malformed SRV answer", req->domain);
		req->failed = true;
	}
	if (req->pending == 0)
		req_next_round(req);
}

static void req_query(struct resolve_req *req, size_t slot,
		      enum query_kind kind, uint8_t host, const char *name)
{
	struct query *q = &req->queries[slot];
	*q = (struct query){req, kind, host};
	int type = kind == QUERY_AAAA ? DNS_TYPE_AAAA
		   : kind == QUERY_A  ? DNS_TYPE_A
				      : DNS_TYPE_SRV;
	/* ares_query, not ares_gethostbyname: DNS only, no /etc/hosts. It
	 * may call on_answer before it returns (a name it cannot encode). */
	ares_query(req->r->channel, name, DNS_CLASS_IN, type, on_answer, q);
}

/* XEP-0368 §3: both services are asked at once. */
static void req_ask_srv(struct resolve_req *req)
{
	static const char *const prefix[] = {"_xmpps-server._tcp.",
					     "_xmpp-server._tcp."};
	req->pending = 2;
	for (size_t i = 0; i < 2; i++) {
		char name[32 + sizeof req->domain];
		snprintf(name, sizeof name, "%s%s", prefix[i], req->domain);
		req_query(req, i, i == 0 ? QUERY_XMPPS_SRV : QUERY_XMPP_SRV, 0,
			  name);
	}
}

static void req_ask_addresses(struct resolve_req *req)
{
	struct answer *a = &req->answer;
	req->addresses_asked = true;
	req->pending = 2 * (unsigned)a->nhost;
	for (uint8_t i = 0; i < a->nhost; i++) {
		req_query(req, 2 + 2 * (size_t)i, QUERY_AAAA, i,
			  a->hosts[i].name);
		req_query(req, 3 + 2 * (size_t)i, QUERY_A, i, a->hosts[i].name);
	}
}

static uint8_t answer_host(struct answer *a, const char *name)
{
	for (size_t i = 0; i < a->nhost; i++)
		if (strcasecmp(a->hosts[i].name, name) == 0)
			return (uint8_t)i;
	struct host *h = &a->hosts[a->nhost];
	strcpy(h->name, name);
	h->n6 = h->n4 = 0;
	return (uint8_t)a->nhost++;
}

static void answer_add(struct answer *a, const struct srv_rr *srv)
{
	a->records[a->nrecord++] = (struct record){
		.priority = srv->priority,
		.weight = srv->weight,
		.port = srv->port,
		.direct_tls = srv->direct_tls,
		.host = answer_host(a, srv->target),
	};
}

/* RFC 6120 §3.2.2: without SRV records, the domain itself on 5269. */
static void answer_fallback(struct resolve_req *req)
{
	struct srv_rr self = {.port = XMPP_SERVER_PORT};
	strcpy(self.target, req->domain);
	answer_add(&req->answer, &self);
}

static bool answer_has_address(const struct answer *a)
{
	for (size_t i = 0; i < a->nhost; i++)
		if (a->hosts[i].n6 + a->hosts[i].n4 > 0)
			return true;
	return false;
}

/* ---- ordering the targets (RFC 2782) ---- */

/* RFC 2782, "Weight": "arrange all SRV RRs (that have not been ordered
 * yet) in any order, except that all those with weight 0 are placed at the
 * beginning of the list". Any order is a random one here, so that records
 * of weight 0 share the first place. */
static void records_arrange(const struct record *rec, uint8_t *order, size_t n)
{
	uint8_t zero_first[MAX_RECORDS];
	size_t k = 0;
	for (size_t i = n; i > 1; i--) {
		size_t j = arc4random_uniform((uint32_t)i);
		uint8_t x = order[i - 1];
		order[i - 1] = order[j];
		order[j] = x;
	}
	for (size_t i = 0; i < n; i++)
		if (rec[order[i]].weight == 0)
			zero_first[k++] = order[i];
	for (size_t i = 0; i < n; i++)
		if (rec[order[i]].weight != 0)
			zero_first[k++] = order[i];
	memcpy(order, zero_first, n);
}

/* RFC 2782, "Weight": draw a number from 0 to the sum of the weights left,
 * inclusive; take the first record whose running sum reaches it; repeat
 * with the rest, which keep their arrangement. A record of weight 0 thus
 * has a small chance to come first. */
static void records_weigh(const struct record *rec, uint8_t *order, size_t n)
{
	records_arrange(rec, order, n);
	for (size_t i = 0; i + 1 < n; i++) {
		uint32_t sum = 0, running = 0;
		for (size_t j = i; j < n; j++)
			sum += rec[order[j]].weight;
		uint32_t draw = arc4random_uniform(sum + 1);
		size_t j = i;
		while ((running += rec[order[j]].weight) < draw)
			j++;
		uint8_t chosen = order[j];
		memmove(order + i + 1, order + i, j - i);
		order[i] = chosen;
	}
}

/* Lowest priority first; within one priority, by weight. */
static void records_order(const struct record *rec, size_t n, uint8_t *order)
{
	for (size_t i = 0; i < n; i++) { /* insertion sort, stable */
		size_t j = i;
		while (j > 0 && rec[order[j - 1]].priority > rec[i].priority) {
			order[j] = order[j - 1];
			j--;
		}
		order[j] = (uint8_t)i;
	}
	for (size_t start = 0, end; start < n; start = end) {
		end = start + 1;
		while (end < n &&
		       rec[order[end]].priority == rec[order[start]].priority)
			end++;
		records_weigh(rec, order + start, end - start);
	}
}

static void target_set(struct resolve_target *t, const struct host *h,
		       const struct record *rec, int family, const void *addr)
{
	memset(t, 0, sizeof *t);
	strcpy(t->host, h->name);
	t->port = rec->port;
	t->direct_tls = rec->direct_tls;
	if (family == AF_INET6) {
		struct sockaddr_in6 *sa = (struct sockaddr_in6 *)&t->addr;
		sa->sin6_family = AF_INET6;
		sa->sin6_port = htons(rec->port);
		memcpy(&sa->sin6_addr, addr, sizeof sa->sin6_addr);
	} else {
		struct sockaddr_in *sa = (struct sockaddr_in *)&t->addr;
		sa->sin_family = AF_INET;
		sa->sin_port = htons(rec->port);
		memcpy(&sa->sin_addr, addr, sizeof sa->sin_addr);
	}
}

/* Every record in order, each with its host's addresses, IPv6 first. */
static size_t answer_targets(const struct answer *a, struct resolve_target *t)
{
	uint8_t order[MAX_RECORDS];
	size_t n = 0;
	records_order(a->records, a->nrecord, order);
	for (size_t i = 0; i < a->nrecord; i++) {
		const struct record *rec = &a->records[order[i]];
		const struct host *h = &a->hosts[rec->host];
		for (size_t k = 0; k < h->n6 && n < RESOLVE_MAX_TARGETS; k++)
			target_set(&t[n++], h, rec, AF_INET6, &h->addr6[k]);
		for (size_t k = 0; k < h->n4 && n < RESOLVE_MAX_TARGETS; k++)
			target_set(&t[n++], h, rec, AF_INET, &h->addr4[k]);
	}
	return n;
}

/* ---- the cache ---- */

static struct cache_entry *cache_entry_of(const struct hash_link *l)
{
	return hash_entry(l, struct cache_entry, link);
}

static uint64_t cache_entry_hash(const struct hash_link *l)
{
	return hash_string(cache_entry_of(l)->domain);
}

static void cache_entry_free(struct resolver *r, struct cache_entry *e)
{
	hash_table_remove(&r->cache, &e->link);
	free(e->answer.hosts);
	free(e);
}

/* domain's entry, or NULL; drops the expired entries met on the way. */
static struct cache_entry *cache_find(struct resolver *r, const char *domain)
{
	uint64_t now = uv_now(r->loop);
	struct hash_link *l = hash_table_chain(&r->cache, hash_string(domain));
	for (struct hash_link *next; l; l = next) {
		next = l->next;
		struct cache_entry *e = cache_entry_of(l);
		if (e->expires <= now)
			cache_entry_free(r, e);
		else if (strcmp(e->domain, domain) == 0)
			return e;
	}
	return NULL;
}

static void cache_drop_expired(struct resolver *r)
{
	uint64_t now = uv_now(r->loop);
	struct hash_link *l, *next;
	hash_table_for_each(&r->cache, l,
			    next) if (cache_entry_of(l)->expires <= now)
		cache_entry_free(r, cache_entry_of(l));
}

static void cache_drop_all(struct resolver *r)
{
	struct hash_link *l, *next;
	hash_table_for_each(&r->cache, l, next)
		cache_entry_free(r, cache_entry_of(l));
	hash_table_free(&r->cache);
}

static void cache_store(struct resolver *r, const char *domain,
			const struct answer *a, uint32_t ttl)
{
	struct cache_entry *old = cache_find(r, domain);
	if (old)
		cache_entry_free(r, old);
	if (r->cache.count >= CACHE_ENTRIES_MAX)
		cache_drop_expired(r);
	if (ttl == 0 || r->cache.count >= CACHE_ENTRIES_MAX)
		return;
	size_t len = strlen(domain);
	struct cache_entry *e = malloc(sizeof *e + len + 1);
	struct host *hosts = malloc(a->nhost * sizeof *hosts + 1);
	if (!e || !hosts) {
		free(e);
		free(hosts);
		return;
	}
	e->answer = *a;
	e->answer.hosts = hosts;
	memcpy(hosts, a->hosts, a->nhost * sizeof *hosts);
	memcpy(e->domain, domain, len + 1);
	e->expires = uv_now(r->loop) + (uint64_t)ttl * 1000;
	if (hash_table_insert(&r->cache, &e->link, hash_string(domain)) < 0) {
		free(e);
		free(hosts);
	}
}

/* ---- requests and their delivery ---- */

static void list_append(struct req_list *l, struct resolve_req *req)
{
	req->list = l;
	req->next = NULL;
	req->prev = l->tail;
	if (l->tail)
		l->tail->next = req;
	else
		l->head = req;
	l->tail = req;
}

static void list_remove(struct resolve_req *req)
{
	struct req_list *l = req->list;
	if (!l)
		return;
	if (req->prev)
		req->prev->next = req->next;
	else
		l->head = req->next;
	if (req->next)
		req->next->prev = req->prev;
	else
		l->tail = req->prev;
	req->prev = req->next = NULL;
	req->list = NULL;
}

static const char *status_name(enum resolve_status status)
{
	static const char *const names[] = {"found", "not found", "failed",
					    "cancelled"};
	return names[status];
}

static void req_call(struct resolve_req *req)
{
	struct resolve_target targets[RESOLVE_MAX_TARGETS];
	size_t n = 0;
	if (req->answer.status == RESOLVE_OK)
		n = answer_targets(&req->answer, targets);
	log_debug("resolve: %s: %s, %zu targets", req->domain,
		  status_name(req->answer.status), n);
	resolve_cb cb = req->cb;
	req->cb = NULL;
	cb(req->ctx, req->answer.status, targets, n);
}

static void on_deliver(uv_idle_t *idle)
{
	struct resolver *r = idle->data;
	struct resolve_req *req;
	while (!r->closing && (req = r->done.head)) {
		list_remove(req);
		req_call(req);
		free(req); /* done: no query pending */
	}
	if (!r->closing && !r->done.head)
		uv_idle_stop(idle);
}

static void req_deliver(struct resolve_req *req)
{
	struct resolver *r = req->r;
	list_remove(req);
	list_append(&r->done, req);
	uv_idle_start(&r->deliver, on_deliver);
}

/* Nothing is cached after a failure, even a partial one. */
static void req_finish(struct resolve_req *req, enum resolve_status status)
{
	uint32_t max =
		status == RESOLVE_OK ? CACHE_TTL_MAX : CACHE_NEGATIVE_TTL_MAX;
	req->answer.status = status;
	if (!req->failed)
		cache_store(req->r, req->domain, &req->answer,
			    req->ttl < max ? req->ttl : max);
	req_deliver(req);
}

/* Called when every query of a round is answered. */
static void req_next_round(struct resolve_req *req)
{
	if (req->addresses_asked) {
		req_finish(req, answer_has_address(&req->answer) ? RESOLVE_OK
				: req->failed ? RESOLVE_FAILED
					      : RESOLVE_NOT_FOUND);
		return;
	}
	/* XEP-0368 §3: the records of both services, merged. RFC 6120
	 * §3.2.2: fall back only when neither name has any SRV record. */
	if (req->nsrv > 0) {
		for (size_t i = 0; i < req->nsrv; i++)
			answer_add(&req->answer, &req->srv[i]);
	} else if (req->failed) {
		req_finish(req, RESOLVE_FAILED);
		return;
	} else if (req->unavailable) {
		req_finish(req, RESOLVE_NOT_FOUND);
		return;
	} else {
		answer_fallback(req);
	}
	req_ask_addresses(req);
}

/* ---- c-ares on the loop ---- */

static void resolver_handle_closed(struct resolver *r)
{
	if (--r->handles == 0 && r->closing)
		free(r);
}

static void on_handle_closed(uv_handle_t *h)
{
	resolver_handle_closed(h->data);
}

static void on_poll_closed(uv_handle_t *h)
{
	struct resolver_poll *p = h->data;
	struct resolver *r = p->r;
	free(p);
	resolver_handle_closed(r);
}

static void on_timer(uv_timer_t *timer);

/* c-ares says when it next needs to look at its timeouts. */
static void resolver_arm_timer(struct resolver *r)
{
	struct timeval tv, *next = ares_timeout(r->channel, NULL, &tv);
	if (!next) {
		uv_timer_stop(&r->timer);
		return;
	}
	uint64_t ms = (uint64_t)next->tv_sec * 1000 +
		      ((uint64_t)next->tv_usec + 999) / 1000;
	uv_timer_start(&r->timer, on_timer, ms, 0);
}

static void on_timer(uv_timer_t *timer)
{
	struct resolver *r = timer->data;
	ares_process_fd(r->channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_arm_timer(r);
}

static void on_poll(uv_poll_t *handle, int status, int events)
{
	struct resolver_poll *p = handle->data;
	struct resolver *r = p->r;
	ares_socket_t rfd = ARES_SOCKET_BAD, wfd = ARES_SOCKET_BAD;
	if (status < 0 || (events & UV_READABLE))
		rfd = p->fd; /* on an error, c-ares's read finds it */
	if (events & UV_WRITABLE)
		wfd = p->fd;
	ares_process_fd(r->channel, rfd, wfd);
	resolver_arm_timer(r);
}

static struct resolver_poll *poll_find(struct resolver *r, ares_socket_t fd)
{
	struct resolver_poll *p = r->polls;
	while (p && p->fd != fd)
		p = p->next;
	return p;
}

static struct resolver_poll *poll_open(struct resolver *r, ares_socket_t fd)
{
	struct resolver_poll *p = calloc(1, sizeof *p);
	if (!p)
		return NULL;
	int rc = uv_poll_init_socket(r->loop, &p->handle, fd);
	if (rc != 0) {
		log_error("resolve: cannot watch DNS socket %d: %s", (int)fd,
			  uv_strerror(rc));
		free(p);
		return NULL;
	}
	p->handle.data = p;
	p->r = r;
	p->fd = fd;
	p->next = r->polls;
	r->polls = p;
	r->handles++;
	return p;
}

static void poll_close(struct resolver *r, struct resolver_poll *p)
{
	struct resolver_poll **link = &r->polls;
	while (*link != p)
		link = &(*link)->next;
	*link = p->next;
	uv_close((uv_handle_t *)&p->handle, on_poll_closed);
}

/* ARES_OPT_SOCK_STATE_CB: c-ares opened, changed or is closing a socket. */
static void on_sock_state(void *data, ares_socket_t fd, int readable,
			  int writable)
{
	struct resolver *r = data;
	if (r->closing)
		return;
	struct resolver_poll *p = poll_find(r, fd);
	if (!readable && !writable) {
		if (p)
			poll_close(r, p);
		return;
	}
	if (!p && !(p = poll_open(r, fd)))
		return; /* the query will time out */
	uv_poll_start(&p->handle,
		      (readable ? UV_READABLE : 0) |
			      (writable ? UV_WRITABLE : 0),
		      on_poll);
}

/* ---- the interface ---- */

static uv_once_t library_once = UV_ONCE_INIT;
static int library_status;

static void library_init(void)
{
	library_status = ares_library_init(ARES_LIB_INIT_ALL);
}

static int server_parse(const char *server, int port,
			struct ares_addr_port_node *node, char *err,
			size_t errlen)
{
	memset(node, 0, sizeof *node);
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "DNS server port %d out of range", port);
		return -1;
	}
	node->udp_port = node->tcp_port = port ? port : 53;
	if (inet_pton(AF_INET, server, &node->addr.addr4) == 1) {
		node->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, server, &node->addr.addr6) == 1) {
		node->family = AF_INET6;
		return 0;
	}
	snprintf(err, errlen, "DNS server \"%s\" is not an IP address", server);
	return -1;
}

static int resolver_init_channel(struct resolver *r, const char *server,
				 int port, char *err, size_t errlen)
{
	struct ares_addr_port_node node;
	if (server && server_parse(server, port, &node, err, errlen) < 0)
		return -1;
	struct ares_options opts = {
		.sock_state_cb = on_sock_state,
		.sock_state_cb_data = r,
		.timeout = TRY_TIMEOUT_MS,
		.tries = TRIES,
	};
	int rc = ares_init_options(&r->channel, &opts,
				   ARES_OPT_SOCK_STATE_CB | ARES_OPT_TIMEOUTMS |
					   ARES_OPT_TRIES);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		return -1;
	}
	if (server &&
	    (rc = ares_set_servers_ports(r->channel, &node)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: DNS server %s: %s", server,
			 ares_strerror(rc));
		ares_destroy(r->channel);
		return -1;
	}
	return 0;
}

struct resolver *resolver_new(uv_loop_t *loop, const char *server, int port,
			      char *err, size_t errlen)
{
	uv_once(&library_once, library_init);
	if (library_status != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s",
			 ares_strerror(library_status));
		return NULL;
	}
	struct resolver *r = calloc(1, sizeof *r);
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	r->loop = loop;
	hash_table_init(&r->cache, cache_entry_hash, CACHE_MIN_BUCKETS);
	if (resolver_init_channel(r, server, port, err, errlen) < 0) {
		free(r);
		return NULL;
	}
	uv_timer_init(loop, &r->timer);
	uv_idle_init(loop, &r->deliver);
	r->timer.data = r->deliver.data = r;
	r->handles = 2;
	return r;
}

static void req_list_cancel(struct req_list *l)
{
	struct resolve_req *req;
	while ((req = l->head)) {
		resolve_cb cb = req->cb;
		void *ctx = req->ctx;
		resolve_cancel(req);
		cb(ctx, RESOLVE_CANCELLED, NULL, 0);
	}
}

void resolver_free(struct resolver *r)
{
	if (!r || r->closing)
		return;
	r->closing = true;
	req_list_cancel(&r->running);
	req_list_cancel(&r->done);
	while (r->polls)
		poll_close(r, r->polls);
	/* Answers every pending query with ARES_EDESTRUCTION: the cancelled
	 * requests free themselves. */
	ares_destroy(r->channel);
	cache_drop_all(r);
	uv_close((uv_handle_t *)&r->timer, on_handle_closed);
	uv_close((uv_handle_t *)&r->deliver, on_handle_closed);
}

struct resolve_req *resolver_lookup(struct resolver *r, const char *domain,
				    resolve_cb cb, void *ctx)
{
	if (r->closing)
		return NULL;
	struct resolve_req *req = calloc(1, sizeof *req);
	if (!req)
		return NULL;
	req->r = r;
	req->cb = cb;
	req->ctx = ctx;
	req->ttl = UINT32_MAX;
	req->answer.hosts = req->hosts;
	list_append(&r->running, req);
	size_t len = strlen(domain);
	if (len == 0 || len >= sizeof req->domain) {
		req->answer.status = RESOLVE_NOT_FOUND;
		req_deliver(req);
		return req;
	}
	memcpy(req->domain, domain, len + 1);
	struct cache_entry *cached = cache_find(r, domain);
	if (cached) {
		req->answer = cached->answer;
		req->answer.hosts = req->hosts;
		memcpy(req->hosts, cached->answer.hosts,
		       cached->answer.nhost * sizeof *req->hosts);
		req_deliver(req);
		return req;
	}
	log_debug("resolve: %s: asking DNS", domain);
	req_ask_srv(req);
	resolver_arm_timer(r);
	return req;
}

void resolve_cancel(struct resolve_req *req)
{
	if (!req)
		return;
	list_remove(req);
	req->cb = NULL;
	if (req->pending == 0)
		free(req);
}
