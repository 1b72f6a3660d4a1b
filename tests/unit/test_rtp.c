/* test_rtp.c - byte-vector tests for dissectors/rtp.c: RTP/RTCP headers, RFC 3550 loss and jitter; tshark's RTP analysis on real streams (single thread). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/rtp.h"
#include "tests/unit/check.h"
#include "tests/unit/tshark_rows.h"

/* Writes a 12-byte RTP header (version 2) at b. */
static void put_rtp(uint8_t *b, uint8_t pt, uint16_t seq, uint32_t ts, uint32_t ssrc)
{
    b[0] = 0x80;
    b[1] = pt;
    b[2] = (uint8_t)(seq >> 8);
    b[3] = (uint8_t)seq;
    for (int i = 0; i < 4; i++) {
        b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
        b[8 + i] = (uint8_t)(ssrc >> (24 - 8 * i));
    }
}

TEST_CASE(rtp_headers)
{
    uint8_t b[64];
    struct rtp_hdr h;
    memset(b, 0xaa, sizeof(b));
    put_rtp(b, 0x80 | 8, 0x1234, 0xdeadbeef, 0x01020304);   /* marker, PCMA */
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_OK);
    CHECK_INT(h.marker, 1);
    CHECK_INT(h.pt, 8);
    CHECK_INT(h.seq, 0x1234);
    CHECK_INT(h.ts, 0xdeadbeef);
    CHECK_INT(h.ssrc, 0x01020304);
    CHECK_INT(h.hdr_len, 12);
    CHECK_INT(h.payload_len, 28);
    CHECK_INT(rtp_is_rtcp(b, 40), 0);
    /* 2 CSRCs, an extension of 1 word, 3 bytes of padding */
    put_rtp(b, 0, 1, 2, 3);
    b[0] = 0x80 | 0x20 | 0x10 | 2;
    memset(b + 12, 0, 8);
    b[20] = 0xbe;
    b[21] = 0xde;
    b[22] = 0;
    b[23] = 1;
    b[39] = 3;
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_OK);
    CHECK_INT(h.csrc_count, 2);
    CHECK_INT(h.extension, 1);
    CHECK_INT(h.hdr_len, 28);
    CHECK_INT(h.payload_len, 9);
    b[39] = 13;                                     /* padding into the header */
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_MALFORMED);
    b[39] = 12;                                     /* all of the payload */
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_OK);
    CHECK_INT(h.payload_len, 0);
    b[39] = 0;
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_MALFORMED);
    b[39] = 3;
    b[23] = 5;                                      /* extension past the end */
    CHECK_INT(rtp_parse(b, 40, &h), DISSECT_MALFORMED);
    for (size_t n = 0; n < 28; n++) {
        b[23] = 1;
        CHECK_INT(rtp_parse(b, n, &h), DISSECT_MALFORMED);
    }
    put_rtp(b, 0, 1, 2, 3);
    b[0] = 0x40;                                    /* version 1 */
    CHECK_INT(rtp_parse(b, 20, &h), DISSECT_MALFORMED);
    put_rtp(b, 200, 1, 2, 3);                       /* an RTCP SR (RFC 5761) */
    CHECK_INT(rtp_parse(b, 20, &h), DISSECT_MALFORMED);
    CHECK_INT(rtp_is_rtcp(b, 20), 1);
    put_rtp(b, 0x80 | 95, 1, 2, 3);                 /* 223: still RTCP's range */
    CHECK_INT(rtp_is_rtcp(b, 20), 1);
    put_rtp(b, 0x80 | 96, 1, 2, 3);
    CHECK_INT(rtp_is_rtcp(b, 20), 0);
    CHECK_INT(rtp_parse(b, 20, &h), DISSECT_OK);
}

