/* test_tls.c - byte-vector tests for dissectors/tls.c: ClientHello SNI, records, truncation (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/tls.h"
#include "tests/unit/check.h"

static size_t put16(uint8_t *b, size_t o, size_t v)
{
    b[o] = (uint8_t)(v >> 8);
    b[o + 1] = (uint8_t)v;
    return o + 2;
}

/* Builds a ClientHello handshake message (header included) with the given
 * server name (NULL: no server_name extension) into b. Returns its size. */
static size_t build_hello(uint8_t *b, const char *name)
{
    size_t o = 4;
    b[o++] = 3;
    b[o++] = 3;
    memset(b + o, 0x11, 32);
    o += 32;
    b[o++] = 32;                       /* session id */
    memset(b + o, 0x22, 32);
    o += 32;
    o = put16(b, o, 4);                /* two cipher suites */
    o = put16(b, o, 0x1301);
    o = put16(b, o, 0xc02f);
    b[o++] = 1;
    b[o++] = 0;                        /* null compression */
    size_t ext_start = o;
    o += 2;
    o = put16(b, o, 0x000a);           /* supported_groups before the name */
    o = put16(b, o, 4);
    o = put16(b, o, 2);
    o = put16(b, o, 0x001d);
    if (name) {
        size_t nl = strlen(name);
        o = put16(b, o, 0);            /* server_name */
        o = put16(b, o, nl + 5);
        o = put16(b, o, nl + 3);
        b[o++] = 0;
        o = put16(b, o, nl);
        memcpy(b + o, name, nl);
        o += nl;
    }
    o = put16(b, o, 0x002b);           /* supported_versions */
    o = put16(b, o, 3);
    b[o++] = 2;
    o = put16(b, o, 0x0304);
    put16(b, ext_start, o - ext_start - 2);
    b[0] = 1;
    b[1] = (uint8_t)((o - 4) >> 16);
    b[2] = (uint8_t)((o - 4) >> 8);
    b[3] = (uint8_t)(o - 4);
    return o;
}

/* Wraps hs[0..n) into handshake records of at most frag bytes each. */
static size_t wrap(uint8_t *out, const uint8_t *hs, size_t n, size_t frag)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i += frag) {
        size_t k = n - i < frag ? n - i : frag;
        out[o++] = 22;
        out[o++] = 3;
        out[o++] = 1;
        o = put16(out, o, k);
        memcpy(out + o, hs + i, k);
        o += k;
    }
    return o;
}

TEST_CASE(single_record)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX];
    size_t n = wrap(rec, hs, build_hello(hs, "WWW.Example.org"), 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_OK);
    CHECK_STR(sni, "www.example.org");
    /* bytes after the hello (a second record) do not matter */
    memset(rec + n, 0x17, 20);
    CHECK_INT(tls_client_hello_sni(rec, n + 20, sni, sizeof(sni)), DISSECT_OK);
}

TEST_CASE(truncation_every_length)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX];
    size_t n = wrap(rec, hs, build_hello(hs, "a.example"), 16384);
    for (size_t k = 0; k < n; k++) {
        uint8_t *b = malloc(k ? k : 1);
        memcpy(b, rec, k);
        CHECK_INT(tls_client_hello_sni(b, k, sni, sizeof(sni)), DISSECT_NEED_MORE);
        CHECK_STR(sni, "");
        free(b);
    }
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_OK);
}

TEST_CASE(many_records)
{
    uint8_t hs[512], rec[2048];
    char sni[TLS_SNI_TEXT_MAX];
    size_t hn = build_hello(hs, "split.example.com");
    static const size_t frags[] = { 1, 2, 3, 7, 50, 100 };
    for (size_t f = 0; f < sizeof(frags) / sizeof(frags[0]); f++) {
        size_t n = wrap(rec, hs, hn, frags[f]);
        CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_OK);
        CHECK_STR(sni, "split.example.com");
        for (size_t k = 0; k < n; k++) {
            uint8_t *b = malloc(k ? k : 1);
            memcpy(b, rec, k);
            CHECK_INT(tls_client_hello_sni(b, k, sni, sizeof(sni)), DISSECT_NEED_MORE);
            free(b);
        }
    }
}

