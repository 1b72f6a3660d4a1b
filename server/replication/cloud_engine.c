/* cloud_engine.c - pipelined delivery of commands to cloud Redis nodes, with cluster routing and retries (loop thread).
 *
 * Every command is formatted once (RESP) into a struct cloud_cmd and queued in
 * `pending`. The flush (every flush_ms, or as soon as a batch is full) routes
 * each command to the node owning its key's hash slot and writes one pipelined
 * batch per node; sent commands stay in that node's `inflight` FIFO until their
 * reply arrives, so when a connection dies they go back to the head of the
 * queue (`retry`) and are sent again: delivery is at least once. What is queued
 * is bounded by queue_max bytes: past it the oldest commands are dropped and
 * counted. A second connection per node (`sync`) serves GETs answered at once.
 */
#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_engine_int.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_writer.h"
#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_cmd.h"
#include "server/replication/cloud_link.h"
#include "server/log/log.h"

enum {
    BATCH_CMDS = 1024,                  /* a batch is full: flush before the timer */
    WINDOW_BYTES = 4 << 20,             /* sent and unacknowledged, per node */
    CONNECT_TIMEOUT_MS = 2000,
    BACKOFF_MIN_MS = 50,
    BACKOFF_MAX_MS = 2000,
    SHUTDOWN_TIMEOUT_MS = 4000,         /* under the usual 5 s stop grace */
    MAX_REDIRECTS = 16,
    RETRY_HOLD_MS = 100,                /* after LOADING / TRYAGAIN / CLUSTERDOWN */
};

static void conn_connect(struct cloud_conn *cn);
static void engine_check_drained(struct cloud_engine *e);

static uint64_t mono_ms(void) { return uv_hrtime() / 1000000; }

/* ------------------------------------------------------------------ queues */

static void q_free(struct cloud_engine *e, struct cloud_cmdq *q)
{
    struct cloud_cmd *c;
    while ((c = cloud_cmdq_pop(q))) {
        if (c->kind == CMD_GET)
            cloud_get_fail(e, c);
        cloud_cmd_free(c);
    }
}

static size_t inflight_bytes(const struct cloud_engine *e, size_t *n)
{
    size_t b = 0, k = 0;
    for (int i = 0; i < e->nnodes; i++) {
        b += e->nodes[i]->conn[ROLE_DATA].inflight.bytes;
        k += e->nodes[i]->conn[ROLE_DATA].inflight.n;
    }
    if (n)
        *n = k;
    return b;
}

/* Drops the oldest unsent commands while the total passes queue_max. */
static void engine_enforce_limit(struct cloud_engine *e)
{
    size_t total = e->retry.bytes + e->pending.bytes + inflight_bytes(e, NULL);
    while (total > e->queue_max && (e->retry.head || e->pending.head)) {
        struct cloud_cmd *c = e->retry.head ? cloud_cmdq_pop(&e->retry) : cloud_cmdq_pop(&e->pending);
        total -= c->len;
        e->dropped++;
        cloud_cmd_free(c);
    }
}

void cloud_engine_send(struct cloud_engine *e, int argc, const char **argv, const size_t *lens)
{
    if (e->finished)
        return;
    struct cloud_cmd *c = cloud_cmd_new(CMD_DATA, argc, argv, lens);
    if (!c) {
        e->dropped++;
        return;
    }
    cloud_cmdq_push(&e->pending, c);
    e->unflushed++;
    engine_enforce_limit(e);
}

/* ------------------------------------------------------------------ nodes */

static const struct cloud_link_ops conn_ops;

static void conn_retry_cb(uv_timer_t *t)
{
    struct cloud_conn *cn = t->data;
    if (!cn->e->finished && !cn->link)
        conn_connect(cn);
}

static void conn_schedule(struct cloud_conn *cn)
{
    if (cn->e->finished)
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
    if (nd->e->finished)
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
    if (cn->link || cn->e->finished)
        return;
    if (!nd->resolved) {
        if (!nd->resolving) {
            char port[16];
            struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
            snprintf(port, sizeof(port), "%d", nd->port);
            nd->gai.data = nd;
            if (uv_getaddrinfo(cn->e->loop, &nd->gai, node_gai_cb, nd->host, port, &hints) == 0)
                nd->resolving = 1;
            else
                conn_schedule(cn);
        }
        return;
    }
    cn->link = cloud_link_open(cn->e->loop, (const struct sockaddr *)&nd->addr, CONNECT_TIMEOUT_MS,
                               &conn_ops, cn);
    if (!cn->link)
        conn_schedule(cn);
}

