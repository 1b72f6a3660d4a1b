/* keyspace.c - Redis keys as views of the live cache: lookup by name, KEYS, SCAN, DBSIZE (loop thread). */
#include "server/views/keyspace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "capture/flow/fields.h"
#include "capture/cache/names.h"
#include "capture/cache/watchlist.h"
#include "dissectors/dns.h"
#include "capture/flow/l7.h"
#include "resp/glob.h"

enum { MIN_TTL_MS = 1000 };

/* The work of one SCAN call, in units of roughly a nanosecond here, so that a
 * call takes up to about a millisecond: visiting a bucket is one unit, passing
 * an entry of another name kind PASS_WORK, copying, formatting and matching a
 * key its family's work (KEY_WORK, twice that for a flow's longer name). A
 * COUNT above SCAN_WORK / KEY_WORK buys more work, as in Redis. Each shard lock
 * is held for at most HOLD_BUCKETS buckets and HOLD_ENTRIES entries (a few
 * microseconds), so capture never waits long for a reader. */
enum { SCAN_WORK = 1 << 20, KEY_WORK = 256, PASS_WORK = 4, HOLD_BUCKETS = 4096, HOLD_ENTRIES = 256 };

/* Key families, in SCAN order. Name families share the CT_NAME table. */
static const struct {
    const char *prefix;
    size_t len;
    enum cache_table table;
    int kind;
    enum kv_type type;
    unsigned work;                   /* SCAN work units of one key copied, formatted and matched */
} families[] = {
    { "flow.", 5, CT_FLOW, -1, KV_HASH, 2 * KEY_WORK }, { "ip.", 3, CT_HOST, -1, KV_HASH, KEY_WORK },
    { "mac.", 4, CT_MAC, -1, KV_HASH, KEY_WORK }, { "vlan.", 5, CT_VLAN, -1, KV_HASH, KEY_WORK },
    { "proto.", 6, CT_L7, -1, KV_HASH, KEY_WORK }, { "dns.", 4, CT_NAME, NK_DNS, KV_HASH, KEY_WORK },
    { "http.", 5, CT_NAME, NK_HTTP, KV_HASH, KEY_WORK }, { "tls.", 4, CT_NAME, NK_TLS, KV_HASH, KEY_WORK },
    { "user.", 5, CT_NAME, NK_USER, KV_HASH, KEY_WORK },
    { "ipuser.", 7, CT_NAME, NK_IPUSER, KV_STRING, KEY_WORK },
    { "port.", 5, CT_PORT, -1, KV_HASH, KEY_WORK }, { "sip.", 4, CT_NAME, NK_SIP, KV_HASH, KEY_WORK },
    { "snmp.", 5, CT_NAME, NK_SNMP, KV_HASH, KEY_WORK },
};
static const char watchlist_key[] = "watchlist";
#define NFAMILIES (sizeof(families) / sizeof(families[0]))

/* One spare data buffer, so a command does not malloc and grow a fresh one.
 * Views are built by the loop thread only: this is loop-thread state. */
static struct sbuf spare_view_data;

void kv_view_init(struct kv_view *v)
{
    v->type = KV_NONE;               /* no memset: f[] is 2 KB and every command would clear it */
    v->ttl_ms = -1;
    v->nfields = 0;
    v->resp = 0;
    v->data = spare_view_data;       /* empty (len 0) or a reusable buffer */
    sbuf_init(&spare_view_data);
}

void kv_view_free(struct kv_view *v)
{
    if (!v->data.oom && v->data.cap >= spare_view_data.cap && v->data.cap <= (1u << 20)) {
        sbuf_free(&spare_view_data);
        spare_view_data = v->data;
        spare_view_data.len = 0;
    } else {
        sbuf_free(&v->data);
    }
    sbuf_init(&v->data);
}

const char *kv_type_name(enum kv_type t)
{
    switch (t) {
    case KV_STRING: return "string";
    case KV_HASH: return "hash";
    case KV_SET: return "set";
    default: return "none";
    }
}

int kv_find(const struct kv_view *v, const char *name, size_t len)
{
    for (uint32_t i = 0; i < v->nfields; i++)
        if (v->f[i].nlen == len && memcmp(kv_name(v, i), name, len) == 0)
            return (int)i;
    return -1;
}

