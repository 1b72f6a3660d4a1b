/* cmd_keys.c - the read commands on keys: generic, strings, hashes, the watchlist set, KEYS/SCAN (loop thread). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "capture/cache/watchlist.h"
#include "resp/glob.h"
#include "server/commands/cmd_internal.h"
#include "server/core/server.h"
#include "server/log/log.h"

static void reply_view_missing_or_type(struct client *c, enum kv_type t)
{
    if (t == KV_NONE)
        resp_null(&c->out, c->proto);
    else
        resp_error(&c->out, err_wrongtype);
}

/* ---- keys ---- */

void cmd_dbsize(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_int(&c->out, (long long)keyspace_size(c->srv->cache, NULL));
}

void cmd_exists(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    long long n = 0;
    kv_view_init(&v);
    for (int i = 1; i < argc; i++)
        n += cmd_lookup(c, &argv[i], &v) != KV_NONE;
    kv_view_free(&v);
    resp_int(&c->out, n);
}

void cmd_type(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    resp_simple(&c->out, kv_type_name(cmd_lookup(c, &argv[1], &v)));
    kv_view_free(&v);
}

static void ttl_reply(struct client *c, struct resp_arg *key, int ms)
{
    struct kv_view v;
    kv_view_init(&v);
    if (cmd_lookup(c, key, &v) == KV_NONE)
        resp_int(&c->out, -2);
    else if (v.ttl_ms < 0)
        resp_int(&c->out, -1);
    else
        resp_int(&c->out, ms ? v.ttl_ms : (v.ttl_ms + 500) / 1000);
    kv_view_free(&v);
}

void cmd_ttl(struct client *c, int argc, struct resp_arg *argv) { (void)argc; ttl_reply(c, &argv[1], 0); }
void cmd_pttl(struct client *c, int argc, struct resp_arg *argv) { (void)argc; ttl_reply(c, &argv[1], 1); }

void cmd_get(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    enum kv_type t = cmd_lookup(c, &argv[1], &v);
    if (t == KV_STRING)
        resp_bulk(&c->out, v.data.buf, v.data.len);
    else
        reply_view_missing_or_type(c, t);
    kv_view_free(&v);
}

void cmd_strlen(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    enum kv_type t = cmd_lookup(c, &argv[1], &v);
    if (t == KV_STRING || t == KV_NONE)
        resp_int(&c->out, t == KV_STRING ? (long long)v.data.len : 0);
    else
        resp_error(&c->out, err_wrongtype);
    kv_view_free(&v);
}

void cmd_mget(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    kv_view_init(&v);
    resp_array(&c->out, argc - 1);
    for (int i = 1; i < argc; i++) {
        if (cmd_lookup(c, &argv[i], &v) == KV_STRING)
            resp_bulk(&c->out, v.data.buf, v.data.len);
        else
            resp_null(&c->out, c->proto);
    }
    kv_view_free(&v);
}

struct key_list { struct sbuf names; long long n; };

static void key_list_cb(void *arg, const char *key, size_t len)
{
    struct key_list *kl = arg;
    resp_bulk(&kl->names, key, len);
    kl->n++;
}

void cmd_keys(struct client *c, int argc, struct resp_arg *argv)
{
    struct key_list kl = { .n = 0 };
    (void)argc;
    sbuf_init(&kl.names);
    keyspace_keys(c->srv->cache, argv[1].ptr, argv[1].len, key_list_cb, &kl);
    resp_array(&c->out, kl.n);
    sbuf_append(&c->out, kl.names.buf, kl.names.len);
    sbuf_free(&kl.names);
}

