/* export_encoder.c - IPFIX and NetFlow v9 messages: headers, template, options and data sets, batching (the thread owning the encoder). */
#include "server/export/export_encoder.h"

#include <endian.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define IPFIX_HDR 16
#define V9_HDR 20
#define SET_HDR 4
#define PAD_MAX 3                    /* NetFlow v9 pads each set to 4 bytes */

static uint8_t *put8(uint8_t *p, uint8_t v) { *p = v; return p + 1; }
static uint8_t *put16(uint8_t *p, uint16_t v)
{
    v = htobe16(v);
    memcpy(p, &v, 2);
    return p + 2;
}

static uint8_t *put32(uint8_t *p, uint32_t v)
{
    v = htobe32(v);
    memcpy(p, &v, 4);
    return p + 4;
}

static uint8_t *put64(uint8_t *p, uint64_t v)
{
    v = htobe64(v);
    memcpy(p, &v, 8);
    return p + 8;
}

static int is_ipfix(const struct export_encoder *e) { return e->o.protocol == EXPORT_IPFIX; }
static uint32_t hdr_len(const struct export_encoder *e) { return is_ipfix(e) ? IPFIX_HDR : V9_HDR; }
static uint8_t *tail(struct export_encoder *e) { return e->cur->buf + e->cur->len; }

/* ---- the value of each field ---- */

/* The variable-length strings of a record, by slot: each cut to what is sent, measured once (data_len). */
enum { SS_APP_NAME, SS_DNS_QNAME, SS_HTTP_HOST, SS_HTTP_URL, SS_TLS_SNI, SS_USER, SS_N };
struct rec_strs { const char *s[SS_N]; uint16_t n[SS_N]; };

/* Where each slot's string is in a record, and the longest sent. */
static const struct { uint16_t off, cap; } slot_at[SS_N] = {
    [SS_APP_NAME] = { offsetof(struct export_record, app_name), EXPORT_APP_NAME_MAX },
    [SS_DNS_QNAME] = { offsetof(struct export_record, dns_qname), EXPORT_DNS_QNAME_MAX },
    [SS_HTTP_HOST] = { offsetof(struct export_record, http_host), EXPORT_HTTP_HOST_MAX },
    [SS_HTTP_URL] = { offsetof(struct export_record, http_url), EXPORT_HTTP_URL_MAX },
    [SS_TLS_SNI] = { offsetof(struct export_record, tls_sni), EXPORT_TLS_SNI_MAX },
    [SS_USER] = { offsetof(struct export_record, user), EXPORT_USER_MAX },
};

/* The slot of each string value, plus one (0: not a string). */
static const uint8_t slot_of_value[XV_USER + 1] = {
    [XV_APP_NAME] = SS_APP_NAME + 1, [XV_DNS_QNAME] = SS_DNS_QNAME + 1, [XV_HTTP_HOST] = SS_HTTP_HOST + 1,
    [XV_HTTP_URL] = SS_HTTP_URL + 1, [XV_TLS_SNI] = SS_TLS_SNI + 1, [XV_USER] = SS_USER + 1,
};

/* String slot k of r, cut to what is sent (*n: its length, 0 when absent). */
static inline const char *slot_str(const struct export_record *r, int k, uint16_t *n)
{
    const struct export_str *s = (const struct export_str *)((const char *)r + slot_at[k].off);
    *n = s->s ? (s->len < slot_at[k].cap ? s->len : slot_at[k].cap) : 0;
    return s->s;
}

/* n bytes of s as an IPFIX variable-length value (RFC 7011 7): its length in one byte, or 255 and two. */
static inline uint8_t *put_varlen(uint8_t *p, const char *s, uint16_t n)
{
    p = n < 255 ? put8(p, (uint8_t)n) : put16(put8(p, 255), n);
    if (n)
        memcpy(p, s, n);
    return p + n;
}

/* n bytes of s in a fixed-length field of len bytes, padded with zeros, at
 * least one (collectors written in C read it as a C string). */
static inline uint8_t *put_fixstr(uint8_t *p, const char *s, uint16_t n, uint16_t len)
{
    if (n >= len)
        n = (uint16_t)(len - 1);
    if (n)
        memcpy(p, s, n);
    memset(p + n, 0, len - n);
    return p + len;
}

