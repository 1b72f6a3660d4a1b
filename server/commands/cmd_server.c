/* cmd_server.c - server commands: INFO ROLE SHUTDOWN TIME COMMAND SLOWLOG LATENCY MODULE FUNCTION FLUSHALL
 * CLUSTER PUBSUB, HELP (loop thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"
#include "server/commands/info.h"
#include "server/pubsub/pubsub.h"
#include "server/core/server.h"
#include "server/log/log.h"

/* ---- INFO, TIME ---- */

void cmd_info(struct client *c, int argc, struct resp_arg *argv)
{
    struct sbuf b;
    sbuf_init(&b);
    info_render(c->srv, argc, argv, &b);
    resp_verbatim(&c->out, b.buf ? b.buf : "", b.len, c->proto);
    sbuf_free(&b);
}

/* ROLE: a master with no replicas, as INFO replication and HELLO say. The probe refuses writes with
 * Redis' read-only replica error all the same (KEYSPACE.md): a client reads READONLY as "this node
 * takes no writes", while a replica role would send Sentinel-aware clients and exporters looking
 * for a master that does not exist. */
void cmd_role(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_array(&c->out, 3);
    resp_bulks(&c->out, "master");
    resp_int(&c->out, 0);
    resp_array(&c->out, 0);
}

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT]: the clean stop SIGTERM makes (capture stopped, sinks
 * flushed, every client closed without a reply, exit status 0). There is nothing to save: the cache is
 * rebuilt from traffic, so SAVE stops the same way, and no shutdown ever waits to be aborted. */
void cmd_shutdown(struct client *c, int argc, struct resp_arg *argv)
{
    int nosave = 0, save = 0, other = 0, abort_asked = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i].ptr;
        if (!strcasecmp(a, "nosave")) nosave = 1;
        else if (!strcasecmp(a, "save")) save = 1;
        else if (!strcasecmp(a, "now") || !strcasecmp(a, "force")) other = 1;
        else if (!strcasecmp(a, "abort")) abort_asked = 1;
        else {
            resp_error(&c->out, err_syntax);
            return;
        }
    }
    if ((abort_asked && (nosave || save || other)) || (nosave && save)) {
        resp_error(&c->out, err_syntax);
        return;
    }
    if (abort_asked) {
        resp_error(&c->out, "ERR No shutdown in progress.");
        return;
    }
    log_msg(LL_NOTICE, "SHUTDOWN asked by %s, shutting down", c->addr);
    server_shutdown(c->srv, 0);
}

void cmd_time(struct client *c, int argc, struct resp_arg *argv)
{
    struct timespec ts;
    char buf[24];
    (void)argc; (void)argv;
    clock_gettime(CLOCK_REALTIME, &ts);
    resp_array(&c->out, 2);
    snprintf(buf, sizeof(buf), "%lld", (long long)ts.tv_sec);
    resp_bulks(&c->out, buf);
    snprintf(buf, sizeof(buf), "%ld", ts.tv_nsec / 1000);
    resp_bulks(&c->out, buf);
}

/* ---- slow log (slowlog-log-slower-than and slowlog-max-len: Redis's, 10 ms and 128 entries) ---- */

enum { SLOWLOG_ARGS_MAX = 32, SLOWLOG_ARG_BYTES = 128, SLOWLOG_RING_MAX = 1 << 20 };

struct slowlog_entry {
    long long id, time_s, duration_us;
    struct sbuf args;                 /* the argument array, RESP-encoded (same in RESP2 and RESP3) */
    char *peer, *name;
};

/* Loop-thread state of this file only. */
static struct {
    struct slowlog_entry *v;          /* ring of max_len entries, newest at (head - 1) */
    long long head, n, next_id, max_len;
} slowlog;

static void slowlog_entry_free(struct slowlog_entry *e)
{
    sbuf_free(&e->args);
    free(e->peer);
    free(e->name);
    memset(e, 0, sizeof(*e));
}

static void slowlog_clear(void)
{
    for (long long i = 0; slowlog.v && i < slowlog.n; i++)
        slowlog_entry_free(&slowlog.v[(slowlog.head - 1 - i + slowlog.max_len) % slowlog.max_len]);
    free(slowlog.v);
    slowlog.v = NULL;
    slowlog.head = slowlog.n = 0;
}

