/* names.c - name-keyed cache tables (DNS names, HTTP hosts, TLS SNIs, users, IP-to-user) (written by capture threads, read by the loop). */
#include "capture/cache/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/cache/flow_key.h"

/* The ipuser filter's slot of an address, from its binary form: names_user_of reads it before it
 * formats the address, so an address without a user costs neither the text nor the table. */
static unsigned ipuser_slot(uint8_t ipver, const uint8_t *addr)
{
    uint64_t a = 0, b = 0;           /* IPv4: 4 bytes (callers may hold no more) */
    memcpy(&a, addr, ipver == 6 ? 8 : 4);
    if (ipver == 6)
        memcpy(&b, addr + 8, 8);
    return (unsigned)(hash_mix64(a ^ hash_mix64(b + ipver)) >> 40) % CACHE_IPUSER_FILTER;
}

/* Counts the ipuser.<addr> entry named name in or out (delta +1 / -1) of the filter, or with delta 0
 * only tells that it changed: each call moves its slot's version (the high half), which the user memos
 * read. The slot's bit in ipuser_bits follows whether it counts any: set on 0 -> 1, cleared on 1 -> 0
 * and set again when another entry came meanwhile (the sequentially consistent order of the three
 * steps leaves no slot that counts one with its bit clear). The caller holds the entry's names
 * shard lock; entries of one slot may sit in other shards. */
static void ipuser_filter_add(struct cache *c, const char *name, size_t len, int delta)
{
    uint8_t a[16] = { 0 };
    int ver = addr_parse_canonical(name, len, a);
    if (!ver)                        /* other names never match a lookup, which formats the address */
        return;
    unsigned i = ipuser_slot((uint8_t)ver, a);
    uint64_t old = atomic_fetch_add(&c->ipuser_filter[i], IPUSER_FILTER_VERSION + (uint64_t)(int64_t)delta);
    uint64_t bit = (uint64_t)1 << (i % 64);
    if (delta > 0 && (uint32_t)old == 0) {
        atomic_fetch_or(&c->ipuser_bits[i / 64], bit);
    } else if (delta < 0 && (uint32_t)old == 1) {
        atomic_fetch_and(&c->ipuser_bits[i / 64], ~bit);
        if ((uint32_t)atomic_load(&c->ipuser_filter[i]) != 0)
            atomic_fetch_or(&c->ipuser_bits[i / 64], bit);
    }
}

/* Is there perhaps a user at the address of filter slot i? Reads only the 32 kB bitmap, which
 * stays in the cache: most flow ends ask for addresses without one. */
static int ipuser_maybe(struct cache *c, unsigned i)
{
    return (atomic_load_explicit(&c->ipuser_bits[i / 64], memory_order_relaxed) >> (i % 64)) & 1;
}

static void name_free(struct cache *c, unsigned shard, struct name_entry *n);

/* Is there room in names shard `shard` (its lock held) for one more entry of kind k? Each kind may
 * hold max_names / CACHE_SHARDS entries a shard (so never more than max_names in all, as max_flows
 * bounds flows). A full shard first frees the expired entries at its idle end that the sweep has
 * not reached yet (a few: the sweep runs every tick). */
static int names_room(struct cache *c, unsigned shard, enum name_kind k, const void *group)
{
    if (!c->cfg.max_names)
        return 1;
    uint64_t per_shard = c->cfg.max_names / CACHE_SHARDS ? c->cfg.max_names / CACHE_SHARDS : 1;
    struct cache_shard *s = &c->names[shard];
    uint64_t now = cache_expiry_now(c, group);
    for (int i = 0; i < 4 && c->name_kinds[shard][k] >= per_shard && s->lru_head; i++) {
        struct name_entry *old = (struct name_entry *)s->lru_head;
        if (name_alive(&c->cfg, old, now))
            break;
        name_free(c, shard, old);
    }
    return c->name_kinds[shard][k] < per_shard;
}

