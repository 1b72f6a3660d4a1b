/* export_event.h - a flow.end event (its binary record or its typed fields) as an export record (loop thread). */
#ifndef FC_EXPORT_EVENT_H
#define FC_EXPORT_EVENT_H

#include "capture/events/events.h"
#include "server/export/export_record.h"

/* What the reader remembers from one event to the next: nDPI protocol ids
 * by name (l7_id_by_name scans every name) and what each field name is for
 * (a hash of the names seen). */
#define EXPORT_APP_CACHE 256
#define EXPORT_FIELD_CACHE 128
struct export_app_entry { char name[EXPORT_APP_NAME_MAX + 1]; int id; };
struct export_field_entry { char name[24]; int8_t slot; };
struct export_event_cache {
    struct export_app_entry apps[EXPORT_APP_CACHE];
    struct export_field_entry fields[EXPORT_FIELD_CACHE];
};

/* Fills r from a flow.end event. The record borrows the event's strings:
 * it is valid while ev is. Returns 0, or -1 when ev is another channel or a
 * field the record needs is missing or malformed (r is then unusable).
 * cache (zeroed before first use) belongs to the calling thread. */
int export_record_from_event(const struct event *ev, struct export_record *r, struct export_event_cache *cache);

/* Fills r from a flow.end's binary record (event_raw: raw, len bytes). The
 * record borrows raw's strings. Returns 0, or -1 when raw is too short or
 * malformed (r is then unusable). Pure; any thread. */
int export_record_from_rec(const void *raw, size_t len, struct export_record *r);

#endif
