/* cloud_gets.c - the GETs (and HGET, SMEMBERS, FCALL...) asked on each cloud node's second, "sync"
 * connection, whose answers a caller waits for: sent at once when that connection is up; a GET asked
 * while it is not (the probe just started, a reconnect) waits for it up to GET_WAIT_MS (loop thread).
 */
#include "server/replication/cloud_engine.h"
#include "server/replication/cloud_engine_int.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_link.h"

enum {
    GETS_MAX = 1024,                    /* GETs in flight or waiting, at most */
    GET_WAIT_MS = 2000,                 /* a GET waits this long for its connection (start, reconnect) */
};

void cloud_get_fail(struct cloud_engine *e, struct cloud_cmd *c)
{
    e->gets_inflight--;
    if (c->waiter)
        c->waiter(c->waiter_arg, NULL, 0, -1);
    c->waiter = NULL;
}

void cloud_on_get_reply(struct cloud_engine *e, struct cloud_cmd *c, redisReply *r)
{
    if (r->type == REDIS_REPLY_ERROR) {
        cloud_get_fail(e, c);
        return;
    }
    e->gets_inflight--;
    if (r->type == REDIS_REPLY_ARRAY) {         /* SMEMBERS: the strings joined by '\n' */
        size_t len = 0;
        char *text = cloud_reply_join(r, &len);
        c->waiter(c->waiter_arg, text, len, text ? 0 : -1);
        free(text);
        return;
    }
    int str = r->type == REDIS_REPLY_STRING;
    c->waiter(c->waiter_arg, str ? r->str : NULL, str ? r->len : 0, 0);
}

/* The sync connection of the node owning c's slot, or NULL while the slot map is unknown. */
static struct cloud_conn *sync_conn(struct cloud_engine *e, const struct cloud_cmd *c)
{
    int idx = e->map_known ? e->slot_node[c->slot] : -1;
    return idx >= 0 && idx < e->nnodes ? &e->nodes[idx]->conn[ROLE_SYNC] : NULL;
}

/* Writes GET c on cn now; its waiter hears of a failure (out of memory, the link lost at once). */
static void get_send(struct cloud_engine *e, struct cloud_conn *cn, struct cloud_cmd *c)
{
    cloud_get_cb cb = c->waiter;
    void *arg = c->waiter_arg;
    c->sent_us = 0;
    if (cloud_conn_send_now(cn, c) < 0) {     /* c freed */
        e->gets_inflight--;
        cb(arg, NULL, 0, -1);
    }
}

void cloud_gets_dispatch(struct cloud_engine *e)
{
    struct cloud_cmdq q = e->gets_waiting, kept = { 0 };
    struct cloud_cmd *c;
    uint64_t now = cloud_mono_us();
    memset(&e->gets_waiting, 0, sizeof(e->gets_waiting));   /* a waiter may ask again meanwhile */
    while ((c = cloud_cmdq_pop(&q))) {
        struct cloud_conn *cn = sync_conn(e, c);
        if (cn && cn->ready && !e->finished) {
            get_send(e, cn, c);
        } else if (e->finished || now - c->sent_us >= (uint64_t)GET_WAIT_MS * 1000) {
            cloud_get_fail(e, c);
            cloud_cmd_free(c);
        } else {
            cloud_cmdq_push(&kept, c);
        }
    }
    cloud_cmdq_prepend(&e->gets_waiting, &kept);
}

static int engine_ask(struct cloud_engine *e, int argc, const char **argv, cloud_get_cb cb, void *arg, int wait)
{
    if (e->finished || argc < 2 || e->gets_inflight >= GETS_MAX)
        return -1;
    struct cloud_cmd *c = cloud_cmd_newv(CMD_GET, argc, argv);
    if (!c)
        return -1;
    struct cloud_conn *cn = sync_conn(e, c);
    if ((!cn || !cn->ready) && !wait) {
        cloud_cmd_free(c);
        return -1;
    }
    c->waiter = cb;
    c->waiter_arg = arg;
    e->gets_inflight++;
    if (!cn || !cn->ready) {
        c->sent_us = cloud_mono_us();
        cloud_cmdq_push(&e->gets_waiting, c);
        return 0;
    }
    if (cloud_conn_send_now(cn, c) < 0) {
        e->gets_inflight--;
        return -1;
    }
    return 0;
}

int cloud_engine_ask(struct cloud_engine *e, int argc, const char **argv, cloud_get_cb cb, void *arg)
{
    return engine_ask(e, argc, argv, cb, arg, 0);
}

int cloud_engine_get(struct cloud_engine *e, const char *key, cloud_get_cb cb, void *arg)
{
    const char *argv[] = { "GET", key };
    return engine_ask(e, 2, argv, cb, arg, 1);
}
