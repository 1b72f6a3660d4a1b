/* metrics.h - the Prometheus endpoint: `metrics-port` serves GET /metrics (text format 0.0.4) on the loop thread. */
#ifndef FC_METRICS_H
#define FC_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct server;

/* One command's figures, as INFO commandstats counts them ("get", "client|list"). */
typedef void (*metrics_command_fn)(void *arg, const char *name, uint64_t calls, uint64_t usec,
                                   uint64_t rejected, uint64_t failed);

/* What the endpoint reads beyond server/core and capture: main.c wires them (NULL: not served). */
struct metrics_hooks {
    /* Calls fn(arg, ...) once per command that ran or was refused. */
    void (*commands_each)(metrics_command_fn fn, void *arg);
    uint64_t (*error_replies)(void);                            /* INFO total_error_replies */
    size_t (*pubsub_count)(const struct server *s, int patterns);   /* INFO pubsub_channels / _patterns */
    const char *(*protocol_name)(unsigned l7_id);                  /* proto.<name> (nDPI's) */
    unsigned (*protocol_count)(void);                               /* ids below it have a name */
};

/* Starts the endpoint when s->cfg->metrics_port is not 0: one listener per `bind` address, closed by
 * the shutdown of the event sinks (it registers a sink with only shutdown and destroy, no events).
 * Returns 0 (also when off), or -1 with a message printed (what was opened is closed at shutdown).
 * Start-up, loop thread, after the sinks are registered. */
int metrics_start(struct server *s, const struct metrics_hooks *hooks);

#endif
