/* app.c - application-layer glue: picks a parser per flow, keeps its bounded state, reports actions (capture threads). */
#include "capture/flow/app.h"

#include <ndpi_protocol_ids.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/names.h"
#include "capture/flow/app_ext.h"
#include "capture/flow/app_glue.h"
#include "capture/flow/field_visitor.h"
#include "dissectors/dns.h"
#include "dissectors/http.h"
#include "dissectors/tls.h"

enum app_proto { APP_UNSET = 0, APP_NONE, APP_DNS, APP_HTTP, APP_TLS, APP_RADIUS, APP_SIP, APP_RTP, APP_SNMP };
enum { DNS_PORT = 53, MDNS_PORT = 5353, HTTP_PORT = 80, HTTP_ALT_PORT = 8080, TLS_PORT = 443,
       RADIUS_AUTH = 1812, RADIUS_ACCT = 1813, RADIUS_OLD_AUTH = 1645, RADIUS_OLD_ACCT = 1646,
       SIP_PORT = 5060, SNMP_PORT = 161, SNMP_TRAP_PORT = 162 };
enum { TLS_BUF_MAX = 16384, TLS_TLS_RECORD = 0x16, TLS_MAJOR = 0x03 };


/* ---- helpers ---- */

void app_str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Microseconds from one packet time to a later one, for a 32-bit latency
 * field (0 when out of order; the most a field holds past 71 minutes). */