/* The ring follows slowlog-max-len (at most SLOWLOG_RING_MAX): a new length empties it. */
static void slowlog_fit(const struct fc_config *cfg)
{
    long long want = cfg->slowlog_max_len < SLOWLOG_RING_MAX ? cfg->slowlog_max_len : SLOWLOG_RING_MAX;
    if (want != slowlog.max_len) {
        slowlog_clear();
        slowlog.max_len = want;
    }
}

void slowlog_maybe_add(struct client *c, int argc, struct resp_arg *argv, uint64_t duration_us)
{
    long long slower = c->srv->cfg->slowlog_log_slower_than;
    slowlog_fit(c->srv->cfg);
    if (slower < 0 || (long long)duration_us < slower || slowlog.max_len <= 0)
        return;
    if (!slowlog.v && !(slowlog.v = calloc((size_t)slowlog.max_len, sizeof(*slowlog.v))))
        return;
    struct slowlog_entry *e = &slowlog.v[slowlog.head];
    slowlog_entry_free(e);
    int n = argc > SLOWLOG_ARGS_MAX ? SLOWLOG_ARGS_MAX : argc;
    sbuf_init(&e->args);
    resp_array(&e->args, n);
    for (int i = 0; i < n; i++) {
        char more[64];
        if (cmd_arg_redacted(argc, argv, i)) {
            resp_bulks(&e->args, "(redacted)");
        } else if (i == n - 1 && argc > n) {
            snprintf(more, sizeof(more), "... (%d more arguments)", argc - n + 1);
            resp_bulks(&e->args, more);
        } else if (argv[i].len > SLOWLOG_ARG_BYTES) {
            /* the first bytes as they are (NUL included, as Redis's sdsnewlen), then the note */
            char cut[SLOWLOG_ARG_BYTES + sizeof(more)];
            memcpy(cut, argv[i].ptr, SLOWLOG_ARG_BYTES);
            int k = snprintf(cut + SLOWLOG_ARG_BYTES, sizeof(more), "... (%zu more bytes)",
                             argv[i].len - SLOWLOG_ARG_BYTES);
            resp_bulk(&e->args, cut, SLOWLOG_ARG_BYTES + (size_t)k);
        } else {
            resp_bulk(&e->args, argv[i].ptr, argv[i].len);
        }
    }
    e->id = slowlog.next_id++;
    e->time_s = (long long)(server_mstime() / 1000);
    e->duration_us = (long long)duration_us;
    e->peer = strdup(c->addr);
    e->name = strdup(c->name ? c->name : "");
    slowlog.head = (slowlog.head + 1) % slowlog.max_len;
    if (slowlog.n < slowlog.max_len)
        slowlog.n++;
}

void cmd_slowlog_get(struct client *c, int argc, struct resp_arg *argv)
{
    long long count = 10;
    if (argc == 3 && (cmd_parse_ll(&argv[2], &count) != 0 || count < -1)) {
        resp_error(&c->out, "ERR count should be greater than or equal to -1");
        return;
    }
    if (argc > 3) {
        resp_error(&c->out, "ERR wrong number of arguments for 'slowlog|get' command");
        return;
    }
    slowlog_fit(c->srv->cfg);
    if (count == -1 || count > slowlog.n)
        count = slowlog.n;
    resp_array(&c->out, count);
    for (long long i = 0; i < count; i++) {
        struct slowlog_entry *e = &slowlog.v[(slowlog.head - 1 - i + 2 * slowlog.max_len) % slowlog.max_len];
        resp_array(&c->out, 6);
        resp_int(&c->out, e->id);
        resp_int(&c->out, e->time_s);
        resp_int(&c->out, e->duration_us);
        sbuf_append(&c->out, e->args.buf, e->args.len);
        resp_bulks(&c->out, e->peer ? e->peer : "");
        resp_bulks(&c->out, e->name ? e->name : "");
    }
}

void cmd_slowlog_len(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    slowlog_fit(c->srv->cfg);
    resp_int(&c->out, slowlog.n);
}

void cmd_slowlog_reset(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    slowlog_clear();
    resp_simple(&c->out, "OK");
}

/* ---- COMMAND ---- */

