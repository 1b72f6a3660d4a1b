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
 */
struct budget {
    _Atomic uint64_t used;           /* bytes counted now */
    _Atomic uint64_t refused;        /* budget_reserve calls the cap refused */
    _Atomic uint64_t cap;            /* 0 = no cap (budget_set_cap) */
};

/* Starts b empty with a cap of `cap` bytes (0 = none). Start-up, before any
 * other thread sees b. */
void budget_init(struct budget *b, uint64_t cap);

/* A new cap (0 = none) for the reservations to come; what is counted stays. Any thread. */
void budget_set_cap(struct budget *b, uint64_t cap);

/* Counts n bytes. Returns 0, or -1 when that would pass the cap: nothing is
 * then counted but the refusal (budget_refused). Any thread. */
int budget_reserve(struct budget *b, size_t n);

/* Uncounts n bytes counted before by budget_reserve or budget_charge. Any thread. */
void budget_release(struct budget *b, size_t n);

/* Counts n bytes whatever the cap (may pass it). Any thread. */
void budget_charge(struct budget *b, size_t n);

/* Bytes counted now (a moment's reading). Any thread. */
uint64_t budget_used(const struct budget *b);

/* How many budget_reserve calls were refused so far. Any thread. */
uint64_t budget_refused(const struct budget *b);

#endif
