/* cmd_conn.c - connection commands: PING ECHO QUIT SELECT RESET AUTH HELLO and the CLIENT family (loop thread). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "server/commands/cmd_internal.h"
#include "server/commands/commands.h"
#include "server/pubsub/pubsub.h"
#include "server/core/server.h"
#include "server/log/log.h"

void cmd_ping(struct client *c, int argc, struct resp_arg *argv)
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

void cmd_echo(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc;
    resp_bulk(&c->out, argv[1].ptr, argv[1].len);
}

void cmd_quit(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_simple(&c->out, "OK");
    client_close_after_reply(c);
}

void cmd_select(struct client *c, int argc, struct resp_arg *argv)
{
    long long db;
    (void)argc;
    if (cmd_parse_ll(&argv[1], &db) != 0)
        resp_error(&c->out, err_notint);
    else if (db != 0)
        resp_error(&c->out, "ERR DB index is out of range");
    else
        resp_simple(&c->out, "OK");
}

void cmd_ok(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_simple(&c->out, "OK");
}

/* RESET: the connection as it was when it opened (no transaction, subscriptions, name, RESP3, AUTH,
 * CLIENT REPLY). */
void cmd_reset(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    cmd_multi_discard(c);
    pubsub_client_gone(c->srv, c);
    c->proto = 2;
    free(c->name);
    c->name = NULL;
    c->authenticated = c->srv->cfg->requirepass == NULL;
    c->reply_off = c->reply_skip_next = 0;   /* as Redis: a skipped RESET stays silent */
    if (c->monitor)
        commands_monitor_gone(c);
    c->muted = c->reply_skip;
    resp_simple(&c->out, "RESET");
}

/* Constant-time comparison: time does not depend on where the strings differ. */
static int secret_equal(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned char diff = (unsigned char)(alen != blen);
    for (size_t i = 0; i < alen; i++)
        diff |= (unsigned char)(a[i] ^ b[i % (blen ? blen : 1)]);
    return diff == 0 && blen > 0;
}

/* WRONGPASS answers after which a connection is closed. */
enum { AUTH_FAILURES_MAX = 10 };

void cmd_auth(struct client *c, int argc, struct resp_arg *argv)
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
        log_msg(LL_WARNING, "AUTH failure from %s", c->addr);
        resp_error(&c->out, "WRONGPASS invalid username-password pair or user is disabled.");
        if (++c->auth_failures >= AUTH_FAILURES_MAX) {
            /* a password guesser must reconnect every AUTH_FAILURES_MAX tries (Redis never closes) */
            log_msg(LL_WARNING, "%d AUTH failures from %s on one connection: closing it",
                    c->auth_failures, c->addr);
            client_close_after_reply(c);
        }
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

void cmd_hello(struct client *c, int argc, struct resp_arg *argv)
{
    long long ver = c->proto;
    int i = 1;
    if (argc >= 2) {
        if (cmd_parse_ll(&argv[1], &ver) != 0) {
            resp_error(&c->out, "ERR Protocol version is not an integer or out of range");
            return;
        }
        if (ver < 2 || ver > 3) {
            resp_error(&c->out, "NOPROTO unsupported protocol version");
            return;
        }
        i = 2;
    }
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
            if (!name_valid(&argv[++i])) {
                resp_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
                return;
            }
            client_set_name(c, &argv[i]);    /* at once, as Redis 7.0: kept even when a later AUTH fails */
        } else {
            cmd_error_arg(c, "ERR Syntax error in HELLO option '%s'", &argv[i]);
            return;
        }
    }
    if (!c->authenticated) {
        resp_error(&c->out, "NOAUTH HELLO must be called with the client already authenticated, otherwise "
                            "the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the "
                            "client and select the RESP protocol version at the same time");
        return;
    }
    c->proto = (int)ver;
    hello_reply(c);
}

/* One CLIENT LIST line of who, asked by self: qbuf is Redis' sdslen(querybuf), the running command's
 * batch included; argv-mem the bytes of the arguments of the command self is running. */
static void client_info_line(const struct client *self, struct client *who, struct sbuf *b)
{
    uint64_t now = server_mstime();
    size_t argv_mem = 0;
    for (int i = 0; who == self && i < who->rd.argc; i++)
        argv_mem += who->rd.argv[i].len;
    char flags[8], cmd[80] = "NULL";
    int nf = 0;
    if (who->monitor) flags[nf++] = 'O';
    if (who->last_cmd)
        commands_full_name(who->last_cmd, who->last_cmd_parent, cmd, sizeof(cmd));
    if (who->nsubs + who->npsubs > 0) flags[nf++] = 'P';
    if (who->in_multi) flags[nf++] = 'x';
    if (who->close_after_flush) flags[nf++] = 'c';
    if (!nf) flags[nf++] = 'N';
    flags[nf] = '\0';
    sbuf_printf(b, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%llu idle=%llu flags=%s db=0 sub=%d psub=%d "
                "ssub=0 multi=%d qbuf=%zu qbuf-free=%zu argv-mem=%zu multi-mem=0 rbs=%d rbp=%d obl=%zu oll=0 "
                "omem=%llu tot-mem=%zu events=r cmd=%s user=default redir=-1 resp=%d\n",
                (unsigned long long)who->id, who->addr, who->laddr, who->fd, who->name ? who->name : "",
                (unsigned long long)(now - who->ctime_ms) / 1000, (unsigned long long)(now - who->last_ms) / 1000,
                flags, who->nsubs, who->npsubs, who->in_multi ? who->mq_n : -1,
                resp_reader_qbuf_len(&who->rd), who->rd.cap - who->rd.len, argv_mem, 16384, 16384, who->out.len,
                (unsigned long long)who->out_inflight, sizeof(*who) + who->rd.cap + who->out.cap,
                cmd, who->proto);
}

