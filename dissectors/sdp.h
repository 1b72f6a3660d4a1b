/* sdp.h - SDP (RFC 4566) body parser: connection addresses, media lines, rtpmap codecs (pure code, any thread). */
#ifndef FC_SDP_H
#define FC_SDP_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define SDP_MEDIA_MAX     4       /* m= lines kept; more are counted in media_dropped */
#define SDP_FMT_MAX       8       /* payload types kept of one m= line */
#define SDP_RTPMAP_MAX    8       /* a=rtpmap lines kept of one m= line */
#define SDP_CODEC_MAX     24      /* encoding name ("PCMA", "telephone-event"), NUL included */
#define SDP_TOKEN_MAX     24      /* media type and transport text, NUL included */
/* "[ipv6]:port" text of an endpoint, NUL included. */
#define SDP_ENDPOINT_TEXT_MAX 48

enum sdp_dir {
    SDP_DIR_SENDRECV = 0,         /* the default */
    SDP_DIR_SENDONLY,
    SDP_DIR_RECVONLY,
    SDP_DIR_INACTIVE,
};

/* An IN IP4 / IN IP6 address; family 0 when absent or not an address (a
 * host name, another network type). */
struct sdp_addr {
    uint8_t family;               /* 0, 4 or 6 */
    uint8_t ip[16];               /* network order; IPv4 in the first 4 bytes */
};

struct sdp_rtpmap {
    uint8_t pt;
    uint8_t channels;             /* 0 when not given */
    uint32_t clock;               /* Hz */
    char name[SDP_CODEC_MAX];     /* as written, escaped, cut to fit */
};

/* One m= line with what applies to it. */
struct sdp_media {
    char type[SDP_TOKEN_MAX];     /* "audio", "video", "image"... */
    char proto[SDP_TOKEN_MAX];    /* "RTP/AVP", "RTP/SAVP", "udptl"... */
    uint16_t port;                /* 0: the stream is refused or disabled */
    uint16_t nports;              /* from "port/n", else 1 */
    uint16_t rtcp_port;           /* a=rtcp (RFC 3605), else port + 1 (0 if port is 0) */
    uint8_t dir;                  /* enum sdp_dir: media-level, else session-level */
    uint8_t fmt_n;                /* payload types kept, in order of preference */
    uint8_t fmt[SDP_FMT_MAX];
    uint8_t rtpmap_n;
    struct sdp_rtpmap rtpmap[SDP_RTPMAP_MAX];
    struct sdp_addr addr;         /* media-level c=, else session-level c= */
    uint8_t addr_from_media;      /* addr came from a media-level c= */
};

/* What flowcached takes from one SDP body. */
struct sdp_info {
    struct sdp_addr session_addr; /* session-level c= */
    struct sdp_addr origin_addr;  /* o= address */
    uint8_t media_n;
    uint8_t media_dropped;        /* m= lines past SDP_MEDIA_MAX (saturates at 255) */
    struct sdp_media media[SDP_MEDIA_MAX];
};

/* Parses the SDP body p[0..len). Lines end in CRLF or LF; the first must be
 * "v=" or the body is DISSECT_MALFORMED. Other lines are "x=..." with a
 * lowercase letter (a line that is not is skipped, so a body cut in the
 * middle of a line loses only that line). Unknown lines and attributes
 * are skipped; a c= with a host name or an unparsable address leaves
 * family 0; an m= whose port is not a number is kept with port 0. Returns
 * DISSECT_OK or DISSECT_MALFORMED; after MALFORMED *out is unspecified.
 * Never reads past p + len; no allocation; any thread. */
int sdp_parse(const uint8_t *p, size_t len, struct sdp_info *out);

/* The codec of a media: the name of its first payload type from its
 * rtpmap, else the static name (rtp_pt_name), else NULL; *clock (may be
 * NULL) gets its clock rate, 0 when unknown. Returns a string inside m or
 * a static one. Any thread. */
const char *sdp_media_codec(const struct sdp_media *m, uint32_t *clock);

/* Clock rate of payload type pt on media m: its rtpmap's, else the static
 * one (rtp_pt_clock), else 0. Any thread. */
uint32_t sdp_media_clock(const struct sdp_media *m, uint8_t pt);

/* Writes "a.b.c.d:port" or "[v6]:port" into buf[cap] (cap >=
 * SDP_ENDPOINT_TEXT_MAX is always enough). Returns the length, or -1 when
 * the address is absent (family 0; buf is then ""). Any thread. */
int sdp_endpoint_format(const struct sdp_addr *a, uint16_t port, char *buf, size_t cap);

#endif
