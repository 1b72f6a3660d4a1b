/* export_record.h - one ended flow as the flow exporters see it: plain data, no cache or event types. */
#ifndef FC_EXPORT_RECORD_H
#define FC_EXPORT_RECORD_H

#include <stdint.h>

/* flowEndReason (IANA IE 136) values. */
enum export_end_reason {
    EXPORT_END_IDLE = 1,             /* idleTimeout */
    EXPORT_END_ACTIVE = 2,           /* activeTimeout: flow-lifetime-timeout cut it */
    EXPORT_END_FIN = 3,              /* endOfFlowDetected: TCP FIN both ways or RST */
    EXPORT_END_FORCED = 4,           /* forcedEnd: shutdown, pcap end */
    EXPORT_END_RESOURCES = 5,        /* lackOfResources */
};

/* Latencies a record carries (lat): the flow fields of KEYSPACE.md's latency section. */
enum {
    EXPORT_LAT_RTT_SERVER = 1,       /* rtt.server.us */
    EXPORT_LAT_RTT = 2,              /* rtt.client.us and rtt.us */
    EXPORT_LAT_HTTP = 4,             /* http.service.us */
    EXPORT_LAT_TLS = 8,              /* tls.handshake.us */
    EXPORT_LAT_DNS = 16,             /* dns.rtt.us */
};

/* The latency values of a record, in the order of their elements (export_ie.c, 7-12). */
enum export_lat_value {
    EXPORT_RTT = 0, EXPORT_RTT_SERVER, EXPORT_RTT_CLIENT, EXPORT_HTTP_SVC, EXPORT_TLS_HS, EXPORT_DNS_RTT, EXPORT_LATS
};

/* A string the record borrows (not owned, not NUL-terminated): len 0 = absent. */
struct export_str {
    const char *s;
    uint16_t len;
};

/* Longest string carried for each field; longer ones are cut (a UTF-8
 * sequence may be cut too). Together they keep any record, with the
 * templates it needs, inside the smallest message (EXPORT_MSG_MIN). */
#define EXPORT_APP_NAME_MAX 32
#define EXPORT_DNS_QNAME_MAX 253
#define EXPORT_HTTP_HOST_MAX 128
#define EXPORT_HTTP_URL_MAX 256
#define EXPORT_TLS_SNI_MAX 128
#define EXPORT_USER_MAX 64

/*
 * One ended flow. Counters are per direction: [0] client->server,
 * [1] server->client, bytes being layer-3 bytes (KEYSPACE.md). Addresses
 * are in network order, IPv4 in the first 4 bytes. The strings are
 * borrowed from whoever built the record and must outlive the encoder call.
 */
struct export_record {
    uint8_t ipver;                   /* 4 or 6 */
    uint8_t proto;                   /* IP protocol number */
    uint8_t tcp_flags;               /* OR of both directions' flags */
    uint8_t end_reason;              /* enum export_end_reason */
    uint16_t vlan;                   /* 0 = untagged */
    uint16_t cli_port, srv_port;
    uint8_t cli[16], srv[16];
    uint64_t octets[2], packets[2];
    uint64_t start_ms, end_ms;       /* Unix epoch milliseconds */
    uint32_t ingress_if;             /* interface index of the capture source, 0 = none (a file) */
    uint32_t obs_point;              /* capture source: 1 + its index in the configuration, 0 = none */
    uint16_t app_id;                 /* nDPI protocol id (0 = Unknown) */
    uint16_t http_status;            /* 0 = none */
    uint8_t lat;                     /* EXPORT_LAT_*: the latencies below that were measured */
    uint64_t lat_us[EXPORT_LATS];    /* microseconds, by enum export_lat_value */
    struct export_str app_name;      /* nDPI's protocol name */
    struct export_str dns_qname, http_host, http_url, tls_sni, user;
};

#endif
