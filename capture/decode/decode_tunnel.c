/* decode_tunnel.c - GRE (incl. PPTP and ERSPAN), GTP-U, VXLAN and IP-in-IP decoders (pure code, any capture thread). */
#include <netinet/in.h>

#include "capture/decode/decode_int.h"

/* GRE (RFC 2784/2890; version 1 = PPTP enhanced GRE, RFC 2637) */
#define DEC_GRE_HLEN        4
#define DEC_GRE_OPT_LEN     4        /* checksum+reserved, key, sequence, ack: 4 bytes each */
#define DEC_GRE_F_CSUM      0x8000
#define DEC_GRE_F_ROUTING   0x4000
#define DEC_GRE_F_KEY       0x2000
#define DEC_GRE_F_SEQ       0x1000
#define DEC_GRE_F_ACK       0x0080   /* version 1 only */
#define DEC_GRE_VER_MASK    0x0007
#define DEC_GRE_VER_PPTP    1
#define DEC_GRE_PPTP_LEN_OFF 4       /* key high half: payload length */

/* ERSPAN */
#define DEC_ERSPAN2_HLEN    8
#define DEC_ERSPAN3_HLEN    12
#define DEC_ERSPAN3_SUBHLEN 8        /* platform-specific subheader when O is set */
#define DEC_ERSPAN3_FT_OFF  10
#define DEC_ERSPAN3_FT_SHIFT 2
#define DEC_ERSPAN3_FT_MASK 0x1F
#define DEC_ERSPAN3_FT_ETH  0
#define DEC_ERSPAN3_O_OFF   11
#define DEC_ERSPAN3_O       0x01

/* VXLAN (RFC 7348) and VXLAN-GPE (next protocol in byte 3 when P is set) */
#define DEC_VXLAN_HLEN      8
#define DEC_VXLAN_F_I       0x08
#define DEC_VXLAN_F_P       0x04
#define DEC_VXLAN_NP_OFF    3
#define DEC_VXLAN_NP_IPV4   1
#define DEC_VXLAN_NP_IPV6   2
#define DEC_VXLAN_NP_ETH    3

/* GTPv1-U (3GPP TS 29.281) */
#define DEC_GTP_HLEN        8
#define DEC_GTP_OPT_LEN     4        /* sequence, N-PDU number, next extension type */
#define DEC_GTP_VER_SHIFT   5
#define DEC_GTP_VER1        1
#define DEC_GTP_F_PT        0x10
#define DEC_GTP_F_E         0x04
#define DEC_GTP_F_S         0x02
#define DEC_GTP_F_PN        0x01
#define DEC_GTP_LEN_OFF     2
#define DEC_GTP_NEXT_OFF    11
#define DEC_GTP_EXT_UNIT    4
#define DEC_GTP_MAX_EXT     8
#define DEC_GTP_MSG_GPDU    0xFF

/* GRE version 1 (PPTP): key (payload length + call id) always, sequence and
 * ack optional, PPP inside. An ack-only packet has no payload. */
static int decode_gre_pptp(struct dec_ctx *ctx, struct dec_cur c, uint16_t flags, uint16_t proto)
{
    if (proto != DEC_ETH_P_PPP || !(flags & DEC_GRE_F_KEY) ||
        (flags & (DEC_GRE_F_CSUM | DEC_GRE_F_ROUTING)))
        return DEC_E_TUNNEL;
    uint32_t hlen = DEC_GRE_HLEN + DEC_GRE_OPT_LEN;
    if (flags & DEC_GRE_F_SEQ)
        hlen += DEC_GRE_OPT_LEN;
    if (flags & DEC_GRE_F_ACK)
        hlen += DEC_GRE_OPT_LEN;
    if (c.len < hlen)
        return DEC_E_TUNNEL;
    uint16_t plen = dec_be16(&c, DEC_GRE_PPTP_LEN_OFF);
    if (plen == 0)
        return DEC_NOT_IP;
    struct dec_cur ppp = dec_after(&c, hlen);
    if (ppp.len > plen)
        ppp.len = plen;
    ctx->out->tunnels |= DEC_TUN_GRE;
    return decode_l2_ppp(ctx, ppp);
}

