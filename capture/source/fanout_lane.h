/* fanout_lane.h - which of n capture threads owns a packet: the lane hash of its innermost address pair (any thread). */
#ifndef FC_FANOUT_LANE_H
#define FC_FANOUT_LANE_H

#include <stdint.h>

#include "capture/decode/decode.h"

/* The lane hash: a 32-bit symmetric hash of the innermost address pair, the
 * same for both directions of a flow and every fragment of a datagram. The
 * owner of a packet is lane fanout_lane_of = hash % n. Pure; any thread. */
uint32_t fanout_lane_hash(const struct decoded_pkt *p);
int fanout_lane_of(const struct decoded_pkt *p, int n);

/* The lane of a frame among n: fanout_lane_of of its decode_packet result, 0
 * when that is not DEC_OK. A plain frame's headers alone are read
 * (decode_addrs); any other frame is decoded whole (decode_packet, no
 * stats). Any thread. */
int fanout_frame_lane(int dlt, const uint8_t *data, uint32_t caplen, int n);

#endif
