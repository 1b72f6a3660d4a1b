/* cache.h - the live flow cache: flows, hosts, MACs, VLAN and L7 aggregates, in locked shards. */
#ifndef FC_CACHE_H
#define FC_CACHE_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/cache/budget.h"
#include "capture/cache/flow_key.h"
#include "capture/cache/lock.h"
#include "capture/cache/pool.h"

/*
 * Threads: capture threads are the only writers (packet updates and expiry);
 * the loop thread reads. Every table is split in shards, each behind its own
 * mutex, held for one lookup or one update (microseconds). Lock order when
 * two are held: flow shard, then host shard, then the aggregate lock.
 * Time is the cache clock (microseconds since the epoch): packet time for
 * offline runs, wall time for live ones; it only moves forward.
 */

#define CACHE_SHARDS 64
#define L7_MAX 512                   /* nDPI 4.2 protocol ids fit below this */
#define VLAN_MAX 4096
#define HOST_VLANS_MAX 16            /* per-VLAN counters kept per host */
#define CACHE_NAME_KINDS 8           /* room for the kinds of the names table (capture/names.h) */
/* Name entries (capture/cache/names.h: a fixed part, then the name) come from slot pools of these
 * sizes, the smallest that holds the entry: with the fixed part at 416 bytes, names up to 31, 63,
 * 159 and 1055 bytes. Addresses, users and most DNS names take one of the two smaller. */
#define CACHE_NAME_SLOT_MAX 1472
#define CACHE_NAME_SLOTS { 448, 480, 576, CACHE_NAME_SLOT_MAX }
#define CACHE_NAME_POOLS 4

enum flow_end_reason { FLOW_END_IDLE, FLOW_END_LIFETIME, FLOW_END_TCP, FLOW_END_SHUTDOWN };

struct ndpi_flow_struct;
struct flow_ext;
struct host;

/* Links every entry starts with: a bucket chain and a shard LRU list. */
struct centry {
    struct centry *hnext;            /* bucket chain */
    struct centry *lprev, *lnext;    /* shard LRU (idle order) or closed list */
    uint64_t hash;
};

/* How much of a TCP flow's opening handshake the probe has seen (struct flow.hs). */
enum flow_hs { FLOW_HS_NONE = 0, FLOW_HS_SYN, FLOW_HS_SYNACK, FLOW_HS_DONE };

struct flow {
    struct centry link;
    struct flow_key key;
    uint64_t bytes[2], pkts[2];      /* [0] client->server, [1] server->client */
    uint64_t first_us, last_us, closed_us;
    struct ndpi_flow_struct *ndpi;   /* detection state, freed once l7 is final */
    struct flow_ext *ext;            /* dissector fields (NULL until a dissector writes) */
    struct host *hosts[2];           /* client, server: entries this flow holds a flows.active
                                        count on (so they stay), NULL when none could be made */
    uint16_t l7;                     /* nDPI protocol id shown as `l7` */
    uint8_t detect_pkts;             /* packets given to nDPI (it gives up at 80 at most) */
    uint8_t hs;                      /* enum flow_hs: the handshake seen so far (rtt.*) */
    uint8_t tcp_flags;               /* OR of every packet's flags */
    uint8_t fin_mask;                /* 1: client FIN, 2: server FIN */
    uint8_t closed : 1;              /* FIN both ways or RST: on the closed list */
    uint8_t detect_done : 1;
    uint8_t src;                     /* 1 + index of the capture source whose packet made the flow
                                        (0 = none): the export's observation point and interface */
    uint32_t hs_mark;                /* FLOW_HS_SYN / _SYNACK: low 32 bits of the time (us) of the
                                        last SYN / SYN-ACK; FLOW_HS_DONE: rtt.client.us */
    uint32_t rtt_server_us;          /* rtt.server.us, from FLOW_HS_SYNACK on */
};

struct host_vlan { uint16_t id; uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd; };

/* What the dissectors teach about a host (capture/flow/worker_app.c); a
 * capture thread's pending counts for a host have the same shape. */
