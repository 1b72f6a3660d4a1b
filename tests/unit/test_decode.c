/* test_decode.c - unit tests of capture/decode*.c with hand-built frames (single-threaded test binary). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode/decode.h"
#include "tests/unit/check.h"

/* ---- frame builder ---------------------------------------------------- */

struct pkt {
    uint8_t b[2048];
    uint32_t len;
};

static void p8(struct pkt *p, uint8_t v) { p->b[p->len++] = v; }
static void p16(struct pkt *p, uint16_t v) { p8(p, (uint8_t)(v >> 8)); p8(p, (uint8_t)v); }
static void p32(struct pkt *p, uint32_t v) { p16(p, (uint16_t)(v >> 16)); p16(p, (uint16_t)v); }
static void pmem(struct pkt *p, const void *m, uint32_t n) { memcpy(p->b + p->len, m, n); p->len += n; }
static void pzero(struct pkt *p, uint32_t n) { memset(p->b + p->len, 0, n); p->len += n; }
static void patch16(struct pkt *p, uint32_t off, uint16_t v) { p->b[off] = (uint8_t)(v >> 8); p->b[off + 1] = (uint8_t)v; }

static const uint8_t MAC_D[6] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55 };
static const uint8_t MAC_S[6] = { 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb };
static const uint8_t A4[4] = { 10, 0, 0, 1 }, B4[4] = { 192, 168, 1, 2 };
static const uint8_t C4[4] = { 172, 16, 0, 3 }, D4[4] = { 172, 16, 0, 4 };
static const uint8_t A6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
static const uint8_t B6[16] = { 0x20, 0x01, 0x0d, 0xb8, [14] = 0xab, [15] = 0xcd };

static void eth(struct pkt *p, uint16_t type) { pmem(p, MAC_D, 6); pmem(p, MAC_S, 6); p16(p, type); }
static void vlan(struct pkt *p, uint16_t tci, uint16_t type) { p16(p, tci); p16(p, type); }

/* IPv4 header; the total length is patched by ip4_end(). flags_off: MF 0x2000 | offset/8. */
static uint32_t ip4_begin_ex(struct pkt *p, uint8_t proto, const uint8_t *s, const uint8_t *d,
                             uint16_t id, uint16_t flags_off, int opt_words)
{
    uint32_t at = p->len;
    p8(p, (uint8_t)(0x45 + opt_words)); p8(p, 0); p16(p, 0); p16(p, id); p16(p, flags_off);
    p8(p, 64); p8(p, proto); p16(p, 0); pmem(p, s, 4); pmem(p, d, 4);
    for (int i = 0; i < opt_words; i++)
        p32(p, 0x01010101);              /* NOP options */
    return at;
}
static uint32_t ip4_begin(struct pkt *p, uint8_t proto, const uint8_t *s, const uint8_t *d)
{
    return ip4_begin_ex(p, proto, s, d, 0x1234, 0x4000, 0);
}
static void ip4_end(struct pkt *p, uint32_t at) { patch16(p, at + 2, (uint16_t)(p->len - at)); }

static uint32_t ip6_begin(struct pkt *p, uint8_t nh, const uint8_t *s, const uint8_t *d)
{
    uint32_t at = p->len;
    p32(p, 0x60000000); p16(p, 0); p8(p, nh); p8(p, 64); pmem(p, s, 16); pmem(p, d, 16);
    return at;
}
static void ip6_end(struct pkt *p, uint32_t at) { patch16(p, at + 4, (uint16_t)(p->len - at - 40)); }

static void tcp(struct pkt *p, uint16_t sp, uint16_t dp, uint8_t flags, const char *data)
{
    p16(p, sp); p16(p, dp); p32(p, 1); p32(p, 0); p8(p, 5 << 4); p8(p, flags); p16(p, 1024);
    p16(p, 0); p16(p, 0);
    if (data)
        pmem(p, data, (uint32_t)strlen(data));
}
static uint32_t udp_begin(struct pkt *p, uint16_t sp, uint16_t dp)
{
    uint32_t at = p->len;
    p16(p, sp); p16(p, dp); p16(p, 0); p16(p, 0);
    return at;
}
static void udp_end(struct pkt *p, uint32_t at) { patch16(p, at + 4, (uint16_t)(p->len - at)); }
static void udp(struct pkt *p, uint16_t sp, uint16_t dp, const char *data)
{
    uint32_t at = udp_begin(p, sp, dp);
    if (data)
        pmem(p, data, (uint32_t)strlen(data));
    udp_end(p, at);
}

/* Ethernet + IPv4 + TCP 1234 -> 80 "hello", the basic inner packet of many tests. */
static void inner_eth_v4_tcp(struct pkt *p)
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, 6, C4, D4);
    tcp(p, 1234, 80, 0x18, "hello");
    ip4_end(p, ip);
}

