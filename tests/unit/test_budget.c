/* test_budget.c - capture/cache/budget.c: reserve under and over the cap, release, charge past the cap, concurrent reserves (threads), per-thread credit. */
#include <pthread.h>
#include <stdint.h>

#include "capture/cache/budget.h"
#include "check.h"

TEST_CASE(reserve_under_the_cap_counts)
{
    struct budget b;
    budget_init(&b, 1000);
    CHECK_INT(budget_used(&b), 0);
    CHECK_INT(budget_reserve(&b, 400), 0);
    CHECK_INT(budget_reserve(&b, 600), 0);        /* exactly the cap is allowed */
    CHECK_INT(budget_used(&b), 1000);
    CHECK_INT(budget_refused(&b), 0);
}

TEST_CASE(reserve_over_the_cap_fails_and_is_counted)
{
    struct budget b;
    budget_init(&b, 1000);
    CHECK_INT(budget_reserve(&b, 900), 0);
    CHECK_INT(budget_reserve(&b, 101), -1);
    CHECK_INT(budget_used(&b), 900);              /* the refused bytes are not kept */
    CHECK_INT(budget_refused(&b), 1);
    CHECK_INT(budget_reserve(&b, 100), 0);
    CHECK_INT(budget_reserve(&b, 1), -1);
    CHECK_INT(budget_refused(&b), 2);
    CHECK_INT(budget_used(&b), 1000);
}

TEST_CASE(no_cap_never_refuses)
{
    struct budget b;
    budget_init(&b, 0);
    CHECK_INT(budget_reserve(&b, (size_t)1 << 40), 0);
    CHECK_INT(budget_reserve(&b, (size_t)1 << 40), 0);
    CHECK_INT(budget_used(&b), (uint64_t)2 << 40);
    CHECK_INT(budget_refused(&b), 0);
}

TEST_CASE(release_gives_room_back)
{
    struct budget b;
    budget_init(&b, 1000);
    CHECK_INT(budget_reserve(&b, 1000), 0);
    CHECK_INT(budget_reserve(&b, 10), -1);
    budget_release(&b, 300);
    CHECK_INT(budget_used(&b), 700);
    CHECK_INT(budget_reserve(&b, 300), 0);
    budget_release(&b, 1000);
    CHECK_INT(budget_used(&b), 0);
}

TEST_CASE(charge_passes_the_cap)
{
    struct budget b;
    budget_init(&b, 1000);
    CHECK_INT(budget_reserve(&b, 800), 0);
    budget_charge(&b, 500);                        /* kept whatever the cap */
    CHECK_INT(budget_used(&b), 1300);
    CHECK_INT(budget_refused(&b), 0);
    CHECK_INT(budget_reserve(&b, 1), -1);         /* over the cap: new reserves are refused */
    budget_release(&b, 500);
    CHECK_INT(budget_reserve(&b, 200), 0);
    CHECK_INT(budget_used(&b), 1000);
}

/* Two threads reserve (and release some of) small amounts at once. */
enum { MT_ROUNDS = 200000, MT_SIZE = 24 };

static void *mt_reserve(void *arg)
{
    struct budget *b = arg;
    for (int i = 0; i < MT_ROUNDS; i++) {
        if (budget_reserve(b, MT_SIZE) != 0)
            return (void *)1;
        if (i & 1)
            budget_release(b, MT_SIZE);
    }
    return NULL;
}

TEST_CASE(concurrent_reserves_sum_exactly)
{
    struct budget b;
    budget_init(&b, 0);
    pthread_t ta, tb;
    void *ra = NULL, *rb = NULL;
    pthread_create(&ta, NULL, mt_reserve, &b);
    pthread_create(&tb, NULL, mt_reserve, &b);
    pthread_join(ta, &ra);
    pthread_join(tb, &rb);
    CHECK(ra == NULL && rb == NULL);
    CHECK_INT(budget_used(&b), 2ULL * (MT_ROUNDS / 2) * MT_SIZE);
    CHECK_INT(budget_refused(&b), 0);
}

