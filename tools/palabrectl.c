/* palabrectl: administration of a palabre server.
 *
 *   palabrectl [-c config.xml] user add JID
 *   palabrectl [-c config.xml] user del JID
 *   palabrectl [-c config.xml] user passwd JID
 *   palabrectl [-c config.xml] user list DOMAIN
 *   palabrectl [-c config.xml] [-i ITERATIONS] user import
 *
 * Accounts of the `local` backend live in <data_dir>/accounts.sqlite;
 * `user del` also deletes all the sm keeps of the user in
 * <data_dir>/sm.sqlite (its stores and message archive);
 * SQLite's WAL mode and busy timeout let this run beside palabred.
 * A password is read from standard input (one line) when it is not a
 * terminal, else asked twice without echo; never from the command line,
 * where other users could read it in the process list. `user import`
 * reads "JID PASSWORD" lines from standard input (many accounts at once,
 * for a migration or a benchmark); accounts that exist are left alone. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <pthread.h>

#include "../auth/auth.h"
#include "../auth/local.h"
#include "../auth/scram_keys.h"
#include "../lib/config.h"
#include "../lib/jid.h"
#include "../storage/storage.h"

#define EXIT_USAGE 2
#define PASSWORD_MAX 1024

static const char usage_text[] =
	"usage: palabrectl [-c config.xml] user add JID\n"
	"       palabrectl [-c config.xml] user del JID\n"
	"       palabrectl [-c config.xml] user passwd JID\n"
	"       palabrectl [-c config.xml] user list DOMAIN\n"
	"       palabrectl [-c config.xml] [-i ITERATIONS] user import\n"
	"The password of add and passwd is read from standard input (one\n"
	"line) when it is not a terminal, else asked twice. import reads\n"
	"\"JID PASSWORD\" lines from standard input; -i sets the SCRAM\n"
	"iteration count of the accounts it makes (default 10000).\n";

static int usage(void)
{
	fputs(usage_text, stderr);
	return EXIT_USAGE;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs("palabrectl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAILURE;
}

/* ---- passwords ------------------------------------------------------ */

