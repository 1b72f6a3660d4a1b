/* fuzz_tls.c - libFuzzer target for dissectors/tls.c: SNI extraction, prefix consistency (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/tls.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char sni[TLS_SNI_TEXT_MAX], sni2[TLS_SNI_TEXT_MAX];
    int rc = tls_client_hello_sni(data, size, sni, sizeof(sni));
    if (rc != DISSECT_OK && rc != DISSECT_NEED_MORE && rc != DISSECT_MALFORMED)
        abort();
    if (rc == DISSECT_OK && (sni[0] == '\0' || strlen(sni) >= sizeof(sni)))
        abort();
    if (rc != DISSECT_OK && sni[0] != '\0')
        abort();
    /* a prefix of an input that needs more, needs more too; a prefix of a
     * good hello is never malformed; more bytes never change a result */
    if (size) {
        size_t cut = (size_t)data[0] * size / 256;
        int rp = tls_client_hello_sni(data, cut, sni2, sizeof(sni2));
        if (rc == DISSECT_NEED_MORE && rp != DISSECT_NEED_MORE)
            abort();
        if (rc == DISSECT_OK && rp == DISSECT_MALFORMED)
            abort();
        if (rp == DISSECT_OK && (rc != DISSECT_OK || strcmp(sni, sni2) != 0))
            abort();
    }
    return 0;
}
