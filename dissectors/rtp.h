/* rtp.h - RTP/RTCP header parsers and a per-direction media-quality state: loss and jitter (pure code, any thread). */
#ifndef FC_RTP_H
#define FC_RTP_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define RTP_HEADER_LEN    12
#define RTP_VERSION       2
#define RTCP_HEADER_LEN   8        /* common header + sender SSRC */
/* RTCP packet types (RFC 3550, 4585, 3611) */
#define RTCP_PT_SR        200
#define RTCP_PT_RR        201
#define RTCP_PT_SDES      202
#define RTCP_PT_BYE       203
#define RTCP_PT_APP       204
/* Second-byte values that are RTCP, not RTP (RFC 5761 section 4: RTP
 * payload types 64-95 with the marker bit would collide with them). */
#define RTCP_PT_FIRST     192
#define RTCP_PT_LAST      223

/* Fixed part of one RTP packet. */
struct rtp_hdr {
    uint8_t padding, extension, csrc_count, marker;
    uint8_t pt;                 /* payload type, 0-127 */
    uint16_t seq;
    uint32_t ts;                /* media timestamp, in units of the payload's clock */
    uint32_t ssrc;
    uint32_t hdr_len;           /* fixed header + CSRCs + extension */
    uint32_t payload_len;       /* bytes after the header, padding removed */
};

/* Parses the RTP header at p[0..len) (a UDP payload). DISSECT_MALFORMED
 * when len < 12, the version is not 2, the second byte is an RTCP packet
 * type (192-223, RFC 5761), or the CSRC list, the header extension or the
 * padding count run past len (a padding count of 0 too). Returns DISSECT_OK
 * or DISSECT_MALFORMED; after MALFORMED *out is unspecified. Never reads
 * past p + len; no allocation; any thread. */
int rtp_parse(const uint8_t *p, size_t len, struct rtp_hdr *out);

/* What flowcached takes from one RTCP compound packet. */
struct rtcp_info {
    uint8_t packets;            /* RTCP packets in the compound */
    uint8_t first_pt;           /* packet type of the first one (200 SR, 201 RR...) */
    uint8_t has_bye;            /* a BYE is in the compound */
    uint32_t ssrc;              /* sender SSRC of the first SR or RR (0 if none) */
    uint8_t has_sr;             /* sender info of the first SR: */
    uint32_t sr_packets, sr_octets;
    uint8_t has_report;         /* first report block of the first SR or RR: */
    uint32_t rb_ssrc;           /* source it reports on */
    uint8_t rb_fraction_lost;   /* lost since the last report, 1/256 units */
    int32_t rb_cum_lost;        /* 24-bit signed cumulative loss */
    uint32_t rb_ext_seq;        /* extended highest sequence number received */
    uint32_t rb_jitter;         /* interarrival jitter, timestamp units */
};

/* Parses the RTCP compound packet p[0..len). Every packet of it must have
 * version 2, a type in 192..223, and lengths that add up to len exactly (a
 * padding bit only on the last one); an SR or RR must hold its report
 * blocks. Any packet type may come first (reduced-size RTCP, RFC 5506).
 * Returns DISSECT_OK or DISSECT_MALFORMED; after MALFORMED *out is
 * unspecified. Never reads past p + len; no allocation; any thread. */
int rtcp_parse(const uint8_t *p, size_t len, struct rtcp_info *out);

/* 1 when the second byte of p[0..len) says RTCP (192..223, RFC 5761), so a
 * caller sharing one port between RTP and RTCP knows which parser to call;
 * 0 otherwise (also when len < 2). Any thread. */
int rtp_is_rtcp(const uint8_t *p, size_t len);

/* Clock rate in Hz of a static RTP payload type (RFC 3551 tables 4 and 5:
 * 8000 for PCMU 0, GSM 3, G723 4, PCMA 8, G722 9, G729 18...; 90000 for
 * video), or 0 for a dynamic (96-127) or unassigned type: the caller then
 * takes the rate from the SDP's rtpmap. Any thread. */
uint32_t rtp_pt_clock(uint8_t pt);

/* Encoding name of a static payload type ("PCMU", "PCMA", "G729"...), or
 * NULL when it has none. Returns a static string. Any thread. */
const char *rtp_pt_name(uint8_t pt);

/* ---- Media quality of one direction of an RTP flow ---- */

/* RFC 3550 appendix A.1 (sequence validation with probation, 16-bit wrap,
 * restart after a large jump) and A.8 (interarrival jitter), for the
 * packets of one direction. All-zero (or rtp_stream_init) is the start
 * state. 64 bytes, no allocation. Owned by whoever owns the flow; not
 * thread-safe. Fields are private; read them through the functions below. */
struct rtp_stream {
    uint64_t pkts;              /* valid RTP headers fed */
    uint64_t lost_before;       /* loss of the sources this direction had before */
    int64_t last_arrival_us;    /* arrival of the packet the jitter compares with */
    uint64_t jitter16;          /* jitter in 1/16 microseconds */
    uint32_t ssrc;
    uint32_t cycles;            /* sequence wraps, times 65536 */
    uint32_t base_seq, bad_seq;
    uint32_t received;          /* packets counted since base_seq */
    uint32_t last_ts;
    uint32_t ssrc_changes;
    uint16_t max_seq;
    uint8_t probation;
    uint8_t flags;
};

void rtp_stream_init(struct rtp_stream *s);

/* Accounts one packet (its header h, parsed by rtp_parse) that arrived at
 * arrival_us (capture time, microseconds). clock_hz is the payload's clock
 * rate (rtp_pt_clock, or the SDP's rtpmap); 0 leaves the jitter as it is.
 * A new SSRC starts a new source: the loss of the old one is kept, the
 * jitter estimate too, but the next packet is its new reference. A source
 * is counted once two packets arrived in sequence (A.1 probation); a jump
 * of more than 3000 forward or 100 back is taken for a restart when the
 * next packet follows it (the loss counted until then is kept). Returns 1 when the packet was counted in
 * sequence, 0 when it was held (probation, a jump being checked). No
 * allocation; the thread that owns s. */
int rtp_stream_update(struct rtp_stream *s, const struct rtp_hdr *h, int64_t arrival_us,
                      uint32_t clock_hz);

/* Packets lost so far: expected minus received (A.3) over every source of
 * the direction, 0 when duplicates make it negative. Any reader of s. */
uint64_t rtp_stream_lost(const struct rtp_stream *s);

/* Packets the sequence numbers say were sent to the current source (A.3
 * "expected"), 0 before a source passed its probation. Any reader of s. */
uint64_t rtp_stream_expected(const struct rtp_stream *s);

/* Current interarrival jitter in microseconds (A.8, rounded). Any reader of s. */
uint64_t rtp_stream_jitter_us(const struct rtp_stream *s);

/* RTP headers fed so far. Any reader of s. */
uint64_t rtp_stream_packets(const struct rtp_stream *s);

#endif