static uint32_t lat_us(uint64_t from, uint64_t to)
{
    uint64_t d = to > from ? to - from : 0;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

struct app_action *app_action_add(struct app_actions *out, enum app_act kind)
{
    if (out->n >= APP_ACTIONS_MAX)
        return NULL;
    struct app_action *a = &out->a[out->n++];
    memset(a, 0, offsetof(struct app_action, name));
    a->kind = (uint8_t)kind;
    a->name[0] = a->method[0] = a->url[0] = a->ua[0] = a->session[0] = '\0';
    return a;
}


/* Bytes of x's allocation (what the cache's memory counts for it). */
static size_t ext_size(const struct flow_ext *x)
{
    size_t n = sizeof(*x);
    const char *p = x->s;
    for (unsigned i = 0; i < XS_N; i++)
        if (x->strs & (1u << i)) {
            size_t l = strlen(p) + 1;
            n += l;
            p += l;
        }
    return n;
}

/* Sets the strings of f's ext named in mask (bit 1 << enum ext_str) to v[k]
 * (NULL: unset), in one allocation. The ext moves: callers re-read f->ext.
 * Under OOM the old values stay (shown fields are best effort). */
static void strs_set(struct cache *c, struct flow *f, unsigned mask, const char *const v[])
{
    struct flow_ext *x = f->ext;
    const char *cur[XS_N];
    size_t len[XS_N], old = sizeof(*x), size = sizeof(*x);
    unsigned strs = x->strs, same = 1;
    const char *p = x->s;
    for (unsigned k = 0; k < XS_N; k++) {
        cur[k] = x->strs & (1u << k) ? p : NULL;
        len[k] = cur[k] ? strlen(cur[k]) + 1 : 0;
        p += len[k];
        old += len[k];
        if (mask & (1u << k)) {
            if (!cur[k] != !v[k] || (v[k] && strcmp(cur[k], v[k]) != 0))
                same = 0;
            cur[k] = v[k];
            len[k] = v[k] ? strlen(v[k]) + 1 : 0;
            strs = v[k] ? strs | (1u << k) : strs & ~(1u << k);
        }
        size += len[k];
    }
    if (same)
        return;
    struct flow_ext *n = malloc(size);
    if (!n)
        return;
    *n = *x;
    n->strs = (uint8_t)strs;
    char *d = n->s;
    for (unsigned k = 0; k < XS_N; k++)
        if (cur[k]) {
            memcpy(d, cur[k], len[k]);
            d += len[k];
        }
    free(x);
    f->ext = n;
    budget_charge(&c->budget, size);
    budget_release(&c->budget, old);
}

static void str_set(struct cache *c, struct flow *f, enum ext_str k, const char *v)
{
    const char *cur = ext_str(f->ext, k);
    if (cur && v && strcmp(cur, v) == 0)
        return;                      /* the usual case: a DNS answer names its query */
    const char *vals[XS_N] = { NULL };
    vals[k] = v;
    strs_set(c, f, 1u << k, vals);
}

static struct flow_ext *ext_of(struct cache *c, struct flow *f)
{
    if (!f->ext) {
        f->ext = calloc(1, sizeof(*f->ext));
        if (!f->ext)
            return NULL;
        f->ext->dns_rcode = -1;
        budget_charge(&c->budget, sizeof(*f->ext));
    }
    return f->ext;
}

/* Bytes of st and what it points to. */
static size_t state_size(const struct app_state *st)
{
    size_t n = sizeof(*st);
    for (int i = 0; i < st->npend; i++)
        n += strlen(st->pend[i].qname) + 1;
    if (st->dtcp)
        n += 2 * sizeof(*st->dtcp);
    if (st->http)
        n += sizeof(*st->http);
    if (st->tls_buf)
        n += TLS_BUF_MAX;
    return n + app_voip_size(st->voip) + app_snmp_size(st->snmp);
}

static struct app_state *state_of(struct cache *c, struct flow_ext *x)
{
    if (!x->st && (x->st = calloc(1, sizeof(*x->st))) != NULL)
        budget_charge(&c->budget, sizeof(*x->st));
    return x->st;
}

/* Frees x's parser state; c NULL at cache teardown (nothing to count). */
static void state_free(struct cache *c, struct flow_ext *x)
{
    struct app_state *st = x->st;
    if (!st)
        return;
    if (c)
        budget_release(&c->budget, state_size(st));
    for (int i = 0; i < st->npend; i++)
        free(st->pend[i].qname);
    free(st->dtcp);
    free(st->http);
    free(st->tls_buf);
    app_voip_free(st->voip);
    app_snmp_free(st->snmp);
    free(st);
    x->st = NULL;
}

/* Frees x's parser state once nothing in it is in use (a flow that had
 * queries evicted keeps it, to recognise their late answers). */
static void state_trim(struct cache *c, struct flow_ext *x)
{
    const struct app_state *st = x->st;
    if (st && !st->npend && !st->ngone && !st->dtcp && !st->http && !st->tls_buf && !st->voip && !st->snmp)
        state_free(c, x);
}

static int port_is(const struct flow_key *k, uint16_t a, uint16_t b)
{
    return k->sport == a || k->sport == b || k->cport == a || k->cport == b;
}

static int looks_like_http_request(const uint8_t *p, size_t len)
{
    static const char *const methods[] = { "GET ", "POST ", "HEAD ", "PUT ", "DELETE ", "OPTIONS ",
                                            "PATCH ", "CONNECT ", "TRACE " };
    for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
        size_t n = strlen(methods[i]);
        if (len >= n && memcmp(p, methods[i], n) == 0)
            return 1;
    }
    return 0;
}

/* The parser of a flow nDPI names, whatever its ports (content, not port: README). */
static enum app_proto app_by_l7(const struct flow *f)
{
    int udp = f->key.l4proto == IPPROTO_UDP;
    switch (f->l7) {
    case NDPI_PROTOCOL_DNS: return APP_DNS;
    case NDPI_PROTOCOL_SIP: return APP_SIP;
    case NDPI_PROTOCOL_RADIUS: return udp ? APP_RADIUS : APP_NONE;
    case NDPI_PROTOCOL_SNMP: return udp ? APP_SNMP : APP_NONE;
    default: return APP_NONE;
    }
}

