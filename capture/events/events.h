/* events.h - probe events as data (channel, packet time, typed fields) and their bounded hand-off from capture threads to the loop thread. */
#ifndef FC_EVENTS_H
#define FC_EVENTS_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Channels the probe publishes (KEYSPACE.md). */
enum event_channel {
    EV_FLOW_NEW = 0,
    EV_FLOW_END,
    EV_HOST_NEW,
    EV_DNS,
    EV_HTTP,
    EV_USER_LOGIN,
    EV_USER_LOGOUT,
    EV_ALERT_WATCHLIST,
    EV_KEY_EXPIRED,      /* __keyevent@0__:expired */
    EV_SIP,              /* a SIP call's state changed */
    EV_SNMP,             /* an SNMP transaction (or trap) */
    EV_MAC,              /* a MAC's counters since its previous report (the cloud sums them) */
    EV_CHANNELS
};

/* Channel name of an event kind ("flow.new", ...). */
const char *event_channel_name(enum event_channel ch);

/* What a field holds. A sink that needs text shows each as KEYSPACE.md does. */
enum event_field_type {
    EVF_STR = 0,         /* text (any bytes, NUL-terminated in the blob) */
    EVF_UINT,            /* unsigned integer */
    EVF_INT,             /* signed integer */
    EVF_TIME,            /* microseconds since the epoch, shown as seconds with milliseconds: 1700000000.123 */
};

/* One field. Names and string values live in the event's blob, after its fields. */
struct event_field {
    uint16_t name;       /* offset of the NUL-terminated name in the blob */
    uint8_t type;        /* enum event_field_type */
    uint32_t len;        /* EVF_STR: length of the value */
    union {
        uint64_t u;      /* EVF_UINT, EVF_TIME */
        int64_t i;       /* EVF_INT */
        uint32_t off;    /* EVF_STR: offset of the NUL-terminated value in the blob */
    } v;
};

/*
 * One event, in one allocation: its fields in the order they were added,
 * then the blob of names and strings. Made on a capture thread by an
 * event_builder; owned by whoever holds the pointer (the queue, then the
 * loop thread); freed with event_free.
 */
struct event {
    enum event_channel channel;
    uint16_t nfields;
    uint16_t dropped;        /* fields the builder had no room for */
    uint32_t blob_len;
    uint32_t raw_len;        /* bytes of its binary record (event_raw), 0: none */
    uint8_t no_fields;       /* 1: only the binary record was made (no sink reads the fields) */
    uint8_t held;            /* 1: a sink publishes it on the probe's own channel later, not at once
                                (set by the loop thread's sink_deliver before any sink sees it) */
    uint64_t ts_us;          /* packet time (0: none) */
    const char *probe;       /* the probe's id: set by the loop thread's drain (NULL before), borrowed */
    char *text;              /* its text (JSON, or a key name), made by the loop thread before the sinks see it
                                when one of them reads text (server/core/sink.c); else NULL; freed with it */
    size_t text_len;
    struct event_field f[];  /* nfields, then blob_len bytes, then (8-aligned) raw_len bytes */
};

/* ev's binary records (flow.end: struct flow_end_rec, capture/flow/flow_end_rec.h), each framed
 * by event_raw_frame, *len their size; NULL when it has none. Lent: lives as long as ev. Pure. */
const void *event_raw(const struct event *ev, size_t *len);

/* The framing of one binary record: its length, then the record, 8-aligned, padded to 8. */
enum { EVENT_RAW_HDR = 8 };
static inline size_t event_raw_frame(size_t len) { return EVENT_RAW_HDR + ((len + 7) & ~(size_t)7); }
/* Frames the len-byte record already written at frame + EVENT_RAW_HDR: writes the header and zeroes the
 * padding. Returns the frame's size (event_raw_frame(len)). Pure; any thread. */
size_t event_raw_frame_close(void *frame, size_t len);

/* The next binary record of ev from *off (0 to start), which it advances; *len its length.
 * NULL after the last one (or at a frame that does not fit). Pure; any thread. */
const void *event_raw_next(const struct event *ev, size_t *off, size_t *len);

/* The field named name (first of that name), or NULL. Pure; any thread. */
const struct event_field *event_field_get(const struct event *ev, const char *name);
/* The name of field f of ev. Pure. */
const char *event_field_name(const struct event *ev, const struct event_field *f);
/* The value of an EVF_STR field (NUL-terminated; *len its length when len is
 * not NULL), or NULL for a field of another type. Lent: lives as long as ev. */
const char *event_field_str(const struct event *ev, const struct event_field *f, size_t *len);
/* The string field named name, or NULL when there is none (or it is not a string). */
const char *event_get_str(const struct event *ev, const char *name);
/* 1 and *out when the field named name is an unsigned integer, else 0 (out untouched). */
int event_get_uint(const struct event *ev, const char *name, uint64_t *out);

enum { EVENT_NUM_TEXT_MAX = 24 };    /* a number or a time as text, with its NUL */

/* Field f of ev as text: a string as it is, a number in decimal, a time as
 * seconds with milliseconds (1700000000.123), the last two written into buf.
 * Returns the text (NUL-terminated, *len its length), lent for as long as ev
 * and buf live. Pure; any thread. */
const char *event_field_text(const struct event *ev, const struct event_field *f, char buf[EVENT_NUM_TEXT_MAX],
                             size_t *len);

/* Frees ev and its text. NULL is allowed. The thread that owns ev. */
void event_free(struct event *ev);

/* ---- building (capture threads) ---- */

enum {
    EVENT_FIELDS_MAX = 48,
    EVENT_BLOB_MAX = 8192,   /* names and strings of one event */
};

