/* client.h - one RESP connection of the loop thread: reader, reply buffer, pub/sub and MULTI state. */
#ifndef FC_CLIENT_H
#define FC_CLIENT_H

#include <stdint.h>
#include <uv.h>

#include "resp/resp_reader.h"
#include "resp/resp_writer.h"

struct server;
struct command;

struct queued_cmd {
    int argc;
    struct resp_arg *argv;           /* copies, owned */
};

struct client {
    uv_tcp_t tcp;                    /* must stay first: handle->data is not needed */
    struct server *srv;
    struct client *prev, *next;
    uint64_t id;
    struct resp_reader rd;
    struct sbuf out;                 /* replies not yet handed to uv_write */
    uint64_t out_inflight;           /* bytes in uv_write requests */
    int proto;                       /* 2 or 3 */
    int authenticated;
    int auth_failures;               /* WRONGPASS answers on this connection (RESET keeps them) */
    int closing;                     /* no more reading; close after the flush */
    int close_after_flush;
    int flush_queued;
    int ready_queued;                /* on the server's ready list: input left to process */
    int read_paused;                 /* reading stopped: too many replies not yet written */
    int kill_pending;                /* over the pub/sub output limit */
    int nsubs, npsubs;               /* channel and pattern subscriptions */
    int in_multi, multi_dirty;
    struct queued_cmd *mq;
    int mq_n, mq_cap;
    uint64_t mq_bytes;               /* memory of the queue, counted in srv->multi_bytes */
    char *name;
    char *lib_name, *lib_ver;
    char addr[64], laddr[64];
    int fd;
    uint64_t ctime_ms, last_ms;
    uint64_t soft_over_since_ms;     /* pub/sub output over the soft limit since */
    const struct command *last_cmd;  /* the last command run (NULL: none yet) and its container */
    const struct command *last_cmd_parent;
    /* CLIENT REPLY: OFF silences every reply, SKIP the next command's; push frames (pub/sub) are
     * always sent, as Redis 7.0 does. While a silenced command runs, `muted` is set and what it
     * appended to out after mute_mark is dropped when it ends (client_push_begin keeps pushes). */
    int reply_off, reply_skip, reply_skip_next;
    int muted;
    size_t mute_mark;
    int monitor;                     /* MONITOR: every command run is streamed to it */
    int in_exec;                     /* EXEC is running its queued commands */
};

/* A push frame (pub/sub message or (un)subscribe confirmation) for c starts: while a silenced command
 * of c runs, the reply bytes it wrote so far are dropped first. Loop thread. */
static inline void client_push_begin(struct client *c)
{
    if (c->muted)
        c->out.len = c->mute_mark;
}

/* The push frame started by client_push_begin is complete: it is kept. Loop thread. */
static inline void client_push_end(struct client *c)
{
    if (c->muted)
        c->mute_mark = c->out.len;
}

/* The listening sockets' callback: accepts one connection, refuses it with Redis' error line past
 * maxclients or in protected mode, else starts reading it. Loop thread. */
void client_connection_cb(uv_stream_t *listener, int status);

/* Sets up the loop handles client I/O needs (the ready list's idle, the flush check).
 * Once, from server_start. Loop thread. */
void client_io_init(struct server *s);

/* c has replies in c->out: it goes on the flush list (written after this loop turn's reads, or by
 * client_flush_pending). When the list cannot grow, c is written at its next read. Loop thread. */
void client_reply_ready(struct client *c);

/* Writes the replies of every client on the flush list (a write error closes that client). Loop thread. */
void client_flush_pending(struct server *s);

/* Close c once what is queued is written (protocol errors, QUIT); c reads nothing more. Loop thread. */
void client_close_after_reply(struct client *c);

/* Close c now, dropping queued output; its memory goes when libuv has closed the socket. Calling it
 * again is harmless. Loop thread. */
void client_close(struct client *c);

/* Closes subscribers whose unread output passed the hard limit, or the soft one for longer than
 * its time (counted in pubsub_clients_dropped). Loop thread (cron). */
void client_close_slow_subscribers(struct server *s);

/* Closes every client idle (nothing read) for longer than the `timeout` directive, as Redis's
 * clientsCronHandleTimeout: not subscribers, not one whose replies are still being written. Does
 * nothing when timeout is 0. Loop thread (cron). */
void client_close_idle(struct server *s, uint64_t now_ms);

/* Checks c's query buffer and queued MULTI commands, plus `extra` bytes about to be queued, against
 * client-query-buffer-limit. Returns 0, or -1 when over: c then gets "-ERR max query buffer length
 * reached", is closed after it (logged, as Redis logs it) and reads nothing more. Loop thread. */
int client_querybuf_check(struct client *c, uint64_t extra);

/* Bytes waiting to reach the socket (queued and handed to libuv). Loop thread. */
uint64_t client_output_pending(const struct client *c);

#endif