/* applicationId (RFC 6759): the engine, then the id; len: the field's. */
static inline uint8_t *put_app_id(uint8_t *p, uint16_t len, uint16_t id)
{
    if (len == EXPORT_VARLEN)
        p = put8(p, 5);
    return put32(put8(p, EXPORT_APP_ENGINE), id);
}

/* A latency in microseconds, in a field of 8 bytes or 4 (then capped). */
static inline uint8_t *put_lat(uint8_t *p, uint16_t len, uint64_t v)
{
    return len == 8 ? put64(p, v) : put32(p, v > UINT32_MAX ? UINT32_MAX : (uint32_t)v);
}

/* Field f of r for direction dir at p; returns the end. The data records go through the steps of
 * their template (put_ops) instead; this serves the options record and any field without a step. */
static uint8_t *put_value(uint8_t *p, const struct export_field *f, const struct export_record *r, int dir)
{
    switch (f->value) {
    case XV_SRC_ADDR: memcpy(p, dir ? r->srv : r->cli, f->len); return p + f->len;
    case XV_DST_ADDR: memcpy(p, dir ? r->cli : r->srv, f->len); return p + f->len;
    case XV_SRC_PORT: return put16(p, dir ? r->srv_port : r->cli_port);
    case XV_DST_PORT: return put16(p, dir ? r->cli_port : r->srv_port);
    case XV_PROTO: return put8(p, r->proto);
    case XV_TCP_FLAGS: return put8(p, r->tcp_flags);
    case XV_OCTETS: return put64(p, r->octets[dir]);
    case XV_PACKETS: return put64(p, r->packets[dir]);
    case XV_START_MS: return put64(p, r->start_ms);
    case XV_END_MS: return put64(p, r->end_ms);
    case XV_VLAN: return put16(p, r->vlan);
    case XV_INGRESS_IF: return put32(p, r->ingress_if);
    case XV_OBS_POINT: return put32(p, r->obs_point);
    case XV_END_REASON: return put8(p, r->end_reason);
    case XV_DIRECTION: return put8(p, (uint8_t)(dir + 1));   /* 1 initiator, 2 reverseInitiator */
    case XV_APP_ID: return put_app_id(p, f->len, r->app_id);
    case XV_HTTP_STATUS: return put16(p, r->http_status);
    case XV_RTT: case XV_RTT_SERVER: case XV_RTT_CLIENT: case XV_HTTP_SVC: case XV_TLS_HS: case XV_DNS_RTT:
        return put_lat(p, f->len, r->lat_us[f->value - XV_RTT]);   /* in enum export_lat_value's order */
    default: break;
    }
    uint16_t n = 0;
    const char *s = f->value <= XV_USER && slot_of_value[f->value] ? slot_str(r, slot_of_value[f->value] - 1, &n)
                                                                   : NULL;
    return f->len == EXPORT_VARLEN ? put_varlen(p, s, n) : put_fixstr(p, s, n, f->len);
}

/* put_value for the options record's fields, with the two only it has. */
static uint8_t *put_option_value(struct export_encoder *e, uint8_t *p, const struct export_field *f,
                                 const struct export_record *r)
{
    switch (f->value) {
    case XV_SCOPE_DOMAIN: return put32(p, e->o.domain);
    case XV_APP_DESC: {              /* fixed length */
        char desc[32];
        int n = snprintf(desc, sizeof(desc), "nDPI id %u", (unsigned)r->app_id);
        memset(p, 0, f->len);
        memcpy(p, desc, (size_t)n < f->len ? (size_t)n : f->len - 1u);
        return p + f->len;
    }
    default: return put_value(p, f, r, 0);
    }
}

/* The fields every data template starts with (export_ie.c), in order: put_base writes them
 * as one step. */
static const uint8_t base_values[] = {
    XV_SRC_ADDR, XV_DST_ADDR, XV_SRC_PORT, XV_DST_PORT, XV_PROTO, XV_TCP_FLAGS, XV_OCTETS, XV_PACKETS,
    XV_START_MS, XV_END_MS, XV_VLAN, XV_INGRESS_IF, XV_OBS_POINT, XV_END_REASON, XV_DIRECTION,
};
#define NBASE (sizeof(base_values) / sizeof(base_values[0]))