void cmd_meta_emit(struct sbuf *b, const char *p, size_t n, int proto)
{
    if (proto == 3) {
        sbuf_append(b, p, n);
        return;
    }
    const char *end = p + n;
    while (p < end) {
        const char *eol = memchr(p, '\r', (size_t)(end - p));
        if (!eol)
            return;
        char t = p[0];
        long long len = strtoll(p + 1, NULL, 10);
        if (t == '%') {
            sbuf_printf(b, "*%lld\r\n", len * 2);
        } else if (t == '~' || t == '>') {
            sbuf_printf(b, "*%lld\r\n", len);
        } else if (t == '_') {
            sbuf_append(b, "$-1\r\n", 5);
        } else if (t == '#') {
            sbuf_printf(b, ":%d\r\n", p[1] == 't');
        } else if (t == '$' && len >= 0) {
            sbuf_append(b, p, (size_t)(eol + 2 - p) + (size_t)len + 2);
            p = eol + 2 + len + 2;
            continue;
        } else {
            sbuf_append(b, p, (size_t)(eol + 2 - p));
        }
        p = eol + 2;
    }
}

/* <CONTAINER> HELP: Redis 7.0's own text, from cmd_meta.c. */
void cmd_help(struct client *c, int argc, struct resp_arg *argv)
{
    const struct command *cmd = commands_find(argv[0].ptr);
    const struct cmd_meta *m = cmd ? cmd_meta_find(cmd->name) : NULL;
    (void)argc;
    if (m && m->help)
        cmd_meta_emit(&c->out, m->help, m->help_len, c->proto);
    else
        resp_array(&c->out, 0);
}

static void command_info_one(struct client *c, const struct command *cmd)
{
    const struct cmd_meta *m = cmd_meta_find(cmd->name);
    if (m) {
        cmd_meta_emit(&c->out, m->info, m->info_len, c->proto);
        return;
    }
    resp_array(&c->out, 10);                  /* not in the generated table: name, arity, no flags */
    resp_bulks(&c->out, cmd->name);
    resp_int(&c->out, cmd->arity);
    resp_set(&c->out, 0, c->proto);
    resp_int(&c->out, cmd->first_key);
    resp_int(&c->out, cmd->last_key);
    resp_int(&c->out, cmd->key_step);
    resp_set(&c->out, 0, c->proto);
    resp_set(&c->out, 0, c->proto);
    resp_array(&c->out, 0);
    resp_array(&c->out, 0);
}

void cmd_command(struct client *c, int argc, struct resp_arg *argv)
{
    int n;
    const struct command *t = commands_table(&n);
    (void)argc; (void)argv;
    resp_array(&c->out, n);
    for (int i = 0; i < n; i++)
        command_info_one(c, &t[i]);
}

void cmd_command_count(struct client *c, int argc, struct resp_arg *argv)
{
    int n;
    (void)argc; (void)argv;
    commands_table(&n);
    resp_int(&c->out, n);
}

void cmd_command_list(struct client *c, int argc, struct resp_arg *argv)
{
    int n;
    const struct command *t = commands_table(&n);
    if (argc != 2) {
        resp_error(&c->out, err_syntax);
        return;
    }
    (void)argv;
    resp_array(&c->out, n);
    for (int i = 0; i < n; i++)
        resp_bulks(&c->out, t[i].name);
}

void cmd_command_info(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc == 2) {
        cmd_command(c, 1, argv);
        return;
    }
    resp_array(&c->out, argc - 2);
    for (int i = 2; i < argc; i++) {
        const struct command *cmd = commands_find(argv[i].ptr);
        if (cmd) command_info_one(c, cmd); else resp_null(&c->out, c->proto);
    }
}

void cmd_command_docs(struct client *c, int argc, struct resp_arg *argv)
{
    int n, found = 0;
    const struct command *t = commands_table(&n);
    const struct cmd_meta *m;
    if (argc == 2) {
        for (int i = 0; i < n; i++)
            found += cmd_meta_find(t[i].name) != NULL;
        resp_map(&c->out, found, c->proto);
        for (int i = 0; i < n; i++)
            if ((m = cmd_meta_find(t[i].name))) {
                resp_bulks(&c->out, t[i].name);
                cmd_meta_emit(&c->out, m->docs, m->docs_len, c->proto);
            }
        return;
    }
    for (int i = 2; i < argc; i++)
        found += commands_find(argv[i].ptr) && cmd_meta_find(commands_find(argv[i].ptr)->name);
    resp_map(&c->out, found, c->proto);
    for (int i = 2; i < argc; i++) {
        const struct command *cmd = commands_find(argv[i].ptr);
        if (cmd && (m = cmd_meta_find(cmd->name))) {
            resp_bulks(&c->out, cmd->name);
            cmd_meta_emit(&c->out, m->docs, m->docs_len, c->proto);
        }
    }
}