struct host_app {
    uint64_t dns_queries, dns_nxdomain, http_requests;
    uint64_t rtt_sum_us, rtt_n;      /* as a server: the handshake round trips of its flows */
    uint64_t svc_sum_us, svc_n;      /* as a server: its HTTP and DNS answer times */
    const char *os;                  /* static string from http_ua_os(), NULL = unknown */
    uint64_t os_us;                  /* packet time of os: the newest wins, as for mac */
};

struct host {
    struct centry link;
    uint8_t addr[16];
    uint8_t ipver, has_mac, nvlans, vlans_cap;
    uint8_t mac[6];
    uint16_t pins;                   /* workers holding counts not yet added (capture/flow/flow_account.c) */
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t flows_client, flows_server, flows_active;
    uint64_t first_us, last_us;
    struct host_app app;
    uint64_t mac_us;                 /* packet time of mac: the newest wins, so the result
                                        does not depend on thread interleaving */
    struct host_vlan *vlans;         /* nvlans counters (room for vlans_cap), NULL until a
                                        tagged packet: most hosts never see one */
};

struct mac_entry {
    struct centry link;
    uint8_t mac[6];
    uint8_t ipver, has_ip;
    uint8_t ip[16];
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t first_us, last_us;
    uint64_t ip_us;                  /* packet time of `ip`: the newest wins */
    /* What the `mac` event has reported (capture/flow/flow_account.c): counters so far and the
     * ip_us it carried; dirty: counted on since (the dirty entries are the tail of the shard's LRU
     * list, as counting on an entry moves it there, and a report takes them all). */
    uint64_t rep_bytes_sent, rep_bytes_rcvd, rep_pkts_sent, rep_pkts_rcvd;
    uint64_t rep_ip_us;
    uint8_t dirty;
};

/* flows_active sums every worker's folds: below 0 for a moment when one worker
 * has ended flows another has not folded the start of yet. */
struct aggr { uint64_t bytes, pkts, flows; int64_t flows_active; uint64_t first_us, last_us; };

/* One table of entries with intrusive chains, split in locked shards. Each
 * shard starts a cache line of its own: the shards of one capture thread's
 * flows share no line with another's (cache_flow_hash). What a lookup reads
 * before it locks (the bucket array, to prefetch its slot) has a line of its
 * own too: the lock's line changes hands between the capture threads sharing
 * a host or name shard, and a read of it there is a miss. */
struct cache_shard {
    _Alignas(64) struct centry **buckets;   /* fixed at creation: cursors stay valid */
    uint32_t nbuckets;               /* power of two */
    _Alignas(64) struct lock lock;   /* the fields below are read and written under it */
    uint32_t count;
    struct centry *lru_head, *lru_tail;       /* least recently seen first */
    struct centry *closed_head, *closed_tail; /* flows only: closed TCP flows, oldest first */
    _Atomic uint64_t swept_us;       /* flows only: the time up to which the last sweep of a
                                        tick looked (capture/flow/flow_expiry.c) */
};

/*
 * What the cache calls for the state other modules hang on a flow (its
 * tenants: nDPI detection state, dissector fields), so it can free a flow
 * without knowing them (as Redis' dictType.valDestructor, Suricata's
 * registered StateFree). The flow pipeline registers them (cache_hooks_set).
 */
struct cache_hooks {
    /* Frees what hangs on f (the cache then frees f itself), at
     * cache_destroy. Nothing needs counting: the budget goes with the
     * cache. NULL: nothing hangs on flows. */
    void (*flow_release)(struct flow *f, void *arg);
    void *arg;                       /* passed to each hook */
};

/* Atomic: CONFIG SET changes them (cache_limits_set) while capture threads read them. */
struct cache_config {
    _Atomic uint64_t flow_idle_us, flow_lifetime_us, host_idle_us, tcp_close_grace_us;
    _Atomic uint64_t max_flows, maxmemory;   /* maxmemory 0 = no memory cap */
    uint64_t max_names;              /* entries of each name kind (kept per shard, as max_flows); 0 = no
                                        bound; fixed at cache_create */
    uint32_t lanes;                  /* capture threads per source (capture-threads; 0 as 1): how
                                        flows are spread over the shards; fixed at cache_create */
};

