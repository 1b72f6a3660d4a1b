/* test_snmp.c - byte-vector tests for dissectors/snmp.c: v1/v2c/v3 messages, BER limits; tshark on public captures (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/snmp.h"
#include "tests/unit/check.h"
#include "tests/unit/tshark_rows.h"

/* Payloads from public captures (other/snmpwalk_zeek.pcap frames 1-2,
 * ndpi-dev/snmp.pcap frames 17, 24, 43, 53, 55). */
static const char walk_getnext[] =
    "302602010104067075626c6963a119020409584e45020100020100300b300906052b060102010500";
static const char walk_response[] =
    "30819002010104067075626c6963a28182020409584e450201000201003074307206082b0601020101010004664c"
    "696e7578207562756e74752d3531326d622d73666f322d303120342e342e302d33312d67656e65726963202335"
    "307e31342e30342e312d5562756e747520534d5020576564204a756c2031332030313a30373a33322055544320"
    "32303136207838365f3634";
static const char v3_get_noauth[] =
    "303e020103301102046c9af56e020300ffe30401040201030410300e0400020100020100040004000400301404"
    "000400a00e0204750558880201000201003000";
static const char v3_report[] =
    "3067020103301002045ba2a824020205dc040100020103041d301b040c800000090300aabbcc00010002010c02"
    "0202d10400040004003031040c800000090300aabbcc0001000400a81f02040c55be1e0201000201003011300f"
    "060a2b060106030f01010400410102";
static const char v3_encrypted[] =
    "30818502010330110204482e3bea020300ffe3040107020103043b3039040c800000090300aabbcc0001000201"
    "0c02020604040a53484131414553313238040c545946e49cfd586b30c17318040839bcbcf46fa870ce04300251"
    "aab2f5cb475d178f6464b9aea8477665ce4450eb8d9341dc61597469285481c07133363299b7b81a01d486ea8c"
    "9c";
static const char v1_trap_hex[] =
    "30818f02010004067075626c6963a4818106082b0601060301010540040a011e01020102020100430303a68c30"
    "64300f060a2b0601020102020101020201023019060a2b060102010202010202040b45746865726e6574302f31"
    "300f060a2b0601020102020103020201063025060c2b0601040109020201011402041561646d696e6973747261"
    "746976656c7920646f776e";

static uint8_t buf[4096];

static size_t hex(const char *h)
{
    long n = tshark_unhex(h, buf, sizeof(buf));
    return n < 0 ? 0 : (size_t)n;
}

/* Writes tag, BER length and v[0..n) at out; returns the bytes written. */
static size_t tlv(uint8_t *out, uint8_t tag, const uint8_t *v, size_t n)
{
    size_t o = n < 0x80 ? 2 : 4;
    memmove(out + o, v, n);             /* first: v may be out itself */
    out[0] = tag;
    if (n < 0x80) {
        out[1] = (uint8_t)n;
    } else {
        out[1] = 0x82;
        out[2] = (uint8_t)(n >> 8);
        out[3] = (uint8_t)n;
    }
    return o + n;
}

/* A v2c message: community "c", PDU tag, request-id 7, the varbind list vbl[0..vn). */
static size_t build(uint8_t *out, uint8_t pdu_tag, const uint8_t *vbl, size_t vn)
{
    uint8_t pdu[1024], msg[1100];
    static const uint8_t head[] = { 0x02, 0x01, 0x07, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00 };
    size_t p = 0, m = 0;
    memcpy(pdu, head, sizeof(head));
    p = sizeof(head);
    p += tlv(pdu + p, 0x30, vbl, vn);
    static const uint8_t ver_comm[] = { 0x02, 0x01, 0x01, 0x04, 0x01, 'c' };
    memcpy(msg, ver_comm, sizeof(ver_comm));
    m = sizeof(ver_comm);
    m += tlv(msg + m, pdu_tag, pdu, p);
    return tlv(out, 0x30, msg, m);
}

