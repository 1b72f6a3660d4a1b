/* main.c - flowcached entry point: configuration, cache, capture threads, then the loop (main thread = loop thread). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/cache/names.h"
#include "capture/cache/watchlist.h"
#include "capture/source/capture.h"
#include "capture/flow/l7.h"
#include "server/commands/commands.h"
#include "server/replication/cloud.h"
#include "server/core/config.h"
#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/export/export_sink.h"
#include "server/core/supervise.h"
#include "server/log/log.h"
#include "server/metrics/metrics.h"
#include "server/pubsub/pubsub.h"

static void usage(void)
{
    fprintf(stderr, "usage: flowcached [config-file] [--directive value ...]\n"
                    "  e.g. flowcached /etc/flowcached/flowcached.conf --port 7000 --pcap x.pcap --pcap-end exit\n"
                    "  flowcached --help lists every directive with its default (man flowcached)\n");
}

/* -h/--help and -v/--version, wherever they stand (they take no value).
 * Returns 1 when one was found and answered, else 0. */
static int answer_flags(int argc, char **argv, int *rc)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-v") || !strcmp(argv[i], "--version")) {
            printf("flowcached %s (RESP server compatible with Redis %s)\n", FLOWCACHED_VERSION, SERVER_VERSION);
            *rc = 0;
            return 1;
        }
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            *rc = config_usage(stdout) == 0 ? 0 : 1;
            return 1;
        }
    }
    return 0;
}

static int build_capture(struct server *s, char *err, size_t errlen)
{
    struct fc_config *cfg = s->cfg;
    struct capture_opts o = {
        .files = cfg->pcaps, .nfiles = cfg->npcaps, .ifaces = cfg->interfaces,
        .nifaces = cfg->ninterfaces, .bpf = cfg->bpf, .speed = cfg->pcap_speed,
        .loop = cfg->pcap_loop, .end = (enum pcap_end_mode)cfg->pcap_end,
        .snaplen = cfg->snaplen, .promisc = cfg->promisc,
        .batch_ms = cfg->capture_batch_ms, .buffer_bytes = cfg->capture_buffer,
        .realtime = cfg->capture_realtime, .reader = (enum capture_reader)cfg->capture_reader,
        .coalesce_us = cfg->capture_coalesce_us,
        .user_grace_us = cfg->user_grace * 1000000ULL, .wl = &s->wl, .threads = cfg->capture_threads,
        .progress_s = cfg->pcap_progress,
    };
    s->cap = capture_create(&o, s->cache, err, errlen);
    if (!s->cap)
        return -1;
    for (int i = 0; i < capture_worker_count(s->cap); i++) {
        struct worker *w = capture_worker(s->cap, i);
        w->events.notify = server_events_notify;
        w->events.notify_arg = s;
    }
    return 0;
}

/* ---- replication, an event sink: wired here so that neither the loop nor INFO names it ---- */

static uint32_t cloud_sink_wanted(void *arg) { return cloud_wanted(arg); }
static void cloud_sink_event(void *arg, const struct event *ev) { cloud_on_event(arg, ev); }
static void cloud_sink_info(void *arg, struct sbuf *b) { cloud_info(arg, b); }
static void cloud_sink_shutdown(void *arg, void (*done)(void *), void *da) { cloud_shutdown(arg, done, da); }
static void cloud_sink_destroy(void *arg) { cloud_destroy(arg); }

/* The heartbeat's figures of the probe. */
static void cloud_probe_stats(void *arg, struct cloud_probe_stats *out)
{
    const struct server *s = arg;
    out->events_published = s->st.events_published;
    out->clients = s->nclients;
}

/* A user the cloud named for ip: kept in the probe's own ipuser table (capture/cache/names.h). */
static void cloud_user_learnt(void *arg, const char *ip, const char *user, uint64_t ttl_ms)
{
    struct server *s = arg;
    names_ipuser_learn(s->cache, ip, user, ttl_ms * 1000);
}

