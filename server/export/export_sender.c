/* export_sender.c - a collector's link: UDP sends, TCP connect/write/reconnect, a bounded message queue (loop thread). */
#include "server/export/export_sender.h"
#include "server/log/log.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_MAX_MS 30000

uint64_t export_wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void pump(struct export_sender *x);
static void tcp_connect(struct export_sender *x);

/* ---- the queue ---- */

static void drop(struct export_sender *x, struct export_msg *m)
{
    x->st.drops += m->flow_records;
    free(m);
}

static void queue_append(struct export_sender *x, struct export_msg *m)
{
    m->next = NULL;
    if (x->tail)
        x->tail->next = m;
    else
        x->head = m;
    x->tail = m;
    x->st.queued_bytes += m->len;
}

static struct export_msg *queue_pop(struct export_sender *x)
{
    struct export_msg *m = x->head;
    if (m) {
        x->head = m->next;
        if (!x->head)
            x->tail = NULL;
        x->st.queued_bytes -= m->len;
    }
    return m;
}

static void queue_drop_all(struct export_sender *x)
{
    struct export_msg *m;
    while ((m = queue_pop(x)) != NULL)
        drop(x, m);
}

/* Over the bound: drops the oldest messages holding records. Template-only
 * messages stay (records after them need them), and so does the newest. */
static void queue_trim(struct export_sender *x)
{
    struct export_msg **pp = &x->head;
    while (x->st.queued_bytes > x->o.queue_max && *pp && *pp != x->tail) {
        struct export_msg *m = *pp;
        if (!m->flow_records) {
            pp = &m->next;
            continue;
        }
        *pp = m->next;
        x->st.queued_bytes -= m->len;
        drop(x, m);
    }
}

/* ---- sending ---- */

static void sent(struct export_sender *x, struct export_msg *m)
{
    x->st.records += m->flow_records;
    x->st.messages++;
    x->st.bytes += m->len;
    free(m);
}

/* A UDP collector refused a message (ICMP port unreachable): pause, then
 * send templates again, since it may come back without them. */
static void udp_refused(struct export_sender *x)
{
    x->retry_at = uv_now(x->loop) + x->o.retry_ms;
    x->st.link = EXPORT_LINK_DOWN;
    export_encoder_forget(&x->enc);
    queue_drop_all(x);
}

static void udp_send_cb(uv_udp_send_t *req, int status)
{
    struct export_sender *x = req->data;
    struct export_msg *m = x->inflight;
    x->inflight = NULL;
    if (status < 0) {
        drop(x, m);
        if (status == UV_ECONNREFUSED)
            udp_refused(x);
        return;
    }
    sent(x, m);
    pump(x);
}

static void tcp_lost(struct export_sender *x);

static void tcp_write_cb(uv_write_t *req, int status)
{
    struct export_sender *x = req->data;
    struct export_msg *m = x->inflight;
    x->inflight = NULL;
    if (status < 0) {
        drop(x, m);
        tcp_lost(x);
        return;
    }
    sent(x, m);
    pump(x);
}

#define UDP_BATCH 32                 /* datagrams handed to the kernel in one sendmmsg */

/* A UDP message could not be sent at once: EAGAIN queues it in libuv (in flight until it is sent),
 * ECONNREFUSED pauses the link, any other error drops it. m is stamped and out of the queue. */
static void udp_send_later(struct export_sender *x, struct export_msg *m, int err)
{
    if (err == EAGAIN || err == EWOULDBLOCK) {
        uv_buf_t buf = uv_buf_init((char *)m->buf, m->len);
        x->inflight = m;
        x->send_req.data = x;
        if (uv_udp_send(&x->send_req, &x->link.udp, &buf, 1, NULL, udp_send_cb) != 0) {
            x->inflight = NULL;
            drop(x, m);
        }
        return;
    }
    drop(x, m);
    if (err == ECONNREFUSED)
        udp_refused(x);
}

/* Queued UDP messages to the kernel, up to UDP_BATCH datagrams a system call: one call instead of
 * one a datagram, and the collector woken once for them. The socket is connected, and nothing is
 * queued in libuv while no message is in flight, so the descriptor is written directly. */
