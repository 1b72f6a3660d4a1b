/* test_lock.c - capture/lock.c: mutual exclusion under contention (threads), a waiter sleeps and is woken, state after use. */
#include <pthread.h>
#include <stdint.h>
#include <time.h>

#include "capture/cache/lock.h"
#include "check.h"

enum { THREADS = 4, ROUNDS = 200000 };

struct shared {
    struct lock lock;
    uint64_t a, b;                   /* plain fields: only the lock keeps them equal */
    int torn;
};

static void *hammer(void *arg)
{
    struct shared *s = arg;
    for (int i = 0; i < ROUNDS; i++) {
        lock_acquire(&s->lock);
        if (s->a != s->b)
            s->torn++;
        s->a++;
        if ((i & 1023) == 0)
            sched_yield();           /* a holder preempted mid-section: others must sleep, not pass */
        s->b++;
        lock_release(&s->lock);
    }
    return NULL;
}

TEST_CASE(threads_never_overlap_and_no_update_is_lost)
{
    static struct shared s;
    lock_init(&s.lock);
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        pthread_create(&t[i], NULL, hammer, &s);
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    CHECK_INT(s.torn, 0);
    CHECK_INT(s.a, (uint64_t)THREADS * ROUNDS);
    CHECK_INT(s.b, (uint64_t)THREADS * ROUNDS);
    CHECK_INT(atomic_load(&s.lock.v), 0);    /* free, and no waiter mark left behind */
}

struct waiter {
    struct lock *lock;
    _Atomic int started, got;
};

static void *wait_for_lock(void *arg)
{
    struct waiter *w = arg;
    atomic_store(&w->started, 1);
    lock_acquire(w->lock);
    atomic_store(&w->got, 1);
    lock_release(w->lock);
    return NULL;
}

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

TEST_CASE(a_waiter_sleeps_until_the_holder_releases)
{
    struct lock l;
    lock_init(&l);
    lock_acquire(&l);
    struct waiter w = { &l, 0, 0 };
    pthread_t t;
    pthread_create(&t, NULL, wait_for_lock, &w);
    while (!atomic_load(&w.started))
        sched_yield();
    sleep_ms(50);                    /* far past the spin: the waiter is asleep in the kernel */
    CHECK_INT(atomic_load(&w.got), 0);
    CHECK_INT(atomic_load(&l.v), 2);         /* held, with a waiter marked */
    lock_release(&l);
    pthread_join(t, NULL);
    CHECK_INT(atomic_load(&w.got), 1);
    CHECK_INT(atomic_load(&l.v), 0);
}

int main(void)
{
    RUN(threads_never_overlap_and_no_update_is_lost);
    RUN(a_waiter_sleeps_until_the_holder_releases);
    return CHECK_DONE("lock");
}
