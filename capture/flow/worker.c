/* worker.c - a capture thread's packet path: decode, flow update, hosts, aggregates, expiry (capture thread). */
#include "capture/flow/worker.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/names.h"
#include "capture/cache/watchlist.h"
#include "capture/flow/app.h"
#include "capture/flow/flow_events.h"
#include "capture/flow/l7.h"
#include "capture/flow/pkt_key.h"
#include "capture/flow/worker_app.h"

enum { TCP_FIN = 0x01, TCP_SYN = 0x02, TCP_RST = 0x04, TCP_ACK = 0x10 };
enum { SWEEP_EVERY_US = 100000, SWEEP_BATCH = 256 };
enum { ROLE_NONE = 0, ROLE_CLIENT = 1, ROLE_SERVER = 2 };
enum { UPD_OK = 0, UPD_NOT_FOUND = 1, UPD_DROPPED = 2 };

/* What one packet did to its flow, gathered under the flow shard lock. */
struct pkt_result {
    struct flow_key key;
    int c2s, is_new, l7_changed;
    uint16_t l7_old, l7_new;
    uint64_t prev_bytes, prev_pkts;  /* flow totals before this packet */
    uint64_t first_us;
    struct app_actions acts;         /* what the dissectors found, applied after unlocking */
    uint64_t name_hash[APP_ACTIONS_MAX];  /* their names' hashes (worker_prefetch_actions) */
    int nhashed;                     /* how many of acts name_hash covers */
};

/* Counters of one VLAN or L7 aggregate not yet folded into the cache. */
struct aggr_pend {
    int64_t bytes, pkts, flows, flows_active;
    uint64_t first_ts, first_now;    /* packet time and cache clock of the first live touch */
    uint64_t last_us;
    uint8_t used, live;
};

enum { MAC_PEND_SLOTS = 16 };

/* Counters of one MAC not yet folded into its cache entry. */
struct mac_pend {
    uint8_t mac[6], used, has_ip, ipver;
    uint8_t ip[16];
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t first_ts, first_now, last_us, ip_us;
};

/* A worker's private counters, folded in at each tick and at the end of a
 * file: the packet path takes no aggregate or MAC lock. */
struct worker_pend {
    struct aggr_pend l7[L7_MAX], vlan[VLAN_MAX];
    uint16_t l7_used[L7_MAX], vlan_used[VLAN_MAX];
    unsigned nl7, nvlan;
    struct mac_pend mac[MAC_PEND_SLOTS];
};

static void worker_fold(struct worker *w);

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
    if (event_queue_init(&w->events, 65536) != 0)
        return -1;
    w->pend = calloc(1, sizeof(*w->pend));
    w->l7 = w->pend ? l7_module_create() : NULL;
    if (!w->l7) {
        free(w->pend);
        w->pend = NULL;
        event_queue_destroy(&w->events);
        return -1;
    }
    return 0;
}

void worker_destroy(struct worker *w)
{
    worker_fold(w);                  /* the cache may outlive the worker: lose no count */
    l7_module_destroy(w->l7);
    w->l7 = NULL;
    free(w->pend);
    w->pend = NULL;
    event_queue_destroy(&w->events);
}

/* ---- aggregates (l7, vlan): counted per worker, folded in at each tick ---- */

static struct aggr_pend *pend_aggr(struct worker *w, int is_l7, unsigned id)
{
    struct worker_pend *pd = w->pend;
    struct aggr_pend *a = is_l7 ? &pd->l7[id] : &pd->vlan[id];
    if (!a->used) {
        a->used = 1;
        if (is_l7)
            pd->l7_used[pd->nl7++] = (uint16_t)id;
        else
            pd->vlan_used[pd->nvlan++] = (uint16_t)id;
    }
    return a;
}

/* What aggr_live did per packet: the first live touch of the window records
 * when, so the fold can restart an aggregate that had died by then. */
