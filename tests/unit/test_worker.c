/* test_worker.c - the packet path on hand-built frames: flows, hosts, aggregates, TCP close, timeouts, bounds. */
#include <arpa/inet.h>
#include <stdio.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/cache/names.h"
#include "capture/flow/worker.h"
#include "check.h"
#include "capture/flow/l7.h"

enum { T0 = 1000, SEC = 1000000 };

/* The flow and host counts of c, summed over its workers. */
static struct cache_counts counts_of(const struct cache *c)
{
    struct cache_counts n;
    cache_counts_get(c, &n);
    return n;
}

static struct cache_config test_cfg(void)
{
    struct cache_config cfg = {
        .flow_idle_us = 30ULL * SEC, .flow_lifetime_us = 120ULL * SEC, .host_idle_us = 300ULL * SEC,
        .tcp_close_grace_us = 2ULL * SEC, .max_flows = 1000, .maxmemory = 0,
    };
    return cfg;
}

/* An Ethernet + IPv4 + UDP/TCP frame with plen payload bytes; returns its length. */
static size_t frame4(uint8_t *buf, const char *src, const char *dst, uint8_t proto, uint16_t sport,
                     uint16_t dport, uint8_t flags, size_t plen)
{
    size_t l4 = proto == IPPROTO_TCP ? 20 : 8, iplen = 20 + l4 + plen;
    memset(buf, 0, 14 + iplen);
    memcpy(buf, "\x02\x00\x00\x00\x00\x02\x02\x00\x00\x00\x00\x01\x08\x00", 14);
    uint8_t *ip = buf + 14;
    ip[0] = 0x45;
    ip[2] = (uint8_t)(iplen >> 8);
    ip[3] = (uint8_t)iplen;
    ip[8] = 64;
    ip[9] = proto;
    inet_pton(AF_INET, src, ip + 12);
    inet_pton(AF_INET, dst, ip + 16);
    uint8_t *l = ip + 20;
    l[0] = (uint8_t)(sport >> 8);
    l[1] = (uint8_t)sport;
    l[2] = (uint8_t)(dport >> 8);
    l[3] = (uint8_t)dport;
    if (proto == IPPROTO_TCP) {
        l[12] = 5 << 4;
        l[13] = flags;
    } else {
        l[4] = (uint8_t)((8 + plen) >> 8);
        l[5] = (uint8_t)(8 + plen);
    }
    return 14 + iplen;
}

static void send4(struct worker *w, uint64_t ts, const char *src, const char *dst, uint8_t proto,
                  uint16_t sport, uint16_t dport, uint8_t flags, size_t plen)
{
    uint8_t buf[1600];
    size_t n = frame4(buf, src, dst, proto, sport, dport, flags, plen);
    worker_packet(w, ts, 1, buf, (uint32_t)n, (uint32_t)n);
}

/* As send4, with an 802.1Q tag. */
static void send4_vlan(struct worker *w, uint64_t ts, uint16_t vlan, const char *src, const char *dst,
                       uint16_t sport, uint16_t dport)
{
    uint8_t buf[1600], tagged[1604];
    size_t n = frame4(buf, src, dst, IPPROTO_UDP, sport, dport, 0, 4);
    memcpy(tagged, buf, 12);
    tagged[12] = 0x81;
    tagged[13] = 0x00;
    tagged[14] = (uint8_t)(vlan >> 8);
    tagged[15] = (uint8_t)vlan;
    memcpy(tagged + 16, buf + 12, n - 12);
    worker_packet(w, ts, 1, tagged, (uint32_t)n + 4, (uint32_t)n + 4);
}

static int flow_of(struct cache *c, const char *name, struct flow *out)
{
    struct flow_key k;
    if (flow_key_parse(name, strlen(name), &k) != 0)
        return -1;
    uint64_t h = flow_key_hash(&k);
    struct cache_shard *s = cache_shard_for(c->flows, h);
    lock_acquire(&s->lock);
    struct flow *f = shard_find_flow(s, h, &k);
    if (f)
        *out = *f;
    lock_release(&s->lock);
    return f ? 0 : -1;
}

static int host_of(struct cache *c, const char *addr, struct host *out)
{
    uint8_t a[16];
    int ver = addr_parse_canonical(addr, strlen(addr), a);
    return ver ? cache_host_get(c, (uint8_t)ver, a, out) : -1;
}

