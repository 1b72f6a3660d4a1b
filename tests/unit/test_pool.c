/* test_pool.c - capture/cache/pool.c: zeroed distinct slots, chunk accounting, spare chunks and their give-back by pool_trim, refusal at the budget cap, concurrent use (threads), slots freed without naming their pool. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture/cache/budget.h"
#include "capture/cache/pool.h"
#include "check.h"

#if defined(__SANITIZE_ADDRESS__)
#define BYPASS 1                     /* the pool is plain calloc/free: no chunks */
#else
#define BYPASS 0
#endif

enum { SIZE = 164, N = 20000 };      /* 164 rounds up to 168, the size of a flow */

static int all_zero(const uint8_t *o, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (o[i])
            return 0;
    return 1;
}

TEST_CASE(slots_are_zeroed_distinct_and_counted)
{
    struct budget b;
    budget_init(&b, 0);
    struct pool p;
    uint64_t before = budget_used(&b);
    CHECK_INT(pool_init(&p, &b, SIZE), 0);
    CHECK_INT(p.size, 168);
    static uint8_t *o[N];
    int bad = 0;
    for (int i = 0; i < N; i++) {
        o[i] = pool_alloc(&p);
        if (!o[i] || !all_zero(o[i], SIZE) || ((uintptr_t)o[i] & 7))
            bad++;
        else
            memset(o[i], 0xA5 ^ i, SIZE);    /* would show through an overlapping slot */
    }
    CHECK_INT(bad, 0);
    for (int i = 0; i < N; i++)
        if (o[i][0] != (uint8_t)(0xA5 ^ i) || o[i][SIZE - 1] != (uint8_t)(0xA5 ^ i))
            bad++;
    CHECK_INT(bad, 0);
    CHECK_INT(pool_live(&p), N);
    uint64_t used = budget_used(&b) - before;
    if (BYPASS) {
        CHECK_INT(used, (uint64_t)N * 168);
    } else {
        CHECK_INT(used, pool_chunks(&p) * POOL_CHUNK);
        CHECK(used >= (uint64_t)N * 168 && used < (uint64_t)N * 168 + 2 * POOL_CHUNK);
    }
    /* free every other slot, then all: reused slots come back zeroed */
    for (int i = 0; i < N; i += 2)
        pool_free(&p, o[i]);
    for (int i = 0; i < N; i += 2) {
        o[i] = pool_alloc(&p);
        if (!o[i] || !all_zero(o[i], SIZE))
            bad++;
    }
    CHECK_INT(bad, 0);
    for (int i = 0; i < N; i++)
        pool_free(&p, o[i]);
    CHECK_INT(pool_live(&p), 0);
    /* empty chunks left the budget (kept as spares): at most the last one with room is counted */
    CHECK(pool_chunks(&p) <= 1);
    CHECK_INT(budget_used(&b) - before, pool_chunks(&p) * POOL_CHUNK);
    /* and they are reused */
    o[0] = pool_alloc(&p);
    CHECK(o[0] && all_zero(o[0], SIZE));
    pool_free(&p, o[0]);
    pool_destroy(&p);
    CHECK_INT(budget_used(&b), before);
}

TEST_CASE(budget_cap_refuses_then_recovers)
{
    struct budget b;
    budget_init(&b, BYPASS ? 100 * 168 : 3 * POOL_CHUNK);
    struct pool p;
    CHECK_INT(pool_init(&p, &b, SIZE), 0);
    static void *o[N];
    int n = 0;
    while (n < N && (o[n] = pool_alloc(&p)) != NULL)
        n++;
    CHECK(n < N);
    CHECK(n >= (BYPASS ? 100 : (int)(3 * p.per_chunk)) - 1);
    CHECK(budget_used(&b) <= b.cap);
    pool_free(&p, o[--n]);
    o[n] = pool_alloc(&p);
    CHECK(o[n] != NULL);
    n++;
    while (n > 0)
        pool_free(&p, o[--n]);
    pool_destroy(&p);
    CHECK_INT(budget_used(&b), 0);
}

