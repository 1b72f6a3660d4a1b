/* fuzz_pcapfile.c - libFuzzer target: a whole pcap/pcapng file through libpcap and the capture path (worker_packet on each record; single thread). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache.h"
#include "capture/worker.h"
#include "dissectors/l7.h"

/* The input is a capture file as read by flowcached's file source. The
 * worker (with its nDPI module) lives for the whole run, since nDPI set-up
 * costs milliseconds; each input gets a fresh small cache, ends every flow
 * at the end (pcap-end expire) and frees it, so every input starts clean. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct worker *fuzz_w;

static struct worker *fuzz_worker(struct cache *c)
{
    if (!fuzz_w) {
        if (l7_names_init() != 0)
            abort();
        fuzz_w = calloc(1, sizeof(*fuzz_w));
        if (!fuzz_w || worker_init(fuzz_w, 0, c) != 0)
            abort();
    }
    fuzz_w->cache = c;
    memset(&fuzz_w->dstats, 0, sizeof(fuzz_w->dstats));
    memset(fuzz_w->frags, 0, sizeof(fuzz_w->frags));
    fuzz_w->next_sweep_us = 0;
    return fuzz_w;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char errbuf[PCAP_ERRBUF_SIZE];
    if (size < 24 || size > (1u << 20))
        return 0;
    void *copy = malloc(size);
    if (!copy)
        return 0;
    memcpy(copy, data, size);
    FILE *f = fmemopen(copy, size, "rb");
    if (!f) {
        free(copy);
        return 0;
    }
    pcap_t *p = pcap_fopen_offline(f, errbuf);   /* owns f from here on, even on failure */
    if (!p) {
        free(copy);
        return 0;
    }
    struct cache_config cc = {
        .flow_idle_us = 30 * 1000000ULL, .flow_lifetime_us = 120 * 1000000ULL,
        .host_idle_us = 300 * 1000000ULL, .tcp_close_grace_us = 2000 * 1000ULL,
        .max_flows = 256, .maxmemory = 4u << 20,
    };
    struct cache *c = cache_create(&cc);
    if (!c)
        abort();
    struct worker *w = fuzz_worker(c);
    int dlt = pcap_datalink(p);
    struct pcap_pkthdr *h;
    const u_char *pkt;
    int n = 0;
    while (n++ < 4096 && pcap_next_ex(p, &h, &pkt) == 1)
        worker_packet(w, (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec, dlt, pkt,
                      h->caplen, h->len);
    worker_expire_all(w);
    pcap_close(p);
    free(copy);
    /* The queue is empty unless somebody subscribed; drain defensively. */
    struct event *ev[64];
    size_t k;
    while ((k = event_queue_pop_many(&w->events, ev, 64)) > 0)
        while (k > 0)
            free(ev[--k]);
    cache_destroy(c);
    return 0;
}