/* Binary comparison that prints both sides in hex on failure. */
static void hex(char *dst, const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        snprintf(dst + 2 * i, 3, "%02x", b[i]);
}
#define CHECK_BYTES(a, b, n) do { if (memcmp((a), (b), (n)) != 0) { \
    char ha_[40], hb_[40]; hex(ha_, (const uint8_t *)(a), (n)); hex(hb_, (const uint8_t *)(b), (n)); \
    CHECK_FAIL_("%s == %s: got %s, want %s", #a, #b, ha_, hb_); } } while (0)

/* ---- decoding helpers -------------------------------------------------- */

static int in_buf(const uint8_t *ptr, uint32_t n, const uint8_t *buf, uint32_t len)
{
    return ptr >= buf && ptr <= buf + len && n <= (uint32_t)(buf + len - ptr);
}

/* Decodes every prefix of the frame from an exact-size heap copy (so ASan sees
 * any read past the end): the result is a known code, and a DEC_OK result
 * points inside the prefix. */
static void sweep_truncations(int dlt, const struct pkt *p)
{
    for (uint32_t n = 0; n <= p->len; n++) {
        uint8_t *buf = malloc(n ? n : 1);
        memcpy(buf, p->b, n);
        struct decoded_pkt o;
        int rc = decode_packet(dlt, buf, n, &o, NULL);
        CHECK(strcmp(decode_result_name(rc), "unknown") != 0);
        if (rc == DEC_OK) {
            CHECK(in_buf(o.l3, o.l3_caplen, buf, n));
            CHECK(o.l3_caplen <= o.l3_len);
            CHECK(o.payload == NULL || in_buf(o.payload, o.payload_len, buf, n));
            CHECK(o.payload != NULL || o.payload_len == 0);
            CHECK(o.ip_version == 4 || o.ip_version == 6);
        }
        free(buf);
    }
}

/* Decodes p as dlt, expecting rc; every test frame also goes through the sweep. */
static int dec(int dlt, const struct pkt *p, struct decoded_pkt *o)
{
    sweep_truncations(dlt, p);
    return decode_packet(dlt, p->b, p->len, o, NULL);
}

static void check_v4_tcp_inner(const struct decoded_pkt *o)
{
    CHECK_INT(o->ip_version, 4);
    CHECK_BYTES(o->src, C4, 4);
    CHECK_BYTES(o->dst, D4, 4);
    CHECK_INT(o->l4_proto, 6);
    CHECK_INT(o->has_ports, 1);
    CHECK_INT(o->sport, 1234);
    CHECK_INT(o->dport, 80);
    CHECK_INT(o->tcp_flags, 0x18);
    CHECK_INT(o->l3_len, 45);
    CHECK_INT(o->l3_caplen, 45);
    CHECK_MEM(o->payload, o->payload_len, "hello", 5);
}

/* ---- link types and L2 ------------------------------------------------- */

TEST_CASE(eth_ipv4_tcp)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    inner_eth_v4_tcp(&p);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK(o.l3 == p.b + 14);
    CHECK(o.payload == p.b + 14 + 20 + 20);
    CHECK_INT(o.has_mac, 1);
    CHECK_BYTES(o.dst_mac, MAC_D, 6);
    CHECK_BYTES(o.src_mac, MAC_S, 6);
    CHECK_INT(o.vlan, 0);
    CHECK_INT(o.tunnels, 0);
    CHECK_INT(o.is_fragment, 0);
    CHECK_INT(o.frag_first, 1);
    CHECK_INT(o.frag_id, 0);
    for (int i = 4; i < 16; i++)
        CHECK_INT(o.src[i] | o.dst[i], 0);
}

TEST_CASE(eth_padding_not_counted)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 17, A4, B4);
    udp(&p, 5353, 53, "ab");
    ip4_end(&p, ip);
    pzero(&p, 60 - p.len);               /* minimum Ethernet frame */
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.l3_len, 30);
    CHECK_INT(o.l3_caplen, 30);
    CHECK_INT(o.payload_len, 2);
    CHECK_MEM(o.payload, o.payload_len, "ab", 2);
    CHECK_INT(o.sport, 5353);
    CHECK_INT(o.dport, 53);
    CHECK_INT(o.l4_proto, 17);
}

TEST_CASE(ipv4_options_skipped)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin_ex(&p, 6, A4, B4, 7, 0, 2);
    tcp(&p, 1, 2, 0x02, NULL);
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.l3_len, 48);
    CHECK_INT(o.sport, 1);
    CHECK_INT(o.dport, 2);
    CHECK_INT(o.tcp_flags, 0x02);
    CHECK(o.payload == NULL);
    CHECK_INT(o.payload_len, 0);
}

TEST_CASE(tcp_options_cut_by_snaplen)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 6, A4, B4);
    tcp(&p, 443, 50000, 0x12, NULL);
    p.b[p.len - 8] = 8 << 4;             /* data offset 32: 12 option bytes */
    pzero(&p, 12);
    ip4_end(&p, ip);
    uint32_t snap = p.len - 6;
    CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, snap, &o, NULL), DEC_OK);
    CHECK_INT(o.sport, 443);
    CHECK_INT(o.has_ports, 1);
    CHECK_INT(o.l3_len, 52);
    CHECK_INT(o.l3_caplen, 46);
    CHECK(o.payload == NULL);
}

TEST_CASE(vlan_8021q)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x8100);
    vlan(&p, 0xA000 | 100, 0x0800);
    uint32_t ip = ip4_begin(&p, 6, C4, D4);
    tcp(&p, 1234, 80, 0x18, "hello");
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.vlan, 100);
    CHECK_INT(o.tunnels, DEC_TUN_VLAN);
}

static void qinq_case(uint16_t outer_type)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, outer_type);
    vlan(&p, 200, 0x8100);
    vlan(&p, 300, 0x86DD);
    uint32_t ip = ip6_begin(&p, 17, A6, B6);
    udp(&p, 1000, 2000, "x");
    ip6_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.vlan, 200);
    CHECK_INT(o.ip_version, 6);
    CHECK_BYTES(o.src, A6, 16);
    CHECK_BYTES(o.dst, B6, 16);
    CHECK_INT(o.l3_len, 49);
    CHECK_INT(o.sport, 1000);
    CHECK_INT(o.dport, 2000);
    CHECK_INT(o.tunnels, DEC_TUN_VLAN);
}

TEST_CASE(qinq_88a8) { qinq_case(0x88A8); }
TEST_CASE(qinq_9100) { qinq_case(0x9100); }
TEST_CASE(qinq_8100) { qinq_case(0x8100); }

