/* fields.c - field lists of flows, hosts, MACs and aggregates, typed or as text (pure code, any thread). */
#include "capture/flow/fields.h"

#include <stdio.h>
#include <string.h>

#include "capture/flow/app.h"
#include "capture/flow/l7.h"

static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Decimal digits of v into out (no NUL), two per division; returns how many. Hot path of every hash reply. */
static size_t u64_digits(unsigned long long v, char *out)
{
    char tmp[20];
    char *p = tmp + sizeof(tmp);
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        *--p = digit_pairs[r * 2 + 1];
        *--p = digit_pairs[r * 2];
    }
    if (v >= 10) {
        *--p = digit_pairs[v * 2 + 1];
        *--p = digit_pairs[v * 2];
    } else {
        *--p = (char)('0' + v);
    }
    size_t n = (size_t)(tmp + sizeof(tmp) - p);
    memcpy(out, p, n);
    return n;
}

size_t time_format(unsigned long long us, char *out)
{
    unsigned long long ms = (us / 1000ULL) % 1000ULL;
    size_t n = u64_digits(us / 1000000ULL, out);
    out[n++] = '.';
    out[n++] = (char)('0' + ms / 100);
    out[n++] = (char)('0' + ms / 10 % 10);
    out[n++] = (char)('0' + ms % 10);
    out[n] = '\0';
    return n;
}

static void emit_u64(field_fn fn, void *arg, const char *name, unsigned long long v)
{
    char buf[24];
    size_t n = u64_digits(v, buf);
    buf[n] = '\0';
    fn(arg, name, buf, n, 1);
}

static void emit_str(field_fn fn, void *arg, const char *name, const char *s)
{
    fn(arg, name, s, strlen(s), 0);
}

static void emit_time(field_fn fn, void *arg, const char *name, unsigned long long us)
{
    char buf[32];
    size_t n = time_format(us, buf);
    fn(arg, name, buf, n, 1);
}

/* "xx:xx:xx:xx:xx:xx" as mac_format() writes it, without sprintf (every HGETALL of a host with a MAC). */
static void mac_hex(const uint8_t mac[6], char out[18])
{
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) {
        out[i * 3] = hex[mac[i] >> 4];
        out[i * 3 + 1] = hex[mac[i] & 15];
        out[i * 3 + 2] = i < 5 ? ':' : '\0';
    }
}

static void tcp_flags_format(unsigned flags, char *out)
{
    static const char letters[] = "FSRPAUEC";
    int n = 0;
    for (int i = 0; i < 8; i++)
        if (flags & (1u << i))
            out[n++] = letters[i];
    out[n] = '\0';
}

void flow_fields_visit(const struct flow *f, const struct field_visitor *v)
{
    char a[ADDR_STR_MAX], nb[4], tf[9];
    const char *s = l4_proto_name(f->key.l4proto, nb);
    v->str(v->arg, "proto", s, strlen(s));
    addr_format(f->key.ipver, f->key.cli, a);
    v->str(v->arg, "cli.ip", a, strlen(a));
    v->uint(v->arg, "cli.port", f->key.cport);
    addr_format(f->key.ipver, f->key.srv, a);
    v->str(v->arg, "srv.ip", a, strlen(a));
    v->uint(v->arg, "srv.port", f->key.sport);
    v->uint(v->arg, "vlan", f->key.vlan);
    s = l7_name(f->l7);
    v->str(v->arg, "l7", s, strlen(s));
    v->uint(v->arg, "bytes.c2s", f->bytes[0]);
    v->uint(v->arg, "bytes.s2c", f->bytes[1]);
    v->uint(v->arg, "pkts.c2s", f->pkts[0]);
    v->uint(v->arg, "pkts.s2c", f->pkts[1]);
    v->time(v->arg, "first.seen", f->first_us);
    v->time(v->arg, "last.seen", f->last_us);
    tcp_flags_format(f->tcp_flags, tf);
    v->str(v->arg, "tcp.flags", tf, strlen(tf));
    app_flow_fields(f->ext, v);
    if (f->hs == FLOW_HS_DONE)
        v->uint(v->arg, "rtt.us", (uint64_t)f->rtt_server_us + f->hs_mark);
    if (f->hs >= FLOW_HS_SYNACK)
        v->uint(v->arg, "rtt.server.us", f->rtt_server_us);
    if (f->hs == FLOW_HS_DONE)
        v->uint(v->arg, "rtt.client.us", f->hs_mark);
    app_flow_latency_fields(f->ext, v);
}

