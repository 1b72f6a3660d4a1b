/* cmd_config.c - CONFIG GET, SET, REWRITE, RESETSTAT: the directives read and changed at run time, the
 * change handed to the capture threads, the cache and the sinks (loop thread). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/flow/worker.h"
#include "resp/glob.h"
#include "server/commands/cmd_internal.h"
#include "server/core/server.h"
#include "server/pubsub/pubsub.h"
#include "server/log/log.h"

/* Redis parameters flowcached has no directive for, with the values that describe it. CONFIG SET
 * accepts each with the value it has (harnesses send `save ""`, `appendonly no`); another value is
 * refused as immutable: the probe cannot be what it would mean. */
static const struct { const char *name; const char *value; } redis_params[] = {
    { "databases", "1" }, { "maxmemory-policy", "noeviction" }, { "save", "" }, { "appendonly", "no" },
    { "cluster-enabled", "no" }, { "replica-read-only", "yes" }, { "slave-read-only", "yes" },
    { "hz", "10" }, { "tcp-keepalive", "300" }, { "lua-time-limit", "5000" }, { "busy-reply-threshold", "5000" },
    { "daemonize", "no" }, { "replicaof", "" }, { "slaveof", "" }, { "maxmemory-samples", "5" },
    { "maxmemory-clients", "0" },
};
#define NREDIS_PARAMS (sizeof(redis_params) / sizeof(redis_params[0]))

/* ---- CONFIG GET ---- */

struct config_get_ctx { struct resp_arg *argv; int argc; struct sbuf items; long long n; };

static void config_get_cb(void *arg, const char *name, const char *val)
{
    struct config_get_ctx *x = arg;
    for (int i = 2; i < x->argc; i++)
        if (glob_match(x->argv[i].ptr, x->argv[i].len, name, strlen(name), 1)) {
            resp_bulks(&x->items, name);
            resp_bulks(&x->items, val);
            x->n++;
            return;
        }
}

void cmd_config_get(struct client *c, int argc, struct resp_arg *argv)
{
    struct config_get_ctx x = { argv, argc, { 0 }, 0 };
    sbuf_init(&x.items);
    config_each(c->srv->cfg, config_get_cb, &x);
    for (size_t i = 0; i < NREDIS_PARAMS; i++)
        config_get_cb(&x, redis_params[i].name, redis_params[i].value);
    resp_map(&c->out, x.n, c->proto);
    sbuf_append(&c->out, x.items.buf, x.items.len);
    sbuf_free(&x.items);
}

/* ---- CONFIG SET ---- */

/* What capture threads, the cache and the sinks hold of the directives, taken from s->cfg again:
 * timeouts, max-flows and maxmemory (atomics read by capture threads), user-grace (each worker's),
 * the channels pub/sub wants (notify-keyspace-events), replication's flush period and TTLs, loglevel. */
static void config_runtime_apply(struct server *s)
{
    struct cache_config cc;
    config_cache_limits(s->cfg, &cc);
    cache_limits_set(s->cache, &cc);
    for (int i = 0; s->cap && i < capture_worker_count(s->cap); i++)
        atomic_store(&capture_worker(s->cap, i)->user_grace_us, s->cfg->user_grace * 1000000ULL);
    pubsub_wanted_update(s);
    sink_reconfigure_all(&s->sinks, s->cfg);
    log_level_set(s->cfg->loglevel);
}

/* The changes that may fail once every value parsed: maxclients past the open files limit (Redis'
 * updateMaxclients), a watchlist file that cannot be read. Returns 0, or -1 with err (nothing done). */
static int config_prepare(struct server *s, struct config_change *ch, char *err, size_t errlen)
{
    uint64_t fits;
    char why[256];
    if (config_change_has(ch, "maxclients") && ch->next.maxclients > s->cfg->maxclients &&
        (server_nofile_room(ch->next.maxclients, &fits, 0) != 0 || fits < ch->next.maxclients)) {
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument 'maxclients') - The operating "
                 "system is not able to handle the specified number of clients, try with %llu",
                 (unsigned long long)fits);
        return -1;
    }
    if (config_change_has(ch, "watchlist") && watchlist_repath(&s->wl, ch->next.watchlist, why, sizeof(why)) != 0) {
        snprintf(err, errlen, "CONFIG SET failed (possibly related to argument 'watchlist') - %s", why);
        return -1;
    }
    return 0;
}

