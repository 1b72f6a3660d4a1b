/* http.c - incremental HTTP/1.x head parser and body framer (pure code, any capture thread). */
#include <string.h>
#include <strings.h>

#include "dissectors/http.h"

enum http_state {
    HTTP_S_START = 0,       /* expecting a request or status line */
    HTTP_S_HEADERS,
    HTTP_S_BODY,            /* skipping remaining Content-Length bytes */
    HTTP_S_CHUNK_SIZE,
    HTTP_S_CHUNK_DATA,
    HTTP_S_CHUNK_END,       /* the CRLF after chunk data */
    HTTP_S_TRAILERS,
    HTTP_S_UNTIL_CLOSE,     /* response body without a length */
    HTTP_S_TUNNEL,          /* after 101 or CONNECT: not HTTP any more */
    HTTP_S_DEAD,
};

#define HTTP_METHOD_MIN     3
#define HTTP_VERSION_PREFIX "HTTP/"
#define HTTP_VERSION_LEN    8       /* "HTTP/1.1" */
#define HTTP_STATUS_DIGITS  3
#define HTTP_STATUS_MIN     100
#define HTTP_STATUS_INFO_END 200
#define HTTP_STATUS_SWITCH  101
#define HTTP_STATUS_NO_CONTENT 204
#define HTTP_STATUS_NOT_MODIFIED 304
#define HTTP_STATUS_REDIRECT_END 300
#define HTTP_CHUNK_HEX_MAX  15      /* hex digits of a chunk size: < 2^60 */
#define HTTP_CLEN_DIGITS_MAX 18     /* decimal digits of Content-Length: < 10^18 */

static int http_is_upper(int c)
{
    return (c >= 'A' && c <= 'Z') || c == '-' || c == '_';
}

static int http_is_space(int c)
{
    return c == ' ' || c == '\t';
}

void http_stream_init(struct http_stream *s)
{
    memset(s, 0, sizeof(*s));
}

void http_conn_init(struct http_conn *c)
{
    memset(c, 0, sizeof(*c));
}

static int http_stream_at_rest(const struct http_stream *s)
{
    /* seen_start stays set after a head is delivered (until the next start
     * line): in HTTP_S_START it says nothing about pending bytes. */
    return s->state == HTTP_S_START && s->line_len == 0 && s->head_bytes == 0 && s->pending_n == 0;
}

int http_conn_at_rest(const struct http_conn *c)
{
    return http_stream_at_rest(&c->dir[0]) && http_stream_at_rest(&c->dir[1]);
}

void http_stream_expect(struct http_stream *s, const char *method)
{
    if (s->pending_n >= HTTP_PENDING_MAX) {
        s->pending_dropped++;
        return;
    }
    uint32_t bit = 1u << s->pending_n++;
    if (strcmp(method, "HEAD") == 0)
        s->pending_head |= bit;
    else if (strcmp(method, "CONNECT") == 0)
        s->pending_connect |= bit;
}

void http_stream_expect_head(struct http_stream *s)
{
    http_stream_expect(s, "HEAD");
}

/* Copies v[0..n) escaped into dst[cap], truncating. */
static void http_copy(char *dst, size_t cap, const char *v, size_t n, int lower)
{
    size_t used = 0;
    dissect_escape_append(dst, cap, &used, (const uint8_t *)v, n, lower);
}

/* Stores a host (from a Host header or an absolute URL) without its port. */
static void http_set_host(struct http_msg *m, const char *v, size_t n)
{
    size_t end = n;
    if (n && v[0] == '[') {
        const char *rb = memchr(v, ']', n);
        if (rb)
            end = (size_t)(rb - v) + 1;
    } else {
        const char *colon = memchr(v, ':', n);
        if (colon)
            end = (size_t)(colon - v);
    }
    http_copy(m->host, sizeof(m->host), v, end, 1);
}

