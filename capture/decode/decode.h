/* decode.h - packet decoder chain: link layer to the innermost IP packet (pure code, capture threads). */
#ifndef FC_DECODE_H
#define FC_DECODE_H

#include <stdint.h>

#include "capture/decode/decoded_pkt.h"   /* the result: codes and struct decoded_pkt */

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

/* The innermost address pair of a frame, as decode_packet would find it. */
struct decode_addrs {
    uint8_t ip_version;              /* 4 or 6 */
    const uint8_t *src, *dst;        /* 4 or 16 bytes each, inside the caller's buffer */
};

/* decode_addrs' answers */
enum {
    DECODE_ADDRS_ASK = -1,           /* not a plain frame: only decode_packet can say */
    DECODE_ADDRS_NONE = 0,           /* decode_packet returns something other than DEC_OK */
    DECODE_ADDRS_IP = 1,             /* decode_packet returns DEC_OK with these addresses in out */
};

/* What decode_packet(dlt, data, caplen) would say of the frame's addresses, reading only the
 * headers on the way to them, for the plain frames that are most of the traffic: Ethernet, SLL
 * or raw IP, up to two VLAN tags, IPv4 or IPv6 without extension headers, no tunnel (GRE,
 * IP-in-IP, UDP to a GTP-U or VXLAN port, MPLS, PPPoE ask). Returns a DECODE_ADDRS_ code; *a is
 * filled for DECODE_ADDRS_IP only. Never reads past data + caplen. Any thread; no allocation. */
int decode_addrs(int dlt, const uint8_t *data, uint32_t caplen, struct decode_addrs *a);

/* Counts one frame whose decode_packet result was rc in *st (NULL: nothing),
 * as decode_packet does: for a frame decoded with no stats and counted later. */
void decode_stats_count(struct decode_stats *st, int rc);

/* Short name of a result code for INFO ("l2_trunc", "ip4_trunc", ...). */
const char *decode_result_name(int code);

#endif