TEST_CASE(tcp_session_counts_both_directions_and_closes)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    CHECK_INT(worker_init(&w, 0, c), 0);
    send4(&w, T0, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40000, 80, 0x02, 0);
    send4(&w, T0 + 10, "10.0.0.9", "10.0.0.1", IPPROTO_TCP, 80, 40000, 0x12, 0);
    send4(&w, T0 + 20, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40000, 80, 0x10, 100);
    send4(&w, T0 + 30, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40000, 80, 0x11, 0);
    send4(&w, T0 + 40, "10.0.0.9", "10.0.0.1", IPPROTO_TCP, 80, 40000, 0x11, 0);
    send4(&w, T0 + 50, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40000, 80, 0x10, 0);  /* last ACK: same flow */
    struct flow f;
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.1:40000-10.0.0.9:80", &f), 0);
    CHECK_INT(f.pkts[0], 4);
    CHECK_INT(f.pkts[1], 2);
    CHECK_INT(f.bytes[0], 40 + 140 + 40 + 40);
    CHECK_INT(f.bytes[1], 80);
    CHECK_INT(f.closed, 1);
    CHECK_INT(counts_of(c).flows_created, 1);
    worker_tick(&w, T0 + 50 + 2 * SEC);               /* the close grace passes */
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.1:40000-10.0.0.9:80", &f), -1);
    CHECK_INT(counts_of(c).flows_expired, 1);
    struct host h;
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.pkts_sent, 4);
    CHECK_INT(h.flows_client, 1);
    CHECK_INT(h.flows_active, 0);
    CHECK_INT(host_of(c, "10.0.0.9", &h), 0);
    CHECK_INT(h.flows_server, 1);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(tcp_handshake_round_trips_from_the_last_syn)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    struct flow f;
    CHECK_INT(worker_init(&w, 0, c), 0);
    /* a SYN retransmitted after 1 s: measured from the second one */
    send4(&w, T0, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40001, 80, 0x02, 0);
    send4(&w, T0 + SEC, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40001, 80, 0x02, 0);
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.1:40001-10.0.0.9:80", &f), 0);
    CHECK_INT(f.hs, FLOW_HS_SYN);
    send4(&w, T0 + SEC + 1500, "10.0.0.9", "10.0.0.1", IPPROTO_TCP, 80, 40001, 0x12, 0);
    /* the SYN/ACK retransmitted: the client answers the last one */
    send4(&w, T0 + SEC + 9000, "10.0.0.9", "10.0.0.1", IPPROTO_TCP, 80, 40001, 0x12, 0);
    send4(&w, T0 + SEC + 9250, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40001, 80, 0x18, 10);
    send4(&w, T0 + SEC + 20000, "10.0.0.1", "10.0.0.9", IPPROTO_TCP, 40001, 80, 0x10, 0);
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.1:40001-10.0.0.9:80", &f), 0);
    CHECK_INT(f.hs, FLOW_HS_DONE);
    CHECK_INT(f.rtt_server_us, 1500);
    CHECK_INT(f.hs_mark, 250);
    /* one direction only (the client's): nothing measured */
    send4(&w, T0, "10.0.0.2", "10.0.0.9", IPPROTO_TCP, 40002, 80, 0x02, 0);
    send4(&w, T0 + 800, "10.0.0.2", "10.0.0.9", IPPROTO_TCP, 40002, 80, 0x10, 0);
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.2:40002-10.0.0.9:80", &f), 0);
    CHECK_INT(f.hs, FLOW_HS_SYN);
    /* the server's only: nothing either */
    send4(&w, T0, "10.0.0.9", "10.0.0.3", IPPROTO_TCP, 80, 40003, 0x12, 0);
    send4(&w, T0 + 900, "10.0.0.9", "10.0.0.3", IPPROTO_TCP, 80, 40003, 0x10, 0);
    CHECK_INT(flow_of(c, "flow.tcp.10.0.0.3:40003-10.0.0.9:80", &f), 0);
    CHECK_INT(f.hs, FLOW_HS_NONE);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(host_vlan_counters_grow_cap_and_free)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    struct host h;
    CHECK_INT(worker_init(&w, 0, c), 0);
    send4(&w, T0, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 4001, 0, 4);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.nvlans, 0);
    for (unsigned v = 1; v <= HOST_VLANS_MAX + 3; v++)        /* 3 more than are kept */
        for (unsigned k = 0; k < v % 3 + 1; k++)
            send4_vlan(&w, T0 + v, (uint16_t)(100 + v), "10.0.0.1", "10.0.0.9", 4000, 4001);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.nvlans, HOST_VLANS_MAX);
    for (unsigned v = 1; v <= HOST_VLANS_MAX; v++) {
        CHECK_INT(h.vlans[v - 1].id, 100 + v);
        CHECK_INT(h.vlans[v - 1].pkts_sent, v % 3 + 1);
        CHECK_INT(h.vlans[v - 1].pkts_rcvd, 0);
    }
    CHECK_INT(host_of(c, "10.0.0.9", &h), 0);
    CHECK_INT(h.nvlans, HOST_VLANS_MAX);
    CHECK_INT(h.vlans[4].pkts_rcvd, 5 % 3 + 1);
    /* everything expires: the counters' memory is given back with the hosts */
    worker_tick(&w, T0 + 400ULL * SEC);
    CHECK_INT(host_of(c, "10.0.0.1", &h), -1);
    /* what is left is what the pools hold: their spare chunk (none under ASan) */
    uint64_t chunks = pool_chunks(&c->flow_pool) + pool_chunks(&c->host_pool);
    for (int i = 0; i < CACHE_NAME_POOLS; i++)
        chunks += pool_chunks(&c->name_pool[i]);
    CHECK_INT(budget_used(&c->budget), chunks * POOL_CHUNK);
    CHECK_INT(pool_live(&c->flow_pool) + pool_live(&c->host_pool), 0);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(idle_and_lifetime_timeouts_follow_packet_time)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    struct flow f;
    CHECK_INT(worker_init(&w, 0, c), 0);
    send4(&w, T0, "10.0.0.1", "192.0.2.53", IPPROTO_UDP, 5000, 53, 0, 10);
    send4(&w, T0 + 29 * (uint64_t)SEC, "10.0.0.2", "192.0.2.53", IPPROTO_UDP, 5000, 53, 0, 10);
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.1:5000-192.0.2.53:53", &f), 0);
    send4(&w, T0 + 31 * (uint64_t)SEC, "10.0.0.2", "192.0.2.53", IPPROTO_UDP, 5000, 53, 0, 10);
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.1:5000-192.0.2.53:53", &f), -1);   /* idle 30 s: gone */
    /* a flow that never idles is cut at its lifetime and starts again */
    for (uint64_t t = 0; t <= 125; t += 5)
        send4(&w, T0 + 31 * (uint64_t)SEC + t * SEC, "10.0.0.3", "192.0.2.53", IPPROTO_UDP, 6000, 53, 0, 10);
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.3:6000-192.0.2.53:53", &f), 0);
    CHECK(f.pkts[0] < 26);
    CHECK_INT(f.first_us >= T0 + 31 * (uint64_t)SEC + 120 * (uint64_t)SEC, 1);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(max_flows_refuses_and_counts_then_recovers)
{
    struct cache_config cfg = test_cfg();
    cfg.max_flows = 10;
    struct cache *c = cache_create(&cfg);
    struct worker w;
    CHECK_INT(worker_init(&w, 0, c), 0);
    for (int i = 0; i < 25; i++)
        send4(&w, T0 + (uint64_t)i, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, (uint16_t)(20000 + i), 9999, 0, 1);
    CHECK_INT(counts_of(c).flows_active, 10);
    CHECK_INT(atomic_load(&c->st.flows_dropped), 15);
    worker_tick(&w, T0 + 31 * (uint64_t)SEC);          /* all idle out */
    CHECK_INT(counts_of(c).flows_active, 0);
    send4(&w, T0 + 32 * (uint64_t)SEC, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 30000, 9999, 0, 1);
    CHECK_INT(counts_of(c).flows_active, 1);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(l7_totals_move_from_unknown_and_expire_all_keeps_aggregates)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    struct aggr a;
    CHECK_INT(worker_init(&w, 0, c), 0);
    for (int i = 0; i < 3; i++)
        send4(&w, T0 + (uint64_t)i, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 33333, 44444, 0, 4);
    worker_expire_all(&w);
    CHECK_INT(counts_of(c).flows_active, 0);
    uint64_t flows = 0, bytes = 0;
    for (unsigned id = 0; id < L7_MAX; id++)
        if (cache_aggr_get(c, CT_L7, id, &a) == 0) {
            flows += a.flows;
            bytes += a.bytes;
            CHECK_INT(a.flows_active, 0);
        }
    CHECK_INT(flows, 1);
    CHECK_INT(bytes, 3 * 32);
    CHECK_INT(cache_aggr_get(c, CT_VLAN, 0, &a), 0);
    CHECK_INT(a.pkts, 3);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(garbage_frames_are_counted_not_crashing)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    uint8_t junk[64];
    CHECK_INT(worker_init(&w, 0, c), 0);
    for (int i = 0; i < 64; i++)
        junk[i] = (uint8_t)(i * 37);
    for (uint32_t n = 0; n <= sizeof(junk); n++)
        worker_packet(&w, T0 + n, 1, junk, n, n);
    worker_publish_stats(&w);
    CHECK_INT(atomic_load(&w.st.packets), 65);
    CHECK_INT(counts_of(c).flows_active, 0);
    worker_destroy(&w);
    cache_destroy(c);
}

