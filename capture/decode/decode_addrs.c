/* decode_addrs.c - the innermost address pair of a plain frame, read without the whole decode (pure code, any capture thread). */
#include <netinet/in.h>

#include "capture/decode/decode.h"
#include "capture/decode/decode_int.h"

/* What decode_packet reads on the way to a plain packet's addresses. Every test below mirrors one
 * of its guards (decode.c, decode_l2.c, decode_ip.c), and anything it treats specially (tunnels,
 * extension headers, MPLS, PPPoE, link types other than Ethernet, SLL and raw IP) is left to it:
 * a change there must be made here too (tests/unit/test_frame_lane.c compares the two). Straight
 * line code on raw bytes after each length guard: this runs for every frame of a file and every
 * worker (capture/source/file_walk.c). */
#define ADDRS_MAX_TAGS      2        /* VLAN tags read here (at most DECODE_MAX_DEPTH); more ask */

/* Big-endian 16 bits at p: the caller checked both bytes are captured. */
static inline uint16_t addrs_be16(const uint8_t *p)
{
    return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

/* The L4 header as decode_l4 checks it: len captured bytes within the IP length, declared the
 * bytes the IP header announces. */
static inline int addrs_l4(uint8_t proto, const uint8_t *l4, uint32_t len, uint32_t declared)
{
    uint32_t hlen;
    if (proto == IPPROTO_TCP) {
        if (len < DEC_TCP_MIN_HLEN)
            return DECODE_ADDRS_NONE;
        hlen = (uint32_t)(l4[DEC_TCP_DOFF_OFF] >> 4) * DEC_TCP_DOFF_UNIT;
        return hlen >= DEC_TCP_MIN_HLEN && hlen <= declared ? DECODE_ADDRS_IP : DECODE_ADDRS_NONE;
    }
    if (proto == IPPROTO_UDP) {
        if (len < DEC_UDP_HLEN)
            return DECODE_ADDRS_NONE;
        return decode_tunnel_udp_match(addrs_be16(l4), addrs_be16(l4 + 2)) ? DECODE_ADDRS_ASK : DECODE_ADDRS_IP;
    }
    switch (proto) {
    case IPPROTO_SCTP:
        return len >= DEC_SCTP_HLEN ? DECODE_ADDRS_IP : DECODE_ADDRS_NONE;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
        return len >= DEC_ICMP_HLEN ? DECODE_ADDRS_IP : DECODE_ADDRS_NONE;
    case IPPROTO_GRE:
    case IPPROTO_IPIP:
    case IPPROTO_IPV6:
        return DECODE_ADDRS_ASK;     /* a tunnel: the inner packet's addresses, or the carrier's */
    default:
        return DECODE_ADDRS_IP;
    }
}

static inline int addrs_ip4(const uint8_t *ip, uint32_t len, struct decode_addrs *a)
{
    uint32_t hlen = (uint32_t)(ip[0] & 0x0F) * 4;
    if (len < DEC_IP4_MIN_HLEN || hlen < DEC_IP4_MIN_HLEN || hlen > len)
        return DECODE_ADDRS_NONE;
    uint32_t tot = addrs_be16(ip + DEC_IP4_TOTLEN_OFF);
    if (tot < hlen)
        return DECODE_ADDRS_NONE;
    a->ip_version = DEC_IP_VERSION_4;
    a->src = ip + DEC_IP4_SRC_OFF;
    a->dst = ip + DEC_IP4_DST_OFF;
    if (addrs_be16(ip + DEC_IP4_FRAG_OFF) & DEC_IP4_OFFSET_MASK)
        return DECODE_ADDRS_IP;      /* a later fragment: no L4 header is looked at */
    return addrs_l4(ip[DEC_IP4_PROTO_OFF], ip + hlen, (tot < len ? tot : len) - hlen, tot - hlen);
}

static inline int addrs_ip6(const uint8_t *ip, uint32_t len, struct decode_addrs *a)
{
    if (len < DEC_IP6_HLEN)
        return DECODE_ADDRS_NONE;
    uint8_t nh = ip[DEC_IP6_NXT_OFF];
    switch (nh) {
    case IPPROTO_HOPOPTS:
    case IPPROTO_ROUTING:
    case IPPROTO_DSTOPTS:
    case IPPROTO_AH:
    case IPPROTO_FRAGMENT:
        return DECODE_ADDRS_ASK;     /* an extension header chain */
    default:
        break;
    }
    uint32_t plen = addrs_be16(ip + DEC_IP6_PLEN_OFF), l3_len = plen + DEC_IP6_HLEN;
    a->ip_version = DEC_IP_VERSION_6;
    a->src = ip + DEC_IP6_SRC_OFF;
    a->dst = ip + DEC_IP6_DST_OFF;
    return addrs_l4(nh, ip + DEC_IP6_HLEN, (l3_len < len ? l3_len : len) - DEC_IP6_HLEN, plen);
}

/* Ethertypes other than IP (decode_l2_ethertype): up to ADDRS_MAX_TAGS VLAN tags, from offset *l2
 * of the frame p (len bytes captured). Returns DECODE_ADDRS_IP with *l2 at an IP header (the
 * version nibble then decides, as decode_ip_any does), else the answer. */
static int addrs_tags(uint16_t type, const uint8_t *p, uint32_t len, uint32_t *l2)
{
    for (int tags = 0;; tags++) {
        switch (type) {
        case DEC_ETH_P_IPV4:
        case DEC_ETH_P_IPV6:
            return DECODE_ADDRS_IP;
        case DEC_ETH_P_VLAN:
        case DEC_ETH_P_QINQ_AD:
        case DEC_ETH_P_QINQ_OLD:
            if (tags == ADDRS_MAX_TAGS)
                return DECODE_ADDRS_ASK;
            if (len - *l2 < DEC_VLAN_HLEN)
                return DECODE_ADDRS_NONE;
            type = addrs_be16(p + *l2 + 2);  /* an 802.3 length is not IP: the default below */
            *l2 += DEC_VLAN_HLEN;
            break;
        case DEC_ETH_P_MPLS_UC:
        case DEC_ETH_P_MPLS_MC:
        case DEC_ETH_P_PPPOE_SES:
        case DEC_ETH_P_TEB:
            return DECODE_ADDRS_ASK;
        default:
            return DECODE_ADDRS_NONE;  /* ARP, LLDP, an 802.3 length...: not IP */
        }
    }
}

int decode_addrs(int dlt, const uint8_t *data, uint32_t caplen, struct decode_addrs *a)
{
    uint32_t len = data ? caplen : 0, l2;
    uint16_t type;
    switch (dlt) {
    case FC_DLT_EN10MB:
        if (len < DEC_ETH_HLEN)
            return DECODE_ADDRS_NONE;
        type = addrs_be16(data + DEC_ETH_TYPE_OFF);
        l2 = DEC_ETH_HLEN;
        break;
    case FC_DLT_LINUX_SLL:
    case FC_DLT_LINUX_SLL2:
        l2 = dlt == FC_DLT_LINUX_SLL ? DEC_SLL_HLEN : DEC_SLL2_HLEN;
        if (len < l2)
            return DECODE_ADDRS_NONE;
        type = addrs_be16(data + (dlt == FC_DLT_LINUX_SLL ? DEC_SLL_PROTO_OFF : DEC_SLL2_PROTO_OFF));
        break;
    case FC_DLT_RAW:
    case FC_DLT_RAW_ALT:
    case FC_DLT_LINKTYPE_RAW:
    case FC_DLT_IPV4:
    case FC_DLT_IPV6:
        type = DEC_ETH_P_IPV4;       /* the IP header at once */
        l2 = 0;
        break;
    default:
        return DECODE_ADDRS_ASK;
    }
    if (type != DEC_ETH_P_IPV4 && type != DEC_ETH_P_IPV6) {
        int rc = addrs_tags(type, data, len, &l2);
        if (rc != DECODE_ADDRS_IP)
            return rc;
    }
    if (len - l2 < 1)                /* decode_ip_any */
        return DECODE_ADDRS_NONE;
    const uint8_t *ip = data + l2;
    if (ip[0] >> 4 == DEC_IP_VERSION_4)
        return addrs_ip4(ip, len - l2, a);
    if (ip[0] >> 4 == DEC_IP_VERSION_6)
        return addrs_ip6(ip, len - l2, a);
    return DECODE_ADDRS_NONE;
}