/* Host of an absolute-form target "scheme://host[:port]/...", when no Host header. */
static void http_host_from_url(struct http_msg *m, const char *u, size_t n)
{
    const char *sep = n > 3 ? memchr(u, ':', n) : NULL;
    if (!sep || (size_t)(sep - u) + 3 > n || sep[1] != '/' || sep[2] != '/')
        return;
    const char *h = sep + 3;
    size_t hn = n - (size_t)(h - u);
    for (size_t i = 0; i < hn; i++)
        if (h[i] == '/' || h[i] == '?' || h[i] == '#') {
            hn = i;
            break;
        }
    const char *at = memchr(h, '@', hn);        /* user:pass@ */
    if (at) {
        hn -= (size_t)(at + 1 - h);
        h = at + 1;
    }
    http_set_host(m, h, hn);
}

/* "HTTP/d.d" at v[0..n)? */
static int http_version_ok(const char *v, size_t n)
{
    return n == HTTP_VERSION_LEN && memcmp(v, HTTP_VERSION_PREFIX, 5) == 0 &&
           v[5] >= '0' && v[5] <= '9' && v[6] == '.' && v[7] >= '0' && v[7] <= '9';
}

/* Early check of a start line still being received: 0 when its first bytes
 * already cannot begin one. */
static int http_start_prefix_ok(const struct http_stream *s, int is_req)
{
    size_t n = s->line_len;
    if (!is_req) {
        size_t k = n < 5 ? n : 5;
        return memcmp(s->line, HTTP_VERSION_PREFIX, k) == 0;
    }
    for (size_t i = 0; i < n && i < sizeof(s->msg.method); i++) {
        if (s->line[i] == ' ')
            return i >= HTTP_METHOD_MIN;
        if (!http_is_upper((unsigned char)s->line[i]))
            return 0;
    }
    return n < sizeof(s->msg.method);
}

/* "METHOD SP target [SP HTTP/x.y]": the version is required unless the line
 * was cut by HTTP_LINE_MAX. Returns 0 or -1. */
static int http_request_line(struct http_stream *s, const char *l, size_t n, int cut)
{
    const char *sp = memchr(l, ' ', n);
    if (!sp || (size_t)(sp - l) < HTTP_METHOD_MIN || (size_t)(sp - l) >= sizeof(s->msg.method))
        return -1;
    size_t ml = (size_t)(sp - l);
    for (size_t i = 0; i < ml; i++)
        if (!http_is_upper((unsigned char)l[i]))
            return -1;
    const char *u = sp + 1;
    size_t un = n - ml - 1;
    if (!cut) {
        const char *vs = NULL;
        for (size_t i = un; i > 0; i--)
            if (u[i - 1] == ' ') {
                vs = u + i;
                break;
            }
        if (!vs && ml == 3 && memcmp(l, "GET", 3) == 0)
            s->http09 = 1;                      /* "GET /path": HTTP/0.9, no headers */
        else if (!vs || !http_version_ok(vs, (size_t)(l + n - vs)))
            return -1;
        else
            un = (size_t)(vs - 1 - u);
    }
    if (un == 0)
        return -1;
    memcpy(s->msg.method, l, ml);
    s->msg.method[ml] = '\0';
    http_copy(s->msg.url, sizeof(s->msg.url), u, un, 0);
    http_host_from_url(&s->msg, u, un);
    s->msg.is_request = 1;
    return 0;
}

/* "HTTP/x.y SP DDD [SP reason]". Returns 0 or -1. */
static int http_status_line(struct http_stream *s, const char *l, size_t n)
{
    if (n < HTTP_VERSION_LEN + 1 + HTTP_STATUS_DIGITS || !http_version_ok(l, HTTP_VERSION_LEN) ||
        l[HTTP_VERSION_LEN] != ' ')
        return -1;
    const char *d = l + HTTP_VERSION_LEN + 1;
    int st = 0;
    for (int i = 0; i < HTTP_STATUS_DIGITS; i++) {
        if (d[i] < '0' || d[i] > '9')
            return -1;
        st = st * 10 + (d[i] - '0');
    }
    if (st < HTTP_STATUS_MIN || (n > HTTP_VERSION_LEN + 1 + HTTP_STATUS_DIGITS && d[3] != ' '))
        return -1;
    s->msg.status = st;
    return 0;
}

