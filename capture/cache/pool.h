/* pool.h - fixed-size slot pools carved from 64 KB mmap'd chunks, for the cache's long-lived entries (any thread: each pool has its own lock). */
#ifndef FC_POOL_H
#define FC_POOL_H

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
 * TLB miss on almost every one); a chunk
 * whose slots are all free is given back to the system with MADV_DONTNEED and
 * reused later (one empty spare is kept per pool, so a pool at the edge does
 * not give back and fault in pages on every flow). A chunk's pages are faulted
 * in writable when the pool takes it (MADV_POPULATE_WRITE): no copy-on-write
 * fault, which interrupts the other capture threads' cores, on a slot's first
 * write.
 *
 * Accounting: the pool reserves whole chunks in its budget (the cache's:
 * budget_reserve), so INFO cache_memory counts what the pools really
 * hold, free slots included, and maxmemory refuses a new chunk (pool_alloc
 * returns NULL) rather than a new slot.
 *
 * Sanitizer builds (AddressSanitizer) bypass the pools: every slot is a
 * calloc/free of its own, counted at its size, so use-after-free and leaks
 * are still seen.
 */

#define POOL_CHUNK (64u * 1024u)
#define POOL_HUGE_PAGE (2u * 1024u * 1024u)

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
    struct lock lock;                /* a futex lock: two atomic operations a call, as the shards' */
    struct pool_chunk *avail;        /* chunks with a free slot (doubly linked) */
    uint32_t navail;
    struct pool_chunk *clean;        /* empty chunks given back to the system, reusable */
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

/* Slots handed out, and chunks held (counted in the budget), summed over the
 * parts (a moment's reading). Any thread. */
uint64_t pool_live(struct pool *p);
uint64_t pool_chunks(struct pool *p);

#endif