static struct aggr_pend *pend_aggr_live(struct worker *w, int is_l7, unsigned id, uint64_t ts)
{
    struct aggr_pend *a = pend_aggr(w, is_l7, id);
    if (!a->live) {
        a->live = 1;
        a->first_ts = ts;
        a->first_now = cache_expiry_now(w->cache, w->group);
    }
    return a;
}

static void pend_move(struct aggr_pend *from, struct aggr_pend *to, uint64_t bytes, uint64_t pkts)
{
    from->bytes -= (int64_t)bytes;
    from->pkts -= (int64_t)pkts;
    from->flows--;
    from->flows_active--;
    to->bytes += (int64_t)bytes;
    to->pkts += (int64_t)pkts;
    to->flows++;
    to->flows_active++;
}

static void aggr_account(struct worker *w, const struct pkt_result *r, uint32_t len, uint64_t ts)
{
    struct aggr_pend *v = pend_aggr_live(w, 0, r->key.vlan, ts);
    struct aggr_pend *l = pend_aggr_live(w, 1, r->l7_new, ts);
    if (r->is_new) {
        v->flows++;
        l->flows++;
        l->flows_active++;
    } else if (r->l7_changed) {
        pend_move(pend_aggr(w, 1, r->l7_old), l, r->prev_bytes, r->prev_pkts);
    }
    v->bytes += len;
    v->pkts++;
    if (ts > v->last_us) v->last_us = ts;
    l->bytes += len;
    l->pkts++;
    if (ts > l->last_us) l->last_us = ts;
}

static void aggr_fold_one(struct cache *c, struct aggr *a, struct aggr_pend *p)
{
    if (p->live && !aggr_alive(&c->cfg, a, p->first_now)) {
        memset(a, 0, sizeof(*a));
        a->first_us = p->first_ts;
    } else if (p->live && p->first_ts < a->first_us) {
        a->first_us = p->first_ts;   /* another worker folded later packets first */
    }
    a->bytes += (uint64_t)p->bytes;
    a->pkts += (uint64_t)p->pkts;
    a->flows += (uint64_t)p->flows;
    a->flows_active += p->flows_active;   /* not clamped: the other workers' folds settle it */
    if (p->last_us > a->last_us) a->last_us = p->last_us;
    memset(p, 0, sizeof(*p));
}

/* Folds the pending VLAN and L7 counters into the cache under one lock. */
static void aggr_fold(struct worker *w)
{
    struct worker_pend *pd = w->pend;
    struct cache *c = w->cache;
    if (!pd->nl7 && !pd->nvlan)
        return;
    pthread_mutex_lock(&c->aggr_lock);
    for (unsigned i = 0; i < pd->nl7; i++)
        aggr_fold_one(c, &c->l7[pd->l7_used[i]], &pd->l7[pd->l7_used[i]]);
    for (unsigned i = 0; i < pd->nvlan; i++)
        aggr_fold_one(c, &c->vlan[pd->vlan_used[i]], &pd->vlan[pd->vlan_used[i]]);
    pthread_mutex_unlock(&c->aggr_lock);
    pd->nl7 = pd->nvlan = 0;
}

/* ---- hosts and MACs ---- */

static void host_vlan_add(struct cache *c, struct host *h, uint16_t vlan, int sent, uint32_t len)
{
    struct host_vlan *v = host_vlan_slot(c, h, vlan);
    if (!v)
        return;
    if (sent) { v->bytes_sent += len; v->pkts_sent++; }
    else { v->bytes_rcvd += len; v->pkts_rcvd++; }
}