TEST_CASE(mpls_stack_ipv4_ipv6)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x8847);
    p32(&p, (16u << 12) | 64);           /* label 16, not bottom */
    p32(&p, (17u << 12) | 0x100 | 64);   /* label 17, bottom of stack */
    uint32_t ip = ip4_begin(&p, 6, C4, D4);
    tcp(&p, 1234, 80, 0x18, "hello");
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.tunnels, DEC_TUN_MPLS);

    struct pkt q = { .len = 0 };
    eth(&q, 0x8848);
    p32(&q, (18u << 12) | 0x100 | 64);
    ip = ip6_begin(&q, 58, A6, B6);
    p8(&q, 128); p8(&q, 0); p16(&q, 0); p32(&q, 0x00010002);
    ip6_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.ip_version, 6);
    CHECK_INT(o.l4_proto, 58);
    CHECK_INT(o.icmp_type, 128);
    CHECK_INT(o.has_ports, 0);
}

TEST_CASE(mpls_pseudowire_ethernet)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x8847);
    p32(&p, (20u << 12) | 0x100 | 64);
    p32(&p, 0);                          /* control word */
    inner_eth_v4_tcp(&p);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_BYTES(o.dst_mac, MAC_D, 6);
    CHECK_INT(o.tunnels, DEC_TUN_MPLS);

    struct pkt q = { .len = 0 };
    eth(&q, 0x8847);
    p32(&q, (20u << 12) | 0x100 | 64);
    p32(&q, 0x10000000);                 /* first nibble 1: neither IP nor control word */
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_NOT_IP);
}

TEST_CASE(pppoe_session)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x8864);
    p8(&p, 0x11); p8(&p, 0); p16(&p, 0x0042); p16(&p, 47);
    p16(&p, 0x0021);
    uint32_t ip = ip4_begin(&p, 6, C4, D4);
    tcp(&p, 1234, 80, 0x18, "hello");
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.tunnels, DEC_TUN_PPPOE);

    struct pkt q = { .len = 0 };
    eth(&q, 0x8864);
    p8(&q, 0x11); p8(&q, 0); p16(&q, 0x0042); p16(&q, 62);
    p16(&q, 0x0057);
    ip = ip6_begin(&q, 6, A6, B6);
    tcp(&q, 1, 2, 0x10, NULL);
    ip6_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.ip_version, 6);
    CHECK_INT(o.l3_len, 60);

    struct pkt r = { .len = 0 };
    eth(&r, 0x8864);
    p8(&r, 0x11); p8(&r, 0); p16(&r, 0x0042); p16(&r, 6);
    p16(&r, 0xC021); p32(&r, 0x01010004);  /* LCP */
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_NOT_IP);
}

TEST_CASE(not_ip_frames)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    eth(&p, 0x0806);
    pzero(&p, 28);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_NOT_IP);
    struct pkt q = { .len = 0 };
    eth(&q, 38);                         /* 802.3 length: STP over LLC */
    p8(&q, 0x42); p8(&q, 0x42); p8(&q, 0x03); pzero(&q, 35);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_NOT_IP);
    struct pkt r = { .len = 0 };
    eth(&r, 0x8100);
    vlan(&r, 5, 0x88CC);                 /* LLDP in a VLAN */
    pzero(&r, 20);
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_NOT_IP);
}

/* IPv4 TCP packet without link header. */
static void raw_v4(struct pkt *p)
{
    uint32_t ip = ip4_begin(p, 6, C4, D4);
    tcp(p, 1234, 80, 0x18, "hello");
    ip4_end(p, ip);
}
static void raw_v6(struct pkt *p)
{
    uint32_t ip = ip6_begin(p, 17, A6, B6);
    udp(p, 53, 40000, "r");
    ip6_end(p, ip);
}

