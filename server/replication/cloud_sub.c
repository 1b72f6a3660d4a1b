/* cloud_sub.c - a subscription to the cloud's user.logout channel, reconnected when lost (loop thread).
 *
 * One connection to the first seed node (a Redis Cluster forwards every PUBLISH to all its nodes, so one
 * node hears them all; a host name is resolved with uv_getaddrinfo, off the loop thread, before the first
 * connection, as the delivery engine does): AUTH when configured, SUBSCRIBE user.logout, then each message's JSON gives the
 * logout's user, ip, ts and probe. A logout seen by another probe ends this probe's learnt mapping of that
 * address at once (cloud_users_heard_logout), instead of when its lookup cache next asks.
 */
#include "server/replication/cloud_sub.h"

#include <hiredis/hiredis.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_cmd.h"
#include "server/replication/cloud_link.h"

enum { SUB_RETRY_MS = 1000, SUB_CONNECT_MS = 2000, JSON_STR_MAX = 512 };

struct cloud_sub {
    uv_loop_t *loop;
    char host[256];
    int port;
    struct sockaddr_storage addr;
    int resolved, resolving, closing, timer_open;
    uv_getaddrinfo_t gai;
    struct cloud_link *link;
    uv_timer_t retry;
    char *hello;                       /* AUTH (when set) and SUBSCRIBE, as RESP */
    size_t hello_len;
    char probe[256];
    cloud_sub_logout_cb cb;
    void *arg;
    uint64_t messages;
};

/* The JSON string value of "name" in the flat object js (escapes \" \\ \/ only) into out; 0, or -1. */
static int json_str(const char *js, size_t len, const char *name, char *out, size_t cap)
{
    char pat[64];
    int n = snprintf(pat, sizeof(pat), "\"%s\":\"", name);
    const char *p = memmem(js, len, pat, (size_t)n), *end = js + len;
    size_t o = 0;
    if (!p)
        return -1;
    for (p += n; p < end && *p != '"'; p++) {
        if (*p == '\\') {
            if (++p >= end || (*p != '"' && *p != '\\' && *p != '/'))
                return -1;
        }
        if (o + 1 >= cap)
            return -1;
        out[o++] = *p;
    }
    out[o] = 0;
    return p < end ? 0 : -1;
}

/* The number "ts": seconds with a fraction, as microseconds (0 when absent). */
static uint64_t json_ts_us(const char *js, size_t len)
{
    const char *p = memmem(js, len, "\"ts\":", 5);
    char buf[32];
    if (!p)
        return 0;
    p += 5;
    size_t n = strspn(p, "0123456789.");
    if (n == 0 || n >= sizeof(buf) || p + n > js + len)
        return 0;
    memcpy(buf, p, n);
    buf[n] = 0;
    return (uint64_t)(strtod(buf, NULL) * 1e6 + 0.5);
}

static void sub_message(struct cloud_sub *s, const char *js, size_t len)
{
    char user[JSON_STR_MAX], ip[64], probe[256];
    if (json_str(js, len, "user", user, sizeof(user)) != 0 || json_str(js, len, "ip", ip, sizeof(ip)) != 0 ||
        !user[0] || !ip[0])
        return;
    if (json_str(js, len, "probe", probe, sizeof(probe)) == 0 && strcmp(probe, s->probe) == 0)
        return;                         /* our own: the capture already ended the mapping */
    s->messages++;
    s->cb(s->arg, ip, user, json_ts_us(js, len));
}

static void sub_retry_cb(uv_timer_t *t);

static void sub_on_reply(void *arg, struct cloud_link *l, struct redisReply *r)
{
    struct cloud_sub *s = arg;
    if (r->type == REDIS_REPLY_ERROR) {            /* AUTH refused: try again later */
        fprintf(stderr, "flowcached: cloud subscription: %.*s\n", (int)(r->len < 100 ? r->len : 100), r->str);
        cloud_link_close(l);
        s->link = NULL;
        uv_timer_start(&s->retry, sub_retry_cb, SUB_RETRY_MS, 0);
    } else if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
               r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, "message") == 0 &&
               r->element[2]->type == REDIS_REPLY_STRING) {
        sub_message(s, r->element[2]->str, r->element[2]->len);
    }
    freeReplyObject(r);
}

static void sub_on_connect(void *arg, struct cloud_link *l)
{
    struct cloud_sub *s = arg;
    char *buf = malloc(s->hello_len);
    if (!buf) {
        cloud_link_close(l);
        s->link = NULL;
        uv_timer_start(&s->retry, sub_retry_cb, SUB_RETRY_MS, 0);
        return;
    }
    memcpy(buf, s->hello, s->hello_len);
    cloud_link_write(l, buf, s->hello_len);
}

