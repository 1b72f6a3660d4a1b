/* app_fields.c - what a flow's application state shows: its hash fields and latency (capture threads, or any thread holding the flow's shard lock). */
#include "capture/flow/app.h"

#include <string.h>

#include "capture/flow/app_ext.h"
#include "capture/flow/app_glue.h"
#include "capture/flow/field_visitor.h"
#include "capture/flow/flow_end_rec.h"
#include "dissectors/dns.h"

void app_flow_fields(const struct flow_ext *x, const struct field_visitor *v)
{
    char tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    static const char *const names[] = { "dns.query", "http.method", "http.host", "http.url", "http.ua",
                                         "tls.sni" };
    const char *s[XS_TLS_SNI + 1];
    if (!x)
        return;
    for (unsigned i = 0; i <= XS_TLS_SNI; i++)
        s[i] = ext_str(x, (enum ext_str)i);
    if (s[XS_DNS_QUERY]) {
        v->str(v->arg, names[XS_DNS_QUERY], s[XS_DNS_QUERY], strlen(s[XS_DNS_QUERY]));
        const char *t = dns_qtype_name(x->dns_qtype, tb);
        v->str(v->arg, "dns.qtype", t, strlen(t));
        if (x->dns_rcode >= 0) {
            const char *r = dns_rcode_name((uint8_t)x->dns_rcode, rb);
            v->str(v->arg, "dns.rcode", r, strlen(r));
        }
        if (x->lat == LAT_DNS)
            v->uint(v->arg, "dns.rtt.us", x->app_us);
    }
    for (unsigned i = XS_HTTP_METHOD; i <= XS_HTTP_URL; i++)
        if (s[i])
            v->str(v->arg, names[i], s[i], strlen(s[i]));
    if (x->http_status)
        v->uint(v->arg, "http.status", x->http_status);
    for (unsigned i = XS_HTTP_UA; i <= XS_TLS_SNI; i++)
        if (s[i])
            v->str(v->arg, names[i], s[i], strlen(s[i]));
    app_voip_fields(x->st ? x->st->voip : NULL, v);
}

void app_flow_latency_fields(const struct flow_ext *x, const struct field_visitor *v)
{
    if (!x || (x->lat != LAT_HTTP && x->lat != LAT_TLS))
        return;
    v->uint(v->arg, x->lat == LAT_HTTP ? "http.service.us" : "tls.handshake.us", x->app_us);
}

/* The flow_end_rec string each ext string becomes (-1: not exported). */
static const int8_t rec_str_of[XS_N] = {
    [XS_DNS_QUERY] = FES_DNS_QUERY, [XS_HTTP_METHOD] = -1, [XS_HTTP_HOST] = FES_HTTP_HOST,
    [XS_HTTP_URL] = FES_HTTP_URL, [XS_HTTP_UA] = -1, [XS_TLS_SNI] = FES_TLS_SNI,
};

void app_flow_end_rec(const struct flow_ext *x, struct flow_end_rec *r, size_t *len)
{
    if (!x)
        return;
    const char *p = x->s;            /* one pass over the strings, in the order app_flow_fields shows them */
    for (unsigned k = 0; k < XS_N; k++)
        if (x->strs & (1u << k)) {
            size_t n = strlen(p);
            if (rec_str_of[k] >= 0)
                flow_end_rec_put(r, len, (enum flow_end_str)rec_str_of[k], p, n);
            p += n + 1;
        }
    r->http_status = x->http_status;
    if (x->lat == LAT_DNS && (x->strs & (1u << XS_DNS_QUERY))) {    /* shown beside dns.query only */
        r->lat |= FEL_DNS;
        r->lat_us[FEV_DNS_RTT] = x->app_us;
    } else if (x->lat == LAT_HTTP) {
        r->lat |= FEL_HTTP;
        r->lat_us[FEV_HTTP_SVC] = x->app_us;
    } else if (x->lat == LAT_TLS) {
        r->lat |= FEL_TLS;
        r->lat_us[FEV_TLS_HS] = x->app_us;
    }
}
