/* decode.c - decoder entry point: link types, result counters and names (pure code, any capture thread). */
#include <string.h>

#include "capture/decode/decode.h"
#include "capture/decode/decode_int.h"

/* Link-layer header sizes and fields */
#define DEC_NULL_HLEN       4
#define DEC_CHDLC_HLEN      4
#define DEC_CHDLC_PROTO_OFF 2

/* BSD loopback address families (NULL / LOOP link types) */
#define DEC_AF_INET         2
#define DEC_AF_INET6_BSD    24
#define DEC_AF_INET6_FREEBSD 28
#define DEC_AF_INET6_DARWIN 30
#define DEC_AF_INET6_LINUX  10

static uint32_t dec_le32(const struct dec_cur *c)
{
    return (uint32_t)dec_u8(c, 0) | (uint32_t)dec_u8(c, 1) << 8 |
           (uint32_t)dec_u8(c, 2) << 16 | (uint32_t)dec_u8(c, 3) << 24;
}

static int dec_af_is_inet6(uint32_t af)
{
    return af == DEC_AF_INET6_BSD || af == DEC_AF_INET6_FREEBSD ||
           af == DEC_AF_INET6_DARWIN || af == DEC_AF_INET6_LINUX;
}

/* NULL / LOOP: 4-byte address family, in the writer's byte order (NULL) or
 * network order (LOOP); both orders are accepted for both. */
static int decode_link_null(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < DEC_NULL_HLEN)
        return DEC_E_L2_TRUNC;
    uint32_t le = dec_le32(&c), be = dec_be32(&c, 0);
    struct dec_cur ip = dec_after(&c, DEC_NULL_HLEN);
    if (le == DEC_AF_INET || be == DEC_AF_INET || dec_af_is_inet6(le) || dec_af_is_inet6(be))
        return decode_ip_any(ctx, ip);
    return DEC_NOT_IP;
}

/* Linux cooked capture v1 and v2: only the protocol field matters. */
static int decode_link_sll(struct dec_ctx *ctx, struct dec_cur c, uint32_t hlen, uint32_t proto_off)
{
    if (c.len < hlen)
        return DEC_E_L2_TRUNC;
    return decode_l2_ethertype(ctx, dec_be16(&c, proto_off), dec_after(&c, hlen));
}

/* Cisco HDLC: address, control, ethertype. */
static int decode_link_chdlc(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < DEC_CHDLC_HLEN)
        return DEC_E_L2_TRUNC;
    return decode_l2_ethertype(ctx, dec_be16(&c, DEC_CHDLC_PROTO_OFF), dec_after(&c, DEC_CHDLC_HLEN));
}

static int decode_link(struct dec_ctx *ctx, int dlt, struct dec_cur c)
{
    switch (dlt) {
    case FC_DLT_EN10MB:
        return decode_l2_ethernet(ctx, c);
    case FC_DLT_LINUX_SLL:
        return decode_link_sll(ctx, c, DEC_SLL_HLEN, DEC_SLL_PROTO_OFF);
    case FC_DLT_LINUX_SLL2:
        return decode_link_sll(ctx, c, DEC_SLL2_HLEN, DEC_SLL2_PROTO_OFF);
    case FC_DLT_RAW:
    case FC_DLT_RAW_ALT:
    case FC_DLT_LINKTYPE_RAW:
    case FC_DLT_IPV4:
    case FC_DLT_IPV6:
        return decode_ip_any(ctx, c);      /* the version nibble decides everywhere */
    case FC_DLT_NULL:
    case FC_DLT_LOOP:
        return decode_link_null(ctx, c);
    case FC_DLT_C_HDLC:
        return decode_link_chdlc(ctx, c);
    default:
        return DEC_E_LINKTYPE;
    }
}

void decode_stats_count(struct decode_stats *st, int rc)
{
    if (!st)
        return;
    st->frames++;
    if (rc == DEC_OK)
        st->ip_packets++;
    else if (rc == DEC_NOT_IP)
        st->not_ip++;
    else if (rc < 0 && -rc < DECODE_ANOMALY_KINDS)
        st->anomalies[-rc]++;
}

int decode_packet(int dlt, const uint8_t *data, uint32_t caplen,
                  struct decoded_pkt *out, struct decode_stats *st)
{
    struct dec_ctx ctx;
    struct dec_cur c;

    memset(out, 0, sizeof(*out));
    memset(&ctx, 0, sizeof(ctx));
    ctx.out = out;
    c.p = data;
    c.len = data ? caplen : 0;
    int rc = decode_link(&ctx, dlt, c);
    decode_stats_count(st, rc);
    return rc;
}

const char *decode_result_name(int code)
{
    switch (code) {
    case DEC_OK:           return "ok";
    case DEC_NOT_IP:       return "not_ip";
    case DEC_E_LINKTYPE:   return "linktype";
    case DEC_E_L2_TRUNC:   return "l2_trunc";
    case DEC_E_IP4_TRUNC:  return "ip4_trunc";
    case DEC_E_IP4_BADLEN: return "ip4_badlen";
    case DEC_E_IP6_TRUNC:  return "ip6_trunc";
    case DEC_E_IP6_EXT:    return "ip6_ext";
    case DEC_E_L4_TRUNC:   return "l4_trunc";
    case DEC_E_TUNNEL:     return "tunnel";
    case DEC_E_DEPTH:      return "depth";
    case DEC_E_IPVER:      return "ipver";
    default:               return "unknown";
    }
}
