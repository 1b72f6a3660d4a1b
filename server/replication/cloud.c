/* cloud.c - replication of flow counters and events to cloud Redis nodes (loop thread).
 *
 * Every command is formatted once (RESP) into a struct cloud_cmd and queued in
 * `pending`. The flush (every cloud-flush-ms, or as soon as a batch is full)
 * routes each command to the node owning its key's hash slot and writes one
 * pipelined batch per node; sent commands stay in that node's `inflight` FIFO
 * until their reply arrives, so when a connection dies they go back to the
 * head of the queue (`retry`) and are sent again: delivery is at least once.
 * What is queued is bounded by cloud-queue-max bytes: past it the oldest
 * commands are dropped and counted. A second connection per node (`sync`)
 * serves GET ipuser.<ip> lookups, answered asynchronously and cached.
 */
#include "server/replication/cloud.h"

#include <hiredis/hiredis.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_json.h"
#include "server/replication/cloud_link.h"
#include "server/pubsub/pubsub.h"
#include "server/core/server.h"

enum {
    CLOUD_MAX_NODES = 64,
    BATCH_CMDS = 1024,                  /* a batch is full: flush before the timer */
    WINDOW_BYTES = 4 << 20,             /* sent and unacknowledged, per node */
    CONNECT_TIMEOUT_MS = 2000,
    BACKOFF_MIN_MS = 50,
    BACKOFF_MAX_MS = 2000,
    SHUTDOWN_TIMEOUT_MS = 4000,         /* under the usual 5 s stop grace */
    MAX_REDIRECTS = 16,
    RETRY_HOLD_MS = 100,                /* after LOADING / TRYAGAIN / CLUSTERDOWN */
    UCACHE_SIZE = 4096,                 /* user cache slots (direct mapped) */
    UCACHE_POS_MS = 60000,
    UCACHE_NEG_MS = 10000,
    UCACHE_PENDING_MS = 5000,
    LOOKUPS_MAX = 1024,                 /* GETs in flight at most */
    LOOKUP_WAITERS = 16,
    JSON_FIELDS_MAX = 64,
};

enum cmd_kind { CMD_DATA, CMD_AUTH, CMD_SLOTS, CMD_ASKING, CMD_GET_USER };
enum conn_role { ROLE_DATA, ROLE_SYNC };

struct user_lookup {
    char ip[64];
    int nkeys;
    char *keys[LOOKUP_WAITERS];        /* flow keys waiting for the answer */
};

struct cloud_cmd {
    struct cloud_cmd *next;
    char *buf;
    size_t len;
    uint64_t sent_us;                  /* set on the last command of a batch */
    uint16_t slot;
    int16_t ask_node;                  /* node to send to after ASK, else -1 */
    uint8_t kind, redirects;
    struct user_lookup *lookup;        /* CMD_GET_USER */
};

struct cmdq {
    struct cloud_cmd *head, *tail;
    size_t n, bytes;
};

struct cloud_node;

struct cloud_conn {                    /* one connection role to one node */
    struct cloud *cl;
    struct cloud_node *node;
    int role;
    struct cloud_link *link;           /* NULL while down */
    int ready, ever_ready;
    struct cmdq inflight;              /* written, reply not yet read (FIFO) */
    uv_timer_t retry;
    uint64_t backoff_ms;
};

struct cloud_node {
    struct cloud *cl;
    int idx;
    char host[256];
    int port;
    struct sockaddr_storage addr;
    int resolved, resolving;
    uv_getaddrinfo_t gai;
    struct cloud_conn conn[2];
};

struct ucache_entry {
    char ip[64];
    char *user;                        /* NULL: negative entry */
    uint64_t expires_ms;
    struct user_lookup *pending;       /* GET in flight */
};

struct cloud {
    struct server *s;
    uv_loop_t *loop;
    struct cloud_node *nodes[CLOUD_MAX_NODES];
    int nnodes, nseeds;
    int16_t slot_node[CLOUD_SLOTS];
    int map_known, map_refresh, slots_inflight, cluster_mode;
    struct cmdq retry, pending;
    size_t unflushed;
    uint64_t hold_until_ms;
    uv_timer_t flush_timer, beat_timer, shut_timer;
    uv_prepare_t prep;
    char *auth;                        /* formatted AUTH command or NULL */
    size_t auth_len;
    uint64_t flow_ttl, host_ttl, user_grace, queue_max, start_ms;
    struct ucache_entry *ucache;
    int lookups_inflight;
    int shutting, finished;
    void (*done)(void *arg);
    void *done_arg;
    uint64_t sent, dropped, errors, reconnects, last_batch_us, moved, asked;
    uint64_t sync_lookups, sync_hits, sync_cache_hits, sync_skipped, bad_events;
    char last_error[128];
};

static void conn_connect(struct cloud_conn *cn);
static void cloud_flush(struct cloud *cl);
static void cloud_check_drained(struct cloud *cl);

/* ------------------------------------------------------------------ time */

static uint64_t now_ms(void) { return server_mstime(); }
static uint64_t mono_us(void) { return uv_hrtime() / 1000; }

/* ------------------------------------------------------------------ queues */

static void q_push(struct cmdq *q, struct cloud_cmd *c)
{
    c->next = NULL;
    if (q->tail)
        q->tail->next = c;
    else
        q->head = c;
    q->tail = c;
    q->n++;
    q->bytes += c->len;
}

static struct cloud_cmd *q_pop(struct cmdq *q)
{
    struct cloud_cmd *c = q->head;
    if (!c)
        return NULL;
    q->head = c->next;
    if (!q->head)
        q->tail = NULL;
    q->n--;
    q->bytes -= c->len;
    c->next = NULL;
    return c;
}

/* Moves every command of src in front of dst (src ends empty). */
static void q_prepend(struct cmdq *dst, struct cmdq *src)
{
    if (!src->head)
        return;
    src->tail->next = dst->head;
    if (!dst->head)
        dst->tail = src->tail;
    dst->head = src->head;
    dst->n += src->n;
    dst->bytes += src->bytes;
    memset(src, 0, sizeof(*src));
}

