/* l7_tcp.h - what nDPI 4.2 does with a payload-less TCP segment of a flow it is still detecting, done without running its dissectors (capture threads). */
#ifndef FC_L7_TCP_H
#define FC_L7_TCP_H

#include <stdint.h>

struct ndpi_detection_module_struct;
struct ndpi_flow_struct;
struct l7_quick;

/* What the shortcut needs of one nDPI module, built once by l7_tcp_init. */
struct l7_tcp {
    struct ndpi_detection_module_struct *ndpi;
    int usable;                      /* nDPI 4.2, set up as the shortcut assumes */
};

/* Fill t for module n (after ndpi_finalize_initialization): usable when the
 * library is nDPI 4.2 (whose dissectors that take TCP packets without payload
 * are the eight l7_tcp.c knows) and "unknown" has no subprotocols. Capture
 * thread that owns n. */
void l7_tcp_init(struct l7_tcp *t, struct ndpi_detection_module_struct *n);

/* When the IP packet l3 (len bytes, the bytes ndpi_detection_process_packet
 * would be given at time_ms) is a TCP segment without payload for flow state
 * fs, which nDPI has seen before and not yet detected, and every dissector nDPI
 * would run on it provably leaves fs alone: updates fs exactly as that call
 * would (packet count, connection tracking) and returns 1; the answer stays
 * unknown. Else returns 0 and fs is unchanged: the caller runs nDPI. No
 * allocation. Capture thread that owns the module. */
int l7_tcp_skip(const struct l7_tcp *t, struct ndpi_flow_struct *fs, const uint8_t *l3, uint16_t len,
                uint64_t time_ms);

/* When l3 (as for l7_tcp_skip) is a lone SYN without payload and fs a fresh
 * flow state (zeroed, nothing fed yet but its category) that no dissector
 * would detect on it: fills fs exactly as ndpi_detection_process_packet
 * would (protocol guesses, the exclusions the eight dissectors make,
 * connection tracking) and returns 1; the answer stays unknown. Else returns
 * 0 and fs is unchanged. Address guesses come from q's table (same module).
 * Capture thread that owns the module. */
int l7_tcp_syn(const struct l7_tcp *t, struct l7_quick *q, struct ndpi_flow_struct *fs, const uint8_t *l3,
               uint16_t len, uint64_t time_ms);

#endif