static void view_field_cb(void *arg, const char *name, const char *val, size_t vlen, int numeric)
{
    struct kv_view *v = arg;
    (void)numeric;
    if (v->nfields >= KV_FIELDS_MAX)
        return;
    if (v->resp) {                   /* HGETALL: the reply's bulks, formatted once */
        v->nfields++;
        resp_bulk(&v->data, name, strlen(name));
        resp_bulk(&v->data, val, vlen);
        return;
    }
    struct kv_field *f = &v->f[v->nfields++];
    f->noff = (uint32_t)v->data.len;
    f->nlen = (uint32_t)strlen(name);
    sbuf_append(&v->data, name, f->nlen + 1);
    f->voff = (uint32_t)v->data.len;
    f->vlen = (uint32_t)vlen;
    sbuf_append(&v->data, val, vlen);
    sbuf_appendc(&v->data, '\0');
}

static long long ttl_left(uint64_t expire_at, uint64_t now, int kept_alive)
{
    long long ms = expire_at > now ? (long long)((expire_at - now) / 1000) : 0;
    if (kept_alive && ms < MIN_TTL_MS)
        ms = MIN_TTL_MS;
    return ms;
}

struct flow_view_ctx {
    struct kv_view *v;
    const struct cache_config *cfg;
    uint64_t now, exp, first_us;
    int live;
};

/* Runs under the flow's shard lock: formats the fields, nothing else. */
static void flow_view_cb(const struct flow *f, void *arg)
{
    struct flow_view_ctx *x = arg;
    x->exp = flow_expire_at(x->cfg, f);
    if (x->exp <= x->now)
        return;
    x->live = 1;
    x->first_us = f->first_us;
    flow_fields_each(f, view_field_cb, x->v);
}

/* "user" of a flow or host: the RADIUS user of its client, else of its server (for a flow, one who had
 * not logged out when it started: since_us its first packet; 0 for a host). */
static void view_add_user(struct cache *c, struct kv_view *v, uint8_t ver, const uint8_t *a, const uint8_t *b,
                          uint64_t since_us)
{
    char user[NAME_USER_MAX];
    if (names_user_of(c, ver, a, since_us, user, sizeof(user)) == 0 ||
        (b && names_user_of(c, ver, b, since_us, user, sizeof(user)) == 0))
        view_field_cb(v, "user", user, strlen(user), 0);
}

static enum kv_type view_flow(struct cache *c, const char *key, size_t len, struct kv_view *v, uint64_t now)
{
    struct flow_key k;
    struct flow_view_ctx x = { v, &c->cfg, now, 0, 0, 0 };
    if (flow_key_parse(key, len, &k) != 0 || cache_flow_visit(c, &k, flow_view_cb, &x) != 0 || !x.live)
        return KV_NONE;
    v->ttl_ms = ttl_left(x.exp, now, 0);
    view_add_user(c, v, k.ipver, k.cli, k.srv, x.first_us);
    return KV_HASH;
}

static enum kv_type view_host(struct cache *c, const char *key, size_t len, struct kv_view *v, uint64_t now)
{
    uint8_t addr[16];
    struct host h;
    int ver = addr_parse_canonical(key, len, addr);
    if (!ver || cache_host_get(c, (uint8_t)ver, addr, &h) != 0)
        return KV_NONE;
    uint64_t exp = host_expire_at(&c->cfg, &h);
    if (exp <= now && !host_held(&h))
        return KV_NONE;
    v->ttl_ms = ttl_left(exp, now, host_held(&h));
    host_fields_each(&h, view_field_cb, v);
    view_add_user(c, v, h.ipver, h.addr, NULL, 0);
    return KV_HASH;
}

static enum kv_type view_mac(struct cache *c, const char *key, size_t len, struct kv_view *v, uint64_t now)
{
    uint8_t mac[6];
    struct mac_entry m;
    if (mac_parse_canonical(key, len, mac) != 0 || cache_mac_get(c, mac, &m) != 0)
        return KV_NONE;
    uint64_t exp = mac_expire_at(&c->cfg, &m);
    if (exp <= now)
        return KV_NONE;
    v->ttl_ms = ttl_left(exp, now, 0);
    mac_fields_each(&m, view_field_cb, v);
    return KV_HASH;
}