static void lookup_free(struct user_lookup *lk)
{
    if (!lk)
        return;
    for (int i = 0; i < lk->nkeys; i++)
        free(lk->keys[i]);
    free(lk);
}

static void cmd_free(struct cloud_cmd *c)
{
    if (!c)
        return;
    lookup_free(c->lookup);
    free(c->buf);
    free(c);
}

static void q_free(struct cmdq *q)
{
    struct cloud_cmd *c;
    while ((c = q_pop(q)))
        cmd_free(c);
}

/* Formats argv as one RESP command. NULL on OOM. */
static struct cloud_cmd *cmd_new(int kind, int argc, const char **argv, const size_t *lens)
{
    size_t need = 32;
    for (int i = 0; i < argc; i++)
        need += lens[i] + 32;
    struct cloud_cmd *c = calloc(1, sizeof(*c));
    char *p = c ? malloc(need) : NULL;
    if (!p) {
        free(c);
        return NULL;
    }
    size_t o = (size_t)snprintf(p, need, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++) {
        o += (size_t)snprintf(p + o, need - o, "$%zu\r\n", lens[i]);
        memcpy(p + o, argv[i], lens[i]);
        o += lens[i];
        p[o++] = '\r';
        p[o++] = '\n';
    }
    c->buf = p;
    c->len = o;
    c->kind = (uint8_t)kind;
    c->ask_node = -1;
    c->slot = argc > 1 ? (uint16_t)cloud_key_slot(argv[1], lens[1]) : 0;
    return c;
}

static struct cloud_cmd *cmd_newv(int kind, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc && i < 16; i++)
        lens[i] = strlen(argv[i]);
    return cmd_new(kind, argc, argv, lens);
}

static size_t inflight_bytes(const struct cloud *cl, size_t *n)
{
    size_t b = 0, k = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        b += cl->nodes[i]->conn[ROLE_DATA].inflight.bytes;
        k += cl->nodes[i]->conn[ROLE_DATA].inflight.n;
    }
    if (n)
        *n = k;
    return b;
}

/* Drops the oldest unsent commands while the total passes cloud-queue-max. */
static void cloud_enforce_limit(struct cloud *cl)
{
    size_t total = cl->retry.bytes + cl->pending.bytes + inflight_bytes(cl, NULL);
    while (total > cl->queue_max && (cl->retry.head || cl->pending.head)) {
        struct cloud_cmd *c = cl->retry.head ? q_pop(&cl->retry) : q_pop(&cl->pending);
        total -= c->len;
        cl->dropped++;
        cmd_free(c);
    }
}

/* Queues one data command (argv[1] is its key). Never blocks. */
static void cloud_enqueue(struct cloud *cl, int argc, const char **argv, const size_t *lens)
{
    if (cl->finished)
        return;
    struct cloud_cmd *c = cmd_new(CMD_DATA, argc, argv, lens);
    if (!c) {
        cl->dropped++;
        return;
    }
    q_push(&cl->pending, c);
    cl->unflushed++;
    cloud_enforce_limit(cl);
}

static void cloud_enqueuev(struct cloud *cl, int argc, const char **argv)
{
    size_t lens[16];
    for (int i = 0; i < argc && i < 16; i++)
        lens[i] = strlen(argv[i]);
    cloud_enqueue(cl, argc, argv, lens);
}

/* ------------------------------------------------------------------ nodes */

static const struct cloud_link_ops conn_ops;

static void conn_retry_cb(uv_timer_t *t)
{
    struct cloud_conn *cn = t->data;
    if (!cn->cl->finished && !cn->link)
        conn_connect(cn);
}

static void conn_schedule(struct cloud_conn *cn)
{
    if (cn->cl->finished)
        return;
    cn->backoff_ms = cn->backoff_ms ? cn->backoff_ms * 2 : BACKOFF_MIN_MS;
    if (cn->backoff_ms > BACKOFF_MAX_MS)
        cn->backoff_ms = BACKOFF_MAX_MS;
    uv_timer_start(&cn->retry, conn_retry_cb, cn->backoff_ms, 0);
}

static void node_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct cloud_node *nd = req->data;
    nd->resolving = 0;
    if (status == 0 && res) {
        memcpy(&nd->addr, res->ai_addr, res->ai_addrlen);
        nd->resolved = 1;
    }
    uv_freeaddrinfo(res);
    if (nd->cl->finished)
        return;
    for (int r = 0; r < 2; r++) {
        if (nd->resolved)
            conn_connect(&nd->conn[r]);
        else
            conn_schedule(&nd->conn[r]);
    }
}

static void conn_connect(struct cloud_conn *cn)
{
    struct cloud_node *nd = cn->node;
    if (cn->link || cn->cl->finished)
        return;
    if (!nd->resolved) {
        if (!nd->resolving) {
            char port[16];
            struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
            snprintf(port, sizeof(port), "%d", nd->port);
            nd->gai.data = nd;
            if (uv_getaddrinfo(cn->cl->loop, &nd->gai, node_gai_cb, nd->host, port, &hints) == 0)
                nd->resolving = 1;
            else
                conn_schedule(cn);
        }
        return;
    }
    cn->link = cloud_link_open(cn->cl->loop, (const struct sockaddr *)&nd->addr, CONNECT_TIMEOUT_MS,
                               &conn_ops, cn);
    if (!cn->link)
        conn_schedule(cn);
}

/* The node for host:port, created (and connecting) when new; -1 when full. */
static int node_get(struct cloud *cl, const char *host, int port)
{
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->port == port && strcmp(cl->nodes[i]->host, host) == 0)
            return i;
    if (cl->nnodes >= CLOUD_MAX_NODES || strlen(host) >= sizeof(cl->nodes[0]->host))
        return -1;
    struct cloud_node *nd = calloc(1, sizeof(*nd));
    if (!nd)
        return -1;
    nd->cl = cl;
    nd->idx = cl->nnodes;
    snprintf(nd->host, sizeof(nd->host), "%s", host);
    nd->port = port;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&nd->addr) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&nd->addr) == 0)
        nd->resolved = 1;
    for (int r = 0; r < 2; r++) {
        struct cloud_conn *cn = &nd->conn[r];
        cn->cl = cl;
        cn->node = nd;
        cn->role = r;
        uv_timer_init(cl->loop, &cn->retry);
        cn->retry.data = cn;
    }
    cl->nodes[cl->nnodes++] = nd;
    for (int r = 0; r < 2; r++)
        conn_connect(&nd->conn[r]);
    return nd->idx;
}

