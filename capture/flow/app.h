/* app.h - application-layer glue: routes flow payloads to the DNS, HTTP, TLS, RADIUS, SIP, RTP and SNMP parsers (capture threads). */
#ifndef FC_APP_H
#define FC_APP_H

#include <stdint.h>

#include "capture/cache/cache.h"
#include "capture/decode/decode.h"
#include "capture/cache/flow_key.h"

#define APP_STR_MAX 256
#define APP_NAME_MAX 1024               /* a DNS name's text with its \DDD escapes */
#define APP_URL_MAX 512
#define APP_ACTIONS_MAX 8

/* What a flow's dissectors found, shown as hash fields of flow.<key>
 * (app_flow_fields): one allocation per flow, defined in app_ext.h for app.c
 * and app_fields.c only, freed with the flow and counted in the cache's memory. */
struct flow_ext;

enum app_act {
    ACT_DNS_QUERY = 1, ACT_DNS_RESPONSE, ACT_DNS_TIMEOUT,
    ACT_HTTP_REQUEST, ACT_HTTP_RESPONSE, ACT_TLS_SNI, ACT_TLS_BYTES,
    ACT_RADIUS, ACT_WATCH_ALERT, ACT_TCP_RTT,
    ACT_SIP,                         /* a SIP message of an INVITE dialog (name: Call-ID) */
    ACT_RTP,                         /* media of a call (name: Call-ID): what to add to it */
    ACT_SNMP,                        /* an SNMP request, response, trap or timeout */
};

/* SDP endpoint of a SIP message (family 0: none). */
struct app_media { uint8_t ver; uint8_t ip[16]; uint16_t port, rtcp_port; uint8_t pt; uint32_t clock; };

/* ACT_SIP: the message; url holds the From URI, ua the To URI. */
struct app_sip {
    uint8_t is_request, method, cseq_method, c2s;   /* enum sip_method; c2s: sent client to server */
    struct app_media media;
    char codec[24];
};

/* ACT_RTP: what one packet changed on its direction of the flow. */
struct app_rtp {
    uint8_t party;                   /* the sender: SIPC_CALLER or SIPC_CALLEE */
    int64_t dpkts, dlost;            /* change since the last report */
    uint64_t jitter_us;
};

enum app_snmp_kind { SNMPA_REQUEST = 1, SNMPA_RESPONSE, SNMPA_TRAP, SNMPA_TIMEOUT };
/* ACT_SNMP: one message, or a request given up on. */
struct app_snmp {
    uint8_t kind;                    /* enum app_snmp_kind */
    uint8_t pdu;                     /* the message's PDU type (a timeout: its request's) */
    uint8_t req_pdu;                 /* a matched response: its request's PDU type */
    uint8_t agent_srv;               /* the agent is the flow's server (else its client) */
    uint8_t version;
    int64_t request_id;              /* v3: msgID */
    int64_t error_status;
};

/* One thing a packet taught us, applied to the name tables, hosts and
 * channels after the flow lock is released. */
struct app_action {
    uint8_t kind;                    /* enum app_act */
    uint8_t has_rtt;                 /* rtt_us is set */
    uint8_t late;                    /* DNS response to a query evicted and reported as
                                        TIMEOUT: no second `dns` event */
    uint16_t qtype, txid;
    int16_t rcode;
    uint16_t status;
    uint32_t rtt_us;                 /* DNS response: query to response; HTTP response:
                                        service time, request to response (first packets);
                                        TCP RTT: the handshake's rtt.us */
    uint64_t bytes;
    uint64_t query_us;               /* DNS TIMEOUT: the packet time of the unanswered query */
    union {                          /* zeroed by app_action_add; by kind: */
        struct app_sip sip;
        struct app_rtp rtp;
        struct app_snmp snmp;
    } u;
    char name[APP_NAME_MAX];         /* qname / host / sni / user */
    char method[16];
    char url[APP_URL_MAX];
    char ua[APP_STR_MAX];
    char session[64];
    uint32_t acct_status;
    uint8_t ipver, ip[16], nas_ver, nas[16], has_ip, has_nas;
};

struct app_actions {
    int n;
    struct flow_key key;             /* the flow they came from */
    uint16_t l7;
    struct app_action a[APP_ACTIONS_MAX];
};

/* Copies src into dst (capacity cap > 0), cut to fit, always terminated. Pure. */
void app_str_copy(char *dst, size_t cap, const char *src);

/* Appends an action of kind to out, its fixed fields zeroed and strings
 * empty; NULL when out is full (the action is lost). Capture thread. */
struct app_action *app_action_add(struct app_actions *out, enum app_act kind);

/* Dissect one packet of flow f (caller holds f's shard lock): updates f's
 * shown fields and parser state, and appends what must be applied outside
 * the lock to out. Never fails: malformed payloads are counted and ignored.
 * Capture thread. */
void app_flow_packet(struct cache *c, struct flow *f, const struct decoded_pkt *p, int c2s,
                     uint64_t ts, struct app_actions *out);

/* The flow ends (it is no longer in the cache): report what is pending
 * (unanswered DNS queries) into out and free the flow's ext. Capture thread. */
void app_flow_end(struct cache *c, struct flow *f, struct app_actions *out);

/* Free f->ext without reporting (cache teardown). */
void app_flow_release(struct flow *f);

/* Fields of f->ext (x may be NULL: none), typed, in KEYSPACE.md order, for hashes and events. */
struct field_visitor;
void app_flow_fields(const struct flow_ext *x, const struct field_visitor *v);
/* The application latency of f->ext, when measured: http.service.us or
 * tls.handshake.us (dns.rtt.us is among app_flow_fields' DNS fields). */
void app_flow_latency_fields(const struct flow_ext *x, const struct field_visitor *v);
/* What flow export takes from f->ext (x may be NULL: nothing), straight into flow.end's binary
 * record r of *len bytes (FLOW_END_REC_MAX room; *len grows by the strings): dns.query,
 * http.host, http.url, tls.sni, http.status and the latency, exactly as app_flow_fields and
 * app_flow_latency_fields show them, without formatting or naming any field. Capture thread
 * (or whoever holds the flow). */
struct flow_end_rec;
void app_flow_end_rec(const struct flow_ext *x, struct flow_end_rec *r, size_t *len);

#endif
