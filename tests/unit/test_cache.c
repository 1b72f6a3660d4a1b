/* test_cache.c - capture/cache/cache.c: tenants of flows freed through the hooks at cache_destroy. */
#include <stdint.h>
#include <stdlib.h>

#include "capture/cache/cache.h"
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

int main(void)
{
    RUN(destroy_calls_the_hook_once_per_live_flow);
    RUN(destroy_of_an_empty_cache_calls_no_hook);
    RUN(destroy_without_hooks_frees_the_flows);
    return CHECK_DONE("cache");
}