/* Pages of the chunk holding slot o that are resident (mincore). */
static int chunk_resident_pages(const void *o)
{
    size_t pg = (size_t)sysconf(_SC_PAGESIZE);
    void *k = (void *)((uintptr_t)o & ~(uintptr_t)(POOL_CHUNK - 1));
    unsigned char v[POOL_CHUNK / 4096];
    if (mincore(k, POOL_CHUNK, v) != 0)
        return -1;
    int n = 0;
    for (size_t i = 0; i < POOL_CHUNK / pg; i++)
        n += v[i] & 1;
    return n;
}

enum { TRIM_N = 40000 };             /* ~104 chunks of 168-byte slots: more than POOL_TRIM_MAX */

TEST_CASE(spare_chunks_kept_then_trimmed_a_bounded_amount_per_tick)
{
    struct budget b;
    budget_init(&b, 0);
    struct pool p;
    CHECK_INT(pool_init(&p, &b, SIZE), 0);
    static uint8_t *o[TRIM_N];
    for (int i = 0; i < TRIM_N; i++) {
        o[i] = pool_alloc(&p);
        CHECK(o[i] != NULL);
        if (!o[i])
            return;
        memset(o[i], 0x5A, SIZE);
    }
    uint64_t chunks = pool_chunks(&p);
    for (int i = 0; i < TRIM_N; i++)
        pool_free(&p, o[i]);
    if (BYPASS) {                     /* free() gave everything back: nothing to trim */
        CHECK_INT(pool_trim(&p), 0);
        CHECK_INT(budget_used(&b), 0);
        pool_destroy(&p);
        return;
    }
    /* empty chunks are out of the budget but kept, resident, without a system call */
    uint64_t spare = pool_spare(&p);
    CHECK_INT(spare + pool_chunks(&p), chunks);
    CHECK(spare > POOL_TRIM_MAX);
    CHECK_INT(budget_used(&b), pool_chunks(&p) * POOL_CHUNK);
    CHECK(chunk_resident_pages(o[0]) > 0);
    /* nothing goes back before the spares have waited POOL_SPARE_TICKS ticks */
    size_t given = 0;
    for (unsigned t = 1; t < POOL_SPARE_TICKS; t++)
        given += pool_trim(&p);
    CHECK_INT(given, 0);
    CHECK_INT(pool_spare(&p), spare);
    /* then at most POOL_TRIM_MAX a tick, until none is left */
    CHECK_INT(pool_trim(&p), POOL_TRIM_MAX);
    CHECK_INT(pool_trim(&p), spare - POOL_TRIM_MAX);
    CHECK_INT(pool_trim(&p), 0);
    CHECK_INT(pool_spare(&p), 0);
    /* the first chunk (the oldest spare) went back: its pages are no longer resident */
    CHECK_INT(chunk_resident_pages(o[0]), 0);
    /* given-back chunks are reused, zeroed; a reused spare's slots are zeroed as well */
    int bad = 0;
    for (int i = 0; i < TRIM_N; i++)
        if (!(o[i] = pool_alloc(&p)) || !all_zero(o[i], SIZE))
            bad++;
    CHECK_INT(bad, 0);
    CHECK_INT(pool_chunks(&p), chunks);
    for (int i = 0; i < TRIM_N / 2; i++)
        pool_free(&p, o[i]);
    for (int i = 0; i < TRIM_N / 2; i++)
        if (!(o[i] = pool_alloc(&p)) || !all_zero(o[i], SIZE))
            bad++;
    CHECK_INT(bad, 0);
    CHECK_INT(pool_spare(&p), 0);
    for (int i = 0; i < TRIM_N; i++)
        pool_free(&p, o[i]);
    pool_destroy(&p);
    CHECK_INT(budget_used(&b), 0);
}

/* Two threads allocate, and each frees what the other allocated, while a third trims. */
struct mt {
    struct pool *p;
    pthread_mutex_t *lock;
    void **mine, **theirs;
    int *ready;
    int bad;
};

enum { MT_BATCH = 500, MT_ROUNDS = 200 };