/* Redis's parseScanCursorOrReply: strtoul, so a leading '+' or '-' is accepted ("-1" is 2^64-1). */
static int parse_cursor(const struct resp_arg *a, uint64_t *out)
{
    char *end;
    if (a->len == 0 || isspace((unsigned char)a->ptr[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(a->ptr, &end, 10);
    if (errno == ERANGE || *end || (size_t)(end - a->ptr) != a->len)
        return -1;
    *out = v;
    return 0;
}

/* Parses SCAN/HSCAN options from argv[from]; returns 0 or -1 (reply sent). */
static int scan_options(struct client *c, int argc, struct resp_arg *argv, int from, int allow_type,
                        const struct resp_arg **pat, long long *count, enum kv_type *type)
{
    for (int i = from; i < argc; i++) {
        const char *o = argv[i].ptr;
        if (!strcasecmp(o, "count") && i + 1 < argc) {
            if (cmd_parse_ll(&argv[++i], count) != 0) {
                resp_error(&c->out, err_notint);
                return -1;
            }
            if (*count < 1) {
                resp_error(&c->out, err_syntax);
                return -1;
            }
        } else if (!strcasecmp(o, "match") && i + 1 < argc) {
            *pat = &argv[++i];
        } else if (allow_type && !strcasecmp(o, "type") && i + 1 < argc) {
            const char *t = argv[++i].ptr;
            *type = !strcasecmp(t, "hash") ? KV_HASH : !strcasecmp(t, "string") ? KV_STRING
                  : !strcasecmp(t, "set") ? KV_SET : (enum kv_type)99;
        } else {
            resp_error(&c->out, err_syntax);
            return -1;
        }
    }
    return 0;
}

void cmd_scan(struct client *c, int argc, struct resp_arg *argv)
{
    uint64_t cursor;
    const struct resp_arg *pat = NULL;
    long long count = 10;
    enum kv_type type = KV_NONE;
    if (parse_cursor(&argv[1], &cursor) != 0) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    if (scan_options(c, argc, argv, 2, 1, &pat, &count, &type) != 0)
        return;
    struct key_list kl = { .n = 0 };
    sbuf_init(&kl.names);
    uint64_t next = keyspace_scan(c->srv->cache, cursor, (uint64_t)count, pat ? pat->ptr : NULL,
                                  pat ? pat->len : 0, type, key_list_cb, &kl);
    resp_array(&c->out, 2);
    char cur[24];
    snprintf(cur, sizeof(cur), "%llu", (unsigned long long)next);
    resp_bulks(&c->out, cur);
    resp_array(&c->out, kl.n);
    sbuf_append(&c->out, kl.names.buf, kl.names.len);
    sbuf_free(&kl.names);
}

/* ---- hashes ---- */

/* Looks up a hash; replies (empty / WRONGTYPE) and returns -1 when not one. */
static int hash_lookup(struct client *c, struct resp_arg *key, struct kv_view *v, void (*empty)(struct client *))
{
    enum kv_type t = cmd_lookup(c, key, v);
    if (t == KV_HASH)
        return 0;
    if (t == KV_NONE)
        empty(c);
    else
        resp_error(&c->out, err_wrongtype);
    return -1;
}

static void empty_map(struct client *c) { resp_map(&c->out, 0, c->proto); }
static void empty_array(struct client *c) { resp_array(&c->out, 0); }
static void empty_zero(struct client *c) { resp_int(&c->out, 0); }
static void empty_null(struct client *c) { resp_null(&c->out, c->proto); }

void cmd_hgetall(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    v.resp = 1;                      /* the view's data is the reply's body */
    if (hash_lookup(c, &argv[1], &v, empty_map) == 0) {
        resp_map(&c->out, v.nfields, c->proto);
        sbuf_append(&c->out, v.data.buf, v.data.len);
    }
    kv_view_free(&v);
}

static void hkeys_or_vals(struct client *c, struct resp_arg *key, int vals)
{
    struct kv_view v;
    kv_view_init(&v);
    if (hash_lookup(c, key, &v, empty_array) == 0) {
        resp_array(&c->out, v.nfields);
        for (uint32_t i = 0; i < v.nfields; i++) {
            if (vals) resp_bulk(&c->out, kv_val(&v, i), v.f[i].vlen);
            else resp_bulk(&c->out, kv_name(&v, i), v.f[i].nlen);
        }
    }
    kv_view_free(&v);
}

void cmd_hkeys(struct client *c, int argc, struct resp_arg *argv) { (void)argc; hkeys_or_vals(c, &argv[1], 0); }
void cmd_hvals(struct client *c, int argc, struct resp_arg *argv) { (void)argc; hkeys_or_vals(c, &argv[1], 1); }

void cmd_hlen(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_zero) == 0)
        resp_int(&c->out, v.nfields);
    kv_view_free(&v);
}

void cmd_hget(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_null) == 0) {
        int i = kv_find(&v, argv[2].ptr, argv[2].len);
        if (i < 0) resp_null(&c->out, c->proto);
        else resp_bulk(&c->out, kv_val(&v, (uint32_t)i), v.f[i].vlen);
    }
    kv_view_free(&v);
}

