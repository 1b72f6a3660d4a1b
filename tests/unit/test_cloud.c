/* test_cloud.c - unit tests of the cloud replication's pure parts: hash slots, host:port, redirects. */
#include <stdlib.h>
#include <string.h>

#include "server/replication/cloud_cluster.h"
#include "server/replication/cloud_cmd.h"
#include "tests/unit/check.h"

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

/* A command is routed by its key: argv[1], or a script's first key. */
TEST_CASE(command_slots)
{
    const char *hset[] = { "HINCRBY", "dns.example.com", "queries", "1" };
    const char *eval[] = { "EVAL", "return 1", "2", "x.{dns.example.com}", "dns.example.com" };
    const char *fcall[] = { "fcall", "f", "1", "foo" };
    const char *nokeys[] = { "EVAL", "return 1", "0" };
    struct cloud_cmd *c[4] = { cloud_cmd_newv(0, 4, hset), NULL, cloud_cmd_newv(0, 4, fcall),
                               cloud_cmd_newv(0, 3, nokeys) };
    size_t lens[5];
    for (int i = 0; i < 5; i++)
        lens[i] = strlen(eval[i]);
    c[1] = cloud_cmd_new(0, 5, eval, lens);
    CHECK_INT(c[0]->slot, cloud_key_slot("dns.example.com", 15));
    CHECK_INT(c[1]->slot, c[0]->slot);
    CHECK_INT(c[2]->slot, cloud_key_slot("foo", 3));
    CHECK_INT(c[3]->slot, 0);
    for (int i = 0; i < 4; i++)
        cloud_cmd_free(c[i]);
}

int main(void)
{
    RUN(crc16_and_slots);
    RUN(hostport);
    RUN(redirects);
    RUN(command_slots);
    return CHECK_DONE("cloud");
}
