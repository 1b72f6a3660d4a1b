/* file_walk.c - capture files walked by every worker of their source, each handling the packets of its own lane (worker threads). */
#include "capture/source/file_walk.h"
#include "capture/source/fanout.h"
#include "capture/source/file_reader.h"
#include "capture/source/pcapfile.h"
#include "capture/source/progress.h"
#include "capture/flow/worker.h"
#include "server/log/log.h"

#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

enum { CHECK_EVERY = 256, AHEAD_SLEEP_NS = 1000000, FILE_HDR = 24 };
enum { WALK_UNDECODED = 1000 };      /* not a decode_packet result: walk_mine's frame is not decoded yet */

struct walk;

/* One worker reading the files: its lane, and where it is for the others. */
struct walker {
    struct walk *wk;
    struct worker *w;
    int lane;
    struct cache_queue *q;           /* clock: the newest packet time read; head < tail while reading */
    struct cache_queue own;          /* unregistered fallback: expiry then ignores this worker */
    _Atomic uint64_t pos;            /* bytes read over every file and loop; UINT64_MAX once done */
    uint64_t base;                   /* bytes of the files read before the current one */
    pthread_t thread;
    int started, rc;
};

struct walk {
    const struct file_walk_opts *o;
    int *dlt, *snapshot;             /* each file's link type and snapshot length, as libpcap has them */
    struct walker *k;
    int n;
    _Atomic int go;                  /* 1: start reading; -1: give up before reading */
};

/* Packet times of the files: loops follow on one another (as the reader's replay does at speed 0). */
struct walk_time {
    uint64_t first, last, offset;
    int have_first;
};

static void nap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

/* The link type and snapshot length of a classic pcap file pcapfile reads: libpcap reads the file
 * header from a copy (fd's offset is left alone). Returns 0, or -1 for any other file. */
static int walk_probe(int fd, int *dlt, int *snapshot)
{
    uint8_t hdr[FILE_HDR];
    char ebuf[PCAP_ERRBUF_SIZE];
    if (fd < 0 || pread(fd, hdr, sizeof(hdr), 0) != (ssize_t)sizeof(hdr))
        return -1;
    FILE *fp = fmemopen(hdr, sizeof(hdr), "rb");
    pcap_t *p = fp ? pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf) : NULL;
    if (!p) {
        if (fp)
            fclose(fp);
        return -1;
    }
    *dlt = pcap_datalink(p);
    *snapshot = pcap_snapshot(p);
    pcap_close(p);                   /* and fp */
    struct pcapfile *pf = pcapfile_borrow_fd(fd, *dlt, *snapshot);
    pcapfile_close(pf);
    return pf ? 0 : -1;
}

/* When the frame is k's (its lane), decodes it into *a, prepares it for worker_packet_ahead and
 * returns 1, else 0. The lane of a plain frame comes from its headers alone (fanout_frame_lane):
 * the frames of the other lanes, most of the file, are not decoded. */
static int walk_mine(struct walker *k, struct worker_ahead *a, int dlt, const uint8_t *data, uint32_t caplen)
{
    int rc = WALK_UNDECODED;
    if (fanout_frame_lane(dlt, data, caplen, k->wk->n, &a->p, &rc) != k->lane) {
        a->data = data;              /* walk_file then knows this frame is not k's without asking again */
        a->caplen = caplen;
        return 0;
    }
    if (rc == WALK_UNDECODED)
        rc = decode_packet(dlt, data, caplen, &a->p, NULL);
    worker_peek_decoded(k->w, a, data, caplen, rc);
    return 1;
}

/* Publishes k's position, then waits while it is over `ahead` bytes ahead of the slowest worker
 * still reading. Returns -1 when asked to stop. */
