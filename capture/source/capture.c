/* capture.c - packet sources and their threads: pcap files (speed, loop) and live interfaces (capture threads). */
#include "capture/source/capture.h"
#include "capture/source/afpacket.h"
#include "capture/source/fanout.h"
#include "capture/source/file_end.h"
#include "capture/source/file_reader.h"
#include "capture/source/file_walk.h"
#include "capture/source/live_fanout.h"
#include "capture/source/pcapfile.h"
#include "capture/source/progress.h"
#include "server/log/log.h"

#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <net/if.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum { LIVE_TIMEOUT_MS = 50, LIVE_BATCH = 512, TICK_US = 100000, REOPEN_MAX_S = 30, LIVE_GONE = -100 };

struct source {
    struct capture *cap;
    struct worker *w;            /* capture-threads workers; w[0] alone runs inline */
    int nworkers;
    struct fanout *fan;          /* NULL when one worker runs in the reader thread */
    int is_live;
    char **files;                /* file sources: all the files, read in order */
    int *fds;                    /* each file opened at start-up, before `user` drops root (-1: stdin) */
    int nfiles;
    char *iface;
    pcap_t *live;                /* live handle through libpcap (a file's handle is made by the thread) */
    struct afp *afp;             /* or through flowcached's own packet ring */
    struct live_fanout *lf;      /* or one ring per worker, read by the workers */
    unsigned ifindex;            /* of the device the handle is bound to; 0 = not checked ("any") */
    pthread_t thread;
    int started;
    _Atomic uint64_t drops, read_errors, handoffs;
    uint64_t start_us;           /* file sources: wall clock when reading began (the summary line) */
};

struct capture {
    struct capture_opts o;
    struct cache *cache;
    struct source *src;
    int nsrc;
    int nworkers_total;
    _Atomic int stop;
    _Atomic int active;
    void (*on_done)(void *arg);
    void *done_arg;
};

static uint64_t wall_us(void)
{
    return file_progress_now_us();
}

static int set_filter(pcap_t *p, const char *bpf, char *err, size_t errlen)
{
    struct bpf_program prog;
    if (!bpf || !*bpf)
        return 0;
    if (pcap_compile(p, &prog, bpf, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "bad bpf filter '%s': %s", bpf, pcap_geterr(p));
        return -1;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "cannot set bpf filter: %s", pcap_geterr(p));
        return -1;
    }
    return 0;
}

/* Opens and activates a live device. batch_ms 0 = immediate mode: libpcap
 * uses TPACKET_V2, one ring frame of about snaplen bytes per packet and a
 * wake-up per packet (lowest latency; a 64 MB ring holds ~1000 frames of a
 * 64 KB-MTU device such as lo). batch_ms > 0 = TPACKET_V3: packets packed in
 * blocks handed over when full or batch_ms old (rounded up to a kernel tick).
 * Returns the handle or NULL with err filled. Loop or capture thread. */
static pcap_t *open_live(const char *iface, const struct capture_opts *o, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_create(iface, ebuf);
    if (!p) {
        snprintf(err, errlen, "interface %s: %s", iface, ebuf);
        return NULL;
    }
    pcap_set_snaplen(p, o->snaplen);
    pcap_set_promisc(p, o->promisc);
    pcap_set_timeout(p, o->batch_ms > 0 ? o->batch_ms : LIVE_TIMEOUT_MS);
    pcap_set_immediate_mode(p, o->batch_ms > 0 ? 0 : 1);
    pcap_set_buffer_size(p, o->buffer_bytes && o->buffer_bytes <= INT32_MAX ? (int)o->buffer_bytes : 64 << 20);
    int rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(err, errlen, "interface %s: %s", iface, pcap_geterr(p));
        pcap_close(p);
        return NULL;
    }
    if (set_filter(p, o->bpf, err, errlen) != 0) {
        pcap_close(p);
        return NULL;
    }
    afp_ignore_outgoing(pcap_get_selectable_fd(p), iface);
    if (pcap_setnonblock(p, 1, ebuf) != 0) {     /* live_read polls: never block in libpcap */
        snprintf(err, errlen, "interface %s: %s", iface, ebuf);
        pcap_close(p);
        return NULL;
    }
    return p;
}

/* Opens a source's live device: the own packet ring in immediate mode for
 * the devices it handles, libpcap otherwise. Returns 0 or -1 with err. */