/* How many of template t's first fields put_base writes: NBASE when they are base_values with the
 * lengths put_base writes, else 0 (each field is then a step of its own). */
static uint8_t base_count(const struct export_field *f, int n)
{
    static const uint8_t lens[NBASE] = { 0, 0, 2, 2, 1, 1, 8, 8, 8, 8, 2, 4, 4, 1, 1 };
    if (n < (int)NBASE)
        return 0;
    for (size_t i = 0; i < NBASE; i++)
        if (f[i].value != base_values[i] || (lens[i] ? f[i].len != lens[i] : f[i].len != f[0].len) ||
            (i < 2 && f[i].len != 4 && f[i].len != 16))
            return 0;
    return NBASE;
}

/* put_value for base_values, one after the other; alen: the address length (4 or 16). */
static inline uint8_t *put_base(uint8_t *p, const struct export_record *r, int dir, uint16_t alen)
{
    const uint8_t *src = dir ? r->srv : r->cli, *dst = dir ? r->cli : r->srv;
    if (alen == 4) {                 /* constant sizes: two moves each, no memcpy call */
        memcpy(p, src, 4);
        memcpy(p + 4, dst, 4);
    } else {
        memcpy(p, src, 16);
        memcpy(p + 16, dst, 16);
    }
    p += 2 * alen;
    p = put16(p, dir ? r->srv_port : r->cli_port);
    p = put16(p, dir ? r->cli_port : r->srv_port);
    p = put8(p, r->proto);
    p = put8(p, r->tcp_flags);
    p = put64(p, r->octets[dir]);
    p = put64(p, r->packets[dir]);
    p = put64(p, r->start_ms);
    p = put64(p, r->end_ms);
    p = put16(p, r->vlan);
    p = put32(p, r->ingress_if);
    p = put32(p, r->obs_point);
    p = put8(p, r->end_reason);
    return put8(p, (uint8_t)(dir + 1));
}

/* The steps of a data record (struct export_op): made once per template, so a record is written
 * without looking at its fields' descriptions. */
enum { OP_BASE, OP_APP_ID, OP_APP_ID_NAME, OP_STR_VAR, OP_STR_FIX, OP_HTTP_STATUS, OP_LAT, OP_FIELD };

static struct export_op op_of(const struct export_field *f, int i)
{
    if (f->value == XV_APP_ID)
        return (struct export_op){ OP_APP_ID, 0, f->len };
    if (f->value <= XV_USER && slot_of_value[f->value])
        return (struct export_op){ f->len == EXPORT_VARLEN ? OP_STR_VAR : OP_STR_FIX,
                                   (uint8_t)(slot_of_value[f->value] - 1), f->len };
    if (f->value == XV_HTTP_STATUS)
        return (struct export_op){ OP_HTTP_STATUS, 0, f->len };
    if (f->value >= XV_RTT && f->value <= XV_DNS_RTT)
        return (struct export_op){ OP_LAT, (uint8_t)(f->value - XV_RTT), f->len };
    return (struct export_op){ OP_FIELD, (uint8_t)i, f->len };
}

/* Data record r for direction dir, through template tp's steps; v: r's strings. Returns the end. */
static inline uint8_t *put_ops(uint8_t *p, const struct export_tpl *tp, const struct export_record *r,
                               const struct rec_strs *v, int dir)
{
    for (const struct export_op *op = tp->ops, *end = op + tp->nops; op < end; op++)
        switch (op->code) {
        case OP_BASE: p = put_base(p, r, dir, op->len); break;
        case OP_APP_ID: p = put_app_id(p, op->len, r->app_id); break;
        case OP_APP_ID_NAME:         /* both variable length (IPFIX): every record has them */
            p = put_varlen(put_app_id(p, EXPORT_VARLEN, r->app_id), v->s[SS_APP_NAME], v->n[SS_APP_NAME]);
            break;
        case OP_STR_VAR: p = put_varlen(p, v->s[op->arg], v->n[op->arg]); break;
        case OP_STR_FIX: {
            uint16_t n;
            const char *s = slot_str(r, op->arg, &n);
            p = put_fixstr(p, s, n, op->len);
            break;
        }
        case OP_HTTP_STATUS: p = put16(p, r->http_status); break;
        case OP_LAT: p = put_lat(p, op->len, r->lat_us[op->arg]); break;
        default: p = put_value(p, &tp->fields[op->arg], r, dir); break;
        }
    return p;
}

