/* l7_fmt.c - a fast __snprintf_chk for the short integer formats nDPI 4.2 builds its TLS fingerprints with (any thread). */
#include "capture/flow/l7_fmt.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/*
 * libndpi is built with _FORTIFY_SOURCE, so its snprintf calls go to glibc's
 * __snprintf_chk. For every TLS ClientHello nDPI 4.2 formats the JA3 string
 * one number at a time ("%s%u", "%u,", "%02x": ~20 calls per hello), and
 * glibc's general printf machinery costs ~700 instructions a call: about a
 * tenth of all the work on a TLS-heavy capture. This executable therefore
 * defines __snprintf_chk (the dynamic linker binds the libraries' calls to
 * it, as for malloc): formats made only of literal text and %%, %c, %s
 * (no width or precision) and %d/%i/%u/%x/%X (optional '0' flag, width and
 * l/ll/z/h/hh length) are formatted here, byte for byte as glibc does;
 * anything else goes to glibc's __vsnprintf_chk unchanged. flowcached's own
 * code (built without _FORTIFY_SOURCE) keeps calling snprintf.
 */

extern int __vsnprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, va_list ap);
extern void __chk_fail(void) __attribute__((noreturn));

enum { LEN_INT, LEN_CHAR, LEN_SHORT, LEN_LONG, LEN_LLONG, LEN_SIZE };

struct conv {
    char kind;                       /* 'd' 'u' 'x' 'X' 'c' 's' '%' */
    uint8_t zero, len;
    unsigned width;
};

/* Parses one conversion after '%'; returns the bytes it spans, or 0 when it
 * is not one this file formats. */
static size_t conv_parse(const char *f, struct conv *c)
{
    size_t i = 0;
    c->zero = 0;
    c->width = 0;
    c->len = LEN_INT;
    switch (f[0]) {                  /* the usual bare conversions: one byte */
    case '%': case 'u': case 'x': case 'X': case 'c': case 's':
        c->kind = f[0];
        return 1;
    case 'd': case 'i':
        c->kind = 'd';
        return 1;
    default: break;
    }
    if (f[i] == '0') {
        c->zero = 1;
        i++;
    }
    while (f[i] >= '0' && f[i] <= '9') {
        c->width = c->width * 10 + (unsigned)(f[i] - '0');
        if (c->width > 64)
            return 0;
        i++;
    }
    if (f[i] == 'h') {
        c->len = LEN_SHORT;
        if (f[++i] == 'h') { c->len = LEN_CHAR; i++; }
    } else if (f[i] == 'l') {
        c->len = LEN_LONG;
        if (f[++i] == 'l') { c->len = LEN_LLONG; i++; }
    } else if (f[i] == 'z') {
        c->len = LEN_SIZE;
        i++;
    }
    switch (f[i]) {
    case 'd': case 'i': c->kind = 'd'; break;
    case 'u': case 'x': case 'X': c->kind = f[i]; break;
    case 'c': case 's':
        if (c->zero || c->width || c->len != LEN_INT)
            return 0;
        c->kind = f[i];
        break;
    default: return 0;
    }
    return i + 1;
}

/* 1 when every conversion of fmt is one conv_parse accepts. */
static int fmt_simple(const char *fmt)
{
    struct conv c;
    for (const char *p = fmt; (p = strchr(p, '%')) != NULL; ) {
        size_t n = conv_parse(p + 1, &c);
        if (n == 0)
            return 0;
        p += 1 + n;
    }
    return 1;
}

struct out { char *s; size_t cap, len; };   /* cap: bytes that may hold text (maxlen - 1) */

static inline void out_ch(struct out *o, char ch)
{
    if (o->len < o->cap)
        o->s[o->len] = ch;
    o->len++;
}

static void out_put(struct out *o, const char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out_ch(o, p[i]);
}

static void out_fill(struct out *o, char ch, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out_ch(o, ch);
}

