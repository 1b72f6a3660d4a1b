/* fuzz_export.c - libFuzzer target for server/export: any records encode into messages a strict reader accepts, counters intact; single-threaded. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/export/export_encoder.h"
#include "tests/unit/export_decode.h"

/* Input: byte 0 = options (bit 0 NetFlow v9, bit 1 announce half-way,
 * bits 2-7 message size), then records, each taking the next bytes for its
 * fields and string lengths, its strings pointing into the input, then a
 * latency mask and, when it is not 0, the six latencies. */

struct cursor { const uint8_t *p; size_t left; };

static uint64_t take(struct cursor *c, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++) {
        v = v << 8 | (c->left ? *c->p : 0);
        if (c->left) { c->p++; c->left--; }
    }
    return v;
}

static struct export_str take_str(struct cursor *c)
{
    size_t len = (size_t)take(c, 1) * 5;     /* up to 1275: past every cap */
    if (len > c->left)
        len = c->left;
    struct export_str s = { (const char *)c->p, (uint16_t)len };
    c->p += len;
    c->left -= len;
    return s;
}

static void take_record(struct cursor *c, struct export_record *r)
{
    memset(r, 0, sizeof(*r));
    uint8_t f = (uint8_t)take(c, 1);
    r->ipver = f & 1 ? 6 : 4;
    r->proto = (uint8_t)take(c, 1);
    r->tcp_flags = (uint8_t)take(c, 1);
    r->end_reason = (uint8_t)take(c, 1);
    r->vlan = (uint16_t)take(c, 2);
    r->cli_port = (uint16_t)take(c, 2);
    r->srv_port = (uint16_t)take(c, 2);
    for (int i = 0; i < 16; i++) {
        r->cli[i] = (uint8_t)take(c, 1);
        r->srv[i] = (uint8_t)take(c, 1);
    }
    r->octets[0] = take(c, f & 2 ? 8 : 2);
    r->octets[1] = take(c, f & 2 ? 8 : 2);
    r->packets[0] = take(c, f & 4 ? 8 : 1);
    r->packets[1] = take(c, f & 4 ? 8 : 1);
    r->start_ms = take(c, 6);
    r->end_ms = take(c, 6);
    r->ingress_if = (uint32_t)take(c, 1);
    r->app_id = (uint16_t)take(c, 2);
    r->http_status = (uint16_t)take(c, 2);
    if (f & 8) r->app_name = take_str(c);
    if (f & 16) r->dns_qname = take_str(c);
    if (f & 32) { r->http_host = take_str(c); r->http_url = take_str(c); }
    if (f & 64) r->tls_sni = take_str(c);
    if (f & 128) r->user = take_str(c);
    r->lat = (uint8_t)take(c, 1);    /* any bits: the encoder keeps the five it knows */
    if (r->lat) {
        for (int k = 0; k < EXPORT_LATS; k++)
            r->lat_us[k] = take(c, k == EXPORT_RTT ? 5 : 4);   /* past 32 bits: saturated (rtt.us: kept) */
    }
}

static struct xd_state st;
static uint32_t max_msg;
static int bad;

static void check_msg(void *arg, struct export_msg *m)
{
    (void)arg;
    if (m->len > max_msg || xd_message(&st, m->buf, m->len) != 0)
        bad = 1;
    free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    struct cursor c = { data + 1, size - 1 };
    enum export_protocol p = data[0] & 1 ? EXPORT_NETFLOW9 : EXPORT_IPFIX;
    max_msg = EXPORT_MSG_MIN + (uint32_t)(data[0] >> 2) * 1000;
    struct export_encoder_opts o = { p, 9, max_msg, 0, 3, check_msg, NULL };
    struct export_encoder e;
    memset(&st, 0, sizeof(st));
    st.ipfix = p == EXPORT_IPFIX;
    bad = 0;
    if (export_encoder_init(&e, &o, 1000) != 0)
        abort();
    uint64_t octets = 0, packets = 0, records = 0;
    for (int i = 0; i < 256 && c.left; i++) {
        struct export_record r;
        take_record(&c, &r);
        int n = export_encoder_add(&e, &r, 1000 + (uint64_t)i);
        if (n < 0)
            abort();                 /* only memory can run out */
        for (int d = 0; d < 2; d++)
            if (r.packets[d] || (d == 0 && !r.packets[1])) {
                octets += r.octets[d];
                packets += r.packets[d];
                records++;
            }
        if ((data[0] & 2) && i == 8 && export_encoder_announce(&e, 2000) != 0)
            abort();
    }
    export_encoder_flush(&e, 3000);
    export_encoder_destroy(&e);
    if (bad || st.flow_records != records || st.octets != octets || st.packets != packets)
        abort();
    return 0;
}
