/* test_cloud_engine.c - the cloud delivery engine against fake Redis nodes on loopback ports picked at run time:
 * pipelined batches, a MOVED redirect followed, a dropped connection re-sent, GET on the sync connection; and
 * replication's mapping of typed events to the commands a node receives. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <uv.h>

#include "resp/resp_reader.h"
#include "server/core/event_text.h"
#include "server/replication/cloud.h"
#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_engine.h"
#include "tests/unit/check.h"

enum { LOG_MAX = 256, LOG_LINE = 160, CONNS_MAX = 16, WAIT_MS = 5000 };

struct fake_node;
struct fake_conn {
    uv_tcp_t tcp;
    struct fake_node *node;
    struct resp_reader rd;
};

/* What a node answers to one data command: a RESP reply, or NULL to drop the connection unanswered. */
typedef const char *(*reply_fn)(struct fake_node *n, int argc, struct resp_arg *argv);

/* A fake Redis node: answers CLUSTER SLOTS as a node without cluster support, GET from `get_value`,
 * every other command through `reply`, and logs them ("SET k v") in arrival order. */
struct fake_node {
    uv_tcp_t listener;
    int port;
    reply_fn reply;
    const char *get_value;
    char redirect[128];              /* a reply the policy may hand out */
    int dropped;                     /* connections dropped by the policy */
    int redirected;                  /* redirects handed out */
    char log[LOG_MAX][LOG_LINE];
    int nlog;
    int most_in_one_read;            /* data commands parsed from one read at most */
    struct fake_conn *conns[CONNS_MAX];
    int nconns;
};

static uv_loop_t loop;

static void conn_closed_cb(uv_handle_t *h)
{
    struct fake_conn *c = h->data;
    resp_reader_free(&c->rd);
    free(c);
}

static void conn_drop(struct fake_conn *c)
{
    struct fake_node *n = c->node;
    for (int i = 0; i < n->nconns; i++)
        if (n->conns[i] == c)
            n->conns[i] = n->conns[--n->nconns];
    uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
}

static void conn_send(struct fake_conn *c, const char *reply)
{
    uv_buf_t b = uv_buf_init((char *)reply, (unsigned)strlen(reply));
    CHECK_INT(uv_try_write((uv_stream_t *)&c->tcp, &b, 1), (int)strlen(reply));
}

static void alloc_cb(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
    static char chunk[65536];
    (void)h; (void)suggested;
    *buf = uv_buf_init(chunk, sizeof(chunk));
}

/* Answers one command; returns 0, or -1 once the connection was dropped. */
static int node_answer(struct fake_conn *c, int argc, struct resp_arg *argv)
{
    struct fake_node *n = c->node;
    char line[LOG_LINE] = "";
    if (!strcasecmp(argv[0].ptr, "CLUSTER")) {
        conn_send(c, "-ERR This instance has cluster support disabled\r\n");
        return 0;
    }
    if (!strcasecmp(argv[0].ptr, "GET")) {
        char v[128];
        if (n->get_value)
            snprintf(v, sizeof(v), "$%zu\r\n%s\r\n", strlen(n->get_value), n->get_value);
        conn_send(c, n->get_value ? v : "$-1\r\n");
        return 0;
    }
    for (int i = 0; i < argc; i++)
        snprintf(line + strlen(line), sizeof(line) - strlen(line), "%s%s", i ? " " : "", argv[i].ptr);
    if (n->nlog < LOG_MAX)
        snprintf(n->log[n->nlog++], sizeof(n->log[0]), "%s", line);
    const char *r = n->reply(n, argc, argv);
    if (!r) {
        n->dropped++;
        conn_drop(c);
        return -1;
    }
    conn_send(c, r);
    return 0;
}

static void read_cb(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf)
{
    struct fake_conn *c = st->data;
    if (nread < 0) {
        conn_drop(c);
        return;
    }
    if (nread == 0 || resp_reader_feed(&c->rd, buf->base, (size_t)nread) != 0)
        return;
    int data = 0;
    while (resp_reader_next(&c->rd) == RESP_OK) {
        int is_data = strcasecmp(c->rd.argv[0].ptr, "CLUSTER") && strcasecmp(c->rd.argv[0].ptr, "GET");
        if (node_answer(c, c->rd.argc, c->rd.argv) != 0)
            return;
        data += is_data;
    }
    if (data > c->node->most_in_one_read)
        c->node->most_in_one_read = data;
}

