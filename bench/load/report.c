/* report: failure causes, summing the workers' reports, the JSON. */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "xmppload.h"

static const char *const base_failures[] = {
	[FAIL_CONNECT] = "connect",   [FAIL_TLS] = "tls",
	[FAIL_AUTH] = "auth",         [FAIL_BIND] = "bind",
	[FAIL_TIMEOUT] = "timeout",   [FAIL_CLOSED] = "closed",
	[FAIL_PROTOCOL] = "protocol",
};

/* RFC 6120 §4.9.3, and whatever else last. */
static const char *const stream_errors[STREAM_ERRORS] = {
	"stream-error:bad-format",
	"stream-error:bad-namespace-prefix",
	"stream-error:conflict",
	"stream-error:connection-timeout",
	"stream-error:host-gone",
	"stream-error:host-unknown",
	"stream-error:improper-addressing",
	"stream-error:internal-server-error",
	"stream-error:invalid-from",
	"stream-error:invalid-namespace",
	"stream-error:invalid-xml",
	"stream-error:not-authorized",
	"stream-error:not-well-formed",
	"stream-error:policy-violation",
	"stream-error:remote-connection-failed",
	"stream-error:reset",
	"stream-error:resource-constraint",
	"stream-error:restricted-xml",
	"stream-error:see-other-host",
	"stream-error:system-shutdown",
	"stream-error:undefined-condition",
	"stream-error:unsupported-encoding",
	"stream-error:unsupported-feature",
	"stream-error:unsupported-stanza-type",
	"stream-error:unsupported-version",
	"stream-error:other",
};

#define STREAM_ERROR_PREFIX (sizeof "stream-error:" - 1)

const char *failure_name(int f)
{
	return f < FAIL_STREAM_ERROR ? base_failures[f]
				     : stream_errors[f - FAIL_STREAM_ERROR];
}

int failure_of_stream_error(const char *condition, size_t len)
{
	for (int i = 0; i < STREAM_ERRORS - 1; i++) {
		const char *name = stream_errors[i] + STREAM_ERROR_PREFIX;
		if (strlen(name) == len && memcmp(name, condition, len) == 0)
			return FAIL_STREAM_ERROR + i;
	}
	return FAIL_STREAM_ERROR + STREAM_ERRORS - 1;
}

static double max_of(double a, double b)
{
	return a > b ? a : b;
}

void report_merge(struct report *into, const struct report *from)
{
	into->sessions_requested += from->sessions_requested;
	into->sessions_ok += from->sessions_ok;
	for (int f = 0; f < FAILURES; f++)
		into->failures[f] += from->failures[f];
	for (int st = 0; st < SESSION_STEPS; st++)
		into->failure_steps[st] += from->failure_steps[st];
	into->logins += from->logins;
	/* the workers run side by side: the longest period is the run's */
	into->login_period_s =
		max_of(into->login_period_s, from->login_period_s);
	into->open_s = max_of(into->open_s, from->open_s);
	into->window_s = max_of(into->window_s, from->window_s);
	into->messages_sent += from->messages_sent;
	into->messages_received += from->messages_received;
	into->messages_in_window += from->messages_in_window;
	into->presences += from->presences;
	into->muc_owners += from->muc_owners;
	into->muc_occupants += from->muc_occupants;
	into->muc_refused += from->muc_refused;
	into->join_s = max_of(into->join_s, from->join_s);
	for (int k = 0; k < MUC_ROOMS_MAX; k++) {
		into->room_sent[k] += from->room_sent[k];
		into->room_occupants[k] += from->room_occupants[k];
	}
	into->subscriptions += from->subscriptions;
	into->subscriptions_expected += from->subscriptions_expected;
	into->tls_resumed += from->tls_resumed;
	into->rss_kib += from->rss_kib;
	into->rss_base_kib += from->rss_base_kib;
	into->sessions_measured += from->sessions_measured;
	into->cpu_s += from->cpu_s;
	into->processes += from->processes;
	histogram_merge(&into->login_us, &from->login_us);
	histogram_merge(&into->latency_us, &from->latency_us);
}

uint64_t report_rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	uint64_t kib = 0;
	if (!f)
		return 0;
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "VmRSS: %" SCNu64, &kib) == 1)
			break;
	fclose(f);
	return kib;
}

static double per_s(uint64_t n, double s)
{
	return s > 0 ? (double)n / s : 0;
}

static void write_quantiles(FILE *f, const char *name,
			    const struct histogram *h)
{
	fprintf(f,
		"  \"%s\": {\"p50\": %.3f, \"p90\": %.3f, \"p99\": %.3f, "
		"\"max\": %.3f},\n",
		name, histogram_quantile(h, 0.50) / 1000.0,
		histogram_quantile(h, 0.90) / 1000.0,
		histogram_quantile(h, 0.99) / 1000.0, h->max / 1000.0);
}

