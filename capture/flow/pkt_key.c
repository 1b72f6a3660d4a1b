/* pkt_key.c - the canonical flow key of a decoded packet: the client/server rule of KEYSPACE.md (pure code, any capture thread). */
#include "capture/flow/pkt_key.h"

#include <netinet/in.h>
#include <string.h>

enum { ICMP_ECHO_REQUEST = 8, ICMP_ECHO_REPLY = 0, ICMP6_ECHO_REQUEST = 128, ICMP6_ECHO_REPLY = 129 };
enum { TCP_FLAG_SYN = 0x02, TCP_FLAG_ACK = 0x10 };
enum { WELL_KNOWN_PORT_LIMIT = 1024 };

/* Ports that are services even above 1024 (the "known service" part of the
 * rule), in increasing order (port_is_service searches it). */
static const uint16_t known_service_ports[] = {
    1194, 1433, 1521, 1645, 1646, 1812, 1813, 1883, 2049, 2152, 2181, 3128, 3306, 3389,
    3478, 4789, 5060, 5061, 5222, 5353, 5355, 5432, 5671, 5672, 5900, 6379, 6380, 6443,
    8000, 8008, 8080, 8081, 8443, 8883, 8888, 9000, 9090, 9092, 9200, 11211, 27017,
};

enum { KNOWN_SERVICE_PORTS = sizeof(known_service_ports) / sizeof(known_service_ports[0]) };

static int port_is_service(uint16_t port)
{
    if (port < WELL_KNOWN_PORT_LIMIT)
        return port != 0;
    if (port > known_service_ports[KNOWN_SERVICE_PORTS - 1])
        return 0;                    /* most client ports: above every listed service */
    size_t lo = 0, hi = KNOWN_SERVICE_PORTS;
    while (lo < hi) {                /* the table is sorted: binary search */
        size_t mid = (lo + hi) / 2;
        if (known_service_ports[mid] == port)
            return 1;
        if (known_service_ports[mid] < port)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0;
}

/* Returns 1 when the packet's source is the client. */
static int src_is_client(const struct decoded_pkt *p)
{
    size_t alen = p->ip_version == 4 ? 4 : 16;
    if (p->l4_proto == IPPROTO_TCP && p->has_ports) {
        if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == TCP_FLAG_SYN)
            return 1;
        if ((p->tcp_flags & (TCP_FLAG_SYN | TCP_FLAG_ACK)) == (TCP_FLAG_SYN | TCP_FLAG_ACK))
            return 0;
    }
    if (p->l4_proto == IPPROTO_ICMP && !p->is_fragment) {
        if (p->icmp_type == ICMP_ECHO_REQUEST) return 1;
        if (p->icmp_type == ICMP_ECHO_REPLY) return 0;
    }
    if (p->l4_proto == IPPROTO_ICMPV6) {
        if (p->icmp_type == ICMP6_ECHO_REQUEST) return 1;
        if (p->icmp_type == ICMP6_ECHO_REPLY) return 0;
    }
    if (p->has_ports) {
        int ss = port_is_service(p->sport), ds = port_is_service(p->dport);
        if (ss != ds)
            return ds;                       /* the service side is the server */
        if (ss && ds && p->sport != p->dport)
            return p->dport < p->sport;      /* both services: lower port serves */
    }
    int c = memcmp(p->src, p->dst, alen);
    if (c != 0)
        return c < 0;
    return p->sport <= p->dport;
}

void flow_key_from_pkt(const struct decoded_pkt *p, struct flow_key *k, int *is_c2s)
{
    int c2s = src_is_client(p);
    int ports = p->has_ports && p->l4_proto != IPPROTO_ICMP && p->l4_proto != IPPROTO_ICMPV6;
    memset(k, 0, sizeof(*k));
    k->ipver = p->ip_version;
    k->l4proto = p->l4_proto;
    k->vlan = p->vlan;
    memcpy(k->cli, c2s ? p->src : p->dst, 16);
    memcpy(k->srv, c2s ? p->dst : p->src, 16);
    if (ports) {
        k->cport = c2s ? p->sport : p->dport;
        k->sport = c2s ? p->dport : p->sport;
    }
    *is_c2s = c2s;
}