static void accept_cb(uv_stream_t *l, int status)
{
    struct fake_node *n = l->data;
    struct fake_conn *c = calloc(1, sizeof(*c));
    if (status < 0 || !c || n->nconns == CONNS_MAX) {
        free(c);
        return;
    }
    c->node = n;
    resp_reader_init(&c->rd);
    uv_tcp_init(&loop, &c->tcp);
    c->tcp.data = c;
    if (uv_accept(l, (uv_stream_t *)&c->tcp) != 0) {
        uv_close((uv_handle_t *)&c->tcp, conn_closed_cb);
        return;
    }
    n->conns[n->nconns++] = c;
    uv_read_start((uv_stream_t *)&c->tcp, alloc_cb, read_cb);
}

/* Listens on 127.0.0.1 at a port the kernel picks. */
static void node_start(struct fake_node *n, reply_fn reply)
{
    struct sockaddr_in a;
    struct sockaddr_storage got;
    int len = sizeof(got);
    memset(n, 0, sizeof(*n));
    n->reply = reply;
    uv_ip4_addr("127.0.0.1", 0, &a);
    uv_tcp_init(&loop, &n->listener);
    n->listener.data = n;
    CHECK_INT(uv_tcp_bind(&n->listener, (const struct sockaddr *)&a, 0), 0);
    CHECK_INT(uv_listen((uv_stream_t *)&n->listener, 16, accept_cb), 0);
    uv_tcp_getsockname(&n->listener, (struct sockaddr *)&got, &len);
    n->port = ntohs(((struct sockaddr_in *)&got)->sin_port);
}

static void node_stop(struct fake_node *n)
{
    while (n->nconns)
        conn_drop(n->conns[0]);
    uv_close((uv_handle_t *)&n->listener, NULL);
}

static int node_logged(const struct fake_node *n, const char *line)
{
    int k = 0;
    for (int i = 0; i < n->nlog; i++)
        k += strcmp(n->log[i], line) == 0;
    return k;
}

static const char *reply_ok(struct fake_node *n, int argc, struct resp_arg *argv)
{
    (void)n; (void)argc; (void)argv;
    return "+OK\r\n";
}

/* Runs the loop until cond(arg) holds or WAIT_MS pass (cond is asked once per turn). Returns its last answer. */
static int run_until(int (*cond)(void *arg), void *arg)
{
    uint64_t end = uv_hrtime() + (uint64_t)WAIT_MS * 1000000;
    int ok;
    while (!(ok = cond(arg)) && uv_hrtime() < end)
        uv_run(&loop, UV_RUN_ONCE);
    return ok;
}

static struct cloud_engine *engine_on(const char *const *nodes, int n, uint64_t queue_max)
{
    struct cloud_engine_config cfg = { .nodes = nodes, .nnodes = n, .flush_ms = 5, .queue_max = queue_max };
    char err[128] = "";
    struct cloud_engine *e = cloud_engine_create(&loop, &cfg, err, sizeof(err));
    CHECK_STR(err, "");
    return e;
}

static void send3(struct cloud_engine *e, const char *a, const char *b, const char *c)
{
    const char *argv[] = { a, b, c };
    size_t lens[] = { strlen(a), strlen(b), strlen(c) };
    cloud_engine_send(e, 3, argv, lens);
}

static int done_flag;
static void done_cb(void *arg) { *(int *)arg = 1; }
static int flag_set(void *arg) { return *(int *)arg; }

/* Shuts e down, stops the nodes, runs the loop dry and frees everything: no handle may be left. */
static void teardown(struct cloud_engine *e, struct fake_node *nodes, int n)
{
    done_flag = 0;
    cloud_engine_shutdown(e, done_cb, &done_flag);
    CHECK(run_until(flag_set, &done_flag));
    for (int i = 0; i < n; i++)
        node_stop(&nodes[i]);
    uv_run(&loop, UV_RUN_DEFAULT);
    cloud_engine_destroy(e);
    CHECK_INT(uv_loop_alive(&loop), 0);
}

static char addr_buf[4][32];
static const char *addr_of(int i, const struct fake_node *n)
{
    snprintf(addr_buf[i], sizeof(addr_buf[i]), "127.0.0.1:%d", n->port);
    return addr_buf[i];
}

struct sent_goal { struct cloud_engine *e; uint64_t sent; };
static int sent_reached(void *arg)
{
    struct sent_goal *g = arg;
    struct cloud_engine_stats st;
    cloud_engine_stats(g->e, &st);
    return st.sent >= g->sent;
}

