/* cache.c - sharded tables of the flow cache and their locked reads (written by capture threads, read by the loop). */
#include "capture/cache/cache.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

enum { CACHE_POOLS = 2 + CACHE_NAME_POOLS };

/* Pool i of the cache: flows, hosts, then the name pools by size (for what is done to all alike). */
static struct pool *pool_at(struct cache *c, int i)
{
    return i == 0 ? &c->flow_pool : i == 1 ? &c->host_pool : &c->name_pool[i - 2];
}

/* n zeroed bytes (a multiple of the page size) for bucket arrays, in huge pages when n is a
 * multiple of them (pool_map_huge): a packet reads a bucket at random, which with 4 kB pages costs
 * a TLB miss each time. NULL when the system has no memory. */
static struct centry **buckets_map(size_t n)
{
    if (n % POOL_HUGE_PAGE == 0)
        return pool_map_huge(n);
    void *m = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return m == MAP_FAILED ? NULL : m;
}

/* Bytes of table tab's bucket mapping (every shard has as many buckets). */
static size_t table_bytes(const struct cache_shard *tab)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    size_t n = (size_t)tab[0].nbuckets * CACHE_SHARDS * sizeof(*tab[0].buckets);
    return (n + pg - 1) & ~(pg - 1);
}

/* Prepares the CACHE_SHARDS shards of table tab, each with nbuckets (rounded up to a power of
 * two) buckets, all in one mapping. Returns 0, or -1 (out of memory: tab is left empty). */
static int table_init(struct cache_shard *tab, uint32_t nbuckets)
{
    uint32_t n = 16;
    while (n < nbuckets)
        n <<= 1;
    memset(tab, 0, CACHE_SHARDS * sizeof(*tab));
    tab[0].nbuckets = n;
    struct centry **b = buckets_map(table_bytes(tab));
    if (!b) {
        tab[0].nbuckets = 0;
        return -1;
    }
    for (int i = 0; i < CACHE_SHARDS; i++) {
        tab[i].buckets = b + (size_t)i * n;
        tab[i].nbuckets = n;
        lock_init(&tab[i].lock);
    }
    return 0;
}

struct cache *cache_create(const struct cache_config *cfg)
{
    struct cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->cfg = *cfg;
    /* the factor two of the thread count, up to the shard bits (cache_flow_hash) */
    for (uint32_t n = cfg->lanes; n && !(n & 1) && c->flow_lane_mask < CACHE_SHARDS - 1; n >>= 1)
        c->flow_lane_mask = c->flow_lane_mask << 1 | 1;
    budget_init(&c->budget, cfg->maxmemory);
    static const uint32_t name_slot[CACHE_NAME_POOLS] = CACHE_NAME_SLOTS;
    int bad = pool_init(&c->flow_pool, &c->budget, sizeof(struct flow)) != 0 ||
              pool_init(&c->host_pool, &c->budget, sizeof(struct host)) != 0;
    for (int i = 0; i < CACHE_NAME_POOLS; i++)
        bad |= pool_init(&c->name_pool[i], &c->budget, name_slot[i]) != 0;
    if (bad) {
        free(c);
        return NULL;
    }
    uint64_t per_shard = cfg->max_flows / CACHE_SHARDS + 1;
    if (per_shard > (1u << 22))
        per_shard = 1u << 22;
    if (table_init(c->flows, (uint32_t)per_shard) || table_init(c->hosts, (uint32_t)per_shard / 2) ||
        table_init(c->macs, 64) || table_init(c->names, (uint32_t)per_shard / 4)) {
        cache_destroy(c);
        return NULL;
    }
    pthread_mutex_init(&c->aggr_lock, NULL);
    pthread_mutex_init(&c->queue_lock, NULL);
    return c;
}

void cache_limits_set(struct cache *c, const struct cache_config *cfg)
{
    c->cfg.flow_idle_us = cfg->flow_idle_us;
    c->cfg.flow_lifetime_us = cfg->flow_lifetime_us;
    c->cfg.host_idle_us = cfg->host_idle_us;
    c->cfg.tcp_close_grace_us = cfg->tcp_close_grace_us;
    c->cfg.max_flows = cfg->max_flows;
    c->cfg.maxmemory = cfg->maxmemory;
    budget_set_cap(&c->budget, cfg->maxmemory);
}

