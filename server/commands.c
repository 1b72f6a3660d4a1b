/* commands.c - the command table, its generic checks (arity, auth, read-only, pub/sub context) and the handlers (loop thread). */
#include "server/commands.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "resp/glob.h"
#include "server/info.h"
#include "capture/watchlist.h"
#include "server/keyspace.h"
#include "server/pubsub.h"
#include "server/server.h"

static const char err_wrongtype[] = "WRONGTYPE Operation against a key holding the wrong kind of value";
static const char err_readonly[] = "READONLY You can't write against a read only replica.";
static const char err_syntax[] = "ERR syntax error";
static const char err_notint[] = "ERR value is not an integer or out of range";

/* ---- helpers ---- */

static int parse_ll(const struct resp_arg *a, long long *out)
{
    char *end;
    if (a->len == 0 || a->len > 20 || isspace((unsigned char)a->ptr[0]))
        return -1;
    errno = 0;
    long long v = strtoll(a->ptr, &end, 10);
    if (errno || *end || (size_t)(end - a->ptr) != a->len)
        return -1;
    *out = v;
    return 0;
}

static void reply_view_missing_or_type(struct client *c, enum kv_type t, enum kv_type want)
{
    (void)want;
    if (t == KV_NONE)
        resp_null(&c->out, c->proto);
    else
        resp_error(&c->out, err_wrongtype);
}

/* Looks a key up, counting hits and misses. */
static enum kv_type lookup(struct client *c, const struct resp_arg *key, struct kv_view *v)
{
    enum kv_type t = keyspace_lookup(c->srv->cache, key->ptr, key->len, v);
    if (t == KV_NONE) c->srv->st.keyspace_misses++; else c->srv->st.keyspace_hits++;
    return t;
}

/* ---- connection ---- */

static void cmd_ping(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc > 2) {
        resp_error(&c->out, "ERR wrong number of arguments for 'ping' command");
        return;
    }
    if (c->proto == 2 && c->nsubs + c->npsubs > 0) {
        resp_array(&c->out, 2);
        resp_bulks(&c->out, "pong");
        resp_bulk(&c->out, argc == 2 ? argv[1].ptr : "", argc == 2 ? argv[1].len : 0);
    } else if (argc == 2) {
        resp_bulk(&c->out, argv[1].ptr, argv[1].len);
    } else {
        resp_simple(&c->out, "PONG");
    }
}

static void cmd_echo(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc;
    resp_bulk(&c->out, argv[1].ptr, argv[1].len);
}

static void cmd_quit(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_simple(&c->out, "OK");
    client_close_after_reply(c);
}

static void cmd_select(struct client *c, int argc, struct resp_arg *argv)
{
    long long db;
    (void)argc;
    if (parse_ll(&argv[1], &db) != 0)
        resp_error(&c->out, err_notint);
    else if (db != 0)
        resp_error(&c->out, "ERR DB index is out of range");
    else
        resp_simple(&c->out, "OK");
}

static void cmd_ok(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_simple(&c->out, "OK");
}

/* Constant-time comparison: time does not depend on where the strings differ. */
static int secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return diff == 0 && blen > 0;
}

static void cmd_auth(struct client *c, int argc, struct resp_arg *argv)
{
    const char *pass = c->srv->cfg->requirepass;
    if (argc > 3) {
        resp_error(&c->out, err_syntax);
        return;
    }
    if (!pass) {
        if (argc == 2)
            resp_error(&c->out, "ERR AUTH <password> called without any password configured for the "
                                "default user. Are you sure your configuration is correct?");
        else if (strcmp(argv[1].ptr, "default") == 0)
            resp_simple(&c->out, "OK");
        else
            resp_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
        return;
    }
    const struct resp_arg *p = &argv[argc - 1];
    int user_ok = argc == 2 || strcmp(argv[1].ptr, "default") == 0;
    if (user_ok && secret_equal(p->ptr, p->len, pass, strlen(pass))) {
        c->authenticated = 1;
        resp_simple(&c->out, "OK");
    } else {
        c->srv->st.auth_failures++;
        fprintf(stderr, "flowcached: AUTH failure from %s\n", c->addr);
        resp_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
    }
}