/* ERSPAN type I (no header, no GRE sequence) or II (8-byte header). */
static int decode_erspan2(struct dec_ctx *ctx, struct dec_cur c, int has_seq)
{
    uint32_t hlen = has_seq ? DEC_ERSPAN2_HLEN : 0;
    if (c.len < hlen)
        return DEC_E_TUNNEL;
    ctx->out->tunnels |= DEC_TUN_ERSPAN;
    return decode_l2_ethernet(ctx, dec_after(&c, hlen));
}

/* ERSPAN type III: 12-byte header, optional 8-byte subheader; Ethernet frames only. */
static int decode_erspan3(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < DEC_ERSPAN3_HLEN)
        return DEC_E_TUNNEL;
    uint32_t hlen = DEC_ERSPAN3_HLEN;
    if (dec_u8(&c, DEC_ERSPAN3_O_OFF) & DEC_ERSPAN3_O)
        hlen += DEC_ERSPAN3_SUBHLEN;
    if (c.len < hlen)
        return DEC_E_TUNNEL;
    unsigned ft = (dec_u8(&c, DEC_ERSPAN3_FT_OFF) >> DEC_ERSPAN3_FT_SHIFT) & DEC_ERSPAN3_FT_MASK;
    if (ft != DEC_ERSPAN3_FT_ETH)
        return DEC_NOT_IP;
    ctx->out->tunnels |= DEC_TUN_ERSPAN;
    return decode_l2_ethernet(ctx, dec_after(&c, hlen));
}

int decode_tunnel_gre(struct dec_ctx *ctx, struct dec_cur c)
{
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    if (c.len < DEC_GRE_HLEN)
        return DEC_E_TUNNEL;
    uint16_t flags = dec_be16(&c, 0), proto = dec_be16(&c, 2);
    unsigned ver = flags & DEC_GRE_VER_MASK;
    if (ver == DEC_GRE_VER_PPTP)
        return decode_gre_pptp(ctx, c, flags, proto);
    if (ver != 0 || (flags & DEC_GRE_F_ROUTING))
        return DEC_E_TUNNEL;               /* unknown version; RFC 1701 source routes unsupported */
    uint32_t hlen = DEC_GRE_HLEN;
    if (flags & DEC_GRE_F_CSUM)
        hlen += DEC_GRE_OPT_LEN;
    if (flags & DEC_GRE_F_KEY)
        hlen += DEC_GRE_OPT_LEN;
    if (flags & DEC_GRE_F_SEQ)
        hlen += DEC_GRE_OPT_LEN;
    if (c.len < hlen)
        return DEC_E_TUNNEL;
    struct dec_cur inner = dec_after(&c, hlen);
    ctx->out->tunnels |= DEC_TUN_GRE;
    switch (proto) {
    case DEC_ETH_P_ERSPAN2:
        return decode_erspan2(ctx, inner, (flags & DEC_GRE_F_SEQ) != 0);
    case DEC_ETH_P_ERSPAN3:
        return decode_erspan3(ctx, inner);
    case DEC_ETH_P_PPP:
        return decode_l2_ppp(ctx, inner);
    default:                               /* IPv4, IPv6, TEB, MPLS, VLAN; else the carrier */
        return decode_l2_ethertype(ctx, proto, inner);
    }
}

int decode_tunnel_ipip(struct dec_ctx *ctx, uint8_t proto, struct dec_cur c)
{
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    ctx->out->tunnels |= DEC_TUN_IPIP;
    (void)proto;                           /* 4 or 41: the inner version nibble decides */
    return decode_ip_any(ctx, c);
}

