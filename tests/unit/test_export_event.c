/* test_export_event.c - unit tests for server/export/export_event.c (flow.end event -> export record); single-threaded. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "capture/flow/flow_end_rec.h"
#include "capture/flow/l7.h"
#include "server/export/export_event.h"
#include "tests/unit/check.h"

static struct export_event_cache apps;

/* A flow.end as capture threads build it (flow_events.c, fields.c). */
static struct event *flow_end(const char *cli, const char *srv, const char *proto, const char *l7, int with_dns)
{
    struct event_builder b;
    event_build_begin(&b, EV_FLOW_END, 1700000001500000ULL);
    event_add_str(&b, "key", "flow.udp.x");
    event_add_str(&b, "reason", "tcp-close");
    event_add_str(&b, "proto", proto);
    event_add_str(&b, "cli.ip", cli);
    event_add_uint(&b, "cli.port", 40000);
    event_add_str(&b, "srv.ip", srv);
    event_add_uint(&b, "srv.port", 53);
    event_add_uint(&b, "vlan", 42);
    event_add_str(&b, "l7", l7);
    event_add_uint(&b, "bytes.c2s", 180);
    event_add_uint(&b, "bytes.s2c", 1200);
    event_add_uint(&b, "pkts.c2s", 3);
    event_add_uint(&b, "pkts.s2c", 2);
    event_add_time(&b, "first.seen", 1700000000123456ULL);
    event_add_time(&b, "last.seen", 1700000001500000ULL);
    event_add_str(&b, "tcp.flags", "SAF");
    if (with_dns) {
        event_add_str(&b, "dns.query", "www.example.com");
        event_add_str(&b, "dns.qtype", "A");
        event_add_uint(&b, "http.status", 200);
        event_add_str(&b, "user", "alice");
    }
    return event_build_end(&b);
}

/* The record of the DNS flow both tests below describe. */
static void check_dns_flow(const struct export_record *r)
{
    CHECK_INT(r->ipver, 4);
    CHECK_INT(r->proto, 17);
    CHECK(memcmp(r->cli, "\x0a\x00\x00\x01", 4) == 0);
    CHECK(memcmp(r->srv, "\xc0\x00\x02\x35", 4) == 0);
    CHECK_INT(r->cli_port, 40000);
    CHECK_INT(r->srv_port, 53);
    CHECK_INT(r->vlan, 42);
    CHECK_INT(r->octets[0], 180);
    CHECK_INT(r->octets[1], 1200);
    CHECK_INT(r->packets[0], 3);
    CHECK_INT(r->packets[1], 2);
    CHECK_INT(r->start_ms, 1700000000123ULL);
    CHECK_INT(r->end_ms, 1700000001500ULL);
    CHECK_INT(r->tcp_flags, 0x13);           /* S A F */
    CHECK_INT(r->end_reason, EXPORT_END_FIN);
    CHECK_MEM(r->app_name.s, r->app_name.len, "DNS", 3);
    CHECK_INT(r->app_id, l7_id_by_name("DNS", 3));
    CHECK_MEM(r->dns_qname.s, r->dns_qname.len, "www.example.com", 15);
    CHECK_MEM(r->user.s, r->user.len, "alice", 5);
    CHECK_INT(r->http_status, 200);
    CHECK_INT(r->http_host.len, 0);
}

TEST_CASE(ipv4_flow_with_names)
{
    struct export_record r;
    struct event *ev = flow_end("10.0.0.1", "192.0.2.53", "udp", "DNS", 1);
    CHECK_INT(export_record_from_event(ev, &r, &apps), 0);
    check_dns_flow(&r);
    event_free(ev);
}

TEST_CASE(ipv6_and_numeric_protocol)
{
    struct export_record r;
    struct event *ev = flow_end("2001:db8::1", "2001:db8::53", "132", "Unknown", 0);
    CHECK_INT(export_record_from_event(ev, &r, &apps), 0);
    CHECK_INT(r.ipver, 6);
    CHECK_INT(r.proto, 132);
    uint8_t want[16];
    inet_pton(AF_INET6, "2001:db8::53", want);
    CHECK(memcmp(r.srv, want, 16) == 0);
    CHECK_INT(r.app_id, 0);
    CHECK_INT(r.dns_qname.len, 0);
    event_free(ev);
}

TEST_CASE(refuses_what_it_cannot_export)
{
    struct export_record r;
    struct event *ev = flow_end("10.0.0.1", "2001:db8::53", "udp", "DNS", 0);   /* mixed families */
    CHECK_INT(export_record_from_event(ev, &r, &apps), -1);
    event_free(ev);
    ev = flow_end("10.0.0.300", "10.0.0.1", "udp", "DNS", 0);
    CHECK_INT(export_record_from_event(ev, &r, &apps), -1);
    event_free(ev);
    struct event_builder b;
    event_build_begin(&b, EV_FLOW_END, 0);
    event_add_str(&b, "cli.ip", "10.0.0.1");                                     /* counters missing */
    ev = event_build_end(&b);
    CHECK_INT(export_record_from_event(ev, &r, &apps), -1);
    event_free(ev);
    event_build_begin(&b, EV_DNS, 0);
    ev = event_build_end(&b);
    CHECK_INT(export_record_from_event(ev, &r, &apps), -1);
    event_free(ev);
}