static void shard_free_all(struct cache *c, struct cache_shard *s, int is_flow)
{
    if (!s->buckets)
        return;
    for (uint32_t b = 0; b < s->nbuckets; b++) {
        struct centry *e = s->buckets[b];
        while (e) {
            struct centry *next = e->hnext;
            if (is_flow) {
                if (c->hooks.flow_release)
                    c->hooks.flow_release((struct flow *)e, c->hooks.arg);
                pool_free(&c->flow_pool, e);
            } else if (s >= c->hosts && s < c->hosts + CACHE_SHARDS) {
                host_clear(NULL, (struct host *)e);
                pool_free(&c->host_pool, e);
            } else if (s >= c->names && s < c->names + CACHE_SHARDS) {
                pool_free_slot(e);
            } else {
                free(e);
            }
            e = next;
        }
    }
}

/* Frees what table tab's shards hold, then their buckets. */
static void table_free_all(struct cache *c, struct cache_shard *tab, int is_flow)
{
    if (!tab[0].buckets)
        return;
    for (int i = 0; i < CACHE_SHARDS; i++)
        shard_free_all(c, &tab[i], is_flow);
    munmap(tab[0].buckets, table_bytes(tab));
    for (int i = 0; i < CACHE_SHARDS; i++)
        tab[i].buckets = NULL;
}

/* Faults in writable the whole pages inside each shard's bucket array of table tab. */
static void buckets_populate(struct cache_shard *tab)
{
#ifdef MADV_POPULATE_WRITE
    uintptr_t pg = (uintptr_t)sysconf(_SC_PAGESIZE);
    for (int i = 0; i < CACHE_SHARDS; i++) {
        uintptr_t from = ((uintptr_t)tab[i].buckets + pg - 1) & ~(pg - 1);
        uintptr_t to = ((uintptr_t)(tab[i].buckets + tab[i].nbuckets)) & ~(pg - 1);
        if (to > from)
            madvise((void *)from, to - from, MADV_POPULATE_WRITE);
    }
#else
    (void)tab;
#endif
}

void cache_tables_populate(struct cache *c)
{
    buckets_populate(c->flows);
    buckets_populate(c->hosts);
    buckets_populate(c->names);
}

void cache_destroy(struct cache *c)
{
    if (!c)
        return;
    table_free_all(c, c->flows, 1);
    table_free_all(c, c->hosts, 0);
    table_free_all(c, c->macs, 0);
    table_free_all(c, c->names, 0);
    pthread_mutex_destroy(&c->aggr_lock);
    pthread_mutex_destroy(&c->queue_lock);
    for (int i = 0; i < CACHE_POOLS; i++)
        pool_destroy(pool_at(c, i));
    free(c);
}

size_t cache_memory_trim(struct cache *c)
{
    size_t n = 0;
    for (int i = 0; i < CACHE_POOLS; i++)
        n += pool_trim(pool_at(c, i));
    return n;
}

uint64_t cache_pool_spare_bytes(struct cache *c)
{
    uint64_t n = 0;
    for (int i = 0; i < CACHE_POOLS; i++)
        n += pool_spare(pool_at(c, i));
    return n * POOL_CHUNK;
}

struct pool *cache_name_pool(struct cache *c, size_t size)
{
    for (int i = 0; i < CACHE_NAME_POOLS; i++)
        if (size <= c->name_pool[i].size)
            return &c->name_pool[i];
    return NULL;
}

void cache_worker_add(struct cache *c, int id)
{
    int want = id < 0 || id >= CACHE_WORKERS - 1 ? CACHE_WORKERS : id + 1;
    int have = atomic_load(&c->nwcounts);
    while (have < want && !atomic_compare_exchange_weak(&c->nwcounts, &have, want))
        ;
}

static uint64_t wcounts_sum(const struct cache *c, enum cache_count k)
{
    int n = atomic_load_explicit(&c->nwcounts, memory_order_relaxed);
    uint64_t sum = 0;
    for (int i = 0; i < n; i++)
        sum += atomic_load_explicit(&c->wcounts[i].n[k], memory_order_relaxed);
    return sum;
}