struct name_entry *names_find(struct cache *c, struct cache_shard *s, uint64_t hash,
                              enum name_kind k, const char *name, size_t len, int create,
                              uint64_t ts, const void *group)
{
    if (len > NAME_MAX_LEN)
        return NULL;
    for (struct centry *e = s->buckets[cache_bucket_of(s, hash)]; e; e = e->hnext) {
        struct name_entry *n = (struct name_entry *)e;
        if (e->hash == hash && n->kind == k && n->len == len && memcmp(n->name, name, len) == 0) {
            if (create && !name_alive(&c->cfg, n, cache_now(c)) &&
                !name_alive(&c->cfg, n, cache_expiry_now(c, group))) {
                struct centry link = n->link;       /* expired, not yet swept: a new key */
                memset(n, 0, sizeof(*n));
                n->link = link;
                n->kind = (uint8_t)k;
                n->len = (uint16_t)len;
                n->first_us = ts;
            } else if (create && ts < n->first_us) {
                n->first_us = ts;                   /* another worker's earlier packet came later */
            }
            if (create && k == NK_IPUSER)
                ipuser_filter_add(c, name, len, 0); /* the caller may change it: memos ask again */
            return n;
        }
    }
    if (!create)
        return NULL;
    unsigned shard = (unsigned)(s - c->names);
    struct name_entry *n = NULL;
    if (names_room(c, shard, k, group))
        n = pool_alloc(cache_name_pool(c, sizeof(struct name_entry) + len + 1));
    if (!n) {
        atomic_fetch_add_explicit(&c->st.names_dropped[k], 1, memory_order_relaxed);
        return NULL;
    }
    n->link.hash = hash;
    n->kind = (uint8_t)k;
    n->len = (uint16_t)len;
    memcpy(n->name, name, len);
    n->first_us = n->last_us = ts;
    shard_insert(s, &n->link);
    c->name_kinds[shard][k]++;
    if (k == NK_IPUSER)
        ipuser_filter_add(c, name, len, 1);
    return n;
}

uint64_t name_expire_at(const struct cache_config *cfg, const struct name_entry *e)
{
    if (e->kind == NK_USER)
        return e->u.user.delete_at_us;
    if (e->kind == NK_IPUSER)
        return e->u.ipuser.delete_at_us;
    return e->last_us + cfg->host_idle_us;
}

int name_alive(const struct cache_config *cfg, const struct name_entry *e, uint64_t now)
{
    uint64_t exp = name_expire_at(cfg, e);
    return exp == 0 || exp > now;
}

int names_get(struct cache *c, enum name_kind k, const char *name, size_t len, struct name_entry *out)
{
    if (len > NAME_MAX_LEN)
        return -1;
    uint64_t h = name_hash(k, name, len);
    struct cache_shard *s = cache_shard_for(c->names, h);
    int rc = -1;
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(c, s, h, k, name, len, 0, 0, NULL);
    if (e && name_alive(&c->cfg, e, cache_now(c))) {
        memcpy(out, e, sizeof(*e) + e->len + 1);
        rc = 0;
    }
    lock_release(&s->lock);
    return rc;
}

/* A memo slot: what the ipuser entry of one address held when its filter slot had version `word`. */
#define USER_MEMO_SLOTS 4096             /* per capture thread: 256 kB */
#define USER_MEMO_NAME 21                /* longer user names are not kept: asked each time */
enum { MEMO_EMPTY = 0, MEMO_NONE, MEMO_ENTRY };
struct user_memo_slot {
    uint64_t word;                   /* the filter slot (count and version) the answer held at */
    uint64_t delete_at_us, logout_us;    /* MEMO_ENTRY: the entry's */
    uint8_t addr[16];
    uint8_t ipver, state, ulen;      /* state: MEMO_*; MEMO_NONE: no entry for the address */
    char user[USER_MEMO_NAME];
};
_Static_assert(sizeof(struct user_memo_slot) == 64, "a memo slot is one cache line");