/* The deliveries the messages sent should make: chat, one each; muc,
 * one per occupant of the room (the sender too). */
static uint64_t deliveries_expected(const struct report *r,
				    const struct options *o)
{
	if (o->scenario != SCENARIO_MUC)
		return r->messages_sent;
	uint64_t n = 0;
	for (int k = 0; k < MUC_ROOMS_MAX; k++)
		n += r->room_sent[k] * r->room_occupants[k];
	return n;
}

static void write_muc(FILE *f, const struct report *r, const struct options *o)
{
	if (o->scenario != SCENARIO_MUC)
		return;
	fprintf(f,
		"  \"muc\": {\"rooms\": %d, \"senders\": %d, \"owners\": "
		"%" PRIu64 ", \"occupants\": %" PRIu64 ", \"refused\": %" PRIu64
		", \"join_s\": %.3f},\n",
		o->rooms, o->senders, r->muc_owners, r->muc_occupants,
		r->muc_refused, r->join_s);
}

static void write_failures(FILE *f, const struct report *r)
{
	fputs("  \"failures\": {", f);
	const char *sep = "";
	for (int i = 0; i < FAILURES; i++) {
		/* the causes always, the stream errors that happened */
		if (i >= FAIL_STREAM_ERROR && !r->failures[i])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, sep, failure_name(i),
			r->failures[i]);
		sep = ", ";
	}
	fputs("},\n  \"failure_steps\": {", f);
	sep = "";
	for (int st = 0; st < SESSION_STEPS; st++) {
		if (!r->failure_steps[st])
			continue;
		fprintf(f, "%s\"%s\": %" PRIu64, sep, session_step_name(st),
			r->failure_steps[st]);
		sep = ", ";
	}
	fputs("},\n", f);
}

int report_write(const struct report *r, const struct options *o,
		 const char *path)
{
	FILE *f = path ? fopen(path, "w") : stdout;
	if (!f) {
		perror(path);
		return -1;
	}
	uint64_t expected = deliveries_expected(r, o);
	uint64_t lost = expected > r->messages_received
				? expected - r->messages_received
				: 0;
	uint64_t grown =
		r->rss_kib > r->rss_base_kib ? r->rss_kib - r->rss_base_kib : 0;
	fprintf(f, "{\n  \"scenario\": \"%s\",\n  \"processes\": %d,\n",
		options_scenario_name(o->scenario), r->processes);
	fprintf(f,
		"  \"sessions_requested\": %" PRIu64 ",\n"
		"  \"sessions_ok\": %" PRIu64 ",\n",
		r->sessions_requested, r->sessions_ok);
	write_failures(f, r);
	fprintf(f, "  \"elapsed_s\": %.3f,\n  \"open_s\": %.3f,\n",
		r->elapsed_s, r->open_s);
	fprintf(f, "  \"logins\": %" PRIu64 ",\n  \"logins_per_s\": %.1f,\n",
		r->logins, per_s(r->logins, r->login_period_s));
	write_quantiles(f, "login_ms", &r->login_us);
	fprintf(f,
		"  \"messages\": {\"sent\": %" PRIu64 ", \"expected\": %" PRIu64
		", \"received\": %" PRIu64 ", \"lost\": %" PRIu64
		", \"per_s\": %.1f},\n",
		r->messages_sent, expected, r->messages_received, lost,
		per_s(r->messages_in_window, r->window_s));
	write_quantiles(f, "latency_ms", &r->latency_us);
	fprintf(f,
		"  \"presences\": {\"received\": %" PRIu64
		", \"per_s\": %.1f},\n",
		r->presences,
		per_s(r->presences,
		      o->scenario == SCENARIO_MUC ? r->join_s : r->window_s));
	write_muc(f, r, o);
	fprintf(f,
		"  \"subscriptions\": %" PRIu64 ",\n"
		"  \"subscriptions_expected\": %" PRIu64 ",\n",
		r->subscriptions, r->subscriptions_expected);
	fprintf(f, "  \"tls_resumed\": %" PRIu64 ",\n", r->tls_resumed);
	fprintf(f,
		"  \"cpu_s\": %.3f,\n  \"rss_kib\": %" PRIu64 ",\n"
		"  \"sessions_measured\": %" PRIu64 ",\n"
		"  \"bytes_per_session\": %" PRIu64 "\n}\n",
		r->cpu_s, r->rss_kib, r->sessions_measured,
		r->sessions_measured ? grown * 1024 / r->sessions_measured : 0);
	if (path)
		return fclose(f) == 0 ? 0 : -1;
	fflush(f);
	return 0;
}
