/* fanout.c - one source's packets spread over worker threads through lock-free single-producer rings (reader and worker threads). */
#include "capture/source/fanout.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/cache/cache.h"
#include "capture/decode/decode.h"
#include "server/log/log.h"

enum { RING_BYTES = 16 << 20, IDLE_SLEEP_NS = 50000, FULL_SLEEP_NS = 20000, TICK_US = 100000 };
#define REC_WRAP UINT32_MAX

/* A frame in a ring: this header, then caplen bytes, padded to 8. */
struct rec {
    uint64_t ts;
    uint32_t caplen, wirelen;
    int32_t dlt;
    uint32_t pad;
};

/* Single-producer single-consumer byte ring. Its positions (bytes ever
 * consumed, bytes ever produced) and the time of the last packet taken live
 * in a cache queue slot, where expiry reads them (capture/cache.h). */
struct ring {
    uint8_t *buf;
    struct cache_queue *q;           /* registered slot, or the lane's own when all are taken */
};

struct lane {
    struct fanout *fan;
    struct worker *w;
    struct ring r;
    struct cache_queue own;          /* unregistered fallback: expiry then ignores this lane */
    pthread_t thread;
    int started;
};

struct fanout {
    struct lane *lanes;
    int n;
    int wall_clock;
    _Atomic int done;                /* producer finished: drain and exit */
};

static uint64_t wall_now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

static void nap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

static size_t rec_size(uint32_t caplen)
{
    return (sizeof(struct rec) + caplen + 7) & ~(size_t)7;
}

/* The first record at or after head (past wrap markers) before tail: its
 * header in *h, its offset in the ring in *pos. Returns its position, or
 * tail when there is none. */
static size_t ring_record(const struct lane *l, size_t head, size_t tail, struct rec *h, size_t *pos)
{
    while (head != tail) {
        size_t at = head % RING_BYTES, rem = RING_BYTES - at;
        if (rem >= sizeof(struct rec)) {
            memcpy(h, l->r.buf + at, sizeof(*h));
            if (h->caplen != REC_WRAP) {
                *pos = at;
                return head;
            }
        }
        head += rem;
    }
    return tail;
}

/* Consumes every record available; returns how many frames were handled.
 * Each record's successor is decoded ahead (worker_peek) while the record
 * is handled: both stay in the ring until head passes them. */
static size_t lane_drain(struct lane *l)
{
    struct cache_queue *q = l->r.q;
    size_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
    size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
    uint64_t clock = atomic_load_explicit(&q->clock, memory_order_relaxed);
    size_t frames = 0, pos = 0, npos = 0;
    struct rec h, nh = { 0 };          /* nh: copied into h once more at the end */
    struct worker_ahead ahead[2];
    int cur = 0, have = 0;
    head = ring_record(l, head, tail, &h, &pos);
    while (head != tail) {
        if (h.ts > clock) {          /* before the packet: expiry stays behind it */
            clock = h.ts;
            atomic_store_explicit(&q->clock, clock, memory_order_relaxed);
        }
        size_t next = ring_record(l, head + rec_size(h.caplen), tail, &nh, &npos);
        int next_have = next != tail;
        if (next_have)
            worker_peek(l->w, &ahead[!cur], nh.dlt, l->r.buf + npos + sizeof(nh), nh.caplen);
        if (have)
            worker_packet_ahead(l->w, h.ts, &ahead[cur], h.wirelen);
        else
            worker_packet(l->w, h.ts, h.dlt, l->r.buf + pos + sizeof(h), h.caplen, h.wirelen);
        frames++;
        atomic_store_explicit(&q->head, head + rec_size(h.caplen), memory_order_release);
        head = next;
        h = nh;
        pos = npos;
        cur = !cur;
        have = next_have;
    }
    atomic_store_explicit(&q->head, head, memory_order_release);
    return frames;
}

static void *lane_thread(void *arg)
{
    struct lane *l = arg;
    uint64_t last_tick = wall_now_us();
    for (;;) {
        if (lane_drain(l) > 0)
            continue;
        if (atomic_load_explicit(&l->fan->done, memory_order_acquire)) {
            lane_drain(l);           /* what came between the check and done */
            break;
        }
        nap(IDLE_SLEEP_NS);
        if (l->fan->wall_clock) {
            uint64_t now = wall_now_us();
            if (now - last_tick >= TICK_US) {
                worker_tick(l->w, now);
                last_tick = now;
            }
        }
    }
    worker_publish_stats(l->w);
    return NULL;
}

