/* file_walk.c - capture files read once for all the workers of their source: whoever is free reads the next batch of records and finds each frame's lane, then every worker handles its own lane's frames of each batch (worker threads). */
#include "capture/source/file_walk.h"
#include "capture/cache/lock.h"
#include "capture/source/fanout.h"
#include "capture/source/file_reader.h"
#include "capture/source/pcapfile.h"
#include "capture/source/progress.h"
#include "capture/flow/worker.h"
#include "server/log/log.h"

#include <limits.h>
#include <linux/futex.h>
#include <pcap/pcap.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/*
 * The records of the files are read once, into WALK_CHUNKS buffers of 1 MB
 * used in turn (pcapfile_use_chunks), and described in batches of up to
 * WALK_BATCH consecutive records, WALK_BATCHES of them in a ring. Batch s is
 * read by one worker, the one holding `reading`, in order: a worker that
 * needs a batch nobody has read reads it, and a worker that finished a batch
 * reads one ahead when fewer than WALK_AHEAD are waiting, so the reading is
 * shared by whoever has time. The reader then finds each frame's lane
 * without the lock, and publishes the batch. Every worker handles every
 * batch in order, taking only its own lane's frames, and publishes how far
 * it got (done). A buffer is written again only once every worker is done
 * with every batch that has a record in it, and a batch slot only once every
 * worker is done with the batch it held: the ring is what keeps the workers
 * within WALK_BATCHES * WALK_BATCH records of one another.
 */
enum {
    WALK_BATCH = 256, WALK_BATCHES = 128, WALK_AHEAD = 8, WALK_CHUNKS = 8,
    WALK_SPINS = 200, WALK_NAP_NS = 1000000, FILE_HDR = 24,
};

/* What comes after a batch's frames. */
enum { WALK_MORE, WALK_FILE_END, WALK_ALL_END };

struct walk_frame {
    const uint8_t *data;             /* in one of the reader's chunks */
    uint64_t ts;                     /* packet time, loops following on one another */
    uint32_t caplen, wirelen;
};

/* Consecutive records of one file: read by one worker, handled by every worker. */
struct walk_batch {
    _Atomic uint64_t ready;          /* its sequence number + 1 once frames and lanes are written */
    int n, file, end;                /* end: WALK_* after its frames */
    uint64_t last_ts;                /* the newest packet time of its frames */
    struct walk_frame f[WALK_BATCH];
    uint8_t lane[WALK_BATCH];        /* capture-threads is at most 64 */
};

struct walk;

/* One worker of the walk. */
struct walker {
    _Alignas(64) _Atomic uint64_t done;   /* batches handled (all below it); UINT64_MAX once it stopped */
    struct walk *wk;
    struct worker *w;
    int lane;
    struct cache_queue *q;           /* clock: the newest packet time handled; head < tail while reading */
    struct cache_queue own;          /* unregistered fallback: expiry then ignores this worker */
    pthread_t thread;
    int started, rc;
};

/* Packet times of the files: loops follow on one another (as the reader's replay does at speed 0). */
struct walk_time {
    uint64_t first, last, offset;
    int have_first;
};

struct walk {
    const struct file_walk_opts *o;
    int *dlt, *snapshot;             /* each file's link type and snapshot length, as libpcap has them */
    struct walker *k;
    int n;
    _Atomic int go;                  /* 1: start reading; -1: give up before reading */
    struct walk_batch *b;            /* WALK_BATCHES slots: batch s in b[s % WALK_BATCHES] */
    _Atomic uint64_t next;           /* the next batch to read (written under `reading`) */
    /* waiting: gen changes whenever a batch is published or a worker is done with one */
    _Atomic uint32_t gen, sleepers;
    /* the reading, under `reading` */
    pthread_mutex_t reading;
    struct file_reader r;            /* the file being read (r.p NULL: none open) */
    int file;                        /* its index; -1 before the first */
    int file_ended, finished;        /* r has no more records; no batch follows the last one read */
    int chunk, switched;             /* the chunk r's records lie in; it changed during this batch */
    uint64_t chunk_last[WALK_CHUNKS];/* 1 + the last batch with a record in each chunk (0: none) */
    struct walk_time t;
    struct file_progress prog;
};

