/* test_http.c - byte-vector tests for dissectors/http.c: heads, splits, pipelining, body framing, tunnels (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/http.h"
#include "tests/unit/check.h"

#define SINK_MAX 16

struct sink {
    int n;
    struct http_msg m[SINK_MAX];
};

static void on_msg(void *arg, const struct http_msg *m)
{
    struct sink *k = arg;
    if (k->n < SINK_MAX)
        k->m[k->n] = *m;
    k->n++;
}

static int feed_str(struct http_stream *s, int req, const char *txt, struct sink *k)
{
    return http_feed(s, req, (const uint8_t *)txt, strlen(txt), on_msg, k);
}

static int conn_str(struct http_conn *c, int from_client, const char *txt, struct sink *k)
{
    return http_conn_feed(c, from_client, (const uint8_t *)txt, strlen(txt), on_msg, k);
}

static const char get1[] =
    "GET /index.html?q=1 HTTP/1.1\r\n"
    "Host: WWW.Example.COM:8080\r\n"
    "User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64)\r\n"
    "Accept: */*\r\n"
    "\r\n";

TEST_CASE(simple_get)
{
    struct http_stream s;
    struct sink k = { 0 };
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, get1, &k), DISSECT_OK);
    CHECK_INT(k.n, 1);
    CHECK_INT(k.m[0].is_request, 1);
    CHECK_STR(k.m[0].method, "GET");
    CHECK_STR(k.m[0].url, "/index.html?q=1");
    CHECK_STR(k.m[0].host, "www.example.com");
    CHECK_STR(k.m[0].ua, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
    CHECK_INT(k.m[0].status, 0);
    CHECK_INT(s.msgs, 1);
}

/* Each head keeps the tag set before the feed that brought its first byte:
 * the time of the packet a message started in, for service times. */
