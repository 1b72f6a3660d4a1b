/* flow_expiry.c - a capture thread's sweeps: ends flows that timed out, expires idle hosts and MACs (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <stdlib.h>

#include "capture/cache/names.h"
#include "capture/flow/flow_events.h"

enum { SWEEP_EVERY_US = 100000, SWEEP_BATCH = 256, SWEEP_STALE_US = 3 * SWEEP_EVERY_US };

/* How far a sweep looks: from the idle end of each list up to the first
 * entry still alive (every tick: with one worker the lists are in time
 * order), through whole lists (several workers touch entries only roughly in
 * time order: at the end of a file nothing due may stay), or everything
 * (shutdown). */
enum sweep_mode { SWEEP_DUE, SWEEP_DUE_FULL, SWEEP_ALL };

/* Unlinks up to SWEEP_BATCH expired flows (SWEEP_ALL: any) from the idle
 * end of one shard's lists into out. */
static size_t flows_collect_expired(struct cache *c, struct cache_shard *s, uint64_t now,
                                    int all, struct flow **out)
{
    size_t n = 0;
    lock_acquire(&s->lock);
    while (n < SWEEP_BATCH && s->closed_head &&
           (all || flow_expire_at(&c->cfg, (struct flow *)s->closed_head) <= now)) {
        struct flow *f = (struct flow *)s->closed_head;
        shard_unlink(s, &f->link, 1);
        out[n++] = f;
    }
    while (n < SWEEP_BATCH && s->lru_head &&
           (all || flow_expire_at(&c->cfg, (struct flow *)s->lru_head) <= now)) {
        struct flow *f = (struct flow *)s->lru_head;
        struct centry *next = f->link.lnext;
        if (next) {                  /* the next candidate and the bucket it unlinks from */
            __builtin_prefetch(next->lnext);
            __builtin_prefetch(&s->buckets[cache_bucket_of(s, next->hash)]);
        }
        shard_unlink(s, &f->link, 0);
        out[n++] = f;
    }
    lock_release(&s->lock);
    return n;
}

/* Unlinks every expired flow of one shard, wherever it sits in its list;
 * returns them chained through link.lnext, in list order. */
static struct flow *flows_collect_due_full(struct cache *c, struct cache_shard *s, uint64_t now)
{
    struct centry *first = NULL, **last = &first;
    lock_acquire(&s->lock);
    for (int closed = 1; closed >= 0; closed--) {
        struct centry *next;
        for (struct centry *e = closed ? s->closed_head : s->lru_head; e; e = next) {
            next = e->lnext;
            if (flow_expire_at(&c->cfg, (struct flow *)e) <= now) {
                shard_unlink(s, e, closed);
                *last = e;
                last = &e->lnext;
            }
        }
    }
    lock_release(&s->lock);
    return (struct flow *)first;
}

/* 1 when a tick's sweep (up to `now`) leaves flow shard i to another worker: with several capture
 * threads a tick sweeps the shards of its own lane (cache_flow_hash: each worker ends its own
 * flows, and no other lane's lock or list moves to its core), and another lane's only once nobody
 * has swept it for SWEEP_STALE_US (that lane's worker has had no packet since: a quiet lane of a
 * file, a source that ended) or while the cache is full of flows. */
static int sweep_leaves(const struct worker *w, int i, uint64_t now)
{
    const struct cache *c = w->cache;
    if (!((uint64_t)(i ^ w->lane) & c->flow_lane_mask))
        return 0;
    uint64_t swept = atomic_load_explicit(&c->flows[i].swept_us, memory_order_relaxed);
    return swept + SWEEP_STALE_US > now && !cache_flows_full(c);
}

/* What a sweep calls after each batch of ended flows, when its caller also
 * consumes the worker's event queue (NULL fn: nothing). */
struct sweep_drain {
    void (*fn)(void *arg);
    void *arg;
};

/* The flow shards a sweep takes (SWEEP_DUE then leaves some to other lanes): shard i when
 * i % n == k (worker_end_part); every shard with { 0, 1 }. */
struct sweep_part {
    int k, n;
};

static const struct sweep_part SWEEP_EVERY_SHARD = { 0, 1 };

/* Why f ends in a sweep up to now: its own reason when it was due by then; at a forced end
 * (all: shutdown, the end of a file) a flow not yet due ends as "shutdown". A flow already due
 * keeps its own reason there too, so the reason does not depend on whether a tick came first. */
static enum flow_end_reason sweep_reason(const struct cache_config *cfg, const struct flow *f, uint64_t now, int all)
{
    return all && flow_expire_at(cfg, f) > now ? FLOW_END_SHUTDOWN : flow_end_reason_of(cfg, f);
}