static void *mt_run(void *arg)
{
    struct mt *m = arg;
    for (int r = 0; r < MT_ROUNDS; r++) {
        void *batch[MT_BATCH];
        for (int i = 0; i < MT_BATCH; i++) {
            batch[i] = pool_alloc(m->p);
            if (!batch[i] || !all_zero(batch[i], SIZE))
                m->bad++;
            else
                memset(batch[i], r + 1, SIZE);
        }
        pthread_mutex_lock(m->lock);
        for (int i = 0; i < MT_BATCH; i++) {
            void *t = m->theirs[i];          /* the other thread's slot, handed over */
            m->theirs[i] = NULL;
            m->mine[i] = m->mine[i] ? m->mine[i] : batch[i];
            if (m->mine[i] != batch[i])
                pool_free(m->p, batch[i]);   /* no room: give ours back at once */
            if (t)
                pool_free(m->p, t);
        }
        pthread_mutex_unlock(m->lock);
    }
    return NULL;
}

/* Calls pool_trim as fast as it can until told to stop: spares are given back while the
 * two threads take and empty chunks. */
struct trimmer {
    struct pool *p;
    _Atomic int stop;
    size_t given;
};

static void *trim_run(void *arg)
{
    struct trimmer *t = arg;
    while (!atomic_load(&t->stop))
        t->given += pool_trim(t->p);
    return NULL;
}

TEST_CASE(two_threads_allocate_and_free_each_others_slots)
{
    struct budget bud;
    budget_init(&bud, 0);
    struct pool p;
    CHECK_INT(pool_init(&p, &bud, SIZE), 0);
    static void *a[MT_BATCH], *b[MT_BATCH];
    pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    struct mt ma = { &p, &lock, a, b, NULL, 0 }, mb = { &p, &lock, b, a, NULL, 0 };
    struct trimmer tr = { &p, 0, 0 };
    pthread_t ta, tb, tt;
    pthread_create(&tt, NULL, trim_run, &tr);
    pthread_create(&ta, NULL, mt_run, &ma);
    pthread_create(&tb, NULL, mt_run, &mb);
    pthread_join(ta, NULL);
    pthread_join(tb, NULL);
    atomic_store(&tr.stop, 1);
    pthread_join(tt, NULL);
    CHECK_INT(ma.bad + mb.bad, 0);
    for (int i = 0; i < MT_BATCH; i++) {
        pool_free(&p, a[i]);
        pool_free(&p, b[i]);
    }
    CHECK_INT(pool_live(&p), 0);
    pool_destroy(&p);
    CHECK_INT(budget_used(&bud), 0);
}

/* pool_free_slot gives each slot back to the pool it came from, slots of two pools mixed. */
TEST_CASE(free_slot_finds_the_pool_of_each_slot)
{
    struct budget b;
    budget_init(&b, 0);
    struct pool small, large;
    CHECK_INT(pool_init(&small, &b, 448), 0);
    CHECK_INT(pool_init(&large, &b, 1472), 0);
    enum { M = 3000 };
    static void *o[2 * M];
    int bad = 0;
    for (int i = 0; i < M; i++) {
        o[2 * i] = pool_alloc(&small);
        o[2 * i + 1] = pool_alloc(&large);
        if (!o[2 * i] || !o[2 * i + 1])
            bad++;
    }
    CHECK_INT(bad, 0);
    CHECK_INT(pool_live(&small), M);
    CHECK_INT(pool_live(&large), M);
    for (int i = 0; i < M; i++)              /* the large pool's slots first, then the small's */
        pool_free_slot(o[2 * i + 1]);
    CHECK_INT(pool_live(&large), 0);
    CHECK_INT(pool_live(&small), M);
    for (int i = 0; i < M; i++)
        pool_free_slot(o[2 * i]);
    CHECK_INT(pool_live(&small), 0);
    pool_free_slot(NULL);
    CHECK_INT(budget_used(&b), (pool_chunks(&small) + pool_chunks(&large)) * POOL_CHUNK);
    pool_destroy(&small);
    pool_destroy(&large);
    CHECK_INT(budget_used(&b), 0);
}

int main(void)
{
    RUN(slots_are_zeroed_distinct_and_counted);
    RUN(budget_cap_refuses_then_recovers);
    RUN(spare_chunks_kept_then_trimmed_a_bounded_amount_per_tick);
    RUN(two_threads_allocate_and_free_each_others_slots);
    RUN(free_slot_finds_the_pool_of_each_slot);
    return CHECK_DONE("pool");
}