TEST_CASE(v2c_walk)
{
    struct snmp_msg m;
    size_t n = hex(walk_getnext);
    CHECK_INT(snmp_parse(buf, n, &m), DISSECT_OK);
    CHECK_INT(m.version, SNMP_V2C);
    CHECK_STR(m.community, "public");
    CHECK_INT(m.community_len, 6);
    CHECK_INT(m.pdu_type, SNMP_PDU_GETNEXT);
    CHECK_STR(snmp_pdu_name(m.pdu_type), "getnext");
    CHECK_INT(m.has_request_id, 1);
    CHECK_INT(m.request_id, 156782149);
    CHECK_INT(m.error_status, 0);
    CHECK_INT(m.varbinds, 1);
    CHECK_STR(m.oid, "1.3.6.1.2.1");
    CHECK_INT(m.msg_len, n);
    n = hex(walk_response);
    CHECK_INT(snmp_parse(buf, n, &m), DISSECT_OK);
    CHECK_INT(m.pdu_type, SNMP_PDU_RESPONSE);
    CHECK_INT(m.request_id, 156782149);
    CHECK_STR(m.oid, "1.3.6.1.2.1.1.1.0");
    CHECK_INT(m.varbinds, 1);
}

TEST_CASE(v3_headers)
{
    struct snmp_msg m;
    CHECK_INT(snmp_parse(buf, hex(v3_get_noauth), &m), DISSECT_OK);
    CHECK_INT(m.version, SNMP_V3);
    CHECK_INT(m.msg_id, 0x6c9af56e);
    CHECK_INT(m.msg_max_size, 65507);
    CHECK_INT(m.msg_flags, SNMP_V3_REPORTABLE);
    CHECK_INT(m.security_model, 3);
    CHECK_INT(m.encrypted, 0);
    CHECK_INT(m.pdu_type, SNMP_PDU_GET);
    CHECK_INT(m.request_id, 0x75055888);
    CHECK_INT(m.varbinds, 0);
    CHECK_STR(m.community, "");
    CHECK_INT(snmp_parse(buf, hex(v3_report), &m), DISSECT_OK);
    CHECK_INT(m.pdu_type, SNMP_PDU_REPORT);
    CHECK_INT(m.request_id, 0x0c55be1e);
    CHECK_INT(m.varbinds, 1);
    CHECK_STR(m.oid, "1.3.6.1.6.3.15.1.1.4.0");
    CHECK_INT(snmp_parse(buf, hex(v3_encrypted), &m), DISSECT_OK);
    CHECK_INT(m.encrypted, 1);
    CHECK_INT(m.pdu_type, SNMP_PDU_NONE);
    CHECK_STR(snmp_pdu_name(m.pdu_type), "encrypted");
    CHECK_INT(m.has_request_id, 0);
    CHECK_INT(m.msg_id, 0x482e3bea);
    CHECK_INT(m.msg_flags, SNMP_V3_AUTH | SNMP_V3_PRIV | SNMP_V3_REPORTABLE);
    CHECK_STR(m.community, "SHA1AES128");
}

TEST_CASE(v1_trap_fields)
{
    struct snmp_msg m;
    CHECK_INT(snmp_parse(buf, hex(v1_trap_hex), &m), DISSECT_OK);
    CHECK_INT(m.version, SNMP_V1);
    CHECK_INT(m.pdu_type, SNMP_PDU_TRAP);
    CHECK_INT(m.has_request_id, 0);
    CHECK_STR(m.oid, "1.3.6.1.6.3.1.1.5");
    CHECK_MEM(m.agent_addr, 4, "\x0a\x01\x1e\x01", 4);
    CHECK_INT(m.generic_trap, 2);
    CHECK_INT(m.specific_trap, 0);
    CHECK_INT(m.timestamp, 239244);
    CHECK_INT(m.varbinds, 4);
}

