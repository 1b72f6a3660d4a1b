/* fanout.h - spreads one source's packets over several worker threads (reader thread -> worker threads), and the lane hash the kernel runs too. */
#ifndef FC_FANOUT_H
#define FC_FANOUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/decode/decode.h"
#include "capture/source/fanout_lane.h"
#include "capture/flow/worker.h"

struct fanout;
struct sock_filter;

/* Writes into prog (room for max instructions) the classic BPF program that
 * computes fanout_lane_hash from the IP header at the network offset, for a
 * PACKET_FANOUT_CBPF group (the kernel takes the result modulo the sockets in
 * the group): the same lane as fanout_lane_of for every IP packet that is
 * not tunnelled, 0 for packets that are not IP. Returns the instruction
 * count, or -1 when max is too small. Any thread. */
int fanout_lane_prog(struct sock_filter *prog, int max);

/* What feeds each lane besides its ring (live capture: lane i's own packet
 * socket). read(arg, f, lane, wake_fd, wait_ms) hands lane's worker what its
 * source holds (frames it does not own go to fanout_forward on f), without
 * blocking when wait_ms is 0; else it may first wait up to wait_ms for the
 * source or for wake_fd to be readable (a frame was forwarded to the lane).
 * Returns the frames it handled. Lane thread. */
struct fanout_feed {
    int (*read)(void *arg, struct fanout *f, int lane, int wake_fd, int wait_ms);
    void *arg;
};

/* A cache queue slot of group for worker w (its thread number i from 0), whose
 * clock and positions hold the group's expiry back (cache_expiry_now); w->group
 * is set. When every slot is taken: own (the caller's, zeroed), logged, and
 * expiry does not wait for w. Before w's thread starts; fanout_queue_leave
 * gives the slot back once that thread has stopped. */
struct cache_queue *fanout_queue_join(struct worker *w, const void *group, struct cache_queue *own, int i);
void fanout_queue_leave(struct worker *w, struct cache_queue *q, struct cache_queue *own);

/* Starts n worker threads, one per workers[i] (not owned; they must outlive
 * the fanout). wall_clock: ticks follow the wall clock when idle (live
 * capture, paced replay). Returns NULL on failure. Reader thread. */
struct fanout *fanout_start(struct worker *workers, int n, int wall_clock);
/* fanout_start with lanes that also read from feed (copied; arg must outlive
 * the fanout). Any thread. */
struct fanout *fanout_start_fed(struct worker *workers, int n, int wall_clock, const struct fanout_feed *feed);

/* Copies one frame to the worker that owns its address pair (both
 * directions of a flow, and every fragment, go to the same worker). Waits
 * while that worker's ring is full, unless *stop becomes non-zero (the probe
 * is shutting down: the frame is discarded). Reader thread only. */
void fanout_push(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                 uint32_t wirelen, _Atomic int *stop);

/* Reader chunks a fanout keeps count of (fanout_chunk_switch). */
enum { FANOUT_CHUNKS = 16 };

/* fanout_push without the copy: the worker gets the frame's address, so
 * its bytes must stay where they are, unchanged, until every lane has taken
 * it: data lies in one of the reader's FANOUT_CHUNKS buffers, which the
 * reader refills only once fanout_chunk_switch says so, and frees only
 * after fanout_chunks_release. Reader thread only. */
void fanout_push_ref(struct fanout *f, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                     uint32_t wirelen, _Atomic int *stop);

/* The reader is done pushing frames from its chunk done (every frame
 * fanout_push_ref was given since it last began that chunk) and is about to
 * refill chunk next (both < FANOUT_CHUNKS): waits until every lane has
 * taken every frame pushed from next before. Returns 0, or -1 when *stop was
 * set first (next must then not be written). Reader thread only. */
int fanout_chunk_switch(struct fanout *f, int done, int next, _Atomic int *stop);

/* Waits until every lane has taken every frame queued so far (never
 * stopped early: the workers drain their rings anyway), so the reader may
 * free its chunks; the chunk bookkeeping starts over. Reader thread only. */
void fanout_chunks_release(struct fanout *f);

/* Copies one frame into lane's ring, for a frame a fed lane read but
 * another lane owns. Never waits: returns 0, or -1 when the ring is full
 * (the frame is dropped; the caller counts it). Any lane thread. */
int fanout_forward(struct fanout *f, int lane, uint64_t ts, int dlt, const uint8_t *data, uint32_t caplen,
                   uint32_t wirelen);

/* Let the workers finish what is queued, then join them and free f. */
void fanout_finish(struct fanout *f);

#endif