struct names_user_memo {
    struct user_memo_slot slot[USER_MEMO_SLOTS];
    uint64_t login_us[USER_MEMO_SLOTS];  /* MEMO_ENTRY: the entry's login (asked only with at_us) */
};

struct names_user_memo *names_user_memo_new(void)
{
    return calloc(1, sizeof(struct names_user_memo));
}

void names_user_memo_free(struct names_user_memo *m)
{
    free(m);
}

/* Does a mapping with these times name its user to a flow that started at since_us (0: to any
 * asker), as of packet time at (0: the table as it stands at cache time now)? It lives until
 * delete_at_us (0: for ever), a flow starting after the logout is not the departed user's, and as
 * of `at` a login at or after it has not happened yet (strictly before: a worker whose clock says
 * `at` may still be handling the packet of that time). */
static int ipuser_answers(uint64_t login_us, uint64_t delete_at_us, uint64_t logout_us, uint64_t now,
                          uint64_t since_us, uint64_t at)
{
    uint64_t t = at ? at : now;
    return (!at || login_us < at) && (delete_at_us == 0 || delete_at_us > t) &&
           (!since_us || !logout_us || since_us <= logout_us);
}

/* The user entry e names (see ipuser_answers), or NULL: its mapping, else, as of an `at` before
 * that mapping's login, the one it replaced. */
static const char *ipuser_entry_user(const struct name_entry *e, uint64_t now, uint64_t since_us, uint64_t at)
{
    if (ipuser_answers(e->u.ipuser.login_us, e->u.ipuser.delete_at_us, e->u.ipuser.logout_us, now, since_us, at))
        return e->u.ipuser.user;
    const struct ipuser_prev *p = &e->u.ipuser.prev;
    if (at && at <= e->u.ipuser.login_us && p->user[0] &&
        ipuser_answers(p->login_us, p->delete_at_us, p->logout_us, now, since_us, at))
        return p->user;
    return NULL;
}

static int user_copy(const char *user, size_t ul, char *out, size_t outcap)
{
    if (ul >= outcap)
        ul = outcap - 1;
    memcpy(out, user, ul);           /* flow.end asks per flow: no formatter */
    out[ul] = '\0';
    return 0;
}

/* names_user_of through the table: formats the address and finds its entry under the shard lock.
 * With ms, what the entry holds is noted there with the slot's version (read under the lock, so no
 * change to the entry falls between the two). */
static int user_of_locked(struct cache *c, uint8_t ipver, const uint8_t *addr, uint64_t since_us, uint64_t at,
                          char *out, size_t outcap, _Atomic uint64_t *slot, struct user_memo_slot *ms,
                          uint64_t *ms_login)
{
    char a[ADDR_STR_MAX];
    size_t n = addr_format(ipver, addr, a);
    uint64_t h = name_hash(NK_IPUSER, a, n);
    struct cache_shard *s = cache_shard_for(c->names, h);
    int rc = -1;
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(c, s, h, NK_IPUSER, a, n, 0, 0, NULL);
    uint64_t now = cache_now(c);
    size_t ul = e ? strlen(e->u.ipuser.user) : 0;
    const char *user = e ? ipuser_entry_user(e, now, since_us, at) : NULL;
    if (user)
        rc = user_copy(user, user == e->u.ipuser.user ? ul : strlen(user), out, outcap);
    if (ms) {
        ms->word = atomic_load_explicit(slot, memory_order_relaxed);
        ms->state = ul < USER_MEMO_NAME ? (e ? MEMO_ENTRY : MEMO_NONE) : MEMO_EMPTY;
        ms->ipver = ipver;
        memcpy(ms->addr, addr, ipver == 6 ? 16 : 4);
        if (e && ms->state == MEMO_ENTRY) {
            ms->delete_at_us = e->u.ipuser.delete_at_us;
            ms->logout_us = e->u.ipuser.logout_us;
            *ms_login = e->u.ipuser.login_us;
            ms->ulen = (uint8_t)ul;
            memcpy(ms->user, e->u.ipuser.user, ul);
        }
    }
    lock_release(&s->lock);
    return rc;
}