TEST_CASE(mac_and_vlan_counters_are_visible_after_a_tick_and_after_destroy)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    struct worker w;
    struct mac_entry m;
    struct aggr a;
    static const uint8_t src_mac[6] = { 2, 0, 0, 0, 0, 1 }, dst_mac[6] = { 2, 0, 0, 0, 0, 2 };
    CHECK_INT(worker_init(&w, 0, c), 0);
    send4(&w, T0, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 33333, 53, 0, 10);
    send4(&w, T0 + 1, "10.0.0.2", "10.0.0.1", IPPROTO_UDP, 53, 33333, 0, 20);
    worker_tick(&w, T0 + 2);         /* counted per worker, folded in at the tick */
    CHECK_INT(cache_mac_get(c, src_mac, &m), 0);
    CHECK_INT(m.pkts_sent, 2);       /* both frames carry the same MACs (see frame4) */
    CHECK_INT(m.bytes_sent, 28 + 10 + 28 + 20);
    CHECK_INT(m.has_ip, 1);
    CHECK_INT(m.ip[3], 2);           /* the newest source: 10.0.0.2 */
    CHECK_INT(cache_aggr_get(c, CT_VLAN, 0, &a), 0);
    CHECK_INT(a.pkts, 2);
    CHECK_INT(a.flows, 1);
    send4(&w, T0 + 3, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 33333, 53, 0, 10);
    worker_destroy(&w);              /* the cache outlives the worker: nothing pending is lost */
    CHECK_INT(cache_mac_get(c, dst_mac, &m), 0);
    CHECK_INT(m.pkts_rcvd, 3);
    CHECK_INT(cache_aggr_get(c, CT_VLAN, 0, &a), 0);
    CHECK_INT(a.pkts, 3);
    cache_destroy(c);
}

