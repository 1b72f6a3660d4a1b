/* test_flow_key.c - canonical flow keys: the client/server rule (capture/flow/pkt_key.c), names, parsing (capture/cache/flow_key.c). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "capture/cache/flow_key.h"
#include "capture/flow/pkt_key.h"
#include "capture/source/fanout.h"
#include "check.h"

static struct decoded_pkt pkt4(const char *src, uint16_t sport, const char *dst, uint16_t dport,
                               uint8_t proto, uint8_t flags)
{
    struct decoded_pkt p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 4;
    p.l4_proto = proto;
    inet_pton(AF_INET, src, p.src);
    inet_pton(AF_INET, dst, p.dst);
    p.sport = sport;
    p.dport = dport;
    p.has_ports = proto == IPPROTO_TCP || proto == IPPROTO_UDP;
    p.tcp_flags = flags;
    return p;
}

static void name_of(const struct decoded_pkt *p, char *out, int *c2s)
{
    struct flow_key k;
    flow_key_from_pkt(p, &k, c2s);
    flow_key_format(&k, out);
}

TEST_CASE(syn_sender_is_client_even_on_low_port)
{
    char n[FLOW_KEY_NAME_MAX];
    int c2s;
    struct decoded_pkt p = pkt4("10.0.0.9", 80, "10.0.0.1", 40000, IPPROTO_TCP, 0x02);
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.tcp.10.0.0.9:80-10.0.0.1:40000");
    CHECK_INT(c2s, 1);
    p = pkt4("10.0.0.1", 40000, "10.0.0.9", 80, IPPROTO_TCP, 0x12);   /* SYN+ACK from the server */
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.tcp.10.0.0.9:80-10.0.0.1:40000");
    CHECK_INT(c2s, 0);
}

TEST_CASE(well_known_port_is_server_both_directions)
{
    char a[FLOW_KEY_NAME_MAX], b[FLOW_KEY_NAME_MAX];
    int c2s_a, c2s_b;
    struct decoded_pkt q = pkt4("192.0.2.53", 53, "10.1.0.5", 40000, IPPROTO_UDP, 0);
    struct decoded_pkt r = pkt4("10.1.0.5", 40000, "192.0.2.53", 53, IPPROTO_UDP, 0);
    name_of(&q, a, &c2s_a);
    name_of(&r, b, &c2s_b);
    CHECK_STR(a, "flow.udp.10.1.0.5:40000-192.0.2.53:53");
    CHECK_STR(b, a);
    CHECK_INT(c2s_a, 0);
    CHECK_INT(c2s_b, 1);
}

TEST_CASE(known_service_above_1024_and_lower_pair)
{
    char n[FLOW_KEY_NAME_MAX];
    int c2s;
    struct decoded_pkt p = pkt4("10.255.0.10", 1813, "10.254.0.1", 33000, IPPROTO_UDP, 0);
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.udp.10.254.0.1:33000-10.255.0.10:1813");
    p = pkt4("10.0.0.2", 40000, "10.0.0.1", 50000, IPPROTO_UDP, 0);     /* no service: lower address is client */
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.udp.10.0.0.1:50000-10.0.0.2:40000");
    CHECK_INT(c2s, 0);
}

TEST_CASE(every_known_service_port_is_found_and_neighbours_are_not)
{
    /* The table's ends, a middle entry, and ports next to entries: the
     * service side is the server whichever side sent the packet. */
    static const uint16_t svc[] = { 1194, 1812, 5353, 8080, 11211, 27017 };
    static const uint16_t not_svc[] = { 1024, 1193, 1195, 8079, 27018, 65535 };
    int c2s;
    struct flow_key k;
    for (size_t i = 0; i < sizeof(svc) / sizeof(svc[0]); i++) {
        struct decoded_pkt p = pkt4("10.0.0.1", svc[i], "10.0.0.2", 40000, IPPROTO_UDP, 0);
        flow_key_from_pkt(&p, &k, &c2s);
        CHECK_INT(c2s, 0);
        CHECK_INT(k.sport, svc[i]);
    }
    for (size_t i = 0; i < sizeof(not_svc) / sizeof(not_svc[0]); i++) {
        struct decoded_pkt p = pkt4("10.0.0.2", not_svc[i], "10.0.0.1", 40000, IPPROTO_UDP, 0);
        flow_key_from_pkt(&p, &k, &c2s);
        CHECK_INT(c2s, 0);                  /* no service: the lower address is the client */
        CHECK_INT(k.cport, 40000);
    }
}

