/* pool.h - fixed-size slot pools carved from 64 KB mmap'd chunks, for the cache's long-lived entries (any thread: each pool has its own lock). */
#ifndef FC_POOL_H
#define FC_POOL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "capture/cache/budget.h"
#include "capture/cache/lock.h"

/*
 * Why: a flow or host lives for minutes while detection and parser state come
 * and go in milliseconds. Slots of one size, packed in chunks of their own,
 * carry no malloc header and do not share pages with that transient state, so
 * the long-lived pages stay dense. Chunks come from 2 MB mappings in huge
 * pages (pool_map_huge: slots are touched at random, and 4 kB pages cost a
 * TLB miss on almost every one). A chunk whose slots are all free is kept,
 * resident, on its part's spare list, and the part's next new chunk is taken
 * from there; pool_trim, called at a steady pace by one thread (the loop's
 * cron), gives a spare back to the system (MADV_DONTNEED) only once it has
 * stayed unused POOL_SPARE_TICKS calls, at most POOL_TRIM_MAX chunks per part
 * a call. Giving back at once, as flows end, cost a system call per chunk, a
 * TLB-flush interrupt on every core running another thread of ours, and page
 * faults when the chunk was needed again: in bursts, at the end of a file.
 * A chunk's pages are faulted in writable when the pool takes it
 * (MADV_POPULATE_WRITE): no copy-on-write fault, which interrupts the other
 * capture threads' cores, on a slot's first write.
 *
 * Accounting: the pool reserves whole chunks in its budget (the cache's:
 * budget_reserve), so INFO cache_memory counts what the pools really
 * hold, free slots included, and maxmemory refuses a new chunk (pool_alloc
 * returns NULL) rather than a new slot. Spare chunks are not counted (their
 * budget is released when they empty, reserved again when reused), so they
 * never make maxmemory refuse an entry; the resident memory they add is
 * about what the part stopped using in the last POOL_SPARE_TICKS ticks.
 *
 * Sanitizer builds (AddressSanitizer) bypass the pools: every slot is a
 * calloc/free of its own (behind a 16-byte header naming its pool, for
 * pool_free_slot), counted at its size, so use-after-free and leaks are
 * still seen.
 */

#define POOL_CHUNK (64u * 1024u)
#define POOL_HUGE_PAGE (2u * 1024u * 1024u)
/* pool_trim calls (ticks) a spare chunk stays unused before it is given back: 1 s at the loop's
 * 100 ms cron */
#define POOL_SPARE_TICKS 10u
/* spare chunks a part gives back in one pool_trim call at most (4 MB: 40 MB/s at 100 ms) */
#define POOL_TRIM_MAX 64u

/* n bytes (a multiple of POOL_HUGE_PAGE), zeroed, aligned to POOL_HUGE_PAGE and asked for in
 * transparent huge pages (MADV_HUGEPAGE; where THP is off, 4 kB pages as usual). NULL when the
 * system has no memory. The caller frees it with munmap. Any thread. */
void *pool_map_huge(size_t n);

struct pool_chunk;

/* One thread's share of a pool (threads take parts in turn: POOL_PARTS of
 * them): the chunks it carves slots from. Two capture threads allocating
 * from one list would take one lock and one chunk header per flow and
 * interleave their flows in the same cache lines; a slot is freed to its
 * chunk's part, whichever thread frees it. */
struct pool_part {
    struct pool *pool;               /* the pool it is part of (pool_free_slot) */
    struct lock lock;                /* a futex lock: two atomic operations a call, as the shards' */
    struct pool_chunk *avail;        /* chunks with a free slot (doubly linked) */
    uint32_t navail;
    struct pool_chunk *spare;        /* empty chunks kept resident, newest first (doubly linked) */
    struct pool_chunk *spare_tail;   /* the oldest: pool_trim gives back from this end */
    uint32_t nspare;
    void **clean;                    /* empty chunks given back to the system, reusable (kept
                                        here, not in the chunks: their pages stay unmapped) */
    size_t nclean, clean_cap;
    size_t clean_held;               /* room pool_trim holds for chunks it is giving back */
    uint8_t *region_next;            /* next never-used chunk of the newest region */
    size_t region_left;              /* never-used chunks left in it */
    void **regions;                  /* every region mapped, for pool_destroy */
    size_t nregions, regions_cap;
    uint64_t chunks;                 /* chunks in use (counted in the budget) */
    uint64_t live;                   /* slots handed out */
    char pad[64];                    /* parts written by different threads share no line */
};

enum { POOL_PARTS = 8 };

struct pool {
    struct budget *budget;           /* memory accounting (not owned) */
    uint32_t size;                   /* slot size: the object's, rounded up to 8 */
    uint32_t per_chunk;              /* slots in one chunk */
    _Atomic uint32_t ticks;          /* pool_trim calls so far: a spare chunk's age */
    struct pool_part part[POOL_PARTS];
};

/* Prepares p for objects of `size` bytes (at most ~POOL_CHUNK / 4), counted
 * in budget b (which must outlive p). Returns 0, or -1 when size is
 * unusable. Start-up. */
int pool_init(struct pool *p, struct budget *b, size_t size);

/* Unmaps everything; objects still out are lost (call after they were freed
 * or when nothing will touch them again). Only when no thread uses p. */
void pool_destroy(struct pool *p);

/* A zeroed slot, or NULL when the budget's cap refuses a new chunk or the system
 * has no memory. The caller owns it until pool_free. Any thread. */
void *pool_alloc(struct pool *p);

/* Gives a slot from pool_alloc(p) back (NULL is ignored). Any thread. */
void pool_free(struct pool *p, void *o);

/* Gives a slot back to whichever pool it came from (NULL is ignored): for callers that hold
 * slots of several pools of one kind, as the cache's name pools. Any thread. */
void pool_free_slot(void *o);

/* One tick of give-back: every part returns to the system (MADV_DONTNEED, one
 * call per run of adjacent chunks, made outside the part's lock) up to
 * POOL_TRIM_MAX of its spare chunks that have stayed unused for
 * POOL_SPARE_TICKS ticks, oldest first. Returns the chunks given back (0 in
 * sanitizer builds, whose slots free() returns). Any thread, but call it at
 * a steady pace from one (the loop's cron: every 100 ms; a call is the unit of
 * a spare's age), never from the packet path. */
size_t pool_trim(struct pool *p);

/* Slots handed out, chunks held (counted in the budget), and spare chunks
 * (empty, resident, not counted), summed over the parts (a moment's reading).
 * Any thread. */
uint64_t pool_live(struct pool *p);
uint64_t pool_chunks(struct pool *p);
uint64_t pool_spare(struct pool *p);

#endif