TEST_CASE(link_sll_sll2)
{
    struct pkt p = { .len = 0 };
    struct decoded_pkt o;
    p16(&p, 0); p16(&p, 1); p16(&p, 6); pmem(&p, MAC_S, 6); p16(&p, 0); p16(&p, 0x0800);
    raw_v4(&p);
    CHECK_INT(dec(FC_DLT_LINUX_SLL, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.has_mac, 0);

    struct pkt q = { .len = 0 };
    p16(&q, 0x86DD); p16(&q, 0); p32(&q, 2); p16(&q, 1); p8(&q, 4); p8(&q, 6);
    pmem(&q, MAC_S, 6); p16(&q, 0);
    raw_v6(&q);
    CHECK_INT(dec(FC_DLT_LINUX_SLL2, &q, &o), DEC_OK);
    CHECK_INT(o.ip_version, 6);
    CHECK_INT(o.sport, 53);
    CHECK_INT(o.l3_len, 49);

    struct pkt r = { .len = 0 };
    p16(&r, 0); p16(&r, 1); p16(&r, 6); pmem(&r, MAC_S, 6); p16(&r, 0); p16(&r, 0x8100);
    vlan(&r, 77, 0x0800);
    raw_v4(&r);
    CHECK_INT(dec(FC_DLT_LINUX_SLL, &r, &o), DEC_OK);
    CHECK_INT(o.vlan, 77);
}

TEST_CASE(link_raw_variants)
{
    static const int v4dlts[] = { FC_DLT_RAW, FC_DLT_RAW_ALT, FC_DLT_LINKTYPE_RAW, FC_DLT_IPV4 };
    static const int v6dlts[] = { FC_DLT_RAW, FC_DLT_RAW_ALT, FC_DLT_LINKTYPE_RAW, FC_DLT_IPV6 };
    struct decoded_pkt o;
    struct pkt p = { .len = 0 }, q = { .len = 0 };
    raw_v4(&p);
    raw_v6(&q);
    for (unsigned i = 0; i < 4; i++) {
        CHECK_INT(dec(v4dlts[i], &p, &o), DEC_OK);
        check_v4_tcp_inner(&o);
        CHECK(o.l3 == p.b);
        CHECK_INT(dec(v6dlts[i], &q, &o), DEC_OK);
        CHECK_INT(o.ip_version, 6);
    }
}

TEST_CASE(link_null_loop)
{
    static const uint32_t fam6[] = { 10, 24, 28, 30 };
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    p8(&p, 2); p8(&p, 0); p8(&p, 0); p8(&p, 0);   /* AF_INET, little-endian writer */
    raw_v4(&p);
    CHECK_INT(dec(FC_DLT_NULL, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    struct pkt q = { .len = 0 };
    p32(&q, 2);                                    /* network order (LOOP) */
    raw_v4(&q);
    CHECK_INT(dec(FC_DLT_LOOP, &q, &o), DEC_OK);
    CHECK_INT(dec(FC_DLT_NULL, &q, &o), DEC_OK);
    for (unsigned i = 0; i < 4; i++) {
        struct pkt r = { .len = 0 };
        p8(&r, (uint8_t)fam6[i]); pzero(&r, 3);
        raw_v6(&r);
        CHECK_INT(dec(FC_DLT_NULL, &r, &o), DEC_OK);
        CHECK_INT(o.ip_version, 6);
        struct pkt s = { .len = 0 };
        p32(&s, fam6[i]);
        raw_v6(&s);
        CHECK_INT(dec(FC_DLT_LOOP, &s, &o), DEC_OK);
        CHECK_INT(o.ip_version, 6);
    }
    struct pkt t = { .len = 0 };
    p32(&t, 7);
    raw_v4(&t);
    CHECK_INT(dec(FC_DLT_NULL, &t, &o), DEC_NOT_IP);
}

TEST_CASE(link_cisco_hdlc)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    p8(&p, 0x0F); p8(&p, 0); p16(&p, 0x8847);
    p32(&p, (33u << 12) | 0x100 | 1);
    raw_v4(&p);
    CHECK_INT(dec(FC_DLT_C_HDLC, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.tunnels, DEC_TUN_MPLS);
}

/* ---- IP, fragments, L4 ------------------------------------------------- */

TEST_CASE(ipv4_fragments)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin_ex(&p, 17, A4, B4, 0xBEEF, 0x2000, 0);   /* MF, offset 0 */
    udp_begin(&p, 53, 33000);
    patch16(&p, p.len - 4, 1480);
    pzero(&p, 16);
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.is_fragment, 1);
    CHECK_INT(o.frag_first, 1);
    CHECK_INT(o.frag_id, 0xBEEF);
    CHECK_INT(o.has_ports, 1);
    CHECK_INT(o.sport, 53);
    CHECK_INT(o.payload_len, 16);

    struct pkt q = { .len = 0 };
    eth(&q, 0x0800);
    ip = ip4_begin_ex(&q, 17, A4, B4, 0xBEEF, 185, 0);              /* last, offset 1480 */
    pzero(&q, 100);
    ip4_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.is_fragment, 1);
    CHECK_INT(o.frag_first, 0);
    CHECK_INT(o.frag_id, 0xBEEF);
    CHECK_INT(o.has_ports, 0);
    CHECK_INT(o.l4_proto, 17);
    CHECK_INT(o.l3_len, 120);
    CHECK(o.payload == NULL);

    struct pkt r = { .len = 0 };
    eth(&r, 0x0800);
    ip = ip4_begin_ex(&r, 6, A4, B4, 9, 0x2000, 0);                 /* tiny first fragment */
    pzero(&r, 8);
    ip4_end(&r, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_E_L4_TRUNC);
}

TEST_CASE(ipv6_ext_chain)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    eth(&p, 0x86DD);
    uint32_t ip = ip6_begin(&p, 0, A6, B6);
    p8(&p, 60); p8(&p, 0); p16(&p, 0x0104); p32(&p, 0);              /* hop-by-hop, 8 bytes */
    p8(&p, 43); p8(&p, 1); pzero(&p, 14);                            /* dest options, 16 bytes */
    p8(&p, 51); p8(&p, 0); p8(&p, 0); p8(&p, 0); pzero(&p, 4);       /* routing, 8 bytes */
    p8(&p, 6); p8(&p, 1); pzero(&p, 10);                             /* AH, (1+2)*4 = 12 bytes */
    tcp(&p, 2222, 22, 0x10, "ssh");
    ip6_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 6);
    CHECK_INT(o.sport, 2222);
    CHECK_INT(o.dport, 22);
    CHECK_INT(o.l3_len, 40 + 8 + 16 + 8 + 12 + 20 + 3);
    CHECK_MEM(o.payload, o.payload_len, "ssh", 3);
    CHECK_INT(o.is_fragment, 0);
}