static struct host *host_find_or_add(struct worker *w, struct cache_shard *s, uint64_t hash,
                                     uint8_t ipver, const uint8_t *addr, uint64_t ts, int *created)
{
    struct cache *c = w->cache;
    struct host *h = shard_find_host(s, hash, ipver, addr);
    if (h && h->flows_active == 0 && cache_due(c, w->group, host_expire_at(&c->cfg, h))) {
        struct centry link = h->link;       /* expired, not yet swept: a new key */
        host_clear(c, h);
        memset(h, 0, sizeof(*h));
        h->link = link;
        h->ipver = ipver;
        memcpy(h->addr, addr, 16);
        h->first_us = ts;
        *created = 1;
        return h;
    }
    if (h)
        return h;
    if (!(h = pool_alloc(&c->host_pool)))
        return NULL;
    h->link.hash = hash;
    h->ipver = ipver;
    memcpy(h->addr, addr, 16);
    h->first_us = ts;
    shard_insert(s, &h->link);
    atomic_fetch_add_explicit(&c->st.hosts_created, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->st.hosts_active, 1, memory_order_relaxed);
    *created = 1;
    return h;
}

/* Starts loading what host_account will touch (the flow's hosts, or the
 * bucket slots their lookup reads), so the cache misses overlap nDPI's work.
 * Fills hash[0] (source) and hash[1] (destination) when a lookup is needed. */
static void hosts_prefetch(struct worker *w, const struct decoded_pkt *p, const struct flow *f,
                           int c2s, uint64_t hash[2])
{
    for (int i = 0; i < 2; i++) {
        const struct host *h = f->hosts[(c2s ? 0 : 1) ^ i];
        hash[i] = 0;
        if (h) {
            __builtin_prefetch(h, 1);
            __builtin_prefetch(&h->last_us, 1);
            continue;
        }
        hash[i] = host_key_hash(p->ip_version, i ? p->dst : p->src);
        const struct cache_shard *s = cache_shard_for(w->cache->hosts, hash[i]);
        __builtin_prefetch(&s->buckets[cache_bucket_of(s, hash[i])]);
    }
}

/* Counts one packet on the host at the packet's source (is_src) or
 * destination. *ref is the flow's reference to that host: when set, no lookup
 * is needed; when a new flow starts (role) and the host can be had, the flow
 * takes a flows.active count on it and *ref is set. acts (the client's side
 * only, else NULL) are applied to the host's fields. Caller holds the flow's
 * shard lock (lock order: flow, then host). */
static void host_account(struct worker *w, const struct decoded_pkt *p, int is_src,
                         int role, uint64_t ts, struct host **ref, const struct app_actions *acts,
                         uint64_t hash)
{
    const uint8_t *addr = is_src ? p->src : p->dst;
    struct host *h = *ref;
    int created = 0;
    if (h)
        hash = h->link.hash;
    struct cache_shard *s = cache_shard_for(w->cache->hosts, hash);
    lock_acquire(&s->lock);
    if (!h)
        h = host_find_or_add(w, s, hash, p->ip_version, addr, ts, &created);
    if (h) {
        if (is_src) { h->bytes_sent += p->l3_len; h->pkts_sent++; }
        else { h->bytes_rcvd += p->l3_len; h->pkts_rcvd++; }
        if (ts > h->last_us) h->last_us = ts;
        if (ts < h->first_us) h->first_us = ts;    /* workers reach a host in any order */
        if (role == ROLE_CLIENT) h->flows_client++;
        if (role == ROLE_SERVER) h->flows_server++;
        if (role != ROLE_NONE && !*ref) {
            h->flows_active++;
            *ref = h;
        }
        if (p->vlan) host_vlan_add(w->cache, h, p->vlan, is_src, p->l3_len);
        if (is_src && p->has_mac && ts >= h->mac_us &&
            !(p->tunnels & (DEC_TUN_GRE | DEC_TUN_GTPU | DEC_TUN_VXLAN | DEC_TUN_IPIP))) {
            memcpy(h->mac, p->src_mac, 6);
            h->has_mac = 1;
            h->mac_us = ts;
        }
        if (acts && acts->n)
            worker_host_apply_actions(h, acts, ts);
        shard_touch(s, &h->link);
    }
    lock_release(&s->lock);
    if (created)
        flow_events_host_new(&w->events, p->ip_version, addr, p, is_src);
}