/* Two workers of one source sharing a cache, as capture-threads 2 makes. */
struct pair { struct cache *c; struct worker a, b; };

static void pair_start(struct pair *p)
{
    struct cache_config cfg = test_cfg();
    p->c = cache_create(&cfg);
    CHECK_INT(worker_init(&p->a, 0, p->c), 0);
    CHECK_INT(worker_init(&p->b, 1, p->c), 0);
}

static void pair_stop(struct pair *p)
{
    worker_destroy(&p->a);
    worker_destroy(&p->b);
    cache_destroy(p->c);
}

/* Worker b's lane still holds a packet of its flow while worker a, seconds
 * ahead in packet time, sweeps: the flow must wait for that packet (which
 * keeps it alive), as it would with one worker. */
TEST_CASE(a_lane_holding_packets_holds_expiry_back)
{
    struct pair p;
    pair_start(&p);
    struct cache *c = p.c;
    struct worker *a = &p.a, *b = &p.b;
    struct flow f;
    int fanout;                                       /* the group: one source's lanes */
    struct cache_queue *qb = cache_queue_add(c, &fanout);
    CHECK(qb != NULL);
    a->group = b->group = &fanout;
    CHECK_INT(cache_expiry_now(c, &fanout), 0);
    /* b takes its first packet (what lane_drain does: clock, then packet, then head) */
    atomic_store(&qb->tail, 200);
    atomic_store(&qb->clock, T0);
    send4(b, T0, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 53, 0, 10);
    atomic_store(&qb->head, 100);                     /* its second packet still waits */
    /* a runs 35 s ahead and sweeps: b's flow is due by the clock, not by b */
    send4(a, T0 + 35ULL * SEC, "10.0.0.2", "10.0.0.8", IPPROTO_UDP, 4000, 53, 0, 10);
    worker_tick(a, T0 + 35ULL * SEC);
    CHECK_INT(cache_now(c), T0 + 35ULL * SEC);
    CHECK_INT(cache_expiry_now(c, &fanout), T0);
    CHECK_INT(cache_expiry_now(c, NULL), T0 + 35ULL * SEC);   /* other sources: not held back */
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.1:4000-10.0.0.9:53", &f), 0);
    /* b's waiting packet, 29 s after its first: the same flow, as with one worker */
    atomic_store(&qb->clock, T0 + 29ULL * SEC);
    send4(b, T0 + 29ULL * SEC, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 53, 0, 10);
    atomic_store(&qb->head, 200);                     /* drained: holds nothing back */
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.1:4000-10.0.0.9:53", &f), 0);
    CHECK_INT(f.pkts[0], 2);
    CHECK_INT(counts_of(c).flows_created, 2);
    CHECK_INT(cache_expiry_now(c, &fanout), T0 + 35ULL * SEC);
    /* once b has passed it too, the flow idles out on a's next tick */
    worker_tick(a, T0 + 60ULL * SEC);
    CHECK_INT(flow_of(c, "flow.udp.10.0.0.1:4000-10.0.0.9:53", &f), -1);
    cache_queue_drop(c, qb);
    pair_stop(&p);
}

/* Two workers touch one shard out of time order: the tick's sweep stops at
 * the live flow first in line, the end-of-file sweep takes every due one;
 * a host's first.seen is its earliest packet whichever worker came first. */
TEST_CASE(end_of_file_sweep_takes_due_flows_behind_live_ones)
{
    char late[64], early[64];
    struct flow f;
    struct host h;
    struct pair p;
    pair_start(&p);
    struct cache *c = p.c;
    struct worker *a = &p.a, *b = &p.b;
    /* two flows in one shard: the port that lands in the first one's */
    struct flow_key k1, k2;
    snprintf(late, sizeof(late), "flow.udp.10.0.0.1:4000-10.0.0.9:53");
    CHECK_INT(flow_key_parse(late, strlen(late), &k1), 0);
    uint16_t port = 5000;
    for (;; port++) {
        snprintf(early, sizeof(early), "flow.udp.10.0.0.1:%u-10.0.0.9:53", port);
        CHECK_INT(flow_key_parse(early, strlen(early), &k2), 0);
        if (cache_shard_for(c->flows, flow_key_hash(&k2)) == cache_shard_for(c->flows, flow_key_hash(&k1)))
            break;
    }
    send4(a, T0 + 40ULL * SEC, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 53, 0, 10);
    send4(b, T0 + 10ULL * SEC, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, port, 53, 0, 10);  /* b lags */
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.first_us, T0 + 10ULL * SEC);
    worker_tick(a, T0 + 41ULL * SEC);                /* early is due (40 s), behind late */
    CHECK_INT(flow_of(c, early, &f), 0);
    worker_sweep_due(a);
    CHECK_INT(flow_of(c, early, &f), -1);
    CHECK_INT(flow_of(c, late, &f), 0);
    CHECK_INT(counts_of(c).flows_expired, 1);
    pair_stop(&p);
}

