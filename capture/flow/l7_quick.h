/* l7_quick.h - nDPI 4.2's verdict on a flow's first packet, computed without its per-flow state when the packet is one whose whole detection path is known (capture threads). */
#ifndef FC_L7_QUICK_H
#define FC_L7_QUICK_H

#include <stdint.h>

struct ndpi_detection_module_struct;

/* 1 when module n is set up as l7_quick_dns assumes (nDPI's own protocol
 * and address tables only, UDP port 53 guessed as DNS), else 0. Call once
 * per module, after ndpi_finalize_initialization. Capture thread. */
int l7_quick_usable(struct ndpi_detection_module_struct *n);

/* The protocol id ndpi_detection_process_packet would answer (app protocol,
 * else master) when the IP packet l3 (len bytes, the same bytes it would be
 * given) is the first packet a fresh ndpi_flow_struct sees and is a standard
 * DNS query from a client port to UDP port 53. Returns -1 for any other
 * packet, or when nDPI's answer would depend on more than this packet (then
 * the caller runs nDPI). Reads n only; no allocation. Capture thread that
 * owns n. */
int l7_quick_dns(struct ndpi_detection_module_struct *n, const uint8_t *l3, uint16_t len);

#endif
