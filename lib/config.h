/* config: config.xml, read once at start (and again on SIGHUP).
 * Every error names the file, the line and the setting. */
#ifndef PALABRE_CONFIG_H
#define PALABRE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#define CONFIG_MAX_HOSTS 256
#define CONFIG_MAX_LISTENERS 16
#define CONFIG_MAX_MECHANISMS 16
#define CONFIG_MAX_DIRECTORIES 16
#define CONFIG_MAX_LDAP_URIS 8

/* An element of config.xml with its line (config_reader.h). */
struct cnode;

/* What a directory lets palabre verify (<ldap><password-access>): each
 * bit makes some SASL mechanisms possible for the domains that use it. */
enum config_ldap_access {
	/* PLAIN: search the entry, bind as it with the password. */
	CONFIG_LDAP_BIND = 1 << 0,
	/* SCRAM-SHA-1/-256: RFC 5803 authPassword values the service
	 * account reads. */
	CONFIG_LDAP_AUTH_PASSWORD = 1 << 1,
	/* DIGEST-MD5 and SCRAM: the clear userPassword the service account
	 * reads. */
	CONFIG_LDAP_CLEAR_PASSWORD = 1 << 2,
};

/* One <ldap id="…"> directory, shared by the hosts that name it. */
struct config_ldap {
	char *id;
	char *uris[CONFIG_MAX_LDAP_URIS]; /* tried in order */
	size_t nuris;
	bool starttls;            /* for ldap:// URIs */
	char *ca_file;            /* NULL: the system's trust store */
	char *bind_dn;            /* NULL: anonymous searches */
	char *bind_password;      /* read from bind-password-file */
	unsigned timeout;         /* seconds: connect, and each operation */
	unsigned pool;            /* connections for searches, and for binds */
	unsigned password_access; /* enum config_ldap_access bits */
	/* Its elements that lib/ does not know, kept as read for the sm,
	 * whose modules declare and read them (server/sm/module.h). */
	struct cnode *kept;
};

struct config_host {
	char *domain;       /* prepared (nameprep) */
	char *certificate;  /* PEM file, chain first */
	char *key;          /* PEM private key */
	char *auth_backend; /* "local" or "ldap" */
	/* ldap: index into config.directories, the search base and the
	 * filter template (%u local part, %d domain, %% a percent sign). */
	int directory;
	char *ldap_base;
	char *ldap_filter;
	/* Its elements that lib/ does not know, kept as read for the sm,
	 * whose modules declare and read them (server/sm/module.h). */
	struct cnode *kept;
};

struct config_listener {
	char *address;
	int port;
	bool direct_tls; /* XEP-0368: TLS from the first byte (5223) */
};

/* <s2s>: federation (server/s2s/, docs/federation.md). */
struct config_s2s {
	bool enabled; /* the section exists */
	struct config_listener listeners[CONFIG_MAX_LISTENERS];
	size_t nlisteners;
	char *resolver;    /* a DNS server's address; NULL: resolv.conf */
	int resolver_port; /* 0: 53 */
	bool require_tls;  /* no stream without TLS, either way */
	/* Only peers whose certificate verifies (SASL EXTERNAL); no
	 * dialback. */
	bool require_valid_certificate;
	char *ca_file; /* trust anchors; NULL with ca_path: the system's */
	char *ca_path;
	unsigned connect_timeout; /* seconds for a route to come up */
	unsigned idle_timeout;    /* seconds before a quiet stream closes */
	unsigned queue_size;      /* stanzas waiting per route */
	size_t max_stanza_size;
};

#define CONFIG_MAX_MUC_SERVICES 64
#define CONFIG_MAX_MUC_ADMINS 64

/* Who may create rooms (<muc><create>). */
enum config_muc_create {
	CONFIG_MUC_CREATE_LOCAL,  /* users of the domains palabred serves */
	CONFIG_MUC_CREATE_ADMINS, /* the service admins only */
	CONFIG_MUC_CREATE_ANYONE, /* remote users too */
};