_Static_assert((EXPORT_LAT_RTT_SERVER << EXPORT_LAT_SHIFT) == EXPORT_HAS_RTT_SERVER &&
               (EXPORT_LAT_RTT << EXPORT_LAT_SHIFT) == EXPORT_HAS_RTT &&
               (EXPORT_LAT_HTTP << EXPORT_LAT_SHIFT) == EXPORT_HAS_HTTP_SVC &&
               (EXPORT_LAT_TLS << EXPORT_LAT_SHIFT) == EXPORT_HAS_TLS_HS &&
               (EXPORT_LAT_DNS << EXPORT_LAT_SHIFT) == EXPORT_HAS_DNS_RTT, "latency bits are template groups");

/* The optional groups of the initiator's record (the strings ride on it only; the other has none). */
static unsigned groups_of(const struct export_record *r)
{
    return (r->dns_qname.len ? EXPORT_HAS_DNS : 0u) |
           (r->http_host.len || r->http_url.len || r->http_status ? EXPORT_HAS_HTTP : 0u) |
           (r->tls_sni.len ? EXPORT_HAS_TLS : 0u) | (r->user.len ? EXPORT_HAS_USER : 0u) |
           ((unsigned)(r->lat & 0x1f) << EXPORT_LAT_SHIFT);
}

/* Bytes of r's data record of template tp; fills v with its variable-length strings (put_ops). */
static inline size_t data_len(const struct export_tpl *tp, const struct export_record *r, struct rec_strs *v)
{
    size_t n = tp->min_len;
    for (int i = 0; i < tp->nvar; i++) {    /* the variable-length strings: a length byte (3 from 255) */
        int k = tp->var[i];
        v->s[k] = slot_str(r, k, &v->n[k]);
        n += (v->n[k] < 255 ? 1u : 3u) + v->n[k];
    }
    return n;
}

/* ---- sets and messages ---- */

static inline void set_open(struct export_encoder *e, uint16_t id)
{
    e->set_start = e->cur->len;
    put16(put16(tail(e), id), 0);
    e->cur->len += SET_HDR;
    e->open_set = id;
}

static inline void set_close(struct export_encoder *e)
{
    if (e->open_set < 0)
        return;
    if (!is_ipfix(e))
        while ((e->cur->len - e->set_start) % 4)
            e->cur->buf[e->cur->len++] = 0;
    put16(e->cur->buf + e->set_start + 2, (uint16_t)(e->cur->len - e->set_start));
    e->open_set = -1;
}

static size_t fields_len(const struct export_field *f, int n)
{
    size_t len = 0;
    for (int i = 0; i < n; i++)
        len += f[i].pen ? 8 : 4;
    return len;
}

static uint8_t *put_fields(uint8_t *p, const struct export_field *f, int n)
{
    for (int i = 0; i < n; i++) {
        p = put16(put16(p, (uint16_t)(f[i].id | (f[i].pen ? 0x8000 : 0))), f[i].len);
        if (f[i].pen)
            p = put32(p, f[i].pen);
    }
    return p;
}

static int bit_get(const uint8_t *bits, unsigned i) { return (bits[i / 8] >> (i % 8)) & 1; }
static void bit_set(uint8_t *bits, unsigned i) { bits[i / 8] |= (uint8_t)(1u << (i % 8)); }

static size_t template_set_len(const struct export_encoder *e, unsigned t)
{
    return SET_HDR + 4 + fields_len(e->tpl[t]->fields, e->tpl[t]->nfields) + PAD_MAX;
}

