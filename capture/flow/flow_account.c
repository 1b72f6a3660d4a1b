/* flow_account.c - a worker's hosts, MACs and VLAN/L7/port aggregates: counted per worker, folded into the cache at ticks (capture thread). */
#include "capture/flow/worker.h"
#include "capture/flow/worker_int.h"

#include <stdlib.h>
#include <string.h>

#include "capture/flow/flow_events.h"

/* Counters of one VLAN, L7 or port aggregate not yet folded into the cache. */
struct aggr_pend {
    int64_t bytes, pkts, flows, flows_active;
    uint64_t first_ts, first_now;    /* packet time and cache clock of the first live touch */
    uint64_t last_us;
    uint8_t used, live;
};

enum { MAC_PEND_SLOTS = 16 };

/* Each worker reports the MACs counted on since (the `mac` event) at most this often, in cache time, and
 * at the end of a file; a MAC that expires is reported first. */
enum { MAC_REPORT_US = 1000000 };

/* Counters of one MAC not yet folded into its cache entry. */
struct mac_pend {
    uint8_t mac[6], used, has_ip, ipver;
    uint8_t ip[16];
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t first_ts, first_now, last_us, ip_us;
};

/* A host's counters not yet added to its cache entry. */
struct host_counts {
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t first_us, last_us;      /* first_us UINT64_MAX while nothing is counted */
    uint64_t mac_us;                 /* packet time of mac: the newest wins, the later packet on a tie */
    uint8_t mac[6], has_mac, has_app;
    struct host_app app;             /* what the packets' dissectors taught (has_app: anything) */
};

/* One host of the worker's pending host table: h is pinned (h->pins) while
 * the table holds it, so it outlives the counts even when another worker's
 * sweep ends the flow that referenced it. */
struct host_pend {
    struct host *h;
    struct host_counts c;
};

/* The pending host table: the hosts' entries packed in the order taken (what
 * a tick folds: a few hundred cache lines, not a sparse table), found through
 * an open-addressing index on the host's address, at most half full (so a
 * probe always ends short); folded when HOST_PEND_MAX hosts are in. */
enum { HOST_PEND_SLOTS = 2048, HOST_PEND_MAX = HOST_PEND_SLOTS / 2 };

/* A worker's private counters, folded in at each tick and at the end of a
 * file: the packet path takes no aggregate or MAC lock, and no host lock for
 * a packet of a flow that already holds its hosts. */
struct worker_pend {
    struct aggr_pend l7[L7_MAX], vlan[VLAN_MAX];
    uint16_t l7_used[L7_MAX], vlan_used[VLAN_MAX];
    unsigned nl7, nvlan, nport;
    struct aggr_pend port[PORT_IDS]; /* 12 MB of zeroed pages, resident where ports were seen */
    uint32_t port_used[PORT_IDS];
    struct mac_pend mac[MAC_PEND_SLOTS];
    uint64_t macs_reported;          /* cache clock of this worker's last macs_report */
    const struct host *host_key[HOST_PEND_SLOTS];   /* the index: NULL = free */
    uint16_t host_at[HOST_PEND_SLOTS];               /* where host_key's host is in host[] */
    struct host_pend host[HOST_PEND_MAX];
    unsigned nhost;
};

struct worker_pend *worker_pend_new(void)
{
    return calloc(1, sizeof(struct worker_pend));
}

/* ---- aggregates (l7, vlan, port): counted per worker, folded in at each tick ---- */

/* The pending counters of aggregate id of table t (CT_L7, CT_VLAN, CT_PORT). */
static struct aggr_pend *pend_aggr(struct worker *w, enum cache_table t, unsigned id)
{
    struct worker_pend *pd = w->pend;
    struct aggr_pend *a = t == CT_L7 ? &pd->l7[id] : t == CT_VLAN ? &pd->vlan[id] : &pd->port[id];
    if (!a->used) {
        a->used = 1;
        if (t == CT_L7)
            pd->l7_used[pd->nl7++] = (uint16_t)id;
        else if (t == CT_VLAN)
            pd->vlan_used[pd->nvlan++] = (uint16_t)id;
        else
            pd->port_used[pd->nport++] = id;
    }
    return a;
}