TEST_CASE(ipv6_vlan_and_icmp_names)
{
    char n[FLOW_KEY_NAME_MAX];
    int c2s;
    struct decoded_pkt p;
    memset(&p, 0, sizeof(p));
    p.ip_version = 6;
    p.l4_proto = IPPROTO_UDP;
    p.has_ports = 1;
    inet_pton(AF_INET6, "2001:db8::1", p.src);
    inet_pton(AF_INET6, "2001:db8::53", p.dst);
    p.sport = 5353;
    p.dport = 53;
    p.vlan = 10;
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.udp.[2001:db8::1]:5353-[2001:db8::53]:53@10");
    p = pkt4("10.0.0.2", 0, "10.0.0.1", 0, IPPROTO_ICMP, 0);
    p.icmp_type = 8;                                                     /* echo request: client */
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.icmp.10.0.0.2:0-10.0.0.1:0");
    p = pkt4("10.0.0.2", 0, "10.0.0.1", 0, 89, 0);                       /* OSPF: number */
    name_of(&p, n, &c2s);
    CHECK_STR(n, "flow.89.10.0.0.1:0-10.0.0.2:0");
}

TEST_CASE(parse_round_trips_and_rejects_non_canonical)
{
    static const char *good[] = {
        "flow.udp.10.1.0.5:40000-192.0.2.53:53", "flow.tcp.10.0.0.9:80-10.0.0.1:40000@4095",
        "flow.udp.[2001:db8::1]:5353-[2001:db8::53]:53@10", "flow.89.10.0.0.1:0-10.0.0.2:0",
        "flow.icmp6.[fe80::1]:0-[ff02::1]:0",
    };
    static const char *bad[] = {
        "flow.udp.10.1.0.5:40000-192.0.2.53:53@0", "flow.udp.010.1.0.5:1-1.2.3.4:2", "flow.udp.1.2.3.4:1-1.2.3.4:70000",
        "flow.udp.[2001:DB8::1]:1-[2001:db8::2]:2", "flow.udp.[2001:db8:0:0::1]:1-[::2]:2", "flow.udp.1.2.3.4:1-1.2.3.4:2@",
        "flow.tcp.1.2.3.4:1-1.2.3.4:2x", "flow.xyz.1.2.3.4:1-1.2.3.4:2", "flow.", "flow.udp.", "flow.udp.1.2.3.4:-1.2.3.4:2",
        "flow.udp.1.2.3.4:01-1.2.3.4:2", "flow.udp.[1.2.3.4]:1-[1.2.3.5]:2", "flow.17.1.2.3.4:1-1.2.3.4:2",
    };
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        struct flow_key k;
        char back[FLOW_KEY_NAME_MAX];
        CHECK_INT(flow_key_parse(good[i], strlen(good[i]), &k), 0);
        flow_key_format(&k, back);
        CHECK_STR(back, good[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct flow_key k;
        int rc = flow_key_parse(bad[i], strlen(bad[i]), &k);
        if (rc != -1)
            CHECK_FAIL_("accepted non-canonical key %s", bad[i]);
    }
}

TEST_CASE(address_and_mac_canonical_forms)
{
    uint8_t a[16], m[6];
    char out[ADDR_STR_MAX], mo[18];
    static const char *quads[] = { "0.0.0.0", "255.255.255.255", "10.0.100.9", "1.20.199.8", "100.64.0.10" };
    for (size_t i = 0; i < sizeof(quads) / sizeof(quads[0]); i++) {
        CHECK_INT(addr_parse_canonical(quads[i], strlen(quads[i]), a), 4);
        CHECK_INT(addr_format(4, a, out), strlen(quads[i]));
        CHECK_STR(out, quads[i]);
    }
    CHECK_INT(addr_parse_canonical("10.0.0.7", 8, a), 4);
    CHECK_INT(addr_parse_canonical("2001:db8::1", 11, a), 6);
    addr_format(6, a, out);
    CHECK_STR(out, "2001:db8::1");
    CHECK_INT(addr_parse_canonical("2001:0db8::1", 12, a), 0);
    CHECK_INT(addr_parse_canonical("10.0.0.07", 9, a), 0);
    CHECK_INT(addr_parse_canonical("", 0, a), 0);
    CHECK_INT(mac_parse_canonical("02:00:00:00:00:0a", 17, m), 0);
    mac_format(m, mo);
    CHECK_STR(mo, "02:00:00:00:00:0a");
    CHECK_INT(mac_parse_canonical("02:00:00:00:00:0A", 17, m), -1);
    CHECK_INT(mac_parse_canonical("02-00-00-00-00-0a", 17, m), -1);
}

/* addr_format writes IPv6 by hand: it must be what inet_ntop writes, byte for byte (keys and hash
 * fields are made of it). Zero runs of every length and place, mapped and compatible IPv4. */
TEST_CASE(ipv6_text_is_inet_ntop)
{
    uint8_t a[16];
    char mine[ADDR_STR_MAX], libc[INET6_ADDRSTRLEN];
    unsigned seed = 12345, bad = 0;
    for (unsigned it = 0; it < 200000; it++) {
        for (int i = 0; i < 16; i++) {
            seed = seed * 1103515245u + 12345u;
            a[i] = (uint8_t)(seed >> 16);
        }
        for (int w = 0; w < 8; w++)          /* words zeroed more often as it grows */
            if ((it >> (w % 4)) % 3 != 0 || (it % 8) > (unsigned)w)
                a[2 * w] = a[2 * w + 1] = 0;
        if (it % 11 == 0) {
            memset(a, 0, 10);
            a[10] = a[11] = 0xff;
        }
        if (it % 13 == 0)
            memset(a, 0, 12 + it % 5);
        inet_ntop(AF_INET6, a, libc, sizeof(libc));
        if (addr_format(6, a, mine) != strlen(libc) || strcmp(mine, libc) != 0) {
            if (bad++ < 5)
                CHECK_FAIL_("addr_format %s, inet_ntop %s", mine, libc);
        }
    }
    CHECK_INT(bad, 0);
}

/* The cache spreads flows by the lane hash of their key (cache_flow_hash): it must be the lane
 * hash the capture threads give every packet of the flow (fanout_lane_hash), either way round. */
TEST_CASE(key_lane_hash_is_every_packets_lane_hash)
{
    static const char *v4[][2] = { { "10.0.0.1", "10.0.0.2" }, { "192.0.2.53", "10.1.0.5" },
                                   { "172.16.9.200", "8.8.4.4" }, { "10.0.0.7", "10.0.0.7" } };
    static const char *v6[][2] = { { "2001:db8::1", "2001:db8::53" }, { "fe80::1:2:3:4", "ff02::fb" } };
    for (int v = 0; v < 2; v++)
        for (size_t i = 0; i < (v ? 2u : 4u); i++)
            for (int dir = 0; dir < 2; dir++) {
                const char *a = v ? v6[i][dir] : v4[i][dir], *b = v ? v6[i][!dir] : v4[i][!dir];
                struct decoded_pkt p = pkt4("0.0.0.0", 40000 + (uint16_t)i, "0.0.0.0", 53, IPPROTO_UDP, 0);
                if (v) {
                    p.ip_version = 6;
                    inet_pton(AF_INET6, a, p.src);
                    inet_pton(AF_INET6, b, p.dst);
                } else {
                    inet_pton(AF_INET, a, p.src);
                    inet_pton(AF_INET, b, p.dst);
                }
                struct flow_key k;
                int c2s;
                flow_key_from_pkt(&p, &k, &c2s);
                CHECK_INT(flow_key_lane_hash(&k), fanout_lane_hash(&p));
            }
}

int main(void)
{
    RUN(key_lane_hash_is_every_packets_lane_hash);
    RUN(syn_sender_is_client_even_on_low_port);
    RUN(ipv6_text_is_inet_ntop);
    RUN(well_known_port_is_server_both_directions);
    RUN(known_service_above_1024_and_lower_pair);
    RUN(every_known_service_port_is_found_and_neighbours_are_not);
    RUN(ipv6_vlan_and_icmp_names);
    RUN(parse_round_trips_and_rejects_non_canonical);
    RUN(address_and_mac_canonical_forms);
    return CHECK_DONE("flow_key");
}