/* Writes one internal command (AUTH, CLUSTER SLOTS, GET) on a connection now. */
static int conn_send_now(struct cloud_conn *cn, struct cloud_cmd *c)
{
    char *copy = malloc(c->len);
    if (!copy) {
        cmd_free(c);
        return -1;
    }
    memcpy(copy, c->buf, c->len);
    q_push(&cn->inflight, c);
    return cloud_link_write(cn->link, copy, c->len);
}

/* Asks one ready node for the slot map, unless a request is in flight. */
static void cloud_refresh_map(struct cloud *cl)
{
    if (cl->slots_inflight || (cl->map_known && !cl->map_refresh))
        return;
    for (int i = 0; i < cl->nnodes; i++) {
        struct cloud_conn *cn = &cl->nodes[i]->conn[ROLE_DATA];
        if (!cn->ready)
            continue;
        const char *argv[] = { "CLUSTER", "SLOTS" };
        struct cloud_cmd *c = cmd_newv(CMD_SLOTS, 2, argv);
        if (c && conn_send_now(cn, c) == 0) {
            cl->slots_inflight = 1;
            cl->map_refresh = 0;
        }
        return;
    }
}

static void conn_ready(struct cloud_conn *cn)
{
    cn->ready = 1;
    cn->backoff_ms = 0;
    if (cn->ever_ready)
        cn->cl->reconnects++;
    cn->ever_ready = 1;
    if (cn->role == ROLE_DATA) {
        cloud_refresh_map(cn->cl);
        cn->cl->unflushed = BATCH_CMDS;      /* flush at the next loop turn */
    }
}

static void lookup_failed(struct cloud *cl, struct user_lookup *lk);

/* The connection is gone: unacknowledged data goes back to the queue head. */
static void conn_lost(struct cloud_conn *cn)
{
    struct cloud *cl = cn->cl;
    struct cmdq back = { 0 };
    struct cloud_cmd *c;
    cn->link = NULL;
    cn->ready = 0;
    while ((c = q_pop(&cn->inflight))) {
        if (c->kind == CMD_DATA) {
            q_push(&back, c);
            continue;
        }
        if (c->kind == CMD_SLOTS)
            cl->slots_inflight = 0;
        if (c->kind == CMD_GET_USER) {
            lookup_failed(cl, c->lookup);
            c->lookup = NULL;
        }
        cmd_free(c);
    }
    q_prepend(&cl->retry, &back);
    conn_schedule(cn);
}

static void conn_on_connect(void *arg, struct cloud_link *l)
{
    struct cloud_conn *cn = arg;
    if (cn->cl->auth) {
        struct cloud_cmd *c = calloc(1, sizeof(*c));
        char *b = c ? malloc(cn->cl->auth_len) : NULL;
        if (!b) {
            free(c);
            cloud_link_close(l);
            conn_lost(cn);
            return;
        }
        memcpy(b, cn->cl->auth, cn->cl->auth_len);
        c->buf = b;
        c->len = cn->cl->auth_len;
        c->kind = CMD_AUTH;
        c->ask_node = -1;
        conn_send_now(cn, c);
        return;
    }
    conn_ready(cn);
}

static void conn_on_down(void *arg, struct cloud_link *l, int status)
{
    struct cloud_conn *cn = arg;
    (void)l;
    if (cn->ever_ready && cn->ready)
        snprintf(cn->cl->last_error, sizeof(cn->cl->last_error), "%.64s:%d %.40s", cn->node->host, cn->node->port,
                 uv_strerror(status));
    conn_lost(cn);
    cloud_check_drained(cn->cl);
}

/* ------------------------------------------------------------------ slot map */

static void map_plain(struct cloud *cl)
{
    for (unsigned s = 0; s < CLOUD_SLOTS; s++)
        cl->slot_node[s] = (int16_t)(s * (unsigned)cl->nseeds / CLOUD_SLOTS);
    cl->map_known = 1;
    cl->cluster_mode = 0;
}

static void map_from_slots(struct cloud *cl, struct cloud_node *asked, redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *e = r->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements < 3 || e->element[0]->type != REDIS_REPLY_INTEGER ||
            e->element[1]->type != REDIS_REPLY_INTEGER || e->element[2]->type != REDIS_REPLY_ARRAY ||
            e->element[2]->elements < 2)
            continue;
        redisReply *m = e->element[2];
        if (m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        const char *host = m->element[0]->len ? m->element[0]->str : asked->host;
        int idx = node_get(cl, host, (int)m->element[1]->integer);
        long long a = e->element[0]->integer, b = e->element[1]->integer;
        for (long long s = a; s <= b && s < CLOUD_SLOTS; s++)
            if (s >= 0)
                cl->slot_node[s] = (int16_t)idx;
    }
    cl->map_known = 1;
    cl->cluster_mode = 1;
}

static void on_slots_reply(struct cloud *cl, struct cloud_node *asked, redisReply *r)
{
    cl->slots_inflight = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
        map_from_slots(cl, asked, r);
    else if (!cl->map_known)
        map_plain(cl);        /* cluster support disabled: plain node(s) */
    cl->unflushed = BATCH_CMDS;
}

/* ------------------------------------------------------------------ replies */

static int err_is(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r->len >= n && memcmp(r->str, prefix, n) == 0;
}

