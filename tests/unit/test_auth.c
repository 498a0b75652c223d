/* auth: real SASL exchanges through cyrus-sasl against a local account
 * database, the test playing the client (PLAIN, SCRAM-SHA-1/-256 with
 * and without channel binding, DIGEST-MD5). */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "../../auth/auth.h"
#include "../../auth/local.h"
#include "unit.h"

#define DOMAIN "example.org"
#define PASSWORD "correct horse battery staple"

static char data_dir[] = "/tmp/palabre-test-auth-XXXXXX";
static struct config cfg;
static char *all_mechs[] = {"SCRAM-SHA-256-PLUS",
			    "SCRAM-SHA-1-PLUS",
			    "SCRAM-SHA-256",
			    "SCRAM-SHA-1",
			    "PLAIN",
			    "DIGEST-MD5"};

static const unsigned char exporter[32] = "0123456789abcdef0123456789abcdef";
static struct auth_channel_binding bindings[2];

static void config_fill(void)
{
	memset(&cfg, 0, sizeof cfg);
	cfg.data_dir = data_dir;
	cfg.hosts[0].domain = DOMAIN;
	cfg.hosts[0].auth_backend = "local";
	cfg.nhosts = 1;
	cfg.require_starttls = true;
	for (size_t i = 0; i < 6; i++)
		cfg.mechanisms[i] = all_mechs[i];
	cfg.nmechanisms = 6;
	cfg.log_level = 1;

	bindings[0].type = "tls-exporter";
	memcpy(bindings[0].data, exporter, 32);
	bindings[0].len = 32;
	bindings[1].type = "tls-server-end-point";
	memset(bindings[1].data, 0x42, 32);
	bindings[1].len = 32;
}

/* Runs before the tests (no Check assertions here): 0 or -1. */
static int account_create(const char *local, const char *password, bool digest)
{
	char err[512], path[512];
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	struct local_db *db = local_open(path, err, sizeof err);
	if (!db) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	struct local_account a = {0};
	strcpy(a.domain, DOMAIN);
	strcpy(a.localpart, local);
	int rc = 0;
	if (local_account_set_password(&a, password, digest, 0, err,
				       sizeof err) < 0 ||
	    local_add(db, &a, err, sizeof err) != LOCAL_OK ||
	    local_add(db, &a, err, sizeof err) != LOCAL_EXISTS) {
		fprintf(stderr, "account %s: %s\n", local, err);
		rc = -1;
	}
	local_close(db);
	return rc;
}

static struct auth_exchange *session(bool tls, size_t nbindings)
{
	struct auth_exchange *s =
		auth_exchange_new(&cfg, DOMAIN, tls, bindings, nbindings);
	ck_assert_ptr_nonnull(s);
	return s;
}

/* ---- PLAIN ---------------------------------------------------------- */

static enum auth_result plain(const char *authzid, const char *authcid,
			      const char *password, struct auth_step *step)
{
	unsigned char msg[512];
	size_t n = 0;
	n += (size_t)sprintf((char *)msg, "%s", authzid) + 1;
	n += (size_t)sprintf((char *)msg + n, "%s", authcid) + 1;
	memcpy(msg + n, password, strlen(password));
	n += strlen(password);
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "PLAIN", msg, n, step);
	auth_exchange_free(s);
	return step->result;
}

START_TEST(plain_succeeds)
{
	struct auth_step step;
	ck_assert_int_eq(plain("", "alice", PASSWORD, &step), AUTH_SUCCESS);
	ck_assert_str_eq(step.localpart, "alice");
	auth_step_clear(&step);
	/* The bare JID as authcid, and in another case. */
	ck_assert_int_eq(plain("", "Alice@Example.org", PASSWORD, &step),
			 AUTH_SUCCESS);
	ck_assert_str_eq(step.localpart, "alice");
	auth_step_clear(&step);
	ck_assert_int_eq(plain("alice@example.org", "alice", PASSWORD, &step),
			 AUTH_SUCCESS);
	auth_step_clear(&step);
}
END_TEST

