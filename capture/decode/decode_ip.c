/* decode_ip.c - IPv4, IPv6 (extension headers, fragments) and TCP/UDP/SCTP/ICMP decoders (pure code, any capture thread). */
#include <netinet/in.h>
#include <string.h>

#include "capture/decode/decode_int.h"

#define DEC_IP4_ID_OFF      4
#define DEC_IP4_ADDR_LEN    4
#define DEC_IP4_MF          0x2000
#define DEC_IP6_ADDR_LEN    16
#define DEC_IP6_EXT_MIN     2        /* next header + length */
#define DEC_IP6_EXT_UNIT    8        /* hop-by-hop, routing, dest options: (len + 1) * 8 */
#define DEC_IP6_AH_UNIT     4        /* AH: (len + 2) * 4 */
#define DEC_IP6_FRAG_HLEN   8
#define DEC_IP6_FRAG_OFFSET_SHIFT 3
#define DEC_IP6_FRAG_M      0x0001
#define DEC_TCP_SEQ_OFF     4
#define DEC_TCP_FLAGS_OFF   13

static uint32_t dec_min(uint32_t a, uint32_t b)
{
    return a < b ? a : b;
}

/* Clears what an IP layer describes, so an inner packet replaces its carrier. */
static void dec_ip_reset(struct decoded_pkt *out)
{
    out->l4_proto = 0;
    out->tcp_flags = 0;
    out->tcp_seq = 0;
    out->has_ports = 0;
    memset(out->src, 0, sizeof(out->src));
    memset(out->dst, 0, sizeof(out->dst));
    out->sport = out->dport = 0;
    out->icmp_type = out->icmp_code = 0;
    out->payload = NULL;
    out->payload_len = 0;
    out->is_fragment = 0;
    out->frag_first = 1;
    out->frag_id = 0;
}

static void dec_set_payload(struct decoded_pkt *out, const struct dec_cur *c, uint32_t hlen)
{
    struct dec_cur pl = dec_after(c, hlen);
    out->payload = pl.len ? pl.p : NULL;
    out->payload_len = pl.len;
}

/* TCP: 20 bytes captured and a data offset that fits the IP length; options
 * cut only by the snap length leave ports and flags valid and no payload. */
static int decode_l4_tcp(struct decoded_pkt *out, const struct dec_cur *c, uint32_t declared)
{
    if (c->len < DEC_TCP_MIN_HLEN)
        return DEC_E_L4_TRUNC;
    uint32_t hlen = (uint32_t)(dec_u8(c, DEC_TCP_DOFF_OFF) >> 4) * DEC_TCP_DOFF_UNIT;
    if (hlen < DEC_TCP_MIN_HLEN || hlen > declared)
        return DEC_E_L4_TRUNC;
    out->sport = dec_be16(c, 0);
    out->dport = dec_be16(c, 2);
    out->has_ports = 1;
    out->tcp_flags = dec_u8(c, DEC_TCP_FLAGS_OFF);
    out->tcp_seq = dec_be32(c, DEC_TCP_SEQ_OFF);
    dec_set_payload(out, c, hlen);
    return DEC_OK;
}

/* UDP and SCTP: ports first, fixed header length. */
static int decode_l4_ports(struct decoded_pkt *out, const struct dec_cur *c, uint32_t hlen)
{
    if (c->len < hlen)
        return DEC_E_L4_TRUNC;
    out->sport = dec_be16(c, 0);
    out->dport = dec_be16(c, 2);
    out->has_ports = 1;
    dec_set_payload(out, c, hlen);
    return DEC_OK;
}

static int decode_l4_icmp(struct decoded_pkt *out, const struct dec_cur *c)
{
    if (c->len < DEC_ICMP_HLEN)
        return DEC_E_L4_TRUNC;
    out->icmp_type = dec_u8(c, 0);
    out->icmp_code = dec_u8(c, 1);
    dec_set_payload(out, c, DEC_ICMP_HLEN);
    return DEC_OK;
}

