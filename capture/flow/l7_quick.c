/* l7_quick.c - nDPI 4.2's verdict on a DNS query or RADIUS message that opens a flow, computed without nDPI's per-flow state (capture threads). */
#include "capture/flow/l7_quick.h"
#include "capture/cache/names.h"

#include <ctype.h>
#include <ndpi_api.h>
#include <netinet/in.h>
#include <string.h>

/*
 * What ndpi_detection_process_packet (nDPI 4.2, ndpi_main.c and
 * protocols/dns.c) does with the first packet of a fresh flow when that packet
 * is a standard DNS query from a client port (above 53, neither 5353 nor 5355)
 * to UDP port 53, step by step, and what of it decides the answer:
 *  - ndpi_do_guess: the port guess looks the lower port up first, so 53 gives
 *    DNS (l7_quick_usable checks it once); the address guess
 *    (guessed_host_protocol_id: the address tree of ndpi_content_match.c.inc,
 *    source address and port, then destination) is kept for later;
 *  - the guessed protocol's dissector runs first, and ndpi_search_dns detects
 *    every query search_valid_dns accepts: it rebuilds the query name, keeps
 *    its last 79 characters (host_server_name), matches them against the host
 *    automaton (ndpi_match_string_subprotocol: "DNS.Facebook") and the category
 *    lists (ndpi_get_custom_category_match: a hit there makes it plain DNS),
 *    and sets the flow's (app, master) pair;
 *  - ndpi_int_change_protocol turns an app protocol without master that has
 *    subprotocols (DNS has) into (address guess, app) when the address guess
 *    is another protocol: "DNS.Google" for an unknown name sent to 8.8.8.8;
 *  - the detected protocol's subprotocol dissectors run (DNS has none);
 *  - ndpi_reconcile_protocols changes the answer only for Skype and Teams,
 *    through a cache other flows fill: those answers are left to nDPI.
 * The rest (DGA check, risks, categories, the reply's metadata) never reaches
 * the protocol id flowcached keeps.
 *
 * A RADIUS message to or from UDP port 1812, 1813 or 18013 whose ports nDPI
 * guesses as RADIUS takes the same road with protocols/radius.c: its dissector
 * runs first and detects RADIUS (no master) when the length and code fit;
 * RADIUS has no subprotocols, so the address guess leaves it alone.
 * tests/unit/test_l7.c compares both with nDPI alone.
 */

enum { DNS_PORT = 53, MDNS_PORT = 5353, LLMNR_PORT = 5355, DNS_HEADER = 12, DNS_MAX_REQUESTS = 16,
       RADIUS_PORT = 1812, RADIUS_ACC_PORT = 1813, RADIUS_ALT_PORT = 18013, RADIUS_MIN = 20,
       RADIUS_MAX = 4096, RADIUS_CODE_MAX = 13, UDP_HEADER = 8, QNAME_MAX_LEN = 255,
       HOST_MAX_LEN = sizeof(((struct ndpi_flow_struct *)0)->host_server_name) - 1 };
_Static_assert((int)HOST_MAX_LEN <= (int)L7_QUICK_NAME_MAX, "a table entry holds any host name nDPI keeps");

/* nDPI's dns_validchar: [A-Za-z0-9_-] */
static const uint32_t dns_validchar[8] = { 0x00000000, 0x03ff2000, 0x87fffffe, 0x07fffffe, 0, 0, 0, 0 };

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

void l7_quick_init(struct l7_quick *q, struct ndpi_detection_module_struct *n)
{
    u_int8_t user = 0;
    q->ndpi = n;
    q->usable = ndpi_get_ndpi_num_custom_protocols(n) == 0
        && ndpi_guess_protocol_id(n, NULL, IPPROTO_UDP, DNS_PORT, DNS_PORT, &user) == NDPI_PROTOCOL_DNS
        && user == 0;
    for (int c = 0; c < 256; c++) {
        q->lower[c] = (char)tolower(c);
        if (dns_validchar[c >> 5] & (1u << (c & 0x1f)))
            q->name_char[c] = (char)tolower(c);
        else
            q->name_char[c] = isprint(c) ? '_' : '?';
    }
}

/* 1 when search_valid_dns takes the message d (at least DNS_HEADER bytes) for a valid query. */
static int dns_query_valid(const uint8_t *d)
{
    uint16_t flags = be16(d + 2), queries = be16(d + 4), answers = be16(d + 6), authority = be16(d + 8);
    if (flags & 0x8000)
        return 0;                    /* a response: nDPI's other path */
    return queries <= DNS_MAX_REQUESTS
        && ((flags & 0x2800) == 0x2800 || (flags & 0xFCF0) == 0 || (flags & 0xFCFF) == 0x0800
            || (answers == 0 && authority == 0));
}