/* An SR with one report block, then an SDES chunk and a BYE. */
static const uint8_t rtcp_compound[] = {
    0x81, 200, 0, 12,
    0x11, 0x22, 0x33, 0x44,                                 /* sender SSRC */
    0xe0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0x12, 0x34,            /* NTP, RTP timestamps */
    0, 0, 0, 50, 0, 0, 0x1f, 0x40,                          /* 50 packets, 8000 octets */
    0xaa, 0xbb, 0xcc, 0xdd, 0x40, 0xff, 0xff, 0xfe,         /* fraction 64/256, cumulative -2 */
    0, 1, 0, 99, 0, 0, 0, 45, 0, 0, 0, 0, 0, 0, 0, 0,       /* ext seq, jitter 45, LSR, DLSR */
    0x81, 202, 0, 2, 0x11, 0x22, 0x33, 0x44, 1, 1, 'x', 0,  /* SDES CNAME "x" */
    0x81, 203, 0, 1, 0x11, 0x22, 0x33, 0x44,                /* BYE */
};

TEST_CASE(rtcp_compound_packets)
{
    struct rtcp_info r;
    uint8_t b[sizeof(rtcp_compound) + 8];
    CHECK_INT(rtcp_parse(rtcp_compound, sizeof(rtcp_compound), &r), DISSECT_OK);
    CHECK_INT(r.packets, 3);
    CHECK_INT(r.first_pt, RTCP_PT_SR);
    CHECK_INT(r.ssrc, 0x11223344);
    CHECK_INT(r.has_sr, 1);
    CHECK_INT(r.sr_packets, 50);
    CHECK_INT(r.sr_octets, 8000);
    CHECK_INT(r.has_report, 1);
    CHECK_INT(r.rb_ssrc, 0xaabbccdd);
    CHECK_INT(r.rb_fraction_lost, 64);
    CHECK_INT(r.rb_cum_lost, -2);
    CHECK_INT(r.rb_ext_seq, 0x10063);
    CHECK_INT(r.rb_jitter, 45);
    CHECK_INT(r.has_bye, 1);
    CHECK_INT(rtp_is_rtcp(rtcp_compound, sizeof(rtcp_compound)), 1);
    for (size_t n = 0; n < sizeof(rtcp_compound); n++)
        if (n != 52 && n != 64 && rtcp_parse(rtcp_compound, n, &r) != DISSECT_MALFORMED)
            CHECK_FAIL_("cut at %zu parses", n);
    CHECK_INT(rtcp_parse(rtcp_compound, 52, &r), DISSECT_OK);   /* whole packets only */
    /* an RR without blocks first, padding on the last packet */
    static const uint8_t rr[] = { 0x80, 201, 0, 1, 0, 0, 0, 0, 0xa0, 203, 0, 2, 0, 0, 0, 9, 0, 0, 0, 4 };
    CHECK_INT(rtcp_parse(rr, sizeof(rr), &r), DISSECT_OK);
    CHECK_INT(r.first_pt, RTCP_PT_RR);
    CHECK_INT(r.has_report, 0);
    CHECK_INT(r.packets, 2);
    static const struct { size_t at; uint8_t val; } bad[] = {
        { 0, 0x41 },        /* version 1 */
        { 1, 191 },         /* not an RTCP type */
        { 1, 224 },
        { 3, 13 },          /* longer than the data */
        { 3, 5 },           /* SR shorter than its report block */
        { 0, 0xa1 },        /* padding on the first packet */
        { 52, 0x41 },       /* second packet version 1 */
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(b, rtcp_compound, sizeof(rtcp_compound));
        b[bad[i].at] = bad[i].val;
        if (rtcp_parse(b, sizeof(rtcp_compound), &r) != DISSECT_MALFORMED)
            CHECK_FAIL_("change %zu parses", i);
    }
    memcpy(b, rtcp_compound, sizeof(rtcp_compound));
    memset(b + sizeof(rtcp_compound), 0, 2);
    CHECK_INT(rtcp_parse(b, sizeof(rtcp_compound) + 2, &r), DISSECT_MALFORMED);   /* 2 stray bytes */
}

TEST_CASE(static_payload_types)
{
    CHECK_INT(rtp_pt_clock(0), 8000);
    CHECK_INT(rtp_pt_clock(8), 8000);
    CHECK_INT(rtp_pt_clock(9), 8000);                 /* G722's RTP clock, by RFC 3551 */
    CHECK_INT(rtp_pt_clock(34), 90000);
    CHECK_INT(rtp_pt_clock(96), 0);
    CHECK_INT(rtp_pt_clock(127), 0);
    CHECK_INT(rtp_pt_clock(255), 0);
    CHECK_STR(rtp_pt_name(0), "PCMU");
    CHECK_STR(rtp_pt_name(18), "G729");
    CHECK(rtp_pt_name(2) == NULL);
    CHECK(rtp_pt_name(101) == NULL);
}

