/* commands.h - the command table and its dispatcher (loop thread). */
#ifndef FC_COMMANDS_H
#define FC_COMMANDS_H

#include <stdint.h>

#include "resp/resp_reader.h"
#include "server/core/client.h"

/* Command flags */
#define CMD_READONLY  0x0001
#define CMD_WRITE     0x0002
#define CMD_PUBSUB    0x0004   /* allowed while subscribed (RESP2) */
#define CMD_NOAUTH    0x0008   /* allowed before AUTH */
#define CMD_NO_MULTI  0x0010   /* refused inside MULTI (Redis' no_multi) */
#define CMD_FAST      0x0020
#define CMD_ADMIN     0x0040
#define CMD_LOADING   0x0080
#define CMD_STALE     0x0100
#define CMD_MAY_REPLICATE 0x0200 /* Redis' may_replicate: with READONLY and WRITE, refused to a MONITOR client */

typedef void (*cmd_fn)(struct client *c, int argc, struct resp_arg *argv);

struct command {
    const char *name;                /* lower case */
    cmd_fn fn;                       /* NULL: a write, answered -READONLY */
    int arity;                       /* > 0 exact, < 0 at least -arity */
    int flags;
    int first_key, last_key, key_step;
    const struct command *subs;      /* a container (CLIENT, CONFIG...): its subcommands, names without "parent|" */
    int nsubs;
};

/* Run one command of client c (argv owned by the caller for the call).
 * Replies go to c->out. Loop thread. */
void commands_dispatch(struct client *c, int argc, struct resp_arg *argv);

/* Writes "name" or "parent|name" (NUL-terminated, truncated to cap) into out.
 * Returns its length. Any thread (the table is constant). */
size_t commands_full_name(const struct command *cmd, const struct command *parent, char *out, size_t cap);

/* c is RESET: it monitors no more. Loop thread. */
void commands_monitor_gone(struct client *c);

/* c is closing: what the commands keep of it (subscriptions, MONITOR) goes; the server's
 * client_closing hook. Loop thread. */
void commands_client_closing(struct server *s, struct client *c);

/* Calls fn(arg, "name" or "parent|name", calls, usec, rejected, failed) for every command that ran or
 * was refused (INFO commandstats' figures). O(stat slots). Loop thread. */
void commands_stats_each(void (*fn)(void *arg, const char *name, uint64_t calls, uint64_t usec,
                                    uint64_t rejected, uint64_t failed), void *arg);

/* Error replies sent (INFO total_error_replies). Loop thread. */
uint64_t commands_error_replies(void);

/* The table, for COMMAND. */
const struct command *commands_table(int *n);

#endif