struct cache_stats {
    _Atomic uint64_t flows_dropped;
    _Atomic uint64_t names_dropped[CACHE_NAME_KINDS];   /* new names refused: max_names or maxmemory */
    _Atomic uint64_t dns_queries_evicted;    /* pending DNS queries given up on to make room
                                                (each reported as a TIMEOUT) */
};

enum { CACHE_QUEUES = 256 };

/*
 * Flows and hosts created and ended, counted by each capture worker in its
 * own padded slot (worker id; ids past the last slot share it, counted with
 * atomic adds): every flow start and end would otherwise write one line all
 * workers share. Active = created - ended, summed over the slots
 * (cache_counts_get); a flow may end on another worker than the one that
 * made it, so one slot's difference may wrap, the sum does not.
 */
enum { CACHE_WORKERS = 64 };
enum cache_count { CC_FLOWS_CREATED, CC_FLOWS_EXPIRED, CC_HOSTS_CREATED, CC_HOSTS_EXPIRED, CC_COUNTS };
struct cache_wcounts {
    _Alignas(64) _Atomic uint64_t n[CC_COUNTS];
};

/* The sums cache_counts_get reads. */
struct cache_counts {
    uint64_t flows_created, flows_expired, flows_active;
    uint64_t hosts_created, hosts_expired, hosts_active;
};

/*
 * The positions of one fanout lane's ring (capture/fanout.c: packets of one
 * source waiting for one worker), kept here so that expiry can see them.
 * Sweeps run on any worker against the whole cache, and lanes drift apart in
 * packet time (a ring holds seconds of a file read at full speed). Expiry
 * therefore never passes the clock of a queue that still holds packets: the
 * packets waiting in it are no older than the last one its worker took, so
 * no sweep ends a flow a waiting packet still belongs to (ARCHITECTURE.md
 * says what this makes exact). Padded: the producer and the consumer each
 * write their own cache line.
 */
struct cache_queue {
    _Atomic size_t head;             /* consumer: bytes taken */
    _Atomic uint64_t clock;          /* consumer: time of the last packet its worker took */
    char pad0[64 - sizeof(size_t) - sizeof(uint64_t)];
    _Atomic size_t tail;             /* producer: bytes queued */
    _Atomic int used;                /* registered (cache_queue_add); cleared by cache_queue_drop */
    const void *group;               /* the fanout it belongs to: its workers share one time */
    char pad1[64 - sizeof(size_t) - sizeof(int) - sizeof(void *)];
};

/* Capture sources whose interface index the cache keeps (src_ifindex). */
#define CACHE_SOURCES_MAX 255

/* Slots of the counting filter in front of the ipuser.<addr> names (2 MB, and a bitmap of the
 * slots in use, 32 kB): with tens of thousands of learnt users a smaller one is mostly non-zero
 * and stops saving lookups. A slot's low 32 bits count its entries, the high 32 bits are its
 * version: every change to an entry of the slot adds IPUSER_FILTER_VERSION (capture/cache/names.c). */
#define CACHE_IPUSER_FILTER (1u << 18)
#define IPUSER_FILTER_VERSION ((uint64_t)1 << 32)