TEST_CASE(every_prefix_and_trailing_bytes)
{
    static const char *const vecs[] = { walk_getnext, walk_response, v3_get_noauth, v3_report, v3_encrypted, v1_trap_hex };
    struct snmp_msg m;
    for (size_t v = 0; v < sizeof(vecs) / sizeof(vecs[0]); v++) {
        size_t n = hex(vecs[v]);
        for (size_t i = 0; i < n; i++) {
            uint8_t *b = malloc(i ? i : 1);
            memcpy(b, buf, i);
            if (snmp_parse(b, i, &m) != DISSECT_MALFORMED)
                CHECK_FAIL_("vector %zu cut at %zu parses", v, i);
            free(b);
        }
        memset(buf + n, 0xee, 7);
        CHECK_INT(snmp_parse(buf, n + 7, &m), DISSECT_OK);
        CHECK_INT(m.msg_len, n);
    }
}

TEST_CASE(crafted_pdus)
{
    uint8_t out[2048], vb[512];
    struct snmp_msg m;
    static const uint8_t one[] = { 0x30, 0x0a, 0x06, 0x03, 0x2b, 0x06, 0x01, 0x41, 0x03, 0x01, 0x00, 0x00 };
    size_t n = build(out, 0xa5, one, sizeof(one));
    CHECK_INT(snmp_parse(out, n, &m), DISSECT_OK);
    CHECK_INT(m.pdu_type, SNMP_PDU_GETBULK);
    CHECK_STR(snmp_pdu_name(m.pdu_type), "getbulk");
    CHECK_STR(m.community, "c");
    CHECK_INT(m.request_id, 7);
    CHECK_STR(m.oid, "1.3.6.1");
    /* many varbinds with exception values (noSuchObject etc.) */
    size_t k = 0;
    for (int i = 0; i < 40; i++) {
        static const uint8_t v[] = { 0x30, 0x07, 0x06, 0x03, 0x2b, 0x06, 0x01, 0x80, 0x00 };
        memcpy(vb + k, v, sizeof(v));
        vb[k + 7] = (uint8_t)(0x80 + i % 3);
        k += sizeof(v);
    }
    n = build(out, 0xa2, vb, k);
    CHECK_INT(snmp_parse(out, n, &m), DISSECT_OK);
    CHECK_INT(m.varbinds, 40);
    /* request-id of 8 bytes, negative */
    static const uint8_t neg[] = { 0x30, 0x19, 0x02, 0x01, 0x00, 0x04, 0x00, 0xa0, 0x12, 0x02, 0x08, 0xff, 0xff, 0xff,
                                   0xff, 0xff, 0xff, 0xff, 0xfe, 0x02, 0x01, 0x05, 0x02, 0x01, 0x02, 0x30, 0x00 };
    CHECK_INT(snmp_parse(neg, sizeof(neg), &m), DISSECT_OK);
    CHECK_INT(m.request_id, -2);
    CHECK_INT(m.error_status, 5);
    CHECK_STR(snmp_error_name(m.error_status), "genErr");
    CHECK_STR(snmp_error_name(99), "unknown");
    CHECK_STR(snmp_error_name(-1), "unknown");
    CHECK_STR(snmp_pdu_name(9), "unknown");
    CHECK_INT(m.community_len, 0);
}

