/* export_decode.h - a strict reader of IPFIX / NetFlow v9 messages for the export tests and fuzz target (single-threaded). */
#ifndef FC_TEST_EXPORT_DECODE_H
#define FC_TEST_EXPORT_DECODE_H

#include <stdint.h>
#include <string.h>

/* Written apart from server/export so the tests check the encoder against
 * the RFCs, not against itself. */

#define XD_TEMPLATES 64
#define XD_FIELDS 48

struct xd_template {
    uint16_t id;
    int n, nscope;
    uint16_t ie[XD_FIELDS], len[XD_FIELDS];
    uint32_t pen[XD_FIELDS];
};

struct xd_state {
    int ipfix;                       /* 1: IPFIX, 0: NetFlow v9 */
    struct xd_template t[XD_TEMPLATES];
    int nt;
    uint64_t messages, flow_records, option_records, template_records;
    uint64_t octets, packets;        /* sums over flow records */
    uint32_t seq, domain;            /* of the last message */
    uint16_t app_ids[64];            /* applicationId selectors named by option records */
    char app_names[64][33];
    int napps;
    uint16_t last_app_id;            /* of the last flow record */
    char last_dns[256];              /* dnsQueryName of the last flow record with one */
};

static uint32_t xd_get(const uint8_t *p, int n)
{
    uint32_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static uint64_t xd_get64(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v = v << 8 | p[i];
    return v;
}

static struct xd_template *xd_find(struct xd_state *s, uint16_t id)
{
    for (int i = 0; i < s->nt; i++)
        if (s->t[i].id == id)
            return &s->t[i];
    return NULL;
}

/* Reads one template (or options template) record; returns its size or -1. */
static int xd_template(struct xd_state *s, const uint8_t *p, size_t left, int options)
{
    size_t hdr = options ? 6 : 4, off;
    if (left < hdr)
        return -1;
    struct xd_template t;
    memset(&t, 0, sizeof(t));
    t.id = (uint16_t)xd_get(p, 2);
    if (!options) {
        t.n = (int)xd_get(p + 2, 2);
    } else if (s->ipfix) {
        t.n = (int)xd_get(p + 2, 2);
        t.nscope = (int)xd_get(p + 4, 2);
    } else {                         /* v9: scope and option lengths in bytes */
        t.nscope = (int)xd_get(p + 2, 2) / 4;
        t.n = t.nscope + (int)xd_get(p + 4, 2) / 4;
    }
    if (t.id < 256 || t.n <= 0 || t.n > XD_FIELDS || t.nscope > t.n || (options && t.nscope == 0))
        return -1;
    off = hdr;
    for (int i = 0; i < t.n; i++) {
        if (left < off + 4)
            return -1;
        uint16_t ie = (uint16_t)xd_get(p + off, 2);
        t.len[i] = (uint16_t)xd_get(p + off + 2, 2);
        off += 4;
        if (s->ipfix && (ie & 0x8000)) {
            if (left < off + 4)
                return -1;
            t.pen[i] = xd_get(p + off, 4);
            off += 4;
            ie &= 0x7fff;
        }
        if (!s->ipfix && t.len[i] == 0xffff)
            return -1;               /* NetFlow v9 has no variable length */
        t.ie[i] = ie;
    }
    struct xd_template *slot = xd_find(s, t.id);
    if (!slot) {
        if (s->nt == XD_TEMPLATES)
            return -1;
        slot = &s->t[s->nt++];
    }
    *slot = t;
    s->template_records++;
    return (int)off;
}

/* Reads one data record of template t; returns its size, or -1. */
static int xd_record(struct xd_state *s, const struct xd_template *t, const uint8_t *p, size_t left)
{
    size_t off = 0;
    int options = t->nscope > 0;
    uint16_t app = 0;
    for (int i = 0; i < t->n; i++) {
        size_t len = t->len[i];
        if (len == 0xffff) {
            if (left < off + 1)
                return -1;
            len = p[off++];
            if (len == 255) {
                if (left < off + 2)
                    return -1;
                len = xd_get(p + off, 2);
                off += 2;
            }
        }
        if (left < off + len)
            return -1;
        const uint8_t *v = p + off;
        if (!t->pen[i] && t->ie[i] == 1 && !options && len <= 8)
            s->octets += xd_get64(v, (int)len);
        if (!t->pen[i] && t->ie[i] == 2 && !options && len <= 8)
            s->packets += xd_get64(v, (int)len);
        if (!t->pen[i] && t->ie[i] == 95 && len == 5)
            app = (uint16_t)xd_get(v + 1, 4);
        if (!t->pen[i] && t->ie[i] == 96 && options && s->napps < 64) {
            s->app_ids[s->napps] = app;
            memcpy(s->app_names[s->napps], v, len < 32 ? len : 32);
            s->app_names[s->napps][len < 32 ? len : 32] = '\0';
            s->napps++;
        }
        if ((t->pen[i] == 32473 || (!s->ipfix && t->ie[i] == 0x8001)) && (t->ie[i] & 0x7fff) == 1 && len < 256) {
            memcpy(s->last_dns, v, len);
            s->last_dns[len] = '\0';
        }
        off += len;
    }
    if (options) {
        s->option_records++;
    } else {
        s->flow_records++;
        s->last_app_id = app;
    }
    return (int)off;
}

/* Reads a set's records; a tail shorter than the smallest record is padding. */
static int xd_set(struct xd_state *s, uint16_t id, const uint8_t *p, size_t len, uint32_t *records)
{
    size_t off = 0;
    int tpl_set = s->ipfix ? (id == 2 || id == 3) : (id == 0 || id == 1);
    int options = s->ipfix ? id == 3 : id == 1;
    if (id < 256 && !tpl_set)
        return -1;
    struct xd_template *t = tpl_set ? NULL : xd_find(s, id);
    if (!tpl_set && !t)
        return -1;                   /* data before its template */
    while (off < len) {
        if (len - off < 4 && (tpl_set || !s->ipfix)) {
            for (; off < len; off++)
                if (p[off])
                    return -1;       /* padding must be zeros */
            break;
        }
        int n = tpl_set ? xd_template(s, p + off, len - off, options) : xd_record(s, t, p + off, len - off);
        if (n <= 0)
            return -1;
        off += (size_t)n;
        (*records)++;
    }
    return 0;
}

/* Reads one message; returns 0, or -1 when anything is malformed. */
static int xd_message(struct xd_state *s, const uint8_t *b, size_t len)
{
    size_t hdr = s->ipfix ? 16 : 20, off = hdr;
    uint32_t records = 0;
    if (len < hdr || xd_get(b, 2) != (s->ipfix ? 10u : 9u))
        return -1;
    if (s->ipfix && xd_get(b + 2, 2) != len)
        return -1;
    s->seq = xd_get(b + (s->ipfix ? 8 : 12), 4);
    s->domain = xd_get(b + (s->ipfix ? 12 : 16), 4);
    while (off < len) {
        if (len - off < 4)
            return -1;
        uint16_t id = (uint16_t)xd_get(b + off, 2);
        size_t slen = xd_get(b + off + 2, 2);
        if (slen < 4 || off + slen > len || (!s->ipfix && slen % 4))
            return -1;
        if (xd_set(s, id, b + off + 4, slen - 4, &records) != 0)
            return -1;
        off += slen;
    }
    if (!s->ipfix && xd_get(b + 2, 2) != records)
        return -1;
    s->messages++;
    return 0;
}

#endif
