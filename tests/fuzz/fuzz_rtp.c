/* fuzz_rtp.c - libFuzzer target for dissectors/rtp.c: RTP/RTCP header bounds, and the loss/jitter state over any packet sequence (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/rtp.h"

/* Input: parsed whole as one RTP packet and as one RTCP compound; then read
 * as 8-byte records (seq 2, timestamp step 2, arrival step 2, ssrc 1,
 * payload type 1) fed to one stream. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_RTP_REC 8

static void fuzz_rtp_headers(const uint8_t *data, size_t size)
{
    struct rtp_hdr h;
    struct rtcp_info r;
    if (rtp_parse(data, size, &h) == DISSECT_OK &&
        ((uint64_t)h.hdr_len + h.payload_len > size || h.hdr_len < RTP_HEADER_LEN || h.pt > 127 ||
         rtp_is_rtcp(data, size)))
        abort();
    if (rtcp_parse(data, size, &r) == DISSECT_OK &&
        (r.packets == 0 || r.first_pt < RTCP_PT_FIRST || r.first_pt > RTCP_PT_LAST || size % 4 != 0))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rtp_stream s;
    uint32_t ts = 0;
    int64_t t = 0;
    uint64_t fed = 0;

    fuzz_rtp_headers(data, size);
    rtp_stream_init(&s);
    for (size_t off = 0; off + FUZZ_RTP_REC <= size; off += FUZZ_RTP_REC) {
        const uint8_t *r = data + off;
        uint8_t b[RTP_HEADER_LEN];
        struct rtp_hdr h;
        ts += (uint32_t)(r[2] << 8 | r[3]) * 16u;
        t += (int64_t)(int16_t)(r[4] << 8 | r[5]) * 977;     /* steps of ~1 ms, back too */
        b[0] = 0x80;
        b[1] = r[7] & 0x7f;
        b[2] = r[0];
        b[3] = r[1];
        for (int i = 0; i < 4; i++) {
            b[4 + i] = (uint8_t)(ts >> (24 - 8 * i));
            b[8 + i] = i == 3 ? r[6] & 3 : 0;
        }
        if (rtp_parse(b, sizeof(b), &h) != DISSECT_OK)
            continue;
        uint32_t clock = r[6] & 0x80 ? 0 : rtp_pt_clock(h.pt) ? rtp_pt_clock(h.pt) : 8000;
        int64_t at = !(r[6] & 0x40) ? t : t >= 0 ? INT64_MAX - t : INT64_MIN - t;   /* near the ends */
        int c = rtp_stream_update(&s, &h, at, clock);
        fed++;
        if ((c != 0 && c != 1) || rtp_stream_packets(&s) != fed ||
            rtp_stream_jitter_us(&s) > ((uint64_t)1 << 40) ||
            rtp_stream_expected(&s) > ((uint64_t)fed << 16) + 65536 ||
            rtp_stream_lost(&s) > ((uint64_t)fed << 16) + 65536)
            abort();
    }
    return 0;
}
