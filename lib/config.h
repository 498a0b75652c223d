/* config: config.xml, read once at start (and again on SIGHUP).
 * Every error names the file, the line and the setting. */
#ifndef PALABRE_CONFIG_H
#define PALABRE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_HOSTS 256
#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_MECHANISMS 16
#define CONFIG_MAX_MODULES 64

struct config_host {
	char *domain;      /* prepared (nameprep) */
	char *certificate; /* PEM file, chain first */
	char *key;         /* PEM private key */
	char *auth_backend; /* "local" */
};

struct config_listener {
	char *address;
	int port;
	bool direct_tls; /* XEP-0368: TLS from the first byte (5223) */
};

struct config {
	char *path;
	/* process */
	char *pidfile;
	int log_level; /* enum log_level */
	/* router */
	char *router_socket; /* Unix socket path */
	char *router_secret; /* from router/secret-file; NULL: random per run */
	/* storage */
	char *data_dir;
	/* hosts */
	struct config_host hosts[CONFIG_MAX_HOSTS];
	size_t nhosts;
	/* c2s */
	struct config_listener listeners[CONFIG_MAX_LISTENERS];
	size_t nlisteners;
	bool require_starttls;
	size_t max_stanza_size;
	unsigned max_depth;
	char *mechanisms[CONFIG_MAX_MECHANISMS]; /* in order of preference */
	size_t nmechanisms;
	bool resource_conflict_replace; /* false: refuse the new one */
	unsigned c2s_processes;
	unsigned auth_timeout; /* seconds from connect to bound session */
	/* sm */
	char *modules[CONFIG_MAX_MODULES];
	size_t nmodules;
	unsigned offline_quota; /* messages stored per user (offline.c) */
};

/* Reads path into cfg. On error returns -1 and writes one line such as
 * "config.xml:12: c2s/listen/@port: 'abc' is not a port number (1-65535)"
 * into err. Relative paths in settings are taken relative to the
 * directory of the configuration file. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);

const struct config_host *config_find_host(const struct config *cfg,
					   const char *domain);
bool config_has_mechanism(const struct config *cfg, const char *mech);
bool config_has_module(const struct config *cfg, const char *module);
/* Creates data_dir (mode 0700) unless it exists. Returns 0, or -1 with
 * a message naming the setting. */
int config_make_data_dir(const struct config *cfg, char *err, size_t errlen);
/* Path of a file inside data_dir, malloc'd. */
char *config_data_path(const struct config *cfg, const char *file);

#endif
