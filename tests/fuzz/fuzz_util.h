/* fuzz_util.h - checks and helpers shared by the fuzz targets: printable parser text, chunk sizes for split-invariance (single thread). */
#ifndef FC_FUZZ_UTIL_H
#define FC_FUZZ_UTIL_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* 1 when s is printable ASCII and NUL-terminated inside cap. */
static inline int fuzz_text_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

/* Folds s into the digest *h; aborts unless fuzz_text_ok(s, cap). */
static inline void fuzz_text_mix(uint64_t *h, const char *s, size_t cap)
{
    if (!fuzz_text_ok(s, cap))
        abort();
    size_t n = strlen(s);
    for (size_t i = 0; i < n; i++)
        *h = *h * 1099511628211u ^ (unsigned char)s[i];
    *h ^= n;
}

/* Size of the next piece when bytes are fed in pseudo-random pieces of
 * 1..max: steps *seed, never more than left. */
static inline size_t fuzz_chunk_next(unsigned *seed, size_t left, size_t max)
{
    *seed = *seed * 1103515245u + 12345u;
    size_t k = 1 + (*seed >> 16) % max;
    return k < left ? k : left;
}

#endif