int names_user_of(struct cache *c, uint8_t ipver, const uint8_t *addr, uint64_t since_us, char *out,
                  size_t outcap)
{
    return names_user_of_memo(c, NULL, ipver, addr, since_us, 0, out, outcap);
}

int names_user_of_memo(struct cache *c, struct names_user_memo *m, uint8_t ipver, const uint8_t *addr,
                       uint64_t since_us, uint64_t at_us, char *out, size_t outcap)
{
    unsigned i = ipuser_slot(ipver, addr);
    if (!ipuser_maybe(c, i))
        return -1;                   /* no user there (flow.end asks for both ends of every flow) */
    _Atomic uint64_t *slot = &c->ipuser_filter[i];
    if (!m)
        return user_of_locked(c, ipver, addr, since_us, at_us, out, outcap, slot, NULL, NULL);
    uint64_t word = atomic_load_explicit(slot, memory_order_relaxed);
    unsigned j = i % USER_MEMO_SLOTS;
    struct user_memo_slot *ms = &m->slot[j];
    if (ms->state == MEMO_EMPTY || ms->word != word || ms->ipver != ipver ||
        memcmp(ms->addr, addr, ipver == 6 ? 16 : 4) != 0 ||
        (at_us && ms->state == MEMO_ENTRY && at_us <= m->login_us[j]))    /* before its login: the table's */
        return user_of_locked(c, ipver, addr, since_us, at_us, out, outcap, slot, ms, &m->login_us[j]);
    /* No entry of the slot changed since the memo was taken (each change moves the version). */
    if (ms->state == MEMO_NONE ||
        !ipuser_answers(0, ms->delete_at_us, ms->logout_us, cache_now(c), since_us, at_us))
        return -1;
    return user_copy(ms->user, ms->ulen, out, outcap);
}

/* The live NK_IPUSER entry of addr (created with create), its shard locked in *sp; NULL (nothing
 * locked) when absent or out of memory. */
static struct name_entry *ipuser_locked(struct cache *c, const char *addr, int create, struct cache_shard **sp)
{
    size_t n = strlen(addr);
    if (n == 0 || n >= ADDR_STR_MAX)
        return NULL;
    uint64_t h = name_hash(NK_IPUSER, addr, n);
    struct cache_shard *s = cache_shard_for(c->names, h);
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(c, s, h, NK_IPUSER, addr, n, create, cache_now(c), NULL);
    if (!e || (!create && !name_alive(&c->cfg, e, cache_now(c)))) {
        lock_release(&s->lock);
        return NULL;
    }
    *sp = s;
    return e;
}

int names_ipuser_learn(struct cache *c, const char *addr, const char *user, uint64_t ttl_us)
{
    struct cache_shard *s;
    if (strlen(user) >= NAME_USER_MAX)
        return -1;
    struct name_entry *e = ipuser_locked(c, addr, 1, &s);
    if (!e)
        return -1;
    uint64_t now = cache_now(c);
    if (e->u.ipuser.learnt || !e->u.ipuser.user[0]) {       /* a mapping of ours (RADIUS) wins */
        snprintf(e->u.ipuser.user, sizeof(e->u.ipuser.user), "%s", user);
        e->u.ipuser.learnt = 1;
        e->u.ipuser.login_us = 0;            /* known before any flow that asks for it ends */
        e->u.ipuser.prev.user[0] = '\0';
        e->u.ipuser.logout_us = 0;
        e->u.ipuser.delete_at_us = now + (ttl_us ? ttl_us : 1);
        if (now > e->last_us)
            e->last_us = now;
        shard_touch(s, &e->link);
    }
    lock_release(&s->lock);
    return 0;
}