START_TEST(plain_fails)
{
	struct auth_step step;
	ck_assert_int_eq(plain("", "alice", "wrong", &step), AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "not-authorized");
	auth_step_clear(&step);
	ck_assert_int_eq(plain("", "nobody", PASSWORD, &step), AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "not-authorized");
	auth_step_clear(&step);
	ck_assert_int_eq(plain("", "alice@elsewhere.org", PASSWORD, &step),
			 AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "not-authorized");
	auth_step_clear(&step);
	ck_assert_int_eq(plain("bob@example.org", "alice", PASSWORD, &step),
			 AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "invalid-authzid");
	auth_step_clear(&step);
	ck_assert_int_eq(plain("alice", "alice", PASSWORD, &step),
			 AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "invalid-authzid");
	auth_step_clear(&step);

	struct auth_exchange *s = session(true, 0);
	auth_start(s, "PLAIN", (const unsigned char *)"garbage", 7, &step);
	ck_assert_int_eq(step.result, AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "malformed-request");
	auth_step_clear(&step);
	auth_exchange_free(s);
}
END_TEST

START_TEST(retry_after_failure)
{
	static const char bad[] = "\0alice\0wrong";
	static const char good[] = "\0alice\0" PASSWORD;
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "PLAIN", (const unsigned char *)bad, sizeof bad - 1,
		   &step);
	ck_assert_str_eq(step.condition, "not-authorized");
	auth_step_clear(&step);
	auth_start(s, "PLAIN", (const unsigned char *)good, sizeof good - 1,
		   &step);
	ck_assert_int_eq(step.result, AUTH_SUCCESS);
	auth_step_clear(&step);
	/* Once authenticated, never again on this stream. */
	auth_start(s, "PLAIN", (const unsigned char *)good, sizeof good - 1,
		   &step);
	ck_assert_int_eq(step.result, AUTH_FAILURE);
	auth_step_clear(&step);
	auth_exchange_free(s);
}
END_TEST

START_TEST(plain_without_initial_response)
{
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "PLAIN", NULL, 0, &step);
	ck_assert_int_eq(step.result, AUTH_CONTINUE);
	ck_assert_uint_eq(step.out_len, 0);
	auth_step_clear(&step);
	static const char msg[] = "\0alice\0" PASSWORD;
	auth_continue(s, (const unsigned char *)msg, sizeof msg - 1, &step);
	ck_assert_int_eq(step.result, AUTH_SUCCESS);
	auth_step_clear(&step);
	auth_exchange_free(s);
}
END_TEST

/* ---- SCRAM, the client side of RFC 5802 ------------------------------- */

struct scram_client {
	const EVP_MD *md;
	size_t hlen;
	char first_bare[300];
	char gs2[64];
	unsigned char cbdata[64];
	size_t cblen;
	unsigned char server_key[32];
	char auth_message[2048];
};

static char *b64(const unsigned char *in, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, in, (int)len);
	return out;
}

static size_t unb64(const char *in, unsigned char *out)
{
	int n = EVP_DecodeBlock(out, (const unsigned char *)in,
				(int)strlen(in));
	ck_assert_int_ge(n, 0);
	size_t len = strlen(in);
	while (len && in[len - 1] == '=') {
		n--;
		len--;
	}
	return (size_t)n;
}

/* Value of attribute `a` ("r", "s", "i", "v") in a SCRAM message. */
static void attr(const unsigned char *msg, size_t len, char a, char *out)
{
	char buf[1024];
	ck_assert_uint_lt(len, sizeof buf);
	memcpy(buf, msg, len);
	buf[len] = '\0';
	for (char *p = strtok(buf, ","); p; p = strtok(NULL, ","))
		if (p[0] == a && p[1] == '=') {
			strcpy(out, p + 2);
			return;
		}
	ck_abort_msg("no %c= in '%s'", a, buf);
}

static size_t scram_first(struct scram_client *c, const EVP_MD *md,
			  const char *gs2, const char *user, unsigned char *out)
{
	c->md = md;
	c->hlen = (size_t)EVP_MD_get_size(md);
	snprintf(c->gs2, sizeof c->gs2, "%s", gs2);
	snprintf(c->first_bare, sizeof c->first_bare,
		 "n=%s,r=fyko+d2lbbFgONRv9qkxdawL", user);
	return (size_t)sprintf((char *)out, "%s%s", c->gs2, c->first_bare);
}

