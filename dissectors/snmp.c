/* snmp.c - SNMP message parser: BER TLVs, v1/v2c and v3 headers, PDUs and varbinds (pure code, any capture thread). */
#include <stdio.h>
#include <string.h>

#include "dissectors/snmp.h"

#define BER_INTEGER          0x02
#define BER_OCTET_STRING     0x04
#define BER_OID              0x06
#define BER_SEQUENCE         0x30
#define BER_IPADDRESS        0x40   /* [APPLICATION 0] */
#define BER_TIMETICKS        0x43   /* [APPLICATION 3] */
#define BER_CONSTRUCTED      0x20
#define BER_TAG_NUMBER_MASK  0x1f
#define BER_LEN_LONG         0x80
#define BER_LEN_BYTES_MAX    4
#define BER_INT_BYTES_MAX    8
#define SNMP_PDU_TAG_BASE    0xa0   /* [CONTEXT n] constructed */
#define SNMP_IP4_LEN         4
#define SNMP_USM             3
#define SNMP_OID_ARC_MAX     0xffffffffu

/* One TLV: its tag, and its value p[0..len) inside the buffer. */
struct ber_tlv {
    uint8_t tag;
    const uint8_t *v;
    size_t len;
};

/* Reads one TLV at c and steps over it. Returns 0, or -1 on a multi-byte
 * tag, an indefinite or over-long length, or a value past the cursor's end. */
static int ber_tlv_read(struct dissect_cur *c, struct ber_tlv *t)
{
    t->tag = dissect_u8(c);
    uint8_t lb = dissect_u8(c);
    size_t n = lb;
    if (c->bad || (t->tag & BER_TAG_NUMBER_MASK) == BER_TAG_NUMBER_MASK)
        return -1;
    if (lb & BER_LEN_LONG) {
        unsigned k = lb & ~BER_LEN_LONG;
        if (k == 0 || k > BER_LEN_BYTES_MAX)
            return -1;                      /* 0x80: indefinite; 0xff: reserved */
        n = 0;
        for (unsigned i = 0; i < k; i++)
            n = n << 8 | dissect_u8(c);
    }
    if (c->bad || n > dissect_cur_left(c))
        return -1;
    t->v = c->p + c->off;
    t->len = n;
    c->off += n;
    return 0;
}

/* Reads a TLV that must carry tag. Returns 0 or -1. */
static int ber_expect(struct dissect_cur *c, uint8_t tag, struct ber_tlv *t)
{
    return ber_tlv_read(c, t) == 0 && t->tag == tag ? 0 : -1;
}

/* Reads an INTEGER (two's complement, 1..8 bytes). Returns 0 or -1. */
static int ber_int(struct dissect_cur *c, int64_t *out)
{
    struct ber_tlv t;
    if (ber_expect(c, BER_INTEGER, &t) < 0 || t.len == 0 || t.len > BER_INT_BYTES_MAX)
        return -1;
    uint64_t x = t.v[0] & 0x80 ? UINT64_MAX : 0;
    for (size_t i = 0; i < t.len; i++)
        x = x << 8 | t.v[i];
    *out = (int64_t)x;
    return 0;
}

/* Reads an unsigned application type (TimeTicks...) of 1..5 bytes. */
static int ber_uint32(struct dissect_cur *c, uint8_t tag, uint32_t *out)
{
    struct ber_tlv t;
    uint64_t x = 0;
    if (ber_expect(c, tag, &t) < 0 || t.len == 0 || t.len > 5)
        return -1;
    for (size_t i = 0; i < t.len; i++)
        x = x << 8 | t.v[i];
    if (x > UINT32_MAX)
        return -1;
    *out = (uint32_t)x;
    return 0;
}

/* Opens a constructed TLV of tag as a sub-cursor. Returns 0 or -1. */
static int ber_open(struct dissect_cur *c, uint8_t tag, struct dissect_cur *sub)
{
    struct ber_tlv t;
    if (ber_expect(c, tag, &t) < 0)
        return -1;
    dissect_cur_init(sub, t.v, t.len);
    return 0;
}

/* Checks the encodings inside a value: every constructed one must hold
 * whole TLVs, at most SNMP_DEPTH_MAX deep. Returns 0 or -1. */
static int ber_value_check(const struct ber_tlv *t, int depth)
{
    if (!(t->tag & BER_CONSTRUCTED))
        return 0;
    if (depth >= SNMP_DEPTH_MAX)
        return -1;
    struct dissect_cur c;
    dissect_cur_init(&c, t->v, t->len);
    while (dissect_cur_left(&c)) {
        struct ber_tlv in;
        if (ber_tlv_read(&c, &in) < 0 || ber_value_check(&in, depth + 1) < 0)
            return -1;
    }
    return 0;
}

/* 0 when an OID's encoding is whole: not empty, no cut arc, no arc past
 * 32 bits; else -1. */
