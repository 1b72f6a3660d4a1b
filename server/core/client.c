/* client.c - client connections of the loop thread: accept, reading and command turns, reply buffering
 * and writes, the flush and ready lists, close (Redis' networking.c). */
#include "server/core/client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/core/server_state.h"
#include "server/log/log.h"

enum { READ_CHUNK = 65536 };
/* A client's turn: at most this many commands or this much time (a few big
 * KEYS can take milliseconds each), then the others get theirs. */
enum { CLIENT_TURN_CMDS = 256 };
#define CLIENT_TURN_NS (5ULL * 1000 * 1000)
/* Replies a normal client may leave unread: past this its input is no longer
 * read or processed (TCP pushes back on it) until half of it was written. */
#define CLIENT_OUTPUT_PAUSE (16ULL << 20)

/* ---- writing ---- */

struct write_req {
    uv_write_t req;
    struct client *c;
    char *buf;
    size_t len;
};

uint64_t client_output_pending(const struct client *c)
{
    return c->out.len + c->out_inflight;
}

static void client_maybe_finish(struct client *c);
static void client_resume(struct client *c);
static void client_ready(struct client *c);
static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf);

static void write_cb(uv_write_t *req, int status)
{
    struct write_req *w = (struct write_req *)req;
    struct client *c = w->c;
    c->out_inflight -= w->len;
    free(w->buf);
    free(w);
    if (status < 0 && !c->closing)
        client_close(c);
    else if (c->read_paused && !c->closing && client_output_pending(c) < CLIENT_OUTPUT_PAUSE / 2)
        client_resume(c);
    else
        client_maybe_finish(c);
}

/* Output buffer capacity a client keeps between flushes (reused for the next
 * batch instead of being grown again from nothing); bigger ones are freed. */
#define CLIENT_OUT_KEEP (16u << 10)

/* Hands what is left of c->out (from offset off) to an uv_write request. */
static void client_flush_queue(struct client *c, size_t off)
{
    struct write_req *w = malloc(sizeof(*w));
    if (!w) {
        client_close(c);
        return;
    }
    w->c = c;
    w->len = c->out.len - off;
    char *base;
    if (c->out.cap > CLIENT_OUT_KEEP || w->len > CLIENT_OUT_KEEP / 4) {
        w->buf = c->out.buf;         /* big: handed over as it is, not copied */
        base = w->buf + off;
        sbuf_init(&c->out);
    } else {
        base = w->buf = malloc(w->len);
        if (!w->buf) {
            free(w);
            client_close(c);
            return;
        }
        memcpy(w->buf, c->out.buf + off, w->len);
        sbuf_reset(&c->out);
    }
    c->out_inflight += w->len;
    uv_buf_t b = uv_buf_init(base, (unsigned)w->len);
    int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, write_cb);
    if (rc < 0) {
        c->out_inflight -= w->len;
        free(w->buf);
        free(w);
        client_close(c);
    }
}

/* Writes c->out: straight to the socket when nothing is queued before it
 * (one write(2), the buffer kept for the next batch), the rest through
 * uv_write when the socket is full. */