static size_t scram_final(struct scram_client *c, const char *password,
			  const unsigned char *server_first, size_t sflen,
			  unsigned char *out)
{
	char nonce[256], salt64[128], iter[32], cb64[256], proof64[64];
	unsigned char salt[96], salted[32], client_key[32], stored_key[32],
		signature[32], proof[32], cbind[128];
	unsigned int len;
	attr(server_first, sflen, 'r', nonce);
	attr(server_first, sflen, 's', salt64);
	attr(server_first, sflen, 'i', iter);
	ck_assert_int_ge(atoi(iter), 4096);
	size_t salt_len = unb64(salt64, salt);
	PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len,
			  atoi(iter), c->md, (int)c->hlen, salted);
	HMAC(c->md, salted, (int)c->hlen, (const unsigned char *)"Client Key",
	     10, client_key, &len);
	HMAC(c->md, salted, (int)c->hlen, (const unsigned char *)"Server Key",
	     10, c->server_key, &len);
	EVP_Digest(client_key, c->hlen, stored_key, NULL, c->md, NULL);

	size_t gs2len = strlen(c->gs2);
	memcpy(cbind, c->gs2, gs2len);
	memcpy(cbind + gs2len, c->cbdata, c->cblen);
	b64(cbind, gs2len + c->cblen, cb64);
	char without_proof[768];
	snprintf(without_proof, sizeof without_proof, "c=%s,r=%s", cb64, nonce);
	snprintf(c->auth_message, sizeof c->auth_message, "%s,%.*s,%s",
		 c->first_bare, (int)sflen, (const char *)server_first,
		 without_proof);
	HMAC(c->md, stored_key, (int)c->hlen, (unsigned char *)c->auth_message,
	     strlen(c->auth_message), signature, &len);
	for (size_t i = 0; i < c->hlen; i++)
		proof[i] = client_key[i] ^ signature[i];
	return (size_t)sprintf((char *)out, "%s,p=%s", without_proof,
			       b64(proof, c->hlen, proof64));
}

static void scram_check_server(struct scram_client *c, const unsigned char *msg,
			       size_t len)
{
	unsigned char signature[32];
	unsigned int slen;
	char expected[64], got[64];
	HMAC(c->md, c->server_key, (int)c->hlen,
	     (unsigned char *)c->auth_message, strlen(c->auth_message),
	     signature, &slen);
	b64(signature, c->hlen, expected);
	attr(msg, len, 'v', got);
	ck_assert_str_eq(got, expected);
}

struct scram_case {
	const char *mechanism;
	const EVP_MD *md;
	const char *gs2;
	const char *user;
	const char *password;
	const unsigned char *cbdata;
	size_t cblen;
	size_t nbindings; /* of bindings[], offered by the "TLS layer" */
};

/* Runs a whole exchange; returns the last step (to clear). */
static void scram_run(const struct scram_case *k, struct auth_step *step)
{
	struct scram_client c = {0};
	unsigned char msg[1024];
	struct auth_exchange *s = session(true, k->nbindings);
	if (k->cblen)
		memcpy(c.cbdata, k->cbdata, k->cblen);
	c.cblen = k->cblen;
	size_t n = scram_first(&c, k->md, k->gs2, k->user, msg);
	auth_start(s, k->mechanism, msg, n, step);
	if (step->result != AUTH_CONTINUE) {
		auth_exchange_free(s);
		return;
	}
	n = scram_final(&c, k->password, step->out, step->out_len, msg);
	auth_step_clear(step);
	auth_continue(s, msg, n, step);
	if (step->result == AUTH_SUCCESS)
		scram_check_server(&c, step->out, step->out_len);
	auth_exchange_free(s);
}

static void expect_scram(const struct scram_case *k, const char *condition)
{
	struct auth_step step;
	scram_run(k, &step);
	if (!condition) {
		ck_assert_msg(step.result == AUTH_SUCCESS, "%s: %s",
			      k->mechanism,
			      step.condition ? step.condition : "continue");
		ck_assert_str_eq(step.localpart, "alice");
	} else {
		ck_assert_int_eq(step.result, AUTH_FAILURE);
		ck_assert_str_eq(step.condition, condition);
	}
	auth_step_clear(&step);
}

START_TEST(scram_sha1_and_sha256)
{
	struct scram_case k = {"SCRAM-SHA-1", EVP_sha1(), "n,,", "alice",
			       PASSWORD,      NULL,       0,     0};
	expect_scram(&k, NULL);
	k.mechanism = "SCRAM-SHA-256";
	k.md = EVP_sha256();
	expect_scram(&k, NULL);
	k.gs2 = "n,a=alice@example.org,";
	expect_scram(&k, NULL);
	k.gs2 = "n,a=bob@example.org,";
	expect_scram(&k, "invalid-authzid");
	k.gs2 = "n,,";
	k.user = "alice@example.org";
	expect_scram(&k, NULL);
}
END_TEST