/* A flow that held a count on h ended. */
static void host_flow_ended(struct worker *w, struct host *h)
{
    if (!h)
        return;
    struct cache_shard *s = cache_shard_for(w->cache->hosts, h->link.hash);
    lock_acquire(&s->lock);
    if (h->flows_active > 0)
        h->flows_active--;
    lock_release(&s->lock);
}

/* Adds one slot of pending MAC counters to its cache entry (made when
 * missing) and empties the slot. */
static void mac_flush(struct worker *w, struct mac_pend *d)
{
    struct cache *c = w->cache;
    const uint8_t *mac = d->mac;
    uint64_t hash = mac_key_hash(mac);
    struct cache_shard *s = cache_shard_for(c->macs, hash);
    lock_acquire(&s->lock);
    struct mac_entry *m = shard_find_mac(s, hash, mac);
    if (m && mac_expire_at(&c->cfg, m) <= d->first_now) {
        struct centry link = m->link;
        memset(m, 0, sizeof(*m));
        m->link = link;
        memcpy(m->mac, mac, 6);
        m->first_us = d->first_ts;
    } else if (m && d->first_ts < m->first_us) {
        m->first_us = d->first_ts;
    }
    if (!m && budget_reserve(&c->budget, sizeof(*m)) == 0) {
        m = calloc(1, sizeof(*m));
        if (m) {
            m->link.hash = hash;
            memcpy(m->mac, mac, 6);
            m->first_us = d->first_ts;
            shard_insert(s, &m->link);
        } else {
            budget_release(&c->budget, sizeof(*m));
        }
    }
    if (m) {
        m->bytes_sent += d->bytes_sent;
        m->pkts_sent += d->pkts_sent;
        m->bytes_rcvd += d->bytes_rcvd;
        m->pkts_rcvd += d->pkts_rcvd;
        if (d->last_us > m->last_us) m->last_us = d->last_us;
        if (d->has_ip && d->ip_us >= m->ip_us) {
            memcpy(m->ip, d->ip, 16);
            m->ipver = d->ipver;
            m->has_ip = 1;
            m->ip_us = d->ip_us;
        }
        shard_touch(s, &m->link);
    }
    lock_release(&s->lock);
    memset(d, 0, sizeof(*d));
}

/* Counts one packet on a MAC in the worker's pending slots (a few MACs, the
 * routers', carry most traffic); a slot taken by another MAC is flushed first. */
static void mac_account(struct worker *w, const struct decoded_pkt *p, int is_src, uint64_t ts)
{
    const uint8_t *mac = is_src ? p->src_mac : p->dst_mac;
    unsigned slot = (unsigned)(mac[5] ^ (mac[4] << 1) ^ (mac[3] << 2)) % MAC_PEND_SLOTS;
    struct mac_pend *d = &w->pend->mac[slot];
    if (d->used && memcmp(d->mac, mac, 6) != 0)
        mac_flush(w, d);
    if (!d->used) {
        d->used = 1;
        memcpy(d->mac, mac, 6);
        d->first_ts = ts;
        d->first_now = cache_expiry_now(w->cache, w->group);
    }
    if (is_src) { d->bytes_sent += p->l3_len; d->pkts_sent++; }
    else { d->bytes_rcvd += p->l3_len; d->pkts_rcvd++; }
    if (ts > d->last_us) d->last_us = ts;
    if (is_src && ts >= d->ip_us && !(p->tunnels & (DEC_TUN_GRE | DEC_TUN_GTPU | DEC_TUN_VXLAN | DEC_TUN_IPIP))) {
        memcpy(d->ip, p->src, 16);
        d->ipver = p->ip_version;
        d->has_ip = 1;
        d->ip_us = ts;
    }
}

static void macs_fold(struct worker *w)
{
    for (unsigned i = 0; i < MAC_PEND_SLOTS; i++)
        if (w->pend->mac[i].used)
            mac_flush(w, &w->pend->mac[i]);
}

/* Makes every pending MAC, VLAN and L7 counter visible in the cache. */
static void worker_fold(struct worker *w)
{
    if (!w->pend)
        return;
    macs_fold(w);
    aggr_fold(w);
}