static int decode_vxlan(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < DEC_VXLAN_HLEN)
        return DEC_E_TUNNEL;
    if (!(dec_u8(&c, 0) & DEC_VXLAN_F_I))
        return DEC_NOT_IP;                 /* no valid VNI: not VXLAN as RFC 7348 has it */
    uint8_t np = DEC_VXLAN_NP_ETH;
    if (dec_u8(&c, 0) & DEC_VXLAN_F_P)
        np = dec_u8(&c, DEC_VXLAN_NP_OFF);
    if (np != DEC_VXLAN_NP_ETH && np != DEC_VXLAN_NP_IPV4 && np != DEC_VXLAN_NP_IPV6)
        return DEC_NOT_IP;                 /* NSH, MPLS... */
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    ctx->out->tunnels |= DEC_TUN_VXLAN;
    struct dec_cur inner = dec_after(&c, DEC_VXLAN_HLEN);
    if (np == DEC_VXLAN_NP_ETH)
        return decode_l2_ethernet(ctx, inner);
    return decode_ip_any(ctx, inner);
}

/* Walks the GTP extension header chain from *hlen; 0 or DEC_E_TUNNEL. */
static int decode_gtp_ext(const struct dec_cur *c, uint8_t next, uint32_t *hlen)
{
    for (unsigned n = 0; next != 0; n++) {
        if (n >= DEC_GTP_MAX_EXT || c->len <= *hlen)
            return DEC_E_TUNNEL;
        uint32_t elen = (uint32_t)dec_u8(c, *hlen) * DEC_GTP_EXT_UNIT;
        if (elen == 0 || c->len - *hlen < elen)
            return DEC_E_TUNNEL;
        next = dec_u8(c, *hlen + elen - 1);
        *hlen += elen;
    }
    return 0;
}

/* GTPv1-U. A first byte that is not GTPv1 (an ephemeral port that happens to
 * be 2152) and messages other than G-PDU leave the UDP packet as the result. */
static int decode_gtpu(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < 1)
        return DEC_NOT_IP;
    uint8_t flags = dec_u8(&c, 0);
    if (flags >> DEC_GTP_VER_SHIFT != DEC_GTP_VER1 || !(flags & DEC_GTP_F_PT))
        return DEC_NOT_IP;
    if (c.len < DEC_GTP_HLEN)
        return DEC_E_TUNNEL;
    if (dec_u8(&c, 1) != DEC_GTP_MSG_GPDU)
        return DEC_NOT_IP;                 /* echo, error indication, end marker... */
    uint32_t hlen = DEC_GTP_HLEN;
    if (flags & (DEC_GTP_F_E | DEC_GTP_F_S | DEC_GTP_F_PN)) {
        hlen += DEC_GTP_OPT_LEN;
        if (c.len < hlen)
            return DEC_E_TUNNEL;
        if ((flags & DEC_GTP_F_E) && decode_gtp_ext(&c, dec_u8(&c, DEC_GTP_NEXT_OFF), &hlen))
            return DEC_E_TUNNEL;
    }
    uint32_t glen = dec_be16(&c, DEC_GTP_LEN_OFF);   /* bytes after the mandatory header */
    if (glen < hlen - DEC_GTP_HLEN)
        return DEC_E_TUNNEL;
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    struct dec_cur inner = dec_after(&c, hlen);
    if (inner.len > glen - (hlen - DEC_GTP_HLEN))
        inner.len = glen - (hlen - DEC_GTP_HLEN);
    ctx->out->tunnels |= DEC_TUN_GTPU;
    return decode_ip_any(ctx, inner);
}

int decode_tunnel_udp(struct dec_ctx *ctx, uint16_t sport, uint16_t dport, struct dec_cur c)
{
    if (dport == DEC_PORT_VXLAN || dport == DEC_PORT_VXLAN_GPE || sport == DEC_PORT_VXLAN)
        return decode_vxlan(ctx, c);
    if (sport == DEC_PORT_GTPU || dport == DEC_PORT_GTPU)
        return decode_gtpu(ctx, c);
    return DEC_NOT_IP;
}
