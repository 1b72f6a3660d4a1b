/* test_cloud.c - unit tests of the cloud replication's pure parts: flat JSON reader, hash slots, redirects. */
#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_json.h"
#include "tests/unit/check.h"

static int parse(const char *s, char *buf, struct cloud_json_field *f, int max)
{
    return cloud_json_parse(s, strlen(s), buf, strlen(s) + 1, f, max);
}

TEST_CASE(json_flow_end)
{
    const char *s = "{\"key\":\"flow.tcp.10.0.0.1:40000-198.51.100.7:80\",\"reason\":\"idle\",\"cli.port\":40000,"
                    "\"bytes.c2s\":123,\"first.seen\":1700000000.123,\"tcp.flags\":\"FSPA\"}";
    char buf[512];
    struct cloud_json_field f[16];
    int n = parse(s, buf, f, 16);
    CHECK_INT(n, 6);
    CHECK_STR(cloud_json_get(f, n, "key")->val, "flow.tcp.10.0.0.1:40000-198.51.100.7:80");
    CHECK_STR(cloud_json_get(f, n, "cli.port")->val, "40000");
    CHECK_INT(cloud_json_get(f, n, "cli.port")->is_str, 0);
    CHECK_INT(cloud_json_get(f, n, "tcp.flags")->is_str, 1);
    CHECK_STR(cloud_json_get(f, n, "first.seen")->val, "1700000000.123");
    CHECK(cloud_json_get(f, n, "user") == NULL);
}

TEST_CASE(json_escapes)
{
    const char *s = " { \"a\" : \"x\\\"y\\\\z\\/\\n\" , \"u\":\"\\u00e9\\ud83d\\ude00\", \"e\":\"\" } ";
    char buf[128];
    struct cloud_json_field f[4];
    int n = parse(s, buf, f, 4);
    CHECK_INT(n, 3);
    CHECK_STR(f[0].val, "x\"y\\z/\n");
    CHECK_INT(f[0].vlen, 7);
    CHECK_STR(f[1].val, "\xc3\xa9\xf0\x9f\x98\x80");
    CHECK_STR(f[2].val, "");
    CHECK_INT(f[2].is_str, 1);
}

TEST_CASE(json_malformed)
{
    static const char *bad[] = { "", "[]", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}", "{\"a\":\"x}", "{\"a\":{}}",
                                 "{\"a\":[1]}", "{\"a\":1 \"b\":2}", "{a:1}", "{\"a\":\"\\q\"}", "{\"a\":\"\\u12\"}" };
    char buf[64];
    struct cloud_json_field f[4];
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (parse(bad[i], buf, f, 4) != -1)
            CHECK_STR(bad[i], "(should be rejected)");
    CHECK_INT(parse("{}", buf, f, 4), 0);
}

TEST_CASE(json_more_fields_than_room)
{
    const char *s = "{\"a\":1,\"b\":\"two\",\"c\":3}";
    char buf[64];
    struct cloud_json_field f[2];
    CHECK_INT(parse(s, buf, f, 2), 2);
    CHECK_STR(f[1].val, "two");
}

TEST_CASE(json_buffer_is_enough)
{
    /* the output never exceeds the input: a buffer of len + 1 always suffices */
    const char *s = "{\"k\":1,\"x\":\"\\u0041\",\"y\":\"\\ud83d\\ude00\"}";
    size_t len = strlen(s);
    char *buf = malloc(len + 1);
    struct cloud_json_field f[4];
    CHECK_INT(cloud_json_parse(s, len, buf, len + 1, f, 4), 3);
    CHECK_STR(f[1].val, "A");
    free(buf);
}

TEST_CASE(crc16_and_slots)
{
    CHECK_INT(cloud_crc16("123456789", 9), 0x31C3);
    CHECK_INT(cloud_key_slot("foo", 3), 12182);
    CHECK_INT(cloud_key_slot("bar", 3), 5061);
    const char *a = "{user1000}.following", *b = "{user1000}.followers";
    CHECK_INT(cloud_key_slot(a, strlen(a)), cloud_key_slot(b, strlen(b)));
    CHECK_INT(cloud_key_slot(a, strlen(a)), cloud_key_slot("user1000", 8));
    /* empty tag: the whole key is hashed; only the first {...} counts */
    CHECK_INT(cloud_key_slot("foo{}{bar}", 10), cloud_crc16("foo{}{bar}", 10) & 16383);
    CHECK_INT(cloud_key_slot("foo{{bar}}zap", 13), cloud_key_slot("{bar", 4));
    CHECK_INT(cloud_key_slot("foo{bar}{zap}", 13), cloud_key_slot("bar", 3));
    CHECK(cloud_key_slot("", 0) < 16384);
}

TEST_CASE(hostport)
{
    char h[64];
    int p = 0;
    CHECK_INT(cloud_parse_hostport("127.0.0.1:7000", 14, h, sizeof(h), &p), 0);
    CHECK_STR(h, "127.0.0.1");
    CHECK_INT(p, 7000);
    CHECK_INT(cloud_parse_hostport("[::1]:6381", 10, h, sizeof(h), &p), 0);
    CHECK_STR(h, "::1");
    CHECK_INT(cloud_parse_hostport("::1:6381", 8, h, sizeof(h), &p), 0);
    CHECK_STR(h, "::1");
    CHECK_INT(p, 6381);
    CHECK_INT(cloud_parse_hostport("localhost:1", 11, h, sizeof(h), &p), 0);
    CHECK_INT(cloud_parse_hostport("host", 4, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport("host:", 5, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport(":80", 3, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport("h:0", 3, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport("h:65536", 7, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport("h:12a", 5, h, sizeof(h), &p), -1);
    CHECK_INT(cloud_parse_hostport("averyveryverylonghostname:1", 27, h, 8, &p), -1);
}

TEST_CASE(redirects)
{
    char h[64];
    unsigned slot = 0;
    int p = 0;
    const char *m = "MOVED 3999 127.0.0.1:6381";
    CHECK_INT(cloud_parse_redirect(m, strlen(m), &slot, h, sizeof(h), &p), CLOUD_REDIR_MOVED);
    CHECK_INT(slot, 3999);
    CHECK_STR(h, "127.0.0.1");
    CHECK_INT(p, 6381);
    const char *a = "ASK 16383 10.0.0.2:7002";
    CHECK_INT(cloud_parse_redirect(a, strlen(a), &slot, h, sizeof(h), &p), CLOUD_REDIR_ASK);
    CHECK_INT(slot, 16383);
    CHECK_STR(h, "10.0.0.2");
    static const char *none[] = { "ERR unknown", "MOVED", "MOVED 16384 h:1", "MOVED x h:1", "ASK 1 h", "MOVED 1",
                                  "LOADING Redis is loading" };
    for (size_t i = 0; i < sizeof(none) / sizeof(none[0]); i++)
        if (cloud_parse_redirect(none[i], strlen(none[i]), &slot, h, sizeof(h), &p) != CLOUD_REDIR_NONE)
            CHECK_STR(none[i], "(not a redirect)");
}

int main(void)
{
    RUN(json_flow_end);
    RUN(json_escapes);
    RUN(json_malformed);
    RUN(json_more_fields_than_room);
    RUN(json_buffer_is_enough);
    RUN(crc16_and_slots);
    RUN(hostport);
    RUN(redirects);
    return CHECK_DONE("cloud");
}
