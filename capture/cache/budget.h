/* budget.h - a memory budget: bytes in use against an optional cap (lock-free, any thread). */
#ifndef FC_BUDGET_H
#define FC_BUDGET_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Why: the flow cache and the modules that hang state on its flows (nDPI
 * state, parser state, dissector fields) count their memory in one place,
 * which INFO shows as cache_memory and maxmemory caps. This file includes no
 * other header of the project, so both sides may include it (as Redis keeps
 * zmalloc.c a leaf).
 *
 * Two ways to count: budget_reserve for what may be refused (a new entry, a
 * new pool chunk: the cap refuses it and the caller drops and counts it),
 * budget_charge for what must be kept whatever the cap (state a live flow
 * already depends on; the cap then refuses new flows instead). Both are
 * undone by budget_release.
 *
 * Credit: every flow reserves and releases several times, so with several
 * capture threads one shared counter would be a cache line they all write.
 * Instead each thread that reserves takes credit from `used` in chunks
 * (BUDGET_CHUNK), spends it locally and gives back what it holds above two
 * chunks; `used` counts what was handed out, and budget_used subtracts the
 * unspent credit, so the figure shown stays exact. Credit is taken only far
 * from the cap (more than BUDGET_NEAR below it): closer, a thread gives its
 * credit back and counts every amount on `used` as before, so a single
 * thread is refused at exactly the same byte as without credit. With several
 * threads, credit a thread still holds when another reaches the cap counts as
 * used: the cap may then refuse up to (threads x 2 x BUDGET_CHUNK) bytes
 * early, never late. A thread that stops gives its credit back
 * (budget_thread_return).
 */
enum {
    BUDGET_CHUNK = 64 * 1024,        /* credit taken at a time */
    BUDGET_NEAR = 4 * BUDGET_CHUNK,  /* no credit this close to the cap */
    BUDGET_SLOTS = 16,               /* threads that may hold credit at once */
};

/* One thread's unspent credit: written by that thread only, read by budget_used. */
struct budget_slot {
    _Alignas(64) _Atomic uint64_t held;
};

struct budget {
    _Alignas(64) _Atomic uint64_t used; /* bytes counted now, unspent credit included */
    _Atomic uint64_t refused;        /* budget_reserve calls the cap refused */
    _Alignas(64) _Atomic uint64_t cap; /* 0 = no cap (budget_set_cap) */
    uint64_t id;                     /* tells this budget from an earlier one at the same address */
    _Atomic unsigned nslots;         /* slots handed out to threads so far */
    struct budget_slot slot[BUDGET_SLOTS];
};

/* Starts b empty with a cap of `cap` bytes (0 = none). Start-up, before any
 * other thread sees b. */
void budget_init(struct budget *b, uint64_t cap);

/* A new cap (0 = none) for the reservations to come; what is counted stays. Any thread. */
void budget_set_cap(struct budget *b, uint64_t cap);

/* The calling thread's credit slot on a budget (budget.c; use the functions below). */
extern _Thread_local uint64_t budget_own_id;
extern _Thread_local struct budget_slot *budget_own_slot;

/* The slow paths of the three below: new credit, the cap, no slot. Only through them. */
int budget_reserve_slow(struct budget *b, size_t n);
void budget_release_slow(struct budget *b, size_t n);
void budget_charge_slow(struct budget *b, size_t n);

/* The calling thread's slot on b, or NULL (none yet, or b had none left). */
static inline struct budget_slot *budget_slot_own(const struct budget *b)
{
    return budget_own_id == b->id ? budget_own_slot : NULL;
}

/* Spends n bytes of the calling thread's credit on b. Returns 1, or 0 when it
 * holds less (nothing spent). */
static inline int budget_credit_spend(const struct budget *b, size_t n)
{
    struct budget_slot *s = budget_slot_own(b);
    uint64_t h = s ? atomic_load_explicit(&s->held, memory_order_relaxed) : 0;
    if (!s || h < n)
        return 0;
    atomic_store_explicit(&s->held, h - n, memory_order_relaxed);
    return 1;
}

/* Counts n bytes. Returns 0, or -1 when that would pass the cap: nothing is
 * then counted but the refusal (budget_refused). Any thread. */
static inline int budget_reserve(struct budget *b, size_t n)
{
    return budget_credit_spend(b, n) ? 0 : budget_reserve_slow(b, n);
}

/* Uncounts n bytes counted before by budget_reserve or budget_charge. Any thread. */
static inline void budget_release(struct budget *b, size_t n)
{
    struct budget_slot *s = budget_slot_own(b);
    uint64_t h = s ? atomic_load_explicit(&s->held, memory_order_relaxed) + n : 0;
    if (s && h <= 2 * BUDGET_CHUNK && !atomic_load_explicit(&b->cap, memory_order_relaxed))
        atomic_store_explicit(&s->held, h, memory_order_relaxed);   /* no cap: keep it as credit */
    else
        budget_release_slow(b, n);
}

/* Counts n bytes whatever the cap (may pass it). Any thread. */
static inline void budget_charge(struct budget *b, size_t n)
{
    if (!budget_credit_spend(b, n))
        budget_charge_slow(b, n);
}

/* Gives the calling thread's unspent credit on b back to the shared counter
 * (a capture thread that stops). Harmless when it holds none. The calling thread. */
void budget_thread_return(struct budget *b);

/* Bytes counted now, unspent credit left out (a moment's reading). Any thread. */
uint64_t budget_used(const struct budget *b);

/* How many budget_reserve calls were refused so far. Any thread. */
uint64_t budget_refused(const struct budget *b);

#endif