/* The query name exactly as ndpi_search_dns rebuilds it (lower case, '_' and
 * '?' for other characters, empty when a label does not fit); returns its length. */
static int dns_query_name(const struct l7_quick *q, const uint8_t *pl, unsigned plen,
                          char name[QNAME_MAX_LEN + 1])
{
    int j = 0;
    unsigned off = DNS_HEADER;
    while (j < QNAME_MAX_LEN && off < plen && pl[off] != 0) {
        uint8_t cl = pl[off++];
        if ((cl & 0xc0) != 0 || off + cl >= plen) {
            j = 0;
            break;
        }
        if (j && j < QNAME_MAX_LEN)
            name[j++] = '.';
        while (j < QNAME_MAX_LEN && cl != 0) {
            name[j++] = q->name_char[pl[off++]];
            cl--;
        }
    }
    name[j] = '\0';
    return j;
}

#ifdef L7_PROVE
/* Proof build (see l7.c): every answer taken from q's tables is compared with
 * nDPI's own lookup; the counts are printed at exit. */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
static _Atomic unsigned long prove_names, prove_addrs, prove_diff;
static void prove_report(void)
{
    fprintf(stderr, "l7_quick prove: %lu names, %lu addresses from the tables, %lu differ\n",
            (unsigned long)prove_names, (unsigned long)prove_addrs, (unsigned long)prove_diff);
}
static void prove_once(void)
{
    static _Atomic int once;
    if (atomic_exchange(&once, 1) == 0)
        atexit(prove_report);
}
#endif

/*
 * The address tree's answer for an IPv4 address (network order, with its
 * port), from q's table when asked before. ndpi_network_port_ptree_match
 * compares the port only with nodes an "ip:addr:port@proto" rule added
 * (additional_user_value); nDPI's own address lists add none and flowcached
 * loads no rules, so the answer depends on the address alone, and the tree
 * does not change after ndpi_finalize_initialization.
 */
static uint16_t addr_guess(struct l7_quick *q, const uint8_t *a4, const uint8_t *port)
{
    uint32_t a;
    uint16_t p;
    memcpy(&a, a4, 4);
    memcpy(&p, port, 2);
    struct l7_quick_addr *e = &q->addrs[(a * 0x9E3779B1u) >> 16 & (L7_QUICK_ADDRS - 1)];
    struct in_addr ia = { .s_addr = a };
    if (e->used && e->addr == a) {
#ifdef L7_PROVE
        prove_once();
        prove_addrs++;
        prove_diff += ndpi_network_port_ptree_match(q->ndpi, &ia, p) != e->id;
#endif
        return e->id;
    }
    uint16_t id = ndpi_network_port_ptree_match(q->ndpi, &ia, p);
    *e = (struct l7_quick_addr){ .addr = a, .id = id, .used = 1 };
    return id;
}

uint16_t l7_quick_host_guess(struct l7_quick *q, const uint8_t *l3, const uint8_t *l4)
{
    if (l3[0] >> 4 != 4)
        return NDPI_PROTOCOL_UNKNOWN;    /* nDPI 4.2 guesses IPv4 addresses only */
    uint16_t id = addr_guess(q, l3 + 12, l4);
    if (id == NDPI_PROTOCOL_UNKNOWN)
        id = addr_guess(q, l3 + 16, l4 + 2);
    return id;
}

/* The (app, master) pair ndpi_search_dns sets for the query name (j > 0 characters, host its tail). */
static uint16_t dns_name_app(struct ndpi_detection_module_struct *n, char *host, unsigned hl)
{
    ndpi_protocol_match_result match;
    memset(&match, 0, sizeof(match));
    int rc = ndpi_match_string_subprotocol(n, host, hl, &match);
    uint16_t app = rc > 0 ? (uint16_t)rc : NDPI_PROTOCOL_UNKNOWN;
    ndpi_protocol_category_t cat;
    if (ndpi_get_custom_category_match(n, host, hl, &cat) != -1)
        app = NDPI_PROTOCOL_DNS;
    return app;
}

/* dns_name_app's answer for host (hl characters), from q's table when asked
 * before: both lookups read automata fixed at ndpi_finalize_initialization. */
static uint16_t name_app(struct l7_quick *q, char *host, unsigned hl)
{
    uint64_t h = name_hash(NK_DNS, host, hl) | 1;   /* 0 marks an empty entry */
    struct l7_quick_name *e = &q->names[(h >> 32) & (L7_QUICK_NAMES - 1)];
    if (e->hash == h && e->len == hl && memcmp(e->name, host, hl) == 0) {
#ifdef L7_PROVE
        prove_once();
        prove_names++;
        prove_diff += dns_name_app(q->ndpi, host, hl) != e->app;
#endif
        return e->app;
    }
    uint16_t app = dns_name_app(q->ndpi, host, hl);
    e->hash = h;
    e->len = (uint8_t)hl;
    memcpy(e->name, host, hl);
    e->app = app;
    return app;
}