/* Decimal Content-Length. Returns 0 or -1 (empty, not a number, too big). */
static int http_parse_clen(const char *v, size_t n, uint64_t *out)
{
    uint64_t x = 0;
    if (n == 0 || n > HTTP_CLEN_DIGITS_MAX)
        return -1;
    for (size_t i = 0; i < n; i++) {
        if (v[i] < '0' || v[i] > '9')
            return -1;
        x = x * 10 + (uint64_t)(v[i] - '0');
    }
    *out = x;
    return 0;
}

/* Case-insensitive search of "chunked" in v[0..n). */
static int http_has_chunked(const char *v, size_t n)
{
    static const char tok[] = "chunked";
    size_t tl = sizeof(tok) - 1;
    for (size_t i = 0; i + tl <= n; i++)
        if (strncasecmp(v + i, tok, tl) == 0)
            return 1;
    return 0;
}

/* One header line. Returns 0 or -1 (a Content-Length that is not a number). */
static int http_header(struct http_stream *s, const char *l, size_t n, int cut)
{
    const char *colon = memchr(l, ':', n);
    if (!colon || http_is_space((unsigned char)l[0]))
        return 0;               /* folded or broken line: ignored */
    size_t nl = (size_t)(colon - l);
    const char *v = colon + 1;
    size_t vn = n - nl - 1;
    while (vn && http_is_space((unsigned char)v[0]))
        v++, vn--;
    while (vn && http_is_space((unsigned char)v[vn - 1]))
        vn--;
    if (nl == 4 && strncasecmp(l, "host", 4) == 0) {
        if (!s->host_hdr) {     /* the first Host header wins over an absolute URL */
            s->msg.host[0] = '\0';
            http_set_host(&s->msg, v, vn);
            s->host_hdr = 1;
        }
    } else if (nl == 10 && strncasecmp(l, "user-agent", 10) == 0) {
        if (!s->msg.ua[0])
            http_copy(s->msg.ua, sizeof(s->msg.ua), v, vn, 0);
    } else if (nl == 14 && strncasecmp(l, "content-length", 14) == 0) {
        if (cut || http_parse_clen(v, vn, &s->clen) < 0)
            return -1;
        s->has_clen = 1;
    } else if (nl == 17 && strncasecmp(l, "transfer-encoding", 17) == 0) {
        if (http_has_chunked(v, vn))
            s->chunked = 1;
    }
    return 0;
}

/* Pops the oldest pending request of a response stream: bit 0 HEAD, bit 1 CONNECT. */
static unsigned http_pending_pop(struct http_stream *s)
{
    if (!s->pending_n)
        return 0;
    unsigned r = (s->pending_head & 1u) | (s->pending_connect & 1u) << 1;
    s->pending_head >>= 1;
    s->pending_connect >>= 1;
    s->pending_n--;
    return r;
}

/* Body framing once a head is complete. Returns 1 when the connection
 * becomes a tunnel, else 0. */
static int http_head_done(struct http_stream *s, struct http_stream *peer)
{
    int st = s->msg.status;
    unsigned req = 0;

    s->remaining = 0;
    if (s->msg.is_request) {
        if (peer)
            http_stream_expect(peer, s->msg.method);
        if (s->http09) {        /* one request; the answer is raw bytes until close */
            s->state = HTTP_S_TUNNEL;
            if (peer)
                peer->state = HTTP_S_UNTIL_CLOSE;
            return 0;
        }
        s->state = s->chunked ? HTTP_S_CHUNK_SIZE : s->has_clen && s->clen ? HTTP_S_BODY : HTTP_S_START;
        s->remaining = s->clen;
        return 0;
    }
    req = http_pending_pop(s);
    if (st == HTTP_STATUS_SWITCH ||
        ((req & 2u) && st >= HTTP_STATUS_INFO_END && st < HTTP_STATUS_REDIRECT_END)) {
        s->state = HTTP_S_TUNNEL;
        return 1;
    }
    if ((req & 1u) || st == HTTP_STATUS_NO_CONTENT || st == HTTP_STATUS_NOT_MODIFIED)
        s->state = HTTP_S_START;
    else if (s->chunked)
        s->state = HTTP_S_CHUNK_SIZE;
    else if (s->has_clen)
        s->state = s->clen ? HTTP_S_BODY : HTTP_S_START;
    else
        s->state = HTTP_S_UNTIL_CLOSE;
    s->remaining = s->clen;
    return 0;
}

