/* decode_int.h - private to capture/decode*.c: bounded cursor, protocol numbers, layer entry points. */
#ifndef FC_DECODE_INT_H
#define FC_DECODE_INT_H

#include <stdint.h>
#include "capture/decode/decoded_pkt.h"

/* Ethertypes (also GRE protocol types and SLL protocol fields). */
#define DEC_ETH_P_IPV4      0x0800
#define DEC_ETH_P_ARP       0x0806
#define DEC_ETH_P_ERSPAN3   0x22EB
#define DEC_ETH_P_TEB       0x6558   /* transparent Ethernet bridging (GRE) */
#define DEC_ETH_P_VLAN      0x8100   /* 802.1Q */
#define DEC_ETH_P_IPV6      0x86DD
#define DEC_ETH_P_PPP       0x880B   /* PPP in GRE (PPTP) */
#define DEC_ETH_P_MPLS_UC   0x8847
#define DEC_ETH_P_MPLS_MC   0x8848
#define DEC_ETH_P_PPPOE_SES 0x8864
#define DEC_ETH_P_QINQ_AD   0x88A8   /* 802.1ad S-tag */
#define DEC_ETH_P_ERSPAN2   0x88BE
#define DEC_ETH_P_QINQ_OLD  0x9100   /* pre-standard QinQ */
#define DEC_ETH_MAX_8023_LEN 1500    /* type field <= this is an 802.3 length */

/* PPP protocol numbers */
#define DEC_PPP_IPV4        0x0021
#define DEC_PPP_IPV6        0x0057
#define DEC_PPP_ADDR_ALL    0xFF     /* HDLC-like framing: address + control bytes */
#define DEC_PPP_CTRL_UI     0x03

#define DEC_IP_VERSION_4    4
#define DEC_IP_VERSION_6    6

/* Header sizes */
#define DEC_ETH_HLEN        14
#define DEC_VLAN_HLEN       4
#define DEC_MPLS_HLEN       4
#define DEC_PPPOE_HLEN      6
#define DEC_IP4_MIN_HLEN    20
#define DEC_IP6_HLEN        40
#define DEC_TCP_MIN_HLEN    20
#define DEC_UDP_HLEN        8
#define DEC_SCTP_HLEN       12
#define DEC_ICMP_HLEN       8
#define DEC_IP6_MAX_EXT     8        /* extension headers walked before DEC_E_IP6_EXT */

/* Header fields (offsets from the header's start), shared by the decoder and decode_addrs.c */
#define DEC_ETH_TYPE_OFF    12
#define DEC_SLL_HLEN        16
#define DEC_SLL_PROTO_OFF   14
#define DEC_SLL2_HLEN       20
#define DEC_SLL2_PROTO_OFF  0
#define DEC_IP4_TOTLEN_OFF  2
#define DEC_IP4_FRAG_OFF    6
#define DEC_IP4_PROTO_OFF   9
#define DEC_IP4_SRC_OFF     12
#define DEC_IP4_DST_OFF     16
#define DEC_IP4_OFFSET_MASK 0x1FFF
#define DEC_IP6_PLEN_OFF    4
#define DEC_IP6_NXT_OFF     6
#define DEC_IP6_SRC_OFF     8
#define DEC_IP6_DST_OFF     24
#define DEC_TCP_DOFF_OFF    12
#define DEC_TCP_DOFF_UNIT   4

/* UDP ports of tunnels */
#define DEC_PORT_GTPU       2152
#define DEC_PORT_VXLAN      4789
#define DEC_PORT_VXLAN_GPE  4790

/* Bounded cursor over captured bytes. Readers return 0 past the end, so a
 * missed guard reads zeros instead of memory; decoders still guard first. */
struct dec_cur {
    const uint8_t *p;
    uint32_t len;
};

static inline uint8_t dec_u8(const struct dec_cur *c, uint32_t off)
{
    return off < c->len ? c->p[off] : 0;
}

static inline uint16_t dec_be16(const struct dec_cur *c, uint32_t off)
{
    return (uint16_t)((unsigned)dec_u8(c, off) << 8 | dec_u8(c, off + 1));
}

static inline uint32_t dec_be32(const struct dec_cur *c, uint32_t off)
{
    return (uint32_t)dec_be16(c, off) << 16 | dec_be16(c, off + 2);
}

/* Cursor advanced by n bytes; with n past the end, an empty cursor at the end. */
static inline struct dec_cur dec_after(const struct dec_cur *c, uint32_t n)
{
    struct dec_cur r;
    if (n > c->len)
        n = c->len;
    r.p = c->p + n;
    r.len = c->len - n;
    return r;
}

/* Decoding state shared by the layers of one frame. */
struct dec_ctx {
    struct decoded_pkt *out;
    unsigned depth;        /* encapsulations entered (VLAN tags, MPLS labels, PPPoE, tunnels) */
    uint8_t ip_seen;       /* an IP header was met: later L2 headers are inner ones */
    uint8_t vlan_seen;     /* the outermost VLAN tag was recorded */
};

/* Counts one more encapsulation: 0, or DEC_E_DEPTH past DECODE_MAX_DEPTH. */
static inline int dec_enter(struct dec_ctx *ctx)
{
    return ++ctx->depth > DECODE_MAX_DEPTH ? DEC_E_DEPTH : 0;
}

/* decode_l2.c: every function returns an enum decode_result. */
int decode_l2_ethernet(struct dec_ctx *ctx, struct dec_cur c);
int decode_l2_ethertype(struct dec_ctx *ctx, uint16_t type, struct dec_cur c);
int decode_l2_ppp(struct dec_ctx *ctx, struct dec_cur c);

/* decode_ip.c */
/* IPv4 or IPv6 by the version nibble (link types, ethertypes, PPP, MPLS and
 * IP-in-IP all go through it, so an IPv6 header under ethertype 0x0800 is
 * decoded as Wireshark does); DEC_E_IPVER when neither. */
int decode_ip_any(struct dec_ctx *ctx, struct dec_cur c);

/* decode_tunnel.c: c is the IP / UDP payload. DEC_NOT_IP means "no inner IP
 * packet here": the caller keeps the carrier packet as the result. */
int decode_tunnel_gre(struct dec_ctx *ctx, struct dec_cur c);
int decode_tunnel_ipip(struct dec_ctx *ctx, uint8_t proto, struct dec_cur c);
int decode_tunnel_udp(struct dec_ctx *ctx, uint16_t sport, uint16_t dport, struct dec_cur c);

/* 1 when a UDP packet with these ports may carry a tunnel: GTP-U, VXLAN
 * (either port, as Wireshark does) or VXLAN-GPE (destination port). */
static inline int decode_tunnel_udp_match(uint16_t sport, uint16_t dport)
{
    return sport == DEC_PORT_GTPU || dport == DEC_PORT_GTPU || dport == DEC_PORT_VXLAN ||
           sport == DEC_PORT_VXLAN || dport == DEC_PORT_VXLAN_GPE;
}

#endif
