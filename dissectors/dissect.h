/* dissect.h - result codes, bounded cursor and text escaping shared by the protocol parsers (pure code, any thread). */
#ifndef FC_DISSECT_H
#define FC_DISSECT_H

#include <stddef.h>
#include <stdint.h>

/* What a parser says about the bytes it was given. */
enum dissect_result {
    DISSECT_OK = 0,          /* parsed; outputs are filled */
    DISSECT_NEED_MORE = 1,   /* consistent so far, but cut: call again with more bytes */
    DISSECT_MALFORMED = -1,  /* not this protocol, or broken; outputs are unspecified */
};

/* Bounded cursor over bytes the caller owns. Readers never step past len:
 * a read past the end returns 0 and sets bad, so a parser checks bad once
 * after a group of reads instead of guarding every byte. */
struct dissect_cur {
    const uint8_t *p;
    size_t len;
    size_t off;
    int bad;                 /* a read or skip went past len */
};

static inline void dissect_cur_init(struct dissect_cur *c, const uint8_t *p, size_t len)
{
    c->p = p;
    c->len = len;
    c->off = 0;
    c->bad = 0;
}

static inline size_t dissect_cur_left(const struct dissect_cur *c)
{
    return c->len - c->off;
}

static inline uint8_t dissect_u8(struct dissect_cur *c)
{
    if (c->off >= c->len) {
        c->bad = 1;
        return 0;
    }
    return c->p[c->off++];
}

static inline uint16_t dissect_be16(struct dissect_cur *c)
{
    uint16_t hi = dissect_u8(c);
    return (uint16_t)(hi << 8 | dissect_u8(c));
}

static inline uint32_t dissect_be24(struct dissect_cur *c)
{
    uint32_t hi = dissect_u8(c);
    return hi << 16 | dissect_be16(c);
}

static inline uint32_t dissect_be32(struct dissect_cur *c)
{
    uint32_t hi = dissect_be16(c);
    return hi << 16 | dissect_be16(c);
}

/* Skips n bytes; past the end it stops at len and sets bad. */
static inline void dissect_skip(struct dissect_cur *c, size_t n)
{
    if (n > dissect_cur_left(c)) {
        c->off = c->len;
        c->bad = 1;
        return;
    }
    c->off += n;
}

/* Bytes one escape can take ("\xHH"), and one passed-through UTF-8 character. */
#define DISSECT_ESC_MAX 4

/* Length of the valid, shortest-form UTF-8 sequence starting at p[0..n)
 * (2, 3 or 4; 1 for printable ASCII), or 0 when p[0] must be escaped
 * (controls, DEL, backslash, stray or overlong bytes, surrogates, code
 * points above U+10FFFF, a sequence cut by the end of the input). */
size_t dissect_utf8_len(const uint8_t *p, size_t n);

/* Appends src[0..n) to dst (capacity cap, NUL-terminated, *dlen bytes used)
 * under the one escaping rule of every name family: valid UTF-8 (printable
 * ASCII too) passes through, '\' is written "\\", every other byte
 * "\xHH" (lowercase hex). lower lowercases ASCII A-Z only. The text is
 * reversible, valid UTF-8, free of control bytes (a JSON writer still
 * escapes '"' and '\').
 * Returns 0, or -1 when it does not fit (dst then holds a prefix cut at a
 * whole escape or character, still terminated). Any thread. */
int dissect_escape_append(char *dst, size_t cap, size_t *dlen,
                          const uint8_t *src, size_t n, int lower);

#endif
