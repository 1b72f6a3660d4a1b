/* export_ie.h - the information elements flowcached exports and the templates made of them (pure tables). */
#ifndef FC_EXPORT_IE_H
#define FC_EXPORT_IE_H

#include <stdint.h>

enum export_protocol { EXPORT_IPFIX = 0, EXPORT_NETFLOW9 = 1 };

/* The enterprise number of flowcached's own elements: 32473 is the number
 * IANA reserves for documentation and examples (RFC 5612), so it never
 * names a real vendor's elements. README.md lists the elements. */
#define EXPORT_PEN 32473u
/* RFC 6759 classification engine of applicationId: 13 = PANA-L7, a
 * proprietary layer-7 numbering (here nDPI's protocol ids). */
#define EXPORT_APP_ENGINE 13u

#define EXPORT_VARLEN 0xffffu        /* IPFIX variable-length field */

/* Groups of optional fields: a data template carries a group only when the
 * record has it, so a plain flow pays nothing for the strings. */
enum {
    EXPORT_HAS_DNS = 1,
    EXPORT_HAS_HTTP = 2,
    EXPORT_HAS_TLS = 4,
    EXPORT_HAS_USER = 8,
    EXPORT_HAS_RTT_SERVER = 16,      /* the latencies: EXPORT_LAT_* << 4 (export_record.h) */
    EXPORT_HAS_RTT = 32,
    EXPORT_HAS_HTTP_SVC = 64,
    EXPORT_HAS_TLS_HS = 128,
    EXPORT_HAS_DNS_RTT = 256,
};
#define EXPORT_LAT_SHIFT 4
#define EXPORT_GROUPS 512            /* every combination of the groups */
#define EXPORT_TEMPLATES (2 * EXPORT_GROUPS)   /* x IPv4 / IPv6; each made on first use */
#define EXPORT_TEMPLATE_ID_BASE 256  /* data template id: export_template_id */
#define EXPORT_APP_TEMPLATE_ID 320   /* options template: applicationId -> name */
#define EXPORT_FIELDS_MAX 32

/* Index of the data template for an address family and a group mask: the
 * strings' groups and the family in the low 5 bits (the templates of
 * flows without latency keep the ids they had before it), the latencies
 * above. */
static inline unsigned export_template_index(int ipver, unsigned groups)
{
    groups &= EXPORT_GROUPS - 1;
    return (groups & 15) + (ipver == 6 ? 16u : 0u) + 32 * (groups >> 4);
}

/* The template id of index t: from EXPORT_TEMPLATE_ID_BASE, stepping over EXPORT_APP_TEMPLATE_ID. */
static inline uint16_t export_template_id(unsigned t)
{
    unsigned id = EXPORT_TEMPLATE_ID_BASE + t;
    return (uint16_t)(id >= EXPORT_APP_TEMPLATE_ID ? id + 1 : id);
}

/* What the encoder writes for a field. */
enum export_value {
    XV_SRC_ADDR, XV_DST_ADDR, XV_SRC_PORT, XV_DST_PORT, XV_PROTO, XV_TCP_FLAGS,
    XV_OCTETS, XV_PACKETS, XV_START_MS, XV_END_MS, XV_VLAN, XV_INGRESS_IF,
    XV_OBS_POINT, XV_END_REASON, XV_DIRECTION, XV_APP_ID, XV_APP_NAME,
    XV_DNS_QNAME, XV_HTTP_HOST, XV_HTTP_URL, XV_HTTP_STATUS, XV_TLS_SNI, XV_USER,
    XV_SCOPE_DOMAIN, XV_APP_DESC, XV_RTT, XV_RTT_SERVER, XV_RTT_CLIENT, XV_HTTP_SVC, XV_TLS_HS, XV_DNS_RTT,
};

/* One field of a template as it goes on the wire. */
struct export_field {
    uint16_t id;                     /* element id (NetFlow v9: 0x8000 | id for flowcached's own) */
    uint16_t len;                    /* octets, or EXPORT_VARLEN (IPFIX only) */
    uint32_t pen;                    /* enterprise number, 0 = IANA element */
    uint8_t value;                   /* enum export_value */
};

/* One of flowcached's enterprise-specific elements, for the docs and tests. */
struct export_enterprise_ie {
    uint16_t id;
    const char *name, *type;
    uint16_t v9_len;                 /* fixed length used in NetFlow v9 */
    uint16_t max_len;                /* longest value sent (IPFIX) */
};

/* The list of flowcached's enterprise elements (n set to its length).
 * Static data; any thread. */
const struct export_enterprise_ie *export_enterprise_ies(int *n);

/* Fills out (room for EXPORT_FIELDS_MAX) with the fields of data template
 * `index` (export_template_index) for protocol p; returns how many. Pure. */
int export_template_fields(enum export_protocol p, unsigned index, struct export_field *out);

/* Fills out with the fields of the application options template: the
 * scope (IPFIX observationDomainId, NetFlow v9 System), then applicationId,
 * applicationName and applicationDescription at fixed lengths. Returns how
 * many; *nscope is set to the number of scope fields. Pure. */
int export_app_template_fields(enum export_protocol p, struct export_field *out, int *nscope);

#endif