static int live_open(struct source *s, const struct capture_opts *o, char *err, size_t errlen)
{
    if (o->batch_ms == 0 && o->reader == CAPTURE_READER_RING) {
        struct live_fanout_opts lo = { (unsigned)o->snaplen, o->promisc, o->buffer_bytes, o->bpf,
                                       o->coalesce_us, o->realtime };
        int rc = live_fanout_open(&s->lf, s->iface, o->threads, &lo, err, errlen);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
        rc = afp_open(&s->afp, s->iface, (unsigned)o->snaplen, o->promisc, o->buffer_bytes, o->bpf,
                          err, errlen);
        if (rc != 0)
            return rc > 0 ? 0 : -1;
    }
    s->live = open_live(s->iface, o, err, errlen);
    return s->live ? 0 : -1;
}

static void live_close(struct source *s)
{
    if (s->live)
        pcap_close(s->live);
    afp_close(s->afp);
    live_fanout_close(s->lf);
    s->live = NULL;
    s->afp = NULL;
    s->lf = NULL;
}

/* Drops of the open handle since it was opened. */
static uint64_t live_drops(struct source *s)
{
    struct pcap_stat ps;
    if (s->lf)
        return live_fanout_drops(s->lf);
    if (s->afp)
        return afp_drops(s->afp);
    if (s->live && pcap_stats(s->live, &ps) == 0)
        return (uint64_t)ps.ps_drop + ps.ps_ifdrop;
    return 0;
}

/* stdio buffer of a pcap file: libpcap reads through a FILE, whose default
 * buffer (the file system's block, 4 KB) costs one read(2) per 4 KB. */
#define FILE_READ_BUF (1u << 20)

/* Opens a pcap/pcapng file, read from its start through fd, which stays
 * open (a dup is read; fd -1: path "-", standard input), with the filter
 * set. Returns the handle and *iobuf, its read buffer (possibly NULL), which
 * the caller frees after pcap_close(); NULL with err filled on failure. */
