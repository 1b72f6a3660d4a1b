/* test_cache.c - capture/cache/cache.c: tenants of flows freed through the hooks at cache_destroy,
 * room for flows under max_flows;
 * names.c: users learnt from the cloud and their logouts, a flow's user as of its end, name entries
 * in the smallest name pool that holds them; the pools' spare chunks as INFO counts them;
 * watchlist.c: the list made the cloud's set. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/cache.h"
#include "capture/cache/names.h"
#include "capture/cache/watchlist.h"
#include "check.h"

struct seen {
    int calls;
    uint64_t port_sum;               /* each flow once: the sum of their ports */
};

static void count_release(struct flow *f, void *arg)
{
    struct seen *s = arg;
    s->calls++;
    s->port_sum += f->key.cport;
    free(f->ext);
    f->ext = NULL;
}

/* A cache whose flow hook counts into *seen (NULL: no hooks). */
static struct cache *test_cache(struct seen *seen)
{
    struct cache_config cfg = { .flow_idle_us = 30000000, .flow_lifetime_us = 120000000,
                                .host_idle_us = 300000000, .max_flows = 1000 };
    struct cache *c = cache_create(&cfg);
    if (c && seen) {
        struct cache_hooks h = { .flow_release = count_release, .arg = seen };
        cache_hooks_set(c, &h);
    }
    CHECK(c != NULL);
    return c;
}

/* Adds a flow 10.0.0.1:port -> 10.0.0.2:80 with a tenant (a heap block the
 * hook must free: a leak shows under AddressSanitizer). */
static struct flow *flow_add(struct cache *c, uint16_t port)
{
    struct flow *f = pool_alloc(&c->flow_pool);
    if (!f)
        return NULL;
    f->key.ipver = 4;
    f->key.l4proto = 6;
    f->key.cli[0] = 10, f->key.cli[3] = 1;
    f->key.srv[0] = 10, f->key.srv[3] = 2;
    f->key.cport = port;
    f->key.sport = 80;
    f->ext = malloc(16);             /* stands for dissector fields */
    f->link.hash = flow_key_hash(&f->key);
    struct cache_shard *s = cache_shard_for(c->flows, f->link.hash);
    lock_acquire(&s->lock);
    shard_insert(s, &f->link);
    lock_release(&s->lock);
    return f;
}

TEST_CASE(destroy_calls_the_hook_once_per_live_flow)
{
    struct seen seen = { 0, 0 };
    struct cache *c = test_cache(&seen);
    if (!c)
        return;
    enum { N = 300 };
    uint64_t want = 0;
    for (uint16_t i = 0; i < N; i++) {
        CHECK(flow_add(c, (uint16_t)(1024 + i)) != NULL);
        want += 1024u + i;
    }
    cache_destroy(c);
    CHECK_INT(seen.calls, N);
    CHECK_INT(seen.port_sum, want);
}

TEST_CASE(destroy_of_an_empty_cache_calls_no_hook)
{
    struct seen seen = { 0, 0 };
    struct cache *c = test_cache(&seen);
    if (!c)
        return;
    cache_destroy(c);
    CHECK_INT(seen.calls, 0);
}

TEST_CASE(destroy_without_hooks_frees_the_flows)
{
    struct cache *c = test_cache(NULL);
    if (!c)
        return;
    struct flow *f = flow_add(c, 5000);
    CHECK(f != NULL);
    if (f) {
        free(f->ext);                /* no hook: nothing may hang on it */
        f->ext = NULL;
    }
    cache_destroy(c);
}

/* With n capture threads, the flows of lane i (lane hash modulo n) live in shards of their own
 * when n is a power of two (shard modulo n = i), share shards between n / 2^k lanes otherwise;
 * one thread keeps the plain flow hash. Every reader finds them by the key alone. */
