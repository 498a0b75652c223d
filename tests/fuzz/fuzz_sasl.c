/* fuzz_sasl: server-side SASL (auth/) through cyrus-sasl, the fuzzer
 * playing the client against an account database in a temporary
 * directory (alice with SCRAM and DIGEST-MD5 secrets, carol with SCRAM's
 * only), as c2s calls it.
 *
 * Input: one byte choosing the mechanism and how the exchange starts,
 * then the client's messages separated by 0xff bytes (a byte that UTF-8
 * never uses). In a message, "%n" stands for the nonce of the server's
 * last challenge (SCRAM's r=, DIGEST-MD5's nonce="…"), which the fuzzer
 * cannot guess, so that the steps after the nonce check are reached.
 * After a failure the next message starts a new exchange on the same
 * session, as a client may retry. Properties: every step ends in one of
 * the three results, a failure names an RFC 6120 §6.5 condition, and
 * success needs the password: the fuzzer, who never computes a proof,
 * can only succeed with PLAIN and the password itself. */
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "../../auth/auth.h"
#include "../../auth/local.h"
#include "fuzz.h"

#define DOMAIN "example.org"
#define PASSWORD "correct horse battery staple"
#define SEPARATOR 0xff
#define MAX_MESSAGE 4096

static char data_dir[] = "/tmp/palabre-fuzz-sasl-XXXXXX";
static char db_path[sizeof data_dir + 32];
static struct config cfg;
static char *mechanisms[] = {"SCRAM-SHA-256-PLUS",
			     "SCRAM-SHA-1-PLUS",
			     "SCRAM-SHA-256",
			     "SCRAM-SHA-1",
			     "PLAIN",
			     "DIGEST-MD5"};
#define NMECHANISMS (sizeof mechanisms / sizeof *mechanisms)
/* What the client may ask for: the configured ones and two others. */
static const char *const asked[] = {"SCRAM-SHA-256-PLUS",
				    "SCRAM-SHA-1-PLUS",
				    "SCRAM-SHA-256",
				    "SCRAM-SHA-1",
				    "PLAIN",
				    "DIGEST-MD5",
				    "EXTERNAL",
				    "X-UNKNOWN"};
static struct auth_channel_binding bindings[2] = {
	{"tls-exporter", "0123456789abcdef0123456789abcdef", 32},
	{"tls-server-end-point", "fedcba9876543210fedcba9876543210", 32},
};
static const char *const conditions[] = {
	"not-authorized",      "invalid-mechanism",      "malformed-request",
	"encryption-required", "temporary-auth-failure", "mechanism-too-weak",
	"invalid-authzid",     "incorrect-encoding",     "aborted",
	"account-disabled",    "credentials-expired"};

static void remove_data_dir(void)
{
	const char *suffixes[] = {"", "-wal", "-shm", "-journal"};
	for (int i = 0; i < 4; i++) {
		char p[sizeof db_path + 16];
		snprintf(p, sizeof p, "%s%s", db_path, suffixes[i]);
		unlink(p);
	}
	rmdir(data_dir);
}

static void account_add(struct local_db *db, const char *local, bool digest)
{
	char err[256];
	struct local_account a = {0};
	strcpy(a.domain, DOMAIN);
	strcpy(a.localpart, local);
	FUZZ_CHECK(local_account_set_password(&a, PASSWORD, digest, 0, err,
					      sizeof err) == 0 &&
			   local_add(db, &a, err, sizeof err) == LOCAL_OK,
		   "account %s: %s", local, err);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char err[256];
	fuzz_quiet();
	FUZZ_CHECK(mkdtemp(data_dir) != NULL, "mkdtemp %s", data_dir);
	atexit(remove_data_dir);
	snprintf(db_path, sizeof db_path, "%s/%s", data_dir, LOCAL_DB_FILE);
	struct local_db *db = local_open(db_path, err, sizeof err);
	FUZZ_CHECK(db != NULL, "%s", err);
	account_add(db, "alice", true);
	account_add(db, "carol", false);
	local_close(db);

	cfg.data_dir = data_dir;
	cfg.hosts[0].domain = DOMAIN;
	cfg.hosts[0].auth_backend = "local";
	cfg.nhosts = 1;
	cfg.require_starttls = true;
	for (size_t i = 0; i < NMECHANISMS; i++)
		cfg.mechanisms[i] = mechanisms[i];
	cfg.nmechanisms = NMECHANISMS;
	auth_set_secret("fuzz");
	FUZZ_CHECK(auth_sasl_init(&cfg, err, sizeof err) == 0, "%s", err);
	return 0;
}

