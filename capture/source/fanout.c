/* fanout.c - one source's packets spread over worker threads through lock-free rings, and the lane hash the kernel runs too (reader and worker threads). */
#include "capture/source/fanout.h"

#include <linux/filter.h>
#include <linux/if_ether.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "capture/cache/cache.h"
#include "capture/decode/decode.h"
#include "server/log/log.h"

enum { RING_BYTES = 16 << 20, IDLE_SLEEP_NS = 50000, FULL_SLEEP_NS = 20000, TICK_US = 100000 };
/* A reader waiting for a chunk sleeps this long between looks: the lanes
 * still hold the other chunks' frames, milliseconds of work, so a longer
 * sleep costs them nothing and saves the reader hundreds of wake-ups a
 * chunk. Draining at the end of a file looks every FULL_SLEEP_NS. */
enum { CHUNK_SLEEP_NS = 500000 };
#define REC_WRAP UINT32_MAX

/* A frame in a ring: this header, then caplen bytes, padded to 8; or, for
 * a frame pushed by reference (fanout_push_ref), this header alone, with
 * ref pointing at the frame in the reader's buffer. */
struct rec {
    uint64_t ts;
    uint32_t caplen, wirelen;
    int32_t dlt;
    uint32_t pad;
    const uint8_t *ref;              /* NULL: the bytes follow the header */
};

/* Single-producer single-consumer byte ring. Its positions (bytes ever
 * consumed, bytes ever produced) and the time of the last packet taken live
 * in a cache queue slot, where expiry reads them (capture/cache.h). */
struct ring {
    uint8_t *buf;
    struct cache_queue *q;           /* registered slot, or the lane's own when all are taken */
    size_t head_seen;                /* producer's copy of q->head as last loaded: the room it
                                        shows is free for sure, so the consumer's cache line is
                                        read only when the ring looks full */
};

struct lane {
    struct fanout *fan;
    struct worker *w;
    int index;
    struct ring r;
    struct cache_queue own;          /* unregistered fallback: expiry then ignores this lane */
    pthread_mutex_t push_lock;       /* fanout_forward: several workers produce into this ring */
    int wake_fd;                     /* fed lanes: eventfd written when a frame is queued to a sleeper */
    _Atomic int sleeping;            /* fed lane waiting in its feed: producers wake it */
    pthread_t thread;
    int started;
};

struct fanout {
    struct lane *lanes;
    int n;
    int wall_clock;
    struct fanout_feed feed;         /* read == NULL: the lanes take frames from their rings only */
    _Atomic int done;                /* producer finished: drain and exit */
    size_t *marks;                   /* [FANOUT_CHUNKS][n]: each lane's tail after the last frame
                                        pushed by reference from reader chunk c (fanout_chunk_switch);
                                        the reader's thread only */
};

/* fanout_lane_prog's program computes the lane hash (fanout_lane.c) from the same words: the
 * addresses as 32-bit big-endian words XORed together, then one multiply and a fold. */
int fanout_lane_prog(struct sock_filter *prog, int max)
{
    enum { NET = SKF_NET_OFF, LOOP = 3 * 7, MIX = 5 };   /* LOOP: IPv6 words 1..7; MIX: up to ret a */
    /* A = skb->protocol: IPv4 XORs 2 words at the network header + 12, IPv6 8 words at + 8 */
    struct sock_filter head[] = {
        BPF_STMT(BPF_LD | BPF_H | BPF_ABS, SKF_AD_OFF + SKF_AD_PROTOCOL),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IP, 0, 5),       /* else the IPv6 test */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET + 12),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET + 16),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_JUMP(BPF_JMP | BPF_JA, 2 + LOOP, 0, 0),        /* to the mix */
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, ETH_P_IPV6, 0, 1 + LOOP + MIX),  /* else ret 0 */
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, NET + 8),
    };
    struct sock_filter tail[] = {
        BPF_STMT(BPF_ALU | BPF_MUL | BPF_K, 0x9E3779B1u),
        BPF_STMT(BPF_MISC | BPF_TAX, 0),
        BPF_STMT(BPF_ALU | BPF_RSH | BPF_K, 16),
        BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0),
        BPF_STMT(BPF_RET | BPF_A, 0),   /* the kernel takes it modulo the sockets in the group */
        BPF_STMT(BPF_RET | BPF_K, 0),   /* not IP: the first socket */
    };
    int n = 0, nh = (int)(sizeof(head) / sizeof(head[0])), nt = (int)(sizeof(tail) / sizeof(tail[0]));
    if (max < nh + LOOP + nt)
        return -1;
    for (int i = 0; i < nh; i++)
        prog[n++] = head[i];
    for (int k = 1; k < 8; k++) {   /* A ^= word k of the IPv6 source and destination */
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_MISC | BPF_TAX, 0);
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(NET + 8 + 4 * k));
        prog[n++] = (struct sock_filter)BPF_STMT(BPF_ALU | BPF_XOR | BPF_X, 0);
    }
    for (int i = 0; i < nt; i++)
        prog[n++] = tail[i];
    return n;
}

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

