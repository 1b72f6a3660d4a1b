/* budget.c - a memory budget: bytes in use against an optional cap (lock-free, any thread). */
#include "capture/cache/budget.h"

void budget_init(struct budget *b, uint64_t cap)
{
    atomic_init(&b->used, 0);
    atomic_init(&b->refused, 0);
    atomic_init(&b->cap, cap);
}

void budget_set_cap(struct budget *b, uint64_t cap)
{
    atomic_store_explicit(&b->cap, cap, memory_order_relaxed);
}

int budget_reserve(struct budget *b, size_t n)
{
    /* Add first, then check: two threads racing for the last bytes cannot
     * both pass the cap (the loser takes its bytes back). */
    uint64_t after = atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed) + n;
    uint64_t cap = atomic_load_explicit(&b->cap, memory_order_relaxed);
    if (cap && after > cap) {
        atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
        atomic_fetch_add_explicit(&b->refused, 1, memory_order_relaxed);
        return -1;
    }
    return 0;
}

void budget_release(struct budget *b, size_t n)
{
    atomic_fetch_sub_explicit(&b->used, n, memory_order_relaxed);
}

void budget_charge(struct budget *b, size_t n)
{
    atomic_fetch_add_explicit(&b->used, n, memory_order_relaxed);
}

uint64_t budget_used(const struct budget *b)
{
    return atomic_load_explicit(&b->used, memory_order_relaxed);
}

uint64_t budget_refused(const struct budget *b)
{
    return atomic_load_explicit(&b->refused, memory_order_relaxed);
}