/* The text form of a typed field: what field_fn callers (hash replies) get. */
static void text_str(void *arg, const char *name, const char *s, size_t len)
{
    struct field_text *t = arg;
    t->fn(t->arg, name, s, len, 0);
}

static void text_uint(void *arg, const char *name, uint64_t v)
{
    struct field_text *t = arg;
    emit_u64(t->fn, t->arg, name, v);
}

static void text_time(void *arg, const char *name, uint64_t us)
{
    struct field_text *t = arg;
    emit_time(t->fn, t->arg, name, us);
}

struct field_visitor field_visitor_text(struct field_text *t)
{
    return (struct field_visitor){ text_str, text_uint, text_time, t };
}

void flow_fields_each(const struct flow *f, field_fn fn, void *arg)
{
    struct field_text t = { fn, arg };
    const struct field_visitor v = field_visitor_text(&t);
    flow_fields_visit(f, &v);
}

void host_fields_each(const struct host *h, field_fn fn, void *arg)
{
    emit_u64(fn, arg, "bytes.sent", h->bytes_sent);
    emit_u64(fn, arg, "bytes.rcvd", h->bytes_rcvd);
    emit_u64(fn, arg, "pkts.sent", h->pkts_sent);
    emit_u64(fn, arg, "pkts.rcvd", h->pkts_rcvd);
    emit_u64(fn, arg, "flows.client", h->flows_client);
    emit_u64(fn, arg, "flows.server", h->flows_server);
    emit_u64(fn, arg, "flows.active", h->flows_active);
    emit_time(fn, arg, "first.seen", h->first_us);
    emit_time(fn, arg, "last.seen", h->last_us);
    if (h->has_mac) {
        char m[18];
        mac_hex(h->mac, m);
        fn(arg, "mac", m, 17, 0);
    }
    if (h->app.dns_queries || h->app.dns_nxdomain) {
        emit_u64(fn, arg, "dns.queries", h->app.dns_queries);
        emit_u64(fn, arg, "dns.nxdomain", h->app.dns_nxdomain);
    }
    if (h->app.http_requests)
        emit_u64(fn, arg, "http.requests", h->app.http_requests);
    if (h->app.os)
        emit_str(fn, arg, "os", h->app.os);
    if (h->app.rtt_n) {
        emit_u64(fn, arg, "rtt.us.sum", h->app.rtt_sum_us);
        emit_u64(fn, arg, "rtt.count", h->app.rtt_n);
    }
    if (h->app.svc_n) {
        emit_u64(fn, arg, "service.us.sum", h->app.svc_sum_us);
        emit_u64(fn, arg, "service.count", h->app.svc_n);
    }
    for (unsigned i = 0; i < h->nvlans && i < HOST_VLANS_MAX; i++) {
        const struct host_vlan *v = &h->vlans[i];
        char name[40];
        snprintf(name, sizeof(name), "vlan.%u.bytes.sent", v->id);
        emit_u64(fn, arg, name, v->bytes_sent);
        snprintf(name, sizeof(name), "vlan.%u.bytes.rcvd", v->id);
        emit_u64(fn, arg, name, v->bytes_rcvd);
        snprintf(name, sizeof(name), "vlan.%u.pkts.sent", v->id);
        emit_u64(fn, arg, name, v->pkts_sent);
        snprintf(name, sizeof(name), "vlan.%u.pkts.rcvd", v->id);
        emit_u64(fn, arg, name, v->pkts_rcvd);
    }
}

void mac_fields_each(const struct mac_entry *m, field_fn fn, void *arg)
{
    emit_u64(fn, arg, "bytes.sent", m->bytes_sent);
    emit_u64(fn, arg, "bytes.rcvd", m->bytes_rcvd);
    emit_u64(fn, arg, "pkts.sent", m->pkts_sent);
    emit_u64(fn, arg, "pkts.rcvd", m->pkts_rcvd);
    emit_time(fn, arg, "first.seen", m->first_us);
    emit_time(fn, arg, "last.seen", m->last_us);
    if (m->has_ip) {
        char a[ADDR_STR_MAX];
        addr_format(m->ipver, m->ip, a);
        emit_str(fn, arg, "ip", a);
    }
}

void aggr_fields_each(enum cache_table t, const struct aggr *a, field_fn fn, void *arg)
{
    emit_u64(fn, arg, "bytes", a->bytes);
    emit_u64(fn, arg, "pkts", a->pkts);
    emit_u64(fn, arg, "flows", a->flows);
    if (t == CT_L7 || t == CT_PORT)
        emit_u64(fn, arg, "flows.active", a->flows_active > 0 ? (uint64_t)a->flows_active : 0);
}
