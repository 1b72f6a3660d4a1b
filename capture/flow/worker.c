/* worker.c - a capture thread's entry points and packet path: decode, key, flow update, then accounting and actions (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/names.h"
#include "capture/flow/app.h"
#include "capture/flow/flow_events.h"
#include "capture/flow/l7.h"
#include "capture/flow/pkt_key.h"

/* The cache's hook for what the pipeline hangs on a flow (detection state,
 * dissector fields): frees it when the cache frees the flow at teardown. */
static void worker_flow_release(struct flow *f, void *arg)
{
    (void)arg;
    l7_flow_release(f);
    app_flow_release(f);
}

static const struct cache_hooks worker_cache_hooks = { .flow_release = worker_flow_release };

int worker_init(struct worker *w, int id, struct cache *c)
{
    memset(w, 0, sizeof(*w));
    w->id = id;
    w->cache = c;
    cache_hooks_set(c, &worker_cache_hooks);
    cache_worker_add(c, id);
    if (event_queue_init(&w->events, 65536) != 0)
        return -1;
    w->pend = worker_pend_new();
    w->users = w->pend ? names_user_memo_new() : NULL;
    w->l7 = w->users ? l7_module_create() : NULL;
    if (!w->l7) {
        names_user_memo_free(w->users);
        w->users = NULL;
        free(w->pend);
        w->pend = NULL;
        event_queue_destroy(&w->events);
        return -1;
    }
    /* a second capture thread: the tables' pages now, not as packets reach them (cache.h) */
    if (atomic_fetch_add_explicit(&c->workers, 1, memory_order_relaxed) == 1)
        cache_tables_populate(c);
    return 0;
}

void worker_destroy(struct worker *w)
{
    worker_fold(w);                  /* the cache may outlive the worker: lose no count */
    cache_flow_room_return(w->cache, &w->room_held);
    atomic_fetch_sub_explicit(&w->cache->workers, 1, memory_order_relaxed);
    l7_module_destroy(w->l7);
    w->l7 = NULL;
    free(w->pend);
    w->pend = NULL;
    names_user_memo_free(w->users);
    w->users = NULL;
    event_queue_destroy(&w->events);
}

/* ---- the packet path ---- */

/* 1 when the packet's flow, if it exists, can only have the key
 * flow_key_from_pkt gives, so no reversed lookup is needed before creating
 * it: a TCP SYN (its sender is the client), or a protocol whose key rule is
 * symmetric (the same key from either direction) - all but TCP, whose flows a
 * SYN may have keyed against the port rule, and ICMP, where echo types decide. */
static int key_is_final(const struct decoded_pkt *p)
{
    if (p->l4_proto == IPPROTO_TCP)
        return p->has_ports && (p->tcp_flags & TCP_SYN);
    return p->l4_proto != IPPROTO_ICMP && p->l4_proto != IPPROTO_ICMPV6;
}

static void flow_key_reverse(const struct flow_key *k, struct flow_key *out)
{
    *out = *k;
    memcpy(out->cli, k->srv, 16);
    memcpy(out->srv, k->cli, 16);
    out->cport = k->sport;
    out->sport = k->cport;
}

/* The flow key of a's decoded packet, and its hash in w's cache. */
static void ahead_key(const struct worker *w, struct worker_ahead *a)
{
    flow_key_from_pkt(&a->p, &a->k, &a->c2s);
    a->hash = cache_flow_hash(w->cache, &a->k);
    a->keyed = 1;
}

/* The packet path after decoding: a holds the frame's decoding (a->rc, DEC_OK
 * or not) and, when a->keyed, its flow key and hash. */