/* An error reply to a data command: follow a redirect, retry later, or count it. */
static void on_data_error(struct cloud *cl, struct cloud_cmd *c, redisReply *r)
{
    char host[256];
    unsigned slot;
    int port;
    enum cloud_redirect k = cloud_parse_redirect(r->str, r->len, &slot, host, sizeof(host), &port);
    if (k != CLOUD_REDIR_NONE && c->redirects < MAX_REDIRECTS) {
        int idx = node_get(cl, host, port);
        if (idx >= 0) {
            c->redirects++;
            if (k == CLOUD_REDIR_MOVED) {
                cl->moved++;
                cl->slot_node[slot] = (int16_t)idx;
                cl->map_refresh = 1;
                c->ask_node = -1;
            } else {
                cl->asked++;
                c->ask_node = (int16_t)idx;
            }
            q_push(&cl->retry, c);
            return;
        }
    }
    if (k == CLOUD_REDIR_NONE && (err_is(r, "LOADING") || err_is(r, "TRYAGAIN") || err_is(r, "CLUSTERDOWN") ||
                                  err_is(r, "MASTERDOWN") || err_is(r, "BUSY")) && c->redirects < MAX_REDIRECTS) {
        c->redirects++;
        cl->hold_until_ms = now_ms() + RETRY_HOLD_MS;
        q_push(&cl->retry, c);
        return;
    }
    cl->errors++;
    snprintf(cl->last_error, sizeof(cl->last_error), "%.*s", (int)(r->len < 100 ? r->len : 100), r->str);
    cmd_free(c);
}

static void user_apply(struct cloud *cl, const char *flow_key, const char *user)
{
    const char *argv[] = { "HSET", flow_key, "user", user };
    cloud_enqueuev(cl, 4, argv);
}

static void on_lookup_reply(struct cloud *cl, struct user_lookup *lk, redisReply *r)
{
    const char *user = r->type == REDIS_REPLY_STRING && r->len > 0 ? r->str : NULL;
    if (r->type == REDIS_REPLY_ERROR) {
        lookup_failed(cl, lk);
        return;
    }
    cl->lookups_inflight--;
    if (user)
        cl->sync_hits++;
    unsigned h = cloud_crc16(lk->ip, strlen(lk->ip)) % UCACHE_SIZE;
    struct ucache_entry *e = &cl->ucache[h];
    if (e->pending == lk) {
        free(e->user);
        e->user = user ? strdup(user) : NULL;
        e->expires_ms = now_ms() + (user ? UCACHE_POS_MS : UCACHE_NEG_MS);
        e->pending = NULL;
    }
    for (int i = 0; user && i < lk->nkeys; i++)
        user_apply(cl, lk->keys[i], user);
    lookup_free(lk);
}

static void lookup_failed(struct cloud *cl, struct user_lookup *lk)
{
    cl->lookups_inflight--;
    unsigned h = cloud_crc16(lk->ip, strlen(lk->ip)) % UCACHE_SIZE;
    if (cl->ucache[h].pending == lk) {
        cl->ucache[h].pending = NULL;
        cl->ucache[h].expires_ms = 0;
    }
    lookup_free(lk);
}

static void conn_on_reply(void *arg, struct cloud_link *l, struct redisReply *r)
{
    struct cloud_conn *cn = arg;
    struct cloud *cl = cn->cl;
    struct cloud_cmd *c = q_pop(&cn->inflight);
    if (!c) {                                   /* a reply nobody asked for */
        freeReplyObject(r);
        cloud_link_close(l);
        conn_lost(cn);
        return;
    }
    switch (c->kind) {
    case CMD_AUTH:
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(cl->last_error, sizeof(cl->last_error), "AUTH: %.*s", (int)(r->len < 100 ? r->len : 100),
                     r->str);
            cloud_link_close(l);
            conn_lost(cn);
        } else {
            conn_ready(cn);
        }
        cmd_free(c);
        break;
    case CMD_SLOTS:
        on_slots_reply(cl, cn->node, r);
        cmd_free(c);
        break;
    case CMD_GET_USER:
        on_lookup_reply(cl, c->lookup, r);
        c->lookup = NULL;
        cmd_free(c);
        break;
    case CMD_DATA:
        if (c->sent_us)
            cl->last_batch_us = mono_us() - c->sent_us;
        if (r->type == REDIS_REPLY_ERROR) {
            on_data_error(cl, c, r);
        } else {
            cl->sent++;
            cmd_free(c);
        }
        break;
    default:
        cmd_free(c);
        break;
    }
    freeReplyObject(r);
    if (cl->retry.head)
        cl->unflushed = BATCH_CMDS;
    cloud_check_drained(cl);
}

static const struct cloud_link_ops conn_ops = { conn_on_connect, conn_on_reply, conn_on_down };

/* ------------------------------------------------------------------ flush */

struct batch {
    struct sbuf out;
    struct cloud_cmd *last;
};

/* Routes queued commands to their nodes and writes one pipelined batch per node. */
static void cloud_flush(struct cloud *cl)
{
    cl->unflushed = 0;
    if (cl->finished)
        return;
    cloud_refresh_map(cl);
    if (!cl->map_known || now_ms() < cl->hold_until_ms)
        return;
    q_prepend(&cl->pending, &cl->retry);
    if (!cl->pending.head)
        return;
    struct batch b[CLOUD_MAX_NODES];
    memset(b, 0, sizeof(b));
    struct cmdq kept = { 0 };
    struct cloud_cmd *c;
    while ((c = q_pop(&cl->pending))) {
        int idx = c->ask_node >= 0 ? c->ask_node : cl->slot_node[c->slot];
        struct cloud_conn *cn = idx >= 0 && idx < cl->nnodes ? &cl->nodes[idx]->conn[ROLE_DATA] : NULL;
        if (!cn || !cn->ready || cn->inflight.bytes + c->len > WINDOW_BYTES) {
            q_push(&kept, c);
            continue;
        }
        if (c->ask_node >= 0) {
            const char *argv[] = { "ASKING" };
            struct cloud_cmd *a = cmd_newv(CMD_ASKING, 1, argv);
            if (!a) {
                q_push(&kept, c);
                continue;
            }
            sbuf_append(&b[idx].out, a->buf, a->len);
            q_push(&cn->inflight, a);
            c->ask_node = -1;
        }
        c->sent_us = 0;
        sbuf_append(&b[idx].out, c->buf, c->len);
        q_push(&cn->inflight, c);
        b[idx].last = c;
    }
    cl->pending = kept;
    uint64_t t = mono_us();
    for (int i = 0; i < cl->nnodes; i++) {
        if (!b[i].out.len)
            continue;
        struct cloud_conn *cn = &cl->nodes[i]->conn[ROLE_DATA];
        b[i].last->sent_us = t ? t : 1;
        if (b[i].out.oom) {             /* cannot copy: the link's loss re-queues them */
            sbuf_free(&b[i].out);
            struct cloud_link *l = cn->link;
            cloud_link_close(l);
            conn_lost(cn);
            continue;
        }
        cloud_link_write(cn->link, b[i].out.buf, b[i].out.len);   /* owns the buffer now */
    }
}