static void udp_pump(struct export_sender *x)
{
    uv_os_fd_t fd;
    if (uv_fileno(&x->link.h, &fd) != 0)
        return;
    while (x->head && !x->inflight && !x->closing && x->st.link == EXPORT_LINK_UP) {
        struct mmsghdr v[UDP_BATCH];
        struct iovec iov[UDP_BATCH];
        uint32_t seq[UDP_BATCH];     /* the sequence state before each message's stamp */
        unsigned n = 0;
        for (struct export_msg *m = x->head; m && n < UDP_BATCH; m = m->next, n++) {
            seq[n] = x->seq;
            export_msg_stamp(m, &x->seq);
            iov[n] = (struct iovec){ m->buf, m->len };
            memset(&v[n], 0, sizeof(v[n]));
            v[n].msg_hdr.msg_iov = &iov[n];
            v[n].msg_hdr.msg_iovlen = 1;
        }
        int r = sendmmsg(fd, v, n, MSG_DONTWAIT);
        if (r > 0) {
            for (int i = 0; i < r; i++)
                sent(x, queue_pop(x));
            if ((unsigned)r < n)
                x->seq = seq[r];     /* the rest is stamped again when it goes */
            continue;
        }
        int err = errno;
        x->seq = seq[0];
        if (err == EINTR)
            continue;
        struct export_msg *m = queue_pop(x);
        export_msg_stamp(m, &x->seq);
        udp_send_later(x, m, err);
    }
}

/* Hands queued messages to the kernel while the link takes them. */
static void pump(struct export_sender *x)
{
    if (x->o.transport == EXPORT_UDP) {
        udp_pump(x);
        return;
    }
    if (x->head && !x->inflight && !x->closing && x->st.link == EXPORT_LINK_UP) {
        struct export_msg *m = queue_pop(x);
        uv_buf_t buf = uv_buf_init((char *)m->buf, m->len);
        export_msg_stamp(m, &x->seq);
        x->inflight = m;
        x->write_req.data = x;
        if (uv_write(&x->write_req, (uv_stream_t *)&x->link.tcp, &buf, 1, tcp_write_cb) != 0) {
            x->inflight = NULL;
            drop(x, m);
            tcp_lost(x);
        }
    }
}

/* The encoder's emit: a finished message joins the queue. */
static void emit_cb(void *arg, struct export_msg *m)
{
    struct export_sender *x = arg;
    if (x->closing) {
        drop(x, m);
        return;
    }
    if (x->o.transport == EXPORT_UDP && x->st.link == EXPORT_LINK_DOWN) {
        if (uv_now(x->loop) < x->retry_at) {
            drop(x, m);
            export_encoder_forget(&x->enc);  /* the templates it carried are lost too */
            return;
        }
        x->st.link = EXPORT_LINK_UP;     /* try again: the next refusal pauses again */
    }
    queue_append(x, m);
    queue_trim(x);
    if (!x->hold)
        pump(x);
}

/* ---- TCP link ---- */

static void retry_cb(uv_timer_t *t)
{
    tcp_connect(t->data);
}

/* Every close of a handle of x ends here (directly or through tcp_closed_cb):
 * once x is closing and none is pending, x->closed runs, exactly once. */
static void handle_closed_cb(uv_handle_t *h)
{
    struct export_sender *x = h->data;
    if (--x->closes_pending == 0 && x->closing && x->closed)
        x->closed(x);
}

static void close_handle(struct export_sender *x, uv_handle_t *h, uv_close_cb cb)
{
    x->closes_pending++;
    uv_close(h, cb);
}

/* The TCP link closed: reconnect later, unless the sender is closing. */
static void tcp_closed_cb(uv_handle_t *h)
{
    struct export_sender *x = h->data;
    if (!x->closing) {
        uv_timer_start(&x->retry, retry_cb, x->backoff_ms, 0);
        x->backoff_ms = x->backoff_ms * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : x->backoff_ms * 2;
    }
    handle_closed_cb(h);
}

/* The connection failed or broke: close it, reconnect later. Messages
 * still queued wait (within queue_max) for the next connection. */
static void tcp_lost(struct export_sender *x)
{
    x->st.link = EXPORT_LINK_DOWN;
    if (x->link_open) {
        x->link_open = 0;
        close_handle(x, &x->link.h, tcp_closed_cb);
    }
}