/* With two capture threads on the cache, a flow's first packet counts its
 * hosts under their lock and pins them; its later packets are summed in the
 * worker and reach the hosts at the tick. One thread alone counts each packet
 * on the host at once. */
TEST_CASE(host_counts_of_a_flows_later_packets_show_after_the_tick)
{
    struct pair p;
    struct host h;
    pair_start(&p);
    struct cache *c = p.c;
    struct worker *w = &p.a;
    worker_tick(w, T0);                               /* the next tick is 100 ms on */
    send4(w, T0, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40000, 5000, 0, 10);
    for (int i = 1; i <= 3; i++)
        send4(w, T0 + (uint64_t)i, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40000, 5000, 0, 10);
    send4(w, T0 + 4, "10.0.0.2", "10.0.0.1", IPPROTO_UDP, 5000, 40000, 0, 20);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.pkts_sent, 1);
    CHECK_INT(h.pins, 1);
    worker_tick(w, T0 + 5);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.pkts_sent, 4);
    CHECK_INT(h.bytes_sent, 4 * (28 + 10));
    CHECK_INT(h.pkts_rcvd, 1);
    CHECK_INT(h.last_us, T0 + 4);
    CHECK_INT(h.pins, 0);
    CHECK_INT(h.has_mac, 1);
    worker_destroy(&p.b);                             /* one thread left: counted at once */
    send4(w, T0 + 6, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40000, 5000, 0, 10);
    send4(w, T0 + 7, "10.0.0.1", "10.0.0.2", IPPROTO_UDP, 40000, 5000, 0, 10);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.pkts_sent, 6);
    CHECK_INT(h.pins, 0);
    worker_destroy(w);
    cache_destroy(c);
}

/* Worker a's sweep ends worker b's flow while b still holds counts for its
 * hosts: the hosts stay (pinned) until b folds them, then expire. */
TEST_CASE(a_host_another_worker_holds_counts_for_outlives_its_flows)
{
    struct host h;
    struct pair p;
    pair_start(&p);
    struct cache *c = p.c;
    worker_tick(&p.b, T0);
    send4(&p.b, T0, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 5000, 0, 10);
    send4(&p.b, T0 + 1, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 5000, 0, 10);
    worker_tick(&p.a, T0 + 400ULL * SEC);            /* the flow and, by time, its hosts are due */
    CHECK_INT(counts_of(c).flows_expired, 1);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.flows_active, 0);
    CHECK_INT(h.pins, 1);
    CHECK_INT(h.pkts_sent, 1);
    worker_publish_stats(&p.b);                       /* b folds: the count arrives, the pin goes */
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.pkts_sent, 2);
    CHECK_INT(h.pins, 0);
    worker_tick(&p.a, T0 + 401ULL * SEC);
    CHECK_INT(host_of(c, "10.0.0.1", &h), -1);
    pair_stop(&p);
}

/* The cache has CACHE_QUEUES slots: the next lane gets none (and runs
 * unregistered), a dropped slot comes back cleared. */
TEST_CASE(queue_slots_run_out_and_come_back_cleared)
{
    struct cache_config cfg = test_cfg();
    struct cache *c = cache_create(&cfg);
    static struct cache_queue *q[CACHE_QUEUES];
    int group;
    for (int i = 0; i < CACHE_QUEUES; i++)
        CHECK((q[i] = cache_queue_add(c, &group)) != NULL);
    CHECK(cache_queue_add(c, &group) == NULL);
    atomic_store(&q[7]->tail, 64);
    atomic_store(&q[7]->clock, T0);
    cache_clock_advance(c, T0 + SEC);
    CHECK_INT(cache_expiry_now(c, &group), T0);
    cache_queue_drop(c, q[7]);
    CHECK_INT(cache_expiry_now(c, &group), T0 + SEC);
    struct cache_queue *again = cache_queue_add(c, &group);
    CHECK(again == q[7]);
    CHECK_INT(atomic_load(&again->tail), 0);
    CHECK_INT(atomic_load(&again->clock), 0);
    cache_destroy(c);
}

/* The flows.active of every L7 and port aggregate of c, summed. */
static int64_t aggr_active_sum(const struct cache *c)
{
    int64_t n = 0;
    for (unsigned id = 0; id < L7_MAX; id++)
        n += c->l7[id].flows_active;
    for (unsigned id = 0; id < PORT_IDS; id++)
        n += c->port[id].flows_active;
    return n;
}

/* Worker a's sweep ends worker b's flow, and a folds that end before b folds
 * the flow's start into aggregates that had no flow yet: the start restarts
 * them (they were idle by then) and must keep the end a brought, leaving
 * proto.X and port.X flows.active at 0, as with one worker. */
TEST_CASE(a_flow_ended_before_its_start_is_folded_leaves_aggregates_inactive)
{
    struct pair p;
    pair_start(&p);
    struct cache *c = p.c;
    worker_tick(&p.b, T0);                            /* the next tick is 100 ms on */
    send4(&p.b, T0, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 4000, 5000, 0, 10);
    worker_tick(&p.a, T0 + 400ULL * SEC);            /* a's sweep ends b's flow */
    CHECK_INT(counts_of(c).flows_expired, 1);
    worker_publish_stats(&p.a);                       /* a folds the end first */
    CHECK_INT(aggr_active_sum(c), -2);               /* its L7 and its port aggregate */
    worker_publish_stats(&p.b);                       /* then b the start */
    CHECK_INT(aggr_active_sum(c), 0);
    pair_stop(&p);
}

