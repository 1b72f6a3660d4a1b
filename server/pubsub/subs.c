/* subs.c - the subscription index of pub/sub: names, subscriptions and clients in hash tables (loop thread). */
#include "server/pubsub/subs.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "resp/glob.h"

/* A client's subscriptions. */
struct subs_client {
    struct subs_hnode h;             /* in the clients table */
    struct client *c;
    struct subs_vec links[SUBS_KINDS];   /* struct subs_link * */
};

/* A chained hash table of struct subs_hnode (power-of-two buckets). */
struct subs_htab {
    struct subs_hnode **b;
    size_t mask, n;
};

struct subs {
    uint64_t key[2];                 /* hash seed: names come from clients */
    struct subs_htab names, links, clients;
    struct subs_vec all[SUBS_KINDS];     /* struct subs_name * of each kind */
    struct subs_name *probe_chan[EV_CHANNELS];
    struct subs_vec probe_pats[EV_CHANNELS];
    size_t count[SUBS_KINDS];
    uint64_t seq;
};

/* ---- SipHash-1-3, keyed at start-up, so that clients cannot aim names at one bucket ---- */

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

static void sip_round(uint64_t v[4])
{
    v[0] += v[1]; v[1] = ROTL(v[1], 13); v[1] ^= v[0]; v[0] = ROTL(v[0], 32);
    v[2] += v[3]; v[3] = ROTL(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = ROTL(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = ROTL(v[1], 17); v[1] ^= v[2]; v[2] = ROTL(v[2], 32);
}

static uint64_t sip13(const uint64_t key[2], const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t v[4] = { key[0] ^ 0x736f6d6570736575ULL, key[1] ^ 0x646f72616e646f6dULL,
                      key[0] ^ 0x6c7967656e657261ULL, key[1] ^ 0x7465646279746573ULL };
    uint64_t last = (uint64_t)len << 56;
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t m;
        memcpy(&m, p + i, 8);
        v[3] ^= m;
        sip_round(v);
        v[0] ^= m;
    }
    for (size_t j = 0; i + j < len; j++)
        last |= (uint64_t)p[i + j] << (8 * j);
    v[3] ^= last;
    sip_round(v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(v);
    sip_round(v);
    sip_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

/* ---- hash tables and pointer arrays ---- */

enum { HTAB_MIN = 16 };

static int htab_init(struct subs_htab *t)
{
    t->b = calloc(HTAB_MIN, sizeof(*t->b));
    t->mask = HTAB_MIN - 1;
    t->n = 0;
    return t->b ? 0 : -1;
}

/* Rehashes into nb buckets; when memory runs out the table keeps its size (longer chains). */
static void htab_resize(struct subs_htab *t, size_t nb)
{
    struct subs_hnode **nbk = calloc(nb, sizeof(*nbk));
    if (!nbk)
        return;
    for (size_t i = 0; i <= t->mask; i++) {
        struct subs_hnode *e = t->b[i], *next;
        for (; e; e = next) {
            next = e->next;
            e->next = nbk[e->hash & (nb - 1)];
            nbk[e->hash & (nb - 1)] = e;
        }
    }
    free(t->b);
    t->b = nbk;
    t->mask = nb - 1;
}

static void htab_insert(struct subs_htab *t, struct subs_hnode *e)
{
    if (t->n > t->mask)
        htab_resize(t, (t->mask + 1) * 2);
    struct subs_hnode **b = &t->b[e->hash & t->mask];
    e->next = *b;
    *b = e;
    t->n++;
}

static void htab_remove(struct subs_htab *t, struct subs_hnode *e)
{
    struct subs_hnode **pp = &t->b[e->hash & t->mask];
    while (*pp != e)
        pp = &(*pp)->next;
    *pp = e->next;
    t->n--;
    if (t->mask + 1 > HTAB_MIN && t->n * 8 < t->mask + 1)
        htab_resize(t, (t->mask + 1) / 2);
}

/* Makes room for one more element. Returns 0, or -1 (nothing changed). */
static int vec_reserve(struct subs_vec *a)
{
    if (a->n < a->cap)
        return 0;
    size_t ncap = a->cap ? a->cap * 2 : 4;
    void **nv = realloc(a->v, ncap * sizeof(*nv));
    if (!nv)
        return -1;
    a->v = nv;
    a->cap = ncap;
    return 0;
}

/* Appends p (room must have been reserved); returns its position. */
static size_t vec_push(struct subs_vec *a, void *p)
{
    a->v[a->n] = p;
    return a->n++;
}

/* Removes element i by moving the last one into its place. Returns the moved element (whose
 * position is now i), or NULL when i was the last. */
static void *vec_take(struct subs_vec *a, size_t i)
{
    void *moved = NULL;
    if (i != --a->n) {
        a->v[i] = a->v[a->n];
        moved = a->v[i];
    }
    if (a->n == 0) {
        free(a->v);
        *a = (struct subs_vec){ 0 };
    } else if (a->cap > 64 && a->n < a->cap / 4) {
        void **nv = realloc(a->v, a->cap / 2 * sizeof(*nv));
        if (nv) {
            a->v = nv;
            a->cap /= 2;
        }
    }
    return moved;
}

/* ---- names ---- */

static uint64_t name_hash(const struct subs *x, enum subs_kind k, const char *name, size_t len)
{
    return sip13(x->key, name, len) + (uint64_t)k;
}

static struct subs_name *name_find(const struct subs *x, enum subs_kind k, const char *name, size_t len,
                                   uint64_t hash)
{
    for (struct subs_hnode *e = x->names.b[hash & x->names.mask]; e; e = e->next) {
        struct subs_name *nm = (struct subs_name *)e;
        if (e->hash == hash && nm->kind == k && nm->len == len && memcmp(nm->name, name, len) == 0)
            return nm;
    }
    return NULL;
}

/* Takes nm off the list of the names of a probe channel it matches. */
static void name_unprobe(struct subs *x, struct subs_name *nm, int ch)
{
    struct subs_name *moved = vec_take(&x->probe_pats[ch], nm->in_probe[ch]);
    if (moved)
        moved->in_probe[ch] = nm->in_probe[ch];
}

/* Frees nm, which has no subscriber left. */
static void name_drop(struct subs *x, struct subs_name *nm)
{
    htab_remove(&x->names, &nm->h);
    struct subs_name *moved = vec_take(&x->all[nm->kind], nm->in_all);
    if (moved)
        moved->in_all = nm->in_all;
    for (int ch = 0; ch < EV_CHANNELS; ch++) {
        if (!(nm->probe_mask >> ch & 1))
            continue;
        if (nm->kind == SUBS_PATTERN)
            name_unprobe(x, nm, ch);
        else
            x->probe_chan[ch] = NULL;
    }
    free(nm->subs.v);
    free(nm);
}

/* Which probe channels nm is (a channel) or matches (a pattern). */
static uint32_t name_probe_mask(const struct subs_name *nm)
{
    uint32_t mask = 0;
    for (int ch = 0; ch < EV_CHANNELS; ch++) {
        const char *pn = event_channel_name((enum event_channel)ch);
        size_t pl = strlen(pn);
        if (nm->kind == SUBS_PATTERN ? glob_match(nm->name, nm->len, pn, pl, 0)
                                     : nm->len == pl && memcmp(nm->name, pn, pl) == 0)
            mask |= 1u << ch;
    }
    return mask;
}

/* A new name without subscribers, listed everywhere it belongs. NULL when memory ran out. */
static struct subs_name *name_make(struct subs *x, enum subs_kind k, const char *name, size_t len,
                                   uint64_t hash)
{
    struct subs_name *nm = calloc(1, sizeof(*nm) + len + 1);
    if (!nm || vec_reserve(&x->all[k]) != 0) {
        free(nm);
        return NULL;
    }
    nm->h.hash = hash;
    nm->kind = k;
    nm->len = len;
    memcpy(nm->name, name, len);
    uint32_t mask = name_probe_mask(nm);
    for (int ch = 0; ch < EV_CHANNELS; ch++) {
        if (!(mask >> ch & 1))
            continue;
        if (k == SUBS_CHANNEL) {
            x->probe_chan[ch] = nm;
        } else if (vec_reserve(&x->probe_pats[ch]) == 0) {
            nm->in_probe[ch] = vec_push(&x->probe_pats[ch], nm);
        } else {
            for (int j = 0; j < ch; j++)
                if (nm->probe_mask >> j & 1)
                    name_unprobe(x, nm, j);
            free(nm);
            return NULL;
        }
        nm->probe_mask |= 1u << ch;
    }
    nm->in_all = vec_push(&x->all[k], nm);
    htab_insert(&x->names, &nm->h);
    return nm;
}

/* ---- clients and links ---- */

static uint64_t client_hash(const struct subs *x, const struct client *c)
{
    return sip13(x->key, &c, sizeof(c));
}

static struct subs_client *client_find(const struct subs *x, const struct client *c)
{
    uint64_t hash = client_hash(x, c);
    for (struct subs_hnode *e = x->clients.b[hash & x->clients.mask]; e; e = e->next)
        if (((struct subs_client *)e)->c == c)
            return (struct subs_client *)e;
    return NULL;
}

static struct subs_client *client_get(struct subs *x, struct client *c)
{
    struct subs_client *sc = client_find(x, c);
    if (sc || !(sc = calloc(1, sizeof(*sc))))
        return sc;
    sc->c = c;
    sc->h.hash = client_hash(x, c);
    htab_insert(&x->clients, &sc->h);
    return sc;
}

static void client_drop_if_empty(struct subs *x, struct subs_client *sc)
{
    for (int k = 0; k < SUBS_KINDS; k++)
        if (sc->links[k].n)
            return;
    htab_remove(&x->clients, &sc->h);
    free(sc);
}

static uint64_t link_hash(const struct subs *x, const struct client *c, const struct subs_name *nm)
{
    const void *pair[2] = { c, nm };
    return sip13(x->key, pair, sizeof(pair));
}

static struct subs_link *link_find(const struct subs *x, const struct client *c, const struct subs_name *nm)
{
    uint64_t hash = link_hash(x, c, nm);
    for (struct subs_hnode *e = x->links.b[hash & x->links.mask]; e; e = e->next) {
        struct subs_link *l = (struct subs_link *)e;
        if (l->c == c && l->nm == nm)
            return l;
    }
    return NULL;
}

/* Removes subscription l of the client sc (freeing its name and sc when they are left empty). */
static void link_drop(struct subs *x, struct subs_client *sc, struct subs_link *l)
{
    struct subs_name *nm = l->nm;
    htab_remove(&x->links, &l->h);
    struct subs_link *moved = vec_take(&nm->subs, l->in_name);
    if (moved)
        moved->in_name = l->in_name;
    moved = vec_take(&sc->links[nm->kind], l->in_client);
    if (moved)
        moved->in_client = l->in_client;
    x->count[nm->kind]--;
    if (nm->subs.n == 0)
        name_drop(x, nm);
    client_drop_if_empty(x, sc);
    free(l);
}

/* ---- the index ---- */

struct subs *subs_new(void)
{
    struct subs *x = calloc(1, sizeof(*x));
    if (!x)
        return NULL;
    if (getrandom(x->key, sizeof(x->key), GRND_NONBLOCK) != (ssize_t)sizeof(x->key)) {
        x->key[0] = (uint64_t)time(NULL) * 0x9E3779B97F4A7C15ULL ^ (uint64_t)(uintptr_t)x;
        x->key[1] = (uint64_t)getpid() * 0xC2B2AE3D27D4EB4FULL ^ (uint64_t)clock();
    }
    if (htab_init(&x->names) || htab_init(&x->links) || htab_init(&x->clients)) {
        subs_free(x);
        return NULL;
    }
    return x;
}

void subs_free(struct subs *x)
{
    if (!x)
        return;
    for (int k = 0; k < SUBS_KINDS; k++) {
        for (size_t i = 0; i < x->all[k].n; i++) {
            struct subs_name *nm = x->all[k].v[i];
            for (size_t j = 0; j < nm->subs.n; j++)
                free(nm->subs.v[j]);
            free(nm->subs.v);
            free(nm);
        }
        free(x->all[k].v);
    }
    for (size_t i = 0; x->clients.b && i <= x->clients.mask; i++) {
        struct subs_hnode *e = x->clients.b[i], *next;
        for (; e; e = next) {
            struct subs_client *sc = (struct subs_client *)e;
            next = e->next;
            for (int k = 0; k < SUBS_KINDS; k++)
                free(sc->links[k].v);
            free(sc);
        }
    }
    for (int ch = 0; ch < EV_CHANNELS; ch++)
        free(x->probe_pats[ch].v);
    free(x->names.b);
    free(x->links.b);
    free(x->clients.b);
    free(x);
}

int subs_add(struct subs *x, enum subs_kind k, struct client *c, const char *name, size_t len)
{
    uint64_t hash = name_hash(x, k, name, len);
    struct subs_name *nm = name_find(x, k, name, len, hash);
    if (nm && link_find(x, c, nm))
        return 0;
    if (!nm && !(nm = name_make(x, k, name, len, hash)))
        return -1;
    struct subs_client *sc = client_get(x, c);
    struct subs_link *l = sc ? calloc(1, sizeof(*l)) : NULL;
    if (!l || vec_reserve(&nm->subs) != 0 || vec_reserve(&sc->links[k]) != 0) {
        free(l);
        if (nm->subs.n == 0)
            name_drop(x, nm);
        if (sc)
            client_drop_if_empty(x, sc);
        return -1;
    }
    l->nm = nm;
    l->c = c;
    l->seq = x->seq++;
    l->h.hash = link_hash(x, c, nm);
    l->in_name = vec_push(&nm->subs, l);
    l->in_client = vec_push(&sc->links[k], l);
    htab_insert(&x->links, &l->h);
    x->count[k]++;
    return 1;
}

int subs_del(struct subs *x, enum subs_kind k, struct client *c, const char *name, size_t len)
{
    if (!x)
        return 0;
    struct subs_name *nm = name_find(x, k, name, len, name_hash(x, k, name, len));
    struct subs_link *l = nm ? link_find(x, c, nm) : NULL;
    if (!l)
        return 0;
    link_drop(x, client_find(x, c), l);
    return 1;
}

static int link_seq_cmp(const void *a, const void *b)
{
    uint64_t sa = (*(struct subs_link *const *)a)->seq, sb = (*(struct subs_link *const *)b)->seq;
    return sa < sb ? -1 : sa > sb;
}

size_t subs_del_client(struct subs *x, enum subs_kind k, struct client *c,
                       void (*each)(void *arg, const char *name, size_t len), void *arg)
{
    struct subs_client *sc = x ? client_find(x, c) : NULL;
    size_t n = sc ? sc->links[k].n : 0;
    if (n == 0)
        return 0;
    struct subs_link **order = malloc(n * sizeof(*order));
    if (order) {
        memcpy(order, sc->links[k].v, n * sizeof(*order));
        qsort(order, n, sizeof(*order), link_seq_cmp);
    }
    for (size_t i = 0; i < n; i++) {
        /* without memory for the order: the last first (each removal leaves the others in place) */
        struct subs_link *l = order ? order[i] : sc->links[k].v[n - 1 - i];
        if (each)
            each(arg, l->nm->name, l->nm->len);
        link_drop(x, sc, l);             /* frees sc with its last subscription */
    }
    free(order);
    return n;
}

const struct subs_name *subs_find(const struct subs *x, enum subs_kind k, const char *name, size_t len)
{
    return x ? name_find(x, k, name, len, name_hash(x, k, name, len)) : NULL;
}

static const struct subs_vec subs_none;

const struct subs_vec *subs_all(const struct subs *x, enum subs_kind k)
{
    return x ? &x->all[k] : &subs_none;
}

const struct subs_name *subs_probe_channel(const struct subs *x, enum event_channel ch)
{
    return x ? x->probe_chan[ch] : NULL;
}

const struct subs_vec *subs_probe_patterns(const struct subs *x, enum event_channel ch)
{
    return x ? &x->probe_pats[ch] : &subs_none;
}

size_t subs_count(const struct subs *x, enum subs_kind k)
{
    return x ? x->count[k] : 0;
}

uint32_t subs_probe_wanted(const struct subs *x)
{
    uint32_t mask = 0;
    for (int ch = 0; x && ch < EV_CHANNELS; ch++)
        if (x->probe_chan[ch] || x->probe_pats[ch].n)
            mask |= 1u << ch;
    return mask;
}