struct fanout *fanout_start(struct worker *workers, int n, int wall_clock)
{
    struct fanout *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->lanes = calloc((size_t)n, sizeof(*f->lanes));
    f->n = n;
    f->wall_clock = wall_clock;
    for (int i = 0; f->lanes && i < n; i++) {
        struct lane *l = &f->lanes[i];
        l->fan = f;
        l->w = &workers[i];
        l->r.q = cache_queue_add(workers[i].cache, f);
        if (l->r.q) {
            workers[i].group = f;    /* before its thread starts */
        } else {
            l->r.q = &l->own;
            log_msg(LL_WARNING, "over %d capture threads in all: expiry does not wait for this "
                    "source's thread %d (results may depend on the thread count)", CACHE_QUEUES, i + 1);
        }
        l->r.buf = malloc(RING_BYTES);
        if (!l->r.buf || pthread_create(&l->thread, NULL, lane_thread, l) != 0) {
            fanout_finish(f);
            return NULL;
        }
        l->started = 1;
    }
    if (!f->lanes) {
        free(f);
        return NULL;
    }
    return f;
}

/* Waits until the ring has `need` free bytes; returns -1 when stopping. */
static int ring_wait(struct ring *r, size_t tail, size_t need, _Atomic int *stop)
{
    while (RING_BYTES - (tail - atomic_load_explicit(&r->q->head, memory_order_acquire)) < need) {
        if (stop && atomic_load_explicit(stop, memory_order_relaxed))
            return -1;
        nap(FULL_SLEEP_NS);
    }
    return 0;
}

static int lane_of(const struct fanout *f, int dlt, const uint8_t *data, uint32_t caplen)
{
    struct decoded_pkt p;
    if (f->n == 1 || decode_packet(dlt, data, caplen, &p, NULL) != DEC_OK)
        return 0;
    uint64_t h = host_key_hash(p.ip_version, p.src) ^ host_key_hash(p.ip_version, p.dst);
    return (int)((h >> 17) % (uint64_t)f->n);
}

void fanout_push(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, _Atomic int *stop)
{
    struct ring *r = &f->lanes[lane_of(f, dlt, data, caplen)].r;
    size_t need = rec_size(caplen);
    size_t tail = atomic_load_explicit(&r->q->tail, memory_order_relaxed);
    size_t pos = tail % RING_BYTES, rem = RING_BYTES - pos;
    if (rem < need) {                /* no room before the end: skip to the start */
        if (ring_wait(r, tail, rem, stop) != 0)
            return;                  /* shutting down */
        if (rem >= sizeof(struct rec)) {
            struct rec wrap = { 0, REC_WRAP, 0, 0, 0 };
            memcpy(r->buf + pos, &wrap, sizeof(wrap));
        }
        tail += rem;
        atomic_store_explicit(&r->q->tail, tail, memory_order_release);
        pos = 0;
    }
    if (ring_wait(r, tail, need, stop) != 0)
        return;
    struct rec h = { ts, caplen, wirelen, dlt, 0 };
    memcpy(r->buf + pos, &h, sizeof(h));
    memcpy(r->buf + pos + sizeof(h), data, caplen);
    atomic_store_explicit(&r->q->tail, tail + need, memory_order_release);
}

void fanout_finish(struct fanout *f)
{
    if (!f)
        return;
    atomic_store_explicit(&f->done, 1, memory_order_release);
    for (int i = 0; f->lanes && i < f->n; i++) {
        if (f->lanes[i].started)
            pthread_join(f->lanes[i].thread, NULL);
        if (f->lanes[i].r.q && f->lanes[i].r.q != &f->lanes[i].own) {
            f->lanes[i].w->group = NULL;
            cache_queue_drop(f->lanes[i].w->cache, f->lanes[i].r.q);
        }
        free(f->lanes[i].r.buf);
    }
    free(f->lanes);
    free(f);
}