TEST_CASE(flow_shards_follow_the_lanes)
{
    static const struct { uint32_t lanes, mask; } t[] = {
        { 0, 0 }, { 1, 0 }, { 2, 1 }, { 3, 0 }, { 4, 3 }, { 6, 1 }, { 8, 7 }, { 12, 3 }, { 64, 63 },
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        struct cache_config cfg = { .flow_idle_us = 30000000, .flow_lifetime_us = 120000000,
                                    .host_idle_us = 300000000, .max_flows = 1000, .lanes = t[i].lanes };
        struct cache *c = cache_create(&cfg);
        CHECK(c != NULL);
        if (!c)
            return;
        CHECK_INT(c->flow_lane_mask, t[i].mask);
        uint32_t seen = 0;           /* the lanes of 2 threads met in the shards below */
        for (uint32_t n = 0; n < 500; n++) {
            struct flow_key k = { .ipver = 4, .l4proto = 17, .cport = (uint16_t)(1024 + n % 7), .sport = 53 };
            k.cli[0] = 10, k.cli[2] = (uint8_t)(n >> 8), k.cli[3] = (uint8_t)n;
            k.srv[0] = 192, k.srv[3] = (uint8_t)(n % 3);
            uint64_t h = cache_flow_hash(c, &k), lane = flow_key_lane_hash(&k);
            CHECK_INT(h & ~t[i].mask, flow_key_hash(&k) & ~t[i].mask);
            CHECK_INT(h & t[i].mask, lane & t[i].mask);
            if (t[i].lanes == 2 && (uint32_t)(cache_shard_for(c->flows, h) - c->flows) % 2 == lane % 2)
                seen |= 1u << (lane % 2);
        }
        if (t[i].lanes == 2)
            CHECK_INT(seen, 3);
        cache_destroy(c);
    }
}

/* A flow kept by cache_flow_hash is found by its key (cache_flow_visit: GET, HGETALL, TTL). */
static void count_visit(const struct flow *f, void *arg)
{
    (void)f;
    ++*(int *)arg;
}

TEST_CASE(flow_visit_finds_a_flow_of_a_lane_shard)
{
    struct cache_config cfg = { .flow_idle_us = 30000000, .flow_lifetime_us = 120000000,
                                .host_idle_us = 300000000, .max_flows = 1000, .lanes = 4 };
    struct cache *c = cache_create(&cfg);
    CHECK(c != NULL);
    if (!c)
        return;
    struct flow *f = pool_alloc(&c->flow_pool);
    CHECK(f != NULL);
    if (!f) {
        cache_destroy(c);
        return;
    }
    f->key = (struct flow_key){ .ipver = 6, .l4proto = 6, .cport = 40000, .sport = 443 };
    f->key.cli[0] = 0x20, f->key.cli[15] = 1;
    f->key.srv[0] = 0x20, f->key.srv[15] = 2;
    f->link.hash = cache_flow_hash(c, &f->key);
    struct cache_shard *s = cache_shard_for(c->flows, f->link.hash);
    lock_acquire(&s->lock);
    shard_insert(s, &f->link);
    lock_release(&s->lock);
    int found = 0;
    CHECK_INT(cache_flow_visit(c, &f->key, count_visit, &found), 0);
    CHECK_INT(found, 1);
    struct flow_key other = f->key;
    other.sport = 80;
    CHECK_INT(cache_flow_visit(c, &other, count_visit, &found), -1);
    cache_destroy(c);
}

/* A user learnt from the cloud labels flows that started before his logout, not those after it; the
 * mapping ends a grace after the logout, and only the named user's logout counts. */
TEST_CASE(learnt_user_and_logout)
{
    struct cache *c = test_cache(NULL);
    if (!c)
        return;
    const uint8_t a[4] = { 10, 0, 0, 7 };
    char u[NAME_USER_MAX];
    uint64_t t0 = 1700000000000000ULL;
    cache_clock_advance(c, t0);
    CHECK_INT(names_user_of(c, 4, a, 0, u, sizeof(u)), -1);
    CHECK_INT(names_ipuser_learn(c, "10.0.0.7", "alice", 60000000), 0);
    CHECK_INT(names_user_of(c, 4, a, t0 + 1, u, sizeof(u)), 0);
    CHECK_STR(u, "alice");
    CHECK_INT(names_ipuser_logout(c, "10.0.0.7", "bob", t0 + 5000000, 300000000), 0);   /* not his */
    CHECK_INT(names_ipuser_logout(c, "10.0.0.7", "alice", t0 + 5000000, 300000000), 1);
    CHECK_INT(names_user_of(c, 4, a, t0 + 1, u, sizeof(u)), 0);            /* an older flow keeps her */
    CHECK_INT(names_user_of(c, 4, a, t0 + 6000000, u, sizeof(u)), -1);     /* a newer one does not */
    CHECK_INT(names_user_of(c, 4, a, 0, u, sizeof(u)), 0);                 /* the host: through the grace */
    cache_clock_advance(c, t0 + 5000000 + 300000001);
    CHECK_INT(names_user_of(c, 4, a, t0 + 1, u, sizeof(u)), -1);           /* the grace is over */
    CHECK_INT(names_ipuser_learn(c, "10.0.0.7", "carol", 60000000), 0);    /* a new mapping starts clean */
    CHECK_INT(names_user_of(c, 4, a, t0 + 400000000, u, sizeof(u)), 0);
    CHECK_STR(u, "carol");
    cache_destroy(c);
}

