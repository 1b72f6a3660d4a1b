/* cloud.h - replication of expiring keys and events to real Redis "cloud" nodes (loop thread). */
#ifndef FC_CLOUD_H
#define FC_CLOUD_H

#include <stddef.h>

#include "capture/events/events.h"
#include "resp/resp_writer.h"

struct server;
struct cloud;

/* Create the replication module from s->cfg (cloud, cloud-password, ...),
 * set s->cloud and s->cloud_wanted, and start connecting (asynchronously:
 * an unreachable node is not an error here). Returns 0, or -1 with err. */
int cloud_create(struct server *s, char *err, size_t errlen);

/* One probe event (flow.end carries the flow's final counters as JSON).
 * Queues the cloud commands it implies; never blocks. */
void cloud_on_event(struct cloud *cl, const struct event *ev);

/* INFO "# Cloud" lines (the caller wrote the header). */
void cloud_info(struct cloud *cl, struct sbuf *b);

/* Flush what is queued (bounded by a timeout), then call done(arg) once. */
void cloud_shutdown(struct cloud *cl, void (*done)(void *arg), void *arg);

/* Free everything (after the loop stopped). NULL is allowed. */
void cloud_destroy(struct cloud *cl);

#endif