void cache_counts_get(const struct cache *c, struct cache_counts *out)
{
    /* ends first: a flow made and ended between the two reads then never shows as -1 active */
    out->flows_expired = wcounts_sum(c, CC_FLOWS_EXPIRED);
    out->hosts_expired = wcounts_sum(c, CC_HOSTS_EXPIRED);
    out->flows_created = wcounts_sum(c, CC_FLOWS_CREATED);
    out->hosts_created = wcounts_sum(c, CC_HOSTS_CREATED);
    out->flows_active = out->flows_created - out->flows_expired;
    out->hosts_active = out->hosts_created - out->hosts_expired;
}

/* Is flows_taken within CACHE_ROOM_NEAR of max_flows? Then room goes one flow at a time. */
static int room_near(const struct cache *c, uint64_t taken)
{
    return taken + CACHE_ROOM_NEAR > c->cfg.max_flows;
}

int cache_flow_room_take(struct cache *c, uint32_t *held)
{
    if (*held) {
        (*held)--;
        return 1;
    }
    uint64_t t = atomic_load_explicit(&c->flows_taken, memory_order_relaxed);
    for (;;) {
        uint64_t want = room_near(c, t) ? 1 : CACHE_ROOM_BATCH;
        if (t + want > c->cfg.max_flows)
            return 0;
        if (atomic_compare_exchange_weak_explicit(&c->flows_taken, &t, t + want, memory_order_relaxed,
                                                  memory_order_relaxed)) {
            *held = (uint32_t)(want - 1);
            return 1;
        }
    }
}

void cache_flow_room_give(struct cache *c, uint32_t *held)
{
    uint64_t t = atomic_load_explicit(&c->flows_taken, memory_order_relaxed);
    if (room_near(c, t)) {           /* near the cap: all of it back, so other threads may use it */
        atomic_fetch_sub_explicit(&c->flows_taken, (uint64_t)*held + 1, memory_order_relaxed);
        *held = 0;
    } else if (++*held > 2 * CACHE_ROOM_BATCH) {
        atomic_fetch_sub_explicit(&c->flows_taken, *held - CACHE_ROOM_BATCH, memory_order_relaxed);
        *held = CACHE_ROOM_BATCH;
    }
}

void cache_flow_room_return(struct cache *c, uint32_t *held)
{
    atomic_fetch_sub_explicit(&c->flows_taken, *held, memory_order_relaxed);
    *held = 0;
}

int cache_flows_full(const struct cache *c)
{
    return atomic_load_explicit(&c->flows_taken, memory_order_relaxed) >= c->cfg.max_flows;
}

void cache_hooks_set(struct cache *c, const struct cache_hooks *h)
{
    c->hooks = *h;
}

void cache_clock_advance(struct cache *c, uint64_t t)
{
    /* release: whoever reads this time (cache_expiry_now) also sees every
     * ring position published before the packet that brought it */
    uint64_t cur = atomic_load_explicit(&c->now_us, memory_order_relaxed);
    while (t > cur && !atomic_compare_exchange_weak_explicit(&c->now_us, &cur, t,
                                                             memory_order_release,
                                                             memory_order_relaxed)) {}
}

uint64_t cache_expiry_now(struct cache *c, const void *group)
{
    /* The clock first: a packet queued before the one that set it is then
     * visible in its queue's tail (a later one is no older than the clock). */
    uint64_t t = atomic_load_explicit(&c->now_us, memory_order_acquire);
    if (!group)
        return t;
    int n = atomic_load_explicit(&c->nqueues, memory_order_acquire);
    for (int i = 0; i < n; i++) {
        struct cache_queue *q = &c->queues[i];
        if (!atomic_load_explicit(&q->used, memory_order_acquire) || q->group != group)
            continue;
        size_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);
        if (atomic_load_explicit(&q->head, memory_order_acquire) >= tail)
            continue;                /* drained: holds nothing back */
        uint64_t qc = atomic_load_explicit(&q->clock, memory_order_relaxed);
        if (qc < t)
            t = qc;
    }
    return t;
}

