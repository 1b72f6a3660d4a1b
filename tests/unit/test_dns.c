/* test_dns.c - byte-vector tests for dissectors/dns.c: header, first question, names, TCP framing (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/dns.h"
#include "tests/unit/check.h"

/* Query for www.Example.COM A IN, txid 0x1234, RD. */
static const uint8_t q_www[] = {
    0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p', 'l', 'e', 3, 'C', 'O', 'M', 0,
    0x00, 0x01, 0x00, 0x01,
};

/* NXDOMAIN response for nope.example AAAA, with one answer-ish compressed record after. */
static const uint8_t r_nx[] = {
    0xab, 0xcd, 0x81, 0x83, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,
    4, 'n', 'o', 'p', 'e', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0x00, 0x1c, 0x00, 0x01,
    0xc0, 0x11, 0x00, 0x06, 0x00, 0x01, 0, 0, 0, 60, 0, 0,
};

/* Builds a one-question message with the given wire name into buf. */
static size_t build_query(uint8_t *buf, const uint8_t *name, size_t nlen, uint16_t qtype)
{
    static const uint8_t hdr[DNS_HEADER_LEN] = { 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0 };
    memcpy(buf, hdr, sizeof(hdr));
    memcpy(buf + DNS_HEADER_LEN, name, nlen);
    size_t n = DNS_HEADER_LEN + nlen;
    buf[n++] = (uint8_t)(qtype >> 8);
    buf[n++] = (uint8_t)qtype;
    buf[n++] = 0;
    buf[n++] = 1;
    return n;
}

TEST_CASE(query_basic)
{
    struct dns_msg m;
    CHECK_INT(dns_parse(q_www, sizeof(q_www), &m), DISSECT_OK);
    CHECK_INT(m.txid, 0x1234);
    CHECK_INT(m.is_response, 0);
    CHECK_INT(m.opcode, 0);
    CHECK_INT(m.rcode, 0);
    CHECK_INT(m.truncated, 0);
    CHECK_INT(m.qdcount, 1);
    CHECK_INT(m.ancount, 0);
    CHECK_STR(m.qname, "www.example.com");
    CHECK_INT(m.qtype, 1);
    CHECK_INT(m.qclass, 1);
}

TEST_CASE(response_nxdomain)
{
    struct dns_msg m;
    CHECK_INT(dns_parse(r_nx, sizeof(r_nx), &m), DISSECT_OK);
    CHECK_INT(m.txid, 0xabcd);
    CHECK_INT(m.is_response, 1);
    CHECK_INT(m.rcode, 3);
    CHECK_STR(m.qname, "nope.example");
    CHECK_INT(m.qtype, 28);
}

TEST_CASE(flags_opcode_tc)
{
    uint8_t b[sizeof(q_www)];
    struct dns_msg m;
    memcpy(b, q_www, sizeof(b));
    b[2] = 0x80 | (5 << 3) | 0x02;     /* QR, opcode UPDATE, TC */
    b[3] = 0x05;                       /* REFUSED */
    CHECK_INT(dns_parse(b, sizeof(b), &m), DISSECT_OK);
    CHECK_INT(m.is_response, 1);
    CHECK_INT(m.opcode, 5);
    CHECK_INT(m.truncated, 1);
    CHECK_INT(m.rcode, 5);
}

TEST_CASE(no_question)
{
    uint8_t b[DNS_HEADER_LEN] = { 0, 7, 0x80, 0x01, 0, 0, 0, 0, 0, 0, 0, 0 };
    struct dns_msg m;
    CHECK_INT(dns_parse(b, sizeof(b), &m), DISSECT_OK);
    CHECK_INT(m.qdcount, 0);
    CHECK_STR(m.qname, "");
    CHECK_INT(m.qtype, 0);
    CHECK_INT(m.rcode, 1);
}

TEST_CASE(root_name)
{
    uint8_t b[64];
    static const uint8_t root[] = { 0 };
    struct dns_msg m;
    size_t n = build_query(b, root, sizeof(root), 2);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_OK);
    CHECK_STR(m.qname, "");
    CHECK_INT(m.qtype, 2);
}