static void tcp_alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
    static char sink[512];           /* collectors send nothing; read only to see the close */
    (void)h;
    (void)hint;
    *buf = uv_buf_init(sink, sizeof(sink));
}

static void tcp_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
    (void)buf;
    if (n < 0)
        tcp_lost(s->data);
}

/* Connected: templates and names go first, then what waited. */
static void tcp_connect_cb(uv_connect_t *req, int status)
{
    struct export_sender *x = req->data;
    if (x->closing || !x->link_open)
        return;
    if (status < 0) {
        tcp_lost(x);
        return;
    }
    uint64_t now = export_wall_ms();
    if (x->st.messages || x->st.drops)
        x->st.reconnects++;
    x->st.link = EXPORT_LINK_UP;
    x->backoff_ms = x->o.retry_ms;
    uv_tcp_nodelay(&x->link.tcp, 1);
    uv_read_start((uv_stream_t *)&x->link.tcp, tcp_alloc_cb, tcp_read_cb);
    export_encoder_flush(&x->enc, now);
    struct export_msg *waiting = x->head, *waiting_tail = x->tail;
    size_t waiting_bytes = x->st.queued_bytes;
    x->head = x->tail = NULL;
    x->st.queued_bytes = 0;
    x->st.link = EXPORT_LINK_CONNECTING;     /* announce only queues */
    if (export_encoder_announce(&x->enc, now) != 0)
        log_msg(LL_WARNING, "export to %s: out of memory re-sending templates", x->target);
    x->st.link = EXPORT_LINK_UP;
    if (waiting) {
        if (x->tail)
            x->tail->next = waiting;
        else
            x->head = waiting;
        x->tail = waiting_tail;
        x->st.queued_bytes += waiting_bytes;
    }
    pump(x);
}

static void tcp_connect(struct export_sender *x)
{
    if (x->closing)
        return;
    uv_tcp_init(x->loop, &x->link.tcp);
    x->link.h.data = x;
    x->link_open = 1;
    x->st.link = EXPORT_LINK_CONNECTING;
    x->connect_req.data = x;
    if (uv_tcp_connect(&x->connect_req, &x->link.tcp, (struct sockaddr *)&x->addr, tcp_connect_cb) != 0)
        tcp_lost(x);
}

/* ---- open / close ---- */

int export_target_resolve(const char *t, enum export_transport transport, struct sockaddr_storage *out,
                          char *err, size_t errlen)
{
    char host[128];
    const char *port;
    if (t[0] == '[') {
        const char *end = strchr(t, ']');
        if (!end || end[1] != ':' || (size_t)(end - t - 1) >= sizeof(host))
            goto bad;
        memcpy(host, t + 1, (size_t)(end - t - 1));
        host[end - t - 1] = '\0';
        port = end + 2;
    } else {
        const char *colon = strrchr(t, ':');
        if (!colon || (size_t)(colon - t) >= sizeof(host) || strchr(t, ':') != colon)
            goto bad;
        memcpy(host, t, (size_t)(colon - t));
        host[colon - t] = '\0';
        port = colon + 1;
    }
    char *end;
    long p = strtol(port, &end, 10);
    if (!*host || *end || p < 1 || p > 65535)
        goto bad;
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_flags = AI_NUMERICSERV,
                              .ai_socktype = transport == EXPORT_TCP ? SOCK_STREAM : SOCK_DGRAM }, *res;
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        snprintf(err, errlen, "export collector '%s': %s", t, gai_strerror(rc));
        return -1;
    }
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
bad:
    snprintf(err, errlen, "export collector '%s': expected host:port or [ipv6]:port", t);
    return -1;
}

/* The largest message for the connected UDP socket: EXPORT_MSG_UDP (one packet on a 1500-byte link)
 * unless the kernel knows the path takes more (jumbo frames, a collector on the same host: loopback's
 * 64 KB), then what fits one packet of that path (RFC 7011 10.3.3: no message over the path MTU),
 * up to EXPORT_MSG_UDP_BIG. Fewer, larger datagrams cost the sender and the collector fewer system
 * calls and wake-ups. */