static enum app_proto app_choose(const struct flow *f, const struct decoded_pkt *p)
{
    const struct flow_key *k = &f->key;
    if (k->l4proto == IPPROTO_UDP) {
        if (port_is(k, DNS_PORT, MDNS_PORT))
            return APP_DNS;
        if (port_is(k, RADIUS_ACCT, RADIUS_AUTH) || port_is(k, RADIUS_OLD_ACCT, RADIUS_OLD_AUTH))
            return APP_RADIUS;
        if (port_is(k, SIP_PORT, SIP_PORT))
            return APP_SIP;
        if (port_is(k, SNMP_PORT, SNMP_TRAP_PORT))
            return APP_SNMP;
        static const uint8_t by_guess[] = { [GUESS_SIP] = APP_SIP, [GUESS_RTP] = APP_RTP,
                                            [GUESS_SNMP] = APP_SNMP, [GUESS_DNS] = APP_DNS, [GUESS_RADIUS] = APP_RADIUS };
        int guess = app_guess(k->l4proto, p->payload, p->payload_len);     /* by content, then nDPI's name */
        if (guess == GUESS_DNS && f->l7 != NDPI_PROTOCOL_UNKNOWN && f->l7 != NDPI_PROTOCOL_DNS)
            guess = GUESS_NONE;      /* DNS-shaped, but nDPI knows it: NetBIOS, LLMNR, mDNS... */
        return guess != GUESS_NONE ? (enum app_proto)by_guess[guess] : app_by_l7(f);
    }
    if (k->l4proto != IPPROTO_TCP)
        return APP_NONE;
    if (k->sport == DNS_PORT)
        return APP_DNS;
    if (k->sport == HTTP_PORT || k->sport == HTTP_ALT_PORT)
        return APP_HTTP;
    if (k->sport == TLS_PORT)
        return APP_TLS;
    if (k->sport == SIP_PORT || app_guess(k->l4proto, p->payload, p->payload_len) == GUESS_SIP)
        return APP_SIP;
    if (p->payload_len >= 3 && p->payload[0] == TLS_TLS_RECORD && p->payload[1] == TLS_MAJOR)
        return APP_TLS;
    if (p->payload_len >= 4 && looks_like_http_request(p->payload, p->payload_len))
        return APP_HTTP;
    if (!p->payload_len)
        return APP_UNSET;            /* decide on the first payload */
    return app_by_l7(f);
}

/* ---- DNS ---- */

struct dns_ctx {
    struct cache *c;
    struct flow *f;
    uint64_t ts;
    struct app_actions *out;
};

/* Reports pd, a query given up on (never answered), as a TIMEOUT into out.
 * Returns 0, or -1 when out is full (the report is lost). */
static int dns_timeout_report(struct app_actions *out, const struct dns_pending *pd)
{
    struct app_action *a = app_action_add(out, ACT_DNS_TIMEOUT);
    if (!a)
        return -1;
    a->qtype = pd->qtype;
    a->txid = pd->txid;
    a->rcode = -1;
    a->query_us = pd->ts;
    app_str_copy(a->name, sizeof(a->name), pd->qname);
    return 0;
}

/* Gives up on st's oldest pending query to make room for a new one: it is
 * reported as a TIMEOUT (as at the flow's end) and counted in INFO
 * dns_queries_evicted, never dropped unseen. st->ngone counts it, so that
 * its late answer is not reported as a second transaction. */
static void dns_pending_evict(struct dns_ctx *x, struct app_state *st)
{
    struct dns_pending *old = &st->pend[0];
    dns_timeout_report(x->out, old);
    if (st->ngone < UINT16_MAX)
        st->ngone++;
    atomic_fetch_add_explicit(&x->c->st.dns_queries_evicted, 1, memory_order_relaxed);
    budget_release(&x->c->budget, strlen(old->qname) + 1);
    free(old->qname);
    memmove(&st->pend[0], &st->pend[1], sizeof(st->pend[0]) * (DNS_PENDING_MAX - 1));
    st->npend--;
}