TEST_CASE(ipv6_fragments)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    eth(&p, 0x86DD);
    uint32_t ip = ip6_begin(&p, 44, A6, B6);
    p8(&p, 17); p8(&p, 0); p16(&p, 0x0001); p32(&p, 0xCAFEF00D);   /* offset 0, M */
    udp(&p, 53, 1053, "abcdefgh");
    ip6_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.is_fragment, 1);
    CHECK_INT(o.frag_first, 1);
    CHECK_INT(o.frag_id, 0xCAFEF00D);
    CHECK_INT(o.l4_proto, 17);
    CHECK_INT(o.has_ports, 1);
    CHECK_INT(o.dport, 1053);
    CHECK_INT(o.l3_len, 40 + 8 + 16);

    struct pkt q = { .len = 0 };
    eth(&q, 0x86DD);
    ip = ip6_begin(&q, 44, A6, B6);
    p8(&q, 17); p8(&q, 0); p16(&q, (uint16_t)(1448 << 3)); p32(&q, 0xCAFEF00D);
    pzero(&q, 30);
    ip6_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.is_fragment, 1);
    CHECK_INT(o.frag_first, 0);
    CHECK_INT(o.has_ports, 0);
    CHECK_INT(o.l4_proto, 17);
    CHECK(o.payload == NULL);

    struct pkt r = { .len = 0 };                                       /* atomic fragment */
    eth(&r, 0x86DD);
    ip = ip6_begin(&r, 44, A6, B6);
    p8(&r, 17); p8(&r, 0); p16(&r, 0); p32(&r, 5);
    udp(&r, 1, 2, NULL);
    ip6_end(&r, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_OK);
    CHECK_INT(o.is_fragment, 0);
    CHECK_INT(o.has_ports, 1);
}

TEST_CASE(l4_icmp_sctp_other)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 1, A4, B4);
    p8(&p, 3); p8(&p, 1); p16(&p, 0); p32(&p, 0); pzero(&p, 28);
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 1);
    CHECK_INT(o.icmp_type, 3);
    CHECK_INT(o.icmp_code, 1);
    CHECK_INT(o.has_ports, 0);
    CHECK_INT(o.payload_len, 28);

    struct pkt q = { .len = 0 };
    eth(&q, 0x0800);
    ip = ip4_begin(&q, 132, A4, B4);
    p16(&q, 3868); p16(&q, 3869); p32(&q, 1); p32(&q, 0); pzero(&q, 16);
    ip4_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 132);
    CHECK_INT(o.has_ports, 1);
    CHECK_INT(o.sport, 3868);
    CHECK_INT(o.dport, 3869);
    CHECK_INT(o.payload_len, 16);

    struct pkt r = { .len = 0 };
    eth(&r, 0x0800);
    ip = ip4_begin(&r, 50, A4, B4);                                   /* ESP */
    p32(&r, 0x1000); p32(&r, 1); pzero(&r, 8);
    ip4_end(&r, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 50);
    CHECK_INT(o.has_ports, 0);
    CHECK_INT(o.payload_len, 16);
}

/* ---- tunnels ------------------------------------------------------------ */

/* Outer Ethernet + IPv4 (A4 -> B4) with proto, then body(), then patched lengths. */
static void outer_v4(struct pkt *p, uint8_t proto, void (*body)(struct pkt *))
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, proto, A4, B4);
    body(p);
    ip4_end(p, ip);
}

static void expect_inner(const struct pkt *p, uint8_t tunnels)
{
    struct decoded_pkt o;
    CHECK_INT(dec(FC_DLT_EN10MB, p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.tunnels, tunnels);
    CHECK_BYTES(o.src_mac, MAC_S, 6);     /* outermost Ethernet */
}

static void body_gre_ip(struct pkt *p) { p16(p, 0); p16(p, 0x0800); raw_v4(p); }
static void body_gre_opts(struct pkt *p)
{
    p16(p, 0xB000); p16(p, 0x0800);        /* C, K, S */
    p32(p, 0); p32(p, 42); p32(p, 7);
    raw_v4(p);
}
static void body_gre_teb(struct pkt *p) { p16(p, 0x2000); p16(p, 0x6558); p32(p, 1); inner_eth_v4_tcp(p); }
static void body_erspan1(struct pkt *p) { p16(p, 0); p16(p, 0x88BE); inner_eth_v4_tcp(p); }
static void body_erspan2(struct pkt *p)
{
    p16(p, 0x1000); p16(p, 0x88BE); p32(p, 9);
    p16(p, 0x1000 | 10); p16(p, 0x0001); p32(p, 0);
    inner_eth_v4_tcp(p);
}
static void body_erspan3(struct pkt *p)
{
    p16(p, 0x1000); p16(p, 0x22EB); p32(p, 9);
    p16(p, 0x2000); p16(p, 1); p32(p, 0x12345678); p16(p, 0); p16(p, 0x0001);   /* O set */
    pzero(p, 8);
    inner_eth_v4_tcp(p);
}
static void body_pptp(struct pkt *p)
{
    p16(p, 0x3081); p16(p, 0x880B);        /* K, S, A, version 1 */
    p16(p, 2 + 2 + 45); p16(p, 0x4000); p32(p, 1); p32(p, 0);
    p8(p, 0xFF); p8(p, 0x03); p16(p, 0x0021);
    raw_v4(p);
}
static void body_ipip(struct pkt *p) { raw_v4(p); }
static void body_gre_mpls(struct pkt *p) { p16(p, 0); p16(p, 0x8847); p32(p, (99u << 12) | 0x100 | 9); raw_v4(p); }

TEST_CASE(tunnel_gre)
{
    struct pkt p = { .len = 0 };
    outer_v4(&p, 47, body_gre_ip);
    expect_inner(&p, DEC_TUN_GRE);
    struct pkt q = { .len = 0 };
    outer_v4(&q, 47, body_gre_opts);
    expect_inner(&q, DEC_TUN_GRE);
    struct pkt r = { .len = 0 };
    outer_v4(&r, 47, body_gre_teb);
    expect_inner(&r, DEC_TUN_GRE);
    struct pkt s = { .len = 0 };
    outer_v4(&s, 47, body_gre_mpls);
    expect_inner(&s, DEC_TUN_GRE | DEC_TUN_MPLS);
}

TEST_CASE(tunnel_erspan)
{
    struct pkt p = { .len = 0 };
    outer_v4(&p, 47, body_erspan1);
    expect_inner(&p, DEC_TUN_GRE | DEC_TUN_ERSPAN);
    struct pkt q = { .len = 0 };
    outer_v4(&q, 47, body_erspan2);
    expect_inner(&q, DEC_TUN_GRE | DEC_TUN_ERSPAN);
    struct pkt r = { .len = 0 };
    outer_v4(&r, 47, body_erspan3);
    expect_inner(&r, DEC_TUN_GRE | DEC_TUN_ERSPAN);
}

TEST_CASE(tunnel_pptp)
{
    struct pkt p = { .len = 0 };
    outer_v4(&p, 47, body_pptp);
    expect_inner(&p, DEC_TUN_GRE);

    struct decoded_pkt o;                  /* ack-only: the GRE packet itself */
    struct pkt q = { .len = 0 };
    eth(&q, 0x0800);
    uint32_t ip = ip4_begin(&q, 47, A4, B4);
    p16(&q, 0x2081); p16(&q, 0x880B); p16(&q, 0); p16(&q, 0x4000); p32(&q, 5);
    ip4_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 47);
    CHECK_BYTES(o.src, A4, 4);
    CHECK_INT(o.tunnels, 0);
    CHECK_INT(o.l3_len, 32);
}

