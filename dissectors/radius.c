/* radius.c - RADIUS packet parser: user name, framed/NAS addresses, accounting status (pure code, any capture thread). */
#include <string.h>

#include "dissectors/radius.h"

#define RADIUS_ATTR_USER_NAME        1
#define RADIUS_ATTR_NAS_IP           4
#define RADIUS_ATTR_FRAMED_IP        8
#define RADIUS_ATTR_ACCT_STATUS      40
#define RADIUS_ATTR_ACCT_SESSION_ID  44
#define RADIUS_ATTR_NAS_IP6          95
#define RADIUS_ATTR_FRAMED_IP6_PFX   97
#define RADIUS_ATTR_HLEN             2
#define RADIUS_IP4_LEN               4
#define RADIUS_IP6_LEN               16
#define RADIUS_PFX_FIXED             2    /* reserved + prefix length */
#define RADIUS_PFX_MAX_BITS          128
#define RADIUS_U32_LEN               4

/* Codes of RFC 2865, 2866, 3576/5176 (CoA, Disconnect) and 5997 (Status). */
static int radius_code_known(uint8_t code)
{
    switch (code) {
    case 1: case 2: case 3: case 4: case 5:   /* Access-*, Accounting-* */
    case 11: case 12: case 13:                /* Access-Challenge, Status-Server/-Client */
    case 40: case 41: case 42:                /* Disconnect-Request/ACK/NAK */
    case 43: case 44: case 45:                /* CoA-Request/ACK/NAK */
        return 1;
    default:
        return 0;
    }
}

/* Copies an attribute string into dst (escaped) unless one was seen. */
static void radius_text(char *dst, const uint8_t *v, size_t n)
{
    size_t used = 0;
    if (dst[0])
        return;
    dissect_escape_append(dst, RADIUS_TEXT_MAX, &used, v, n, 0);
}

static void radius_framed_ip6(struct radius_msg *out, const uint8_t *v, size_t n)
{
    if (out->has_framed_ip6 || n < RADIUS_PFX_FIXED || n > RADIUS_PFX_FIXED + RADIUS_IP6_LEN)
        return;
    uint8_t plen = v[1];
    size_t bytes = n - RADIUS_PFX_FIXED;
    if (plen > RADIUS_PFX_MAX_BITS || bytes * 8 < plen)
        return;
    memset(out->framed_ip6, 0, sizeof(out->framed_ip6));
    memcpy(out->framed_ip6, v + RADIUS_PFX_FIXED, bytes);
    out->framed_ip6_plen = plen;
    out->has_framed_ip6 = 1;
}

/* Takes what flowcached needs from one attribute (type t, value v[0..n)). */
static void radius_attr(struct radius_msg *out, uint8_t t, const uint8_t *v, size_t n)
{
    switch (t) {
    case RADIUS_ATTR_USER_NAME:
        radius_text(out->user, v, n);
        break;
    case RADIUS_ATTR_ACCT_SESSION_ID:
        radius_text(out->session_id, v, n);
        break;
    case RADIUS_ATTR_FRAMED_IP:
        if (n == RADIUS_IP4_LEN && !out->has_framed_ip) {
            memcpy(out->framed_ip, v, RADIUS_IP4_LEN);
            out->has_framed_ip = 1;
        }
        break;
    case RADIUS_ATTR_NAS_IP:
        if (n == RADIUS_IP4_LEN && !out->has_nas_ip) {
            memcpy(out->nas_ip, v, RADIUS_IP4_LEN);
            out->has_nas_ip = 1;
        }
        break;
    case RADIUS_ATTR_NAS_IP6:
        if (n == RADIUS_IP6_LEN && !out->has_nas_ip6) {
            memcpy(out->nas_ip6, v, RADIUS_IP6_LEN);
            out->has_nas_ip6 = 1;
        }
        break;
    case RADIUS_ATTR_FRAMED_IP6_PFX:
        radius_framed_ip6(out, v, n);
        break;
    case RADIUS_ATTR_ACCT_STATUS:
        if (n == RADIUS_U32_LEN && !out->acct_status)
            out->acct_status = (uint32_t)v[0] << 24 | (uint32_t)v[1] << 16 |
                               (uint32_t)v[2] << 8 | v[3];
        break;
    default:
        break;
    }
}

int radius_parse(const uint8_t *p, size_t len, struct radius_msg *out)
{
    struct dissect_cur c;

    memset(out, 0, sizeof(*out));
    if (len < RADIUS_HEADER_LEN)
        return DISSECT_MALFORMED;
    dissect_cur_init(&c, p, len);
    out->code = dissect_u8(&c);
    out->id = dissect_u8(&c);
    size_t plen = dissect_be16(&c);
    if (!radius_code_known(out->code) || plen < RADIUS_HEADER_LEN || plen > len)
        return DISSECT_MALFORMED;
    dissect_cur_init(&c, p, plen);
    dissect_skip(&c, RADIUS_HEADER_LEN);        /* code, id, length, authenticator */
    while (dissect_cur_left(&c) > 0) {
        if (dissect_cur_left(&c) < RADIUS_ATTR_HLEN)
            return DISSECT_MALFORMED;
        uint8_t t = dissect_u8(&c);
        uint8_t alen = dissect_u8(&c);
        if (alen < RADIUS_ATTR_HLEN || (size_t)alen - RADIUS_ATTR_HLEN > dissect_cur_left(&c))
            return DISSECT_MALFORMED;
        radius_attr(out, t, c.p + c.off, (size_t)alen - RADIUS_ATTR_HLEN);
        dissect_skip(&c, (size_t)alen - RADIUS_ATTR_HLEN);
    }
    return DISSECT_OK;
}