void cmd_client_id(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    resp_int(&c->out, (long long)c->id);
}

void cmd_client_getname(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    if (c->name) resp_bulks(&c->out, c->name); else resp_null(&c->out, c->proto);
}

void cmd_client_setname(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc;
    if (!name_valid(&argv[2])) {
        resp_error(&c->out, "ERR Client names cannot contain spaces, newlines or special characters.");
        return;
    }
    client_set_name(c, &argv[2]);
    resp_simple(&c->out, "OK");
}

/* CLIENT SETINFO lib-name|lib-ver value: Redis 7.2's command (7.0 has none; clients ignore its error). */
void cmd_client_setinfo(struct client *c, int argc, struct resp_arg *argv)
{
    int is_name = !strcasecmp(argv[2].ptr, "lib-name");
    char **slot = is_name ? &c->lib_name : !strcasecmp(argv[2].ptr, "lib-ver") ? &c->lib_ver : NULL;
    (void)argc;
    if (!slot) {
        cmd_error_arg(c, "ERR Unrecognized option '%s'", &argv[2]);
        return;
    }
    if (!name_valid(&argv[3])) {
        sbuf_printf(&c->out, "-ERR %s cannot contain spaces, newlines or special characters.\r\n",
                    is_name ? "lib-name" : "lib-ver");
        return;
    }
    free(*slot);
    *slot = argv[3].len ? strdup(argv[3].ptr) : NULL;
    resp_simple(&c->out, "OK");
}

static void client_list_reply(struct client *c, struct sbuf *b)
{
    resp_verbatim(&c->out, b->buf ? b->buf : "", b->len, c->proto);
    sbuf_free(b);
}

void cmd_client_info(struct client *c, int argc, struct resp_arg *argv)
{
    struct sbuf b;
    (void)argc; (void)argv;
    sbuf_init(&b);
    client_info_line(c, c, &b);
    client_list_reply(c, &b);
}

/* CLIENT LIST [TYPE normal|master|replica|pubsub] [ID id ...] */
void cmd_client_list(struct client *c, int argc, struct resp_arg *argv)
{
    struct sbuf b;
    int type = 0;                     /* 0 any, 1 normal, 2 pubsub, 3 master/replica (none here) */
    long long *ids = NULL;
    int nids = 0;
    if (argc == 4 && !strcasecmp(argv[2].ptr, "type")) {
        const char *t = argv[3].ptr;
        type = !strcasecmp(t, "normal") ? 1 : !strcasecmp(t, "pubsub") ? 2
             : (!strcasecmp(t, "master") || !strcasecmp(t, "replica") || !strcasecmp(t, "slave")) ? 3 : -1;
        if (type < 0) {
            cmd_error_arg(c, "ERR Unknown client type '%s'", &argv[3]);
            return;
        }
    } else if (argc > 3 && !strcasecmp(argv[2].ptr, "id")) {
        ids = calloc((size_t)argc, sizeof(*ids));
        for (int i = 3; ids && i < argc; i++)
            if (cmd_parse_ll(&argv[i], &ids[nids++]) != 0 || ids[nids - 1] < 1) {
                resp_error(&c->out, "ERR Invalid client ID");
                free(ids);
                return;
            }
    } else if (argc != 2) {
        resp_error(&c->out, err_syntax);
        return;
    }
    sbuf_init(&b);
    struct client *oldest = c->srv->clients;     /* the list starts with the newest: Redis lists the oldest first */
    while (oldest && oldest->next)
        oldest = oldest->next;
    for (struct client *o = oldest; o; o = o->prev) {
        int pubsub = o->nsubs + o->npsubs > 0;
        if ((type == 1 && pubsub) || (type == 2 && !pubsub) || type == 3)
            continue;
        int want = !ids;
        for (int i = 0; i < nids && !want; i++)
            want = (uint64_t)ids[i] == o->id;
        if (want)
            client_info_line(c, o, &b);
    }
    free(ids);
    client_list_reply(c, &b);
}

struct kill_filter { long long id; const char *addr, *laddr, *user; int type, skipme; long long maxage; };

