/* rtp.c - RTP/RTCP header parsers, static payload types, RFC 3550 loss and jitter per direction (pure code, any capture thread). */
#include <string.h>

#include "dissectors/rtp.h"

#define RTP_CSRC_LEN          4
#define RTP_EXT_HLEN          4        /* profile-defined 16 bits + length in words */
#define RTP_WORD              4
#define RTP_PT_MASK           0x7f
#define RTP_PT_STATIC_END     96       /* 96-127 are dynamic */
#define RTP_SEQ_MOD           (1u << 16)
#define RTP_MAX_DROPOUT       3000
#define RTP_MAX_MISORDER      100
#define RTP_MIN_SEQUENTIAL    2
#define RTP_US_PER_S          1000000
/* Arrival times are clamped to +-2^61 us (their difference then fits) and
 * a transit difference to 2^40 us (about 12 days), so the jitter
 * arithmetic cannot overflow whatever the clock says. */
#define RTP_T_MAX_US          ((int64_t)1 << 61)
#define RTP_D_MAX_US          ((int64_t)1 << 40)

#define RTCP_SR_INFO_LEN      20
#define RTCP_RB_LEN           24
#define RTCP_COUNT_MASK       0x1f

/* flags of struct rtp_stream */
#define RTP_F_SOURCE          1u       /* an SSRC was seen */
#define RTP_F_TRANSIT         2u       /* last_arrival_us / last_ts are set */

int rtp_is_rtcp(const uint8_t *p, size_t len)
{
    return len >= 2 && p[1] >= RTCP_PT_FIRST && p[1] <= RTCP_PT_LAST;
}

int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *out)
{
    struct dissect_cur c;

    memset(out, 0, sizeof(*out));
    if (len < RTP_HEADER_LEN || p[0] >> 6 != RTP_VERSION || rtp_is_rtcp(p, len))
        return DISSECT_MALFORMED;
    dissect_cur_init(&c, p, len);
    uint8_t b0 = dissect_u8(&c), b1 = dissect_u8(&c);
    out->padding = b0 >> 5 & 1;
    out->extension = b0 >> 4 & 1;
    out->csrc_count = b0 & 0x0f;
    out->marker = b1 >> 7;
    out->pt = b1 & RTP_PT_MASK;
    out->seq = dissect_be16(&c);
    out->ts = dissect_be32(&c);
    out->ssrc = dissect_be32(&c);
    dissect_skip(&c, (size_t)out->csrc_count * RTP_CSRC_LEN);
    if (out->extension) {
        dissect_skip(&c, 2);
        dissect_skip(&c, (size_t)dissect_be16(&c) * RTP_WORD);
    }
    if (c.bad)
        return DISSECT_MALFORMED;
    out->hdr_len = (uint32_t)c.off;
    size_t pad = out->padding ? p[len - 1] : 0;
    if (out->padding && (pad == 0 || pad > len - c.off))
        return DISSECT_MALFORMED;
    out->payload_len = (uint32_t)(len - c.off - pad);
    return DISSECT_OK;
}

/* First SR or RR of a compound: sender SSRC, sender info, first report block. */
static void rtcp_report(struct dissect_cur *c, uint8_t pt, uint8_t count, struct rtcp_info *out)
{
    out->ssrc = dissect_be32(c);
    if (pt == RTCP_PT_SR) {
        out->has_sr = 1;
        dissect_skip(c, 12);                /* NTP timestamp, RTP timestamp */
        out->sr_packets = dissect_be32(c);
        out->sr_octets = dissect_be32(c);
    }
    if (count == 0)
        return;
    out->has_report = 1;
    out->rb_ssrc = dissect_be32(c);
    out->rb_fraction_lost = dissect_u8(c);
    uint32_t cum = dissect_be24(c);
    out->rb_cum_lost = (int32_t)(cum ^ 0x800000u) - 0x800000;   /* sign-extend 24 bits */
    out->rb_ext_seq = dissect_be32(c);
    out->rb_jitter = dissect_be32(c);
}

