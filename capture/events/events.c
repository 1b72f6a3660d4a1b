/* events.c - probe events as data: the builder (capture threads), field lookup (any thread holding the event), the bounded queues to the loop thread. */
#include "capture/events/events.h"

#include <stdlib.h>
#include <string.h>

_Atomic uint32_t event_wanted_mask, event_fields_mask, event_raw_mask;

static const char *const channel_names[EV_CHANNELS] = {
    [EV_FLOW_NEW] = "flow.new",
    [EV_FLOW_END] = "flow.end",
    [EV_HOST_NEW] = "host.new",
    [EV_DNS] = "dns",
    [EV_HTTP] = "http",
    [EV_USER_LOGIN] = "user.login",
    [EV_USER_LOGOUT] = "user.logout",
    [EV_ALERT_WATCHLIST] = "alert.watchlist",
    [EV_KEY_EXPIRED] = "__keyevent@0__:expired",
    [EV_SIP] = "sip",
    [EV_SNMP] = "snmp",
    [EV_MAC] = "mac",
};

const char *event_channel_name(enum event_channel ch)
{
    return (unsigned)ch < EV_CHANNELS ? channel_names[ch] : "?";
}

/* ---- fields ---- */

static const char *blob_of(const struct event *ev)
{
    return (const char *)(ev->f + ev->nfields);
}

/* Offset of the binary record from f[]: after the fields and the blob, 8-aligned. */
static size_t raw_offset(size_t nfields, size_t blob_len)
{
    return (nfields * sizeof(struct event_field) + blob_len + 7) & ~(size_t)7;
}

const void *event_raw(const struct event *ev, size_t *len)
{
    if (!ev->raw_len)
        return NULL;
    if (len)
        *len = ev->raw_len;
    return (const char *)ev->f + raw_offset(ev->nfields, ev->blob_len);
}

size_t event_raw_frame_close(void *frame, size_t len)
{
    char *at = frame;
    uint32_t n = (uint32_t)len;
    memcpy(at, &n, sizeof(n));
    memset(at + sizeof(n), 0, EVENT_RAW_HDR - sizeof(n));
    memset(at + EVENT_RAW_HDR + len, 0, event_raw_frame(len) - EVENT_RAW_HDR - len);
    return event_raw_frame(len);
}

const void *event_raw_next(const struct event *ev, size_t *off, size_t *len)
{
    size_t all = 0;
    const char *raw = event_raw(ev, &all);
    uint32_t n;
    if (!raw || *off + EVENT_RAW_HDR > all)
        return NULL;
    memcpy(&n, raw + *off, sizeof(n));
    if (event_raw_frame(n) > all - *off)
        return NULL;
    *len = n;
    const void *rec = raw + *off + EVENT_RAW_HDR;
    *off += event_raw_frame(n);
    return rec;
}

const char *event_field_name(const struct event *ev, const struct event_field *f)
{
    return blob_of(ev) + f->name;
}

const char *event_field_str(const struct event *ev, const struct event_field *f, size_t *len)
{
    if (f->type != EVF_STR)
        return NULL;
    if (len)
        *len = f->len;
    return blob_of(ev) + f->v.off;
}

const struct event_field *event_field_get(const struct event *ev, const char *name)
{
    const char *blob = blob_of(ev);
    for (unsigned i = 0; i < ev->nfields; i++)
        if (strcmp(blob + ev->f[i].name, name) == 0)
            return &ev->f[i];
    return NULL;
}

const char *event_get_str(const struct event *ev, const char *name)
{
    const struct event_field *f = event_field_get(ev, name);
    return f ? event_field_str(ev, f, NULL) : NULL;
}

int event_get_uint(const struct event *ev, const char *name, uint64_t *out)
{
    const struct event_field *f = event_field_get(ev, name);
    if (!f || f->type != EVF_UINT)
        return 0;
    *out = f->v.u;
    return 1;
}

/* The decimal digits of v, written backwards so that they end at end. Returns where they start. */
static char *digits_before(uint64_t v, char *end)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

