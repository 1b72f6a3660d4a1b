/* test_l7_tcp.c - capture/flow/l7_tcp.c against nDPI 4.2 alone: every payload-less TCP segment it accounts leaves nDPI's whole flow state as nDPI itself would, and each rule that sends a segment to nDPI is needed (single thread). */
#include <arpa/inet.h>
#include <ndpi_api.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/flow/l7_quick.h"
#include "capture/flow/l7_tcp.h"
#include "tests/unit/check.h"

/* One TCP connection: client cli:40000, server srv:port (IPv6 when the text has a colon). */
struct conn {
    const char *cli, *srv;
    uint16_t port;
};

static void put16(uint8_t *b, size_t v)
{
    b[0] = (uint8_t)(v >> 8);
    b[1] = (uint8_t)v;
}

static void put32(uint8_t *b, uint32_t v)
{
    put16(b, v >> 16);
    put16(b + 2, v & 0xffff);
}

/* An IP + TCP segment of c (server to client when back) with plen payload bytes
 * of 'x'; returns its size. */
static size_t seg(uint8_t *b, const struct conn *c, int back, uint8_t flags, uint32_t seq, uint32_t ack,
                  size_t plen)
{
    int v6 = strchr(c->srv, ':') != NULL;
    size_t ip = v6 ? 40 : 20, len = ip + 20 + plen;
    memset(b, 0, len);
    const char *s = back ? c->srv : c->cli, *d = back ? c->cli : c->srv;
    b[0] = v6 ? 0x60 : 0x45;
    put16(b + (v6 ? 4 : 2), v6 ? len - 40 : len);
    b[v6 ? 6 : 9] = IPPROTO_TCP;
    b[v6 ? 7 : 8] = 64;
    inet_pton(v6 ? AF_INET6 : AF_INET, s, b + (v6 ? 8 : 12));
    inet_pton(v6 ? AF_INET6 : AF_INET, d, b + (v6 ? 24 : 16));
    uint8_t *t = b + ip;
    put16(t, back ? c->port : 40000);
    put16(t + 2, back ? 40000 : c->port);
    put32(t + 4, seq);
    put32(t + 8, ack);
    t[12] = 5 << 4;
    t[13] = flags;
    put16(t + 14, 0xffff);
    memset(t + 20, 'x', plen);
    return len;
}

enum { SYN = 0x02, ACK = 0x10, SYNACK = 0x12, FINACK = 0x11, RST = 0x04, PSHACK = 0x18 };

static struct ndpi_detection_module_struct *ndpi;
static struct l7_tcp shortcut;
static struct l7_quick quick;        /* the address table l7_tcp_syn reads */
static unsigned long now_ms = 1000;
static const struct conn *cur;       /* the connection being fed, for messages */

/* Feeds segment b (len) to flow state fs: the shortcut on a copy, nDPI on fs.
 * Checks the shortcut took it exactly when want says, and that when it did the
 * copy equals what nDPI left (the answer staying unknown). Returns what the
 * shortcut did. */
static int feed(struct ndpi_flow_struct *fs, const uint8_t *b, size_t len, int want)
{
    size_t sz = ndpi_detection_get_sizeof_ndpi_flow_struct();
    struct ndpi_flow_struct *copy = malloc(sz);
    memcpy(copy, fs, sz);
    now_ms += 7;
    int took = fs->num_processed_pkts == 0 ? l7_tcp_syn(&shortcut, &quick, copy, b, (uint16_t)len, now_ms)
                                           : l7_tcp_skip(&shortcut, copy, b, (uint16_t)len, now_ms);
    ndpi_protocol r = ndpi_detection_process_packet(ndpi, fs, b, (unsigned short)len, now_ms);
    CHECK_INT(took, want);
    if (took != want)
        fprintf(stderr, "  %s -> %s:%u, segment %zu bytes, flags 0x%02x: shortcut %d, want %d\n",
                cur ? cur->cli : "", cur ? cur->srv : "", cur ? cur->port : 0, len,
                b[(b[0] >> 4) == 6 ? 53 : 33], took, want);
    if (took) {
        CHECK(memcmp(copy, fs, sz) == 0);
        CHECK_INT(r.app_protocol, NDPI_PROTOCOL_UNKNOWN);
        CHECK_INT(r.master_protocol, NDPI_PROTOCOL_UNKNOWN);
    }
    free(copy);
    return took;
}