/* Runs the loop until e has n commands acknowledged (or WAIT_MS pass); returns its figures then. */
static struct cloud_engine_stats wait_sent(struct cloud_engine *e, uint64_t n)
{
    struct sent_goal g = { e, n };
    struct cloud_engine_stats st;
    CHECK(run_until(sent_reached, &g));
    cloud_engine_stats(e, &st);
    return st;
}

TEST_CASE(pipelined_batch)
{
    struct fake_node n;
    node_start(&n, reply_ok);
    const char *nodes[] = { addr_of(0, &n) };
    struct cloud_engine *e = engine_on(nodes, 1, 1 << 20);
    char k[16], v[16];
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "k%d", i);
        snprintf(v, sizeof(v), "v%d", i);
        send3(e, "SET", k, v);
    }
    struct cloud_engine_stats st = wait_sent(e, 10);
    CHECK_INT(st.sent, 10);
    CHECK_INT(st.dropped, 0);
    CHECK_INT(st.cluster, 0);
    CHECK_INT(st.nodes_connected, 1);
    CHECK_INT(n.nlog, 10);
    CHECK_STR(n.log[0], "SET k0 v0");
    CHECK_STR(n.log[9], "SET k9 v9");
    CHECK_INT(n.most_in_one_read, 10);         /* one pipelined write, read at once */
    teardown(e, &n, 1);
}

static const char *reply_moved_once(struct fake_node *n, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    if (n->redirect[0] && !n->redirected++)
        return n->redirect;
    return "+OK\r\n";
}

TEST_CASE(moved_is_followed)
{
    struct fake_node n[2];
    node_start(&n[0], reply_moved_once);
    node_start(&n[1], reply_ok);
    snprintf(n[0].redirect, sizeof(n[0].redirect), "-MOVED %u 127.0.0.1:%d\r\n", cloud_key_slot("mk", 2), n[1].port);
    const char *nodes[] = { addr_of(0, &n[0]) };
    struct cloud_engine *e = engine_on(nodes, 1, 1 << 20);
    send3(e, "HSET", "mk", "f");
    struct cloud_engine_stats st = wait_sent(e, 1);
    CHECK_INT(st.sent, 1);
    CHECK_INT(st.moved, 1);
    CHECK_INT(st.errors, 0);
    CHECK_INT(st.nodes, 2);
    CHECK_INT(node_logged(&n[0], "HSET mk f"), 1);
    CHECK_INT(node_logged(&n[1], "HSET mk f"), 1);
    teardown(e, n, 2);
}

static const char *reply_drop_first(struct fake_node *n, int argc, struct resp_arg *argv)
{
    (void)argc; (void)argv;
    return n->dropped ? "+OK\r\n" : NULL;
}

TEST_CASE(dropped_connection_resends)
{
    struct fake_node n;
    node_start(&n, reply_drop_first);
    const char *nodes[] = { addr_of(0, &n) };
    struct cloud_engine *e = engine_on(nodes, 1, 1 << 20);
    send3(e, "SET", "a", "1");
    send3(e, "SET", "b", "2");
    send3(e, "SET", "c", "3");
    struct cloud_engine_stats st = wait_sent(e, 3);
    CHECK_INT(n.dropped, 1);
    CHECK_INT(st.sent, 3);
    CHECK_INT(st.dropped, 0);
    CHECK_INT(st.reconnects, 1);
    CHECK_INT(node_logged(&n, "SET a 1"), 2);  /* once on the dropped connection, once re-sent */
    CHECK_INT(node_logged(&n, "SET b 2"), 1);
    CHECK_INT(node_logged(&n, "SET c 3"), 1);
    CHECK_STR(n.log[n.nlog - 1], "SET c 3");   /* re-sent in order */
    teardown(e, &n, 1);
}

struct get_answer { int calls, status; char val[32]; };
static void get_cb(void *arg, const char *val, size_t len, int status)
{
    struct get_answer *a = arg;
    a->calls++;
    a->status = status;
    snprintf(a->val, sizeof(a->val), "%.*s", val ? (int)len : 6, val ? val : "(null)");
}
static int answered(void *arg) { return ((struct get_answer *)arg)->calls > 0; }

