/* app_guess.c - what a payload looks like when its ports say nothing: SIP, RTP, SNMP, a DNS query, a RADIUS accounting request (pure code, capture threads). */
#include "capture/flow/app_glue.h"

#include <netinet/in.h>
#include <string.h>

#include "dissectors/dns.h"
#include "dissectors/radius.h"
#include "dissectors/rtp.h"
#include "dissectors/snmp.h"

enum { BER_SEQUENCE = 0x30, DNS_HEADER = 12, DNS_OPT = 41, DNS_OPT_MIN = 11, RADIUS_HEADER = 20,
       RADIUS_ACCOUNTING = 4, METHOD_MAX = 16, NETBIOS_LABEL = 32 };

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

/* A SIP start line: "SIP/2.0 DDD" or "METHOD sip:", "sips:", "tel:". */
static int looks_like_sip(const uint8_t *p, size_t len)
{
    if (len < 12 || p[0] < 'A' || p[0] > 'Z')
        return 0;
    if (memcmp(p, "SIP/2.0 ", 8) == 0)
        return 1;
    const uint8_t *sp = memchr(p, ' ', len < METHOD_MAX + 1 ? len : METHOD_MAX + 1);
    if (!sp || (size_t)(sp - p) + 6 > len)
        return 0;
    sp++;
    return memcmp(sp, "sip:", 4) == 0 || memcmp(sp, "sips:", 5) == 0 || memcmp(sp, "tel:", 4) == 0;
}

/* A NetBIOS first-level encoded name (RFC 1001 14.1): one label of 32 letters 'A'..'P'. */
static int netbios_encoded(const uint8_t *p, size_t len)
{
    if (len < NETBIOS_LABEL + 1 || p[0] != NETBIOS_LABEL)
        return 0;
    for (size_t i = 1; i <= NETBIOS_LABEL; i++)
        if ((p[i] & 0xdf) < 'A' || (p[i] & 0xdf) > 'P')
            return 0;
    return 1;
}

/* A standard query with one question and nothing else but an EDNS OPT record, whose name ends where the
 * message says: strict, so that other UDP traffic is not taken for DNS. */
static int looks_like_dns_query(const uint8_t *p, size_t len)
{
    if (len < DNS_HEADER + 5 || (p[2] & 0xf8) != 0 || be16(p + 4) != 1 || be16(p + 6) || be16(p + 8) ||
        be16(p + 10) > 1)
        return 0;
    size_t at = DNS_HEADER;
    if (netbios_encoded(p + at, len - at))
        return 0;                    /* NetBIOS name service, on a port nDPI did not place */
    while (at < len && p[at] != 0) {
        if (p[at] > 63)
            return 0;                /* a query's name is not compressed */
        at += (size_t)p[at] + 1;
    }
    at += 5;                         /* the root label, type, class */
    if (at > len || (be16(p + 10) == 0) != (at == len))
        return 0;
    if (at < len && (len - at < DNS_OPT_MIN || p[at] != 0 || be16(p + at + 1) != DNS_OPT))
        return 0;
    struct dns_msg m;
    return dns_parse(p, len, &m) == DISSECT_OK;
}

/* An Accounting-Request whose length field is the datagram's and whose attributes parse. */
static int looks_like_radius_accounting(const uint8_t *p, size_t len)
{
    struct radius_msg m;
    return len >= RADIUS_HEADER && p[0] == RADIUS_ACCOUNTING && be16(p + 2) == len &&
           radius_parse(p, len, &m) == DISSECT_OK;
}

int app_guess(uint8_t l4proto, const uint8_t *p, size_t len)
{
    if (l4proto != IPPROTO_UDP)
        return looks_like_sip(p, len) ? GUESS_SIP : GUESS_NONE;
    if (len && p[0] == BER_SEQUENCE) {
        struct snmp_msg m;
        return snmp_parse(p, len, &m) == DISSECT_OK ? GUESS_SNMP : GUESS_NONE;
    }
    if (looks_like_sip(p, len))
        return GUESS_SIP;
    if (looks_like_radius_accounting(p, len))
        return GUESS_RADIUS;
    if (looks_like_dns_query(p, len))     /* before RTP: a query's ID may start with bits 10 */
        return GUESS_DNS;
    return len >= RTP_HEADER_LEN && (p[0] & 0xc0) == 0x80 ? GUESS_RTP : GUESS_NONE;
}
