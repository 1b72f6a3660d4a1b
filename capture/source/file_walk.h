/* file_walk.h - capture files read once for all the workers of their source, each handling the packets of its own lane (no reader thread; worker threads). */
#ifndef FC_FILE_WALK_H
#define FC_FILE_WALK_H

#include <stdatomic.h>
#include <stdint.h>

struct worker;

/* The files of one source and how to read them. */
struct file_walk_opts {
    char **paths;
    const int *fds;                  /* each file's descriptor, opened at start-up (read with pread) */
    int nfiles;
    int loop;                        /* read them all again, in order, until *stop */
    const char *bpf;                 /* NULL or "": no filter */
    double progress_s;               /* progress lines (file_progress_start); 0: none */
    _Atomic int *stop;               /* the probe is shutting down */
    _Atomic uint64_t *read_errors;   /* counts the files that ended on a broken record */
};

/*
 * Reads every file with workers[0..n) (n > 1) and no reader thread. The
 * records are read once, into buffers the workers share (pread from the
 * page cache after the first pass), in batches of consecutive records: the
 * worker that needs the next batch, or one with time to read ahead, reads
 * it and finds each frame's lane (fanout_frame_lane, as a reader thread
 * would); every worker then handles only its own lane's frames of every
 * batch, so no frame is copied and none crosses threads. Worker 0 runs in
 * the caller's thread, the others in threads of their own; whoever reads
 * logs the progress lines and read errors. Each worker's cache queue slot
 * holds the packet time it has handled, so expiry waits for the slowest
 * (cache_expiry_now), and a worker can be at most the batch ring (32 768
 * records) ahead of the slowest one.
 * Returns 0 when every file was read, -1 when *stop ended it (the caller
 * then skips the end-of-file work), 1 when the files cannot be read this way
 * (not all classic pcap files that pcapfile reads, or no thread could
 * start): nothing was read, the caller uses a reader thread. Each worker's
 * group is NULL again on return. The source's thread.
 */
int file_walk_run(struct worker *workers, int n, const struct file_walk_opts *o);

#endif
