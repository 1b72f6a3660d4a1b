/* test_sip.c - byte-vector tests for dissectors/sip.c: start lines, headers, framing, TCP stream; tshark on public captures (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/sip.h"
#include "tests/unit/check.h"
#include "tests/unit/tshark_rows.h"

/* An INVITE with an SDP offer (after RFC 4317 / RFC 3665 examples). */
static const char invite[] =
    "INVITE sip:bob@biloxi.example.com SIP/2.0\r\n"
    "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9\r\n"
    "Max-Forwards: 70\r\n"
    "From: \"Alice \\\"A\\\"\" <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: Bob <sip:bob@biloxi.example.com>\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Contact: <sip:alice@client.atlanta.example.com;transport=udp>\r\n"
    "Content-Type: application/sdp\r\n"
    "Content-Length: 151\r\n"
    "\r\n"
    "v=0\r\n"
    "o=alice 2890844526 2890844526 IN IP4 client.atlanta.example.com\r\n"
    "s=-\r\n"
    "c=IN IP4 192.0.2.101\r\n"
    "t=0 0\r\n"
    "m=audio 49172 RTP/AVP 0\r\n"
    "a=rtpmap:0 PCMU/8000\r\n";

static const char ok200[] =
    "SIP/2.0 200 OK\r\n"
    "Via: SIP/2.0/UDP client.atlanta.example.com:5060;branch=z9hG4bK74bf9;received=192.0.2.101\r\n"
    "From: <sip:alice@atlanta.example.com>;tag=9fxced76sl\r\n"
    "To: <sip:bob@biloxi.example.com> ; tag = 8321234356\r\n"
    "Call-ID: 3848276298220188511@atlanta.example.com\r\n"
    "CSeq: 1 INVITE\r\n"
    "Content-Length: 0\r\n"
    "\r\n";

static int parse(const char *s, enum sip_transport t, struct sip_msg *m)
{
    return sip_parse((const uint8_t *)s, strlen(s), t, m);
}

