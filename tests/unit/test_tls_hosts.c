/* tls_hosts_find: the TLS context each name is presented with — a
 * host's own, and for a service under a host (conference.a.test) the
 * nearest host's, never a host that merely ends the same letters. */
#include <check.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "../../lib/tls_hosts.h"
#include "tls_identity.h"
#include "unit.h"

static char dir[64];
static char crt[96], key[96];
static struct config cfg;
static struct tls_hosts th;

/* One self-signed identity, in files every host names. */
static void write_identity(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	snprintf(dir, sizeof dir, "/tmp/palabre-tls-hosts-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	unit_use_new_identity(ctx);
	snprintf(crt, sizeof crt, "%s/id.crt", dir);
	snprintf(key, sizeof key, "%s/id.key", dir);
	FILE *c = fopen(crt, "w"), *k = fopen(key, "w");
	ck_assert(c && k);
	ck_assert(PEM_write_X509(c, SSL_CTX_get0_certificate(ctx)));
	ck_assert(PEM_write_PrivateKey(k, SSL_CTX_get0_privatekey(ctx), NULL,
				       NULL, 0, NULL, NULL));
	fclose(c);
	fclose(k);
	SSL_CTX_free(ctx);
}

static void setup(void)
{
	static char *const domains[] = {"a.test", "sub.a.test", "b.test"};
	char err[256];
	write_identity();
	for (size_t i = 0; i < 3; i++) {
		cfg.hosts[i].domain = domains[i];
		cfg.hosts[i].certificate = crt;
		cfg.hosts[i].key = key;
	}
	cfg.nhosts = 3;
	ck_assert_msg(tls_hosts_init(&th, &cfg, true, NULL, NULL, err,
				     sizeof err) == 0,
		      "%s", err);
}

static void teardown(void)
{
	tls_hosts_free(&th);
	unlink(crt);
	unlink(key);
	rmdir(dir);
}

START_TEST(a_host_gets_its_own)
{
	ck_assert_ptr_eq(tls_hosts_find(&th, "a.test"), th.ctx[0]);
	ck_assert_ptr_eq(tls_hosts_find(&th, "sub.a.test"), th.ctx[1]);
	ck_assert_ptr_eq(tls_hosts_find(&th, "B.Test"), th.ctx[2]);
}
END_TEST

START_TEST(a_service_gets_the_nearest_host)
{
	ck_assert_ptr_eq(tls_hosts_find(&th, "conference.a.test"), th.ctx[0]);
	ck_assert_ptr_eq(tls_hosts_find(&th, "conference.sub.a.test"),
			 th.ctx[1]);
	ck_assert_ptr_eq(tls_hosts_find(&th, "Conference.B.test"), th.ctx[2]);
}
END_TEST

START_TEST(other_names_get_none)
{
	ck_assert_ptr_null(tls_hosts_find(&th, "xa.test"));
	ck_assert_ptr_null(tls_hosts_find(&th, "test"));
	ck_assert_ptr_null(tls_hosts_find(&th, "a.test.example"));
	ck_assert_ptr_null(tls_hosts_find(&th, ".a.test"));
	ck_assert_ptr_null(tls_hosts_find(&th, "c.test"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("tls_hosts");
	TCase *tc = tcase_create("find");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, a_host_gets_its_own);
	tcase_add_test(tc, a_service_gets_the_nearest_host);
	tcase_add_test(tc, other_names_get_none);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