START_TEST(scram_wrong_password_or_user)
{
	struct scram_case k = {"SCRAM-SHA-256", EVP_sha256(), "n,,", "alice",
			       "wrong",         NULL,         0,     0};
	expect_scram(&k, "not-authorized");
	k.mechanism = "SCRAM-SHA-1";
	k.md = EVP_sha1();
	expect_scram(&k, "not-authorized");
	/* An unknown user gets a challenge like anyone, and fails last. */
	k.user = "nobody";
	k.password = PASSWORD;
	expect_scram(&k, "not-authorized");
}
END_TEST

START_TEST(scram_unknown_user_looks_like_a_user)
{
	/* Same salt twice for the same unknown name. */
	unsigned char msg[1024];
	char salt1[128], salt2[128];
	struct scram_client c;
	struct auth_step step;
	for (int i = 0; i < 2; i++) {
		struct auth_exchange *s = session(true, 0);
		size_t n = scram_first(&c, EVP_sha256(), "n,,", "nobody", msg);
		auth_start(s, "SCRAM-SHA-256", msg, n, &step);
		ck_assert_int_eq(step.result, AUTH_CONTINUE);
		attr(step.out, step.out_len, 's', i ? salt2 : salt1);
		auth_step_clear(&step);
		auth_exchange_free(s);
	}
	ck_assert_str_eq(salt1, salt2);
}
END_TEST

START_TEST(scram_plus)
{
	struct scram_case k = {"SCRAM-SHA-256-PLUS",
			       EVP_sha256(),
			       "p=tls-exporter,,",
			       "alice",
			       PASSWORD,
			       exporter,
			       32,
			       2};
	expect_scram(&k, NULL);
	k.mechanism = "SCRAM-SHA-1-PLUS";
	k.md = EVP_sha1();
	expect_scram(&k, NULL);
	/* tls-server-end-point, the other binding the TLS layer gave. */
	k.gs2 = "p=tls-server-end-point,,";
	k.cbdata = bindings[1].data;
	expect_scram(&k, NULL);

	/* Another TLS session's binding: a man in the middle. */
	unsigned char other[32];
	memcpy(other, exporter, 32);
	other[0] ^= 1;
	k.mechanism = "SCRAM-SHA-256-PLUS";
	k.md = EVP_sha256();
	k.gs2 = "p=tls-exporter,,";
	k.cbdata = other;
	expect_scram(&k, "not-authorized");
	/* A binding type this connection does not have. */
	k.gs2 = "p=tls-unique,,";
	k.cbdata = exporter;
	expect_scram(&k, "not-authorized");
	/* -PLUS without a binding flag. */
	k.gs2 = "n,,";
	k.cblen = 0;
	expect_scram(&k, "malformed-request");
}
END_TEST

START_TEST(scram_downgrade)
{
	/* -PLUS was offered, the client says it thought it was not. */
	struct scram_case k = {"SCRAM-SHA-256", EVP_sha256(), "y,,", "alice",
			       PASSWORD,        NULL,         0,     2};
	expect_scram(&k, "not-authorized");
	/* ... which is fine when nothing was offered. */
	k.nbindings = 0;
	expect_scram(&k, NULL);
	/* "n": the client cannot bind; no downgrade. */
	k.gs2 = "n,,";
	k.nbindings = 2;
	expect_scram(&k, NULL);
	/* "p" belongs to -PLUS. */
	k.gs2 = "p=tls-exporter,,";
	k.cbdata = exporter;
	k.cblen = 32;
	expect_scram(&k, "malformed-request");
}
END_TEST

START_TEST(scram_without_initial_response)
{
	struct scram_client c = {0};
	unsigned char msg[1024];
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "SCRAM-SHA-256", NULL, 0, &step);
	ck_assert_int_eq(step.result, AUTH_CONTINUE);
	ck_assert_uint_eq(step.out_len, 0);
	auth_step_clear(&step);
	size_t n = scram_first(&c, EVP_sha256(), "n,,", "alice", msg);
	auth_continue(s, msg, n, &step);
	ck_assert_int_eq(step.result, AUTH_CONTINUE);
	n = scram_final(&c, PASSWORD, step.out, step.out_len, msg);
	auth_step_clear(&step);
	auth_continue(s, msg, n, &step);
	ck_assert_int_eq(step.result, AUTH_SUCCESS);
	scram_check_server(&c, step.out, step.out_len);
	auth_step_clear(&step);
	auth_exchange_free(s);
}
END_TEST