static void flush_timer_cb(uv_timer_t *t)
{
    cloud_flush(t->data);
}

static void prep_cb(uv_prepare_t *p)
{
    struct cloud *cl = p->data;
    if (cl->unflushed >= BATCH_CMDS)
        cloud_flush(cl);
}

/* ------------------------------------------------------------------ events */

static int is_uint(const struct cloud_json_field *f)
{
    if (!f || f->is_str || f->vlen == 0 || f->vlen > 19)
        return 0;
    for (size_t i = 0; i < f->vlen; i++)
        if (f->val[i] < '0' || f->val[i] > '9')
            return 0;
    return 1;
}

static const char *num_or_zero(const struct cloud_json_field *f)
{
    return is_uint(f) ? f->val : "0";
}

static void hincr(struct cloud *cl, const char *key, const char *field, const char *val)
{
    const char *argv[] = { "HINCRBY", key, field, val };
    cloud_enqueuev(cl, 4, argv);
}

static void expire_key(struct cloud *cl, const char *key, uint64_t ttl)
{
    if (!ttl)
        return;
    char s[24];
    snprintf(s, sizeof(s), "%" PRIu64, ttl);
    const char *argv[] = { "EXPIRE", key, s };
    cloud_enqueuev(cl, 3, argv);
}

static const char *fval(const struct cloud_json_field *f, int n, const char *name)
{
    const struct cloud_json_field *x = cloud_json_get(f, n, name);
    return x ? x->val : NULL;
}

static int is_counter(const char *name)
{
    return strcmp(name, "key") == 0 || strcmp(name, "reason") == 0 || strcmp(name, "bytes.c2s") == 0 ||
           strcmp(name, "bytes.s2c") == 0 || strcmp(name, "pkts.c2s") == 0 || strcmp(name, "pkts.s2c") == 0;
}

/* HSET key of every descriptive field (all but the key, reason and counters). */
static void hset_fields(struct cloud *cl, const char *key, const struct cloud_json_field *f, int n)
{
    const char *argv[2 + 2 * JSON_FIELDS_MAX];
    size_t lens[2 + 2 * JSON_FIELDS_MAX];
    int argc = 2;
    argv[0] = "HSET";
    lens[0] = 4;
    argv[1] = key;
    lens[1] = strlen(key);
    for (int i = 0; i < n; i++) {
        if (is_counter(f[i].name))
            continue;
        argv[argc] = f[i].name;
        lens[argc++] = strlen(f[i].name);
        argv[argc] = f[i].val;
        lens[argc++] = f[i].vlen;
    }
    if (argc > 2)
        cloud_enqueue(cl, argc, argv, lens);
}

/* Counters of one endpoint: sent = its direction, rcvd = the other. */
static void host_counters(struct cloud *cl, const char *ip, const char *bs, const char *ps, const char *br,
                          const char *pr, const char *role)
{
    char key[128];
    if (snprintf(key, sizeof(key), "ip.%s", ip) >= (int)sizeof(key))
        return;
    hincr(cl, key, "bytes.sent", bs);
    hincr(cl, key, "pkts.sent", ps);
    hincr(cl, key, "bytes.rcvd", br);
    hincr(cl, key, "pkts.rcvd", pr);
    hincr(cl, key, role, "1");
    expire_key(cl, key, cl->host_ttl);
}

/* bytes / pkts / flows of an aggregate key (proto.<l7>, vlan.<id>, tls.<sni>). */
static void aggregate(struct cloud *cl, const char *prefix, const char *name, const char *bytes, const char *pkts)
{
    char key[320];
    if (!name || !*name || snprintf(key, sizeof(key), "%s%s", prefix, name) >= (int)sizeof(key))
        return;
    if (bytes)
        hincr(cl, key, "bytes", bytes);
    if (pkts)
        hincr(cl, key, "pkts", pkts);
    hincr(cl, key, "flows", "1");
    expire_key(cl, key, cl->host_ttl);
}

/* One DNS transaction: dns.<qname> queries, responses, nxdomain, rcode.<NAME>, qtype.<TYPE>, rtt.us.sum. */
static void on_dns(struct cloud *cl, const struct cloud_json_field *f, int n)
{
    const char *q = fval(f, n, "qname"), *qtype = fval(f, n, "qtype"), *rcode = fval(f, n, "rcode");
    const struct cloud_json_field *rtt = cloud_json_get(f, n, "rtt.us");
    char key[320], field[96];
    if (!q || !*q || snprintf(key, sizeof(key), "dns.%s", q) >= (int)sizeof(key))
        return;
    hincr(cl, key, "queries", "1");
    if (qtype && *qtype && snprintf(field, sizeof(field), "qtype.%s", qtype) < (int)sizeof(field))
        hincr(cl, key, field, "1");
    if (rcode && *rcode && strcmp(rcode, "TIMEOUT") != 0) {     /* TIMEOUT: no answer */
        hincr(cl, key, "responses", "1");
        if (strcmp(rcode, "NXDOMAIN") == 0)
            hincr(cl, key, "nxdomain", "1");
        if (snprintf(field, sizeof(field), "rcode.%s", rcode) < (int)sizeof(field))
            hincr(cl, key, field, "1");
        if (is_uint(rtt))
            hincr(cl, key, "rtt.us.sum", rtt->val);
    }
    expire_key(cl, key, cl->host_ttl);
}

