/* l7_quick.h - nDPI 4.2's verdict on a flow's first packet, computed without its per-flow state when the packet is one whose whole detection path is known (capture threads). */
#ifndef FC_L7_QUICK_H
#define FC_L7_QUICK_H

#include <stdint.h>

struct ndpi_detection_module_struct;

/* Answers of nDPI's fixed tables kept for the next packets that ask the same
 * (sizes: powers of two). */
enum { L7_QUICK_NAMES = 4096, L7_QUICK_NAME_MAX = 79, L7_QUICK_ADDRS = 4096 };

/* The (app) answer of the host-name automaton and category lists for one name. */
struct l7_quick_name {
    uint64_t hash;                   /* 0: empty */
    uint16_t app;
    uint8_t len;
    char name[L7_QUICK_NAME_MAX];
};

/* The address tree's answer for one IPv4 address (any port: see l7_quick.c). */
struct l7_quick_addr {
    uint32_t addr;                   /* network order */
    uint16_t id;
    uint16_t used;
};

/* What the shortcut needs of one nDPI module, built once by l7_quick_init. */
struct l7_quick {
    struct ndpi_detection_module_struct *ndpi;
    int usable;                      /* the module is set up as the shortcut assumes */
    char name_char[256];             /* what ndpi_search_dns writes for a query-name byte */
    char lower[256];                 /* tolower() in this process's locale */
    struct l7_quick_name names[L7_QUICK_NAMES];
    struct l7_quick_addr addrs[L7_QUICK_ADDRS];
};

/* Fill q for module n (after ndpi_finalize_initialization): usable when n
 * holds nDPI's own protocol and address tables only and guesses UDP port 53
 * as DNS. Capture thread that owns n. */
void l7_quick_init(struct l7_quick *q, struct ndpi_detection_module_struct *n);

/* The protocol id ndpi_detection_process_packet would answer (app protocol,
 * else master) when the IP packet l3 (len bytes, the same bytes it would be
 * given) is the first packet a fresh ndpi_flow_struct sees and is either a
 * standard DNS query from a client port to UDP port 53 or a RADIUS message
 * nDPI's RADIUS dissector takes on its first try. Returns -1 for any other
 * packet, or when nDPI's answer would depend on more than this packet (then
 * the caller runs nDPI). Reads q's module only and keeps the answers of its
 * name and address tables in q; no allocation. Capture thread that owns the
 * module. */
int l7_quick_answer(struct l7_quick *q, const uint8_t *l3, uint16_t len);

/* nDPI 4.2's guessed_host_protocol_id for the IP packet l3 whose transport
 * header (its two ports first) is l4: the address tree's answer for the
 * source address with its port, else for the destination's; unknown for
 * IPv6. The answers are kept in q's table. Capture thread that owns the
 * module. */
uint16_t l7_quick_host_guess(struct l7_quick *q, const uint8_t *l3, const uint8_t *l4);

#endif