static int kill_matches(struct client *c, struct client *o, const struct kill_filter *f)
{
    uint64_t age = (server_mstime() - o->ctime_ms) / 1000;
    int pubsub = o->nsubs + o->npsubs > 0;
    if (f->id && (uint64_t)f->id != o->id) return 0;
    if (f->addr && strcmp(f->addr, o->addr) != 0) return 0;
    if (f->laddr && strcmp(f->laddr, o->laddr) != 0) return 0;
    if (f->user && strcmp(f->user, "default") != 0) return 0;
    if (f->type && ((f->type == 1 && pubsub) || (f->type == 2 && !pubsub) || f->type == 3)) return 0;
    if (f->maxage && (long long)age < f->maxage) return 0;
    if (f->skipme && o == c) return 0;
    return !o->closing;
}

/* Parses CLIENT KILL's filter pairs; returns 0, or -1 with the error sent. */
static int kill_parse(struct client *c, int argc, struct resp_arg *argv, struct kill_filter *f)
{
    for (int i = 2; i < argc; i += 2) {
        const char *k = argv[i].ptr;
        if (i + 1 >= argc) {
            resp_error(&c->out, err_syntax);
            return -1;
        }
        struct resp_arg *v = &argv[i + 1];
        if (!strcasecmp(k, "id")) {
            if (cmd_parse_ll(v, &f->id) != 0 || f->id <= 0) {
                resp_error(&c->out, "ERR client-id should be greater than 0");
                return -1;
            }
        } else if (!strcasecmp(k, "type")) {
            const char *t = v->ptr;
            f->type = !strcasecmp(t, "normal") ? 1 : !strcasecmp(t, "pubsub") ? 2
                    : (!strcasecmp(t, "master") || !strcasecmp(t, "replica") || !strcasecmp(t, "slave")) ? 3 : -1;
            if (f->type < 0) {
                cmd_error_arg(c, "ERR Unknown client type '%s'", v);
                return -1;
            }
        } else if (!strcasecmp(k, "addr")) {
            f->addr = v->ptr;
        } else if (!strcasecmp(k, "laddr")) {
            f->laddr = v->ptr;
        } else if (!strcasecmp(k, "user")) {
            f->user = v->ptr;
            if (strcmp(f->user, "default") != 0) {
                cmd_error_arg(c, "ERR No such user '%s'", v);
                return -1;
            }
        } else if (!strcasecmp(k, "skipme")) {
            if (!strcasecmp(v->ptr, "yes")) f->skipme = 1;
            else if (!strcasecmp(v->ptr, "no")) f->skipme = 0;
            else { resp_error(&c->out, err_syntax); return -1; }
        } else if (!strcasecmp(k, "maxage")) {
            if (cmd_parse_ll(v, &f->maxage) != 0 || f->maxage <= 0) {
                resp_error(&c->out, err_syntax);
                return -1;
            }
        } else {
            resp_error(&c->out, err_syntax);
            return -1;
        }
    }
    return 0;
}

/* CLIENT KILL addr | CLIENT KILL <filter value> ... : closes the matching clients (c itself after its reply). */
void cmd_client_kill(struct client *c, int argc, struct resp_arg *argv)
{
    struct kill_filter f = { 0, NULL, NULL, NULL, 0, 1, 0 };
    int old_style = argc == 3;
    if (old_style) {
        f.addr = argv[2].ptr;
        f.skipme = 0;
    } else if (kill_parse(c, argc, argv, &f) != 0) {
        return;
    }
    long long killed = 0;
    int self = 0;
    struct client *o = c->srv->clients, *next;
    for (; o; o = next) {
        next = o->next;
        if (!kill_matches(c, o, &f))
            continue;
        killed++;
        if (o == c)
            self = 1;
        else
            client_close(o);
    }
    if (old_style) {
        if (killed) resp_simple(&c->out, "OK"); else resp_error(&c->out, "ERR No such client");
    } else {
        resp_int(&c->out, killed);
    }
    if (self)
        client_close_after_reply(c);
}

/* CLIENT REPLY ON|OFF|SKIP: ON answers +OK (even when replies were off); OFF and SKIP answer nothing. */
void cmd_client_reply(struct client *c, int argc, struct resp_arg *argv)
{
    const char *v = argv[2].ptr;
    (void)argc;
    if (!strcasecmp(v, "on")) {
        c->reply_off = c->reply_skip = c->muted = 0;
        resp_simple(&c->out, "OK");
    } else if (!strcasecmp(v, "off")) {
        c->reply_off = 1;
    } else if (!strcasecmp(v, "skip")) {
        if (!c->reply_off)
            c->reply_skip_next = 1;
    } else {
        resp_error(&c->out, err_syntax);
    }
}

void cmd_client_no_evict(struct client *c, int argc, struct resp_arg *argv)
{
    (void)argc;
    if (!strcasecmp(argv[2].ptr, "on") || !strcasecmp(argv[2].ptr, "off"))
        resp_simple(&c->out, "OK");
    else
        resp_error(&c->out, err_syntax);
}
