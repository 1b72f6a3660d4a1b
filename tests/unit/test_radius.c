/* test_radius.c - byte-vector tests for dissectors/radius.c: header bounds, attributes, escaping (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/radius.h"
#include "tests/unit/check.h"

/* Accounting-Request Start for alice@example.net, 10.0.0.7, NAS 192.0.2.1, session "S1". */
static const uint8_t acct_start[] = {
    4, 0x2a, 0, 67,
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
    1, 19, 'a', 'l', 'i', 'c', 'e', '@', 'e', 'x', 'a', 'm', 'p', 'l', 'e', '.', 'n', 'e', 't',
    40, 6, 0, 0, 0, 1,
    8, 6, 10, 0, 0, 7,
    4, 6, 192, 0, 2, 1,
    44, 4, 'S', '1',
    61, 6, 0, 0, 0, 15,     /* NAS-Port-Type, ignored */
};

/* Builds a packet: code 4, attributes attrs[0..alen), trailing junk extra bytes. */
static size_t build(uint8_t *b, const uint8_t *attrs, size_t alen, size_t extra)
{
    size_t n = RADIUS_HEADER_LEN + alen;
    memset(b, 0, RADIUS_HEADER_LEN);
    b[0] = RADIUS_ACCOUNTING_REQUEST;
    b[1] = 1;
    b[2] = (uint8_t)(n >> 8);
    b[3] = (uint8_t)n;
    memcpy(b + RADIUS_HEADER_LEN, attrs, alen);
    memset(b + n, 0xee, extra);
    return n + extra;
}

TEST_CASE(accounting_start)
{
    struct radius_msg m;
    CHECK_INT(sizeof(acct_start), 67);
    CHECK_INT(radius_parse(acct_start, sizeof(acct_start), &m), DISSECT_OK);
    CHECK_INT(m.code, RADIUS_ACCOUNTING_REQUEST);
    CHECK_INT(m.id, 0x2a);
    CHECK_INT(m.acct_status, RADIUS_ACCT_START);
    CHECK_STR(m.user, "alice@example.net");
    CHECK_INT(m.has_framed_ip, 1);
    CHECK_MEM(m.framed_ip, 4, "\x0a\x00\x00\x07", 4);
    CHECK_INT(m.has_nas_ip, 1);
    CHECK_MEM(m.nas_ip, 4, "\xc0\x00\x02\x01", 4);
    CHECK_INT(m.has_framed_ip6, 0);
    CHECK_INT(m.has_nas_ip6, 0);
    CHECK_STR(m.session_id, "S1");
}

TEST_CASE(truncation_every_length)
{
    struct radius_msg m;
    for (size_t n = 0; n < sizeof(acct_start); n++) {
        uint8_t *b = malloc(n ? n : 1);
        memcpy(b, acct_start, n);
        CHECK_INT(radius_parse(b, n, &m), DISSECT_MALFORMED);
        free(b);
    }
    /* header length shrunk with the data: parses while attributes stay whole */
    static const size_t ends[] = { 20, 39, 45, 51, 57, 61, 67 };
    for (size_t i = 0; i < sizeof(ends) / sizeof(ends[0]); i++) {
        uint8_t b[sizeof(acct_start)];
        memcpy(b, acct_start, sizeof(b));
        b[3] = (uint8_t)ends[i];
        CHECK_INT(radius_parse(b, ends[i], &m), DISSECT_OK);
        b[3] = (uint8_t)(ends[i] + 1);
        if (ends[i] + 1 <= sizeof(b))
            CHECK_INT(radius_parse(b, ends[i] + 1, &m), DISSECT_MALFORMED);
    }
}

TEST_CASE(trailing_bytes_ignored)
{
    uint8_t b[128];
    static const uint8_t a[] = { 1, 5, 'b', 'o', 'b' };
    struct radius_msg m;
    size_t n = build(b, a, sizeof(a), 17);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_STR(m.user, "bob");
}

TEST_CASE(bad_header)
{
    uint8_t b[sizeof(acct_start)];
    struct radius_msg m;
    memcpy(b, acct_start, sizeof(b));
    b[3] = 19;
    CHECK_INT(radius_parse(b, sizeof(b), &m), DISSECT_MALFORMED);
    b[3] = 68;
    CHECK_INT(radius_parse(b, sizeof(b), &m), DISSECT_MALFORMED);
    b[3] = 67;
    b[0] = 0;
    CHECK_INT(radius_parse(b, sizeof(b), &m), DISSECT_MALFORMED);
    b[0] = 99;
    CHECK_INT(radius_parse(b, sizeof(b), &m), DISSECT_MALFORMED);
    b[0] = 43;   /* CoA-Request */
    CHECK_INT(radius_parse(b, sizeof(b), &m), DISSECT_OK);
}

