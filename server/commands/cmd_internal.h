/* cmd_internal.h - what the command files (commands.c, cmd_*.c) share: error texts, helpers, handlers, statistics (loop thread). */
#ifndef FC_CMD_INTERNAL_H
#define FC_CMD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "resp/resp_reader.h"
#include "resp/resp_writer.h"
#include "server/core/client.h"
#include "server/views/keyspace.h"

struct command;

/* cmd_util.c */
extern const char err_wrongtype[];
extern const char err_readonly[];
extern const char err_syntax[];
extern const char err_notint[];

/* Strict decimal long long (Redis's string2ll rules). Returns 0, or -1. */
int cmd_parse_ll(const struct resp_arg *a, long long *out);

/* Looks a key up, counting keyspace hits and misses. */
enum kv_type cmd_lookup(struct client *c, const struct resp_arg *key, struct kv_view *v);

/* Copies at most 128 bytes of a into out, CR and LF turned into spaces (what Redis does to error texts). */
void cmd_arg_sanitize(const struct resp_arg *a, char out[129]);

/* Whether Redis shows argument i of a command as "(redacted)" (MONITOR, SLOWLOG): AUTH's user and
 * password (when AUTH has at most two), HELLO's AUTH pair (up to the first option HELLO refuses), the
 * values CONFIG SET gives sensitive directives (requirepass, cloud-password). */
int cmd_arg_redacted(int argc, const struct resp_arg *argv, int i);

/* "-ERR <fmt>" with the argument printed at most 128 bytes, CR/LF replaced (Redis's addReplyErrorFormat). */
void cmd_error_arg(struct client *c, const char *fmt, const struct resp_arg *a);

/* Every handler has the cmd_fn signature. */
#define CMD_HANDLER(name) void name(struct client *c, int argc, struct resp_arg *argv)

/* commands.c: the command (or subcommand) argv names, *parent its container; NULL when unknown. */
const struct command *commands_resolve(int argc, struct resp_arg *argv, const struct command **parent);
/* commands.c: runs a resolved command with its statistics and slow log (EXEC runs its queue so). */
void commands_call(struct client *c, const struct command *cmd, const struct command *parent,
                   int argc, struct resp_arg *argv);

/* cmd_multi.c: drops c's transaction (queued commands and MULTI state). */
void cmd_multi_discard(struct client *c);
/* cmd_multi.c: queues a copy of a command inside MULTI, counted in the client's mq_bytes and the server's
 * multi_bytes. Returns 0 (queued; when malloc fails the transaction is flagged and EXEC aborts), -1 when
 * the cache and every queue would pass maxmemory (nothing queued: the caller refuses with Redis' OOM
 * error), -2 when c's query buffer and queue would pass client-query-buffer-limit (c answered and
 * closed). */
int cmd_multi_queue(struct client *c, int argc, struct resp_arg *argv);
CMD_HANDLER(cmd_multi); CMD_HANDLER(cmd_exec); CMD_HANDLER(cmd_discard); CMD_HANDLER(cmd_watch);

/* cmd_conn.c */
CMD_HANDLER(cmd_reset); CMD_HANDLER(cmd_ping); CMD_HANDLER(cmd_echo); CMD_HANDLER(cmd_quit); CMD_HANDLER(cmd_select);
CMD_HANDLER(cmd_auth); CMD_HANDLER(cmd_hello); CMD_HANDLER(cmd_ok);
CMD_HANDLER(cmd_client_id); CMD_HANDLER(cmd_client_getname); CMD_HANDLER(cmd_client_setname);
CMD_HANDLER(cmd_client_setinfo); CMD_HANDLER(cmd_client_list); CMD_HANDLER(cmd_client_info);
CMD_HANDLER(cmd_client_kill); CMD_HANDLER(cmd_client_no_evict); CMD_HANDLER(cmd_client_reply);