/* Feeds one packet of ssrc with seq and ts, arriving at t_us. */
static int pkt(struct rtp_stream *s, uint16_t seq, uint32_t ts, int64_t t_us, uint32_t ssrc)
{
    struct rtp_hdr h;
    uint8_t b[32];
    put_rtp(b, 0, seq, ts, ssrc);
    if (rtp_parse(b, sizeof(b), &h) != DISSECT_OK)
        return -1;
    return rtp_stream_update(s, &h, t_us, 8000);
}

TEST_CASE(loss_and_wrap)
{
    struct rtp_stream s;
    rtp_stream_init(&s);
    CHECK_INT(sizeof(s), 64);
    CHECK_INT(rtp_stream_expected(&s), 0);
    CHECK_INT(pkt(&s, 65530, 0, 0, 7), 0);              /* probation */
    CHECK_INT(pkt(&s, 65531, 160, 20000, 7), 1);
    for (uint16_t q = 65532; q != 10; q++)              /* across the wrap */
        pkt(&s, q, 0, 0, 7);
    CHECK_INT(rtp_stream_lost(&s), 0);
    CHECK_INT(rtp_stream_expected(&s), 15);
    pkt(&s, 14, 0, 0, 7);                               /* 10..13 lost */
    CHECK_INT(rtp_stream_lost(&s), 4);
    pkt(&s, 11, 0, 0, 7);                               /* one arrives late */
    CHECK_INT(rtp_stream_lost(&s), 3);
    pkt(&s, 11, 0, 0, 7);                               /* a duplicate: counts as received */
    pkt(&s, 12, 0, 0, 7);
    pkt(&s, 13, 0, 0, 7);
    pkt(&s, 10, 0, 0, 7);
    pkt(&s, 10, 0, 0, 7);
    CHECK_INT(rtp_stream_lost(&s), 0);                  /* negative: reported as 0 */
    CHECK_INT(rtp_stream_packets(&s), 23);
}

TEST_CASE(jumps_and_new_sources)
{
    struct rtp_stream s;
    rtp_stream_init(&s);
    for (uint16_t q = 100; q < 110; q++)
        pkt(&s, q, 0, 0, 1);
    pkt(&s, 112, 0, 0, 1);
    CHECK_INT(rtp_stream_lost(&s), 2);
    CHECK_INT(pkt(&s, 30000, 0, 0, 1), 0);              /* a jump: held */
    CHECK_INT(pkt(&s, 113, 0, 0, 1), 1);                /* back in sequence */
    CHECK_INT(rtp_stream_lost(&s), 2);
    CHECK_INT(pkt(&s, 40000, 0, 0, 1), 0);
    CHECK_INT(pkt(&s, 40001, 0, 0, 1), 1);              /* a restart */
    CHECK_INT(rtp_stream_expected(&s), 1);
    CHECK_INT(rtp_stream_lost(&s), 2);                  /* the loss before the restart is kept */
    pkt(&s, 40005, 0, 0, 1);
    CHECK_INT(rtp_stream_lost(&s), 5);
    CHECK_INT(pkt(&s, 7, 0, 0, 2), 0);                  /* new SSRC: its probation */
    CHECK_INT(rtp_stream_lost(&s), 5);
    CHECK_INT(pkt(&s, 9, 0, 0, 2), 0);                  /* not in sequence: probation again */
    CHECK_INT(pkt(&s, 10, 0, 0, 2), 1);
    pkt(&s, 13, 0, 0, 2);
    CHECK_INT(rtp_stream_lost(&s), 7);
}

