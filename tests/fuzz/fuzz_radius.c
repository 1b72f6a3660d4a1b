/* fuzz_radius.c - libFuzzer target for dissectors/radius.c: bounds and printable output (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/radius.h"
#include "tests/fuzz/fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct radius_msg m;
    int rc = radius_parse(data, size, &m);
    if (rc == DISSECT_OK) {
        if (!fuzz_text_ok(m.user, sizeof(m.user)) ||
            !fuzz_text_ok(m.session_id, sizeof(m.session_id)) || m.framed_ip6_plen > 128)
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
