/* app.c - application-layer glue: picks a parser per flow, keeps its bounded state, reports actions (capture threads). */
#include "dissectors/app.h"

#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/names.h"
#include "dissectors/dns.h"
#include "dissectors/http.h"
#include "dissectors/radius.h"
#include "dissectors/tls.h"

enum app_proto { APP_UNSET = 0, APP_NONE, APP_DNS, APP_HTTP, APP_TLS, APP_RADIUS };
enum { DNS_PORT = 53, MDNS_PORT = 5353, HTTP_PORT = 80, HTTP_ALT_PORT = 8080, TLS_PORT = 443,
       RADIUS_AUTH = 1812, RADIUS_ACCT = 1813, RADIUS_OLD_AUTH = 1645, RADIUS_OLD_ACCT = 1646 };
enum { DNS_PENDING_MAX = 4, TLS_BUF_MAX = 16384, TLS_TLS_RECORD = 0x16, TLS_MAJOR = 0x03 };

struct dns_pending {
    uint16_t txid, qtype;
    uint64_t ts;
    char *qname;                     /* malloc'd */
};

/* Parser state of one flow, allocated for the flows that need it. */
struct app_state {
    uint32_t next_seq[2];            /* TCP: next byte expected per direction (0 c2s, 1 s2c) */
    uint8_t seq_known[2];
    struct dns_pending pend[DNS_PENDING_MAX];
    uint8_t npend;
    struct dns_tcp_stream *dtcp;     /* [2], DNS over TCP only */
    struct http_conn *http;
    uint8_t *tls_buf;                /* ClientHello bytes until the SNI is known */
    uint32_t tls_len;
};

/* ---- helpers ---- */

/* Copies src into dst (capacity cap), cut to fit, always terminated. */
static void str_copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static struct app_action *act_add(struct app_actions *out, enum app_act kind)
{
    if (out->n >= APP_ACTIONS_MAX)
        return NULL;
    struct app_action *a = &out->a[out->n++];
    memset(a, 0, offsetof(struct app_action, name));
    a->kind = (uint8_t)kind;
    a->name[0] = a->method[0] = a->url[0] = a->ua[0] = a->session[0] = '\0';
    return a;
}

static void str_set(char **slot, const char *s)
{
    if (*slot && strcmp(*slot, s) == 0)
        return;
    char *dup = strdup(s);
    if (!dup)
        return;                      /* keep the old value: shown fields are best effort under OOM */
    free(*slot);
    *slot = dup;
}

static struct flow_ext *ext_of(struct flow *f)
{
    if (!f->ext) {
        f->ext = calloc(1, sizeof(*f->ext));
        if (f->ext)
            f->ext->dns_rcode = -1;
    }
    return f->ext;
}

static struct app_state *state_of(struct flow_ext *x)
{
    if (!x->st)
        x->st = calloc(1, sizeof(*x->st));
    return x->st;
}