/* Reference jitter in floating point, as RFC 3550 A.8 writes it. */
TEST_CASE(jitter_matches_rfc)
{
    struct rtp_stream s;
    double j = 0, prev_transit = 0;
    uint32_t ts = 1000;
    int64_t t = 5000000;
    uint32_t seed = 1;
    rtp_stream_init(&s);
    for (int i = 0; i < 500; i++) {
        seed = seed * 1103515245u + 12345u;
        int64_t delay = (int64_t)(seed >> 16) % 9000;       /* 0-9 ms of network delay */
        int64_t arrival = t + delay;
        double transit = (double)arrival / 1e6 - (double)ts / 8000.0;
        if (i > 0) {
            double d = fabs(transit - prev_transit);
            j += (d - j) / 16;
        }
        prev_transit = transit;
        pkt(&s, (uint16_t)i, ts, arrival, 9);
        double got = (double)rtp_stream_jitter_us(&s), want = j * 1e6;
        if (fabs(got - want) > 2.0)
            CHECK_FAIL_("packet %d: jitter %.1f us, want %.1f", i, got, want);
        ts += 160;
        t += 20000;
    }
    CHECK(rtp_stream_jitter_us(&s) > 1000);
    /* perfectly paced packets: the jitter decays toward 0 */
    for (int i = 0; i < 200; i++, ts += 160, t += 20000)
        pkt(&s, (uint16_t)(500 + i), ts, t, 9);
    CHECK_INT(rtp_stream_jitter_us(&s), 0);
    /* clock 0: the jitter stays as it is; absurd times do not overflow */
    struct rtp_hdr h;
    uint8_t b[12];
    put_rtp(b, 96, 700, 0, 9);
    rtp_parse(b, sizeof(b), &h);
    rtp_stream_update(&s, &h, t + 123456789, 0);
    CHECK_INT(rtp_stream_jitter_us(&s), 0);
    put_rtp(b, 0, 701, 0x80000000u, 9);
    rtp_parse(b, sizeof(b), &h);
    rtp_stream_update(&s, &h, INT64_MAX, 1);
    put_rtp(b, 0, 702, 0, 9);
    rtp_parse(b, sizeof(b), &h);
    rtp_stream_update(&s, &h, INT64_MIN, 1);
    CHECK(rtp_stream_jitter_us(&s) <= ((uint64_t)1 << 40));
}

/* ---- real streams: tshark's RTP analysis (-z rtp,streams) as the oracle ---- */

#define STREAMS_MAX 16

struct rtp_case {
    int n;
    struct {
        char key[160];
        struct rtp_stream st;
        uint64_t max_jitter_us;
    } s[STREAMS_MAX];
};

static void rtp_row(void *arg, char **f, int nf)
{
    struct rtp_case *c = arg;
    uint8_t b[2048];
    struct rtp_hdr h;
    char key[160];
    long n = tshark_unhex(f[0], b, sizeof(b));
    if (n < 0 || rtp_parse(b, (size_t)n, &h) != DISSECT_OK) {
        CHECK_FAIL_("an RTP payload of %s does not parse", f[2]);
        return;
    }
    snprintf(key, sizeof(key), "%s %s %s %s 0x%08X", f[2], f[3], f[4], f[5], h.ssrc);
    int i = 0;
    while (i < c->n && strcmp(c->s[i].key, key) != 0)
        i++;
    if (i == c->n) {
        if (c->n == STREAMS_MAX)
            return;
        snprintf(c->s[c->n].key, sizeof(c->s[0].key), "%s", key);
        rtp_stream_init(&c->s[c->n++].st);
    }
    /* seconds with 9 decimals to microseconds, rounded */
    int64_t us = (int64_t)llround(strtold(f[1], NULL) * 1e6L);
    rtp_stream_update(&c->s[i].st, &h, us, rtp_pt_clock(h.pt));
    if (rtp_stream_jitter_us(&c->s[i].st) > c->s[i].max_jitter_us)
        c->s[i].max_jitter_us = rtp_stream_jitter_us(&c->s[i].st);
    (void)nf;
}