/* Frames of a test session: TCP both ways (replies need the reversed
 * lookup), a UDP flow, and garbage that does not decode. */
enum { AHEAD_FRAMES = 12 };
static size_t ahead_frame(int i, uint8_t *buf)
{
    static const struct { int dir; uint8_t proto, flags; size_t plen; } seq[AHEAD_FRAMES] = {
        { 0, IPPROTO_TCP, 0x02, 0 }, { 1, IPPROTO_TCP, 0x12, 0 }, { 0, IPPROTO_TCP, 0x10, 0 },
        { 2, 0, 0, 0 }, { 0, IPPROTO_TCP, 0x18, 120 }, { 1, IPPROTO_TCP, 0x18, 900 },
        { 0, IPPROTO_UDP, 0, 30 }, { 2, 0, 0, 0 }, { 1, IPPROTO_UDP, 0, 60 },
        { 0, IPPROTO_TCP, 0x11, 0 }, { 1, IPPROTO_TCP, 0x11, 0 }, { 0, IPPROTO_TCP, 0x10, 0 },
    };
    if (seq[i].dir == 2) {             /* cut inside the IPv4 header */
        size_t n = frame4(buf, "10.0.0.1", "10.0.0.9", IPPROTO_UDP, 1, 2, 0, 0);
        return n - 20;
    }
    uint16_t cp = seq[i].proto == IPPROTO_TCP ? 40000 : 5353, sp = seq[i].proto == IPPROTO_TCP ? 80 : 53;
    return seq[i].dir == 0 ? frame4(buf, "10.0.0.1", "10.0.0.9", seq[i].proto, cp, sp, seq[i].flags, seq[i].plen)
                           : frame4(buf, "10.0.0.9", "10.0.0.1", seq[i].proto, sp, cp, seq[i].flags, seq[i].plen);
}

/* A reader that decodes each frame ahead (worker_peek while the one before
 * is handled, then worker_packet_ahead) leaves what worker_packet leaves:
 * flows, hosts, and each frame counted once in the decode counters. */
TEST_CASE(frames_decoded_ahead_count_as_frames_decoded_in_turn)
{
    struct cache_config cfg = test_cfg();
    struct cache *ca = cache_create(&cfg), *cb = cache_create(&cfg);
    struct worker a, b;
    CHECK_INT(worker_init(&a, 0, ca), 0);
    CHECK_INT(worker_init(&b, 0, cb), 0);
    static uint8_t frames[AHEAD_FRAMES][1600];
    size_t len[AHEAD_FRAMES];
    struct worker_ahead ahead[2];
    for (int i = 0; i < AHEAD_FRAMES; i++) {
        len[i] = ahead_frame(i, frames[i]);
        worker_packet(&a, T0 + (uint64_t)i * 10, 1, frames[i], (uint32_t)len[i], (uint32_t)len[i]);
    }
    for (int i = 0; i < AHEAD_FRAMES; i++) {
        if (i + 1 < AHEAD_FRAMES)
            worker_peek(&b, &ahead[(i + 1) & 1], 1, frames[i + 1], (uint32_t)len[i + 1]);
        if (i == 0)
            worker_packet(&b, T0, 1, frames[0], (uint32_t)len[0], (uint32_t)len[0]);
        else
            worker_packet_ahead(&b, T0 + (uint64_t)i * 10, &ahead[i & 1], (uint32_t)len[i]);
    }
    CHECK_INT(b.dstats.frames, AHEAD_FRAMES);
    CHECK_INT(b.dstats.frames, a.dstats.frames);
    CHECK_INT(b.dstats.ip_packets, a.dstats.ip_packets);
    CHECK_INT(b.dstats.ip_packets, AHEAD_FRAMES - 2);
    CHECK(memcmp(b.dstats.anomalies, a.dstats.anomalies, sizeof(a.dstats.anomalies)) == 0);
    CHECK_INT(atomic_load(&b.st.bytes), atomic_load(&a.st.bytes));
    static const char *const names[] = { "flow.tcp.10.0.0.1:40000-10.0.0.9:80", "flow.udp.10.0.0.1:5353-10.0.0.9:53" };
    for (int i = 0; i < 2; i++) {
        struct flow fa, fb;
        CHECK_INT(flow_of(ca, names[i], &fa), 0);
        CHECK_INT(flow_of(cb, names[i], &fb), 0);
        CHECK_INT(fb.pkts[0], fa.pkts[0]);
        CHECK_INT(fb.pkts[1], fa.pkts[1]);
        CHECK_INT(fb.bytes[0], fa.bytes[0]);
        CHECK_INT(fb.bytes[1], fa.bytes[1]);
        CHECK_INT(fb.closed, fa.closed);
    }
    struct flow f;
    CHECK_INT(flow_of(cb, names[0], &f), 0);
    CHECK_INT(f.pkts[0] + f.pkts[1], 8);  /* the replies found their flow */
    CHECK_INT(counts_of(cb).flows_created, 2);
    struct host ha, hb;
    CHECK_INT(host_of(ca, "10.0.0.9", &ha), 0);
    CHECK_INT(host_of(cb, "10.0.0.9", &hb), 0);
    CHECK_INT(hb.pkts_sent, ha.pkts_sent);
    CHECK_INT(hb.bytes_rcvd, ha.bytes_rcvd);
    CHECK_INT(hb.flows_server, 2);
    worker_destroy(&a);
    worker_destroy(&b);
    cache_destroy(ca);
    cache_destroy(cb);
}

