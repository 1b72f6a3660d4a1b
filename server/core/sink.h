/* sink.h - consumers of probe events registered at start-up (pub/sub delivery, replication, ...): the loop's
 * event drain hands each event to every sink, and capture threads produce the channels any sink wants (loop thread). */
#ifndef FC_SINK_H
#define FC_SINK_H

#include <stdint.h>

#include "capture/events/events.h"
#include "resp/resp_writer.h"
#include "server/core/config.h"

enum { SINKS_MAX = 8 };

/* One sink: its name and what the loop calls. Every callback gets arg; NULL callbacks are skipped. */
struct sink {
    const char *name;                /* also its INFO section: "cloud" gives "# Cloud" */
    /* The channels it wants produced (bit per enum event_channel). */
    uint32_t (*wanted)(void *arg);
    /* 1: it reads ev->text (the JSON subscribers get) of the channels it wants, which is then made once,
     * before the sinks see the event; 0: it reads only the typed fields. */
    int wants_text;
    /* 1: it reads only the binary record of the channels it wants that have one (flow.end: struct
     * flow_end_rec), never their fields; capture threads then make the fields only for other sinks,
     * and events without fields reach only sinks like it. */
    int reads_raw;
    /* 1 when this sink takes ev over and publishes it on the probe's own channel later (pub/sub then
     * does not publish it now). Asked once per event, before any sink's on_event, so every sink reads
     * the same decision in ev->held whatever their order. NULL: it never holds. */
    int (*holds)(void *arg, const struct event *ev);
    /* One event, lent for the call. Every drained event comes, whether this sink wanted it or not. */
    void (*on_event)(void *arg, const struct event *ev);
    /* The lines of its INFO section (the caller writes the "# Name" header). NULL: no section. */
    void (*info)(void *arg, struct sbuf *b);
    /* Finish what is pending, then call done(done_arg) exactly once (it may do so at once). */
    void (*shutdown)(void *arg, void (*done)(void *done_arg), void *done_arg);
    /* Frees everything, once the loop has stopped. */
    void (*destroy)(void *arg);
    /* The configuration changed (CONFIG SET): take from cfg what may change at run time. */
    void (*reconfigure)(void *arg, const struct fc_config *cfg);
    void *arg;
};

struct sink_registry {
    struct sink v[SINKS_MAX];
    int n;
    uint32_t text_mask;              /* channels whose events get their text made (sinks with wants_text) */
    uint32_t fields_mask;            /* channels some sink reads the fields of (not reads_raw) */
    int shut_pending;                /* shutdowns not yet done (+1 while they are being started) */
    void (*shut_done)(void *arg);
    void *shut_arg;
};

/* Adds a copy of sk after the sinks already registered (events reach them in this order).
 * Returns 0, or -1 when SINKS_MAX are registered (nothing changed). Start-up, loop thread. */
int sink_register(struct sink_registry *r, const struct sink *sk);

/* Asks every sink what it wants and publishes the union to capture threads (event_wanted_mask), with
 * which of those some sink reads the fields of (event_fields_mask) or the binary record of
 * (event_raw_mask); notes the channels whose text a sink reads. Call it when a sink's wishes change;
 * the event drain calls it too. Loop thread. */
void sink_wanted_update(struct sink_registry *r);

/* Makes ev's text when a sink reads the text of its channel (event_text_make; out of memory: the text
 * stays NULL and those sinks skip it), sets ev->held from the sinks' holds (only an event with its text
 * can be held), then hands ev to every sink in order (ev stays the caller's);
 * an event made without fields (ev->no_fields) goes only to the sinks that read binary records.
 * Loop thread. */
void sink_deliver(const struct sink_registry *r, struct event *ev);

/* Hands the changed configuration to every sink that takes one. Loop thread. */
void sink_reconfigure_all(const struct sink_registry *r, const struct fc_config *cfg);

/* Writes "# Name\r\n" and the lines of sink i's INFO section. Returns 0, or -1 when it has none. */
int sink_info(const struct sink_registry *r, int i, struct sbuf *b);

/* Shuts every sink down at once; done(arg) is called once all of them are done (possibly before
 * this returns). Call it once. Loop thread. */
void sink_shutdown_all(struct sink_registry *r, void (*done)(void *arg), void *arg);

/* Destroys every sink (after the loop stopped) and empties r. */
void sink_destroy_all(struct sink_registry *r);

#endif
