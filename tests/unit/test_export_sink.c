/* test_export_sink.c - the flow-export sink over real loopback sockets (UDP, TCP reconnect, refusals); single-threaded libuv test. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "resp/resp_writer.h"
#include "server/core/config.h"
#include "server/export/export_sink.h"
#include "tests/unit/check.h"
#include "tests/unit/export_decode.h"

/* Also a driver for tests/integration/test_export.py:
 *   test_export_sink --drive HOST:PORT ipfix|netflow9 udp|tcp FLOWS SECONDS
 * exports FLOWS generated flows through the sink, spread over SECONDS, and
 * prints their totals with the sink's export_records and export_drops. */

static uv_loop_t loop;

/* ---- flows ---- */

static const char *const app_names[] = { "DNS", "HTTP", "TLS", "Unknown" };
static const uint16_t app_ids[] = { 5, 7, 91, 0 };

/* Flow i: IPv4 or IPv6, one or two directions, with an application. */
static void flow_gen(int i, struct export_record *r)
{
    memset(r, 0, sizeof(*r));
    r->ipver = i % 5 == 4 ? 6 : 4;
    r->proto = i % 2 ? 17 : 6;
    r->tcp_flags = i % 2 ? 0 : 0x1b;
    r->end_reason = EXPORT_END_IDLE;
    r->cli_port = (uint16_t)(10000 + i % 50000);
    r->srv_port = i % 2 ? 53 : 443;
    r->cli[0] = r->ipver == 4 ? 10 : 0x20;
    r->cli[1] = (uint8_t)(i >> 8);
    r->cli[3] = (uint8_t)i;
    r->srv[0] = r->ipver == 4 ? 192 : 0x20;
    r->srv[3] = 53;
    r->octets[0] = 60 + (uint64_t)(i % 1400);
    r->packets[0] = 1 + (uint64_t)(i % 3);
    r->octets[1] = i % 7 ? 1500 : 0;
    r->packets[1] = i % 7 ? 2 : 0;
    r->start_ms = 1700000000000ULL + (uint64_t)i;
    r->end_ms = r->start_ms + 30000;
    r->app_id = app_ids[i % 4];
    r->app_name = (struct export_str){ app_names[i % 4], (uint16_t)strlen(app_names[i % 4]) };
    if (i % 4 == 0)
        r->dns_qname = (struct export_str){ "www.example.com", 15 };
}

struct totals { uint64_t flows, records, packets, octets; };

static void totals_add(struct totals *t, const struct export_record *r)
{
    t->flows++;
    for (int d = 0; d < 2; d++)
        if (r->packets[d] || (d == 0 && !r->packets[1])) {
            t->records++;
            t->packets += r->packets[d];
            t->octets += r->octets[d];
        }
}

/* ---- the loop ---- */

static int timed_out;

static void timeout_cb(uv_timer_t *t)
{
    (void)t;
    timed_out = 1;
}

/* Runs the loop until cond() or ms pass; returns cond(). */
static int run_until(int (*cond)(void), unsigned ms)
{
    uv_timer_t t;
    timed_out = 0;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, timeout_cb, ms, 0);
    while (!cond() && !timed_out)
        uv_run(&loop, UV_RUN_ONCE);
    uv_close((uv_handle_t *)&t, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
    return cond();
}

static int sink_done;
static void done_cb(void *arg) { (void)arg; sink_done = 1; }
static int is_sink_done(void) { return sink_done; }

static struct export_sink *sink_open(const char *target, const char *protocol, const char *transport,
                                     struct fc_config *cfg)
{
    char err[256];
    char *v1[] = { (char *)target }, *v2[] = { (char *)protocol }, *v3[] = { (char *)transport };
    CHECK_INT(config_defaults(cfg), 0);
    CHECK_INT(config_set(cfg, "export", 1, v1, err, sizeof(err)), 0);
    CHECK_INT(config_set(cfg, "export-protocol", 1, v2, err, sizeof(err)), 0);
    CHECK_INT(config_set(cfg, "export-transport", 1, v3, err, sizeof(err)), 0);
    struct export_sink *s = export_sink_create(&loop, cfg, err, sizeof(err));
    if (!s)
        CHECK_FAIL_("export_sink_create: %s", err);
    return s;
}