TEST_CASE(heads_keep_the_tag_of_their_first_byte)
{
    struct http_conn c;
    struct sink k = { 0 };
    http_conn_init(&c);
    c.dir[0].tag = 10;                               /* a request head split over two feeds */
    CHECK_INT(conn_str(&c, 1, "GET /a HTTP/1.1\r\nHo", &k), DISSECT_OK);
    c.dir[0].tag = 11;
    CHECK_INT(conn_str(&c, 1, "st: x\r\n\r\nGET /b HTTP/1.1\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_INT(k.m[0].tag, 10);
    CHECK_INT(k.m[1].tag, 11);                      /* pipelined: starts in the second feed */
    c.dir[1].tag = 20;                               /* a response whose body spans feeds */
    CHECK_INT(conn_str(&c, 0, "HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nab", &k), DISSECT_OK);
    c.dir[1].tag = 21;                               /* the next response starts after it */
    CHECK_INT(conn_str(&c, 0, "cdHTTP/1.1 404 No\r\nContent-Length: 0\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(k.n, 4);
    CHECK_INT(k.m[2].tag, 20);
    CHECK_INT(k.m[3].tag, 21);
    CHECK_INT(k.m[3].status, 404);
    c.dir[0].tag = 30;                               /* stray CRLF before a head */
    CHECK_INT(conn_str(&c, 1, "\r\n", &k), DISSECT_OK);
    c.dir[0].tag = 31;
    CHECK_INT(conn_str(&c, 1, "GET /c HTTP/1.1\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(k.n, 5);
    CHECK_INT(k.m[4].tag, 31);
}

TEST_CASE(split_at_every_byte)
{
    size_t n = strlen(get1);
    for (size_t cut = 0; cut <= n; cut++) {
        struct http_stream s;
        struct sink k = { 0 };
        http_stream_init(&s);
        CHECK_INT(http_feed(&s, 1, (const uint8_t *)get1, cut, on_msg, &k), DISSECT_OK);
        CHECK_INT(k.n, cut == n ? 1 : 0);
        CHECK_INT(http_feed(&s, 1, (const uint8_t *)get1 + cut, n - cut, on_msg, &k), DISSECT_OK);
        CHECK_INT(k.n, 1);
        CHECK_STR(k.m[0].host, "www.example.com");
        CHECK_STR(k.m[0].url, "/index.html?q=1");
    }
    struct http_stream s;
    struct sink k = { 0 };
    http_stream_init(&s);
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = malloc(1);             /* exact-size buffers for ASan */
        b[0] = (uint8_t)get1[i];
        CHECK_INT(http_feed(&s, 1, b, 1, on_msg, &k), DISSECT_OK);
        free(b);
    }
    CHECK_INT(k.n, 1);
    CHECK_STR(k.m[0].ua, "Mozilla/5.0 (Windows NT 10.0; Win64; x64)");
}

TEST_CASE(pipelined_and_bodies)
{
    struct http_stream s;
    struct sink k = { 0 };
    static const char txt[] =
        "POST /a HTTP/1.1\r\nHost: a\r\nContent-Length: 11\r\n\r\nhello world"
        "PUT /b HTTP/1.1\r\nHost: b\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5;ext=1\r\nGET /\r\n0A\r\n\r\nHTTP/1.\r\n0\r\nX-Trailer: 1\r\n\r\n"
        "\r\n"
        "GET /c HTTP/1.0\nhost: C\n\n";
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, txt, &k), DISSECT_OK);
    CHECK_INT(k.n, 3);
    CHECK_STR(k.m[0].method, "POST");
    CHECK_STR(k.m[0].host, "a");
    CHECK_STR(k.m[1].method, "PUT");
    CHECK_STR(k.m[1].url, "/b");
    CHECK_STR(k.m[2].url, "/c");
    CHECK_STR(k.m[2].host, "c");
    CHECK_STR(k.m[2].ua, "");
    /* the same bytes split at every point give the same heads */
    size_t n = strlen(txt);
    for (size_t cut = 0; cut <= n; cut++) {
        struct http_stream s2;
        struct sink k2 = { 0 };
        http_stream_init(&s2);
        http_feed(&s2, 1, (const uint8_t *)txt, cut, on_msg, &k2);
        CHECK_INT(http_feed(&s2, 1, (const uint8_t *)txt + cut, n - cut, on_msg, &k2), DISSECT_OK);
        CHECK_INT(k2.n, 3);
        CHECK_STR(k2.m[2].url, "/c");
    }
}

TEST_CASE(responses_framing)
{
    struct http_stream s;
    struct sink k = { 0 };
    static const char txt[] =
        "HTTP/1.1 100 Continue\r\n\r\n"
        "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nHTTP/"
        "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: gzip, chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 999\r\n\r\n"
        "HTTP/1.1 204 No Content\r\n\r\n"
        "HTTP/1.0 302 Found\r\nLocation: /x\r\n\r\n"
        "anything after: body until close HTTP/1.1 200 OK\r\n\r\n";
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 0, txt, &k), DISSECT_OK);
    CHECK_INT(k.n, 5);
    CHECK_INT(k.m[0].status, 200);
    CHECK_INT(k.m[0].is_request, 0);
    CHECK_INT(k.m[1].status, 404);
    CHECK_INT(k.m[2].status, 304);
    CHECK_INT(k.m[3].status, 204);
    CHECK_INT(k.m[4].status, 302);
    CHECK_INT(feed_str(&s, 0, "\x01\x02 binary", &k), DISSECT_OK);
    CHECK_INT(k.n, 5);
}

TEST_CASE(head_response_via_conn)
{
    struct http_conn c;
    struct sink k = { 0 };
    http_conn_init(&c);
    CHECK_INT(conn_str(&c, 1, "HEAD /big HTTP/1.1\r\nHost: h\r\n\r\nGET /small HTTP/1.1\r\nHost: h\r\n\r\n", &k),
              DISSECT_OK);
    CHECK_INT(conn_str(&c, 0, "HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                              "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(k.n, 5);
    CHECK_INT(k.m[2].status, 200);
    CHECK_INT(k.m[3].status, 200);
    CHECK_INT(k.m[4].status, 500);
}

TEST_CASE(conn_at_rest_between_messages)
{
    struct http_conn c;
    struct sink k = { 0 };
    http_conn_init(&c);
    CHECK_INT(http_conn_at_rest(&c), 1);
    CHECK_INT(conn_str(&c, 1, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(http_conn_at_rest(&c), 0);           /* a response is awaited */
    CHECK_INT(conn_str(&c, 0, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", &k), DISSECT_OK);
    CHECK_INT(http_conn_at_rest(&c), 0);           /* one body byte to go */
    CHECK_INT(conn_str(&c, 0, "k", &k), DISSECT_OK);
    CHECK_INT(http_conn_at_rest(&c), 1);
    CHECK_INT(conn_str(&c, 1, "GET /2 HTTP/1.1\r\nHo", &k), DISSECT_OK);
    CHECK_INT(http_conn_at_rest(&c), 0);           /* half a head */
    CHECK_INT(k.n, 2);
}

TEST_CASE(head_response_standalone)
{
    struct http_stream s;
    struct sink k = { 0 };
    http_stream_init(&s);
    http_stream_expect_head(&s);
    http_stream_expect(&s, "GET");
    CHECK_INT(feed_str(&s, 0, "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n"
                              "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"
                              "HTTP/1.1 201 Created\r\n\r\n", &k), DISSECT_OK);
    CHECK_INT(k.n, 3);
    CHECK_INT(k.m[2].status, 201);
    for (int i = 0; i < HTTP_PENDING_MAX + 3; i++)
        http_stream_expect(&s, "GET");
    CHECK_INT(s.pending_dropped, 3);
}

TEST_CASE(upgrade_and_connect_tunnel)
{
    struct http_conn c;
    struct sink k = { 0 };
    http_conn_init(&c);
    conn_str(&c, 1, "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n", &k);
    conn_str(&c, 0, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x05hello", &k);
    CHECK_INT(conn_str(&c, 1, "\x81\x85\x00\x00\x00\x00hello", &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_INT(k.m[1].status, 101);
    http_conn_init(&c);
    k.n = 0;
    conn_str(&c, 1, "CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &k);
    conn_str(&c, 0, "HTTP/1.1 200 Connection established\r\n\r\n", &k);
    CHECK_INT(conn_str(&c, 1, "\x16\x03\x01\x02\x00\x01", &k), DISSECT_OK);
    CHECK_INT(conn_str(&c, 0, "\x16\x03\x03\x00\x10\x02", &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_STR(k.m[0].method, "CONNECT");
    CHECK_STR(k.m[0].host, "example.com");
    /* a refused CONNECT keeps parsing */
    http_conn_init(&c);
    k.n = 0;
    conn_str(&c, 1, "CONNECT a:443 HTTP/1.1\r\n\r\n", &k);
    conn_str(&c, 0, "HTTP/1.1 407 Auth\r\nContent-Length: 0\r\n\r\n", &k);
    conn_str(&c, 1, "CONNECT a:443 HTTP/1.1\r\n\r\n", &k);
    CHECK_INT(k.n, 3);
}

TEST_CASE(not_http_goes_dead_once)
{
    struct http_stream s;
    struct sink k = { 0 };
    static const uint8_t tls[] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00 };
    http_stream_init(&s);
    CHECK_INT(http_feed(&s, 1, tls, sizeof(tls), on_msg, &k), DISSECT_MALFORMED);
    CHECK_INT(http_feed(&s, 1, tls, sizeof(tls), on_msg, &k), DISSECT_OK);
    CHECK_INT(feed_str(&s, 1, get1, &k), DISSECT_OK);
    CHECK_INT(k.n, 0);
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, "SSH-2.0-OpenSSH_9.2\r\n", &k), DISSECT_MALFORMED);
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 0, "GET / HTTP/1.1\r\n", &k), DISSECT_MALFORMED);   /* wrong direction */
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, "GET / FTP/1.1\r\n", &k), DISSECT_MALFORMED);
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 0, "HTTP/1.1 2x0 OK\r\n", &k), DISSECT_MALFORMED);
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, "POST / HTTP/1.1\r\nContent-Length: 12a\r\n\r\n", &k), DISSECT_MALFORMED);
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, "PUT / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", &k),
              DISSECT_MALFORMED);
    CHECK_INT(k.n, 1);
    /* heads before the garbage in the same call are delivered */
    http_stream_init(&s);
    k.n = 0;
    CHECK_INT(feed_str(&s, 1, "GET / HTTP/1.1\r\n\r\n\x01\x02\x03", &k), DISSECT_MALFORMED);
    CHECK_INT(k.n, 1);
}

