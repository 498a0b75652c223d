/* options: the command line of xmppload (see README.md). */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xmppload.h"

static const char usage_text[] =
	"usage: xmppload --connect HOST:PORT --domain D [options]\n"
	"  --users FMT        account name format with one %d (bench%d)\n"
	"  --first K          first account index (0)\n"
	"  --password P       (bench-Secret-1)\n"
	"  --sessions N       sessions in total (100)\n"
	"  --processes P      worker processes (1)\n"
	"  --sources A-B      loopback source addresses, round-robin\n"
	"  --rate R           new sessions per second in total (0: no limit)\n"
	"  --concurrency C    logins in progress per process (100)\n"
	"  --tls starttls|direct|none             (starttls)\n"
	"  --resume           resume TLS sessions (tickets) within a process\n"
	"  --mech PLAIN|SCRAM-SHA-1|SCRAM-SHA-256 (PLAIN)\n"
	"  --scenario idle|login|chat|presence|roster-setup|muc (idle)\n"
	"  --hold S           idle: seconds to hold the sessions; muc: "
	"seconds\n"
	"                     before the joins and before the messages (10)\n"
	"  --duration S       login, chat, presence, muc: seconds measured "
	"(10)\n"
	"  --msg-rate R       chat, muc: messages per second in total (0: "
	"saturation)\n"
	"  --window W         chat, muc at saturation: messages in flight per "
	"sender (8)\n"
	"  --rooms R          muc: rooms, sessions split among them (1)\n"
	"  --senders S        muc: sessions that send (10)\n"
	"  --muc-service D    muc: the rooms' service (conference.DOMAIN)\n"
	"  --contacts K       presence, roster-setup: contacts per user (5)\n"
	"  --report FILE      JSON report (stdout)\n"
	"  --timeout S        per-step timeout (30)\n"
	"See bench/load/README.md.\n";

static const char *const scenario_names[] = {
	[SCENARIO_IDLE] = "idle",
	[SCENARIO_LOGIN] = "login",
	[SCENARIO_CHAT] = "chat",
	[SCENARIO_PRESENCE] = "presence",
	[SCENARIO_ROSTER_SETUP] = "roster-setup",
	[SCENARIO_MUC] = "muc",
};

const char *options_scenario_name(enum scenario_kind k)
{
	return scenario_names[k];
}

static int bad(const char *option, const char *value, const char *why)
{
	fprintf(stderr, "xmppload: %s %s: %s\n", option, value, why);
	return -1;
}

static int parse_number(const char *option, const char *value, double min,
			double max, double *out)
{
	char *end;
	double d = strtod(value, &end);
	if (end == value || *end || !isfinite(d) || d < min || d > max) {
		char why[96];
		snprintf(why, sizeof why, "not a number from %g to %g", min,
			 max);
		return bad(option, value, why);
	}
	*out = d;
	return 0;
}

static int parse_integer(const char *option, const char *value, long min,
			 long max, long *out)
{
	double d;
	if (parse_number(option, value, (double)min, (double)max, &d) < 0)
		return -1;
	if (d != floor(d))
		return bad(option, value, "not a whole number");
	*out = (long)d;
	return 0;
}

/* HOST:PORT or [HOST]:PORT, resolved once here. */
static int parse_connect(struct options *o, const char *value)
{
	char host[256];
	const char *colon = strrchr(value, ':');
	if (!colon || colon == value || (size_t)(colon - value) >= sizeof host)
		return bad("--connect", value, "not HOST:PORT");
	size_t hlen = (size_t)(colon - value);
	const char *h = value;
	if (h[0] == '[' && h[hlen - 1] == ']')
		h++, hlen -= 2;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
	int rc = getaddrinfo(host, colon + 1, &hints, &res);
	if (rc != 0)
		return bad("--connect", value, gai_strerror(rc));
	memcpy(&o->server, res->ai_addr, res->ai_addrlen);
	o->server_len = res->ai_addrlen;
	freeaddrinfo(res);
	o->connect = value;
	return 0;
}

