/* bench_pingpong.c - `make bench` item 3's machine reference: how long a cache line takes to go
 * from one core to another and back. Two threads, pinned to CPUs A and B, pass one counter back and
 * forth (each waits for the other's write, then writes), ROUNDS times a batch; prints the median
 * round trip of BATCHES batches in ns. On a virtual machine the figure moves with where the host
 * puts the two virtual CPUs: about 60 ns when they share a cache, 400-500 ns across chips (seen on
 * this project's 2-core machines). Every line that two capture threads both write crosses at that
 * price, so goal 2 (linear across cores) is read beside it. Exits 1 when a CPU cannot be taken or
 * the partner stops answering for a second. Built by `make bench-tools` (tools/bench.py runs it). */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

enum { BATCHES = 9, ROUNDS = 20000, CHECK_EVERY = 1 << 16 };

static _Alignas(64) _Atomic uint64_t ball;      /* odd: A's serve; even: B's return */
static _Alignas(64) _Atomic int failed;

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* Waits until ball == want; 0, or -1 once the other side failed or a second passed. */
static int wait_for(uint64_t want)
{
    uint64_t start = 0;
    for (unsigned spins = 1; atomic_load_explicit(&ball, memory_order_acquire) != want; spins++) {
        if (spins % CHECK_EVERY)
            continue;
        if (atomic_load_explicit(&failed, memory_order_relaxed))
            return -1;
        uint64_t t = now_ns();
        if (!start)
            start = t;
        else if (t - start > 1000000000ull) {
            atomic_store_explicit(&failed, 1, memory_order_relaxed);
            return -1;
        }
    }
    return 0;
}

static void *partner(void *arg)
{
    (void)arg;
    for (uint64_t i = 0; i < (uint64_t)BATCHES * ROUNDS; i++) {
        if (wait_for(2 * i + 1) != 0)
            return NULL;
        atomic_store_explicit(&ball, 2 * i + 2, memory_order_release);
    }
    return NULL;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int a = argc > 1 ? atoi(argv[1]) : 0, b = argc > 2 ? atoi(argv[2]) : 1;
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(a, &set);
    if (argc > 3 || pthread_setaffinity_np(pthread_self(), sizeof(set), &set) != 0) {
        fprintf(stderr, "usage: bench_pingpong [CPU_A CPU_B]  (default 0 1; CPU %d cannot be taken)\n", a);
        return 1;
    }
    pthread_attr_t attr;                 /* the partner starts on its own CPU, never behind this thread */
    pthread_attr_init(&attr);
    CPU_ZERO(&set);
    CPU_SET(b, &set);
    pthread_t t;
    if (pthread_attr_setaffinity_np(&attr, sizeof(set), &set) != 0 || pthread_create(&t, &attr, partner, NULL) != 0) {
        fprintf(stderr, "bench_pingpong: CPU %d cannot be taken\n", b);
        return 1;
    }
    pthread_attr_destroy(&attr);
    double rt[BATCHES];
    int bad = 0;
    for (uint64_t k = 0, i = 0; k < BATCHES && !bad; k++) {
        uint64_t t0 = now_ns();
        for (uint64_t r = 0; r < ROUNDS && !bad; r++, i++) {
            atomic_store_explicit(&ball, 2 * i + 1, memory_order_release);
            bad = wait_for(2 * i + 2) != 0;
        }
        rt[k] = (double)(now_ns() - t0) / ROUNDS;
    }
    if (bad)
        atomic_store_explicit(&failed, 1, memory_order_relaxed);
    pthread_join(t, NULL);
    if (bad) {
        fprintf(stderr, "bench_pingpong: CPU %d stopped answering\n", b);
        return 1;
    }
    qsort(rt, BATCHES, sizeof(rt[0]), cmp_double);
    printf("%.0f\n", rt[BATCHES / 2]);
    return 0;
}