struct cache {
    struct cache_config cfg;
    struct cache_shard flows[CACHE_SHARDS];
    uint64_t flow_lane_mask;         /* low bits of a flow's hash taken from its lane hash
                                        (cache_flow_hash); fixed at cache_create */
    struct cache_shard hosts[CACHE_SHARDS];
    struct cache_shard macs[CACHE_SHARDS];
    struct cache_shard names[CACHE_SHARDS];  /* dns./http./tls./user./ipuser. (capture/names.h) */
    uint32_t name_kinds[CACHE_SHARDS][CACHE_NAME_KINDS];   /* entries of each kind in each names
                                                               shard, under its lock (names.c) */
    _Atomic uint32_t src_ifindex[CACHE_SOURCES_MAX];   /* capture source i's interface index (0: a
                                        file, or not known): set by capture/source at each open */
    _Atomic uint64_t ipuser_filter[CACHE_IPUSER_FILTER];   /* NK_IPUSER entries by a hash of their
                                        binary address (names.c); the version half tells a user
                                        memo its answer still holds */
    _Atomic uint64_t ipuser_bits[CACHE_IPUSER_FILTER / 64];  /* a bit a slot: does it count any?
                                        names_user_of skips the table for an address whose bit is
                                        clear, as most are, reading only these 32 kB */
    struct pool flow_pool, host_pool;        /* where flows and hosts live (capture/pool.h) */
    struct pool name_pool[CACHE_NAME_POOLS]; /* and name entries, by size (cache_name_pool) */
    pthread_mutex_t aggr_lock;       /* l7[], vlan[] and port[] */
    struct aggr l7[L7_MAX];
    struct aggr vlan[VLAN_MAX];
    struct aggr port[PORT_IDS];      /* port.<l4>.<port> (ids: flow_key.h); 9 MB of zeroed
                                        pages, resident only where ports were seen */
    _Atomic uint64_t now_us;         /* cache clock: the latest packet (or live tick) time */
    struct cache_queue queues[CACHE_QUEUES];
    _Atomic int nqueues;             /* slots ever used: cache_expiry_now reads these */
    pthread_mutex_t queue_lock;      /* cache_queue_add / drop (start and end of a source) */
    struct cache_hooks hooks;        /* frees the tenants of a flow (cache_hooks_set) */
    _Atomic int workers;             /* capture threads counting on the cache (worker_init to
                                        worker_destroy): with several, their flows' later packets
                                        count hosts in the worker (capture/flow/flow_account.c) */
    struct watchlist *wl;            /* the `watchlist` set key (not owned); NULL = none */
    struct budget budget;            /* bytes of entries and of what flows hold (INFO
                                        cache_memory), capped by cfg.maxmemory */
    struct cache_stats st;
    struct cache_wcounts wcounts[CACHE_WORKERS];   /* flows and hosts, per worker (cache_count) */
    _Alignas(64) _Atomic uint64_t flows_taken;     /* room for flows handed out (cache_flow_room_take) */
    char flows_taken_pad[56];
    _Atomic int nwcounts;            /* slots in use: the highest worker id + 1 (cache_worker_add) */
};

/* Makes worker `id`'s count slot one the sums read. Returns nothing. Any thread, before
 * that worker counts. */
void cache_worker_add(struct cache *c, int id);

/* Counts one k for worker `id`. Only that worker's thread (its slot is written with a
 * plain load and store; ids past the last slot share it with atomic adds). */
static inline void cache_count(struct cache *c, int id, enum cache_count k)
{
    if (id >= 0 && id < CACHE_WORKERS - 1) {
        _Atomic uint64_t *x = &c->wcounts[id].n[k];
        atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + 1, memory_order_relaxed);
    } else {
        atomic_fetch_add_explicit(&c->wcounts[CACHE_WORKERS - 1].n[k], 1, memory_order_relaxed);
    }
}

/*
 * Room for flows under max_flows. Summing the workers' counts (created - ended)
 * for each new flow would read every worker's count line: one cache miss per
 * other worker per new flow, 63 of them at 64 workers. Instead `flows_taken` counts the room handed out, and
 * each capture thread takes it in batches of CACHE_ROOM_BATCH into a count of
 * its own (`held`), spends one per flow it makes and gets one back per flow it
 * ends, giving back what it holds above two batches. Within CACHE_ROOM_NEAR of
 * max_flows it takes one at a time and gives each back at once. The flows in
 * the cache never pass max_flows (no more room than that is ever handed out);
 * with several threads, room another thread holds unspent may refuse a flow up
 * to (threads - 1) x 2 x CACHE_ROOM_BATCH early; one thread is refused at
 * exactly max_flows. When CONFIG SET lowers max_flows below what is taken, each
 * thread may still spend the room it holds (at most 2 x CACHE_ROOM_BATCH flows).
 */
enum { CACHE_ROOM_BATCH = 64, CACHE_ROOM_NEAR = 4 * CACHE_ROOM_BATCH };