static void sink_close(struct export_sink *s, struct fc_config *cfg)
{
    sink_done = 0;
    export_sink_shutdown(s, done_cb, NULL);
    CHECK(run_until(is_sink_done, 5000));
    export_sink_destroy(s);
    config_free(cfg);
}

/* An INFO field of the sink as a number (-1 when absent). */
static long long info_field(struct export_sink *s, const char *name)
{
    struct sbuf b;
    sbuf_init(&b);
    export_sink_info(s, &b);
    sbuf_appendc(&b, '\0');
    char key[64];
    snprintf(key, sizeof(key), "%s:", name);
    const char *p = strstr(b.buf, key);
    long long v = p ? atoll(p + strlen(key)) : -1;
    sbuf_free(&b);
    return v;
}

/* ---- a collector: UDP datagrams or a TCP stream of messages ---- */

struct rx {
    union { uv_handle_t h; uv_udp_t udp; uv_tcp_t tcp; } sock;
    uv_tcp_t conn;
    int ipfix, bad, sessions, conn_open, port;
    struct xd_state st;
    struct totals done;              /* of the sessions before the current one */
    uint8_t stream[1 << 17];
    size_t stream_len;
};

static struct rx rx;

static uint64_t rx_records(void) { return rx.done.records + rx.st.flow_records; }

static void rx_alloc(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
    static char buf[65536];
    (void)h;
    (void)hint;
    *b = uv_buf_init(buf, sizeof(buf));
}

static void rx_udp_cb(uv_udp_t *h, ssize_t n, const uv_buf_t *b, const struct sockaddr *a, unsigned flags)
{
    (void)h;
    (void)a;
    (void)flags;
    if (n > 0 && xd_message(&rx.st, (const uint8_t *)b->base, (size_t)n) != 0)
        rx.bad++;
}

static void rx_bind(struct sockaddr_in *sa, int port)
{
    uv_ip4_addr("127.0.0.1", port, sa);
}

static void rx_udp_start(int ipfix)
{
    struct sockaddr_in sa;
    int len = sizeof(sa);
    memset(&rx, 0, sizeof(rx));
    rx.ipfix = rx.st.ipfix = ipfix;
    rx_bind(&sa, 0);
    uv_udp_init(&loop, &rx.sock.udp);
    CHECK_INT(uv_udp_bind(&rx.sock.udp, (struct sockaddr *)&sa, 0), 0);
    uv_udp_getsockname(&rx.sock.udp, (struct sockaddr *)&sa, &len);
    rx.port = ntohs(sa.sin_port);
    uv_udp_recv_start(&rx.sock.udp, rx_alloc, rx_udp_cb);
}

/* Reads whole messages out of the TCP stream (length at bytes 2-3). */
static void rx_tcp_read_cb(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
    if (n < 0) {
        if (rx.conn_open) {
            rx.conn_open = 0;
            uv_close((uv_handle_t *)s, NULL);
        }
        return;
    }
    if (rx.stream_len + (size_t)n > sizeof(rx.stream)) {
        rx.bad++;
        return;
    }
    memcpy(rx.stream + rx.stream_len, b->base, (size_t)n);
    rx.stream_len += (size_t)n;
    size_t off = 0;
    while (rx.stream_len - off >= 4) {
        size_t len = xd_get(rx.stream + off + 2, 2);
        if (len < 16) { rx.bad++; break; }
        if (rx.stream_len - off < len)
            break;
        if (xd_message(&rx.st, rx.stream + off, len) != 0)
            rx.bad++;
        off += len;
    }
    memmove(rx.stream, rx.stream + off, rx.stream_len - off);
    rx.stream_len -= off;
}