/* ---- flow end ---- */

static enum flow_end_reason end_reason_of(const struct cache_config *cfg, const struct flow *f)
{
    if (f->closed)
        return FLOW_END_TCP;
    return f->first_us + cfg->flow_lifetime_us <= f->last_us + cfg->flow_idle_us
        ? FLOW_END_LIFETIME : FLOW_END_IDLE;
}

/* Ends a flow already unlinked from its shard: the caller owns it. */
static void flow_end(struct worker *w, struct flow *f, enum flow_end_reason reason)
{
    struct cache *c = w->cache;
    uint16_t old = f->l7;
    struct app_actions acts;
    if (l7_flow_finish(w->l7, c, f))
        pend_move(pend_aggr(w, 1, old), pend_aggr(w, 1, f->l7), f->bytes[0] + f->bytes[1],
                  f->pkts[0] + f->pkts[1]);
    pend_aggr(w, 1, f->l7)->flows_active--;
    host_flow_ended(w, f->hosts[0]);
    host_flow_ended(w, f->hosts[1]);
    flow_events_flow_end(&w->events, c, f, reason);
    if (reason != FLOW_END_SHUTDOWN)
        flow_events_flow_expired(&w->events, &f->key);
    acts.n = 0;
    acts.key = f->key;
    acts.l7 = f->l7;
    app_flow_end(c, f, &acts);
    if (acts.n)
        worker_apply_actions(w, &acts, cache_now(c), NULL);
    pool_free(&c->flow_pool, f);
    atomic_fetch_sub_explicit(&c->st.flows_active, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->st.flows_expired, 1, memory_order_relaxed);
}

/* ---- flow update ---- */

static struct flow *flow_create(struct worker *w, struct cache_shard *s, uint64_t hash,
                                const struct flow_key *k, uint64_t ts)
{
    struct cache *c = w->cache;
    struct flow *f;
    if (atomic_load_explicit(&c->st.flows_active, memory_order_relaxed) >= c->cfg.max_flows ||
        !(f = pool_alloc(&c->flow_pool)))
        return NULL;
    f->link.hash = hash;
    f->key = *k;
    f->first_us = f->last_us = ts;
    shard_insert(s, &f->link);
    atomic_fetch_add_explicit(&c->st.flows_active, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&c->st.flows_created, 1, memory_order_relaxed);
    return f;
}

static void flow_count_packet(struct worker *w, struct cache_shard *s, struct flow *f,
                              const struct decoded_pkt *p, int c2s, uint64_t ts)
{
    int dir = c2s ? 0 : 1;
    f->bytes[dir] += p->l3_len;
    f->pkts[dir]++;
    if (ts > f->last_us)
        f->last_us = ts;
    if (p->l4_proto == IPPROTO_TCP && p->has_ports) {
        f->tcp_flags |= p->tcp_flags;
        if (p->tcp_flags & TCP_FIN)
            f->fin_mask |= c2s ? 1 : 2;
        if (!f->closed && ((p->tcp_flags & TCP_RST) || f->fin_mask == 3)) {
            f->closed = 1;
            f->closed_us = ts;
            shard_move_to_closed(s, &f->link);
            return;
        }
    }
    if (!f->closed)
        shard_touch(s, &f->link);
}

/* Updates (or with create, makes) the flow of key k. Returns UPD_*. An
 * expired flow found on the way is handed back in *ended. */