/* The answers for address a as of packet time at (0: now) without a memo and through memo m: they
 * must agree; returns the answer. */
static int user_at(struct cache *c, struct names_user_memo *m, const uint8_t *a, uint64_t since, uint64_t at,
                   char *u)
{
    char t[NAME_USER_MAX] = "";
    int rc = names_user_of_memo(c, NULL, 4, a, since, at, t, sizeof(t));
    if (!at)
        CHECK_INT(names_user_of(c, 4, a, since, t, sizeof(t)), rc);
    CHECK_INT(names_user_of_memo(c, m, 4, a, since, at, u, NAME_USER_MAX), rc);
    if (rc == 0)
        CHECK_STR(u, t);
    return rc;
}

static int user_both(struct cache *c, struct names_user_memo *m, const uint8_t *a, uint64_t since, char *u)
{
    return user_at(c, m, a, since, 0, u);
}

/* A capture thread's memo gives the table's answer after each change: learn, logout, a new
 * mapping, a name too long to keep, the sweep freeing the entry; asked twice each time (the second
 * answer comes from the memo). */
TEST_CASE(user_memo_follows_the_table)
{
    struct cache *c = test_cache(NULL);
    struct names_user_memo *m = names_user_memo_new();
    if (!c || !m)
        goto out;
    const uint8_t a[4] = { 10, 0, 0, 9 }, b[4] = { 10, 0, 0, 10 };
    char u[NAME_USER_MAX];
    uint64_t t0 = 1700000000000000ULL;
    cache_clock_advance(c, t0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_both(c, m, a, 0, u), -1);
        CHECK_INT(user_both(c, m, b, 0, u), -1);
    }
    CHECK_INT(names_ipuser_learn(c, "10.0.0.9", "alice", 60000000), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_both(c, m, a, t0 + 1, u), 0);
        CHECK_STR(u, "alice");
        CHECK_INT(user_both(c, m, b, t0 + 1, u), -1);
    }
    CHECK_INT(names_ipuser_logout(c, "10.0.0.9", "alice", t0 + 5000000, 300000000), 1);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_both(c, m, a, t0 + 1, u), 0);
        CHECK_INT(user_both(c, m, a, t0 + 6000000, u), -1);
        CHECK_INT(user_both(c, m, a, 0, u), 0);
    }
    cache_clock_advance(c, t0 + 5000000 + 300000001);
    CHECK_INT(user_both(c, m, a, t0 + 1, u), -1);                      /* the grace is over */
    names_sweep(c, cache_now(c), 1);                                   /* and the entry is gone */
    CHECK_INT(user_both(c, m, a, 0, u), -1);
    const char *lng = "a.user.name.longer.than.a.memo.keeps";
    CHECK_INT(names_ipuser_learn(c, "10.0.0.9", lng, 60000000), 0);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_both(c, m, a, 0, u), 0);
        CHECK_STR(u, lng);
    }
    cache_clock_advance(c, t0 + 5000000 + 300000001 + 60000000);       /* the learnt mapping ends */
    CHECK_INT(user_both(c, m, a, 0, u), -1);
out:
    names_user_memo_free(m);
    cache_destroy(c);
}

/* An ipuser mapping as a RADIUS login leaves it (capture/flow/worker_app.c): user since login_us, the
 * mapping it replaced in prev. */