/* 1 when the flow named `name` is in c (found as any reader finds it: cache_flow_visit). */
static void visit_nothing(const struct flow *f, void *arg)
{
    (void)f;
    (void)arg;
}

static int flow_present(struct cache *c, const char *name)
{
    struct flow_key k;
    return flow_key_parse(name, strlen(name), &k) == 0 && cache_flow_visit(c, &k, visit_nothing, NULL) == 0;
}

/* With 2 capture threads each flow lives in a shard of its lane (cache_flow_hash): a tick sweeps
 * its own lane's shards, and the other lane's only once nobody has swept them for a while (the
 * other worker has had no packets). */
TEST_CASE(a_tick_sweeps_its_own_lanes_flows_first)
{
    struct cache_config cfg = test_cfg();
    cfg.lanes = 2;
    struct cache *c = cache_create(&cfg);
    struct worker w[2];
    CHECK_INT(worker_init(&w[0], 0, c), 0);
    CHECK_INT(worker_init(&w[1], 1, c), 0);
    w[1].lane = 1;
    char dst[2][32] = { "", "" }, name[2][96];
    uint8_t a[4], b[4];
    inet_pton(AF_INET, "10.0.0.1", a);
    for (int i = 1; i < 256 && (!dst[0][0] || !dst[1][0]); i++) {   /* a server of each lane */
        char d[32];
        snprintf(d, sizeof(d), "10.0.1.%d", i);
        inet_pton(AF_INET, d, b);
        uint32_t lane = flow_addr_lane_hash(a, b, 1) % 2;
        if (!dst[lane][0])
            memcpy(dst[lane], d, sizeof(d));
    }
    for (int l = 0; l < 2; l++) {
        send4(&w[l], T0, "10.0.0.1", dst[l], IPPROTO_UDP, 40000, 53, 0, 20);
        snprintf(name[l], sizeof(name[l]), "flow.udp.10.0.0.1:40000-%s:53", dst[l]);
        CHECK(flow_present(c, name[l]));
    }
    worker_tick(&w[1], T0 + 30 * SEC - 100000);        /* lane 1 swept, nothing due yet */
    worker_tick(&w[0], T0 + 30 * SEC + 100000);        /* both due: lane 0's flow ends */
    CHECK(!flow_present(c, name[0]));
    CHECK(flow_present(c, name[1]));
    CHECK_INT(counts_of(c).flows_expired, 1);
    worker_tick(&w[0], T0 + 30 * SEC + 500000);        /* lane 1 not swept for 0.6 s: taken over */
    CHECK(!flow_present(c, name[1]));
    CHECK_INT(counts_of(c).flows_expired, 2);
    worker_destroy(&w[0]);
    worker_destroy(&w[1]);
    cache_destroy(c);
}

/* The end of a file split between workers (worker_end_part): with 2 capture threads part k takes
 * exactly lane k's flows; run at once in two threads, the parts end every flow once, with the
 * counts one worker's worker_expire_all gives. */
struct end_arg { struct worker *w; int k, n, all; uint64_t now; };

static void *end_part_run(void *arg)
{
    struct end_arg *e = arg;
    worker_end_part(e->w, e->k, e->n, e->all, e->now);
    return NULL;
}

/* Starts cache *c (lanes capture threads) with two workers, and 2 * per flows from 10.0.0.1 to
 * 10.0.<x>.<y>:53, each sent by the worker of its lane (lanes 2) or by worker 0; dst[i] is flow
 * i's server and lane[i] its lane. */
static void end_setup(struct cache **c, struct worker w[2], uint32_t lanes, int per, char dst[][32], int *lane)
{
    struct cache_config cfg = test_cfg();
    cfg.lanes = lanes;
    *c = cache_create(&cfg);
    CHECK_INT(worker_init(&w[0], 0, *c), 0);
    CHECK_INT(worker_init(&w[1], 1, *c), 0);
    w[1].lane = 1;
    uint8_t a[4], b[4];
    inet_pton(AF_INET, "10.0.0.1", a);
    for (int i = 0; i < 2 * per; i++) {
        snprintf(dst[i], 32, "10.0.%d.%d", 1 + i / 200, 1 + i % 200);
        inet_pton(AF_INET, dst[i], b);
        lane[i] = (int)(flow_addr_lane_hash(a, b, 1) % 2);
        struct worker *by = lanes == 2 ? &w[lane[i]] : &w[0];
        /* the first half idle since T0 (due at T0 + 30 s), the second half seen at T0 + 20 s */
        send4(by, i < per ? T0 : T0 + 20ULL * SEC, "10.0.0.1", dst[i], IPPROTO_UDP, 40000, 53, 0, 20);
    }
    cache_clock_advance(*c, T0 + 40ULL * SEC);
    worker_publish_stats(&w[0]);     /* what file_end_run does first */
    worker_publish_stats(&w[1]);
}