/* A user the cloud says logged out of ip: the probe's mapping ends as after a RADIUS Stop seen here. */
static void cloud_user_departed(void *arg, const char *ip, const char *user, uint64_t logout_us, uint64_t grace_ms)
{
    struct server *s = arg;
    names_ipuser_logout(s->cache, ip, user, logout_us, grace_ms * 1000);
}

/* A media endpoint the cloud says belongs to a call: the probe's RTP flows to it are that call's media. */
static void cloud_media_learnt(void *arg, const char *ep, const char *call_id)
{
    struct server *s = arg;
    names_sipmedia_learn(s->cache, ep, call_id);
}

/* The cloud's watchlist set: the probe's list becomes it (and its file, when one is configured). */
static void cloud_watch_apply(void *arg, const char *members, size_t len)
{
    struct server *s = arg;
    char err[256];
    if (watchlist_replace(&s->wl, members, len, err, sizeof(err)) < 0)
        log_msg(LL_WARNING, "shared watchlist not applied: %s", err);
}

static void cloud_watch_share_cb(void *arg, int add, const char *text) { cloud_watch_share(arg, add, text); }

/* Events replication holds (a DNS query seen alone, a flow.end whose user is being looked up) reach the
 * probe's subscribers when it publishes them, not at once (sink_deliver sets ev->held). */
static int cloud_holds_cb(void *arg, const struct event *ev) { return cloud_holds(arg, ev); }

static void cloud_local_publish(void *arg, const char *channel, const char *json, size_t len)
{
    pubsub_publish(arg, channel, json, len);
}

/* The probe's own entries (its file) join the shared list when it starts. */
static void cloud_watch_push_cb(void *arg, const char *text) { cloud_watch_share(arg, 1, text); }

/* Replication's settings from the directives. */
static struct cloud_config cloud_config_of(const struct fc_config *cfg, struct server *s)
{
    return (struct cloud_config){
        .nodes = (const char *const *)cfg->cloud, .nnodes = cfg->ncloud,
        .user = cfg->cloud_user, .password = cfg->cloud_password,
        .flush_ms = cfg->cloud_flush_ms, .queue_max = cfg->cloud_queue_max,
        .flow_ttl = cfg->flow_idle_timeout, .host_ttl = cfg->host_idle_timeout, .user_grace = cfg->user_grace,
        .dns_window = cfg->cloud_dns_window,
        .probe_id = cfg->probe_id, .version = FLOWCACHED_VERSION, .stats = cloud_probe_stats, .stats_arg = s,
        .user_learnt = cloud_user_learnt, .user_departed = cloud_user_departed, .users_arg = s,
        .watch_apply = cloud_watch_apply, .watch_arg = s,
        .media_learnt = cloud_media_learnt, .media_arg = s,
        .local_publish = cloud_local_publish, .local_arg = s,
    };
}

static void cloud_sink_reconfigure(void *arg, const struct fc_config *cfg)
{
    struct cloud_config cc = cloud_config_of(cfg, NULL);
    cloud_reconfigure(arg, &cc);
}

/* Registers the event sinks: pub/sub delivery, then replication (registered when off too, so that
 * INFO still says cloud_enabled:0). Returns 0, or -1 with err. */
static int sinks_register(struct server *s, char *err, size_t errlen)
{
    const struct fc_config *cfg = s->cfg;
    struct cloud_config cc = cloud_config_of(cfg, s);
    if (pubsub_sink_register(s) != 0 || s->sinks.n == SINKS_MAX) {
        snprintf(err, errlen, "too many event sinks");
        return -1;
    }
    struct cloud *cl = NULL;
    if (cfg->ncloud > 0 && !(cl = cloud_create(s->loop, &cc, err, errlen)))
        return -1;
    if (cl) {                           /* the watchlist is the cloud's set, shared by every probe */
        s->watch_share = cloud_watch_share_cb;
        s->watch_share_arg = cl;
        watchlist_each(&s->wl, cloud_watch_push_cb, cl);
    }
    const struct sink replication = {
        .name = "cloud", .wanted = cloud_sink_wanted, .wants_text = 1, .holds = cloud_holds_cb,
        .on_event = cloud_sink_event,
        .info = cloud_sink_info, .shutdown = cloud_sink_shutdown, .destroy = cloud_sink_destroy,
        .reconfigure = cloud_sink_reconfigure, .arg = cl,
    };
    if (sink_register(&s->sinks, &replication) != 0)   /* room was checked */
        return -1;
    return export_sink_register(&s->sinks, s->loop, cfg, err, errlen);
}

