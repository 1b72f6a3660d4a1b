/* test_frame_lane.c - fanout_frame_lane and decode_addrs against decode_packet + fanout_lane_of on real, generated, mutated and cut frames (single thread). */
#include <dirent.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture/decode/decode.h"
#include "capture/source/fanout.h"
#include "tests/unit/check.h"

static const int lane_counts[] = { 2, 3, 4, 7 };
static const int dlts[] = {
    FC_DLT_EN10MB, FC_DLT_LINUX_SLL, FC_DLT_LINUX_SLL2, FC_DLT_RAW, FC_DLT_RAW_ALT, FC_DLT_LINKTYPE_RAW,
    FC_DLT_IPV4, FC_DLT_IPV6, FC_DLT_NULL, FC_DLT_LOOP, FC_DLT_C_HDLC, 9999,
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* Frames checked, and how many of them decode_addrs answered without decode_packet. */
static long frames, answered;
static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint32_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}

/* One frame, copied to a buffer of exactly caplen bytes (ASan then sees any read past it):
 * decode_addrs agrees with decode_packet, and fanout_frame_lane with fanout_lane_of, for every
 * lane count. Returns 1 when it all agreed. */
static int check_frame(int dlt, const uint8_t *bytes, uint32_t caplen)
{
    uint8_t *data = malloc(caplen ? caplen : 1);
    if (!data)
        abort();
    memcpy(data, bytes, caplen);
    const uint8_t *arg = caplen ? data : NULL;
    struct decoded_pkt p;
    struct decode_addrs a = { 0 };
    int rc = decode_packet(dlt, arg, caplen, &p, NULL), ok = 1;
    int fast = decode_addrs(dlt, arg, caplen, &a);
    frames++;
    if (fast != DECODE_ADDRS_ASK)
        answered++;
    if (fast == DECODE_ADDRS_NONE && rc == DEC_OK)
        ok = 0;
    if (fast == DECODE_ADDRS_IP) {
        size_t alen = a.ip_version == 6 ? 16 : 4;
        if (rc != DEC_OK || a.ip_version != p.ip_version || memcmp(a.src, p.src, alen) != 0 ||
            memcmp(a.dst, p.dst, alen) != 0 || a.src < data || a.dst + alen > data + caplen)
            ok = 0;
    }
    for (size_t i = 0; i < COUNT(lane_counts); i++) {
        int n = lane_counts[i];
        if (fanout_frame_lane(dlt, arg, caplen, n) != (rc == DEC_OK ? fanout_lane_of(&p, n) : 0))
            ok = 0;
    }
    if (fanout_frame_lane(dlt, arg, caplen, 1) != 0)
        ok = 0;
    if (!ok) {
        CHECK_FAIL_("dlt %d caplen %u: decode_packet %d, decode_addrs %d", dlt, caplen, rc, fast);
        fprintf(stderr, "   ");
        for (uint32_t i = 0; i < caplen && i < 96; i++)
            fprintf(stderr, "%02x", bytes[i]);
        fprintf(stderr, "\n");
    }
    free(data);
    return ok;
}

/* The frame with a few random bytes at random header offsets, then cut at random lengths. */
static void check_mutations(int dlt, const uint8_t *bytes, uint32_t caplen, int rounds)
{
    uint8_t m[256];
    uint32_t len = caplen < sizeof(m) ? caplen : sizeof(m);
    for (int r = 0; r < rounds; r++) {
        memcpy(m, bytes, len);
        int flips = 1 + (int)(rnd() % 3);
        for (int i = 0; i < flips && len > 0; i++) {
            uint32_t at = rnd() % (len < 80 ? len : 80);
            uint32_t how = rnd() % 4;
            m[at] = how == 0 ? 0 : how == 1 ? 0xFF : (uint8_t)rnd();
        }
        if (!check_frame(dlt, m, len))
            return;
        if (!check_frame(dlt, m, len ? rnd() % len : 0))
            return;
    }
}

/* Every frame of a capture, each at every cut length up to its headers; with mutate, also
 * mutated. Returns the frames read, or -1 when the file cannot be opened. */
static long check_capture(const char *path, int mutate)
{
    char ebuf[PCAP_ERRBUF_SIZE];
    pcap_t *lp = pcap_open_offline(path, ebuf);
    if (!lp)
        return -1;
    int dlt = pcap_datalink(lp), bad = 0;
    long n = 0;
    struct pcap_pkthdr *h;
    const u_char *d;
    while (pcap_next_ex(lp, &h, &d) == 1 && bad < 5) {
        n++;
        bad += !check_frame(dlt, d, h->caplen);
        for (uint32_t cut = 0; cut < h->caplen && cut < 80 && (mutate || n % 16 == 0); cut++)
            bad += !check_frame(dlt, d, cut);
        if (mutate)
            check_mutations(dlt, d, h->caplen, 8);
    }
    pcap_close(lp);
    return n;
}

TEST_CASE(demo_capture)
{
    long before = answered, fb = frames;
    CHECK(check_capture("demo/demo.pcap", 1) > 2000);
    printf("frame_lane: demo.pcap and its mutations: %ld frames, %ld answered without decode_packet\n",
           frames - fb, answered - before);
}

