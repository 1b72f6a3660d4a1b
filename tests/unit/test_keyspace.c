/* test_keyspace.c - server/views/keyspace.c: KEYS and SCAN over a cache filled by hand (families, cursors, churn). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/cache/names.h"
#include "check.h"
#include "server/views/keyspace.h"

/* The keys one KEYS or SCAN call gave, and how many of them started with "flow.". */
struct got {
    char **v;
    size_t n, cap;
};

static void got_cb(void *arg, const char *key, size_t len)
{
    struct got *g = arg;
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 256;
        g->v = realloc(g->v, g->cap * sizeof(*g->v));
    }
    g->v[g->n] = malloc(len + 1);
    memcpy(g->v[g->n], key, len);
    g->v[g->n++][len] = '\0';
}

static void got_free(struct got *g)
{
    for (size_t i = 0; i < g->n; i++)
        free(g->v[i]);
    free(g->v);
    memset(g, 0, sizeof(*g));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted, without repeats (a scan may return a key twice). */
static void got_unique(struct got *g)
{
    size_t k = 0;
    if (g->n == 0)
        return;                      /* g->v may be NULL: qsort wants an array */
    qsort(g->v, g->n, sizeof(*g->v), cmp_str);
    for (size_t i = 0; i < g->n; i++) {
        if (k && strcmp(g->v[k - 1], g->v[i]) == 0)
            free(g->v[i]);
        else
            g->v[k++] = g->v[i];
    }
    g->n = k;
}

static struct cache *test_cache(uint64_t max_flows)
{
    struct cache_config cfg = { .flow_idle_us = 30000000, .flow_lifetime_us = 120000000,
                                .host_idle_us = 300000000, .tcp_close_grace_us = 1000000,
                                .max_flows = max_flows };
    struct cache *c = cache_create(&cfg);
    CHECK(c != NULL);
    return c;
}

/* Puts e (its hash set) into its shard of table tab, as capture does. */
static void entry_insert(struct cache_shard *tab, struct centry *e)
{
    struct cache_shard *s = cache_shard_for(tab, e->hash);
    lock_acquire(&s->lock);
    shard_insert(s, e);
    lock_release(&s->lock);
}

/* Flow i: udp 10.<i/60000>.0.1:<1024 + i % 60000> -> 10.0.0.2:53. */
static struct flow *flow_add(struct cache *c, uint32_t i)
{
    char name[FLOW_KEY_NAME_MAX];
    struct flow *f = pool_alloc(&c->flow_pool);
    if (!f)
        return NULL;
    int n = snprintf(name, sizeof(name), "flow.udp.10.%u.0.1:%u-10.0.0.2:53", i / 60000, 1024 + i % 60000);
    CHECK(flow_key_parse(name, (size_t)n, &f->key) == 0);
    f->link.hash = flow_key_hash(&f->key);
    entry_insert(c->flows, &f->link);
    return f;
}

static void flow_del(struct cache *c, struct flow *f)
{
    struct cache_shard *s = cache_shard_for(c->flows, f->link.hash);
    lock_acquire(&s->lock);
    shard_unlink(s, &f->link, 0);
    lock_release(&s->lock);
    pool_free(&c->flow_pool, f);
}

static void host_add(struct cache *c, uint8_t a, uint8_t b)
{
    struct host *h = pool_alloc(&c->host_pool);
    if (!h)
        return;
    h->ipver = 4;
    h->addr[0] = 10, h->addr[1] = a, h->addr[2] = b, h->addr[3] = 9;
    h->link.hash = host_key_hash(4, h->addr);
    entry_insert(c->hosts, &h->link);
}

static void name_add(struct cache *c, enum name_kind k, const char *name)
{
    uint64_t h = name_hash(k, name, strlen(name));
    struct cache_shard *s = cache_shard_for(c->names, h);
    lock_acquire(&s->lock);
    CHECK(names_find(c, s, h, k, name, strlen(name), 1, 0, NULL) != NULL);
    lock_release(&s->lock);
}

/* A cache with flows, hosts, names of each kind and two VLANs. */
static struct cache *mixed_cache(uint64_t max_flows, uint32_t nflows, uint32_t ndns)
{
    struct cache *c = test_cache(max_flows);
    char name[64];
    if (!c)
        return NULL;
    for (uint32_t i = 0; i < nflows; i++)
        flow_add(c, i);
    for (unsigned i = 0; i < 50; i++)
        host_add(c, (uint8_t)(i / 10), (uint8_t)i);
    for (uint32_t i = 0; i < ndns; i++) {
        snprintf(name, sizeof(name), "host%u.example.com", i);
        name_add(c, NK_DNS, name);
    }
    name_add(c, NK_HTTP, "www.example.com");
    name_add(c, NK_HTTP, "api.example.com");
    name_add(c, NK_TLS, "mail.example.com");
    for (unsigned i = 0; i < 5; i++) {
        snprintf(name, sizeof(name), "alice%u", i);
        name_add(c, NK_USER, name);
        snprintf(name, sizeof(name), "10.9.0.%u", i);
        name_add(c, NK_IPUSER, name);
    }
    c->vlan[0].pkts = c->vlan[42].pkts = 1;
    c->vlan[0].flows_active = c->vlan[42].flows_active = 1;
    return c;
}

/* SCANs from cursor 0 to the end; returns the number of calls (0 when over `limit`). */
static unsigned scan_all(struct cache *c, const char *pat, uint64_t count, enum kv_type type, struct got *g,
                         unsigned limit)
{
    uint64_t cur = 0;
    unsigned calls = 0;
    do {
        cur = keyspace_scan(c, cur, count, pat, pat ? strlen(pat) : 0, type, got_cb, g);
        if (++calls > limit)
            return 0;
    } while (cur != 0);
    return calls;
}

static void keys_of(struct cache *c, const char *pat, struct got *g)
{
    keyspace_keys(c, pat, strlen(pat), got_cb, g);
}

static const struct { const char *pat; size_t n; } family_cases[] = {
    { "dns.*", 0 }, { "http.*", 2 }, { "tls.*", 1 }, { "user.*", 5 }, { "ipuser.*", 5 },
    { "vlan.*", 2 }, { "proto.*", 0 }, { "ip.*", 50 }, { "flow.*", 0 }, { "mac.*", 0 },
};

/* Every family pattern ends in one call at COUNT 10, with what KEYS returns, at
 * a small and a large max-flows. */
static void check_families(uint64_t max_flows)
{
    enum { NFLOWS = 2000, NDNS = 3000 };
    struct cache *c = mixed_cache(max_flows, NFLOWS, NDNS);
    if (!c)
        return;
    for (size_t i = 0; i < sizeof(family_cases) / sizeof(family_cases[0]); i++) {
        const char *pat = family_cases[i].pat;
        size_t want = !strcmp(pat, "dns.*") ? NDNS : !strcmp(pat, "flow.*") ? NFLOWS : family_cases[i].n;
        struct got s = { 0 }, k = { 0 };
        unsigned calls = scan_all(c, pat, 10, KV_NONE, &s, 1000);
        keys_of(c, pat, &k);
        if (calls != 1)
            fprintf(stderr, "  %s at max-flows %llu: %u calls\n", pat, (unsigned long long)max_flows, calls);
        CHECK(calls == 1);
        CHECK_INT(s.n, want);
        CHECK_INT(k.n, want);
        got_unique(&s);
        got_unique(&k);
        CHECK_INT(s.n, k.n);
        for (size_t j = 0; j < s.n && j < k.n; j++)
            CHECK_STR(s.v[j], k.v[j]);
        got_free(&s);
        got_free(&k);
    }
    cache_destroy(c);
}

TEST_CASE(family_scan_ends_in_one_call_small_table)
{
    check_families(1000);
}

TEST_CASE(family_scan_ends_in_one_call_large_table)
{
    check_families(4u << 20);
}

TEST_CASE(type_filter_keeps_the_families_of_that_type)
{
    struct cache *c = mixed_cache(100000, 500, 100);
    if (!c)
        return;
    struct got s = { 0 };
    CHECK_INT(scan_all(c, NULL, 10, KV_STRING, &s, 10), 1);
    CHECK_INT(s.n, 5);
    for (size_t i = 0; i < s.n; i++)
        CHECK(strncmp(s.v[i], "ipuser.", 7) == 0);
    got_free(&s);
    CHECK_INT(scan_all(c, NULL, 10, KV_SET, &s, 10), 1);
    CHECK_INT(s.n, 0);
    got_free(&s);
    cache_destroy(c);
}

TEST_CASE(a_rare_name_kind_is_found_among_many_others)
{
    struct cache *c = mixed_cache(1000000, 0, 20000);      /* ~310 names a shard: bucket walks */
    if (!c)
        return;
    struct got s = { 0 };
    CHECK_INT(scan_all(c, "http.*", 10, KV_NONE, &s, 10), 1);
    CHECK_INT(s.n, 2);
    got_free(&s);
    CHECK(scan_all(c, "dns.*", 10, KV_NONE, &s, 10) <= 10);
    got_unique(&s);
    CHECK_INT(s.n, 20000);
    got_free(&s);
    /* Names swept away leave no count behind: the kinds are empty again. */
    names_sweep(c, UINT64_MAX / 2, 1);
    uint64_t left = 0;
    for (unsigned sh = 0; sh < CACHE_SHARDS; sh++)
        for (unsigned k = 0; k < NK_KINDS; k++)
            left += k == NK_USER || k == NK_IPUSER ? 0 : c->name_kinds[sh][k];
    CHECK_INT(left, 0);
    keys_of(c, "dns.*", &s);
    CHECK_INT(s.n, 0);
    got_free(&s);
    cache_destroy(c);
}

/*
 * Redis' guarantee while keys come and go between calls: a key present for
 * the whole scan is returned at least once, and the scan ends. The shards
 * start above the size walked through their lists (bucket steps, cursors in
 * the middle of a shard) and fall below it half-way (list walks resuming at a
 * bucket).
 */
static void check_churn(const char *pat, uint64_t count)
{
    enum { STABLE = 6000, CHURN = 16000, ADDED = 100 };
    struct cache *c = test_cache(20000);
    if (!c)
        return;
    static struct flow *churn[CHURN];
    for (uint32_t i = 0; i < STABLE; i++)
        flow_add(c, i);
    for (uint32_t i = 0; i < CHURN; i++)
        churn[i] = flow_add(c, STABLE + i);
    uint32_t next_new = STABLE + CHURN, ndel = 0;
    struct got s = { 0 };
    uint64_t cur = 0;
    unsigned calls = 0;
    do {
        cur = keyspace_scan(c, cur, count, pat, pat ? strlen(pat) : 0, KV_NONE, got_cb, &s);
        calls++;
        for (unsigned d = 0; d < 400 && ndel < CHURN; d++)
            flow_del(c, churn[ndel++]);
        for (unsigned a = 0; a < ADDED; a++)
            flow_add(c, next_new++);
    } while (cur != 0 && calls < 100000);
    CHECK(cur == 0);
    got_unique(&s);
    static char seen[STABLE];
    memset(seen, 0, sizeof(seen));
    for (size_t i = 0; i < s.n; i++) {
        struct flow_key k;
        if (flow_key_parse(s.v[i], strlen(s.v[i]), &k) == 0 && k.cli[1] == 0 && k.cport >= 1024 &&
            k.cport < 1024 + STABLE)
            seen[k.cport - 1024] = 1;
    }
    unsigned missed = 0;
    for (unsigned i = 0; i < STABLE; i++)
        missed += !seen[i];
    CHECK_INT(missed, 0);
    got_free(&s);
    cache_destroy(c);
}

TEST_CASE(scan_returns_every_lasting_key_while_others_come_and_go)
{
    check_churn(NULL, 10);
}

TEST_CASE(scan_match_returns_every_lasting_key_while_others_come_and_go)
{
    check_churn("flow.udp.*", 10);
}

TEST_CASE(any_cursor_ends)
{
    struct cache *c = mixed_cache(100000, 300, 100);
    if (!c)
        return;
    const uint64_t cursors[] = { UINT64_MAX, (uint64_t)15 << 56, ((uint64_t)200 << 48) | 5, 0xffffffffffffULL,
                                 ((uint64_t)5 << 56) | ((uint64_t)63 << 48) | 0xffffffffffULL };
    for (size_t i = 0; i < sizeof(cursors) / sizeof(cursors[0]); i++) {
        struct got s = { 0 };
        uint64_t cur = cursors[i];
        unsigned calls = 0;
        do
            cur = keyspace_scan(c, cur, 10, NULL, 0, KV_NONE, got_cb, &s);
        while (cur != 0 && ++calls < 10000);
        CHECK(cur == 0);
        got_free(&s);
    }
    cache_destroy(c);
}

TEST_CASE(count_without_match_bounds_the_page)
{
    struct cache *c = mixed_cache(1000, 3000, 0);           /* ~47 flows a shard: list walks */
    if (!c)
        return;
    struct got s = { 0 };
    uint64_t cur = keyspace_scan(c, 0, 10, NULL, 0, KV_NONE, got_cb, &s);
    CHECK(cur != 0);
    CHECK(s.n >= 10 && s.n <= 10 + 256);
    got_free(&s);
    cache_destroy(c);
}

/* DBSIZE counts what KEYS * lists, expired entries the sweeper has not freed yet left out. */
TEST_CASE(size_counts_what_keys_lists)
{
    struct cache *c = mixed_cache(100000, 3000, 500);
    if (!c)
        return;
    struct got k = { 0 };
    uint64_t expires = 0;
    for (int pass = 0; pass < 2; pass++) {
        keys_of(c, "*", &k);
        CHECK_INT(keyspace_size(c, &expires), k.n);
        CHECK_INT(expires, k.n);
        CHECK_INT(k.n, pass ? 500 + 2 + 1 + 5 + 5 + 2 + 50 : 3000 + 500 + 2 + 1 + 5 + 5 + 2 + 50);
        got_free(&k);
        cache_clock_advance(c, 40000000);    /* past the flows' 30 s idle timeout, not the rest's */
    }
    cache_destroy(c);
}

int main(void)
{
    RUN(family_scan_ends_in_one_call_small_table);
    RUN(family_scan_ends_in_one_call_large_table);
    RUN(type_filter_keeps_the_families_of_that_type);
    RUN(a_rare_name_kind_is_found_among_many_others);
    RUN(scan_returns_every_lasting_key_while_others_come_and_go);
    RUN(scan_match_returns_every_lasting_key_while_others_come_and_go);
    RUN(any_cursor_ends);
    RUN(count_without_match_bounds_the_page);
    RUN(size_counts_what_keys_lists);
    return CHECK_DONE("keyspace");
}