/* A new connection is a new session: templates must come again. */
static void rx_accept_cb(uv_stream_t *server, int status)
{
    if (status < 0 || rx.conn_open)
        return;
    rx.done.records += rx.st.flow_records;
    rx.done.packets += rx.st.packets;
    rx.done.octets += rx.st.octets;
    memset(&rx.st, 0, sizeof(rx.st));
    rx.st.ipfix = 1;
    rx.stream_len = 0;
    uv_tcp_init(&loop, &rx.conn);
    if (uv_accept(server, (uv_stream_t *)&rx.conn) == 0) {
        rx.conn_open = 1;
        rx.sessions++;
        uv_read_start((uv_stream_t *)&rx.conn, rx_alloc, rx_tcp_read_cb);
    } else {
        uv_close((uv_handle_t *)&rx.conn, NULL);
    }
}

static void rx_tcp_listen(int port)
{
    struct sockaddr_in sa;
    int len = sizeof(sa);
    rx_bind(&sa, port);
    uv_tcp_init(&loop, &rx.sock.tcp);
    CHECK_INT(uv_tcp_bind(&rx.sock.tcp, (struct sockaddr *)&sa, 0), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&rx.sock.tcp, 4, rx_accept_cb), 0);
    uv_tcp_getsockname(&rx.sock.tcp, (struct sockaddr *)&sa, &len);
    rx.port = ntohs(sa.sin_port);
}

/* The collector dies: its listener and connection close. */
static void rx_tcp_kill(void)
{
    uv_close(&rx.sock.h, NULL);
    if (rx.conn_open) {
        rx.conn_open = 0;
        uv_close((uv_handle_t *)&rx.conn, NULL);
    }
    uv_run(&loop, UV_RUN_NOWAIT);
}

/* ---- cases ---- */

static struct totals want;
static uint64_t want_records;
static int rx_has_all(void) { return rx_records() >= want_records; }

/* The UDP collector got every record, packet and byte added (within 2 s), none malformed. */
static void rx_check_all(void)
{
    CHECK(run_until(rx_has_all, 2000));
    CHECK_INT(rx.bad, 0);
    CHECK_INT(rx.st.flow_records, want.records);
    CHECK_INT(rx.st.packets, want.packets);
    CHECK_INT(rx.st.octets, want.octets);
}

static void add_flows(struct export_sink *s, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        struct export_record r;
        flow_gen(i, &r);
        totals_add(&want, &r);
        export_sink_flow(s, &r);
    }
}

TEST_CASE(udp_records_arrive)
{
    for (int p = 0; p < 2; p++) {
        struct fc_config cfg;
        char target[64];
        memset(&want, 0, sizeof(want));
        rx_udp_start(p == 0);
        snprintf(target, sizeof(target), "127.0.0.1:%d", rx.port);
        struct export_sink *s = sink_open(target, p == 0 ? "ipfix" : "netflow9", "udp", &cfg);
        if (!s)
            return;
        add_flows(s, 0, 300);
        want_records = want.records;
        sink_close(s, &cfg);
        rx_check_all();
        CHECK_INT(rx.st.domain, 1);
        uv_close(&rx.sock.h, NULL);
        uv_run(&loop, UV_RUN_NOWAIT);
    }
}

/* Flows added while the sink holds its messages: they go when it lets go, many datagrams a
 * system call (export_sender.c sends UDP_BATCH at most per call: more than that here). */
TEST_CASE(udp_held_messages_arrive)
{
    struct fc_config cfg;
    char target[64];
    memset(&want, 0, sizeof(want));
    rx_udp_start(1);
    uv_recv_buffer_size(&rx.sock.h, &(int){ 4 << 20 });     /* the datagrams come all at once */
    snprintf(target, sizeof(target), "127.0.0.1:%d", rx.port);
    struct export_sink *s = sink_open(target, "ipfix", "udp", &cfg);
    if (!s)
        return;
    export_sink_hold(s, 1);
    add_flows(s, 0, 3000);
    CHECK_INT(info_field(s, "export_records"), 0);           /* finished messages wait */
    export_sink_hold(s, 0);
    long long sent = info_field(s, "export_records");
    CHECK(sent > 0);
    want_records = want.records;
    sink_close(s, &cfg);
    rx_check_all();
    uv_close(&rx.sock.h, NULL);
    uv_run(&loop, UV_RUN_NOWAIT);
}