/* Parses a decimal id without leading zeros; -1 when not canonical. */
static long parse_id(const char *s, size_t len, long max)
{
    long v = 0;
    if (len == 0 || len > 6 || (len > 1 && s[0] == '0'))
        return -1;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v <= max ? v : -1;
}

static enum kv_type view_aggr(struct cache *c, enum cache_table t, const char *key, size_t len,
                              struct kv_view *v, uint64_t now)
{
    long id = t == CT_VLAN ? parse_id(key, len, VLAN_MAX - 1)
            : t == CT_PORT ? port_key_parse(key, len) : l7_id_by_name(key, len);
    struct aggr a;
    if (id < 0 || cache_aggr_get(c, t, (unsigned)id, &a) != 0)
        return KV_NONE;
    v->ttl_ms = ttl_left(a.last_us + c->cfg.host_idle_us, now, a.flows_active > 0);
    aggr_fields_each(t, &a, view_field_cb, v);
    return KV_HASH;
}

static void view_u64(struct kv_view *v, const char *name, uint64_t val)
{
    char buf[24];
    view_field_cb(v, name, buf, (size_t)snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val), 1);
}

/* A latency aggregate's fields (capture/cache/latency.h), once it has a sample:
 * <what>.us.sum, <what>.count and the buckets that counted something. */
static void view_lat(struct kv_view *v, const char *what, const struct lat_hist *h)
{
    char name[40];
    if (!h->count)
        return;
    snprintf(name, sizeof(name), "%s.us.sum", what);
    view_u64(v, name, h->sum_us);
    snprintf(name, sizeof(name), "%s.count", what);
    view_u64(v, name, h->count);
    for (unsigned i = 0; i < LAT_BUCKETS; i++)
        if (h->le[i]) {
            snprintf(name, sizeof(name), "%s.le.%s", what, lat_bucket_name(i));
            view_u64(v, name, h->le[i]);
        }
}

static void view_dns(struct kv_view *v, const struct dns_stats *d)
{
    char name[40], tb[DNS_TYPE_NAME_MAX], rb[DNS_RCODE_NAME_MAX];
    view_u64(v, "queries", d->queries);
    view_u64(v, "responses", d->responses);
    view_u64(v, "nxdomain", d->nxdomain);
    for (unsigned i = 0; i < DNS_RCODES; i++)
        if (d->rcode[i]) {
            snprintf(name, sizeof(name), "rcode.%s", dns_rcode_name((uint8_t)i, rb));
            view_u64(v, name, d->rcode[i]);
        }
    for (unsigned i = 0; i < d->nqtypes; i++) {
        snprintf(name, sizeof(name), "qtype.%s", dns_qtype_name(d->qtype[i], tb));
        view_u64(v, name, d->qtype_n[i]);
    }
    if (d->rtt.count)
        view_u64(v, "rtt.us.avg", d->rtt.sum_us / d->rtt.count);
    view_lat(v, "rtt", &d->rtt);
}

static void view_user(struct kv_view *v, const struct user_info *u)
{
    char a[ADDR_STR_MAX], t[32];
    if (u->has_ip) {
        addr_format(u->ipver, u->ip, a);
        view_field_cb(v, "ip", a, strlen(a), 0);
    }
    if (u->has_nas) {
        addr_format(u->nas_ver, u->nas, a);
        view_field_cb(v, "nas", a, strlen(a), 0);
    }
    view_field_cb(v, "session", u->session, strlen(u->session), 0);
    view_field_cb(v, "login", t, time_format(u->login_us, t), 1);
    if (u->logout_us)
        view_field_cb(v, "logout", t, time_format(u->logout_us, t), 1);
}

