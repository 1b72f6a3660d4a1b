/* fuzz_pcapfile.c - libFuzzer target: a whole pcap/pcapng file through libpcap and the capture path (worker_packet on each record), and capture/pcapfile.c, which must return what libpcap returns (single thread). */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/mman.h>
#include <unistd.h>

#include "capture/cache/cache.h"
#include "capture/source/pcapfile.h"
#include "capture/flow/worker.h"
#include "capture/flow/l7.h"

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

/* The same bytes as a file for pcapfile (NULL when it does not take them). */
static struct pcapfile *fuzz_pcapfile(const uint8_t *data, size_t size, int dlt, int snapshot, int *fd)
{
    char path[64];
    *fd = memfd_create("fuzz-pcap", MFD_CLOEXEC);
    if (*fd < 0 || write(*fd, data, size) != (ssize_t)size)
        abort();
    snprintf(path, sizeof(path), "/proc/self/fd/%d", *fd);
    return pcapfile_open(path, dlt, snapshot);
}

/* pcapfile's next record must be libpcap's (lr: pcap_next_ex's result). */
static void fuzz_same_record(struct pcapfile *pf, pcap_t *p, int lr, const struct pcap_pkthdr *h,
                             const u_char *pkt)
{
    uint64_t ts;
    const uint8_t *d;
    uint32_t cap, len;
    int r = pcapfile_next(pf, &ts, &d, &cap, &len);
    if (lr == 1) {
        if (r != 1 || ts != (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec ||
            cap != h->caplen || len != h->len || memcmp(d, pkt, cap) != 0)
            abort();
    } else if (r != (lr == PCAP_ERROR_BREAK ? 0 : -1) ||
               (lr == PCAP_ERROR && strcmp(pcapfile_error(pf), pcap_geterr(p)) != 0)) {
        abort();
    }
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
    int dlt = pcap_datalink(p), fd;
    struct pcapfile *pf = fuzz_pcapfile(data, size, dlt, pcap_snapshot(p), &fd);
    struct pcap_pkthdr *h;
    const u_char *pkt;
    int n = 0, lr;
    while (n++ < 4096) {
        lr = pcap_next_ex(p, &h, &pkt);
        if (pf)
            fuzz_same_record(pf, p, lr, h, pkt);
        if (lr != 1)
            break;
        worker_packet(w, (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec, dlt, pkt,
                      h->caplen, h->len);
    }
    worker_expire_all(w);
    pcapfile_close(pf);
    close(fd);
    pcap_close(p);
    free(copy);
    /* The queue is empty unless somebody subscribed; drain defensively. */
    struct event *ev[64];
    size_t k;
    while ((k = event_queue_pop_many(&w->events, ev, 64)) > 0)
        while (k > 0)
            event_free(ev[--k]);
    cache_destroy(c);
    return 0;
}
