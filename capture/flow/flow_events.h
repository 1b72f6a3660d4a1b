/* flow_events.h - builds the events a capture thread publishes (flow, host, key, dns, http, user, alert, sip, snmp) as data and queues them. */
#ifndef FC_FLOW_EVENTS_H
#define FC_FLOW_EVENTS_H

#include <stdint.h>

#include "capture/cache/cache.h"
#include "capture/decode/decoded_pkt.h"
#include "capture/events/events.h"
#include "capture/flow/app.h"

/*
 * Each function below builds one event (typed fields, no text) stamped with
 * the packet time ts and pushes it on q (the capture thread's queue to the
 * loop thread). It does nothing when no sink wants the event's channel
 * (event_wanted). An event that cannot be built or queued (out of memory,
 * queue full) is dropped: the event queue counts it. Only the thread that
 * owns q calls them.
 */

/* flow.new: flow k, its first packet at first_us. */
void flow_events_flow_new(struct event_queue *q, const struct flow_key *k, uint64_t first_us);
/* flow.end: flow f of cache c (its fields, and the user of either address
 * as of the packet time f fell due, or ts when earlier) ends for reason (ts:
 * when the cache clock ended it). Its fields are made
 * when a sink reads them, its binary record (flow_end_rec.h, with the
 * capture source that made the flow and its interface) when a sink reads
 * that. */
struct flow_end_macs {
    uint8_t has[2];                  /* [0] the client's, [1] the server's: the host shows a MAC */
    uint8_t mac[2][6];               /* its ip.<addr> `mac` when the flow ended */
    uint64_t seen_us[2];             /* the packet time that MAC was last seen */
};
/* macs (or NULL) adds cli.mac / srv.mac and the packet time each was seen
 * (cli.mac.seen.us / srv.mac.seen.us, microseconds) to the fields: the
 * cloud keeps the newest of each host's MAC across flows and probes. The
 * user (of the client, else the server) comes through users, the calling
 * capture thread's memo (capture/cache/names.h). */
struct names_user_memo;
void flow_events_flow_end(struct event_queue *q, struct cache *c, struct names_user_memo *users,
                          const struct flow *f, enum flow_end_reason reason, uint64_t ts,
                          const struct flow_end_macs *macs);
/* key.expired for a flow's key k. */
void flow_events_flow_expired(struct event_queue *q, const struct flow_key *k, uint64_t ts);
/* key.expired for the host key of addr ("ip.<addr>"). Safe under a shard
 * lock (the queue's lock is a leaf). */
void flow_events_host_expired(struct event_queue *q, uint8_t ipver, const uint8_t *addr, uint64_t ts);
/* mac: one MAC's counters since its previous `mac` event, its first and last
 * packet times, and its ip (with the packet time it was seen) when that is
 * newer than the previous event's (ip NULL: unchanged or none). Safe under a
 * shard lock (the queue's lock is a leaf). */
struct flow_events_mac {
    const uint8_t *mac;
    uint64_t bytes_sent, bytes_rcvd, pkts_sent, pkts_rcvd;
    uint64_t first_us, last_us, ip_us;
    const uint8_t *ip;
    uint8_t ipver;
};
void flow_events_mac(struct event_queue *q, const struct flow_events_mac *r, uint64_t ts);
/* host.new: addr, first seen as the source (is_src) or destination of p. */
void flow_events_host_new(struct event_queue *q, uint8_t ipver, const uint8_t *addr,
                          const struct decoded_pkt *p, int is_src, uint64_t ts);
/* dns: the answer (or timeout) a of the flow acts belong to. */
void flow_events_dns(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                     uint64_t ts);
/* http: the request and response a of the flow acts belong to. */
void flow_events_http(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                      uint64_t ts);
/* user.login (Start, or Interim-Update with "acct":"interim") or user.logout (Stop) for the
 * RADIUS accounting a; ip: a's framed address as text, or "". */
void flow_events_user(struct event_queue *q, const struct app_action *a, const char *ip, uint64_t ts);
/* alert.watchlist: the watchlist hit a of the flow acts belong to; dns_query:
 * a DNS query name of the same packet, or NULL. */
void flow_events_alert(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                       const char *dns_query, uint64_t ts);

/* sip: call call_id (its sip.<Call-ID> fields) changed state. */
struct sip_call;
void flow_events_sip(struct event_queue *q, const char *call_id, const struct sip_call *call, uint64_t ts);
/* snmp: the transaction a (ACT_SNMP: a response, a trap, or a request given
 * up on) of the flow acts belong to. */
void flow_events_snmp(struct event_queue *q, const struct app_actions *acts, const struct app_action *a,
                      uint64_t ts);

#endif