/* One HTTP request/response pair: http.<host> requests and status.<N>xx. */
static void on_http(struct cloud *cl, const struct cloud_json_field *f, int n)
{
    const char *host = fval(f, n, "host");
    const struct cloud_json_field *st = cloud_json_get(f, n, "status");
    char key[320], field[16];
    if (!host || !*host || snprintf(key, sizeof(key), "http.%s", host) >= (int)sizeof(key))
        return;
    hincr(cl, key, "requests", "1");
    if (is_uint(st) && st->vlen == 3 && st->val[0] >= '1' && st->val[0] <= '5') {
        snprintf(field, sizeof(field), "status.%cxx", st->val[0]);
        hincr(cl, key, field, "1");
    }
    expire_key(cl, key, cl->host_ttl);
}

/* Resolves the user of a flow's client: from the cache, else GET ipuser.<ip>
 * on the synchronous connection (answered later; nothing waits). */
static void user_lookup(struct cloud *cl, const char *ip, const char *flow_key)
{
    size_t iplen = strlen(ip);
    if (iplen >= sizeof(((struct user_lookup *)0)->ip))
        return;
    struct ucache_entry *e = &cl->ucache[cloud_crc16(ip, iplen) % UCACHE_SIZE];
    uint64_t now = now_ms();
    if (strcmp(e->ip, ip) == 0 && e->expires_ms > now) {
        if (e->pending) {
            if (e->pending->nkeys < LOOKUP_WAITERS && (e->pending->keys[e->pending->nkeys] = strdup(flow_key)))
                e->pending->nkeys++;
            return;
        }
        cl->sync_cache_hits++;
        if (e->user)
            user_apply(cl, flow_key, e->user);
        return;
    }
    char key[96];
    snprintf(key, sizeof(key), "ipuser.%s", ip);
    int idx = cl->map_known ? cl->slot_node[cloud_key_slot(key, strlen(key))] : -1;
    struct cloud_conn *cn = idx >= 0 ? &cl->nodes[idx]->conn[ROLE_SYNC] : NULL;
    if (!cn || !cn->ready || cl->lookups_inflight >= LOOKUPS_MAX) {
        cl->sync_skipped++;
        return;
    }
    const char *argv[] = { "GET", key };
    struct cloud_cmd *c = cmd_newv(CMD_GET_USER, 2, argv);
    struct user_lookup *lk = c ? calloc(1, sizeof(*lk)) : NULL;
    if (!lk || !(lk->keys[0] = strdup(flow_key))) {
        free(lk);
        cmd_free(c);
        return;
    }
    lk->nkeys = 1;
    memcpy(lk->ip, ip, iplen + 1);
    c->lookup = lk;
    cl->lookups_inflight++;
    cl->sync_lookups++;
    memcpy(e->ip, ip, iplen + 1);
    free(e->user);
    e->user = NULL;
    e->pending = lk;
    e->expires_ms = now + UCACHE_PENDING_MS;
    conn_send_now(cn, c);
}

static void on_flow_end(struct cloud *cl, const struct cloud_json_field *f, int n)
{
    const char *key = fval(f, n, "key");
    if (!key || strncmp(key, "flow.", 5) != 0) {
        cl->bad_events++;
        return;
    }
    const char *bc = num_or_zero(cloud_json_get(f, n, "bytes.c2s"));
    const char *bs = num_or_zero(cloud_json_get(f, n, "bytes.s2c"));
    const char *pc = num_or_zero(cloud_json_get(f, n, "pkts.c2s"));
    const char *ps = num_or_zero(cloud_json_get(f, n, "pkts.s2c"));
    hincr(cl, key, "bytes.c2s", bc);
    hincr(cl, key, "bytes.s2c", bs);
    hincr(cl, key, "pkts.c2s", pc);
    hincr(cl, key, "pkts.s2c", ps);
    hset_fields(cl, key, f, n);
    expire_key(cl, key, cl->flow_ttl);

    const char *cli = fval(f, n, "cli.ip"), *srv = fval(f, n, "srv.ip");
    if (cli)
        host_counters(cl, cli, bc, pc, bs, ps, "flows.client");
    if (srv)
        host_counters(cl, srv, bs, ps, bc, pc, "flows.server");

    char bytes[24], pkts[24];
    snprintf(bytes, sizeof(bytes), "%llu", strtoull(bc, NULL, 10) + strtoull(bs, NULL, 10));
    snprintf(pkts, sizeof(pkts), "%llu", strtoull(pc, NULL, 10) + strtoull(ps, NULL, 10));
    aggregate(cl, "proto.", fval(f, n, "l7"), bytes, pkts);
    const char *vlan = fval(f, n, "vlan");
    aggregate(cl, "vlan.", vlan ? vlan : "0", bytes, pkts);
    aggregate(cl, "tls.", fval(f, n, "tls.sni"), bytes, NULL);

    if (cli && !cloud_json_get(f, n, "user"))
        user_lookup(cl, cli, key);
}

/* RADIUS Start / Stop: the ipuser.<ip> mapping and the user.<name> hash. */
static void on_user(struct cloud *cl, int login, const struct cloud_json_field *f, int n)
{
    const char *user = fval(f, n, "user"), *ip = fval(f, n, "ip");
    char ukey[320], ikey[96], ts[32];
    if (!user || !*user || snprintf(ukey, sizeof(ukey), "user.%s", user) >= (int)sizeof(ukey))
        return;
    uint64_t t = now_ms();
    snprintf(ts, sizeof(ts), "%" PRIu64 ".%03u", t / 1000, (unsigned)(t % 1000));
    const char *argv[2 + 2 * JSON_FIELDS_MAX];
    size_t lens[2 + 2 * JSON_FIELDS_MAX];
    int argc = 2;
    argv[0] = "HSET";
    argv[1] = ukey;
    for (int i = 0; i < n; i++) {
        if (strcmp(f[i].name, "user") == 0)
            continue;
        argv[argc++] = f[i].name;
        argv[argc++] = f[i].val;
    }
    const char *stamp = login ? "login" : "logout";
    if (!cloud_json_get(f, n, stamp)) {
        argv[argc++] = stamp;
        argv[argc++] = ts;
    }
    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    cloud_enqueue(cl, argc, argv, lens);
    int has_ip = ip && snprintf(ikey, sizeof(ikey), "ipuser.%s", ip) < (int)sizeof(ikey);
    struct ucache_entry *e = has_ip ? &cl->ucache[cloud_crc16(ip, strlen(ip)) % UCACHE_SIZE] : NULL;
    if (login) {
        if (has_ip) {
            const char *sv[] = { "SET", ikey, user };
            cloud_enqueuev(cl, 3, sv);
            if (strlen(ip) < sizeof(e->ip) && !e->pending) {
                snprintf(e->ip, sizeof(e->ip), "%s", ip);
                free(e->user);
                e->user = strdup(user);
                e->expires_ms = t + UCACHE_POS_MS;
            }
        }
        const char *pv[] = { "PERSIST", ukey };
        cloud_enqueuev(cl, 2, pv);
        return;
    }
    expire_key(cl, ukey, cl->user_grace ? cl->user_grace : 1);
    if (has_ip)
        expire_key(cl, ikey, cl->user_grace ? cl->user_grace : 1);
}

