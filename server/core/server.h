/* server.h - the loop thread: RESP server over the live cache, clients, the drain of events to their sinks. */
#ifndef FC_SERVER_H
#define FC_SERVER_H

#include <stdint.h>
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
struct subs;

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
    uv_timer_t cron;
    struct client *clients;          /* doubly linked */
    uint64_t nclients, next_client_id;
    struct client **flush_list;      /* clients with replies to write */
    size_t nflush, flush_cap;
    struct client **ready_list;      /* clients whose turn ended with input left (fairness) */
    size_t nready, ready_cap;
    uv_idle_t ready_idle;            /* runs the ready list while it is not empty */
    uv_check_t flush_check;          /* writes replies once the loop has read every ready socket */
    struct subs *subs;               /* pub/sub subscriptions (server/pubsub/subs.h), NULL before the first */
    struct sink_registry sinks;      /* who consumes capture events (pub/sub, replication...), set up by main.c */
    struct server_stats st;
    uint64_t start_ms;
    int shutting_down;
    int exit_code;
    char run_id[41];
};

/* The one server of the process, owned by the loop thread. */
extern struct server *g_server;

/* Start listening and hook the capture's events into the loop. Returns 0,
 * or -1 with a message printed. Loop thread. */
int server_start(struct server *s);

/* Begin an orderly shutdown: stop capture, close clients, stop the loop. */
void server_shutdown(struct server *s, int exit_code);
/* Last step of the shutdown: close every handle so uv_run returns. */
void server_shutdown_finish(void *arg);

/* Wake the loop from a capture thread (event queue callback). Any thread. */
void server_events_notify(void *arg);
void server_capture_done(void *arg);

uint64_t server_mstime(void);

#endif
