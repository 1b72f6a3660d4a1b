/* decoded_pkt.h - what the decoder gives: result codes and the innermost IP packet of a frame (types only, any thread). */
#ifndef FC_DECODED_PKT_H
#define FC_DECODED_PKT_H

#include <stdint.h>

/* Outcome of decoding one frame. 0 = an IP packet was found. Positive codes
 * are "not for us" (counted, not anomalies); negative codes are anomalies. */
enum decode_result {
    DEC_OK = 0,
    DEC_NOT_IP = 1,          /* ARP, LLDP, STP, ... */
    DEC_E_LINKTYPE = -1,     /* unsupported link type */
    DEC_E_L2_TRUNC = -2,     /* Ethernet / SLL / NULL / VLAN / MPLS / PPPoE header cut */
    DEC_E_IP4_TRUNC = -3,    /* IPv4 header cut or IHL < 5 */
    DEC_E_IP4_BADLEN = -4,   /* total length < header length */
    DEC_E_IP6_TRUNC = -5,
    DEC_E_IP6_EXT = -6,      /* extension header chain cut or too long */
    DEC_E_L4_TRUNC = -7,     /* TCP/UDP/ICMP/SCTP header cut (ports unknown) */
    DEC_E_TUNNEL = -8,       /* GRE / GTP-U / VXLAN / IP-in-IP header malformed or cut */
    DEC_E_DEPTH = -9,        /* too many nested encapsulations (> DECODE_MAX_DEPTH) */
    DEC_E_IPVER = -10,       /* IP version neither 4 nor 6 */
};
#define DECODE_ANOMALY_KINDS 11      /* index = -code, 0 unused */
#define DECODE_MAX_DEPTH 8

/* Tunnel bits in decoded_pkt.tunnels */
#define DEC_TUN_VLAN   0x01
#define DEC_TUN_MPLS   0x02
#define DEC_TUN_PPPOE  0x04
#define DEC_TUN_GRE    0x08
#define DEC_TUN_GTPU   0x10
#define DEC_TUN_VXLAN  0x20
#define DEC_TUN_IPIP   0x40
#define DEC_TUN_ERSPAN 0x80   /* mirrored frame inside GRE (ERSPAN I/II/III); DEC_TUN_GRE is set too */

/* Tunnel policy. The result describes the innermost IP packet. When a tunnel
 * header is valid but carries no IP packet (PPTP control or ack-only GRE, PPP
 * LCP, GTP-U messages other than G-PDU, ARP inside VXLAN/ERSPAN, unknown GRE
 * protocol types, VXLAN without the I flag, a "GTP" port whose first byte is
 * not GTPv1) the carrier packet (GRE / UDP) is the result, with DEC_OK and
 * without that tunnel's bit. A tunnel header that is cut or malformed, or an
 * inner packet that is, gives DEC_E_TUNNEL (DEC_E_DEPTH stays DEC_E_DEPTH).
 * Non-first fragments of the carrier are not looked into.
 * PPTP (GRE version 1, PPP) is decoded down to its inner IPv4/IPv6 packet.
 * Each VLAN tag, MPLS label, PPPoE header and tunnel counts as one level
 * towards DECODE_MAX_DEPTH. */

/* The innermost IP packet of a frame. Addresses are in network byte order;
 * IPv4 addresses use the first 4 bytes of src/dst and the rest is zero. */
struct decoded_pkt {
    uint8_t ip_version;      /* 4 or 6 */
    uint8_t l4_proto;        /* IPPROTO_* of the innermost packet (after IPv6 ext headers) */
    uint8_t tcp_flags;       /* TCP only */
    uint32_t tcp_seq;        /* TCP sequence number (host order), 0 for other protocols */
    uint8_t has_ports;       /* sport/dport valid (TCP, UDP, SCTP, first fragment or whole) */
    uint8_t src[16], dst[16];
    uint16_t sport, dport;   /* host byte order */
    uint8_t icmp_type, icmp_code;  /* ICMP / ICMPv6 */
    uint16_t vlan;           /* first 802.1Q/802.1ad VLAN id of the outermost frame, 0 = untagged */
    uint8_t tunnels;         /* DEC_TUN_* bits met on the way in */
    uint8_t has_mac;         /* outermost Ethernet addresses valid */
    uint8_t src_mac[6], dst_mac[6];
    uint32_t l3_len;         /* IPv4 total length, or IPv6 payload length + 40, of the innermost header */
    const uint8_t *l3;       /* innermost IP header start, inside the caller's buffer */
    uint32_t l3_caplen;      /* captured bytes from l3 (min of captured and l3_len) */
    const uint8_t *payload;  /* L4 payload (after TCP/UDP/SCTP/ICMP header; the whole IP payload
                              * for other protocols), NULL when none or on a non-first fragment */
    uint32_t payload_len;    /* captured payload bytes (bounded by l3_len) */
    /* fragments (IPv4 MF/offset, IPv6 fragment header) */
    uint8_t is_fragment;     /* part of a fragmented datagram */
    uint8_t frag_first;      /* offset 0: carries the L4 header (1 for unfragmented packets too) */
    uint32_t frag_id;        /* IPv4 id or IPv6 fragment identification (0 when not a fragment) */
};

#endif