const char *event_field_text(const struct event *ev, const struct event_field *f, char buf[EVENT_NUM_TEXT_MAX],
                             size_t *len)
{
    char *end = buf + EVENT_NUM_TEXT_MAX - 1, *p;
    *end = '\0';
    switch ((enum event_field_type)f->type) {
    case EVF_STR:
        return event_field_str(ev, f, len);
    case EVF_TIME: {
        uint64_t ms = f->v.u / 1000;
        p = end - 4;
        p[0] = '.';
        p[1] = (char)('0' + ms % 1000 / 100);
        p[2] = (char)('0' + ms % 100 / 10);
        p[3] = (char)('0' + ms % 10);
        p = digits_before(ms / 1000, p);
        break;
    }
    case EVF_INT:
        p = digits_before(f->v.i < 0 ? 0 - (uint64_t)f->v.i : (uint64_t)f->v.i, end);
        if (f->v.i < 0)
            *--p = '-';
        break;
    case EVF_UINT:
    default:
        p = digits_before(f->v.u, end);
        break;
    }
    *len = (size_t)(end - p);
    return p;
}

void event_free(struct event *ev)
{
    if (!ev)
        return;
    free(ev->text);
    free(ev);
}

/* ---- building ---- */

void event_build_begin(struct event_builder *b, enum event_channel ch, uint64_t ts_us)
{
    b->channel = ch;
    b->ts_us = ts_us;
    b->nfields = b->blob_len = b->dropped = 0;
}

/* Copies s (n bytes) and a NUL into the blob. Returns its offset, or -1 when it does not fit. */
static long blob_put(struct event_builder *b, const char *s, size_t n)
{
    if (n >= sizeof(b->blob) - b->blob_len)
        return -1;
    long off = (long)b->blob_len;
    memcpy(b->blob + off, s, n);
    b->blob[off + (long)n] = '\0';
    b->blob_len += (unsigned)n + 1;
    return off;
}

/* A new field named name, or NULL (counted as dropped) when it does not fit. */
static struct event_field *field_add(struct event_builder *b, const char *name, enum event_field_type t)
{
    long off;
    if (b->nfields >= EVENT_FIELDS_MAX || (off = blob_put(b, name, strlen(name))) < 0) {
        b->dropped++;
        return NULL;
    }
    struct event_field *f = &b->f[b->nfields++];
    f->name = (uint16_t)off;
    f->type = (uint8_t)t;
    f->len = 0;
    return f;
}

void event_add_strn(struct event_builder *b, const char *name, const char *s, size_t len)
{
    unsigned mark = b->blob_len;
    struct event_field *f = field_add(b, name, EVF_STR);
    long off;
    if (!f)
        return;
    if ((off = blob_put(b, s, len)) < 0) {          /* the value does not fit: drop the name too */
        b->nfields--;
        b->blob_len = mark;
        b->dropped++;
        return;
    }
    f->len = (uint32_t)len;
    f->v.off = (uint32_t)off;
}

void event_add_str(struct event_builder *b, const char *name, const char *s)
{
    event_add_strn(b, name, s, strlen(s));
}

void event_add_uint(struct event_builder *b, const char *name, uint64_t v)
{
    struct event_field *f = field_add(b, name, EVF_UINT);
    if (f)
        f->v.u = v;
}

void event_add_int(struct event_builder *b, const char *name, int64_t v)
{
    struct event_field *f = field_add(b, name, EVF_INT);
    if (f)
        f->v.i = v;
}

void event_add_time(struct event_builder *b, const char *name, uint64_t us)
{
    struct event_field *f = field_add(b, name, EVF_TIME);
    if (f)
        f->v.u = us;
}

struct event *event_build_end(const struct event_builder *b)
{
    return event_build_end_raw(b, NULL, 0, 0);
}

struct event *event_build_end_raw(const struct event_builder *b, const void *raw, size_t raw_len, int no_fields)
{
    size_t fsize = b->nfields * sizeof(struct event_field);
    size_t roff = raw_offset(b->nfields, b->blob_len);
    if (!raw || raw_len > UINT32_MAX)
        raw_len = 0;
    struct event *ev = malloc(sizeof(*ev) + (raw_len ? roff + raw_len : fsize + b->blob_len));
    if (!ev)
        return NULL;
    ev->raw_len = (uint32_t)raw_len;
    ev->no_fields = (uint8_t)(no_fields != 0);
    ev->held = 0;
    if (raw_len)
        memcpy((char *)ev->f + roff, raw, raw_len);
    ev->channel = b->channel;
    ev->nfields = (uint16_t)b->nfields;
    ev->dropped = (uint16_t)(b->dropped > UINT16_MAX ? UINT16_MAX : b->dropped);
    ev->blob_len = b->blob_len;
    ev->ts_us = b->ts_us;
    ev->probe = NULL;
    ev->text = NULL;
    ev->text_len = 0;
    memcpy(ev->f, b->f, fsize);
    memcpy((char *)ev->f + fsize, b->blob, b->blob_len);
    return ev;
}