static enum kv_type view_name(struct cache *c, enum name_kind k, const char *key, size_t len,
                              struct kv_view *v, uint64_t now)
{
    union { struct name_entry e; char raw[sizeof(struct name_entry) + NAME_MAX_LEN + 1]; } u;
    if (names_get(c, k, key, len, &u.e) != 0)
        return KV_NONE;
    uint64_t exp = name_expire_at(&c->cfg, &u.e);
    v->ttl_ms = exp ? ttl_left(exp, now, 0) : -1;
    switch (k) {
    case NK_DNS: view_dns(v, &u.e.u.dns); break;
    case NK_HTTP:
        view_u64(v, "requests", u.e.u.http.requests);
        for (unsigned i = 2; i <= 5; i++) {
            char name[16];
            snprintf(name, sizeof(name), "status.%uxx", i);
            view_u64(v, name, u.e.u.http.status[i]);
        }
        view_lat(v, "service", &u.e.u.http.service);
        break;
    case NK_TLS:
        view_u64(v, "flows", u.e.u.tls.flows);
        view_u64(v, "bytes", u.e.u.tls.bytes);
        break;
    case NK_USER: view_user(v, &u.e.u.user); break;
    case NK_IPUSER:
        sbuf_appends(&v->data, u.e.u.ipuser.user);
        return KV_STRING;
    case NK_SIP: case NK_SNMP: {
        struct field_text t = { view_field_cb, v };
        const struct field_visitor fv = field_visitor_text(&t);
        if (k == NK_SIP)
            sip_call_fields_visit(&u.e.u.sip, &fv);
        else
            snmp_fields_visit(&u.e.u.snmp, &fv);
        break;
    }
    default: return KV_NONE;
    }
    return KV_HASH;
}

static void watch_member_cb(void *arg, const char *text)
{
    view_field_cb(arg, text, "", 0, 0);
}

static enum kv_type view_watchlist(struct cache *c, struct kv_view *v)
{
    if (!c->wl)
        return KV_NONE;
    watchlist_each(c->wl, watch_member_cb, v);
    return v->nfields ? KV_SET : KV_NONE;
}

enum kv_type keyspace_lookup(struct cache *c, const char *key, size_t len, struct kv_view *v)
{
    uint64_t now = cache_now(c);
    v->nfields = 0;
    v->ttl_ms = -1;
    sbuf_reset(&v->data);
    v->type = KV_NONE;
    if (len == sizeof(watchlist_key) - 1 && memcmp(key, watchlist_key, len) == 0)
        return v->type = view_watchlist(c, v);
    for (size_t i = 0; i < NFAMILIES; i++) {
        if (len <= families[i].len || key[0] != families[i].prefix[0] ||
            memcmp(key, families[i].prefix, families[i].len) != 0)
            continue;
        const char *rest = key + families[i].len;
        size_t rlen = len - families[i].len;
        switch (families[i].table) {
        case CT_FLOW: v->type = view_flow(c, key, len, v, now); break;
        case CT_HOST: v->type = view_host(c, rest, rlen, v, now); break;
        case CT_MAC: v->type = view_mac(c, rest, rlen, v, now); break;
        case CT_NAME: v->type = view_name(c, (enum name_kind)families[i].kind, rest, rlen, v, now); break;
        default: v->type = view_aggr(c, families[i].table, rest, rlen, v, now); break;
        }
        break;
    }
    if (v->data.oom)
        v->type = KV_NONE;
    return v->type;
}

/* ---- enumeration ---- */

/* Binary copies of the live keys of one lock hold, taken under the shard lock. */
struct key_copy {
    enum cache_table t;
    union {
        struct flow_key fk;
        struct { uint8_t ver, addr[16]; } h;
        uint8_t mac[6];
        struct { uint8_t kind; uint16_t len; char name[NAME_MAX_LEN + 1]; } nm;
    } u;
};

struct copy_buf {
    struct key_copy *v;
    size_t n, cap;                   /* n: the live entries copied (or counted) */
    enum cache_table t;
    const struct cache_config *cfg;
    int kind;                        /* CT_NAME: the name kind wanted */
    int count_only;                  /* count the live entries, copy nothing */
    uint64_t now;
};

/* The copies' storage, kept from one KEYS or SCAN to the next so that a call
 * neither allocates nor grows it under a shard lock: loop-thread state. */
static struct key_copy *spare_copies;
static size_t spare_copies_cap;

static void copy_buf_init(struct copy_buf *b, struct cache *c)
{
    memset(b, 0, sizeof(*b));
    b->cfg = &c->cfg;
    b->v = spare_copies;
    b->cap = spare_copies_cap;
    spare_copies = NULL;
    spare_copies_cap = 0;
    if (b->cap < 2 * HOLD_ENTRIES) {         /* one hold copies HOLD_ENTRIES and a bucket's chain */
        struct key_copy *nv = realloc(b->v, 2 * HOLD_ENTRIES * sizeof(*nv));
        if (nv) {
            b->v = nv;
            b->cap = 2 * HOLD_ENTRIES;
        }
    }
}

