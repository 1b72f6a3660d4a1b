/* bench_pcap_loop.c - the floor of `make bench` item 1: a bare libpcap read loop.
 * Opens each file with pcap_open_offline, calls pcap_next_ex until the end and counts
 * packets and captured bytes (touching the first byte of each packet so the read is real).
 * Prints "packets bytes seconds" (seconds of the read loop only, CLOCK_MONOTONIC).
 * Built by `make bench-tools` (tools/bench.py runs it). */
#include <pcap/pcap.h>
#include <stdio.h>
#include <time.h>

int main(int argc, char **argv)
{
    unsigned long long n = 0, bytes = 0, touch = 0;
    struct timespec t0, t1;
    if (argc < 2) {
        fprintf(stderr, "usage: bench_pcap_loop FILE...\n");
        return 2;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 1; i < argc; i++) {
        char err[PCAP_ERRBUF_SIZE];
        pcap_t *p = pcap_open_offline(argv[i], err);
        if (!p) {
            fprintf(stderr, "bench_pcap_loop: %s\n", err);
            return 1;
        }
        struct pcap_pkthdr *h;
        const u_char *d;
        int rc;
        while ((rc = pcap_next_ex(p, &h, &d)) == 1) {
            n++;
            bytes += h->caplen;
            if (h->caplen)
                touch += d[0];
        }
        if (rc == PCAP_ERROR) {
            fprintf(stderr, "bench_pcap_loop: %s: %s\n", argv[i], pcap_geterr(p));
            pcap_close(p);
            return 1;
        }
        pcap_close(p);
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("%llu %llu %.6f %llu\n", n, bytes, s, touch & 1);
    return 0;
}