static int parse_loopback(const char *value, const char *text, uint32_t *out)
{
	struct in_addr a;
	if (inet_pton(AF_INET, text, &a) != 1)
		return bad("--sources", value, "not IPv4 addresses");
	*out = ntohl(a.s_addr);
	if ((*out >> 24) != 127)
		return bad("--sources", value, "only 127.0.0.0/8 addresses");
	return 0;
}

static int parse_sources(struct options *o, const char *value)
{
	char first[64];
	const char *dash = strchr(value, '-');
	size_t n = dash ? (size_t)(dash - value) : strlen(value);
	if (n >= sizeof first)
		return bad("--sources", value, "not A-B");
	memcpy(first, value, n);
	first[n] = '\0';
	if (parse_loopback(value, first, &o->source_first) < 0 ||
	    parse_loopback(value, dash ? dash + 1 : first, &o->source_last) < 0)
		return -1;
	if (o->source_last < o->source_first)
		return bad("--sources", value, "B before A");
	return 0;
}

/* FMT must hold exactly one %d and no other conversion. */
static int parse_users(struct options *o, const char *value)
{
	const char *d = strstr(value, "%d");
	if (!d || strchr(d + 2, '%') || memchr(value, '%', (size_t)(d - value)))
		return bad("--users", value,
			   "needs exactly one %d and no other %");
	size_t n = (size_t)(d - value);
	if (n >= sizeof o->user_prefix ||
	    strlen(d + 2) >= sizeof o->user_suffix)
		return bad("--users", value, "too long");
	memcpy(o->user_prefix, value, n);
	o->user_prefix[n] = '\0';
	strcpy(o->user_suffix, d + 2);
	return 0;
}

static int parse_choice(const char *option, const char *value,
			const char *const *names, int count, int *out)
{
	for (int i = 0; i < count; i++)
		if (names[i] && strcmp(value, names[i]) == 0)
			return *out = i, 0;
	return bad(option, value, "unknown value (see --help)");
}

enum {
	OPT_CONNECT = 256,
	OPT_DOMAIN,
	OPT_USERS,
	OPT_FIRST,
	OPT_PASSWORD,
	OPT_SESSIONS,
	OPT_PROCESSES,
	OPT_SOURCES,
	OPT_RATE,
	OPT_CONCURRENCY,
	OPT_TLS,
	OPT_RESUME,
	OPT_MECH,
	OPT_SCENARIO,
	OPT_HOLD,
	OPT_DURATION,
	OPT_MSG_RATE,
	OPT_WINDOW,
	OPT_CONTACTS,
	OPT_ROOMS,
	OPT_SENDERS,
	OPT_MUC_SERVICE,
	OPT_REPORT,
	OPT_TIMEOUT,
	OPT_HELP,
};

static const struct option long_options[] = {
	{"connect", required_argument, NULL, OPT_CONNECT},
	{"domain", required_argument, NULL, OPT_DOMAIN},
	{"users", required_argument, NULL, OPT_USERS},
	{"first", required_argument, NULL, OPT_FIRST},
	{"password", required_argument, NULL, OPT_PASSWORD},
	{"sessions", required_argument, NULL, OPT_SESSIONS},
	{"processes", required_argument, NULL, OPT_PROCESSES},
	{"sources", required_argument, NULL, OPT_SOURCES},
	{"rate", required_argument, NULL, OPT_RATE},
	{"concurrency", required_argument, NULL, OPT_CONCURRENCY},
	{"tls", required_argument, NULL, OPT_TLS},
	{"resume", no_argument, NULL, OPT_RESUME},
	{"mech", required_argument, NULL, OPT_MECH},
	{"scenario", required_argument, NULL, OPT_SCENARIO},
	{"hold", required_argument, NULL, OPT_HOLD},
	{"duration", required_argument, NULL, OPT_DURATION},
	{"msg-rate", required_argument, NULL, OPT_MSG_RATE},
	{"window", required_argument, NULL, OPT_WINDOW},
	{"contacts", required_argument, NULL, OPT_CONTACTS},
	{"rooms", required_argument, NULL, OPT_ROOMS},
	{"senders", required_argument, NULL, OPT_SENDERS},
	{"muc-service", required_argument, NULL, OPT_MUC_SERVICE},
	{"report", required_argument, NULL, OPT_REPORT},
	{"timeout", required_argument, NULL, OPT_TIMEOUT},
	{"help", no_argument, NULL, OPT_HELP},
	{NULL, 0, NULL, 0},
};