/* Room for one new flow: from *held (the calling thread's), or from flows_taken. Returns 1, or 0
 * when max_flows is reached (nothing taken). The thread that owns *held. */
int cache_flow_room_take(struct cache *c, uint32_t *held);
/* The room of one flow that ended (or was not made) back into *held, or back to flows_taken. */
void cache_flow_room_give(struct cache *c, uint32_t *held);
/* All of *held back to flows_taken (a capture thread that stops). */
void cache_flow_room_return(struct cache *c, uint32_t *held);
/* Is every flow's room handed out (the cache full of flows, or about to be)? Any thread. */
int cache_flows_full(const struct cache *c);

/* Fills *out with the flow and host counts summed over the workers (a moment's reading). Any thread. */
void cache_counts_get(const struct cache *c, struct cache_counts *out);


/* Kinds of keys the keyspace can name. */
enum cache_table { CT_FLOW = 0, CT_HOST, CT_MAC, CT_VLAN, CT_L7, CT_NAME, CT_PORT, CT_TABLES };

/* Takes the timeouts, max_flows and maxmemory of cfg (CONFIG SET): capture threads see each value
 * at their next read of it (the hash tables keep the size cache_create gave them; a larger max_flows
 * makes longer chains). Any thread. */
void cache_limits_set(struct cache *c, const struct cache_config *cfg);

/* Makes the flow, host and name bucket arrays resident and writable now
 * (MADV_POPULATE_WRITE; ~14 MB at max_flows 1 M) rather than page by page as
 * packets reach them. A lookup reads an empty bucket before the insert writes
 * it, so each page's first write copies the shared zero page and flushes the
 * TLB of every core running another thread of the process: with several
 * capture threads, an interrupt for the other workers each time. Contents are
 * unchanged; safe while capture threads run. Returns nothing (a kernel
 * without MADV_POPULATE_WRITE: pages fault in as before). Any thread. */
void cache_tables_populate(struct cache *c);

/* Gives back to the system the flow, host and name pools' chunks that have stayed empty for a while
 * (pool_trim, capture/cache/pool.h), a bounded amount per call. Returns the chunks given back.
 * Call at a steady pace from one thread (the loop's cron, every 100 ms), never from the packet
 * path. */
size_t cache_memory_trim(struct cache *c);

/* Bytes the flow, host and name pools keep resident as empty spare chunks, outside the budget
 * (INFO cache_pool_spare): what RSS holds beyond cache_memory until cache_memory_trim gives it back.
 * A moment's reading. Any thread. */
uint64_t cache_pool_spare_bytes(struct cache *c);

/* The name pool whose slots hold `size` bytes, the smallest that does; NULL when none does (more
 * than CACHE_NAME_SLOT_MAX). A name entry goes back with pool_free_slot. Any thread. */
struct pool *cache_name_pool(struct cache *c, size_t size);

/* Allocate a cache sized for cfg->max_flows. NULL on OOM. Start-up only. */
struct cache *cache_create(const struct cache_config *cfg);
/* Free every entry (no events), each flow's tenants through hooks.flow_release.
 * Only when no other thread uses the cache. */
void cache_destroy(struct cache *c);
/* Sets the hooks that free what other modules hang on flows (a copy of *h
 * is kept; setting the same hooks again changes nothing). Start-up, before
 * capture threads run. */
void cache_hooks_set(struct cache *c, const struct cache_hooks *h);

/* Move the clock forward to t (no-op when t is older). Any thread. */
void cache_clock_advance(struct cache *c, uint64_t t_us);
static inline uint64_t cache_now(struct cache *c)
{
    return atomic_load_explicit(&c->now_us, memory_order_relaxed);
}

/* Microseconds from one 32-bit time mark (the low bits of a cache time, as
 * latency fields keep them) to another: marks wrap every 71 minutes; 0 when
 * `to` is earlier (packets out of time order). Pure. */
static inline uint32_t cache_gap32(uint32_t from, uint32_t to)
{
    uint32_t d = to - from;
    return d > INT32_MAX ? 0 : d;
}

