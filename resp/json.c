/* json.c - one-line flat JSON objects written into the byte buffer; owned by whichever thread owns the sbuf. */
#include "resp/json.h"

#include <string.h>

void json_begin(struct sbuf *b)
{
    sbuf_appendc(b, '{');
}

/* Bytes each byte takes once escaped: 1, 2 (\" and \\) or 6 (\u00XX below 0x20 and from 0x7f up). */
#define X16(v) v, v, v, v, v, v, v, v, v, v, v, v, v, v, v, v
static const unsigned char json_byte_len[256] = {
    X16(6), X16(6),                                                     /* 0x00-0x1f */
    1, 1, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,                     /* 0x20-0x2f: '"' */
    X16(1), X16(1),                                                     /* 0x30-0x4f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 1, 1, 1,                     /* 0x50-0x5f: '\\' */
    X16(1),                                                             /* 0x60-0x6f */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 6,                     /* 0x70-0x7f: DEL */
    X16(6), X16(6), X16(6), X16(6), X16(6), X16(6), X16(6), X16(6),     /* 0x80-0xff */
};
#undef X16

/* 1 when none of the 8 bytes in x needs an escape (none below 0x20, from 0x7f up, '"' or '\\'). */
static int json_plain8(uint64_t x)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    uint64_t q = x ^ (ones * '"'), bs = x ^ (ones * '\\');
    uint64_t low = (x - ones * 0x20) & ~x & high;            /* some byte < 0x20 */
    uint64_t top = ((x + ones) | x) & high;                  /* some byte >= 0x7f */
    uint64_t quote = (q - ones) & ~q & high;                 /* some byte == '"' */
    uint64_t slash = (bs - ones) & ~bs & high;               /* some byte == '\\' */
    return !(low | top | quote | slash);
}

/* Length of the valid UTF-8 sequence at s (n bytes left): 2 to 4 (RFC 3629: shortest form, no surrogate,
 * at most U+10FFFF), or 0. Valid UTF-8 goes out as is; any other byte from 0x7f up as \u00XX. */
static size_t json_utf8_len(const unsigned char *s, size_t n)
{
    unsigned char b = s[0];
    size_t len = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;
    if (b < 0xc2 || b > 0xf4 || n < len)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    /* the second byte's range rules out overlong forms, surrogates and code points past U+10FFFF */
    if ((b == 0xe0 && s[1] < 0xa0) || (b == 0xed && s[1] > 0x9f) || (b == 0xf0 && s[1] < 0x90) ||
        (b == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* How many bytes s (n bytes) takes once escaped, quotes aside: 8 bytes at a time while they are plain
 * ASCII, then byte by byte. */
static size_t json_escaped_len(const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, e, k;
    for (; i + 8 <= n; i += 8) {
        uint64_t x;
        memcpy(&x, s + i, 8);
        if (!json_plain8(x))
            break;
    }
    for (e = i; i < n;) {
        k = u[i] >= 0x80 ? json_utf8_len(u + i, n - i) : 0;
        if (k) {
            e += k;
            i += k;
        } else {
            e += json_byte_len[u[i++]];
        }
    }
    return e;
}

/* Writes s (n bytes, elen once escaped) quoted at o, which has room for elen + 2 bytes; returns the end. */
static char *json_put_string(char *o, const char *s, size_t n, size_t elen)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    *o++ = '"';
    if (elen == n) {                         /* nothing to escape: the common case */
        memcpy(o, s, n);
        o += n;
    }
    for (size_t i = 0, k; elen != n && i < n; i += k) {
        k = u[i] >= 0x80 ? json_utf8_len(u + i, n - i) : 0;
        if (k) {
            memcpy(o, s + i, k);
            o += k;
            continue;
        }
        k = 1;
        if (json_byte_len[u[i]] == 1) {
            *o++ = s[i];
        } else if (json_byte_len[u[i]] == 2) {
            *o++ = '\\';
            *o++ = s[i];
        } else {
            memcpy(o, "\\u00", 4);
            o[4] = hex[u[i] >> 4];
            o[5] = hex[u[i] & 15];
            o += 6;
        }
    }
    *o++ = '"';
    return o;
}

/* Makes room for a member named name whose value takes vroom bytes, and writes its separator and "name":
 * there. Returns where the value goes (the caller adds to b->len), or NULL when memory ran out. */
static char *json_member(struct sbuf *b, const char *name, size_t vroom)
{
    size_t nl = strlen(name), el = json_escaped_len(name, nl);
    if (vroom > SIZE_MAX / 2 || sbuf_room(b, el + vroom + 4) < 0)
        return NULL;
    char *o = b->buf + b->len;
    if (b->len > 0 && o[-1] != '{')
        *o++ = ',';
    o = json_put_string(o, name, nl, el);
    *o++ = ':';
    return o;
}

void json_field(struct sbuf *b, const char *name, const char *val, size_t vlen, int numeric)
{
    size_t el = numeric ? vlen : json_escaped_len(val, vlen);
    char *o = json_member(b, name, numeric ? vlen : el + 2);
    if (!o)
        return;
    if (numeric) {
        memcpy(o, val, vlen);
        o += vlen;
    } else {
        o = json_put_string(o, val, vlen, el);
    }
    b->len = (size_t)(o - b->buf);
}

void json_field_str(struct sbuf *b, const char *name, const char *val)
{
    json_field(b, name, val, strlen(val), 0);
}

void json_end(struct sbuf *b)
{
    sbuf_appendc(b, '}');
}