static struct ndpi_flow_struct *flow_new(void)
{
    size_t sz = ndpi_detection_get_sizeof_ndpi_flow_struct();
    struct ndpi_flow_struct *fs = ndpi_flow_malloc(sz);
    memset(fs, 0, sz);
    return fs;
}

/* A handshake, pure ACKs, FIN and RST of c: all taken when want. */
static void handshake(const struct conn *c, int want)
{
    cur = c;
    uint8_t b[200];
    struct ndpi_flow_struct *fs = flow_new();
    feed(fs, b, seg(b, c, 0, SYN, 1000, 0, 0), want);
    feed(fs, b, seg(b, c, 1, SYNACK, 5000, 1001, 0), want);
    feed(fs, b, seg(b, c, 0, ACK, 1001, 5001, 0), want);
    feed(fs, b, seg(b, c, 0, ACK, 1001, 5001, 0), want);
    feed(fs, b, seg(b, c, 1, FINACK, 5001, 1001, 0), want);
    feed(fs, b, seg(b, c, 0, RST, 1001, 0, 0), want);
    feed(fs, b, seg(b, c, 1, ACK, 5002, 1001, 0), want);
    if (want)
        CHECK(fs->l4.tcp.seen_syn && fs->l4.tcp.seen_syn_ack && fs->l4.tcp.seen_ack);
    ndpi_free_flow(fs);
}

TEST_CASE(handshake_same_as_ndpi)
{
    static const struct conn cs[] = {
        { "10.0.0.1", "10.0.0.2", 443 }, { "10.0.0.1", "10.0.0.2", 80 }, { "10.0.0.1", "10.0.0.2", 5222 },
        { "10.0.0.1", "10.0.0.2", 27030 }, { "10.0.0.1", "10.0.0.2", 1 }, { "fd00::1", "fd00::2", 443 },
        { "fd00::1", "fd00::2", 5201 }, { "10.0.0.9", "10.0.0.2", 655 },
        { "10.0.0.1", "8.8.8.8", 443 },    /* the address guess: Google */
        { "10.0.0.3", "8.8.8.8", 8443 },   /* the same address from the table */
    };
    for (size_t i = 0; i < sizeof(cs) / sizeof(cs[0]); i++)
        handshake(&cs[i], 1);
    /* TARGUS_GETDATA detects IPv4 ports 5201 and 5001, TeamViewer its
     * addresses, on the SYN: nothing left to skip */
    static const struct conn detected[] = {
        { "10.0.0.1", "10.0.0.2", 5201 }, { "10.0.0.1", "10.0.0.2", 5001 }, { "10.0.0.1", "178.77.120.5", 443 },
        { "95.211.37.199", "10.0.0.2", 443 },
    };
    for (size_t i = 0; i < sizeof(detected) / sizeof(detected[0]); i++)
        handshake(&detected[i], 0);
}

/* A handshake missing its SYN, a payload segment and a repeated lone SYN
 * (which resets an undetected flow in nDPI) go to nDPI. */