TEST_CASE(get_on_sync_connection)
{
    struct fake_node n;
    node_start(&n, reply_ok);
    n.get_value = "alice";
    const char *nodes[] = { addr_of(0, &n) };
    struct cloud_engine *e = engine_on(nodes, 1, 1 << 20);
    struct get_answer a = { 0, 0, "" }, b = { 0, 0, "" }, h = { 0, 0, "" };
    const char *hget[] = { "HGET", "user.x", "logout" };
    CHECK_INT(cloud_engine_ask(e, 3, hget, get_cb, &h), -1);     /* nothing connected yet: never waits */
    CHECK_INT(cloud_engine_get(e, "ipuser.10.0.0.1", get_cb, &a), 0);  /* waits for the connection */
    CHECK_INT(a.calls, 0);
    CHECK(run_until(answered, &a));
    CHECK_INT(a.calls, 1);
    CHECK_INT(a.status, 0);
    CHECK_STR(a.val, "alice");
    n.get_value = NULL;
    CHECK_INT(cloud_engine_get(e, "ipuser.10.0.0.2", get_cb, &b), 0);
    CHECK(run_until(answered, &b));
    CHECK_INT(b.status, 0);
    CHECK_STR(b.val, "(null)");
    CHECK_INT(n.nlog, 0);                      /* GETs are not data commands */
    CHECK_INT(h.calls, 0);
    teardown(e, &n, 1);
}

TEST_CASE(get_waits_two_seconds_at_most)
{
    struct fake_node n;
    node_start(&n, reply_ok);
    const char *nodes[] = { addr_of(0, &n) };
    node_stop(&n);                             /* nobody listens there any more */
    uv_run(&loop, UV_RUN_NOWAIT);
    struct cloud_engine *e = engine_on(nodes, 1, 1 << 20);
    struct get_answer a = { 0, 0, "" };
    uint64_t t0 = uv_hrtime();
    CHECK_INT(cloud_engine_get(e, "ipuser.10.0.0.3", get_cb, &a), 0);
    CHECK(run_until(answered, &a));
    CHECK_INT(a.calls, 1);
    CHECK_INT(a.status, -1);
    CHECK((uv_hrtime() - t0) / 1000000 >= 1990);   /* it waited for the connection first */
    teardown(e, NULL, 0);
}

TEST_CASE(queue_is_bounded)
{
    struct fake_node n;
    node_start(&n, reply_ok);
    const char *nodes[] = { addr_of(0, &n) };
    struct cloud_engine *e = engine_on(nodes, 1, 100);
    for (int i = 0; i < 10; i++)
        send3(e, "SET", "key", "value");       /* 33 bytes each; nothing is connected yet */
    struct cloud_engine_stats st;
    cloud_engine_stats(e, &st);
    CHECK_INT(st.queued, 3);
    CHECK_INT(st.dropped, 7);
    CHECK(st.queued_bytes <= 100);
    teardown(e, &n, 1);
}

TEST_CASE(bad_node_address)
{
    const char *nodes[] = { "127.0.0.1" };
    struct cloud_engine_config cfg = { .nodes = nodes, .nnodes = 1, .flush_ms = 5, .queue_max = 100 };
    char err[128] = "";
    CHECK(cloud_engine_create(&loop, &cfg, err, sizeof(err)) == NULL);
    CHECK_STR(err, "cloud '127.0.0.1': expected host:port");
}

/* ---- replication: events to commands ---- */

static int node_logged_prefix(const struct fake_node *n, const char *prefix)
{
    int k = 0;
    for (int i = 0; i < n->nlog; i++)
        k += strncmp(n->log[i], prefix, strlen(prefix)) == 0;
    return k;
}

static int persisted(void *arg)
{
    return node_logged(arg, "PERSIST user.al") > 0;
}

/* An event as the drain hands it to replication: its text made (replication reads the text), then lent. */
static void deliver(struct cloud *cl, struct event_builder *b)
{
    struct event *ev = event_build_end(b);
    CHECK_INT(event_text_make(ev), 0);
    cloud_on_event(cl, ev);
    event_free(ev);
}

