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

/* FCALL flowcached_host_merge on a host's ip.<addr> or a MAC's mac.<mac> (key) with the event's times (the
 * earliest first.seen and the latest last.seen across events and probes) and, when ev has the string field
 * `from` and `from`.seen.us (microseconds), `field` set to that string if no newer one is there (the time is
 * kept in `field`.seen.us). from NULL: the times alone. One call, one key, atomic on the node. Loop thread. */
void cloud_merge_host(struct cloud_engine *eng, const char *key, const struct event *ev, const char *from,
                      const char *field);

#endif