/* What to try next, for the "ready" line: "; try: redis-cli -p 6380 KEYS 'ip.*'" with -h when
 * no bound address is reached as 127.0.0.1, --askpass with requirepass; "" without a port. */
static void ready_hint(const struct fc_config *cfg, char *buf, size_t len)
{
    const char *host = NULL;
    buf[0] = '\0';
    if (cfg->port == 0 || cfg->nbind == 0)
        return;
    host = cfg->bind[0];
    for (int i = 0; i < cfg->nbind; i++)
        if (!strcmp(cfg->bind[i], "127.0.0.1") || !strcmp(cfg->bind[i], "0.0.0.0"))
            host = NULL;
    if (host && !strcmp(host, "::"))
        host = "::1";
    snprintf(buf, len, "; try: redis-cli%s%s -p %d%s KEYS 'ip.*'", host ? " -h " : "", host ? host : "",
             cfg->port, cfg->requirepass ? " --askpass" : "");
}

/* `supervised`: tells systemd (Type=notify) the state; says so when it cannot. */
static void tell_supervisor(const struct fc_config *cfg, const char *state)
{
    int rc = supervise_notify((enum supervised_mode)cfg->supervised, state);
    if (rc < 0)
        log_msg(LL_WARNING, "supervised: cannot notify $NOTIFY_SOCKET: %s", strerror(errno));
    else if (rc == 0 && cfg->supervised == SUPERVISED_SYSTEMD && !strncmp(state, "READY", 5))
        log_msg(LL_WARNING, "supervised systemd, but NOTIFY_SOCKET is not set: nobody told");
}

/* Drops root for cfg->user once the capture devices and the listening
 * sockets are open. Returns 0, or -1 with a message printed. */
static int drop_privileges(const struct fc_config *cfg)
{
    if (!cfg->user || !*cfg->user)
        return 0;
    struct passwd *pw = getpwnam(cfg->user);
    if (!pw) {
        log_msg(LL_WARNING, "user '%s' does not exist", cfg->user);
        return -1;
    }
    if (getuid() != 0 && geteuid() != 0) {
        if (geteuid() == pw->pw_uid)
            return 0;
        log_msg(LL_WARNING, "cannot switch to user '%s': not running as root", cfg->user);
        return -1;
    }
    if (initgroups(pw->pw_name, pw->pw_gid) != 0 || setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0) {
        log_msg(LL_WARNING, "cannot switch to user '%s': %s", cfg->user, strerror(errno));
        return -1;
    }
    if (setuid(0) == 0) {
        log_msg(LL_WARNING, "privileges could not be dropped for good");
        return -1;
    }
    log_msg(LL_NOTICE, "running as user %s (uid %d)", pw->pw_name, (int)pw->pw_uid);
    return 0;
}