static pcap_t *open_file(const char *path, int fd, const char *bpf, char **iobuf, char *err, size_t errlen)
{
    char ebuf[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = NULL;
    FILE *fp = NULL;
    *iobuf = NULL;
    if (fd >= 0) {
        lseek(fd, 0, SEEK_SET);          /* fails on a pipe, which is read once */
        int dfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (dfd < 0 || !(fp = fdopen(dfd, "rb"))) {
            snprintf(err, errlen, "pcap %s: %s", path, strerror(errno));
            if (dfd >= 0)
                close(dfd);
            return NULL;
        }
    }
    if (fp) {
        if ((*iobuf = malloc(FILE_READ_BUF)) != NULL)
            setvbuf(fp, *iobuf, _IOFBF, FILE_READ_BUF);
        p = pcap_fopen_offline_with_tstamp_precision(fp, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (!p)
            fclose(fp);                 /* libpcap leaves a FILE it refused open */
    } else {                            /* stdin */
        p = pcap_open_offline_with_tstamp_precision(path, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
    }
    if (!p) {
        snprintf(err, errlen, "pcap %s: %s", path, ebuf);
        free(*iobuf);
        *iobuf = NULL;
        return NULL;
    }
    if (set_filter(p, bpf, err, errlen) != 0) {
        pcap_close(p);
        free(*iobuf);
        *iobuf = NULL;
        return NULL;
    }
    return p;
}

/* Is fd an open regular file (which can be read again from its start)? */
static int fd_regular(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens a capture file for the capture thread, now, while root may still
 * read what the `user` directive's user may not (tcpdump -Z does the same),
 * and checks what libpcap makes of a regular file so a bad one fails at
 * start-up. Returns the descriptor, -1 for "-" (standard input, opened by
 * the thread), or -2 with err filled. Loop thread. */
static int file_open_checked(const char *path, const char *bpf, char *err, size_t errlen)
{
    char *iobuf;
    if (strcmp(path, "-") == 0)
        return -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "pcap %s: %s: %s", path, path, strerror(errno));
        return -2;
    }
    if (!fd_regular(fd))
        return fd;                   /* a pipe is read once, by the thread: nothing read here */
    pcap_t *p = open_file(path, fd, bpf, &iobuf, err, errlen);
    if (!p) {
        close(fd);
        return -2;
    }
    pcap_close(p);
    free(iobuf);
    return fd;
}

/* The interface index of live source s, kept too in the cache for its flows' export records. */
static void source_ifindex_set(struct capture *cap, struct source *s, unsigned ifindex)
{
    long i = s - cap->src;
    s->ifindex = ifindex;
    if (i >= 0 && i < CACHE_SOURCES_MAX)
        atomic_store_explicit(&cap->cache->src_ifindex[i], ifindex, memory_order_relaxed);
}

/* One worker per capture thread of the source (capture-threads). */
static int source_workers_init(struct capture *cap, struct source *s, const struct capture_opts *o)
{
    int n = o->threads > 0 ? o->threads : 1;
    s->cap = cap;
    s->w = calloc((size_t)n, sizeof(*s->w));
    if (!s->w)
        return -1;
    for (int i = 0; i < n; i++) {
        if (worker_init(&s->w[i], cap->nworkers_total + i, cap->cache) != 0)
            return -1;
        s->w[i].user_grace_us = o->user_grace_us;
        s->w[i].src = cap->nsrc < CACHE_SOURCES_MAX ? (uint8_t)(cap->nsrc + 1) : 0;
        s->w[i].wl = o->wl;
        s->w[i].lane = s->nworkers++;        /* its index among the source's workers: i */
    }
    cap->nworkers_total += n;
    return 0;
}

struct capture *capture_create(const struct capture_opts *o, struct cache *c, char *err, size_t errlen)
{
    struct capture *cap = calloc(1, sizeof(*cap));
    if (!cap) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    cap->o = *o;
    cap->cache = c;
    cap->src = calloc((size_t)o->nifaces + 1, sizeof(*cap->src));
    if (!cap->src) {
        free(cap);
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (o->nfiles > 0) {
        struct source *s = &cap->src[cap->nsrc];
        if (!(s->fds = malloc((size_t)o->nfiles * sizeof(*s->fds))))
            goto oom;
        s->files = o->files;
        for (; s->nfiles < o->nfiles; s->nfiles++)
            if ((s->fds[s->nfiles] = file_open_checked(o->files[s->nfiles], o->bpf, err, errlen)) == -2) {
                capture_destroy(cap);
                return NULL;
            }
        if (source_workers_init(cap, s, o) != 0)
            goto oom;
        cap->nsrc++;
    }
    for (int i = 0; i < o->nifaces; i++) {
        struct source *s = &cap->src[cap->nsrc];
        s->is_live = 1;
        s->iface = o->ifaces[i];
        if (live_open(s, o, err, errlen) != 0) {
            capture_destroy(cap);
            return NULL;
        }
        source_ifindex_set(cap, s, if_nametoindex(o->ifaces[i]));
        if (source_workers_init(cap, s, o) != 0)
            goto oom;
        cap->nsrc++;
    }
    return cap;
oom:
    snprintf(err, errlen, "out of memory creating capture workers");
    capture_destroy(cap);
    return NULL;
}

/* Hands a frame to the source's worker (inline) or to its fanout. */
static void source_packet(struct source *s, uint64_t ts, int dlt, const uint8_t *data,
                          uint32_t caplen, uint32_t wirelen)
{
    if (s->fan)
        fanout_push(s->fan, ts, dlt, data, caplen, wirelen, &s->cap->stop);
    else
        worker_packet(&s->w[0], ts, dlt, data, caplen, wirelen);
}

/* Wall-clock tick: inline workers only (fanout workers tick themselves). */
static void source_tick(struct source *s, uint64_t now)
{
    if (!s->fan)
        worker_tick(&s->w[0], now);
}

/* Sleeps until the wall clock reaches target, ticking the worker meanwhile.
 * Returns -1 when asked to stop. */
static int pace_until(struct source *s, uint64_t target)
{
    for (;;) {
        if (atomic_load(&s->cap->stop))
            return -1;
        uint64_t now = wall_us();
        if (now >= target)
            return 0;
        uint64_t d = target - now;
        if (d > TICK_US)
            d = TICK_US;
        struct timespec ts = { (time_t)(d / 1000000), (long)(d % 1000000) * 1000 };
        nanosleep(&ts, NULL);
        source_tick(s, wall_us());
    }
}

struct replay {
    uint64_t first_ts, last_ts;  /* original packet times seen */
    uint64_t offset;             /* added to packet times (loops) */
    uint64_t wall_start;         /* speed > 0: wall time of first_ts */
    int have_first;
};

static uint64_t replay_time(struct source *s, struct replay *rp, uint64_t ts)
{
    double speed = s->cap->o.speed;
    if (!rp->have_first) {
        rp->first_ts = ts;
        rp->wall_start = wall_us();
        rp->have_first = 1;
    }
    if (ts > rp->last_ts)
        rp->last_ts = ts;
    uint64_t t = ts + rp->offset;
    if (speed <= 0)
        return t;
    uint64_t rel = t > rp->first_ts ? t - rp->first_ts : 0;
    return rp->wall_start + (uint64_t)((double)rel / speed);
}

/* Reads file i of the source to its end (from its start). Returns -1 when stopping. */
static int read_file(struct source *s, int i, struct replay *rp)
{
    char err[512];
    char *iobuf;
    struct file_reader r = { 0 };
    const char *bpf = s->cap->o.bpf, *path = s->files[i];
    int regular = fd_regular(s->fds[i]);
    if (rp->offset > 0 && !regular)
        return 0;                    /* a pipe or standard input is read once, loop or not */
    r.p = open_file(path, s->fds[i], bpf, &iobuf, err, sizeof(err));
    if (!r.p) {
        log_msg(LL_WARNING, "%s", err);
        atomic_fetch_add(&s->read_errors, 1);
        return 0;
    }
    int dlt = pcap_datalink(r.p), rc, stopping = 0;
    file_reader_use_pcapfile(&r, regular ? s->fds[i] : -1, bpf);
    int by_ref = file_reader_share(&r, s->fan, &s->cap->stop);   /* workers read the reader's buffers */
    uint64_t ts;
    const uint8_t *data, *next;
    uint32_t caplen, wirelen, next_caplen;
    struct file_progress prog;
    file_progress_start(&prog, path, s->fds[i], s->cap->o.speed, s->cap->o.progress_s);
    /* One worker fed directly: each packet's successor, whole in the reader's
     * buffer (which only moves at a later read), is decoded ahead. */
    struct worker_ahead ahead[2];
    int cur = 0, have = 0, next_have;
    while ((rc = file_reader_next(&r, &ts, &data, &caplen, &wirelen)) == 1) {
        ts = replay_time(s, rp, ts);
        if (s->cap->o.speed > 0 && pace_until(s, ts) != 0) {
            stopping = 1;
            break;
        }
        next_have = !s->fan && r.pf && !r.filtered && pcapfile_peek(r.pf, &next, &next_caplen);
        if (next_have)
            worker_peek(&s->w[0], &ahead[!cur], dlt, next, next_caplen);
        if (have && ahead[cur].data == data && ahead[cur].caplen == caplen)
            worker_packet_ahead(&s->w[0], ts, &ahead[cur], wirelen);
        else if (by_ref)
            fanout_push_ref(s->fan, ts, dlt, data, caplen, wirelen, &s->cap->stop);
        else
            source_packet(s, ts, dlt, data, caplen, wirelen);
        cur = !cur;
        have = next_have;
        file_progress_packet(&prog, file_reader_offset, &r);
        if (atomic_load_explicit(&s->cap->stop, memory_order_relaxed)) {
            stopping = 1;
            break;
        }
    }
    if (rc == 0 && atomic_load(&s->cap->stop))
        stopping = 1;                /* a wait for a free chunk gave up */
    if (rc < 0) {
        log_msg(LL_WARNING, "pcap %s: %s (the packets before it were counted)", path,
                file_reader_error(&r));
        atomic_fetch_add(&s->read_errors, 1);
    }
    if (!stopping)
        file_progress_done(&prog);
    file_reader_release(&r);
    pcap_close(r.p);
    free(iobuf);
    return stopping ? -1 : 0;
}

static void source_finished(struct source *s)
{
    struct capture *cap = s->cap;
    fanout_finish(s->fan);           /* every queued frame is processed first */
    s->fan = NULL;
    /* keep: what is due by the file's last packet ends now, not at a next tick that never comes
     * (the same cache for one worker or several), and detection is final */
    file_end_run(s->w, s->nworkers, cap->o.end != PCAP_END_KEEP);
    struct file_summary sum = { .files = s->nfiles, .start_us = s->start_us,
                                .flows_dropped = atomic_load(&cap->cache->st.flows_dropped),
                                .read_errors = atomic_load(&s->read_errors) };
    for (int i = 0; i < s->nworkers; i++) {
        worker_publish_stats(&s->w[i]);
        sum.packets += atomic_load(&s->w[i].st.packets);
        sum.bytes += atomic_load(&s->w[i].st.bytes);
        sum.anomalies += atomic_load(&s->w[i].st.anomalies);
        sum.events_dropped += atomic_load(&s->w[i].events.dropped);
    }
    struct cache_counts n;
    cache_counts_get(cap->cache, &n);
    sum.flows = n.flows_created;
    file_summary_log(&sum);
    budget_thread_return(&cap->cache->budget);   /* this thread's unspent credit */
    if (atomic_fetch_sub(&cap->active, 1) == 1 && cap->on_done)
        cap->on_done(cap->done_arg);
}

static int source_fanout_start(struct source *s, int wall_clock)
{
    if (s->nworkers <= 1)
        return 0;
    s->fan = fanout_start(s->w, s->nworkers, wall_clock);
    if (!s->fan) {
        log_msg(LL_WARNING, "cannot start %d capture threads; using one", s->nworkers);
        s->nworkers = 1;
    }
    return 0;
}

/* Several workers on files read at full speed: they read each file once between them (file_walk.c). Returns
 * file_walk_run's result: 0 read, -1 stopped, 1 when a reader thread must read them. */
static int source_walk(struct source *s)
{
    const struct capture_opts *o = &s->cap->o;
    struct file_walk_opts wo = { s->files, s->fds, s->nfiles, o->loop, o->bpf, o->progress_s,
                                 &s->cap->stop, &s->read_errors };
    return s->nworkers > 1 && o->speed <= 0 ? file_walk_run(s->w, s->nworkers, &wo) : 1;
}

static void *file_thread(void *arg)
{
    struct source *s = arg;
    struct replay rp = { 0 };
    int loop = 0, rc;
    s->start_us = wall_us();
    for (int i = 0; i < s->nfiles; i++)
        loop |= s->cap->o.loop && fd_regular(s->fds[i]);
    if ((rc = source_walk(s)) > 0) {
        source_fanout_start(s, s->cap->o.speed > 0);
        do {
            for (int i = 0; i < s->nfiles && rc > 0; i++)
                rc = read_file(s, i, &rp) != 0 ? -1 : 1;
            rp.offset += (rp.last_ts - rp.first_ts) + 1000000;   /* next loop follows on */
        } while (rc > 0 && loop && rp.have_first && !atomic_load(&s->cap->stop));
    }
    if (rc < 0) {                    /* stopped: no end-of-file work */
        fanout_finish(s->fan);
        s->fan = NULL;
        budget_thread_return(&s->cap->cache->budget);
        return NULL;
    }
    source_finished(s);
    return NULL;
}

static void live_cb(u_char *arg, const struct pcap_pkthdr *h, const u_char *data)
{
    struct source *s = (struct source *)arg;
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000ULL + (uint64_t)h->ts.tv_usec;
    source_packet(s, ts, pcap_datalink(s->live), data, h->caplen, h->len);
}

static void afp_frame(void *arg, uint64_t ts, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    source_packet((struct source *)arg, ts, DLT_EN10MB, data, caplen, wirelen);
}

/* Reopens a live interface that failed, with backoff. Returns -1 when stopping. */
static int live_reopen(struct source *s)
{
    char err[512];
    unsigned delay = 1;
    live_close(s);
    while (!atomic_load(&s->cap->stop)) {
        for (unsigned i = 0; i < delay * 10 && !atomic_load(&s->cap->stop); i++) {
            struct timespec ts = { 0, 100 * 1000000L };
            nanosleep(&ts, NULL);
        }
        if (live_open(s, &s->cap->o, err, sizeof(err)) == 0) {
            source_ifindex_set(s->cap, s, if_nametoindex(s->iface));
            log_msg(LL_NOTICE, "interface %s: capturing again", s->iface);
            return 0;
        }
        log_msg(LL_WARNING, "%s (retrying in %us)", err, delay);
        if (delay < REOPEN_MAX_S)
            delay *= 2;
    }
    return -1;
}

/* Waits (at most one tick) for frames, then reads what is there without
 * blocking, so the clock ticks and a stop request is seen while the link is
 * quiet. Returns pcap_dispatch's result, or 0 after a quiet tick. */
static int live_read(struct source *s)
{
    struct pollfd pfd = { s->afp ? afp_fd(s->afp) : pcap_get_selectable_fd(s->live), POLLIN, 0 };
    if (pfd.fd < 0)
        return pcap_dispatch(s->live, LIVE_BATCH, live_cb, (u_char *)s);
    if (poll(&pfd, 1, TICK_US / 1000) <= 0)
        return 0;
    if (pfd.revents & (POLLERR | POLLHUP | POLLNVAL)) {
        /* In non-blocking mode libpcap does not look at socket errors: do it here.
         * Reading SO_ERROR clears it, so a link that is merely down does not spin. */
        int soerr = 0;
        socklen_t sl = sizeof(soerr);
        getsockopt(pfd.fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        int gone = (pfd.revents & (POLLHUP | POLLNVAL)) ||
                   (strcmp(s->iface, "any") != 0 && if_nametoindex(s->iface) == 0);
        if (gone) {
            log_msg(LL_WARNING, "interface %s: the device went away (%s); reopening", s->iface,
                    soerr ? strerror(soerr) : "hang-up");
            return LIVE_GONE;
        }
        if (!(pfd.revents & POLLIN))
            return 0;                /* link down: frames resume when it is up again */
    }
    if (s->afp)
        return afp_dispatch(s->afp, LIVE_BATCH, afp_frame, s);
    return pcap_dispatch(s->live, LIVE_BATCH, live_cb, (u_char *)s);
}

/* capture-coalesce-us: in immediate mode the kernel wakes the reader for
 * every packet that finds it asleep, and on a busy link that is nearly every
 * packet (a wake-up costs more CPU than handling a small packet). After a
 * read that emptied the ring the reader pauses coalesce_us before looking
 * again, so a busy link wakes it about once per pause; packets wait at most
 * that long. A read that did not empty the ring (LIVE_BATCH frames) is
 * followed at once, so a saturated reader never pauses; a quiet link is
 * unaffected (the next packet finds the reader back in poll). */
static void live_coalesce(const struct source *s, int handled)
{
    const struct capture_opts *o = &s->cap->o;
    if (handled <= 0 || handled >= LIVE_BATCH || o->coalesce_us <= 0 || o->batch_ms > 0)
        return;
    struct timespec ts = { o->coalesce_us / 1000000, (long)(o->coalesce_us % 1000000) * 1000 };
    nanosleep(&ts, NULL);
}

/* A source its workers read (live_fanout): this thread watches the device
 * and reopens it when it goes away. Returns when stopping (0), or 1 when a
 * reopened device is read through a single reader. */
static int live_fanout_watch(struct source *s)
{
    while (s->lf) {
        if (live_fanout_run(s->lf, s->w, &s->cap->stop, s->ifindex, &s->drops, &s->handoffs) <= 0)
            return 0;
        log_msg(LL_WARNING, "interface %s: the device went away; reopening", s->iface);
        if (live_reopen(s) != 0)
            return 0;
    }
    return 1;
}

static void *live_thread(void *arg)
{
    struct source *s = arg;
    uint64_t next_tick = 0, drops_base = 0;
    if (s->lf && live_fanout_watch(s) == 0)
        return NULL;
    if (s->cap->o.realtime)
        live_realtime_set(s->iface);
    source_fanout_start(s, 1);
    while (!atomic_load_explicit(&s->cap->stop, memory_order_relaxed)) {
        int rc = live_read(s);
        live_coalesce(s, rc);
        if (rc == PCAP_ERROR || rc == LIVE_GONE) {
            if (rc == PCAP_ERROR)
                log_msg(LL_WARNING, "interface %s: %s; reopening", s->iface, pcap_geterr(s->live));
            drops_base += live_drops(s);     /* a new handle counts from 0 */
            if (live_reopen(s) != 0)
                break;
            continue;
        }
        uint64_t now = wall_us();
        if (now >= next_tick && s->ifindex && if_nametoindex(s->iface) != s->ifindex) {
            /* deleted (or deleted and re-created) without an error the socket could
             * report: the handle is bound to a device that no longer exists */
            log_msg(LL_WARNING, "interface %s: the device went away; reopening", s->iface);
            drops_base += live_drops(s);
            if (live_reopen(s) != 0)
                break;
            continue;
        }
        if (now >= next_tick) {
            atomic_store(&s->drops, drops_base + live_drops(s));
            source_tick(s, now);
            next_tick = now + TICK_US;
        }
    }
    fanout_finish(s->fan);
    s->fan = NULL;
    budget_thread_return(&s->cap->cache->budget);
    return NULL;
}

int capture_start(struct capture *cap, void (*on_done)(void *arg), void *arg)
{
    cap->on_done = on_done;
    cap->done_arg = arg;
    int files = 0;
    for (int i = 0; i < cap->nsrc; i++)
        files += !cap->src[i].is_live;
    atomic_store(&cap->active, cap->nsrc);
    if (files == 0 && cap->nsrc == 0 && on_done)
        on_done(arg);
    for (int i = 0; i < cap->nsrc; i++) {
        struct source *s = &cap->src[i];
        if (pthread_create(&s->thread, NULL, s->is_live ? live_thread : file_thread, s) != 0)
            return -1;
        s->started = 1;
    }
    return 0;
}

void capture_stop(struct capture *cap)
{
    if (!cap)
        return;
    atomic_store(&cap->stop, 1);
    for (int i = 0; i < cap->nsrc; i++) {
        struct source *s = &cap->src[i];
        if (s->started) {
            pthread_join(s->thread, NULL);
            s->started = 0;
        }
    }
}

void capture_end_flows(struct capture *cap, void (*drain)(void *arg), void *arg)
{
    if (!cap)
        return;
    for (int i = 0; i < cap->nsrc; i++)
        if (cap->src[i].nworkers > 0 && !cap->src[i].started) {
            worker_expire_all_drained(&cap->src[i].w[0], drain, arg);   /* the cache is shared: one sweep */
            return;
        }
}

void capture_destroy(struct capture *cap)
{
    if (!cap)
        return;
    capture_stop(cap);
    for (int i = 0; i < cap->nsrc + 1 && i <= cap->o.nifaces; i++) {
        struct source *s = &cap->src[i];
        for (int k = 0; k < s->nworkers; k++)
            worker_destroy(&s->w[k]);
        free(s->w);
        s->w = NULL;
        for (int k = 0; k < s->nfiles; k++)
            if (s->fds[k] >= 0)
                close(s->fds[k]);
        free(s->fds);
        s->fds = NULL;
        s->nfiles = 0;
    }
    for (int i = 0; i < cap->o.nifaces + 1; i++)
        live_close(&cap->src[i]);
    free(cap->src);
    free(cap);
}

int capture_worker_count(const struct capture *cap)
{
    return cap->nworkers_total;
}

void capture_totals_get(struct capture *cap, struct capture_totals *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; cap && i < capture_worker_count(cap); i++) {
        struct worker *w = capture_worker(cap, i);
        out->packets += atomic_load(&w->st.packets);
        out->bytes += atomic_load(&w->st.bytes);
        out->ip_packets += atomic_load(&w->st.ip_packets);
        out->not_ip += atomic_load(&w->st.not_ip);
        out->anomalies += atomic_load(&w->st.anomalies);
        out->frag_orphans += atomic_load(&w->st.frag_orphans);
        out->events_dropped += atomic_load(&w->events.dropped);
        out->events_fields_dropped += atomic_load(&w->events.fields_dropped);
        for (int k = 1; k < DECODE_ANOMALY_KINDS; k++)
            out->anomaly[k] += atomic_load(&w->st.anomaly[k]);
    }
}

struct worker *capture_worker(struct capture *cap, int i)
{
    for (int k = 0; k < cap->nsrc; k++) {
        if (i < cap->src[k].nworkers)
            return &cap->src[k].w[i];
        i -= cap->src[k].nworkers;
    }
    return NULL;
}

int capture_sources_active(const struct capture *cap)
{
    int n = atomic_load(&((struct capture *)cap)->active);
    return n < 0 ? 0 : n;
}

/* One counter of struct source (its offset), summed over the sources. */
static uint64_t sources_sum(const struct capture *cap, size_t off)
{
    uint64_t n = 0;
    for (int i = 0; i < cap->nsrc; i++)
        n += atomic_load((_Atomic uint64_t *)((char *)&cap->src[i] + off));
    return n;
}

uint64_t capture_drops(const struct capture *cap)
{
    return sources_sum(cap, offsetof(struct source, drops));
}

uint64_t capture_handoffs(const struct capture *cap)
{
    return sources_sum(cap, offsetof(struct source, handoffs));
}

uint64_t capture_read_errors(const struct capture *cap)
{
    return sources_sum(cap, offsetof(struct source, read_errors));
}