/* The least batch count every worker has handled. Any worker. */
static uint64_t walk_min_done(const struct walk *wk)
{
    uint64_t low = UINT64_MAX;
    for (int i = 0; i < wk->n; i++) {
        uint64_t d = atomic_load_explicit(&wk->k[i].done, memory_order_acquire);
        low = d < low ? d : low;
    }
    return low;
}

/* Tells sleeping workers that something changed (a batch published, a batch handled). */
static void walk_wake(struct walk *wk)
{
    atomic_fetch_add(&wk->gen, 1);
    if (atomic_load(&wk->sleepers) > 0)
        syscall(SYS_futex, &wk->gen, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

/* Waits a little for a change after the caller saw gen == seen and found nothing to do: spins
 * first (the other worker is mostly about to publish), then sleeps until walk_wake or a nap passed
 * (the stop flag is looked at in between). */
static void walk_sleep(struct walk *wk, uint32_t seen, int *spins)
{
    if ((*spins)++ < WALK_SPINS) {
        lock_pause();
        return;
    }
    struct timespec ts = { 0, WALK_NAP_NS };
    atomic_fetch_add(&wk->sleepers, 1);
    if (atomic_load(&wk->gen) == seen)
        syscall(SYS_futex, &wk->gen, FUTEX_WAIT_PRIVATE, seen, &ts, NULL, 0);
    atomic_fetch_sub(&wk->sleepers, 1);
}

static void nap(long ns)
{
    struct timespec ts = { 0, ns };
    nanosleep(&ts, NULL);
}

/* Waits until every worker has handled `need` batches. Returns -1 when asked to stop first. The
 * reading worker. */
static int walk_wait_done(struct walk *wk, uint64_t need)
{
    for (int spins = 0;;) {
        uint32_t seen = atomic_load(&wk->gen);
        if (walk_min_done(wk) >= need)
            return 0;
        if (atomic_load_explicit(wk->o->stop, memory_order_relaxed))
            return -1;
        walk_sleep(wk, seen, &spins);
    }
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

/* pcapfile's hook before it writes chunk next: every batch with a record in it must be handled by
 * every worker. The batch being read closes at the first record of a new chunk, so it never waits
 * for itself. */
static int walk_chunk_wait(void *arg, int done, int next)
{
    struct walk *wk = arg;
    (void)done;
    if (walk_wait_done(wk, wk->chunk_last[next]) != 0)
        return -1;
    wk->chunk = next;
    wk->switched = 1;
    return 0;
}

/* Closes the file being read, once every worker is done with its records. */
static void walk_close(struct walk *wk)
{
    if (!wk->r.p)
        return;
    file_reader_release(&wk->r);
    pcap_close(wk->r.p);
    memset(&wk->r, 0, sizeof(wk->r));
}

/* Opens file i, with the filter, read into the shared chunks. Returns 0, or -1 (logged and
 * counted: the file's packets are lost). */
static int walk_open(struct walk *wk, int i)
{
    const struct file_walk_opts *o = wk->o;
    struct file_reader *r = &wk->r;
    r->p = pcap_open_dead(wk->dlt[i], wk->snapshot[i]);
    if (r->p)
        file_reader_use_pcapfile(r, o->fds[i], o->bpf);
    if (r->pf && pcapfile_use_chunks(r->pf, WALK_CHUNKS, walk_chunk_wait, wk) == 0) {
        memset(wk->chunk_last, 0, sizeof(wk->chunk_last));
        wk->chunk = 0;
        file_progress_start(&wk->prog, o->paths[i], o->fds[i], 0, o->progress_s);
        return 0;
    }
    log_msg(LL_WARNING, "pcap %s: the capture threads cannot read it (out of memory); its packets are lost",
            o->paths[i]);
    atomic_fetch_add(o->read_errors, 1);
    if (r->pf)
        file_reader_release(r);
    if (r->p)
        pcap_close(r->p);
    memset(r, 0, sizeof(*r));
    return -1;
}

/* Moves on to the next file (the first again with loop, its packet times after the last pass's),
 * once every worker is done with the one before: all of a file's packets are handled before the
 * next file's, as one thread handles them. Returns 0 with a file open, 1 when no file follows
 * (or none could be opened: the batch ends there), -1 when asked to stop. */
static int walk_next_file(struct walk *wk, uint64_t s)
{
    const struct file_walk_opts *o = wk->o;
    if (walk_wait_done(wk, s) != 0)
        return -1;
    walk_close(wk);
    int i = wk->file + 1;
    if (i == o->nfiles) {
        if (!o->loop || !wk->t.have_first || atomic_load(o->stop))
            return 1;
        wk->t.offset += (wk->t.last - wk->t.first) + 1000000;   /* the next loop follows on */
        i = 0;
    }
    wk->file = i;
    wk->file_ended = walk_open(wk, i) != 0;
    return 0;
}

/* What follows the last batch of the current file: WALK_ALL_END when no file does. */
static int walk_after_file(const struct walk *wk)
{
    const struct file_walk_opts *o = wk->o;
    int last = wk->file + 1 >= o->nfiles && (!o->loop || !wk->t.have_first);
    return last || atomic_load(o->stop) ? WALK_ALL_END : WALK_FILE_END;
}

/* The file being read ended (rc 0, or -1 on a broken record): what follows its last batch. */
static int walk_file_end(struct walk *wk, int rc)
{
    const struct file_walk_opts *o = wk->o;
    if (rc < 0) {
        log_msg(LL_WARNING, "pcap %s: %s (the packets before it were counted)", o->paths[wk->file],
                file_reader_error(&wk->r));
        atomic_fetch_add(o->read_errors, 1);
    }
    else if (!atomic_load(o->stop))
        file_progress_done(&wk->prog);
    wk->file_ended = 1;
    return walk_after_file(wk);
}

/* Reads batch s, the next one, into its slot (frames only: the lanes come after, without the
 * lock). Holding `reading`, with the slot free. */
static void walk_read(struct walk *wk, uint64_t s, struct walk_batch *b)
{
    b->n = 0;
    b->end = WALK_MORE;
    b->last_ts = 0;
    wk->switched = 0;
    if (wk->file_ended) {
        int rc = walk_next_file(wk, s);
        if (rc != 0 || wk->file_ended) {   /* none follows, stopped, or it could not be opened */
            b->file = wk->file < 0 ? 0 : wk->file;
            b->end = rc != 0 ? WALK_ALL_END : walk_after_file(wk);
            wk->finished = b->end == WALK_ALL_END;
            return;
        }
    }
    b->file = wk->file;
    while (b->n < WALK_BATCH && !wk->switched) {
        struct walk_frame *f = &b->f[b->n];
        int rc = file_reader_next(&wk->r, &f->ts, &f->data, &f->caplen, &f->wirelen);
        if (rc != 1) {
            b->end = walk_file_end(wk, rc);
            wk->finished = b->end == WALK_ALL_END;
            return;
        }
        struct walk_time *t = &wk->t;
        if (!t->have_first) {
            t->first = f->ts;
            t->have_first = 1;
        }
        t->last = f->ts > t->last ? f->ts : t->last;
        f->ts += t->offset;
        b->last_ts = f->ts > b->last_ts ? f->ts : b->last_ts;
        wk->chunk_last[wk->chunk] = s + 1;
        file_progress_packet(&wk->prog, file_reader_offset, &wk->r);
        b->n++;
    }
}

/* Finds the lane of each frame of b and publishes it as batch s. */
static void walk_publish(struct walk *wk, uint64_t s, struct walk_batch *b)
{
    int dlt = wk->dlt[b->file];
    for (int i = 0; i < b->n; i++)
        b->lane[i] = (uint8_t)fanout_frame_lane(dlt, b->f[i].data, b->f[i].caplen, wk->n);
    atomic_store_explicit(&b->ready, s + 1, memory_order_release);
    walk_wake(wk);
}

/* Whether k may read batch s now without waiting for itself: needed (k has handled every batch
 * before it), or ahead with room (its slot free, no chunk to wait for, no file to change). Holding
 * `reading`. */
static int walk_may_read(const struct walker *k, uint64_t s)
{
    const struct walk *wk = k->wk;
    uint64_t mine = atomic_load_explicit(&k->done, memory_order_relaxed);
    if (wk->finished || s != atomic_load_explicit(&wk->next, memory_order_relaxed))
        return 0;
    if (mine >= s)
        return 1;
    uint64_t low = walk_min_done(wk);
    return low + WALK_BATCHES > s && low >= wk->chunk_last[(wk->chunk + 1) % WALK_CHUNKS] &&
           (!wk->file_ended || low >= s);
}

/* Reads and publishes batch s when k may (walk_may_read) and nobody else is reading. Returns 1
 * when it did. */
static int walk_try_read(struct walker *k, uint64_t s)
{
    struct walk *wk = k->wk;
    if (pthread_mutex_trylock(&wk->reading) != 0)
        return 0;
    if (!walk_may_read(k, s)) {
        pthread_mutex_unlock(&wk->reading);
        return 0;
    }
    struct walk_batch *b = &wk->b[s % WALK_BATCHES];
    /* a needed batch's slot: free once every worker handled the batch it held */
    if (walk_wait_done(wk, s + 1 > WALK_BATCHES ? s + 1 - WALK_BATCHES : 0) != 0) {
        pthread_mutex_unlock(&wk->reading);
        return 0;
    }
    walk_read(wk, s, b);
    atomic_store_explicit(&wk->next, s + 1, memory_order_relaxed);
    pthread_mutex_unlock(&wk->reading);
    walk_publish(wk, s, b);
    return 1;
}

/* Batch s once it is published (read by k itself when nobody has); NULL when asked to stop. */
static struct walk_batch *walk_batch_get(struct walker *k, uint64_t s)
{
    struct walk *wk = k->wk;
    struct walk_batch *b = &wk->b[s % WALK_BATCHES];
    for (int spins = 0;;) {
        uint32_t seen = atomic_load(&wk->gen);
        if (atomic_load_explicit(&b->ready, memory_order_acquire) == s + 1)
            return b;
        if (atomic_load_explicit(wk->o->stop, memory_order_relaxed))
            return NULL;
        if (atomic_load_explicit(&wk->next, memory_order_relaxed) == s && walk_try_read(k, s))
            continue;
        walk_sleep(wk, seen, &spins);
    }
}

/* The next frame of k's lane in b from index i (b->n when none). */
static int walk_next_mine(const struct walker *k, const struct walk_batch *b, int i)
{
    while (i < b->n && b->lane[i] != k->lane)
        i++;
    return i;
}

/* Handles k's frames of b: each one's successor is decoded ahead (its flow bucket prefetched)
 * while it is handled. The clock moves before each packet, so expiry stays behind what k has
 * not handled, then to the batch's newest time. */
static void walk_handle(struct walker *k, const struct walk_batch *b, uint64_t *clock)
{
    int dlt = k->wk->dlt[b->file], cur = 0;
    struct worker_ahead ahead[2];
    int i = walk_next_mine(k, b, 0);
    if (i < b->n)
        worker_peek(k->w, &ahead[cur], dlt, b->f[i].data, b->f[i].caplen);
    while (i < b->n) {
        const struct walk_frame *f = &b->f[i];
        int j = walk_next_mine(k, b, i + 1);
        if (j < b->n)
            worker_peek(k->w, &ahead[!cur], dlt, b->f[j].data, b->f[j].caplen);
        if (f->ts > *clock) {
            *clock = f->ts;
            atomic_store_explicit(&k->q->clock, *clock, memory_order_relaxed);
        }
        worker_packet_ahead(k->w, f->ts, &ahead[cur], f->wirelen);
        cur = !cur;
        i = j;
    }
    if (b->last_ts > *clock) {
        *clock = b->last_ts;
        atomic_store_explicit(&k->q->clock, *clock, memory_order_relaxed);
    }
}

/* Handles every batch in order for k until the last one. Returns -1 when asked to stop. */
static int walk_files(struct walker *k)
{
    struct walk *wk = k->wk;
    uint64_t clock = atomic_load_explicit(&k->q->clock, memory_order_relaxed);
    int rc = 0;
    for (uint64_t s = 0;; s++) {
        struct walk_batch *b = walk_batch_get(k, s);
        if (!b) {
            rc = -1;
            break;
        }
        walk_handle(k, b, &clock);
        int end = b->end;
        /* release: every read of b's frames is before this; the slot and chunks may then be reused */
        atomic_store_explicit(&k->done, s + 1, memory_order_release);
        walk_wake(wk);
        if (atomic_load_explicit(wk->o->stop, memory_order_relaxed)) {
            rc = -1;                 /* shutting down: the caller skips the end-of-file work */
            break;
        }
        if (end == WALK_ALL_END)
            break;
        if (atomic_load_explicit(&wk->next, memory_order_relaxed) < s + 1 + WALK_AHEAD)
            walk_try_read(k, atomic_load_explicit(&wk->next, memory_order_relaxed));
    }
    atomic_store_explicit(&k->done, UINT64_MAX, memory_order_release);   /* nobody waits for k */
    walk_wake(wk);
    /* release: everything k did is before this; then expiry no longer waits for k */
    atomic_store_explicit(&k->q->head, 1, memory_order_release);
    return rc;
}

static void *walk_thread(void *arg)
{
    struct walker *k = arg;
    int go;
    while ((go = atomic_load(&k->wk->go)) == 0)
        nap(WALK_NAP_NS);
    if (go > 0)
        k->rc = walk_files(k);
    worker_publish_stats(k->w);
    budget_thread_return(&k->w->cache->budget);   /* this thread's unspent credit */
    return NULL;
}

/* Sets worker i up to read: its lane, and a queue slot of the walk's group that holds expiry
 * back (tail 1, head 0) until it has handled everything. */
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
    struct walk wk = { .o = o, .n = n, .file = -1, .file_ended = 1 };
    int rc = 1;
    pthread_mutex_init(&wk.reading, NULL);
    wk.dlt = calloc((size_t)o->nfiles, sizeof(*wk.dlt));
    wk.snapshot = calloc((size_t)o->nfiles, sizeof(*wk.snapshot));
    wk.k = aligned_alloc(64, (size_t)n * sizeof(*wk.k));
    wk.b = calloc(WALK_BATCHES, sizeof(*wk.b));
    for (int i = 0; wk.dlt && wk.snapshot && wk.k && i < o->nfiles; i++)
        if (walk_probe(o->fds[i], &wk.dlt[i], &wk.snapshot[i]) != 0)
            goto out;                /* pcapng, a pipe, ...: the reader reads them */
    if (!wk.dlt || !wk.snapshot || !wk.k || !wk.b || o->nfiles == 0 || n < 2)
        goto out;
    memset(wk.k, 0, (size_t)n * sizeof(*wk.k));
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
    walk_close(&wk);
    if (rc > 0)
        log_msg(LL_WARNING, "cannot start %d capture threads reading the files; using a reader thread", n);
out:
    pthread_mutex_destroy(&wk.reading);
    free(wk.dlt);
    free(wk.snapshot);
    free(wk.k);
    free(wk.b);
    return rc;
}
