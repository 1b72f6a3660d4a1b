/* test_l7.c - capture/flow/l7.c against nDPI 4.2 alone: the DGA shortcut keeps every TLS detection, the DNS query and RADIUS shortcut every such answer (single thread). */
#include <arpa/inet.h>
#include <ndpi_api.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/decode/decode.h"
#include "capture/flow/l7.h"
#include "tests/unit/check.h"

static size_t put16(uint8_t *b, size_t o, size_t v)
{
    b[o] = (uint8_t)(v >> 8);
    b[o + 1] = (uint8_t)v;
    return o + 2;
}

/* A TLS record holding a ClientHello with server name `name`; returns its size. */
static size_t build_hello_record(uint8_t *b, const char *name)
{
    size_t o = 9, nl = strlen(name);
    b[o++] = 3;
    b[o++] = 3;
    memset(b + o, 0x11, 32);
    o += 32;
    b[o++] = 0;                        /* no session id */
    o = put16(b, o, 4);
    o = put16(b, o, 0x1301);
    o = put16(b, o, 0xc02f);
    b[o++] = 1;
    b[o++] = 0;
    size_t ext = o;
    o += 2;
    o = put16(b, o, 0);                /* server_name */
    o = put16(b, o, nl + 5);
    o = put16(b, o, nl + 3);
    b[o++] = 0;
    o = put16(b, o, nl);
    memcpy(b + o, name, nl);
    o += nl;
    put16(b, ext, o - ext - 2);
    b[0] = 22;                         /* record header */
    b[1] = 3;
    b[2] = 1;
    put16(b, 3, o - 5);
    b[5] = 1;                          /* handshake header */
    b[6] = (uint8_t)((o - 9) >> 16);
    b[7] = (uint8_t)((o - 9) >> 8);
    b[8] = (uint8_t)(o - 9);
    return o;
}

/* IPv4 + TCP packet 10.0.0.1:40000 -> 10.0.0.2:port (or back) with payload. */
static size_t ip_tcp(uint8_t *b, uint16_t port, int back, uint8_t flags, uint32_t seq, uint32_t ack,
                     const uint8_t *pl, size_t plen)
{
    size_t len = 40 + plen;
    memset(b, 0, 40);
    b[0] = 0x45;
    put16(b, 2, len);
    b[8] = 64;
    b[9] = IPPROTO_TCP;
    inet_pton(AF_INET, back ? "10.0.0.2" : "10.0.0.1", b + 12);
    inet_pton(AF_INET, back ? "10.0.0.1" : "10.0.0.2", b + 16);
    put16(b, 20, back ? port : 40000);
    put16(b, 22, back ? 40000 : port);
    for (int i = 0; i < 4; i++) {
        b[24 + i] = (uint8_t)(seq >> (24 - 8 * i));
        b[28 + i] = (uint8_t)(ack >> (24 - 8 * i));
    }
    b[32] = 5 << 4;
    b[33] = flags;
    put16(b, 34, 65535);
    if (plen)
        memcpy(b + 40, pl, plen);
    return len;
}

/* The four packets of a TLS connection opening with server name `name`. */
/* A connection's handshake and first request: a TLS ClientHello for server
 * name `name` to port 443, or (http) an HTTP GET with Host `name` to port 80. */
static size_t conn_packets(uint8_t pk[4][600], size_t len[4], const char *name, int http)
{
    uint8_t rec[400];
    size_t rn = http ? (size_t)snprintf((char *)rec, sizeof(rec),
                                        "GET /index.html HTTP/1.1\r\nHost: %s\r\nUser-Agent: curl/7.88\r\n"
                                        "Accept: */*\r\n\r\n", name)
                     : build_hello_record(rec, name);
    uint16_t port = http ? 80 : 443;
    len[0] = ip_tcp(pk[0], port, 0, 0x02, 1000, 0, NULL, 0);
    len[1] = ip_tcp(pk[1], port, 1, 0x12, 5000, 1001, NULL, 0);
    len[2] = ip_tcp(pk[2], port, 0, 0x10, 1001, 5001, NULL, 0);
    len[3] = ip_tcp(pk[3], port, 0, 0x18, 1001, 5001, rec, rn);
    return 4;
}

/* What nDPI alone (its own DGA check) answers for the connection. */
static uint16_t ndpi_alone(struct ndpi_detection_module_struct *n, const char *name, int http)
{
    uint8_t pk[4][600];
    size_t len[4];
    conn_packets(pk, len, name, http);
    struct ndpi_flow_struct *f = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
    memset(f, 0, SIZEOF_FLOW_STRUCT);
    ndpi_custom_dga_predict_fctn saved = ndpi_dga_function;
    ndpi_dga_function = NULL;
    ndpi_protocol r = { 0 };
    for (int i = 0; i < 4; i++)
        r = ndpi_detection_process_packet(n, f, pk[i], (unsigned short)len[i], 1000 + (uint64_t)i);
    ndpi_dga_function = saved;
    ndpi_free_flow(f);
    return r.app_protocol != NDPI_PROTOCOL_UNKNOWN ? r.app_protocol : r.master_protocol;
}