void cmd_hstrlen(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_zero) == 0) {
        int i = kv_find(&v, argv[2].ptr, argv[2].len);
        resp_int(&c->out, i < 0 ? 0 : (long long)v.f[i].vlen);
    }
    kv_view_free(&v);
}

void cmd_hexists(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_zero) == 0)
        resp_int(&c->out, kv_find(&v, argv[2].ptr, argv[2].len) >= 0);
    kv_view_free(&v);
}

void cmd_hmget(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    kv_view_init(&v);
    enum kv_type t = cmd_lookup(c, &argv[1], &v);
    if (t != KV_NONE && t != KV_HASH) {
        resp_error(&c->out, err_wrongtype);
    } else {
        resp_array(&c->out, argc - 2);
        for (int a = 2; a < argc; a++) {
            int i = t == KV_HASH ? kv_find(&v, argv[a].ptr, argv[a].len) : -1;
            if (i < 0) resp_null(&c->out, c->proto);
            else resp_bulk(&c->out, kv_val(&v, (uint32_t)i), v.f[i].vlen);
        }
    }
    kv_view_free(&v);
}

void cmd_hscan(struct client *c, int argc, struct resp_arg *argv)
{
    uint64_t cursor;
    const struct resp_arg *pat = NULL;
    long long count = 10;
    enum kv_type type = KV_NONE;
    struct kv_view v;
    if (parse_cursor(&argv[2], &cursor) != 0) {
        resp_error(&c->out, "ERR invalid cursor");
        return;
    }
    if (scan_options(c, argc, argv, 3, 0, &pat, &count, &type) != 0)
        return;
    kv_view_init(&v);
    enum kv_type t = cmd_lookup(c, &argv[1], &v);
    if (t != KV_NONE && t != KV_HASH) {
        resp_error(&c->out, err_wrongtype);
    } else {
        uint32_t n = 0;
        for (uint32_t i = 0; t == KV_HASH && i < v.nfields; i++)
            n += !pat || glob_match(pat->ptr, pat->len, kv_name(&v, i), v.f[i].nlen, 0);
        resp_array(&c->out, 2);
        resp_bulks(&c->out, "0");
        resp_array(&c->out, (long long)n * 2);
        for (uint32_t i = 0; t == KV_HASH && i < v.nfields; i++) {
            if (pat && !glob_match(pat->ptr, pat->len, kv_name(&v, i), v.f[i].nlen, 0))
                continue;
            resp_bulk(&c->out, kv_name(&v, i), v.f[i].nlen);
            resp_bulk(&c->out, kv_val(&v, i), v.f[i].vlen);
        }
    }
    kv_view_free(&v);
}

/* ---- sets: the watchlist (members are the view's field names) ---- */

enum set_op { SET_MEMBERS, SET_CARD, SET_ISMEMBER };

static void set_reply(struct client *c, struct resp_arg *argv, enum set_op op)
{
    struct kv_view v;
    kv_view_init(&v);
    enum kv_type t = cmd_lookup(c, &argv[1], &v);
    if (t != KV_NONE && t != KV_SET) {
        resp_error(&c->out, err_wrongtype);
    } else if (op == SET_MEMBERS) {
        resp_set(&c->out, v.nfields, c->proto);
        for (uint32_t i = 0; i < v.nfields; i++)
            resp_bulk(&c->out, kv_name(&v, i), v.f[i].nlen);
    } else if (op == SET_CARD) {
        resp_int(&c->out, v.nfields);
    } else {
        resp_int(&c->out, kv_find(&v, argv[2].ptr, argv[2].len) >= 0);
    }
    kv_view_free(&v);
}

