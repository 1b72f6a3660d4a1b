/* lock.h - the cache's shard lock: one atomic operation to take and one to give back when nobody waits (any thread). */
#ifndef FC_LOCK_H
#define FC_LOCK_H

#include <stdatomic.h>
#include <stdint.h>

/*
 * A futex mutex ("mutex 2" of Drepper's "Futexes Are Tricky"): 0 free, 1 held,
 * 2 held and a thread may be asleep on it. Taking a free lock is one
 * compare-and-swap, giving back an uncontended one is one exchange; a thread
 * that finds it held spins briefly, then sleeps in the kernel until the
 * holder wakes it. Why not pthread_mutex: its lock/unlock pair runs many
 * more instructions around the same two atomic operations, and a capture
 * thread takes a shard lock several times a packet (BENCHMARKS.md, "Design
 * measurements"). Not recursive; no owner checks. The acquire/release orderings make
 * it a lock to ThreadSanitizer too.
 */
struct lock { _Atomic uint32_t v; };

/* Sleeps until l can be taken, then takes it (the contended path of lock_acquire). */
void lock_acquire_slow(struct lock *l);
/* Wakes one thread asleep on l (lock_release found waiters). */
void lock_wake(struct lock *l);

/* A pause for a thread spinning on a word another core writes. */
static inline void lock_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield");
#endif
}

static inline void lock_init(struct lock *l)
{
    atomic_init(&l->v, 0);
}

static inline void lock_acquire(struct lock *l)
{
    uint32_t free_v = 0;
    if (!atomic_compare_exchange_strong_explicit(&l->v, &free_v, 1, memory_order_acquire, memory_order_relaxed))
        lock_acquire_slow(l);
}

static inline void lock_release(struct lock *l)
{
    if (atomic_exchange_explicit(&l->v, 0, memory_order_release) == 2)
        lock_wake(l);
}

#endif
