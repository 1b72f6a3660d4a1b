/* flow_life.c - a flow's life in a capture thread: update or creation on a packet, its end, detection settled at the end (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <netinet/in.h>

#include "capture/flow/flow_events.h"
#include "capture/flow/l7.h"

/* ---- flow end ---- */

enum flow_end_reason flow_end_reason_of(const struct cache_config *cfg, const struct flow *f)
{
    if (f->closed)
        return FLOW_END_TCP;
    return f->first_us + cfg->flow_lifetime_us <= f->last_us + cfg->flow_idle_us
        ? FLOW_END_LIFETIME : FLOW_END_IDLE;
}

void flow_end(struct worker *w, struct flow *f, enum flow_end_reason reason)
{
    struct cache *c = w->cache;
    uint16_t old = f->l7;
    struct app_actions acts;
    uint64_t now = cache_now(c);
    if (l7_flow_finish(w->l7, c, f))
        aggr_l7_move(w, old, f->l7, f->bytes[0] + f->bytes[1], f->pkts[0] + f->pkts[1]);
    aggr_flow_ended(w, f);
    struct flow_end_macs macs;
    host_flow_ended(w, f->hosts[0], &macs, 0);
    host_flow_ended(w, f->hosts[1], &macs, 1);
    flow_events_flow_end(&w->events, c, w->users, f, reason, now, &macs);
    if (reason != FLOW_END_SHUTDOWN)
        flow_events_flow_expired(&w->events, &f->key, now);
    acts.n = 0;
    acts.key = f->key;
    acts.l7 = f->l7;
    app_flow_end(c, f, &acts);
    if (acts.n)
        worker_apply_actions(w, &acts, now, NULL);
    pool_free(&c->flow_pool, f);
    cache_flow_room_give(c, &w->room_held);
    cache_count(c, w->id, CC_FLOWS_EXPIRED);
}

/* ---- flow update ---- */

static struct flow *flow_create(struct worker *w, struct cache_shard *s, uint64_t hash,
                                const struct flow_key *k, uint64_t ts)
{
    struct cache *c = w->cache;
    struct flow *f;
    if (!cache_flow_room_take(c, &w->room_held))
        return NULL;
    if (!(f = pool_alloc(&c->flow_pool))) {
        cache_flow_room_give(c, &w->room_held);
        return NULL;
    }
    f->link.hash = hash;
    f->key = *k;
    f->src = w->src;
    f->first_us = f->last_us = ts;
    shard_insert(s, &f->link);
    cache_count(c, w->id, CC_FLOWS_CREATED);
    return f;
}

/* Follows a TCP flow's opening handshake as the probe sees it: rtt.server.us
 * is the last SYN to the SYN/ACK (the server's side of the probe),
 * rtt.client.us the last SYN/ACK to the client's ACK (the client's side),
 * rtt.us their sum. A retransmitted SYN or SYN/ACK moves the start to itself:
 * the peer answers the last one it got. A probe that sees one direction only
 * never completes it, so the fields stay out. Returns 1 when this packet
 * completes the handshake. Caller holds f's shard lock; f->hs is not DONE. */
static int flow_handshake(struct flow *f, uint8_t flags, int c2s, uint64_t ts)
{
    uint32_t now = (uint32_t)ts;
    unsigned kind = flags & (TCP_SYN | TCP_ACK | TCP_RST);
    if (c2s && kind == TCP_SYN) {
        f->hs = FLOW_HS_SYN;
        f->hs_mark = now;
    } else if (!c2s && kind == (TCP_SYN | TCP_ACK) && f->hs != FLOW_HS_NONE) {
        if (f->hs == FLOW_HS_SYN)
            f->rtt_server_us = cache_gap32(f->hs_mark, now);
        f->hs = FLOW_HS_SYNACK;
        f->hs_mark = now;
    } else if (c2s && kind == TCP_ACK && f->hs == FLOW_HS_SYNACK) {
        f->hs_mark = cache_gap32(f->hs_mark, now);
        f->hs = FLOW_HS_DONE;
        return 1;
    }
    return 0;
}

/* Counts p on f; returns 1 when p completes f's TCP handshake. */
static int flow_count_packet(struct worker *w, struct cache_shard *s, struct flow *f,
                             const struct decoded_pkt *p, int c2s, uint64_t ts)
{
    int dir = c2s ? 0 : 1, hs_done = 0;
    f->bytes[dir] += p->l3_len;
    f->pkts[dir]++;
    if (ts > f->last_us)
        f->last_us = ts;
    if (p->l4_proto == IPPROTO_TCP && p->has_ports) {
        f->tcp_flags |= p->tcp_flags;
        /* only a SYN, or the client's ACK after a SYN/ACK, moves the handshake on */
        if ((p->tcp_flags & TCP_SYN) ? f->hs != FLOW_HS_DONE : f->hs == FLOW_HS_SYNACK)
            hs_done = flow_handshake(f, p->tcp_flags, c2s, ts);
        if (p->tcp_flags & TCP_FIN)
            f->fin_mask |= c2s ? 1 : 2;
        if (!f->closed && ((p->tcp_flags & TCP_RST) || f->fin_mask == 3)) {
            f->closed = 1;
            f->closed_us = ts;
            shard_move_to_closed(s, &f->link);
            return hs_done;
        }
    }
    if (!f->closed)
        shard_touch(s, &f->link);
    return hs_done;
}