TEST_CASE(ber_rejects)
{
    uint8_t out[2048], vb[2048];
    struct snmp_msg m;
    static const uint8_t good[] = { 0x30, 0x26, 0x02, 0x01, 0x01, 0x04, 0x06, 'p', 'u', 'b', 'l', 'i', 'c', 0xa1, 0x19,
                                    0x02, 0x04, 0x09, 0x58, 0x4e, 0x45, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x0b,
                                    0x30, 0x09, 0x06, 0x05, 0x2b, 0x06, 0x01, 0x02, 0x01, 0x05, 0x00 };
    uint8_t b[sizeof(good) + 8];
    CHECK_INT(snmp_parse(good, sizeof(good), &m), DISSECT_OK);
    /* single-byte changes, each must be refused */
    static const struct { size_t at; uint8_t val; } bad[] = {
        { 1, 0x80 },                /* indefinite length */
        { 1, 0x85 },                /* 5 length bytes */
        { 1, 0xff },
        { 1, 0x27 },                /* past the buffer */
        { 0, 0x1f },                /* multi-byte tag */
        { 4, 0x02 },                /* version 2 (v2u) */
        { 4, 0x04 },
        { 3, 0x00 },                /* empty INTEGER */
        { 5, 0x05 },                /* community not an OCTET STRING */
        { 13, 0xa9 },               /* unknown PDU */
        { 13, 0x30 },
        { 28, 0x0c },               /* varbind list longer than the PDU */
        { 31, 0x04 },               /* varbind name not an OID */
        { 37, 0x81 },               /* OID ends inside an arc */
        { 39, 0x01 },               /* NULL value holds a byte that is not there */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(b, good, sizeof(good));
        b[bad[i].at] = bad[i].val;
        if (snmp_parse(b, sizeof(good), &m) != DISSECT_MALFORMED)
            CHECK_FAIL_("change %zu (byte %zu = 0x%02x) parses", i, bad[i].at, bad[i].val);
    }
    /* long-form length that is fine */
    uint8_t lf[sizeof(good) + 3];
    lf[0] = 0x30;
    lf[1] = 0x83;
    lf[2] = 0;
    lf[3] = 0;
    lf[4] = 0x26;
    memcpy(lf + 5, good + 2, sizeof(good) - 2);
    CHECK_INT(snmp_parse(lf, sizeof(good) + 3, &m), DISSECT_OK);
    /* bytes left inside a varbind, inside the PDU */
    static const uint8_t extra_vb[] = { 0x30, 0x07, 0x06, 0x01, 0x2b, 0x05, 0x00, 0x05, 0x00 };
    size_t n = build(out, 0xa0, extra_vb, sizeof(extra_vb));
    CHECK_INT(snmp_parse(out, n, &m), DISSECT_MALFORMED);
    /* nesting: a value of constructed encodings d deep */
    for (int depth = 1; depth < 20; depth++) {
        size_t k = 0;
        vb[0] = 0x05;
        vb[1] = 0x00;
        k = 2;
        for (int d = 0; d < depth; d++)
            k = tlv(vb, 0x30, vb, k);
        uint8_t full[2048];
        static const uint8_t name[] = { 0x06, 0x01, 0x2b };
        memcpy(full, name, sizeof(name));
        memcpy(full + sizeof(name), vb, k);
        size_t vbn = tlv(vb, 0x30, full, sizeof(name) + k);
        n = build(out, 0xa3, vb, vbn);
        int want = depth + 4 < SNMP_DEPTH_MAX ? DISSECT_OK : DISSECT_MALFORMED;
        if (snmp_parse(out, n, &m) != want)
            CHECK_FAIL_("depth %d: want %d", depth, want);
    }
}