static int snmp_oid_ok(const struct ber_tlv *t)
{
    uint64_t arc = 0;
    if (t->len == 0 || (t->v[t->len - 1] & 0x80))
        return -1;
    for (size_t i = 0; i < t->len; i++) {
        arc = arc << 7 | (t->v[i] & 0x7f);
        if (arc > SNMP_OID_ARC_MAX)
            return -1;
        if (!(t->v[i] & 0x80))
            arc = 0;
    }
    return 0;
}

/* Writes a checked OID's dotted text into dst[cap] (cap >= 4), ending in
 * "..." when it does not fit. */
static void snmp_oid_text(const struct ber_tlv *t, char *dst, size_t cap)
{
    size_t o = 0;
    uint64_t arc = 0;
    int first = 1;
    dst[0] = '\0';
    for (size_t i = 0; i < t->len; i++) {
        arc = arc << 7 | (t->v[i] & 0x7f);
        if (t->v[i] & 0x80)
            continue;
        int w;
        if (first) {
            unsigned x = arc < 40 ? 0 : arc < 80 ? 1 : 2;
            w = snprintf(dst + o, cap - o, "%u.%llu", x, (unsigned long long)(arc - 40u * x));
            first = 0;
        } else {
            w = snprintf(dst + o, cap - o, ".%llu", (unsigned long long)arc);
        }
        if (w < 0 || (size_t)w >= cap - o) {
            if (o + 4 > cap)
                o = cap - 4;
            memcpy(dst + o, "...", 4);
            return;
        }
        o += (size_t)w;
        arc = 0;
    }
}

/* The VarBindList: SEQUENCE OF SEQUENCE { OID, value }. Counts them and
 * keeps the first name. Returns 0 or -1. */
static int snmp_varbinds(struct dissect_cur *c, struct snmp_msg *out, int depth)
{
    struct dissect_cur list;
    if (depth + 1 >= SNMP_DEPTH_MAX || ber_open(c, BER_SEQUENCE, &list) < 0)
        return -1;
    while (dissect_cur_left(&list)) {
        struct dissect_cur vb;
        struct ber_tlv name, val;
        if (ber_open(&list, BER_SEQUENCE, &vb) < 0 || ber_expect(&vb, BER_OID, &name) < 0 ||
            snmp_oid_ok(&name) < 0 || ber_tlv_read(&vb, &val) < 0 || dissect_cur_left(&vb) ||
            ber_value_check(&val, depth + 2) < 0)
            return -1;
        if (out->varbinds == 0 && !out->oid[0])
            snmp_oid_text(&name, out->oid, sizeof(out->oid));
        out->varbinds++;
    }
    return 0;
}

/* SNMPv1 Trap-PDU body: enterprise, agent-addr, generic, specific, time-stamp. */
static int snmp_trap_v1(struct dissect_cur *c, struct snmp_msg *out)
{
    struct ber_tlv ent, addr;
    if (ber_expect(c, BER_OID, &ent) < 0 || snmp_oid_ok(&ent) < 0 ||
        ber_expect(c, BER_IPADDRESS, &addr) < 0 || addr.len != SNMP_IP4_LEN ||
        ber_int(c, &out->generic_trap) < 0 || ber_int(c, &out->specific_trap) < 0 ||
        ber_uint32(c, BER_TIMETICKS, &out->timestamp) < 0)
        return -1;
    memcpy(out->agent_addr, addr.v, SNMP_IP4_LEN);
    snmp_oid_text(&ent, out->oid, sizeof(out->oid));
    return 0;
}

/* One PDU at c (depth: its nesting level). Returns 0 or -1. */
static int snmp_pdu(struct dissect_cur *c, struct snmp_msg *out, int depth)
{
    struct ber_tlv t;
    struct dissect_cur pdu;
    if (depth >= SNMP_DEPTH_MAX || ber_tlv_read(c, &t) < 0 || t.tag < SNMP_PDU_TAG_BASE ||
        t.tag > SNMP_PDU_TAG_BASE + SNMP_PDU_REPORT)
        return -1;
    out->pdu_type = (uint8_t)(t.tag - SNMP_PDU_TAG_BASE);
    dissect_cur_init(&pdu, t.v, t.len);
    if (out->pdu_type == SNMP_PDU_TRAP) {
        if (snmp_trap_v1(&pdu, out) < 0)
            return -1;
    } else {
        if (ber_int(&pdu, &out->request_id) < 0 || ber_int(&pdu, &out->error_status) < 0 ||
            ber_int(&pdu, &out->error_index) < 0)
            return -1;
        out->has_request_id = 1;
    }
    if (snmp_varbinds(&pdu, out, depth + 1) < 0)
        return -1;
    return dissect_cur_left(&pdu) ? -1 : 0;
}

/* Copies an OCTET STRING into the community/user field. */
static void snmp_text(struct snmp_msg *out, const struct ber_tlv *t)
{
    size_t used = 0;
    out->community_len = (uint32_t)t->len;
    out->community[0] = '\0';
    dissect_escape_append(out->community, sizeof(out->community), &used, t->v, t->len, 0);
}