/* How far expiry may go for the workers of one fanout (group): cache_now,
 * held back to the clock of each of its queues that still holds packets.
 * cache_now itself for group NULL (a worker fed directly by its reader); the
 * queues of other sources never hold a worker back (their packet times may
 * be years apart: a file read beside a live interface). Any thread. */
uint64_t cache_expiry_now(struct cache *c, const void *group);
/* 1 when what is due at `at` may expire now for group's workers
 * (cache_expiry_now is read only when the clock says so). */
static inline int cache_due(struct cache *c, const void *group, uint64_t at)
{
    return at <= cache_now(c) && (!group || at <= cache_expiry_now(c, group));
}
/* A cleared queue slot of group for a lane (its ring's head and tail), or
 * NULL when all CACHE_QUEUES are taken (the lane then works unregistered:
 * nothing waits for it, as before). cache_queue_drop gives it back once the
 * lane is drained and stopped. The reader's thread, when a fanout starts and
 * ends. */
struct cache_queue *cache_queue_add(struct cache *c, const void *group);
void cache_queue_drop(struct cache *c, struct cache_queue *q);

/* ---- shard primitives: the caller holds the shard's lock ---- */
static inline struct cache_shard *cache_shard_for(struct cache_shard *tab, uint64_t hash)
{
    return &tab[hash & (CACHE_SHARDS - 1)];
}

/*
 * The hash a flow is kept and found by: flow_key_hash, whose low bits (the
 * shard, cache_shard_for) are, as far as flow_lane_mask reaches, those of the
 * key's lane hash (flow_key_lane_hash). Capture thread i of n owns the packets
 * whose lane hash is i modulo n (capture/source/fanout.c); with n a power of
 * two that is its low bits, so each thread's flows live in shards only it
 * writes (n = 2: the even shards and the odd ones), and no shard's lock, LRU
 * list or counters move between their cores. The mask takes the factor two of
 * n (n = 6: one bit, each shard shared by three threads instead of six); the
 * other bits stay the flow hash's, so one busy address pair still spreads its
 * flows over 64 / 2^bits shards. One thread: the plain flow hash. Any thread
 * (a pure function of the key for one cache).
 */
static inline uint64_t cache_flow_hash(const struct cache *c, const struct flow_key *k)
{
    uint64_t h = flow_key_hash(k), m = c->flow_lane_mask;
    return m ? (h & ~m) | (flow_key_lane_hash(k) & m) : h;
}

static inline uint32_t cache_bucket_of(const struct cache_shard *s, uint64_t hash)
{
    return (uint32_t)(hash >> 6) & (s->nbuckets - 1);
}
void shard_insert(struct cache_shard *s, struct centry *e);        /* bucket + LRU tail */
void shard_unlink(struct cache_shard *s, struct centry *e, int on_closed_list);
void shard_touch(struct cache_shard *s, struct centry *e);         /* to the LRU tail */
void shard_move_to_closed(struct cache_shard *s, struct centry *e);

/* Called for each entry a walk passes, under the shard's lock: copies what it
 * needs and returns 1 when the entry was one the walker looks for, else 0. */
typedef int (*cache_walk_fn)(const struct centry *e, void *arg);
/* What one walk step saw: the shard's bucket count, the buckets and entries it visited. */
struct cache_walk_info { uint32_t nbuckets, buckets, entries; };
/* Walks s from bucket `from`: calls fn for the entries of buckets from,
 * from+1, ... and stops after the bucket in which max_entries entries were
 * passed, after max_buckets buckets, or at the shard's end. A shard holding at
 * most max_entries entries is walked through its lists instead (cost by
 * entries, whatever its bucket count): the entries of buckets >= from are
 * passed, until fn has returned 1 `want` times, and the shard is done.
 * Returns the next bucket to walk: s->nbuckets when done. */
uint32_t shard_walk(const struct cache_shard *s, uint32_t from, uint32_t max_buckets, uint32_t max_entries,
                    uint32_t want, cache_walk_fn fn, void *arg, struct cache_walk_info *info);