static void copy_buf_done(struct copy_buf *b)
{
    free(spare_copies);
    spare_copies = b->v;
    spare_copies_cap = b->cap;
}

/* Is entry e of table b->t live at b->now, as a lookup of its key would find it? */
static int entry_live(const struct copy_buf *b, const struct centry *e)
{
    switch (b->t) {
    case CT_FLOW: return flow_expire_at(b->cfg, (const struct flow *)e) > b->now;
    case CT_HOST: {
        const struct host *h = (const struct host *)e;
        return host_expire_at(b->cfg, h) > b->now || host_held(h);
    }
    case CT_MAC: return mac_expire_at(b->cfg, (const struct mac_entry *)e) > b->now;
    default: return name_alive(b->cfg, (const struct name_entry *)e, b->now);
    }
}

/* cache_walk_fn: copies (or counts) the key of a live entry of the wanted
 * kind; returns 1 when the entry is of that kind, live or not. */
static int copy_cb(const struct centry *e, void *arg)
{
    struct copy_buf *b = arg;
    if (b->t == CT_NAME && ((const struct name_entry *)e)->kind != b->kind)
        return 0;
    if (!entry_live(b, e))
        return 1;                    /* expired, waiting for the sweeper: invisible */
    if (b->count_only) {
        b->n++;
        return 1;
    }
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 512;
        struct key_copy *nv = realloc(b->v, ncap * sizeof(*nv));
        if (!nv)
            return 1;
        b->v = nv;
        b->cap = ncap;
    }
    struct key_copy *k = &b->v[b->n++];
    k->t = b->t;
    if (b->t == CT_FLOW) {
        k->u.fk = ((const struct flow *)e)->key;
    } else if (b->t == CT_HOST) {
        const struct host *h = (const struct host *)e;
        k->u.h.ver = h->ipver;
        memcpy(k->u.h.addr, h->addr, 16);
    } else if (b->t == CT_MAC) {
        memcpy(k->u.mac, ((const struct mac_entry *)e)->mac, 6);
    } else {
        const struct name_entry *n = (const struct name_entry *)e;
        k->u.nm.kind = n->kind;
        k->u.nm.len = n->len;
        memcpy(k->u.nm.name, n->name, n->len);
        k->u.nm.name[n->len] = '\0';
    }
    return 1;
}

static size_t key_copy_format(const struct key_copy *k, char *out)
{
    char a[ADDR_STR_MAX];
    switch (k->t) {
    case CT_FLOW: return flow_key_format(&k->u.fk, out);
    case CT_HOST:
        addr_format(k->u.h.ver, k->u.h.addr, a);
        return (size_t)sprintf(out, "ip.%s", a);
    case CT_MAC:
        memcpy(out, "mac.", 4);
        mac_format(k->u.mac, out + 4);
        return 21;
    default:
        for (size_t i = 0; i < NFAMILIES; i++)
            if (families[i].kind == k->u.nm.kind) {
                memcpy(out, families[i].prefix, families[i].len);
                memcpy(out + families[i].len, k->u.nm.name, k->u.nm.len + 1u);
                return families[i].len + k->u.nm.len;
            }
        return 0;
    }
}

/* Can a key starting with prefix match a pattern whose literal prefix is pre? */
static int family_possible_key(const char *prefix, const char *pre, size_t plen)
{
    size_t len = strlen(prefix);
    size_t n = plen < len ? plen : len;
    return memcmp(pre, prefix, n) == 0;
}

static int family_possible(size_t fam, const char *pre, size_t plen)
{
    return family_possible_key(families[fam].prefix, pre, plen);
}

struct emit_ctx {
    const char *pat;
    size_t plen;
    enum kv_type type_filter;
    key_fn fn;
    void *arg;
    uint64_t now;
    uint64_t emitted;
    int count_only;                  /* DBSIZE: count the live entries, format no name */
};

static void emit_name_typed(struct emit_ctx *x, const char *name, size_t len, enum kv_type t)
{
    if (x->type_filter != KV_NONE && x->type_filter != t)
        return;
    if (x->pat && !glob_match(x->pat, x->plen, name, len, 0))
        return;
    x->fn(x->arg, name, len);
    x->emitted++;
}

