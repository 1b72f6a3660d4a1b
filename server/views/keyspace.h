/* keyspace.h - Redis keys as views of the live cache: lookup, KEYS, SCAN, DBSIZE (loop thread). */
#ifndef FC_KEYSPACE_H
#define FC_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "capture/cache/cache.h"
#include "resp/resp_writer.h"

enum kv_type { KV_NONE = 0, KV_STRING, KV_HASH, KV_SET };

#define KV_FIELDS_MAX 128

struct kv_field { uint32_t noff, nlen, voff, vlen; };

/* A copy of one key's value taken from the cache. */
struct kv_view {
    enum kv_type type;
    long long ttl_ms;                /* -1: persistent */
    uint32_t nfields;
    int resp;                        /* set before the lookup: data gets a hash's fields as RESP bulks
                                      * (name, value, ...), f[] stays unset; for HGETALL */
    struct kv_field f[KV_FIELDS_MAX];
    struct sbuf data;                /* names and values, or the string value */
};

/* Empty view, not in resp mode. f[] is left uninitialised (only f[0..nfields) is ever read). */
void kv_view_init(struct kv_view *v);
void kv_view_free(struct kv_view *v);

/* Fill v with the key named (key, len). Returns v->type (KV_NONE when the
 * key does not exist). v must have been initialised; it is reset first. */
enum kv_type keyspace_lookup(struct cache *c, const char *key, size_t len, struct kv_view *v);

/* Field i's name / value as pointers into v->data. */
static inline const char *kv_name(const struct kv_view *v, uint32_t i) { return v->data.buf + v->f[i].noff; }
static inline const char *kv_val(const struct kv_view *v, uint32_t i) { return v->data.buf + v->f[i].voff; }

/* Index of a field by name, or -1. */
int kv_find(const struct kv_view *v, const char *name, size_t len);

typedef void (*key_fn)(void *arg, const char *key, size_t len);

/* Every live key matching the glob pattern. Only the families whose names
 * can match the pattern's literal prefix are walked, a shard through its
 * lists when it holds few entries (cost by entries, not buckets); shard locks
 * are taken one bounded step at a time and only to copy keys. */
void keyspace_keys(struct cache *c, const char *pat, size_t plen, key_fn fn, void *arg);

/*
 * One SCAN step from cursor: emits the live keys it finds (filtered by the
 * pattern when given and by type_filter, KV_NONE = any) and returns the next
 * cursor, 0 at the end. Only the families whose names can match the
 * pattern's literal prefix and the type are walked: a scan of `proto.*` or
 * `dns.*` starts at that family and ends with it. Without a pattern or type a
 * step stops after `count` keys; with one it goes on for about a millisecond
 * of work (bucket visits, keys copied and formatted; a larger COUNT buys
 * more), since the filter works after the fetch: a family of a few thousand
 * keys comes back in one call. A key present for the whole scan is emitted
 * at least once (tables never rehash, so bucket positions in the cursor stay
 * valid); it may be emitted twice. Loop thread.
 */
uint64_t keyspace_scan(struct cache *c, uint64_t cursor, uint64_t count, const char *pat,
                       size_t plen, enum kv_type type_filter, key_fn fn, void *arg);

/* Offers fn the live keys of one SCAN step started at a position drawn from r (the first step that
 * finds any, wrapping once past the end): a few keys, from anywhere in the keyspace; nothing when it is
 * empty. RANDOMKEY picks one of them. Loop thread. */
void keyspace_random(struct cache *c, uint64_t r, key_fn fn, void *arg);

/* Number of live keys; *expires gets how many have a TTL. */
uint64_t keyspace_size(struct cache *c, uint64_t *expires);

const char *kv_type_name(enum kv_type t);

#endif