TEST_CASE(tunnel_gre_carrier_kept)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    eth(&p, 0x0800);
    uint32_t ip = ip4_begin(&p, 47, A4, B4);
    p16(&p, 0); p16(&p, 0x883E); pzero(&p, 24);   /* WCCP: not decoded */
    ip4_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 47);
    CHECK_BYTES(o.dst, B4, 4);
    CHECK_INT(o.tunnels, 0);
    CHECK_INT(o.payload_len, 28);
}

TEST_CASE(tunnel_ipip)
{
    struct pkt p = { .len = 0 };
    outer_v4(&p, 4, body_ipip);
    expect_inner(&p, DEC_TUN_IPIP);

    struct decoded_pkt o;
    struct pkt q = { .len = 0 };           /* 6in4 */
    eth(&q, 0x0800);
    uint32_t ip = ip4_begin(&q, 41, A4, B4);
    raw_v6(&q);
    ip4_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.ip_version, 6);
    CHECK_BYTES(o.src, A6, 16);
    CHECK_INT(o.sport, 53);
    CHECK_INT(o.l3_len, 49);
    CHECK_INT(o.tunnels, DEC_TUN_IPIP);

    struct pkt r = { .len = 0 };           /* 4in6 */
    eth(&r, 0x86DD);
    ip = ip6_begin(&r, 4, A6, B6);
    raw_v4(&r);
    ip6_end(&r, ip);
    expect_inner(&r, DEC_TUN_IPIP);
}

static void gtpu(struct pkt *p, uint8_t flags, uint8_t type, void (*inner)(struct pkt *), int ext)
{
    eth(p, 0x0800);
    uint32_t ip = ip4_begin(p, 17, A4, B4);
    uint32_t u = udp_begin(p, 2152, 2152);
    uint32_t g = p->len;
    p8(p, flags); p8(p, type); p16(p, 0); p32(p, 0x11223344);
    if (flags & 0x07) {
        p16(p, 1); p8(p, 0); p8(p, ext ? 0x85 : 0);
        if (ext) {                         /* PDU session container, then a second one */
            p8(p, 1); p8(p, 0x10); p8(p, 0x05); p8(p, 0x85);
            p8(p, 2); pzero(p, 6); p8(p, 0);
        }
    }
    if (inner)
        inner(p);
    patch16(p, g + 2, (uint16_t)(p->len - g - 8));
    udp_end(p, u);
    ip4_end(p, ip);
}

TEST_CASE(tunnel_gtpu)
{
    struct pkt p = { .len = 0 };
    gtpu(&p, 0x30, 0xFF, raw_v4, 0);
    expect_inner(&p, DEC_TUN_GTPU);
    struct pkt q = { .len = 0 };
    gtpu(&q, 0x34, 0xFF, raw_v4, 1);       /* E flag, two extension headers */
    expect_inner(&q, DEC_TUN_GTPU);
    struct pkt r = { .len = 0 };
    gtpu(&r, 0x32, 0xFF, raw_v6, 0);       /* S flag, IPv6 inside */
    struct decoded_pkt o;
    CHECK_INT(dec(FC_DLT_EN10MB, &r, &o), DEC_OK);
    CHECK_INT(o.ip_version, 6);
    CHECK_INT(o.tunnels, DEC_TUN_GTPU);

    struct pkt s = { .len = 0 };           /* echo request: the UDP packet itself */
    gtpu(&s, 0x32, 0x01, NULL, 0);
    CHECK_INT(dec(FC_DLT_EN10MB, &s, &o), DEC_OK);
    CHECK_INT(o.l4_proto, 17);
    CHECK_INT(o.sport, 2152);
    CHECK_BYTES(o.src, A4, 4);
    CHECK_INT(o.tunnels, 0);
}

static void body_vxlan(struct pkt *p)
{
    uint32_t u = udp_begin(p, 49152, 4789);
    p8(p, 0x08); pzero(p, 3); p32(p, 0x00123400);
    inner_eth_v4_tcp(p);
    udp_end(p, u);
}
static void body_vxlan_noi(struct pkt *p)
{
    uint32_t u = udp_begin(p, 49152, 4789);
    pzero(p, 8);
    inner_eth_v4_tcp(p);
    udp_end(p, u);
}

