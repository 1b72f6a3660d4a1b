/* app_ext.h - what app.c keeps per flow (struct flow_ext, its parser state), shared with the readers in app_fields.c (capture threads). */
#ifndef FC_APP_EXT_H
#define FC_APP_EXT_H

#include <stdint.h>
#include <string.h>

#include "dissectors/dns.h"
#include "dissectors/http.h"

enum { DNS_PENDING_MAX = 4 };

struct dns_pending {
    uint16_t txid, qtype;
    uint64_t ts;
    char *qname;                     /* malloc'd */
};

/* An HTTP connection's parser, and the time of the first packet of each
 * request still awaiting its response (http.service.us), oldest first. */
struct app_http {
    struct http_conn conn;
    uint64_t req_ts[HTTP_PENDING_MAX];
    uint8_t nreq;
};

/* Parser state of one flow, allocated while a parser is mid-way (a DNS query
 * awaiting its answer, an HTTP head, a ClientHello, a DNS/TCP stream) and
 * freed as soon as it is not needed: an idle flow keeps none. */
struct app_state {
    struct dns_pending pend[DNS_PENDING_MAX];
    uint16_t ngone;                  /* queries evicted (reported as TIMEOUT) whose answer
                                        may still come */
    uint8_t npend;
    struct dns_tcp_stream *dtcp;     /* [2], DNS over TCP only */
    struct app_http *http;
    uint8_t *tls_buf;                /* ClientHello bytes until the SNI is known */
    uint32_t tls_len;
    struct app_voip *voip;           /* SIP over TCP, or an RTP flow's call (app_voip.c) */
    struct app_snmp_state *snmp;     /* SNMP requests awaiting their response (app_snmp.c) */
};

/* Shown strings of a flow, kept NUL-terminated in s[] in this order. */
enum ext_str { XS_DNS_QUERY = 0, XS_HTTP_METHOD, XS_HTTP_HOST, XS_HTTP_URL, XS_HTTP_UA, XS_TLS_SNI, XS_N };

/* What app_us of a flow_ext holds. */
enum ext_lat {
    LAT_NONE = 0,
    LAT_DNS,                         /* dns.rtt.us: the last query to its response */
    LAT_HTTP,                        /* http.service.us: the last answered request's first
                                        packet to its response's first packet */
    LAT_TLS,                         /* tls.handshake.us: ClientHello to ServerHello */
    LAT_TLS_WAIT,                    /* the ClientHello's time mark, awaiting the ServerHello */
};

/* What a flow's dissectors found (32 bytes + its strings, one allocation). */
struct flow_ext {
    struct app_state *st;            /* parser state, NULL when none is needed */
    uint32_t next_seq[2];            /* TCP: next byte expected per direction (0 c2s, 1 s2c) */
    uint32_t app_us;                 /* the flow's application latency (enum ext_lat): one
                                        field, since a flow has one application */
    uint16_t dns_qtype;
    int16_t dns_rcode;               /* -1 = no response yet */
    uint16_t http_status;
    uint8_t seq_known;               /* bit d: next_seq[d] is set */
    uint8_t lat;                     /* enum ext_lat */
    uint8_t app;                     /* enum app_proto chosen for the flow */
    uint8_t app_done;                /* the dissector has nothing more to learn from this flow */
    uint8_t strs;                    /* bit (1 << enum ext_str) per string present in s[] */
    char s[];
};

/* The string k of x, or NULL when not set. Pure. */
static inline const char *ext_str(const struct flow_ext *x, enum ext_str k)
{
    if (!x || !(x->strs & (1u << k)))
        return NULL;
    const char *p = x->s;
    for (unsigned i = 0; i < (unsigned)k; i++)
        if (x->strs & (1u << i))
            p += strlen(p) + 1;
    return p;
}

#endif