TEST_CASE(udp_refusals_are_counted)
{
    struct fc_config cfg;
    char target[64];
    memset(&want, 0, sizeof(want));
    rx_udp_start(1);
    int port = rx.port;
    uv_close(&rx.sock.h, NULL);              /* nobody listens there any more */
    uv_run(&loop, UV_RUN_NOWAIT);
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    struct export_sink *s = sink_open(target, "ipfix", "udp", &cfg);
    if (!s)
        return;
    /* on loopback a message takes EXPORT_MSG_UDP_BIG bytes (the path's MTU allows it,
     * export_sender.c): enough flows to fill several */
    add_flows(s, 0, 3000);
    CHECK_INT(info_field(s, "export_flows"), 3000);
    long long sent = info_field(s, "export_records"), drops = info_field(s, "export_drops");
    CHECK(drops > 0);
    /* the first message goes out before the ICMP refusal comes back: at most one message
     * (under 250 records of 38 bytes or more) lost uncounted; the rest is dropped or still batching */
    CHECK(sent <= 250);
    sink_close(s, &cfg);
}

TEST_CASE(tcp_reconnect_resends_templates)
{
    struct fc_config cfg;
    char target[64];
    memset(&want, 0, sizeof(want));
    memset(&rx, 0, sizeof(rx));
    rx.st.ipfix = 1;
    rx_tcp_listen(0);
    snprintf(target, sizeof(target), "127.0.0.1:%d", rx.port);
    struct export_sink *s = sink_open(target, "ipfix", "tcp", &cfg);
    if (!s)
        return;
    add_flows(s, 0, 200);
    want_records = want.records;
    CHECK(run_until(rx_has_all, 3000));      /* the 1 s batch timer sends them */
    rx_tcp_kill();
    CHECK(run_until(rx_has_all, 200));
    add_flows(s, 200, 200);                  /* while the collector is down */
    want_records = want.records;
    uv_run(&loop, UV_RUN_NOWAIT);
    rx_tcp_listen(rx.port);
    CHECK(run_until(rx_has_all, 6000));
    CHECK_INT(rx.sessions, 2);
    CHECK_INT(rx.bad, 0);                    /* the new session got templates first */
    CHECK_INT(rx_records() + (uint64_t)info_field(s, "export_drops"), want.records);
    struct sbuf b;
    sbuf_init(&b);
    export_sink_info(s, &b);
    sbuf_appendc(&b, '\0');
    CHECK(strstr(b.buf, "link=up") != NULL);
    CHECK(strstr(b.buf, "reconnects=1") != NULL);
    sbuf_free(&b);
    sink_close(s, &cfg);
    rx_tcp_kill();
}

static int never(void) { return 0; }

/* A TCP collector that is not there: records wait, then count as drops at
 * shutdown; closing mid-connect or between reconnects closes everything once. */
TEST_CASE(tcp_collector_down)
{
    for (int wait_ms = 0; wait_ms <= 50; wait_ms += 50) {
        struct fc_config cfg;
        char target[64];
        memset(&want, 0, sizeof(want));
        rx_udp_start(1);                     /* a port free for TCP: nobody listens there */
        snprintf(target, sizeof(target), "127.0.0.1:%d", rx.port);
        uv_close(&rx.sock.h, NULL);
        struct export_sink *s = sink_open(target, "ipfix", "tcp", &cfg);
        if (!s)
            return;
        run_until(never, (unsigned)wait_ms); /* 0: connect in flight; 50: refused, reconnect pending */
        add_flows(s, 0, 100);
        sink_done = 0;
        export_sink_shutdown(s, done_cb, NULL);
        CHECK(run_until(is_sink_done, 5000));
        CHECK_INT(info_field(s, "export_records"), 0);
        CHECK_INT(info_field(s, "export_drops"), want.records);
        run_until(never, 20);                /* nothing calls back twice */
        CHECK_INT(sink_done, 1);
        export_sink_destroy(s);
        config_free(&cfg);
    }
}

