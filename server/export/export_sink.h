/* export_sink.h - flow export as an event sink: ended flows to every configured collector (loop thread). */
#ifndef FC_EXPORT_SINK_H
#define FC_EXPORT_SINK_H

#include <stddef.h>
#include <uv.h>

#include "server/export/export_record.h"

struct fc_config;
struct sbuf;
struct sink_registry;
struct export_sink;

/* Creates the sink when `export` directives are set and registers it as the
 * event sink "export" (INFO section "# Export"; it wants flow.end). Returns
 * 0 (also when no collector is configured: nothing registered), or -1 with
 * a message in err. Start-up, loop thread. */
int export_sink_register(struct sink_registry *reg, uv_loop_t *loop, const struct fc_config *cfg,
                         char *err, size_t errlen);

/* Opens a sender per `export` directive (UDP ready at once, TCP connecting
 * in the background). Returns the sink, or NULL with a message in err
 * (nothing left open) when a directive is wrong or memory runs out; NULL
 * without a message when no collector is configured. Start-up, loop thread. */
struct export_sink *export_sink_create(uv_loop_t *loop, const struct fc_config *cfg, char *err, size_t errlen);

/* Exports one ended flow to every collector; never blocks (a collector that
 * is down or slow costs drops, counted). Loop thread. */
void export_sink_flow(struct export_sink *s, const struct export_record *r);

/* While on, the messages finished by export_sink_flow wait; turned off,
 * they go to each collector together (UDP: several datagrams a system
 * call). For flows read together: the sink holds from the first flow.end
 * event of a loop iteration until the iteration's I/O is done. Loop thread. */
void export_sink_hold(struct export_sink *s, int on);

/* INFO lines: export_flows, export_records, export_drops, export_bad_events
 * and one line per collector. Loop thread. */
void export_sink_info(struct export_sink *s, struct sbuf *b);

/* Sends what is batched, waits (at most 2 s) for collectors that are up to
 * take what is queued, closes every handle (what is left counts as drops),
 * then calls done(arg). Loop thread. */
void export_sink_shutdown(struct export_sink *s, void (*done)(void *arg), void *arg);

/* Frees s once the loop has stopped (after export_sink_shutdown). NULL ok. */
void export_sink_destroy(struct export_sink *s);

#endif
