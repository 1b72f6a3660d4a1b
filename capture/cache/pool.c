/* pool.c - fixed-size slot pools carved from 64 KB mmap'd chunks (any thread: each thread's part of a pool has its own lock). */
#include "capture/cache/pool.h"

#include <stdatomic.h>
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
    struct pool_part *part;          /* whose chunk it is */
    struct pool_chunk *prev, *next;  /* in part->avail while a slot is free, or part->spare */
    void *free;                      /* freed slots, linked through their first word */
    uint32_t live;                   /* slots handed out */
    uint32_t bumped;                 /* slots ever handed out from the untouched tail */
    int in_avail;
    uint32_t spare_tick;             /* pool->ticks when it joined part->spare */
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
    for (int i = 0; i < POOL_PARTS; i++) {
        p->part[i].pool = p;
        lock_init(&p->part[i].lock);
    }
    return 0;
}

/* The calling thread's part: threads take them in turn at their first call. */
static struct pool_part *part_mine(struct pool *p)
{
    static _Atomic unsigned threads;
    static _Thread_local int mine = -1;
    if (mine < 0)
        mine = (int)(atomic_fetch_add_explicit(&threads, 1, memory_order_relaxed) % POOL_PARTS);
    return &p->part[mine];
}

enum part_count { PC_LIVE, PC_CHUNKS, PC_SPARE };

static uint64_t parts_sum(struct pool *p, enum part_count what)
{
    uint64_t n = 0;
    for (int i = 0; i < POOL_PARTS; i++) {
        struct pool_part *q = &p->part[i];
        lock_acquire(&q->lock);
        n += what == PC_LIVE ? q->live : what == PC_CHUNKS ? q->chunks : q->nspare;
        lock_release(&q->lock);
    }
    return n;
}

uint64_t pool_live(struct pool *p)
{
    return parts_sum(p, PC_LIVE);
}

uint64_t pool_chunks(struct pool *p)
{
    return parts_sum(p, PC_CHUNKS);
}

uint64_t pool_spare(struct pool *p)
{
    return parts_sum(p, PC_SPARE);
}

void *pool_map_huge(size_t n)
{
    size_t span = n + POOL_HUGE_PAGE;
    uint8_t *m = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (m == MAP_FAILED)
        return NULL;
    uintptr_t a = ((uintptr_t)m + POOL_HUGE_PAGE - 1) & ~(uintptr_t)(POOL_HUGE_PAGE - 1);
    size_t head = a - (uintptr_t)m, tail = span - head - n;
    if (head)
        munmap(m, head);
    if (tail)
        munmap((uint8_t *)a + n, tail);
#ifdef MADV_HUGEPAGE
    madvise((void *)a, n, MADV_HUGEPAGE);
#endif
    return (void *)a;
}

#ifdef POOL_BYPASS

void pool_destroy(struct pool *p)
{
    (void)p;                         /* every object was its own calloc, freed by pool_free */
}

/* Room before each object for the pool it came from (pool_free_slot): 16 bytes keep calloc's
 * alignment. */
#define BYPASS_HDR 16u

void *pool_alloc(struct pool *p)
{
    if (budget_reserve(p->budget, p->size) != 0)
        return NULL;
    uint8_t *m = calloc(1, BYPASS_HDR + p->size);
    if (!m) {
        budget_release(p->budget, p->size);
        return NULL;
    }
    memcpy(m, &p, sizeof(p));
    struct pool_part *q = part_mine(p);
    lock_acquire(&q->lock);
    q->live++;
    lock_release(&q->lock);
    return m + BYPASS_HDR;
}

size_t pool_trim(struct pool *p)
{
    (void)p;                         /* free() gave everything back already */
    return 0;
}

void pool_free(struct pool *p, void *o)
{
    if (!o)
        return;
    free((uint8_t *)o - BYPASS_HDR);
    budget_release(p->budget, p->size);
    struct pool_part *q = &p->part[0];   /* a sum of all parts is read: any part will do */
    lock_acquire(&q->lock);
    q->live--;
    lock_release(&q->lock);
}

void pool_free_slot(void *o)
{
    if (!o)
        return;
    struct pool *p;
    memcpy(&p, (uint8_t *)o - BYPASS_HDR, sizeof(p));
    pool_free(p, o);
}