static void out_int(struct out *o, const struct conv *c, va_list *ap)
{
    char buf[24];
    size_t n = 0;
    int neg = 0;
    uint64_t v;
    if (c->kind == 'd') {
        int64_t x;
        switch (c->len) {
        case LEN_CHAR: x = (signed char)va_arg(*ap, int); break;
        case LEN_SHORT: x = (short)va_arg(*ap, int); break;
        case LEN_LONG: x = va_arg(*ap, long); break;
        case LEN_LLONG: x = va_arg(*ap, long long); break;
        case LEN_SIZE: x = (int64_t)va_arg(*ap, size_t); break;   /* %zd: ssize_t */
        default: x = va_arg(*ap, int); break;
        }
        neg = x < 0;
        v = neg ? (uint64_t)0 - (uint64_t)x : (uint64_t)x;
    } else {
        switch (c->len) {
        case LEN_CHAR: v = (unsigned char)va_arg(*ap, unsigned); break;
        case LEN_SHORT: v = (unsigned short)va_arg(*ap, unsigned); break;
        case LEN_LONG: v = va_arg(*ap, unsigned long); break;
        case LEN_LLONG: v = va_arg(*ap, unsigned long long); break;
        case LEN_SIZE: v = va_arg(*ap, size_t); break;
        default: v = va_arg(*ap, unsigned); break;
        }
    }
    if (c->kind == 'x' || c->kind == 'X') {
        const char *digits = c->kind == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
        do {
            buf[sizeof(buf) - 1 - n++] = digits[v & 15];
            v >>= 4;
        } while (v);
    } else {
        do {                         /* constant divisor: multiply, not divide */
            buf[sizeof(buf) - 1 - n++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
    }
    size_t body = n + (size_t)neg;
    size_t pad = c->width > body ? c->width - body : 0;
    if (!c->zero)
        out_fill(o, ' ', pad);
    if (neg)
        out_put(o, "-", 1);
    if (c->zero)
        out_fill(o, '0', pad);
    out_put(o, buf + sizeof(buf) - n, n);
}

/* The two formats nDPI 4.2 calls most while building a JA3 string, "%s%u"
 * (a separator, then a cipher, extension or curve number) and "%02x" (the
 * MD5 in hex), without parsing the format each time. Returns
 * -2 for any other format, a "%s" longer than 16 bytes, or a "%02x" value
 * above 0xff or buffer under 3 bytes (the general path formats those). */
static int fmt_ja3(char *s, size_t maxlen, const char *fmt, va_list ap)
{
    char buf[40];
    size_t n = 0;
    unsigned v;
    va_list cur;
    if (fmt[0] != '%' || fmt[1] == '\0' || fmt[2] == '\0' || fmt[3] == '\0' || fmt[4] != '\0')
        return -2;
    va_copy(cur, ap);
    if (fmt[1] == 's' && fmt[2] == '%' && fmt[3] == 'u') {
        const char *str = va_arg(cur, const char *);
        v = va_arg(cur, unsigned);
        if (!str)
            str = "(null)";
        while (*str && n < 16)
            buf[n++] = *str++;
        if (*str) {
            va_end(cur);
            return -2;
        }
        char d[10];
        size_t k = 0;
        do {
            d[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v);
        while (k)
            buf[n++] = d[--k];
    } else if (fmt[1] == '0' && fmt[2] == '2' && fmt[3] == 'x') {
        v = va_arg(cur, unsigned);
        va_end(cur);
        if (v > 0xff || maxlen < 3)
            return -2;                   /* not a digest byte, or a cut result: the general path */
        s[0] = "0123456789abcdef"[v >> 4];
        s[1] = "0123456789abcdef"[v & 15];
        s[2] = '\0';
        return 2;
    } else {
        va_end(cur);
        return -2;
    }
    va_end(cur);
    if (maxlen) {
        size_t c = n < maxlen - 1 ? n : maxlen - 1;
        for (size_t i = 0; i < c; i++)
            s[i] = buf[i];
        s[c] = '\0';
    }
    return (int)n;
}

/* One pass over fmt; returns -2 (nothing promised about s) at the first
 * conversion this file does not format, before consuming its argument. */
static int fmt_fast(char *s, size_t maxlen, const char *fmt, va_list ap)
{
    int r = fmt_ja3(s, maxlen, fmt, ap);
    if (r != -2)
        return r;
    struct out o = { s, maxlen ? maxlen - 1 : 0, 0 };
    va_list cur;
    va_copy(cur, ap);
    for (const char *p = fmt; *p; ) {
        if (*p != '%') {             /* literal text: short in practice, no libc call */
            out_ch(&o, *p++);
            continue;
        }
        struct conv c;
        size_t n = conv_parse(p + 1, &c);
        if (n == 0) {
            va_end(cur);
            return -2;
        }
        p += 1 + n;
        if (c.kind == '%') {
            out_ch(&o, '%');
        } else if (c.kind == 'c') {
            out_ch(&o, (char)va_arg(cur, int));
        } else if (c.kind == 's') {
            const char *str = va_arg(cur, const char *);
            if (!str)
                str = "(null)";
            while (*str)
                out_ch(&o, *str++);
        } else {
            out_int(&o, &c, &cur);
        }
    }
    va_end(cur);
    if (maxlen)
        s[o.len < o.cap ? o.len : o.cap] = '\0';
    return o.len > INT32_MAX ? -1 : (int)o.len;
}

int l7_fmt_format(char *s, size_t maxlen, const char *fmt, va_list ap)
{
    return fmt_fast(s, maxlen, fmt, ap);
}

int l7_fmt_simple(const char *fmt)
{
    return fmt_simple(fmt);
}

int __snprintf_chk(char *s, size_t maxlen, int flag, size_t slen, const char *fmt, ...)
{
    va_list ap;
    if (slen < maxlen)
        __chk_fail();
    va_start(ap, fmt);
    int rc = fmt_fast(s, maxlen, fmt, ap);
    if (rc == -2)
        rc = __vsnprintf_chk(s, maxlen, flag, slen, fmt, ap);
    va_end(ap);
    return rc;
}

int snprintf(char *restrict s, size_t maxlen, const char *restrict fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = fmt_fast(s, maxlen, fmt, ap);
    if (rc == -2)
        rc = vsnprintf(s, maxlen, fmt, ap);
    va_end(ap);
    return rc;
}