/* What flowcached's l7 glue answers for the same connection. */
static uint16_t l7_glue(struct l7_module *m, struct cache *c, const char *name, int http)
{
    uint8_t pk[4][600];
    size_t len[4];
    conn_packets(pk, len, name, http);
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.l4proto = IPPROTO_TCP;
    for (int i = 0; i < 4; i++) {
        struct decoded_pkt p;
        memset(&p, 0, sizeof(p));
        p.l3 = pk[i];
        p.l3_caplen = (uint32_t)len[i];
        l7_flow_packet(m, c, &f, &p, (1000 + (uint64_t)i) * 1000);
    }
    l7_flow_release(&f);
    return f.l7;
}

/* flowcached's l7 glue (with a cache) beside a plain nDPI module. */
struct pair {
    struct cache *c;
    struct l7_module *m;
    struct ndpi_detection_module_struct *n;
};

static int pair_open(struct pair *pr)
{
    struct cache_config cfg = { .flow_idle_us = 30000000, .flow_lifetime_us = 120000000,
                                .host_idle_us = 300000000, .max_flows = 100 };
    pr->c = cache_create(&cfg);
    pr->m = l7_module_create();
    pr->n = ndpi_init_detection_module(ndpi_no_prefs);
    if (!pr->c || !pr->m || !pr->n)
        return -1;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(pr->n, &all);
    ndpi_finalize_initialization(pr->n);
    return 0;
}

static void pair_close(struct pair *pr)
{
    if (pr->n)
        ndpi_exit_detection_module(pr->n);
    l7_module_destroy(pr->m);
    if (pr->c)
        cache_destroy(pr->c);
}

static const char *const names[] = {
    "www.qzxkvjwqpt.com", "www.xkcdqzjvbw.net", "www.bfgqzxjkwv.com", "www.google.com",
    "www.example.net", "www.qzxkvjwqpt.org", "qzxkvjwqpt.com", "api.qzxkvjwqpt.net",
    "www.a1b2c3d4e5f6g7h8.com", "www.vjkqxzwbfgpmt.com", "example.com",
};

TEST_CASE(tls_sni_same_as_ndpi_alone)
{
    struct pair pr = { 0 };
    int ok = pair_open(&pr) == 0;
    CHECK(ok);
    struct cache *c = pr.c;
    struct l7_module *m = pr.m;
    struct ndpi_detection_module_struct *n = pr.n;
    if (!ok) {
        pair_close(&pr);
        return;
    }
    unsigned tor = 0, tls = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        uint16_t want = ndpi_alone(n, names[i], 0), got = l7_glue(m, c, names[i], 0);
        if (got != want)
            fprintf(stderr, "  %s: l7 %u, nDPI alone %u\n", names[i], got, want);
        CHECK_INT(got, want);
        tor += want == NDPI_PROTOCOL_TOR;
        tls += want == NDPI_PROTOCOL_TLS;
    }
    /* the names cover both outcomes of the check that matters */
    CHECK(tor > 0);
    CHECK(tls > 0);
    pair_close(&pr);
}

/* HTTP requests whose Host nDPI maps to a subprotocol or not: l7's glue (the
 * category it sets ahead, the payload-less segments it keeps from nDPI's
 * dissectors) gives what nDPI alone gives. */
TEST_CASE(http_host_same_as_ndpi_alone)
{
    static const char *const hosts[] = {
        "www.facebook.com", "www.netflix.com", "example.com", "www.google.com", "api.spotify.com",
        "site7.example.net", "www.wikipedia.org", "update.microsoft.com", "github.com",
    };
    struct pair pr = { 0 };
    int ok = pair_open(&pr) == 0;
    CHECK(ok);
    if (!ok) {
        pair_close(&pr);
        return;
    }
    unsigned plain = 0, other = 0;
    for (size_t i = 0; i < sizeof(hosts) / sizeof(hosts[0]); i++) {
        uint16_t want = ndpi_alone(pr.n, hosts[i], 1), got = l7_glue(pr.m, pr.c, hosts[i], 1);
        if (got != want)
            fprintf(stderr, "  %s: l7 %u, nDPI alone %u\n", hosts[i], got, want);
        CHECK_INT(got, want);
        plain += want == NDPI_PROTOCOL_HTTP;
        other += want != NDPI_PROTOCOL_HTTP && want != NDPI_PROTOCOL_UNKNOWN;
    }
    CHECK(plain > 0);
    CHECK(other > 0);
    pair_close(&pr);
}