static void ipuser_set(struct cache *c, const char *addr, const char *user, uint64_t login_us,
                       const struct ipuser_prev *prev)
{
    size_t n = strlen(addr);
    uint64_t h = name_hash(NK_IPUSER, addr, n);
    struct cache_shard *s = cache_shard_for(c->names, h);
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(c, s, h, NK_IPUSER, addr, n, 1, login_us, NULL);
    CHECK(e != NULL);
    if (e) {
        snprintf(e->u.ipuser.user, sizeof(e->u.ipuser.user), "%s", user);
        e->u.ipuser.login_us = login_us;
        e->u.ipuser.prev = *prev;
    }
    lock_release(&s->lock);
}

/* As of a packet time before the current mapping's login (a flow another worker ends late), the
 * answer is the mapping it replaced, within that one's own login, logout and deletion; at the
 * login's own time the login has not happened yet. The memo gives the same answers, asked twice. */
TEST_CASE(user_as_of_a_packet_time)
{
    struct cache *c = test_cache(NULL);
    struct names_user_memo *m = names_user_memo_new();
    if (!c || !m)
        goto out;
    const uint8_t a[4] = { 10, 0, 0, 11 };
    char u[NAME_USER_MAX];
    uint64_t s = 1000000, t0 = 1700000000000000ULL;
    cache_clock_advance(c, t0 + 20 * s);
    struct ipuser_prev alice = { t0, 0, 0, "alice" };
    ipuser_set(c, "10.0.0.11", "bob", t0 + 10 * s, &alice);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 5 * s, u), 0);
        CHECK_STR(u, "alice");
        CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 10 * s, u), 0);     /* bob's login is not before it */
        CHECK_STR(u, "alice");
        CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 10 * s + 1, u), 0);
        CHECK_STR(u, "bob");
        CHECK_INT(user_at(c, m, a, t0 + 1, 0, u), 0);               /* now: the table as it stands */
        CHECK_STR(u, "bob");
        CHECK_INT(user_at(c, m, a, 1, t0, u), -1);                  /* before alice's login too */
    }
    struct ipuser_prev gone = { t0, t0 + 3 * s, t0 + 6 * s, "alice" };   /* logged out, deleted 3 s later */
    ipuser_set(c, "10.0.0.11", "bob", t0 + 10 * s, &gone);
    for (int i = 0; i < 2; i++) {
        CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 5 * s, u), 0);      /* began before her logout */
        CHECK_STR(u, "alice");
        CHECK_INT(user_at(c, m, a, t0 + 4 * s, t0 + 5 * s, u), -1); /* began after it */
        CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 7 * s, u), -1);     /* ended after her mapping's end */
        CHECK_INT(user_at(c, m, a, t0 + 4 * s, t0 + 11 * s, u), 0);
        CHECK_STR(u, "bob");
    }
    struct ipuser_prev none = { 0, 0, 0, "" };
    ipuser_set(c, "10.0.0.11", "carol", t0 + 12 * s, &none);        /* nothing known before carol */
    CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 11 * s, u), -1);
    CHECK_INT(user_at(c, m, a, t0 + 1, t0 + 13 * s, u), 0);
    CHECK_STR(u, "carol");
out:
    names_user_memo_free(m);
    cache_destroy(c);
}

static void join_text(void *arg, const char *text)
{
    strcat(arg, text);
    strcat(arg, " ");
}

/* watchlist_replace: the members that parse (canonical, once each), how many came or went. */
TEST_CASE(watchlist_becomes_the_cloud_set)
{
    struct watchlist wl;
    char err[128], got[256] = "";
    const uint8_t in[4] = { 10, 1, 2, 3 }, out[4] = { 10, 9, 0, 1 };
    char m[WATCH_TEXT_MAX];
    CHECK_INT(watchlist_init(&wl, NULL), 0);
    const char *set = "10.1.0.0/16\nnot-an-address\n192.0.2.7\n10.1.0.0/16";
    CHECK_INT(watchlist_replace(&wl, set, strlen(set), err, sizeof(err)), 2);
    CHECK_INT(watchlist_replace(&wl, set, strlen(set), err, sizeof(err)), 0);     /* already that */
    CHECK_INT(watchlist_match(&wl, 4, in, m), 1);
    CHECK_STR(m, "10.1.0.0/16");
    CHECK_INT(watchlist_match(&wl, 4, out, m), 0);
    CHECK_INT(watchlist_replace(&wl, "192.0.2.7", 9, err, sizeof(err)), 1);       /* the /16 went */
    watchlist_each(&wl, join_text, got);
    CHECK_STR(got, "192.0.2.7 ");
    CHECK_INT(watchlist_replace(&wl, "", 0, err, sizeof(err)), 1);
    CHECK_INT((int)watchlist_size(&wl), 0);
    watchlist_destroy(&wl);
}

