/* dns.h - DNS message header + first question parser, and DNS-over-TCP message reassembler (pure code, any thread). */
#ifndef FC_DNS_H
#define FC_DNS_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

#define DNS_HEADER_LEN     12
#define DNS_NAME_WIRE_MAX  255    /* RFC 1035: a name is at most 255 bytes on the wire */
/* Text form of the longest name: each label byte may take 4 characters
 * ("\DDD") and the labels are joined by dots. */
#define DNS_QNAME_TEXT_MAX 1024
#define DNS_MAX_HOPS       64     /* compression pointers followed in one name */
#define DNS_TYPE_NAME_MAX  12     /* "TYPE65535" + NUL, rounded up */
#define DNS_RCODE_NAME_MAX 12     /* "YXDOMAIN", "RCODE255" + NUL */

/* Header and first question of one DNS message. */
struct dns_msg {
    uint16_t txid;
    uint8_t is_response;        /* QR bit */
    uint8_t opcode;             /* 0 QUERY, 4 NOTIFY, 5 UPDATE... */
    uint8_t rcode;              /* header RCODE (4 bits; no EDNS extension) */
    uint8_t truncated;          /* TC bit */
    uint16_t qdcount, ancount;
    /* First question's name: lowercase, no final dot, "" for the root and when
     * qdcount is 0. A byte outside '!'..'~' is written "\DDD" (decimal, as dig
     * does), a '.' inside a label "\." and a backslash "\\". */
    char qname[DNS_QNAME_TEXT_MAX];
    uint16_t qtype;             /* 0 when qdcount is 0 */
    uint16_t qclass;            /* 0 when qdcount is 0 */
};

/* Parses the header and the first question of the DNS message p[0..len)
 * (a UDP payload, or one message from dns_tcp_feed without its length
 * prefix). Compression pointers in the name are followed, strictly backwards
 * and at most DNS_MAX_HOPS times; a name longer than 255 bytes on the wire,
 * a reserved label type (0x40, 0x80), or a message cut before the end of the
 * first question is DISSECT_MALFORMED. Answers are not looked at, so a
 * message cut after its first question (a 512-byte TCP prefix) parses.
 * Returns DISSECT_OK or DISSECT_MALFORMED (never NEED_MORE); after
 * MALFORMED *out is unspecified. Never reads past p + len; no allocation;
 * any thread. */
int dns_parse(const uint8_t *p, size_t len, struct dns_msg *out);

/* Mnemonic of a query type ("A", "AAAA", "HTTPS"...), else "TYPE<n>"
 * (RFC 3597) written into buf. Returns a static string or buf; never NULL.
 * Any thread. */
const char *dns_qtype_name(uint16_t t, char buf[DNS_TYPE_NAME_MAX]);

/* Mnemonic of a response code ("NOERROR", "NXDOMAIN"...), else "RCODE<n>"
 * written into buf. Returns a static string or buf; never NULL. Any thread. */
const char *dns_rcode_name(uint8_t rc, char buf[DNS_RCODE_NAME_MAX]);

/* ---- DNS over TCP (RFC 1035 4.2.2: 2-byte length, then the message) ---- */

/* Bytes of a message kept for the callback: enough for the header and any
 * first question (12 + 255 + 4); the rest of a longer message is skipped. */
#define DNS_TCP_KEEP 512

/* One direction of a TCP connection. All-zero (or dns_tcp_stream_init) is
 * the start state. Owned by whoever owns the flow; not thread-safe. */
struct dns_tcp_stream {
    uint8_t buf[DNS_TCP_KEEP];  /* first bytes of the current message */
    uint32_t len;               /* bytes in buf */
    uint32_t msg_len;           /* length of the current message (from its prefix) */
    uint32_t msg_have;          /* bytes of the current message seen so far */
    uint8_t pfx[2];             /* length prefix being read */
    uint8_t pfx_have;           /* 0, 1 or 2 (2 = in the message body) */
    uint8_t dead;               /* set after a malformed prefix; input ignored */
    uint64_t msgs;              /* messages delivered */
};

/* Callback for one complete message: msg[0..mlen) are its first
 * min(length, DNS_TCP_KEEP) bytes, valid only during the call. */
typedef void (*dns_tcp_msg_cb)(void *arg, const uint8_t *msg, size_t mlen);

/* Resets s to the start state. */
void dns_tcp_stream_init(struct dns_tcp_stream *s);

/* Feeds the next in-order payload bytes of one direction. Calls on_msg once
 * per message completed by these bytes (several per call, or none while a
 * message is split across segments), in order. A zero length prefix is
 * malformed: the stream then goes dead, this call returns DISSECT_MALFORMED
 * and later calls return DISSECT_OK without looking at their bytes (messages
 * completed before the bad prefix were delivered). Otherwise returns
 * DISSECT_OK. Retransmitted or out-of-order bytes are not detected: they only
 * desynchronise the framing (at worst junk messages or a dead stream), never
 * memory. At most DNS_TCP_KEEP bytes are buffered; no allocation. The thread
 * that owns s. */
int dns_tcp_feed(struct dns_tcp_stream *s, const uint8_t *data, size_t len,
                 dns_tcp_msg_cb on_msg, void *arg);

#endif
