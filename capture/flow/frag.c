/* frag.c - a capture thread's IP fragment table: ports of first fragments for the later ones (capture thread). */
#include "capture/flow/frag.h"

#include <string.h>

#include "capture/cache/cache.h"

enum { FRAG_TTL_US = 30000000 };

static struct frag_slot *frag_slot_of(struct frag_slot *frags, const struct decoded_pkt *p)
{
    uint64_t h = host_key_hash(p->ip_version, p->src) ^ (host_key_hash(p->ip_version, p->dst) >> 1);
    h ^= (uint64_t)p->frag_id * 0x9e3779b97f4a7c15ULL ^ p->l4_proto;
    return &frags[(h >> 7) & (FRAG_SLOTS - 1)];
}

int frag_resolve(struct frag_slot frags[FRAG_SLOTS], struct decoded_pkt *p, uint64_t ts)
{
    struct frag_slot *fs = frag_slot_of(frags, p);
    if (p->frag_first) {
        memcpy(fs->src, p->src, 16);
        memcpy(fs->dst, p->dst, 16);
        fs->id = p->frag_id;
        fs->proto = p->l4_proto;
        fs->sport = p->sport;
        fs->dport = p->dport;
        fs->ts_us = ts;
        fs->used = p->has_ports;
        return 0;
    }
    if (fs->used && fs->id == p->frag_id && fs->proto == p->l4_proto &&
        memcmp(fs->src, p->src, 16) == 0 && memcmp(fs->dst, p->dst, 16) == 0 &&
        ts - fs->ts_us < FRAG_TTL_US) {
        p->sport = fs->sport;
        p->dport = fs->dport;
        p->has_ports = 1;
        return 0;
    }
    return -1;
}