START_TEST(scram_garbage)
{
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "SCRAM-SHA-1", (const unsigned char *)"hello", 5, &step);
	ck_assert_int_eq(step.result, AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "malformed-request");
	auth_step_clear(&step);
	auth_exchange_free(s);
}
END_TEST

/* ---- DIGEST-MD5, the client side of RFC 2831 -------------------------- */

static void md5_hex(const char *in, size_t len, char out[33])
{
	unsigned char h[16];
	EVP_Digest(in, len, h, NULL, EVP_md5(), NULL);
	for (int i = 0; i < 16; i++)
		sprintf(out + 2 * i, "%02x", h[i]);
}

/* Value of directive `name` in a DIGEST-MD5 challenge. */
static void directive(const unsigned char *msg, size_t len, const char *name,
		      char *out)
{
	char buf[1024], key[32];
	memcpy(buf, msg, len);
	buf[len] = '\0';
	snprintf(key, sizeof key, "%s=\"", name);
	char *p = strstr(buf, key);
	ck_assert_msg(p != NULL, "no %s in '%s'", name, buf);
	p += strlen(key);
	char *q = strchr(p, '"');
	*q = '\0';
	strcpy(out, p);
}

static enum auth_result digest_md5(const char *user, const char *password,
				   const char *authzid)
{
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "DIGEST-MD5", NULL, 0, &step);
	ck_assert_int_eq(step.result, AUTH_CONTINUE);
	char realm[256], nonce[256];
	directive(step.out, step.out_len, "realm", realm);
	directive(step.out, step.out_len, "nonce", nonce);
	ck_assert_str_eq(realm, DOMAIN);
	auth_step_clear(&step);

	const char *cnonce = "OA6MHXh6VqTrRk", *uri = "xmpp/" DOMAIN;
	char a1[1024], ha1[33], a2[256], ha2[33], kd[1024], response[33];
	unsigned char urp[16];
	snprintf(a1, sizeof a1, "%s:%s:%s", user, realm, password);
	EVP_Digest(a1, strlen(a1), urp, NULL, EVP_md5(), NULL);
	int n = snprintf(a1, sizeof a1, "0123456789abcdef:%s:%s", nonce,
			 cnonce);
	memcpy(a1, urp, 16);
	if (authzid[0])
		n += snprintf(a1 + n, sizeof a1 - (size_t)n, ":%s", authzid);
	md5_hex(a1, (size_t)n, ha1);
	snprintf(a2, sizeof a2, "AUTHENTICATE:%s", uri);
	md5_hex(a2, strlen(a2), ha2);
	snprintf(kd, sizeof kd, "%s:%s:00000001:%s:auth:%s", ha1, nonce, cnonce,
		 ha2);
	md5_hex(kd, strlen(kd), response);

	char msg[2048];
	int len = snprintf(msg, sizeof msg,
			   "username=\"%s\",realm=\"%s\",nonce=\"%s\","
			   "cnonce=\"%s\",nc=00000001,qop=auth,"
			   "digest-uri=\"%s\",response=%s,charset=utf-8",
			   user, realm, nonce, cnonce, uri, response);
	if (authzid[0])
		len += snprintf(msg + len, sizeof msg - (size_t)len,
				",authzid=\"%s\"", authzid);
	auth_continue(s, (unsigned char *)msg, (size_t)len, &step);
	if (step.result == AUTH_SUCCESS) {
		char expect[64];
		ck_assert_str_eq(step.localpart, "alice");
		/* rspauth comes as additional data with <success/>. */
		ck_assert_uint_gt(step.out_len, 8);
		memcpy(expect, step.out, 8);
		expect[8] = '\0';
		ck_assert_str_eq(expect, "rspauth=");
	}
	enum auth_result r = step.result;
	if (r == AUTH_FAILURE)
		ck_assert_str_eq(step.condition, "not-authorized");
	auth_step_clear(&step);
	auth_exchange_free(s);
	return r;
}

