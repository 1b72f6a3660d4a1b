/* cloud_link.c - one TCP connection to a Redis node: connect with timeout, write, RESP replies (loop thread). */
#include "server/replication/cloud_link.h"

#include <hiredis/hiredis.h>
#include <stdlib.h>
#include <string.h>

enum { LINK_READ_BUF = 64 * 1024 };

struct cloud_link {
    uv_tcp_t tcp;
    uv_timer_t timer;                /* connect timeout */
    uv_connect_t creq;
    redisReader *reader;
    const struct cloud_link_ops *ops;
    void *arg;
    int connected, closing, open_handles;
    size_t write_pending;
    char rbuf[LINK_READ_BUF];
};

struct link_write {
    uv_write_t req;
    struct cloud_link *l;
    char *buf;
    size_t len;
};

static void link_handle_closed(uv_handle_t *h)
{
    struct cloud_link *l = h->data;
    if (--l->open_handles == 0) {
        redisReaderFree(l->reader);
        free(l);
    }
}

static void link_release(struct cloud_link *l)
{
    l->closing = 1;
    uv_close((uv_handle_t *)&l->tcp, link_handle_closed);
    uv_close((uv_handle_t *)&l->timer, link_handle_closed);
}

/* The connection failed or ended: tell the owner once, then close. */
static void link_fail(struct cloud_link *l, int status)
{
    if (l->closing)
        return;
    l->closing = 1;
    l->ops->on_down(l->arg, l, status);
    link_release(l);
}

static void link_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct cloud_link *l = h->data;
    (void)suggested;
    buf->base = l->rbuf;
    buf->len = sizeof(l->rbuf);
}

static void link_read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct cloud_link *l = st->data;
    if (l->closing)
        return;
    if (nread < 0) {
        link_fail(l, (int)nread);
        return;
    }
    if (nread == 0)
        return;
    if (redisReaderFeed(l->reader, buf->base, (size_t)nread) != REDIS_OK) {
        link_fail(l, UV_EPROTO);
        return;
    }
    while (!l->closing) {
        void *reply = NULL;
        if (redisReaderGetReply(l->reader, &reply) != REDIS_OK) {
            link_fail(l, UV_EPROTO);
            return;
        }
        if (!reply)
            break;
        l->ops->on_reply(l->arg, l, reply);
    }
}

static void link_connect_cb(uv_connect_t *req, int status)
{
    struct cloud_link *l = req->data;
    if (l->closing)
        return;
    uv_timer_stop(&l->timer);
    if (status < 0) {
        link_fail(l, status);
        return;
    }
    l->connected = 1;
    uv_tcp_nodelay(&l->tcp, 1);
    uv_tcp_keepalive(&l->tcp, 1, 10);
    int rc = uv_read_start((uv_stream_t *)&l->tcp, link_alloc_cb, link_read_cb);
    if (rc < 0) {
        link_fail(l, rc);
        return;
    }
    l->ops->on_connect(l->arg, l);
}

static void link_timeout_cb(uv_timer_t *t)
{
    struct cloud_link *l = t->data;
    if (!l->connected)
        link_fail(l, UV_ETIMEDOUT);
}

struct cloud_link *cloud_link_open(uv_loop_t *loop, const struct sockaddr *addr, uint64_t connect_timeout_ms,
                                   const struct cloud_link_ops *ops, void *arg)
{
    struct cloud_link *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->reader = redisReaderCreate();
    if (!l->reader || uv_tcp_init(loop, &l->tcp) != 0) {
        redisReaderFree(l->reader);
        free(l);
        return NULL;
    }
    l->ops = ops;
    l->arg = arg;
    l->tcp.data = l->timer.data = l->creq.data = l;
    uv_timer_init(loop, &l->timer);
    l->open_handles = 2;
    if (uv_tcp_connect(&l->creq, &l->tcp, addr, link_connect_cb) != 0) {
        link_release(l);
        return NULL;
    }
    uv_timer_start(&l->timer, link_timeout_cb, connect_timeout_ms, 0);
    return l;
}

static void link_write_cb(uv_write_t *req, int status)
{
    struct link_write *w = req->data;
    struct cloud_link *l = w->l;
    l->write_pending -= w->len;
    free(w->buf);
    free(w);
    if (status < 0)
        link_fail(l, status);
}

int cloud_link_write(struct cloud_link *l, char *buf, size_t len)
{
    struct link_write *w = l->closing ? NULL : malloc(sizeof(*w));
    if (!w) {
        free(buf);
        return -1;
    }
    w->req.data = w;
    w->l = l;
    w->buf = buf;
    w->len = len;
    uv_buf_t b = uv_buf_init(buf, (unsigned)len);
    int rc = uv_write(&w->req, (uv_stream_t *)&l->tcp, &b, 1, link_write_cb);
    if (rc < 0) {
        free(buf);
        free(w);
        link_fail(l, rc);
        return -1;
    }
    l->write_pending += len;
    return 0;
}

size_t cloud_link_write_pending(const struct cloud_link *l)
{
    return l->write_pending;
}

void cloud_link_close(struct cloud_link *l)
{
    if (!l || l->closing)
        return;
    link_release(l);
}

char *cloud_reply_join(const struct redisReply *r, size_t *len)
{
    size_t n = 0;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING)
            n += r->element[i]->len + 1;
    char *out = malloc(n + 1), *p = out;
    if (!out)
        return NULL;
    for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_STRING) {
            if (p != out)
                *p++ = '\n';
            memcpy(p, r->element[i]->str, r->element[i]->len);
            p += r->element[i]->len;
        }
    *p = 0;
    *len = (size_t)(p - out);
    return out;
}
