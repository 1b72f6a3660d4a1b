/* lock.c - the contended paths of the shard lock: a short spin, then futex sleep and wake (any thread). */
#include "capture/cache/lock.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

/* Tries to take a free lock this many times before sleeping: the holders
 * (packet updates, a loop-thread copy of one entry) mostly hold it for less
 * than a microsecond. */
#define LOCK_SPINS 64

void lock_acquire_slow(struct lock *l)
{
    for (int i = 0; i < LOCK_SPINS; i++) {
        uint32_t free_v = 0;
        if (atomic_load_explicit(&l->v, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_weak_explicit(&l->v, &free_v, 1, memory_order_acquire, memory_order_relaxed))
            return;
        lock_pause();
    }
    /* marks the lock "waiters" (2) whoever holds it; taking it that way is
     * safe too: the release then wakes a sleeper that may not exist */
    while (atomic_exchange_explicit(&l->v, 2, memory_order_acquire) != 0)
        syscall(SYS_futex, &l->v, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
}

void lock_wake(struct lock *l)
{
    syscall(SYS_futex, &l->v, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}