static void flows_sweep(struct worker *w, uint64_t now, enum sweep_mode mode, const struct sweep_drain *d,
                        const struct sweep_part *part)
{
    struct flow *batch[SWEEP_BATCH];
    for (int i = part->k; i < CACHE_SHARDS; i += part->n) {
        if (mode == SWEEP_DUE && sweep_leaves(w, i, now))
            continue;
        atomic_store_explicit(&w->cache->flows[i].swept_us, now, memory_order_relaxed);
        if (mode == SWEEP_DUE_FULL) {
            for (struct flow *f = flows_collect_due_full(w->cache, &w->cache->flows[i], now), *next; f; f = next) {
                next = (struct flow *)f->link.lnext;
                f->link.lnext = NULL;
                flow_end(w, f, flow_end_reason_of(&w->cache->cfg, f));
            }
            continue;
        }
        size_t n;
        do {
            n = flows_collect_expired(w->cache, &w->cache->flows[i], now, mode == SWEEP_ALL, batch);
            for (size_t j = 0; j < n; j++) {
                if (j + 2 < n) {     /* flow_end reads their hosts and dissector fields: start loading them */
                    const char *ext = (const char *)batch[j + 2]->ext;
                    __builtin_prefetch(batch[j + 2]->hosts[0]);
                    __builtin_prefetch(batch[j + 2]->hosts[1]);
                    if (ext) {       /* its header, then the strings after it (flow.end's record copies them) */
                        __builtin_prefetch(ext);
                        __builtin_prefetch(ext + 64);
                    }
                }
                flow_end(w, batch[j], sweep_reason(&w->cache->cfg, batch[j], now, mode == SWEEP_ALL));
            }
            if (n && d->fn) {
                event_queue_batch_flush(&w->events);
                d->fn(d->arg);
            }
        } while (n == SWEEP_BATCH);
    }
}

static void hosts_sweep(struct worker *w, uint64_t now, int full)
{
    struct cache *c = w->cache;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        struct cache_shard *s = &c->hosts[i];
        lock_acquire(&s->lock);
        struct centry *e = s->lru_head, *next;
        for (uint32_t seen = 0, limit = s->count; e && seen < limit; seen++, e = next) {
            struct host *h = (struct host *)e;
            next = e->lnext;
            if (host_expire_at(&c->cfg, h) > now) {
                if (!full)
                    break;
                continue;
            }
            if (host_held(h)) {
                shard_touch(s, &h->link);    /* kept alive by its flows or a worker's pending counts */
                continue;
            }
            shard_unlink(s, &h->link, 0);
            flow_events_host_expired(&w->events, h->ipver, h->addr, now);   /* safe under a shard lock */
            host_clear(c, h);
            pool_free(&c->host_pool, h);
            cache_count(c, w->id, CC_HOSTS_EXPIRED);
        }
        lock_release(&s->lock);
    }
}

static void macs_sweep(struct worker *w, uint64_t now, int full)
{
    struct cache *c = w->cache;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        struct cache_shard *s = &c->macs[i];
        lock_acquire(&s->lock);
        struct centry *next;
        for (struct centry *e = s->lru_head; e; e = next) {
            next = e->lnext;
            if (mac_expire_at(&c->cfg, (struct mac_entry *)e) > now) {
                if (!full)
                    break;
                continue;
            }
            if (((struct mac_entry *)e)->dirty)
                mac_report(w, (struct mac_entry *)e, now);     /* its last counts */
            shard_unlink(s, e, 0);
            free(e);
            budget_release(&c->budget, sizeof(struct mac_entry));
        }
        lock_release(&s->lock);
    }
}

/* Expires the hosts, MACs and names due by until, then publishes w's counters. */
static void sweep_shared(struct worker *w, uint64_t until, int full)
{
    hosts_sweep(w, until, full);
    macs_report(w, until, full);
    macs_sweep(w, until, full);
    names_sweep(w->cache, until, full);
    worker_publish_stats(w);
}

/* Expires what is due, up to the last packet of every lane that still holds
 * packets (cache_expiry_now). */
static void sweep(struct worker *w, int full)
{
    uint64_t until = cache_expiry_now(w->cache, w->group);
    worker_fold(w);                  /* first: the sweeps below read what it adds */
    flows_sweep(w, until, full ? SWEEP_DUE_FULL : SWEEP_DUE, &(struct sweep_drain){ 0 }, &SWEEP_EVERY_SHARD);
    sweep_shared(w, until, full);
}

void worker_tick(struct worker *w, uint64_t now)
{
    if (now > w->now_us)
        w->now_us = now;
    cache_clock_advance(w->cache, now);
    sweep(w, 0);
    w->next_sweep_us = cache_now(w->cache) + SWEEP_EVERY_US;
}

void worker_sweep_due(struct worker *w)
{
    sweep(w, 1);
}

void worker_expire_all(struct worker *w)
{
    worker_expire_all_drained(w, NULL, NULL);
}

void worker_expire_all_drained(struct worker *w, void (*drain)(void *arg), void *arg)
{
    flows_sweep(w, cache_now(w->cache), SWEEP_ALL, &(struct sweep_drain){ drain, arg }, &SWEEP_EVERY_SHARD);
    worker_fold(w);
    worker_end_shared(w, 1, cache_now(w->cache));
}

void worker_end_part(struct worker *w, int k, int n, int all, uint64_t now)
{
    struct sweep_part part = { k, n };
    flows_sweep(w, now, all ? SWEEP_ALL : SWEEP_DUE_FULL, &(struct sweep_drain){ 0 }, &part);
    if (!all)
        flows_finish_detection(w, k, n);
    worker_publish_stats(w);         /* what the flows' ends counted, and their batched records */
}

void worker_end_shared(struct worker *w, int all, uint64_t now)
{
    if (all) {
        macs_report(w, now, 1);
        worker_publish_stats(w);
    } else {
        sweep_shared(w, now, 1);
    }
}