int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_info *out)
{
    size_t off = 0;
    int seen_report = 0;

    memset(out, 0, sizeof(*out));
    if (len < RTP_WORD)
        return DISSECT_MALFORMED;
    while (off < len) {
        if (len - off < RTP_WORD)
            return DISSECT_MALFORMED;
        uint8_t b0 = p[off], pt = p[off + 1];
        size_t plen = ((size_t)(p[off + 2] << 8 | p[off + 3]) + 1) * RTP_WORD;
        uint8_t count = b0 & RTCP_COUNT_MASK;
        if (b0 >> 6 != RTP_VERSION || pt < RTCP_PT_FIRST || pt > RTCP_PT_LAST || plen > len - off)
            return DISSECT_MALFORMED;
        if ((b0 & 0x20) && off + plen != len)
            return DISSECT_MALFORMED;           /* padding only on the last packet */
        if (pt == RTCP_PT_SR || pt == RTCP_PT_RR) {
            size_t need = RTCP_HEADER_LEN + (pt == RTCP_PT_SR ? RTCP_SR_INFO_LEN : 0) +
                          (size_t)count * RTCP_RB_LEN;
            if (need > plen)
                return DISSECT_MALFORMED;
            if (!seen_report) {
                struct dissect_cur c;
                seen_report = 1;
                dissect_cur_init(&c, p + off + RTP_WORD, plen - RTP_WORD);
                rtcp_report(&c, pt, count, out);
            }
        }
        if (pt == RTCP_PT_BYE)
            out->has_bye = 1;
        if (out->packets == 0)
            out->first_pt = pt;
        if (out->packets < UINT8_MAX)
            out->packets++;
        off += plen;
    }
    return DISSECT_OK;
}

/* RFC 3551 tables 4 and 5. */
static const struct {
    const char *name;
    uint32_t clock;
} rtp_static_pt[RTP_PT_STATIC_END] = {
    [0] = { "PCMU", 8000 },   [3] = { "GSM", 8000 },     [4] = { "G723", 8000 },
    [5] = { "DVI4", 8000 },   [6] = { "DVI4", 16000 },   [7] = { "LPC", 8000 },
    [8] = { "PCMA", 8000 },   [9] = { "G722", 8000 },    [10] = { "L16", 44100 },
    [11] = { "L16", 44100 },  [12] = { "QCELP", 8000 },  [13] = { "CN", 8000 },
    [14] = { "MPA", 90000 },  [15] = { "G728", 8000 },   [16] = { "DVI4", 11025 },
    [17] = { "DVI4", 22050 }, [18] = { "G729", 8000 },   [25] = { "CelB", 90000 },
    [26] = { "JPEG", 90000 }, [28] = { "nv", 90000 },    [31] = { "H261", 90000 },
    [32] = { "MPV", 90000 },  [33] = { "MP2T", 90000 },  [34] = { "H263", 90000 },
};

uint32_t rtp_pt_clock(uint8_t pt)
{
    return pt < RTP_PT_STATIC_END ? rtp_static_pt[pt].clock : 0;
}

const char *rtp_pt_name(uint8_t pt)
{
    return pt < RTP_PT_STATIC_END ? rtp_static_pt[pt].name : NULL;
}

