/* file_end.c - the end of a file source: each worker ends its own lane's flows, all at once (the source's thread, and a short-lived thread per other worker). */
#include "capture/source/file_end.h"
#include "capture/flow/worker.h"

#include <pthread.h>

/* One worker's part of the end: what its thread runs. */
struct end_part {
    struct worker *w;
    int k, n, all;
    uint64_t now;
    pthread_t thread;
    int started;
};

static void *end_part_thread(void *arg)
{
    struct end_part *p = arg;
    worker_end_part(p->w, p->k, p->n, p->all, p->now);
    budget_thread_return(&p->w->cache->budget);   /* this thread's unspent credit */
    return NULL;
}

void file_end_run(struct worker *w, int n, int all)
{
    struct end_part parts[CACHE_SHARDS];
    struct cache *c = w[0].cache;
    int m = n < CACHE_SHARDS ? n : CACHE_SHARDS;  /* parts from CACHE_SHARDS on have no shard */
    /* every packet's counts are in the cache before any flow ends: a flow's end then reads its
     * hosts as they are after the file, whichever worker ends it */
    for (int k = 0; k < n; k++)
        worker_publish_stats(&w[k]);
    /* one time for every part: the cache's clock, or what was due by the file's last packet */
    uint64_t now = all ? cache_now(c) : cache_expiry_now(c, w[0].group);
    for (int k = 1; k < m; k++) {
        parts[k] = (struct end_part){ .w = &w[k], .k = k, .n = n, .all = all, .now = now };
        parts[k].started = pthread_create(&parts[k].thread, NULL, end_part_thread, &parts[k]) == 0;
    }
    worker_end_part(&w[0], 0, n, all, now);
    for (int k = 1; k < m; k++) {
        if (parts[k].started)
            pthread_join(parts[k].thread, NULL);
        else
            worker_end_part(&w[k], k, n, all, now);   /* no thread: the same part, here */
    }
    worker_end_shared(&w[0], all, now);
}