TEST_CASE(bad_directives)
{
    struct fc_config cfg;
    char err[256];
    char *bad_targets[] = { "nohostport", "127.0.0.1:0", "127.0.0.1:99999", "[::1:4739", "a:b:c" };
    for (size_t i = 0; i < sizeof(bad_targets) / sizeof(bad_targets[0]); i++) {
        config_defaults(&cfg);
        config_set(&cfg, "export", 1, &bad_targets[i], err, sizeof(err));
        CHECK(export_sink_create(&loop, &cfg, err, sizeof(err)) == NULL);
        CHECK(strstr(err, bad_targets[i]) != NULL);
        config_free(&cfg);
    }
    char *v9[] = { "netflow9" }, *tcp[] = { "tcp" }, *t[] = { "127.0.0.1:4739" }, *x[] = { "sflow" };
    config_defaults(&cfg);
    config_set(&cfg, "export", 1, t, err, sizeof(err));
    config_set(&cfg, "export-protocol", 1, v9, err, sizeof(err));
    config_set(&cfg, "export-transport", 1, tcp, err, sizeof(err));
    CHECK(export_sink_create(&loop, &cfg, err, sizeof(err)) == NULL);
    CHECK(strstr(err, "ipfix") != NULL);
    CHECK_INT(config_set(&cfg, "export-protocol", 1, x, err, sizeof(err)), -1);
    CHECK_STR(err, "bad value 'sflow' for 'export-protocol': expected ipfix or netflow9");
    config_free(&cfg);
    config_defaults(&cfg);
    CHECK(export_sink_create(&loop, &cfg, err, sizeof(err)) == NULL);   /* no collector: no sink */
    CHECK_STR(err, "");
    config_free(&cfg);
}

/* ---- driver mode ---- */

static struct export_sink *drive_sink;
static int drive_next, drive_total, drive_batch;

/* Every 10 ms, the next batch of flows ends. */
static void drive_tick(uv_timer_t *t)
{
    int n = drive_total - drive_next < drive_batch ? drive_total - drive_next : drive_batch;
    add_flows(drive_sink, drive_next, n);
    drive_next += n;
    if (drive_next >= drive_total)
        uv_timer_stop(t);
}

static int drive_done(void) { return drive_next >= drive_total; }

/* argv: target protocol transport flows seconds */
static int drive(char **argv)
{
    struct fc_config cfg;
    uv_timer_t t;
    memset(&want, 0, sizeof(want));
    drive_sink = sink_open(argv[0], argv[1], argv[2], &cfg);
    if (!drive_sink)
        return 1;
    drive_total = atoi(argv[3]);
    int ticks = (int)(atof(argv[4]) * 100);
    drive_batch = ticks > 0 ? (drive_total + ticks - 1) / ticks : drive_total;
    if (drive_batch < 1)
        drive_batch = 1;
    uv_timer_init(&loop, &t);
    uv_timer_start(&t, drive_tick, 0, 10);
    run_until(drive_done, 3600 * 1000);
    uv_close((uv_handle_t *)&t, NULL);
    sink_done = 0;
    export_sink_shutdown(drive_sink, done_cb, NULL);
    run_until(is_sink_done, 5000);
    long long sent = info_field(drive_sink, "export_records"), drops = info_field(drive_sink, "export_drops");
    export_sink_destroy(drive_sink);
    config_free(&cfg);
    printf("{\"flows\": %llu, \"records\": %llu, \"packets\": %llu, \"octets\": %llu, "
           "\"export_records\": %lld, \"export_drops\": %lld}\n",
           (unsigned long long)want.flows, (unsigned long long)want.records,
           (unsigned long long)want.packets, (unsigned long long)want.octets, sent, drops);
    return 0;
}

int main(int argc, char **argv)
{
    uv_loop_init(&loop);
    if (argc == 7 && strcmp(argv[1], "--drive") == 0)
        return drive(argv + 2);
    RUN(udp_records_arrive);
    RUN(udp_held_messages_arrive);
    RUN(udp_refusals_are_counted);
    RUN(tcp_reconnect_resends_templates);
    RUN(tcp_collector_down);
    RUN(bad_directives);
    uv_run(&loop, UV_RUN_DEFAULT);
    CHECK_INT(uv_loop_close(&loop), 0);
    return CHECK_DONE("test_export_sink");
}
