/* live_fanout.c - a live device read by every capture thread of its source: one packet socket and kernel ring per worker in one PACKET_FANOUT group (worker threads). */
#include "capture/source/live_fanout.h"

#include <linux/filter.h>
#include <net/if.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "capture/source/afpacket.h"
#include "capture/source/fanout.h"
#include "server/log/log.h"

enum { LANE_BATCH = 512, STATS_US = 100000, PROG_MAX = 64 };

/*
 * Why the kernel runs flowcached's own hash (PACKET_FANOUT_CBPF) rather than
 * PACKET_FANOUT_HASH: a flow's detection and parser state may only be
 * touched by one worker, so every packet of a flow must reach the same one.
 * The kernel's symmetric hash (skb_get_hash_symmetric) takes ports where it
 * finds them and not in fragments, stops at a nonzero IPv6 flow label (set
 * in one direction and not the other by some stacks) and hashes the outer
 * header of UDP tunnels, and its seed is not known here: packets of one
 * flow could reach two workers with no way to tell. Here the kernel computes
 * the lane hash of the network header's address pair (fanout_lane_prog),
 * which the worker recomputes on the innermost pair after decoding: the
 * same lane for every IP packet that is not tunnelled. The others (GRE,
 * GTP, VXLAN, IP in IP, QinQ where the kernel strips one tag only) are
 * handed to their owner through its ring (fanout_forward): a copy for those
 * only, counted in INFO capture_handoffs.
 */

struct lf_lane {
    struct live_fanout *lf;
    struct afp *afp;
    struct worker *w;
    struct fanout *fan;              /* set by the lane's thread from its feed call */
    int index;
    int rt_tried;                    /* capture-realtime asked for this thread */
    uint64_t next_stats;
    _Atomic uint64_t drops;          /* the socket's, published by the lane */
    _Atomic uint64_t refused;        /* frames the owner's full ring refused */
    _Atomic uint64_t handoffs;
    _Atomic int failed;
};

struct live_fanout {
    char iface[IF_NAMESIZE];
    unsigned ifindex;
    int n;
    struct live_fanout_opts o;
    struct fanout *fan;
    struct lf_lane *lanes;
};