TEST_CASE(events_become_commands)
{
    struct fake_node n;
    struct event_builder b;
    char err[128] = "";
    node_start(&n, reply_ok);
    const char *nodes[] = { addr_of(0, &n) };
    struct cloud_config cfg = { .nodes = nodes, .nnodes = 1, .flush_ms = 5, .queue_max = 1 << 20,
                                .flow_ttl = 30, .host_ttl = 300, .user_grace = 60, .probe_id = "t",
                                .version = "test" };
    struct cloud *cl = cloud_create(&loop, &cfg, err, sizeof(err));
    CHECK_STR(err, "");

    event_build_begin(&b, EV_FLOW_END, 1700000000000000ULL);
    event_add_str(&b, "key", "flow.k");
    event_add_str(&b, "reason", "idle");
    event_add_str(&b, "proto", "udp");
    event_add_str(&b, "cli.ip", "10.0.0.1");
    event_add_str(&b, "srv.ip", "10.0.0.2");
    event_add_uint(&b, "srv.port", 53);
    event_add_uint(&b, "vlan", 7);
    event_add_str(&b, "l7", "DNS");
    event_add_uint(&b, "bytes.c2s", 100);
    event_add_uint(&b, "bytes.s2c", 50);
    event_add_uint(&b, "pkts.c2s", 2);
    event_add_uint(&b, "pkts.s2c", 1);
    event_add_time(&b, "first.seen", 1700000000123456ULL);
    event_add_str(&b, "user", "al");
    deliver(cl, &b);
    event_build_begin(&b, EV_DNS, 1);
    event_add_str(&b, "qname", "a.b");
    event_add_str(&b, "qtype", "A");
    event_add_str(&b, "rcode", "NXDOMAIN");
    event_add_uint(&b, "rtt.us", 5);
    deliver(cl, &b);
    event_build_begin(&b, EV_HTTP, 1);
    event_add_str(&b, "host", "h");
    event_add_uint(&b, "status", 404);
    deliver(cl, &b);
    event_build_begin(&b, EV_USER_LOGIN, 1);
    event_add_str(&b, "user", "al");
    event_add_str(&b, "ip", "10.0.0.9");
    event_add_str(&b, "nas", "");
    event_add_str(&b, "session", "s1");
    deliver(cl, &b);
    CHECK(run_until(persisted, &n));

    static const char *const want[] = {
        "HINCRBY flow.k bytes.c2s 100", "HINCRBY flow.k pkts.s2c 1",
        "EXPIRE flow.k 30",
        "HINCRBY ip.10.0.0.1 bytes.sent 100", "HINCRBY ip.10.0.0.1 pkts.rcvd 1",
        "HINCRBY ip.10.0.0.1 flows.client 1", "HINCRBY ip.10.0.0.2 bytes.sent 50",
        "HINCRBY ip.10.0.0.2 flows.server 1", "HINCRBY proto.DNS bytes 150", "HINCRBY proto.DNS pkts 3",
        "HINCRBY vlan.7 flows 1", "HINCRBY port.udp.53 bytes 150", "HINCRBY dns.a.b queries 1", "HINCRBY dns.a.b qtype.A 1",
        "HINCRBY dns.a.b rcode.NXDOMAIN 1", "HINCRBY dns.a.b nxdomain 1", "HINCRBY dns.a.b rtt.us.sum 5",
        "HINCRBY http.h requests 1", "HINCRBY http.h status.4xx 1", "SET ipuser.10.0.0.9 al",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (node_logged(&n, want[i]) != 1)
            CHECK_STR(want[i], "(sent once)");
    CHECK_INT(node_logged(&n, "HSET flow.k proto udp cli.ip 10.0.0.1 srv.ip 10.0.0.2 srv.port 53 vlan 7 l7 DNS "
                              "user al"), 1);      /* numbers as text; times and flags are merged: */
    CHECK_INT(node_logged_prefix(&n, "FCALL flowcached_flow_merge 1 flow.k 1700000000.123 "), 1);
    CHECK_INT(node_logged_prefix(&n, "HSET user.al ip 10.0.0.9 nas  session s1 login "), 1);
    CHECK_INT(node_logged_prefix(&n, "GET"), 0);                   /* the flow had its user */
    CHECK_INT(node_logged_prefix(&n, "PUBLISH flow.end {\"key\":\"flow.k\",\"reason\":\"idle\""), 1);
    CHECK_INT(node_logged_prefix(&n, "PUBLISH http {\"host\":\"h\",\"status\":404"), 1);

    done_flag = 0;
    cloud_shutdown(cl, done_cb, &done_flag);
    CHECK(run_until(flag_set, &done_flag));
    node_stop(&n);
    uv_run(&loop, UV_RUN_DEFAULT);
    cloud_destroy(cl);
    CHECK_INT(uv_loop_alive(&loop), 0);
}

int main(void)
{
    uv_loop_init(&loop);
    RUN(pipelined_batch);
    RUN(moved_is_followed);
    RUN(dropped_connection_resends);
    RUN(get_on_sync_connection);
    RUN(get_waits_two_seconds_at_most);
    RUN(queue_is_bounded);
    RUN(bad_node_address);
    RUN(events_become_commands);
    CHECK_INT(uv_loop_close(&loop), 0);
    return CHECK_DONE("cloud_engine");
}