/* Resets the per-head fields before a new start line. */
static void http_head_reset(struct http_stream *s)
{
    memset(&s->msg, 0, sizeof(s->msg));
    s->seen_start = 0;
    s->host_hdr = 0;
    s->http09 = 0;
    s->chunked = 0;
    s->has_clen = 0;
    s->clen = 0;
}

/* Parses a chunk-size line into s->remaining. Returns 0 or -1. */
static int http_chunk_size(struct http_stream *s, const char *l, size_t n)
{
    uint64_t x = 0;
    size_t i = 0;
    while (i < n && http_is_space((unsigned char)l[i]))
        i++;
    size_t start = i;
    for (; i < n; i++) {
        char c = l[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 :
                c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0)
            break;
        if (i - start >= HTTP_CHUNK_HEX_MAX)
            return -1;
        x = x << 4 | (uint64_t)d;
    }
    if (i == start || (i < n && l[i] != ';' && !http_is_space((unsigned char)l[i])))
        return -1;
    s->remaining = x;
    return 0;
}

/* A complete line of a head. Returns 1 when a head was delivered, 0, or -1
 * when the bytes are not HTTP. */
static int http_head_line(struct http_stream *s, int is_req, const char *l, size_t n, int cut)
{
    if (s->state == HTTP_S_START) {
        if (n == 0)
            return 0;               /* stray CRLF between messages */
        http_head_reset(s);
        s->msg.tag = s->head_tag;
        if (is_req ? http_request_line(s, l, n, cut) : http_status_line(s, l, n))
            return -1;
        s->seen_start = 1;
        s->state = HTTP_S_HEADERS;
        return s->http09;
    }
    if (n)
        return http_header(s, l, n, cut);
    return 1;
}

/* A complete line in any line-based state. peer may be NULL. Returns 0 or -1. */
static int http_line(struct http_stream *s, struct http_stream *peer, int is_req,
                     http_msg_cb on_msg, void *arg)
{
    size_t n = s->line_len;
    int cut = n >= HTTP_LINE_MAX;
    if (n && !cut && s->line[n - 1] == '\r')
        n--;
    s->line_len = 0;
    switch (s->state) {
    case HTTP_S_START:
    case HTTP_S_HEADERS: {
        int rc = http_head_line(s, is_req, s->line, n, cut);
        if (rc <= 0)
            return rc;
        s->head_bytes = 0;
        int interim = !is_req && s->msg.status < HTTP_STATUS_INFO_END &&
                      s->msg.status != HTTP_STATUS_SWITCH;
        if (interim) {
            s->state = HTTP_S_START;
            return 0;
        }
        if (http_head_done(s, peer) && peer)
            peer->state = HTTP_S_TUNNEL;
        s->msgs++;
        on_msg(arg, &s->msg);
        return 0;
    }
    case HTTP_S_CHUNK_SIZE:
        if (http_chunk_size(s, s->line, n) < 0)
            return -1;
        s->state = s->remaining ? HTTP_S_CHUNK_DATA : HTTP_S_TRAILERS;
        return 0;
    case HTTP_S_CHUNK_END:
        s->head_bytes = 0;
        s->state = HTTP_S_CHUNK_SIZE;
        return n == 0 ? 0 : -1;
    case HTTP_S_TRAILERS:
        if (n == 0) {
            s->head_bytes = 0;
            s->state = HTTP_S_START;
        }
        return 0;
    default:
        return 0;
    }
}