/* An IP/UDP packet 10.0.0.1:sport -> dst:dport (IPv4, or fd00::1 when dst
 * is IPv6 text; the other way round when back) around the payload already
 * written at b + udp_payload_at(dst); returns the packet's size. */
static size_t udp_packet(uint8_t *b, const char *dst, int back, uint16_t sport, uint16_t dport, size_t plen)
{
    int v6 = strchr(dst, ':') != NULL;
    size_t ip = v6 ? 40 : 20, o = ip + 8 + plen;
    memset(b, 0, ip + 8);
    uint8_t *src_ip = b + (v6 ? 8 : 12), *dst_ip = b + (v6 ? 24 : 16);
    if (v6) {
        b[0] = 0x60;
        put16(b, 4, o - ip);
        b[6] = IPPROTO_UDP;
        b[7] = 64;
        inet_pton(AF_INET6, "fd00::1", back ? dst_ip : src_ip);
        inet_pton(AF_INET6, dst, back ? src_ip : dst_ip);
    } else {
        b[0] = 0x45;
        put16(b, 2, o);
        b[8] = 64;
        b[9] = IPPROTO_UDP;
        inet_pton(AF_INET, "10.0.0.1", back ? dst_ip : src_ip);
        inet_pton(AF_INET, dst, back ? src_ip : dst_ip);
    }
    put16(b, ip, back ? dport : sport);
    put16(b, ip + 2, back ? sport : dport);
    put16(b, ip + 4, o - ip);
    return o;
}

static size_t udp_payload_at(const char *dst)
{
    return strchr(dst, ':') ? 48 : 28;
}

/* A DNS message 40000 -> 53 (see udp_packet) with the given header words
 * and wire-format query name; returns the packet's size. */
static size_t dns_packet(uint8_t *b, const char *dst, int back, uint16_t flags, uint16_t answers,
                         const uint8_t *qname, size_t qlen)
{
    size_t start = udp_payload_at(dst), o = start;
    memset(b + o, 0, 12);
    o = put16(b, o, 0x1234);
    o = put16(b, o, flags);
    o = put16(b, o, 1);
    o = put16(b, o, answers);
    o += 4;
    memcpy(b + o, qname, qlen);
    o += qlen;
    o = put16(b, o, 1);                /* type A, class IN */
    o = put16(b, o, 1);
    return udp_packet(b, dst, back, 40000, 53, o - start);
}

/* nDPI alone and the l7 glue on one packet opening a flow: both answers. */
static void first_packet(struct pair *pr, const uint8_t *pk, size_t len, uint16_t *want, uint16_t *got)
{
    struct ndpi_flow_struct *nf = ndpi_flow_malloc(SIZEOF_FLOW_STRUCT);
    memset(nf, 0, SIZEOF_FLOW_STRUCT);
    ndpi_custom_dga_predict_fctn saved = ndpi_dga_function;
    ndpi_dga_function = NULL;
    ndpi_protocol r = ndpi_detection_process_packet(pr->n, nf, pk, (unsigned short)len, 1000);
    ndpi_dga_function = saved;
    ndpi_free_flow(nf);
    *want = r.app_protocol != NDPI_PROTOCOL_UNKNOWN ? r.app_protocol : r.master_protocol;
    struct flow f;
    memset(&f, 0, sizeof(f));
    f.key.l4proto = IPPROTO_UDP;
    struct decoded_pkt p;
    memset(&p, 0, sizeof(p));
    p.l3 = pk;
    p.l3_caplen = (uint32_t)len;
    l7_flow_packet(pr->m, pr->c, &f, &p, 1000000);
    l7_flow_release(&f);
    *got = f.l7;
}

enum { NAME_CASES = 19 };

/* Wire-format query name of case i (dotted names, then malformed ones); returns its size. */
static size_t dns_case_name(uint8_t *w, size_t i)
{
    static const char *const dotted[] = {
        "www.google.com", "graph.facebook.com", "example.org", "", "icq.com", "www.baidu.com",
        "WWW.NetFlix.COM", "a_b.example.com", "teams.microsoft.com", "skype.com", "zoom.us",
        "host.local", "qzxkvjwqptbfgmd.com", "captive.apple.com", "spotify.map.fastly.net",
        "a123456789.b123456789.c123456789.d123456789.e123456789.f123456789.g123456789.facebook.com",
    };
    static const uint8_t odd[][8] = {
        { 3, 'a', 0x01, 'b', 2, 'c', 0xe9, 0 },  /* unprintable bytes */
        { 3, 'w', '.', 'w', 0xc0, 12, 0 },      /* a dot inside a label, then a pointer */
        { 9, 'x', 0 },                         /* a label longer than the message */
    };
    _Static_assert(sizeof(dotted) / sizeof(dotted[0]) + sizeof(odd) / sizeof(odd[0]) == NAME_CASES, "cases");
    size_t nd = sizeof(dotted) / sizeof(dotted[0]);
    if (i >= nd) {
        memcpy(w, odd[i - nd], sizeof(odd[0]));
        return sizeof(odd[0]);
    }
    size_t o = 0;
    for (const char *s = dotted[i]; *s;) {
        size_t n = strcspn(s, ".");
        w[o++] = (uint8_t)n;
        memcpy(w + o, s, n);
        o += n;
        s += n + (s[n] == '.');
    }
    w[o++] = 0;
    return o;
}