static void state_free(struct flow_ext *x)
{
    struct app_state *st = x->st;
    if (!st)
        return;
    for (int i = 0; i < st->npend; i++)
        free(st->pend[i].qname);
    free(st->dtcp);
    free(st->http);
    free(st->tls_buf);
    free(st);
    x->st = NULL;
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

static enum app_proto app_choose(const struct flow *f, const struct decoded_pkt *p)
{
    const struct flow_key *k = &f->key;
    if (k->l4proto == IPPROTO_UDP) {
        if (port_is(k, DNS_PORT, MDNS_PORT))
            return APP_DNS;
        if (port_is(k, RADIUS_ACCT, RADIUS_AUTH) || port_is(k, RADIUS_OLD_ACCT, RADIUS_OLD_AUTH))
            return APP_RADIUS;
        return APP_NONE;
    }
    if (k->l4proto != IPPROTO_TCP)
        return APP_NONE;
    if (k->sport == DNS_PORT)
        return APP_DNS;
    if (k->sport == HTTP_PORT || k->sport == HTTP_ALT_PORT)
        return APP_HTTP;
    if (k->sport == TLS_PORT)
        return APP_TLS;
    if (p->payload_len >= 3 && p->payload[0] == TLS_TLS_RECORD && p->payload[1] == TLS_MAJOR)
        return APP_TLS;
    if (p->payload_len >= 4 && looks_like_http_request(p->payload, p->payload_len))
        return APP_HTTP;
    return p->payload_len ? APP_NONE : APP_UNSET;    /* decide on the first payload */
}

/* ---- DNS ---- */

struct dns_ctx {
    struct cache *c;
    struct flow *f;
    uint64_t ts;
    struct app_actions *out;
};

static void dns_query_seen(struct dns_ctx *x, const struct dns_msg *m)
{
    struct flow_ext *e = x->f->ext;
    struct app_state *st = state_of(e);
    str_set(&e->dns_query, m->qname);
    e->dns_qtype = m->qtype;
    e->dns_rcode = -1;
    e->has_dns_rtt = 0;
    char *qname = st ? strdup(m->qname) : NULL;
    if (qname) {
        if (st->npend == DNS_PENDING_MAX) {        /* oldest is given up on */
            free(st->pend[0].qname);
            memmove(&st->pend[0], &st->pend[1], sizeof(st->pend[0]) * (DNS_PENDING_MAX - 1));
            st->npend--;
        }
        struct dns_pending *pd = &st->pend[st->npend++];
        pd->txid = m->txid;
        pd->qtype = m->qtype;
        pd->ts = x->ts;
        pd->qname = qname;
    }
    struct app_action *a = act_add(x->out, ACT_DNS_QUERY);
    if (a) {
        a->qtype = m->qtype;
        a->txid = m->txid;
        str_copy(a->name, sizeof(a->name), m->qname);
    }
}

static void dns_response_seen(struct dns_ctx *x, const struct dns_msg *m)
{
    struct flow_ext *e = x->f->ext;
    struct app_state *st = e->st;
    struct app_action *a = act_add(x->out, ACT_DNS_RESPONSE);
    str_set(&e->dns_query, m->qname);
    e->dns_qtype = m->qtype;
    e->dns_rcode = (int16_t)m->rcode;
    e->has_dns_rtt = 0;
    for (int i = 0; st && i < st->npend; i++) {
        struct dns_pending *pd = &st->pend[i];
        if (pd->txid != m->txid || strcmp(pd->qname, m->qname) != 0)
            continue;
        e->dns_rtt_us = (uint32_t)(x->ts > pd->ts ? x->ts - pd->ts : 0);
        e->has_dns_rtt = 1;
        free(pd->qname);
        memmove(pd, pd + 1, sizeof(*pd) * (size_t)(st->npend - i - 1));
        st->npend--;
        break;
    }
    if (st && st->npend == 0 && !st->dtcp)
        state_free(e);
    if (a) {
        a->qtype = m->qtype;
        a->txid = m->txid;
        a->rcode = (int16_t)m->rcode;
        a->has_rtt = e->has_dns_rtt;
        a->rtt_us = e->dns_rtt_us;
        str_copy(a->name, sizeof(a->name), m->qname);
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
    struct app_state *st = f->ext->st;
    if (!st->dtcp && !(st->dtcp = calloc(2, sizeof(*st->dtcp))))
        return;
    dns_tcp_feed(&st->dtcp[c2s ? 0 : 1], data, len, dns_message, &x);
}

/* ---- HTTP ---- */

struct http_ctx {
    struct flow *f;
    struct app_actions *out;
};

static void http_message(void *arg, const struct http_msg *m)
{
    struct http_ctx *x = arg;
    struct flow_ext *e = x->f->ext;
    struct app_action *a = act_add(x->out, m->is_request ? ACT_HTTP_REQUEST : ACT_HTTP_RESPONSE);
    if (m->is_request) {
        str_set(&e->http_method, m->method);
        if (m->host[0]) {
            str_set(&e->http_host, m->host);
        } else {                     /* no Host header: the field is shown only when known */
            free(e->http_host);
            e->http_host = NULL;
        }
        str_set(&e->http_url, m->url);
        if (m->ua[0])
            str_set(&e->http_ua, m->ua);
        e->http_status = 0;
    } else {
        e->http_status = (uint16_t)m->status;
    }
    if (!a)
        return;
    a->status = (uint16_t)m->status;
    str_copy(a->method, sizeof(a->method), m->is_request ? m->method : (e->http_method ? e->http_method : ""));
    str_copy(a->name, sizeof(a->name), m->is_request ? m->host : (e->http_host ? e->http_host : ""));
    str_copy(a->url, sizeof(a->url), m->is_request ? m->url : (e->http_url ? e->http_url : ""));
    str_copy(a->ua, sizeof(a->ua), m->is_request ? m->ua : (e->http_ua ? e->http_ua : ""));
}

static void app_http(struct flow *f, const uint8_t *data, uint32_t len, int c2s, struct app_actions *out)
{
    struct app_state *st = f->ext->st;
    if (!st->http) {
        if (!(st->http = malloc(sizeof(*st->http))))
            return;
        http_conn_init(st->http);
    }
    struct http_ctx x = { f, out };
    if (http_conn_feed(st->http, c2s, data, len, http_message, &x) == DISSECT_MALFORMED) {
        f->ext->app = APP_NONE;      /* not HTTP after all: stop looking */
        state_free(f->ext);
    } else if (http_conn_at_rest(st->http)) {
        free(st->http);              /* ~4 KB: an idle keep-alive flow does not keep it */
        st->http = NULL;
    }
}

/* ---- TLS ---- */

static void app_tls(struct flow *f, const uint8_t *data, uint32_t len, int c2s, struct app_actions *out)
{
    struct flow_ext *e = f->ext;
    struct app_state *st = e->st;
    if (!c2s)
        return;
    if (!st->tls_buf && !(st->tls_buf = malloc(TLS_BUF_MAX)))
        return;
    uint32_t n = len;
    if (n > TLS_BUF_MAX - st->tls_len)
        n = TLS_BUF_MAX - st->tls_len;
    memcpy(st->tls_buf + st->tls_len, data, n);
    st->tls_len += n;
    char sni[APP_STR_MAX];
    int rc = tls_client_hello_sni(st->tls_buf, st->tls_len, sni, sizeof(sni));
    if (rc == DISSECT_NEED_MORE && st->tls_len < TLS_BUF_MAX)
        return;
    e->app_done = 1;
    state_free(e);
    if (rc != DISSECT_OK)
        return;
    str_set(&e->tls_sni, sni);
    struct app_action *a = act_add(out, ACT_TLS_SNI);
    if (a) {
        a->bytes = f->bytes[0] + f->bytes[1];
        str_copy(a->name, sizeof(a->name), sni);
    }
}

/* ---- RADIUS ---- */

static void app_radius(const struct decoded_pkt *p, struct app_actions *out)
{
    struct radius_msg m;
    if (radius_parse(p->payload, p->payload_len, &m) != DISSECT_OK ||
        m.code != RADIUS_ACCOUNTING_REQUEST || m.acct_status == 0 || !m.user[0] ||
        strlen(m.user) >= NAME_USER_MAX)
        return;
    struct app_action *a = act_add(out, ACT_RADIUS);
    if (!a)
        return;
    a->acct_status = m.acct_status;
    str_copy(a->name, sizeof(a->name), m.user);
    str_copy(a->session, sizeof(a->session), m.session_id);
    if (m.has_framed_ip) {
        a->has_ip = 1;
        a->ipver = 4;
        memcpy(a->ip, m.framed_ip, 4);
    } else if (m.has_framed_ip6) {
        a->has_ip = 1;
        a->ipver = 6;
        memcpy(a->ip, m.framed_ip6, 16);
    }
    if (m.has_nas_ip) {
        a->has_nas = 1;
        a->nas_ver = 4;
        memcpy(a->nas, m.nas_ip, 4);
    } else if (m.has_nas_ip6) {
        a->has_nas = 1;
        a->nas_ver = 6;
        memcpy(a->nas, m.nas_ip6, 16);
    } else {
        a->has_nas = 1;              /* the NAS is the sender when it does not say */
        a->nas_ver = p->ip_version;
        memcpy(a->nas, p->src, 16);
    }
}

/* ---- TCP: in-order bytes only ---- */

/* Gives the stream parsers each TCP byte once: a retransmitted segment is
 * skipped and the already-seen head of an overlapping one is trimmed.
 * Returns the payload to parse (len 0 = nothing new). Out-of-order segments
 * (a gap) are passed on: the parsers resynchronise or go dead on their own. */
static uint32_t tcp_new_bytes(struct app_state *st, const struct decoded_pkt *p, int c2s,
                              const uint8_t **data)
{
    int d = c2s ? 0 : 1;
    uint32_t len = p->payload_len, seq = p->tcp_seq;
    *data = p->payload;
    if (st->seq_known[d]) {
        int32_t behind = (int32_t)(st->next_seq[d] - seq);
        if (behind > 0) {
            if ((uint32_t)behind >= len)
                return 0;            /* all seen before: a retransmission */
            *data += behind;
            len -= (uint32_t)behind;
            seq += (uint32_t)behind;
        }
    }
    st->next_seq[d] = seq + len;
    st->seq_known[d] = 1;
    return len;
}

/* ---- entry points ---- */

void app_flow_packet(struct cache *c, struct flow *f, const struct decoded_pkt *p, int c2s,
                     uint64_t ts, struct app_actions *out)
{
    if (!p->payload || p->payload_len == 0 || (f->ext && (f->ext->app == APP_NONE || f->ext->app_done)))
        goto bytes;
    if (!f->ext || f->ext->app == APP_UNSET) {
        enum app_proto ap = app_choose(f, p);
        if (ap == APP_NONE || ap == APP_UNSET) {
            if (f->ext)
                f->ext->app = (uint8_t)ap;
            goto bytes;
        }
        if (!ext_of(f))
            return;
        f->ext->app = (uint8_t)ap;
    }
    if (f->ext->app == APP_RADIUS) {
        app_radius(p, out);
        goto bytes;
    }
    const uint8_t *data = p->payload;
    uint32_t len = p->payload_len;
    if (f->key.l4proto == IPPROTO_TCP) {
        struct app_state *st = state_of(f->ext);
        if (!st || (len = tcp_new_bytes(st, p, c2s, &data)) == 0)
            goto bytes;
    }
    switch (f->ext->app) {
    case APP_DNS: app_dns(c, f, data, len, c2s, ts, out); break;
    case APP_HTTP: app_http(f, data, len, c2s, out); break;
    case APP_TLS: app_tls(f, data, len, c2s, out); break;
    default: break;
    }
bytes:
    if (f->ext && f->ext->tls_sni && !(out->n && out->a[out->n - 1].kind == ACT_TLS_SNI)) {
        struct app_action *a = act_add(out, ACT_TLS_BYTES);
        if (a) {
            a->bytes = p->l3_len;
            str_copy(a->name, sizeof(a->name), f->ext->tls_sni);
        }
    }
}

void app_flow_end(struct cache *c, struct flow *f, struct app_actions *out)
{
    (void)c;
    struct flow_ext *e = f->ext;
    if (!e)
        return;
    for (int i = 0; e->st && i < e->st->npend; i++) {
        struct dns_pending *pd = &e->st->pend[i];
        struct app_action *a = act_add(out, ACT_DNS_TIMEOUT);
        if (!a)
            break;
        a->qtype = pd->qtype;
        a->txid = pd->txid;
        a->rcode = -1;
        str_copy(a->name, sizeof(a->name), pd->qname);
    }
    app_flow_release(f);
}

void app_flow_release(struct flow *f)
{
    struct flow_ext *e = f->ext;
    if (!e)
        return;
    state_free(e);
    free(e->dns_query);
    free(e->http_method);
    free(e->http_host);
    free(e->http_url);
    free(e->http_ua);
    free(e->tls_sni);
    free(e);
    f->ext = NULL;
}

void app_flow_fields(const struct flow_ext *x, void (*fn)(void *arg, const char *name, const char *val,
                                                          size_t vlen, int numeric), void *arg)
{
    char buf[24], tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    if (!x)
        return;
    if (x->dns_query) {
        fn(arg, "dns.query", x->dns_query, strlen(x->dns_query), 0);
        const char *t = dns_qtype_name(x->dns_qtype, tb);
        fn(arg, "dns.qtype", t, strlen(t), 0);
        if (x->dns_rcode >= 0) {
            const char *r = dns_rcode_name((uint8_t)x->dns_rcode, rb);
            fn(arg, "dns.rcode", r, strlen(r), 0);
        }
        if (x->has_dns_rtt)
            fn(arg, "dns.rtt.us", buf, (size_t)snprintf(buf, sizeof(buf), "%u", x->dns_rtt_us), 1);
    }
    if (x->http_method) fn(arg, "http.method", x->http_method, strlen(x->http_method), 0);
    if (x->http_host) fn(arg, "http.host", x->http_host, strlen(x->http_host), 0);
    if (x->http_url) fn(arg, "http.url", x->http_url, strlen(x->http_url), 0);
    if (x->http_status)
        fn(arg, "http.status", buf, (size_t)snprintf(buf, sizeof(buf), "%u", x->http_status), 1);
    if (x->http_ua) fn(arg, "http.ua", x->http_ua, strlen(x->http_ua), 0);
    if (x->tls_sni) fn(arg, "tls.sni", x->tls_sni, strlen(x->tls_sni), 0);
}