int names_sipmedia_learn(struct cache *c, const char *ep, const char *call_id)
{
    size_t n = strlen(ep);
    if (strlen(call_id) >= SIP_CALL_ID_MAX || n > NAME_MAX_LEN)
        return -1;
    uint64_t h = name_hash(NK_SIPMEDIA, ep, n), now = cache_now(c);
    struct cache_shard *s = cache_shard_for(c->names, h);
    lock_acquire(&s->lock);
    struct name_entry *e = names_find(c, s, h, NK_SIPMEDIA, ep, n, 1, now, NULL);
    if (e && !e->u.media.call_id[0]) {          /* new (or expired): an SDP seen here wins */
        snprintf(e->u.media.call_id, sizeof(e->u.media.call_id), "%s", call_id);
        if (now > e->last_us)
            e->last_us = now;
        shard_touch(s, &e->link);
    }
    lock_release(&s->lock);
    return e ? 0 : -1;
}

int names_ipuser_logout(struct cache *c, const char *addr, const char *user, uint64_t ts_us, uint64_t grace_us)
{
    struct cache_shard *s;
    struct name_entry *e = ipuser_locked(c, addr, 0, &s);
    if (!e)
        return 0;
    int changed = 0;
    if (!e->u.ipuser.logout_us && strcmp(e->u.ipuser.user, user) == 0) {
        e->u.ipuser.logout_us = ts_us ? ts_us : cache_now(c);
        e->u.ipuser.delete_at_us = e->u.ipuser.logout_us + (grace_us ? grace_us : 1);
        ipuser_filter_add(c, e->name, e->len, 0);
        changed = 1;
    }
    lock_release(&s->lock);
    return changed;
}

uint32_t names_walk_step(struct cache *c, enum name_kind k, unsigned shard, uint32_t from,
                         uint32_t max_buckets, uint32_t max_entries, cache_walk_fn fn, void *arg,
                         struct cache_walk_info *info)
{
    *info = (struct cache_walk_info){ 0, 0, 0 };
    if (shard >= CACHE_SHARDS || (unsigned)k >= NK_KINDS)
        return 0;
    struct cache_shard *s = &c->names[shard];
    uint32_t next = s->nbuckets;     /* fixed at creation: read without the lock */
    lock_acquire(&s->lock);
    uint32_t have = c->name_kinds[shard][k];
    if (have)                        /* from > 0: entries before it are of kind k too */
        next = shard_walk(s, from, max_buckets, max_entries, from ? UINT32_MAX : have, fn, arg, info);
    else
        info->nbuckets = next;
    lock_release(&s->lock);
    return next;
}

static int name_dead(const struct cache_config *cfg, const struct name_entry *e, uint64_t now)
{
    return !name_alive(cfg, e, now);
}

/* Takes n out of names shard `shard` (its lock held) and frees it: the one
 * way an entry leaves, so the kind counts and the memory budget stay right. */
static void name_free(struct cache *c, unsigned shard, struct name_entry *n)
{
    shard_unlink(&c->names[shard], &n->link, 0);
    c->name_kinds[shard][n->kind]--;
    if (n->kind == NK_IPUSER)
        ipuser_filter_add(c, n->name, n->len, -1);
    pool_free_slot(n);
}

void names_sweep(struct cache *c, uint64_t now, int full)
{
    for (int i = 0; i < CACHE_SHARDS; i++) {
        struct cache_shard *s = &c->names[i];
        lock_acquire(&s->lock);
        struct centry *e = s->lru_head, *next;
        for (uint32_t seen = 0, limit = s->count; e && seen < limit; seen++, e = next) {
            struct name_entry *n = (struct name_entry *)e;
            next = e->lnext;
            if (name_dead(&c->cfg, n, now)) {
                name_free(c, (unsigned)i, n);
            } else if (n->kind == NK_USER || n->kind == NK_IPUSER) {
                shard_touch(s, e);           /* persistent: not in idle order */
            } else if (!full) {
                break;                       /* idle order: the rest is younger */
            }
        }
        lock_release(&s->lock);
    }
}