struct cache_queue *cache_queue_add(struct cache *c, const void *group)
{
    struct cache_queue *q = NULL;
    pthread_mutex_lock(&c->queue_lock);
    for (int i = 0; i < CACHE_QUEUES && !q; i++) {
        if (atomic_load_explicit(&c->queues[i].used, memory_order_relaxed))
            continue;
        q = &c->queues[i];
        atomic_store_explicit(&q->head, 0, memory_order_relaxed);
        atomic_store_explicit(&q->tail, 0, memory_order_relaxed);
        atomic_store_explicit(&q->clock, 0, memory_order_relaxed);
        q->group = group;
        atomic_store_explicit(&q->used, 1, memory_order_release);
        if (i >= atomic_load_explicit(&c->nqueues, memory_order_relaxed))
            atomic_store_explicit(&c->nqueues, i + 1, memory_order_release);
    }
    pthread_mutex_unlock(&c->queue_lock);
    return q;
}

void cache_queue_drop(struct cache *c, struct cache_queue *q)
{
    if (!q)
        return;
    pthread_mutex_lock(&c->queue_lock);
    atomic_store_explicit(&q->used, 0, memory_order_release);
    pthread_mutex_unlock(&c->queue_lock);
}

/* ---- intrusive lists ---- */

static void list_remove(struct centry **head, struct centry **tail, struct centry *e)
{
    if (e->lprev) e->lprev->lnext = e->lnext; else *head = e->lnext;
    if (e->lnext) e->lnext->lprev = e->lprev; else *tail = e->lprev;
    e->lprev = e->lnext = NULL;
}

static void list_append(struct centry **head, struct centry **tail, struct centry *e)
{
    e->lnext = NULL;
    e->lprev = *tail;
    if (*tail) (*tail)->lnext = e; else *head = e;
    *tail = e;
}

void shard_insert(struct cache_shard *s, struct centry *e)
{
    uint32_t b = cache_bucket_of(s, e->hash);
    e->hnext = s->buckets[b];
    s->buckets[b] = e;
    list_append(&s->lru_head, &s->lru_tail, e);
    s->count++;
}

void shard_unlink(struct cache_shard *s, struct centry *e, int on_closed_list)
{
    struct centry **pp = &s->buckets[cache_bucket_of(s, e->hash)];
    while (*pp && *pp != e)
        pp = &(*pp)->hnext;
    if (*pp)
        *pp = e->hnext;
    if (on_closed_list)
        list_remove(&s->closed_head, &s->closed_tail, e);
    else
        list_remove(&s->lru_head, &s->lru_tail, e);
    s->count--;
}

void shard_touch(struct cache_shard *s, struct centry *e)
{
    if (s->lru_tail == e)
        return;
    list_remove(&s->lru_head, &s->lru_tail, e);
    list_append(&s->lru_head, &s->lru_tail, e);
}

void shard_move_to_closed(struct cache_shard *s, struct centry *e)
{
    list_remove(&s->lru_head, &s->lru_tail, e);
    list_append(&s->closed_head, &s->closed_tail, e);
}

/* ---- hashing and lookup ---- */

uint64_t host_key_hash(uint8_t ipver, const uint8_t addr[16])
{
    uint64_t a, b;
    memcpy(&a, addr, 8);
    memcpy(&b, addr + 8, 8);
    return hash_mix64(hash_mix64(a ^ ipver) ^ b);
}

uint64_t mac_key_hash(const uint8_t mac[6])
{
    uint64_t v = 0;
    memcpy(&v, mac, 6);
    return hash_mix64(v ^ 0x5bd1e995);
}

struct flow *shard_find_flow(struct cache_shard *s, uint64_t hash, const struct flow_key *k)
{
    for (struct centry *e = s->buckets[cache_bucket_of(s, hash)]; e; e = e->hnext)
        if (e->hash == hash && flow_key_equal(&((struct flow *)e)->key, k))
            return (struct flow *)e;
    return NULL;
}

struct host *shard_find_host(struct cache_shard *s, uint64_t hash, uint8_t ipver, const uint8_t *addr)
{
    for (struct centry *e = s->buckets[cache_bucket_of(s, hash)]; e; e = e->hnext) {
        struct host *h = (struct host *)e;
        if (e->hash == hash && h->ipver == ipver && memcmp(h->addr, addr, 16) == 0)
            return h;
    }
    return NULL;
}