/* A name entry takes the smallest name pool that holds it, and goes back to it when it expires;
 * entries still there at cache_destroy go back too (a leak would show under AddressSanitizer). */
TEST_CASE(names_take_the_smallest_pool_that_holds_them)
{
    struct cache *c = test_cache(NULL);
    if (!c)
        return;
    static const uint32_t slot[CACHE_NAME_POOLS] = CACHE_NAME_SLOTS;
    for (int i = 0; i < CACHE_NAME_POOLS; i++) {
        CHECK(cache_name_pool(c, slot[i]) == &c->name_pool[i]);
        CHECK(cache_name_pool(c, (i ? slot[i - 1] : 0) + 1) == &c->name_pool[i]);
    }
    CHECK(cache_name_pool(c, CACHE_NAME_SLOT_MAX + 1) == NULL);
    /* names of 31, 32, 63, 64, 159, 160 and 1023 bytes: pools 0, 1, 1, 2, 2, 3, 3 */
    static const size_t lens[] = { 31, 32, 63, 64, 159, 160, NAME_MAX_LEN };
    static const int pool_of[] = { 0, 1, 1, 2, 2, 3, 3 };
    uint64_t want[CACHE_NAME_POOLS] = { 0 };
    char name[NAME_MAX_LEN + 1];
    for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
        size_t n = lens[i];
        memset(name, 'a' + (int)i, n);
        uint64_t h = name_hash(NK_DNS, name, n);
        struct cache_shard *s = cache_shard_for(c->names, h);
        lock_acquire(&s->lock);
        struct name_entry *e = names_find(c, s, h, NK_DNS, name, n, 1, 1000000, NULL);
        CHECK(e != NULL && e->len == n && memcmp(e->name, name, n) == 0 && e->name[n] == 0);
        lock_release(&s->lock);
        want[pool_of[i]]++;
    }
    for (int i = 0; i < CACHE_NAME_POOLS; i++)
        CHECK_INT(pool_live(&c->name_pool[i]), want[i]);
    /* host-idle (300 s) after their last use they are swept back to their pools */
    names_sweep(c, 1000000 + 301000000ULL, 1);
    for (int i = 0; i < CACHE_NAME_POOLS; i++)
        CHECK_INT(pool_live(&c->name_pool[i]), 0);
    memset(name, 'z', 40);
    uint64_t h = name_hash(NK_HTTP, name, 40);
    struct cache_shard *s = cache_shard_for(c->names, h);
    lock_acquire(&s->lock);
    CHECK(names_find(c, s, h, NK_HTTP, name, 40, 1, 2000000, NULL) != NULL);
    lock_release(&s->lock);
    CHECK_INT(pool_live(&c->name_pool[1]), 1);
    cache_destroy(c);
}

/* INFO cache_pool_spare: the empty chunks the pools keep resident, outside cache_memory, until
 * cache_memory_trim has seen them unused POOL_SPARE_TICKS times (none under ASan: no chunks). */