int main(int argc, char **argv)
{
    struct fc_config cfg;
    char err[1024];
    int rc;
    if (answer_flags(argc, argv, &rc))
        return rc;
    if (config_defaults(&cfg) != 0 || config_load(&cfg, argc, argv, err, sizeof(err)) != 0) {
        fprintf(stderr, "flowcached: config error: %s\n", err);
        usage();
        config_free(&cfg);
        return 1;
    }
    if (cfg.requirepass && !*cfg.requirepass) {   /* as in Redis: an empty password is no password */
        free(cfg.requirepass);
        cfg.requirepass = NULL;
    }
    /* From here on every message goes to the log (standard output unless logfile), as redis-server's;
     * what went wrong before (the command line, the config file) went to standard error. */
    const struct log_config lc = { cfg.logfile, cfg.loglevel, cfg.syslog_enabled, cfg.syslog_ident,
                                   cfg.syslog_facility };
    if (log_open(&lc, err, sizeof(err)) != 0) {
        fprintf(stderr, "flowcached: config error: %s\n", err);
        config_free(&cfg);
        return 1;
    }
    log_msg(LL_NOTICE, "flowcached %s starting, pid %d, config %s", FLOWCACHED_VERSION, (int)getpid(),
            cfg.config_file ? cfg.config_file : "(none: defaults and command line)");
    signal(SIGPIPE, SIG_IGN);
    if (l7_names_init() != 0) {
        log_msg(LL_WARNING, "nDPI initialisation failed");
        config_free(&cfg);
        return 1;
    }
    struct cache_config cc;
    config_cache_limits(&cfg, &cc);
    struct server s;
    memset(&s, 0, sizeof(s));
    s.loop = uv_default_loop();
    s.cfg = &cfg;
    s.cache = cache_create(&cc);
    if (!s.cache || watchlist_init(&s.wl, cfg.watchlist) != 0) {
        log_msg(LL_WARNING, "out of memory creating the flow cache");
        goto fail;
    }
    s.cache->wl = &s.wl;
    if (watchlist_load(&s.wl, err, sizeof(err)) != 0) {
        log_msg(LL_WARNING, "%s", err);
        goto fail;
    }
    if (build_capture(&s, err, sizeof(err)) != 0) {
        log_msg(LL_WARNING, "%s", err);
        goto fail;
    }
    s.hooks.dispatch = commands_dispatch;
    s.hooks.client_closing = commands_client_closing;
    if (sinks_register(&s, err, sizeof(err)) != 0) {
        log_msg(LL_WARNING, "%s", err);
        goto fail;
    }
    const struct metrics_hooks mh = { commands_stats_each, commands_error_replies, pubsub_count, l7_name, l7_count };
    if (server_start(&s) != 0 || metrics_start(&s, &mh) != 0 || drop_privileges(&cfg) != 0) {
        server_shutdown(&s, 1);
        uv_run(s.loop, UV_RUN_DEFAULT);
        goto fail;
    }
    if (!watchlist_can_save(&s.wl, err, sizeof(err)))
        log_msg(LL_WARNING, "watchlist %s: SADD/SREM watchlist will fail, %s "
                "(the list is loaded; SIGHUP reloads it)", cfg.watchlist, err);
    char hint[320];
    ready_hint(&cfg, hint, sizeof(hint));
    log_msg(LL_NOTICE, "flowcached %s ready: RESP on %s:%d, %d pcap file(s), %d interface(s)%s",
            FLOWCACHED_VERSION, cfg.nbind ? cfg.bind[0] : "-", cfg.port, cfg.npcaps, cfg.ninterfaces, hint);
    tell_supervisor(&cfg, "READY=1\nSTATUS=ready, serving RESP");
    if (capture_start(s.cap, server_capture_done, &s) != 0) {
        log_msg(LL_WARNING, "cannot start capture threads");
        server_shutdown(&s, 1);
    }
    uv_run(s.loop, UV_RUN_DEFAULT);
    tell_supervisor(&cfg, "STOPPING=1");
    log_msg(LL_NOTICE, "flowcached is now ready to exit, bye bye...");
    capture_destroy(s.cap);
    sink_destroy_all(&s.sinks);
    uv_loop_close(s.loop);
    free(s.flush_list);
    free(s.ready_list);
    cache_destroy(s.cache);
    watchlist_destroy(&s.wl);
    config_free(&cfg);
    l7_names_free();
    log_close();
    return s.exit_code;
fail:
    capture_destroy(s.cap);
    sink_destroy_all(&s.sinks);
    uv_loop_close(s.loop);
    cache_destroy(s.cache);
    watchlist_destroy(&s.wl);
    config_free(&cfg);
    l7_names_free();
    log_close();
    return 1;
}