static void dns_query_seen(struct dns_ctx *x, const struct dns_msg *m)
{
    str_set(x->c, x->f, XS_DNS_QUERY, m->qname);
    struct flow_ext *e = x->f->ext;
    struct app_state *st = state_of(x->c, e);
    e->dns_qtype = m->qtype;
    e->dns_rcode = -1;
    e->lat = LAT_NONE;
    char *qname = st ? strdup(m->qname) : NULL;
    if (qname) {
        budget_charge(&x->c->budget, strlen(qname) + 1);
        if (st->npend == DNS_PENDING_MAX)
            dns_pending_evict(x, st);
        struct dns_pending *pd = &st->pend[st->npend++];
        pd->txid = m->txid;
        pd->qtype = m->qtype;
        pd->ts = x->ts;
        pd->qname = qname;
    }
    struct app_action *a = app_action_add(x->out, ACT_DNS_QUERY);
    if (a) {
        a->qtype = m->qtype;
        a->txid = m->txid;
        app_str_copy(a->name, sizeof(a->name), m->qname);
    }
}

/* 1 when a response no pending query of st matches is taken as the late
 * answer of a query evicted before (one fewer is then awaited). Evicted
 * queries are not kept, so any such response on a flow that evicted
 * queries counts as one: every query then has one `dns` event. */
static int dns_answers_gone(struct app_state *st)
{
    if (!st || !st->ngone)
        return 0;
    st->ngone--;
    return 1;
}

/* A response: the flow's fields, its pending query's round trip, and an
 * action (ACT_DNS_RESPONSE) for the name tables and the `dns` channel; the
 * late answer of an evicted query counts in the name tables but is marked
 * late (its transaction was reported as TIMEOUT). */
static void dns_response_seen(struct dns_ctx *x, const struct dns_msg *m)
{
    struct app_action *a = app_action_add(x->out, ACT_DNS_RESPONSE);
    str_set(x->c, x->f, XS_DNS_QUERY, m->qname);
    struct flow_ext *e = x->f->ext;
    struct app_state *st = e->st;
    e->dns_qtype = m->qtype;
    e->dns_rcode = (int16_t)m->rcode;
    e->lat = LAT_NONE;
    for (int i = 0; st && i < st->npend; i++) {
        struct dns_pending *pd = &st->pend[i];
        if (pd->txid != m->txid || strcmp(pd->qname, m->qname) != 0)
            continue;
        e->app_us = lat_us(pd->ts, x->ts);
        e->lat = LAT_DNS;
        budget_release(&x->c->budget, strlen(pd->qname) + 1);
        free(pd->qname);
        memmove(pd, pd + 1, sizeof(*pd) * (size_t)(st->npend - i - 1));
        st->npend--;
        break;
    }
    int late = e->lat != LAT_DNS && dns_answers_gone(st);
    state_trim(x->c, e);
    if (a) {
        a->late = (uint8_t)late;
        a->qtype = m->qtype;
        a->txid = m->txid;
        a->rcode = (int16_t)m->rcode;
        a->has_rtt = e->lat == LAT_DNS;
        a->rtt_us = e->app_us;
        app_str_copy(a->name, sizeof(a->name), m->qname);
    }
}

static void dns_message(void *arg, const uint8_t *msg, size_t len)
{
    struct dns_ctx *x = arg;
    struct dns_msg m;
    if (dns_parse(msg, len, &m) != DISSECT_OK || m.opcode != 0 || m.qdcount == 0 ||
        strlen(m.qname) >= APP_NAME_MAX)
        return;
    if (m.is_response)
        dns_response_seen(x, &m);
    else
        dns_query_seen(x, &m);
}

static void app_dns(struct cache *c, struct flow *f, const uint8_t *data, uint32_t len, int c2s,
                    uint64_t ts, struct app_actions *out)
{
    struct dns_ctx x = { c, f, ts, out };
    if (f->key.l4proto == IPPROTO_UDP) {
        dns_message(&x, data, len);
        return;
    }
    struct app_state *st = state_of(c, f->ext);
    if (!st)
        return;
    if (!st->dtcp) {
        if (!(st->dtcp = calloc(2, sizeof(*st->dtcp))))
            return;
        budget_charge(&c->budget, 2 * sizeof(*st->dtcp));
    }
    dns_tcp_feed(&st->dtcp[c2s ? 0 : 1], data, len, dns_message, &x);
}

/* ---- HTTP ---- */