TEST_CASE(tunnel_vxlan)
{
    struct pkt p = { .len = 0 };
    outer_v4(&p, 17, body_vxlan);
    expect_inner(&p, DEC_TUN_VXLAN);
    struct decoded_pkt o;
    CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, p.len, &o, NULL), DEC_OK);
    CHECK_INT(o.has_mac, 1);
    CHECK_BYTES(o.dst_mac, MAC_D, 6);

    struct pkt q = { .len = 0 };
    outer_v4(&q, 17, body_vxlan_noi);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.dport, 4789);
    CHECK_INT(o.tunnels, 0);
}

TEST_CASE(tunnel_nested_vlan_gre_vxlan)
{
    /* VLAN 10 / IPv4 / GRE / ERSPAN II / Ethernet / VLAN 20 / IPv4 / UDP / VXLAN / Ethernet / IPv4 / TCP */
    struct pkt p = { .len = 0 };
    eth(&p, 0x8100);
    vlan(&p, 10, 0x0800);
    uint32_t ip = ip4_begin(&p, 47, A4, B4);
    p16(&p, 0x1000); p16(&p, 0x88BE); p32(&p, 1);
    p16(&p, 0x1000 | 10); p16(&p, 1); p32(&p, 0);
    eth(&p, 0x8100);
    vlan(&p, 20, 0x0800);
    uint32_t ip2 = ip4_begin(&p, 17, B4, A4);
    body_vxlan(&p);
    ip4_end(&p, ip2);
    ip4_end(&p, ip);
    struct decoded_pkt o;
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_OK);
    check_v4_tcp_inner(&o);
    CHECK_INT(o.vlan, 10);
    CHECK_INT(o.tunnels, DEC_TUN_VLAN | DEC_TUN_GRE | DEC_TUN_ERSPAN | DEC_TUN_VXLAN);
}

/* ---- anomalies ------------------------------------------------------------ */

TEST_CASE(anomaly_codes)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };
    inner_eth_v4_tcp(&p);
    CHECK_INT(decode_packet(999, p.b, p.len, &o, NULL), DEC_E_LINKTYPE);
    CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, 13, &o, NULL), DEC_E_L2_TRUNC);
    CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, 14 + 19, &o, NULL), DEC_E_IP4_TRUNC);
    CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, 14 + 30, &o, NULL), DEC_E_L4_TRUNC);
    CHECK_INT(decode_packet(FC_DLT_EN10MB, NULL, 0, &o, NULL), DEC_E_L2_TRUNC);

    struct pkt q = p;
    q.b[14] = 0x44;                        /* IHL 4 */
    CHECK_INT(decode_packet(FC_DLT_EN10MB, q.b, q.len, &o, NULL), DEC_E_IP4_TRUNC);
    q = p;
    patch16(&q, 16, 19);                   /* total length < header length */
    CHECK_INT(decode_packet(FC_DLT_EN10MB, q.b, q.len, &o, NULL), DEC_E_IP4_BADLEN);
    q = p;
    q.b[14] = 0x55;                        /* version 5 */
    CHECK_INT(decode_packet(FC_DLT_EN10MB, q.b, q.len, &o, NULL), DEC_E_IPVER);
    q = p;
    q.b[14 + 20 + 12] = 4 << 4;            /* TCP data offset 4 */
    CHECK_INT(decode_packet(FC_DLT_EN10MB, q.b, q.len, &o, NULL), DEC_E_L4_TRUNC);
    q = p;
    q.b[14 + 20 + 12] = 15 << 4;           /* TCP header beyond the IP length */
    CHECK_INT(decode_packet(FC_DLT_EN10MB, q.b, q.len, &o, NULL), DEC_E_L4_TRUNC);

    struct pkt r = { .len = 0 };
    eth(&r, 0x86DD);
    raw_v6(&r);
    CHECK_INT(decode_packet(FC_DLT_EN10MB, r.b, 14 + 39, &o, NULL), DEC_E_IP6_TRUNC);
}

TEST_CASE(anomaly_ip6_ext)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };           /* nine destination-options headers */
    eth(&p, 0x86DD);
    uint32_t ip = ip6_begin(&p, 60, A6, B6);
    for (int i = 0; i < 9; i++) {
        p8(&p, i < 8 ? 60 : 59); p8(&p, 0); pzero(&p, 6);
    }
    ip6_end(&p, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_E_IP6_EXT);

    struct pkt q = { .len = 0 };           /* hop-by-hop longer than the payload */
    eth(&q, 0x86DD);
    ip = ip6_begin(&q, 0, A6, B6);
    p8(&q, 6); p8(&q, 3); pzero(&q, 6);
    ip6_end(&q, ip);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_E_IP6_EXT);
}

static void body_gre_badver(struct pkt *p) { p16(p, 0x0003); p16(p, 0x0800); raw_v4(p); }
static void body_gre_bad_inner(struct pkt *p) { p16(p, 0); p16(p, 0x0800); p8(p, 0x45); pzero(p, 5); }
static void body_ipip_bad(struct pkt *p) { raw_v4(p); p->b[p->len - 45] = 0x43; }
static void body_vxlan_cut(struct pkt *p) { udp(p, 1, 4789, "\x08"); }
static void body_gre_key_cut(struct pkt *p) { p16(p, 0x2000); p16(p, 0x0800); p16(p, 1); }