static void packet_decoded(struct worker *w, uint64_t ts, struct worker_ahead *a, uint32_t wirelen)
{
    struct decoded_pkt *p = &a->p;
    struct cache *c = w->cache;
    atomic_store_explicit(&w->st.packets, atomic_load_explicit(&w->st.packets, memory_order_relaxed) + 1,
                          memory_order_relaxed);
    atomic_store_explicit(&w->st.bytes, atomic_load_explicit(&w->st.bytes, memory_order_relaxed) + wirelen,
                          memory_order_relaxed);
    if (ts > w->now_us)
        w->now_us = ts;
    cache_clock_advance(c, ts);
    if (a->rc == DEC_OK) {
        if (p->is_fragment && frag_resolve(w->frags, p, ts) != 0)
            atomic_fetch_add_explicit(&w->st.frag_orphans, 1, memory_order_relaxed);
        struct flow_key kr;
        struct pkt_result r;
        struct flow *ended[2] = { NULL, NULL };
        if (!a->keyed)
            ahead_key(w, a);         /* after frag_resolve: a fragment's ports */
        const struct flow_key *k = &a->k;
        int c2s = a->c2s, rc;
        if (key_is_final(p)) {
            rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &ended[0]);
        } else {
            rc = flow_update(w, k, a->hash, c2s, 0, p, ts, &r, &ended[0]);
            if (rc == UPD_NOT_FOUND) {
                flow_key_reverse(k, &kr);
                rc = flow_update(w, &kr, cache_flow_hash(c, &kr), !c2s, 0, p, ts, &r, &ended[1]);
            }
            if (rc == UPD_NOT_FOUND)
                rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &ended[0]);
        }
        for (int i = 0; i < 2; i++)
            if (ended[i])
                flow_end(w, ended[i], flow_end_reason_of(&c->cfg, ended[i]));
        if (rc == UPD_DROPPED && ts >= w->next_sweep_us) {
            /* Refused while a sweep is due (first packet after a gap, the cache
             * full of flows that timed out meanwhile): expire, then retry once. */
            struct flow *again = NULL;
            worker_tick(w, ts);
            rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &again);
            if (again)
                flow_end(w, again, flow_end_reason_of(&c->cfg, again));
        }
        if (rc == UPD_DROPPED) {
            atomic_fetch_add_explicit(&c->st.flows_dropped, 1, memory_order_relaxed);
        } else {
            if (p->has_mac)
                macs_account(w, p, ts);
            aggr_account(w, &r, p->l3_len, ts);
            if (r.is_new) {
                flow_events_flow_new(&w->events, &r.key, r.first_us);
                watch_check(w, &r);
            }
            if (r.acts.n)
                worker_apply_actions(w, &r.acts, ts, r.acts.n == r.nhashed ? r.name_hash : NULL);
        }
    }
    if (ts >= w->next_sweep_us)
        worker_tick(w, ts);
}

void worker_peek(struct worker *w, struct worker_ahead *a, int dlt, const uint8_t *data, uint32_t caplen)
{
    a->data = data;
    a->caplen = caplen;
    a->rc = decode_packet(dlt, data, caplen, &a->p, NULL);   /* no stats: worker_packet_ahead counts it */
    a->keyed = 0;
    if (a->rc != DEC_OK || a->p.is_fragment)
        return;                      /* a fragment is keyed in turn, after frag_resolve */
    ahead_key(w, a);
    /* the shard's bucket array is fixed at creation: no lock to find the slot */
    const struct cache_shard *s = cache_shard_for(w->cache->flows, a->hash);
    __builtin_prefetch(&s->buckets[cache_bucket_of(s, a->hash)]);
}

void worker_packet_ahead(struct worker *w, uint64_t ts, struct worker_ahead *a, uint32_t wirelen)
{
    decode_stats_count(&w->dstats, a->rc);
    packet_decoded(w, ts, a, wirelen);
}

void worker_packet(struct worker *w, uint64_t ts, int dlt, const uint8_t *data,
                   uint32_t caplen, uint32_t wirelen)
{
    struct worker_ahead a;
    a.rc = decode_packet(dlt, data, caplen, &a.p, &w->dstats);
    a.keyed = 0;
    packet_decoded(w, ts, &a, wirelen);
}

void worker_publish_stats(struct worker *w)
{
    const struct decode_stats *d = &w->dstats;
    uint64_t total = 0;
    worker_fold(w);
    event_queue_batch_flush(&w->events);     /* records gathered since the last tick go now */
    atomic_store_explicit(&w->st.ip_packets, d->ip_packets, memory_order_relaxed);
    atomic_store_explicit(&w->st.not_ip, d->not_ip, memory_order_relaxed);
    for (int i = 1; i < DECODE_ANOMALY_KINDS; i++) {
        atomic_store_explicit(&w->st.anomaly[i], d->anomalies[i], memory_order_relaxed);
        total += d->anomalies[i];
    }
    atomic_store_explicit(&w->st.anomalies, total, memory_order_relaxed);
}
