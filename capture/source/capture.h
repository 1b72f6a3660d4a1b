/* capture.h - packet sources (pcap files, live interfaces), one capture thread each. */
#ifndef FC_CAPTURE_H
#define FC_CAPTURE_H

#include <stdatomic.h>
#include <stddef.h>

#include "capture/cache/cache.h"
#include "capture/flow/worker.h"

enum pcap_end_mode { PCAP_END_KEEP = 0, PCAP_END_EXPIRE, PCAP_END_EXIT };

/* Who reads a live device in immediate mode (batch_ms 0): flowcached's own
 * TPACKET_V2 ring of 2 KB frames (capture/afpacket.c; Ethernet and loopback
 * devices, libpcap for the others), or libpcap for every device. */
enum capture_reader { CAPTURE_READER_RING = 0, CAPTURE_READER_LIBPCAP };

struct capture_opts {
    char **files;
    int nfiles;
    char **ifaces;
    int nifaces;
    const char *bpf;
    double speed;                /* 0 = as fast as possible, 1 = recorded speed ... */
    int loop;                    /* replay the files forever */
    enum pcap_end_mode end;
    int snaplen, promisc;
    int batch_ms;                /* live: 0 = immediate mode (TPACKET_V2), N = blocks retired every N ms (V3) */
    uint64_t buffer_bytes;       /* live: kernel ring per device (0 = 64 MB) */
    int realtime;                /* live: reader thread at SCHED_FIFO priority 1 (capture-realtime) */
    enum capture_reader reader;  /* live, immediate mode (capture-reader) */
    int coalesce_us;             /* live, immediate mode: pause after a burst (capture-coalesce-us) */
    int threads;                 /* capture-threads: workers per source */
    double progress_s;           /* pcap-progress: seconds between progress lines of a file read (0 = none) */
    uint64_t user_grace_us;      /* RADIUS logout grace */
    struct watchlist *wl;        /* NULL = none */
};

struct capture;

/* Opens every source (so a missing file or interface fails at start-up with
 * a message in err) and prepares one worker per source. Threads are not yet
 * running. Returns NULL on error, with err filled. Loop thread. */
struct capture *capture_create(const struct capture_opts *o, struct cache *c,
                               char *err, size_t errlen);

/* Start the capture threads. on_done(arg) is called from a capture thread
 * once every file source has finished (not for live sources); it must be
 * thread-safe (uv_async_send). Returns 0 or -1. */
int capture_start(struct capture *cap, void (*on_done)(void *arg), void *arg);

/* Ask every thread to stop and join them. Idempotent. Loop thread. */
void capture_stop(struct capture *cap);

/* Ends every flow still in the cache, reason shutdown: each one's flow.end
 * (and so its export records) goes into the first worker's event queue, and
 * drain(arg) (the caller's queue consumer) runs after each batch of at most
 * 256 flows, so none is lost to a full queue however many the cache holds.
 * Call after capture_stop, at shutdown. Loop thread; NULL cap: nothing. */
void capture_end_flows(struct capture *cap, void (*drain)(void *arg), void *arg);
void capture_destroy(struct capture *cap);

int capture_worker_count(const struct capture *cap);
struct worker *capture_worker(struct capture *cap, int i);
int capture_sources_active(const struct capture *cap);
uint64_t capture_drops(const struct capture *cap);   /* kernel + interface drops */
uint64_t capture_read_errors(const struct capture *cap);
/* Live packets one worker read and handed to the worker owning their flow
 * (capture-threads > 1 on a device read through per-worker packet rings). Any thread. */
uint64_t capture_handoffs(const struct capture *cap);

/* Every worker's counters added up (INFO # Capture, the metrics endpoint). */
struct capture_totals {
    uint64_t packets, bytes, ip_packets, not_ip, anomalies, frag_orphans, events_dropped;
    uint64_t events_fields_dropped;  /* fields an event builder had no room for */
    uint64_t anomaly[DECODE_ANOMALY_KINDS];
};

/* Fills *out with the sums over every worker (all 0 when cap is NULL). Any thread. */
void capture_totals_get(struct capture *cap, struct capture_totals *out);

#endif
