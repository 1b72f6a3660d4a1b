/* commands.c - the one command table, its generic checks in Redis 7.0's order (unknown command or subcommand,
 * arity, NOAUTH, READONLY, pub/sub context), MULTI/EXEC queueing, command/error statistics (loop thread).
 * The handlers live in cmd_conn.c, cmd_keys.c, cmd_server.c and pubsub.c. */
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

const char err_wrongtype[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
const char err_readonly[] = "READONLY You can't write against a read only replica.";
const char err_syntax[] = "ERR syntax error";
const char err_notint[] = "ERR value is not an integer or out of range";

/* ---- helpers shared by the handlers ---- */

int cmd_parse_ll(const struct resp_arg *a, long long *out)
{
    char *end;
    if (a->len == 0 || a->len > 20 || isspace((unsigned char)a->ptr[0]) || a->ptr[0] == '+' ||
        (a->len > 1 && a->ptr[0] == '0') || (a->len > 2 && a->ptr[0] == '-' && a->ptr[1] == '0'))
        return -1;
    errno = 0;
    long long v = strtoll(a->ptr, &end, 10);
    if (errno || *end || (size_t)(end - a->ptr) != a->len)
        return -1;
    *out = v;
    return 0;
}

enum kv_type cmd_lookup(struct client *c, const struct resp_arg *key, struct kv_view *v)
{
    enum kv_type t = keyspace_lookup(c->srv->cache, key->ptr, key->len, v);
    if (t == KV_NONE) c->srv->st.keyspace_misses++; else c->srv->st.keyspace_hits++;
    return t;
}

/* Copies at most 128 bytes of a, CR and LF turned into spaces (what Redis does to error texts). */
static void arg_sanitize(const struct resp_arg *a, char out[129])
{
    size_t n = a->len < 128 ? a->len : 128;
    for (size_t i = 0; i < n; i++)
        out[i] = (a->ptr[i] == '\r' || a->ptr[i] == '\n') ? ' ' : a->ptr[i];
    out[n] = '\0';
}

void cmd_error_arg(struct client *c, const char *fmt, const struct resp_arg *a)
{
    char arg[129], msg[512];
    arg_sanitize(a, arg);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
    snprintf(msg, sizeof(msg), fmt, arg);
#pragma GCC diagnostic pop
    resp_error(&c->out, msg);
}

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
};
static const struct command config_subs[] = {
    { "get", cmd_config_get, -3, A, 0, 0, 0, NULL, 0 },
    { "set", cmd_config_set, -4, A, 0, 0, 0, NULL, 0 },
    { "resetstat", cmd_config_resetstat, 2, A, 0, 0, 0, NULL, 0 },
};
static const struct command command_subs[] = {
    { "count", cmd_command_count, 2, 0, 0, 0, 0, NULL, 0 },
    { "docs", cmd_command_docs, -2, 0, 0, 0, 0, NULL, 0 },
    { "info", cmd_command_info, -2, 0, 0, 0, 0, NULL, 0 },
    { "list", cmd_command_list, -2, 0, 0, 0, 0, NULL, 0 },
    { "getkeys", cmd_command_getkeys, -4, 0, 0, 0, 0, NULL, 0 },
};
static const struct command memory_subs[] = {
    { "usage", cmd_memory_usage, -3, R, 2, 2, 1, NULL, 0 },
};
static const struct command slowlog_subs[] = {
    { "get", cmd_slowlog_get, -2, A, 0, 0, 0, NULL, 0 },
    { "len", cmd_slowlog_len, 2, A, 0, 0, 0, NULL, 0 },
    { "reset", cmd_slowlog_reset, 2, A, 0, 0, 0, NULL, 0 },
};
static const struct command latency_subs[] = {
    { "latest", cmd_latency_latest, 2, A, 0, 0, 0, NULL, 0 },
    { "history", cmd_latency_history, 3, A, 0, 0, 0, NULL, 0 },
    { "reset", cmd_latency_reset, -2, A, 0, 0, 0, NULL, 0 },
};
static const struct command function_subs[] = {
    { "flush", cmd_function_flush, -2, W, 0, 0, 0, NULL, 0 },
    { "list", cmd_empty_array, -2, 0, 0, 0, 0, NULL, 0 },
};
static const struct command module_subs[] = {
    { "list", cmd_module_list, 2, A, 0, 0, 0, NULL, 0 },
};
static const struct command pubsub_subs[] = {
    { "channels", cmd_pubsub_channels, -2, 0, 0, 0, 0, NULL, 0 },
    { "numsub", cmd_pubsub_numsub, -2, 0, 0, 0, 0, NULL, 0 },
    { "numpat", pubsub_cmd_pubsub, 2, 0, 0, 0, 0, NULL, 0 },
    { "shardchannels", cmd_pubsub_shardchannels, -2, 0, 0, 0, 0, NULL, 0 },
    { "shardnumsub", cmd_pubsub_shardnumsub, -2, 0, 0, 0, 0, NULL, 0 },
};
/* CLUSTER: every subcommand of Redis 7.0, each answering that cluster support is disabled. */
static const struct command cluster_subs[] = {
    { "addslots", cmd_cluster, -3, 0, 0, 0, 0, NULL, 0 }, { "addslotsrange", cmd_cluster, -4, 0, 0, 0, 0, NULL, 0 },
    { "bumpepoch", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 }, { "count-failure-reports", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 },
    { "countkeysinslot", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "delslots", cmd_cluster, -3, 0, 0, 0, 0, NULL, 0 },
    { "delslotsrange", cmd_cluster, -4, 0, 0, 0, 0, NULL, 0 }, { "failover", cmd_cluster, -2, 0, 0, 0, 0, NULL, 0 },
    { "flushslots", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 }, { "forget", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 },
    { "getkeysinslot", cmd_cluster, 4, 0, 0, 0, 0, NULL, 0 }, { "info", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "keyslot", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "links", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "meet", cmd_cluster, -4, 0, 0, 0, 0, NULL, 0 }, { "myid", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "nodes", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 }, { "replicas", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 },
    { "replicate", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "reset", cmd_cluster, -2, 0, 0, 0, 0, NULL, 0 },
    { "saveconfig", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 }, { "set-config-epoch", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 },
    { "setslot", cmd_cluster, -4, 0, 0, 0, 0, NULL, 0 }, { "shards", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
    { "slaves", cmd_cluster, 3, 0, 0, 0, 0, NULL, 0 }, { "slots", cmd_cluster, 2, 0, 0, 0, 0, NULL, 0 },
};

/* fn NULL with CMD_WRITE: a write, answered READONLY after the arity check, as a read-only replica does.
 * multi/exec/discard/watch/unwatch/reset are handled here, not by a handler. */
static const struct command table[] = {
    { "ping", cmd_ping, -1, F | PS, 0, 0, 0, NULL, 0 },
    { "echo", cmd_echo, 2, F, 0, 0, 0, NULL, 0 },
    { "quit", cmd_quit, -1, PS | NA | F, 0, 0, 0, NULL, 0 },
    { "reset", NULL, 1, PS | NA | F, 0, 0, 0, NULL, 0 },
    { "select", cmd_select, 2, F | CMD_LOADING, 0, 0, 0, NULL, 0 },
    { "auth", cmd_auth, -2, NA | F, 0, 0, 0, NULL, 0 },
    { "hello", cmd_hello, -1, NA | F, 0, 0, 0, NULL, 0 },
    { "client", NULL, -2, 0, 0, 0, 0, SUBS(client_subs) },
    { "info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0, NULL, 0 },
    { "dbsize", cmd_dbsize, 1, R | F, 0, 0, 0, NULL, 0 },
    { "time", cmd_time, 1, F, 0, 0, 0, NULL, 0 },
    { "config", NULL, -2, 0, 0, 0, 0, SUBS(config_subs) },
    { "command", cmd_command, -1, 0, 0, 0, 0, SUBS(command_subs) },
    { "memory", NULL, -2, 0, 0, 0, 0, SUBS(memory_subs) },
    { "slowlog", NULL, -2, 0, 0, 0, 0, SUBS(slowlog_subs) },
    { "latency", NULL, -2, 0, 0, 0, 0, SUBS(latency_subs) },
    { "module", NULL, -2, 0, 0, 0, 0, SUBS(module_subs) },
    { "function", NULL, -2, 0, 0, 0, 0, SUBS(function_subs) },
    { "cluster", NULL, -2, 0, 0, 0, 0, SUBS(cluster_subs) },
    { "multi", NULL, 1, F, 0, 0, 0, NULL, 0 },
    { "exec", NULL, 1, 0, 0, 0, 0, NULL, 0 },
    { "discard", NULL, 1, F, 0, 0, 0, NULL, 0 },
    { "watch", NULL, -2, F, 1, -1, 1, NULL, 0 },
    { "unwatch", NULL, 1, F, 0, 0, 0, NULL, 0 },
    { "exists", cmd_exists, -2, R | F, 1, -1, 1, NULL, 0 },
    { "type", cmd_type, 2, R | F, 1, 1, 1, NULL, 0 },
    { "ttl", cmd_ttl, 2, R | F, 1, 1, 1, NULL, 0 },
    { "pttl", cmd_pttl, 2, R | F, 1, 1, 1, NULL, 0 },
    { "get", cmd_get, 2, R | F, 1, 1, 1, NULL, 0 },
    { "mget", cmd_mget, -2, R | F, 1, -1, 1, NULL, 0 },
    { "strlen", cmd_strlen, 2, R | F, 1, 1, 1, NULL, 0 },
    { "keys", cmd_keys, 2, R, 0, 0, 0, NULL, 0 },
    { "scan", cmd_scan, -2, R, 0, 0, 0, NULL, 0 },
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
    { "publish", pubsub_cmd_publish, 3, F, 0, 0, 0, NULL, 0 },
    { "pubsub", NULL, -2, 0, 0, 0, 0, SUBS(pubsub_subs) },
    { "flushall", cmd_flushall, -1, 0, 0, 0, 0, NULL, 0 },
    { "flushdb", cmd_flushall, -1, 0, 0, 0, 0, NULL, 0 },
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

/* ---- statistics: per command (INFO commandstats / latencystats) and per error code (errorstats) ---- */

struct cmd_stat { const struct command *cmd, *parent; uint64_t calls, usec, rejected, failed; };
enum { STAT_SLOTS = 512, ERR_CODES = 32 };

/* Loop-thread state of this file only. */
static struct cmd_stat stats[STAT_SLOTS];
static struct { char code[24]; uint64_t count; } errstats[ERR_CODES];

static struct cmd_stat *stat_of(const struct command *cmd, const struct command *parent)
{
    size_t h = ((uintptr_t)cmd >> 3) % STAT_SLOTS;
    for (size_t i = 0; i < STAT_SLOTS; i++, h = (h + 1) % STAT_SLOTS) {
        if (stats[h].cmd == cmd)
            return &stats[h];
        if (!stats[h].cmd) {
            stats[h].cmd = cmd;
            stats[h].parent = parent;
            return &stats[h];
        }
    }
    return &stats[0];
}

/* Counts the error reply that starts at out[from] (if it is one) under its code. */
static void errstat_count(struct client *c, size_t from)
{
    if (c->out.len <= from || c->out.buf[from] != '-')
        return;
    const char *p = c->out.buf + from + 1;
    size_t n = 0;
    while (from + 1 + n < c->out.len && n < sizeof(errstats[0].code) - 1 && p[n] != ' ' && p[n] != '\r')
        n++;
    for (int i = 0; i < ERR_CODES; i++) {
        if (errstats[i].code[0] && (strlen(errstats[i].code) != n || memcmp(errstats[i].code, p, n) != 0))
            continue;
        if (!errstats[i].code[0])
            memcpy(errstats[i].code, p, n);
        errstats[i].count++;
        return;
    }
}

static void stat_name(const struct cmd_stat *s, char *out, size_t outlen)
{
    if (s->parent)
        snprintf(out, outlen, "%s|%s", s->parent->name, s->cmd->name);
    else
        snprintf(out, outlen, "%s", s->cmd->name);
}

void commands_info_stats(struct sbuf *b, int latency)
{
    char name[64];
    for (size_t i = 0; i < STAT_SLOTS; i++) {
        const struct cmd_stat *s = &stats[i];
        if (!s->cmd || (!s->calls && !s->rejected && !s->failed))
            continue;
        stat_name(s, name, sizeof(name));
        double per = s->calls ? (double)s->usec / (double)s->calls : 0.0;
        if (!latency)
            sbuf_printf(b, "cmdstat_%s:calls=%llu,usec=%llu,usec_per_call=%.2f,rejected_calls=%llu,failed_calls=%llu\r\n",
                        name, (unsigned long long)s->calls, (unsigned long long)s->usec, per,
                        (unsigned long long)s->rejected, (unsigned long long)s->failed);
        else if (s->calls)   /* no histogram is kept: the mean stands for every percentile */
            sbuf_printf(b, "latency_percentiles_usec_%s:p50=%.3f,p99=%.3f,p99.9=%.3f\r\n", name, per, per, per);
    }
}

void commands_errorstats(struct sbuf *b)
{
    for (int i = 0; i < ERR_CODES && errstats[i].code[0]; i++)
        sbuf_printf(b, "errorstat_%s:count=%llu\r\n", errstats[i].code, (unsigned long long)errstats[i].count);
}

uint64_t commands_error_total(void)
{
    uint64_t n = 0;
    for (int i = 0; i < ERR_CODES; i++)
        n += errstats[i].count;
    return n;
}

void commands_stats_reset(void)
{
    memset(stats, 0, sizeof(stats));
    memset(errstats, 0, sizeof(errstats));
}

/* ---- MULTI / EXEC ---- */

static void multi_discard(struct client *c)
{
    for (int i = 0; i < c->mq_n; i++) {
        for (int j = 0; j < c->mq[i].argc; j++)
            free(c->mq[i].argv[j].ptr);
        free(c->mq[i].argv);
    }
    c->mq_n = 0;
    c->in_multi = c->multi_dirty = 0;
}

/* Queues a copy of the command; on OOM the transaction is flagged (EXEC aborts). */
static void multi_queue(struct client *c, int argc, struct resp_arg *argv)
{
    if (c->mq_n == c->mq_cap) {
        int ncap = c->mq_cap ? c->mq_cap * 2 : 8;
        struct queued_cmd *nq = realloc(c->mq, (size_t)ncap * sizeof(*nq));
        if (!nq) {
            c->multi_dirty = 1;
            return;
        }
        c->mq = nq;
        c->mq_cap = ncap;
    }
    struct resp_arg *copy = calloc((size_t)argc, sizeof(*copy));
    for (int i = 0; copy && i < argc; i++) {
        copy[i].ptr = malloc(argv[i].len + 1);
        if (!copy[i].ptr) {
            for (int j = 0; j < i; j++)
                free(copy[j].ptr);
            free(copy);
            copy = NULL;
            break;
        }
        memcpy(copy[i].ptr, argv[i].ptr, argv[i].len + 1);
        copy[i].len = argv[i].len;
    }
    if (!copy) {
        c->multi_dirty = 1;
        return;
    }
    c->mq[c->mq_n++] = (struct queued_cmd){ argc, copy };
}

static void command_call(struct client *c, const struct command *cmd, const struct command *parent,
                         int argc, struct resp_arg *argv);
static const struct command *command_resolve(int argc, struct resp_arg *argv, const struct command **parent);

static void multi_exec(struct client *c)
{
    if (c->multi_dirty) {
        resp_error(&c->out, "EXECABORT Transaction discarded because of previous errors.");
        multi_discard(c);
        return;
    }
    int n = c->mq_n;
    struct queued_cmd *q = c->mq;
    c->mq = NULL;
    c->mq_n = c->mq_cap = 0;
    c->in_multi = 0;
    resp_array(&c->out, n);
    for (int i = 0; i < n; i++) {
        const struct command *parent, *cmd = command_resolve(q[i].argc, q[i].argv, &parent);
        if (cmd)
            command_call(c, cmd, parent, q[i].argc, q[i].argv);
        for (int j = 0; j < q[i].argc; j++)
            free(q[i].argv[j].ptr);
        free(q[i].argv);
    }
    free(q);
}

/* The commands handled by the dispatcher itself. Returns 1 when cmd was one of them. */
static int dispatcher_command(struct client *c, const struct command *cmd, const struct command *parent)
{
    const char *n = cmd->name;
    if (parent || cmd->fn) {         /* every command handled here has no handler */
        return 0;
    } else if (!strcmp(n, "multi")) {
        if (c->in_multi) {
            resp_error(&c->out, "ERR MULTI calls can not be nested");
        } else {
            c->in_multi = 1;
            c->multi_dirty = 0;
            resp_simple(&c->out, "OK");
        }
    } else if (!strcmp(n, "exec") || !strcmp(n, "discard")) {
        if (!c->in_multi)
            sbuf_printf(&c->out, "-ERR %s without MULTI\r\n", n[0] == 'e' ? "EXEC" : "DISCARD");
        else if (n[0] == 'e')
            multi_exec(c);
        else {
            multi_discard(c);
            resp_simple(&c->out, "OK");
        }
    } else if (!strcmp(n, "watch")) {
        /* the cache changes with every packet and nothing here writes: WATCH is accepted, EXEC never fails on it */
        if (c->in_multi) resp_error(&c->out, "ERR WATCH inside MULTI is not allowed");
        else resp_simple(&c->out, "OK");
    } else if (!strcmp(n, "unwatch")) {
        resp_simple(&c->out, "OK");
    } else if (!strcmp(n, "reset")) {
        multi_discard(c);
        pubsub_client_gone(c->srv, c);
        c->proto = 2;
        free(c->name);
        c->name = NULL;
        c->authenticated = c->srv->cfg->requirepass == NULL;
        resp_simple(&c->out, "RESET");
    } else if ((cmd->flags & CMD_WRITE) && !cmd->fn) {
        resp_error(&c->out, err_readonly);
    } else {
        return 0;
    }
    return 1;
}

/* Loop-thread state of this file: see commands_last_end_ns; 0 at the start of a turn. */
static uint64_t last_end_ns;

uint64_t commands_last_end_ns(void)
{
    return last_end_ns;
}

void commands_turn_begin(void)
{
    last_end_ns = 0;
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
static void command_call(struct client *c, const struct command *cmd, const struct command *parent,
                         int argc, struct resp_arg *argv)
{
    size_t before = c->out.len;
    uint64_t t0 = last_end_ns ? last_end_ns : monotonic_ns();
    if (!dispatcher_command(c, cmd, parent))
        cmd->fn(c, argc, argv);
    uint64_t t1 = monotonic_ns();
    last_end_ns = t1;
    uint64_t us = t1 / 1000 - t0 / 1000;
    struct cmd_stat *st = stat_of(cmd, parent);
    st->calls++;
    st->usec += us;
    if (c->out.len > before && c->out.buf[before] == '-') {
        st->failed++;
        errstat_count(c, before);
    }
    const char *base = parent ? parent->name : cmd->name;
    if (!((base[0] == 'e' && !strcmp(base, "exec")) || (base[0] == 'a' && !strcmp(base, "auth")) ||
          (base[0] == 'h' && !strcmp(base, "hello"))))
        slowlog_maybe_add(c, argc, argv, us);
}

/* ---- dispatch ---- */

/* The command (or subcommand) argv names; *parent is its container. NULL when unknown. */
static const struct command *command_resolve(int argc, struct resp_arg *argv, const struct command **parent)
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
    if (cmd)
        stat_of(cmd, parent)->rejected++;
    if (cmd && !parent && !strcmp(cmd->name, "exec")) {
        multi_discard(c);
        sbuf_printf(&c->out, "-EXECABORT Transaction discarded because of: %s\r\n",
                    strncmp(msg, "ERR ", 4) == 0 ? msg + 4 : msg);
    } else {
        if (c->in_multi)
            c->multi_dirty = 1;
        resp_error(&c->out, msg);
    }
    errstat_count(c, before);
}

static void reject_unknown(struct client *c, int argc, struct resp_arg *argv, const struct command *parent)
{
    char name[129], arg[129];
    struct sbuf m;
    sbuf_init(&m);
    arg_sanitize(&argv[parent ? 1 : 0], name);
    if (parent) {
        sbuf_printf(&m, "ERR unknown subcommand '%s'. Try ", name);
        for (const char *p = argv[0].ptr; *p; p++)
            sbuf_appendc(&m, (char)toupper((unsigned char)*p));
        sbuf_appends(&m, " HELP.");
    } else {
        sbuf_printf(&m, "ERR unknown command '%s', with args beginning with: ", name);
        size_t start = m.len;
        for (int i = 1; i < argc && m.len - start < 128; i++) {
            arg_sanitize(&argv[i], arg);
            sbuf_printf(&m, "'%.*s' ", (int)(128 - (m.len - start)), arg);
        }
    }
    sbuf_appendc(&m, '\0');
    reject(c, NULL, NULL, m.oom ? "ERR unknown command" : m.buf);
    sbuf_free(&m);
}

void commands_dispatch(struct client *c, int argc, struct resp_arg *argv)
{
    const struct command *parent, *cmd = command_resolve(argc, argv, &parent);
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
    const char *b = parent ? parent->name : cmd->name;
    if (c->in_multi && strcmp(b, "exec") && strcmp(b, "discard") && strcmp(b, "multi") && strcmp(b, "watch") &&
        strcmp(b, "quit") && strcmp(b, "reset")) {
        multi_queue(c, argc, argv);
        resp_simple(&c->out, "QUEUED");
        return;
    }
    command_call(c, cmd, parent, argc, argv);
}
