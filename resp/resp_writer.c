/* resp_writer.c - growable byte buffer and RESP2/RESP3 reply encoders as Redis 7.0 writes them; owned by whichever thread owns the sbuf. */
#include "resp/resp_writer.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SBUF_MIN_CAP 64

void sbuf_init(struct sbuf *b)
{
    memset(b, 0, sizeof(*b));
}

void sbuf_free(struct sbuf *b)
{
    free(b->buf);
    sbuf_init(b);
}

void sbuf_reset(struct sbuf *b)
{
    b->len = 0;
}

int sbuf_grow(struct sbuf *b, size_t n)
{
    if (b->oom)
        return -1;
    if (b->cap - b->len >= n)
        return 0;
    if (n > SIZE_MAX - b->len) {
        b->oom = 1;
        return -1;
    }
    size_t want = b->len + n;
    size_t cap = b->cap ? b->cap : SBUF_MIN_CAP;
    while (cap < want)
        cap = cap > SIZE_MAX / 2 ? want : cap * 2;
    char *nb = realloc(b->buf, cap);
    if (!nb) {
        b->oom = 1;
        return -1;
    }
    b->buf = nb;
    b->cap = cap;
    return 0;
}

void sbuf_append(struct sbuf *b, const void *p, size_t n)
{
    if (n == 0 || sbuf_room(b, n) < 0)
        return;
    memcpy(b->buf + b->len, p, n);
    b->len += n;
}

void sbuf_appendc(struct sbuf *b, char c)
{
    if (sbuf_room(b, 1) < 0)
        return;
    b->buf[b->len++] = c;
}

void sbuf_appends(struct sbuf *b, const char *s)
{
    sbuf_append(b, s, strlen(s));
}

void sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
    va_list ap;
    char small[256];

    if (b->oom)
        return;
    va_start(ap, fmt);
    int n = vsnprintf(small, sizeof(small), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(small)) {
        sbuf_append(b, small, (size_t)n);
        return;
    }
    if (sbuf_room(b, (size_t)n + 1) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(b->buf + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

static const char digit_pairs[] =
    "00010203040506070809101112131415161718192021222324252627282930313233343536373839"
    "40414243444546474849505152535455565758596061626364656667686970717273747576777879"
    "8081828384858687888990919293949596979899";

/* Writes v in decimal at the end of tmp[21], two digits per division; returns the first digit. */
static char *sbuf_u64_digits(uint64_t v, char tmp[21])
{
    char *p = tmp + 21;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        *--p = digit_pairs[r * 2 + 1];
        *--p = digit_pairs[r * 2];
    }
    if (v >= 10) {
        *--p = digit_pairs[v * 2 + 1];
        *--p = digit_pairs[v * 2];
    } else {
        *--p = (char)('0' + v);
    }
    return p;
}

void sbuf_append_u64(struct sbuf *b, uint64_t v)
{
    char tmp[21];
    char *p = sbuf_u64_digits(v, tmp);
    sbuf_append(b, p, (size_t)(tmp + 21 - p));
}

void sbuf_append_repr(struct sbuf *b, const char *p, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    sbuf_appendc(b, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        const char *esc = ch == '\\' ? "\\\\" : ch == '"' ? "\\\"" : ch == '\n' ? "\\n" : ch == '\r' ? "\\r"
                        : ch == '\t' ? "\\t" : ch == '\a' ? "\\a" : ch == '\b' ? "\\b" : NULL;
        if (esc) {
            sbuf_append(b, esc, 2);
        } else if (ch >= 0x20 && ch < 0x7f) {
            sbuf_appendc(b, (char)ch);
        } else {
            char x[4] = { '\\', 'x', hex[ch >> 4], hex[ch & 15] };
            sbuf_append(b, x, 4);
        }
    }
    sbuf_appendc(b, '"');
}

void sbuf_append_i64(struct sbuf *b, int64_t v)
{
    if (v < 0) {
        sbuf_appendc(b, '-');
        sbuf_append_u64(b, (uint64_t)0 - (uint64_t)v);
    } else {
        sbuf_append_u64(b, (uint64_t)v);
    }
}

/* "<type><n>\r\n" */
static void resp_header(struct sbuf *b, char type, long long n)
{
    char tmp[21];
    uint64_t u = n < 0 ? (uint64_t)0 - (uint64_t)n : (uint64_t)n;
    char *p = sbuf_u64_digits(u, tmp);
    size_t dn = (size_t)(tmp + 21 - p);
    if (sbuf_room(b, dn + 4) < 0)
        return;
    char *o = b->buf + b->len;
    *o++ = type;
    if (n < 0)
        *o++ = '-';
    memcpy(o, p, dn);
    o += dn;
    *o++ = '\r';
    *o++ = '\n';
    b->len = (size_t)(o - b->buf);
}

/* Appends s with CR and LF turned into spaces, so a status or error line
 * cannot break the protocol (Redis does the same for formatted errors). */
static void resp_line(struct sbuf *b, char type, const char *s)
{
    size_t n = strlen(s);
    sbuf_appendc(b, type);
    if (sbuf_room(b, n + 2) < 0)
        return;
    for (size_t i = 0; i < n; i++)
        b->buf[b->len++] = (s[i] == '\r' || s[i] == '\n') ? ' ' : s[i];
    b->buf[b->len++] = '\r';
    b->buf[b->len++] = '\n';
}

void resp_simple(struct sbuf *b, const char *s)
{
    resp_line(b, '+', s);
}

void resp_error(struct sbuf *b, const char *s)
{
    resp_line(b, '-', s);
}

void resp_int(struct sbuf *b, long long v)
{
    resp_header(b, ':', v);
}

/* One reservation, then the header, the bytes and the CRLF written in place: every bulk of every reply. */
void resp_bulk(struct sbuf *b, const void *p, size_t n)
{
    char tmp[21];
    char *d = sbuf_u64_digits(n, tmp);
    size_t dn = (size_t)(tmp + 21 - d);
    if (n > SIZE_MAX - 32 || sbuf_room(b, dn + n + 5) < 0) {
        if (n > SIZE_MAX - 32)
            b->oom = 1;
        return;
    }
    char *o = b->buf + b->len;
    *o++ = '$';
    memcpy(o, d, dn);
    o += dn;
    *o++ = '\r';
    *o++ = '\n';
    memcpy(o, p, n);
    o += n;
    *o++ = '\r';
    *o++ = '\n';
    b->len = (size_t)(o - b->buf);
}

void resp_bulks(struct sbuf *b, const char *s)
{
    resp_bulk(b, s, strlen(s));
}

void resp_bulk_u64(struct sbuf *b, uint64_t v)
{
    char tmp[21];
    char *p = sbuf_u64_digits(v, tmp);
    resp_bulk(b, p, (size_t)(tmp + 21 - p));
}

void resp_null(struct sbuf *b, int proto)
{
    if (proto == 3)
        sbuf_append(b, "_\r\n", 3);
    else
        sbuf_append(b, "$-1\r\n", 5);
}

void resp_null_array(struct sbuf *b, int proto)
{
    if (proto == 3)
        sbuf_append(b, "_\r\n", 3);
    else
        sbuf_append(b, "*-1\r\n", 5);
}

void resp_array(struct sbuf *b, long long n)
{
    resp_header(b, '*', n);
}

void resp_map(struct sbuf *b, long long pairs, int proto)
{
    if (proto == 3)
        resp_header(b, '%', pairs);
    else
        resp_header(b, '*', pairs * 2);
}

void resp_set(struct sbuf *b, long long n, int proto)
{
    resp_header(b, proto == 3 ? '~' : '*', n);
}

void resp_push(struct sbuf *b, long long n, int proto)
{
    resp_header(b, proto == 3 ? '>' : '*', n);
}

/* addReplyDouble() of Redis 7.0: "%.17g", infinities spelled inf / -inf. */
void resp_double(struct sbuf *b, double d, int proto)
{
    char dbuf[64];
    if (isinf(d))
        snprintf(dbuf, sizeof(dbuf), "%s", d > 0 ? "inf" : "-inf");
    else
        snprintf(dbuf, sizeof(dbuf), "%.17g", d);
    if (proto == 3) {
        sbuf_appendc(b, ',');
        sbuf_appends(b, dbuf);
        sbuf_append(b, "\r\n", 2);
    } else {
        resp_bulks(b, dbuf);
    }
}

void resp_bool(struct sbuf *b, int v, int proto)
{
    if (proto == 3)
        sbuf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        sbuf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

/* addReplyVerbatim(c, p, n, "txt") of Redis 7.0. */
void resp_verbatim(struct sbuf *b, const char *p, size_t n, int proto)
{
    if (proto != 3) {
        resp_bulk(b, p, n);
        return;
    }
    sbuf_appendc(b, '=');
    sbuf_append_u64(b, (uint64_t)n + 4);
    sbuf_append(b, "\r\ntxt:", 6);
    sbuf_append(b, p, n);
    sbuf_append(b, "\r\n", 2);
}