/* A capture tools/gen_demo.py writes (another seed than demo.pcap's). */
TEST_CASE(generated_capture)
{
    char path[64], cmd[256];
    snprintf(path, sizeof(path), "/tmp/fc-frame-lane-%d.pcap", (int)getpid());
    snprintf(cmd, sizeof(cmd), "/usr/bin/python3 tools/gen_demo.py --seed 11 --sessions 400 --out %s", path);
    CHECK_INT(system(cmd), 0);
    long fb = frames, ab = answered;
    long n = check_capture(path, 0);
    unlink(path);
    CHECK(n > 1000);
    printf("frame_lane: a gen_demo capture: %ld frames, %ld answered without decode_packet\n",
           frames - fb, answered - ab);
    /* gen_demo puts about a third of its frames in tunnels (GTP-U, VXLAN, GRE, IP-in-IP, MPLS) */
    CHECK(answered - ab >= (frames - fb) / 2);
}

static void check_dir(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    char path[512];
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (!((l > 5 && strcmp(e->d_name + l - 5, ".pcap") == 0) || (l > 7 && strcmp(e->d_name + l - 7, ".pcapng") == 0)))
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        if (check_capture(path, 1) >= 0)
            (*files)++;
    }
    closedir(d);
}

/* Real traffic nobody here wrote: tunnels, MPLS, PPPoE, QinQ, fragments, cut frames. */
TEST_CASE(shared_captures)
{
    static const char *const dirs[] = { "../shared/pcaps/ndpi", "../shared/pcaps/ndpi-dev", "../shared/pcaps/other" };
    int files = 0;
    long fb = frames, ab = answered;
    for (size_t i = 0; i < COUNT(dirs); i++)
        check_dir(dirs[i], &files);
    if (files == 0) {
        printf("frame_lane: no ../shared/pcaps, shared_captures skipped\n");
        return;
    }
    printf("frame_lane: %d shared captures and their mutations: %ld frames, %ld answered without decode_packet\n",
           files, frames - fb, answered - ab);
}

/* Writes over random bytes f[0, len) the headers dlt puts before an IP packet (a random
 * ethertype of those the decoder knows), then an IPv4 or IPv6 header whose fields are random
 * among the values the decoder treats apart (header length, fragment offset, protocol, the
 * tunnel ports). */
static void plain_headers(uint8_t *f, uint32_t len, int dlt)
{
    static const uint16_t types[] = { 0x0800, 0x86DD, 0x8100, 0x88A8, 0x9100, 0x0806, 0x8847, 0x8864, 0x6558, 0x05DC };
    static const uint8_t protos[] = { 6, 17, 1, 58, 132, 47, 4, 41, 0, 43, 44, 50, 51, 60, 59 };
    static const uint16_t ports[] = { 2152, 4789, 4790, 53, 443 };
    uint32_t l2 = dlt == FC_DLT_EN10MB ? 14 : dlt == FC_DLT_LINUX_SLL ? 16 : dlt == FC_DLT_LINUX_SLL2 ? 20 : 0;
    uint16_t t = types[rnd() % COUNT(types)];
    if (l2 > len)
        return;
    if (l2) {                          /* SLL2 has its protocol first, the others last */
        uint32_t at = dlt == FC_DLT_LINUX_SLL2 ? 0 : l2 - 2;
        f[at] = (uint8_t)(t >> 8);
        f[at + 1] = (uint8_t)t;
    }
    while (l2 + 4 <= len && (t == 0x8100 || t == 0x88A8 || t == 0x9100) && rnd() % 4) {
        t = types[rnd() % COUNT(types)];   /* another tag, or what follows the last one */
        f[l2 + 2] = (uint8_t)(t >> 8);
        f[l2 + 3] = (uint8_t)t;
        l2 += 4;
    }
    if (l2 + 40 > len)
        return;
    uint8_t *ip = f + l2, proto = protos[rnd() % COUNT(protos)];
    uint32_t l4 = 40, rest = len - l2;
    if (rnd() % 2) {
        ip[0] = (uint8_t)(0x40 | (rnd() % 4 ? 5 : rnd() % 16));
        uint16_t tot = (uint16_t)(rnd() % 2 ? rest : rnd() % 80);
        ip[2] = (uint8_t)(tot >> 8);
        ip[3] = (uint8_t)tot;
        if (rnd() % 4)
            ip[6] = ip[7] = 0;
        ip[9] = proto;
        l4 = (ip[0] & 0x0F) * 4u;
    } else {
        ip[0] = (uint8_t)(0x60 | (ip[0] & 0x0F));
        uint16_t plen = (uint16_t)(rnd() % 2 ? rest - 40 : rnd() % 40);
        ip[4] = (uint8_t)(plen >> 8);
        ip[5] = (uint8_t)plen;
        ip[6] = proto;
    }
    if (l2 + l4 + 4 <= len) {
        uint16_t sp = ports[rnd() % COUNT(ports)], dp = ports[rnd() % COUNT(ports)];
        f[l2 + l4] = (uint8_t)(sp >> 8);
        f[l2 + l4 + 1] = (uint8_t)sp;
        f[l2 + l4 + 2] = (uint8_t)(dp >> 8);
        f[l2 + l4 + 3] = (uint8_t)dp;
    }
}

/* Random bytes under every link type, and plain headers with random fields. */
TEST_CASE(random_frames)
{
    uint8_t f[128];
    for (int r = 0; r < 300000; r++) {
        uint32_t len = rnd() % sizeof(f);
        for (uint32_t i = 0; i < len; i++)
            f[i] = (uint8_t)rnd();
        int dlt = dlts[rnd() % COUNT(dlts)];
        if (r % 4)
            plain_headers(f, len, dlt);
        if (!check_frame(dlt, f, len))
            return;
    }
}

int main(void)
{
    RUN(demo_capture);
    RUN(generated_capture);
    RUN(shared_captures);
    RUN(random_frames);
    printf("frame_lane: %ld frames checked, %ld answered without decode_packet\n", frames, answered);
    return CHECK_DONE("frame_lane");
}
