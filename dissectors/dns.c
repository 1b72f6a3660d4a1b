/* dns.c - DNS header + first question parser and DNS-over-TCP reassembler (pure code, any capture thread). */
#include <stdio.h>
#include <string.h>

#include "dissectors/dns.h"

#define DNS_FLAG_QR          0x8000
#define DNS_FLAG_TC          0x0200
#define DNS_OPCODE_SHIFT     11
#define DNS_OPCODE_MASK      0x0F
#define DNS_RCODE_MASK       0x0F
#define DNS_LABEL_TYPE_MASK  0xC0
#define DNS_LABEL_NORMAL     0x00
#define DNS_LABEL_POINTER    0xC0
#define DNS_POINTER_MASK     0x3FFF
#define DNS_TCP_PREFIX_LEN   2

/* A name being written as text. */
struct dns_text {
    char *s;
    size_t cap, len;
};

/* Appends one label under the common escaping rule (dissect.h), ASCII
 * lowercased; a '.' inside the label is written "\\." so it cannot be read
 * as a separator. Returns 0, or -1 when it does not fit (cannot happen with
 * DNS_QNAME_TEXT_MAX: 255 wire bytes of at most 4 text bytes each). */
static int dns_text_label(struct dns_text *t, const uint8_t *l, size_t n)
{
    while (n) {
        const uint8_t *dot = memchr(l, '.', n);
        size_t k = dot ? (size_t)(dot - l) : n;
        if (dissect_escape_append(t->s, t->cap, &t->len, l, k, 1) < 0)
            return -1;
        if (!dot)
            break;
        if (t->len + 2 >= t->cap)
            return -1;
        t->s[t->len++] = '\\';
        t->s[t->len++] = '.';
        t->s[t->len] = '\0';
        l += k + 1;
        n -= k + 1;
    }
    return 0;
}

/* Reads the name at c->off of the message c, writing its text into out.
 * Leaves c->off after the name as it appears at that place (after the
 * first pointer when there is one). Returns 0 or DISSECT_MALFORMED. */
static int dns_read_name(struct dissect_cur *c, char *out, size_t cap)
{
    struct dns_text t = { out, cap, 0 };
    size_t pos = c->off;        /* where the next label is read */
    size_t end = 0;             /* where the name ends in place, once known */
    size_t limit = pos;         /* a pointer must go strictly before this */
    unsigned wire = 1, hops = 0;    /* wire length counts the final 0 */

    out[0] = '\0';
    for (;;) {
        if (pos >= c->len)
            return DISSECT_MALFORMED;
        uint8_t l = c->p[pos];
        if ((l & DNS_LABEL_TYPE_MASK) == DNS_LABEL_POINTER) {
            if (pos + 1 >= c->len || ++hops > DNS_MAX_HOPS)
                return DISSECT_MALFORMED;
            size_t target = ((size_t)l << 8 | c->p[pos + 1]) & DNS_POINTER_MASK;
            if (target >= limit)
                return DISSECT_MALFORMED;       /* forward or self: loop-safe */
            if (!end)
                end = pos + 2;
            limit = target;
            pos = target;
            continue;
        }
        if ((l & DNS_LABEL_TYPE_MASK) != DNS_LABEL_NORMAL)
            return DISSECT_MALFORMED;           /* 0x40 extended, 0x80 reserved */
        if (l == 0)
            break;
        wire += 1u + l;
        if (wire > DNS_NAME_WIRE_MAX || l >= c->len - pos)
            return DISSECT_MALFORMED;
        if (t.len) {
            if (t.len + 1 >= t.cap)
                return DISSECT_MALFORMED;
            t.s[t.len++] = '.';
            t.s[t.len] = '\0';
        }
        if (dns_text_label(&t, c->p + pos + 1, l) < 0)
            return DISSECT_MALFORMED;
        pos += 1u + l;
    }
    c->off = end ? end : pos + 1;
    return 0;
}

int dns_parse(const uint8_t *p, size_t len, struct dns_msg *out)
{
    struct dissect_cur c;

    memset(out, 0, offsetof(struct dns_msg, qname));
    out->qname[0] = '\0';
    out->qtype = out->qclass = 0;
    if (len < DNS_HEADER_LEN)
        return DISSECT_MALFORMED;
    dissect_cur_init(&c, p, len);
    out->txid = dissect_be16(&c);
    uint16_t flags = dissect_be16(&c);
    out->is_response = (flags & DNS_FLAG_QR) != 0;
    out->opcode = (uint8_t)((flags >> DNS_OPCODE_SHIFT) & DNS_OPCODE_MASK);
    out->truncated = (flags & DNS_FLAG_TC) != 0;
    out->rcode = (uint8_t)(flags & DNS_RCODE_MASK);
    out->qdcount = dissect_be16(&c);
    out->ancount = dissect_be16(&c);
    dissect_skip(&c, DNS_HEADER_LEN - c.off);   /* nscount, arcount */
    if (out->qdcount == 0)
        return DISSECT_OK;
    if (dns_read_name(&c, out->qname, sizeof(out->qname)) < 0)
        return DISSECT_MALFORMED;
    out->qtype = dissect_be16(&c);
    out->qclass = dissect_be16(&c);
    return c.bad ? DISSECT_MALFORMED : DISSECT_OK;
}