TEST_CASE(text_fields)
{
    uint8_t msg[512];
    struct snmp_msg m;
    size_t o = 0;
    /* a 200-byte community with control bytes: length kept, text cut and escaped */
    msg[o++] = 0x30;
    msg[o++] = 0x81;
    msg[o++] = 0;                   /* set below */
    msg[o++] = 0x02;
    msg[o++] = 0x01;
    msg[o++] = 0x00;
    msg[o++] = 0x04;
    msg[o++] = 0x81;
    msg[o++] = 200;
    memset(msg + o, 0x01, 200);
    msg[o] = 'a';
    o += 200;
    static const uint8_t pdu[] = { 0xa0, 0x0b, 0x02, 0x01, 0x01, 0x02, 0x01, 0x00, 0x02, 0x01, 0x00, 0x30, 0x00 };
    memcpy(msg + o, pdu, sizeof(pdu));
    o += sizeof(pdu);
    msg[2] = (uint8_t)(o - 3);
    CHECK_INT(snmp_parse(msg, o, &m), DISSECT_OK);
    CHECK_INT(m.community_len, 200);
    CHECK(strlen(m.community) < SNMP_TEXT_MAX);
    CHECK(strncmp(m.community, "a\\x01\\x01", 9) == 0);
    /* a long OID is cut with "..." */
    uint8_t vb[300], name[200];
    name[0] = 0x2b;
    for (int i = 1; i < 150; i++)
        name[i] = 0x7f;
    size_t k = tlv(vb, 0x06, name, 150);
    vb[k++] = 0x05;
    vb[k++] = 0x00;
    uint8_t list[320], out[400];
    size_t ln = tlv(list, 0x30, vb, k);
    size_t n = build(out, 0xa0, list, ln);
    CHECK_INT(snmp_parse(out, n, &m), DISSECT_OK);
    CHECK_INT(strlen(m.oid), SNMP_OID_TEXT_MAX - 1);
    CHECK(strcmp(m.oid + strlen(m.oid) - 3, "...") == 0);
}

/* ---- real traffic: every SNMP message tshark sees, against tshark's fields ---- */

struct shared_snmp {
    long msgs, with_id, encrypted;
};

static void shared_snmp_row(void *arg, char **f, int nf)
{
    static uint8_t b[65536];
    struct snmp_msg m;
    struct shared_snmp *s = arg;
    long n = tshark_unhex(f[0], b, sizeof(b));
    s->msgs++;
    if (n < 0 || snmp_parse(b, (size_t)n, &m) != DISSECT_OK) {
        CHECK_FAIL_("frame %s does not parse", f[1]);
        return;
    }
    if (f[2][0]) {
        s->with_id++;
        CHECK_INT(m.has_request_id, 1);
        CHECK_INT(m.request_id, strtoll(f[2], NULL, 10));
        CHECK_INT(m.error_status, strtoll(f[5], NULL, 10));
    } else {
        CHECK_INT(m.has_request_id, 0);
    }
    if (f[3][0])
        CHECK_INT(m.pdu_type, atoi(f[3]));
    else
        s->encrypted += m.encrypted;
    CHECK_INT(m.version, f[4][0] ? atoi(f[4]) : SNMP_V3);
    if (f[6][0])
        CHECK_INT(m.msg_id, strtoll(f[6], NULL, 10));
    long names = 0;
    for (const char *p = f[7]; *p; p++)
        names += *p == ',';
    CHECK_INT(m.varbinds, f[7][0] ? names + 1 : 0);
    (void)nf;
}

static void shared_snmp_pcap(const char *rel, const char *path)
{
    static const char *const fields[] = {
        "udp.payload", "frame.number", "snmp.request_id", "snmp.data", "snmp.version", "snmp.error_status",
        "snmp.msgID", "snmp.name",
    };
    struct shared_snmp s = { 0, 0, 0 };
    CHECK(tshark_rows(path, "", "snmp", 'a', fields, 8, shared_snmp_row, &s) > 0);
    printf("snmp: %s: %ld messages match tshark (%ld with a request-id, %ld encrypted)\n", rel, s.msgs,
           s.with_id, s.encrypted);
}

TEST_CASE(shared_snmp_captures)
{
    static const char *const pcaps[] = { "other/snmpwalk_zeek.pcap", "ndpi-dev/snmp.pcap" };
    tshark_each_shared("snmp", pcaps, sizeof(pcaps) / sizeof(pcaps[0]), shared_snmp_pcap);
}

int main(void)
{
    RUN(v2c_walk);
    RUN(v3_headers);
    RUN(v1_trap_fields);
    RUN(every_prefix_and_trailing_bytes);
    RUN(crafted_pdus);
    RUN(ber_rejects);
    RUN(text_fields);
    RUN(shared_snmp_captures);
    return CHECK_DONE("snmp");
}
