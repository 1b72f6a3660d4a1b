/* worker_app.h - applies dissector actions to the cache and the event channels (capture thread). */
#ifndef FC_WORKER_APP_H
#define FC_WORKER_APP_H

#include "capture/flow/worker.h"
#include "capture/flow/app.h"

/* Apply acts (gathered under a flow lock, applied with none held) at time ts:
 * name tables, users, and dns/http/user/alert events. The client host's
 * fields are applied by worker_host_apply_actions. hashes: what
 * worker_prefetch_actions computed for these acts, or NULL. */
void worker_apply_actions(struct worker *w, const struct app_actions *acts, uint64_t ts,
                          const uint64_t *hashes);

/* Start loading the name-table buckets worker_apply_actions will read (a
 * hint: reads only the fixed bucket arrays) and store the name hashes it
 * computed in hashes[0 .. acts->n) for worker_apply_actions. Capture thread. */
void worker_prefetch_actions(struct worker *w, const struct app_actions *acts, uint64_t *hashes);

/* Apply what acts teach about the flow's client host h (DNS queries and
 * NXDOMAIN answers, HTTP requests and the OS its User-Agent names). Caller
 * holds h's shard lock (taken while the flow's lock is held, so the flow's
 * host reference needs no second lookup). Capture thread. */
void worker_host_apply_actions(struct host *h, const struct app_actions *acts, uint64_t ts);

#endif
