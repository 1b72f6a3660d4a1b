/* l7_tcp.c - payload-less TCP segments of a flow nDPI 4.2 is still detecting, accounted in its flow state without its dissectors (capture threads). */
#include "capture/flow/l7_tcp.h"

#include "capture/flow/l7_quick.h"

#include <arpa/inet.h>
#include <ndpi_api.h>
#include <netinet/in.h>
#include <string.h>

/*
 * A TCP flow's handshake and its later pure ACKs cost nDPI 4.2 as much as a
 * short packet with payload: ndpi_detection_process_packet runs its
 * connection tracking, then walks callback_buffer_tcp_no_payload comparing
 * two protocol bitmasks per entry and calls the dissectors there. What that
 * walk can do to a flow that nDPI has seen before (protocol guessed, first
 * packet done) and not yet detected, for a segment without payload and
 * without a lone SYN (a lone SYN resets an undetected flow in
 * ndpi_init_packet), by dissector (protocols/<name>.c):
 *  - eDonkey, GoogleHangout (IPv4 only), TARGUS_GETDATA: exclude themselves
 *    (TARGUS detects on ports 5201/5001): the shortcut needs them excluded
 *    already, as the flow's first payload-less packet leaves them;
 *  - Jabber: excludes itself once the flow's payload packet count is over 5,
 *    else nothing;
 *  - Steam: excludes itself over 10 payload packets, else parses no lines
 *    (payload under 3 bytes) and resets a started handshake stage: nothing
 *    when the stage is 0;
 *  - TeamViewer: detects on its IPv4 address ranges, else nothing;
 *  - Telegram: nothing; TINC (IPv4 only): records addresses on a lone SYN,
 *    else nothing.
 * All eight take unknown flows (SAVE_DETECTION_BITMASK_AS_UNKNOWN). The
 * guessed protocol's own dissector runs first when its selection takes
 * payload-less TCP: only these eight do, and nDPI's non-TCP/UDP ones, for
 * which the shortcut is off (guess_runs). The subprotocols of "unknown" (none), the answer
 * (unknown), category, risk and reconciliation steps change nothing for an
 * unknown answer. What is left is what l7_tcp_skip does: the packet count,
 * l4 protocol, addresses, ports, time and the SYN/ACK and sequence tracking
 * of ndpi_connection_tracking, whose payload counters a payload-less segment
 * leaves alone. tests/unit/test_l7.c compares the whole flow state with
 * nDPI's after each such segment.
 */

enum { TCP_MIN = 20 };

void l7_tcp_init(struct l7_tcp *t, struct ndpi_detection_module_struct *n)
{
    const char *rev = ndpi_revision();
    const ndpi_proto_defaults_t *d = ndpi_get_proto_defaults(n);
    t->ndpi = n;
    t->usable = rev && strncmp(rev, "4.2", 3) == 0 && (rev[3] == '\0' || rev[3] == '.' || rev[3] == '-')
        && d && d[NDPI_PROTOCOL_UNKNOWN].subprotocol_count == 0 && ndpi_get_ndpi_num_custom_protocols(n) == 0;
}

/* 1 when a flow guessed as protocol g runs g's dissector on payload-less
 * TCP and g is not among the eight: nDPI's non-TCP/UDP protocols, whose
 * dissector selects any IP packet (protocols/non_tcp_udp.c). */
static int guess_runs(uint16_t g)
{
    return (g >= NDPI_PROTOCOL_IP_IPSEC && g <= NDPI_PROTOCOL_IP_IP_IN_IP) || g == NDPI_PROTOCOL_IP_ICMPV6;
}

/* 1 when v4 (an IPv4 header) has an address in TeamViewer's ranges (protocols/teamviewer.c). */
static int teamviewer_addr(const struct ndpi_iphdr *v4)
{
    uint32_t s = ntohl(v4->saddr), d = ntohl(v4->daddr);
    return (s >= 1607673283u && s <= 1607673291u) || (d >= 1607673283u && d <= 1607673291u)
        || (s & 0xFFFFFF80u) == 0xB24D7800u || (d & 0xFFFFFF80u) == 0xB24D7800u;
}

/* 1 when each of the eight dissectors, about to run on a payload-less
 * non-SYN segment of fs (v4: its IPv4 header, NULL for IPv6), is excluded
 * for fs or leaves it as it is (see the list above; GoogleHangout and TINC
 * select IPv4 packets only, Telegram and TINC never change such a flow). */
