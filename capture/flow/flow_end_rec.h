/* flow_end_rec.h - an ended flow as one binary record carried by its flow.end event, for sinks that read no text (pure data). */
#ifndef FC_FLOW_END_REC_H
#define FC_FLOW_END_REC_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "capture/cache/flow_key.h"

/* Its strings, in the order they follow the record. */
enum flow_end_str { FES_DNS_QUERY = 0, FES_HTTP_HOST, FES_HTTP_URL, FES_TLS_SNI, FES_USER, FES_N };

/* Longest string kept (longer ones are cut: their readers cut shorter still). */
#define FLOW_END_STR_MAX 256

/* Why the flow ended (reason): enum flow_end_reason of capture/cache/cache.h, restated for
 * readers outside capture (flow_events.c checks that they agree). */
enum { FER_IDLE = 0, FER_LIFETIME, FER_TCP, FER_SHUTDOWN };

/* Which latencies were measured (bits of lat): the flow fields of KEYSPACE.md. */
enum {
    FEL_RTT_SERVER = 1,              /* rtt.server.us */
    FEL_RTT = 2,                     /* rtt.us, rtt.client.us */
    FEL_HTTP = 4,                    /* http.service.us */
    FEL_TLS = 8,                     /* tls.handshake.us */
    FEL_DNS = 16,                    /* dns.rtt.us */
};

/* The latency values, in this order: rtt.us, rtt.server.us, rtt.client.us, http.service.us,
 * tls.handshake.us, dns.rtt.us. */
enum flow_end_lat { FEV_RTT = 0, FEV_RTT_SERVER, FEV_RTT_CLIENT, FEV_HTTP_SVC, FEV_TLS_HS, FEV_DNS_RTT, FEV_N };

/*
 * The flow fields a binary reader needs (the export), without formatting:
 * addresses in the key are binary, the application is nDPI's id. Made on
 * the capture thread instead of the event's fields when no sink reads
 * those (event_wants_fields); the strings follow it, each NUL-terminated,
 * str_off counting from the record's start.
 */
struct flow_end_rec {
    struct flow_key key;
    uint8_t reason;                  /* FER_* */
    uint8_t tcp_flags;               /* OR of every packet's flags (TCP header bits) */
    uint8_t lat;                     /* FEL_* */
    uint16_t l7;                     /* nDPI protocol id */
    uint16_t http_status;            /* 0 = none */
    uint32_t ingress_if;             /* interface index of the capture source that made the flow
                                        (if_nametoindex), 0 = none (a file) */
    uint32_t obs_point;              /* 1 + index of that source in the configuration (every --pcap
                                        file together, then each interface), 0 = none */
    uint64_t bytes[2], pkts[2];      /* [0] client->server, [1] server->client; layer-3 bytes */
    uint64_t first_us, last_us;
    uint64_t lat_us[FEV_N];          /* by enum flow_end_lat; 0 when lat says not measured */
    uint16_t str_off[FES_N], str_len[FES_N];    /* len 0: absent */
};

/* Room for a record with every string. */
#define FLOW_END_REC_MAX (sizeof(struct flow_end_rec) + FES_N * (FLOW_END_STR_MAX + 1))

/* String k of r (NUL-terminated, *len its length), or NULL when absent or
 * outside the record's len bytes. Pure. */
static inline const char *flow_end_rec_str(const struct flow_end_rec *r, size_t len, enum flow_end_str k,
                                           size_t *slen)
{
    if (!r->str_len[k] || (size_t)r->str_off[k] + r->str_len[k] >= len)
        return NULL;
    *slen = r->str_len[k];
    return (const char *)r + r->str_off[k];
}

/* Appends string k (n bytes, cut to FLOW_END_STR_MAX) after the record,
 * whose size *len grows; the record's buffer holds FLOW_END_REC_MAX bytes.
 * Pure. */
static inline void flow_end_rec_put(struct flow_end_rec *r, size_t *len, enum flow_end_str k, const char *s,
                                    size_t n)
{
    if (n > FLOW_END_STR_MAX)
        n = FLOW_END_STR_MAX;
    if (!n || r->str_len[k])
        return;
    memcpy((char *)r + *len, s, n);
    ((char *)r)[*len + n] = '\0';
    r->str_off[k] = (uint16_t)*len;
    r->str_len[k] = (uint16_t)n;
    *len += n + 1;
}

#endif