/* ndpi_int_change_protocol and what follows it in ndpi_detection_process_packet;
 * -1 where nDPI would go on in a way this file does not follow. */
static int quick_settle(struct l7_quick *q, uint16_t upper, uint16_t lower, const uint8_t *l3,
                        const uint8_t *udp)
{
    ndpi_proto_defaults_t *pd = ndpi_get_proto_defaults(q->ndpi);
    if (upper == NDPI_PROTOCOL_UNKNOWN && lower != NDPI_PROTOCOL_UNKNOWN)
        upper = lower;
    if (upper == lower)
        lower = NDPI_PROTOCOL_UNKNOWN;
    if (upper == NDPI_PROTOCOL_UNKNOWN || upper >= NDPI_MAX_SUPPORTED_PROTOCOLS)
        return -1;
    if (lower == NDPI_PROTOCOL_UNKNOWN && pd[upper].subprotocol_count > 0) {
        uint16_t host = l7_quick_host_guess(q, l3, udp);
        if (host >= NDPI_MAX_SUPPORTED_PROTOCOLS)
            return -1;
        if (host != NDPI_PROTOCOL_UNKNOWN && upper != host)
            upper = host;
    }
    for (uint32_t a = 0; a < pd[upper].subprotocol_count; a++)
        if (pd[upper].subprotocols[a] != (uint16_t)NDPI_PROTOCOL_MATCHED_BY_CONTENT)
            return -1;               /* nDPI would run that subprotocol's dissector */
    if (upper == NDPI_PROTOCOL_SKYPE_TEAMS || upper == NDPI_PROTOCOL_SKYPE_CALL)
        return -1;                   /* ndpi_reconcile_protocols' Teams cache */
    return upper;
}

/* A standard DNS query from a client port to port 53 (sport, dport; payload pl, plen bytes). */
static int quick_dns(struct l7_quick *q, const uint8_t *l3, const uint8_t *udp, const uint8_t *pl,
                     unsigned plen)
{
    if (plen <= DNS_HEADER || !dns_query_valid(pl))
        return -1;
    char name[QNAME_MAX_LEN + 1], host[HOST_MAX_LEN + 1];
    int j = dns_query_name(q, pl, plen, name);
    if (j == 0)
        return quick_settle(q, NDPI_PROTOCOL_DNS, NDPI_PROTOCOL_UNKNOWN, l3, udp);
    unsigned hl = (unsigned)j < HOST_MAX_LEN ? (unsigned)j : HOST_MAX_LEN;
    for (unsigned i = 0; i < hl; i++)
        host[i] = q->lower[(unsigned char)name[(unsigned)j - hl + i]];
    host[hl] = '\0';
    uint16_t app = name_app(q, host, hl);
    return quick_settle(q, app, NDPI_PROTOCOL_DNS, l3, udp);
}

/* A RADIUS message nDPI's guess sends to its RADIUS dissector first. */
static int quick_radius(struct l7_quick *q, const uint8_t *l3, const uint8_t *udp, const uint8_t *pl,
                        unsigned plen)
{
    uint16_t sport = be16(udp), dport = be16(udp + 2);
    u_int8_t user = 0;
    if (plen < RADIUS_MIN || plen > RADIUS_MAX || pl[0] == 0 || pl[0] > RADIUS_CODE_MAX || be16(pl + 2) != plen
        || ndpi_guess_protocol_id(q->ndpi, NULL, IPPROTO_UDP, sport, dport, &user) != NDPI_PROTOCOL_RADIUS
        || user != 0)
        return -1;
    return quick_settle(q, NDPI_PROTOCOL_RADIUS, NDPI_PROTOCOL_UNKNOWN, l3, udp);
}

static int radius_port(uint16_t port)
{
    return port == RADIUS_PORT || port == RADIUS_ACC_PORT || port == RADIUS_ALT_PORT;
}

int l7_quick_answer(struct l7_quick *q, const uint8_t *l3, uint16_t len)
{
    const u_int8_t *l4;
    u_int16_t l4len;
    u_int8_t proto;
    if (!q->usable || !l3 || ndpi_detection_get_l4(l3, len, &l4, &l4len, &proto, 0) != 0
        || proto != IPPROTO_UDP || l4len <= UDP_HEADER)
        return -1;
    uint16_t sport = be16(l4), dport = be16(l4 + 2);
    const uint8_t *pl = l4 + UDP_HEADER;
    unsigned plen = l4len - UDP_HEADER;
    if (dport == DNS_PORT && sport > DNS_PORT && sport != MDNS_PORT && sport != LLMNR_PORT)
        return quick_dns(q, l3, l4, pl, plen);
    if (radius_port(sport) || radius_port(dport))
        return quick_radius(q, l3, l4, pl, plen);
    return -1;
}
