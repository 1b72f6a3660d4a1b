/* bench_lane_split.c - `make bench` item 3's share-nothing reference: splits a capture file by lane.
 * Writes each packet of IN to OUT.<lane>.pcap, its lane among N being the one flowcached's
 * --capture-threads N gives it (fanout_frame_lane, capture/source/fanout_lane.c, built in), so
 * one one-worker process per part handles exactly the packets, flows and hosts that worker would.
 * Prints the packet count of each part. Exits 1 (message on stderr) on a file it cannot read or
 * write, and on a broken record: the parts then hold only the packets before it, which would make
 * a smaller reference than the file it stands for. Built by `make bench-tools` (tools/bench.py
 * runs it). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <stdlib.h>

#include "capture/source/fanout_lane.h"

enum { LANES_MAX = 64 };

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    int n = argc == 4 ? atoi(argv[2]) : 0;
    if (n < 1 || n > LANES_MAX) {
        fprintf(stderr, "usage: bench_lane_split IN N OUT  (N lanes, 1..%d: writes OUT.0.pcap ..)\n", LANES_MAX);
        return 2;
    }
    pcap_t *in = pcap_open_offline(argv[1], err);
    if (!in) {
        fprintf(stderr, "bench_lane_split: %s\n", err);
        return 1;
    }
    pcap_dumper_t *out[LANES_MAX];
    unsigned long long count[LANES_MAX] = { 0 };
    for (int i = 0; i < n; i++) {
        char path[4096];
        snprintf(path, sizeof(path), "%s.%d.pcap", argv[3], i);
        if (!(out[i] = pcap_dump_open(in, path))) {
            fprintf(stderr, "bench_lane_split: %s: %s\n", path, pcap_geterr(in));
            return 1;
        }
    }
    int dlt = pcap_datalink(in), rc;
    struct pcap_pkthdr *h;
    const u_char *d;
    while ((rc = pcap_next_ex(in, &h, &d)) == 1) {
        int lane = fanout_frame_lane(dlt, d, h->caplen, n);
        pcap_dump((u_char *)out[lane], h, d);
        count[lane]++;
    }
    int bad = 0;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "bench_lane_split: %s: %s (only the packets before it were split)\n", argv[1],
                pcap_geterr(in));
        bad = 1;
    }
    for (int i = 0; i < n; i++)
        printf("%s%llu", i ? " " : "", count[i]);
    printf("\n");
    pcap_close(in);
    for (int i = 0; i < n; i++) {
        if (pcap_dump_flush(out[i]) != 0) {
            fprintf(stderr, "bench_lane_split: writing %s.%d.pcap failed\n", argv[3], i);
            bad = 1;
        }
        pcap_dump_close(out[i]);
    }
    return bad;
}