/* Template t, made now when it is the first record to need it; NULL when memory runs out. */
static struct export_tpl *tpl_get(struct export_encoder *e, unsigned t)
{
    struct export_tpl *tp = e->tpl[t];
    if (tp)
        return tp;
    if (!(tp = calloc(1, sizeof(*tp))))
        return NULL;
    int n = export_template_fields(e->o.protocol, t, tp->fields);
    tp->nfields = (uint8_t)n;
    int i = base_count(tp->fields, n);
    if (i)
        tp->ops[tp->nops++] = (struct export_op){ OP_BASE, 0, tp->fields[0].len };
    for (int k = i; k < n; k++) {
        const struct export_field *f = &tp->fields[k];
        if (f->value == XV_APP_ID && f->len == EXPORT_VARLEN && k + 1 < n && f[1].value == XV_APP_NAME &&
            f[1].len == EXPORT_VARLEN) {
            tp->ops[tp->nops++] = (struct export_op){ OP_APP_ID_NAME, 0, EXPORT_VARLEN };
            k++;
        } else {
            tp->ops[tp->nops++] = op_of(f, k);
        }
    }
    for (i = 0; i < n; i++) {
        const struct export_field *f = &tp->fields[i];
        if (f->len != EXPORT_VARLEN)
            tp->min_len = (uint16_t)(tp->min_len + f->len);
        else if (f->value == XV_APP_ID)
            tp->min_len = (uint16_t)(tp->min_len + 1 + 5);     /* put_app_id writes it so */
        else if (f->value <= XV_USER && slot_of_value[f->value] && tp->nvar < EXPORT_TPL_VARS)
            tp->var[tp->nvar++] = (uint8_t)(slot_of_value[f->value] - 1);
    }
    return e->tpl[t] = tp;
}

static void put_template(struct export_encoder *e, unsigned t)
{
    set_close(e);
    set_open(e, is_ipfix(e) ? 2 : 0);
    const struct export_tpl *tp = e->tpl[t];
    uint8_t *p = put16(put16(tail(e), export_template_id(t)), tp->nfields);
    p = put_fields(p, tp->fields, tp->nfields);
    e->cur->len = (uint32_t)(p - e->cur->buf);
    set_close(e);
    bit_set(e->announced, t);
    bit_set(e->used, t);
    e->cur_all_records++;
}

static size_t app_len(const struct export_encoder *e, int with_template)
{
    size_t rec = 0;
    for (int i = 0; i < e->napp_fields; i++)
        rec += e->app_fields[i].len;
    size_t tpl = SET_HDR + 6 + fields_len(e->app_fields, e->napp_fields) + PAD_MAX;
    return (with_template ? tpl : 0) + SET_HDR + rec + PAD_MAX;
}

/* The options template (IPFIX set 3, NetFlow v9 flowset 1). */
static void put_app_template(struct export_encoder *e)
{
    int n = e->napp_fields, ns = e->napp_scope;
    set_close(e);
    set_open(e, is_ipfix(e) ? 3 : 1);
    uint8_t *p = put16(tail(e), EXPORT_APP_TEMPLATE_ID);
    if (is_ipfix(e))
        p = put16(put16(p, (uint16_t)n), (uint16_t)ns);
    else
        p = put16(put16(p, (uint16_t)(4 * ns)), (uint16_t)(4 * (n - ns)));
    p = put_fields(p, e->app_fields, n);
    e->cur->len = (uint32_t)(p - e->cur->buf);
    set_close(e);
    e->app_tpl_announced = 1;
    e->cur_all_records++;
}

/* One applicationId -> name record, alone in its set: nfcapd 1.7 reads an
 * IPFIX options set as if its records had no scope fields, so a second
 * record in the same set would be read at the wrong offset. */
static void put_app(struct export_encoder *e, const struct export_record *r)
{
    if (!e->app_tpl_announced)
        put_app_template(e);
    set_close(e);
    set_open(e, EXPORT_APP_TEMPLATE_ID);
    uint8_t *p = tail(e);
    for (int i = 0; i < e->napp_fields; i++)
        p = put_option_value(e, p, &e->app_fields[i], r);
    e->cur->len = (uint32_t)(p - e->cur->buf);
    set_close(e);
    e->apps_announced[r->app_id / 8] |= (uint8_t)(1u << (r->app_id % 8));
    e->cur->data_records++;
    e->cur_all_records++;
}

static int app_announced(const struct export_encoder *e, uint16_t id)
{
    return (e->apps_announced[id / 8] >> (id % 8)) & 1;
}