TEST_CASE(endless_head_is_dead)
{
    struct http_stream s;
    struct sink k = { 0 };
    char line[100];
    int rc = DISSECT_OK, i;
    http_stream_init(&s);
    feed_str(&s, 1, "GET / HTTP/1.1\r\n", &k);
    memset(line, 'a', sizeof(line) - 3);
    memcpy(line + sizeof(line) - 3, ":\n", 3);
    for (i = 0; i < 2000 && rc == DISSECT_OK; i++)
        rc = feed_str(&s, 1, line, &k);
    CHECK_INT(rc, DISSECT_MALFORMED);
    CHECK(i * (int)(sizeof(line) - 1) > HTTP_HEAD_MAX - 200);
}

TEST_CASE(long_lines_truncated_framing_kept)
{
    struct http_stream s;
    struct sink k = { 0 };
    static char req[8192];
    size_t o = 0;
    memcpy(req, "GET /", 5);
    o = 5;
    memset(req + o, 'x', 3000);
    o += 3000;
    o += (size_t)snprintf(req + o, sizeof(req) - o,
                          " HTTP/1.1\r\nUser-Agent: %0500d\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\n\r\n", 7);
    http_stream_init(&s);
    CHECK_INT(http_feed(&s, 1, (const uint8_t *)req, o, on_msg, &k), DISSECT_OK);
    CHECK_INT(k.n, 2);
    CHECK_INT(strlen(k.m[0].url), sizeof(k.m[0].url) - 1);
    CHECK_INT(strlen(k.m[0].ua), sizeof(k.m[0].ua) - 1);
    CHECK_STR(k.m[0].host, "h");
    CHECK_STR(k.m[1].url, "/2");
}