TEST_CASE(anomaly_tunnel)
{
    static void (*const bodies[])(struct pkt *) = {
        body_gre_badver, body_gre_bad_inner, body_ipip_bad, body_vxlan_cut, body_gre_key_cut,
    };
    static const uint8_t protos[] = { 47, 47, 4, 17, 47 };
    struct decode_stats st;
    memset(&st, 0, sizeof(st));
    for (unsigned i = 0; i < sizeof(protos); i++) {
        struct pkt p = { .len = 0 };
        struct decoded_pkt o;
        outer_v4(&p, protos[i], bodies[i]);
        sweep_truncations(FC_DLT_EN10MB, &p);
        CHECK_INT(decode_packet(FC_DLT_EN10MB, p.b, p.len, &o, &st), DEC_E_TUNNEL);
    }
    struct pkt g = { .len = 0 };           /* G-PDU whose inner IPv4 header is cut */
    gtpu(&g, 0x30, 0xFF, NULL, 0);
    struct decoded_pkt o;
    CHECK_INT(decode_packet(FC_DLT_EN10MB, g.b, g.len, &o, &st), DEC_E_TUNNEL);
    struct pkt h = { .len = 0 };           /* GTP extension header of length 0 */
    gtpu(&h, 0x34, 0xFF, raw_v4, 1);
    h.b[14 + 20 + 8 + 12] = 0;
    CHECK_INT(decode_packet(FC_DLT_EN10MB, h.b, h.len, &o, &st), DEC_E_TUNNEL);
    CHECK_INT(st.anomalies[-DEC_E_TUNNEL], 7);
    CHECK_INT(st.frames, 7);
}

TEST_CASE(anomaly_depth)
{
    struct decoded_pkt o;
    struct pkt p = { .len = 0 };           /* 9 VLAN tags */
    eth(&p, 0x8100);
    for (int i = 0; i < 9; i++)
        vlan(&p, (uint16_t)(i + 1), i < 8 ? 0x8100 : 0x0800);
    raw_v4(&p);
    CHECK_INT(dec(FC_DLT_EN10MB, &p, &o), DEC_E_DEPTH);

    struct pkt q = { .len = 0 };           /* 8 tags is the limit */
    eth(&q, 0x8100);
    for (int i = 0; i < 8; i++)
        vlan(&q, (uint16_t)(i + 1), i < 7 ? 0x8100 : 0x0800);
    raw_v4(&q);
    CHECK_INT(dec(FC_DLT_EN10MB, &q, &o), DEC_OK);
    CHECK_INT(o.vlan, 1);

    struct pkt r = { .len = 0 };           /* 9 nested IP-in-IP headers */
    uint32_t at[10];
    for (int i = 0; i < 9; i++)
        at[i] = ip4_begin(&r, 4, A4, B4);
    raw_v4(&r);
    for (int i = 8; i >= 0; i--)
        ip4_end(&r, at[i]);
    CHECK_INT(dec(FC_DLT_RAW, &r, &o), DEC_E_DEPTH);
}

TEST_CASE(stats_and_names)
{
    struct decode_stats st;
    struct decoded_pkt o;
    memset(&st, 0, sizeof(st));
    struct pkt p = { .len = 0 };
    inner_eth_v4_tcp(&p);
    decode_packet(FC_DLT_EN10MB, p.b, p.len, &o, &st);
    decode_packet(FC_DLT_EN10MB, p.b, 10, &o, &st);
    decode_packet(77, p.b, p.len, &o, &st);
    p.b[12] = 0x08; p.b[13] = 0x06;
    decode_packet(FC_DLT_EN10MB, p.b, p.len, &o, &st);
    CHECK_INT(st.frames, 4);
    CHECK_INT(st.ip_packets, 1);
    CHECK_INT(st.not_ip, 1);
    CHECK_INT(st.anomalies[-DEC_E_L2_TRUNC], 1);
    CHECK_INT(st.anomalies[-DEC_E_LINKTYPE], 1);
    CHECK_STR(decode_result_name(DEC_OK), "ok");
    CHECK_STR(decode_result_name(DEC_NOT_IP), "not_ip");
    CHECK_STR(decode_result_name(DEC_E_L2_TRUNC), "l2_trunc");
    CHECK_STR(decode_result_name(DEC_E_IP4_TRUNC), "ip4_trunc");
    CHECK_STR(decode_result_name(DEC_E_TUNNEL), "tunnel");
    CHECK_STR(decode_result_name(DEC_E_IPVER), "ipver");
    CHECK_STR(decode_result_name(42), "unknown");
    for (int code = DEC_E_IPVER; code <= DEC_NOT_IP; code++)
        CHECK(strcmp(decode_result_name(code), "unknown") != 0);
}

int main(void)
{
    RUN(eth_ipv4_tcp);
    RUN(eth_padding_not_counted);
    RUN(ipv4_options_skipped);
    RUN(tcp_options_cut_by_snaplen);
    RUN(vlan_8021q);
    RUN(qinq_88a8);
    RUN(qinq_9100);
    RUN(qinq_8100);
    RUN(mpls_stack_ipv4_ipv6);
    RUN(mpls_pseudowire_ethernet);
    RUN(pppoe_session);
    RUN(not_ip_frames);
    RUN(link_sll_sll2);
    RUN(link_raw_variants);
    RUN(link_null_loop);
    RUN(link_cisco_hdlc);
    RUN(ipv4_fragments);
    RUN(ipv6_ext_chain);
    RUN(ipv6_fragments);
    RUN(l4_icmp_sctp_other);
    RUN(tunnel_gre);
    RUN(tunnel_erspan);
    RUN(tunnel_pptp);
    RUN(tunnel_gre_carrier_kept);
    RUN(tunnel_ipip);
    RUN(tunnel_gtpu);
    RUN(tunnel_vxlan);
    RUN(tunnel_nested_vlan_gre_vxlan);
    RUN(anomaly_codes);
    RUN(anomaly_ip6_ext);
    RUN(anomaly_tunnel);
    RUN(anomaly_depth);
    RUN(stats_and_names);
    return CHECK_DONE("decode");
}