static int dissectors_inert(const struct ndpi_flow_struct *fs, const struct ndpi_iphdr *v4)
{
#define EXCLUDED(id) NDPI_COMPARE_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, id)
    if (!EXCLUDED(NDPI_PROTOCOL_EDONKEY) || !EXCLUDED(NDPI_PROTOCOL_TARGUS_GETDATA)
        || (v4 && !EXCLUDED(NDPI_PROTOCOL_HANGOUT_DUO)))
        return 0;
    if (fs->packet_counter > 5 && !EXCLUDED(NDPI_PROTOCOL_JABBER))
        return 0;
    if ((fs->packet_counter > 10 || fs->steam_stage != 0) && !EXCLUDED(NDPI_PROTOCOL_STEAM))
        return 0;
    return !v4 || EXCLUDED(NDPI_PROTOCOL_TEAMVIEWER) || !teamviewer_addr(v4);
#undef EXCLUDED
}

/* ndpi_connection_tracking for a payload-less TCP segment th (v4: its IPv4
 * header or NULL for IPv6), with direction_detect_disable off. */
static void track(struct ndpi_flow_struct *fs, const struct ndpi_iphdr *v4, const struct ndpi_tcphdr *th,
                  uint64_t time_ms)
{
    unsigned dir = ntohs(th->source) < ntohs(th->dest) ? 1 : 0;
    fs->is_ipv6 = v4 == NULL;
    if (v4) {
        fs->saddr = v4->saddr;
        fs->daddr = v4->daddr;
    }
    fs->last_packet_time_ms = time_ms;
    fs->sport = th->source;
    fs->dport = th->dest;
    struct ndpi_flow_tcp_struct *tc = &fs->l4.tcp;
    if (th->syn && !th->ack && !tc->seen_syn && !tc->seen_syn_ack && !tc->seen_ack)
        tc->seen_syn = 1;
    else if (th->syn && th->ack && tc->seen_syn && !tc->seen_syn_ack && !tc->seen_ack)
        tc->seen_syn_ack = 1;
    else if (!th->syn && th->ack && tc->seen_syn && tc->seen_syn_ack && !tc->seen_ack)
        tc->seen_ack = 1;
    if ((fs->next_tcp_seq_nr[0] == 0 || fs->next_tcp_seq_nr[1] == 0) && th->ack) {
        fs->next_tcp_seq_nr[dir] = ntohl(th->seq) + (th->syn ? 1 : 0);
        if (fs->num_processed_pkts > 1)
            fs->next_tcp_seq_nr[1 - dir] = ntohl(th->ack_seq);
    }
    if (th->rst) {
        fs->next_tcp_seq_nr[0] = 0;
        fs->next_tcp_seq_nr[1] = 0;
    }
}

int l7_tcp_skip(const struct l7_tcp *t, struct ndpi_flow_struct *fs, const uint8_t *l3, uint16_t len,
                uint64_t time_ms)
{
    if (!t->usable || fs->detected_protocol_stack[0] != NDPI_PROTOCOL_UNKNOWN
        || fs->detected_protocol_stack[1] != NDPI_PROTOCOL_UNKNOWN || fs->fail_with_unknown
        || fs->check_extra_packets || !fs->init_finished || !fs->protocol_id_already_guessed
        || fs->num_processed_pkts == 0 || fs->num_processed_pkts >= NDPI_MAX_NUM_PKTS_PER_FLOW_TO_DISSECT
        || guess_runs(fs->guessed_protocol_id))
        return 0;
    const uint8_t *l4;
    uint16_t l4len;
    uint8_t proto;
    if (ndpi_detection_get_l4(l3, len, &l4, &l4len, &proto, 0) != 0 || proto != IPPROTO_TCP || l4len < TCP_MIN)
        return 0;
    const struct ndpi_tcphdr *th = (const struct ndpi_tcphdr *)l4;
    if (l4len != th->doff * 4 || (th->syn && !th->ack))
        return 0;                    /* payload, a cut header or a lone SYN: nDPI's own path */
    const struct ndpi_iphdr *v4 = (l3[0] >> 4) == 4 ? (const struct ndpi_iphdr *)l3 : NULL;
    if (!dissectors_inert(fs, v4))
        return 0;
    fs->num_processed_pkts++;
    fs->l4_proto = IPPROTO_TCP;
    track(fs, v4, th, time_ms);
    return 1;
}