static void publish(struct cloud *cl, const struct event *ev)
{
    const char *ch = event_channel_name(ev->channel);
    const char *argv[] = { "PUBLISH", ch, ev->payload };
    size_t lens[] = { 7, strlen(ch), ev->len };
    cloud_enqueue(cl, 3, argv, lens);
}

void cloud_on_event(struct cloud *cl, const struct event *ev)
{
    if (!cl || cl->finished || ev->channel == EV_KEY_EXPIRED)
        return;
    if (ev->channel == EV_FLOW_END || ev->channel == EV_USER_LOGIN || ev->channel == EV_USER_LOGOUT ||
        ev->channel == EV_DNS || ev->channel == EV_HTTP) {
        struct cloud_json_field f[JSON_FIELDS_MAX];
        char stackbuf[4096];
        char *buf = ev->len < sizeof(stackbuf) ? stackbuf : malloc(ev->len + 1);
        int n = buf ? cloud_json_parse(ev->payload, ev->len, buf, ev->len + 1, f, JSON_FIELDS_MAX) : -1;
        if (n < 0)
            cl->bad_events++;
        else if (ev->channel == EV_FLOW_END)
            on_flow_end(cl, f, n);
        else if (ev->channel == EV_DNS)
            on_dns(cl, f, n);
        else if (ev->channel == EV_HTTP)
            on_http(cl, f, n);
        else
            on_user(cl, ev->channel == EV_USER_LOGIN, f, n);
        if (buf != stackbuf)
            free(buf);
    }
    publish(cl, ev);
}

/* ------------------------------------------------------------------ heartbeat */

