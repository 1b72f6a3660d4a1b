/* pool.c - fixed-size slot pools carved from 64 KB mmap'd chunks (any thread: each pool has its own lock). */
#include "capture/cache/pool.h"

#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#if defined(__SANITIZE_ADDRESS__)
#define POOL_BYPASS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define POOL_BYPASS 1
#endif
#endif

/* Starts every chunk (aligned to POOL_CHUNK, so a slot finds its chunk by masking). */
struct pool_chunk {
    struct pool_chunk *prev, *next;  /* in pool->avail while a slot is free */
    void *free;                      /* freed slots, linked through their first word */
    uint32_t live;                   /* slots handed out */
    uint32_t bumped;                 /* slots ever handed out from the untouched tail */
    int in_avail;
};

#define POOL_REGION (32u * POOL_CHUNK)   /* mapped at once: one mapping per 2 MB, not per chunk */
#define POOL_HDR ((sizeof(struct pool_chunk) + 63u) & ~(size_t)63u)

int pool_init(struct pool *p, struct budget *b, size_t size)
{
    memset(p, 0, sizeof(*p));
    size = (size + 7u) & ~(size_t)7u;
    if (size < sizeof(void *) || size > (POOL_CHUNK - POOL_HDR) / 4)
        return -1;
    p->budget = b;
    p->size = (uint32_t)size;
    p->per_chunk = (uint32_t)((POOL_CHUNK - POOL_HDR) / size);
    lock_init(&p->lock);
    return 0;
}

#ifdef POOL_BYPASS

void pool_destroy(struct pool *p)
{
    (void)p;                         /* every object was its own calloc, freed by pool_free */
}

void *pool_alloc(struct pool *p)
{
    if (budget_reserve(p->budget, p->size) != 0)
        return NULL;
    void *o = calloc(1, p->size);
    if (!o) {
        budget_release(p->budget, p->size);
        return NULL;
    }
    lock_acquire(&p->lock);
    p->live++;
    lock_release(&p->lock);
    return o;
}

void pool_free(struct pool *p, void *o)
{
    if (!o)
        return;
    free(o);
    budget_release(p->budget, p->size);
    lock_acquire(&p->lock);
    p->live--;
    lock_release(&p->lock);
}

#else

/* A new region of POOL_REGION bytes, aligned to POOL_CHUNK; NULL when none. */
static uint8_t *region_map(void)
{
    size_t span = POOL_REGION + POOL_CHUNK;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)m + POOL_CHUNK - 1) & ~(uintptr_t)(POOL_CHUNK - 1);
    size_t head = a - (uintptr_t)m, tail = span - head - POOL_REGION;
    if (head)
        munmap(m, head);
    if (tail)
        munmap((uint8_t *)a + POOL_REGION, tail);
    return (uint8_t *)a;
}

/* Faults k's pages in writable at once. A slot's page could otherwise be
 * read before its first write (the kernel then maps the shared zero page), and
 * that write copies the page, which flushes the TLB of every core running
 * another thread of the process: an interrupt each time another capture
 * thread runs. A chunk fills up anyway: at most one chunk per pool is resident
 * before its slots are used. A kernel without MADV_POPULATE_WRITE (before
 * 5.14) refuses it and the pages fault in as before. */
static void chunk_populate(struct pool_chunk *k)
{
#ifdef MADV_POPULATE_WRITE
    madvise(k, POOL_CHUNK, MADV_POPULATE_WRITE);
#else
    (void)k;
#endif
}

/* A zeroed chunk, its pages resident: a clean one given back before, or the
 * next of the current region, or the first of a new region. NULL when the
 * system has no memory. Caller holds p->lock. */
static struct pool_chunk *chunk_get(struct pool *p)
{
    struct pool_chunk *k = p->clean;
    if (k) {
        p->clean = k->next;
        chunk_populate(k);           /* zero: given back with MADV_DONTNEED */
        memset(k, 0, sizeof(*k));
        return k;
    }
    if (p->region_left == 0) {
        if (p->nregions == p->regions_cap) {
            size_t cap = p->regions_cap ? 2 * p->regions_cap : 16;
            void **r = realloc(p->regions, cap * sizeof(*r));
            if (!r)
                return NULL;
            p->regions = r;
            p->regions_cap = cap;
        }
        uint8_t *m = region_map();
        if (!m)
            return NULL;
        p->regions[p->nregions++] = m;
        p->region_next = m;
        p->region_left = POOL_REGION / POOL_CHUNK;
    }
    k = (struct pool_chunk *)p->region_next;      /* never touched: zero */
    p->region_next += POOL_CHUNK;
    p->region_left--;
    chunk_populate(k);
    return k;
}

/* An empty chunk goes back to the system's free pages (its address range
 * stays ours, on the clean list). Caller holds p->lock. */
static void chunk_put(struct pool *p, struct pool_chunk *k)
{
    madvise(k, POOL_CHUNK, MADV_DONTNEED);
    k->next = p->clean;
    p->clean = k;
}

static void avail_link(struct pool *p, struct pool_chunk *k)
{
    k->prev = NULL;
    k->next = p->avail;
    if (p->avail)
        p->avail->prev = k;
    p->avail = k;
    k->in_avail = 1;
    p->navail++;
}

static void avail_unlink(struct pool *p, struct pool_chunk *k)
{
    if (k->prev) k->prev->next = k->next; else p->avail = k->next;
    if (k->next) k->next->prev = k->prev;
    k->prev = k->next = NULL;
    k->in_avail = 0;
    p->navail--;
}

void pool_destroy(struct pool *p)
{
    for (size_t i = 0; i < p->nregions; i++)
        munmap(p->regions[i], POOL_REGION);
    free(p->regions);
    budget_release(p->budget, p->chunks * POOL_CHUNK);
    memset(p, 0, sizeof(*p));
}

/* Caller holds p->lock. */
static void *chunk_take(struct pool *p, struct pool_chunk *k)
{
    void *o;
    if (k->free) {
        o = k->free;
        memcpy(&k->free, o, sizeof(void *));
        memset(o, 0, p->size);
    } else {
        o = (uint8_t *)k + POOL_HDR + (size_t)k->bumped * p->size;   /* never used: zero */
        k->bumped++;
    }
    k->live++;
    p->live++;
    if (k->live == p->per_chunk)
        avail_unlink(p, k);
    return o;
}

void *pool_alloc(struct pool *p)
{
    lock_acquire(&p->lock);
    struct pool_chunk *k = p->avail;
    if (!k) {
        if (budget_reserve(p->budget, POOL_CHUNK) != 0) {
            lock_release(&p->lock);
            return NULL;
        }
        k = chunk_get(p);
        if (!k) {
            budget_release(p->budget, POOL_CHUNK);
            lock_release(&p->lock);
            return NULL;
        }
        p->chunks++;
        avail_link(p, k);
    }
    void *o = chunk_take(p, k);
    lock_release(&p->lock);
    return o;
}

void pool_free(struct pool *p, void *o)
{
    if (!o)
        return;
    struct pool_chunk *k = (struct pool_chunk *)((uintptr_t)o & ~(uintptr_t)(POOL_CHUNK - 1));
    lock_acquire(&p->lock);
    memcpy(o, &k->free, sizeof(void *));
    k->free = o;
    k->live--;
    p->live--;
    if (!k->in_avail)
        avail_link(p, k);
    if (k->live == 0 && p->navail > 1) {   /* empty and not the last spare: give it back */
        avail_unlink(p, k);
        p->chunks--;
        chunk_put(p, k);
        budget_release(p->budget, POOL_CHUNK);
    }
    lock_release(&p->lock);
}

#endif