struct http_ctx {
    struct cache *c;
    struct flow *f;
    struct app_http *h;
    struct app_actions *out;
};

/* Request m joins the queue awaiting a response, or response m answers the
 * oldest request in it: http.service.us from the request's first packet to
 * the response's (a head's tag is the time of the packet its first byte
 * came in). Returns 1 and sets *us when m answers a request. */
static int http_service(struct app_http *h, const struct http_msg *m, uint32_t *us)
{
    if (m->is_request) {
        if (h->nreq < HTTP_PENDING_MAX)
            h->req_ts[h->nreq++] = m->tag;
        return 0;
    }
    if (!h->nreq)
        return 0;
    *us = lat_us(h->req_ts[0], m->tag);
    memmove(&h->req_ts[0], &h->req_ts[1], sizeof(h->req_ts[0]) * --h->nreq);
    return 1;
}

static void http_message(void *arg, const struct http_msg *m)
{
    struct http_ctx *x = arg;
    struct app_action *a = app_action_add(x->out, m->is_request ? ACT_HTTP_REQUEST : ACT_HTTP_RESPONSE);
    uint32_t svc = 0;
    int has_svc = http_service(x->h, m, &svc);
    if (has_svc) {
        x->f->ext->app_us = svc;
        x->f->ext->lat = LAT_HTTP;
    }
    if (m->is_request) {
        const char *v[XS_N] = { NULL };
        v[XS_HTTP_METHOD] = m->method;
        v[XS_HTTP_HOST] = m->host[0] ? m->host : NULL;   /* shown only when known */
        v[XS_HTTP_URL] = m->url;
        v[XS_HTTP_UA] = m->ua;                           /* kept when a request has none */
        strs_set(x->c, x->f, (1u << XS_HTTP_METHOD) | (1u << XS_HTTP_HOST) | (1u << XS_HTTP_URL) |
                             (m->ua[0] ? 1u << XS_HTTP_UA : 0), v);
        x->f->ext->http_status = 0;
    } else {
        x->f->ext->http_status = (uint16_t)m->status;
    }
    if (!a)
        return;
    const struct flow_ext *e = x->f->ext;
    const char *method = ext_str(e, XS_HTTP_METHOD), *host = ext_str(e, XS_HTTP_HOST);
    const char *url = ext_str(e, XS_HTTP_URL), *ua = ext_str(e, XS_HTTP_UA);
    a->status = (uint16_t)m->status;
    a->has_rtt = (uint8_t)has_svc;
    a->rtt_us = svc;
    app_str_copy(a->method, sizeof(a->method), m->is_request ? m->method : (method ? method : ""));
    app_str_copy(a->name, sizeof(a->name), m->is_request ? m->host : (host ? host : ""));
    app_str_copy(a->url, sizeof(a->url), m->is_request ? m->url : (url ? url : ""));
    app_str_copy(a->ua, sizeof(a->ua), m->is_request ? m->ua : (ua ? ua : ""));
}

static void app_http(struct cache *c, struct flow *f, const uint8_t *data, uint32_t len, int c2s,
                     uint64_t ts, struct app_actions *out)
{
    struct app_state *st = state_of(c, f->ext);
    if (!st)
        return;
    if (!st->http) {
        if (!(st->http = malloc(sizeof(*st->http))))
            return;
        budget_charge(&c->budget, sizeof(*st->http));
        http_conn_init(&st->http->conn);
        st->http->nreq = 0;
    }
    struct http_ctx x = { c, f, st->http, out };
    st->http->conn.dir[c2s ? 0 : 1].tag = ts;
    if (http_conn_feed(&st->http->conn, c2s, data, len, http_message, &x) == DISSECT_MALFORMED) {
        f->ext->app = APP_NONE;      /* not HTTP after all: stop looking */
        state_free(c, f->ext);
    } else if (http_conn_at_rest(&st->http->conn)) {
        free(st->http);              /* ~4 KB: an idle keep-alive flow does not keep it */
        st->http = NULL;
        budget_release(&c->budget, sizeof(*st->http));
    }
}