static void client_flush(struct client *c)
{
    if (c->out.len == 0 || uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    if (c->out.oom) {
        client_close(c);
        return;
    }
    c->srv->st.net_out += c->out.len;
    size_t done = 0;
    if (c->out_inflight == 0) {
        uv_buf_t b = uv_buf_init(c->out.buf, (unsigned)c->out.len);
        int n = uv_try_write((uv_stream_t *)&c->tcp, &b, 1);
        if (n < 0 && n != UV_EAGAIN && n != UV_ENOSYS) {
            client_close(c);
            return;
        }
        done = n > 0 ? (size_t)n : 0;
    }
    if (done == c->out.len) {
        if (c->out.cap > CLIENT_OUT_KEEP)
            sbuf_free(&c->out);
        else
            sbuf_reset(&c->out);
        if (c->read_paused && !c->closing) {
            /* paused with everything written at once (no write_cb will come): read again, and
             * process what is buffered at the next idle turn (not from inside the flush) */
            c->read_paused = 0;
            uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
            client_ready(c);
        }
        client_maybe_finish(c);
        return;
    }
    client_flush_queue(c, done);
}

void client_reply_ready(struct client *c)
{
    struct server *s = c->srv;
    if (c->flush_queued)
        return;
    if (s->nflush == s->flush_cap) {
        size_t ncap = s->flush_cap ? s->flush_cap * 2 : 64;
        struct client **nv = realloc(s->flush_list, ncap * sizeof(*nv));
        if (!nv)
            return;                  /* flushed at the next read of c */
        s->flush_list = nv;
        s->flush_cap = ncap;
    }
    s->flush_list[s->nflush++] = c;
    c->flush_queued = 1;
}

void client_flush_pending(struct server *s)
{
    for (size_t i = 0; i < s->nflush; i++) {
        struct client *c = s->flush_list[i];
        c->flush_queued = 0;
        client_flush(c);
    }
    s->nflush = 0;
}

/* ---- closing ---- */

static void client_free_cb(uv_handle_t *h)
{
    struct client *c = (struct client *)h;
    resp_reader_free(&c->rd);
    sbuf_free(&c->out);
    for (int i = 0; i < c->mq_n; i++) {
        for (int j = 0; j < c->mq[i].argc; j++)
            free(c->mq[i].argv[j].ptr);
        free(c->mq[i].argv);
    }
    free(c->mq);
    free(c->name);
    free(c->lib_name);
    free(c->lib_ver);
    free(c);
}

void client_close(struct client *c)
{
    struct server *s = c->srv;
    if (uv_is_closing((uv_handle_t *)&c->tcp))
        return;
    c->closing = 1;
    log_msg(LL_VERBOSE, "Client closed connection id=%llu addr=%s", (unsigned long long)c->id, c->addr);
    if (s->hooks.client_closing)
        s->hooks.client_closing(s, c);
    s->multi_bytes -= c->mq_bytes;       /* the queue itself goes with c in client_free_cb */
    c->mq_bytes = 0;
    if (c->flush_queued) {
        for (size_t i = 0; i < s->nflush; i++)
            if (s->flush_list[i] == c)
                s->flush_list[i] = s->flush_list[--s->nflush];
        c->flush_queued = 0;
    }
    if (c->ready_queued) {
        for (size_t i = 0; i < s->nready; i++)
            if (s->ready_list[i] == c)
                s->ready_list[i] = s->ready_list[--s->nready];
        c->ready_queued = 0;
    }
    if (c->prev) c->prev->next = c->next; else s->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    s->nclients--;
    uv_close((uv_handle_t *)&c->tcp, client_free_cb);
}

static void client_maybe_finish(struct client *c)
{
    if (c->close_after_flush && client_output_pending(c) == 0)
        client_close(c);
}

void client_close_after_reply(struct client *c)
{
    c->close_after_flush = 1;
    c->closing = 1;
    uv_read_stop((uv_stream_t *)&c->tcp);
    client_reply_ready(c);
}

/* ---- reading ---- */

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[READ_CHUNK];
    (void)h; (void)suggested;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

static void ready_idle_cb(uv_idle_t *h);

/* Puts c on the ready list: its turn ended with commands possibly left. */
static void client_ready(struct client *c)
{
    struct server *s = c->srv;
    if (c->ready_queued)
        return;
    if (s->nready == s->ready_cap) {
        size_t ncap = s->ready_cap ? s->ready_cap * 2 : 64;
        struct client **nv = realloc(s->ready_list, ncap * sizeof(*nv));
        if (!nv)
            return;                  /* processed at its next read */
        s->ready_list = nv;
        s->ready_cap = ncap;
    }
    s->ready_list[s->nready++] = c;
    c->ready_queued = 1;
    if (!uv_is_active((uv_handle_t *)&s->ready_idle))
        uv_idle_start(&s->ready_idle, ready_idle_cb);
}

/* One turn of c: commands until its input is used up, its turn is over, or
 * too many of its replies wait to be written (then it stops being read). */
static void client_process(struct client *c)
{
    uint64_t start = uv_hrtime();
    c->last_ms = server_mstime();    /* once per turn: a turn lasts at most CLIENT_TURN_NS */
    c->srv->cmd_end_ns = 0;         /* the first command reads the clock */
    for (int n = 0; !c->closing; n++) {
        if (client_output_pending(c) > CLIENT_OUTPUT_PAUSE && c->nsubs + c->npsubs == 0) {
            if (!c->read_paused) {
                c->read_paused = 1;
                uv_read_stop((uv_stream_t *)&c->tcp);
            }
            break;
        }
        /* the end time of the last command stands for "now": no clock read per command */
        uint64_t end = c->srv->cmd_end_ns;
        if (n == CLIENT_TURN_CMDS || (n > 0 && end > start && end - start > CLIENT_TURN_NS)) {
            client_ready(c);
            break;
        }
        enum resp_status st = resp_reader_next(&c->rd);
        if (st == RESP_NEED_MORE)
            break;
        if (st == RESP_ERR) {
            char msg[160];
            snprintf(msg, sizeof(msg), "ERR %s", c->rd.errstr);
            resp_error(&c->out, msg);
            c->srv->st.protocol_errors++;
            client_close_after_reply(c);
            break;
        }
        c->srv->hooks.dispatch(c, c->rd.argc, c->rd.argv);
        c->rd.unauthenticated = !c->authenticated;
    }
    if (c->out.len)
        client_reply_ready(c);
}

void client_close_idle(struct server *s, uint64_t now_ms)
{
    uint64_t limit_ms = s->cfg->timeout * 1000;
    if (!limit_ms)
        return;
    for (struct client *c = s->clients, *next; c; c = next) {
        next = c->next;
        if (c->closing || c->nsubs + c->npsubs > 0 || client_output_pending(c) > 0)
            continue;
        if (now_ms > c->last_ms && now_ms - c->last_ms > limit_ms)
            client_close(c);
    }
}

/* Gives every client on the ready list one more turn. */
static void ready_idle_cb(uv_idle_t *h)
{
    struct server *s = h->data;
    size_t n = s->nready;
    struct client **turn = malloc(n * sizeof(*turn));
    if (turn) {
        memcpy(turn, s->ready_list, n * sizeof(*turn));
        for (size_t i = 0; i < n; i++)
            turn[i]->ready_queued = 0;
        s->nready = 0;
        for (size_t i = 0; i < n; i++)
            if (!turn[i]->closing)
                client_process(turn[i]);
        free(turn);
    }
    client_flush_pending(s);
    if (s->nready == 0)
        uv_idle_stop(&s->ready_idle);
}

/* Writing caught up: read and process c again. */
static void client_resume(struct client *c)
{
    c->read_paused = 0;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    client_process(c);
    client_flush_pending(c->srv);
}

int client_querybuf_check(struct client *c, uint64_t extra)
{
    uint64_t qbuf = resp_reader_qbuf_len(&c->rd), limit = c->srv->cfg->client_query_buffer_limit;
    if (qbuf + c->mq_bytes + extra <= limit)
        return 0;
    log_msg(LL_WARNING, "Closing client that reached max query buffer length: id=%llu addr=%s "
            "qbuf=%llu multi=%llu (client-query-buffer-limit %llu)", (unsigned long long)c->id, c->addr,
            (unsigned long long)qbuf, (unsigned long long)(c->mq_bytes + extra), (unsigned long long)limit);
    resp_error(&c->out, "ERR max query buffer length reached");
    client_close_after_reply(c);
    return -1;
}

static void read_cb(uv_stream_t *stream, ssize_t nread, const uv_buf_t *buf)
{
    struct client *c = (struct client *)stream;
    if (nread < 0) {
        client_close(c);
        return;
    }
    if (nread == 0 || c->closing)
        return;
    c->srv->st.net_in += (uint64_t)nread;
    if (resp_reader_feed(&c->rd, buf->base, (size_t)nread) != 0) {
        char msg[160];
        snprintf(msg, sizeof(msg), "ERR %s", c->rd.errstr[0] ? c->rd.errstr : "Protocol error: query buffer limit");
        resp_error(&c->out, msg);
        client_close_after_reply(c);
    } else if (client_querybuf_check(c, 0) == 0) {
        client_process(c);
    }
    /* no write here: flush_check writes every reply once the loop has read all ready sockets */
}

static void sockname_format(const struct sockaddr_storage *sa, char *out, size_t outlen)
{
    char host[64] = "?";
    int port = 0;
    if (sa->ss_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        uv_ip4_name(in, host, sizeof(host));
        port = ntohs(in->sin_port);
        snprintf(out, outlen, "%s:%d", host, port);
    } else if (sa->ss_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        uv_ip6_name(in6, host, sizeof(host));
        port = ntohs(in6->sin6_port);
        snprintf(out, outlen, "[%s]:%d", host, port);    /* as Redis' anetFormatAddr */
    } else {
        snprintf(out, outlen, "?:0");
    }
}

static int addr_is_loopback(const struct sockaddr_storage *sa)
{
    if (sa->ss_family == AF_INET)
        return (ntohl(((const struct sockaddr_in *)sa)->sin_addr.s_addr) >> 24) == 127;
    if (sa->ss_family == AF_INET6) {
        const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(a) ||
               (IN6_IS_ADDR_V4MAPPED(a) && a->s6_addr[12] == 127);
    }
    return 1;
}

static const char protected_mode_msg[] =
    "-DENIED Redis is running in protected mode because protected mode is enabled and no password is set "
    "for the default user. In this mode connections are only accepted from the loopback interface. If you "
    "want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just "
    "disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by "
    "connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly "
    "accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively "
    "you can just disable the protected mode by editing the Redis configuration file, and setting the protected "
    "mode option to 'no', and then restarting the server. 3) If you started the server manually just for "
    "testing, restart it with the '--protected-mode no' option. 4) Set up an authentication password for the "
    "default user. NOTE: You only need to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n";

static void client_setup_names(struct client *c)
{
    struct sockaddr_storage sa;
    int len = sizeof(sa);
    if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
        sockname_format(&sa, c->addr, sizeof(c->addr));
    len = sizeof(sa);
    if (uv_tcp_getsockname(&c->tcp, (struct sockaddr *)&sa, &len) == 0)
        sockname_format(&sa, c->laddr, sizeof(c->laddr));
    uv_os_fd_t fd;
    c->fd = uv_fileno((uv_handle_t *)&c->tcp, &fd) == 0 ? (int)fd : -1;
}

/* Refuses a new connection the way Redis does: an error line, then close. */
static int client_refuse(struct client *c, const char *msg)
{
    sbuf_appends(&c->out, msg);
    c->srv->st.connections_rejected++;
    client_close_after_reply(c);
    return -1;
}

static int client_admission(struct client *c)
{
    struct server *s = c->srv;
    if (s->nclients > s->cfg->maxclients)
        return client_refuse(c, "-ERR max number of clients reached\r\n");
    if (s->cfg->protected_mode && !s->cfg->requirepass) {
        struct sockaddr_storage sa;
        int len = sizeof(sa);
        if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &len) == 0 && !addr_is_loopback(&sa))
            return client_refuse(c, protected_mode_msg);
    }
    return 0;
}