static void emit_name(struct emit_ctx *x, const char *name, size_t len)
{
    enum kv_type t = KV_HASH;
    if (len >= 7 && memcmp(name, "ipuser.", 7) == 0)
        t = KV_STRING;
    else if (len == sizeof(watchlist_key) - 1 && memcmp(name, watchlist_key, len) == 0)
        t = KV_SET;
    emit_name_typed(x, name, len, t);
}

/* A position in the key families: the SCAN cursor unpacked. */
struct scan_pos { unsigned fam, shard; uint64_t pos; };

/* Cursor layout: family (4 bits) | shard (8 bits) | bucket or id (48 bits). */
#define CUR_FAM(cur) ((unsigned)((cur) >> 56) & 0xf)
#define CUR_SHARD(cur) ((unsigned)((cur) >> 48) & 0xff)
#define CUR_POS(cur) ((cur) & 0xffffffffffffULL)
#define CUR_MAKE(f, s, p) (((uint64_t)(f) << 56) | ((uint64_t)(s) << 48) | (uint64_t)(p))

static void pos_next_family(struct scan_pos *p)
{
    p->fam++;
    p->shard = 0;
    p->pos = 0;
}

/* Moves p to the first family at or after it whose keys can match: the
 * pattern's literal prefix and the TYPE wanted (KV_NONE: any). */
static void pos_skip_families(struct scan_pos *p, const char *pre, size_t prelen, enum kv_type type)
{
    while (p->fam < NFAMILIES && (!family_possible(p->fam, pre, prelen) ||
                                  (type != KV_NONE && type != families[p->fam].type)))
        pos_next_family(p);
}

/* One lock hold over a shard of family p->fam from bucket p->pos (cache_walk_step):
 * emits the live keys copied, adds the cost to *work and moves p on. */
static void emit_hold(struct cache *c, struct scan_pos *p, struct copy_buf *cb, struct emit_ctx *x,
                      uint64_t *work)
{
    char name[FLOW_KEY_NAME_MAX + NAME_MAX_LEN];
    struct cache_walk_info wi;
    cb->n = 0;
    cb->t = families[p->fam].table;
    cb->kind = families[p->fam].kind;
    cb->now = x->now;
    cb->count_only = x->count_only;
    uint32_t from = p->pos < UINT32_MAX ? (uint32_t)p->pos : UINT32_MAX;
    uint32_t next;
    if (cb->t == CT_NAME)
        next = names_walk_step(c, (enum name_kind)cb->kind, p->shard, from, HOLD_BUCKETS, HOLD_ENTRIES,
                               copy_cb, cb, &wi);
    else
        next = cache_walk_step(c, cb->t, p->shard, from, HOLD_BUCKETS, HOLD_ENTRIES, copy_cb, cb, &wi);
    if (cb->count_only)
        x->emitted += cb->n;
    for (size_t i = 0; i < cb->n && !cb->count_only; i++)
        emit_name(x, name, key_copy_format(&cb->v[i], name));
    *work += wi.buckets + (uint64_t)wi.entries * PASS_WORK + cb->n * families[p->fam].work;
    p->pos = next;
    if (next >= wi.nbuckets) {
        p->shard++;
        p->pos = 0;
    }
}

/* Emits the live keys of aggregate table t (CT_VLAN, CT_L7, CT_PORT) from id
 * `from` on; returns the work: the ids read. */
static uint64_t emit_aggrs(struct cache *c, enum cache_table t, uint64_t from, struct emit_ctx *x)
{
    enum { IDS_HOLD = 1024 };        /* ids read per hold of the aggregate lock */
    uint32_t ids[IDS_HOLD], at = from < UINT32_MAX ? (uint32_t)from : UINT32_MAX;
    unsigned n;
    char name[64];
    do {
        n = cache_aggr_live(c, t, at, ids, IDS_HOLD);
        for (unsigned i = 0; i < n; i++) {
            if (t == CT_L7 && ids[i] >= l7_count())
                continue;            /* an id nDPI does not name */
            int len = t == CT_VLAN ? snprintf(name, sizeof(name), "vlan.%u", ids[i])
                    : t == CT_PORT ? (int)port_key_format(ids[i], name)
                                   : snprintf(name, sizeof(name), "proto.%s", l7_name(ids[i]));
            emit_name(x, name, (size_t)len);
        }
        if (n)
            at = ids[n - 1] + 1;
    } while (n == IDS_HOLD);
    return cache_aggr_ids(t);
}

