/* escape.c - the one escaping rule for names taken from packets: UTF-8 kept, "\\" and "\xHH" (pure code, any thread). */
#include "dissect.h"

size_t dissect_utf8_len(const uint8_t *p, size_t n)
{
    uint8_t b = p[0];
    if (b >= 0x20 && b < 0x7f)
        return b == '\\' ? 0 : 1;
    size_t len;
    uint32_t cp, min;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2; cp = b & 0x1f; min = 0x80;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3; cp = b & 0x0f; min = 0x800;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4; cp = b & 0x07; min = 0x10000;
    } else {
        return 0;           /* control, DEL, continuation, 0xc0/0xc1, > 0xf4 */
    }
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A byte that stands for itself: printable ASCII other than '\\'. */
static inline int escape_plain(uint8_t b)
{
    return b >= 0x20 && b < 0x7f && b != '\\';
}

int dissect_escape_append(char *dst, size_t cap, size_t *dlen,
                          const uint8_t *src, size_t n, int lower)
{
    static const char hex[] = "0123456789abcdef";
    size_t o = *dlen;
    int rc = 0;
    for (size_t i = 0; i < n;) {
        uint8_t b = src[i];
        if (escape_plain(b)) {       /* the common case: a run of printable ASCII, copied in one pass */
            size_t room = cap > o + 1 ? cap - 1 - o : 0, j = 0;
            size_t lim = n - i < room ? n - i : room;
            if (lower) {
                for (uint8_t c; j < lim && escape_plain(c = src[i + j]); j++)
                    dst[o + j] = (char)(c >= 'A' && c <= 'Z' ? c + ('a' - 'A') : c);
            } else {
                for (uint8_t c; j < lim && escape_plain(c = src[i + j]); j++)
                    dst[o + j] = (char)c;
            }
            o += j;
            i += j;
            if (i < n && j == room) { rc = -1; break; }   /* whatever comes next does not fit */
            continue;
        }
        size_t k = dissect_utf8_len(src + i, n - i);
        if (k) {
            if (o + k >= cap) { rc = -1; break; }
            for (size_t j = 0; j < k; j++)
                dst[o++] = (char)src[i + j];
            if (k == 1 && lower && b >= 'A' && b <= 'Z')
                dst[o - 1] = (char)(b + ('a' - 'A'));
            i += k;
        } else if (b == '\\') {
            if (o + 2 >= cap) { rc = -1; break; }
            dst[o++] = '\\';
            dst[o++] = '\\';
            i++;
        } else {
            if (o + DISSECT_ESC_MAX >= cap) { rc = -1; break; }
            dst[o++] = '\\';
            dst[o++] = 'x';
            dst[o++] = hex[b >> 4];
            dst[o++] = hex[b & 0xf];
            i++;
        }
    }
    if (cap)
        dst[o < cap ? o : cap - 1] = '\0';
    *dlen = o;
    return rc;
}
