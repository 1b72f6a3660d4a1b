/* fanout_lane.c - the lane of a packet or frame among n capture threads (pure: any thread; it needs only the decoder, so make bench's lane splitter builds it too). */
#include "capture/source/fanout_lane.h"
#include "capture/cache/flow_key.h"

/* flow_addr_lane_hash (capture/cache/flow_key.h): the cBPF program of
 * fanout_lane_prog (fanout.c) computes the same value from the same words. */
uint32_t fanout_lane_hash(const struct decoded_pkt *p)
{
    return flow_addr_lane_hash(p->src, p->dst, p->ip_version == 6 ? 4 : 1);
}

int fanout_lane_of(const struct decoded_pkt *p, int n)
{
    return n <= 1 ? 0 : (int)(fanout_lane_hash(p) % (uint32_t)n);
}

/* fanout_frame_lane for a frame decode_addrs cannot answer. */
static __attribute__((noinline)) int frame_lane_decoded(int dlt, const uint8_t *data, uint32_t caplen, int n)
{
    struct decoded_pkt p;
    return decode_packet(dlt, data, caplen, &p, NULL) == DEC_OK ? fanout_lane_of(&p, n) : 0;
}

int fanout_frame_lane(int dlt, const uint8_t *data, uint32_t caplen, int n)
{
    struct decode_addrs a;
    if (n <= 1)
        return 0;
    int got = decode_addrs(dlt, data, caplen, &a);
    if (got == DECODE_ADDRS_IP)
        return (int)(flow_addr_lane_hash(a.src, a.dst, a.ip_version == 6 ? 4 : 1) % (uint32_t)n);
    return got == DECODE_ADDRS_NONE ? 0 : frame_lane_decoded(dlt, data, caplen, n);
}