/* ---- TLS ---- */

/* The server's first bytes on a flow whose ClientHello was read: a
 * ServerHello gives tls.handshake.us; either way the flow is done. */
static void tls_server_first(struct flow_ext *e, const uint8_t *data, uint32_t len, uint64_t ts)
{
    if (e->lat != LAT_TLS_WAIT)
        return;                      /* the server speaks before the hello is whole: not yet */
    if (tls_handshake_type(data, len) == TLS_HELLO_SERVER) {
        e->app_us = cache_gap32(e->app_us, (uint32_t)ts);
        e->lat = LAT_TLS;
    } else {
        e->lat = LAT_NONE;
    }
    e->app_done = 1;
}

static void app_tls(struct cache *c, struct flow *f, const uint8_t *data, uint32_t len, int c2s,
                    uint64_t ts, struct app_actions *out)
{
    struct flow_ext *e = f->ext;
    if (!c2s) {
        tls_server_first(e, data, len, ts);
        return;
    }
    if (e->lat == LAT_TLS_WAIT)
        return;                      /* the hello is read; the server's answer is awaited */
    struct app_state *st = state_of(c, e);
    if (!st)
        return;
    if (!st->tls_buf) {
        if (!(st->tls_buf = malloc(TLS_BUF_MAX)))
            return;
        budget_charge(&c->budget, TLS_BUF_MAX);
        e->app_us = (uint32_t)ts;    /* the hello's first packet: tls.handshake.us starts */
    }
    uint32_t n = len;
    if (n > TLS_BUF_MAX - st->tls_len)
        n = TLS_BUF_MAX - st->tls_len;
    memcpy(st->tls_buf + st->tls_len, data, n);
    st->tls_len += n;
    char sni[APP_STR_MAX];
    int rc = tls_client_hello_sni(st->tls_buf, st->tls_len, sni, sizeof(sni));
    if (rc == DISSECT_NEED_MORE && st->tls_len < TLS_BUF_MAX)
        return;
    if (tls_handshake_type(st->tls_buf, st->tls_len) == TLS_HELLO_CLIENT)
        e->lat = LAT_TLS_WAIT;       /* with or without a name: time the handshake */
    else
        e->app_done = 1;
    state_free(c, e);
    if (rc != DISSECT_OK)
        return;
    str_set(c, f, XS_TLS_SNI, sni);
    struct app_action *a = app_action_add(out, ACT_TLS_SNI);
    if (a) {
        a->bytes = f->bytes[0] + f->bytes[1];
        app_str_copy(a->name, sizeof(a->name), sni);
    }
}

/* ---- TCP: in-order bytes only ---- */

/* Gives the stream parsers each TCP byte once: a retransmitted segment is
 * skipped and the already-seen head of an overlapping one is trimmed.
 * Returns the payload to parse (len 0 = nothing new). Out-of-order segments
 * (a gap) are passed on: the parsers resynchronise or go dead on their own. */
static uint32_t tcp_new_bytes(struct flow_ext *x, const struct decoded_pkt *p, int c2s,
                              const uint8_t **data)
{
    int d = c2s ? 0 : 1;
    uint32_t len = p->payload_len, seq = p->tcp_seq;
    *data = p->payload;
    if (x->seq_known & (1u << d)) {
        int32_t behind = (int32_t)(x->next_seq[d] - seq);
        if (behind > 0) {
            if ((uint32_t)behind >= len)
                return 0;            /* all seen before: a retransmission */
            *data += behind;
            len -= (uint32_t)behind;
            seq += (uint32_t)behind;
        }
    }
    x->next_seq[d] = seq + len;
    x->seq_known |= (uint8_t)(1u << d);
    return len;
}

/* ---- SIP, RTP, SNMP (app_voip.c, app_snmp.c) ---- */