/* Walks family p->fam from p until the family ends (p then starts the next
 * one), *work reaches budget or `want` keys were emitted. An aggregate family
 * (a few thousand ids in one array) is emitted whole. */
static void walk_family(struct cache *c, struct scan_pos *p, struct copy_buf *cb, struct emit_ctx *x,
                        uint64_t *work, uint64_t budget, uint64_t want)
{
    enum cache_table t = families[p->fam].table;
    if (t == CT_VLAN || t == CT_L7 || t == CT_PORT) {
        *work += emit_aggrs(c, t, p->pos, x);
        pos_next_family(p);
        return;
    }
    while (p->shard < CACHE_SHARDS && *work < budget && x->emitted < want)
        emit_hold(c, p, cb, x, work);
    if (p->shard >= CACHE_SHARDS)
        pos_next_family(p);
}

/* ---- ip.<IPv4 prefix>: direct lookups instead of a walk ---- */

enum { HOST_ENUM_MAX = 65536 };

/* Octet values whose decimal text starts with p (length n). Returns how many. */
static int octets_with_prefix(const char *p, size_t n, uint8_t out[256])
{
    int k = 0;
    for (int v = 0; v < 256; v++) {
        char t[4];
        int tl = snprintf(t, sizeof(t), "%d", v);
        if ((size_t)tl >= n && memcmp(t, p, n) == 0)
            out[k++] = (uint8_t)v;
    }
    return k;
}

/* When every host key matching the prefix "ip.<text>" is an IPv4 address
 * starting with <text> and there are at most HOST_ENUM_MAX such addresses,
 * looks each one up directly (the key hierarchy as an index) and returns 1;
 * returns 0 when a walk is needed. */
static int keys_ipv4_prefix(struct cache *c, const char *pre, size_t prelen, struct emit_ctx *x)
{
    uint8_t fixed[4], cand[256];
    int nfixed = 0;
    if (prelen < 3 || memcmp(pre, "ip.", 3) != 0)
        return 0;
    const char *t = pre + 3, *end = pre + prelen;
    for (;;) {
        const char *dot = memchr(t, '.', (size_t)(end - t));
        if (!dot)
            break;
        long v = parse_id(t, (size_t)(dot - t), 255);
        if (v < 0 || nfixed == 3)
            return 0;
        fixed[nfixed++] = (uint8_t)v;
        t = dot + 1;
    }
    for (const char *q = t; q < end; q++)
        if (*q < '0' || *q > '9')
            return 0;
    int ncand = octets_with_prefix(t, (size_t)(end - t), cand);
    uint64_t total = (uint64_t)ncand;
    for (int i = nfixed + 1; i < 4; i++)
        total *= 256;
    if (total > HOST_ENUM_MAX)
        return 0;
    for (uint64_t i = 0; i < total; i++) {
        uint8_t addr[16] = { 0 };
        uint64_t r = i;
        memcpy(addr, fixed, (size_t)nfixed);
        for (int pos = 3; pos > nfixed; pos--, r /= 256)
            addr[pos] = (uint8_t)(r % 256);
        addr[nfixed] = cand[r];
        struct host h;
        if (cache_host_get(c, 4, addr, &h) != 0)
            continue;
        if (host_expire_at(&c->cfg, &h) <= x->now && !host_held(&h))
            continue;
        char name[ADDR_STR_MAX + 3] = "ip.";
        emit_name(x, name, 3 + addr_format(4, addr, name + 3));
    }
    return 1;
}

/* Every live key of the families a name starting with pre can be in, to x. */
static void keys_walk(struct cache *c, const char *pre, size_t prelen, struct emit_ctx *x)
{
    struct copy_buf cb;
    struct scan_pos p = { 0, 0, 0 };
    uint64_t work = 0;
    copy_buf_init(&cb, c);
    for (pos_skip_families(&p, pre, prelen, KV_NONE); p.fam < NFAMILIES;
         pos_skip_families(&p, pre, prelen, KV_NONE))
        walk_family(c, &p, &cb, x, &work, UINT64_MAX, UINT64_MAX);
    copy_buf_done(&cb);
    if (c->wl && family_possible_key(watchlist_key, pre, prelen) && watchlist_size(c->wl))
        emit_name(x, watchlist_key, sizeof(watchlist_key) - 1);
}

