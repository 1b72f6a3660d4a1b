/* test_subs.c - unit tests for server/pubsub/subs.c (the subscription index); single-threaded test binary. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/pubsub/subs.h"
#include "tests/unit/check.h"

/* Clients are only compared by address here. */
static struct client *cl(uintptr_t i)
{
    return (struct client *)(i * 64 + 4096);
}

static int add(struct subs *x, enum subs_kind k, uintptr_t c, const char *name)
{
    return subs_add(x, k, cl(c), name, strlen(name));
}

static int del(struct subs *x, enum subs_kind k, uintptr_t c, const char *name)
{
    return subs_del(x, k, cl(c), name, strlen(name));
}

static size_t nsubs(const struct subs *x, enum subs_kind k, const char *name)
{
    const struct subs_name *nm = subs_find(x, k, name, strlen(name));
    return nm ? nm->subs.n : 0;
}

TEST_CASE(subs_add_del_dup)
{
    struct subs *x = subs_new();
    CHECK_INT(add(x, SUBS_CHANNEL, 1, "a"), 1);
    CHECK_INT(add(x, SUBS_CHANNEL, 1, "a"), 0);
    CHECK_INT(add(x, SUBS_CHANNEL, 2, "a"), 1);
    CHECK_INT(add(x, SUBS_PATTERN, 1, "a"), 1);      /* a pattern and a channel of one name are two */
    CHECK_INT(nsubs(x, SUBS_CHANNEL, "a"), 2);
    CHECK_INT(nsubs(x, SUBS_PATTERN, "a"), 1);
    CHECK_INT(subs_count(x, SUBS_CHANNEL), 2);
    CHECK_INT(subs_count(x, SUBS_PATTERN), 1);
    CHECK_INT(del(x, SUBS_CHANNEL, 3, "a"), 0);
    CHECK_INT(del(x, SUBS_CHANNEL, 1, "b"), 0);
    CHECK_INT(del(x, SUBS_CHANNEL, 1, "a"), 1);
    CHECK_INT(del(x, SUBS_CHANNEL, 1, "a"), 0);
    CHECK_INT(nsubs(x, SUBS_CHANNEL, "a"), 1);
    CHECK_INT(del(x, SUBS_CHANNEL, 2, "a"), 1);
    CHECK(subs_find(x, SUBS_CHANNEL, "a", 1) == NULL);   /* freed with its last subscriber */
    CHECK_INT(subs_all(x, SUBS_CHANNEL)->n, 0);
    CHECK_INT(subs_all(x, SUBS_PATTERN)->n, 1);
    CHECK_INT(subs_add(x, SUBS_CHANNEL, cl(1), "x\0y", 3), 1);  /* names are bytes */
    CHECK_INT(subs_add(x, SUBS_CHANNEL, cl(1), "x\0z", 3), 1);
    CHECK_INT(subs_add(x, SUBS_CHANNEL, cl(1), "x\0y", 3), 0);
    subs_free(x);
    CHECK_INT(subs_count(NULL, SUBS_CHANNEL), 0);       /* no index yet: empty */
    CHECK(subs_find(NULL, SUBS_CHANNEL, "a", 1) == NULL);
    CHECK_INT(subs_all(NULL, SUBS_PATTERN)->n, 0);
    CHECK_INT(subs_del(NULL, SUBS_CHANNEL, cl(1), "a", 1), 0);
    CHECK_INT(subs_probe_wanted(NULL), 0);
}

TEST_CASE(subs_probe_lists)
{
    struct subs *x = subs_new();
    CHECK_INT(subs_probe_wanted(x), 0);
    add(x, SUBS_PATTERN, 1, "flow.*");
    add(x, SUBS_PATTERN, 2, "flow.*");
    add(x, SUBS_PATTERN, 1, "*");
    add(x, SUBS_PATTERN, 1, "nomatch.*");
    add(x, SUBS_CHANNEL, 3, "dns");
    add(x, SUBS_CHANNEL, 3, "dnsx");
    CHECK_INT(subs_probe_wanted(x), (1u << EV_CHANNELS) - 1);   /* "*" matches every probe channel */
    CHECK_INT(subs_probe_patterns(x, EV_FLOW_NEW)->n, 2);      /* flow.* (two subscribers) and * */
    CHECK_INT(subs_probe_patterns(x, EV_DNS)->n, 1);
    CHECK(subs_probe_channel(x, EV_DNS) == subs_find(x, SUBS_CHANNEL, "dns", 3));
    CHECK(subs_probe_channel(x, EV_HTTP) == NULL);
    del(x, SUBS_PATTERN, 1, "*");
    CHECK_INT(subs_probe_wanted(x), 1u << EV_FLOW_NEW | 1u << EV_FLOW_END | 1u << EV_DNS);
    CHECK_INT(subs_probe_patterns(x, EV_FLOW_NEW)->n, 1);
    CHECK_INT(subs_probe_patterns(x, EV_HTTP)->n, 0);
    const struct subs_name *p = subs_probe_patterns(x, EV_FLOW_END)->v[0];
    CHECK_MEM(p->name, p->len, "flow.*", 6);
    CHECK_INT(p->subs.n, 2);
    del(x, SUBS_CHANNEL, 3, "dns");
    CHECK(subs_probe_channel(x, EV_DNS) == NULL);
    CHECK_INT(subs_probe_wanted(x), 1u << EV_FLOW_NEW | 1u << EV_FLOW_END);
    subs_free(x);
}

