/* cloud_engine.h - delivery of Redis commands to cloud nodes: connections, Redis Cluster slot routing
 * (MOVED/ASK), retries and re-sends after a reconnect, a bounded queue, pipelined flushes (loop thread). */
#ifndef FC_CLOUD_ENGINE_H
#define FC_CLOUD_ENGINE_H

#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "server/replication/cloud_cluster.h"     /* CLOUD_MAX_NODES */

struct cloud_engine;

struct cloud_engine_config {
    const char *const *nodes;        /* seed nodes, "host:port" each */
    int nnodes;
    const char *user;                /* AUTH user (NULL: AUTH <password> alone) */
    const char *password;            /* NULL: no AUTH */
    uint64_t flush_ms;               /* a pipelined batch at least this often (0 counts as 1) */
    uint64_t queue_max;              /* bytes queued and unacknowledged at most; past it the oldest are dropped */
};

/* What INFO and the heartbeat show of the engine. */
struct cloud_engine_stats {
    int cluster;                     /* the nodes answered CLUSTER SLOTS */
    int nodes, nodes_connected;      /* data connections up */
    size_t queued, queued_bytes;     /* not yet written */
    size_t inflight;                 /* written, reply not yet read */
    uint64_t sent, dropped, errors, reconnects, last_batch_us, moved, asked;
    const char *last_error;          /* "" when none; valid until the engine's next callback */
};

/* The answer to cloud_engine_get: status 0 with val (NUL-terminated, len bytes; NULL when the
 * reply was not a string: a missing key), or status -1 without val when no answer came (an error
 * reply, the connection lost, the engine destroyed). val belongs to the engine. */
typedef void (*cloud_get_cb)(void *arg, const char *val, size_t len, int status);

/* Creates the engine for cfg's seed nodes and starts connecting (asynchronously: an unreachable
 * node is not an error here). Returns the engine, or NULL with a message in err when a node is not
 * host:port, there are more than CLOUD_MAX_NODES, or memory runs out. Loop thread. */
struct cloud_engine *cloud_engine_create(uv_loop_t *loop, const struct cloud_engine_config *cfg,
                                         char *err, size_t errlen);

/* Queues one data command (argv[1] is its key, which routes it; a script's first key routes EVAL,
 * EVALSHA and FCALL, whose keys must then share one hash slot; lens are the byte lengths): it is
 * written with the next batch and sent again after a reconnect until a node acknowledges it.
 * Never blocks; after an out-of-memory, past queue_max or once finished it is dropped and counted.
 * The engine keeps a copy: argv stays the caller's. Loop thread. */
void cloud_engine_send(struct cloud_engine *e, int argc, const char **argv, const size_t *lens);

/* Sends GET key on the second ("sync") connection of the node owning key, when fewer than 1024 GETs
 * are waiting: now when that connection is up, else as soon as it (and the slot map) is, waiting at
 * most 2 s (a probe that just started, a reconnect); no answer by then is status -1. Returns 0, and
 * cb(arg, ...) follows exactly once (at the latest from cloud_engine_destroy; already before this
 * returns when the write fails at once, so set up what cb reads first); or -1, and cb is never
 * called. Loop thread. */
int cloud_engine_get(struct cloud_engine *e, const char *key, cloud_get_cb cb, void *arg);

/* The same for any command of at most 16 (CLOUD_CMD_ARGS_MAX) NUL-terminated arguments, routed by its key
 * as cloud_engine_send routes (argv[1]; a script's first key for FCALL), except that it never waits: -1
 * at once while that connection is down (its callers keep the command for later). HGET key field, SMEMBERS key
 * (an array of strings comes as its elements joined by '\n', "" when empty), SADD key member, FCALL (a
 * reply that is no string: val NULL, status 0). */
int cloud_engine_ask(struct cloud_engine *e, int argc, const char **argv, cloud_get_cb cb, void *arg);

/* Fills *out. Loop thread. */
void cloud_engine_stats(const struct cloud_engine *e, struct cloud_engine_stats *out);

/* 1 once the engine has stopped (drained, or its shutdown timed out): it sends nothing more. */
int cloud_engine_finished(const struct cloud_engine *e);

/* Writes what is queued and waits for its acknowledgement, at most 4 s, then closes every
 * connection and handle and calls done(arg) once (at once when already finished). What was not
 * delivered is counted as dropped and said on stderr. Loop thread. */
void cloud_engine_shutdown(struct cloud_engine *e, void (*done)(void *arg), void *arg);

/* Frees everything; GETs still waiting get their callback (status -1) first. Call it after the
 * loop has closed the engine's handles (after cloud_engine_shutdown's done, and uv_run returned).
 * NULL is allowed. */
void cloud_engine_destroy(struct cloud_engine *e);

/* The Redis 7 function library (FUNCTION LOAD code, "#!lua name=..."; the caller's, for the engine's
 * life) that FCALLs queued by cloud_engine_send call: a node that answers "Function not found" gets
 * FUNCTION LOAD REPLACE code and the call again. Loop thread. */
void cloud_engine_set_functions(struct cloud_engine *e, const char *code);

/* Flush every ms (0 counts as 1) from now on. Loop thread. */
void cloud_engine_set_flush_ms(struct cloud_engine *e, uint64_t ms);

#endif
