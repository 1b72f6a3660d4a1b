/* fuzz_decode.c - libFuzzer target for decode_packet and decode_addrs: byte 0 picks the link type, the rest is the frame (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "capture/decode/decode.h"

static const int fuzz_dlts[] = {
    FC_DLT_EN10MB, FC_DLT_LINUX_SLL, FC_DLT_LINUX_SLL2, FC_DLT_RAW, FC_DLT_RAW_ALT,
    FC_DLT_LINKTYPE_RAW, FC_DLT_IPV4, FC_DLT_IPV6, FC_DLT_NULL, FC_DLT_LOOP, FC_DLT_C_HDLC,
};
#define FUZZ_DLT_COUNT (sizeof(fuzz_dlts) / sizeof(fuzz_dlts[0]))

/* 1 when [p, p + n) lies inside [buf, buf + len). */
static int fuzz_inside(const uint8_t *p, uint32_t n, const uint8_t *buf, uint32_t len)
{
    return p >= buf && p <= buf + len && n <= (uint32_t)(buf + len - p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > UINT32_MAX)
        return 0;
    int dlt = fuzz_dlts[data[0] % FUZZ_DLT_COUNT];
    const uint8_t *frame = data + 1;
    uint32_t len = (uint32_t)(size - 1);
    struct decoded_pkt out;
    struct decode_stats st = { 0 };
    int rc = decode_packet(dlt, frame, len, &out, &st);
    if (st.frames != 1)
        abort();
    if (rc == DEC_OK) {
        if (!fuzz_inside(out.l3, out.l3_caplen, frame, len) || out.l3_caplen > out.l3_len)
            abort();
        if (out.payload && !fuzz_inside(out.payload, out.payload_len, frame, len))
            abort();
        if (!out.payload && out.payload_len)
            abort();
        if (out.ip_version != 4 && out.ip_version != 6)
            abort();
    } else if (rc != DEC_NOT_IP && (rc >= 0 || -rc >= DECODE_ANOMALY_KINDS)) {
        abort();
    }
    /* the shortcut says what the whole decode says, or asks for it */
    struct decode_addrs a = { 0 };
    int fast = decode_addrs(dlt, frame, len, &a);
    size_t alen = a.ip_version == 6 ? 16 : 4;
    if (fast == DECODE_ADDRS_NONE && rc == DEC_OK)
        abort();
    if (fast == DECODE_ADDRS_IP && (rc != DEC_OK || a.ip_version != out.ip_version ||
                                    !fuzz_inside(a.src, (uint32_t)alen, frame, len) ||
                                    !fuzz_inside(a.dst, (uint32_t)alen, frame, len) ||
                                    memcmp(a.src, out.src, alen) != 0 || memcmp(a.dst, out.dst, alen) != 0))
        abort();
    return 0;
}
