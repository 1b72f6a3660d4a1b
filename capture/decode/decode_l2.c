/* decode_l2.c - Ethernet, VLAN tags, MPLS, PPPoE and PPP decoders (pure code, any capture thread). */
#include <string.h>

#include "capture/decode/decode_int.h"

#define DEC_ETH_DST_OFF     0
#define DEC_ETH_SRC_OFF     6
#define DEC_MAC_LEN         6
#define DEC_VLAN_VID_MASK   0x0FFF
#define DEC_MPLS_BOS        0x00000100u   /* bottom-of-stack bit of a label entry */
#define DEC_MPLS_PW_CW_LEN  4             /* Ethernet pseudowire control word */
#define DEC_MPLS_NIBBLE_PWCW 0
#define DEC_PPPOE_VERTYPE   0x11
#define DEC_PPPOE_CODE_SESSION 0x00
#define DEC_PPP_PROTO_LEN   2

int decode_l2_ethernet(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len < DEC_ETH_HLEN)
        return DEC_E_L2_TRUNC;
    struct decoded_pkt *out = ctx->out;
    if (!ctx->ip_seen && !out->has_mac) {
        memcpy(out->dst_mac, c.p + DEC_ETH_DST_OFF, DEC_MAC_LEN);
        memcpy(out->src_mac, c.p + DEC_ETH_SRC_OFF, DEC_MAC_LEN);
        out->has_mac = 1;
    }
    uint16_t type = dec_be16(&c, DEC_ETH_TYPE_OFF);
    if (type <= DEC_ETH_MAX_8023_LEN)
        return DEC_NOT_IP;                 /* 802.3 length: LLC (STP, CDP, ...) */
    return decode_l2_ethertype(ctx, type, dec_after(&c, DEC_ETH_HLEN));
}

/* One 802.1Q / 802.1ad tag: TCI, then the next type. */
static int decode_l2_vlan(struct dec_ctx *ctx, struct dec_cur c)
{
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    if (c.len < DEC_VLAN_HLEN)
        return DEC_E_L2_TRUNC;
    ctx->out->tunnels |= DEC_TUN_VLAN;
    if (!ctx->ip_seen && !ctx->vlan_seen) {        /* outermost frame's first tag */
        ctx->out->vlan = dec_be16(&c, 0) & DEC_VLAN_VID_MASK;
        ctx->vlan_seen = 1;
    }
    uint16_t type = dec_be16(&c, 2);
    if (type <= DEC_ETH_MAX_8023_LEN)
        return DEC_NOT_IP;
    return decode_l2_ethertype(ctx, type, dec_after(&c, DEC_VLAN_HLEN));
}

/* MPLS label stack down to bottom-of-stack, then the payload is guessed from
 * its first nibble: 4 IPv4, 6 IPv6, 0 Ethernet pseudowire with control word. */
static int decode_l2_mpls(struct dec_ctx *ctx, struct dec_cur c)
{
    for (;;) {
        int rc = dec_enter(ctx);
        if (rc)
            return rc;
        if (c.len < DEC_MPLS_HLEN)
            return DEC_E_L2_TRUNC;
        uint32_t entry = dec_be32(&c, 0);
        c = dec_after(&c, DEC_MPLS_HLEN);
        if (entry & DEC_MPLS_BOS)
            break;
    }
    ctx->out->tunnels |= DEC_TUN_MPLS;
    if (c.len < 1)
        return DEC_E_L2_TRUNC;
    switch (dec_u8(&c, 0) >> 4) {
    case DEC_IP_VERSION_4:
    case DEC_IP_VERSION_6:
        return decode_ip_any(ctx, c);
    case DEC_MPLS_NIBBLE_PWCW:
        if (c.len < DEC_MPLS_PW_CW_LEN)
            return DEC_E_L2_TRUNC;
        return decode_l2_ethernet(ctx, dec_after(&c, DEC_MPLS_PW_CW_LEN));
    default:
        return DEC_NOT_IP;
    }
}

/* PPP protocol field (optionally after FF 03, optionally compressed to one
 * byte), then IPv4 / IPv6; other protocols (LCP, IPCP, CCP...) are not IP. */
int decode_l2_ppp(struct dec_ctx *ctx, struct dec_cur c)
{
    if (c.len >= 2 && dec_u8(&c, 0) == DEC_PPP_ADDR_ALL && dec_u8(&c, 1) == DEC_PPP_CTRL_UI)
        c = dec_after(&c, 2);
    if (c.len < 1)
        return DEC_E_L2_TRUNC;
    uint16_t proto;
    if (dec_u8(&c, 0) & 1) {               /* protocol-field compression: odd first byte */
        proto = dec_u8(&c, 0);
        c = dec_after(&c, 1);
    } else {
        if (c.len < DEC_PPP_PROTO_LEN)
            return DEC_E_L2_TRUNC;
        proto = dec_be16(&c, 0);
        c = dec_after(&c, DEC_PPP_PROTO_LEN);
    }
    if (proto == DEC_PPP_IPV4 || proto == DEC_PPP_IPV6)
        return decode_ip_any(ctx, c);
    return DEC_NOT_IP;
}

/* PPPoE session stage: ver/type, code, session id, length, then PPP. */
static int decode_l2_pppoe(struct dec_ctx *ctx, struct dec_cur c)
{
    int rc = dec_enter(ctx);
    if (rc)
        return rc;
    if (c.len < DEC_PPPOE_HLEN)
        return DEC_E_L2_TRUNC;
    if (dec_u8(&c, 0) != DEC_PPPOE_VERTYPE || dec_u8(&c, 1) != DEC_PPPOE_CODE_SESSION)
        return DEC_NOT_IP;
    ctx->out->tunnels |= DEC_TUN_PPPOE;
    return decode_l2_ppp(ctx, dec_after(&c, DEC_PPPOE_HLEN));
}

/* decode_addrs.c mirrors this choice for IP and VLAN tags: change both. */
int decode_l2_ethertype(struct dec_ctx *ctx, uint16_t type, struct dec_cur c)
{
    switch (type) {
    case DEC_ETH_P_IPV4:
    case DEC_ETH_P_IPV6:
        return decode_ip_any(ctx, c);      /* the version nibble decides, as in Wireshark */
    case DEC_ETH_P_VLAN:
    case DEC_ETH_P_QINQ_AD:
    case DEC_ETH_P_QINQ_OLD:
        return decode_l2_vlan(ctx, c);
    case DEC_ETH_P_MPLS_UC:
    case DEC_ETH_P_MPLS_MC:
        return decode_l2_mpls(ctx, c);
    case DEC_ETH_P_PPPOE_SES:
        return decode_l2_pppoe(ctx, c);
    case DEC_ETH_P_TEB:
        return decode_l2_ethernet(ctx, c);
    default:
        return DEC_NOT_IP;                 /* ARP, LLDP, PPPoE discovery, ... */
    }
}
