/* file_end.h - the end of a file source: its workers end the flows it leaves, each its own lane's, at once (the source's thread). */
#ifndef FC_FILE_END_H
#define FC_FILE_END_H

struct worker;

/*
 * Ends what a file source leaves in the cache once its workers[0..n) have
 * stopped: all (pcap-end expire and exit) every flow; else (keep) the flows
 * due by the last packet, then detection of the flows left is settled. Each
 * worker ends its own part of the flow shards (worker_end_part: its lane's
 * shards), worker 0 in the caller's thread and each other one in a thread of
 * its own, at once; then worker 0 alone does what is shared
 * (worker_end_shared). A part whose thread cannot start runs in the caller's
 * thread instead: the same result, later. The source's thread.
 */
void file_end_run(struct worker *workers, int n, int all);

#endif
