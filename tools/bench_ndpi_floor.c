/* bench_ndpi_floor.c - the nDPI floor of `make bench` item 1: what any probe built on nDPI 4.2 pays.
 *   bench_ndpi_floor [--time-ndpi] FILE.pcap
 * Reads the file with libpcap, finds the innermost IPv4/IPv6 header (through 802.1Q, MPLS,
 * GRE, 6in4, GTP-U and VXLAN: what gen_traffic.py and gen_demo.py write), keys packets into
 * bidirectional 5-tuple flows (plus the first VLAN id, as flowcached keys them) and asks
 * nDPI about each flow's packets until it names a protocol or the packet limits that
 * flowcached and ndpiReader use (TCP 80, UDP 24), as flowcached does: same nDPI setup (all
 * protocols), same DGA shortcut, same first-packet answers without a detection state
 * (capture/flow/l7_quick.c, built in: DNS queries and RADIUS messages), detection states
 * reused, freed once detection is final.
 * No flow expiry, no keys, no dissectors, no events: the work flowcached cannot shed while
 * it gives nDPI's answers. Prints "packets flows ndpi_calls seconds detected ndpi_seconds"
 * (seconds: the read loop, CLOCK_MONOTONIC; detected: flows with a protocol at the end;
 * ndpi_seconds: with --time-ndpi, the part of it spent inside nDPI's calls, timed around
 * each, which adds two clock reads a call to the loop; else 0), then one line
 * "NAME flows" for each protocol nDPI named.
 * Built by `make bench-tools` (tools/bench.py runs it), with -I at the source root. */
#include <ndpi_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "capture/flow/l7_quick.c"

enum { MAX_TCP_PKTS = 80, MAX_UDP_PKTS = 24, SPARE_MAX = 256, KEY_LEN = 40 };

struct floor_flow {
    uint8_t key[KEY_LEN]; /* version, proto, lower (addr, port), upper (addr, port), VLAN id */
    uint8_t used, done;
    uint16_t pkts, proto;
    struct ndpi_flow_struct *nf;
};

static struct floor_flow *tab;
static size_t tab_cap, tab_n;
static struct ndpi_detection_module_struct *ndpi;
static struct ndpi_flow_struct *spare[SPARE_MAX];
static unsigned spare_n;
static unsigned long long ndpi_calls;
static double ndpi_seconds; /* inside ndpi_detection_process_packet and _giveup */
static int timing;          /* --time-ndpi */
static struct l7_quick quick;

