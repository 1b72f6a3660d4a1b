/* metrics_internal.h - between the endpoint's HTTP side and its exposition writer (loop thread). */
#ifndef FC_METRICS_INTERNAL_H
#define FC_METRICS_INTERNAL_H

#include "resp/resp_writer.h"
#include "server/metrics/metrics.h"

/* Appends every metric family of s in the Prometheus text format 0.0.4 to out (out->oom on failure).
 * Work: O(protocols + commands + sinks' INFO lines). Loop thread. */
void metrics_render(struct server *s, const struct metrics_hooks *hooks, struct sbuf *out);

/* Appends the numeric lines of every event sink's INFO section (# Cloud, # Export...) as metric
 * families named after their INFO fields: `k=v,...` lines become a family per numeric field with a
 * `collector` label (the line's first field). Loop thread. */
void metrics_render_sinks(struct server *s, struct sbuf *out);

#endif