TEST_CASE(invite_with_sdp)
{
    static struct sip_msg m;
    char ep[SDP_ENDPOINT_TEXT_MAX];
    uint32_t clock = 0;
    CHECK_INT(parse(invite, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.is_request, 1);
    CHECK_INT(m.method, SIP_M_INVITE);
    CHECK_STR(m.method_name, "INVITE");
    CHECK_STR(m.ruri, "sip:bob@biloxi.example.com");
    CHECK_INT(m.status, 0);
    CHECK_STR(m.call_id, "3848276298220188511@atlanta.example.com");
    CHECK_STR(m.from.display, "Alice \"A\"");
    CHECK_STR(m.from.uri, "sip:alice@atlanta.example.com");
    CHECK_STR(m.from.tag, "9fxced76sl");
    CHECK_STR(m.to.display, "Bob");
    CHECK_STR(m.to.uri, "sip:bob@biloxi.example.com");
    CHECK_STR(m.to.tag, "");
    CHECK_INT(m.cseq, 1);
    CHECK_INT(m.cseq_method, SIP_M_INVITE);
    CHECK_INT(m.content_length, 151);
    CHECK_INT(m.body_len, 151);
    CHECK_INT(m.head_len + m.body_len, strlen(invite));
    CHECK_INT(m.body_cut, 0);
    CHECK_INT(m.cut, 0);
    CHECK_INT(m.has_sdp, 1);
    CHECK_INT(m.sdp.media_n, 1);
    CHECK_STR(m.sdp.media[0].type, "audio");
    CHECK_INT(m.sdp.media[0].port, 49172);
    CHECK_INT(sdp_endpoint_format(&m.sdp.media[0].addr, m.sdp.media[0].port, ep, sizeof(ep)), 17);
    CHECK_STR(ep, "192.0.2.101:49172");
    CHECK_STR(sdp_media_codec(&m.sdp.media[0], &clock), "PCMU");
    CHECK_INT(clock, 8000);
    CHECK_INT(parse(invite, SIP_TCP, &m), DISSECT_OK);
    CHECK_INT(m.body_len, 151);
}

TEST_CASE(response_takes_cseq_method)
{
    static struct sip_msg m;
    CHECK_INT(parse(ok200, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.is_request, 0);
    CHECK_INT(m.status, 200);
    CHECK_INT(m.method, SIP_M_INVITE);
    CHECK_STR(m.method_name, "INVITE");
    CHECK_STR(m.ruri, "");
    CHECK_STR(m.to.tag, "8321234356");
    CHECK_INT(m.content_length, 0);
    CHECK_INT(m.has_sdp, 0);
    CHECK_INT(parse("SIP/2.0 486\r\nCSeq: 7 BYE\r\n\r\n", SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.status, 486);
    CHECK_INT(m.method, SIP_M_BYE);
    CHECK_INT(m.cseq, 7);
    CHECK_INT(m.content_length, -1);
}

TEST_CASE(compact_forms_and_case)
{
    static struct sip_msg m;
    static const char msg[] =
        "BYE sip:alice@pc33.atlanta.example.com SIP/2.0\r\n"
        "v: SIP/2.0/TCP 192.0.2.4;branch=z9hG4bKnashds10\r\n"
        "F: sip:bob@biloxi.example.com;tag=a6c85cf\r\n"
        "t: \"Alice\"<sip:alice@atlanta.example.com>;tag=1928301774\r\n"
        "I: a84b4c76e66710\r\n"
        "cseq: 231 BYE\r\n"
        "m: <sip:bob@192.0.2.4>\r\n"
        "L : 0\r\n"
        "\r\n";
    CHECK_INT(parse(msg, SIP_TCP, &m), DISSECT_OK);
    CHECK_INT(m.method, SIP_M_BYE);
    CHECK_STR(m.call_id, "a84b4c76e66710");
    CHECK_STR(m.from.uri, "sip:bob@biloxi.example.com");
    CHECK_STR(m.from.tag, "a6c85cf");
    CHECK_STR(m.from.display, "");
    CHECK_STR(m.to.display, "Alice");
    CHECK_STR(m.to.tag, "1928301774");
    CHECK_INT(m.cseq, 231);
    CHECK_INT(m.content_length, 0);
}

TEST_CASE(folded_headers_and_bare_lf)
{
    static struct sip_msg m;
    static const char msg[] =
        "OPTIONS sip:carol@chicago.example.com SIP/2.0\n"
        "Subject: I know you're there,\n"
        "   pick up the phone\n"
        "From: \"Bob\"\n"
        "\t <sip:bob@biloxi.example.com>\r\n"
        "  ;tag=a73kszlfl\r\n"
        "Call-ID:\r\n"
        " folded-id@host\n"
        "CSeq: 1\n  OPTIONS\n"
        "l: 4\n"
        "\n"
        "abcd";
    CHECK_INT(parse(msg, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.method, SIP_M_OPTIONS);
    CHECK_STR(m.from.display, "Bob");
    CHECK_STR(m.from.uri, "sip:bob@biloxi.example.com");
    CHECK_STR(m.from.tag, "a73kszlfl");
    CHECK_STR(m.call_id, "folded-id@host");
    CHECK_INT(m.cseq, 1);
    CHECK_STR(m.cseq_method_name, "OPTIONS");
    CHECK_INT(m.body_len, 4);
    CHECK_INT(m.has_sdp, 0);
}

TEST_CASE(udp_body_rules)
{
    static struct sip_msg m;
    static const char none[] = "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\nhello";
    static const char shorter[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nhello";
    static const char longer[] = "MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 9\r\n\r\nhello";
    CHECK_INT(parse(none, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.method, SIP_M_MESSAGE);
    CHECK_INT(m.body_len, 5);
    CHECK_INT(m.body_cut, 0);
    CHECK_INT(parse(none, SIP_TCP, &m), DISSECT_OK);   /* no Content-Length on a stream: no body */
    CHECK_INT(m.body_len, 0);
    CHECK_INT(parse(shorter, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.body_len, 2);
    CHECK_INT(parse(longer, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.body_len, 5);
    CHECK_INT(m.body_cut, 1);
    CHECK_INT(parse(longer, SIP_TCP, &m), DISSECT_NEED_MORE);
    CHECK_INT(m.head_len, strlen(longer) - 5);
    CHECK_INT(m.content_length, 9);
}

TEST_CASE(every_prefix)
{
    static struct sip_msg m;
    size_t n = strlen(invite), head = 0;
    CHECK_INT(parse(invite, SIP_UDP, &m), DISSECT_OK);
    head = m.head_len;
    for (size_t i = 0; i < n; i++) {
        uint8_t *b = malloc(i ? i : 1);
        memcpy(b, invite, i);
        int u = sip_parse(b, i, SIP_UDP, &m), t = sip_parse(b, i, SIP_TCP, &m);
        if (i < head) {
            CHECK_INT(u, DISSECT_NEED_MORE);
            CHECK_INT(t, DISSECT_NEED_MORE);
            /* a snap length cut: the lines before the cut are read */
            const char *cseq = strstr(invite, "CSeq:");
            if (i > (size_t)(cseq - invite))
                CHECK_STR(m.call_id, "3848276298220188511@atlanta.example.com");
        } else {
            CHECK_INT(sip_parse(b, i, SIP_UDP, &m), DISSECT_OK);
            CHECK_INT(m.body_cut, 1);
            CHECK_INT(t, DISSECT_NEED_MORE);
        }
        free(b);
    }
}

TEST_CASE(not_sip)
{
    static struct sip_msg m;
    static const char *const bad[] = {
        "HTTP/1.1 200 OK\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET sip:x HTTP/1.1\r\n\r\n",
        "INVITE sip:a@b SIP/2\r\n\r\n",
        "INVITE sip:a@b SIP/2.0 \r\n\r\n",
        "INVITE  sip:a@b SIP/2.0\r\n\r\n",
        "INVITE nouri SIP/2.0\r\n\r\n",
        "INV(TE sip:a@b SIP/2.0\r\n\r\n",
        "SIP/2.0 99 Low\r\n\r\n",
        "SIP/2.0 700 High\r\n\r\n",
        "SIP/2.0 20x OK\r\n\r\n",
        "SIP/2.0 2000 OK\r\n\r\n",
        "SIP/2.0200 OK\r\n\r\n",
        "SIP/2.0 200 OK\r\nContent-Length: abc\r\n\r\n",
        "SIP/2.0 200 OK\r\nContent-Length: -1\r\n\r\n",
        "SIP/2.0 200 OK\r\nContent-Length: 16777216\r\n\r\n",
        "SIP/2.0 200 OK\r\nl:\r\n\r\n",
        "\x16\x03\x01\x02\x00\x01",
        "\x80\x08\x12\x34",
        "RTSP/1.0 200 OK\r\n",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], SIP_UDP, &m) != DISSECT_MALFORMED)
            CHECK_FAIL_("case %zu \"%s\" is not MALFORMED", i, bad[i]);
        if (parse(bad[i], SIP_TCP, &m) != DISSECT_MALFORMED)
            CHECK_FAIL_("case %zu \"%s\" is not MALFORMED on TCP", i, bad[i]);
    }
    CHECK_INT(parse("INV", SIP_TCP, &m), DISSECT_NEED_MORE);
    CHECK_INT(parse("SI", SIP_TCP, &m), DISSECT_NEED_MORE);
    CHECK_INT(parse("\r\n\r\n", SIP_TCP, &m), DISSECT_NEED_MORE);
    CHECK_INT(parse("\r\nACK sip:a@b SIP/2.0\r\n\r\n", SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.method, SIP_M_ACK);
    CHECK_INT(parse("FOO sip:a@b SIP/2.0\r\nCSeq: 4 FOO\r\n\r\n", SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(m.method, SIP_M_OTHER);
    CHECK_STR(m.method_name, "FOO");
    CHECK_STR(sip_method_name(m.method), "OTHER");
    CHECK_STR(sip_method_name(SIP_M_PRACK), "PRACK");
    CHECK_STR(sip_method_name(200), "OTHER");
}

TEST_CASE(party_forms)
{
    static struct sip_msg m;
    static const char msg[] =
        "NOTIFY sip:x@y SIP/2.0\r\n"
        "From: Alice Liddell <sip:alice@wonderland.example;user=phone>;foo;TAG=t1;x=y\r\n"
        "To: \"unterminated <sip:nope@x>\r\n"
        "CSeq: 12345678901 NOTIFY\r\n"
        "\r\n";
    CHECK_INT(parse(msg, SIP_UDP, &m), DISSECT_OK);
    CHECK_STR(m.from.display, "Alice Liddell");
    CHECK_STR(m.from.uri, "sip:alice@wonderland.example;user=phone");
    CHECK_STR(m.from.tag, "t1");
    CHECK_STR(m.to.display, "unterminated <sip:nope@x>");
    CHECK_STR(m.to.uri, "");
    CHECK_INT(m.cseq, 0);                               /* over 32 bits: not taken */
    CHECK_STR(m.cseq_method_name, "");
}

TEST_CASE(escaping_and_cut_fields)
{
    static struct sip_msg m;
    char msg[1024];
    char longid[301];
    memset(longid, 'k', 300);
    longid[300] = '\0';
    snprintf(msg, sizeof(msg), "INFO sip:a@b SIP/2.0\r\nCall-ID: %s\r\nFrom: <sip:\xc3\xa9@x\x01>\r\n\r\n", longid);
    CHECK_INT(parse(msg, SIP_UDP, &m), DISSECT_OK);
    CHECK_INT(strlen(m.call_id), SIP_TEXT_MAX - 1);
    CHECK_INT(m.cut & SIP_CUT_CALL_ID, SIP_CUT_CALL_ID);
    CHECK_INT(m.cut & SIP_CUT_FROM, 0);
    CHECK_STR(m.from.uri, "sip:\xc3\xa9@x\\x01");
    CHECK_INT(sip_is_keepalive((const uint8_t *)"\r\n\r\n", 4), 1);
    CHECK_INT(sip_is_keepalive((const uint8_t *)"     ", 5), 1);
    CHECK_INT(sip_is_keepalive((const uint8_t *)"\r\nx", 3), 0);
    CHECK_INT(sip_is_keepalive((const uint8_t *)"", 0), 0);
}

/* Collects what a stream delivered. */
struct got {
    int n;
    char call_ids[8][SIP_TEXT_MAX];
    int body_cut[8];
    uint32_t body_len[8];
};

static void on_msg(void *arg, const struct sip_msg *m)
{
    struct got *g = arg;
    if (g->n < 8) {
        snprintf(g->call_ids[g->n], sizeof(g->call_ids[0]), "%s", m->call_id);
        g->body_cut[g->n] = m->body_cut;
        g->body_len[g->n] = m->body_len;
    }
    g->n++;
}

/* Feeds s in pieces of chunk bytes (0: whole). Returns the last result. */
static int feed(struct sip_stream *st, const char *s, size_t n, size_t chunk, struct got *g)
{
    int rc = DISSECT_OK;
    for (size_t off = 0; off < n;) {
        size_t k = chunk && chunk < n - off ? chunk : n - off;
        int r = sip_stream_feed(st, (const uint8_t *)s + off, k, on_msg, g);
        if (r != DISSECT_OK)
            rc = r;
        off += k;
    }
    return rc;
}

TEST_CASE(stream_split_anywhere)
{
    static struct sip_stream st;
    static char two[4096];
    int n = snprintf(two, sizeof(two), "\r\n\r\n%s\r\n%s\r\n\r\n", invite, ok200);
    for (size_t chunk = 0; chunk <= 17; chunk++) {
        struct got g;
        memset(&g, 0, sizeof(g));
        sip_stream_init(&st);
        CHECK_INT(feed(&st, two, (size_t)n, chunk, &g), DISSECT_OK);
        CHECK_INT(g.n, 2);
        CHECK_STR(g.call_ids[0], "3848276298220188511@atlanta.example.com");
        CHECK_INT(g.body_len[0], 151);
        CHECK_INT(st.msgs, 2);
        CHECK_INT(st.len, 0);
    }
}

TEST_CASE(stream_oversized_body_and_dead)
{
    static struct sip_stream st;
    static char big[SIP_STREAM_BUF * 3];
    struct got g;
    int h = snprintf(big, sizeof(big), "MESSAGE sip:a@b SIP/2.0\r\nCall-ID: big\r\nContent-Length: 20000\r\n\r\n");
    memset(big + h, 'x', 20000);
    int n = h + 20000;
    n += snprintf(big + n, sizeof(big) - (size_t)n, "%s", ok200);
    memset(&g, 0, sizeof(g));
    sip_stream_init(&st);
    CHECK_INT(feed(&st, big, (size_t)n, 1000, &g), DISSECT_OK);
    CHECK_INT(g.n, 2);
    CHECK_STR(g.call_ids[0], "big");
    CHECK_INT(g.body_cut[0], 1);
    CHECK_INT(g.body_len[0], SIP_STREAM_BUF - h);
    CHECK_STR(g.call_ids[1], "3848276298220188511@atlanta.example.com");
    CHECK_INT(st.cut, 1);

    /* a head that never ends within the buffer */
    memset(&g, 0, sizeof(g));
    sip_stream_init(&st);
    h = snprintf(big, sizeof(big), "OPTIONS sip:a@b SIP/2.0\r\n");
    for (; h < SIP_STREAM_BUF + 100; h += 10)
        memcpy(big + h, "X-A: 1234\n", 10);
    CHECK_INT(feed(&st, big, (size_t)h, 0, &g), DISSECT_MALFORMED);
    CHECK_INT(st.dead, 1);
    CHECK_INT(sip_stream_feed(&st, (const uint8_t *)ok200, strlen(ok200), on_msg, &g), DISSECT_OK);
    CHECK_INT(g.n, 0);

    /* good message, then junk in the same call */
    memset(&g, 0, sizeof(g));
    sip_stream_init(&st);
    n = snprintf(big, sizeof(big), "%s\x16\x03\x01 junk\r\n", ok200);
    CHECK_INT(feed(&st, big, (size_t)n, 0, &g), DISSECT_MALFORMED);
    CHECK_INT(g.n, 1);
}

/* ---- real traffic: every SIP message tshark sees, against tshark's fields ---- */

struct shared_sip {
    long msgs, bad, sdp;
};

static void shared_sip_row(void *arg, char **f, int nf)
{
    static uint8_t buf[65536];
    static struct sip_msg m;
    struct shared_sip *s = arg;
    long n = tshark_unhex(f[0], buf, sizeof(buf));
    s->msgs++;
    if (n < 0 || sip_parse(buf, (size_t)n, SIP_UDP, &m) != DISSECT_OK) {
        s->bad++;
        CHECK_FAIL_("frame %s does not parse", f[7]);
        return;
    }
    CHECK_STR(m.call_id, f[1]);
    CHECK_STR(m.is_request ? m.method_name : "", f[2]);
    CHECK_INT(m.status, atoi(f[3]));
    CHECK_INT(m.cseq, strtoul(f[4], NULL, 10));
    CHECK_STR(m.cseq_method_name, f[5]);
    CHECK_STR(m.from.tag, f[6]);
    if (f[8][0]) {                      /* SDP: first media port and its address */
        char ep[SDP_ENDPOINT_TEXT_MAX], want[SDP_ENDPOINT_TEXT_MAX];
        s->sdp++;
        CHECK_INT(m.has_sdp, 1);
        CHECK_INT(m.sdp.media[0].port, atoi(f[8]));
        snprintf(want, sizeof(want), "%s:%s", f[9], f[8]);
        sdp_endpoint_format(&m.sdp.media[0].addr, m.sdp.media[0].port, ep, sizeof(ep));
        CHECK_STR(ep, want);
    }
    (void)nf;
}

static void shared_sip_pcap(const char *rel, const char *path)
{
    static const char *const fields[] = {
        "udp.payload", "sip.Call-ID", "sip.Method", "sip.Status-Code", "sip.CSeq.seq", "sip.CSeq.method",
        "sip.from.tag", "frame.number", "sdp.media.port", "sdp.connection_info.address",
    };
    struct shared_sip s = { 0, 0, 0 };
    CHECK(tshark_rows(path, "", "sip && udp", 'l', fields, 10, shared_sip_row, &s) > 0);
    printf("sip: %s: %ld SIP messages (%ld with SDP) match tshark, %ld not parsed\n", rel, s.msgs, s.sdp, s.bad);
}

TEST_CASE(shared_sip_captures)
{
    static const char *const pcaps[] = { "ndpi/sip.pcap", "other/sip_wireshark_zeek.pcap", "ndpi-dev/gre.pcap" };
    tshark_each_shared("sip", pcaps, sizeof(pcaps) / sizeof(pcaps[0]), shared_sip_pcap);
}

int main(void)
{
    RUN(invite_with_sdp);
    RUN(response_takes_cseq_method);
    RUN(compact_forms_and_case);
    RUN(folded_headers_and_bare_lf);
    RUN(udp_body_rules);
    RUN(every_prefix);
    RUN(not_sip);
    RUN(party_forms);
    RUN(escaping_and_cut_fields);
    RUN(stream_split_anywhere);
    RUN(stream_oversized_body_and_dead);
    RUN(shared_sip_captures);
    return CHECK_DONE("sip");
}