START_TEST(digest_md5_exchange)
{
	ck_assert_int_eq(digest_md5("alice", PASSWORD, ""), AUTH_SUCCESS);
	ck_assert_int_eq(digest_md5("alice", PASSWORD, "alice@" DOMAIN),
			 AUTH_SUCCESS);
	ck_assert_int_eq(digest_md5("alice", "wrong", ""), AUTH_FAILURE);
	ck_assert_int_eq(digest_md5("nobody", PASSWORD, ""), AUTH_FAILURE);
	/* Created while DIGEST-MD5 was not configured: no HA1 to use. */
	ck_assert_int_eq(digest_md5("carol", PASSWORD, ""), AUTH_FAILURE);
}
END_TEST

/* ---- worker threads --------------------------------------------------- */

/* c2s runs the steps on libuv's pool: several exchanges at once, each
 * thread with its own database connection. No Check assertion here. */
static void *exchange_loop(void *arg)
{
	long ok = 0;
	for (int i = 0; i < 8; i++) {
		struct scram_client c = {0};
		unsigned char msg[1024];
		struct auth_step step;
		struct auth_exchange *s =
			auth_exchange_new(&cfg, DOMAIN, true, bindings, 2);
		const char *pw = (i % 4 == 3) ? "wrong" : PASSWORD;
		size_t n = scram_first(&c, EVP_sha256(), "p=tls-exporter,,",
				       "alice", msg);
		memcpy(c.cbdata, exporter, 32);
		c.cblen = 32;
		auth_start(s, "SCRAM-SHA-256-PLUS", msg, n, &step);
		if (step.result == AUTH_CONTINUE) {
			n = scram_final(&c, pw, step.out, step.out_len, msg);
			auth_step_clear(&step);
			auth_continue(s, msg, n, &step);
		}
		if ((step.result == AUTH_SUCCESS) == (i % 4 != 3))
			ok++;
		auth_step_clear(&step);
		auth_exchange_free(s);
	}
	return (void *)ok;
}

START_TEST(exchanges_in_parallel)
{
	pthread_t threads[4];
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(
			pthread_create(&threads[i], NULL, exchange_loop, NULL),
			0);
	for (int i = 0; i < 4; i++) {
		void *ok;
		pthread_join(threads[i], &ok);
		ck_assert_int_eq((long)ok, 8);
	}
}
END_TEST

/* ---- mechanisms, offers and failures ---------------------------------- */

static void expect_mechs(const char *domain, bool tls, bool cb,
			 const char *expected)
{
	const char *names[16];
	char got[256] = "";
	size_t n = auth_mechanisms(&cfg, domain, tls, cb, names, 16);
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, names[i]);
	}
	ck_assert_str_eq(got, expected);
}

START_TEST(mechanism_lists)
{
	expect_mechs(DOMAIN, true, true,
		     "SCRAM-SHA-256-PLUS SCRAM-SHA-1-PLUS SCRAM-SHA-256 "
		     "SCRAM-SHA-1 PLAIN DIGEST-MD5");
	expect_mechs(DOMAIN, true, false,
		     "SCRAM-SHA-256 SCRAM-SHA-1 PLAIN DIGEST-MD5");
	expect_mechs(DOMAIN, false, false, "");
	expect_mechs("unknown.org", true, true, "");
	cfg.require_starttls = false;
	expect_mechs(DOMAIN, false, true,
		     "SCRAM-SHA-256 SCRAM-SHA-1 DIGEST-MD5");
	cfg.require_starttls = true;
	/* The configured order, and DIGEST-MD5 only when listed. */
	cfg.mechanisms[0] = "PLAIN";
	cfg.mechanisms[1] = "SCRAM-SHA-1";
	cfg.nmechanisms = 2;
	expect_mechs(DOMAIN, true, true, "PLAIN SCRAM-SHA-1");
	config_fill();
}
END_TEST

START_TEST(mechanism_not_offered)
{
	struct auth_step step;
	struct auth_exchange *s = session(true, 0);
	auth_start(s, "SCRAM-SHA-256-PLUS", NULL, 0, &step);
	ck_assert_int_eq(step.result, AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "invalid-mechanism");
	auth_step_clear(&step);
	auth_exchange_free(s);
	s = session(true, 0);
	auth_start(s, "CRAM-MD5", NULL, 0, &step);
	ck_assert_str_eq(step.condition, "invalid-mechanism");
	auth_step_clear(&step);
	auth_exchange_free(s);
	/* PLAIN in clear, even when the config allows auth before TLS. */
	cfg.require_starttls = false;
	s = session(false, 0);
	static const char msg[] = "\0alice\0" PASSWORD;
	auth_start(s, "PLAIN", (const unsigned char *)msg, sizeof msg - 1,
		   &step);
	ck_assert_str_eq(step.condition, "invalid-mechanism");
	auth_step_clear(&step);
	auth_exchange_free(s);
	cfg.require_starttls = true;
}
END_TEST