TEST_CASE(not_tls)
{
    char sni[TLS_SNI_TEXT_MAX];
    static const uint8_t http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
    static const uint8_t sslv2[] = { 0x80, 0x2e, 0x01, 0x03, 0x01, 0x00, 0x15, 0x00, 0x00 };
    static const uint8_t appdata[] = { 0x17, 0x03, 0x03, 0x00, 0x05, 1, 2, 3, 4, 5 };
    static const uint8_t server_hello[] = { 0x16, 0x03, 0x03, 0x00, 0x04, 0x02, 0, 0, 0 };
    static const uint8_t zero_rec[] = { 0x16, 0x03, 0x01, 0x00, 0x00 };
    static const uint8_t bad_ver[] = { 0x16, 0x02 };
    CHECK_INT(tls_client_hello_sni(http, sizeof(http) - 1, sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(sslv2, sizeof(sslv2), sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(appdata, sizeof(appdata), sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(server_hello, sizeof(server_hello), sni, sizeof(sni)),
              DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(server_hello, 6, sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(zero_rec, sizeof(zero_rec), sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(bad_ver, sizeof(bad_ver), sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_INT(tls_client_hello_sni(bad_ver, 1, sni, sizeof(sni)), DISSECT_NEED_MORE);
}

TEST_CASE(no_sni)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX];
    size_t n = wrap(rec, hs, build_hello(hs, NULL), 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
    CHECK_STR(sni, "");
    n = wrap(rec, hs, build_hello(hs, ""), 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
}

/* A hello without any extensions block (old clients). */
TEST_CASE(no_extensions)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX];
    size_t hn = build_hello(hs, "x.example");
    size_t body_end = 4 + 2 + 32 + 1 + 32 + 2 + 4 + 2;
    hs[1] = 0;
    hs[2] = (uint8_t)((body_end - 4) >> 8);
    hs[3] = (uint8_t)(body_end - 4);
    (void)hn;
    size_t n = wrap(rec, hs, body_end, 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
}

TEST_CASE(bad_lengths_inside)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX];
    size_t hn = build_hello(hs, "x.example");
    hs[4 + 2 + 32] = 33;                /* session id too long */
    size_t n = wrap(rec, hs, hn, 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
    hn = build_hello(hs, "x.example");
    hs[hn - 1 - 7 - 9 - 3] = 0xff;      /* host_name length high byte: overruns */
    n = wrap(rec, hs, hn, 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
    hn = build_hello(hs, "x.example");
    hs[1] = 0x01;                       /* hello longer than TLS_CLIENT_HELLO_MAX */
    n = wrap(rec, hs, hn, 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_MALFORMED);
}

TEST_CASE(sni_capacity_and_escaping)
{
    uint8_t hs[512], rec[600];
    char sni[TLS_SNI_TEXT_MAX], small[8];
    size_t n = wrap(rec, hs, build_hello(hs, "long.example.net"), 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, small, sizeof(small)), DISSECT_MALFORMED);
    CHECK_STR(small, "");
    n = wrap(rec, hs, build_hello(hs, "a\x01" "B\xff"), 16384);
    CHECK_INT(tls_client_hello_sni(rec, n, sni, sizeof(sni)), DISSECT_OK);
    CHECK_STR(sni, "a\\x01b\\xff");
}

TEST_CASE(handshake_type_of_the_first_record)
{
    static const uint8_t server_hello[] = { 22, 3, 3, 0, 4, 2, 0, 0, 0 };
    static const uint8_t alert[] = { 21, 3, 3, 0, 2, 2, 40 };
    uint8_t b[600];
    size_t n = build_hello(b + 5, "a.example");
    b[0] = 22;
    b[1] = 3;
    b[2] = 1;
    put16(b, 3, n);
    CHECK_INT(tls_handshake_type(b, n + 5), TLS_HELLO_CLIENT);
    CHECK_INT(tls_handshake_type(b, 6), TLS_HELLO_CLIENT);     /* the type byte is enough */
    CHECK_INT(tls_handshake_type(b, 5), -1);
    CHECK_INT(tls_handshake_type(server_hello, sizeof(server_hello)), TLS_HELLO_SERVER);
    CHECK_INT(tls_handshake_type(alert, sizeof(alert)), -1);
    CHECK_INT(tls_handshake_type((const uint8_t *)"HTTP/1.1 200", 12), -1);
}

int main(void)
{
    RUN(single_record);
    RUN(truncation_every_length);
    RUN(many_records);
    RUN(not_tls);
    RUN(no_sni);
    RUN(no_extensions);
    RUN(bad_lengths_inside);
    RUN(sni_capacity_and_escaping);
    RUN(handshake_type_of_the_first_record);
    return CHECK_DONE("tls");
}