struct mac_entry *shard_find_mac(struct cache_shard *s, uint64_t hash, const uint8_t mac[6])
{
    for (struct centry *e = s->buckets[cache_bucket_of(s, hash)]; e; e = e->hnext)
        if (e->hash == hash && memcmp(((struct mac_entry *)e)->mac, mac, 6) == 0)
            return (struct mac_entry *)e;
    return NULL;
}

struct host_vlan *host_vlan_slot(struct cache *c, struct host *h, uint16_t vlan)
{
    for (unsigned i = 0; i < h->nvlans; i++)
        if (h->vlans[i].id == vlan)
            return &h->vlans[i];
    if (h->nvlans >= HOST_VLANS_MAX)
        return NULL;
    if (h->nvlans == h->vlans_cap) {
        unsigned cap = h->vlans_cap ? h->vlans_cap * 2u : 1u;
        struct host_vlan *v = realloc(h->vlans, cap * sizeof(*v));
        if (!v)
            return NULL;
        budget_charge(&c->budget, (cap - h->vlans_cap) * sizeof(*v));
        h->vlans = v;
        h->vlans_cap = (uint8_t)cap;
    }
    struct host_vlan *v = &h->vlans[h->nvlans++];
    memset(v, 0, sizeof(*v));
    v->id = vlan;
    return v;
}

void host_clear(struct cache *c, struct host *h)
{
    if (c)
        budget_release(&c->budget, h->vlans_cap * sizeof(*h->vlans));
    free(h->vlans);
    h->vlans = NULL;
    h->nvlans = h->vlans_cap = 0;
}

/* ---- expiry times ---- */

uint64_t flow_expire_at(const struct cache_config *cfg, const struct flow *f)
{
    if (f->closed)
        return f->closed_us + cfg->tcp_close_grace_us;
    uint64_t idle = f->last_us + cfg->flow_idle_us;
    uint64_t life = f->first_us + cfg->flow_lifetime_us;
    return idle < life ? idle : life;
}

uint64_t host_expire_at(const struct cache_config *cfg, const struct host *h)
{
    return h->last_us + cfg->host_idle_us;
}

uint64_t mac_expire_at(const struct cache_config *cfg, const struct mac_entry *m)
{
    return m->last_us + cfg->host_idle_us;
}

int aggr_alive(const struct cache_config *cfg, const struct aggr *a, uint64_t now)
{
    if (a->pkts == 0 && a->flows == 0)
        return 0;
    return a->flows_active > 0 || a->last_us + cfg->host_idle_us > now;
}

/* ---- reads ---- */

int cache_flow_visit(struct cache *c, const struct flow_key *k,
                     void (*fn)(const struct flow *f, void *arg), void *arg)
{
    uint64_t h = cache_flow_hash(c, k);
    struct cache_shard *s = cache_shard_for(c->flows, h);
    lock_acquire(&s->lock);
    struct flow *f = shard_find_flow(s, h, k);
    if (f)
        fn(f, arg);
    lock_release(&s->lock);
    return f ? 0 : -1;
}

int cache_host_get(struct cache *c, uint8_t ipver, const uint8_t *addr, struct host *out)
{
    uint64_t h = host_key_hash(ipver, addr);
    struct cache_shard *s = cache_shard_for(c->hosts, h);
    lock_acquire(&s->lock);
    static _Thread_local struct host_vlan vlans[HOST_VLANS_MAX];
    struct host *e = shard_find_host(s, h, ipver, addr);
    if (e) {
        *out = *e;
        if (e->nvlans)
            memcpy(vlans, e->vlans, e->nvlans * sizeof(*vlans));
        out->vlans = vlans;
    }
    lock_release(&s->lock);
    return e ? 0 : -1;
}

int cache_mac_get(struct cache *c, const uint8_t mac[6], struct mac_entry *out)
{
    uint64_t h = mac_key_hash(mac);
    struct cache_shard *s = cache_shard_for(c->macs, h);
    lock_acquire(&s->lock);
    struct mac_entry *e = shard_find_mac(s, h, mac);
    if (e)
        *out = *e;
    lock_release(&s->lock);
    return e ? 0 : -1;
}