/* The node for host:port, created (and connecting) when new; -1 when full. */
static int node_get(struct cloud_engine *e, const char *host, int port)
{
    for (int i = 0; i < e->nnodes; i++)
        if (e->nodes[i]->port == port && strcmp(e->nodes[i]->host, host) == 0)
            return i;
    if (e->nnodes >= CLOUD_MAX_NODES || strlen(host) >= sizeof(e->nodes[0]->host))
        return -1;
    struct cloud_node *nd = calloc(1, sizeof(*nd));
    if (!nd)
        return -1;
    nd->e = e;
    nd->idx = e->nnodes;
    snprintf(nd->host, sizeof(nd->host), "%s", host);
    nd->port = port;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&nd->addr) == 0 ||
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&nd->addr) == 0)
        nd->resolved = 1;
    for (int r = 0; r < 2; r++) {
        struct cloud_conn *cn = &nd->conn[r];
        cn->e = e;
        cn->node = nd;
        cn->role = r;
        uv_timer_init(e->loop, &cn->retry);
        cn->retry.data = cn;
    }
    e->nodes[e->nnodes++] = nd;
    for (int r = 0; r < 2; r++)
        conn_connect(&nd->conn[r]);
    return nd->idx;
}

/* Writes one internal command (AUTH, CLUSTER SLOTS, GET) on a connection now. Returns 0 when
 * written; -1 when memory ran out (c freed, nobody answered); 1 when the write ended the link at
 * once (conn_lost took c back and answered a GET's waiter). */
int cloud_conn_send_now(struct cloud_conn *cn, struct cloud_cmd *c)
{
    char *copy = malloc(c->len);
    if (!copy) {
        cloud_cmd_free(c);
        return -1;
    }
    memcpy(copy, c->buf, c->len);
    cloud_cmdq_push(&cn->inflight, c);
    return cloud_link_write(cn->link, copy, c->len) == 0 ? 0 : 1;
}

/* Asks one ready node for the slot map, unless a request is in flight. */
static void engine_refresh_map(struct cloud_engine *e)
{
    if (e->slots_inflight || (e->map_known && !e->map_refresh))
        return;
    for (int i = 0; i < e->nnodes; i++) {
        struct cloud_conn *cn = &e->nodes[i]->conn[ROLE_DATA];
        if (!cn->ready)
            continue;
        const char *argv[] = { "CLUSTER", "SLOTS" };
        struct cloud_cmd *c = cloud_cmd_newv(CMD_SLOTS, 2, argv);
        if (c && cloud_conn_send_now(cn, c) == 0) {
            e->slots_inflight = 1;
            e->map_refresh = 0;
        }
        return;
    }
}

static void conn_ready(struct cloud_conn *cn)
{
    cn->ready = 1;
    cn->backoff_ms = 0;
    if (cn->ever_ready)
        cn->e->reconnects++;
    cn->ever_ready = 1;
    if (cn->role == ROLE_DATA) {
        engine_refresh_map(cn->e);
        cn->e->unflushed = BATCH_CMDS;      /* flush at the next loop turn */
    }
    cn->e->gets_kick = 1;                   /* the waiting GETs go at the next loop turn */
}

/* The connection is gone: unacknowledged data goes back to the queue head. */
static void conn_lost(struct cloud_conn *cn)
{
    struct cloud_engine *e = cn->e;
    struct cloud_cmdq back = { 0 };
    struct cloud_cmd *c;
    cn->link = NULL;
    cn->ready = 0;
    while ((c = cloud_cmdq_pop(&cn->inflight))) {
        if (c->kind == CMD_DATA) {
            cloud_cmdq_push(&back, c);
            continue;
        }
        if (c->kind == CMD_SLOTS)
            e->slots_inflight = 0;
        if (c->kind == CMD_GET)
            cloud_get_fail(e, c);
        cloud_cmd_free(c);
    }
    cloud_cmdq_prepend(&e->retry, &back);
    conn_schedule(cn);
}