static int read_line(FILE *in, char *buf, size_t size)
{
	if (!fgets(buf, (int)size, in))
		return -1;
	size_t n = strlen(buf);
	if (n == size - 1 && buf[n - 1] != '\n')
		return -2; /* too long */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int prompt_hidden(FILE *tty, const char *prompt, char *buf, size_t size)
{
	struct termios saved, quiet;
	fputs(prompt, stderr);
	fflush(stderr);
	int fd = fileno(tty);
	bool restore = tcgetattr(fd, &saved) == 0;
	if (restore) {
		quiet = saved;
		quiet.c_lflag &= ~(tcflag_t)ECHO;
		tcsetattr(fd, TCSAFLUSH, &quiet);
	}
	int rc = read_line(tty, buf, size);
	if (restore)
		tcsetattr(fd, TCSAFLUSH, &saved);
	fputc('\n', stderr);
	return rc;
}

/* Fills buf with the new password; returns 0 or an exit status. */
static int read_password(char *buf, size_t size)
{
	int rc;
	if (!isatty(STDIN_FILENO)) {
		rc = read_line(stdin, buf, size);
		if (rc == -1)
			return fail("no password on standard input");
	} else {
		char again[PASSWORD_MAX];
		rc = prompt_hidden(stdin, "Password: ", buf, size);
		if (rc == 0)
			rc = prompt_hidden(stdin, "Password again: ", again,
					   sizeof again);
		if (rc == -1)
			return fail("no password given");
		if (rc == 0 && strcmp(buf, again) != 0) {
			OPENSSL_cleanse(again, sizeof again);
			return fail("the two passwords differ");
		}
		OPENSSL_cleanse(again, sizeof again);
	}
	if (rc == -2)
		return fail("password longer than %d bytes", PASSWORD_MAX - 2);
	if (!buf[0])
		return fail("empty password");
	return 0;
}

/* ---- accounts ------------------------------------------------------- */

struct ctl {
	struct config cfg;
	struct local_db *db;
	unsigned iterations; /* -i; 0: the default */
};

static int ctl_open_db(struct ctl *ctl)
{
	char err[1024];
	if (config_make_data_dir(&ctl->cfg, err, sizeof err) < 0)
		return fail("%s", err);
	char *path = config_data_path(&ctl->cfg, LOCAL_DB_FILE);
	if (!path)
		return fail("out of memory");
	ctl->db = local_open(path, err, sizeof err);
	free(path);
	if (!ctl->db)
		return fail("%s", err);
	return 0;
}

/* Accounts of an ldap domain live in the directory: palabrectl neither
 * makes nor changes them. Returns -1 (with a message) for such a host. */
static int ctl_refuse_elsewhere(struct ctl *ctl, const struct config_host *host)
{
	char why[1024];
	if (auth_accounts_elsewhere(&ctl->cfg, host, why, sizeof why)) {
		fail("%s", why);
		return -1;
	}
	return 0;
}

/* The account named by arg: a bare JID of a configured domain. */
static int ctl_account_jid(struct ctl *ctl, const char *arg, struct jid *j)
{
	if (jid_parse_str(j, arg) < 0)
		return fail("'%s' is not a valid JID", arg);
	if (!j->local[0] || j->resource[0])
		return fail("'%s' is not a bare JID user@domain", arg);
	const struct config_host *host = config_find_host(&ctl->cfg, j->domain);
	if (!host)
		return fail("unknown domain '%s': no <host> for it in %s",
			    j->domain,
			    ctl->cfg.path ? ctl->cfg.path : "config");
	if (ctl_refuse_elsewhere(ctl, host) < 0)
		return 1;
	return ctl_open_db(ctl);
}

static int ctl_set_password(struct ctl *ctl, struct local_account *a)
{
	char password[PASSWORD_MAX], err[512];
	int rc = read_password(password, sizeof password);
	if (rc == 0 &&
	    local_account_set_password(
		    a, password, config_has_mechanism(&ctl->cfg, "DIGEST-MD5"),
		    ctl->iterations, err, sizeof err) < 0)
		rc = fail("%s", err);
	OPENSSL_cleanse(password, sizeof password);
	return rc;
}

static int user_add(struct ctl *ctl, const char *arg)
{
	struct jid j;
	struct local_account a;
	char err[1024];
	int rc = ctl_account_jid(ctl, arg, &j);
	if (rc)
		return rc;
	/* Say so before asking for a password that would be thrown away. */
	switch (local_get(ctl->db, j.domain, j.local, &a, err, sizeof err)) {
	case LOCAL_OK:
		return fail("user %s@%s exists", j.local, j.domain);
	case LOCAL_NOT_FOUND:
		break;
	default:
		return fail("%s", err);
	}
	memset(&a, 0, sizeof a);
	snprintf(a.domain, sizeof a.domain, "%s", j.domain);
	snprintf(a.localpart, sizeof a.localpart, "%s", j.local);
	if ((rc = ctl_set_password(ctl, &a)))
		return rc;
	switch (local_add(ctl->db, &a, err, sizeof err)) {
	case LOCAL_OK:
		return 0;
	case LOCAL_EXISTS:
		return fail("user %s@%s exists", j.local, j.domain);
	default:
		return fail("%s", err);
	}
}

static int user_passwd(struct ctl *ctl, const char *arg)
{
	struct jid j;
	struct local_account a;
	char err[1024];
	int rc = ctl_account_jid(ctl, arg, &j);
	if (rc)
		return rc;
	switch (local_get(ctl->db, j.domain, j.local, &a, err, sizeof err)) {
	case LOCAL_OK:
		break;
	case LOCAL_NOT_FOUND:
		return fail("no such user %s@%s", j.local, j.domain);
	default:
		return fail("%s", err);
	}
	if ((rc = ctl_set_password(ctl, &a)))
		return rc;
	switch (local_update(ctl->db, &a, err, sizeof err)) {
	case LOCAL_OK:
		return 0;
	case LOCAL_NOT_FOUND:
		return fail("no such user %s@%s", j.local, j.domain);
	default:
		return fail("%s", err);
	}
}

/* Everything the sm keeps of the account (its stores: roster, offline
 * messages, block list, preferences …, and its message archive), in
 * transactions of at most CTL_DELETE_CHUNK rows, so that a running sm's
 * writes wait little. */
#define CTL_DELETE_CHUNK 10000

static int user_del_data(struct ctl *ctl, const struct jid *j)
{
	char bare[JID_MAX + 1], err[1024];
	char *path = config_data_path(&ctl->cfg, "sm.sqlite");
	if (!path)
		return fail("out of memory");
	jid_format_bare(j, bare);
	int rc = storage_delete_user(path, bare, CTL_DELETE_CHUNK, err,
				     sizeof err);
	free(path);
	return rc < 0 ? fail("%s", err) : 0;
}

static int user_del(struct ctl *ctl, const char *arg)
{
	struct jid j;
	char err[1024];
	int rc = ctl_account_jid(ctl, arg, &j);
	if (rc)
		return rc;
	switch (local_delete(ctl->db, j.domain, j.local, err, sizeof err)) {
	case LOCAL_OK:
		return user_del_data(ctl, &j);
	case LOCAL_NOT_FOUND:
		return fail("no such user %s@%s", j.local, j.domain);
	default:
		return fail("%s", err);
	}
}

static void print_jid(void *ctx, const char *localpart)
{
	printf("%s@%s\n", localpart, (const char *)ctx);
}

static int user_list(struct ctl *ctl, const char *arg)
{
	char domain[JID_PART_MAX + 1], err[1024];
	if (jid_prep_domain(domain, arg) < 0)
		return fail("'%s' is not a valid domain", arg);
	const struct config_host *host = config_find_host(&ctl->cfg, domain);
	if (!host)
		return fail("unknown domain '%s': no <host> for it in %s",
			    domain, ctl->cfg.path ? ctl->cfg.path : "config");
	if (ctl_refuse_elsewhere(ctl, host) < 0)
		return 1;
	int rc = ctl_open_db(ctl);
	if (rc)
		return rc;
	if (local_list(ctl->db, domain, print_jid, domain, err, sizeof err) !=
	    LOCAL_OK)
		return fail("%s", err);
	return fflush(stdout) == 0
		       ? 0
		       : fail("standard output: %s", strerror(errno));
}

/* ---- import --------------------------------------------------------- */

/* Accounts are read, derived and stored by chunks: the key derivation
 * (PBKDF2) runs on every core, the inserts of a chunk in one
 * transaction. */
#define IMPORT_CHUNK 256
#define IMPORT_THREADS 2

struct import_chunk {
	struct ctl *ctl;
	struct local_account accounts[IMPORT_CHUNK];
	char *passwords[IMPORT_CHUNK];
	long lines[IMPORT_CHUNK];
	bool failed[IMPORT_CHUNK];
	size_t n;
};

struct import_worker {
	struct import_chunk *chunk;
	size_t first; /* derives first, first + IMPORT_THREADS, … */
};

static void *import_derive(void *arg)
{
	struct import_worker *w = arg;
	struct import_chunk *c = w->chunk;
	bool digest = config_has_mechanism(&c->ctl->cfg, "DIGEST-MD5");
	char err[256];
	for (size_t i = w->first; i < c->n; i += IMPORT_THREADS)
		c->failed[i] = local_account_set_password(
				       &c->accounts[i], c->passwords[i], digest,
				       c->ctl->iterations, err, sizeof err) < 0;
	return NULL;
}

/* One "JID PASSWORD" line into the chunk; -1 (said) when it is wrong. */
static int import_parse(struct import_chunk *c, char *line, long lineno)
{
	char *space = strchr(line, ' ');
	struct jid j;
	if (!space || !space[1]) {
		fprintf(stderr, "palabrectl: line %ld: not \"JID PASSWORD\"\n",
			lineno);
		return -1;
	}
	*space = '\0';
	const struct config_host *host = NULL;
	if (jid_parse_str(&j, line) < 0 || !j.local[0] || j.resource[0] ||
	    !(host = config_find_host(&c->ctl->cfg, j.domain))) {
		fprintf(stderr,
			"palabrectl: line %ld: '%s' is not a bare JID "
			"of a configured domain\n",
			lineno, line);
		return -1;
	}
	if (ctl_refuse_elsewhere(c->ctl, host) < 0)
		return -1;
	struct local_account *a = &c->accounts[c->n];
	memset(a, 0, sizeof *a);
	snprintf(a->domain, sizeof a->domain, "%s", j.domain);
	snprintf(a->localpart, sizeof a->localpart, "%s", j.local);
	c->passwords[c->n] = strdup(space + 1);
	c->lines[c->n] = lineno;
	if (!c->passwords[c->n])
		return fail("out of memory");
	c->n++;
	return 0;
}

/* Derives and stores the chunk; counts into *added, *existed. */
static int import_store(struct import_chunk *c, long *added, long *existed)
{
	pthread_t threads[IMPORT_THREADS];
	bool started[IMPORT_THREADS];
	struct import_worker workers[IMPORT_THREADS];
	char err[1024];
	int rc = 0;
	for (size_t t = 0; t < IMPORT_THREADS; t++) {
		workers[t] = (struct import_worker){c, t};
		started[t] = pthread_create(&threads[t], NULL, import_derive,
					    &workers[t]) == 0;
		if (!started[t])
			import_derive(&workers[t]);
	}
	for (size_t t = 0; t < IMPORT_THREADS; t++)
		if (started[t])
			pthread_join(threads[t], NULL);
	if (local_begin(c->ctl->db, err, sizeof err) != LOCAL_OK)
		rc = fail("%s", err);
	for (size_t i = 0; i < c->n; i++) {
		enum local_status st = LOCAL_ERROR;
		if (rc == 0 && !c->failed[i])
			st = local_add(c->ctl->db, &c->accounts[i], err,
				       sizeof err);
		if (st == LOCAL_OK)
			(*added)++;
		else if (st == LOCAL_EXISTS)
			(*existed)++;
		else if (rc == 0)
			rc = fail("line %ld: %s", c->lines[i],
				  c->failed[i] ? "the password has characters "
						 "that SASLprep forbids"
					       : err);
		OPENSSL_cleanse(c->passwords[i], strlen(c->passwords[i]));
		free(c->passwords[i]);
	}
	if (rc == 0 && local_commit(c->ctl->db, err, sizeof err) != LOCAL_OK)
		rc = fail("%s", err);
	c->n = 0;
	return rc;
}

/* Lines in error are said and skipped; the others are imported. */
static int user_import(struct ctl *ctl, const char *arg)
{
	static struct import_chunk chunk; /* 600 KiB: not on the stack */
	static char line[JID_MAX + PASSWORD_MAX + 2];
	long lineno = 0, added = 0, existed = 0, wrong = 0;
	int rc = ctl_open_db(ctl), r;
	(void)arg;
	chunk.ctl = ctl;
	while (rc == 0 && (r = read_line(stdin, line, sizeof line)) != -1) {
		lineno++;
		if (r == -2) {
			fail("line %ld: too long", lineno);
			wrong++;
		} else if (line[0] && import_parse(&chunk, line, lineno) < 0) {
			wrong++;
		}
		OPENSSL_cleanse(line, sizeof line);
		if (chunk.n == IMPORT_CHUNK)
			rc = import_store(&chunk, &added, &existed);
	}
	if (rc == 0 && chunk.n)
		rc = import_store(&chunk, &added, &existed);
	fprintf(stderr,
		"palabrectl: %ld account(s) added, %ld already "
		"existed, %ld line(s) in error\n",
		added, existed, wrong);
	return rc || wrong ? EXIT_FAILURE : 0;
}

/* ---- main ----------------------------------------------------------- */

int main(int argc, char **argv)
{
	static const struct {
		const char *verb;
		int (*run)(struct ctl *, const char *);
	} commands[] = {
		{"add", user_add},       {"del", user_del},
		{"passwd", user_passwd}, {"list", user_list},
		{"import", user_import},
	};
	const char *config_path = "config.xml";
	struct ctl ctl = {0};
	int opt;
	while ((opt = getopt(argc, argv, "c:i:h")) != -1) {
		switch (opt) {
		case 'c':
			config_path = optarg;
			break;
		case 'i': {
			char *end;
			unsigned long n = strtoul(optarg, &end, 10);
			if (*end || n < SCRAM_MIN_ITERATIONS || n > 10000000)
				return fail("-i: the iteration count must be "
					    "%d to 10000000",
					    SCRAM_MIN_ITERATIONS);
			ctl.iterations = (unsigned)n;
			break;
		}
		default:
			return usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || strcmp(argv[0], "user") != 0)
		return usage();
	bool import = strcmp(argv[1], "import") == 0;
	if (argc != (import ? 2 : 3))
		return usage();
	size_t i = 0;
	while (i < sizeof commands / sizeof commands[0] &&
	       strcmp(commands[i].verb, argv[1]) != 0)
		i++;
	if (i == sizeof commands / sizeof commands[0])
		return usage();

	char err[1024];
	if (config_load(&ctl.cfg, config_path, err, sizeof err) < 0)
		return fail("%s", err);
	int rc = commands[i].run(&ctl, import ? NULL : argv[2]);
	local_close(ctl.db);
	config_free(&ctl.cfg);
	return rc;
}