static void sub_on_down(void *arg, struct cloud_link *l, int status)
{
    struct cloud_sub *s = arg;
    (void)l;
    (void)status;
    s->link = NULL;
    uv_timer_start(&s->retry, sub_retry_cb, SUB_RETRY_MS, 0);
}

static const struct cloud_link_ops sub_ops = { sub_on_connect, sub_on_reply, sub_on_down };

/* Frees s once it is closed, its timer closed and no name resolution is in flight. */
static void sub_free_maybe(struct cloud_sub *s)
{
    if (s->closing && !s->timer_open && !s->resolving) {
        free(s->hello);
        free(s);
    }
}

static void sub_gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    struct cloud_sub *s = req->data;
    s->resolving = 0;
    if (status == 0 && res && res->ai_addrlen <= sizeof(s->addr)) {
        memcpy(&s->addr, res->ai_addr, res->ai_addrlen);
        s->resolved = 1;
    }
    uv_freeaddrinfo(res);
    if (s->closing)
        sub_free_maybe(s);
    else
        uv_timer_start(&s->retry, sub_retry_cb, s->resolved ? 0 : SUB_RETRY_MS, 0);
}

/* Starts resolving the node's name. Returns 0, or -1 when it could not start. */
static int sub_resolve(struct cloud_sub *s)
{
    char port[16];
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM };
    snprintf(port, sizeof(port), "%d", s->port);
    s->gai.data = s;
    if (uv_getaddrinfo(s->loop, &s->gai, sub_gai_cb, s->host, port, &hints) != 0)
        return -1;
    s->resolving = 1;
    return 0;
}

static void sub_retry_cb(uv_timer_t *t)
{
    struct cloud_sub *s = t->data;
    if (s->link || s->resolving || (!s->resolved && sub_resolve(s) == 0))
        return;
    if (s->resolved)
        s->link = cloud_link_open(s->loop, (const struct sockaddr *)&s->addr, SUB_CONNECT_MS, &sub_ops, s);
    if (!s->link)
        uv_timer_start(&s->retry, sub_retry_cb, SUB_RETRY_MS, 0);
}

/* The RESP of AUTH (when password is set) followed by SUBSCRIBE user.logout, into s->hello. */
static int sub_hello(struct cloud_sub *s, const char *user, const char *password)
{
    const char *sv[] = { "SUBSCRIBE", "user.logout" };
    const char *av[] = { "AUTH", user ? user : password, password };
    struct cloud_cmd *a = password ? cloud_cmd_newv(0, user ? 3 : 2, av) : NULL;
    struct cloud_cmd *b = cloud_cmd_newv(0, 2, sv);
    size_t n = (a ? a->len : 0) + (b ? b->len : 0);
    if (b && (!password || a) && (s->hello = malloc(n))) {
        if (a)
            memcpy(s->hello, a->buf, a->len);
        memcpy(s->hello + (a ? a->len : 0), b->buf, b->len);
        s->hello_len = n;
    }
    cloud_cmd_free(a);
    cloud_cmd_free(b);
    return s->hello ? 0 : -1;
}

struct cloud_sub *cloud_sub_create(uv_loop_t *loop, const char *node, const char *user, const char *password,
                                   const char *probe_id, cloud_sub_logout_cb cb, void *arg)
{
    char host[256];
    int port;
    struct cloud_sub *s = calloc(1, sizeof(*s));
    if (!s || cloud_parse_hostport(node, strlen(node), host, sizeof(host), &port) != 0 ||
        sub_hello(s, user, password) != 0) {
        if (s)
            free(s->hello);
        free(s);
        return NULL;
    }
    s->resolved = uv_ip4_addr(host, port, (struct sockaddr_in *)&s->addr) == 0 ||
                  uv_ip6_addr(host, port, (struct sockaddr_in6 *)&s->addr) == 0;
    memcpy(s->host, host, sizeof(s->host));
    s->port = port;
    s->timer_open = 1;
    s->loop = loop;
    s->cb = cb;
    s->arg = arg;
    snprintf(s->probe, sizeof(s->probe), "%s", probe_id ? probe_id : "");
    uv_timer_init(loop, &s->retry);
    s->retry.data = s;
    uv_timer_start(&s->retry, sub_retry_cb, 0, 0);
    return s;
}

uint64_t cloud_sub_messages(const struct cloud_sub *s)
{
    return s ? s->messages : 0;
}

static void sub_closed_cb(uv_handle_t *h)
{
    struct cloud_sub *s = h->data;
    s->timer_open = 0;
    sub_free_maybe(s);
}

void cloud_sub_close(struct cloud_sub *s)
{
    if (!s)
        return;
    s->closing = 1;
    cloud_link_close(s->link);
    s->link = NULL;
    if (s->resolving)
        uv_cancel((uv_req_t *)&s->gai);
    uv_timer_stop(&s->retry);
    uv_close((uv_handle_t *)&s->retry, sub_closed_cb);
}
