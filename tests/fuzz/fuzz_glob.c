/* fuzz_glob.c - libFuzzer target for resp/glob.c: bounded work, prefix consistency; single-threaded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "resp/glob.h"

/* Input layout: byte 0 = flags (bit 0: nocase), byte 1 = where the pattern
 * ends (as a fraction of the rest), then pattern bytes and subject bytes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char prefix[256];

    if (size < 2)
        return 0;
    int nocase = data[0] & 1;
    size_t rest = size - 2;
    size_t plen = rest * data[1] / 255;
    const char *pat = (const char *)data + 2;
    const char *str = pat + plen;
    size_t slen = rest - plen;

    int m = glob_match(pat, plen, str, slen, nocase);
    if (m != 0 && m != 1)
        abort();
    size_t n = glob_literal_prefix(pat, plen, prefix, sizeof(prefix));
    if (n > sizeof(prefix))
        abort();
    /* every match starts with the literal prefix */
    if (m && !nocase && (n > slen || memcmp(prefix, str, n) != 0))
        abort();
    /* a pattern always matches its own literal text when it has no specials */
    if (n == plen && n < sizeof(prefix) && memchr(pat, '\\', plen) == NULL &&
        !glob_match(pat, plen, prefix, n, 0))
        abort();
    return 0;
}