START_TEST(database_unreadable)
{
	struct auth_step step;
	cfg.data_dir = "/nonexistent/palabre";
	ck_assert_int_eq(plain("", "alice", PASSWORD, &step), AUTH_FAILURE);
	ck_assert_str_eq(step.condition, "temporary-auth-failure");
	auth_step_clear(&step);
	struct scram_case k = {"SCRAM-SHA-256", EVP_sha256(), "n,,", "alice",
			       PASSWORD,        NULL,         0,     0};
	expect_scram(&k, "temporary-auth-failure");
	cfg.data_dir = data_dir;
}
END_TEST

static bool file_contains(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf, f);
	fclose(f);
	return memmem(buf, n, needle, strlen(needle)) != NULL;
}

START_TEST(no_clear_password_stored)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	ck_assert_int_eq(access(path, R_OK), 0);
	ck_assert(file_contains(path, "alice") ||
		  file_contains(strcat(path, "-wal"), "alice"));
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	ck_assert(!file_contains(path, PASSWORD));
	ck_assert(!file_contains(path, "horse"));
	strcat(path, "-wal");
	ck_assert(!file_contains(path, PASSWORD));
	ck_assert(!file_contains(path, "horse"));
}
END_TEST

START_TEST(local_store_operations)
{
	char err[512], path[512];
	snprintf(path, sizeof path, "%s/%s", data_dir, LOCAL_DB_FILE);
	struct local_db *db = local_open(path, err, sizeof err);
	ck_assert_ptr_nonnull(db);
	struct local_account a;
	ck_assert_int_eq(local_get(db, DOMAIN, "alice", &a, err, sizeof err),
			 LOCAL_OK);
	ck_assert(a.has_digest_md5);
	ck_assert_uint_ge(a.sha256.iterations, 4096);
	ck_assert_uint_eq(a.sha256.salt_len, SCRAM_SALT_LEN);
	ck_assert_int_eq(local_get(db, DOMAIN, "carol", &a, err, sizeof err),
			 LOCAL_OK);
	ck_assert(!a.has_digest_md5);
	ck_assert_int_eq(
		local_get(db, "other.org", "alice", &a, err, sizeof err),
		LOCAL_NOT_FOUND);
	ck_assert_int_eq(local_delete(db, DOMAIN, "nobody", err, sizeof err),
			 LOCAL_NOT_FOUND);
	local_close(db);
}
END_TEST

int main(void)
{
	char err[512];
	if (!mkdtemp(data_dir)) {
		perror("mkdtemp");
		return 1;
	}
	config_fill();
	if (account_create("alice", PASSWORD, true) < 0 ||
	    account_create("carol", PASSWORD, false) < 0)
		return 1;
	if (auth_sasl_init(&cfg, err, sizeof err) < 0) {
		fprintf(stderr, "auth_sasl_init: %s\n", err);
		return 1;
	}

	Suite *suite = suite_create("auth");
	TCase *tc = tcase_create("sasl");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, mechanism_lists);
	tcase_add_test(tc, mechanism_not_offered);
	tcase_add_test(tc, plain_succeeds);
	tcase_add_test(tc, plain_fails);
	tcase_add_test(tc, plain_without_initial_response);
	tcase_add_test(tc, retry_after_failure);
	tcase_add_test(tc, scram_sha1_and_sha256);
	tcase_add_test(tc, scram_wrong_password_or_user);
	tcase_add_test(tc, scram_unknown_user_looks_like_a_user);
	tcase_add_test(tc, scram_plus);
	tcase_add_test(tc, scram_downgrade);
	tcase_add_test(tc, scram_without_initial_response);
	tcase_add_test(tc, scram_garbage);
	tcase_add_test(tc, digest_md5_exchange);
	tcase_add_test(tc, exchanges_in_parallel);
	tcase_add_test(tc, database_unreadable);
	tcase_add_test(tc, no_clear_password_stored);
	tcase_add_test(tc, local_store_operations);
	suite_add_tcase(suite, tc);

	int status = unit_run(suite);

	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", data_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", data_dir);
	return status;
}