/* Takes bytes of a line-based state up to and including '\n'. Sets *done
 * when the line is complete. Returns the bytes used, or 0 with *done = -1
 * when the stream is not HTTP. */
static size_t http_line_take(struct http_stream *s, int is_req, const uint8_t *d, size_t n, int *done)
{
    const uint8_t *nl = memchr(d, '\n', n);
    size_t take = nl ? (size_t)(nl - d) + 1 : n;
    size_t body = nl ? take - 1 : take;
    size_t room = HTTP_LINE_MAX - s->line_len;
    size_t cp = body < room ? body : room;

    if (s->state == HTTP_S_START && s->line_len == 0)
        s->head_tag = s->tag;       /* a start line may begin here */

    memcpy(s->line + s->line_len, d, cp);
    s->line_len += (uint32_t)cp;
    s->head_bytes += (uint32_t)(take < HTTP_HEAD_MAX ? take : HTTP_HEAD_MAX);
    *done = nl != NULL;
    if (s->head_bytes > HTTP_HEAD_MAX ||
        (s->state == HTTP_S_START && !(s->line_len == 0 || s->line[0] == '\r') &&
         !http_start_prefix_ok(s, is_req))) {
        *done = -1;
        return 0;
    }
    return take;
}

/* The feed loop; peer (the other direction) may be NULL. */
static int http_feed_peer(struct http_stream *s, struct http_stream *peer, int is_req,
                          const uint8_t *data, size_t len, http_msg_cb on_msg, void *arg)
{
    size_t off = 0;
    while (off < len) {
        if (s->state == HTTP_S_DEAD || s->state == HTTP_S_TUNNEL || s->state == HTTP_S_UNTIL_CLOSE)
            return DISSECT_OK;
        if (s->state == HTTP_S_BODY || s->state == HTTP_S_CHUNK_DATA) {
            size_t k = len - off;
            if (k > s->remaining)
                k = (size_t)s->remaining;
            off += k;
            s->remaining -= k;
            if (s->remaining == 0)
                s->state = s->state == HTTP_S_BODY ? HTTP_S_START : HTTP_S_CHUNK_END;
            continue;
        }
        int done = 0;
        off += http_line_take(s, is_req, data + off, len - off, &done);
        if (done == 1)
            done = http_line(s, peer, is_req, on_msg, arg);
        if (done < 0) {
            s->state = HTTP_S_DEAD;
            return DISSECT_MALFORMED;
        }
    }
    return DISSECT_OK;
}

int http_feed(struct http_stream *s, int is_request_dir, const uint8_t *data, size_t len,
              http_msg_cb on_msg, void *arg)
{
    return http_feed_peer(s, NULL, is_request_dir != 0, data, len, on_msg, arg);
}

int http_conn_feed(struct http_conn *c, int from_client, const uint8_t *data, size_t len,
                   http_msg_cb on_msg, void *arg)
{
    int d = from_client ? 0 : 1;
    return http_feed_peer(&c->dir[d], &c->dir[!d], from_client != 0, data, len, on_msg, arg);
}

/* First-match table: Android before Linux, iOS devices before "Mac OS X",
 * ChromeOS ("CrOS") before Linux. */
static const struct {
    const char *needle;
    const char *os;
} http_ua_table[] = {
    { "Windows", "Windows" },
    { "Android", "Android" },
    { "iPhone", "iOS" },
    { "iPad", "iOS" },
    { "iPod", "iOS" },
    { "CrOS", "ChromeOS" },
    { "Macintosh", "macOS" },
    { "Mac OS X", "macOS" },
    { "Linux", "Linux" },
};

const char *http_ua_os(const char *ua)
{
    if (!ua)
        return NULL;
    for (size_t i = 0; i < sizeof(http_ua_table) / sizeof(http_ua_table[0]); i++)
        if (strstr(ua, http_ua_table[i].needle))
            return http_ua_table[i].os;
    return NULL;
}
