/* pkt_key.h - the canonical flow key of a decoded packet: the client/server rule of KEYSPACE.md (pure code, any capture thread). */
#ifndef FC_PKT_KEY_H
#define FC_PKT_KEY_H

#include "capture/cache/flow_key.h"
#include "capture/decode/decode.h"

/* Build the canonical key of a decoded packet (KEYSPACE.md's rule: a SYN
 * or an echo request tells the client, else the service port tells the
 * server, else the lower address is the client). *is_c2s is set to 1 when
 * the packet travels client -> server. Never fails. */
void flow_key_from_pkt(const struct decoded_pkt *p, struct flow_key *k, int *is_c2s);

#endif
