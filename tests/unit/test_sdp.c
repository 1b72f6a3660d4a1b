/* test_sdp.c - byte-vector tests for dissectors/sdp.c: connection addresses, media lines, rtpmap, limits (single thread). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dissectors/sdp.h"
#include "tests/unit/check.h"

static int parse(const char *s, struct sdp_info *out)
{
    return sdp_parse((const uint8_t *)s, strlen(s), out);
}

static const char *endpoint(const struct sdp_media *m)
{
    static char buf[SDP_ENDPOINT_TEXT_MAX];
    sdp_endpoint_format(&m->addr, m->port, buf, sizeof(buf));
    return buf;
}

TEST_CASE(session_and_media_connection)
{
    static struct sdp_info s;
    static const char body[] =
        "v=0\r\n"
        "o=- 1 2 IN IP6 2001:db8::1\r\n"
        "s=call\r\n"
        "c=IN IP4 203.0.113.7/127\r\n"
        "a=sendonly\r\n"
        "t=0 0\r\n"
        "m=audio 30000 RTP/AVP 8 0 101\r\n"
        "a=rtpmap:8 PCMA/8000/1\r\n"
        "a=rtpmap:101 telephone-event/8000\r\n"
        "a=rtcp:30011 IN IP4 203.0.113.7\r\n"
        "m=video 30002/2 RTP/AVP 96\n"
        "c=IN IP6 2001:db8::c0de\n"
        "a=rtpmap:96 H264/90000\n"
        "a=inactive\n";
    CHECK_INT(parse(body, &s), DISSECT_OK);
    CHECK_INT(s.origin_addr.family, 6);
    CHECK_INT(s.session_addr.family, 4);
    CHECK_INT(s.media_n, 2);
    CHECK_STR(s.media[0].type, "audio");
    CHECK_STR(s.media[0].proto, "RTP/AVP");
    CHECK_STR(endpoint(&s.media[0]), "203.0.113.7:30000");
    CHECK_INT(s.media[0].addr_from_media, 0);
    CHECK_INT(s.media[0].rtcp_port, 30011);
    CHECK_INT(s.media[0].dir, SDP_DIR_SENDONLY);
    CHECK_INT(s.media[0].fmt_n, 3);
    CHECK_INT(s.media[0].fmt[2], 101);
    CHECK_INT(s.media[0].rtpmap_n, 2);
    CHECK_INT(s.media[0].rtpmap[0].channels, 1);
    CHECK_STR(s.media[0].rtpmap[1].name, "telephone-event");
    CHECK_STR(sdp_media_codec(&s.media[0], NULL), "PCMA");
    CHECK_INT(sdp_media_clock(&s.media[0], 101), 8000);
    CHECK_INT(sdp_media_clock(&s.media[0], 0), 8000);     /* static PCMU, no rtpmap */
    CHECK_INT(sdp_media_clock(&s.media[0], 97), 0);
    CHECK_STR(s.media[1].type, "video");
    CHECK_INT(s.media[1].port, 30002);
    CHECK_INT(s.media[1].nports, 2);
    CHECK_INT(s.media[1].rtcp_port, 30003);
    CHECK_INT(s.media[1].addr_from_media, 1);
    CHECK_STR(endpoint(&s.media[1]), "[2001:db8::c0de]:30002");
    CHECK_INT(s.media[1].dir, SDP_DIR_INACTIVE);
    uint32_t clock = 0;
    CHECK_STR(sdp_media_codec(&s.media[1], &clock), "H264");
    CHECK_INT(clock, 90000);
}

TEST_CASE(static_codec_and_refused_stream)
{
    static struct sdp_info s;
    uint32_t clock = 1;
    CHECK_INT(parse("v=0\r\nc=IN IP4 10.1.2.3\r\nm=audio 5004 RTP/AVP 18\r\nm=audio 0 RTP/AVP 0\r\n", &s), DISSECT_OK);
    CHECK_STR(sdp_media_codec(&s.media[0], &clock), "G729");
    CHECK_INT(clock, 8000);
    CHECK_INT(s.media[1].port, 0);
    CHECK_INT(s.media[1].rtcp_port, 0);
    CHECK(sdp_media_codec(&s.media[1], NULL) != NULL);
    CHECK_INT(parse("v=0\r\nm=audio 5004 RTP/AVP 96\r\n", &s), DISSECT_OK);
    CHECK(sdp_media_codec(&s.media[0], &clock) == NULL);
    CHECK_INT(clock, 0);
    CHECK_INT(s.media[0].addr.family, 0);
    char buf[SDP_ENDPOINT_TEXT_MAX];
    CHECK_INT(sdp_endpoint_format(&s.media[0].addr, 5004, buf, sizeof(buf)), -1);
    CHECK_STR(buf, "");
}