/* The monotonic clock in seconds when timing nDPI's calls, else 0. */
static double now_s(void)
{
    if (!timing)
        return 0;
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct ndpi_flow_struct *cur_flow;

/* flowcached's DGA shortcut (dissectors/l7.c): nDPI's bigram check only matters for SNIs
 * starting with "www."; the others answer 0 at once. */
static int dga_hook(const char *name, int is_hostname)
{
    if (!name || strncmp(name, "www.", 4) != 0)
        return 0;
    ndpi_dga_function = NULL;
    int rc = ndpi_check_dga_name(ndpi, cur_flow, (char *)name, (u_int8_t)is_hostname);
    ndpi_dga_function = dga_hook;
    return rc;
}

static uint64_t hash_key(const uint8_t *k)
{
    uint64_t h = 1469598103934665603ULL;
    for (int i = 0; i < KEY_LEN; i++)
        h = (h ^ k[i]) * 1099511628211ULL;
    return h ^ (h >> 29);
}

static struct floor_flow *flow_slot(const uint8_t *key)
{
    size_t i = hash_key(key) & (tab_cap - 1);
    while (tab[i].used && memcmp(tab[i].key, key, KEY_LEN) != 0)
        i = (i + 1) & (tab_cap - 1);
    return &tab[i];
}

static int tab_grow(void)
{
    struct floor_flow *old = tab;
    size_t n = tab_cap;
    tab_cap = n ? n * 2 : 1 << 16;
    tab = calloc(tab_cap, sizeof(*tab));
    if (!tab)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (old[i].used)
            *flow_slot(old[i].key) = old[i];
    free(old);
    return 0;
}

static struct floor_flow *flow_get(const uint8_t *key)
{
    if ((tab_n + 1) * 2 > tab_cap && tab_grow() != 0)
        return NULL;
    struct floor_flow *f = flow_slot(key);
    if (!f->used) {
        memcpy(f->key, key, KEY_LEN);
        f->used = 1;
        tab_n++;
    }
    return f;
}

/* Builds the flow key of the IP packet at l3 (len bytes); returns its L4 protocol or -1. */
static int ip_key(const uint8_t *l3, uint32_t len, uint8_t *key)
{
    memset(key, 0, KEY_LEN);
    int v = len ? l3[0] >> 4 : 0, alen, proto;
    uint32_t hl;
    if (v == 4 && len >= 20) {
        hl = (uint32_t)(l3[0] & 15) * 4;
        alen = 4, proto = l3[9];
        if ((l3[6] & 0x1f) || l3[7])
            return -1; /* a later fragment: nDPI saw its flow's first one */
    } else if (v == 6 && len >= 40) {
        hl = 40, alen = 16, proto = l3[6];
    } else {
        return -1;
    }
    const uint8_t *a = l3 + (v == 4 ? 12 : 8), *b = a + alen;
    uint8_t pa[2] = {0, 0}, pb[2] = {0, 0};
    if ((proto == IPPROTO_TCP || proto == IPPROTO_UDP) && len >= hl + 4) {
        memcpy(pa, l3 + hl, 2);
        memcpy(pb, l3 + hl + 2, 2);
    }
    int order = memcmp(a, b, (size_t)alen);
    int swap = order > 0 || (order == 0 && memcmp(pa, pb, 2) > 0);
    key[0] = (uint8_t)v;
    key[1] = (uint8_t)proto;
    memcpy(key + 2, swap ? b : a, (size_t)alen);
    memcpy(key + 18, swap ? pb : pa, 2);
    memcpy(key + 20, swap ? a : b, (size_t)alen);
    memcpy(key + 36, swap ? pa : pb, 2);
    return proto;
}

/* The IP header of an Ethernet frame after its 802.1Q tags and MPLS labels; the first tag's
 * VLAN id in *vlan when vlan is not NULL (flowcached keys flows on the outermost frame's). */
static const uint8_t *eth_ip(const uint8_t *d, uint32_t caplen, uint32_t *len, uint16_t *vlan)
{
    uint32_t off = 12;
    uint16_t et;
    for (;;) {
        if (caplen < off + 2)
            return NULL;
        et = (uint16_t)(d[off] << 8 | d[off + 1]);
        if (et != 0x8100 && et != 0x88a8)
            break;
        if (caplen < off + 6)
            return NULL;
        if (vlan && !*vlan)
            *vlan = (uint16_t)((d[off + 2] & 0x0f) << 8 | d[off + 3]);
        off += 4;
    }
    off += 2;
    if (et == 0x8847) {              /* MPLS: labels up to the bottom of the stack */
        do {
            if (caplen < off + 4)
                return NULL;
            off += 4;
        } while (!(d[off - 2] & 1));
        et = caplen > off && d[off] >> 4 == 6 ? 0x86dd : 0x0800;
    }
    if ((et != 0x0800 && et != 0x86dd) || caplen <= off)
        return NULL;
    *len = caplen - off;
    return d + off;
}

/* The innermost IP header of an Ethernet frame: through 802.1Q, MPLS, GRE, 6in4, GTP-U and
 * VXLAN, the encapsulations gen_traffic.py and gen_demo.py write. */
static const uint8_t *inner_ip(const uint8_t *d, uint32_t caplen, uint32_t *len, uint16_t *vlan)
{
    uint32_t n;
    *vlan = 0;
    const uint8_t *ip = eth_ip(d, caplen, &n, vlan);
    for (int depth = 0; ip && depth < 4 && n >= 20 && ip[0] >> 4 == 4; depth++) {
        uint32_t hl = (uint32_t)(ip[0] & 15) * 4;
        if (hl < 20 || (ip[6] & 0x1f) || ip[7] || n < hl + 16)
            break;                   /* a fragment, or too short to hold a tunnel */
        const uint8_t *l4 = ip + hl;
        uint16_t gre_type = (uint16_t)(l4[2] << 8 | l4[3]), dport = gre_type;
        if (ip[9] == 47 && (gre_type == 0x0800 || gre_type == 0x86dd) && l4[0] == 0 && l4[1] == 0) {
            ip += hl + 4, n -= hl + 4; /* GRE without options carrying IPv4 or IPv6 */
        } else if (ip[9] == 41) {
            ip += hl, n -= hl;         /* 6in4 */
        } else if (ip[9] == IPPROTO_UDP && dport == 2152 && l4[9] == 0xff) {
            uint32_t g = hl + 8 + 8 + ((l4[8] & 7) ? 4 : 0); /* GTP-U header, optional word */
            if (n <= g)
                return NULL;
            ip += g, n -= g;
        } else if (ip[9] == IPPROTO_UDP && dport == 4789) {
            ip = eth_ip(l4 + 16, n - hl - 16, &n, NULL); /* VXLAN: an Ethernet frame */
        } else {
            break;
        }
    }
    *len = n;
    return ip;
}

static void flow_final(struct floor_flow *f)
{
    f->done = 1;
    if (f->nf) {
        if (spare_n < SPARE_MAX) {
            ndpi_free_flow_data(f->nf);
            spare[spare_n++] = f->nf;
        } else {
            ndpi_free_flow(f->nf);
        }
        f->nf = NULL;
    }
}

/* The protocol an answer names: the application, else its carrier. */
static uint16_t proto_of(ndpi_protocol r)
{
    return r.app_protocol != NDPI_PROTOCOL_UNKNOWN ? r.app_protocol : r.master_protocol;
}

/* nDPI's final answer (its guess) for a flow it has not named, at the packet
 * limit or at the end of the file, as flowcached and ndpiReader ask it. */
static void flow_giveup(struct floor_flow *f)
{
    if (f->nf) {
        u_int8_t guessed = 0;
        cur_flow = f->nf;
        double start = now_s();
        ndpi_protocol r = ndpi_detection_giveup(ndpi, f->nf, 1, &guessed);
        ndpi_seconds += now_s() - start;
        f->proto = proto_of(r);
    }
    flow_final(f);
}

static void packet(const struct pcap_pkthdr *h, const uint8_t *d)
{
    uint32_t len;
    uint8_t key[KEY_LEN];
    uint16_t vlan;
    const uint8_t *l3 = inner_ip(d, h->caplen, &len, &vlan);
    int proto = l3 ? ip_key(l3, len, key) : -1;
    memcpy(key + 38, &vlan, 2);
    struct floor_flow *f = proto < 0 ? NULL : flow_get(key);
    if (!f || f->done)
        return;
    unsigned short l3len = (unsigned short)(len > 0xffff ? 0xffff : len);
    if (!f->nf && f->pkts == 0 && proto == IPPROTO_UDP) {
        double start = now_s();
        int id = l7_quick_answer(&quick, l3, l3len); /* timed as nDPI: its lookups, mostly */
        ndpi_seconds += now_s() - start;
        if (id > NDPI_PROTOCOL_UNKNOWN) {
            f->pkts++;
            f->proto = (uint16_t)id;
            f->done = 1;
            return;
        }
    }
    if (!f->nf) {
        f->nf = spare_n ? spare[--spare_n] : ndpi_flow_malloc(ndpi_detection_get_sizeof_ndpi_flow_struct());
        if (!f->nf)
            return;
        memset(f->nf, 0, ndpi_detection_get_sizeof_ndpi_flow_struct());
    }
    uint64_t ms = (uint64_t)h->ts.tv_sec * 1000 + (uint64_t)h->ts.tv_usec / 1000;
    cur_flow = f->nf;
    double start = now_s();
    ndpi_protocol r = ndpi_detection_process_packet(ndpi, f->nf, l3, l3len, ms);
    ndpi_seconds += now_s() - start;
    ndpi_calls++;
    f->pkts++;
    f->proto = proto_of(r);
    if (f->proto != NDPI_PROTOCOL_UNKNOWN)
        flow_final(f);
    else if (f->pkts >= (proto == IPPROTO_TCP ? MAX_TCP_PKTS : MAX_UDP_PKTS))
        flow_giveup(f);
}

static int read_file(const char *path, unsigned long long *n)
{
    char err[PCAP_ERRBUF_SIZE];
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "bench_ndpi_floor: %s\n", err);
        return -1;
    }
    if (pcap_datalink(p) != DLT_EN10MB) {
        fprintf(stderr, "bench_ndpi_floor: %s: not Ethernet\n", path);
        pcap_close(p);
        return -1;
    }
    struct pcap_pkthdr *h;
    const u_char *d;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
        (*n)++;
        packet(h, d);
    }
    if (rc == PCAP_ERROR)
        fprintf(stderr, "bench_ndpi_floor: %s: %s\n", path, pcap_geterr(p));
    pcap_close(p);
    return rc == PCAP_ERROR ? -1 : 0;
}