static void conn_on_connect(void *arg, struct cloud_link *l)
{
    struct cloud_conn *cn = arg;
    struct cloud_engine *e = cn->e;
    if (e->auth) {
        struct cloud_cmd *c = calloc(1, sizeof(*c));
        char *b = c ? malloc(e->auth_len) : NULL;
        if (!b) {
            free(c);
            cloud_link_close(l);
            conn_lost(cn);
            return;
        }
        memcpy(b, e->auth, e->auth_len);
        c->buf = b;
        c->len = e->auth_len;
        c->kind = CMD_AUTH;
        c->ask_node = -1;
        cloud_conn_send_now(cn, c);
        return;
    }
    conn_ready(cn);
}

static void conn_on_down(void *arg, struct cloud_link *l, int status)
{
    struct cloud_conn *cn = arg;
    (void)l;
    if (cn->ever_ready && cn->ready)
        snprintf(cn->e->last_error, sizeof(cn->e->last_error), "%.64s:%d %.40s", cn->node->host, cn->node->port,
                 uv_strerror(status));
    conn_lost(cn);
    engine_check_drained(cn->e);
}

/* ------------------------------------------------------------------ slot map */

static void map_plain(struct cloud_engine *e)
{
    for (unsigned s = 0; s < CLOUD_SLOTS; s++)
        e->slot_node[s] = (int16_t)(s * (unsigned)e->nseeds / CLOUD_SLOTS);
    e->map_known = 1;
    e->cluster_mode = 0;
}

static void map_from_slots(struct cloud_engine *e, struct cloud_node *asked, redisReply *r)
{
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *x = r->element[i];
        if (x->type != REDIS_REPLY_ARRAY || x->elements < 3 || x->element[0]->type != REDIS_REPLY_INTEGER ||
            x->element[1]->type != REDIS_REPLY_INTEGER || x->element[2]->type != REDIS_REPLY_ARRAY ||
            x->element[2]->elements < 2)
            continue;
        redisReply *m = x->element[2];
        if (m->element[0]->type != REDIS_REPLY_STRING || m->element[1]->type != REDIS_REPLY_INTEGER)
            continue;
        const char *host = m->element[0]->len ? m->element[0]->str : asked->host;
        int idx = node_get(e, host, (int)m->element[1]->integer);
        long long a = x->element[0]->integer, b = x->element[1]->integer;
        for (long long s = a; s <= b && s < CLOUD_SLOTS; s++)
            if (s >= 0)
                e->slot_node[s] = (int16_t)idx;
    }
    e->map_known = 1;
    e->cluster_mode = 1;
}

static void on_slots_reply(struct cloud_engine *e, struct cloud_node *asked, redisReply *r)
{
    e->slots_inflight = 0;
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0)
        map_from_slots(e, asked, r);
    else if (!e->map_known)
        map_plain(e);        /* cluster support disabled: plain node(s) */
    e->unflushed = BATCH_CMDS;
    e->gets_kick = 1;
}

/* ------------------------------------------------------------------ replies */

static int err_is(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r->len >= n && memcmp(r->str, prefix, n) == 0;
}