/* Checks one line of tshark's stream table against our stream of that key. */
static int rtp_check_line(struct rtp_case *c, char *line)
{
    char *tok[40];
    int nt = 0;
    for (char *t = strtok(line, " "); t && nt < 40; t = strtok(NULL, " "))
        tok[nt++] = t;
    int pct = 7;
    while (pct < nt && !strstr(tok[pct], "%)"))
        pct++;
    if (nt < 8 || pct + 6 >= nt)
        return 0;
    char key[160];
    snprintf(key, sizeof(key), "%s %s %s %s %s", tok[2], tok[3], tok[4], tok[5], tok[6]);
    for (int i = 0; i < c->n; i++) {
        if (strcmp(c->s[i].key, key) != 0)
            continue;
        double max_ms = strtod(tok[pct + 6], NULL);
        CHECK_INT(rtp_stream_packets(&c->s[i].st), atol(tok[pct - 2]));
        CHECK_INT(rtp_stream_lost(&c->s[i].st), atol(tok[pct - 1]));
        if (fabs((double)c->s[i].max_jitter_us - max_ms * 1000.0) > 2.0)
            CHECK_FAIL_("%s: max jitter %llu us, tshark %.3f ms", key,
                        (unsigned long long)c->s[i].max_jitter_us, max_ms);
        return 1;
    }
    CHECK_FAIL_("tshark's stream %s was not seen", key);
    return 0;
}

/* Compares our streams of path with tshark's; adds their loss to *lost
 * (may be NULL). Returns the streams that matched. */
static int rtp_compare(const char *path, uint64_t *lost)
{
    static struct rtp_case c;
    static const char *const fields[] = { "udp.payload", "frame.time_epoch", "ip.src", "udp.srcport", "ip.dst", "udp.dstport" };
    char cmd[1024], line[1024];
    int checked = 0;
    memset(&c, 0, sizeof(c));
    CHECK(tshark_rows(path, "-o rtp.heuristic_rtp:TRUE", "rtp && !icmp", 'l', fields, 6, rtp_row, &c) > 0);
    snprintf(cmd, sizeof(cmd), "tshark -n -o rtp.heuristic_rtp:TRUE -r '%s' -q -z rtp,streams 2>/dev/null", path);
    FILE *f = popen(cmd, "r");
    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "0x") && strstr(line, "%)"))
            checked += rtp_check_line(&c, line);
    pclose(f);
    for (int i = 0; lost && i < c.n; i++)
        *lost += rtp_stream_lost(&c.s[i].st);
    return checked;
}

static void shared_rtp_pcap(const char *rel, const char *path)
{
    int n = rtp_compare(path, NULL);
    CHECK(n > 0);
    printf("rtp: %s: %d streams match tshark (packets, lost, max jitter)\n", rel, n);
}

TEST_CASE(shared_rtp_streams)
{
    static const char *const pcaps[] = { "ndpi/sip.pcap", "ndpi-dev/rtp.pcapng" };
    static const char sipp[] = "/usr/share/sip-tester/g711a.pcap";
    tshark_each_shared("rtp", pcaps, sizeof(pcaps) / sizeof(pcaps[0]), shared_rtp_pcap);
    /* SIPp's own G.711 stream, when Debian's sip-tester is installed */
    if (!tshark_present() || access(sipp, R_OK) != 0)
        return;
    shared_rtp_pcap(sipp, sipp);
    /* the same with 6 packets dropped (editcap removes frames 10, 50-52, 100, 235) */
    char lossy[64], cmd[256];
    uint64_t lost = 0;
    snprintf(lossy, sizeof(lossy), "/tmp/fc-rtp-lossy-%d.pcap", (int)getpid());
    snprintf(cmd, sizeof(cmd), "editcap %s %s 10 50-52 100 235 >/dev/null 2>&1", sipp, lossy);
    if (system(cmd) != 0)
        return;
    CHECK_INT(rtp_compare(lossy, &lost), 1);
    CHECK_INT(lost, 6);
    printf("rtp: g711a.pcap without 6 packets: matches tshark, %llu lost\n", (unsigned long long)lost);
    unlink(lossy);
}

int main(void)
{
    RUN(rtp_headers);
    RUN(rtcp_compound_packets);
    RUN(static_payload_types);
    RUN(loss_and_wrap);
    RUN(jumps_and_new_sources);
    RUN(jitter_matches_rfc);
    RUN(shared_rtp_streams);
    return CHECK_DONE("rtp");
}