void rtp_stream_init(struct rtp_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* A.1 init_seq. */
static void rtp_seq_init(struct rtp_stream *s, uint16_t seq)
{
    s->base_seq = seq;
    s->max_seq = seq;
    s->bad_seq = RTP_SEQ_MOD + 1;       /* so seq == bad_seq is false */
    s->cycles = 0;
    s->received = 0;
}

/* Loss of the current source, clamped at 0. */
static uint64_t rtp_source_lost(const struct rtp_stream *s)
{
    uint64_t exp = rtp_stream_expected(s);
    return exp > s->received ? exp - s->received : 0;
}

/* A.1 update_seq: 1 when seq is counted, 0 when held. A restart keeps the
 * loss counted so far. */
static int rtp_seq_update(struct rtp_stream *s, uint16_t seq)
{
    uint16_t udelta = (uint16_t)(seq - s->max_seq);

    if (s->probation) {
        if (seq == (uint16_t)(s->max_seq + 1)) {
            s->probation--;
            s->max_seq = seq;
            if (s->probation == 0) {
                rtp_seq_init(s, seq);
                s->received++;
                return 1;
            }
        } else {
            s->probation = RTP_MIN_SEQUENTIAL - 1;
            s->max_seq = seq;
        }
        return 0;
    }
    if (udelta < RTP_MAX_DROPOUT) {
        if (seq < s->max_seq)
            s->cycles += RTP_SEQ_MOD;
        s->max_seq = seq;
    } else if (udelta <= RTP_SEQ_MOD - RTP_MAX_MISORDER) {
        if (seq != s->bad_seq) {
            s->bad_seq = (seq + 1u) & (RTP_SEQ_MOD - 1);
            return 0;
        }
        s->lost_before += rtp_source_lost(s);
        rtp_seq_init(s, seq);           /* two in sequence after a jump: a restart */
    }
    /* else a duplicate or a late packet: counted, max_seq kept */
    s->received++;
    return 1;
}

/* A new SSRC: keeps what the old source lost and starts the probation. */
static void rtp_source_new(struct rtp_stream *s, const struct rtp_hdr *h)
{
    if (s->flags & RTP_F_SOURCE) {
        s->lost_before += rtp_source_lost(s);
        s->ssrc_changes++;
    }
    rtp_seq_init(s, h->seq);
    s->max_seq = (uint16_t)(h->seq - 1);
    s->probation = RTP_MIN_SEQUENTIAL;
    s->ssrc = h->ssrc;
    s->flags = (uint8_t)((s->flags & ~RTP_F_TRANSIT) | RTP_F_SOURCE);
}

/* A.8: D(i-1,i) = (Rj - Ri) - (Sj - Si), J += (|D| - J) / 16, in 1/16 us. */
static void rtp_jitter_update(struct rtp_stream *s, uint32_t ts, int64_t arrival_us, uint32_t clock_hz)
{
    if (arrival_us > RTP_T_MAX_US || arrival_us < -RTP_T_MAX_US)
        arrival_us = arrival_us > 0 ? RTP_T_MAX_US : -RTP_T_MAX_US;
    if (clock_hz && (s->flags & RTP_F_TRANSIT)) {
        int64_t dr = arrival_us - s->last_arrival_us;
        int64_t dts = (int32_t)(ts - s->last_ts);           /* wraps at 2^32 */
        int64_t ds = dts * RTP_US_PER_S / (int64_t)clock_hz;
        if (dr > RTP_D_MAX_US || dr < -RTP_D_MAX_US)
            dr = dr > 0 ? RTP_D_MAX_US : -RTP_D_MAX_US;
        int64_t d = dr - ds;
        if (d < 0)
            d = -d;
        if (d > RTP_D_MAX_US)
            d = RTP_D_MAX_US;
        s->jitter16 = s->jitter16 + (uint64_t)d - ((s->jitter16 + 8) >> 4);
    }
    s->last_arrival_us = arrival_us;
    s->last_ts = ts;
    s->flags |= RTP_F_TRANSIT;
}

int rtp_stream_update(struct rtp_stream *s, const struct rtp_hdr *h, int64_t arrival_us,
                      uint32_t clock_hz)
{
    s->pkts++;
    if (!(s->flags & RTP_F_SOURCE) || h->ssrc != s->ssrc)
        rtp_source_new(s, h);
    rtp_jitter_update(s, h->ts, arrival_us, clock_hz);
    return rtp_seq_update(s, h->seq);
}

uint64_t rtp_stream_expected(const struct rtp_stream *s)
{
    if (!(s->flags & RTP_F_SOURCE) || s->probation)
        return 0;
    return (uint64_t)s->cycles + s->max_seq - s->base_seq + 1;
}

uint64_t rtp_stream_lost(const struct rtp_stream *s)
{
    return s->lost_before + rtp_source_lost(s);
}

uint64_t rtp_stream_jitter_us(const struct rtp_stream *s)
{
    return (s->jitter16 + 8) >> 4;
}

uint64_t rtp_stream_packets(const struct rtp_stream *s)
{
    return s->pkts;
}