/* Runs a tunnel decoder over c. Keeps the carrier as the result when the
 * tunnel holds no IP packet; any other failure inside is DEC_E_TUNNEL. */
static int decode_ip_tunnel(struct dec_ctx *ctx, uint8_t proto, struct dec_cur c)
{
    struct decoded_pkt carrier = *ctx->out;
    unsigned depth = ctx->depth;
    int rc;

    if (proto == IPPROTO_GRE)
        rc = decode_tunnel_gre(ctx, c);
    else if (proto == IPPROTO_UDP)
        rc = decode_tunnel_udp(ctx, carrier.sport, carrier.dport, c);
    else
        rc = decode_tunnel_ipip(ctx, proto, c);
    if (rc == DEC_NOT_IP) {
        *ctx->out = carrier;
        ctx->depth = depth;
        return DEC_OK;
    }
    if (rc < 0 && rc != DEC_E_DEPTH)
        return DEC_E_TUNNEL;
    return rc;
}

/* c: captured L4 bytes within the IP length; declared: L4 bytes the IP header announces.
 * decode_addrs.c mirrors the guards on the way here and in it: change both. */
static int decode_l4(struct dec_ctx *ctx, uint8_t proto, struct dec_cur c, uint32_t declared)
{
    struct decoded_pkt *out = ctx->out;
    int rc;

    out->l4_proto = proto;
    if (!out->frag_first)
        return DEC_OK;                     /* no L4 header in a later fragment */
    switch (proto) {
    case IPPROTO_TCP:
        return decode_l4_tcp(out, &c, declared);
    case IPPROTO_UDP:
        rc = decode_l4_ports(out, &c, DEC_UDP_HLEN);
        if (rc == DEC_OK && decode_tunnel_udp_match(out->sport, out->dport))
            rc = decode_ip_tunnel(ctx, proto, dec_after(&c, DEC_UDP_HLEN));
        return rc;
    case IPPROTO_SCTP:
        return decode_l4_ports(out, &c, DEC_SCTP_HLEN);
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        return decode_l4_icmp(out, &c);
    case IPPROTO_GRE:
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
        dec_set_payload(out, &c, 0);
        return decode_ip_tunnel(ctx, proto, c);
    default:
        dec_set_payload(out, &c, 0);
        return DEC_OK;
    }
}

static int decode_ip_v4(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < 1)
        return DEC_E_IP4_TRUNC;
    if (dec_u8(&c, 0) >> 4 != DEC_IP_VERSION_4)
        return DEC_E_IPVER;
    uint32_t hlen = (uint32_t)(dec_u8(&c, 0) & 0x0F) * 4;
    if (c.len < DEC_IP4_MIN_HLEN || hlen < DEC_IP4_MIN_HLEN || hlen > c.len)
        return DEC_E_IP4_TRUNC;
    uint32_t tot = dec_be16(&c, DEC_IP4_TOTLEN_OFF);
    if (tot < hlen)
        return DEC_E_IP4_BADLEN;

    struct decoded_pkt *out = ctx->out;
    ctx->ip_seen = 1;
    dec_ip_reset(out);
    out->ip_version = 4;
    memcpy(out->src, c.p + DEC_IP4_SRC_OFF, DEC_IP4_ADDR_LEN);
    memcpy(out->dst, c.p + DEC_IP4_DST_OFF, DEC_IP4_ADDR_LEN);
    out->l3 = c.p;
    out->l3_len = tot;
    out->l3_caplen = dec_min(tot, c.len);

    uint16_t frag = dec_be16(&c, DEC_IP4_FRAG_OFF);
    if (frag & (DEC_IP4_MF | DEC_IP4_OFFSET_MASK)) {
        out->is_fragment = 1;
        out->frag_first = (frag & DEC_IP4_OFFSET_MASK) == 0;
        out->frag_id = dec_be16(&c, DEC_IP4_ID_OFF);
    }
    struct dec_cur l4 = { c.p + hlen, out->l3_caplen - hlen };
    return decode_l4(ctx, dec_u8(&c, DEC_IP4_PROTO_OFF), l4, tot - hlen);
}

