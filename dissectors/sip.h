/* sip.h - SIP (RFC 3261) message parser over UDP datagrams and TCP streams, with the SDP body (pure code, any thread). */
#ifndef FC_SIP_H
#define FC_SIP_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"
#include "dissectors/sdp.h"

#define SIP_TEXT_MAX      256     /* Call-ID, URIs: escaped text kept, NUL included */
#define SIP_NAME_MAX      128     /* display names and tags */
#define SIP_METHOD_MAX    32
#define SIP_VALUE_MAX     1024    /* bytes of one (unfolded) header value looked at */
#define SIP_HEAD_MAX      65536   /* a head longer than this is not SIP */
#define SIP_STREAM_BUF    8192    /* bytes a TCP stream buffers: a head must fit */
#define SIP_CLEN_MAX      (1u << 24)

/* How a message's end is found. */
enum sip_transport {
    SIP_UDP = 0,                  /* a datagram: the message is all of it */
    SIP_TCP = 1,                  /* a stream: head, then Content-Length bytes */
};

enum sip_method {
    SIP_M_OTHER = 0,              /* an extension method: see method_name */
    SIP_M_INVITE, SIP_M_ACK, SIP_M_BYE, SIP_M_CANCEL, SIP_M_REGISTER, SIP_M_OPTIONS,
    SIP_M_PRACK, SIP_M_SUBSCRIBE, SIP_M_NOTIFY, SIP_M_PUBLISH, SIP_M_INFO, SIP_M_REFER,
    SIP_M_MESSAGE, SIP_M_UPDATE,
    SIP_M_COUNT,
};

/* From or To: name-addr or addr-spec, and the tag parameter. */
struct sip_party {
    char display[SIP_NAME_MAX];   /* display name, quotes removed; "" when none */
    char uri[SIP_TEXT_MAX];       /* "sip:alice@example.com" */
    char tag[SIP_NAME_MAX];
};

/* Bits of sip_msg.cut: a text field that did not fit its buffer. */
#define SIP_CUT_CALL_ID   1u
#define SIP_CUT_FROM      2u
#define SIP_CUT_TO        4u
#define SIP_CUT_OTHER     8u

/* One SIP message. Strings are NUL-terminated; bytes outside 0x20..0x7e are
 * written "\xHH" (not reversible). Only the first of a repeated header
 * counts. Compact forms (i f t l c m v) are the same headers. */
struct sip_msg {
    uint8_t is_request;
    uint8_t method;               /* enum sip_method: a request's, or a response's CSeq method */
    char method_name[SIP_METHOD_MAX];   /* same, as written */
    char ruri[SIP_TEXT_MAX];      /* request-URI; "" for a response */
    uint16_t status;              /* responses: 100-699; requests: 0 */
    char call_id[SIP_TEXT_MAX];   /* "" when absent */
    struct sip_party from, to;
    uint32_t cseq;                /* CSeq number; 0 when absent or unreadable */
    uint8_t cseq_method;          /* enum sip_method */
    char cseq_method_name[SIP_METHOD_MAX];
    uint8_t cut;                  /* SIP_CUT_* bits */
    uint8_t body_cut;             /* fewer body bytes than Content-Length said */
    uint8_t has_sdp;              /* the body is SDP and sdp holds it */
    int64_t content_length;       /* -1 when absent */
    uint32_t head_len;            /* start line to the empty line, included */
    uint32_t body_len;            /* body bytes looked at */
    struct sdp_info sdp;
};

/* Parses one SIP message at the start of p[0..len).
 * transport SIP_UDP: the datagram is the message; the body is
 *   Content-Length bytes, or the rest when the header is absent; a body
 *   shorter than Content-Length is parsed as it is and body_cut set.
 * transport SIP_TCP: the body is Content-Length bytes (none when absent);
 *   the message ends there, at head_len + content_length.
 * The start line must be "METHOD SP URI SP SIP/d.d" or "SIP/d.d SP DDD
 * [SP reason]"; lines end in CRLF or LF; a line starting with a space or a
 * tab continues the header before it (folding). A body whose Content-Type
 * is application/sdp (or that starts with "v=" without a Content-Type) is
 * parsed into sdp.
 * Returns DISSECT_OK; DISSECT_NEED_MORE when the head has no empty line
 * yet (or, SIP_TCP, the body is not all there: head_len is then set);
 * DISSECT_MALFORMED when the start line is not SIP, the head is longer
 * than SIP_HEAD_MAX, or Content-Length is not a number below SIP_CLEN_MAX.
 * After NEED_MORE the start line's fields and those of the header lines
 * wholly before the cut are filled (so a datagram cut by a capture's snap
 * length still gives its Call-ID when that line made it); after MALFORMED
 * the fields of *out are unspecified.
 * Never reads past p + len; no allocation; any thread. */
int sip_parse(const uint8_t *p, size_t len, enum sip_transport transport, struct sip_msg *out);

/* 1 when p[0..len) is a keep-alive, not a message: nothing but CR, LF,
 * spaces and NULs (RFC 5626 CRLF pings, and the blanks some phones send),
 * at least one byte. Any thread. */
int sip_is_keepalive(const uint8_t *p, size_t len);

/* enum sip_method of a method name (case-sensitive, as RFC 3261 says),
 * SIP_M_OTHER when unknown. Any thread. */
uint8_t sip_method_of(const char *name, size_t len);

/* Name of an enum sip_method ("INVITE"...), "OTHER" for SIP_M_OTHER or an
 * out-of-range value. Returns a static string. Any thread. */
const char *sip_method_name(uint8_t method);

/* ---- SIP over TCP: messages framed by Content-Length ---- */

/* One direction of a TCP connection. All-zero (or sip_stream_init) is the
 * start state. About 8 KiB; no allocation. Owned by whoever owns the flow;
 * not thread-safe. Fields are private except the counters. */
struct sip_stream {
    uint8_t buf[SIP_STREAM_BUF];
    uint32_t len;                 /* bytes in buf */
    uint32_t skip;                /* body bytes of an oversized message still to drop */
    uint8_t dead;
    uint64_t msgs;                /* messages delivered */
    uint64_t cut;                 /* messages delivered with body_cut */
};

typedef void (*sip_msg_cb)(void *arg, const struct sip_msg *m);

void sip_stream_init(struct sip_stream *s);

/* Feeds the next in-order bytes of one direction. Calls on_msg once per
 * complete message, with a struct valid during the call; CRLF keep-alives
 * between messages are skipped. A message whose body does not fit
 * SIP_STREAM_BUF is delivered with what fits (body_cut set) and the rest of
 * its body is skipped. Bytes that are not SIP (sip_parse MALFORMED, or a
 * head that does not fit SIP_STREAM_BUF) make the stream dead: that call
 * returns DISSECT_MALFORMED, messages completed before in the same call
 * were delivered, and later calls return DISSECT_OK without looking at
 * their bytes. Otherwise returns DISSECT_OK. The thread that owns s. */
int sip_stream_feed(struct sip_stream *s, const uint8_t *data, size_t len,
                    sip_msg_cb on_msg, void *arg);

#endif