/* The cache guesses each position's field from the last event; another order still reads right. */
TEST_CASE(field_order_changes)
{
    struct export_record r;
    struct event *ev = flow_end("10.0.0.1", "192.0.2.53", "udp", "DNS", 1);
    CHECK_INT(export_record_from_event(ev, &r, &apps), 0);
    event_free(ev);
    struct event_builder b;
    event_build_begin(&b, EV_FLOW_END, 0);
    event_add_uint(&b, "pkts.s2c", 9);
    event_add_uint(&b, "pkts.c2s", 8);
    event_add_uint(&b, "bytes.s2c", 7);
    event_add_uint(&b, "bytes.c2s", 6);
    event_add_str(&b, "l7", "HTTP");
    event_add_time(&b, "last.seen", 2000000);
    event_add_time(&b, "first.seen", 1000000);
    event_add_str(&b, "srv.ip", "10.0.0.9");
    event_add_str(&b, "cli.ip", "10.0.0.8");
    event_add_str(&b, "proto", "tcp");
    ev = event_build_end(&b);
    CHECK_INT(export_record_from_event(ev, &r, &apps), 0);
    CHECK_INT(r.packets[1], 9);
    CHECK_INT(r.packets[0], 8);
    CHECK_INT(r.octets[1], 7);
    CHECK_INT(r.octets[0], 6);
    CHECK_INT(r.start_ms, 1000);
    CHECK_INT(r.end_ms, 2000);
    CHECK_INT(r.proto, 6);
    CHECK_INT(r.srv[3], 9);
    CHECK_INT(r.dns_qname.len, 0);
    CHECK_INT(r.app_id, l7_id_by_name("HTTP", 4));
    event_free(ev);
}

/* The app-id cache answers as nDPI's table does, for every name, also after collisions. */
TEST_CASE(app_ids_through_the_cache)
{
    for (int round = 0; round < 2; round++)
        for (unsigned id = 0; id < l7_count(); id++) {
            const char *name = l7_name(id);
            struct export_record r;
            struct event *ev = flow_end("10.0.0.1", "10.0.0.2", "tcp", name, 0);
            CHECK_INT(export_record_from_event(ev, &r, &apps), 0);
            CHECK_INT(r.app_id, l7_id_by_name(name, strlen(name)));
            event_free(ev);
        }
}

/* The binary record capture threads make when only the export reads flow.end: the same record. */
TEST_CASE(from_the_binary_record)
{
    _Alignas(8) char buf[FLOW_END_REC_MAX];
    struct flow_end_rec *fe = (struct flow_end_rec *)buf;
    struct export_record r;
    size_t len = sizeof(*fe);
    memset(fe, 0, sizeof(*fe));
    inet_pton(AF_INET, "10.0.0.1", fe->key.cli);
    inet_pton(AF_INET, "192.0.2.53", fe->key.srv);
    fe->key.ipver = 4;
    fe->key.l4proto = 17;
    fe->key.cport = 40000;
    fe->key.sport = 53;
    fe->key.vlan = 42;
    fe->reason = FER_TCP;
    fe->tcp_flags = 0x13;
    fe->l7 = (uint16_t)l7_id_by_name("DNS", 3);
    fe->bytes[0] = 180;
    fe->bytes[1] = 1200;
    fe->pkts[0] = 3;
    fe->pkts[1] = 2;
    fe->first_us = 1700000000123456ULL;
    fe->last_us = 1700000001500000ULL;
    fe->http_status = 200;
    fe->ingress_if = 7;
    fe->obs_point = 2;
    flow_end_rec_put(fe, &len, FES_DNS_QUERY, "www.example.com", 15);
    flow_end_rec_put(fe, &len, FES_USER, "alice", 5);
    CHECK_INT(export_record_from_rec(fe, len, &r), 0);
    check_dns_flow(&r);
    CHECK_INT(r.ingress_if, 7);
    CHECK_INT(r.obs_point, 2);
    CHECK_INT(export_record_from_rec(fe, len - 3, &r), 0);      /* a string past the end is left out */
    CHECK_INT(r.user.len, 0);
    CHECK_INT(export_record_from_rec(fe, sizeof(*fe) - 1, &r), -1);
    fe->key.ipver = 5;
    CHECK_INT(export_record_from_rec(fe, len, &r), -1);
}

int main(void)
{
    if (l7_names_init() != 0)
        return 1;
    RUN(ipv4_flow_with_names);
    RUN(from_the_binary_record);
    RUN(ipv6_and_numeric_protocol);
    RUN(refuses_what_it_cannot_export);
    RUN(field_order_changes);
    RUN(app_ids_through_the_cache);
    l7_names_free();
    return CHECK_DONE("test_export_event");
}
