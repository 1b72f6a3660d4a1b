/* fuzz_sip.c - libFuzzer target for dissectors/sip.c and sdp.c: bounds, printable output, UDP/TCP agreement, stream split-invariance (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/sip.h"
#include "tests/fuzz/fuzz_util.h"

/* Input layout: byte 0 = seed of the chunking; the rest is a datagram, and
 * also the bytes of one TCP direction. */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_sip_sdp(uint64_t *h, const struct sdp_info *s)
{
    char ep[SDP_ENDPOINT_TEXT_MAX];
    if (s->media_n > SDP_MEDIA_MAX)
        abort();
    for (uint8_t i = 0; i < s->media_n; i++) {
        const struct sdp_media *m = &s->media[i];
        if (m->fmt_n > SDP_FMT_MAX || m->rtpmap_n > SDP_RTPMAP_MAX || m->dir > SDP_DIR_INACTIVE ||
            (m->addr.family != 0 && m->addr.family != 4 && m->addr.family != 6))
            abort();
        fuzz_text_mix(h, m->type, sizeof(m->type));
        fuzz_text_mix(h, m->proto, sizeof(m->proto));
        for (uint8_t k = 0; k < m->rtpmap_n; k++)
            fuzz_text_mix(h, m->rtpmap[k].name, sizeof(m->rtpmap[k].name));
        const char *codec = sdp_media_codec(m, NULL);
        if (codec)
            fuzz_text_mix(h, codec, SDP_CODEC_MAX);
        int n = sdp_endpoint_format(&m->addr, m->port, ep, sizeof(ep));
        if ((n < 0) != (m->addr.family == 0))
            abort();
        *h = *h * 31 + m->port + m->fmt_n;
    }
}

/* Digest of one message; aborts on a broken invariant. */
static uint64_t fuzz_sip_digest(const struct sip_msg *m)
{
    uint64_t h = 1469598103934665603u;
    fuzz_text_mix(&h, m->method_name, sizeof(m->method_name));
    fuzz_text_mix(&h, m->ruri, sizeof(m->ruri));
    fuzz_text_mix(&h, m->call_id, sizeof(m->call_id));
    fuzz_text_mix(&h, m->from.display, sizeof(m->from.display));
    fuzz_text_mix(&h, m->from.uri, sizeof(m->from.uri));
    fuzz_text_mix(&h, m->from.tag, sizeof(m->from.tag));
    fuzz_text_mix(&h, m->to.display, sizeof(m->to.display));
    fuzz_text_mix(&h, m->to.uri, sizeof(m->to.uri));
    fuzz_text_mix(&h, m->to.tag, sizeof(m->to.tag));
    fuzz_text_mix(&h, m->cseq_method_name, sizeof(m->cseq_method_name));
    if (m->is_request ? m->status != 0 : (m->status < 100 || m->status > 699))
        abort();
    if (m->method >= SIP_M_COUNT || m->cseq_method >= SIP_M_COUNT || !sip_method_name(m->method))
        abort();
    if (m->has_sdp)
        fuzz_sip_sdp(&h, &m->sdp);
    return h * 31 + m->status + m->cseq + m->body_len * 7 + m->body_cut + m->head_len * 13;
}

struct fuzz_sip_sum {
    uint64_t n, h;
};

static void fuzz_sip_on_msg(void *arg, const struct sip_msg *m)
{
    struct fuzz_sip_sum *s = arg;
    if (m->head_len + (uint64_t)m->body_len > SIP_STREAM_BUF)
        abort();
    s->n++;
    s->h = s->h * 1099511628211u ^ fuzz_sip_digest(m);
}

/* Feeds d whole, then in pieces from seed: both must deliver the same. */
static void fuzz_sip_stream(const uint8_t *d, size_t n, unsigned seed)
{
    static struct sip_stream a, b;
    struct fuzz_sip_sum sa = { 0, 0 }, sb = { 0, 0 };
    sip_stream_init(&a);
    sip_stream_init(&b);
    int ra = sip_stream_feed(&a, d, n, fuzz_sip_on_msg, &sa);
    int rb = DISSECT_OK;
    for (size_t off = 0; off < n;) {
        size_t k = fuzz_chunk_next(&seed, n - off, 97);
        if (sip_stream_feed(&b, d + off, k, fuzz_sip_on_msg, &sb) == DISSECT_MALFORMED)
            rb = DISSECT_MALFORMED;
        off += k;
    }
    if (ra != rb || sa.n != sb.n || sa.h != sb.h || a.dead != b.dead)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct sip_msg u, t;
    static struct sdp_info sdp;
    if (size < 1)
        return 0;
    const uint8_t *d = data + 1;
    size_t n = size - 1;
    int ru = sip_parse(d, n, SIP_UDP, &u);
    int rt = sip_parse(d, n, SIP_TCP, &t);
    if (ru == DISSECT_OK) {
        fuzz_sip_digest(&u);
        if ((uint64_t)u.head_len + u.body_len > n)
            abort();
    }
    if (rt == DISSECT_OK) {
        /* a whole TCP message is the same message as a datagram of its bytes */
        size_t total = t.head_len + t.body_len;
        if (total > n || sip_parse(d, total, SIP_UDP, &u) != DISSECT_OK ||
            fuzz_sip_digest(&u) != fuzz_sip_digest(&t))
            abort();
    }
    /* the transports differ only in the body: the same bytes are SIP or not for both */
    if ((ru == DISSECT_MALFORMED) != (rt == DISSECT_MALFORMED) ||
        (ru == DISSECT_NEED_MORE && rt != DISSECT_NEED_MORE))
        abort();
    if (sdp_parse(d, n, &sdp) == DISSECT_OK) {
        uint64_t h = 0;
        fuzz_sip_sdp(&h, &sdp);
    }
    fuzz_sip_stream(d, n, data[0]);
    return 0;
}