/* Remembers an application's name for export_encoder_announce. */
static int app_remember(struct export_encoder *e, const struct export_record *r)
{
    for (uint32_t i = 0; i < e->napps; i++)
        if (e->apps[i].id == r->app_id)
            return 0;
    if (e->napps == e->apps_cap) {
        uint32_t cap = e->apps_cap ? 2 * e->apps_cap : 64;
        struct export_app *a = realloc(e->apps, cap * sizeof(*a));
        if (!a)
            return -1;
        e->apps = a;
        e->apps_cap = cap;
    }
    struct export_app *a = &e->apps[e->napps++];
    uint16_t n = r->app_name.s ? (r->app_name.len < EXPORT_APP_NAME_MAX ? r->app_name.len : EXPORT_APP_NAME_MAX) : 0;
    a->id = r->app_id;
    if (n)
        memcpy(a->name, r->app_name.s, n);
    a->name[n] = '\0';
    return 0;
}

static int msg_begin(struct export_encoder *e, uint64_t now_ms)
{
    if ((e->o.refresh_s && now_ms >= e->refresh_ms && now_ms - e->refresh_ms >= e->o.refresh_s * 1000ULL) ||
        (e->o.refresh_msgs && e->msgs_since_refresh >= e->o.refresh_msgs)) {
        export_encoder_forget(e);
        e->refresh_ms = now_ms;
    }
    struct export_msg *m = malloc(sizeof(*m) + e->o.max_message);
    if (!m)
        return -1;
    memset(m, 0, sizeof(*m));
    m->protocol = (uint8_t)e->o.protocol;
    m->len = hdr_len(e);
    e->cur = m;
    e->open_set = -1;
    e->cur_all_records = 0;
    return 0;
}

static void msg_finish(struct export_encoder *e, uint64_t now_ms)
{
    struct export_msg *m = e->cur;
    set_close(e);
    uint8_t *p = m->buf;
    if (is_ipfix(e)) {
        p = put16(put16(p, 10), (uint16_t)m->len);
    } else {
        p = put16(put16(p, 9), (uint16_t)e->cur_all_records);
        p = put32(p, (uint32_t)(now_ms - e->start_ms));     /* sysUptime */
    }
    p = put32(p, (uint32_t)(now_ms / 1000));                /* export time / unix_secs */
    put32(put32(p, 0), e->o.domain);                        /* sequence: export_msg_stamp */
    e->cur = NULL;
    e->msgs++;
    e->msgs_since_refresh++;
    e->o.emit(e->o.arg, m);
}

/* ---- records ---- */

/* Room in the message for a record of template t (need bytes) with the template and the application
 * name it needs ahead of it when not sent yet, which are written; a full message goes first. */
static int make_room(struct export_encoder *e, const struct export_record *r, unsigned t, size_t need,
                     uint64_t now_ms)
{
    uint16_t tid = export_template_id(t);
    int need_tpl, need_app;
    for (;;) {
        if (!e->cur && msg_begin(e, now_ms) != 0)
            return -1;
        need_tpl = !bit_get(e->announced, t);
        need_app = !app_announced(e, r->app_id);
        size_t total = need + PAD_MAX + (e->open_set != tid || need_tpl || need_app ? SET_HDR : 0) +
                       (need_tpl ? template_set_len(e, t) : 0) + (need_app ? app_len(e, !e->app_tpl_announced) : 0);
        if (e->cur->len + total <= e->o.max_message)
            break;
        if (e->cur->len == hdr_len(e))   /* cannot happen with EXPORT_MSG_MIN and the caps */
            return -1;
        msg_finish(e, now_ms);
    }
    if (need_tpl)
        put_template(e, t);
    if (need_app) {
        if (app_remember(e, r) != 0)
            return -1;
        put_app(e, r);
    }
    return 0;
}