/* Hashes of host and MAC keys. */
uint64_t host_key_hash(uint8_t ipver, const uint8_t addr[16]);
uint64_t mac_key_hash(const uint8_t mac[6]);

/* The counters of VLAN vlan on h, added when absent (at most HOST_VLANS_MAX;
 * the storage grows by doubling and is counted in the cache's memory).
 * Returns NULL when full or out of memory. Caller holds h's shard lock. */
struct host_vlan *host_vlan_slot(struct cache *c, struct host *h, uint16_t vlan);
/* Frees what h points to (its VLAN counters); h itself stays. Caller holds
 * h's shard lock (or owns h). */
void host_clear(struct cache *c, struct host *h);

/* Find an entry in a locked shard; NULL when absent. */
struct flow *shard_find_flow(struct cache_shard *s, uint64_t hash, const struct flow_key *k);
struct host *shard_find_host(struct cache_shard *s, uint64_t hash, uint8_t ipver, const uint8_t *addr);
struct mac_entry *shard_find_mac(struct cache_shard *s, uint64_t hash, const uint8_t mac[6]);

/* When an entry leaves the cache if nothing refreshes it (cache clock, us). */
uint64_t flow_expire_at(const struct cache_config *cfg, const struct flow *f);
uint64_t host_expire_at(const struct cache_config *cfg, const struct host *h);
/* 1 while h may not expire whatever its time: flows hold it, or a worker holds
 * counts for it that it has not added yet (pins). Caller holds h's shard lock
 * or reads a copy taken under it. */
static inline int host_held(const struct host *h)
{
    return h->flows_active > 0 || h->pins > 0;
}
uint64_t mac_expire_at(const struct cache_config *cfg, const struct mac_entry *m);
/* Aggregates live while they have active flows or saw traffic recently. */
int aggr_alive(const struct cache_config *cfg, const struct aggr *a, uint64_t now);

/* ---- reads for the loop thread: copies taken under the shard lock ---- */
/* Calls fn(f, arg) under the flow's shard lock (fn copies what it needs:
 * f->ext's strings are only valid during the call). Returns 0, or -1 when
 * the flow is absent. Any thread. */
int cache_flow_visit(struct cache *c, const struct flow_key *k,
                     void (*fn)(const struct flow *f, void *arg), void *arg);
/* Each returns 0 and fills *out, or -1 when the key is not in the cache (or
 * has expired and waits for the sweeper). out->link and pointers inside the
 * copy must not be followed, except a host copy's vlans: they point to a
 * per-thread copy, valid until this thread's next cache_host_get. Any thread. */
int cache_host_get(struct cache *c, uint8_t ipver, const uint8_t *addr, struct host *out);
int cache_mac_get(struct cache *c, const uint8_t mac[6], struct mac_entry *out);
int cache_aggr_get(struct cache *c, enum cache_table t, unsigned id, struct aggr *out);

/* One hold of the lock of shard `shard` of table t (CT_FLOW, CT_HOST, CT_MAC,
 * CT_NAME) walking it from bucket `from` (shard_walk, every entry wanted).
 * Returns the next bucket to walk, info->nbuckets when the shard is done (an
 * unknown table or shard has 0 buckets). Walking a shard in such steps passes
 * every entry present for the whole walk at least once: buckets never move
 * (tables never rehash). Any thread. */
uint32_t cache_walk_step(struct cache *c, enum cache_table t, unsigned shard, uint32_t from,
                         uint32_t max_buckets, uint32_t max_entries, cache_walk_fn fn, void *arg,
                         struct cache_walk_info *info);

/* Writes to ids, in increasing order, the ids >= from of table t (CT_L7,
 * CT_VLAN or CT_PORT) whose aggregate is alive now (the keys cache_aggr_get
 * finds), at most max. Returns how many (0 for another table): fewer than
 * max when no more are alive. One hold of the aggregate lock. Any thread. */
unsigned cache_aggr_live(struct cache *c, enum cache_table t, uint32_t from, uint32_t *ids, unsigned max);
/* The number of ids of aggregate table t (0 for another table). Pure. */
unsigned cache_aggr_ids(enum cache_table t);

#endif