/* Under a cap, two threads racing never keep more than the cap between them. */
static void *mt_fill(void *arg)
{
    struct budget *b = arg;
    uintptr_t got = 0;
    for (int i = 0; i < MT_ROUNDS; i++)
        got += budget_reserve(b, MT_SIZE) == 0;
    return (void *)got;
}

TEST_CASE(concurrent_reserves_stop_at_the_cap)
{
    enum { FITS = 5000 };
    struct budget b;
    budget_init(&b, (uint64_t)FITS * MT_SIZE);
    pthread_t ta, tb;
    void *ga = NULL, *gb = NULL;
    pthread_create(&ta, NULL, mt_fill, &b);
    pthread_create(&tb, NULL, mt_fill, &b);
    pthread_join(ta, &ga);
    pthread_join(tb, &gb);
    CHECK_INT((uintptr_t)ga + (uintptr_t)gb, FITS);
    CHECK_INT(budget_used(&b), (uint64_t)FITS * MT_SIZE);
    CHECK_INT(budget_refused(&b), 2ULL * MT_ROUNDS - FITS);
}

/* Far from the cap a thread counts out of credit: what budget_used shows stays exact,
 * and budget_thread_return gives the unspent credit back to the shared counter. */
TEST_CASE(credit_keeps_used_exact)
{
    struct budget b;
    budget_init(&b, 0);
    for (int i = 0; i < 10000; i++)
        CHECK_INT(budget_reserve(&b, MT_SIZE), 0);
    budget_charge(&b, 100);
    CHECK_INT(budget_used(&b), 10000ULL * MT_SIZE + 100);
    CHECK(atomic_load(&b.used) >= budget_used(&b));     /* credit handed out counts in `used` */
    for (int i = 0; i < 5000; i++)
        budget_release(&b, MT_SIZE);
    CHECK_INT(budget_used(&b), 5000ULL * MT_SIZE + 100);
    budget_thread_return(&b);
    CHECK_INT(atomic_load(&b.used), 5000ULL * MT_SIZE + 100);
    budget_release(&b, 5000ULL * MT_SIZE + 100);
    budget_thread_return(&b);
    CHECK_INT(atomic_load(&b.used), 0);
}

/* A cap far above one chunk: one thread is still refused at exactly the byte it was
 * refused at without credit (no credit near the cap). */
TEST_CASE(credit_refuses_at_the_exact_byte)
{
    enum { CAP = 40 * BUDGET_CHUNK + 1000 };
    struct budget b;
    budget_init(&b, CAP);
    uint64_t fits = 0;
    while (budget_reserve(&b, MT_SIZE) == 0)
        fits++;
    CHECK_INT(fits, CAP / MT_SIZE);
    CHECK_INT(budget_used(&b), (uint64_t)CAP / MT_SIZE * MT_SIZE);
    CHECK_INT(budget_refused(&b), 1);
    budget_release(&b, MT_SIZE);
    CHECK_INT(budget_reserve(&b, MT_SIZE), 0);
    CHECK_INT(budget_reserve(&b, MT_SIZE), -1);
    for (uint64_t i = 0; i < fits; i++)
        budget_release(&b, MT_SIZE);
    CHECK_INT(budget_used(&b), 0);
    while (budget_reserve(&b, MT_SIZE) == 0)        /* and again after everything went back */
        fits--;
    CHECK_INT(fits, 0);
}

int main(void)
{
    RUN(reserve_under_the_cap_counts);
    RUN(reserve_over_the_cap_fails_and_is_counted);
    RUN(no_cap_never_refuses);
    RUN(release_gives_room_back);
    RUN(charge_passes_the_cap);
    RUN(concurrent_reserves_sum_exactly);
    RUN(concurrent_reserves_stop_at_the_cap);
    RUN(credit_keeps_used_exact);
    RUN(credit_refuses_at_the_exact_byte);
    return CHECK_DONE("budget");
}