#else

/* A new region of POOL_REGION bytes in huge pages (a packet touches a flow and two hosts at
 * random: with 4 kB pages each costs a TLB miss); NULL when none. */
static uint8_t *region_map(void)
{
    return pool_map_huge(POOL_REGION);
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

/* An empty chunk waits on q's spare list, newest first, resident: the next
 * chunk q needs is taken from there without a system call or a page fault.
 * pool_trim gives it back once it has stayed unused. Caller holds q->lock. */
static void chunk_put(struct pool *p, struct pool_part *q, struct pool_chunk *k)
{
    k->spare_tick = atomic_load_explicit(&p->ticks, memory_order_relaxed);
    k->prev = NULL;
    k->next = q->spare;
    if (q->spare)
        q->spare->prev = k;
    else
        q->spare_tail = k;
    q->spare = k;
    q->nspare++;
}

/* Takes k off q's spare list. Caller holds q->lock. */
static void spare_unlink(struct pool_part *q, struct pool_chunk *k)
{
    if (k->prev) k->prev->next = k->next; else q->spare = k->next;
    if (k->next) k->next->prev = k->prev; else q->spare_tail = k->prev;
    k->prev = k->next = NULL;
    q->nspare--;
}

/* An empty chunk of part q, its pages resident: a spare (its slots on its
 * free list, zeroed as they are taken), else a clean one given back before,
 * or the next of the current region, or the first of a new region. NULL when
 * the system has no memory. Caller holds q->lock. */
static struct pool_chunk *chunk_get(struct pool_part *q)
{
    struct pool_chunk *k = q->spare;
    if (k) {
        spare_unlink(q, k);
        return k;
    }
    if (q->nclean) {
        k = q->clean[--q->nclean];
        chunk_populate(k);           /* zero: given back with MADV_DONTNEED */
        memset(k, 0, sizeof(*k));
        k->part = q;
        return k;
    }
    if (q->region_left == 0) {
        if (q->nregions == q->regions_cap) {
            size_t cap = q->regions_cap ? 2 * q->regions_cap : 16;
            void **r = realloc(q->regions, cap * sizeof(*r));
            if (!r)
                return NULL;
            q->regions = r;
            q->regions_cap = cap;
        }
        uint8_t *m = region_map();
        if (!m)
            return NULL;
        q->regions[q->nregions++] = m;
        q->region_next = m;
        q->region_left = POOL_REGION / POOL_CHUNK;
    }
    k = (struct pool_chunk *)q->region_next;      /* never touched: zero */
    q->region_next += POOL_CHUNK;
    q->region_left--;
    chunk_populate(k);
    k->part = q;
    return k;
}

static void avail_link(struct pool_part *q, struct pool_chunk *k)
{
    k->prev = NULL;
    k->next = q->avail;
    if (q->avail)
        q->avail->prev = k;
    q->avail = k;
    k->in_avail = 1;
    q->navail++;
}

static void avail_unlink(struct pool_part *q, struct pool_chunk *k)
{
    if (k->prev) k->prev->next = k->next; else q->avail = k->next;
    if (k->next) k->next->prev = k->prev;
    k->prev = k->next = NULL;
    k->in_avail = 0;
    q->navail--;
}

void pool_destroy(struct pool *p)
{
    uint64_t chunks = 0;
    for (int i = 0; i < POOL_PARTS; i++) {
        struct pool_part *q = &p->part[i];
        for (size_t r = 0; r < q->nregions; r++)
            munmap(q->regions[r], POOL_REGION);
        free(q->regions);
        free(q->clean);
        chunks += q->chunks;
    }
    budget_release(p->budget, chunks * POOL_CHUNK);
    memset(p, 0, sizeof(*p));
}

/* Caller holds q->lock (k is q's). */
static void *chunk_take(struct pool *p, struct pool_part *q, struct pool_chunk *k)
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
    q->live++;
    if (k->live == p->per_chunk)
        avail_unlink(q, k);
    return o;
}