/* What aggr_live did per packet: the first live touch of the window records
 * when, so the fold can restart an aggregate that had died by then. */
static struct aggr_pend *pend_aggr_live(struct worker *w, enum cache_table t, unsigned id, uint64_t ts)
{
    struct aggr_pend *a = pend_aggr(w, t, id);
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

static void pend_packet(struct aggr_pend *a, uint32_t len, uint64_t ts)
{
    a->bytes += len;
    a->pkts++;
    if (ts > a->last_us) a->last_us = ts;
}

void aggr_account(struct worker *w, const struct pkt_result *r, uint32_t len, uint64_t ts)
{
    struct aggr_pend *v = pend_aggr_live(w, CT_VLAN, r->key.vlan, ts);
    struct aggr_pend *l = pend_aggr_live(w, CT_L7, r->l7_new, ts);
    int l4 = port_l4_index(r->key.l4proto);
    struct aggr_pend *pt = l4 >= 0 ? pend_aggr_live(w, CT_PORT, (unsigned)l4 << 16 | r->key.sport, ts) : NULL;
    if (r->is_new) {
        v->flows++;
        l->flows++;
        l->flows_active++;
        if (pt) {
            pt->flows++;
            pt->flows_active++;
        }
    } else if (r->l7_changed) {
        pend_move(pend_aggr(w, CT_L7, r->l7_old), l, r->prev_bytes, r->prev_pkts);
    }
    pend_packet(v, len, ts);
    pend_packet(l, len, ts);
    if (pt)
        pend_packet(pt, len, ts);
}

void aggr_l7_move(struct worker *w, uint16_t from, uint16_t to, uint64_t bytes, uint64_t pkts)
{
    pend_move(pend_aggr(w, CT_L7, from), pend_aggr(w, CT_L7, to), bytes, pkts);
}

void aggr_flow_ended(struct worker *w, const struct flow *f)
{
    pend_aggr(w, CT_L7, f->l7)->flows_active--;
    int l4 = port_l4_index(f->key.l4proto);
    if (l4 >= 0)
        pend_aggr(w, CT_PORT, (unsigned)l4 << 16 | f->key.sport)->flows_active--;
}

static void aggr_fold_one(struct cache *c, struct aggr *a, struct aggr_pend *p)
{
    if (p->live && !aggr_alive(&c->cfg, a, p->first_now)) {
        /* restarted, but flows.active (0 or below) is kept: below 0, another
         * worker has folded the end of a flow whose start a fold still brings */
        int64_t active = a->flows_active;
        memset(a, 0, sizeof(*a));
        a->flows_active = active;
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

/* Folds the pending VLAN, L7 and port counters into the cache under one lock. */
static void aggr_fold(struct worker *w)
{
    struct worker_pend *pd = w->pend;
    struct cache *c = w->cache;
    if (!pd->nl7 && !pd->nvlan && !pd->nport)
        return;
    pthread_mutex_lock(&c->aggr_lock);
    for (unsigned i = 0; i < pd->nl7; i++)
        aggr_fold_one(c, &c->l7[pd->l7_used[i]], &pd->l7[pd->l7_used[i]]);
    for (unsigned i = 0; i < pd->nvlan; i++)
        aggr_fold_one(c, &c->vlan[pd->vlan_used[i]], &pd->vlan[pd->vlan_used[i]]);
    for (unsigned i = 0; i < pd->nport; i++)
        aggr_fold_one(c, &c->port[pd->port_used[i]], &pd->port[pd->port_used[i]]);
    pthread_mutex_unlock(&c->aggr_lock);
    pd->nl7 = pd->nvlan = pd->nport = 0;
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
    if (h && !host_held(h) && cache_due(c, w->group, host_expire_at(&c->cfg, h))) {
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
    cache_count(c, w->id, CC_HOSTS_CREATED);
    *created = 1;
    return h;
}


/* 1 when p's source MAC is its source host's: not when the frame carried the
 * packet through a tunnel (GRE, GTP-U, VXLAN, IP-in-IP), whose outer MAC is
 * the tunnel endpoint's. */
static inline int mac_is_senders(const struct decoded_pkt *p)
{
    return !(p->tunnels & (DEC_TUN_GRE | DEC_TUN_GTPU | DEC_TUN_VXLAN | DEC_TUN_IPIP));
}

/* ---- pending host counters: a flow's later packets count its hosts without their lock ---- */

/* 1 when the worker counts its flows' later packets on their hosts in its
 * pending table: when several capture threads share the cache, where it
 * spares them the host shard locks and cache lines they would pass back and
 * forth. One thread alone finds the lock uncontended and the host's line in
 * its cache; the table and its folds cost it as much as they save (figures:
 * the commit that made this switch), so it counts under the lock. */
static inline int hosts_pend_on(const struct worker *w)
{
    return atomic_load_explicit(&w->cache->workers, memory_order_relaxed) > 1;
}

static unsigned host_pend_first(const struct host *h)
{
    return (unsigned)(((uint64_t)(uintptr_t)h * 0x9E3779B97F4A7C15ULL) >> 52) & (HOST_PEND_SLOTS - 1);
}

/* The worker's pending entry of h, or NULL when it has none. */
static inline struct host_pend *host_pend_find(struct worker_pend *pd, const struct host *h)
{
    if (!pd->nhost)                  /* always so with one capture thread: no index to read */
        return NULL;
    for (unsigned i = host_pend_first(h); pd->host_key[i]; i = (i + 1) & (HOST_PEND_SLOTS - 1))
        if (pd->host_key[i] == h)
            return &pd->host[pd->host_at[i]];
    return NULL;
}

/* Takes an entry for h (which has none) and pins h; nothing when the table
 * is full (flow_update folds it once its locks are released). Caller holds
 * h's shard lock. */
static void host_pend_pin(struct worker_pend *pd, struct host *h)
{
    if (pd->nhost >= HOST_PEND_MAX)
        return;
    unsigned i = host_pend_first(h);
    while (pd->host_key[i])
        i = (i + 1) & (HOST_PEND_SLOTS - 1);
    pd->host_key[i] = h;
    pd->host_at[i] = (uint16_t)pd->nhost;
    pd->host[pd->nhost++] = (struct host_pend){ .h = h, .c = { .first_us = UINT64_MAX } };
    h->pins++;
}

/* Counts p (seen at ts, its dissectors' findings acts or NULL) in e, as
 * host_account would count it on the host. */
static inline void host_pend_count(struct host_pend *e, const struct decoded_pkt *p, int is_src, uint64_t ts,
                                   const struct app_actions *acts, int client)
{
    struct host_counts *c = &e->c;
    if (is_src) { c->bytes_sent += p->l3_len; c->pkts_sent++; }
    else { c->bytes_rcvd += p->l3_len; c->pkts_rcvd++; }
    if (ts > c->last_us) c->last_us = ts;
    if (ts < c->first_us) c->first_us = ts;
    if (is_src && p->has_mac && (!c->has_mac || ts >= c->mac_us) &&
        mac_is_senders(p)) {
        memcpy(c->mac, p->src_mac, 6);
        c->has_mac = 1;
        c->mac_us = ts;
    }
    if (acts && acts->n) {
        worker_host_apply_actions(&c->app, acts, client, ts);
        c->has_app = 1;
    }
}

/* Adds e's counts to its host, as if each packet had been counted there in
 * turn (the newest MAC wins, a tie going to the later packet), and empties
 * them; the host keeps its pin. Caller holds the host's shard lock s. */
static void host_pend_add(struct cache_shard *s, struct host_pend *e)
{
    struct host *h = e->h;
    struct host_counts *c = &e->c;
    if (!c->pkts_sent && !c->pkts_rcvd)
        return;
    h->bytes_sent += c->bytes_sent;
    h->pkts_sent += c->pkts_sent;
    h->bytes_rcvd += c->bytes_rcvd;
    h->pkts_rcvd += c->pkts_rcvd;
    if (c->last_us > h->last_us) h->last_us = c->last_us;
    if (c->first_us < h->first_us) h->first_us = c->first_us;
    if (c->has_mac && c->mac_us >= h->mac_us) {
        memcpy(h->mac, c->mac, 6);
        h->has_mac = 1;
        h->mac_us = c->mac_us;
    }
    if (c->has_app)
        worker_host_app_add(&h->app, &c->app);
    shard_touch(s, &h->link);
    *c = (struct host_counts){ .first_us = UINT64_MAX };
}

/* Adds every pending host count to its host and unpins the hosts, one lock
 * per host shard. Caller holds no cache lock. */
static void hosts_fold(struct worker *w)
{
    struct worker_pend *pd = w->pend;
    uint16_t order[HOST_PEND_MAX];   /* the entries by shard, each shard's in the order taken */
    unsigned start[CACHE_SHARDS + 1] = { 0 };
    if (!pd->nhost)
        return;
    for (unsigned i = 0; i < pd->nhost; i++)
        start[(pd->host[i].h->link.hash & (CACHE_SHARDS - 1)) + 1]++;
    for (unsigned k = 0; k < CACHE_SHARDS; k++)
        start[k + 1] += start[k];
    unsigned next[CACHE_SHARDS];
    memcpy(next, start, sizeof(next));
    for (unsigned i = 0; i < pd->nhost; i++)
        order[next[pd->host[i].h->link.hash & (CACHE_SHARDS - 1)]++] = (uint16_t)i;
    for (unsigned k = 0; k < CACHE_SHARDS; k++) {
        if (start[k] == start[k + 1])
            continue;
        struct cache_shard *s = &w->cache->hosts[k];
        lock_acquire(&s->lock);
        for (unsigned i = start[k]; i < start[k + 1]; i++) {
            struct host_pend *e = &pd->host[order[i]];
            host_pend_add(s, e);
            e->h->pins--;
        }
        lock_release(&s->lock);
    }
    pd->nhost = 0;
    memset(pd->host_key, 0, sizeof(pd->host_key));
}

void hosts_fold_if_full(struct worker *w)
{
    if (w->pend->nhost >= HOST_PEND_MAX)
        hosts_fold(w);
}

/* Starts loading what host_account will touch (the flow's hosts, or the
 * bucket slots their lookup reads), so the cache misses overlap nDPI's work.
 * Fills hash[0] (source) and hash[1] (destination) when a lookup is needed,
 * and pend[0] / pend[1] with the worker's pending entries of the flow's hosts
 * (NULL: none). A host with an entry is likely counted there: it is not loaded
 * (nor its cache line taken from another worker). */
void hosts_prefetch(struct worker *w, const struct decoded_pkt *p, const struct flow *f,
                    int c2s, uint64_t hash[2], struct host_pend *pend[2])
{
    int shared = hosts_pend_on(w);
    for (int i = 0; i < 2; i++) {
        const struct host *h = f->hosts[(c2s ? 0 : 1) ^ i];
        hash[i] = 0;
        pend[i] = NULL;
        if (h) {
            if (!shared || !(pend[i] = host_pend_find(w->pend, h))) {
                __builtin_prefetch(h, 1);
                __builtin_prefetch(&h->last_us, 1);
            }
            continue;
        }
        hash[i] = host_key_hash(p->ip_version, i ? p->dst : p->src);
        const struct cache_shard *s = cache_shard_for(w->cache->hosts, hash[i]);
        __builtin_prefetch(&s->buckets[cache_bucket_of(s, hash[i])]);
        __builtin_prefetch(&s->lock, 1);   /* and the lock, for writing: it is taken next */
    }
}

/* host_account's path under the host's shard lock: a lookup when the flow
 * holds no host, a new flow's roles, VLAN counters. The worker's pending
 * counts for the host go in first (so the host sees the worker's packets in
 * order); a host the flow holds gets a pending entry. */
static __attribute__((noinline)) void host_account_locked(struct worker *w, const struct decoded_pkt *p,
                                                          int is_src, int role, uint64_t ts, struct host **ref,
                                                          const struct app_actions *acts, int client,
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
        struct host_pend *e = host_pend_find(w->pend, h);
        if (e && (e->c.pkts_sent || e->c.pkts_rcvd))
            host_pend_add(s, e);
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
            mac_is_senders(p)) {
            memcpy(h->mac, p->src_mac, 6);
            h->has_mac = 1;
            h->mac_us = ts;
        }
        if (acts && acts->n)
            worker_host_apply_actions(&h->app, acts, client, ts);
        shard_touch(s, &h->link);
        if (!e && *ref == h && hosts_pend_on(w))
            host_pend_pin(w->pend, h);
    }
    lock_release(&s->lock);
    if (created)
        flow_events_host_new(&w->events, p->ip_version, addr, p, is_src, ts);
}

/* Counts one packet on the host at the packet's source (is_src) or
 * destination. *ref is the flow's reference to that host: when set, no lookup
 * is needed; when a new flow starts (role) and the host can be had, the flow
 * takes a flows.active count on it and *ref is set. acts (what the packet's
 * dissectors found, or NULL) are applied to the host's fields as the flow's
 * client (client) or server. Caller holds the flow's shard lock (lock order:
 * flow, then host).
 * A packet of a flow that holds the host, starting nothing and untagged
 * (the common one) is counted, with what its dissectors found, in the worker's
 * pending entry of the host pend (from hosts_prefetch; NULL: none), without
 * the host's lock; any other packet takes the lock. */
void host_account(struct worker *w, const struct decoded_pkt *p, int is_src,
                  int role, uint64_t ts, struct host **ref, const struct app_actions *acts,
                  int client, uint64_t hash, struct host_pend *pend)
{
    if (pend && role == ROLE_NONE && !p->vlan)
        host_pend_count(pend, p, is_src, ts, acts, client);
    else
        host_account_locked(w, p, is_src, role, ts, ref, acts, client, hash);
}

/* A flow that held a count on h ended. The worker's pending counts for h go
 * in first: the MAC the flow's end reports is the host's newest. */
void host_flow_ended(struct worker *w, struct host *h, struct flow_end_macs *macs, int i)
{
    macs->has[i] = 0;
    if (!h)
        return;
    struct cache_shard *s = cache_shard_for(w->cache->hosts, h->link.hash);
    lock_acquire(&s->lock);
    struct host_pend *e = host_pend_find(w->pend, h);
    if (e)
        host_pend_add(s, e);
    if (h->flows_active > 0)
        h->flows_active--;
    if (h->has_mac) {
        memcpy(macs->mac[i], h->mac, 6);
        macs->seen_us[i] = h->mac_us;
        macs->has[i] = 1;
    }
    lock_release(&s->lock);
}

void mac_report(struct worker *w, struct mac_entry *m, uint64_t now)
{
    struct flow_events_mac r = {
        .mac = m->mac, .bytes_sent = m->bytes_sent - m->rep_bytes_sent, .bytes_rcvd = m->bytes_rcvd - m->rep_bytes_rcvd,
        .pkts_sent = m->pkts_sent - m->rep_pkts_sent, .pkts_rcvd = m->pkts_rcvd - m->rep_pkts_rcvd,
        .first_us = m->first_us, .last_us = m->last_us,
    };
    if (m->has_ip && m->ip_us != m->rep_ip_us) {
        r.ipver = m->ipver;
        r.ip = m->ip;
        r.ip_us = m->ip_us;
    }
    flow_events_mac(&w->events, &r, now);
    m->rep_bytes_sent = m->bytes_sent;
    m->rep_bytes_rcvd = m->bytes_rcvd;
    m->rep_pkts_sent = m->pkts_sent;
    m->rep_pkts_rcvd = m->pkts_rcvd;
    m->rep_ip_us = m->ip_us;
    m->dirty = 0;
}

void macs_report(struct worker *w, uint64_t now, int all)
{
    struct cache *c = w->cache;
    struct worker_pend *pd = w->pend;
    if (!pd || !event_wanted(EV_MAC) || (!all && pd->macs_reported && now < pd->macs_reported + MAC_REPORT_US))
        return;
    pd->macs_reported = now;
    for (int i = 0; i < CACHE_SHARDS; i++) {
        struct cache_shard *s = &c->macs[i];
        lock_acquire(&s->lock);   /* every dirty entry: the tail stays the dirty ones */
        for (struct centry *e = s->lru_tail; e && ((struct mac_entry *)e)->dirty; e = e->lprev)
            mac_report(w, (struct mac_entry *)e, now);
        lock_release(&s->lock);
    }
}

/* Adds one slot of pending MAC counters to its cache entry (made when
 * missing) and empties the slot. */
__attribute__((cold, noinline)) static void mac_flush(struct worker *w, struct mac_pend *d)
{
    struct cache *c = w->cache;
    const uint8_t *mac = d->mac;
    uint64_t hash = mac_key_hash(mac);
    struct cache_shard *s = cache_shard_for(c->macs, hash);
    lock_acquire(&s->lock);
    struct mac_entry *m = shard_find_mac(s, hash, mac);
    if (m && mac_expire_at(&c->cfg, m) <= d->first_now) {
        struct centry link = m->link;
        if (m->dirty)                   /* its last counts go before it starts again */
            mac_report(w, m, d->first_now);
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
        m->dirty = 1;
        shard_touch(s, &m->link);
    }
    lock_release(&s->lock);
    memset(d, 0, sizeof(*d));
}

/* The worker's pending slot of mac, ready to count a packet seen at ts (a
 * few MACs, the routers', carry most traffic); a slot taken by another MAC
 * is flushed first. */
static inline struct mac_pend *mac_pend_slot(struct worker *w, const uint8_t *mac, uint64_t ts)
{
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
    if (ts > d->last_us) d->last_us = ts;
    return d;
}

/* Counts one packet on its source MAC (which also learns the packet's
 * source address), then on its destination MAC. */
void macs_account(struct worker *w, const struct decoded_pkt *p, uint64_t ts)
{
    struct mac_pend *d = mac_pend_slot(w, p->src_mac, ts);
    d->bytes_sent += p->l3_len;
    d->pkts_sent++;
    if (ts >= d->ip_us && mac_is_senders(p)) {
        memcpy(d->ip, p->src, 16);
        d->ipver = p->ip_version;
        d->has_ip = 1;
        d->ip_us = ts;
    }
    d = mac_pend_slot(w, p->dst_mac, ts);
    d->bytes_rcvd += p->l3_len;
    d->pkts_rcvd++;
}

static void macs_fold(struct worker *w)
{
    for (unsigned i = 0; i < MAC_PEND_SLOTS; i++)
        if (w->pend->mac[i].used)
            mac_flush(w, &w->pend->mac[i]);
}

/* Makes every pending host, MAC, VLAN, L7 and port counter visible in the cache. */
void worker_fold(struct worker *w)
{
    if (!w->pend)
        return;
    hosts_fold(w);
    macs_fold(w);
    aggr_fold(w);
}