int flow_update(struct worker *w, const struct flow_key *k, uint64_t hash, int c2s, int create,
                const struct decoded_pkt *p, uint64_t ts, struct pkt_result *r,
                struct flow **ended)
{
    struct cache *c = w->cache;
    struct cache_shard *s = cache_shard_for(c->flows, hash);
    lock_acquire(&s->lock);
    struct flow *f = shard_find_flow(s, hash, k);
    if (f) {                         /* the LRU neighbours shard_touch will write */
        __builtin_prefetch(f->link.lprev, 1);
        __builtin_prefetch(f->link.lnext, 1);
    }
    /* A flow's packets all reach one worker, in order: it ends when this
     * worker's own time says so (what one thread would do), or when a sweep
     * could have ended it (cache_due; the cache clock without fanout). */
    uint64_t exp = f ? flow_expire_at(&c->cfg, f) : 0;
    if (f && (exp <= w->now_us || cache_due(c, w->group, exp))) {
        shard_unlink(s, &f->link, f->closed);
        *ended = f;
        f = NULL;
    }
    if (!f && !create) {
        lock_release(&s->lock);
        return UPD_NOT_FOUND;
    }
    r->is_new = 0;
    if (!f) {
        f = flow_create(w, s, hash, k, ts);
        if (!f) {
            lock_release(&s->lock);
            return UPD_DROPPED;
        }
        r->is_new = 1;
    }
    r->key = *k;
    r->c2s = c2s;
    r->prev_bytes = f->bytes[0] + f->bytes[1];
    r->prev_pkts = f->pkts[0] + f->pkts[1];
    r->first_us = f->first_us;
    uint64_t hh[2];
    struct host_pend *hp[2];
    hosts_prefetch(w, p, f, c2s, hh, hp);
    int hs_done = flow_count_packet(w, s, f, p, c2s, ts);
    r->l7_old = f->l7;
    r->l7_changed = l7_flow_packet(w->l7, c, f, p, ts);
    r->l7_new = f->l7;
    r->acts.n = 0;
    r->acts.key = *k;
    r->acts.l7 = f->l7;
    app_flow_packet(c, f, p, c2s, ts, &r->acts);
    struct app_action *hs = hs_done ? app_action_add(&r->acts, ACT_TCP_RTT) : NULL;
    if (hs) {                        /* the server's host sums its handshake round trips */
        hs->has_rtt = 1;
        hs->rtt_us = f->rtt_server_us + f->hs_mark;
    }
    r->nhashed = r->acts.n;
    if (r->acts.n)
        worker_prefetch_actions(w, &r->acts, r->name_hash);
    int src_role = r->is_new ? (c2s ? ROLE_CLIENT : ROLE_SERVER) : ROLE_NONE;
    int dst_role = r->is_new ? (c2s ? ROLE_SERVER : ROLE_CLIENT) : ROLE_NONE;
    /* Each host also takes its part of what the dissectors taught. */
    host_account(w, p, 1, src_role, ts, &f->hosts[c2s ? 0 : 1], &r->acts, c2s, hh[0], hp[0]);
    host_account(w, p, 0, dst_role, ts, &f->hosts[c2s ? 1 : 0], &r->acts, !c2s, hh[1], hp[1]);
    lock_release(&s->lock);
    hosts_fold_if_full(w);
    return UPD_OK;
}

/* ---- the end of a capture ---- */

struct l7_move { uint16_t from, to; uint64_t bytes, pkts; };

/* Settles detection of one shard's undetected flows; returns how many moves it wrote. */
static size_t shard_finish_detection(struct worker *w, struct cache_shard *s, struct l7_move *mv, size_t max)
{
    size_t n = 0;
    lock_acquire(&s->lock);
    for (uint32_t b = 0; b < s->nbuckets && n < max; b++)
        for (struct centry *e = s->buckets[b]; e && n < max; e = e->hnext) {
            struct flow *f = (struct flow *)e;
            if (f->detect_done)
                continue;
            uint16_t old = f->l7;
            if (l7_flow_finish(w->l7, w->cache, f))
                mv[n++] = (struct l7_move){ old, f->l7, f->bytes[0] + f->bytes[1], f->pkts[0] + f->pkts[1] };
        }
    lock_release(&s->lock);
    return n;
}

void flows_finish_detection(struct worker *w, int part, int nparts)
{
    enum { MOVES = 1024 };
    struct l7_move mv[MOVES];
    struct cache *c = w->cache;
    for (int i = part; i < CACHE_SHARDS; i += nparts) {
        size_t n;
        do {
            n = shard_finish_detection(w, &c->flows[i], mv, MOVES);
            for (size_t k = 0; k < n; k++)
                aggr_l7_move(w, mv[k].from, mv[k].to, mv[k].bytes, mv[k].pkts);
        } while (n == MOVES);
    }
    worker_fold(w);
}
