/* live_fanout.h - a live device read by every capture thread of its source: one packet socket and kernel ring per worker in one PACKET_FANOUT group (worker threads). */
#ifndef FC_LIVE_FANOUT_H
#define FC_LIVE_FANOUT_H

#include <stdatomic.h>
#include <stdint.h>

#include "capture/flow/worker.h"

struct live_fanout;

/* How a live_fanout reads (from capture_opts). */
struct live_fanout_opts {
    unsigned snaplen;
    int promisc;
    uint64_t ring_bytes;         /* for the device, shared out between the sockets (0 = 64 MB) */
    const char *bpf;             /* NULL or "" = none */
    int coalesce_us;             /* pause after a read that emptied the ring (capture-coalesce-us) */
    int realtime;                /* worker threads at SCHED_FIFO 1 (capture-realtime) */
};

/* Opens n (>= 2) packet sockets with their rings on iface and joins them to
 * one new fanout group whose kernel program sends each packet to the socket
 * of its lane (fanout_lane_prog). Returns 1 and *out; 0 when flowcached's
 * own ring does not handle the device or the kernel has no such group (said
 * in the log): the caller reads the device with one reader and spreads the
 * frames itself; -1 with err filled. Nothing is left open unless 1
 * is returned. Any thread, before live_fanout_start. */
int live_fanout_open(struct live_fanout **out, const char *iface, int n, const struct live_fanout_opts *o,
                     char *err, size_t errlen);

/* Starts one thread per worker (workers[i] reads socket i, not owned): each
 * handles the packets it owns and hands the others to their owner's ring.
 * Returns 0, or -1 (no thread left running). The source's thread. */
int live_fanout_start(struct live_fanout *lf, struct worker *workers);

/* Starts the workers, publishes drops and handoffs every 100 ms into
 * *drops and *handoffs (added to what they held) until *stop is set or the
 * device goes away (a socket says so, or ifindex, when not 0, is no longer
 * the device's index), then stops them. Returns 0 when stopping, 1 when the
 * device went away (the caller reopens), -1 when the threads could not
 * start (said on stderr). The source's thread. */
int live_fanout_run(struct live_fanout *lf, struct worker *workers, _Atomic int *stop, unsigned ifindex,
                    _Atomic uint64_t *drops, _Atomic uint64_t *handoffs);

/* capture-realtime: the calling thread runs at SCHED_FIFO priority 1, so a
 * packet's wake-up preempts ordinary processes instead of waiting for a CPU
 * while the ring fills. Needs root or CAP_SYS_NICE / RLIMIT_RTPRIO when the
 * thread starts (after `user` has dropped root): without it, a warning
 * naming iface and normal priority. The kernel's RT throttling
 * (sched_rt_runtime_us) still leaves other processes 5 % of each CPU. A
 * capture thread, about itself. */
void live_realtime_set(const char *iface);

/* Lets the workers finish what is queued between them and joins them; the
 * sockets stay open. Idempotent. The source's thread. */
void live_fanout_stop(struct live_fanout *lf);

/* 1 once a socket reported that the device went away (the caller stops,
 * closes and reopens). Any thread. */
int live_fanout_failed(const struct live_fanout *lf);

/* Since live_fanout_open, summed over the sockets: packets the kernel
 * dropped (ring full) or cut, plus packets another worker owned that its
 * full ring refused. Any thread (the workers publish every 100 ms). */
uint64_t live_fanout_drops(const struct live_fanout *lf);

/* Packets read by one worker and handed to the worker that owns them (a
 * tunnel, whose outer addresses the kernel hashed, or a packet that came
 * while the group was forming). Any thread. */
uint64_t live_fanout_handoffs(const struct live_fanout *lf);

/* Stops if needed, closes every socket and frees lf (NULL: nothing). */
void live_fanout_close(struct live_fanout *lf);

#endif