static void end_teardown(struct cache *c, struct worker w[2])
{
    worker_destroy(&w[0]);
    worker_destroy(&w[1]);
    cache_destroy(c);
}

TEST_CASE(end_of_file_parts_end_each_lanes_flows_at_once)
{
    enum { PER = 150 };
    char dst[2 * PER][32], name[96];
    int lane[2 * PER];
    struct cache *c;
    struct worker w[2];
    struct host h;
    end_setup(&c, w, 2, PER, dst, lane);
    CHECK_INT(counts_of(c).flows_created, 2 * PER);
    worker_end_part(&w[1], 1, 2, 1, cache_now(c));        /* lane 1's part alone: lane 1's flows */
    for (int i = 0; i < 2 * PER; i++) {
        snprintf(name, sizeof(name), "flow.udp.10.0.0.1:40000-%s:53", dst[i]);
        if (flow_present(c, name) != (lane[i] == 0))
            CHECK_FAIL_("%s (lane %d) present %d", name, lane[i], flow_present(c, name));
    }
    worker_end_part(&w[0], 0, 2, 1, cache_now(c));
    worker_end_shared(&w[0], 1, cache_now(c));
    CHECK_INT(counts_of(c).flows_expired, 2 * PER);
    CHECK_INT(host_of(c, "10.0.0.1", &h), 0);
    CHECK_INT(h.flows_active, 0);
    end_teardown(c, w);

    /* both modes, 2 and 3 lanes (3: no shard is one lane's), the parts in two threads at once:
     * the same counts and host as worker_expire_all or worker_sweep_due alone */
    for (uint32_t lanes = 2; lanes <= 3; lanes++)
        for (int all = 0; all <= 1; all++) {
            struct host h1, h2;
            struct aggr a1, a2;
            end_setup(&c, w, lanes, PER, dst, lane);
            uint64_t now = all ? cache_now(c) : cache_expiry_now(c, NULL);
            struct end_arg e = { &w[1], 1, 2, all, now };
            pthread_t t;
            CHECK_INT(pthread_create(&t, NULL, end_part_run, &e), 0);
            worker_end_part(&w[0], 0, 2, all, now);
            pthread_join(t, NULL);
            worker_end_shared(&w[0], all, now);
            struct cache_counts n2 = counts_of(c);
            CHECK_INT(host_of(c, "10.0.0.1", &h2), 0);
            CHECK_INT(cache_aggr_get(c, CT_VLAN, 0, &a2), 0);
            end_teardown(c, w);
            end_setup(&c, w, lanes, PER, dst, lane);
            if (all) {
                worker_expire_all(&w[0]);
            } else {
                worker_sweep_due(&w[0]);
            }
            struct cache_counts n1 = counts_of(c);
            CHECK_INT(host_of(c, "10.0.0.1", &h1), 0);
            CHECK_INT(cache_aggr_get(c, CT_VLAN, 0, &a1), 0);
            end_teardown(c, w);
            CHECK_INT(n2.flows_expired, all ? 2 * PER : PER);
            CHECK_INT(n2.flows_expired, n1.flows_expired);
            CHECK_INT(n2.flows_active, n1.flows_active);
            CHECK_INT(h2.flows_active, h1.flows_active);
            CHECK_INT(h2.pkts_sent, h1.pkts_sent);
            CHECK_INT(a2.flows_active, a1.flows_active);
        }
}

int main(void)
{
    if (l7_names_init() != 0)
        return 1;
    RUN(tcp_session_counts_both_directions_and_closes);
    RUN(tcp_handshake_round_trips_from_the_last_syn);
    RUN(host_vlan_counters_grow_cap_and_free);
    RUN(idle_and_lifetime_timeouts_follow_packet_time);
    RUN(max_flows_refuses_and_counts_then_recovers);
    RUN(l7_totals_move_from_unknown_and_expire_all_keeps_aggregates);
    RUN(garbage_frames_are_counted_not_crashing);
    RUN(mac_and_vlan_counters_are_visible_after_a_tick_and_after_destroy);
    RUN(a_lane_holding_packets_holds_expiry_back);
    RUN(end_of_file_sweep_takes_due_flows_behind_live_ones);
    RUN(host_counts_of_a_flows_later_packets_show_after_the_tick);
    RUN(a_host_another_worker_holds_counts_for_outlives_its_flows);
    RUN(a_flow_ended_before_its_start_is_folded_leaves_aggregates_inactive);
    RUN(queue_slots_run_out_and_come_back_cleared);
    RUN(frames_decoded_ahead_count_as_frames_decoded_in_turn);
    RUN(a_tick_sweeps_its_own_lanes_flows_first);
    RUN(end_of_file_parts_end_each_lanes_flows_at_once);
    l7_names_free();
    return CHECK_DONE("worker");
}