void cmd_command_getkeys(struct client *c, int argc, struct resp_arg *argv)
{
    const struct command *cmd = commands_find(argv[2].ptr);
    int n = argc - 2;
    if (!cmd) {
        resp_error(&c->out, "ERR Invalid command specified");
        return;
    }
    if ((cmd->arity > 0 && n != cmd->arity) || n < -cmd->arity) {
        resp_error(&c->out, "ERR Invalid number of arguments specified for command");
        return;
    }
    if (cmd->first_key <= 0) {
        resp_error(&c->out, "ERR The command has no key arguments");
        return;
    }
    int last = cmd->last_key < 0 ? n + cmd->last_key : cmd->last_key;
    int nk = 0;
    for (int k = cmd->first_key; k <= last && k < n; k += cmd->key_step)
        nk++;
    resp_array(&c->out, nk);
    for (int k = cmd->first_key; k <= last && k < n; k += cmd->key_step)
        resp_bulk(&c->out, argv[2 + k].ptr, argv[2 + k].len);
}

/* ---- LATENCY, MODULE, FUNCTION, FLUSHALL, CLUSTER: nothing to report or change ---- */

void cmd_empty_array(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_array(&c->out, 0);
}

void cmd_latency_latest(struct client *c, int argc, struct resp_arg *argv) { cmd_empty_array(c, argc, argv); }
void cmd_latency_history(struct client *c, int argc, struct resp_arg *argv) { cmd_empty_array(c, argc, argv); }
void cmd_module_list(struct client *c, int argc, struct resp_arg *argv) { cmd_empty_array(c, argc, argv); }

void cmd_latency_reset(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_int(&c->out, 0);
}

void cmd_function_flush(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc == 3 && strcasecmp(argv[2].ptr, "sync") && strcasecmp(argv[2].ptr, "async")) {
        resp_error(&c->out, "ERR FUNCTION FLUSH only supports SYNC|ASYNC option");
        return;
    }
    if (argc > 3) {
        resp_error(&c->out, "ERR wrong number of arguments for 'function|flush' command");
        return;
    }
    resp_simple(&c->out, "OK");
}

/* FLUSHALL / FLUSHDB [ASYNC|SYNC]: +OK and nothing changes (the cache is the capture's). */
void cmd_flushall(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc > 2 || (argc == 2 && strcasecmp(argv[1].ptr, "sync") && strcasecmp(argv[1].ptr, "async"))) {
        resp_error(&c->out, err_syntax);
        return;
    }
    resp_simple(&c->out, "OK");
}

void cmd_cluster(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_error(&c->out, "ERR This instance has cluster support disabled");
}

/* ---- PUBSUB (Redis 7.0 answers NUMSUB as a flat array in both protocols) ---- */

void cmd_pubsub_numsub(struct client *c, int argc, struct resp_arg *argv)
{
    resp_array(&c->out, (long long)(argc - 2) * 2);
    for (int i = 2; i < argc; i++) {
        resp_bulk(&c->out, argv[i].ptr, argv[i].len);
        resp_int(&c->out, (long long)pubsub_numsub(c->srv, argv[i].ptr, argv[i].len));
    }
}

void cmd_pubsub_channels(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc > 3) {
        cmd_error_arg(c, "ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", &argv[1]);
        return;
    }
    pubsub_cmd_pubsub(c, argc, argv);
}

void cmd_pubsub_shardchannels(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc > 3) {
        cmd_error_arg(c, "ERR unknown subcommand or wrong number of arguments for '%s'. Try PUBSUB HELP.", &argv[1]);
        return;
    }
    resp_array(&c->out, 0);
}

void cmd_pubsub_shardnumsub(struct client *c, int argc, struct resp_arg *argv)
{
    resp_array(&c->out, (long long)(argc - 2) * 2);
    for (int i = 2; i < argc; i++) {
        resp_bulk(&c->out, argv[i].ptr, argv[i].len);
        resp_int(&c->out, 0);
    }
}