static uint64_t lf_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int live_fanout_open(struct live_fanout **out, const char *iface, int n, const struct live_fanout_opts *o,
                     char *err, size_t errlen)
{
    struct sock_filter prog[PROG_MAX];
    int len = fanout_lane_prog(prog, PROG_MAX), group = -1;
    uint64_t ring = (o->ring_bytes ? o->ring_bytes : AFP_DEFAULT_RING) / (uint64_t)(n > 0 ? n : 1);
    *out = NULL;
    if (n < 2 || len < 0 || strlen(iface) >= IF_NAMESIZE)
        return 0;
    struct live_fanout *lf = calloc(1, sizeof(*lf));
    if (!lf || !(lf->lanes = calloc((size_t)n, sizeof(*lf->lanes)))) {
        free(lf);
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    memcpy(lf->iface, iface, strlen(iface) + 1);
    lf->ifindex = if_nametoindex(iface);
    lf->o = *o;
    for (int i = 0; i < n; i++, lf->n++) {
        struct lf_lane *l = &lf->lanes[i];
        l->lf = lf;
        l->index = i;
        int rc = afp_open(&l->afp, iface, o->snaplen, o->promisc, ring, o->bpf, err, errlen);
        if (rc > 0 && afp_fanout_join(l->afp, &group, prog, (unsigned short)len, iface, err, errlen) != 0) {
            /* a kernel without PACKET_FANOUT_CBPF (before 4.2): one reader spreads the frames */
            log_msg(LL_WARNING, "%s; one reader thread feeds the capture threads instead", err);
            rc = 0;
            lf->n++;
        }
        if (rc <= 0) {
            live_fanout_close(lf);
            return rc;
        }
    }
    *out = lf;
    return 1;
}

void live_realtime_set(const char *iface)
{
    struct sched_param sp = { .sched_priority = 1 };
    int rc = pthread_setschedparam(pthread_self(), SCHED_FIFO, &sp);
    if (rc != 0)
        log_msg(LL_WARNING, "interface %s: capture-realtime: SCHED_FIFO refused (%s); "
                "capturing at normal priority", iface, strerror(rc));
}

/* A frame from the lane's socket: handled here when the lane owns it, else
 * handed to its owner. Frames that are not IP stay where they landed (they
 * touch no flow). */
static void lane_frame(void *arg, uint64_t ts, const uint8_t *data, uint32_t caplen, uint32_t wirelen)
{
    struct lf_lane *l = arg;
    struct worker_ahead a;
    worker_peek(l->w, &a, DLT_EN10MB, data, caplen);
    int owner = a.rc == DEC_OK ? fanout_lane_of(&a.p, l->lf->n) : l->index;
    if (owner == l->index) {
        worker_packet_ahead(l->w, ts, &a, wirelen);
        return;
    }
    if (fanout_forward(l->fan, owner, ts, DLT_EN10MB, data, caplen, wirelen) == 0)
        atomic_fetch_add_explicit(&l->handoffs, 1, memory_order_relaxed);
    else
        atomic_fetch_add_explicit(&l->refused, 1, memory_order_relaxed);
}

/* Waits up to wait_ms for the socket or wake_fd. Returns 1 when something
 * may be ready; 0 after a quiet wait or an error of the socket (marked
 * failed when the device went away). */
static int lane_poll(struct lf_lane *l, int wake_fd, int wait_ms)
{
    struct pollfd pfd[2] = { { afp_fd(l->afp), POLLIN, 0 }, { wake_fd, POLLIN, 0 } };
    if (atomic_load_explicit(&l->failed, memory_order_relaxed))
        pfd[0].fd = -1;              /* poll ignores it: wait for the wake-up or the time */
    if (poll(pfd, 2, wait_ms) <= 0)
        return 0;
    if (pfd[0].revents & (POLLERR | POLLHUP | POLLNVAL)) {
        int soerr = 0;               /* reading it clears it: a link that is down does not spin */
        socklen_t sl = sizeof(soerr);
        getsockopt(pfd[0].fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
        if ((pfd[0].revents & (POLLHUP | POLLNVAL)) || if_nametoindex(l->lf->iface) != l->lf->ifindex) {
            atomic_store(&l->failed, 1);
            return 0;
        }
    }
    return 1;
}

/* The fanout feed of lane `lane` (fanout.h). */
static int lane_read(void *arg, struct fanout *f, int lane, int wake_fd, int wait_ms)
{
    struct live_fanout *lf = arg;
    struct lf_lane *l = &lf->lanes[lane];
    l->fan = f;
    if (lf->o.realtime && !l->rt_tried) {
        l->rt_tried = 1;
        live_realtime_set(lf->iface);
    }
    if (wait_ms > 0 && !lane_poll(l, wake_fd, wait_ms))
        return 0;
    if (atomic_load_explicit(&l->failed, memory_order_relaxed))
        return 0;
    int n = afp_dispatch(l->afp, LANE_BATCH, lane_frame, l);
    uint64_t now = lf_wall_us();
    if (now >= l->next_stats) {
        atomic_store_explicit(&l->drops, afp_drops(l->afp), memory_order_relaxed);
        l->next_stats = now + STATS_US;
    }
    if (n > 0 && n < LANE_BATCH && lf->o.coalesce_us > 0) {   /* as the single reader does */
        struct timespec ts = { lf->o.coalesce_us / 1000000, (long)(lf->o.coalesce_us % 1000000) * 1000 };
        nanosleep(&ts, NULL);
    }
    return n;
}

int live_fanout_start(struct live_fanout *lf, struct worker *workers)
{
    struct fanout_feed feed = { lane_read, lf };
    for (int i = 0; i < lf->n; i++)
        lf->lanes[i].w = &workers[i];
    lf->fan = fanout_start_fed(workers, lf->n, 1, &feed);
    return lf->fan ? 0 : -1;
}

int live_fanout_run(struct live_fanout *lf, struct worker *workers, _Atomic int *stop, unsigned ifindex,
                    _Atomic uint64_t *drops, _Atomic uint64_t *handoffs)
{
    uint64_t drops_base = atomic_load(drops), handoffs_base = atomic_load(handoffs);
    if (live_fanout_start(lf, workers) != 0) {
        log_msg(LL_WARNING, "interface %s: cannot start %d capture threads", lf->iface, lf->n);
        return -1;
    }
    while (!atomic_load(stop) && !live_fanout_failed(lf) && (!ifindex || if_nametoindex(lf->iface) == ifindex)) {
        struct timespec ts = { 0, STATS_US * 1000L };
        nanosleep(&ts, NULL);
        atomic_store(drops, drops_base + live_fanout_drops(lf));
        atomic_store(handoffs, handoffs_base + live_fanout_handoffs(lf));
    }
    live_fanout_stop(lf);
    atomic_store(drops, drops_base + live_fanout_drops(lf));
    atomic_store(handoffs, handoffs_base + live_fanout_handoffs(lf));
    return atomic_load(stop) ? 0 : 1;
}

void live_fanout_stop(struct live_fanout *lf)
{
    if (!lf || !lf->fan)
        return;
    fanout_finish(lf->fan);
    lf->fan = NULL;
    for (int i = 0; i < lf->n; i++)   /* no lane runs: the last figures */
        atomic_store(&lf->lanes[i].drops, afp_drops(lf->lanes[i].afp));
}

int live_fanout_failed(const struct live_fanout *lf)
{
    for (int i = 0; i < lf->n; i++)
        if (atomic_load(&lf->lanes[i].failed))
            return 1;
    return 0;
}

uint64_t live_fanout_drops(const struct live_fanout *lf)
{
    uint64_t n = 0;
    for (int i = 0; i < lf->n; i++)
        n += atomic_load(&lf->lanes[i].drops) + atomic_load(&lf->lanes[i].refused);
    return n;
}

uint64_t live_fanout_handoffs(const struct live_fanout *lf)
{
    uint64_t n = 0;
    for (int i = 0; i < lf->n; i++)
        n += atomic_load(&lf->lanes[i].handoffs);
    return n;
}

void live_fanout_close(struct live_fanout *lf)
{
    if (!lf)
        return;
    live_fanout_stop(lf);
    for (int i = 0; i < lf->n; i++)
        afp_close(lf->lanes[i].afp);
    free(lf->lanes);
    free(lf);
}
