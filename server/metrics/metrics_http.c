/* metrics_http.c - the HTTP/1.1 side of the Prometheus endpoint: listeners, one request per connection, bounded and timed (loop thread). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "server/core/server.h"
#include "server/core/sink.h"
#include "server/metrics/metrics_internal.h"
#include "server/log/log.h"

enum {
    REQUEST_MAX = 8192,        /* request line and headers; more is answered 431 */
    CONN_MAX = 64,             /* connections at once; more are closed at accept */
    CONN_DEADLINE_MS = 10000,  /* a connection's whole life: request, reply, its reading */
    LISTEN_MAX = 16,           /* as `bind` */
};

struct metrics;

struct mconn {
    uv_tcp_t tcp;
    uv_timer_t timer;
    uv_write_t wr;
    uv_shutdown_t sh;
    struct metrics *m;
    struct mconn *prev, *next;
    struct sbuf head, body;
    size_t len;
    int handles;               /* handles not yet closed (tcp, timer) */
    int replied, closing;
    char req[REQUEST_MAX];
};

struct metrics {
    struct server *s;
    struct metrics_hooks hooks;
    uv_tcp_t listeners[LISTEN_MAX];
    int nlisteners;
    struct mconn *conns;
    int nconns;
    int open;                  /* listeners and connections not yet closed */
    int shutting_down;
    void (*done)(void *arg);
    void *done_arg;
};

static void metrics_closed_one(struct metrics *m)
{
    if (--m->open == 0 && m->shutting_down && m->done) {
        void (*done)(void *) = m->done;
        m->done = NULL;
        done(m->done_arg);
    }
}

/* ---- one connection ---- */

static void conn_handle_closed_cb(uv_handle_t *h)
{
    struct mconn *c = h->data;
    if (--c->handles > 0)
        return;
    struct metrics *m = c->m;
    sbuf_free(&c->head);
    sbuf_free(&c->body);
    free(c);
    metrics_closed_one(m);
}

static void conn_close(struct mconn *c)
{
    if (c->closing)
        return;
    c->closing = 1;
    if (c->prev)
        c->prev->next = c->next;
    else
        c->m->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    c->m->nconns--;
    uv_close((uv_handle_t *)&c->timer, conn_handle_closed_cb);
    uv_close((uv_handle_t *)&c->tcp, conn_handle_closed_cb);
}

static void conn_timer_cb(uv_timer_t *t)
{
    conn_close(t->data);
}

static void conn_shutdown_cb(uv_shutdown_t *req, int status)
{
    (void)status;
    conn_close(req->data);
}

static void conn_write_cb(uv_write_t *req, int status)
{
    struct mconn *c = req->data;
    if (status != 0 || c->closing || uv_shutdown(&c->sh, (uv_stream_t *)&c->tcp, conn_shutdown_cb) != 0)
        conn_close(c);
}

static const char *status_text(int code)
{
    switch (code) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 431: return "Request Header Fields Too Large";
    default: return "Internal Server Error";
    }
}

/* Queues the reply (a body of its own, or a one-line text for an error) and stops reading. */
static void conn_reply(struct mconn *c, int code, int head_only)
{
    c->replied = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    if (code != 200) {
        sbuf_reset(&c->body);
        sbuf_printf(&c->body, "%d %s\n", code, status_text(code));
    }
    if (c->body.oom) {
        conn_close(c);
        return;
    }
    sbuf_printf(&c->head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\nConnection: close\r\n%s\r\n",
                code, status_text(code), code == 200 ? "text/plain; version=0.0.4; charset=utf-8" : "text/plain",
                c->body.len, code == 405 ? "Allow: GET, HEAD\r\n" : "");
    if (c->head.oom) {
        conn_close(c);
        return;
    }
    uv_buf_t bufs[2] = { uv_buf_init(c->head.buf, (unsigned)c->head.len),
                         uv_buf_init(c->body.buf, (unsigned)c->body.len) };
    c->wr.data = c;
    if (uv_write(&c->wr, (uv_stream_t *)&c->tcp, bufs, head_only || !c->body.len ? 1 : 2, conn_write_cb) != 0)
        conn_close(c);
}

/* Answers the request in c->req[0..len) once its headers are complete (an end of headers was seen). */
static void conn_answer(struct mconn *c)
{
    const char *p = c->req, *end = memchr(c->req, '\n', c->len);   /* the request line; headers are not read */
    const char *sp1 = memchr(p, ' ', (size_t)(end - p));
    const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(end - sp1 - 1)) : NULL;
    if (!sp1 || !sp2 || sp1 == p || (size_t)(end - sp2) < 9 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0) {
        conn_reply(c, 400, 0);
        return;
    }
    size_t mlen = (size_t)(sp1 - p), tlen = (size_t)(sp2 - sp1 - 1);
    const char *q = memchr(sp1 + 1, '?', tlen);
    size_t plen = q ? (size_t)(q - sp1 - 1) : tlen;
    int get = mlen == 3 && !memcmp(p, "GET", 3), head = mlen == 4 && !memcmp(p, "HEAD", 4);
    if (!get && !head) {
        conn_reply(c, 405, head);
        return;
    }
    if (plen != 8 || memcmp(sp1 + 1, "/metrics", 8) != 0) {
        conn_reply(c, 404, head);
        return;
    }
    metrics_render(c->m->s, &c->m->hooks, &c->body);
    conn_reply(c, 200, head);
}

