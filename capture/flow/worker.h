/* worker.h - what a capture thread drives: its packet path, expiry sweeps and published counters (worker_int.h lists the files). */
#ifndef FC_WORKER_H
#define FC_WORKER_H

#include <stdatomic.h>
#include <stdint.h>

#include "capture/cache/cache.h"
#include "capture/decode/decode.h"
#include "capture/events/events.h"
#include "capture/flow/frag.h"

/* Figures a worker publishes for INFO (written by the worker, read anywhere). */
struct worker_stats {
    _Atomic uint64_t packets, bytes, ip_packets, not_ip, anomalies;
    _Atomic uint64_t anomaly[DECODE_ANOMALY_KINDS];
    _Atomic uint64_t frag_orphans;
};

struct l7_module;
struct watchlist;
struct worker_pend;

struct worker {
    int id;
    int lane;                        /* its index among its source's capture threads: the flow
                                        shards its ticks sweep (cache_flow_hash) */
    uint8_t src;                     /* 1 + index of its capture source (flow.src), 0 = none */
    struct cache *cache;
    struct l7_module *l7;
    struct event_queue events;       /* to the loop thread */
    struct decode_stats dstats;      /* private; published into st */
    struct worker_stats st;
    struct frag_slot frags[FRAG_SLOTS];
    uint64_t next_sweep_us;
    uint64_t now_us;                 /* the latest packet (or tick) time this worker took */
    uint32_t room_held;              /* room for flows taken and not spent (cache_flow_room_take) */
    const void *group;               /* its fanout while one feeds it (cache_expiry_now), else NULL */
    _Atomic uint64_t user_grace_us;  /* RADIUS Stop -> mapping deleted after this (CONFIG SET user-grace) */
    struct watchlist *wl;            /* NULL = no watchlist */
    struct worker_pend *pend;        /* MAC, VLAN and L7 counters not yet folded into the
                                        cache (at each tick and worker_publish_stats) */
    struct names_user_memo *users;   /* flow.end's user of an address (capture/cache/names.h) */
};

/* ---- life and packet path (worker.c) ---- */

/* Set up a worker for cache c, and give c the hook that frees what the
 * pipeline hangs on flows (cache_hooks_set). Returns 0, or -1 (nothing to
 * free) on OOM. Start-up, before capture threads run. */
int worker_init(struct worker *w, int id, struct cache *c);
/* Fold what is pending into the cache (which must still exist), then free. */
void worker_destroy(struct worker *w);

/* Account one captured frame seen at ts_us (wire length wirelen). Never
 * fails: problems are counted. Runs the expiry sweep when due. The worker's
 * thread only. */
void worker_packet(struct worker *w, uint64_t ts_us, int dlt, const uint8_t *data,
                   uint32_t caplen, uint32_t wirelen);

/*
 * A frame decoded one packet ahead of its turn. A reader that can see its
 * next frame while the current one is handled (a file's buffer, a fanout
 * ring) calls worker_peek on it first: the flow table's bucket for it is
 * then on its way into the cache while the current packet is handled (that
 * load was the largest stall of the packet path). worker_packet_ahead then
 * handles it without decoding it again. The frame's bytes must stay where
 * they are, unchanged, until worker_packet_ahead returns.
 */
struct worker_ahead {
    const uint8_t *data;             /* the frame, for the reader to match it */
    uint32_t caplen;
    int rc;                          /* decode_packet's result */
    int keyed;                       /* k, c2s, hash valid (decoded, not a fragment) */
    int c2s;
    uint64_t hash;
    struct flow_key k;
    struct decoded_pkt p;
};

/* Decodes the frame into *a (counting nothing yet) and prefetches its flow's
 * bucket. The worker's thread only. */
void worker_peek(struct worker *w, struct worker_ahead *a, int dlt, const uint8_t *data, uint32_t caplen);
/* worker_packet for the frame a holds (worker_peek filled it; *a is used up). */
void worker_packet_ahead(struct worker *w, uint64_t ts_us, struct worker_ahead *a, uint32_t wirelen);

/* ---- expiry (flow_expiry.c) ---- */

/* Advance the clock to now_us (live idle periods) and expire what is due. */
void worker_tick(struct worker *w, uint64_t now_us);

/* Expire everything due by the cache's time, wherever it sits in the idle
 * lists (the end of a file: several workers leave them only roughly in time
 * order, and no later tick comes). The source's thread, once its workers
 * have stopped. */
void worker_sweep_due(struct worker *w);

/* End every flow (reason shutdown), e.g. pcap-end expire. Hosts and
 * aggregates stay. */
void worker_expire_all(struct worker *w);

/* worker_expire_all for a caller that also consumes w's event queue (the
 * loop thread at shutdown, the capture threads joined): drain(arg) runs
 * after each batch of ended flows (at most 256), so however many flows the
 * cache holds, their flow.end events do not overflow the queue. */
void worker_expire_all_drained(struct worker *w, void (*drain)(void *arg), void *arg);

/* ---- the end of a file, split between a source's workers (flow_expiry.c) ---- */

/*
 * Worker k of a source's n ends the flows of flow shards i with i % n == k:
 * with n a power of two those are the shards its own lane's flows live in
 * (cache_flow_hash), else as far as the factor two of n sets lanes apart; the
 * n parts cover every shard once. The parts run at once, one thread each;
 * then one worker alone does what is shared (worker_end_shared). Before the
 * parts, every worker of the source has stopped and folded its pending counts
 * (worker_publish_stats), so a flow's end sees its hosts whole whichever part
 * ends it. all: every flow ends (pcap-end expire and exit; reason shutdown,
 * unless it was already due by now) and now is the cache's time; else the flows due by now (cache_expiry_now)
 * end, wherever they sit in their lists, and nDPI gives its final answer (its
 * guess) for those left undetected, as ndpiReader does at the end of a file
 * (pcap-end keep). With worker_end_shared, the same as worker_expire_all, or
 * as worker_sweep_due then settling detection. The thread w is handed to.
 */
void worker_end_part(struct worker *w, int k, int n, int all, uint64_t now);
/* After every part is done, once: all: reports every MAC counted on since its
 * last report; else expires the hosts, MACs and names due by now. Then
 * publishes w's counters. */
void worker_end_shared(struct worker *w, int all, uint64_t now);

/* ---- counters (worker.c) ---- */

/* Copy private counters into w->st, and fold the worker's pending MAC, VLAN
 * and L7 counters into the cache (readers see them from then on). */
void worker_publish_stats(struct worker *w);

#endif
