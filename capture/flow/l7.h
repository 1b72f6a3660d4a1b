/* l7.h - nDPI glue: application protocol detection per flow (one module per capture thread). */
#ifndef FC_L7_H
#define FC_L7_H

#include <stddef.h>
#include <stdint.h>

#include "capture/decode/decode.h"

struct cache;
struct flow;
struct l7_module;

/* Build the process-wide table of protocol names. Call once at start-up,
 * before any other thread runs. Returns 0, or -1 when nDPI fails. */
int l7_names_init(void);

/* Free the names table (process exit). */
void l7_names_free(void);

/* nDPI's name for a protocol id ("DNS", "HTTP", "TLS", "Unknown"...). Never
 * NULL. Any thread after l7_names_init. */
const char *l7_name(unsigned id);

/* Protocol id of a name (exact, case-sensitive), or -1. Any thread. */
int l7_id_by_name(const char *name, size_t len);

/* Number of protocol ids (names table size). */
unsigned l7_count(void);

/* A detection module for one capture thread. NULL on failure. */
struct l7_module *l7_module_create(void);
void l7_module_destroy(struct l7_module *m);

/* Feed one packet of flow f (caller holds f's shard lock). Allocates the
 * flow's detection state on first use (counted in the cache's memory; when
 * the cap is hit the flow stays Unknown), sets f->l7 and frees the state once
 * the result is final. Returns 1 when f->l7 changed, else 0. Capture thread. */
int l7_flow_packet(struct l7_module *m, struct cache *c, struct flow *f,
                   const struct decoded_pkt *p, uint64_t ts_us);

/* Final answer for a flow that ends undetected (nDPI's guess), then free the
 * state. Returns 1 when f->l7 changed. Capture thread. */
int l7_flow_finish(struct l7_module *m, struct cache *c, struct flow *f);

/* Free f's detection state without deciding (cache teardown). */
void l7_flow_release(struct flow *f);

/* Bytes of nDPI state per flow under detection. */
size_t l7_state_size(void);

#endif