/* ---- the queue ---- */

int event_queue_init(struct event_queue *q, uint32_t cap)
{
    uint32_t c = 16;
    while (c < cap)
        c <<= 1;
    memset(q, 0, sizeof(*q));
    q->ring = calloc(c, sizeof(*q->ring));
    if (!q->ring)
        return -1;
    q->cap = c;
    pthread_mutex_init(&q->lock, NULL);
    return 0;
}

void event_queue_destroy(struct event_queue *q)
{
    event_free(q->batch);
    q->batch = NULL;
    if (!q->ring)
        return;
    while (q->head != q->tail)
        event_free(q->ring[q->head++ & (q->cap - 1)]);
    free(q->ring);
    q->ring = NULL;
    pthread_mutex_destroy(&q->lock);
}

/* Queues ev; wakes the consumer when none is pending and wake_at events (or more) wait. */
static int queue_push(struct event_queue *q, struct event *ev, uint32_t wake_at)
{
    int wake = 0, ok;
    pthread_mutex_lock(&q->lock);
    ok = q->tail - q->head < q->cap;
    if (ok) {
        q->ring[q->tail++ & (q->cap - 1)] = ev;
        wake = !q->wake_pending && q->tail - q->head >= wake_at;
        q->wake_pending |= wake;
    }
    pthread_mutex_unlock(&q->lock);
    if (!ok) {
        event_free(ev);
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return -1;
    }
    atomic_fetch_add_explicit(&q->pushed, 1, memory_order_relaxed);
    if (wake && q->notify)
        q->notify(q->notify_arg);
    return 0;
}

int event_queue_push(struct event_queue *q, struct event *ev)
{
    return queue_push(q, ev, 1);
}

int event_queue_push_built(struct event_queue *q, const struct event_builder *b)
{
    return event_queue_push_built_raw(q, b, NULL, 0, 0);
}

int event_queue_push_built_raw(struct event_queue *q, const struct event_builder *b, const void *raw,
                               size_t raw_len, int no_fields)
{
    struct event *ev = event_build_end_raw(b, raw, raw_len, no_fields);
    if (!ev) {
        atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
        return -1;
    }
    if (b->dropped)
        atomic_fetch_add_explicit(&q->fields_dropped, b->dropped, memory_order_relaxed);
    return event_queue_push(q, ev);
}

/* ---- batched binary records ---- */

void event_queue_batch_flush(struct event_queue *q)
{
    struct event *ev = q->batch;
    if (!ev)
        return;
    q->batch = NULL;
    queue_push(q, ev, EVENT_BATCH_WAKE);
}

void *event_queue_batch_room(struct event_queue *q, enum event_channel ch, uint64_t ts, size_t max)
{
    size_t need = event_raw_frame(max);
    if (q->batch && (q->batch->channel != ch || q->batch->raw_len + need > q->batch_cap))
        event_queue_batch_flush(q);
    if (!q->batch) {
        size_t cap = need > EVENT_BATCH_BYTES ? need : EVENT_BATCH_BYTES;
        struct event *ev = malloc(sizeof(*ev) + cap);
        if (!ev) {
            atomic_fetch_add_explicit(&q->dropped, 1, memory_order_relaxed);
            return NULL;
        }
        memset(ev, 0, sizeof(*ev));
        ev->channel = ch;
        ev->ts_us = ts;
        ev->no_fields = 1;           /* nfields 0, blob 0: the records start at f */
        q->batch = ev;
        q->batch_cap = cap;
    }
    return (char *)q->batch->f + q->batch->raw_len + EVENT_RAW_HDR;
}

void event_queue_batch_commit(struct event_queue *q, size_t len)
{
    q->batch->raw_len += (uint32_t)event_raw_frame_close((char *)q->batch->f + q->batch->raw_len, len);
}

size_t event_queue_pop_many(struct event_queue *q, struct event **out, size_t max)
{
    size_t n = 0;
    pthread_mutex_lock(&q->lock);
    while (n < max && q->head != q->tail)
        out[n++] = q->ring[q->head++ & (q->cap - 1)];
    if (q->head == q->tail)
        q->wake_pending = 0;         /* empty: the next event wakes the consumer */
    pthread_mutex_unlock(&q->lock);
    return n;
}
