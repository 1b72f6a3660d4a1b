/* fuzz_radius.c - libFuzzer target for dissectors/radius.c: bounds and printable output (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/radius.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 when s is printable ASCII and NUL-terminated inside cap. */
static int fuzz_radius_text_ok(const char *s, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] >= 0x7f)
            return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct radius_msg m;
    int rc = radius_parse(data, size, &m);
    if (rc == DISSECT_OK) {
        if (!fuzz_radius_text_ok(m.user, sizeof(m.user)) ||
            !fuzz_radius_text_ok(m.session_id, sizeof(m.session_id)) || m.framed_ip6_plen > 128)
            abort();
        /* bytes past the header length never change the result */
        size_t plen = (size_t)data[2] << 8 | data[3];
        struct radius_msg m2;
        if (radius_parse(data, plen, &m2) != DISSECT_OK || memcmp(&m, &m2, sizeof(m)) != 0)
            abort();
    } else if (rc != DISSECT_MALFORMED) {
        abort();
    }
    return 0;
}