/* <muc>: chat rooms (server/muc/, docs/rooms.md). */
struct config_muc {
	bool enabled; /* the section exists */
	/* The names the muc process binds (prepared domains); without
	 * <service>, conference.DOMAIN for every host. */
	char *services[CONFIG_MAX_MUC_SERVICES];
	size_t nservices;
	enum config_muc_create create;
	/* Bare JIDs that own every room of every service. */
	char *admins[CONFIG_MAX_MUC_ADMINS];
	size_t nadmins;
	unsigned history;         /* messages a room keeps for newcomers */
	unsigned max_occupants;   /* per room, the room's own limit's bound */
	unsigned max_owned_rooms; /* rooms one user may create and own */
	unsigned retention_days;  /* archive; 0: kept for ever */
	int line;                 /* of <muc>, for errors found later */
};

#define CONFIG_MAX_COMPONENTS 64

/* One <component name="…" secret-file="…"/>: an external component
 * (XEP-0114) that may connect as name. */
struct config_component {
	char *name;   /* prepared domain */
	char *secret; /* the first line of its secret-file; never logged */
	/* federate="true": users of other servers may use it too; else
	 * their stanzas get not-allowed (server/accept/). */
	bool federate;
	int line; /* for errors found once the whole file is read */
};

/* <components>: external components (server/accept/, docs/components.md). */
struct config_components {
	bool enabled; /* the section exists */
	struct config_listener listeners[CONFIG_MAX_LISTENERS];
	size_t nlisteners;
	struct config_component list[CONFIG_MAX_COMPONENTS];
	size_t count;
	int line; /* of <components> */
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
	/* directories (before the hosts that use them) */
	struct config_ldap directories[CONFIG_MAX_DIRECTORIES];
	size_t ndirectories;
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
	/* <auth-throttle>: failed authentications allowed per period, per
	 * source address and per account (0: no limit), and how long a
	 * throttled attempt waits for its answer. */
	unsigned throttle_per_address;
	unsigned throttle_per_account;
	unsigned throttle_period; /* seconds */
	unsigned throttle_delay_ms;
	/* <rate-limit>: what one bound client may send, as token buckets
	 * (server/c2s/ratelimit.h); a rate of 0 is no limit. */
	unsigned rate_stanzas, rate_stanza_burst; /* per second; stanzas */
	unsigned rate_bytes, rate_byte_burst;     /* per second; bytes */
	/* <sm>: its elements, kept as read (lib/ reads none of them): the
	 * sm's modules declare, check and read them (server/sm/module.h). */
	struct cnode *sm;
	struct config_s2s s2s;
	struct config_muc muc;
	struct config_components components;
};

/* Reads path into cfg. On error returns -1 and writes one line such as
 * "config.xml:12: c2s/listen/@port: 'abc' is not a port number (1-65535)"
 * into err. Relative paths in settings are taken relative to the
 * directory of the configuration file. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);
void config_free(struct config *cfg);
/* For a configuration a program makes (unit tests, fuzzing): appends
 * <name>text</name> to a list lib/ keeps (cfg->sm, a directory's kept)
 * as if config.xml had it; returns 0, or -1 (memory). And frees such a
 * list. */
int config_keep(struct cnode **kept, const char *name, const char *text);
void config_kept_free(struct cnode *kept);

const struct config_host *config_find_host(const struct config *cfg,
					   const char *domain);
/* The external component named name, or NULL. */
const struct config_component *config_find_component(const struct config *cfg,
						     const char *name);
/* The directory of an ldap host, NULL for another backend. */
const struct config_ldap *config_host_directory(const struct config *cfg,
						const struct config_host *host);
bool config_has_mechanism(const struct config *cfg, const char *mech);
/* Creates data_dir (mode 0700) unless it exists. Returns 0, or -1 with
 * a message naming the setting. */
int config_make_data_dir(const struct config *cfg, char *err, size_t errlen);
/* Path of a file inside data_dir, malloc'd. */
char *config_data_path(const struct config *cfg, const char *file);

#endif