/* The ring bytes record h takes, at offset pos, and where its frame is. */
static size_t rec_bytes(const struct rec *h)
{
    return h->ref ? sizeof(*h) : rec_size(h->caplen);
}

static const uint8_t *rec_data(const struct lane *l, const struct rec *h, size_t pos)
{
    return h->ref ? h->ref : l->r.buf + pos + sizeof(*h);
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
        size_t next = ring_record(l, head + rec_bytes(&h), tail, &nh, &npos);
        int next_have = next != tail;
        if (next_have)
            worker_peek(l->w, &ahead[!cur], nh.dlt, rec_data(l, &nh, npos), nh.caplen);
        if (have)
            worker_packet_ahead(l->w, h.ts, &ahead[cur], h.wirelen);
        else
            worker_packet(l->w, h.ts, h.dlt, rec_data(l, &h, pos), h.caplen, h.wirelen);
        frames++;
        /* release: the frame is done with, here and in the reader's chunk
         * a reference points into (fanout_chunk_switch reads this) */
        atomic_store_explicit(&q->head, head + rec_bytes(&h), memory_order_release);
        head = next;
        h = nh;
        pos = npos;
        cur = !cur;
        have = next_have;
    }
    atomic_store_explicit(&q->head, head, memory_order_release);
    return frames;
}

/* A fed lane with nothing to do: tells producers it sleeps, then lets its
 * feed wait (at most wait_ms) on the source and on the wake-up descriptor,
 * unless a frame came meanwhile. */
static void lane_wait(struct lane *l, int wait_ms)
{
    atomic_store(&l->sleeping, 1);   /* seq_cst, then the tail: see fanout_forward */
    if (atomic_load(&l->r.q->tail) == atomic_load(&l->r.q->head) && !atomic_load(&l->fan->done))
        l->fan->feed.read(l->fan->feed.arg, l->fan, l->index, l->wake_fd, wait_ms);
    atomic_store(&l->sleeping, 0);
    uint64_t v;
    if (read(l->wake_fd, &v, sizeof(v)) < 0) {
        /* nothing was written: EAGAIN */
    }
}

static void *lane_thread(void *arg)
{
    struct lane *l = arg;
    const struct fanout_feed *feed = &l->fan->feed;
    uint64_t last_tick = wall_now_us();
    for (;;) {
        size_t got = lane_drain(l);
        if (feed->read)
            got += (size_t)feed->read(feed->arg, l->fan, l->index, l->wake_fd, 0);
        if (got > 0)
            continue;
        if (atomic_load_explicit(&l->fan->done, memory_order_acquire)) {
            lane_drain(l);           /* what came between the check and done */
            break;
        }
        uint64_t now = wall_now_us();
        if (feed->read)
            lane_wait(l, now - last_tick >= TICK_US ? 1 : (int)((TICK_US - (now - last_tick)) / 1000) + 1);
        else
            nap(IDLE_SLEEP_NS);
        if (l->fan->wall_clock) {
            now = wall_now_us();
            if (now - last_tick >= TICK_US) {
                worker_tick(l->w, now);
                last_tick = now;
            }
        }
    }
    worker_publish_stats(l->w);
    budget_thread_return(&l->w->cache->budget);   /* this thread's unspent credit */
    return NULL;
}

