/* snmp.h - SNMP v1/v2c/v3 message parser over BER with a bounded cursor: header, PDU type, request-id, varbind count (pure code, any thread). */
#ifndef FC_SNMP_H
#define FC_SNMP_H

#include <stddef.h>
#include <stdint.h>

#include "dissectors/dissect.h"

/* msgVersion values on the wire */
#define SNMP_V1              0
#define SNMP_V2C             1
#define SNMP_V3              3

/* PDU types: the low bits of the context-specific tag (RFC 1157, 3416). */
#define SNMP_PDU_GET         0
#define SNMP_PDU_GETNEXT     1
#define SNMP_PDU_RESPONSE    2
#define SNMP_PDU_SET         3
#define SNMP_PDU_TRAP        4      /* SNMPv1 Trap-PDU: no request-id */
#define SNMP_PDU_GETBULK     5
#define SNMP_PDU_INFORM      6
#define SNMP_PDU_TRAPV2      7
#define SNMP_PDU_REPORT      8
#define SNMP_PDU_NONE        0xff   /* v3 with privacy: the PDU is encrypted */

/* msgFlags bits (RFC 3412) */
#define SNMP_V3_AUTH         1
#define SNMP_V3_PRIV         2
#define SNMP_V3_REPORTABLE   4

/* Nesting of constructed encodings accepted, the message's SEQUENCE being 1. */
#define SNMP_DEPTH_MAX       16
/* Text kept of a community or a user name (escaped, NUL included). */
#define SNMP_TEXT_MAX        128
/* Dotted text kept of an OID ("1.3.6.1.2.1.1.1.0"), NUL included. */
#define SNMP_OID_TEXT_MAX    128

/* What flowcached takes from one SNMP message. */
struct snmp_msg {
    uint8_t version;                /* SNMP_V1, SNMP_V2C or SNMP_V3 */
    uint8_t pdu_type;               /* SNMP_PDU_*; SNMP_PDU_NONE when encrypted */
    uint8_t encrypted;              /* v3 with the privacy flag: no PDU fields */
    uint8_t has_request_id;         /* 0 for a v1 Trap and an encrypted PDU */
    /* v1/v2c: the community; v3: the USM user name. Length as on the wire;
     * text escaped ("\xHH" outside 0x20..0x7e) and cut to SNMP_TEXT_MAX. */
    uint32_t community_len;
    char community[SNMP_TEXT_MAX];
    /* v3 header */
    int64_t msg_id;
    int64_t msg_max_size;
    uint8_t msg_flags;              /* SNMP_V3_* bits */
    int64_t security_model;         /* 3 = USM */
    /* PDU. For GetBulk, error_status and error_index hold non-repeaters and
     * max-repetitions (same place in the PDU). */
    int64_t request_id;
    int64_t error_status;
    int64_t error_index;
    uint32_t varbinds;              /* variable bindings in the list */
    /* v1 Trap */
    uint8_t agent_addr[4];
    int64_t generic_trap, specific_trap;
    uint32_t timestamp;             /* TimeTicks */
    /* First varbind's name (v1 Trap: the enterprise), "" when none; ends
     * in "..." when cut. */
    char oid[SNMP_OID_TEXT_MAX];
    size_t msg_len;                 /* bytes of the message (trailing bytes excluded) */
};

/* Parses the SNMP message at the start of p[0..len) (a UDP payload).
 * DER/BER with definite lengths only: an indefinite length (0x80), a length
 * of more than 4 bytes or past its enclosing value, a multi-byte tag, an
 * INTEGER of 0 or more than 8 bytes, nesting deeper than SNMP_DEPTH_MAX, an
 * unknown version or PDU tag, or a field of the wrong type is
 * DISSECT_MALFORMED, as are bytes left inside a SEQUENCE after its last
 * field. Bytes after the message are ignored (msg_len says where it ends).
 * v3: with the privacy flag set, msgID, flags and the user name are read
 * and the scoped PDU is not (encrypted = 1). Returns DISSECT_OK or
 * DISSECT_MALFORMED; after MALFORMED *out is unspecified. Never reads past
 * p + len; no allocation; any thread. */
int snmp_parse(const uint8_t *p, size_t len, struct snmp_msg *out);

/* Name of a PDU type: "get", "getnext", "response", "set", "trap",
 * "getbulk", "inform", "trapv2", "report", "encrypted" for SNMP_PDU_NONE,
 * else "unknown". Returns a static string. Any thread. */
const char *snmp_pdu_name(uint8_t pdu_type);

/* Name of an error-status (RFC 3416: "noError", "tooBig", "noSuchName"...
 * "inconsistentName"), or "unknown". Returns a static string. Any thread. */
const char *snmp_error_name(int64_t status);

#endif