void client_connection_cb(uv_stream_t *listener, int status)
{
    struct server *s = listener->data;
    if (status < 0)
        return;
    struct client *c = calloc(1, sizeof(*c));
    if (!c)
        return;
    uv_tcp_init(s->loop, &c->tcp);
    if (uv_accept(listener, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, (uv_close_cb)free);
        return;
    }
    c->srv = s;
    c->id = ++s->next_client_id;
    c->proto = 2;
    c->authenticated = s->cfg->requirepass == NULL;
    resp_reader_init(&c->rd);
    c->rd.unauthenticated = !c->authenticated;
    sbuf_init(&c->out);
    c->ctime_ms = c->last_ms = server_mstime();
    client_setup_names(c);
    uv_tcp_nodelay(&c->tcp, 1);
    c->next = s->clients;
    if (s->clients)
        s->clients->prev = c;
    s->clients = c;
    s->nclients++;
    s->st.connections_received++;
    log_msg(LL_VERBOSE, "Accepted %s", c->addr);
    if (client_admission(c) == 0)
        uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
    client_flush_pending(s);
}

/* ---- cron ---- */

void client_close_slow_subscribers(struct server *s)
{
    uint64_t now = server_mstime();
    struct client *c = s->clients, *next;
    for (; c; c = next) {
        next = c->next;
        if (c->nsubs + c->npsubs == 0)
            continue;
        uint64_t pending = client_output_pending(c);
        if (pending <= s->cfg->client_output_pubsub_soft) {
            c->soft_over_since_ms = 0;
            continue;
        }
        if (!c->soft_over_since_ms)
            c->soft_over_since_ms = now;
        if (pending > s->cfg->client_output_pubsub_hard ||
            now - c->soft_over_since_ms > s->cfg->client_output_pubsub_soft_s * 1000) {
            s->st.pubsub_clients_dropped++;
            client_close(c);
        }
    }
}

/* After the loop's poll: the replies of every client read in it, written together
 * (as redis-server does before it sleeps), so a client with many connections is
 * woken once for many replies rather than once per reply. */
static void flush_check_cb(uv_check_t *h)
{
    struct server *s = h->data;
    if (s->nflush)
        client_flush_pending(s);
}

void client_io_init(struct server *s)
{
    uv_idle_init(s->loop, &s->ready_idle);
    s->ready_idle.data = s;
    uv_check_init(s->loop, &s->flush_check);
    s->flush_check.data = s;
    uv_check_start(&s->flush_check, flush_check_cb);
    uv_unref((uv_handle_t *)&s->flush_check);
}
