/* test_export.c - unit tests for server/export (IPFIX and NetFlow v9 encoder): byte vectors, sequence numbers, batching; single-threaded. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/export/export_encoder.h"
#include "tests/unit/check.h"
#include "tests/unit/export_decode.h"

#define T0 1700000000123ULL          /* a wall-clock time in ms */
#define MSGS_MAX 4096

/* What the encoder emitted, in order. */
static struct export_msg *msgs[MSGS_MAX];
static int nmsgs;

static void collect(void *arg, struct export_msg *m)
{
    (void)arg;
    if (nmsgs < MSGS_MAX)
        msgs[nmsgs++] = m;
    else
        free(m);
}

static void msgs_free(void)
{
    for (int i = 0; i < nmsgs; i++)
        free(msgs[i]);
    nmsgs = 0;
}

static void enc_init(struct export_encoder *e, enum export_protocol p, uint32_t max, uint32_t refresh_s, uint32_t refresh_msgs)
{
    struct export_encoder_opts o = { p, 7, max, refresh_s, refresh_msgs, collect, NULL };
    msgs_free();
    CHECK_INT(export_encoder_init(e, &o, T0), 0);
}

/* Parses "0a 0b ..." into out; returns the byte count. */
static size_t hex(const char *s, uint8_t *out)
{
    size_t n = 0;
    while (*s) {
        if (*s == ' ' || *s == '\n') { s++; continue; }
        unsigned v;
        sscanf(s, "%2x", &v);
        out[n++] = (uint8_t)v;
        s += 2;
    }
    return n;
}

#define CHECK_BYTES(got, want_hex) do { uint8_t w_[512]; size_t n_ = hex(want_hex, w_); \
    for (size_t i_ = 0; i_ < n_; i_++) if ((got)[i_] != w_[i_]) { \
        CHECK_FAIL_("byte %zu: got %02x, want %02x", i_, (got)[i_], w_[i_]); break; } } while (0)

/* 10.0.0.1:40000 -> 192.0.2.9:443 TCP, 3 packets / 180 bytes out, 2 / 1200 back, TLS. */
static struct export_record rec_v4(void)
{
    struct export_record r;
    memset(&r, 0, sizeof(r));
    r.ipver = 4;
    r.proto = 6;
    r.tcp_flags = 0x1b;
    r.end_reason = EXPORT_END_FIN;
    r.vlan = 42;
    r.cli_port = 40000;
    r.srv_port = 443;
    memcpy(r.cli, "\x0a\x00\x00\x01", 4);
    memcpy(r.srv, "\xc0\x00\x02\x09", 4);
    r.octets[0] = 180;
    r.octets[1] = 1200;
    r.packets[0] = 3;
    r.packets[1] = 2;
    r.start_ms = T0 - 2000;
    r.end_ms = T0 - 1000;
    r.ingress_if = 1;
    r.app_id = 91;
    r.app_name = (struct export_str){ "TLS", 3 };
    return r;
}

