/* tls.c - TLS ClientHello SNI extractor: record walk, hello gathering, extension scan (pure code, any capture thread). */
#include <string.h>

#include "dissectors/tls.h"

#define TLS_CT_HANDSHAKE      22
#define TLS_HS_CLIENT_HELLO   TLS_HELLO_CLIENT
#define TLS_VERSION_MAJOR     3
#define TLS_VERSION_MINOR_MAX 4       /* 3.4 = TLS 1.3 (the record layer says 3.1 - 3.3) */
#define TLS_RECORD_MAX        (16384 + 2048)   /* TLSCiphertext limit, RFC 5246 6.2.3 */
#define TLS_RANDOM_LEN        32
#define TLS_SESSION_ID_MAX    32
#define TLS_EXT_SERVER_NAME   0
#define TLS_SNI_HOST_NAME     0

/* Checks the record header at p[off..]: returns its fragment length, 0 when
 * the header is cut (need more), or -1 when it is not a handshake record. */
static long tls_record(const uint8_t *p, size_t len, size_t off)
{
    size_t have = len - off;
    if (have >= 1 && p[off] != TLS_CT_HANDSHAKE)
        return -1;
    if (have >= 2 && p[off + 1] != TLS_VERSION_MAJOR)
        return -1;
    if (have >= 3 && p[off + 2] > TLS_VERSION_MINOR_MAX)
        return -1;
    if (have < TLS_RECORD_HLEN)
        return 0;
    long rl = (long)p[off + 3] << 8 | p[off + 4];
    return rl == 0 || rl > TLS_RECORD_MAX ? -1 : rl;
}

/* Copies the first need bytes of handshake data, walking records from the
 * start of p, into hs. Returns DISSECT_OK, NEED_MORE or MALFORMED. */
static int tls_gather(const uint8_t *p, size_t len, uint8_t *hs, size_t need)
{
    size_t off = 0, got = 0;
    while (got < need) {
        long rl = tls_record(p, len, off);
        if (rl < 0)
            return DISSECT_MALFORMED;
        if (rl == 0)
            return DISSECT_NEED_MORE;
        off += TLS_RECORD_HLEN;
        size_t frag = (size_t)rl;
        size_t avail = len - off < frag ? len - off : frag;
        size_t take = need - got < avail ? need - got : avail;
        memcpy(hs + got, p + off, take);
        got += take;
        if (got < need && avail < frag)
            return DISSECT_NEED_MORE;
        off += frag;
    }
    return DISSECT_OK;
}

/* Finds the host_name inside a server_name extension body. */
static int tls_sni_ext(struct dissect_cur *c, size_t elen, char *sni, size_t snicap)
{
    struct dissect_cur e;
    dissect_cur_init(&e, c->p + c->off, elen);
    size_t list = dissect_be16(&e);
    if (e.bad || list > dissect_cur_left(&e))
        return DISSECT_MALFORMED;
    e.len = e.off + list;
    while (dissect_cur_left(&e) > 0) {
        uint8_t type = dissect_u8(&e);
        size_t nlen = dissect_be16(&e);
        if (e.bad || nlen > dissect_cur_left(&e))
            return DISSECT_MALFORMED;
        if (type == TLS_SNI_HOST_NAME) {
            size_t used = 0;
            if (nlen == 0 || snicap == 0 ||
                dissect_escape_append(sni, snicap, &used, e.p + e.off, nlen, 1) < 0)
                return DISSECT_MALFORMED;
            return DISSECT_OK;
        }
        dissect_skip(&e, nlen);
    }
    return DISSECT_MALFORMED;
}

/* Parses a whole ClientHello body (after the handshake header). */
static int tls_hello_body(const uint8_t *b, size_t n, char *sni, size_t snicap)
{
    struct dissect_cur c;
    dissect_cur_init(&c, b, n);
    if (dissect_u8(&c) != TLS_VERSION_MAJOR)
        return DISSECT_MALFORMED;
    dissect_skip(&c, 1 + TLS_RANDOM_LEN);
    size_t sid = dissect_u8(&c);
    if (sid > TLS_SESSION_ID_MAX)
        return DISSECT_MALFORMED;
    dissect_skip(&c, sid);
    size_t cs = dissect_be16(&c);
    if (cs < 2 || cs % 2)
        return DISSECT_MALFORMED;
    dissect_skip(&c, cs);
    size_t comp = dissect_u8(&c);
    if (comp < 1)
        return DISSECT_MALFORMED;
    dissect_skip(&c, comp);
    if (c.bad || dissect_cur_left(&c) == 0)
        return DISSECT_MALFORMED;               /* cut, or no extensions at all */
    size_t exts = dissect_be16(&c);
    if (c.bad || exts > dissect_cur_left(&c))
        return DISSECT_MALFORMED;
    c.len = c.off + exts;
    while (dissect_cur_left(&c) > 0) {
        uint16_t type = dissect_be16(&c);
        size_t elen = dissect_be16(&c);
        if (c.bad || elen > dissect_cur_left(&c))
            return DISSECT_MALFORMED;
        if (type == TLS_EXT_SERVER_NAME)
            return tls_sni_ext(&c, elen, sni, snicap);
        dissect_skip(&c, elen);
    }
    return DISSECT_MALFORMED;
}

/* Reads the handshake header once its 4 bytes are available (possibly over
 * several records). Sets *need to the whole message size. */
static int tls_hello_size(const uint8_t *p, size_t len, size_t *need)
{
    uint8_t h[TLS_HANDSHAKE_HLEN];
    int rc = tls_gather(p, len, h, sizeof(h));

    if (rc == DISSECT_NEED_MORE) {
        /* the handshake type, when there, must already say ClientHello */
        if (len > TLS_RECORD_HLEN && p[TLS_RECORD_HLEN] != TLS_HS_CLIENT_HELLO)
            return DISSECT_MALFORMED;
        return rc;
    }
    if (rc != DISSECT_OK || h[0] != TLS_HS_CLIENT_HELLO)
        return DISSECT_MALFORMED;
    *need = TLS_HANDSHAKE_HLEN + ((size_t)h[1] << 16 | (size_t)h[2] << 8 | h[3]);
    return *need > TLS_CLIENT_HELLO_MAX ? DISSECT_MALFORMED : DISSECT_OK;
}

int tls_client_hello_sni(const uint8_t *p, size_t len, char *sni, size_t snicap)
{
    uint8_t hs[TLS_CLIENT_HELLO_MAX];
    size_t need = 0;
    int rc;

    if (snicap)
        sni[0] = '\0';
    rc = tls_hello_size(p, len, &need);
    if (rc != DISSECT_OK)
        return rc;
    long rl = tls_record(p, len, 0);
    if (rl > 0 && (size_t)rl >= need && len >= TLS_RECORD_HLEN + need) {
        rc = tls_hello_body(p + TLS_RECORD_HLEN + TLS_HANDSHAKE_HLEN,
                            need - TLS_HANDSHAKE_HLEN, sni, snicap);
    } else {
        rc = tls_gather(p, len, hs, need);
        if (rc != DISSECT_OK)
            return rc;
        rc = tls_hello_body(hs + TLS_HANDSHAKE_HLEN, need - TLS_HANDSHAKE_HLEN, sni, snicap);
    }
    if (rc != DISSECT_OK && snicap)
        sni[0] = '\0';
    return rc;
}

int tls_handshake_type(const uint8_t *p, size_t len)
{
    if (len <= TLS_RECORD_HLEN || tls_record(p, len, 0) <= 0)
        return -1;
    return p[TLS_RECORD_HLEN];
}