void cmd_smembers(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_MEMBERS); }
void cmd_scard(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_CARD); }
void cmd_sismember(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_ISMEMBER); }

/* One entry added or removed here goes on to the shared list (its canonical text, or as it was given
 * when it is not an address: so that an entry the cloud holds in error can be removed). */
static void watchlist_share(struct client *c, const char *s, size_t len, int add)
{
    struct watch_entry e;
    if (!c->srv->watch_share)
        return;
    if (watch_entry_parse(s, len, &e) != 0) {
        if (add || len >= sizeof(e.text) || memchr(s, 0, len))
            return;
        memcpy(e.text, s, len);
        e.text[len] = 0;
    }
    c->srv->watch_share(c->srv->watch_share_arg, add, e.text);
}

/* SADD / SREM: the only writes accepted, and only on the watchlist key. */
static void watchlist_edit(struct client *c, int argc, struct resp_arg *argv, int add)
{
    struct watchlist *wl = &c->srv->wl;
    char err[256];
    long long changed = 0;
    if (strcmp(argv[1].ptr, "watchlist") != 0) {
        resp_error(&c->out, err_readonly);
        return;
    }
    if (!wl->path && !c->srv->watch_share) {
        resp_error(&c->out, "ERR no watchlist file is configured (directive 'watchlist')");
        return;
    }
    for (int i = 2; i < argc; i++) {
        struct watch_entry e;
        if (add && watch_entry_parse(argv[i].ptr, argv[i].len, &e) != 0) {
            cmd_error_arg(c, "ERR not an IP address or CIDR: '%.64s'", &argv[i]);
            return;
        }
    }
    for (int i = 2; i < argc; i++) {
        int rc = add ? watchlist_add(wl, argv[i].ptr, argv[i].len, err, sizeof(err))
                     : watchlist_remove(wl, argv[i].ptr, argv[i].len, err, sizeof(err));
        if (rc < 0) {
            log_msg(LL_WARNING, "%s watchlist refused: %s", add ? "SADD" : "SREM", err);
            char msg[300];
            snprintf(msg, sizeof(msg), "ERR %s", err);
            resp_error(&c->out, msg);     /* the path may hold any byte: CR/LF become spaces */
            return;
        }
        changed += rc;
        watchlist_share(c, argv[i].ptr, argv[i].len, add);
    }
    resp_int(&c->out, changed);
}

void cmd_sadd(struct client *c, int argc, struct resp_arg *argv) { watchlist_edit(c, argc, argv, 1); }
void cmd_srem(struct client *c, int argc, struct resp_arg *argv) { watchlist_edit(c, argc, argv, 0); }

/* MEMORY USAGE key [SAMPLES n]: an estimate of what Redis would use for the same value (listpack hash or
 * string: the bytes of names and values plus per-entry and per-key overhead). */
void cmd_memory_usage(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    long long samples;
    for (int i = 3; i < argc; i++) {
        if (!strcasecmp(argv[i].ptr, "samples") && i + 1 < argc) {
            if (cmd_parse_ll(&argv[++i], &samples) != 0) {
                resp_error(&c->out, err_notint);
                return;
            }
        } else {
            resp_error(&c->out, err_syntax);
            return;
        }
    }
    kv_view_init(&v);
    enum kv_type t = keyspace_lookup(c->srv->cache, argv[2].ptr, argv[2].len, &v);
    if (t == KV_NONE) {
        resp_null(&c->out, c->proto);
    } else {
        long long bytes = 56 + (long long)argv[2].len;
        if (t == KV_STRING)
            bytes += 16 + (long long)v.data.len;
        else
            bytes += 24 + (long long)v.data.len + 4LL * v.nfields;
        resp_int(&c->out, (bytes + 7) / 8 * 8);
    }
    kv_view_free(&v);
}