TEST_CASE(odd_lines)
{
    static struct sdp_info s;
    static const char body[] =
        "\r\nv=0\r\n"
        "c=IN IP4 host.example.com\r\n"      /* a name, not an address */
        "garbage line\r\n"
        "X=upper\r\n"
        "m=audio 70000 RTP/AVP 0 foo 300 8 9 10 11 12 13 14 15 16\r\n"
        "c=IN IP4 999.1.1.1\r\n"
        "a=rtpmap:bad PCMU/8000\r\n"
        "a=rtpmap:0 PCMU\r\n"
        "a=rtpmap:8 /8000\r\n"
        "a=rtpmap:9 G722/0\r\n"
        "a=rtcp:0\r\n"
        "m=audio 12x RTP/AVP 0\r\n"
        "m=audio 4000";
    CHECK_INT(parse(body, &s), DISSECT_OK);
    CHECK_INT(s.session_addr.family, 0);
    CHECK_INT(s.media_n, 3);
    CHECK_INT(s.media[0].port, 0);                /* 70000: not a port */
    CHECK_INT(s.media[0].fmt_n, SDP_FMT_MAX);
    CHECK_INT(s.media[0].fmt[0], 0);
    CHECK_INT(s.media[0].fmt[1], 8);
    CHECK_INT(s.media[0].addr.family, 0);
    CHECK_INT(s.media[0].addr_from_media, 1);
    CHECK_INT(s.media[0].rtpmap_n, 0);
    CHECK_INT(s.media[1].port, 0);
    CHECK_INT(s.media[2].port, 4000);
    CHECK_INT(s.media[2].fmt_n, 0);
}

TEST_CASE(limits_and_rejects)
{
    static struct sdp_info s;
    char body[2048];
    int n = snprintf(body, sizeof(body), "v=0\r\nc=IN IP4 192.0.2.1\r\n");
    for (int i = 0; i < SDP_MEDIA_MAX + 3; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "m=audio %d RTP/AVP 0\r\nc=IN IP4 192.0.2.%d\r\n", 1000 + i, 50 + i);
    n += snprintf(body + n, sizeof(body) - (size_t)n, "a=rtpmap:0 PCMU/8000\r\n");
    CHECK_INT(parse(body, &s), DISSECT_OK);
    CHECK_INT(s.media_n, SDP_MEDIA_MAX);
    CHECK_INT(s.media_dropped, 3);
    CHECK_STR(endpoint(&s.media[SDP_MEDIA_MAX - 1]), "192.0.2.53:1003");
    CHECK_STR(endpoint(&s.media[0]), "192.0.2.50:1000");
    CHECK_INT(s.session_addr.ip[3], 1);          /* c= of dropped media do not leak to the session */
    CHECK_INT(s.media[SDP_MEDIA_MAX - 1].rtpmap_n, 0);

    n = snprintf(body, sizeof(body), "v=0\r\nm=audio 1 RTP/AVP 0\r\n");
    for (int i = 0; i < SDP_RTPMAP_MAX + 2; i++)
        n += snprintf(body + n, sizeof(body) - (size_t)n, "a=rtpmap:%d averyveryverylongcodecnamepast24/8000\r\n", 96 + i);
    CHECK_INT(parse(body, &s), DISSECT_OK);
    CHECK_INT(s.media[0].rtpmap_n, SDP_RTPMAP_MAX);
    CHECK_INT(strlen(s.media[0].rtpmap[0].name), SDP_CODEC_MAX - 1);

    CHECK_INT(parse("", &s), DISSECT_MALFORMED);
    CHECK_INT(parse("v", &s), DISSECT_MALFORMED);
    CHECK_INT(parse("o=x\r\nv=0\r\n", &s), DISSECT_MALFORMED);
    CHECK_INT(parse("\r\n\r\n", &s), DISSECT_MALFORMED);
    CHECK_INT(parse("v=", &s), DISSECT_OK);
}

TEST_CASE(every_prefix_is_safe)
{
    static struct sdp_info s;
    static const char body[] = "v=0\r\nc=IN IP6 ::1\r\nm=audio 49170 RTP/AVP 0 8\r\na=rtpmap:8 PCMA/8000\r\n";
    size_t n = strlen(body);
    for (size_t i = 0; i <= n; i++) {
        uint8_t *b = malloc(i ? i : 1);
        memcpy(b, body, i);
        int rc = sdp_parse(b, i, &s);
        CHECK_INT(rc, i < 2 ? DISSECT_MALFORMED : DISSECT_OK);
        free(b);
    }
    CHECK_INT(parse(body, &s), DISSECT_OK);
    CHECK_STR(endpoint(&s.media[0]), "[::1]:49170");
}

int main(void)
{
    RUN(session_and_media_connection);
    RUN(static_codec_and_refused_stream);
    RUN(odd_lines);
    RUN(limits_and_rejects);
    RUN(every_prefix_is_safe);
    return CHECK_DONE("sdp");
}