static void beat_cb(uv_timer_t *t)
{
    struct cloud *cl = t->data;
    struct server *s = cl->s;
    char key[300], now[32], up[24], q[24], sent[24], drop[24], conn[16], ev[24], cli[24];
    size_t nin;
    int nconn = 0;
    for (int i = 0; i < cl->nnodes; i++)
        nconn += cl->nodes[i]->conn[ROLE_DATA].ready;
    inflight_bytes(cl, &nin);
    uint64_t ms = now_ms();
    snprintf(key, sizeof(key), "probe.%s", s->cfg->probe_id ? s->cfg->probe_id : "probe");
    snprintf(now, sizeof(now), "%" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
    snprintf(up, sizeof(up), "%" PRIu64, (ms - cl->start_ms) / 1000);
    snprintf(q, sizeof(q), "%zu", cl->retry.n + cl->pending.n + nin);
    snprintf(sent, sizeof(sent), "%" PRIu64, cl->sent);
    snprintf(drop, sizeof(drop), "%" PRIu64, cl->dropped);
    snprintf(conn, sizeof(conn), "%d", nconn);
    snprintf(ev, sizeof(ev), "%" PRIu64, s->st.events_published);
    snprintf(cli, sizeof(cli), "%" PRIu64, s->nclients);
    const char *argv[] = { "HSET", key, "version", FLOWCACHED_VERSION, "time", now, "uptime", up,
                           "cloud.queued", q, "cloud.sent", sent, "cloud.dropped", drop, "cloud.nodes.connected",
                           conn, "events", ev, "clients", cli };
    size_t lens[sizeof(argv) / sizeof(argv[0])];
    for (size_t i = 0; i < sizeof(argv) / sizeof(argv[0]); i++)
        lens[i] = strlen(argv[i]);
    cloud_enqueue(cl, (int)(sizeof(argv) / sizeof(argv[0])), argv, lens);
    expire_key(cl, key, 3);
}

/* ------------------------------------------------------------------ life cycle */

static int make_auth(struct cloud *cl, const struct fc_config *cfg)
{
    if (!cfg->cloud_password)
        return 0;
    const char *argv[] = { "AUTH", cfg->cloud_user, cfg->cloud_password };
    struct cloud_cmd *c = cfg->cloud_user ? cmd_newv(CMD_AUTH, 3, argv)
                                          : cmd_newv(CMD_AUTH, 2, (const char *[]){ "AUTH", cfg->cloud_password });
    if (!c)
        return -1;
    cl->auth = c->buf;
    cl->auth_len = c->len;
    free(c);
    return 0;
}

int cloud_create(struct server *s, char *err, size_t errlen)
{
    const struct fc_config *cfg = s->cfg;
    char host[256];
    int port;
    if (cfg->ncloud > CLOUD_MAX_NODES) {
        snprintf(err, errlen, "at most %d 'cloud' nodes", CLOUD_MAX_NODES);
        return -1;
    }
    for (int i = 0; i < cfg->ncloud; i++)
        if (cloud_parse_hostport(cfg->cloud[i], strlen(cfg->cloud[i]), host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "cloud '%s': expected host:port", cfg->cloud[i]);
            return -1;
        }
    struct cloud *cl = calloc(1, sizeof(*cl));
    if (cl)
        cl->ucache = calloc(UCACHE_SIZE, sizeof(*cl->ucache));
    if (!cl || !cl->ucache || make_auth(cl, cfg) != 0) {
        if (cl)
            free(cl->ucache);
        free(cl);
        snprintf(err, errlen, "out of memory creating the cloud replication");
        return -1;
    }
    cl->s = s;
    cl->loop = s->loop;
    cl->flow_ttl = cfg->flow_idle_timeout;
    cl->host_ttl = cfg->host_idle_timeout;
    cl->user_grace = cfg->user_grace;
    cl->queue_max = cfg->cloud_queue_max;
    cl->start_ms = now_ms();
    for (unsigned i = 0; i < CLOUD_SLOTS; i++)
        cl->slot_node[i] = -1;
    uv_timer_init(cl->loop, &cl->flush_timer);
    uv_timer_init(cl->loop, &cl->beat_timer);
    uv_timer_init(cl->loop, &cl->shut_timer);
    uv_prepare_init(cl->loop, &cl->prep);
    cl->flush_timer.data = cl->beat_timer.data = cl->shut_timer.data = cl->prep.data = cl;
    uint64_t fl = cfg->cloud_flush_ms ? cfg->cloud_flush_ms : 1;
    uv_timer_start(&cl->flush_timer, flush_timer_cb, fl, fl);
    uv_timer_start(&cl->beat_timer, beat_cb, 0, 1000);
    uv_prepare_start(&cl->prep, prep_cb);
    s->cloud = cl;
    for (int i = 0; i < cfg->ncloud; i++) {
        cloud_parse_hostport(cfg->cloud[i], strlen(cfg->cloud[i]), host, sizeof(host), &port);
        node_get(cl, host, port);
    }
    cl->nseeds = cl->nnodes;
    s->cloud_wanted = ((1u << EV_CHANNELS) - 1) & ~(1u << EV_KEY_EXPIRED);
    pubsub_wanted_update(s);
    return 0;
}

static void cloud_finish(struct cloud *cl)
{
    if (cl->finished)
        return;
    size_t nin;
    inflight_bytes(cl, &nin);
    size_t left = cl->retry.n + cl->pending.n + nin;
    if (left) {
        cl->dropped += left;
        fprintf(stderr, "flowcached: cloud: %zu command(s) not delivered at shutdown\n", left);
    }
    cl->finished = 1;
    uv_close((uv_handle_t *)&cl->flush_timer, NULL);
    uv_close((uv_handle_t *)&cl->beat_timer, NULL);
    uv_close((uv_handle_t *)&cl->shut_timer, NULL);
    uv_close((uv_handle_t *)&cl->prep, NULL);
    for (int i = 0; i < cl->nnodes; i++)
        for (int r = 0; r < 2; r++) {
            struct cloud_conn *cn = &cl->nodes[i]->conn[r];
            uv_close((uv_handle_t *)&cn->retry, NULL);
            cloud_link_close(cn->link);
            cn->link = NULL;
            cn->ready = 0;
        }
    if (cl->done)
        cl->done(cl->done_arg);
}

static void cloud_check_drained(struct cloud *cl)
{
    if (!cl->shutting || cl->finished)
        return;
    size_t nin;
    inflight_bytes(cl, &nin);
    if (cl->retry.n + cl->pending.n + nin == 0)
        cloud_finish(cl);
}

static void shut_timer_cb(uv_timer_t *t)
{
    cloud_finish(t->data);
}

void cloud_shutdown(struct cloud *cl, void (*done)(void *arg), void *arg)
{
    if (!cl || cl->finished || cl->shutting) {
        if (done)
            done(arg);
        return;
    }
    cl->shutting = 1;
    cl->done = done;
    cl->done_arg = arg;
    uv_timer_stop(&cl->beat_timer);
    beat_cb(&cl->beat_timer);           /* a last heartbeat with the final counts */
    uv_timer_start(&cl->shut_timer, shut_timer_cb, SHUTDOWN_TIMEOUT_MS, 0);
    cloud_flush(cl);
    cloud_check_drained(cl);
}

void cloud_info(struct cloud *cl, struct sbuf *b)
{
    size_t nin;
    int nconn = 0;
    for (int i = 0; i < cl->nnodes; i++)
        nconn += cl->nodes[i]->conn[ROLE_DATA].ready;
    inflight_bytes(cl, &nin);
    sbuf_printf(b, "cloud_enabled:1\r\ncloud_cluster:%d\r\ncloud_nodes:%d\r\ncloud_nodes_connected:%d\r\n",
                cl->cluster_mode, cl->nnodes, nconn);
    sbuf_printf(b, "cloud_queued_commands:%zu\r\ncloud_queued_bytes:%zu\r\ncloud_inflight_commands:%zu\r\n",
                cl->retry.n + cl->pending.n, cl->retry.bytes + cl->pending.bytes, nin);
    sbuf_printf(b, "cloud_sent_commands:%" PRIu64 "\r\ncloud_dropped_commands:%" PRIu64 "\r\n"
                   "cloud_error_replies:%" PRIu64 "\r\ncloud_reconnects:%" PRIu64 "\r\n"
                   "cloud_last_batch_latency_us:%" PRIu64 "\r\ncloud_redirects_moved:%" PRIu64
                   "\r\ncloud_redirects_ask:%" PRIu64 "\r\n",
                cl->sent, cl->dropped, cl->errors, cl->reconnects, cl->last_batch_us, cl->moved, cl->asked);
    sbuf_printf(b, "cloud_sync_lookups:%" PRIu64 "\r\ncloud_sync_hits:%" PRIu64 "\r\ncloud_sync_cache_hits:%" PRIu64
                   "\r\ncloud_sync_skipped:%" PRIu64 "\r\ncloud_bad_events:%" PRIu64 "\r\ncloud_last_error:%s\r\n",
                cl->sync_lookups, cl->sync_hits, cl->sync_cache_hits, cl->sync_skipped, cl->bad_events,
                cl->last_error);
}

void cloud_destroy(struct cloud *cl)
{
    if (!cl)
        return;
    q_free(&cl->retry);
    q_free(&cl->pending);
    for (int i = 0; i < cl->nnodes; i++) {
        for (int r = 0; r < 2; r++)
            q_free(&cl->nodes[i]->conn[r].inflight);
        free(cl->nodes[i]);
    }
    for (int i = 0; i < UCACHE_SIZE; i++)
        free(cl->ucache[i].user);
    free(cl->ucache);
    free(cl->auth);
    free(cl);
}