unsigned cache_aggr_ids(enum cache_table t)
{
    return t == CT_L7 ? L7_MAX : t == CT_VLAN ? VLAN_MAX : t == CT_PORT ? PORT_IDS : 0;
}

/* The aggregates of table t, NULL for a table that is not one. */
static const struct aggr *aggr_table(const struct cache *c, enum cache_table t)
{
    return t == CT_L7 ? c->l7 : t == CT_VLAN ? c->vlan : t == CT_PORT ? c->port : NULL;
}

int cache_aggr_get(struct cache *c, enum cache_table t, unsigned id, struct aggr *out)
{
    const struct aggr *tab = aggr_table(c, t);
    if (!tab || id >= cache_aggr_ids(t))
        return -1;
    pthread_mutex_lock(&c->aggr_lock);
    *out = tab[id];
    pthread_mutex_unlock(&c->aggr_lock);
    return aggr_alive(&c->cfg, out, cache_now(c)) ? 0 : -1;
}

static struct cache_shard *table_shards(struct cache *c, enum cache_table t)
{
    switch (t) {
    case CT_FLOW: return c->flows;
    case CT_HOST: return c->hosts;
    case CT_MAC: return c->macs;
    case CT_NAME: return c->names;
    default: return NULL;
    }
}

/* The entries of s on its lists (idle order, then closed flows) in buckets >= from,
 * until fn took `want` of them. Returns how many it visited. */
static uint32_t shard_walk_lists(const struct cache_shard *s, uint32_t from, uint32_t want,
                                 cache_walk_fn fn, void *arg)
{
    uint32_t n = 0, took = 0;
    for (int l = 0; l < 2; l++)
        for (const struct centry *e = l ? s->closed_head : s->lru_head; e && took < want; e = e->lnext, n++)
            if (cache_bucket_of(s, e->hash) >= from)
                took += (uint32_t)fn(e, arg);
    return n;
}

uint32_t shard_walk(const struct cache_shard *s, uint32_t from, uint32_t max_buckets, uint32_t max_entries,
                    uint32_t want, cache_walk_fn fn, void *arg, struct cache_walk_info *info)
{
    uint32_t b = from, n = s->nbuckets;
    *info = (struct cache_walk_info){ n, 0, 0 };
    if (s->count <= max_entries) {
        info->entries = shard_walk_lists(s, from, want, fn, arg);
        return n;
    }
    for (; b < n && info->buckets < max_buckets && info->entries < max_entries; b++, info->buckets++)
        for (const struct centry *e = s->buckets[b]; e; e = e->hnext, info->entries++)
            fn(e, arg);
    return b < n ? b : n;
}

uint32_t cache_walk_step(struct cache *c, enum cache_table t, unsigned shard, uint32_t from,
                         uint32_t max_buckets, uint32_t max_entries, cache_walk_fn fn, void *arg,
                         struct cache_walk_info *info)
{
    struct cache_shard *tab = table_shards(c, t);
    *info = (struct cache_walk_info){ 0, 0, 0 };
    if (!tab || shard >= CACHE_SHARDS)
        return 0;
    struct cache_shard *s = &tab[shard];
    lock_acquire(&s->lock);
    uint32_t next = shard_walk(s, from, max_buckets, max_entries, UINT32_MAX, fn, arg, info);
    lock_release(&s->lock);
    return next;
}

unsigned cache_aggr_live(struct cache *c, enum cache_table t, uint32_t from, uint32_t *ids, unsigned max)
{
    const struct aggr *tab = aggr_table(c, t);
    unsigned n = 0, size = cache_aggr_ids(t);
    if (!tab)
        return 0;
    uint64_t now = cache_now(c);
    pthread_mutex_lock(&c->aggr_lock);
    for (unsigned id = from; id < size && n < max; id++)
        if (aggr_alive(&c->cfg, &tab[id], now))
            ids[n++] = id;
    pthread_mutex_unlock(&c->aggr_lock);
    return n;
}
