/* xmppload: an XMPP client load generator (bench/load/README.md).
 *
 * The parent process parses the command line, forks the workers
 * (worker.c), each running one libuv loop with its share of the
 * sessions (session.c) driven by one scenario (scenario_*.c), and sums
 * their reports (report.c). This header holds what they all share: the
 * options, the failure causes and the report. */
#ifndef XMPPLOAD_H
#define XMPPLOAD_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include "histogram.h"
#include "sasl.h"

enum scenario_kind {
	SCENARIO_IDLE,
	SCENARIO_LOGIN,
	SCENARIO_CHAT,
	SCENARIO_PRESENCE,
	SCENARIO_ROSTER_SETUP,
	SCENARIO_MUC,
};

/* muc: the most rooms (the report counts per room). */
#define MUC_ROOMS_MAX 64

enum tls_mode { TLS_MODE_STARTTLS, TLS_MODE_DIRECT, TLS_MODE_NONE };

struct options {
	struct sockaddr_storage server;
	socklen_t server_len;
	const char *connect; /* as given, for messages */
	const char *domain;
	/* --users FMT split around its %d */
	char user_prefix[128];
	char user_suffix[128];
	long first;
	const char *password;
	long sessions;
	int processes;
	uint32_t source_first, source_last; /* host order; 0: none */
	double rate;
	int concurrency;
	enum tls_mode tls;
	bool resume;
	enum sasl_mech mech;
	enum scenario_kind scenario;
	double hold, duration, msg_rate;
	int window;
	int contacts;
	int rooms, senders;    /* muc */
	char muc_service[300]; /* muc: rooms are roomK@muc_service */
	const char *report;
	double timeout;
};

/* Parses argv into o; prints the reason and returns -1 when it is wrong. */
int options_parse(struct options *o, int argc, char **argv);
const char *options_scenario_name(enum scenario_kind k);
/* Worker index's share: accounts base .. base + count - 1 (chat keeps
 * pairs whole), and the slots (sessions at once) it needs. */
void options_share(const struct options *o, int index, uint64_t *base,
		   uint32_t *count);
uint32_t options_slots(const struct options *o, uint32_t count);
/* The local part of account number index (FIRST + index) into out. */
void options_account(const struct options *o, uint64_t index, char *out,
		     size_t size);
/* The index of the account whose local part is name (a span), or -1. */
long long options_account_index(const struct options *o, const char *name,
				size_t len);

/* Why a session failed. The stream errors follow, one per condition. */
enum failure {
	FAIL_CONNECT,
	FAIL_TLS,
	FAIL_AUTH,
	FAIL_BIND,
	FAIL_TIMEOUT,
	FAIL_CLOSED,
	FAIL_PROTOCOL,
	FAIL_STREAM_ERROR,
};
#define STREAM_ERRORS 26 /* RFC 6120 §4.9.3, and "other" last */
#define FAILURES (FAIL_STREAM_ERROR + STREAM_ERRORS)

/* The steps of a session (enum session_state in session.h), where
 * failures are counted too. */
#define SESSION_STEPS 14
const char *session_step_name(int state);

/* "connect" … or "stream-error:conflict". */
const char *failure_name(int f);
/* The failure for a stream error condition (its element's local name). */
int failure_of_stream_error(const char *condition, size_t len);

/* What one worker measured; the parent sums them (report_merge). Times
 * in seconds; the histograms in microseconds. */
struct report {
	uint64_t sessions_requested, sessions_ok;
	uint64_t failures[FAILURES];
	uint64_t failure_steps[SESSION_STEPS]; /* by enum session_state */
	uint64_t logins;                       /* counted logins (see README) */
	double login_period_s;                 /* … over this period */
	double open_s; /* to open every session (setup) */
	uint64_t messages_sent, messages_received, messages_in_window;
	double window_s; /* chat, presence: the measured period */
	uint64_t presences;
	/* muc: rooms created and unlocked, occupants in (owners too),
	 * joins refused or never answered, the time to join, and per room
	 * the messages sent and the occupants in, whose products sum to the
	 * deliveries expected */
	uint64_t muc_owners, muc_occupants, muc_refused;
	double join_s;
	uint64_t room_sent[MUC_ROOMS_MAX], room_occupants[MUC_ROOMS_MAX];
	uint64_t subscriptions, subscriptions_expected;
	uint64_t tls_resumed;
	uint64_t rss_kib;           /* VmRSS when measured */
	uint64_t rss_base_kib;      /* VmRSS before the first session */
	uint64_t sessions_measured; /* sessions open when measured */
	double cpu_s;
	double elapsed_s;
	int processes;
	struct histogram login_us;
	struct histogram latency_us;
};

void report_merge(struct report *into, const struct report *from);
/* Writes the JSON report to path, or stdout when path is NULL. */
int report_write(const struct report *r, const struct options *o,
		 const char *path);
/* VmRSS of this process, KiB. */
uint64_t report_rss_kib(void);

/* Runs worker number index of the options' processes; returns its exit
 * status. parent_fd: its end of the socketpair to the parent. */
int worker_main(const struct options *o, int index, int parent_fd);

/* Parent ↔ worker messages: one byte, then the payload. */
enum {
	MSG_READY = 'U', /* worker → parent: uint64 sessions open (muc after
			    its joins: occupants in) */
	MSG_GO = 'G',    /* parent → worker: start the measured phase */
	MSG_REPORT = 'R' /* worker → parent: struct report */
};

#endif