/* Separates the Redis parameters from the directives: they are accepted with their own value, else
 * refused (err set, -1). The others go to names/values; *n counts them. */
static int config_set_split(int argc, struct resp_arg *argv, char **names, char **values, int *n, char *err,
                            size_t errlen)
{
    *n = 0;
    for (int i = 2; i + 1 < argc; i += 2) {
        size_t k = 0;
        while (k < NREDIS_PARAMS && strcasecmp(redis_params[k].name, argv[i].ptr))
            k++;
        if (k == NREDIS_PARAMS) {
            names[*n] = argv[i].ptr;
            values[(*n)++] = argv[i + 1].ptr;
        } else if (strcasecmp(redis_params[k].value, argv[i + 1].ptr)) {
            char name[129];
            cmd_arg_sanitize(&argv[i], name);
            snprintf(err, errlen, "CONFIG SET failed (possibly related to argument '%s') - can't set immutable "
                     "config", name);
            return -1;
        }
    }
    return 0;
}

/* A loopback client, for enable-protected-configs local. */
static int client_is_local(const struct client *c)
{
    return !strncmp(c->addr, "127.", 4) || !strncmp(c->addr, "[::1]:", 6);
}

/* CONFIG SET name value [name value ...]: all or nothing, as Redis 7.0. */
void cmd_config_set(struct client *c, int argc, struct resp_arg *argv)
{
    struct server *s = c->srv;
    char err[512], *names[CONFIG_CHANGE_MAX + 1], *values[CONFIG_CHANGE_MAX + 1];
    int n;
    if (argc % 2) {
        resp_error(&c->out, err_syntax);
        return;
    }
    if (argc / 2 - 1 > CONFIG_CHANGE_MAX) {
        resp_error(&c->out, "ERR CONFIG SET takes at most 64 parameters at once");
        return;
    }
    struct config_change *ch = malloc(sizeof(*ch));
    if (!ch) {
        resp_error(&c->out, "ERR out of memory");
        return;
    }
    if (config_set_split(argc, argv, names, values, &n, err, sizeof(err)) != 0 ||
        config_change_parse(s->cfg, ch, n, names, values, client_is_local(c), err, sizeof(err)) != 0 ||
        config_prepare(s, ch, err, sizeof(err)) != 0) {
        config_change_discard(ch);
        free(ch);
        char msg[600];
        snprintf(msg, sizeof(msg), "ERR %s", err);
        resp_error(&c->out, msg);     /* CR/LF of a name become spaces */
        return;
    }
    config_change_commit(s->cfg, ch);
    free(ch);
    if (s->cfg->requirepass && !*s->cfg->requirepass) {   /* as Redis: an empty password is none */
        free(s->cfg->requirepass);
        s->cfg->requirepass = NULL;
    }
    config_runtime_apply(s);
    resp_simple(&c->out, "OK");
}

/* ---- CONFIG REWRITE, RESETSTAT ---- */

void cmd_config_rewrite(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    if (!c->srv->cfg->config_file) {
        resp_error(&c->out, "ERR The server is running without a config file");
        return;
    }
    if (config_rewrite(c->srv->cfg) != 0) {
        int e = errno;
        log_msg(LL_WARNING, "CONFIG REWRITE failed: %s", strerror(e));
        sbuf_printf(&c->out, "-ERR Rewriting config file: %s\r\n", strerror(e));
        return;
    }
    log_msg(LL_NOTICE, "CONFIG REWRITE executed with success.");
    resp_simple(&c->out, "OK");
}

void cmd_config_resetstat(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    cmd_stats_reset();
    resp_simple(&c->out, "OK");
}