/* Fragment header: fills the fragment fields; 1 when L4 follows here, 0 when not. */
static int decode_ip6_frag(struct decoded_pkt *out, const struct dec_cur *c)
{
    uint16_t offm = dec_be16(c, 2);
    uint16_t offset = offm >> DEC_IP6_FRAG_OFFSET_SHIFT;
    if (offset == 0 && !(offm & DEC_IP6_FRAG_M))
        return 1;                          /* atomic fragment: a whole packet */
    out->is_fragment = 1;
    out->frag_first = offset == 0;
    out->frag_id = dec_be32(c, 4);
    return out->frag_first;
}

/* Walks the extension header chain (bounded), then the L4 header. */
static int decode_ip6_chain(struct dec_ctx *ctx, uint8_t nh, struct dec_cur c, uint32_t declared)
{
    for (unsigned n = 0;; n++) {
        uint32_t len;
        switch (nh) {
        case IPPROTO_HOPOPTS:
        case IPPROTO_ROUTING:
        case IPPROTO_DSTOPTS:
            len = ((uint32_t)dec_u8(&c, 1) + 1) * DEC_IP6_EXT_UNIT;
            break;
        case IPPROTO_AH:
            len = ((uint32_t)dec_u8(&c, 1) + 2) * DEC_IP6_AH_UNIT;
            break;
        case IPPROTO_FRAGMENT:
            len = DEC_IP6_FRAG_HLEN;
            break;
        default:
            return decode_l4(ctx, nh, c, declared);
        }
        if (n >= DEC_IP6_MAX_EXT || c.len < DEC_IP6_EXT_MIN || c.len < len)
            return DEC_E_IP6_EXT;
        uint8_t next = dec_u8(&c, 0);
        if (nh == IPPROTO_FRAGMENT && !decode_ip6_frag(ctx->out, &c)) {
            ctx->out->l4_proto = next;     /* later fragment: nothing more to read */
            return DEC_OK;
        }
        nh = next;
        c = dec_after(&c, len);
        declared -= len;                   /* declared >= captured >= len */
    }
}

static int decode_ip_v6(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < 1)
        return DEC_E_IP6_TRUNC;
    if (dec_u8(&c, 0) >> 4 != DEC_IP_VERSION_6)
        return DEC_E_IPVER;
    if (c.len < DEC_IP6_HLEN)
        return DEC_E_IP6_TRUNC;

    struct decoded_pkt *out = ctx->out;
    uint32_t plen = dec_be16(&c, DEC_IP6_PLEN_OFF);
    ctx->ip_seen = 1;
    dec_ip_reset(out);
    out->ip_version = 6;
    memcpy(out->src, c.p + DEC_IP6_SRC_OFF, DEC_IP6_ADDR_LEN);
    memcpy(out->dst, c.p + DEC_IP6_DST_OFF, DEC_IP6_ADDR_LEN);
    out->l3 = c.p;
    out->l3_len = plen + DEC_IP6_HLEN;
    out->l3_caplen = dec_min(out->l3_len, c.len);
    struct dec_cur rest = { c.p + DEC_IP6_HLEN, out->l3_caplen - DEC_IP6_HLEN };
    return decode_ip6_chain(ctx, dec_u8(&c, DEC_IP6_NXT_OFF), rest, plen);
}

int decode_ip_any(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < 1)
        return DEC_E_L2_TRUNC;
    switch (dec_u8(&c, 0) >> 4) {
    case DEC_IP_VERSION_4:
        return decode_ip_v4(ctx, c);
    case DEC_IP_VERSION_6:
        return decode_ip_v6(ctx, c);
    default:
        return DEC_E_IPVER;
    }
}