struct seen {
    char names[8][16];
    int n;
};

static void seen_one(void *arg, const char *name, size_t len)
{
    struct seen *s = arg;
    if (s->n < 8)
        snprintf(s->names[s->n++], sizeof(s->names[0]), "%.*s", (int)len, name);
}

TEST_CASE(subs_del_client_in_subscription_order)
{
    struct subs *x = subs_new();
    const char *order[] = { "c", "a", "e", "b", "d" };
    for (int i = 0; i < 5; i++)
        add(x, SUBS_CHANNEL, 1, order[i]);
    add(x, SUBS_CHANNEL, 2, "a");
    add(x, SUBS_PATTERN, 1, "p*");
    del(x, SUBS_CHANNEL, 1, "a");                       /* moves the last into its place */
    add(x, SUBS_CHANNEL, 1, "a");
    struct seen s = { .n = 0 };
    CHECK_INT(subs_del_client(x, SUBS_CHANNEL, cl(1), seen_one, &s), 5);
    CHECK_INT(s.n, 5);
    const char *want[] = { "c", "e", "b", "d", "a" };
    for (int i = 0; i < 5 && i < s.n; i++)
        CHECK_STR(s.names[i], want[i]);
    CHECK_INT(nsubs(x, SUBS_CHANNEL, "a"), 1);          /* client 2's stays */
    CHECK_INT(subs_count(x, SUBS_CHANNEL), 1);
    CHECK_INT(subs_count(x, SUBS_PATTERN), 1);          /* the other kind stays */
    CHECK_INT(subs_del_client(x, SUBS_CHANNEL, cl(1), NULL, NULL), 0);
    CHECK_INT(subs_del_client(x, SUBS_PATTERN, cl(1), NULL, NULL), 1);
    CHECK_INT(subs_del_client(x, SUBS_CHANNEL, cl(2), NULL, NULL), 1);
    CHECK_INT(subs_all(x, SUBS_CHANNEL)->n + subs_all(x, SUBS_PATTERN)->n, 0);
    subs_free(x);
}

/* Many clients and names, removed in a shuffled order: every count stays consistent, and the
 * work is not quadratic (200 000 subscriptions in well under a second). */
TEST_CASE(subs_many_shuffled)
{
    enum { NC = 200, NN = 1000 };
    struct subs *x = subs_new();
    char name[32];
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (uintptr_t c = 0; c < NC; c++)
        for (int i = 0; i < NN; i++) {
            snprintf(name, sizeof(name), "n.%d", i);
            if (add(x, c % 2 ? SUBS_PATTERN : SUBS_CHANNEL, c, name) != 1)
                CHECK_FAIL_("add %d %d", (int)c, i);
        }
    CHECK_INT(subs_count(x, SUBS_CHANNEL), NC / 2 * NN);
    CHECK_INT(subs_count(x, SUBS_PATTERN), NC / 2 * NN);
    CHECK_INT(subs_all(x, SUBS_CHANNEL)->n, NN);
    unsigned seed = 7;
    int removed = 0;
    for (int round = 0; round < NC * NN; round++) {
        seed = seed * 1103515245u + 12345u;
        uintptr_t c = (seed >> 8) % NC;
        int i = (int)((seed >> 4) % NN);
        snprintf(name, sizeof(name), "n.%d", i);
        removed += del(x, c % 2 ? SUBS_PATTERN : SUBS_CHANNEL, c, name);
    }
    CHECK_INT(subs_count(x, SUBS_CHANNEL) + subs_count(x, SUBS_PATTERN), NC * NN - removed);
    size_t sum = 0;
    for (int k = 0; k < SUBS_KINDS; k++)
        for (size_t j = 0; j < subs_all(x, (enum subs_kind)k)->n; j++) {
            const struct subs_name *nm = subs_all(x, (enum subs_kind)k)->v[j];
            CHECK_INT(nm->in_all, j);
            for (size_t m = 0; m < nm->subs.n; m++)
                CHECK_INT(((const struct subs_link *)nm->subs.v[m])->in_name, m);
            sum += nm->subs.n;
        }
    CHECK_INT(sum, NC * NN - removed);
    for (uintptr_t c = 0; c < NC; c++)
        subs_del_client(x, c % 2 ? SUBS_PATTERN : SUBS_CHANNEL, cl(c), NULL, NULL);
    CHECK_INT(subs_count(x, SUBS_CHANNEL) + subs_count(x, SUBS_PATTERN), 0);
    CHECK_INT(subs_all(x, SUBS_CHANNEL)->n + subs_all(x, SUBS_PATTERN)->n, 0);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    double s = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (s > 5.0)                                         /* sanitizer builds included */
        CHECK_FAIL_("took %.2f s", s);
    subs_free(x);
}

int main(void)
{
    RUN(subs_add_del_dup);
    RUN(subs_probe_lists);
    RUN(subs_del_client_in_subscription_order);
    RUN(subs_many_shuffled);
    return CHECK_DONE("test_subs");
}