/* cmd_keys.c */
CMD_HANDLER(cmd_dbsize); CMD_HANDLER(cmd_exists); CMD_HANDLER(cmd_type); CMD_HANDLER(cmd_ttl);
CMD_HANDLER(cmd_pttl); CMD_HANDLER(cmd_get); CMD_HANDLER(cmd_strlen); CMD_HANDLER(cmd_mget);
CMD_HANDLER(cmd_keys); CMD_HANDLER(cmd_scan); CMD_HANDLER(cmd_hgetall); CMD_HANDLER(cmd_hkeys);
CMD_HANDLER(cmd_hvals); CMD_HANDLER(cmd_hlen); CMD_HANDLER(cmd_hget); CMD_HANDLER(cmd_hstrlen);
CMD_HANDLER(cmd_hexists); CMD_HANDLER(cmd_hmget); CMD_HANDLER(cmd_hscan); CMD_HANDLER(cmd_smembers);
CMD_HANDLER(cmd_scard); CMD_HANDLER(cmd_sismember); CMD_HANDLER(cmd_sadd); CMD_HANDLER(cmd_srem);
CMD_HANDLER(cmd_memory_usage);

/* cmd_server.c */
CMD_HANDLER(cmd_info); CMD_HANDLER(cmd_time); CMD_HANDLER(cmd_command); CMD_HANDLER(cmd_command_count);
CMD_HANDLER(cmd_command_info); CMD_HANDLER(cmd_command_docs); CMD_HANDLER(cmd_command_list);
CMD_HANDLER(cmd_command_getkeys);
CMD_HANDLER(cmd_slowlog_get); CMD_HANDLER(cmd_slowlog_len); CMD_HANDLER(cmd_slowlog_reset);
CMD_HANDLER(cmd_latency_latest); CMD_HANDLER(cmd_latency_history); CMD_HANDLER(cmd_latency_reset);
CMD_HANDLER(cmd_module_list); CMD_HANDLER(cmd_function_flush); CMD_HANDLER(cmd_flushall);
CMD_HANDLER(cmd_cluster); CMD_HANDLER(cmd_pubsub_numsub); CMD_HANDLER(cmd_pubsub_channels);
CMD_HANDLER(cmd_pubsub_shardchannels); CMD_HANDLER(cmd_pubsub_shardnumsub); CMD_HANDLER(cmd_empty_array);
CMD_HANDLER(cmd_help); CMD_HANDLER(cmd_role);

/* cmd_monitor.c: streams the command c ran to every MONITOR client (not administrative ones). */
void commands_monitor_feed(struct client *c, const struct command *cmd, int argc, struct resp_arg *argv);
CMD_HANDLER(cmd_monitor); CMD_HANDLER(cmd_shutdown);

/* cmd_config.c */
CMD_HANDLER(cmd_config_get); CMD_HANDLER(cmd_config_set); CMD_HANDLER(cmd_config_rewrite);
CMD_HANDLER(cmd_config_resetstat);

/* cmd_object.c */
CMD_HANDLER(cmd_object); CMD_HANDLER(cmd_randomkey);

/* Slow log (cmd_server.c): record one command run that took duration_us. */
void slowlog_maybe_add(struct client *c, int argc, struct resp_arg *argv, uint64_t duration_us);

/* commands.c: the top-level command named name (any case), or NULL. */
const struct command *commands_find(const char *name);

/* cmd_stats.c: counts one run of cmd (its usec; failed when the reply from c->out[reply_from] is an error). */
void cmd_stats_called(const struct client *c, const struct command *cmd, const struct command *parent,
                      uint64_t usec, size_t reply_from);
/* cmd_stats.c: counts a refused command (cmd NULL: unknown) and the error code of its reply. */
void cmd_stats_rejected(const struct client *c, const struct command *cmd, const struct command *parent,
                        size_t reply_from);
void cmd_stats_info(struct sbuf *b, int latency);  /* INFO commandstats / latencystats bodies */
void cmd_stats_errors(struct sbuf *b);             /* INFO errorstats body */
void cmd_stats_reset(void);
uint64_t cmd_stats_error_total(void);              /* error replies sent (INFO total_error_replies) */

/* cmd_meta.c (generated by tools/gen_cmd_meta.py from redis-server 7.0): COMMAND INFO / DOCS replies in RESP3. */
struct cmd_meta {
    const char *name;
    const char *info;        /* one COMMAND INFO entry */
    size_t info_len;
    const char *docs;        /* the value of one COMMAND DOCS entry */
    size_t docs_len;
    const char *help;        /* a container's HELP reply (an array of simple strings), or NULL */
    size_t help_len;
};
const struct cmd_meta *cmd_meta_find(const char *name);

/* Appends RESP3 bytes to b, transcoded to RESP2 when proto == 2 (maps become flat arrays, sets arrays). */
void cmd_meta_emit(struct sbuf *b, const char *p, size_t n, int proto);

#endif
