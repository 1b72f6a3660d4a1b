/* cloud_merge.h - a flow seen by several probes, merged in the cloud by a Redis 7 function: earliest
 * first.seen, latest last.seen, union of tcp.flags (loop thread). */
#ifndef FC_CLOUD_MERGE_H
#define FC_CLOUD_MERGE_H

#include "capture/events/events.h"

struct cloud_engine;

/* The function library ("#!lua name=flowcached"), for cloud_engine_set_functions. */
extern const char cloud_merge_library[];

/* Is name a field the merge keeps (first.seen, last.seen, tcp.flags), not one a plain HSET copies? */
int cloud_merge_field(const char *name);

/* FCALL flowcached_flow_merge on flow key with the flow.end event's times and flags: one call, one key,
 * atomic on the node (a cluster routes it by the key). Loop thread. */
void cloud_merge_flow(struct cloud_engine *eng, const char *key, const struct event *ev);

/* The same for a host's ip.<addr> (key) with the flow.end event's times only: the earliest first.seen and
 * the latest last.seen of its flows, across probes. Loop thread. */
void cloud_merge_times(struct cloud_engine *eng, const char *key, const struct event *ev);

#endif
