/* export_ie.c - the table of exported information elements and the templates built from it (pure, any thread). */
#include "server/export/export_ie.h"

#include <stddef.h>

#include "server/export/export_record.h"

/* One row: an element, its lengths in each protocol (0 = not sent in that
 * protocol), its group (0 = every record) and its address family (0 = both). */
struct ie_def {
    uint16_t id;
    uint16_t len_ipfix, len_v9;
    uint8_t enterprise;              /* 1: flowcached's own element (EXPORT_PEN) */
    uint8_t value;
    uint16_t group;
    uint8_t ipver;
};

/* Order on the wire: the base fields, then each group's fields. */
static const struct ie_def ies[] = {
    { 8, 4, 4, 0, XV_SRC_ADDR, 0, 4 },                 /* sourceIPv4Address */
    { 12, 4, 4, 0, XV_DST_ADDR, 0, 4 },                /* destinationIPv4Address */
    { 27, 16, 16, 0, XV_SRC_ADDR, 0, 6 },              /* sourceIPv6Address */
    { 28, 16, 16, 0, XV_DST_ADDR, 0, 6 },              /* destinationIPv6Address */
    { 7, 2, 2, 0, XV_SRC_PORT, 0, 0 },                 /* sourceTransportPort */
    { 11, 2, 2, 0, XV_DST_PORT, 0, 0 },                /* destinationTransportPort */
    { 4, 1, 1, 0, XV_PROTO, 0, 0 },                    /* protocolIdentifier */
    { 6, 1, 1, 0, XV_TCP_FLAGS, 0, 0 },                /* tcpControlBits (reduced size, RFC 7011 6.2) */
    { 1, 8, 8, 0, XV_OCTETS, 0, 0 },                   /* octetDeltaCount */
    { 2, 8, 8, 0, XV_PACKETS, 0, 0 },                  /* packetDeltaCount */
    { 152, 8, 8, 0, XV_START_MS, 0, 0 },               /* flowStartMilliseconds */
    { 153, 8, 8, 0, XV_END_MS, 0, 0 },                 /* flowEndMilliseconds */
    { 58, 2, 2, 0, XV_VLAN, 0, 0 },                    /* vlanId */
    { 10, 4, 4, 0, XV_INGRESS_IF, 0, 0 },              /* ingressInterface */
    { 138, 4, 4, 0, XV_OBS_POINT, 0, 0 },              /* observationPointId */
    { 136, 1, 1, 0, XV_END_REASON, 0, 0 },             /* flowEndReason */
    { 239, 1, 1, 0, XV_DIRECTION, 0, 0 },              /* biflowDirection */
    /* applicationId (RFC 6759): variable length in IPFIX because nfcapd 1.7
     * reads a fixed 5-byte one as a number and stores it byte-swapped, so
     * it would not match the id of the name records. */
    { 95, EXPORT_VARLEN, 5, 0, XV_APP_ID, 0, 0 },
    { 96, EXPORT_VARLEN, 0, 0, XV_APP_NAME, 0, 0 },    /* applicationName */
    { 1, EXPORT_VARLEN, 128, 1, XV_DNS_QNAME, EXPORT_HAS_DNS, 0 },
    { 2, EXPORT_VARLEN, 64, 1, XV_HTTP_HOST, EXPORT_HAS_HTTP, 0 },
    { 3, EXPORT_VARLEN, 128, 1, XV_HTTP_URL, EXPORT_HAS_HTTP, 0 },
    { 4, 2, 2, 1, XV_HTTP_STATUS, EXPORT_HAS_HTTP, 0 },
    { 5, EXPORT_VARLEN, 64, 1, XV_TLS_SNI, EXPORT_HAS_TLS, 0 },
    { 6, EXPORT_VARLEN, 32, 1, XV_USER, EXPORT_HAS_USER, 0 },
    /* latency (README, "Flow export"): IANA has no element for these */
    { 7, 8, 8, 1, XV_RTT, EXPORT_HAS_RTT, 0 },
    { 8, 4, 4, 1, XV_RTT_SERVER, EXPORT_HAS_RTT_SERVER, 0 },
    { 9, 4, 4, 1, XV_RTT_CLIENT, EXPORT_HAS_RTT, 0 },
    { 10, 4, 4, 1, XV_HTTP_SVC, EXPORT_HAS_HTTP_SVC, 0 },
    { 11, 4, 4, 1, XV_TLS_HS, EXPORT_HAS_TLS_HS, 0 },
    { 12, 4, 4, 1, XV_DNS_RTT, EXPORT_HAS_DNS_RTT, 0 },
};