/* An error reply to a data command: follow a redirect, retry later, or count it. */
static void on_data_error(struct cloud_engine *e, struct cloud_cmd *c, redisReply *r)
{
    char host[256];
    unsigned slot;
    int port;
    enum cloud_redirect k = cloud_parse_redirect(r->str, r->len, &slot, host, sizeof(host), &port);
    if (k != CLOUD_REDIR_NONE && c->redirects < MAX_REDIRECTS) {
        int idx = node_get(e, host, port);
        if (idx >= 0) {
            c->redirects++;
            if (k == CLOUD_REDIR_MOVED) {
                e->moved++;
                e->slot_node[slot] = (int16_t)idx;
                e->map_refresh = 1;
                c->ask_node = -1;
            } else {
                e->asked++;
                c->ask_node = (int16_t)idx;
            }
            cloud_cmdq_push(&e->retry, c);
            return;
        }
    }
    if (k == CLOUD_REDIR_NONE && (err_is(r, "LOADING") || err_is(r, "TRYAGAIN") || err_is(r, "CLUSTERDOWN") ||
                                  err_is(r, "MASTERDOWN") || err_is(r, "BUSY")) && c->redirects < MAX_REDIRECTS) {
        c->redirects++;
        e->hold_until_ms = mono_ms() + RETRY_HOLD_MS;
        cloud_cmdq_push(&e->retry, c);
        return;
    }
    if (k == CLOUD_REDIR_NONE && err_is(r, "ERR Function not found") && e->functions && c->redirects < MAX_REDIRECTS) {
        c->redirects++;                         /* this node lacks the library: load it, then retry */
        int idx = c->ask_node >= 0 ? c->ask_node : e->slot_node[c->slot];
        struct cloud_node *n = idx >= 0 ? e->nodes[idx] : NULL;
        struct cloud_cmd *load = NULL;
        if (n && mono_ms() - n->functions_ms >= RETRY_HOLD_MS && (load = cloud_cmd_function_load(e->functions, c))) {
            n->functions_ms = mono_ms();
            cloud_cmdq_push(&e->retry, load);
        }
        cloud_cmdq_push(&e->retry, c);
        return;
    }
    e->errors++;
    snprintf(e->last_error, sizeof(e->last_error), "%.*s", (int)(r->len < 100 ? r->len : 100), r->str);
    cloud_cmd_free(c);
}

/* A reply to one of the connection's own commands. */
static void on_own_reply(struct cloud_conn *cn, struct cloud_link *l, struct cloud_cmd *c, redisReply *r)
{
    struct cloud_engine *e = cn->e;
    switch (c->kind) {
    case CMD_AUTH:
        if (r->type == REDIS_REPLY_ERROR) {
            snprintf(e->last_error, sizeof(e->last_error), "AUTH: %.*s", (int)(r->len < 100 ? r->len : 100), r->str);
            cloud_link_close(l);
            conn_lost(cn);
        } else {
            conn_ready(cn);
        }
        break;
    case CMD_SLOTS:
        on_slots_reply(e, cn->node, r);
        break;
    case CMD_GET:
        cloud_on_get_reply(e, c, r);
        break;
    default:
        break;
    }
    cloud_cmd_free(c);
}

static void conn_on_reply(void *arg, struct cloud_link *l, struct redisReply *r)
{
    struct cloud_conn *cn = arg;
    struct cloud_engine *e = cn->e;
    struct cloud_cmd *c = cloud_cmdq_pop(&cn->inflight);
    if (!c) {                                   /* a reply nobody asked for */
        freeReplyObject(r);
        cloud_link_close(l);
        conn_lost(cn);
        return;
    }
    if (c->kind != CMD_DATA) {
        on_own_reply(cn, l, c, r);
    } else {
        if (c->sent_us)
            e->last_batch_us = cloud_mono_us() - c->sent_us;
        if (r->type == REDIS_REPLY_ERROR) {
            on_data_error(e, c, r);
        } else {
            e->sent++;
            cloud_cmd_free(c);
        }
    }
    freeReplyObject(r);
    if (e->retry.head)
        e->unflushed = BATCH_CMDS;
    engine_check_drained(e);
}

static const struct cloud_link_ops conn_ops = { conn_on_connect, conn_on_reply, conn_on_down };

/* ------------------------------------------------------------------ flush */

struct batch {
    struct sbuf out;
    struct cloud_cmd *last;
};

/* Appends c (after an ASKING when it was redirected by ASK) to the batch of its connection.
 * Returns 0, or -1 when memory runs out (c is then left to the caller). */
static int batch_add(struct batch *b, struct cloud_conn *cn, struct cloud_cmd *c)
{
    if (c->ask_node >= 0) {
        const char *argv[] = { "ASKING" };
        struct cloud_cmd *a = cloud_cmd_newv(CMD_ASKING, 1, argv);
        if (!a)
            return -1;
        sbuf_append(&b->out, a->buf, a->len);
        cloud_cmdq_push(&cn->inflight, a);
        c->ask_node = -1;
    }
    c->sent_us = 0;
    sbuf_append(&b->out, c->buf, c->len);
    cloud_cmdq_push(&cn->inflight, c);
    b->last = c;
    return 0;
}