static int walk_pace(struct walker *k, uint64_t pos, uint64_t ahead)
{
    struct walk *wk = k->wk;
    atomic_store_explicit(&k->pos, pos, memory_order_relaxed);
    for (int waited = 0;; waited = 1) {
        uint64_t low = UINT64_MAX;
        for (int i = 0; i < wk->n; i++) {
            uint64_t p = atomic_load_explicit(&wk->k[i].pos, memory_order_relaxed);
            low = p < low ? p : low;
        }
        /* once waiting, until the slowest is within half of it: with more workers than cores the
         * slowest then runs for a while rather than for one nap at a time */
        if (pos - low <= (waited ? ahead / 2 : ahead))
            return 0;
        if (atomic_load_explicit(k->wk->o->stop, memory_order_relaxed))
            return -1;
        nap(AHEAD_SLEEP_NS);
    }
}

/* Opens file i for k: its own pcapfile on the shared descriptor, with the filter. Returns 0, or -1
 * (logged and counted: k reads no further, its lane's packets are lost). */
static int walk_open(struct walker *k, int i, struct file_reader *r)
{
    const struct file_walk_opts *o = k->wk->o;
    r->p = pcap_open_dead(k->wk->dlt[i], k->wk->snapshot[i]);
    if (r->p)
        file_reader_use_pcapfile(r, o->fds[i], o->bpf);
    if (r->pf)
        return 0;
    log_msg(LL_WARNING, "pcap %s: capture thread %d cannot read it (out of memory); its packets are lost",
            o->paths[i], k->lane + 1);
    atomic_fetch_add(o->read_errors, 1);
    if (r->p)
        pcap_close(r->p);
    return -1;
}

/* Reads file i to its end, handling k's packets: each frame's successor, whole in k's buffer
 * already, is decoded ahead while the frame is handled. Returns 0, -1 when asked to stop, 1 when
 * k cannot read the file. */
static int walk_file(struct walker *k, int i, struct walk_time *t)
{
    const struct file_walk_opts *o = k->wk->o;
    struct file_reader r = { 0 };
    if (walk_open(k, i, &r) != 0)
        return 1;
    int dlt = k->wk->dlt[i], rc, stopping = 0, cur = 0, have = 0, next_have, mine[2] = { 0, 0 };
    struct worker_ahead ahead[2];
    struct file_progress prog;
    uint64_t ts, seen = 0, clock = atomic_load_explicit(&k->q->clock, memory_order_relaxed);
    const uint8_t *data, *next;
    uint32_t caplen, wirelen, next_caplen;
    if (k->lane == 0)
        file_progress_start(&prog, o->paths[i], o->fds[i], 0, o->progress_s);
    while ((rc = file_reader_next(&r, &ts, &data, &caplen, &wirelen)) == 1) {
        if (!t->have_first) {
            t->first = ts;
            t->have_first = 1;
        }
        t->last = ts > t->last ? ts : t->last;
        ts += t->offset;
        if (!have || ahead[cur].data != data || ahead[cur].caplen != caplen)
            mine[cur] = walk_mine(k, &ahead[cur], dlt, data, caplen);
        next_have = !r.filtered && pcapfile_peek(r.pf, &next, &next_caplen);
        if (next_have)
            mine[!cur] = walk_mine(k, &ahead[!cur], dlt, next, next_caplen);
        if (ts > clock) {            /* before the packet: expiry stays behind what k has not read */
            clock = ts;
            atomic_store_explicit(&k->q->clock, clock, memory_order_relaxed);
        }
        if (mine[cur])
            worker_packet_ahead(k->w, ts, &ahead[cur], wirelen);
        cur = !cur;
        have = next_have;
        if (k->lane == 0)
            file_progress_packet(&prog, file_reader_offset, &r);
        if (((++seen & (CHECK_EVERY - 1)) == 0 && walk_pace(k, k->base + pcapfile_tell(r.pf), FILE_WALK_AHEAD) != 0) ||
            atomic_load_explicit(o->stop, memory_order_relaxed)) {
            stopping = 1;
            break;
        }
    }
    if (rc < 0 && k->lane == 0) {    /* every worker stops at the same record: one message */
        log_msg(LL_WARNING, "pcap %s: %s (the packets before it were counted)", o->paths[i],
                file_reader_error(&r));
        atomic_fetch_add(o->read_errors, 1);
    }
    if (!stopping && k->lane == 0)
        file_progress_done(&prog);
    k->base += pcapfile_tell(r.pf);
    file_reader_release(&r);
    pcap_close(r.p);
    return stopping ? -1 : 0;
}