void keyspace_keys(struct cache *c, const char *pat, size_t plen, key_fn fn, void *arg)
{
    char pre[64];
    size_t prelen = glob_literal_prefix(pat, plen, pre, sizeof(pre));
    struct emit_ctx x = { pat, plen, KV_NONE, fn, arg, cache_now(c), 0, 0 };
    if (!keys_ipv4_prefix(c, pre, prelen, &x))
        keys_walk(c, pre, prelen, &x);
}

struct random_ctx { key_fn fn; void *arg; uint64_t n; };

/* keyspace_random's callback: counts the keys handed on. */
static void random_cb(void *arg, const char *key, size_t len)
{
    struct random_ctx *got = arg;
    got->n++;
    got->fn(got->arg, key, len);
}

uint64_t keyspace_scan(struct cache *c, uint64_t cursor, uint64_t count, const char *pat,
                       size_t plen, enum kv_type type_filter, key_fn fn, void *arg)
{
    struct emit_ctx x = { pat, plen, type_filter, fn, arg, cache_now(c), 0, 0 };
    struct copy_buf cb;
    struct scan_pos p = { CUR_FAM(cursor), CUR_SHARD(cursor), CUR_POS(cursor) };
    char pre[64] = "";
    size_t prelen = pat ? glob_literal_prefix(pat, plen, pre, sizeof(pre)) : 0;
    int started_inside = p.fam < NFAMILIES;
    if (cursor == 0 && keys_ipv4_prefix(c, pre, prelen, &x))
        return 0;                    /* ip.<IPv4 prefix>: every match in one step (COUNT is a hint) */
    if (count == 0)
        count = 10;
    /* Without MATCH or TYPE a page holds COUNT keys. With them, a page holds
     * whatever one call's work finds: they filter after the fetch, and a
     * pattern naming a family confines the walk to it, so most of it matches. */
    uint64_t want = pat || type_filter != KV_NONE ? UINT64_MAX : count;
    uint64_t budget = count > SCAN_WORK / KEY_WORK ? count * KEY_WORK : SCAN_WORK, work = 0;
    copy_buf_init(&cb, c);
    for (pos_skip_families(&p, pre, prelen, type_filter);
         p.fam < NFAMILIES && work < budget && x.emitted < want; pos_skip_families(&p, pre, prelen, type_filter))
        walk_family(c, &p, &cb, &x, &work, budget, want);
    copy_buf_done(&cb);
    if (p.fam >= NFAMILIES && started_inside && c->wl && watchlist_size(c->wl))
        emit_name(&x, watchlist_key, sizeof(watchlist_key) - 1);
    return p.fam >= NFAMILIES ? 0 : CUR_MAKE(p.fam, p.shard, p.pos);
}

void keyspace_random(struct cache *c, uint64_t r, key_fn fn, void *arg)
{
    /* SCAN steps from a random family, shard and bucket; once past the end, from the start */
    uint64_t start = CUR_MAKE(r % NFAMILIES, (r >> 8) % CACHE_SHARDS, (r >> 16) % 65536), cursor = start;
    struct random_ctx got = { fn, arg, 0 };
    int wrapped = 0;
    while (!got.n) {
        cursor = keyspace_scan(c, cursor, 1, NULL, 0, KV_NONE, random_cb, &got);
        if (cursor == 0 && wrapped++)
            return;
        if (wrapped && cursor >= start)
            return;
    }
}

static void count_cb(void *arg, const char *key, size_t len)
{
    (void)arg; (void)key; (void)len;
}

uint64_t keyspace_size(struct cache *c, uint64_t *expires)
{
    struct emit_ctx x = { NULL, 0, KV_NONE, count_cb, NULL, cache_now(c), 0, 1 };
    keys_walk(c, "", 0, &x);         /* what KEYS * lists, counted without making the names */
    if (expires)
        *expires = x.emitted;        /* every probe key is volatile */
    return x.emitted;
}