static void app_sip(struct cache *c, struct flow *f, const uint8_t *data, uint32_t len, int c2s,
                    struct app_actions *out)
{
    struct app_voip *none = NULL, **v = &none;      /* SIP over UDP keeps no state */
    struct app_state *st = f->key.l4proto == IPPROTO_TCP ? state_of(c, f->ext) : NULL;
    if (st)
        v = &st->voip;
    if ((st || f->key.l4proto != IPPROTO_TCP) && app_sip_packet(c, v, f, data, len, c2s, out) < 0) {
        f->ext->app = APP_NONE;      /* not SIP after all: stop looking */
        state_free(c, f->ext);
    }
}

/* An RTP-looking flow the media index names becomes APP_RTP; returns 1 then. */
static int app_rtp_attach(struct cache *c, struct flow *f)
{
    struct app_voip *v = app_rtp_link(c, f);
    struct app_state *st = v && ext_of(c, f) ? state_of(c, f->ext) : NULL;
    if (!st) {
        budget_release(&c->budget, app_voip_size(v));
        app_voip_free(v);
        return 0;
    }
    st->voip = v;
    f->ext->app = APP_RTP;
    return 1;
}

/* ---- entry points ---- */

void app_flow_packet(struct cache *c, struct flow *f, const struct decoded_pkt *p, int c2s,
                     uint64_t ts, struct app_actions *out)
{
    if (!p->payload || p->payload_len == 0 || (f->ext && (f->ext->app == APP_NONE || f->ext->app_done)))
        goto bytes;
    if (!f->ext || f->ext->app == APP_UNSET) {
        enum app_proto ap = app_choose(f, p);
        if (ap == APP_RTP && !app_rtp_attach(c, f))
            ap = APP_NONE;           /* RTP-looking, but no call's SDP names it (yet) */
        if (ap == APP_NONE || ap == APP_UNSET) {
            if (f->ext)
                f->ext->app = (uint8_t)ap;
            goto bytes;
        }
        if (!ext_of(c, f))
            return;
        f->ext->app = (uint8_t)ap;
    }
    if (f->ext->app == APP_RADIUS) {
        app_radius_packet(p, out);
        goto bytes;
    }
    const uint8_t *data = p->payload;
    uint32_t len = p->payload_len;
    if (f->key.l4proto == IPPROTO_TCP && (len = tcp_new_bytes(f->ext, p, c2s, &data)) == 0)
        goto bytes;
    switch (f->ext->app) {
    case APP_DNS: app_dns(c, f, data, len, c2s, ts, out); break;
    case APP_HTTP: app_http(c, f, data, len, c2s, ts, out); break;
    case APP_TLS: app_tls(c, f, data, len, c2s, ts, out); break;
    case APP_SIP: app_sip(c, f, data, len, c2s, out); break;
    case APP_RTP: app_rtp_packet(f->ext->st ? f->ext->st->voip : NULL, data, len, c2s, ts, out); break;
    case APP_SNMP:
        if (state_of(c, f->ext))
            app_snmp_packet(c, &f->ext->st->snmp, data, len, c2s, ts, out);
        break;
    default: break;
    }
    state_trim(c, f->ext);
bytes:;
    const char *sni = ext_str(f->ext, XS_TLS_SNI);
    if (sni && !(out->n && out->a[out->n - 1].kind == ACT_TLS_SNI)) {
        struct app_action *a = app_action_add(out, ACT_TLS_BYTES);
        if (a) {
            a->bytes = p->l3_len;
            app_str_copy(a->name, sizeof(a->name), sni);
        }
    }
}

void app_flow_end(struct cache *c, struct flow *f, struct app_actions *out)
{
    struct flow_ext *e = f->ext;
    if (!e)
        return;
    for (int i = 0; e->st && i < e->st->npend; i++)
        if (dns_timeout_report(out, &e->st->pend[i]) < 0)
            break;
    if (e->st)
        app_snmp_end(e->st->snmp, out);
    state_free(c, e);
    budget_release(&c->budget, ext_size(e));
    app_flow_release(f);
}

void app_flow_release(struct flow *f)
{
    struct flow_ext *e = f->ext;
    if (!e)
        return;
    state_free(NULL, e);
    free(e);
    f->ext = NULL;
}