TEST_CASE(bad_attributes)
{
    uint8_t b[128];
    struct radius_msg m;
    static const uint8_t len0[] = { 1, 0, 'x', 'y' };
    static const uint8_t len1[] = { 1, 1, 'x', 'y' };
    static const uint8_t over[] = { 1, 9, 'x', 'y' };
    static const uint8_t half[] = { 1, 3, 'x', 26 };
    size_t n = build(b, len0, sizeof(len0), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_MALFORMED);
    n = build(b, len1, sizeof(len1), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_MALFORMED);
    n = build(b, over, sizeof(over), 8);      /* overruns the header length, not the buffer */
    CHECK_INT(radius_parse(b, n, &m), DISSECT_MALFORMED);
    n = build(b, half, sizeof(half), 0);      /* one byte left: no room for a type + length */
    CHECK_INT(radius_parse(b, n, &m), DISSECT_MALFORMED);
}

TEST_CASE(ipv6_attributes)
{
    uint8_t b[128];
    struct radius_msg m;
    static const uint8_t a[] = {
        97, 12, 0, 64, 0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 2,
        95, 18, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53,
        40, 6, 0, 0, 0, 2,
    };
    size_t n = build(b, a, sizeof(a), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_INT(m.has_framed_ip6, 1);
    CHECK_INT(m.framed_ip6_plen, 64);
    CHECK_MEM(m.framed_ip6, 16, "\x20\x01\x0d\xb8\x00\x01\x00\x02\0\0\0\0\0\0\0\0", 16);
    CHECK_INT(m.has_nas_ip6, 1);
    CHECK_INT(m.nas_ip6[15], 0x53);
    CHECK_INT(m.acct_status, RADIUS_ACCT_STOP);
}

TEST_CASE(wrong_size_values_skipped)
{
    uint8_t b[128];
    struct radius_msg m;
    static const uint8_t a[] = {
        8, 5, 10, 0, 0,            /* Framed-IP 3 bytes */
        97, 4, 0, 129,             /* prefix length > 128 */
        97, 4, 0, 64,              /* /64 with no prefix bytes */
        40, 5, 0, 0, 3,            /* status 3 bytes */
        8, 6, 10, 9, 8, 7,         /* the valid one counts */
        8, 6, 1, 1, 1, 1,          /* a second one does not */
    };
    size_t n = build(b, a, sizeof(a), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_INT(m.has_framed_ip, 1);
    CHECK_MEM(m.framed_ip, 4, "\x0a\x09\x08\x07", 4);
    CHECK_INT(m.has_framed_ip6, 0);
    CHECK_INT(m.acct_status, 0);
}

TEST_CASE(user_name_escaped)
{
    uint8_t b[512];
    struct radius_msg m;
    uint8_t a[2 + 253];
    static const uint8_t odd[] = { 1, 12, 'D', 'O', 'M', '\\', 'u', 0x00, 0x0a, 0xc3, 0xa9, ' ' };
    size_t n = build(b, odd, sizeof(odd), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_STR(m.user, "DOM\\\\u\\x00\\x0a\xc3\xa9 ");
    a[0] = 1;
    a[1] = sizeof(a);
    memset(a + 2, 0xff, 253);
    n = build(b, a, sizeof(a), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_INT(strlen(m.user), 253 * 4);
}

TEST_CASE(empty_attributes)
{
    uint8_t b[64];
    struct radius_msg m;
    static const uint8_t a[] = { 1, 2, 44, 2, 1, 3, 'z' };
    size_t n = build(b, a, sizeof(a), 0);
    CHECK_INT(radius_parse(b, n, &m), DISSECT_OK);
    CHECK_STR(m.user, "z");
    CHECK_STR(m.session_id, "");
}

int main(void)
{
    RUN(accounting_start);
    RUN(truncation_every_length);
    RUN(trailing_bytes_ignored);
    RUN(bad_header);
    RUN(bad_attributes);
    RUN(ipv6_attributes);
    RUN(wrong_size_values_skipped);
    RUN(user_name_escaped);
    RUN(empty_attributes);
    return CHECK_DONE("radius");
}