/* USM security parameters (RFC 3414): an OCTET STRING holding SEQUENCE {
 * engineID, boots, time, userName, auth, priv }. Returns 0 or -1. */
static int snmp_usm(const struct ber_tlv *sp, struct snmp_msg *out)
{
    struct dissect_cur c, seq;
    struct ber_tlv engine, user, auth, priv;
    int64_t boots, time;
    dissect_cur_init(&c, sp->v, sp->len);
    if (ber_open(&c, BER_SEQUENCE, &seq) < 0 || dissect_cur_left(&c) ||
        ber_expect(&seq, BER_OCTET_STRING, &engine) < 0 || ber_int(&seq, &boots) < 0 ||
        ber_int(&seq, &time) < 0 || ber_expect(&seq, BER_OCTET_STRING, &user) < 0 ||
        ber_expect(&seq, BER_OCTET_STRING, &auth) < 0 ||
        ber_expect(&seq, BER_OCTET_STRING, &priv) < 0 || dissect_cur_left(&seq))
        return -1;
    snmp_text(out, &user);
    return 0;
}

/* v3 after msgVersion: header data, security parameters, scoped PDU. */
static int snmp_v3(struct dissect_cur *msg, struct snmp_msg *out)
{
    struct dissect_cur hdr, scoped;
    struct ber_tlv flags, sp, ctx_engine, ctx_name;
    if (ber_open(msg, BER_SEQUENCE, &hdr) < 0 || ber_int(&hdr, &out->msg_id) < 0 ||
        ber_int(&hdr, &out->msg_max_size) < 0 || ber_expect(&hdr, BER_OCTET_STRING, &flags) < 0 ||
        flags.len != 1 || ber_int(&hdr, &out->security_model) < 0 || dissect_cur_left(&hdr) ||
        ber_expect(msg, BER_OCTET_STRING, &sp) < 0)
        return -1;
    out->msg_flags = flags.v[0];
    if (out->security_model == SNMP_USM && sp.len && snmp_usm(&sp, out) < 0)
        return -1;
    if (out->msg_flags & SNMP_V3_PRIV) {
        struct ber_tlv enc;
        out->encrypted = 1;
        out->pdu_type = SNMP_PDU_NONE;
        return ber_expect(msg, BER_OCTET_STRING, &enc);
    }
    if (ber_open(msg, BER_SEQUENCE, &scoped) < 0 ||
        ber_expect(&scoped, BER_OCTET_STRING, &ctx_engine) < 0 ||
        ber_expect(&scoped, BER_OCTET_STRING, &ctx_name) < 0 || snmp_pdu(&scoped, out, 3) < 0)
        return -1;
    return dissect_cur_left(&scoped) ? -1 : 0;
}

int snmp_parse(const uint8_t *p, size_t len, struct snmp_msg *out)
{
    struct dissect_cur top, msg;
    struct ber_tlv community;
    int64_t version;

    memset(out, 0, sizeof(*out));
    dissect_cur_init(&top, p, len);
    if (ber_open(&top, BER_SEQUENCE, &msg) < 0 || ber_int(&msg, &version) < 0)
        return DISSECT_MALFORMED;
    out->msg_len = top.off;
    if (version == SNMP_V1 || version == SNMP_V2C) {
        if (ber_expect(&msg, BER_OCTET_STRING, &community) < 0 || snmp_pdu(&msg, out, 2) < 0)
            return DISSECT_MALFORMED;
        snmp_text(out, &community);
    } else if (version == SNMP_V3) {
        if (snmp_v3(&msg, out) < 0)
            return DISSECT_MALFORMED;
    } else {
        return DISSECT_MALFORMED;
    }
    out->version = (uint8_t)version;
    return dissect_cur_left(&msg) ? DISSECT_MALFORMED : DISSECT_OK;
}

const char *snmp_pdu_name(uint8_t pdu_type)
{
    static const char *const names[] = {
        "get", "getnext", "response", "set", "trap", "getbulk", "inform", "trapv2", "report",
    };
    if (pdu_type == SNMP_PDU_NONE)
        return "encrypted";
    return pdu_type < sizeof(names) / sizeof(names[0]) ? names[pdu_type] : "unknown";
}

const char *snmp_error_name(int64_t status)
{
    static const char *const names[] = {
        "noError", "tooBig", "noSuchName", "badValue", "readOnly", "genErr", "noAccess",
        "wrongType", "wrongLength", "wrongEncoding", "wrongValue", "noCreation",
        "inconsistentValue", "resourceUnavailable", "commitFailed", "undoFailed",
        "authorizationError", "notWritable", "inconsistentName",
    };
    return status >= 0 && status < (int64_t)(sizeof(names) / sizeof(names[0])) ? names[status] : "unknown";
}
