/* cmd_object.c - key introspection: OBJECT ENCODING|FREQ|IDLETIME|REFCOUNT and RANDOMKEY (loop thread). */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server/commands/cmd_internal.h"
#include "server/core/server.h"

/* Redis 7.0's defaults for the small encodings (redis.conf) and its shared integers. */
enum {
    HASH_LISTPACK_ENTRIES = 128, HASH_LISTPACK_VALUE = 64, SET_INTSET_ENTRIES = 512,
    EMBSTR_SIZE_LIMIT = 44, SHARED_INTEGERS = 10000,
};
#define OBJ_SHARED_REFCOUNT 2147483647LL

/* Redis' string2l: the whole text is a decimal long, no sign but '-', no leading zero. */
static int text_is_long(const char *p, size_t n, long long *out)
{
    struct resp_arg a = { (char *)p, n };
    return n <= 20 && cmd_parse_ll(&a, out) == 0;
}

/* The encoding Redis 7.0 gives the value when a client writes it with SET / HSET / SADD. */
static const char *view_encoding(const struct kv_view *v)
{
    long long n;
    if (v->type == KV_STRING) {
        if (text_is_long(v->data.buf, v->data.len, &n))
            return "int";
        return v->data.len <= EMBSTR_SIZE_LIMIT ? "embstr" : "raw";
    }
    if (v->type == KV_HASH) {
        if (v->nfields > HASH_LISTPACK_ENTRIES)
            return "hashtable";
        for (uint32_t i = 0; i < v->nfields; i++)
            if (v->f[i].nlen > HASH_LISTPACK_VALUE || v->f[i].vlen > HASH_LISTPACK_VALUE)
                return "hashtable";
        return "listpack";
    }
    if (v->nfields > SET_INTSET_ENTRIES)       /* a set: members are the field names */
        return "hashtable";
    for (uint32_t i = 0; i < v->nfields; i++)
        if (!text_is_long(kv_name(v, i), v->f[i].nlen, &n))
            return "hashtable";
    return "intset";
}

/* Seconds since the key's last packet (its last.seen field, in the cache's clock); 0 for keys that
 * have none (names, aggregates, strings). */
static long long view_idle_s(struct client *c, const struct kv_view *v)
{
    int i = v->type == KV_HASH ? kv_find(v, "last.seen", 9) : -1;
    if (i < 0)
        return 0;
    double last = strtod(kv_val(v, (uint32_t)i), NULL);
    double now = (double)cache_now(c->srv->cache) / 1e6;
    return now > last ? (long long)(now - last) : 0;
}

/* OBJECT <sub> key: the lookup Redis makes (nil when missing), then the answer. */
void cmd_object(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    const char *sub = argv[1].ptr;
    long long n;
    (void)argc;
    kv_view_init(&v);
    if (cmd_lookup(c, &argv[2], &v) == KV_NONE)
        resp_null(&c->out, c->proto);
    else if (!strcasecmp(sub, "encoding"))
        resp_bulks(&c->out, view_encoding(&v));
    else if (!strcasecmp(sub, "idletime"))
        resp_int(&c->out, view_idle_s(c, &v));
    else if (!strcasecmp(sub, "refcount"))
        resp_int(&c->out, v.type == KV_STRING && text_is_long(v.data.buf, v.data.len, &n) && n >= 0 &&
                          n < SHARED_INTEGERS ? OBJ_SHARED_REFCOUNT : 1);
    else                             /* freq: maxmemory-policy is noeviction, as CONFIG GET says */
        resp_error(&c->out, "ERR An LFU maxmemory policy is not selected, access frequency not tracked. "
                            "Please note that when switching between policies at runtime LRU and LFU data "
                            "will take some time to adjust.");
    kv_view_free(&v);
}

/* ---- RANDOMKEY ---- */

struct pick { char *name; size_t len; uint64_t seen, rnd; };

/* Keeps one of the keys offered so far, each with the same chance (reservoir sampling). */
static void pick_cb(void *arg, const char *key, size_t len)
{
    struct pick *p = arg;
    p->rnd = p->rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    if ((p->rnd >> 33) % ++p->seen != 0)
        return;
    char *dup = malloc(len);
    if (!dup)
        return;
    memcpy(dup, key, len);
    free(p->name);
    p->name = dup;
    p->len = len;
}

void cmd_randomkey(struct client *c, int argc, struct resp_arg *argv)
{
    static uint64_t rnd;             /* loop-thread state: the generator's last value */
    struct pick p = { NULL, 0, 0, 0 };
    (void)argc; (void)argv;
    if (!rnd) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        rnd = (uint64_t)ts.tv_nsec * 2654435761ULL + (uint64_t)ts.tv_sec;
    }
    rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
    p.rnd = rnd;
    keyspace_random(c->srv->cache, rnd, pick_cb, &p);
    rnd = p.rnd;
    if (p.name)
        resp_bulk(&c->out, p.name, p.len);
    else
        resp_null(&c->out, c->proto);
    free(p.name);
}
