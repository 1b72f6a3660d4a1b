/* fanout.h - spreads one source's packets over several worker threads (reader thread -> worker threads). */
#ifndef FC_FANOUT_H
#define FC_FANOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/flow/worker.h"

struct fanout;

/* Starts n worker threads, one per workers[i] (not owned; they must outlive
 * the fanout). wall_clock: ticks follow the wall clock when idle (live
 * capture, paced replay). Returns NULL on failure. Reader thread. */
struct fanout *fanout_start(struct worker *workers, int n, int wall_clock);

/* Copies one frame to the worker that owns its address pair (both
 * directions of a flow, and every fragment, go to the same worker). Waits
 * while that worker's ring is full, unless *stop becomes non-zero (the probe
 * is shutting down: the frame is discarded). Reader thread only. */
void fanout_push(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, _Atomic int *stop);

/* Let the workers finish what is queued, then join them and free f. */
void fanout_finish(struct fanout *f);

#endif