TEST_CASE(dns_query_same_as_ndpi_alone)
{
    static const char *const servers[] = { "10.0.0.2", "8.8.8.8", "157.56.52.1", "31.13.64.1",
                                           "2001:4860:4860::8888" };
    static const uint16_t headers[][2] = { { 0x0100, 0 }, { 0x0000, 0 }, { 0x0100, 1 }, { 0x2800, 1 },
                                           { 0x8180, 1 } };     /* flags, answers */
    struct pair pr = { 0 };
    int ok = pair_open(&pr) == 0;
    CHECK(ok);
    unsigned google = 0, named = 0;
    for (size_t k = 0; ok && k < sizeof(servers) / sizeof(servers[0]) * NAME_CASES * 10; k++) {
        size_t s = k / (NAME_CASES * 10), i = k / 10 % NAME_CASES, h = k / 2 % 5;
        int back = (int)(k % 2);
        uint8_t w[300], pk[400];
        size_t wl = dns_case_name(w, i);
        size_t len = dns_packet(pk, servers[s], back, headers[h][0], headers[h][1], w, wl);
        uint16_t want, got;
        first_packet(&pr, pk, len, &want, &got);
        if (got != want)
            fprintf(stderr, "  name %zu via %s header %zu back %d: l7 %u, nDPI alone %u\n", i, servers[s], h,
                    back, got, want);
        CHECK_INT(got, want);
        google += want == NDPI_PROTOCOL_GOOGLE && s == 1 && i == 2;
        named += want != NDPI_PROTOCOL_DNS && s == 0;
    }
    /* the cases cover the address guess ("DNS.Google": example.org via 8.8.8.8) and name matches */
    CHECK(google > 0);
    CHECK(named > 0);
    pair_close(&pr);
}

TEST_CASE(radius_same_as_ndpi_alone)
{
    static const uint16_t ports[][2] = { { 40000, 1812 }, { 40000, 1813 }, { 40000, 18013 }, { 1194, 1812 },
                                         { 123, 1813 }, { 1645, 1646 }, { 1813, 1812 } };
    static const uint8_t codes[] = { 0, 1, 4, 13, 14 };
    static const size_t sizes[] = { 19, 20, 60, 4097 };
    struct pair pr = { 0 };
    int ok = pair_open(&pr) == 0;
    CHECK(ok);
    unsigned radius = 0, other = 0;
    for (size_t k = 0; ok && k < 7 * 5 * 4 * 3 * 2; k++) {
        size_t pi = k % 7, ci = k / 7 % 5, si = k / 35 % 4, lie = k / 140 % 3;
        int back = (int)(k / 420);
        static uint8_t pk[4200];
        const char *dst = si == 2 && lie == 0 ? "2001:db8::2" : "192.0.2.2";
        size_t at = udp_payload_at(dst);
        memset(pk + at, 0x41, sizes[si]);
        pk[at] = codes[ci];
        put16(pk, at + 2, sizes[si] + (lie == 2));    /* the length field tells the truth, or not */
        size_t len = udp_packet(pk, dst, back, ports[pi][0], ports[pi][1], sizes[si]);
        uint16_t want, got;
        first_packet(&pr, pk, len, &want, &got);
        if (got != want)
            fprintf(stderr, "  ports %u/%u code %u size %zu lie %zu back %d: l7 %u, nDPI alone %u\n",
                    ports[pi][0], ports[pi][1], codes[ci], sizes[si], lie, back, got, want);
        CHECK_INT(got, want);
        radius += want == NDPI_PROTOCOL_RADIUS;
        other += want != NDPI_PROTOCOL_RADIUS;
    }
    CHECK(radius > 0);
    CHECK(other > 0);
    pair_close(&pr);
}

int main(void)
{
    if (l7_names_init() != 0)
        return 1;
    RUN(tls_sni_same_as_ndpi_alone);
    RUN(http_host_same_as_ndpi_alone);
    RUN(dns_query_same_as_ndpi_alone);
    RUN(radius_same_as_ndpi_alone);
    l7_names_free();
    return CHECK_DONE("test_l7");
}