static uint32_t udp_message_size(struct export_sender *x)
{
    uv_os_fd_t fd;
    int mtu = 0, v6 = x->addr.ss_family == AF_INET6;
    socklen_t len = sizeof(mtu);
    if (uv_fileno(&x->link.h, &fd) != 0 ||
        getsockopt(fd, v6 ? IPPROTO_IPV6 : IPPROTO_IP, v6 ? IPV6_MTU : IP_MTU, &mtu, &len) != 0)
        return EXPORT_MSG_UDP;
    long room = (long)mtu - (v6 ? 40 + 8 : 20 + 8);    /* IP and UDP headers */
    if (room <= EXPORT_MSG_UDP)
        return EXPORT_MSG_UDP;
    return room > EXPORT_MSG_UDP_BIG ? EXPORT_MSG_UDP_BIG : (uint32_t)room;
}

int export_sender_open(struct export_sender *x, uv_loop_t *loop, const struct export_sender_opts *o,
                       uint64_t now_ms, char *err, size_t errlen)
{
    memset(x, 0, sizeof(*x));
    x->o = *o;
    snprintf(x->target, sizeof(x->target), "%s", o->target);
    x->o.target = x->target;
    x->loop = loop;
    x->backoff_ms = o->retry_ms;
    if (export_target_resolve(x->target, o->transport, &x->addr, err, errlen) != 0)
        return -1;
    struct export_encoder_opts eo = {
        .protocol = o->protocol, .domain = o->domain, .emit = emit_cb, .arg = x,
        .max_message = o->transport == EXPORT_TCP ? EXPORT_MSG_TCP : EXPORT_MSG_UDP,
        .refresh_s = o->transport == EXPORT_UDP ? o->refresh_s : 0,
        .refresh_msgs = o->transport == EXPORT_UDP ? o->refresh_msgs : 0,
    };
    if (export_encoder_init(&x->enc, &eo, now_ms) != 0) {
        snprintf(err, errlen, "export collector '%s': bad encoder options", x->target);
        return -1;
    }
    uv_timer_init(loop, &x->retry);
    x->retry.data = x;
    if (o->transport == EXPORT_TCP) {
        tcp_connect(x);
        return 0;
    }
    uv_udp_init(loop, &x->link.udp);
    x->link.h.data = x;
    x->link_open = 1;
    int rc = uv_udp_connect(&x->link.udp, (struct sockaddr *)&x->addr);
    if (rc != 0) {
        snprintf(err, errlen, "export collector '%s': %s", x->target, uv_strerror(rc));
        x->closing = 1;
        uv_close(&x->link.h, NULL);
        uv_close((uv_handle_t *)&x->retry, NULL);
        export_encoder_destroy(&x->enc);
        return -1;
    }
    x->enc.o.max_message = udp_message_size(x);
    x->st.link = EXPORT_LINK_UP;
    return 0;
}

void export_sender_add(struct export_sender *x, const struct export_record *r, uint64_t now_ms)
{
    if (export_encoder_add(&x->enc, r, now_ms) < 0)
        x->st.drops++;
}

void export_sender_hold(struct export_sender *x, int on)
{
    x->hold = on;
    if (!on)
        pump(x);
}

void export_sender_flush(struct export_sender *x, uint64_t now_ms)
{
    export_encoder_flush(&x->enc, now_ms);
    pump(x);
}

size_t export_sender_pending(const struct export_sender *x)
{
    size_t n = x->inflight ? x->inflight->flow_records : 0;
    for (const struct export_msg *m = x->head; m; m = m->next)
        n += m->flow_records;
    return n + (x->enc.cur ? x->enc.cur->flow_records : 0);
}

void export_sender_close(struct export_sender *x, void (*closed)(struct export_sender *x))
{
    x->closing = 1;
    x->closed = closed;
    queue_drop_all(x);
    if (x->enc.cur)
        x->st.drops += x->enc.cur->flow_records;
    export_encoder_destroy(&x->enc);
    uv_timer_stop(&x->retry);
    close_handle(x, (uv_handle_t *)&x->retry, handle_closed_cb);
    if (x->link_open) {
        x->link_open = 0;
        close_handle(x, &x->link.h, x->o.transport == EXPORT_TCP ? tcp_closed_cb : handle_closed_cb);
    }
}