struct cache_queue *fanout_queue_join(struct worker *w, const void *group, struct cache_queue *own, int i)
{
    struct cache_queue *q = cache_queue_add(w->cache, group);
    if (q) {
        w->group = group;            /* before its thread starts */
        return q;
    }
    log_msg(LL_WARNING, "over %d capture threads in all: expiry does not wait for this "
            "source's thread %d (results may depend on the thread count)", CACHE_QUEUES, i + 1);
    return own;
}

void fanout_queue_leave(struct worker *w, struct cache_queue *q, struct cache_queue *own)
{
    if (q == own)
        return;
    w->group = NULL;
    cache_queue_drop(w->cache, q);
}

/* Sets lane i up (its ring, queue slot and eventfd); fanout_start_fed starts the threads once every
 * lane is set up. Returns 0, or -1 (what was made is freed by fanout_finish). */
static int lane_init(struct fanout *f, int i, struct worker *w)
{
    struct lane *l = &f->lanes[i];
    l->fan = f;
    l->w = w;
    l->index = i;
    l->wake_fd = -1;
    pthread_mutex_init(&l->push_lock, NULL);
    l->r.q = fanout_queue_join(w, f, &l->own, i);
    l->r.buf = malloc(RING_BYTES);
    if (f->feed.read && (l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0)
        return -1;
    return l->r.buf ? 0 : -1;
}

struct fanout *fanout_start_fed(struct worker *workers, int n, int wall_clock, const struct fanout_feed *feed)
{
    struct fanout *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->lanes = calloc((size_t)n, sizeof(*f->lanes));
    f->marks = calloc((size_t)n * FANOUT_CHUNKS, sizeof(*f->marks));
    f->n = n;
    f->wall_clock = wall_clock;
    if (feed)
        f->feed = *feed;
    if (!f->lanes || !f->marks) {
        free(f->lanes);
        free(f->marks);
        free(f);
        return NULL;
    }
    /* every lane's ring, lock and eventfd exist before any lane's thread runs: a fed lane hands
     * frames to the others (fanout_forward) from its first packet on */
    for (int i = 0; i < n; i++)
        if (lane_init(f, i, &workers[i]) != 0) {
            f->n = i + 1;
            fanout_finish(f);
            return NULL;
        }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&f->lanes[i].thread, NULL, lane_thread, &f->lanes[i]) != 0) {
            fanout_finish(f);
            return NULL;
        }
        f->lanes[i].started = 1;
    }
    return f;
}

struct fanout *fanout_start(struct worker *workers, int n, int wall_clock)
{
    return fanout_start_fed(workers, n, wall_clock, NULL);
}

/* Waits until the ring has `need` free bytes; returns -1 when stopping, or
 * at once when it has not (stop NULL: never waits). */
static int ring_wait(struct ring *r, size_t tail, size_t need, _Atomic int *stop)
{
    while (RING_BYTES - (tail - r->head_seen) < need) {
        /* acquire: the consumer is done with the bytes before head */
        r->head_seen = atomic_load_explicit(&r->q->head, memory_order_acquire);
        if (RING_BYTES - (tail - r->head_seen) >= need)
            break;
        if (!stop || atomic_load_explicit(stop, memory_order_relaxed))
            return -1;
        nap(FULL_SLEEP_NS);
    }
    return 0;
}

static int lane_of(const struct fanout *f, int dlt, const uint8_t *data, uint32_t caplen)
{
    return fanout_frame_lane(dlt, data, caplen, f->n);
}

/* Queues one record on r: a copy of the frame, or (ref) its address alone.
 * Returns 0, or -1 when it did not wait for room (stop NULL) or was asked to
 * stop: the frame is not queued. */
static int ring_put(struct ring *r, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                    uint32_t wirelen, int ref, _Atomic int *stop)
{
    size_t need = ref ? sizeof(struct rec) : rec_size(caplen);
    size_t tail = atomic_load_explicit(&r->q->tail, memory_order_relaxed);
    size_t pos = tail % RING_BYTES, rem = RING_BYTES - pos;
    if (rem < need) {                /* no room before the end: skip to the start */
        if (ring_wait(r, tail, rem, stop) != 0)
            return -1;
        if (rem >= sizeof(struct rec)) {
            struct rec wrap = { 0, REC_WRAP, 0, 0, 0, NULL };
            memcpy(r->buf + pos, &wrap, sizeof(wrap));
        }
        tail += rem;
        atomic_store_explicit(&r->q->tail, tail, memory_order_release);
        pos = 0;
    }
    if (ring_wait(r, tail, need, stop) != 0)
        return -1;
    struct rec h = { ts, caplen, wirelen, dlt, 0, ref ? data : NULL };
    memcpy(r->buf + pos, &h, sizeof(h));
    if (!ref)
        memcpy(r->buf + pos + sizeof(h), data, caplen);
    atomic_store_explicit(&r->q->tail, tail + need, memory_order_release);
    return 0;
}