TEST_CASE(truncation_every_length)
{
    struct dns_msg m;
    for (size_t n = 0; n < sizeof(q_www); n++) {
        uint8_t *b = malloc(n ? n : 1);     /* exact size: ASan sees any over-read */
        memcpy(b, q_www, n);
        CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
        free(b);
    }
    /* the NXDOMAIN response parses as soon as its question is complete */
    for (size_t n = 0; n <= sizeof(r_nx); n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, r_nx, n);
        CHECK_INT(dns_parse(b, n, &m), n >= 30 ? DISSECT_OK : DISSECT_MALFORMED);
        free(b);
    }
}

TEST_CASE(pointer_loops)
{
    uint8_t b[64];
    struct dns_msg m;
    static const uint8_t self[] = { 0xc0, 12 };
    static const uint8_t fwd[] = { 0xc0, 14, 0 };
    static const uint8_t after_label[] = { 1, 'a', 0xc0, 12 };
    static const uint8_t cut_ptr[] = { 1, 'a', 0xc0 };
    size_t n = build_query(b, self, sizeof(self), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
    n = build_query(b, fwd, sizeof(fwd), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
    n = build_query(b, after_label, sizeof(after_label), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
    memcpy(b + DNS_HEADER_LEN, cut_ptr, sizeof(cut_ptr));
    CHECK_INT(dns_parse(b, DNS_HEADER_LEN + sizeof(cut_ptr), &m), DISSECT_MALFORMED);
}

/* A chain of backward pointers through the header: 12 -> 10 -> 8 -> 6 -> 4 (root). */
TEST_CASE(pointer_chain_backwards)
{
    static const uint8_t b[] = {
        0x00, 0x09, 0x01, 0x00, 0x00, 0x01, 0xc0, 0x04, 0xc0, 0x06, 0xc0, 0x08,
        0xc0, 0x0a, 0x00, 0x10, 0x00, 0x01,
    };
    struct dns_msg m;
    CHECK_INT(dns_parse(b, sizeof(b), &m), DISSECT_OK);
    CHECK_STR(m.qname, "");
    CHECK_INT(m.qtype, 16);
    CHECK_INT(m.ancount, 0xc004);
}

TEST_CASE(name_length_limit)
{
    uint8_t name[300], b[400];
    struct dns_msg m;
    size_t o = 0;
    /* 3 labels of 63 + 1 of 61: 4 + 63*3 + 61 + 1 = 255 bytes on the wire */
    for (int l = 0; l < 4; l++) {
        uint8_t ll = l < 3 ? 63 : 61;
        name[o++] = ll;
        memset(name + o, 'a' + l, ll);
        o += ll;
    }
    name[o++] = 0;
    CHECK_INT(o, 255);
    size_t n = build_query(b, name, o, 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_OK);
    CHECK_INT(strlen(m.qname), 63 * 3 + 61 + 3);
    name[o - 2 - 60] = 62;                   /* last label 62 bytes: 256 on the wire */
    memmove(name + o - 1, name + o - 2, 2);
    name[o - 1] = 'd';
    name[o] = 0;
    n = build_query(b, name, o + 1, 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
}

TEST_CASE(label_types)
{
    uint8_t b[64];
    struct dns_msg m;
    static const uint8_t ext[] = { 0x41, 'a', 0 };
    static const uint8_t rsv[] = { 0x81, 'a', 0 };
    size_t n = build_query(b, ext, sizeof(ext), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
    n = build_query(b, rsv, sizeof(rsv), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_MALFORMED);
}

TEST_CASE(escaping)
{
    uint8_t b[64];
    struct dns_msg m;
    static const uint8_t odd[] = { 5, 'A', '.', ' ', 0xff, '\\', 3, 'C', '_', '-', 0 };
    size_t n = build_query(b, odd, sizeof(odd), 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_OK);
    CHECK_STR(m.qname, "a\\. \\xff\\\\.c_-");
}

/* 63 bytes of 0xff per label, 3 labels: the longest escaped text fits. */
TEST_CASE(escaping_binary_long)
{
    uint8_t name[300], b[400];
    struct dns_msg m;
    size_t o = 0;
    for (int l = 0; l < 3; l++) {
        name[o++] = 63;
        memset(name + o, 0xff, 63);
        o += 63;
    }
    name[o++] = 61;
    memset(name + o, 0x01, 61);
    o += 61;
    name[o++] = 0;
    size_t n = build_query(b, name, o, 1);
    CHECK_INT(dns_parse(b, n, &m), DISSECT_OK);
    CHECK_INT(strlen(m.qname), (63 * 3 + 61) * 4 + 3);
    CHECK(strncmp(m.qname, "\\xff\\xff", 8) == 0);
}

TEST_CASE(type_and_rcode_names)
{
    char tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    CHECK_STR(dns_qtype_name(1, tb), "A");
    CHECK_STR(dns_qtype_name(28, tb), "AAAA");
    CHECK_STR(dns_qtype_name(15, tb), "MX");
    CHECK_STR(dns_qtype_name(5, tb), "CNAME");
    CHECK_STR(dns_qtype_name(2, tb), "NS");
    CHECK_STR(dns_qtype_name(12, tb), "PTR");
    CHECK_STR(dns_qtype_name(6, tb), "SOA");
    CHECK_STR(dns_qtype_name(16, tb), "TXT");
    CHECK_STR(dns_qtype_name(33, tb), "SRV");
    CHECK_STR(dns_qtype_name(255, tb), "ANY");
    CHECK_STR(dns_qtype_name(65, tb), "HTTPS");
    CHECK_STR(dns_qtype_name(64, tb), "SVCB");
    CHECK_STR(dns_qtype_name(43, tb), "DS");
    CHECK_STR(dns_qtype_name(48, tb), "DNSKEY");
    CHECK_STR(dns_qtype_name(257, tb), "CAA");
    CHECK_STR(dns_qtype_name(0, tb), "TYPE0");
    CHECK_STR(dns_qtype_name(65535, tb), "TYPE65535");
    CHECK_STR(dns_rcode_name(0, rb), "NOERROR");
    CHECK_STR(dns_rcode_name(1, rb), "FORMERR");
    CHECK_STR(dns_rcode_name(2, rb), "SERVFAIL");
    CHECK_STR(dns_rcode_name(3, rb), "NXDOMAIN");
    CHECK_STR(dns_rcode_name(4, rb), "NOTIMP");
    CHECK_STR(dns_rcode_name(5, rb), "REFUSED");
    CHECK_STR(dns_rcode_name(6, rb), "YXDOMAIN");
    CHECK_STR(dns_rcode_name(7, rb), "YXRRSET");
    CHECK_STR(dns_rcode_name(8, rb), "NXRRSET");
    CHECK_STR(dns_rcode_name(9, rb), "NOTAUTH");
    CHECK_STR(dns_rcode_name(10, rb), "NOTZONE");
    CHECK_STR(dns_rcode_name(11, rb), "RCODE11");
    CHECK_STR(dns_rcode_name(255, rb), "RCODE255");
}

/* ---- TCP ---- */

struct tcp_sink {
    int n;
    size_t lens[16];
    char names[16][64];
};

static void tcp_on_msg(void *arg, const uint8_t *msg, size_t mlen)
{
    struct tcp_sink *k = arg;
    struct dns_msg m;
    if (k->n >= 16)
        return;
    k->lens[k->n] = mlen;
    if (dns_parse(msg, mlen, &m) == DISSECT_OK)
        snprintf(k->names[k->n], sizeof(k->names[0]), "%.63s", m.qname);
    else
        snprintf(k->names[k->n], sizeof(k->names[0]), "!");
    k->n++;
}

/* Two framed messages: q_www and r_nx. */
static size_t tcp_two(uint8_t *b)
{
    size_t o = 0;
    b[o++] = 0;
    b[o++] = sizeof(q_www);
    memcpy(b + o, q_www, sizeof(q_www));
    o += sizeof(q_www);
    b[o++] = 0;
    b[o++] = sizeof(r_nx);
    memcpy(b + o, r_nx, sizeof(r_nx));
    return o + sizeof(r_nx);
}

TEST_CASE(tcp_two_in_one_segment)
{
    uint8_t b[128];
    struct dns_tcp_stream s;
    struct tcp_sink k = { 0 };
    size_t n = tcp_two(b);
    dns_tcp_stream_init(&s);
    CHECK_INT(dns_tcp_feed(&s, b, n, tcp_on_msg, &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_STR(k.names[0], "www.example.com");
    CHECK_STR(k.names[1], "nope.example");
    CHECK_INT(k.lens[1], sizeof(r_nx));
    CHECK_INT(s.msgs, 2);
}

TEST_CASE(tcp_split_every_byte_and_point)
{
    uint8_t b[128];
    size_t n = tcp_two(b);
    for (size_t cut = 0; cut <= n; cut++) {
        struct dns_tcp_stream s;
        struct tcp_sink k = { 0 };
        dns_tcp_stream_init(&s);
        CHECK_INT(dns_tcp_feed(&s, b, cut, tcp_on_msg, &k), DISSECT_OK);
        CHECK_INT(dns_tcp_feed(&s, b + cut, n - cut, tcp_on_msg, &k), DISSECT_OK);
        CHECK_INT(k.n, 2);
        CHECK_STR(k.names[0], "www.example.com");
        CHECK_STR(k.names[1], "nope.example");
    }
    struct dns_tcp_stream s;
    struct tcp_sink k = { 0 };
    dns_tcp_stream_init(&s);
    for (size_t i = 0; i < n; i++)
        CHECK_INT(dns_tcp_feed(&s, b + i, 1, tcp_on_msg, &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_STR(k.names[1], "nope.example");
}

TEST_CASE(tcp_long_message_kept_prefix)
{
    static uint8_t b[2 + 3000 + 2 + sizeof(q_www)];
    struct dns_tcp_stream s;
    struct tcp_sink k = { 0 };
    b[0] = 3000 >> 8;
    b[1] = 3000 & 0xff;
    memcpy(b + 2, q_www, sizeof(q_www));
    memset(b + 2 + sizeof(q_www), 0xee, 3000 - sizeof(q_www));
    b[3002] = 0;
    b[3003] = sizeof(q_www);
    memcpy(b + 3004, q_www, sizeof(q_www));
    dns_tcp_stream_init(&s);
    /* in 1000-byte segments, then all at once */
    for (size_t o = 0; o < sizeof(b); o += 1000)
        dns_tcp_feed(&s, b + o, sizeof(b) - o < 1000 ? sizeof(b) - o : 1000, tcp_on_msg, &k);
    CHECK_INT(k.n, 2);
    CHECK_INT(k.lens[0], DNS_TCP_KEEP);
    CHECK_STR(k.names[0], "www.example.com");
    CHECK_STR(k.names[1], "www.example.com");
    dns_tcp_stream_init(&s);
    CHECK_INT(dns_tcp_feed(&s, b, sizeof(b), tcp_on_msg, &k), DISSECT_OK);
    CHECK_INT(k.n, 4);
    CHECK_INT(k.lens[2], DNS_TCP_KEEP);
}

TEST_CASE(tcp_zero_length_is_malformed_once)
{
    uint8_t b[128];
    struct dns_tcp_stream s;
    struct tcp_sink k = { 0 };
    size_t n = tcp_two(b);
    b[n++] = 0;
    b[n++] = 0;
    dns_tcp_stream_init(&s);
    CHECK_INT(dns_tcp_feed(&s, b, n, tcp_on_msg, &k), DISSECT_MALFORMED);
    CHECK_INT(k.n, 2);
    CHECK_INT(s.dead, 1);
    CHECK_INT(dns_tcp_feed(&s, b, n, tcp_on_msg, &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
}

TEST_CASE(tcp_retransmission_no_crash)
{
    uint8_t b[128];
    struct dns_tcp_stream s;
    struct tcp_sink k = { 0 };
    size_t n = tcp_two(b);
    dns_tcp_stream_init(&s);
    dns_tcp_feed(&s, b, 20, tcp_on_msg, &k);
    dns_tcp_feed(&s, b, 20, tcp_on_msg, &k);      /* repeated bytes */
    dns_tcp_feed(&s, b + 20, n - 20, tcp_on_msg, &k);
    CHECK(k.n <= 2);
    CHECK(s.len <= DNS_TCP_KEEP);
}

int main(void)
{
    RUN(query_basic);
    RUN(response_nxdomain);
    RUN(flags_opcode_tc);
    RUN(no_question);
    RUN(root_name);
    RUN(truncation_every_length);
    RUN(pointer_loops);
    RUN(pointer_chain_backwards);
    RUN(name_length_limit);
    RUN(label_types);
    RUN(escaping);
    RUN(escaping_binary_long);
    RUN(type_and_rcode_names);
    RUN(tcp_two_in_one_segment);
    RUN(tcp_split_every_byte_and_point);
    RUN(tcp_long_message_kept_prefix);
    RUN(tcp_zero_length_is_malformed_once);
    RUN(tcp_retransmission_no_crash);
    return CHECK_DONE("dns");
}
