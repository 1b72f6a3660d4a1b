/* config.h - directives (config file lines and --name value arguments), redis.conf style. */
#ifndef FC_CONFIG_H
#define FC_CONFIG_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CONFIG_LIST_MAX 64

struct fc_config {
    int port;
    char *bind[16];
    int nbind;
    char *interfaces[CONFIG_LIST_MAX];
    int ninterfaces;
    char *pcaps[CONFIG_LIST_MAX];
    int npcaps;
    char *bpf;
    double pcap_speed;
    int pcap_loop;
    int pcap_end;                    /* enum pcap_end_mode */
    double pcap_progress;            /* seconds between progress lines of a file read, 0 = none */
    int capture_threads;
    int snaplen, promisc;
    int capture_batch_ms;            /* 0 = immediate mode */
    int capture_realtime;            /* live reader threads at SCHED_FIFO */
    int capture_reader;              /* enum capture_reader */
    int capture_coalesce_us;         /* immediate mode: pause after a burst */
    uint64_t capture_buffer;         /* bytes of kernel ring per live device */
    uint64_t flow_idle_timeout, flow_lifetime_timeout, host_idle_timeout, tcp_close_grace_ms;
    uint64_t max_flows, maxmemory;
    uint64_t max_names;              /* entries of each name family (dns., http., ...) */
    uint64_t user_grace;
    char *watchlist;
    char *notify_keyspace_events;
    char *requirepass;
    uint64_t maxclients;
    uint64_t timeout;                /* seconds a client may stay idle, 0 = forever (Redis's timeout) */
    uint64_t client_query_buffer_limit;  /* a client's query buffer + queued MULTI bytes */
    int protected_mode;
    int metrics_port;                /* Prometheus /metrics over HTTP on the `bind` addresses, 0 = off */
    int enable_protected_configs;    /* enum protected_configs: who may CONFIG SET a protected directive */
    long long slowlog_log_slower_than, slowlog_max_len;
    char *cloud[CONFIG_LIST_MAX];
    int ncloud;
    char *cloud_password, *cloud_user;
    uint64_t cloud_flush_ms, cloud_queue_max;
    uint64_t cloud_dns_window;       /* s: a one-sided DNS sighting waits for the other probe's side */
    char *probe_id;
    char *export_to[CONFIG_LIST_MAX];   /* flow collectors, host:port */
    int nexport;
    int export_protocol;             /* 0 ipfix, 1 netflow9 */
    int export_transport;            /* 0 udp, 1 tcp */
    uint64_t export_template_refresh, export_template_refresh_packets, export_observation_domain;
    uint64_t client_output_pubsub_hard, client_output_pubsub_soft, client_output_pubsub_soft_s;
    int loglevel;                    /* enum log_level */
    char *logfile;                   /* "" = standard output */
    int syslog_enabled, syslog_facility;
    char *syslog_ident;
    char *user;                      /* drop to this user after opening capture devices */
    int supervised;                  /* enum supervised_mode */
    char *config_file;               /* absolute path of the file read, or NULL */
};

enum protected_configs { PROTECTED_NO, PROTECTED_YES, PROTECTED_LOCAL };

struct cache_config;

/* The flow cache's limits from the directives: its timeouts in microseconds, max-flows, maxmemory
 * (at start-up, and again after CONFIG SET). */
void config_cache_limits(const struct fc_config *cfg, struct cache_config *out);

/* Fill c with the defaults of KEYSPACE.md. Returns 0, or -1 on OOM. */
int config_defaults(struct fc_config *c);

/* Parse argv as redis-server does: an optional first argument naming the
 * config file, then "--directive value..." overrides. On error returns -1
 * with one line in err naming the file and line (or the argument). Start-up. */
int config_load(struct fc_config *c, int argc, char **argv, char *err, size_t errlen);

/* Apply one directive (name and its arguments). Returns 0, or -1 with err. */
int config_set(struct fc_config *c, const char *name, int argc, char **argv, char *err, size_t errlen);

/* Calls fn for every directive with its current value as text (CONFIG GET). */
void config_each(const struct fc_config *c, void (*fn)(void *arg, const char *name, const char *val),
                 void *arg);

/* Prints --help to out: the usage lines, then every directive of the table
 * with its argument, default and meaning. Returns 0, or -1 on OOM. Start-up. */
int config_usage(FILE *out);

void config_free(struct fc_config *c);

/* A CONFIG SET of several directives at once, as Redis 7.0 makes it: every name is checked and every
 * value parsed before anything changes. */
enum { CONFIG_CHANGE_MAX = 64 };
struct config_change {
    struct fc_config next;           /* the parsed values (only the fields of the directives named) */
    int n;
    int idx[CONFIG_CHANGE_MAX];      /* the directives named, in order */
};

/* Parses npairs name/value pairs against the current configuration cur (local: the client is on a
 * loopback address, for enable-protected-configs local); a directive that cannot change given the
 * value it has is accepted and left out. Returns 0, or -1 with err holding Redis' error text without
 * "ERR " (the first problem: "Unknown option or number of arguments for CONFIG SET - 'x'", "CONFIG
 * SET failed (possibly related to argument 'x') - can't set immutable config", "... - argument must
 * be a memory value"...) and nothing held in ch. values[] may be reordered. Loop thread. */
int config_change_parse(const struct fc_config *cur, struct config_change *ch, int npairs, char **names,
                        char **values, int local, char *err, size_t errlen);

/* Whether ch sets the directive named name; its new value is then in ch->next. */
int config_change_has(const struct config_change *ch, const char *name);

/* Moves the new values into cfg (its old strings freed); ch holds nothing afterwards. Loop thread. */
void config_change_commit(struct fc_config *cfg, struct config_change *ch);

/* Whether the directive named name holds a secret (requirepass, cloud-password): CONFIG GET hides it,
 * MONITOR and SLOWLOG show its CONFIG SET value as "(redacted)". */
int config_is_sensitive(const char *name);

/* Frees what ch holds (a change not committed). */
void config_change_discard(struct config_change *ch);

/* CONFIG REWRITE (config_rewrite.c): rewrites cfg->config_file as Redis does (its comments, order and
 * unknown lines kept; each directive's first line replaced by its current value, further ones
 * blanked; directives not in the file and not at their default appended after "# Generated by
 * CONFIG REWRITE"), atomically (a temporary file renamed over it). Returns 0, or -1 with errno set.
 * Loop thread. */
int config_rewrite(const struct fc_config *cfg);

#endif