static int parse_one(struct options *o, int opt, const char *v)
{
	static const char *const tls_names[] = {"starttls", "direct", "none"};
	static const char *const mech_names[] = {"PLAIN", "SCRAM-SHA-1",
						 "SCRAM-SHA-256"};
	long l;
	int choice;
	switch (opt) {
	case OPT_CONNECT:
		return parse_connect(o, v);
	case OPT_DOMAIN:
		o->domain = v;
		return 0;
	case OPT_USERS:
		return parse_users(o, v);
	case OPT_FIRST:
		return parse_integer("--first", v, 0, 1L << 40, &o->first);
	case OPT_PASSWORD:
		o->password = v;
		return 0;
	case OPT_SESSIONS:
		return parse_integer("--sessions", v, 1, 10000000,
				     &o->sessions);
	case OPT_PROCESSES:
		if (parse_integer("--processes", v, 1, 256, &l) < 0)
			return -1;
		o->processes = (int)l;
		return 0;
	case OPT_SOURCES:
		return parse_sources(o, v);
	case OPT_RATE:
		return parse_number("--rate", v, 0, 1e7, &o->rate);
	case OPT_CONCURRENCY:
		if (parse_integer("--concurrency", v, 1, 1000000, &l) < 0)
			return -1;
		o->concurrency = (int)l;
		return 0;
	case OPT_TLS:
		if (parse_choice("--tls", v, tls_names, 3, &choice) < 0)
			return -1;
		o->tls = (enum tls_mode)choice;
		return 0;
	case OPT_RESUME:
		o->resume = true;
		return 0;
	case OPT_MECH:
		if (parse_choice("--mech", v, mech_names, 3, &choice) < 0)
			return -1;
		o->mech = (enum sasl_mech)choice;
		return 0;
	case OPT_SCENARIO:
		if (parse_choice("--scenario", v, scenario_names, 6, &choice) <
		    0)
			return -1;
		o->scenario = (enum scenario_kind)choice;
		return 0;
	case OPT_HOLD:
		return parse_number("--hold", v, 0, 1e6, &o->hold);
	case OPT_DURATION:
		return parse_number("--duration", v, 0.001, 1e6, &o->duration);
	case OPT_MSG_RATE:
		return parse_number("--msg-rate", v, 0, 1e8, &o->msg_rate);
	case OPT_WINDOW:
		if (parse_integer("--window", v, 1, 100000, &l) < 0)
			return -1;
		o->window = (int)l;
		return 0;
	case OPT_CONTACTS:
		if (parse_integer("--contacts", v, 1, 100000, &l) < 0)
			return -1;
		o->contacts = (int)l;
		return 0;
	case OPT_ROOMS:
		if (parse_integer("--rooms", v, 1, MUC_ROOMS_MAX, &l) < 0)
			return -1;
		o->rooms = (int)l;
		return 0;
	case OPT_SENDERS:
		if (parse_integer("--senders", v, 1, 1000000, &l) < 0)
			return -1;
		o->senders = (int)l;
		return 0;
	case OPT_MUC_SERVICE:
		if (strlen(v) >= sizeof o->muc_service)
			return bad("--muc-service", v, "too long");
		strcpy(o->muc_service, v);
		return 0;
	case OPT_REPORT:
		o->report = v;
		return 0;
	case OPT_TIMEOUT:
		return parse_number("--timeout", v, 0.001, 1e6, &o->timeout);
	case OPT_HELP:
		fputs(usage_text, stdout);
		exit(0);
	}
	return -1;
}