static struct export_record rec_v6(void)
{
    struct export_record r = rec_v4();
    r.ipver = 6;
    memcpy(r.cli, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x01", 16);
    memcpy(r.srv, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\x53", 16);
    return r;
}

static void decode_all(struct xd_state *s, int ipfix)
{
    memset(s, 0, sizeof(*s));
    s->ipfix = ipfix;
    for (int i = 0; i < nmsgs; i++)
        CHECK_INT(xd_message(s, msgs[i]->buf, msgs[i]->len), 0);
}

static const char ipfix_template_v4[] =
    "00 02 00 4c 01 00 00 11"
    " 00 08 00 04 00 0c 00 04 00 07 00 02 00 0b 00 02 00 04 00 01 00 06 00 01"
    " 00 01 00 08 00 02 00 08 00 98 00 08 00 99 00 08 00 3a 00 02 00 0a 00 04"
    " 00 8a 00 04 00 88 00 01 00 ef 00 01 00 5f ff ff 00 60 ff ff";

static const char ipfix_app_template[] =
    "00 03 00 1a 01 40 00 04 00 01 00 95 00 04 00 5f 00 05 00 60 00 20 00 5e 00 20";

TEST_CASE(ipfix_first_message_bytes)
{
    struct export_encoder e;
    struct export_record r = rec_v4();
    r.packets[1] = 0;                /* one direction: one record */
    enc_init(&e, EXPORT_IPFIX, EXPORT_MSG_UDP, 0, 0);
    CHECK_INT(export_encoder_add(&e, &r, T0), 1);
    CHECK_INT(nmsgs, 0);             /* batched until full or flushed */
    export_encoder_flush(&e, T0);
    CHECK_INT(nmsgs, 1);
    const uint8_t *b = msgs[0]->buf;
    CHECK_INT(msgs[0]->len, 16 + 76 + 26 + 77 + 72);
    /* header: version 10, length, export time, sequence (0 until stamped), domain 7 */
    CHECK_BYTES(b, "00 0a 01 0b 65 53 f1 00 00 00 00 00 00 00 00 07");
    CHECK_BYTES(b + 16, ipfix_template_v4);
    CHECK_BYTES(b + 92, ipfix_app_template);
    /* options record alone in its set: domain, applicationId 13/91, "TLS", "nDPI id 91" */
    CHECK_BYTES(b + 118, "01 40 00 4d 00 00 00 07 0d 00 00 00 5b 54 4c 53 00");
    CHECK_BYTES(b + 118 + 45, "6e 44 50 49 20 69 64 20 39 31 00");
    /* the data set: addresses, ports, proto, flags, octets, packets, start, end,
     * vlan, ingress, observation point, end reason, direction, app id, app name */
    CHECK_BYTES(b + 195,
        "01 00 00 48 0a 00 00 01 c0 00 02 09 9c 40 01 bb 06 1b"
        " 00 00 00 00 00 00 00 b4 00 00 00 00 00 00 00 03"
        " 00 00 01 8b cf e5 60 ab 00 00 01 8b cf e5 64 93"
        " 00 2a 00 00 00 01 00 00 00 00 03 01 05 0d 00 00 00 5b 03 54 4c 53");
    CHECK_INT(msgs[0]->flow_records, 1);
    CHECK_INT(msgs[0]->data_records, 2);
    export_encoder_destroy(&e);
    msgs_free();
}

TEST_CASE(netflow9_first_message_bytes)
{
    struct export_encoder e;
    struct export_record r = rec_v4();
    r.packets[1] = 0;
    enc_init(&e, EXPORT_NETFLOW9, EXPORT_MSG_UDP, 0, 0);
    CHECK_INT(export_encoder_add(&e, &r, T0), 1);
    export_encoder_flush(&e, T0 + 5000);
    CHECK_INT(nmsgs, 1);
    const uint8_t *b = msgs[0]->buf;
    /* header: version 9, count 4 (template, options template, option, data),
     * sysUptime 5000 ms, unix secs, sequence, source id */
    CHECK_BYTES(b, "00 09 00 04 00 00 13 88 65 53 f1 05 00 00 00 00 00 00 00 07");
    /* template flowset 0: no applicationName, applicationId fixed at 5 */
    CHECK_BYTES(b + 20,
        "00 00 00 48 01 00 00 10"
        " 00 08 00 04 00 0c 00 04 00 07 00 02 00 0b 00 02 00 04 00 01 00 06 00 01"
        " 00 01 00 08 00 02 00 08 00 98 00 08 00 99 00 08 00 3a 00 02 00 0a 00 04"
        " 00 8a 00 04 00 88 00 01 00 ef 00 01 00 5f 00 05");
    /* options template flowset 1 (scope System, 4 bytes), padded to 28 */
    CHECK_BYTES(b + 92, "00 01 00 1c 01 40 00 04 00 0c 00 01 00 04 00 5f 00 05 00 60 00 20 00 5e 00 20 00 00");
    CHECK_BYTES(b + 120, "01 40 00 50 00 00 00 07 0d 00 00 00 5b 54 4c 53 00");
    /* data flowset: 63-byte record padded to 68 */
    CHECK_BYTES(b + 200, "01 00 00 44 0a 00 00 01 c0 00 02 09 9c 40 01 bb 06 1b");
    CHECK_INT(msgs[0]->len, 200 + 68);
    CHECK_BYTES(b + 200 + 4 + 58, "0d 00 00 00 5b 00");
    export_encoder_destroy(&e);
    msgs_free();
}

TEST_CASE(both_directions_and_ipv6)
{
    struct export_encoder e;
    struct export_record r = rec_v6();
    struct xd_state s;
    enc_init(&e, EXPORT_IPFIX, EXPORT_MSG_UDP, 0, 0);
    CHECK_INT(export_encoder_add(&e, &r, T0), 2);
    export_encoder_flush(&e, T0);
    decode_all(&s, 1);
    CHECK_INT(s.flow_records, 2);
    CHECK_INT(s.octets, 1380);
    CHECK_INT(s.packets, 5);
    CHECK_INT(s.napps, 1);
    CHECK_STR(s.app_names[0], "TLS");
    CHECK_INT(s.app_ids[0], 91);
    /* template 272 (IPv6, no groups): addresses are 16 bytes; the second
     * record is the reverse one: source is the server */
    struct xd_template *t = xd_find(&s, 256 + 16);
    CHECK(t != NULL);
    if (t) {
        CHECK_INT(t->ie[0], 27);
        CHECK_INT(t->len[0], 16);
    }
    const uint8_t *b = msgs[0]->buf, *end = b + msgs[0]->len;
    size_t rec = 16 + 16 + 2 + 2 + 1 + 1 + 8 + 8 + 8 + 8 + 2 + 4 + 4 + 1 + 1 + 6 + 4;
    const uint8_t *second = end - rec;
    CHECK_BYTES(second, "20 01 0d b8 00 00 00 00 00 00 00 00 00 00 00 53 20 01 0d b8");
    CHECK_BYTES(second + 32, "01 bb 9c 40");
    CHECK_INT(second[rec - 11], 2);  /* biflowDirection: reverseInitiator */
    export_encoder_destroy(&e);
    msgs_free();
}

TEST_CASE(sequence_numbers)
{
    for (int p = 0; p < 2; p++) {
        struct export_encoder e;
        struct export_record r = rec_v4();
        enc_init(&e, (enum export_protocol)p, EXPORT_MSG_MIN, 0, 0);
        for (int i = 0; i < 200; i++) {
            r.cli_port = (uint16_t)(1000 + i);
            export_encoder_add(&e, &r, T0);
        }
        export_encoder_flush(&e, T0);
        CHECK(nmsgs > 5);
        uint32_t seq = 0xfffffff0u, want = seq;  /* wraps modulo 2^32 */
        for (int i = 0; i < nmsgs; i++) {
            export_msg_stamp(msgs[i], &seq);
            uint32_t got = xd_get(msgs[i]->buf + (p == 0 ? 8 : 12), 4);
            CHECK_INT(got, want);
            want += p == 0 ? msgs[i]->data_records : 1;
        }
        CHECK_INT(seq, want);
        export_encoder_destroy(&e);
        msgs_free();
    }
}

TEST_CASE(batching_fills_messages)
{
    for (int p = 0; p < 2; p++) {
        struct export_encoder e;
        struct xd_state s;
        struct export_record r = rec_v4();
        uint64_t octets = 0, packets = 0;
        enc_init(&e, (enum export_protocol)p, EXPORT_MSG_UDP, 0, 0);
        for (int i = 0; i < 1000; i++) {
            r.cli_port = (uint16_t)i;
            r.octets[0] = 100 + (uint64_t)i;
            r.packets[1] = (uint64_t)(i % 3);    /* some flows one-way */
            r.ipver = i % 4 == 3 ? 6 : 4;
            octets += r.octets[0] + (r.packets[1] ? r.octets[1] : 0);
            packets += r.packets[0] + r.packets[1];
            export_encoder_add(&e, &r, T0);
        }
        export_encoder_flush(&e, T0);
        decode_all(&s, p == 0);
        CHECK_INT(s.flow_records, 1000 + 666);
        CHECK_INT(e.flow_records, 1666);
        CHECK_INT(s.octets, octets);
        CHECK_INT(s.packets, packets);
        size_t biggest_rec = p == 0 ? 4 + 92 + 3 : 4 + 87 + 3;    /* set header, v6 record, pad */
        for (int i = 0; i < nmsgs; i++) {
            CHECK(msgs[i]->len <= EXPORT_MSG_UDP);
            if (i < nmsgs - 1 && msgs[i]->len + biggest_rec <= EXPORT_MSG_UDP)
                CHECK_FAIL_("message %d of %d has room left: %u bytes", i, nmsgs, (unsigned)msgs[i]->len);
        }
        export_encoder_destroy(&e);
        msgs_free();
    }
}

TEST_CASE(string_groups)
{
    struct export_encoder e;
    struct xd_state s;
    struct export_record r = rec_v4();
    r.app_id = 5;
    r.app_name = (struct export_str){ "DNS", 3 };
    r.dns_qname = (struct export_str){ "www.example.com", 15 };
    for (int p = 0; p < 2; p++) {
        enc_init(&e, (enum export_protocol)p, EXPORT_MSG_UDP, 0, 0);
        export_encoder_add(&e, &r, T0);
        export_encoder_flush(&e, T0);
        decode_all(&s, p == 0);
        CHECK_STR(s.last_dns, "www.example.com");
        CHECK(xd_find(&s, 256 + EXPORT_HAS_DNS) != NULL);  /* initiator: with the name */
        CHECK(xd_find(&s, 256) != NULL);                   /* reverse: without */
        CHECK_INT(s.last_app_id, 5);
        export_encoder_destroy(&e);
    }
    msgs_free();
}

/* The largest record, with its templates and name, fits the smallest message. */
TEST_CASE(largest_record_fits)
{
    static char big[1024];
    memset(big, 'x', sizeof(big));
    struct export_record r = rec_v6();
    struct export_str s = { big, 1000 };
    r.app_name = r.dns_qname = r.http_host = r.http_url = r.tls_sni = r.user = s;
    r.http_status = 200;
    for (int p = 0; p < 2; p++) {
        struct export_encoder e;
        struct xd_state st;
        enc_init(&e, (enum export_protocol)p, EXPORT_MSG_MIN, 0, 0);
        CHECK_INT(export_encoder_add(&e, &r, T0), 2);
        export_encoder_flush(&e, T0);
        decode_all(&st, p == 0);
        CHECK_INT(st.flow_records, 2);
        for (int i = 0; i < nmsgs; i++)
            CHECK(msgs[i]->len <= EXPORT_MSG_MIN);
        export_encoder_destroy(&e);
        msgs_free();
    }
}

static int count_template_sets(const struct export_msg *m)
{
    int n = 0, ipfix = m->protocol == EXPORT_IPFIX;
    for (size_t off = ipfix ? 16 : 20; off + 4 <= m->len;) {
        uint16_t id = (uint16_t)xd_get(m->buf + off, 2);
        n += ipfix ? id == 2 : id == 0;
        off += xd_get(m->buf + off + 2, 2);
    }
    return n;
}

TEST_CASE(template_refresh)
{
    struct export_encoder e;
    struct export_record r = rec_v4();
    /* by messages: every 3rd message carries the template again */
    enc_init(&e, EXPORT_IPFIX, EXPORT_MSG_MIN, 0, 3);
    for (int i = 0; i < 400; i++)
        export_encoder_add(&e, &r, T0);
    export_encoder_flush(&e, T0);
    CHECK(nmsgs >= 9);
    for (int i = 0; i < nmsgs; i++)
        CHECK_INT(count_template_sets(msgs[i]), i % 3 == 0);
    export_encoder_destroy(&e);
    /* by time: once 10 s have passed */
    enc_init(&e, EXPORT_NETFLOW9, EXPORT_MSG_UDP, 10, 0);
    export_encoder_add(&e, &r, T0);
    export_encoder_flush(&e, T0);
    export_encoder_add(&e, &r, T0 + 9999);
    export_encoder_flush(&e, T0 + 9999);
    export_encoder_add(&e, &r, T0 + 10000);
    export_encoder_flush(&e, T0 + 10000);
    CHECK_INT(nmsgs, 3);
    if (nmsgs == 3) {
        CHECK_INT(count_template_sets(msgs[0]), 1);
        CHECK_INT(count_template_sets(msgs[1]), 0);
        CHECK_INT(count_template_sets(msgs[2]), 1);
    }
    export_encoder_destroy(&e);
    msgs_free();
}

/* A new TCP session: the announce messages alone let a new collector read
 * records encoded earlier. */
TEST_CASE(announce_for_new_session)
{
    struct export_encoder e;
    struct export_record r = rec_v4(), r6 = rec_v6();
    struct xd_state s;
    enc_init(&e, EXPORT_IPFIX, EXPORT_MSG_TCP, 0, 0);
    export_encoder_add(&e, &r, T0);
    r6.app_id = 7;
    r6.app_name = (struct export_str){ "HTTP", 4 };
    export_encoder_add(&e, &r6, T0);
    export_encoder_flush(&e, T0);
    export_encoder_add(&e, &r6, T0);          /* encoded before the reconnect... */
    struct export_msg *queued[4];
    int nq = 0;
    export_encoder_flush(&e, T0);
    queued[nq++] = msgs[--nmsgs];             /* ...and still queued */
    msgs_free();
    CHECK_INT(export_encoder_announce(&e, T0), 0);
    CHECK_INT(nmsgs, 1);
    memset(&s, 0, sizeof(s));
    s.ipfix = 1;
    for (int i = 0; i < nmsgs; i++)
        CHECK_INT(xd_message(&s, msgs[i]->buf, msgs[i]->len), 0);
    CHECK_INT(s.template_records, 3);         /* v4, v6, options */
    CHECK_INT(s.napps, 2);
    CHECK_INT(xd_message(&s, queued[0]->buf, queued[0]->len), 0);
    CHECK_INT(s.flow_records, 2);
    free(queued[0]);
    export_encoder_destroy(&e);
    msgs_free();
}

TEST_CASE(init_checks_options)
{
    struct export_encoder e;
    struct export_encoder_opts o = { EXPORT_IPFIX, 1, EXPORT_MSG_MIN - 1, 0, 0, collect, NULL };
    CHECK_INT(export_encoder_init(&e, &o, T0), -1);
    o.max_message = EXPORT_MSG_MAX + 1;
    CHECK_INT(export_encoder_init(&e, &o, T0), -1);
    o.max_message = EXPORT_MSG_MAX;
    o.emit = NULL;
    CHECK_INT(export_encoder_init(&e, &o, T0), -1);
    o.emit = collect;
    o.protocol = (enum export_protocol)2;
    CHECK_INT(export_encoder_init(&e, &o, T0), -1);
}

int main(void)
{
    RUN(ipfix_first_message_bytes);
    RUN(netflow9_first_message_bytes);
    RUN(both_directions_and_ipv6);
    RUN(sequence_numbers);
    RUN(batching_fills_messages);
    RUN(string_groups);
    RUN(largest_record_fits);
    RUN(template_refresh);
    RUN(announce_for_new_session);
    RUN(init_checks_options);
    return CHECK_DONE("test_export");
}
