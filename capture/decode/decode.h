/* decode.h - packet decoder chain: link layer to the innermost IP packet (pure code, capture threads). */
#ifndef FC_DECODE_H
#define FC_DECODE_H

#include <stdint.h>

/* Link types, as libpcap's DLT_ values (the ones flowcached accepts). */
#define FC_DLT_NULL       0
#define FC_DLT_EN10MB     1
#define FC_DLT_RAW        12   /* OpenBSD/Linux value of DLT_RAW */
#define FC_DLT_RAW_ALT    14
#define FC_DLT_LOOP       108
#define FC_DLT_C_HDLC     104  /* Cisco HDLC (address, control, ethertype) */
#define FC_DLT_LINUX_SLL  113
#define FC_DLT_LINKTYPE_RAW 101
#define FC_DLT_IPV4       228
#define FC_DLT_IPV6       229
#define FC_DLT_LINUX_SLL2 276

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

/* Anomaly and result counters; owned by one capture thread. */
struct decode_stats {
    uint64_t frames;
    uint64_t ip_packets;
    uint64_t not_ip;
    uint64_t anomalies[DECODE_ANOMALY_KINDS];   /* indexed by -decode_result */
};

/* Decode one captured frame (caplen bytes at data, of link type dlt).
 * Returns DEC_OK and fills *out, or another enum decode_result (and *out is
 * unspecified). Counts the outcome in *st (may be NULL). Never reads past
 * data + caplen. Pointers in *out point into data. Any thread; no allocation.
 * The L4 header must be captured whole and fit the IP length, else
 * DEC_E_L4_TRUNC (so does a first fragment too short for it); only TCP
 * options cut by the snap length alone are tolerated (ports and flags valid,
 * payload NULL). The IP version nibble picks IPv4/IPv6 wherever an IP header
 * is expected (link type, ethertype, PPP, MPLS, IP-in-IP, GTP-U). */
int decode_packet(int dlt, const uint8_t *data, uint32_t caplen,
                  struct decoded_pkt *out, struct decode_stats *st);

/* Counts one frame whose decode_packet result was rc in *st (NULL: nothing),
 * as decode_packet does: for a frame decoded with no stats and counted later. */
void decode_stats_count(struct decode_stats *st, int rc);

/* Short name of a result code for INFO ("l2_trunc", "ip4_trunc", ...). */
const char *decode_result_name(int code);

#endif