/* What the options say together. */
static int options_check(struct options *o)
{
	if (!o->connect || !o->domain) {
		fputs("xmppload: --connect and --domain are required\n",
		      stderr);
		return -1;
	}
	long units = o->sessions, per = 1;
	if (o->scenario == SCENARIO_CHAT) {
		if (o->sessions % 2) {
			fputs("xmppload: --scenario chat pairs sessions: give "
			      "an even "
			      "--sessions\n",
			      stderr);
			return -1;
		}
		units = o->sessions / 2, per = 2;
	}
	if (units < o->processes) {
		fprintf(stderr,
			"xmppload: %ld session(s) cannot be split among %d "
			"processes (each needs at least %ld)\n",
			o->sessions, o->processes, per);
		return -1;
	}
	if ((o->scenario == SCENARIO_PRESENCE ||
	     o->scenario == SCENARIO_ROSTER_SETUP) &&
	    2L * o->contacts >= o->sessions) {
		fprintf(stderr,
			"xmppload: --contacts %d needs more than %d sessions "
			"(user i's contacts are i-K..i+K, all different)\n",
			o->contacts, 2 * o->contacts);
		return -1;
	}
	if (o->scenario == SCENARIO_MUC &&
	    (o->rooms > o->sessions || o->senders > o->sessions)) {
		fprintf(stderr,
			"xmppload: --rooms %d and --senders %d need as many "
			"--sessions at least\n",
			o->rooms, o->senders);
		return -1;
	}
	if (!o->muc_service[0] &&
	    snprintf(o->muc_service, sizeof o->muc_service, "conference.%s",
		     o->domain) >= (int)sizeof o->muc_service) {
		fputs("xmppload: --domain too long\n", stderr);
		return -1;
	}
	return 0;
}

int options_parse(struct options *o, int argc, char **argv)
{
	*o = (struct options){
		.first = 0,
		.password = "bench-Secret-1",
		.sessions = 100,
		.processes = 1,
		.concurrency = 100,
		.tls = TLS_MODE_STARTTLS,
		.mech = SASL_PLAIN,
		.scenario = SCENARIO_IDLE,
		.hold = 10,
		.duration = 10,
		.window = 8,
		.contacts = 5,
		.rooms = 1,
		.senders = 10,
		.timeout = 30,
	};
	parse_users(o, "bench%d");
	int opt;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (opt == '?') {
			fprintf(stderr,
				"xmppload: unknown or incomplete option %s\n%s",
				argv[optind - 1], usage_text);
			return -1;
		}
		if (parse_one(o, opt, optarg) < 0)
			return -1;
	}
	if (optind < argc) {
		fprintf(stderr, "xmppload: unexpected argument %s\n",
			argv[optind]);
		return -1;
	}
	return options_check(o);
}

void options_account(const struct options *o, uint64_t index, char *out,
		     size_t size)
{
	snprintf(out, size, "%s%" PRIu64 "%s", o->user_prefix,
		 (uint64_t)o->first + index, o->user_suffix);
}

long long options_account_index(const struct options *o, const char *name,
				size_t len)
{
	size_t pl = strlen(o->user_prefix), sl = strlen(o->user_suffix);
	if (len <= pl + sl || memcmp(name, o->user_prefix, pl) != 0 ||
	    memcmp(name + len - sl, o->user_suffix, sl) != 0)
		return -1;
	long long n = 0;
	for (size_t i = pl; i < len - sl; i++) {
		if (name[i] < '0' || name[i] > '9' || n > (1LL << 50))
			return -1;
		n = n * 10 + (name[i] - '0');
	}
	return n - o->first;
}

void options_share(const struct options *o, int index, uint64_t *base,
		   uint32_t *count)
{
	long per = o->scenario == SCENARIO_CHAT ? 2 : 1;
	long units = o->sessions / per;
	long q = units / o->processes, r = units % o->processes;
	long before = index * q + (index < r ? index : r);
	*base = (uint64_t)(before * per);
	*count = (uint32_t)((q + (index < r)) * per);
}

uint32_t options_slots(const struct options *o, uint32_t count)
{
	/* login: --concurrency slots go round the accounts */
	return o->scenario == SCENARIO_LOGIN ? (uint32_t)o->concurrency : count;
}