static const struct export_enterprise_ie enterprise[] = {
    { 1, "dnsQueryName", "string", 128, EXPORT_DNS_QNAME_MAX },
    { 2, "httpHost", "string", 64, EXPORT_HTTP_HOST_MAX },
    { 3, "httpUrl", "string", 128, EXPORT_HTTP_URL_MAX },
    { 4, "httpStatusCode", "unsigned16", 2, 2 },
    { 5, "tlsServerName", "string", 64, EXPORT_TLS_SNI_MAX },
    { 6, "userName", "string", 32, EXPORT_USER_MAX },
    { 7, "tcpRttMicroseconds", "unsigned64", 8, 8 },
    { 8, "tcpRttServerMicroseconds", "unsigned32", 4, 4 },
    { 9, "tcpRttClientMicroseconds", "unsigned32", 4, 4 },
    { 10, "httpServiceMicroseconds", "unsigned32", 4, 4 },
    { 11, "tlsHandshakeMicroseconds", "unsigned32", 4, 4 },
    { 12, "dnsRttMicroseconds", "unsigned32", 4, 4 },
};

const struct export_enterprise_ie *export_enterprise_ies(int *n)
{
    *n = (int)(sizeof(enterprise) / sizeof(enterprise[0]));
    return enterprise;
}

static struct export_field field_of(enum export_protocol p, const struct ie_def *d)
{
    struct export_field f = { d->id, p == EXPORT_IPFIX ? d->len_ipfix : d->len_v9, 0, d->value };
    if (d->enterprise) {
        if (p == EXPORT_IPFIX)
            f.pen = EXPORT_PEN;
        else
            f.id |= 0x8000;          /* NetFlow v9 has no enterprise numbers: vendor range */
    }
    return f;
}

int export_template_fields(enum export_protocol p, unsigned index, struct export_field *out)
{
    int ipver = index % 32 >= 16 ? 6 : 4, n = 0;       /* export_template_index, backwards */
    unsigned groups = (index % 16) | (index / 32) << 4;
    for (size_t i = 0; i < sizeof(ies) / sizeof(ies[0]) && n < EXPORT_FIELDS_MAX; i++) {
        const struct ie_def *d = &ies[i];
        if ((d->ipver && d->ipver != ipver) || (d->group && !(d->group & groups)))
            continue;
        if ((p == EXPORT_IPFIX ? d->len_ipfix : d->len_v9) == 0)
            continue;
        out[n++] = field_of(p, d);
    }
    return n;
}

int export_app_template_fields(enum export_protocol p, struct export_field *out, int *nscope)
{
    /* Fixed lengths: nfcapd and nfacctd read option records only at fixed
     * offsets. NetFlow v9 scope type 1 = System. */
    out[0] = (struct export_field){ p == EXPORT_IPFIX ? 149 : 1, 4, 0, XV_SCOPE_DOMAIN };
    out[1] = (struct export_field){ 95, 5, 0, XV_APP_ID };
    out[2] = (struct export_field){ 96, EXPORT_APP_NAME_MAX, 0, XV_APP_NAME };
    out[3] = (struct export_field){ 94, EXPORT_APP_NAME_MAX, 0, XV_APP_DESC };
    *nscope = 1;
    return 4;
}