/* One line "NAME flows" per protocol nDPI named, after the first line. */
static void print_protocols(void)
{
    enum { NPROTO = 1024 };
    static unsigned long long count[NPROTO];
    for (size_t i = 0; i < tab_cap; i++)
        if (tab[i].used)
            count[tab[i].proto < NPROTO ? tab[i].proto : 0]++;
    for (unsigned id = 0; id < NPROTO; id++)
        if (count[id])
            printf("%s %llu\n", ndpi_get_proto_name(ndpi, (u_int16_t)id), count[id]);
}

int main(int argc, char **argv)
{
    timing = argc == 3 && strcmp(argv[1], "--time-ndpi") == 0;
    if (argc != 2 + timing) {
        fprintf(stderr, "usage: bench_ndpi_floor [--time-ndpi] FILE.pcap\n");
        return 2;
    }
    ndpi = ndpi_init_detection_module(ndpi_no_prefs);
    if (!ndpi || tab_grow() != 0)
        return 1;
    NDPI_PROTOCOL_BITMASK all;
    NDPI_BITMASK_SET_ALL(all);
    ndpi_set_protocol_detection_bitmask2(ndpi, &all);
    ndpi_finalize_initialization(ndpi);
    ndpi_dga_function = dga_hook;
    l7_quick_init(&quick, ndpi);
    struct timespec t0, t1;
    unsigned long long n = 0, detected = 0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    if (read_file(argv[1 + timing], &n) != 0)
        return 1;
    for (size_t i = 0; i < tab_cap; i++) {
        struct floor_flow *f = &tab[i];
        if (f->used && !f->done)
            flow_giveup(f);
        detected += f->used && f->proto != NDPI_PROTOCOL_UNKNOWN;
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu %zu %llu %.6f %llu %.6f\n", n, tab_n, ndpi_calls, s, detected, ndpi_seconds);
    print_protocols();
    return 0;
}
