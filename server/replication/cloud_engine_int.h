/* cloud_engine_int.h - what cloud_engine.c (queues, connections, flush) shares with cloud_gets.c (the
 * GETs asked on each node's sync connection): the engine's structures. Loop thread only. */
#ifndef FC_CLOUD_ENGINE_INT_H
#define FC_CLOUD_ENGINE_INT_H

#include <stdint.h>
#include <sys/socket.h>
#include <uv.h>

#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_cmd.h"

struct redisReply;

/* The monotonic clock in microseconds (sent_us, last_batch_us). */
static inline uint64_t cloud_mono_us(void)
{
    return uv_hrtime() / 1000;
}

enum cmd_kind { CMD_DATA, CMD_AUTH, CMD_SLOTS, CMD_ASKING, CMD_GET };
enum conn_role { ROLE_DATA, ROLE_SYNC };

struct cloud_node;

struct cloud_conn {                    /* one connection role to one node */
    struct cloud_engine *e;
    struct cloud_node *node;
    int role;
    struct cloud_link *link;           /* NULL while down */
    int ready, ever_ready;
    struct cloud_cmdq inflight;        /* written, reply not yet read (FIFO) */
    uv_timer_t retry;
    uint64_t backoff_ms;
};

struct cloud_node {
    struct cloud_engine *e;
    int idx;
    char host[256];
    int port;
    struct sockaddr_storage addr;
    int resolved, resolving;
    uv_getaddrinfo_t gai;
    struct cloud_conn conn[2];
    uint64_t functions_ms;             /* when the function library was last sent to it */
};

struct cloud_engine {
    uv_loop_t *loop;
    struct cloud_node *nodes[CLOUD_MAX_NODES];
    int nnodes, nseeds;
    int16_t slot_node[CLOUD_SLOTS];
    int map_known, map_refresh, slots_inflight, cluster_mode;
    struct cloud_cmdq retry, pending;
    struct cloud_cmdq gets_waiting;    /* GETs whose node's sync connection is not up yet (sent_us: asked) */
    size_t unflushed;
    uint64_t hold_until_ms;
    uv_timer_t flush_timer, shut_timer;
    uv_prepare_t prep;
    char *auth;                        /* formatted AUTH command or NULL */
    const char *functions;             /* FUNCTION LOAD code for FCALLs (the caller's), or NULL */
    size_t auth_len;
    uint64_t queue_max;
    int gets_inflight;                 /* sent or waiting */
    int gets_kick;                     /* a connection or the slot map came up: send the waiting GETs */
    int shutting, finished;
    void (*done)(void *arg);
    void *done_arg;
    uint64_t sent, dropped, errors, reconnects, last_batch_us, moved, asked;
    char last_error[128];
};

/* Writes one internal command (AUTH, CLUSTER SLOTS, GET) on a connection now. Returns 0 when
 * written; -1 when memory ran out (c freed, nobody answered); 1 when the write ended the link at
 * once (the link's loss took c back and answered a GET's waiter). */
int cloud_conn_send_now(struct cloud_conn *cn, struct cloud_cmd *c);

/* A GET that gets no answer: its waiter hears so, once (c stays the caller's to free). */
void cloud_get_fail(struct cloud_engine *e, struct cloud_cmd *c);

/* The reply r to GET c: its waiter hears it (c stays the caller's to free). */
void cloud_on_get_reply(struct cloud_engine *e, struct cloud_cmd *c, struct redisReply *r);

/* Sends the GETs that waited for their connection, oldest first; one that waited 2 s gets no answer
 * (status -1). Called at the loop turn after a connection or the slot map came up, and on every flush
 * tick. */
void cloud_gets_dispatch(struct cloud_engine *e);

#endif
