/* palabred: reads the configuration, then either runs one component
 * (--component NAME) or is the supervisor: the router on its own loop,
 * and every component as a child process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../lib/log.h"
#include "palabred.h"
#include "supervisor.h"

struct palabred {
	uv_loop_t *loop;
	const struct config *cfg;
	struct router *router;
	struct supervisor *supervisor;
	uv_signal_t sigterm, sigint, sighup;
	const char *pidfile; /* written by -d, removed at exit */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: palabred -c CONFIG [-d]\n"
		"       palabred -c CONFIG --component NAME\n"
		"  -c CONFIG         the configuration file (config.xml)\n"
		"  -d                run in the background, with a pidfile\n"
		"  --component NAME  run one component alone: sm, c2s or c2s.N\n");
}

/* ---- One component ---------------------------------------------------- */

static int run_component(const struct config *cfg, const char *name)
{
	char secret[512] = "";
	const char *from_env = getenv(PALABRE_SECRET_ENV);
	if (from_env) {
		snprintf(secret, sizeof secret, "%s", from_env);
		unsetenv(PALABRE_SECRET_ENV);
	} else if (cfg->router_secret) {
		snprintf(secret, sizeof secret, "%s", cfg->router_secret);
	} else {
		fprintf(stderr, "%s: router/secret-file: required to run "
			"component %s alone\n", cfg->path, name);
		return 1;
	}
	log_init(name, cfg->log_level);
	if (strcmp(name, "sm") == 0)
		return sm_main(cfg, name, secret);
	if (strcmp(name, "c2s") == 0 || strncmp(name, "c2s.", 4) == 0)
		return c2s_main(cfg, name, secret);
	fprintf(stderr, "palabred: unknown component '%s'\n", name);
	usage(stderr);
	return 2;
}

/* ---- The supervisor ---------------------------------------------------- */

static void palabred_stopped(void *data)
{
	struct palabred *p = data;
	router_stop(p->router);
	uv_close((uv_handle_t *)&p->sigterm, NULL);
	uv_close((uv_handle_t *)&p->sigint, NULL);
	uv_close((uv_handle_t *)&p->sighup, NULL);
	uv_stop(p->loop);
}

static void palabred_signal(uv_signal_t *handle, int signum)
{
	struct palabred *p = handle->data;
	if (signum == SIGHUP) {
		log_warn("SIGHUP: reloading the configuration is not supported "
			 "yet; restart palabred to apply changes");
		return;
	}
	log_info("signal %d: stopping", signum);
	supervisor_stop(p->supervisor);
}

static int make_secret(char *out, size_t size)
{
	unsigned char bytes[32];
	if (RAND_bytes(bytes, sizeof bytes) != 1 || size < 65)
		return -1;
	for (size_t i = 0; i < sizeof bytes; i++)
		sprintf(out + 2 * i, "%02x", bytes[i]);
	return 0;
}

static int ensure_data_dir(const struct config *cfg)
{
	if (mkdir(cfg->data_dir, 0700) == 0 || errno == EEXIST)
		return 0;
	fprintf(stderr, "%s: storage/path: cannot create %s: %s\n", cfg->path,
		cfg->data_dir, strerror(errno));
	return -1;
}

static int daemonize(const char *pidfile)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	if (setsid() < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid > 0)
		_exit(0);
	int fd = open("/dev/null", O_RDWR);
	if (fd >= 0) {
		dup2(fd, STDIN_FILENO);
		dup2(fd, STDOUT_FILENO);
		close(fd);
	}
	FILE *f = fopen(pidfile, "w");
	if (!f)
		return -1;
	fprintf(f, "%d\n", (int)getpid());
	return fclose(f);
}

static void start_signal(struct palabred *p, uv_signal_t *h, int signum)
{
	uv_signal_init(p->loop, h);
	h->data = p;
	uv_signal_start(h, palabred_signal, signum);
}

/* The components of this configuration: the sm first, then each c2s. */
static const char **component_names(const struct config *cfg)
{
	const char **names = calloc(cfg->c2s_processes + 2, sizeof *names);
	if (!names)
		return NULL;
	names[0] = "sm";
	for (unsigned i = 0; i < cfg->c2s_processes; i++) {
		char *name = malloc(16);
		snprintf(name, 16, "c2s.%u", i + 1);
		names[i + 1] = name;
	}
	return names;
}

static int run_supervisor(const struct config *cfg, int background)
{
	char secret[65];
	log_init("palabred", cfg->log_level);
	if (ensure_data_dir(cfg) < 0)
		return 1;
	if (background && daemonize(cfg->pidfile) < 0) {
		fprintf(stderr, "%s: pidfile: cannot write %s: %s\n", cfg->path,
			cfg->pidfile, strerror(errno));
		return 1;
	}
	if (cfg->router_secret)
		snprintf(secret, sizeof secret, "%s", cfg->router_secret);
	else if (make_secret(secret, sizeof secret) < 0)
		return 1;
	/* Spawned components read it once and remove it from their own
	 * environment. */
	setenv(PALABRE_SECRET_ENV, secret, 1);

	struct palabred p = {.loop = uv_default_loop(), .cfg = cfg};
	p.pidfile = background ? cfg->pidfile : NULL;
	p.router = router_start(p.loop, cfg, secret);
	if (!p.router)
		return 1;
	const char **names = component_names(cfg);
	p.supervisor = names ? supervisor_start(p.loop, cfg, names,
						palabred_stopped, &p)
			     : NULL;
	if (!p.supervisor) {
		log_error("cannot start the components");
		router_stop(p.router);
		return 1;
	}
	start_signal(&p, &p.sigterm, SIGTERM);
	start_signal(&p, &p.sigint, SIGINT);
	start_signal(&p, &p.sighup, SIGHUP);
	log_info("palabred started: %zu domain(s), %u c2s process(es)",
		 cfg->nhosts, cfg->c2s_processes);
	uv_run(p.loop, UV_RUN_DEFAULT);
	supervisor_free(p.supervisor);
	for (unsigned i = 0; i < cfg->c2s_processes; i++)
		free((char *)names[i + 1]);
	free(names);
	if (p.pidfile)
		unlink(p.pidfile);
	log_info("palabred stopped");
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{"component", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}};
	const char *config_path = NULL, *component = NULL;
	int background = 0, opt;
	while ((opt = getopt_long(argc, argv, "c:dh", options, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'd': background = 1; break;
		case 'C': component = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	struct config cfg;
	char err[1024];
	if (config_load(&cfg, config_path, err, sizeof err) < 0) {
		fprintf(stderr, "palabred: %s\n", err);
		return 1;
	}
	int rc = component ? run_component(&cfg, component)
			   : run_supervisor(&cfg, background);
	config_free(&cfg);
	return rc;
}
