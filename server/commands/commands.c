/* commands.c - the one command table and its dispatcher: the generic checks in Redis 7.0's order (unknown
 * command or subcommand, arity, NOAUTH, READONLY, pub/sub context), queueing inside MULTI, timing (loop thread).
 * The handlers live in cmd_conn.c, cmd_keys.c, cmd_object.c, cmd_multi.c, cmd_server.c, cmd_config.c,
 * cmd_monitor.c and pubsub.c. */
#include "server/commands/commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/commands/cmd_internal.h"
#include "server/pubsub/pubsub.h"
#include "server/core/server.h"

/* ---- the table ---- */

#define R CMD_READONLY
#define W CMD_WRITE
#define F CMD_FAST
#define PS CMD_PUBSUB
#define NA CMD_NOAUTH
#define A CMD_ADMIN
#define SUBS(t) t, (int)(sizeof(t) / sizeof(t[0]))

static const struct command client_subs[] = {
    { "id", cmd_client_id, 2, F, 0, 0, 0, NULL, 0 },
    { "getname", cmd_client_getname, 2, F, 0, 0, 0, NULL, 0 },
    { "setname", cmd_client_setname, 3, F, 0, 0, 0, NULL, 0 },
    { "setinfo", cmd_client_setinfo, 4, F, 0, 0, 0, NULL, 0 },
    { "list", cmd_client_list, -2, A, 0, 0, 0, NULL, 0 },
    { "info", cmd_client_info, 2, 0, 0, 0, 0, NULL, 0 },
    { "kill", cmd_client_kill, -3, A, 0, 0, 0, NULL, 0 },
    { "no-evict", cmd_client_no_evict, 3, A, 0, 0, 0, NULL, 0 },
    { "reply", cmd_client_reply, 3, 0, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command config_subs[] = {
    { "get", cmd_config_get, -3, A, 0, 0, 0, NULL, 0 },
    { "set", cmd_config_set, -4, A, 0, 0, 0, NULL, 0 },
    { "resetstat", cmd_config_resetstat, 2, A, 0, 0, 0, NULL, 0 },
    { "rewrite", cmd_config_rewrite, 2, A, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command command_subs[] = {
    { "count", cmd_command_count, 2, 0, 0, 0, 0, NULL, 0 },
    { "docs", cmd_command_docs, -2, 0, 0, 0, 0, NULL, 0 },
    { "info", cmd_command_info, -2, 0, 0, 0, 0, NULL, 0 },
    { "list", cmd_command_list, -2, 0, 0, 0, 0, NULL, 0 },
    { "getkeys", cmd_command_getkeys, -4, 0, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command memory_subs[] = {
    { "usage", cmd_memory_usage, -3, R, 2, 2, 1, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command slowlog_subs[] = {
    { "get", cmd_slowlog_get, -2, A, 0, 0, 0, NULL, 0 },
    { "len", cmd_slowlog_len, 2, A, 0, 0, 0, NULL, 0 },
    { "reset", cmd_slowlog_reset, 2, A, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command latency_subs[] = {
    { "latest", cmd_latency_latest, 2, A, 0, 0, 0, NULL, 0 },
    { "history", cmd_latency_history, 3, A, 0, 0, 0, NULL, 0 },
    { "reset", cmd_latency_reset, -2, A, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command function_subs[] = {
    { "flush", cmd_function_flush, -2, W, 0, 0, 0, NULL, 0 },
    { "list", cmd_empty_array, -2, 0, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command object_subs[] = {
    { "encoding", cmd_object, 3, R, 2, 2, 1, NULL, 0 },
    { "freq", cmd_object, 3, R, 2, 2, 1, NULL, 0 },
    { "idletime", cmd_object, 3, R, 2, 2, 1, NULL, 0 },
    { "refcount", cmd_object, 3, R, 2, 2, 1, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command module_subs[] = {
    { "list", cmd_module_list, 2, A, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command pubsub_subs[] = {
    { "channels", cmd_pubsub_channels, -2, 0, 0, 0, 0, NULL, 0 },
    { "numsub", cmd_pubsub_numsub, -2, 0, 0, 0, 0, NULL, 0 },
    { "numpat", pubsub_cmd_pubsub, 2, 0, 0, 0, 0, NULL, 0 },
    { "shardchannels", cmd_pubsub_shardchannels, -2, 0, 0, 0, 0, NULL, 0 },
    { "shardnumsub", cmd_pubsub_shardnumsub, -2, 0, 0, 0, 0, NULL, 0 },
    { "help", cmd_help, 2, 0, 0, 0, 0, NULL, 0 },
};
/* CLUSTER: every subcommand of Redis 7.0, each answering that cluster support is disabled. */
static const struct command cluster_subs[] = {
    { "addslots", cmd_cluster, -3, A, 0, 0, 0, NULL, 0 }, { "addslotsrange", cmd_cluster, -4, A, 0, 0, 0, NULL, 0 },
    { "bumpepoch", cmd_cluster, 2, A, 0, 0, 0, NULL, 0 }, { "count-failure-reports", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 },
    { "countkeysinslot", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "delslots", cmd_cluster, -3, A, 0, 0, 0, NULL, 0 },
    { "delslotsrange", cmd_cluster, -4, A, 0, 0, 0, NULL, 0 }, { "failover", cmd_cluster, -2, A, 0, 0, 0, NULL, 0 },
    { "flushslots", cmd_cluster, 2, A, 0, 0, 0, NULL, 0 }, { "forget", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 },
    { "getkeysinslot", cmd_cluster, 4, 0, 0, 0, 0, NULL, 0 }, { "info", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "keyslot", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "links", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "meet", cmd_cluster, -4, A, 0, 0, 0, NULL, 0 }, { "myid", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "nodes", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 }, { "replicas", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 },
    { "replicate", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 }, { "reset", cmd_cluster, -2, A, 0, 0, 0, NULL, 0 },
    { "saveconfig", cmd_cluster, 2, A, 0, 0, 0, NULL, 0 }, { "set-config-epoch", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 },
    { "setslot", cmd_cluster, -4, A, 0, 0, 0, NULL, 0 }, { "shards", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "slaves", cmd_cluster, 3, A, 0, 0, 0, NULL, 0 }, { "slots", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "help", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
};

/* fn NULL with CMD_WRITE: a write, answered READONLY after the arity check, as a read-only replica does. */
static const struct command table[] = {
    { "ping", cmd_ping, -1, F | PS, 0, 0, 0, NULL, 0 },
    { "echo", cmd_echo, 2, F, 0, 0, 0, NULL, 0 },
    { "quit", cmd_quit, -1, PS | NA | F, 0, 0, 0, NULL, 0 },
    { "reset", cmd_reset, 1, PS | NA | F, 0, 0, 0, NULL, 0 },
    { "select", cmd_select, 2, F | CMD_LOADING, 0, 0, 0, NULL, 0 },
    { "auth", cmd_auth, -2, NA | F, 0, 0, 0, NULL, 0 },
    { "hello", cmd_hello, -1, NA | F, 0, 0, 0, NULL, 0 },
    { "client", NULL, -2, 0, 0, 0, 0, SUBS(client_subs) },
    { "info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, NULL, 0 },
    { "dbsize", cmd_dbsize, 1, R | F, 0, 0, 0, NULL, 0 },
    { "time", cmd_time, 1, F, 0, 0, 0, NULL, 0 },
    { "monitor", cmd_monitor, 1, A, 0, 0, 0, NULL, 0 },
    { "shutdown", cmd_shutdown, -1, A | CMD_NO_MULTI, 0, 0, 0, NULL, 0 },
    { "role", cmd_role, 1, F, 0, 0, 0, NULL, 0 },
    { "config", NULL, -2, 0, 0, 0, 0, SUBS(config_subs) },
    { "command", cmd_command, -1, 0, 0, 0, 0, SUBS(command_subs) },
    { "memory", NULL, -2, 0, 0, 0, 0, SUBS(memory_subs) },
    { "object", NULL, -2, 0, 0, 0, 0, SUBS(object_subs) },
    { "slowlog", NULL, -2, 0, 0, 0, 0, SUBS(slowlog_subs) },
    { "latency", NULL, -2, 0, 0, 0, 0, SUBS(latency_subs) },
    { "module", NULL, -2, 0, 0, 0, 0, SUBS(module_subs) },
    { "function", NULL, -2, 0, 0, 0, 0, SUBS(function_subs) },
    { "cluster", NULL, -2, 0, 0, 0, 0, SUBS(cluster_subs) },
    { "multi", cmd_multi, 1, F, 0, 0, 0, NULL, 0 },
    { "exec", cmd_exec, 1, 0, 0, 0, 0, NULL, 0 },
    { "discard", cmd_discard, 1, F, 0, 0, 0, NULL, 0 },
    { "watch", cmd_watch, -2, F, 1, -1, 1, NULL, 0 },
    { "unwatch", cmd_ok, 1, F, 0, 0, 0, NULL, 0 },
    { "exists", cmd_exists, -2, R | F, 1, -1, 1, NULL, 0 },
    { "type", cmd_type, 2, R | F, 1, 1, 1, NULL, 0 },
    { "ttl", cmd_ttl, 2, R | F, 1, 1, 1, NULL, 0 },
    { "pttl", cmd_pttl, 2, R | F, 1, 1, 1, NULL, 0 },
    { "get", cmd_get, 2, R | F, 1, 1, 1, NULL, 0 },
    { "mget", cmd_mget, -2, R | F, 1, -1, 1, NULL, 0 },
    { "strlen", cmd_strlen, 2, R | F, 1, 1, 1, NULL, 0 },
    { "keys", cmd_keys, 2, R, 0, 0, 0, NULL, 0 },
    { "scan", cmd_scan, -2, R, 0, 0, 0, NULL, 0 },
    { "randomkey", cmd_randomkey, 1, R, 0, 0, 0, NULL, 0 },
    { "hgetall", cmd_hgetall, 2, R, 1, 1, 1, NULL, 0 },
    { "hget", cmd_hget, 3, R | F, 1, 1, 1, NULL, 0 },
    { "hmget", cmd_hmget, -3, R | F, 1, 1, 1, NULL, 0 },
    { "hkeys", cmd_hkeys, 2, R, 1, 1, 1, NULL, 0 },
    { "hvals", cmd_hvals, 2, R, 1, 1, 1, NULL, 0 },
    { "hlen", cmd_hlen, 2, R | F, 1, 1, 1, NULL, 0 },
    { "hexists", cmd_hexists, 3, R | F, 1, 1, 1, NULL, 0 },
    { "hstrlen", cmd_hstrlen, 3, R | F, 1, 1, 1, NULL, 0 },
    { "hscan", cmd_hscan, -3, R, 1, 1, 1, NULL, 0 },
    { "smembers", cmd_smembers, 2, R, 1, 1, 1, NULL, 0 },
    { "scard", cmd_scard, 2, R | F, 1, 1, 1, NULL, 0 },
    { "sismember", cmd_sismember, 3, R | F, 1, 1, 1, NULL, 0 },
    { "subscribe", pubsub_cmd_subscribe, -2, PS, 0, 0, 0, NULL, 0 },
    { "unsubscribe", pubsub_cmd_unsubscribe, -1, PS, 0, 0, 0, NULL, 0 },
    { "psubscribe", pubsub_cmd_psubscribe, -2, PS, 0, 0, 0, NULL, 0 },
    { "punsubscribe", pubsub_cmd_punsubscribe, -1, PS, 0, 0, 0, NULL, 0 },
    { "publish", pubsub_cmd_publish, 3, F | CMD_MAY_REPLICATE, 0, 0, 0, NULL, 0 },
    { "pubsub", NULL, -2, 0, 0, 0, 0, SUBS(pubsub_subs) },
    { "flushall", cmd_flushall, -1, W, 0, 0, 0, NULL, 0 },
    { "flushdb", cmd_flushall, -1, W, 0, 0, 0, NULL, 0 },
    { "set", NULL, -3, W, 1, 1, 1, NULL, 0 }, { "setnx", NULL, 3, W, 1, 1, 1, NULL, 0 },
    { "setex", NULL, 4, W, 1, 1, 1, NULL, 0 }, { "psetex", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "getset", NULL, 3, W, 1, 1, 1, NULL, 0 }, { "getdel", NULL, 2, W, 1, 1, 1, NULL, 0 },
    { "getex", NULL, -2, W, 1, 1, 1, NULL, 0 }, { "append", NULL, 3, W, 1, 1, 1, NULL, 0 },
    { "incr", NULL, 2, W, 1, 1, 1, NULL, 0 }, { "decr", NULL, 2, W, 1, 1, 1, NULL, 0 },
    { "incrby", NULL, 3, W, 1, 1, 1, NULL, 0 }, { "decrby", NULL, 3, W, 1, 1, 1, NULL, 0 },
    { "incrbyfloat", NULL, 3, W, 1, 1, 1, NULL, 0 }, { "mset", NULL, -3, W, 1, -1, 2, NULL, 0 },
    { "msetnx", NULL, -3, W, 1, -1, 2, NULL, 0 }, { "del", NULL, -2, W, 1, -1, 1, NULL, 0 },
    { "unlink", NULL, -2, W, 1, -1, 1, NULL, 0 }, { "expire", NULL, -3, W, 1, 1, 1, NULL, 0 },
    { "pexpire", NULL, -3, W, 1, 1, 1, NULL, 0 }, { "expireat", NULL, -3, W, 1, 1, 1, NULL, 0 },
    { "pexpireat", NULL, -3, W, 1, 1, 1, NULL, 0 }, { "persist", NULL, 2, W, 1, 1, 1, NULL, 0 },
    { "rename", NULL, 3, W, 1, 2, 1, NULL, 0 }, { "renamenx", NULL, 3, W, 1, 2, 1, NULL, 0 },
    { "hset", NULL, -4, W, 1, 1, 1, NULL, 0 }, { "hsetnx", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "hmset", NULL, -4, W, 1, 1, 1, NULL, 0 }, { "hdel", NULL, -3, W, 1, 1, 1, NULL, 0 },
    { "hincrby", NULL, 4, W, 1, 1, 1, NULL, 0 }, { "hincrbyfloat", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "lpush", NULL, -3, W, 1, 1, 1, NULL, 0 }, { "rpush", NULL, -3, W, 1, 1, 1, NULL, 0 },
    { "lpop", NULL, -2, W, 1, 1, 1, NULL, 0 }, { "rpop", NULL, -2, W, 1, 1, 1, NULL, 0 },
    { "lset", NULL, 4, W, 1, 1, 1, NULL, 0 }, { "lrem", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "ltrim", NULL, 4, W, 1, 1, 1, NULL, 0 },
    /* SADD / SREM: the only writes accepted, and only on the watchlist key */
    { "sadd", cmd_sadd, -3, W, 1, 1, 1, NULL, 0 }, { "srem", cmd_srem, -3, W, 1, 1, 1, NULL, 0 },
    { "spop", NULL, -2, W, 1, 1, 1, NULL, 0 }, { "smove", NULL, 4, W, 1, 2, 1, NULL, 0 },
    { "zadd", NULL, -4, W, 1, 1, 1, NULL, 0 }, { "zincrby", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "zrem", NULL, -3, W, 1, 1, 1, NULL, 0 }, { "xadd", NULL, -5, W, 1, 1, 1, NULL, 0 },
    { "setrange", NULL, 4, W, 1, 1, 1, NULL, 0 }, { "setbit", NULL, 4, W, 1, 1, 1, NULL, 0 },
    { "pfadd", NULL, -2, W, 1, 1, 1, NULL, 0 }, { "copy", NULL, -3, W, 1, 2, 1, NULL, 0 },
    { "move", NULL, 3, W, 1, 1, 1, NULL, 0 }, { "restore", NULL, -4, W, 1, 1, 1, NULL, 0 },
};
#undef R
#undef W
#undef F
#undef PS
#undef NA
#undef A
#define NCOMMANDS (sizeof(table) / sizeof(table[0]))

const struct command *commands_table(int *n)
{
    *n = (int)NCOMMANDS;
    return table;
}

static const struct command *find_in(const struct command *t, int n, const char *name)
{
    int first = name[0] | 0x20;      /* table names are lower case: cheap first-letter filter */
    for (int i = 0; i < n; i++)
        if (t[i].name[0] == first && !strcasecmp(t[i].name, name))
            return &t[i];
    return NULL;
}

/* The top-level table hashed by lower-cased name (every command looks itself up). */
enum { CMD_HASH_SLOTS = 512 };
static const struct command *cmd_hash[CMD_HASH_SLOTS];   /* loop thread: filled once, then read-only */
static int cmd_hash_ready;

static unsigned cmd_hash_of(const char *name)
{
    uint32_t h = 2166136261u;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ (uint32_t)(*p >= 'A' && *p <= 'Z' ? *p | 0x20 : *p)) * 16777619u;
    return h % CMD_HASH_SLOTS;
}

static void cmd_hash_build(void)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        unsigned h = cmd_hash_of(table[i].name);
        while (cmd_hash[h])
            h = (h + 1) % CMD_HASH_SLOTS;
        cmd_hash[h] = &table[i];
    }
    cmd_hash_ready = 1;
}

/* strcasecmp(lower, s) == 0 in the C locale, lower being lower case already. */
static int name_equal(const char *lower, const char *s)
{
    for (;; lower++, s++) {
        unsigned char a = (unsigned char)*lower, b = (unsigned char)*s;
        if (b >= 'A' && b <= 'Z')
            b |= 0x20;
        if (a != b)
            return 0;
        if (!a)
            return 1;
    }
}

const struct command *commands_find(const char *name)
{
    if (!cmd_hash_ready)
        cmd_hash_build();
    for (unsigned h = cmd_hash_of(name); cmd_hash[h]; h = (h + 1) % CMD_HASH_SLOTS)
        if (name_equal(cmd_hash[h]->name, name))
            return cmd_hash[h];
    return NULL;
}

size_t commands_full_name(const struct command *cmd, const struct command *parent, char *out, size_t cap)
{
    int n = parent ? snprintf(out, cap, "%s|%s", parent->name, cmd->name) : snprintf(out, cap, "%s", cmd->name);
    return n < 0 ? 0 : (size_t)n < cap ? (size_t)n : cap - 1;
}

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Runs a resolved command: statistics, slow log, error counting. Within a
 * turn a command's start is the previous one's end (one clock read per
 * command: the parsing in between, well under a microsecond, is counted). */
void commands_call(struct client *c, const struct command *cmd, const struct command *parent,
                   int argc, struct resp_arg *argv)
{
    size_t before = c->out.len;
    uint64_t t0 = c->srv->cmd_end_ns ? c->srv->cmd_end_ns : monotonic_ns();
    if (cmd->fn)
        cmd->fn(c, argc, argv);
    else                             /* a write (a top-level one never gets here) */
        resp_error(&c->out, err_readonly);
    uint64_t t1 = monotonic_ns();
    c->srv->cmd_end_ns = t1;
    uint64_t us = t1 / 1000 - t0 / 1000;
    cmd_stats_called(c, cmd, parent, us, before);
    commands_monitor_feed(c, cmd, argc, argv);
    const char *base = parent ? parent->name : cmd->name;
    if (!((base[0] == 'e' && !strcmp(base, "exec")) || (base[0] == 'a' && !strcmp(base, "auth")) ||
          (base[0] == 'h' && !strcmp(base, "hello"))))
        slowlog_maybe_add(c, argc, argv, us);
}

/* ---- dispatch ---- */

const struct command *commands_resolve(int argc, struct resp_arg *argv, const struct command **parent)
{
    const struct command *cmd = commands_find(argv[0].ptr);
    *parent = NULL;
    if (cmd && cmd->subs && argc >= 2) {
        *parent = cmd;
        cmd = find_in(cmd->subs, cmd->nsubs, argv[1].ptr);
    }
    return cmd;
}

/* Refuses a command with msg ("ERR ..." / "NOAUTH ..."): flags an open transaction; EXEC aborts it. */
static void reject(struct client *c, const struct command *cmd, const struct command *parent, const char *msg)
{
    size_t before = c->out.len;
    if (cmd && !parent && !strcmp(cmd->name, "exec")) {
        cmd_multi_discard(c);
        char abort_msg[1024];
        snprintf(abort_msg, sizeof(abort_msg), "EXECABORT Transaction discarded because of: %s",
                 strncmp(msg, "ERR ", 4) == 0 ? msg + 4 : msg);
        resp_error(&c->out, abort_msg);  /* msg may quote an argument: CR/LF become spaces */
    } else {
        if (c->in_multi)
            c->multi_dirty = 1;
        resp_error(&c->out, msg);
    }
    cmd_stats_rejected(c, cmd, parent, before);
}

static void reject_unknown(struct client *c, int argc, struct resp_arg *argv, const struct command *parent)
{
    char name[129], arg[129];
    struct sbuf m;
    sbuf_init(&m);
    cmd_arg_sanitize(&argv[parent ? 1 : 0], name);
    if (parent) {
        sbuf_printf(&m, "ERR unknown subcommand '%s'. Try ", name);
        for (const char *p = argv[0].ptr; *p; p++)
            sbuf_appendc(&m, (char)toupper((unsigned char)*p));
        sbuf_appends(&m, " HELP.");
    } else {
        sbuf_printf(&m, "ERR unknown command '%s', with args beginning with: ", name);
        size_t start = m.len;
        for (int i = 1; i < argc && m.len - start < 128; i++) {
            cmd_arg_sanitize(&argv[i], arg);
            sbuf_printf(&m, "'%.*s' ", (int)(128 - (m.len - start)), arg);
        }
    }
    sbuf_appendc(&m, '\0');
    reject(c, NULL, NULL, m.oom ? "ERR unknown command" : m.buf);
    sbuf_free(&m);
}

static void dispatch_checked(struct client *c, int argc, struct resp_arg *argv)
{
    const struct command *parent, *cmd = commands_resolve(argc, argv, &parent);
    char full[80], msg[200];
    c->srv->st.commands++;
    if (!cmd) {
        reject_unknown(c, argc, argv, commands_find(argv[0].ptr));
        return;
    }
    c->last_cmd = cmd;
    c->last_cmd_parent = parent;
    int n = argc, arity = cmd->arity;  /* a subcommand's arity counts the container too */
    if ((arity > 0 && n != arity) || n < -arity) {
        commands_full_name(cmd, parent, full, sizeof(full));
        snprintf(msg, sizeof(msg), "ERR wrong number of arguments for '%s' command", full);
        reject(c, cmd, parent, msg);
        return;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NOAUTH)) {
        reject(c, cmd, parent, "NOAUTH Authentication required.");
        return;
    }
    if (c->in_multi && (cmd->flags & CMD_NO_MULTI)) {
        reject(c, cmd, parent, "ERR Command not allowed inside a transaction");
        return;
    }
    if ((cmd->flags & CMD_WRITE) && !cmd->fn && !parent) {
        reject(c, cmd, parent, err_readonly);
        return;
    }
    if (c->proto == 2 && c->nsubs + c->npsubs > 0 && !(cmd->flags & CMD_PUBSUB)) {
        commands_full_name(cmd, parent, full, sizeof(full));
        snprintf(msg, sizeof(msg), "ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                 "QUIT / RESET are allowed in this context", full);
        reject(c, cmd, parent, msg);
        return;
    }
    if (c->monitor && (cmd->flags & (CMD_READONLY | CMD_WRITE | CMD_MAY_REPLICATE))) {
        reject(c, cmd, parent, "ERR Replica can't interact with the keyspace");
        return;
    }
    const char *b = parent ? parent->name : cmd->name;
    if (c->in_multi && strcmp(b, "exec") && strcmp(b, "discard") && strcmp(b, "multi") && strcmp(b, "watch") &&
        strcmp(b, "quit") && strcmp(b, "reset")) {
        int rc = cmd_multi_queue(c, argc, argv);
        if (rc == 0)
            resp_simple(&c->out, "QUEUED");
        else if (rc == -1)
            reject(c, cmd, parent, "OOM command not allowed when used memory > 'maxmemory'.");
        return;
    }
    commands_call(c, cmd, parent, argc, argv);
}

/* CLIENT REPLY OFF|SKIP: the command's replies are dropped when it ends (push frames stay, see
 * client_push_begin); SKIP silences the command after the one that set it, as Redis' REPLY_SKIP_NEXT. */
void commands_dispatch(struct client *c, int argc, struct resp_arg *argv)
{
    c->muted = c->reply_off || c->reply_skip;
    c->mute_mark = c->out.len;
    dispatch_checked(c, argc, argv);
    if (c->muted)
        c->out.len = c->mute_mark;
    c->muted = 0;
    c->reply_skip = c->reply_skip_next;
    c->reply_skip_next = 0;
}
