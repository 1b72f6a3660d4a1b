/* budget.c - a memory budget: bytes in use against an optional cap (lock-free, any thread). */
#include "capture/cache/budget.h"

static _Atomic uint64_t next_id;

/* The calling thread's slot: in which budget (by id; 0 = none) and which one
 * (NULL: that budget had none left). */
_Thread_local uint64_t budget_own_id;
_Thread_local struct budget_slot *budget_own_slot;

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)
#define STORE(x, v) atomic_store_explicit(&(x), (v), memory_order_relaxed)
#define ADD(x, v) atomic_fetch_add_explicit(&(x), (v), memory_order_relaxed)
#define SUB(x, v) atomic_fetch_sub_explicit(&(x), (v), memory_order_relaxed)

void budget_init(struct budget *b, uint64_t cap)
{
    atomic_init(&b->used, 0);
    atomic_init(&b->refused, 0);
    atomic_init(&b->cap, cap);
    atomic_init(&b->nslots, 0);
    for (int i = 0; i < BUDGET_SLOTS; i++)
        atomic_init(&b->slot[i].held, 0);
    b->id = atomic_fetch_add(&next_id, 1) + 1;
}

void budget_set_cap(struct budget *b, uint64_t cap)
{
    STORE(b->cap, cap);
}

/* 1 when `used` (plus `more`) is within BUDGET_NEAR of a cap: no credit there. */
static int near_cap(struct budget *b, uint64_t more)
{
    uint64_t cap = LOAD(b->cap);
    return cap && LOAD(b->used) + more + BUDGET_NEAR > cap;
}

/* Gives all of slot s's credit back. */
static void credit_return(struct budget *b, struct budget_slot *s)
{
    uint64_t h = LOAD(s->held);
    if (h) {
        STORE(s->held, 0);
        SUB(b->used, h);
    }
}

/* Counts n bytes out of new credit (the thread's own held less than n).
 * Returns 1, or 0 when near the cap (the thread's credit then given back):
 * the caller counts n on `used` itself. */
static int credit_take(struct budget *b, struct budget_slot *s, size_t n)
{
    if (!s && budget_own_id != b->id) {     /* first time on b: claim a slot */
        if (near_cap(b, n))
            return 0;
        unsigned i = atomic_fetch_add(&b->nslots, 1);
        budget_own_id = b->id;
        budget_own_slot = s = i < BUDGET_SLOTS ? &b->slot[i] : NULL;
    }
    if (!s)
        return 0;
    uint64_t h = LOAD(s->held), take = n - h + BUDGET_CHUNK;
    if (near_cap(b, take)) {
        credit_return(b, s);
        return 0;
    }
    uint64_t cap = LOAD(b->cap), after = ADD(b->used, take) + take;
    if (cap && after + BUDGET_NEAR > cap) {   /* another thread came first */
        SUB(b->used, take);
        credit_return(b, s);
        return 0;
    }
    STORE(s->held, h + take - n);
    return 1;
}

int budget_reserve_slow(struct budget *b, size_t n)
{
    if (credit_take(b, budget_slot_own(b), n))
        return 0;
    /* Add first, then check: two threads racing for the last bytes cannot
     * both pass the cap (the loser takes its bytes back). */
    uint64_t after = ADD(b->used, n) + n;
    uint64_t cap = LOAD(b->cap);
    if (cap && after > cap) {
        SUB(b->used, n);
        ADD(b->refused, 1);
        return -1;
    }
    return 0;
}

void budget_release_slow(struct budget *b, size_t n)
{
    struct budget_slot *s = budget_slot_own(b);
    if (!s) {
        SUB(b->used, n);
        return;
    }
    uint64_t h = LOAD(s->held) + n;
    int near = near_cap(b, 0);
    if (h <= 2 * BUDGET_CHUNK && !near) {
        STORE(s->held, h);
        return;
    }
    uint64_t keep = near ? 0 : BUDGET_CHUNK;
    STORE(s->held, keep);
    SUB(b->used, h - keep);
}

void budget_charge_slow(struct budget *b, size_t n)
{
    if (!credit_take(b, budget_slot_own(b), n))
        ADD(b->used, n);
}

void budget_thread_return(struct budget *b)
{
    struct budget_slot *s = budget_slot_own(b);
    if (s)
        credit_return(b, s);
}

uint64_t budget_used(const struct budget *b)
{
    uint64_t held = 0;
    unsigned n = LOAD(b->nslots);
    for (unsigned i = 0; i < n && i < BUDGET_SLOTS; i++)
        held += LOAD(b->slot[i].held);
    uint64_t used = LOAD(b->used);
    return used > held ? used - held : 0;
}

uint64_t budget_refused(const struct budget *b)
{
    return LOAD(b->refused);
}