static int flow_update(struct worker *w, const struct flow_key *k, uint64_t hash, int c2s, int create,
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
    hosts_prefetch(w, p, f, c2s, hh);
    flow_count_packet(w, s, f, p, c2s, ts);
    r->l7_old = f->l7;
    r->l7_changed = l7_flow_packet(w->l7, c, f, p, ts);
    r->l7_new = f->l7;
    r->acts.n = 0;
    r->acts.key = *k;
    r->acts.l7 = f->l7;
    app_flow_packet(c, f, p, c2s, ts, &r->acts);
    r->nhashed = r->acts.n;
    if (r->acts.n)
        worker_prefetch_actions(w, &r->acts, r->name_hash);
    int src_role = r->is_new ? (c2s ? ROLE_CLIENT : ROLE_SERVER) : ROLE_NONE;
    int dst_role = r->is_new ? (c2s ? ROLE_SERVER : ROLE_CLIENT) : ROLE_NONE;
    /* The client's host also takes what the dissectors taught about it. */
    host_account(w, p, 1, src_role, ts, &f->hosts[c2s ? 0 : 1], c2s ? &r->acts : NULL, hh[0]);
    host_account(w, p, 0, dst_role, ts, &f->hosts[c2s ? 1 : 0], c2s ? NULL : &r->acts, hh[1]);
    lock_release(&s->lock);
    return UPD_OK;
}

/* ---- watchlist ---- */

/* A new flow touching a listed address raises one alert (applied with the
 * packet's other actions, so a DNS query's name rides along). */