void fanout_push(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, _Atomic int *stop)
{
    ring_put(&f->lanes[lane_of(f, dlt, data, caplen)].r, ts, dlt, data, caplen, wirelen, 0, stop);
}

void fanout_push_ref(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen, _Atomic int *stop)
{
    ring_put(&f->lanes[lane_of(f, dlt, data, caplen)].r, ts, dlt, data, caplen, wirelen, 1, stop);
}

/* Waits until every lane has taken everything before marks[lane] (each
 * lane's ring position). Returns 0, or -1 when *stop is set first (stop
 * NULL: waits to the end). */
static int lanes_pass(struct fanout *f, const size_t *marks, _Atomic int *stop)
{
    for (int i = 0; i < f->n; i++)
        while (atomic_load_explicit(&f->lanes[i].r.q->head, memory_order_acquire) < marks[i]) {
            if (stop && atomic_load_explicit(stop, memory_order_relaxed))
                return -1;
            nap(stop ? CHUNK_SLEEP_NS : FULL_SLEEP_NS);
        }
    return 0;
}

int fanout_chunk_switch(struct fanout *f, int done, int next, _Atomic int *stop)
{
    for (int i = 0; i < f->n; i++)
        f->marks[(size_t)done * (size_t)f->n + (size_t)i] =
            atomic_load_explicit(&f->lanes[i].r.q->tail, memory_order_relaxed);
    return lanes_pass(f, f->marks + (size_t)next * (size_t)f->n, stop);
}

void fanout_chunks_release(struct fanout *f)
{
    size_t *now = f->marks;          /* chunk 0's row, reused: every row is cleared below */
    for (int i = 0; i < f->n; i++)
        now[i] = atomic_load_explicit(&f->lanes[i].r.q->tail, memory_order_relaxed);
    lanes_pass(f, now, NULL);
    memset(f->marks, 0, (size_t)f->n * FANOUT_CHUNKS * sizeof(*f->marks));
}

int fanout_forward(struct fanout *f, int lane, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen)
{
    struct lane *l = &f->lanes[lane];
    pthread_mutex_lock(&l->push_lock);
    int rc = ring_put(&l->r, ts, dlt, data, caplen, wirelen, 0, NULL);
    pthread_mutex_unlock(&l->push_lock);
    /* A seq_cst read-modify-write of the tail, then the flag; the lane stores
     * the flag, then reads the tail (seq_cst): one of them sees the other. */
    atomic_fetch_add(&l->r.q->tail, 0);
    if (rc == 0 && l->wake_fd >= 0 && atomic_load(&l->sleeping)) {
        uint64_t one = 1;
        if (write(l->wake_fd, &one, sizeof(one)) < 0) {
            /* the counter is already set: the lane wakes anyway */
        }
    }
    return rc;
}

void fanout_finish(struct fanout *f)
{
    if (!f)
        return;
    atomic_store_explicit(&f->done, 1, memory_order_release);
    for (int i = 0; f->lanes && i < f->n; i++) {
        struct lane *l = &f->lanes[i];
        uint64_t one = 1;
        if (l->wake_fd >= 0 && write(l->wake_fd, &one, sizeof(one)) < 0) {
            /* already set */
        }
    }
    for (int i = 0; f->lanes && i < f->n; i++) {
        struct lane *l = &f->lanes[i];
        if (l->started)
            pthread_join(l->thread, NULL);
        if (l->r.q)
            fanout_queue_leave(l->w, l->r.q, &l->own);
        if (l->wake_fd >= 0)
            close(l->wake_fd);
        if (l->fan)
            pthread_mutex_destroy(&l->push_lock);
        free(l->r.buf);
    }
    free(f->lanes);
    free(f->marks);
    free(f);
}