TEST_CASE(hosts)
{
    struct http_stream s;
    struct sink k = { 0 };
    http_stream_init(&s);
    feed_str(&s, 1, "GET / HTTP/1.1\r\nHost:   [2001:DB8::1]:8080  \r\n\r\n"
                    "GET http://User:pw@Proxy.Example:3128/x?y HTTP/1.1\r\n\r\n"
                    "GET http://a.example/x HTTP/1.1\r\nHost: b.example\r\n\r\n"
                    "GET / HTTP/1.1\r\nHost: \x01\xff.x\r\n\r\n", &k);
    CHECK_INT(k.n, 4);
    CHECK_STR(k.m[0].host, "[2001:db8::1]");
    CHECK_STR(k.m[1].host, "proxy.example");
    CHECK_STR(k.m[1].url, "http://User:pw@Proxy.Example:3128/x?y");
    CHECK_STR(k.m[2].host, "b.example");
    CHECK_STR(k.m[3].host, "\\x01\\xff.x");
}

TEST_CASE(http09_get)
{
    struct http_conn c;
    struct sink k = { 0 };
    http_conn_init(&c);
    CHECK_INT(conn_str(&c, 1, "GET /old\r\n", &k), DISSECT_OK);
    CHECK_INT(conn_str(&c, 0, "<html>raw body</html>", &k), DISSECT_OK);
    CHECK_INT(k.n, 1);
    CHECK_STR(k.m[0].url, "/old");
    struct http_stream s;
    http_stream_init(&s);
    CHECK_INT(feed_str(&s, 1, "POST /old\r\n", &k), DISSECT_MALFORMED);
}

TEST_CASE(ua_os)
{
    CHECK_STR(http_ua_os("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36"), "Windows");
    CHECK_STR(http_ua_os("Mozilla/5.0 (Linux; Android 13; Pixel 7) AppleWebKit/537.36"), "Android");
    CHECK_STR(http_ua_os("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit"), "iOS");
    CHECK_STR(http_ua_os("Mozilla/5.0 (iPad; CPU OS 16_6 like Mac OS X)"), "iOS");
    CHECK_STR(http_ua_os("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit"), "macOS");
    CHECK_STR(http_ua_os("Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) AppleWebKit"), "ChromeOS");
    CHECK_STR(http_ua_os("Mozilla/5.0 (X11; Linux x86_64; rv:109.0) Gecko/20100101"), "Linux");
    CHECK(http_ua_os("curl/8.1.2") == NULL);
    CHECK(http_ua_os("") == NULL);
    CHECK(http_ua_os(NULL) == NULL);
}

int main(void)
{
    RUN(simple_get);
    RUN(heads_keep_the_tag_of_their_first_byte);
    RUN(split_at_every_byte);
    RUN(pipelined_and_bodies);
    RUN(responses_framing);
    RUN(head_response_via_conn);
    RUN(conn_at_rest_between_messages);
    RUN(head_response_standalone);
    RUN(upgrade_and_connect_tunnel);
    RUN(not_http_goes_dead_once);
    RUN(endless_head_is_dead);
    RUN(long_lines_truncated_framing_kept);
    RUN(hosts);
    RUN(http09_get);
    RUN(ua_os);
    return CHECK_DONE("http");
}
