/* server_state.h - the state of the loop thread that its modules share: struct server (clients, sinks,
 * statistics, the hooks into the modules above server/core) and the wall clock (loop thread). */
#ifndef FC_SERVER_STATE_H
#define FC_SERVER_STATE_H

#include <stdint.h>
#include <time.h>
#include <uv.h>

#include "capture/cache/cache.h"
#include "capture/source/capture.h"
#include "capture/cache/watchlist.h"
#include "resp/resp_reader.h"
#include "resp/resp_writer.h"
#include "server/core/config.h"
#include "server/core/sink.h"

#define SERVER_VERSION "7.0.15"
#define FLOWCACHED_VERSION "0.1.0"

struct client;
struct server;
struct subs;

/* What the loop calls in the modules above it (commands, pub/sub); main.c sets them before
 * server_start, so that server/core includes none of those modules. */
struct server_hooks {
    /* Runs one command of c (argv lent for the call); replies go to c->out. */
    void (*dispatch)(struct client *c, int argc, struct resp_arg *argv);
    /* c is closing: forget what other modules keep of it (its subscriptions). NULL: nothing. */
    void (*client_closing)(struct server *s, struct client *c);
};

struct server_stats {
    uint64_t connections_received, connections_rejected, commands, net_in, net_out;
    uint64_t pubsub_messages, events_published, pubsub_clients_dropped, pubsub_messages_dropped;
    uint64_t protocol_errors, auth_failures, keyspace_hits, keyspace_misses;
};

struct server {
    uv_loop_t *loop;
    struct fc_config *cfg;
    struct cache *cache;
    struct capture *cap;
    uv_tcp_t listeners[16];
    int nlisteners;
    uv_async_t events_async;         /* capture threads: events queued */
    uv_async_t done_async;           /* capture threads: every file read */
    uv_signal_t sig_term, sig_int, sig_hup;
    struct watchlist wl;             /* the `watchlist` key; capture threads match against it */
    /* An SADD (add) or SREM of one entry accepted here goes on to the shared list (the cloud's set);
     * NULL when the watchlist is not shared. Loop thread. */
    void (*watch_share)(void *arg, int add, const char *text);
    void *watch_share_arg;
    uv_timer_t cron;
    struct client *clients;          /* doubly linked */
    uint64_t nclients, next_client_id;
    uint64_t multi_bytes;            /* queued MULTI commands of every client (struct client mq_bytes) */
    struct client **flush_list;      /* clients with replies to write */
    size_t nflush, flush_cap;
    struct client **ready_list;      /* clients whose turn ended with input left (fairness) */
    size_t nready, ready_cap;
    uv_idle_t ready_idle;            /* runs the ready list while it is not empty */
    uv_check_t flush_check;          /* writes replies once the loop has read every ready socket */
    struct subs *subs;               /* pub/sub subscriptions (server/pubsub/subs.h), NULL before the first */
    struct server_hooks hooks;
    uint64_t cmd_end_ns;             /* CLOCK_MONOTONIC ns at the end of the last command of the current
                                      * client turn, 0 at its start: the dispatcher writes it, the turn
                                      * reads it (one clock read per command) */
    struct sink_registry sinks;      /* who consumes capture events (pub/sub, replication...), set up by main.c */
    struct server_stats st;
    uint64_t start_ms;
    uint64_t debug_line_ms;          /* when cron last logged its debug line */
    int shutting_down;
    int exit_code;
    char run_id[41];
};

/* Wall-clock time in ms (CLOCK_REALTIME). Any thread. */
static inline uint64_t server_mstime(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000ULL + (uint64_t)ts.tv_nsec / 1000000;
}

#endif