/* Reads every file in order (again and again with loop) for k. Returns -1 when asked to stop. */
static int walk_files(struct walker *k)
{
    const struct file_walk_opts *o = k->wk->o;
    struct walk_time t = { 0 };
    int rc = 0;
    do {
        /* a file starts once every worker is done with the one before: all of a file's packets
         * are handled before the next file's, as one thread handles them */
        for (int i = 0; i < o->nfiles && rc == 0; i++)
            rc = walk_pace(k, k->base, 0) != 0 ? -1 : walk_file(k, i, &t);
        t.offset += (t.last - t.first) + 1000000;   /* the next loop follows on */
    } while (rc == 0 && o->loop && t.have_first && !atomic_load(o->stop));
    atomic_store_explicit(&k->pos, UINT64_MAX, memory_order_relaxed);   /* nobody waits for k */
    /* release: everything k did is before this; then expiry no longer waits for k */
    atomic_store_explicit(&k->q->head, 1, memory_order_release);
    return rc < 0 ? -1 : 0;
}

static void *walk_thread(void *arg)
{
    struct walker *k = arg;
    int go;
    while ((go = atomic_load(&k->wk->go)) == 0)
        nap(AHEAD_SLEEP_NS);
    if (go > 0)
        k->rc = walk_files(k);
    worker_publish_stats(k->w);
    budget_thread_return(&k->w->cache->budget);   /* this thread's unspent credit */
    return NULL;
}

/* Sets worker i up to read: its lane, and a queue slot of the walk's group that holds expiry
 * back (tail 1, head 0) until it has read everything. */
static void walker_init(struct walk *wk, int i, struct worker *w)
{
    struct walker *k = &wk->k[i];
    k->wk = wk;
    k->w = w;
    k->lane = i;
    k->q = fanout_queue_join(w, wk, &k->own, i);
    atomic_store_explicit(&k->q->tail, 1, memory_order_release);
}

/* Starts workers 1..n-1 (worker 0 is the caller's thread) and lets them read; returns 0 with
 * every thread reading, -1 when one could not start (none read; the started ones are joined). */
static int walk_start(struct walk *wk)
{
    for (int i = 1; i < wk->n; i++) {
        if (pthread_create(&wk->k[i].thread, NULL, walk_thread, &wk->k[i]) != 0) {
            atomic_store(&wk->go, -1);
            return -1;
        }
        wk->k[i].started = 1;
    }
    atomic_store(&wk->go, 1);
    return 0;
}

int file_walk_run(struct worker *workers, int n, const struct file_walk_opts *o)
{
    struct walk wk = { .o = o, .n = n };
    int rc = 1;
    wk.dlt = calloc((size_t)o->nfiles, sizeof(*wk.dlt));
    wk.snapshot = calloc((size_t)o->nfiles, sizeof(*wk.snapshot));
    wk.k = calloc((size_t)n, sizeof(*wk.k));
    for (int i = 0; wk.dlt && wk.snapshot && wk.k && i < o->nfiles; i++)
        if (walk_probe(o->fds[i], &wk.dlt[i], &wk.snapshot[i]) != 0)
            goto out;                /* pcapng, a pipe, ...: the reader reads them */
    if (!wk.dlt || !wk.snapshot || !wk.k || o->nfiles == 0 || n < 2)
        goto out;
    for (int i = 0; i < n; i++)
        walker_init(&wk, i, &workers[i]);
    if (walk_start(&wk) == 0)
        wk.k[0].rc = walk_files(&wk.k[0]);
    rc = atomic_load(&wk.go) < 0 ? 1 : 0;
    for (int i = 0; i < n; i++) {
        struct walker *k = &wk.k[i];
        if (k->started)
            pthread_join(k->thread, NULL);
        if (k->rc < 0)
            rc = -1;
        fanout_queue_leave(k->w, k->q, &k->own);
    }
    if (rc > 0)
        log_msg(LL_WARNING, "cannot start %d capture threads reading the files; using a reader thread", n);
out:
    free(wk.dlt);
    free(wk.snapshot);
    free(wk.k);
    return rc;
}