static int put_record(struct export_encoder *e, const struct export_record *r, unsigned groups, int dir,
                      uint64_t now_ms)
{
    unsigned t = export_template_index(r->ipver, groups);
    uint16_t tid = export_template_id(t);
    const struct export_tpl *tp = e->tpl[t] ? e->tpl[t] : tpl_get(e, t);
    if (!tp)
        return -1;
    struct rec_strs v;
    size_t need = data_len(tp, r, &v);
    /* the common case, a record that fits after what was sent already, then make_room's exact sum */
    if (!(e->cur && bit_get(e->announced, t) && app_announced(e, r->app_id) &&
          e->cur->len + need + PAD_MAX + SET_HDR <= e->o.max_message) &&
        make_room(e, r, t, need, now_ms) != 0)
        return -1;
    if (e->open_set != tid) {
        set_close(e);
        set_open(e, tid);
    }
    uint8_t *p = put_ops(tail(e), tp, r, &v, dir);
    e->cur->len = (uint32_t)(p - e->cur->buf);
    e->cur->flow_records++;
    e->cur->data_records++;
    e->cur_all_records++;
    e->flow_records++;
    return 0;
}

int export_encoder_add(struct export_encoder *e, const struct export_record *r, uint64_t now_ms)
{
    int n = 0;
    for (int dir = 0; dir < 2; dir++) {
        if (!r->packets[dir] && (dir == 1 || r->packets[1]))
            continue;
        if (put_record(e, r, dir ? 0 : groups_of(r), dir, now_ms) != 0) {
            e->oom_drops++;
            return -1;
        }
        n++;
    }
    return n;
}

void export_encoder_flush(struct export_encoder *e, uint64_t now_ms)
{
    if (e->cur && e->cur->len > hdr_len(e))
        msg_finish(e, now_ms);
}

void export_encoder_forget(struct export_encoder *e)
{
    memset(e->announced, 0, sizeof(e->announced));
    e->app_tpl_announced = 0;
    memset(e->apps_announced, 0, sizeof(e->apps_announced));
    e->msgs_since_refresh = 0;
}

/* Makes room for need bytes, starting a new message when the current one is full. */
static int room_for(struct export_encoder *e, size_t need, uint64_t now_ms)
{
    if (e->cur && e->cur->len + need > e->o.max_message)
        msg_finish(e, now_ms);
    return e->cur || msg_begin(e, now_ms) == 0 ? 0 : -1;
}

int export_encoder_announce(struct export_encoder *e, uint64_t now_ms)
{
    export_encoder_flush(e, now_ms);
    export_encoder_forget(e);
    e->refresh_ms = now_ms;
    for (unsigned t = 0; t < EXPORT_TEMPLATES; t++)
        if (bit_get(e->used, t)) {
            if (room_for(e, template_set_len(e, t), now_ms) != 0)
                return -1;
            put_template(e, t);
        }
    for (uint32_t i = 0; i < e->napps; i++) {
        struct export_record r;
        memset(&r, 0, sizeof(r));
        r.app_id = e->apps[i].id;
        r.app_name.s = e->apps[i].name;
        r.app_name.len = (uint16_t)strlen(e->apps[i].name);
        if (room_for(e, app_len(e, !e->app_tpl_announced), now_ms) != 0)
            return -1;
        put_app(e, &r);
    }
    export_encoder_flush(e, now_ms);
    return 0;
}

int export_encoder_init(struct export_encoder *e, const struct export_encoder_opts *o, uint64_t now_ms)
{
    memset(e, 0, sizeof(*e));
    if ((o->protocol != EXPORT_IPFIX && o->protocol != EXPORT_NETFLOW9) || !o->emit ||
        o->max_message < EXPORT_MSG_MIN || o->max_message > EXPORT_MSG_MAX)
        return -1;
    e->o = *o;
    e->napp_fields = export_app_template_fields(o->protocol, e->app_fields, &e->napp_scope);
    e->start_ms = e->refresh_ms = now_ms;
    e->open_set = -1;
    return 0;
}

void export_encoder_destroy(struct export_encoder *e)
{
    free(e->cur);
    free(e->apps);
    e->cur = NULL;
    e->apps = NULL;
    for (unsigned t = 0; t < EXPORT_TEMPLATES; t++) {
        free(e->tpl[t]);
        e->tpl[t] = NULL;
    }
}

void export_msg_stamp(struct export_msg *m, uint32_t *seq)
{
    put32(m->buf + (m->protocol == EXPORT_IPFIX ? 8 : 12), *seq);
    *seq += m->protocol == EXPORT_IPFIX ? m->data_records : 1;
}