static void hello_reply(struct client *c)
{
    resp_map(&c->out, 7, c->proto);
    resp_bulks(&c->out, "server");
    resp_bulks(&c->out, "redis");
    resp_bulks(&c->out, "version");
    resp_bulks(&c->out, SERVER_VERSION);
    resp_bulks(&c->out, "proto");
    resp_int(&c->out, c->proto);
    resp_bulks(&c->out, "id");
    resp_int(&c->out, (long long)c->id);
    resp_bulks(&c->out, "mode");
    resp_bulks(&c->out, "standalone");
    resp_bulks(&c->out, "role");
    resp_bulks(&c->out, "master");
    resp_bulks(&c->out, "modules");
    resp_array(&c->out, 0);
}

static int name_valid(const struct resp_arg *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~')
            return 0;
    return 1;
}

static void client_set_name(struct client *c, const struct resp_arg *a)
{
    free(c->name);
    c->name = a->len ? strdup(a->ptr) : NULL;
}

static void cmd_hello(struct client *c, int argc, struct resp_arg *argv)
{
    long long ver = c->proto;
    int i = 1;
    if (argc >= 2) {
        if (parse_ll(&argv[1], &ver) != 0) {
            resp_error(&c->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            resp_error(&c->out, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
    const struct resp_arg *setname = NULL;
    for (; i < argc; i++) {
        if (!strcasecmp(argv[i].ptr, "AUTH") && i + 2 < argc) {
            struct resp_arg a[3] = { argv[i], argv[i + 1], argv[i + 2] };
            struct sbuf saved = c->out;
            sbuf_init(&c->out);
            cmd_auth(c, 3, a);
            int ok = c->out.len > 0 && c->out.buf[0] == '+';
            struct sbuf reply = c->out;
            c->out = saved;
            if (!ok) {
                sbuf_append(&c->out, reply.buf, reply.len);
                sbuf_free(&reply);
                return;
            }
            sbuf_free(&reply);
            i += 2;
        } else if (!strcasecmp(argv[i].ptr, "SETNAME") && i + 1 < argc) {
            setname = &argv[++i];
            if (!name_valid(setname)) {
                resp_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
        } else {
            sbuf_printf(&c->out, "-ERR Syntax error in HELLO option '%.128s'\r\n", argv[i].ptr);
            return;
        }
    }
    if (!c->authenticated) {
        resp_error(&c->out, "NOAUTH HELLO must be called with the client already authenticated, otherwise "
                            "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                            "client and select the RESP protocol version at the same time");
        return;
    }
    if (setname)
        client_set_name(c, setname);
    c->proto = (int)ver;
    hello_reply(c);
}

static void client_info_line(struct client *c, struct client *who, struct sbuf *b)
{
    uint64_t now = server_mstime();
    char flags[8] = "N";
    if (who->nsubs + who->npsubs > 0) strcpy(flags, "P");
    if (who->in_multi) strcpy(flags, "x");
    (void)c;
    sbuf_printf(b, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=0 sub=%d psub=%d "
                "ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=0 multi-mem=0 rbs=%d rbp=%d obl=%zu oll=0 "
                "omem=%llu tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d\n",
                (unsigned long long)who->id, who->addr, who->laddr, who->fd, who->name ? who->name : "",
                (unsigned long long)(now - who->ctime_ms) / 1000, (unsigned long long)(now - who->last_ms) / 1000,
                flags, who->nsubs, who->npsubs, who->in_multi ? who->mq_n : -1,
                resp_reader_pending(&who->rd), who->rd.cap - who->rd.len, 16384, 16384, who->out.len,
                (unsigned long long)who->out_inflight, sizeof(*who) + who->rd.cap + who->out.cap,
                who->last_cmd[0] ? who->last_cmd : "NULL", who->proto);
}

static void cmd_client(struct client *c, int argc, struct resp_arg *argv)
{
    const char *sub = argv[1].ptr;
    struct sbuf b;
    if (!strcasecmp(sub, "id") && argc == 2) {
        resp_int(&c->out, (long long)c->id);
    } else if (!strcasecmp(sub, "getname") && argc == 2) {
        if (c->name) resp_bulks(&c->out, c->name); else resp_null(&c->out, c->proto);
    } else if (!strcasecmp(sub, "setname") && argc == 3) {
        if (!name_valid(&argv[2])) {
            resp_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
            return;
        }
        client_set_name(c, &argv[2]);
        resp_simple(&c->out, "OK");
    } else if (!strcasecmp(sub, "setinfo") && argc == 4) {
        char **slot = !strcasecmp(argv[2].ptr, "lib-name") ? &c->lib_name
                    : !strcasecmp(argv[2].ptr, "lib-ver") ? &c->lib_ver : NULL;
        if (!slot) {
            sbuf_printf(&c->out, "-ERR Unrecognized option '%.128s'\r\n", argv[2].ptr);
            return;
        }
        free(*slot);
        *slot = strdup(argv[3].ptr);
        resp_simple(&c->out, "OK");
    } else if ((!strcasecmp(sub, "list") && argc == 2) || (!strcasecmp(sub, "info") && argc == 2)) {
        sbuf_init(&b);
        if (!strcasecmp(sub, "info"))
            client_info_line(c, c, &b);
        else
            for (struct client *o = c->srv->clients; o; o = o->next)
                client_info_line(c, o, &b);
        resp_verbatim(&c->out, b.buf ? b.buf : "", b.len, c->proto);
        sbuf_free(&b);
    } else if (!strcasecmp(sub, "setname") || !strcasecmp(sub, "getname") || !strcasecmp(sub, "id") ||
               !strcasecmp(sub, "list") || !strcasecmp(sub, "info") || !strcasecmp(sub, "setinfo")) {
        char lower[32];
        size_t n = 0;
        for (; sub[n] && n < sizeof(lower) - 1; n++)
            lower[n] = (char)tolower((unsigned char)sub[n]);
        lower[n] = '\0';
        sbuf_printf(&c->out, "-ERR wrong number of arguments for 'client|%s' command\r\n", lower);
    } else {
        sbuf_printf(&c->out, "-ERR unknown subcommand '%.128s'. Try CLIENT HELP.\r\n", sub);
    }
}

/* ---- keys ---- */

static void cmd_dbsize(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_int(&c->out, (long long)keyspace_size(c->srv->cache, NULL));
}

static void cmd_exists(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    long long n = 0;
    kv_view_init(&v);
    for (int i = 1; i < argc; i++)
        n += lookup(c, &argv[i], &v) != KV_NONE;
    kv_view_free(&v);
    resp_int(&c->out, n);
}

static void cmd_type(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    resp_simple(&c->out, kv_type_name(lookup(c, &argv[1], &v)));
    kv_view_free(&v);
}

static void ttl_reply(struct client *c, struct resp_arg *key, int ms)
{
    struct kv_view v;
    kv_view_init(&v);
    if (lookup(c, key, &v) == KV_NONE)
        resp_int(&c->out, -2);
    else if (v.ttl_ms < 0)
        resp_int(&c->out, -1);
    else
        resp_int(&c->out, ms ? v.ttl_ms : (v.ttl_ms + 500) / 1000);
    kv_view_free(&v);
}

static void cmd_ttl(struct client *c, int argc, struct resp_arg *argv) { (void)argc; ttl_reply(c, &argv[1], 0); }
static void cmd_pttl(struct client *c, int argc, struct resp_arg *argv) { (void)argc; ttl_reply(c, &argv[1], 1); }

static void cmd_get(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    enum kv_type t = lookup(c, &argv[1], &v);
    if (t == KV_STRING)
        resp_bulk(&c->out, v.data.buf, v.data.len);
    else
        reply_view_missing_or_type(c, t, KV_STRING);
    kv_view_free(&v);
}

static void cmd_strlen(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    enum kv_type t = lookup(c, &argv[1], &v);
    if (t == KV_STRING || t == KV_NONE)
        resp_int(&c->out, t == KV_STRING ? (long long)v.data.len : 0);
    else
        resp_error(&c->out, err_wrongtype);
    kv_view_free(&v);
}

static void cmd_mget(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    kv_view_init(&v);
    resp_array(&c->out, argc - 1);
    for (int i = 1; i < argc; i++) {
        if (lookup(c, &argv[i], &v) == KV_STRING)
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

static void cmd_keys(struct client *c, int argc, struct resp_arg *argv)
{
    struct key_list kl = { .n = 0 };
    (void)argc;
    sbuf_init(&kl.names);
    keyspace_keys(c->srv->cache, argv[1].ptr, argv[1].len, key_list_cb, &kl);
    resp_array(&c->out, kl.n);
    sbuf_append(&c->out, kl.names.buf, kl.names.len);
    sbuf_free(&kl.names);
}

static int parse_cursor(const struct resp_arg *a, uint64_t *out)
{
    char *end;
    if (a->len == 0 || a->len > 20 || !isdigit((unsigned char)a->ptr[0]))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(a->ptr, &end, 10);
    if (errno || *end)
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
            if (parse_ll(&argv[++i], count) != 0) {
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

static void cmd_scan(struct client *c, int argc, struct resp_arg *argv)
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
    uint64_t next = cursor;
    if (type == KV_NONE || type == KV_HASH)
        next = keyspace_scan(c->srv->cache, cursor, (uint64_t)count, pat ? pat->ptr : NULL,
                             pat ? pat->len : 0, type, key_list_cb, &kl);
    else
        next = keyspace_scan(c->srv->cache, cursor, (uint64_t)count, "", 0, type, key_list_cb, &kl);
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
    enum kv_type t = lookup(c, key, v);
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

static void cmd_hgetall(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_map) == 0) {
        resp_map(&c->out, v.nfields, c->proto);
        for (uint32_t i = 0; i < v.nfields; i++) {
            resp_bulk(&c->out, kv_name(&v, i), v.f[i].nlen);
            resp_bulk(&c->out, kv_val(&v, i), v.f[i].vlen);
        }
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

static void cmd_hkeys(struct client *c, int argc, struct resp_arg *argv) { (void)argc; hkeys_or_vals(c, &argv[1], 0); }
static void cmd_hvals(struct client *c, int argc, struct resp_arg *argv) { (void)argc; hkeys_or_vals(c, &argv[1], 1); }

static void cmd_hlen(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_zero) == 0)
        resp_int(&c->out, v.nfields);
    kv_view_free(&v);
}

static void cmd_hget(struct client *c, int argc, struct resp_arg *argv)
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

static void cmd_hstrlen(struct client *c, int argc, struct resp_arg *argv)
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

static void cmd_hexists(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    (void)argc;
    kv_view_init(&v);
    if (hash_lookup(c, &argv[1], &v, empty_zero) == 0)
        resp_int(&c->out, kv_find(&v, argv[2].ptr, argv[2].len) >= 0);
    kv_view_free(&v);
}

static void cmd_hmget(struct client *c, int argc, struct resp_arg *argv)
{
    struct kv_view v;
    kv_view_init(&v);
    enum kv_type t = lookup(c, &argv[1], &v);
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

static void cmd_hscan(struct client *c, int argc, struct resp_arg *argv)
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
    enum kv_type t = lookup(c, &argv[1], &v);
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
    enum kv_type t = lookup(c, &argv[1], &v);
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

static void cmd_smembers(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_MEMBERS); }
static void cmd_scard(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_CARD); }
static void cmd_sismember(struct client *c, int argc, struct resp_arg *argv) { (void)argc; set_reply(c, argv, SET_ISMEMBER); }

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
    if (!wl->path) {
        resp_error(&c->out, "ERR no watchlist file is configured (directive 'watchlist')");
        return;
    }
    for (int i = 2; i < argc; i++) {
        struct watch_entry e;
        if (add && watch_entry_parse(argv[i].ptr, argv[i].len, &e) != 0) {
            sbuf_printf(&c->out, "-ERR not an IP address or CIDR: '%.64s'\r\n", argv[i].ptr);
            return;
        }
    }
    for (int i = 2; i < argc; i++) {
        int rc = add ? watchlist_add(wl, argv[i].ptr, argv[i].len, err, sizeof(err))
                     : watchlist_remove(wl, argv[i].ptr, argv[i].len, err, sizeof(err));
        if (rc < 0) {
            sbuf_printf(&c->out, "-ERR %s\r\n", err);
            return;
        }
        changed += rc;
    }
    resp_int(&c->out, changed);
}

static void cmd_sadd(struct client *c, int argc, struct resp_arg *argv) { watchlist_edit(c, argc, argv, 1); }
static void cmd_srem(struct client *c, int argc, struct resp_arg *argv) { watchlist_edit(c, argc, argv, 0); }

/* ---- server ---- */

static void cmd_info(struct client *c, int argc, struct resp_arg *argv)
{
    struct sbuf b;
    sbuf_init(&b);
    info_render(c->srv, argc, argv, &b);
    resp_verbatim(&c->out, b.buf ? b.buf : "", b.len, c->proto);
    sbuf_free(&b);
}

static void cmd_time(struct client *c, int argc, struct resp_arg *argv)
{
    struct timespec ts;
    char buf[24];
    (void)argc; (void)argv;
    clock_gettime(CLOCK_REALTIME, &ts);
    resp_array(&c->out, 2);
    snprintf(buf, sizeof(buf), "%lld", (long long)ts.tv_sec);
    resp_bulks(&c->out, buf);
    snprintf(buf, sizeof(buf), "%ld", ts.tv_nsec / 1000);
    resp_bulks(&c->out, buf);
}

struct config_get_ctx { struct client *c; struct resp_arg *argv; int argc; struct sbuf items; long long n; };

static void config_get_cb(void *arg, const char *name, const char *val)
{
    struct config_get_ctx *x = arg;
    for (int i = 2; i < x->argc; i++)
        if (glob_match(x->argv[i].ptr, x->argv[i].len, name, strlen(name), 1)) {
            resp_bulks(&x->items, name);
            resp_bulks(&x->items, val);
            x->n++;
            return;
        }
}

static void cmd_config(struct client *c, int argc, struct resp_arg *argv)
{
    const char *sub = argv[1].ptr;
    if (!strcasecmp(sub, "get") && argc >= 3) {
        struct config_get_ctx x = { c, argv, argc, { 0 }, 0 };
        sbuf_init(&x.items);
        config_each(c->srv->cfg, config_get_cb, &x);
        resp_map(&c->out, x.n, c->proto);
        sbuf_append(&c->out, x.items.buf, x.items.len);
        sbuf_free(&x.items);
    } else if (!strcasecmp(sub, "get")) {
        resp_error(&c->out, "ERR wrong number of arguments for 'config|get' command");
    } else if (!strcasecmp(sub, "resetstat") && argc == 2) {
        resp_simple(&c->out, "OK");
    } else {
        sbuf_printf(&c->out, "-ERR unknown subcommand '%.128s'. Try CONFIG HELP.\r\n", sub);
    }
}

static void cmd_command(struct client *c, int argc, struct resp_arg *argv);

/* ---- the table ---- */

#define R CMD_READONLY
#define W CMD_WRITE
#define F CMD_FAST
#define PS CMD_PUBSUB
#define NA CMD_NOAUTH
static const struct command table[] = {
    { "ping", cmd_ping, -1, F | PS, 0, 0, 0 },
    { "echo", cmd_echo, 2, F, 0, 0, 0 },
    { "quit", cmd_quit, -1, PS | NA, 0, 0, 0 },
    { "reset", NULL, 1, PS | NA, 0, 0, 0 },
    { "select", cmd_select, 2, F | CMD_LOADING, 0, 0, 0 },
    { "auth", cmd_auth, -2, NA | F, 0, 0, 0 },
    { "hello", cmd_hello, -1, NA | F, 0, 0, 0 },
    { "client", cmd_client, -2, 0, 0, 0, 0 },
    { "info", cmd_info, -1, CMD_LOADING | CMD_STALE, 0, 0, 0 },
    { "dbsize", cmd_dbsize, 1, R | F, 0, 0, 0 },
    { "time", cmd_time, 1, F, 0, 0, 0 },
    { "config", cmd_config, -2, CMD_ADMIN, 0, 0, 0 },
    { "command", cmd_command, -1, 0, 0, 0, 0 },
    { "exists", cmd_exists, -2, R | F, 1, -1, 1 },
    { "type", cmd_type, 2, R | F, 1, 1, 1 },
    { "ttl", cmd_ttl, 2, R | F, 1, 1, 1 },
    { "pttl", cmd_pttl, 2, R | F, 1, 1, 1 },
    { "get", cmd_get, 2, R | F, 1, 1, 1 },
    { "mget", cmd_mget, -2, R | F, 1, -1, 1 },
    { "strlen", cmd_strlen, 2, R | F, 1, 1, 1 },
    { "keys", cmd_keys, 2, R, 0, 0, 0 },
    { "scan", cmd_scan, -2, R, 0, 0, 0 },
    { "hgetall", cmd_hgetall, 2, R, 1, 1, 1 },
    { "hget", cmd_hget, 3, R | F, 1, 1, 1 },
    { "hmget", cmd_hmget, -3, R | F, 1, 1, 1 },
    { "hkeys", cmd_hkeys, 2, R, 1, 1, 1 },
    { "hvals", cmd_hvals, 2, R, 1, 1, 1 },
    { "hlen", cmd_hlen, 2, R | F, 1, 1, 1 },
    { "hexists", cmd_hexists, 3, R | F, 1, 1, 1 },
    { "hstrlen", cmd_hstrlen, 3, R | F, 1, 1, 1 },
    { "hscan", cmd_hscan, -3, R, 1, 1, 1 },
    { "smembers", cmd_smembers, 2, R, 1, 1, 1 },
    { "scard", cmd_scard, 2, R | F, 1, 1, 1 },
    { "sismember", cmd_sismember, 3, R | F, 1, 1, 1 },
    { "subscribe", pubsub_cmd_subscribe, -2, PS, 0, 0, 0 },
    { "unsubscribe", pubsub_cmd_unsubscribe, -1, PS, 0, 0, 0 },
    { "psubscribe", pubsub_cmd_psubscribe, -2, PS, 0, 0, 0 },
    { "punsubscribe", pubsub_cmd_punsubscribe, -1, PS, 0, 0, 0 },
    { "publish", pubsub_cmd_publish, 3, F, 0, 0, 0 },
    { "pubsub", pubsub_cmd_pubsub, -2, 0, 0, 0, 0 },
    { "flushall", cmd_ok, -1, W, 0, 0, 0 },
    { "flushdb", cmd_ok, -1, W, 0, 0, 0 },
    /* writes: answered READONLY after the arity check, as a read-only replica does */
    { "set", NULL, -3, W, 1, 1, 1 }, { "setnx", NULL, 3, W, 1, 1, 1 }, { "setex", NULL, 4, W, 1, 1, 1 },
    { "psetex", NULL, 4, W, 1, 1, 1 }, { "getset", NULL, 3, W, 1, 1, 1 }, { "getdel", NULL, 2, W, 1, 1, 1 },
    { "getex", NULL, -2, W, 1, 1, 1 }, { "append", NULL, 3, W, 1, 1, 1 }, { "incr", NULL, 2, W, 1, 1, 1 },
    { "decr", NULL, 2, W, 1, 1, 1 }, { "incrby", NULL, 3, W, 1, 1, 1 }, { "decrby", NULL, 3, W, 1, 1, 1 },
    { "incrbyfloat", NULL, 3, W, 1, 1, 1 }, { "mset", NULL, -3, W, 1, -1, 2 }, { "msetnx", NULL, -3, W, 1, -1, 2 },
    { "del", NULL, -2, W, 1, -1, 1 }, { "unlink", NULL, -2, W, 1, -1, 1 }, { "expire", NULL, -3, W, 1, 1, 1 },
    { "pexpire", NULL, -3, W, 1, 1, 1 }, { "expireat", NULL, -3, W, 1, 1, 1 }, { "pexpireat", NULL, -3, W, 1, 1, 1 },
    { "persist", NULL, 2, W, 1, 1, 1 }, { "rename", NULL, 3, W, 1, 2, 1 }, { "renamenx", NULL, 3, W, 1, 2, 1 },
    { "hset", NULL, -4, W, 1, 1, 1 }, { "hsetnx", NULL, 4, W, 1, 1, 1 }, { "hmset", NULL, -4, W, 1, 1, 1 },
    { "hdel", NULL, -3, W, 1, 1, 1 }, { "hincrby", NULL, 4, W, 1, 1, 1 }, { "hincrbyfloat", NULL, 4, W, 1, 1, 1 },
    { "lpush", NULL, -3, W, 1, 1, 1 }, { "rpush", NULL, -3, W, 1, 1, 1 }, { "lpop", NULL, -2, W, 1, 1, 1 },
    { "rpop", NULL, -2, W, 1, 1, 1 }, { "lset", NULL, 4, W, 1, 1, 1 }, { "lrem", NULL, 4, W, 1, 1, 1 },
    { "ltrim", NULL, 4, W, 1, 1, 1 }, { "sadd", cmd_sadd, -3, W, 1, 1, 1 }, { "srem", cmd_srem, -3, W, 1, 1, 1 },
    { "spop", NULL, -2, W, 1, 1, 1 }, { "smove", NULL, 4, W, 1, 2, 1 }, { "zadd", NULL, -4, W, 1, 1, 1 },
    { "zincrby", NULL, 4, W, 1, 1, 1 }, { "zrem", NULL, -3, W, 1, 1, 1 }, { "xadd", NULL, -5, W, 1, 1, 1 },
    { "setrange", NULL, 4, W, 1, 1, 1 }, { "setbit", NULL, 4, W, 1, 1, 1 }, { "pfadd", NULL, -2, W, 1, 1, 1 },
    { "copy", NULL, -3, W, 1, 2, 1 }, { "move", NULL, 3, W, 1, 1, 1 }, { "restore", NULL, -4, W, 1, 1, 1 },
};
#undef R
#undef W
#undef F
#undef PS
#undef NA
#define NCOMMANDS (sizeof(table) / sizeof(table[0]))

const struct command *commands_table(int *n)
{
    *n = (int)NCOMMANDS;
    return table;
}

static const struct command *command_find(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcasecmp(table[i].name, name))
            return &table[i];
    return NULL;
}

static void command_info(struct client *c, const struct command *cmd)
{
    static const struct { int flag; const char *name; } names[] = {
        { CMD_WRITE, "write" }, { CMD_READONLY, "readonly" }, { CMD_ADMIN, "admin" }, { CMD_PUBSUB, "pubsub" },
        { CMD_NOAUTH, "no_auth" }, { CMD_LOADING, "loading" }, { CMD_STALE, "stale" }, { CMD_FAST, "fast" },
    };
    int nflags = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        nflags += (cmd->flags & names[i].flag) != 0;
    resp_array(&c->out, 10);
    resp_bulks(&c->out, cmd->name);
    resp_int(&c->out, cmd->arity);
    resp_set(&c->out, nflags, c->proto);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (cmd->flags & names[i].flag)
            resp_simple(&c->out, names[i].name);
    resp_int(&c->out, cmd->first_key);
    resp_int(&c->out, cmd->last_key);
    resp_int(&c->out, cmd->key_step);
    resp_set(&c->out, 0, c->proto);
    resp_set(&c->out, 0, c->proto);
    resp_array(&c->out, 0);
    resp_array(&c->out, 0);
}

static void cmd_command(struct client *c, int argc, struct resp_arg *argv)
{
    if (argc == 1) {
        resp_array(&c->out, (long long)NCOMMANDS);
        for (size_t i = 0; i < NCOMMANDS; i++)
            command_info(c, &table[i]);
    } else if (!strcasecmp(argv[1].ptr, "count") && argc == 2) {
        resp_int(&c->out, (long long)NCOMMANDS);
    } else if (!strcasecmp(argv[1].ptr, "info")) {
        resp_array(&c->out, argc - 2);
        for (int i = 2; i < argc; i++) {
            const struct command *cmd = command_find(argv[i].ptr);
            if (cmd) command_info(c, cmd); else resp_null_array(&c->out, c->proto);
        }
    } else if (!strcasecmp(argv[1].ptr, "docs")) {
        resp_map(&c->out, 0, c->proto);
    } else {
        sbuf_printf(&c->out, "-ERR unknown subcommand '%.128s'. Try COMMAND HELP.\r\n", argv[1].ptr);
    }
}

/* ---- dispatch ---- */

static void reply_unknown(struct client *c, int argc, struct resp_arg *argv)
{
    struct sbuf args;
    sbuf_init(&args);
    for (int i = 1; i < argc && args.len < 128; i++)
        sbuf_printf(&args, "'%.*s' ", (int)(128 - args.len), argv[i].ptr);
    for (size_t i = 0; i < args.len; i++)
        if (args.buf[i] == '\r' || args.buf[i] == '\n')
            args.buf[i] = ' ';
    char name[132];
    snprintf(name, sizeof(name), "%.128s", argv[0].ptr);
    for (char *p = name; *p; p++)
        if (*p == '\r' || *p == '\n')
            *p = ' ';
    sbuf_printf(&c->out, "-ERR unknown command '%s', with args beginning with: %.*s\r\n", name,
                (int)args.len, args.buf ? args.buf : "");
    sbuf_free(&args);
}

static void cmd_reset(struct client *c)
{
    pubsub_client_gone(c->srv, c);
    c->proto = 2;
    free(c->name);
    c->name = NULL;
    c->authenticated = c->srv->cfg->requirepass == NULL;
    resp_simple(&c->out, "RESET");
}

void commands_dispatch(struct client *c, int argc, struct resp_arg *argv)
{
    const struct command *cmd = command_find(argv[0].ptr);
    c->srv->st.commands++;
    if (!cmd) {
        reply_unknown(c, argc, argv);
        return;
    }
    snprintf(c->last_cmd, sizeof(c->last_cmd), "%s", cmd->name);
    if ((cmd->arity > 0 && argc != cmd->arity) || argc < -cmd->arity) {
        sbuf_printf(&c->out, "-ERR wrong number of arguments for '%s' command\r\n", cmd->name);
        return;
    }
    if (!c->authenticated && !(cmd->flags & CMD_NOAUTH)) {
        resp_error(&c->out, "NOAUTH Authentication required.");
        return;
    }
    if ((cmd->flags & CMD_WRITE) && !cmd->fn) {
        resp_error(&c->out, err_readonly);
        return;
    }
    if (c->proto == 2 && c->nsubs + c->npsubs > 0 && !(cmd->flags & CMD_PUBSUB)) {
        sbuf_printf(&c->out, "-ERR Can't execute '%s': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / "
                             "QUIT / RESET are allowed in this context\r\n", cmd->name);
        return;
    }
    if (!strcmp(cmd->name, "reset")) {
        cmd_reset(c);
        return;
    }
    cmd->fn(c, argc, argv);
}