static void watch_check(struct worker *w, struct pkt_result *r)
{
    char match[WATCH_TEXT_MAX];
    const struct flow_key *k = &r->key;
    const uint8_t *hit = NULL, *peer = NULL;
    if (!w->wl)
        return;
    if (watchlist_match(w->wl, k->ipver, k->cli, match)) {
        hit = k->cli;
        peer = k->srv;
    } else if (watchlist_match(w->wl, k->ipver, k->srv, match)) {
        hit = k->srv;
        peer = k->cli;
    }
    if (!hit || r->acts.n >= APP_ACTIONS_MAX)
        return;
    struct app_action *a = &r->acts.a[r->acts.n++];
    memset(a, 0, sizeof(*a));
    a->kind = ACT_WATCH_ALERT;
    addr_format(k->ipver, hit, a->name);      /* name: the listed address, url: its peer, ua: the entry */
    addr_format(k->ipver, peer, a->url);
    snprintf(a->ua, sizeof(a->ua), "%s", match);
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

/* The flow key of a's decoded packet, and its hash. */
static void ahead_key(struct worker_ahead *a)
{
    flow_key_from_pkt(&a->p, &a->k, &a->c2s);
    a->hash = flow_key_hash(&a->k);
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
            ahead_key(a);            /* after frag_resolve: a fragment's ports */
        const struct flow_key *k = &a->k;
        int c2s = a->c2s, rc;
        if (key_is_final(p)) {
            rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &ended[0]);
        } else {
            rc = flow_update(w, k, a->hash, c2s, 0, p, ts, &r, &ended[0]);
            if (rc == UPD_NOT_FOUND) {
                flow_key_reverse(k, &kr);
                rc = flow_update(w, &kr, flow_key_hash(&kr), !c2s, 0, p, ts, &r, &ended[1]);
            }
            if (rc == UPD_NOT_FOUND)
                rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &ended[0]);
        }
        for (int i = 0; i < 2; i++)
            if (ended[i])
                flow_end(w, ended[i], end_reason_of(&c->cfg, ended[i]));
        if (rc == UPD_DROPPED && ts >= w->next_sweep_us) {
            /* Refused while a sweep is due (first packet after a gap, the cache
             * full of flows that timed out meanwhile): expire, then retry once. */
            struct flow *again = NULL;
            worker_tick(w, ts);
            rc = flow_update(w, k, a->hash, c2s, 1, p, ts, &r, &again);
            if (again)
                flow_end(w, again, end_reason_of(&c->cfg, again));
        }
        if (rc == UPD_DROPPED) {
            atomic_fetch_add_explicit(&c->st.flows_dropped, 1, memory_order_relaxed);
        } else {
            if (p->has_mac) {
                mac_account(w, p, 1, ts);
                mac_account(w, p, 0, ts);
            }
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
    a->rc = decode_packet(dlt, data, caplen, &a->p, NULL);
    a->keyed = 0;
    if (a->rc != DEC_OK || a->p.is_fragment)
        return;                      /* a fragment is keyed in turn, after frag_resolve */
    ahead_key(a);
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

/* ---- expiry ---- */

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

static void flows_sweep(struct worker *w, uint64_t now, enum sweep_mode mode)
{
    struct flow *batch[SWEEP_BATCH];
    for (int i = 0; i < CACHE_SHARDS; i++) {
        if (mode == SWEEP_DUE_FULL) {
            for (struct flow *f = flows_collect_due_full(w->cache, &w->cache->flows[i], now), *next; f; f = next) {
                next = (struct flow *)f->link.lnext;
                f->link.lnext = NULL;
                flow_end(w, f, end_reason_of(&w->cache->cfg, f));
            }
            continue;
        }
        size_t n;
        do {
            n = flows_collect_expired(w->cache, &w->cache->flows[i], now, mode == SWEEP_ALL, batch);
            for (size_t j = 0; j < n; j++) {
                if (j + 2 < n) {     /* flow_end reads their hosts: start loading them */
                    __builtin_prefetch(batch[j + 2]->hosts[0]);
                    __builtin_prefetch(batch[j + 2]->hosts[1]);
                }
                flow_end(w, batch[j], mode == SWEEP_ALL ? FLOW_END_SHUTDOWN : end_reason_of(&w->cache->cfg, batch[j]));
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
            if (h->flows_active > 0) {
                shard_touch(s, &h->link);    /* kept alive by its flows */
                continue;
            }
            shard_unlink(s, &h->link, 0);
            flow_events_host_expired(&w->events, h->ipver, h->addr);   /* safe under a shard lock */
            host_clear(c, h);
            pool_free(&c->host_pool, h);
            atomic_fetch_add_explicit(&c->st.hosts_expired, 1, memory_order_relaxed);
            atomic_fetch_sub_explicit(&c->st.hosts_active, 1, memory_order_relaxed);
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
            shard_unlink(s, e, 0);
            free(e);
            budget_release(&c->budget, sizeof(struct mac_entry));
        }
        lock_release(&s->lock);
    }
}

/* Expires what is due, up to the last packet of every lane that still holds
 * packets (cache_expiry_now). */
static void sweep(struct worker *w, int full)
{
    uint64_t until = cache_expiry_now(w->cache, w->group);
    worker_fold(w);                  /* first: the sweeps below read what it adds */
    flows_sweep(w, until, full ? SWEEP_DUE_FULL : SWEEP_DUE);
    hosts_sweep(w, until, full);
    macs_sweep(w, until, full);
    names_sweep(w->cache, until, full);
    worker_publish_stats(w);
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

void worker_finish_detection(struct worker *w)
{
    enum { MOVES = 1024 };
    struct l7_move mv[MOVES];
    struct cache *c = w->cache;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        size_t n;
        do {
            n = shard_finish_detection(w, &c->flows[i], mv, MOVES);
            for (size_t k = 0; k < n; k++)
                pend_move(pend_aggr(w, 1, mv[k].from), pend_aggr(w, 1, mv[k].to), mv[k].bytes, mv[k].pkts);
        } while (n == MOVES);
    }
    worker_fold(w);
}

void worker_expire_all(struct worker *w)
{
    flows_sweep(w, cache_now(w->cache), SWEEP_ALL);
    worker_publish_stats(w);
}

void worker_publish_stats(struct worker *w)
{
    const struct decode_stats *d = &w->dstats;
    uint64_t total = 0;
    worker_fold(w);
    atomic_store_explicit(&w->st.ip_packets, d->ip_packets, memory_order_relaxed);
    atomic_store_explicit(&w->st.not_ip, d->not_ip, memory_order_relaxed);
    for (int i = 1; i < DECODE_ANOMALY_KINDS; i++) {
        atomic_store_explicit(&w->st.anomaly[i], d->anomalies[i], memory_order_relaxed);
        total += d->anomalies[i];
    }
    atomic_store_explicit(&w->st.anomalies, total, memory_order_relaxed);
}
