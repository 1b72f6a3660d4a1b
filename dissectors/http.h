/* http.h - incremental HTTP/1.x head parser with body framing, per direction or per connection (pure code, any thread). */
#ifndef FC_HTTP_H
#define FC_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define HTTP_LINE_MAX     1024      /* bytes kept of one head line; the rest is dropped */
#define HTTP_HEAD_MAX     65536     /* a head (or chunk-size/trailer run) longer than this is not HTTP */
#define HTTP_PENDING_MAX  32        /* requests awaiting a response, per connection */

/* One message head. Strings are NUL-terminated and truncated to fit; bytes
 * outside 0x20..0x7e are written "\xHH". A response carries only status. */
struct http_msg {
    int is_request;
    char method[16];    /* "GET", "POST"... */
    char url[512];      /* request target as sent ("/a?b", or "http://h/a" to a proxy) */
    char host[256];     /* Host header (or the host of an absolute URL), lowercase, ":port" stripped */
    char ua[256];       /* User-Agent */
    int status;         /* responses: 100-999; requests: 0 */
    uint64_t tag;       /* the stream's tag when the head's first byte was fed (http_stream.tag) */
};

/* One direction of an HTTP connection. All-zero (or http_stream_init) is
 * the start state. About 2 KiB; no allocation. Owned by whoever owns the
 * flow; not thread-safe. Fields are private except the counters and tag. */
struct http_stream {
    uint64_t tag;                   /* the caller's: set before a feed (e.g. to the packet's
                                       time); each head keeps the tag of the feed that brought
                                       its first byte (http_msg.tag) */
    uint64_t head_tag;              /* tag of the line being taken in HTTP_S_START */
    struct http_msg msg;            /* head being built */
    char line[HTTP_LINE_MAX];       /* current line (not NUL-terminated) */
    uint32_t line_len;
    uint32_t head_bytes;            /* bytes of the current head so far */
    uint64_t remaining;             /* body or chunk bytes still to skip */
    uint32_t pending_head;          /* responses: FIFO of "answers a HEAD" bits */
    uint32_t pending_connect;       /* responses: FIFO of "answers a CONNECT" bits */
    uint8_t pending_n;
    uint8_t state;
    uint8_t seen_start;             /* start line of the current head parsed */
    uint8_t host_hdr;               /* a Host header was seen */
    uint8_t http09;                 /* the request line had no version */
    uint8_t chunked, has_clen;
    uint64_t clen;
    uint64_t msgs;                  /* heads delivered */
    uint64_t pending_dropped;       /* requests that did not fit the FIFO */
};

/* Both directions of one connection: requests (client to server) in dir[0],
 * responses in dir[1]. http_conn_feed keeps the response side told of each
 * request, so responses to HEAD and CONNECT are framed right. */
struct http_conn {
    struct http_stream dir[2];
};

typedef void (*http_msg_cb)(void *arg, const struct http_msg *m);

void http_stream_init(struct http_stream *s);
void http_conn_init(struct http_conn *c);

/* Feeds the next in-order bytes of one direction (is_request_dir: 1 for
 * client to server, 0 for server to client). Calls on_msg once per complete
 * head (request line + headers, or status line + headers; interim 1xx
 * responses other than 101 are not reported) with a struct valid during the
 * call. Heads may be split at any byte, several may arrive in one call
 * (pipelining, keep-alive). Bodies are skipped by Content-Length or chunked
 * framing (trailers included); a response with neither runs to the end of
 * the connection. After a 101 response, or a 2xx answer to CONNECT, the
 * stream ignores its bytes (a tunnel). "GET /path" without a version is
 * HTTP/0.9: reported, then that connection is not parsed further. Bytes that are not HTTP (bad start
 * line, bad Content-Length or chunk size, a head over HTTP_HEAD_MAX) make
 * the stream dead: that call returns DISSECT_MALFORMED, heads completed
 * before in the same call were delivered, and later calls return DISSECT_OK
 * without looking at their bytes. Otherwise returns DISSECT_OK.
 * On a response stream fed alone, call http_stream_expect() once per
 * request seen, in order, so HEAD responses are framed without a body;
 * without that a HEAD response with Content-Length desynchronises the
 * stream. No allocation; the thread that owns s. */
int http_feed(struct http_stream *s, int is_request_dir, const uint8_t *data, size_t len,
              http_msg_cb on_msg, void *arg);

/* As http_feed on c->dir[from_client ? 0 : 1], telling the response side of
 * every request method, and switching both sides to tunnel mode on 101 or
 * a 2xx answer to CONNECT. Same returns. */
int http_conn_feed(struct http_conn *c, int from_client, const uint8_t *data, size_t len,
                   http_msg_cb on_msg, void *arg);

/* 1 when both directions sit between messages with nothing buffered and no
 * request awaiting its response: the connection state is then equivalent to
 * a fresh http_conn_init one (a caller may free it and start again). */
int http_conn_at_rest(const struct http_conn *c);

/* Tells a response stream that the next unanswered request used method
 * (e.g. "HEAD": its response has no body). Queues at most HTTP_PENDING_MAX;
 * beyond that the request is counted in pending_dropped. */
void http_stream_expect(struct http_stream *resp_stream, const char *method);

/* Same as http_stream_expect(resp_stream, "HEAD"). */
void http_stream_expect_head(struct http_stream *resp_stream);

/* Operating system named by a User-Agent: "Windows", "Android", "iOS",
 * "macOS", "ChromeOS", "Linux", or NULL when none is recognised. Returns a
 * static string. Any thread. */
const char *http_ua_os(const char *ua);

#endif