void *pool_alloc(struct pool *p)
{
    struct pool_part *q = part_mine(p);
    lock_acquire(&q->lock);
    struct pool_chunk *k = q->avail;
    if (!k) {
        if (budget_reserve(p->budget, POOL_CHUNK) != 0) {
            lock_release(&q->lock);
            return NULL;
        }
        k = chunk_get(q);
        if (!k) {
            budget_release(p->budget, POOL_CHUNK);
            lock_release(&q->lock);
            return NULL;
        }
        q->chunks++;
        avail_link(q, k);
    }
    void *o = chunk_take(p, q, k);
    lock_release(&q->lock);
    return o;
}

/* The chunk slot o lies in (chunks are aligned to their size). */
static struct pool_chunk *chunk_of(void *o)
{
    return (struct pool_chunk *)((uintptr_t)o & ~(uintptr_t)(POOL_CHUNK - 1));
}

void pool_free(struct pool *p, void *o)
{
    if (!o)
        return;
    struct pool_chunk *k = chunk_of(o);
    struct pool_part *q = k->part;
    lock_acquire(&q->lock);
    memcpy(o, &k->free, sizeof(void *));
    k->free = o;
    k->live--;
    q->live--;
    if (!k->in_avail)
        avail_link(q, k);
    if (k->live == 0 && q->navail > 1) {   /* empty and not the last with room: keep it spare */
        avail_unlink(q, k);
        q->chunks--;
        chunk_put(p, q, k);
        budget_release(p->budget, POOL_CHUNK);
    }
    lock_release(&q->lock);
}

void pool_free_slot(void *o)
{
    if (!o)
        return;
    pool_free(chunk_of(o)->part->pool, o);
}

/* Up to max of q's spares that have waited POOL_SPARE_TICKS, oldest first,
 * unlinked into out (room was made for them on q's clean list). Caller holds
 * q->lock. Returns how many. */
static size_t spare_take_old(struct pool_part *q, uint32_t now, struct pool_chunk **out, size_t max)
{
    size_t n = 0;
    struct pool_chunk *k;
    while (n < max && (k = q->spare_tail) && now - k->spare_tick >= POOL_SPARE_TICKS) {
        if (q->nclean + q->clean_held == q->clean_cap) {
            size_t cap = q->clean_cap ? 2 * q->clean_cap : 64;
            void **c = realloc(q->clean, cap * sizeof(*c));
            if (!c)
                break;               /* kept as a spare: tried again next tick */
            q->clean = c;
            q->clean_cap = cap;
        }
        spare_unlink(q, k);
        q->clean_held++;             /* room on the clean list for k until it is back */
        out[n++] = k;
    }
    return n;
}

static int chunk_addr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)*(void *const *)a, y = (uintptr_t)*(void *const *)b;
    return x < y ? -1 : x > y;
}

/* Gives the pages of k[0..n) back to the system, one madvise per run of
 * adjacent chunks (each call flushes the TLB of every core running a thread
 * of ours, and a whole 2 MB huge page goes without being split). */
static void chunks_release(struct pool_chunk **k, size_t n)
{
    qsort(k, n, sizeof(*k), chunk_addr_cmp);
    for (size_t i = 0; i < n;) {
        size_t j = i + 1;
        while (j < n && (uint8_t *)k[j] == (uint8_t *)k[j - 1] + POOL_CHUNK)
            j++;
        madvise(k[i], (j - i) * POOL_CHUNK, MADV_DONTNEED);
        i = j;
    }
}

size_t pool_trim(struct pool *p)
{
    uint32_t now = atomic_fetch_add_explicit(&p->ticks, 1, memory_order_relaxed) + 1;
    size_t total = 0;
    for (int i = 0; i < POOL_PARTS; i++) {
        struct pool_part *q = &p->part[i];
        struct pool_chunk *k[POOL_TRIM_MAX];
        lock_acquire(&q->lock);
        size_t n = spare_take_old(q, now, k, POOL_TRIM_MAX);
        lock_release(&q->lock);
        if (!n)
            continue;
        chunks_release(k, n);        /* outside the lock: the part's thread goes on meanwhile */
        lock_acquire(&q->lock);
        q->clean_held -= n;
        for (size_t j = 0; j < n; j++)
            q->clean[q->nclean++] = k[j];
        lock_release(&q->lock);
        total += n;
    }
    return total;
}

#endif
