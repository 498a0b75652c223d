/* palabred: reads the configuration, then either runs one component
 * (--component NAME) or is the supervisor: the router on its own loop,
 * and every component as a child process. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/rand.h>

#include "../lib/log.h"
#include "components.h"
#include "instance.h"
#include "palabred.h"
#include "sm/module.h"
#include "supervisor.h"

struct palabred {
	uv_loop_t *loop;
	const struct config *cfg;
	struct router *router;
	struct supervisor *supervisor;
	uv_signal_t sigterm, sigint, sighup;
	uv_timer_t sm_timer; /* polls until the sm serves every domain */
	unsigned waited_ms;
	const char *pidfile; /* written by -d, removed at exit */
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: palabred -c CONFIG [-d]\n"
		"       palabred -c CONFIG --component NAME\n"
		"  -c CONFIG         the configuration file (config.xml)\n"
		"  -d                run in the background, with a pidfile\n"
		"  --component NAME  run one component alone:");
	for (const struct component *c = palabred_components; c->name; c++) {
		fprintf(out, "%s %s", c == palabred_components ? "" : ",",
			c->name);
		if (c->numbered)
			fprintf(out, ", %s.N", c->name);
	}
	fprintf(out, "\n");
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
		fprintf(stderr,
			"%s: router/secret-file: required to run "
			"component %s alone\n",
			cfg->path, name);
		return 1;
	}
	const struct component *c = component_find(name);
	if (!c) {
		fprintf(stderr, "palabred: unknown component '%s'\n", name);
		usage(stderr);
		return 2;
	}
	log_init(name, cfg->log_level);
	return c->main(cfg, name, secret);
}

/* ---- The supervisor ---------------------------------------------------- */

static void palabred_stopped(void *data)
{
	struct palabred *p = data;
	router_stop(p->router);
	if (!uv_is_closing((uv_handle_t *)&p->sm_timer))
		uv_close((uv_handle_t *)&p->sm_timer, NULL);
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

/* The sm starts first; the other components (components.c) once the sm
 * serves every domain (so that no client logs in before its session can
 * start), or after SM_READY_WAIT_MS anyway. */
#define SM_READY_POLL_MS 20
#define SM_READY_WAIT_MS 5000

static bool sm_ready(const struct palabred *p)
{
	for (size_t i = 0; i < p->cfg->nhosts; i++)
		if (!router_has_route(p->router, p->cfg->hosts[i].domain))
			return false;
	return true;
}

/* Every process of the components that start before (or after) the sm
 * serves every domain. */
static int spawn_components(struct palabred *p, bool after_sm)
{
	for (const struct component *c = palabred_components; c->name; c++) {
		if (c->after_sm != after_sm)
			continue;
		for (unsigned i = 0; i < c->count(p->cfg); i++) {
			char name[32];
			component_process_name(c, i, name, sizeof name);
			if (supervisor_spawn(p->supervisor, name) < 0)
				return -1;
		}
	}
	return 0;
}

static void spawn_after_sm(uv_timer_t *timer)
{
	struct palabred *p = timer->data;
	p->waited_ms += SM_READY_POLL_MS;
	if (!sm_ready(p) && p->waited_ms < SM_READY_WAIT_MS)
		return;
	if (!sm_ready(p))
		log_warn(
			"the sm does not serve every domain yet; starting c2s");
	uv_timer_stop(timer);
	uv_close((uv_handle_t *)timer, NULL);
	if (spawn_components(p, true) < 0)
		log_error("cannot start every component");
}

static int start_components(struct palabred *p)
{
	p->supervisor = supervisor_new(p->loop, p->cfg, component_total(p->cfg),
				       palabred_stopped, p);
	if (!p->supervisor || spawn_components(p, false) < 0)
		return -1;
	uv_timer_init(p->loop, &p->sm_timer);
	p->sm_timer.data = p;
	return uv_timer_start(&p->sm_timer, spawn_after_sm, SM_READY_POLL_MS,
			      SM_READY_POLL_MS);
}

/* The router, then the components; returns once they have stopped: 0,
 * or 1 if one of them could not run with this configuration. */
static int serve(const struct config *cfg, int background)
{
	char secret[65];
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
	if (start_components(&p) < 0) {
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
	int rc = supervisor_failed(p.supervisor) ? 1 : 0;
	supervisor_free(p.supervisor);
	if (p.pidfile)
		unlink(p.pidfile);
	log_info("palabred stopped%s", rc ? ": a component cannot run with "
					    "this configuration"
					  : "");
	return rc;
}

/* Nothing of a live palabred on this configuration (its socket, pidfile,
 * databases or ports) is touched before the instance lock is ours. */
static int run_supervisor(const struct config *cfg, int background)
{
	struct instance instance;
	char err[1024];
	log_init("palabred", cfg->log_level);
	if (config_make_data_dir(cfg, err, sizeof err) < 0 ||
	    instance_lock(&instance, cfg, err, sizeof err) < 0) {
		fprintf(stderr, "palabred: %s\n", err);
		return 1;
	}
	if (instance_check_ports(cfg, err, sizeof err) < 0) {
		fprintf(stderr, "palabred: %s: %s\n", cfg->path, err);
		instance_unlock(&instance);
		return 1;
	}
	if (background && daemonize(cfg->pidfile) < 0) {
		fprintf(stderr, "%s: pidfile: cannot write %s: %s\n", cfg->path,
			cfg->pidfile, strerror(errno));
		instance_unlock(&instance);
		return 1;
	}
	if (background)
		instance_note_pid(&instance);
	int rc = serve(cfg, background);
	instance_unlock(&instance);
	return rc;
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
		case 'c':
			config_path = optarg;
			break;
		case 'd':
			background = 1;
			break;
		case 'C':
			component = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!config_path || optind != argc) {
		usage(stderr);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	/* Static: a component's worker thread may still be inside a
	 * directory call that reads it when the component returns (an LDAP
	 * server that does not answer); it lives until the process ends. */
	static struct config cfg;
	char err[1024];
	/* lib/ keeps the sm's settings unread: the sm's modules check
	 * them here, so that every error is found before anything starts. */
	if (config_load(&cfg, config_path, err, sizeof err) < 0 ||
	    sm_module_check_config(&cfg, err, sizeof err) < 0) {
		config_free(&cfg); /* again after config_load's: harmless */
		fprintf(stderr, "palabred: %s\n", err);
		return 1;
	}
	if (component)
		return run_component(&cfg, component);
	int rc = run_supervisor(&cfg, background);
	config_free(&cfg);
	return rc;
}