TEST_CASE(pool_spares_are_counted_until_trimmed)
{
    struct cache *c = test_cache(NULL);
    if (!c)
        return;
    CHECK_INT(cache_pool_spare_bytes(c), 0);
    enum { N = 2000 };               /* several chunks of flows */
    static struct flow *f[N];
    int got = 0;
    for (int i = 0; i < N; i++)
        got += (f[i] = pool_alloc(&c->flow_pool)) != NULL;
    CHECK_INT(got, N);
    uint64_t chunks = pool_chunks(&c->flow_pool);
    for (int i = 0; i < N; i++)
        pool_free(&c->flow_pool, f[i]);
#if defined(__SANITIZE_ADDRESS__)
    (void)chunks;                    /* plain calloc: no chunks, no spares */
    CHECK_INT(cache_pool_spare_bytes(c), 0);
#else
    CHECK(chunks >= 3);
    /* every chunk but the one kept for the next flow waits as a spare */
    CHECK_INT(cache_pool_spare_bytes(c), (chunks - 1) * POOL_CHUNK);
    CHECK_INT(cache_pool_spare_bytes(c), pool_spare(&c->flow_pool) * POOL_CHUNK);
    for (unsigned t = 1; t < POOL_SPARE_TICKS; t++)
        CHECK_INT(cache_memory_trim(c), 0);    /* not yet: a spare waits POOL_SPARE_TICKS calls */
    CHECK_INT(cache_pool_spare_bytes(c), (chunks - 1) * POOL_CHUNK);
    CHECK_INT(cache_memory_trim(c), chunks - 1);
    CHECK_INT(cache_pool_spare_bytes(c), 0);
#endif
    cache_destroy(c);
}

/* Room for flows under max_flows: one thread is refused at exactly max_flows whatever its order of
 * takes and gives; two threads never pass it together, and are refused at most 2 x 2 batches early;
 * everything given and returned leaves no room taken. */
TEST_CASE(flow_room_never_passes_max_flows)
{
    struct cache *c = test_cache(NULL);      /* max_flows 1000 */
    if (!c)
        return;
    uint32_t a = 0, b = 0;
    int made = 0;
    while (made < 2000 && cache_flow_room_take(c, &a))
        made++;
    CHECK_INT(made, 1000);
    CHECK(cache_flows_full(c));
    cache_flow_room_give(c, &a);             /* one flow ends: room for exactly one more */
    CHECK_INT(cache_flow_room_take(c, &a), 1);
    CHECK_INT(cache_flow_room_take(c, &a), 0);
    for (int i = 0; i < 1000; i++)
        cache_flow_room_give(c, &a);
    cache_flow_room_return(c, &a);
    CHECK_INT(atomic_load(&c->flows_taken), 0);
    CHECK(!cache_flows_full(c));
    /* two threads in turn, far from the cap first: each takes batches */
    int ma = 0, mb = 0, turn = 0, open_a = 1, open_b = 1;
    while (open_a || open_b) {
        if (turn++ % 2 == 0 && open_a)
            open_a = cache_flow_room_take(c, &a) ? (ma++, 1) : 0;
        else if (open_b)
            open_b = cache_flow_room_take(c, &b) ? (mb++, 1) : 0;
    }
    CHECK(ma + mb <= 1000);
    CHECK(ma + mb >= 1000 - 2 * 2 * CACHE_ROOM_BATCH);
    CHECK(atomic_load(&c->flows_taken) <= 1000);
    /* b's flows end: b keeps at most two batches of their room, then stops and returns it; a alone
     * then reaches exactly max_flows */
    for (int i = 0; i < mb; i++)
        cache_flow_room_give(c, &b);
    CHECK(b <= 2 * CACHE_ROOM_BATCH);
    cache_flow_room_return(c, &b);
    int more = 0;
    while (more < 2000 && cache_flow_room_take(c, &a))
        more++;
    CHECK_INT(ma + more, 1000);
    for (int i = 0; i < ma + more; i++)
        cache_flow_room_give(c, &a);
    cache_flow_room_return(c, &a);
    cache_flow_room_return(c, &b);
    CHECK_INT(atomic_load(&c->flows_taken), 0);
    cache_destroy(c);
}

int main(void)
{
    RUN(destroy_calls_the_hook_once_per_live_flow);
    RUN(destroy_of_an_empty_cache_calls_no_hook);
    RUN(destroy_without_hooks_frees_the_flows);
    RUN(flow_shards_follow_the_lanes);
    RUN(flow_visit_finds_a_flow_of_a_lane_shard);
    RUN(learnt_user_and_logout);
    RUN(user_memo_follows_the_table);
    RUN(user_as_of_a_packet_time);
    RUN(watchlist_becomes_the_cloud_set);
    RUN(names_take_the_smallest_pool_that_holds_them);
    RUN(pool_spares_are_counted_until_trimmed);
    RUN(flow_room_never_passes_max_flows);
    return CHECK_DONE("cache");
}