TEST_CASE(segments_left_to_ndpi)
{
    cur = NULL;
    static const struct conn c = { "10.0.0.1", "10.0.0.2", 8443 };
    uint8_t b[200];
    struct ndpi_flow_struct *fs = flow_new();
    feed(fs, b, seg(b, &c, 0, SYN, 1000, 0, 0), 1);
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 1);
    feed(fs, b, seg(b, &c, 0, PSHACK, 1001, 5001, 3), 0);
    feed(fs, b, seg(b, &c, 0, SYN, 1000, 0, 0), 0);
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 1);
    /* a segment cut short of what its IP header says */
    size_t len = seg(b, &c, 0, ACK, 1001, 5001, 0);
    feed(fs, b, len - 1, 0);
    ndpi_free_flow(fs);

    /* a flow first seen at its SYN-ACK: not a lone SYN */
    fs = flow_new();
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
    feed(fs, b, seg(b, &c, 0, ACK, 1001, 5001, 0), 1);
    ndpi_free_flow(fs);

    /* mid-stream: the first segment has payload; eDonkey, GoogleHangout and
     * TARGUS exclude themselves on it as well */
    fs = flow_new();
    feed(fs, b, seg(b, &c, 0, PSHACK, 1001, 5001, 30), 0);
    feed(fs, b, seg(b, &c, 1, ACK, 5001, 1031, 0), 1);
    ndpi_free_flow(fs);
}

/* Each per-dissector rule: a state where the dissector would change the flow
 * makes the shortcut step aside (and nDPI does change it). */
TEST_CASE(dissector_rules_needed)
{
    cur = NULL;
    static const struct conn c = { "10.0.0.1", "10.0.0.2", 8443 };
    uint8_t b[200];
    size_t sz = ndpi_detection_get_sizeof_ndpi_flow_struct();
    struct ndpi_flow_struct *base = flow_new(), *fs = flow_new();
    feed(base, b, seg(b, &c, 0, SYN, 1000, 0, 0), 1);

    /* Steam resets a started stage on a segment the other way */
    memcpy(fs, base, sz);
    fs->steam_stage = 1;
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
    CHECK_INT(fs->steam_stage, 0);

    /* Jabber and Steam exclude themselves past 5 and 10 payload packets */
    memcpy(fs, base, sz);
    fs->packet_counter = 6;
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
    CHECK(NDPI_COMPARE_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_JABBER));
    memcpy(fs, base, sz);
    NDPI_ADD_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_JABBER);
    fs->packet_counter = 11;
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
    CHECK(NDPI_COMPARE_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, NDPI_PROTOCOL_STEAM));

    /* eDonkey, GoogleHangout and TARGUS exclude themselves on any such segment */
    static const uint16_t excl[] = { NDPI_PROTOCOL_EDONKEY, NDPI_PROTOCOL_HANGOUT_DUO,
                                     NDPI_PROTOCOL_TARGUS_GETDATA };
    for (size_t i = 0; i < sizeof(excl) / sizeof(excl[0]); i++) {
        memcpy(fs, base, sz);
        NDPI_DEL_PROTOCOL_FROM_BITMASK(fs->excluded_protocol_bitmask, excl[i]);
        feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
        CHECK(NDPI_COMPARE_PROTOCOL_TO_BITMASK(fs->excluded_protocol_bitmask, excl[i]));
    }

    /* TeamViewer detects on its address ranges */
    static const struct conn tv = { "10.0.0.1", "178.77.120.5", 8443 };
    memcpy(fs, base, sz);
    feed(fs, b, seg(b, &tv, 1, SYNACK, 5000, 1001, 0), 0);
    CHECK_INT(fs->detected_protocol_stack[0], NDPI_PROTOCOL_TEAMVIEWER);

    /* the number of packets nDPI dissects ends at 32 */
    memcpy(fs, base, sz);
    fs->num_processed_pkts = NDPI_MAX_NUM_PKTS_PER_FLOW_TO_DISSECT;
    feed(fs, b, seg(b, &c, 1, SYNACK, 5000, 1001, 0), 0);
    ndpi_free_flow(fs);
    ndpi_free_flow(base);
}

int main(void)
{
    ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!ndpi)
        return 1;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(ndpi, &all);
    ndpi_finalize_initialization(ndpi);
    l7_tcp_init(&shortcut, ndpi);
    l7_quick_init(&quick, ndpi);
    CHECK(shortcut.usable);
    RUN(handshake_same_as_ndpi);
    RUN(segments_left_to_ndpi);
    RUN(dissector_rules_needed);
    ndpi_exit_detection_module(ndpi);
    return CHECK_DONE("test_l7_tcp");
}