/* The nonce in the server's challenge, or "". */
static void challenge_nonce(const struct auth_step *step, char *out, size_t max)
{
	const char *c = (const char *)step->out;
	size_t len = step->out_len, start = 0, end;
	out[0] = '\0';
	for (size_t i = 0; i + 7 <= len && !start; i++)
		if (memcmp(c + i, "nonce=\"", 7) == 0)
			start = i + 7;
	if (!start && len > 2 && memcmp(c, "r=", 2) == 0)
		start = 2;
	for (size_t i = 0; i + 3 <= len && !start; i++)
		if (memcmp(c + i, ",r=", 3) == 0)
			start = i + 3;
	if (!start)
		return;
	for (end = start; end < len && c[end] != '"' && c[end] != ','; end++)
		;
	if (end - start < max) {
		memcpy(out, c + start, end - start);
		out[end - start] = '\0';
	}
}

/* msg with every "%n" replaced by nonce; its length. */
static size_t message_expand(const uint8_t *msg, size_t len, const char *nonce,
			     unsigned char *out)
{
	size_t n = 0, nlen = strlen(nonce);
	for (size_t i = 0; i < len && n < MAX_MESSAGE; i++) {
		if (i + 1 < len && msg[i] == '%' && msg[i + 1] == 'n' &&
		    n + nlen <= MAX_MESSAGE) {
			memcpy(out + n, nonce, nlen);
			n += nlen;
			i++;
		} else {
			out[n++] = msg[i];
		}
	}
	return n;
}

static void check_step(const struct auth_step *step, const uint8_t *data,
		       size_t size)
{
	FUZZ_CHECK(step->result == AUTH_CONTINUE ||
			   step->result == AUTH_SUCCESS ||
			   step->result == AUTH_FAILURE,
		   "result %d", step->result);
	if (step->result == AUTH_FAILURE) {
		bool known = false;
		for (size_t i = 0; step->condition &&
				   i < sizeof conditions / sizeof *conditions;
		     i++)
			known |= strcmp(step->condition, conditions[i]) == 0;
		FUZZ_CHECK(known, "condition %s",
			   step->condition ? step->condition : "(none)");
	}
	if (step->result == AUTH_SUCCESS)
		FUZZ_CHECK(step->localpart && memmem(data, size, PASSWORD,
						     strlen(PASSWORD)) != NULL,
			   "success as %s without the password",
			   step->localpart ? step->localpart : "(none)");
}

/* The session, as c2s makes it: with or without TLS and bindings. */
static struct auth_exchange *session_for(uint8_t mode)
{
	bool tls = !(mode & 0x40);
	size_t nbindings = tls ? (mode >> 4) % 3 : 0;
	struct auth_exchange *s =
		auth_exchange_new(&cfg, DOMAIN, tls, bindings, nbindings);
	FUZZ_CHECK(s != NULL, "auth_exchange_new");
	return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char msg[MAX_MESSAGE];
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const char *mech = asked[mode % (sizeof asked / sizeof *asked)];
	/* Without an initial response, the first message is a <response/>. */
	bool initial = !(mode & 0x08);
	struct auth_exchange *s = session_for(mode);
	struct auth_step step = {0};
	char nonce[512] = "";
	bool started = false, succeeded = false;
	const uint8_t *p = data + 1, *end = data + size;
	if (!initial) {
		auth_start(s, mech, NULL, 0, &step);
		check_step(&step, data, size);
		started = step.result == AUTH_CONTINUE;
		challenge_nonce(&step, nonce, sizeof nonce);
		auth_step_clear(&step);
	}
	while (p < end) {
		const uint8_t *sep = memchr(p, SEPARATOR, (size_t)(end - p));
		size_t len = (size_t)((sep ? sep : end) - p);
		size_t n = message_expand(p, len, nonce, msg);
		if (started)
			auth_continue(s, msg, n, &step);
		else
			auth_start(s, mech, msg, n, &step);
		check_step(&step, data, size);
		FUZZ_CHECK(!(succeeded && step.result == AUTH_SUCCESS),
			   "a second success on one stream");
		succeeded |= step.result == AUTH_SUCCESS;
		started = step.result == AUTH_CONTINUE;
		challenge_nonce(&step, nonce, sizeof nonce);
		auth_step_clear(&step);
		p += len + (sep != NULL);
	}
	auth_exchange_free(s);
	return 0;
}