/*
 * A fixed-capacity builder, meant for the stack: event_build_begin, then
 * event_add_* in the order the fields are to be shown, then event_build_end.
 * A field that does not fit (too many fields, blob full) is dropped and
 * counted in `dropped`, never truncated; building never fails. Not shared
 * between threads.
 */
struct event_builder {
    enum event_channel channel;
    uint64_t ts_us;
    unsigned nfields, blob_len, dropped;
    struct event_field f[EVENT_FIELDS_MAX];
    char blob[EVENT_BLOB_MAX];
};

void event_build_begin(struct event_builder *b, enum event_channel ch, uint64_t ts_us);
void event_add_str(struct event_builder *b, const char *name, const char *s);
void event_add_strn(struct event_builder *b, const char *name, const char *s, size_t len);
void event_add_uint(struct event_builder *b, const char *name, uint64_t v);
void event_add_int(struct event_builder *b, const char *name, int64_t v);
void event_add_time(struct event_builder *b, const char *name, uint64_t us);
/* The event built so far, in one new allocation the caller owns; NULL when
 * memory runs out. b is left as it was. */
struct event *event_build_end(const struct event_builder *b);
/* The same with a binary record of raw_len bytes copied after the fields
 * (raw NULL: none); no_fields marks an event whose fields were not made
 * because no sink reads them (b then holds none). */
struct event *event_build_end_raw(const struct event_builder *b, const void *raw, size_t raw_len, int no_fields);

/* Which channels somebody listens to. Written by the loop thread, read by
 * capture threads (relaxed): a channel nobody wants costs one load. */
extern _Atomic uint32_t event_wanted_mask;

static inline int event_wanted(enum event_channel ch)
{
    return (atomic_load_explicit(&event_wanted_mask, memory_order_relaxed) >> ch) & 1u;
}

/* Of those, the channels some sink reads the typed fields (or text) of, and
 * the channels some sink reads the binary record of (only flow.end has
 * one). Written by the loop thread with event_wanted_mask, read by capture
 * threads: an event gets only what somebody reads. */
extern _Atomic uint32_t event_fields_mask, event_raw_mask;

static inline int event_wants_fields(enum event_channel ch)
{
    return (atomic_load_explicit(&event_fields_mask, memory_order_relaxed) >> ch) & 1u;
}

static inline int event_wants_raw(enum event_channel ch)
{
    return (atomic_load_explicit(&event_raw_mask, memory_order_relaxed) >> ch) & 1u;
}

/* ---- the queue ---- */

/* A bounded single-producer queue (one per capture thread), drained by the
 * loop thread. The mutex is held only to move a pointer. An event wakes the
 * consumer (notify) when no wake-up is pending yet; a batch of binary records
 * (event_queue_batch_*) only once EVENT_BATCH_WAKE of them wait: the consumer
 * also drains on its own timer (the loop's cron), and one wake-up per batch
 * cost the flow export more than its encoding did. */
struct event_queue {
    pthread_mutex_t lock;
    struct event **ring;
    uint32_t cap, head, tail;        /* head: next to pop; tail: next free */
    _Atomic uint64_t pushed, dropped;
    _Atomic uint64_t fields_dropped; /* fields builders had no room for, in events pushed */
    void (*notify)(void *arg);       /* wakes the consumer; called outside the lock */
    void *notify_arg;
    int wake_pending;                /* a notify went since the consumer last emptied the queue (lock) */
    struct event *batch;             /* producer's: binary records not queued yet (event_queue_batch_*) */
    size_t batch_cap;                /* bytes batch has room for after its header */
};

/* Returns 0, or -1 when memory runs out. cap is rounded up to a power of 2. */
int event_queue_init(struct event_queue *q, uint32_t cap);
/* Frees the queue and the events still in it. */
void event_queue_destroy(struct event_queue *q);

/* Hands ev over to the queue (ownership moves). When the queue is full the
 * event is freed and counted in `dropped`; returns -1 then, else 0.
 * Producer thread only. */
int event_queue_push(struct event_queue *q, struct event *ev);

/* Builds b's event and pushes it. An event that cannot be allocated is
 * counted in `dropped`. Returns 0, or -1 when it was dropped. Producer thread. */
int event_queue_push_built(struct event_queue *q, const struct event_builder *b);
/* The same with a binary record (event_build_end_raw). */
int event_queue_push_built_raw(struct event_queue *q, const struct event_builder *b, const void *raw,
                               size_t raw_len, int no_fields);

/*
 * Binary records without fields, gathered into one event per EVENT_BATCH_BYTES
 * (flow.end for sinks that read only records, when no sink reads fields): one
 * allocation and one hand-off for hundreds of records. event_queue_batch_room
 * gives room for a record of up to max bytes in the open batch of channel ch
 * (ts: the packet time, kept from its first record), queuing the open batch
 * first when it is full or of another channel; NULL when memory runs out (the
 * record is then counted as a dropped event). event_queue_batch_commit keeps
 * the len bytes written there. event_queue_batch_flush queues the open batch:
 * the capture thread calls it at each tick and at its end. Producer thread.
 */
enum { EVENT_BATCH_BYTES = 64 * 1024, EVENT_BATCH_WAKE = 4 };
void *event_queue_batch_room(struct event_queue *q, enum event_channel ch, uint64_t ts, size_t max);
void event_queue_batch_commit(struct event_queue *q, size_t len);
void event_queue_batch_flush(struct event_queue *q);

/* Moves up to max events into out (ownership moves to the caller).
 * Returns how many. Consumer thread only: it pops until none is left (the
 * next event then wakes it again), or wakes itself to come back. */
size_t event_queue_pop_many(struct event_queue *q, struct event **out, size_t max);

#endif