struct dns_code_name {
    uint16_t code;
    const char *name;
};

static const struct dns_code_name dns_qtypes[] = {
    { 1, "A" }, { 2, "NS" }, { 5, "CNAME" }, { 6, "SOA" }, { 10, "NULL" }, { 12, "PTR" },
    { 13, "HINFO" }, { 15, "MX" }, { 16, "TXT" }, { 17, "RP" }, { 18, "AFSDB" },
    { 24, "SIG" }, { 25, "KEY" }, { 28, "AAAA" }, { 29, "LOC" }, { 33, "SRV" },
    { 35, "NAPTR" }, { 36, "KX" }, { 37, "CERT" }, { 39, "DNAME" }, { 41, "OPT" },
    { 42, "APL" }, { 43, "DS" }, { 44, "SSHFP" }, { 45, "IPSECKEY" }, { 46, "RRSIG" },
    { 47, "NSEC" }, { 48, "DNSKEY" }, { 49, "DHCID" }, { 50, "NSEC3" },
    { 51, "NSEC3PARAM" }, { 52, "TLSA" }, { 53, "SMIMEA" }, { 55, "HIP" },
    { 59, "CDS" }, { 60, "CDNSKEY" }, { 61, "OPENPGPKEY" }, { 62, "CSYNC" },
    { 63, "ZONEMD" }, { 64, "SVCB" }, { 65, "HTTPS" }, { 99, "SPF" }, { 108, "EUI48" },
    { 109, "EUI64" }, { 249, "TKEY" }, { 250, "TSIG" }, { 251, "IXFR" }, { 252, "AXFR" },
    { 255, "ANY" }, { 256, "URI" }, { 257, "CAA" },
};

static const char *const dns_rcodes[] = {
    "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
    "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE",
};

const char *dns_qtype_name(uint16_t t, char buf[DNS_TYPE_NAME_MAX])
{
    for (size_t i = 0; i < sizeof(dns_qtypes) / sizeof(dns_qtypes[0]); i++)
        if (dns_qtypes[i].code == t)
            return dns_qtypes[i].name;
    snprintf(buf, DNS_TYPE_NAME_MAX, "TYPE%u", (unsigned)t);
    return buf;
}

const char *dns_rcode_name(uint8_t rc, char buf[DNS_RCODE_NAME_MAX])
{
    if (rc < sizeof(dns_rcodes) / sizeof(dns_rcodes[0]))
        return dns_rcodes[rc];
    snprintf(buf, DNS_RCODE_NAME_MAX, "RCODE%u", (unsigned)rc);
    return buf;
}

void dns_tcp_stream_init(struct dns_tcp_stream *s)
{
    memset(s, 0, sizeof(*s));
}

/* Consumes body bytes of the current message from data; delivers it when
 * complete. Returns the bytes used. */
static size_t dns_tcp_body(struct dns_tcp_stream *s, const uint8_t *data, size_t len,
                           dns_tcp_msg_cb on_msg, void *arg)
{
    size_t want = s->msg_len - s->msg_have;
    size_t take = len < want ? len : want;

    if (s->len == 0 && s->msg_have == 0 && take == s->msg_len) {
        /* whole message in this segment: no copy */
        s->pfx_have = 0;
        s->msgs++;
        on_msg(arg, data, take < DNS_TCP_KEEP ? take : DNS_TCP_KEEP);
        return take;
    }
    if (s->len < DNS_TCP_KEEP) {
        size_t room = DNS_TCP_KEEP - s->len;
        size_t cp = take < room ? take : room;
        memcpy(s->buf + s->len, data, cp);
        s->len += (uint32_t)cp;
    }
    s->msg_have += (uint32_t)take;
    if (s->msg_have == s->msg_len) {
        s->pfx_have = 0;
        s->msgs++;
        on_msg(arg, s->buf, s->len);
        s->len = 0;
        s->msg_have = 0;
    }
    return take;
}

int dns_tcp_feed(struct dns_tcp_stream *s, const uint8_t *data, size_t len,
                 dns_tcp_msg_cb on_msg, void *arg)
{
    size_t off = 0;

    if (s->dead)
        return DISSECT_OK;
    while (off < len) {
        if (s->pfx_have < DNS_TCP_PREFIX_LEN) {
            s->pfx[s->pfx_have++] = data[off++];
            if (s->pfx_have < DNS_TCP_PREFIX_LEN)
                continue;
            s->msg_len = (uint32_t)s->pfx[0] << 8 | s->pfx[1];
            s->msg_have = 0;
            s->len = 0;
            if (s->msg_len == 0) {
                s->dead = 1;
                return DISSECT_MALFORMED;
            }
            continue;
        }
        off += dns_tcp_body(s, data + off, len - off, on_msg, arg);
    }
    return DISSECT_OK;
}