static void conn_alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    struct mconn *c = h->data;
    (void)suggested;
    *buf = uv_buf_init(c->req + c->len, (unsigned)(REQUEST_MAX - c->len));
}

/* Whether the headers end in what was read: an empty line (CRLF CRLF, or bare LF LF). */
static int headers_complete(const struct mconn *c)
{
    for (size_t i = 0; i + 1 < c->len; i++)
        if (c->req[i] == '\n' && (c->req[i + 1] == '\n' || (c->req[i + 1] == '\r' && i + 2 < c->len && c->req[i + 2] == '\n')))
            return 1;
    return 0;
}

static void conn_read_cb(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
    struct mconn *c = st->data;
    (void)buf;
    if (n < 0) {
        conn_close(c);
        return;
    }
    c->len += (size_t)n;
    if (c->replied || n == 0)
        return;
    if (headers_complete(c))
        conn_answer(c);
    else if (c->len == REQUEST_MAX)
        conn_reply(c, 431, 0);
}

static void listener_connection_cb(uv_stream_t *l, int status)
{
    struct metrics *m = l->data;
    if (status != 0)
        return;
    struct mconn *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    c->m = m;
    sbuf_init(&c->head);
    sbuf_init(&c->body);
    uv_tcp_init(m->s->loop, &c->tcp);
    uv_timer_init(m->s->loop, &c->timer);
    c->tcp.data = c->timer.data = c->sh.data = c;
    c->handles = 2;
    c->next = m->conns;
    if (m->conns)
        m->conns->prev = c;
    m->conns = c;
    m->nconns++;
    m->open++;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0 || m->nconns > CONN_MAX ||
        uv_read_start((uv_stream_t *)&c->tcp, conn_alloc_cb, conn_read_cb) != 0) {
        conn_close(c);
        return;
    }
    uv_timer_start(&c->timer, conn_timer_cb, CONN_DEADLINE_MS, 0);
}

/* ---- the listeners and their life as a sink without events ---- */

static void listener_closed_cb(uv_handle_t *h)
{
    metrics_closed_one(h->data);
}

static void metrics_sink_shutdown(void *arg, void (*done)(void *), void *done_arg)
{
    struct metrics *m = arg;
    m->shutting_down = 1;
    m->done = done;
    m->done_arg = done_arg;
    m->open++;                         /* held while closing, so done comes once, at the end */
    for (int i = 0; i < m->nlisteners; i++)
        if (!uv_is_closing((uv_handle_t *)&m->listeners[i]))
            uv_close((uv_handle_t *)&m->listeners[i], listener_closed_cb);
    while (m->conns)
        conn_close(m->conns);
    metrics_closed_one(m);
}

static void metrics_sink_destroy(void *arg)
{
    free(arg);
}

static int metrics_listen(struct metrics *m, const char *host, int port)
{
    struct sockaddr_storage sa;
    if (uv_ip4_addr(host, port, (struct sockaddr_in *)&sa) != 0 &&
        uv_ip6_addr(host, port, (struct sockaddr_in6 *)&sa) != 0) {
        log_msg(LL_WARNING, "metrics: bad bind address '%s'", host);
        return -1;
    }
    uv_tcp_t *l = &m->listeners[m->nlisteners++];
    uv_tcp_init(m->s->loop, l);
    l->data = m;
    m->open++;
    int rc = uv_tcp_bind(l, (struct sockaddr *)&sa, sa.ss_family == AF_INET6 ? UV_TCP_IPV6ONLY : 0);
    if (rc == 0)
        rc = uv_listen((uv_stream_t *)l, 64, listener_connection_cb);
    if (rc != 0) {
        log_msg(LL_WARNING, "metrics: cannot listen on %s:%d: %s", host, port, uv_strerror(rc));
        uv_close((uv_handle_t *)l, listener_closed_cb);
        return -1;
    }
    return 0;
}

int metrics_start(struct server *s, const struct metrics_hooks *hooks)
{
    const struct fc_config *cfg = s->cfg;
    if (cfg->metrics_port == 0)
        return 0;
    struct metrics *m = calloc(1, sizeof(*m));
    if (!m) {
        log_msg(LL_WARNING, "metrics: out of memory");
        return -1;
    }
    m->s = s;
    if (hooks)
        m->hooks = *hooks;
    const struct sink lifecycle = {
        .name = "metrics", .shutdown = metrics_sink_shutdown, .destroy = metrics_sink_destroy, .arg = m,
    };
    if (sink_register(&s->sinks, &lifecycle) != 0) {
        log_msg(LL_WARNING, "metrics: too many event sinks");
        free(m);
        return -1;
    }
    for (int i = 0; i < cfg->nbind && i < LISTEN_MAX; i++)
        if (metrics_listen(m, cfg->bind[i], cfg->metrics_port) != 0)
            return -1;
    log_msg(LL_NOTICE, "metrics on http://%s:%d/metrics", cfg->nbind ? cfg->bind[0] : "-",
            cfg->metrics_port);
    return 0;
}
