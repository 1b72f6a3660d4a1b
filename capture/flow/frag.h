/* frag.h - a capture thread's IP fragment table: gives later fragments the ports their first one carried. */
#ifndef FC_FRAG_H
#define FC_FRAG_H

#include <stdint.h>

#include "capture/decode/decoded_pkt.h"

#define FRAG_SLOTS 1024

/* One first fragment's addresses, id and ports (a worker keeps FRAG_SLOTS of
 * them, indexed by a hash of the addresses, id and protocol). */
struct frag_slot {
    uint8_t src[16], dst[16];
    uint32_t id;
    uint8_t proto, used;
    uint16_t sport, dport;
    uint64_t ts_us;
};

/* Remembers a first fragment's ports in frags, or gives a later fragment the
 * ports its first fragment (seen at most 30 s earlier) carried. Returns 0, or
 * -1 for a later fragment whose first one is not in the table (p is left
 * without ports: the caller counts an orphan). The thread owning frags only. */
int frag_resolve(struct frag_slot frags[FRAG_SLOTS], struct decoded_pkt *p, uint64_t ts);

#endif