/*
 * A flow's opening SYN (no payload, no ACK) on a fresh state, step by step in
 * ndpi_detection_process_packet (nDPI 4.2, ndpi_main.c):
 *  - ndpi_init_packet: l4_proto (no reset: nothing seen yet);
 *  - ndpi_connection_tracking: the address direction (IPv4: source below
 *    destination; IPv6: always 1, see below) becomes
 *    setup_packet_direction, then addresses, ports, time and seen_syn; no
 *    sequence number (no ACK);
 *  - ndpi_do_guess: guessed_protocol_id from the port tree
 *    (ndpi_guess_protocol_id, with the IP header's protocol byte), the host
 *    guess (source address with its port, then destination; IPv4 only),
 *    guessed_header_category 0 (no custom protocols); a user-defined or
 *    custom guess goes to nDPI;
 *  - the dissectors that take payload-less TCP (the guessed protocol's runs
 *    first only when it is one of them): eDonkey, TARGUS (detects IPv4 ports
 *    5201 and 5001: nDPI's path) and, for IPv4, GoogleHangout exclude
 *    themselves; TeamViewer detects its address ranges (nDPI's path); TINC
 *    (IPv4) records source, destination and destination port; Jabber,
 *    Steam and Telegram do nothing;
 *  - the answer is unknown: no category, no first-packet give-up (the SYN
 *    flag is set), no risk, nothing to reconcile.
 */
int l7_tcp_syn(const struct l7_tcp *t, struct l7_quick *q, struct ndpi_flow_struct *fs, const uint8_t *l3,
               uint16_t len, uint64_t time_ms)
{
    const uint8_t *l4;
    uint16_t l4len;
    uint8_t proto;
    if (!t->usable || fs->num_processed_pkts != 0 || fs->init_finished
        || ndpi_detection_get_l4(l3, len, &l4, &l4len, &proto, 0) != 0 || proto != IPPROTO_TCP
        || l4len < TCP_MIN)
        return 0;
    const struct ndpi_tcphdr *th = (const struct ndpi_tcphdr *)l4;
    const struct ndpi_iphdr *v4 = (l3[0] >> 4) == 4 ? (const struct ndpi_iphdr *)l3 : NULL;
    if (l4len != th->doff * 4 || !th->syn || th->ack || (!v4 && l3[6] != IPPROTO_TCP))
        return 0;                    /* payload, not a lone SYN, or IPv6 extension headers */
    uint16_t sport = ntohs(th->source), dport = ntohs(th->dest);
    u_int8_t user = 0;
    uint16_t guess = ndpi_guess_protocol_id(t->ndpi, fs, IPPROTO_TCP, sport, dport, &user);
    if (user || guess >= NDPI_MAX_SUPPORTED_PROTOCOLS || guess_runs(guess))
        return 0;
    if (v4 && ((sport == 5201 || dport == 5201 || sport == 5001 || dport == 5001) || teamviewer_addr(v4)))
        return 0;                    /* TARGUS_GETDATA or TeamViewer detect it */
    uint16_t host = l7_quick_host_guess(q, l3, l4);   /* unknown for IPv6 */
    if (host >= NDPI_MAX_SUPPORTED_PROTOCOLS)
        return 0;
    /* IPv6: ndpi_connection_tracking hands NDPI_COMPARE_IPV6_ADDRESS_STRUCTS
     * two pointers, so it compares where the addresses lie in the header
     * (source first): always 1. */
    unsigned setup = v4 ? ntohl(v4->saddr) < ntohl(v4->daddr) : 1;
    fs->num_processed_pkts = 1;
    fs->l4_proto = IPPROTO_TCP;
    fs->init_finished = 1;
    fs->setup_packet_direction = setup;
    track(fs, v4, th, time_ms);      /* addresses, ports, time, seen_syn */
    fs->protocol_id_already_guessed = 1;
    fs->guessed_protocol_id = guess;
    fs->guessed_host_protocol_id = host;
    fs->guessed_header_category = NDPI_PROTOCOL_CATEGORY_UNSPECIFIED;
    NDPI_ADD_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_EDONKEY);
    NDPI_ADD_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_TARGUS_GETDATA);
    if (v4) {
        NDPI_ADD_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_HANGOUT_DUO);
        fs->tinc_cache_entry.src_address = v4->saddr;
        fs->tinc_cache_entry.dst_address = v4->daddr;
        fs->tinc_cache_entry.dst_port = th->dest;
    }
    return 1;
}