/* Routes queued commands to their nodes and writes one pipelined batch per node. */
static void engine_flush(struct cloud_engine *e)
{
    e->unflushed = 0;
    if (e->finished)
        return;
    engine_refresh_map(e);
    if (!e->map_known || mono_ms() < e->hold_until_ms)
        return;
    cloud_cmdq_prepend(&e->pending, &e->retry);
    if (!e->pending.head)
        return;
    struct batch b[CLOUD_MAX_NODES];
    memset(b, 0, sizeof(b));
    struct cloud_cmdq kept = { 0 };
    struct cloud_cmd *c;
    while ((c = cloud_cmdq_pop(&e->pending))) {
        int idx = c->ask_node >= 0 ? c->ask_node : e->slot_node[c->slot];
        struct cloud_conn *cn = idx >= 0 && idx < e->nnodes ? &e->nodes[idx]->conn[ROLE_DATA] : NULL;
        if (!cn || !cn->ready || cn->inflight.bytes + c->len > WINDOW_BYTES || batch_add(&b[idx], cn, c) != 0)
            cloud_cmdq_push(&kept, c);
    }
    e->pending = kept;
    uint64_t t = cloud_mono_us();
    for (int i = 0; i < e->nnodes; i++) {
        if (!b[i].out.len)
            continue;
        struct cloud_conn *cn = &e->nodes[i]->conn[ROLE_DATA];
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
    struct cloud_engine *e = t->data;
    if (e->gets_waiting.head)
        cloud_gets_dispatch(e);
    engine_flush(e);
    engine_check_drained(e);            /* a GET given up on may have been the last thing left */
}

static void prep_cb(uv_prepare_t *p)
{
    struct cloud_engine *e = p->data;
    if (e->gets_kick) {
        e->gets_kick = 0;
        cloud_gets_dispatch(e);
    }
    if (e->unflushed >= BATCH_CMDS)
        engine_flush(e);
}

/* ------------------------------------------------------------------ life cycle */

static int make_auth(struct cloud_engine *e, const struct cloud_engine_config *cfg)
{
    if (!cfg->password)
        return 0;
    const char *argv[] = { "AUTH", cfg->user, cfg->password };
    struct cloud_cmd *c = cfg->user ? cloud_cmd_newv(CMD_AUTH, 3, argv)
                                    : cloud_cmd_newv(CMD_AUTH, 2, (const char *[]){ "AUTH", cfg->password });
    if (!c)
        return -1;
    e->auth = c->buf;
    e->auth_len = c->len;
    free(c);
    return 0;
}

struct cloud_engine *cloud_engine_create(uv_loop_t *loop, const struct cloud_engine_config *cfg,
                                         char *err, size_t errlen)
{
    char host[256];
    int port;
    if (cfg->nnodes > CLOUD_MAX_NODES) {
        snprintf(err, errlen, "at most %d 'cloud' nodes", CLOUD_MAX_NODES);
        return NULL;
    }
    for (int i = 0; i < cfg->nnodes; i++)
        if (cloud_parse_hostport(cfg->nodes[i], strlen(cfg->nodes[i]), host, sizeof(host), &port) != 0) {
            snprintf(err, errlen, "cloud '%s': expected host:port", cfg->nodes[i]);
            return NULL;
        }
    struct cloud_engine *e = calloc(1, sizeof(*e));
    if (!e || make_auth(e, cfg) != 0) {
        free(e);
        snprintf(err, errlen, "out of memory creating the cloud replication");
        return NULL;
    }
    e->loop = loop;
    e->queue_max = cfg->queue_max;
    for (unsigned i = 0; i < CLOUD_SLOTS; i++)
        e->slot_node[i] = -1;
    uv_timer_init(loop, &e->flush_timer);
    uv_timer_init(loop, &e->shut_timer);
    uv_prepare_init(loop, &e->prep);
    e->flush_timer.data = e->shut_timer.data = e->prep.data = e;
    uint64_t fl = cfg->flush_ms ? cfg->flush_ms : 1;
    uv_timer_start(&e->flush_timer, flush_timer_cb, fl, fl);
    uv_prepare_start(&e->prep, prep_cb);
    for (int i = 0; i < cfg->nnodes; i++) {
        cloud_parse_hostport(cfg->nodes[i], strlen(cfg->nodes[i]), host, sizeof(host), &port);
        node_get(e, host, port);
    }
    e->nseeds = e->nnodes;
    return e;
}

void cloud_engine_set_functions(struct cloud_engine *e, const char *code)
{
    e->functions = code;
}

void cloud_engine_set_flush_ms(struct cloud_engine *e, uint64_t ms)
{
    uint64_t fl = ms ? ms : 1;
    if (!e->finished && uv_timer_get_repeat(&e->flush_timer) != fl)
        uv_timer_start(&e->flush_timer, flush_timer_cb, fl, fl);
}

static void engine_finish(struct cloud_engine *e)
{
    if (e->finished)
        return;
    size_t nin;
    inflight_bytes(e, &nin);
    size_t left = e->retry.n + e->pending.n + nin;
    if (left) {
        e->dropped += left;
        log_msg(LL_WARNING, "cloud: %zu command(s) not delivered at shutdown", left);
    }
    e->finished = 1;
    uv_close((uv_handle_t *)&e->flush_timer, NULL);
    uv_close((uv_handle_t *)&e->shut_timer, NULL);
    uv_close((uv_handle_t *)&e->prep, NULL);
    for (int i = 0; i < e->nnodes; i++)
        for (int r = 0; r < 2; r++) {
            struct cloud_conn *cn = &e->nodes[i]->conn[r];
            uv_close((uv_handle_t *)&cn->retry, NULL);
            cloud_link_close(cn->link);
            cn->link = NULL;
            cn->ready = 0;
        }
    if (e->done)
        e->done(e->done_arg);
}

static void engine_check_drained(struct cloud_engine *e)
{
    if (!e->shutting || e->finished)
        return;
    size_t nin;
    inflight_bytes(e, &nin);
    /* a GET still asked may bring commands (a held flow.end published with its user): wait for
     * its answer too (a waiting GET gives up after 2 s, under the shutdown timer) */
    if (e->retry.n + e->pending.n + nin == 0 && e->gets_inflight == 0)
        engine_finish(e);
}

static void shut_timer_cb(uv_timer_t *t)
{
    engine_finish(t->data);
}

void cloud_engine_shutdown(struct cloud_engine *e, void (*done)(void *arg), void *arg)
{
    if (e->finished || e->shutting) {
        if (done)
            done(arg);
        return;
    }
    e->shutting = 1;
    e->done = done;
    e->done_arg = arg;
    uv_timer_start(&e->shut_timer, shut_timer_cb, SHUTDOWN_TIMEOUT_MS, 0);
    engine_flush(e);
    engine_check_drained(e);
}

int cloud_engine_finished(const struct cloud_engine *e)
{
    return e->finished;
}

void cloud_engine_stats(const struct cloud_engine *e, struct cloud_engine_stats *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < e->nnodes; i++)
        out->nodes_connected += e->nodes[i]->conn[ROLE_DATA].ready;
    inflight_bytes(e, &out->inflight);
    out->cluster = e->cluster_mode;
    out->nodes = e->nnodes;
    out->queued = e->retry.n + e->pending.n;
    out->queued_bytes = e->retry.bytes + e->pending.bytes;
    out->sent = e->sent;
    out->dropped = e->dropped;
    out->errors = e->errors;
    out->reconnects = e->reconnects;
    out->last_batch_us = e->last_batch_us;
    out->moved = e->moved;
    out->asked = e->asked;
    out->last_error = e->last_error;
}

void cloud_engine_destroy(struct cloud_engine *e)
{
    if (!e)
        return;
    q_free(e, &e->retry);
    q_free(e, &e->pending);
    q_free(e, &e->gets_waiting);
    for (int i = 0; i < e->nnodes; i++) {
        for (int r = 0; r < 2; r++)
            q_free(e, &e->nodes[i]->conn[r].inflight);
        free(e->nodes[i]);
    }
    free(e->auth);
    free(e);
}
