#!/usr/bin/python3
"""gen_latency.py - a capture whose handshake, HTTP service, TLS handshake and DNS response times are known.

usage: tools/gen_latency.py OUT.pcap OUT.truth.json

Every time is set exactly (microseconds), from 1 ms to 500 ms for handshakes and requests, up to
6 s for DNS (every histogram bucket, +inf included), over IPv4, IPv6 and an 802.1Q-tagged flow,
with a retransmitted SYN, a retransmitted SYN/ACK, a request and a response split over several
segments, two pipelined requests, a TLS ClientHello split over two segments and its ServerHello,
and a flow seen in one direction only. The truth file says what the probe must show:
  flows: {flow key: {field: microseconds}} for rtt.us rtt.server.us rtt.client.us
         http.service.us (the flow's last answered request) tls.handshake.us
  no_latency: flow keys that must carry none of those fields
  http: {host: [service time of each request]}, dns: {qname: [response time of each query]}
  servers: {address: {"rtt": [rtt.us of each flow it served], "service": [each answer it gave,
           HTTP and DNS]}}
  http_events: [[host, url, service.us]], bounds_ms: the histogram's bucket bounds
Packet building comes from tools/gen_demo.py (the demo capture's generator).
"""
import json
import os
import random
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_demo import (ACK, ETH_IPV4, ETH_IPV6, FIN, P_TCP, P_UDP, PSH, S_TCP, SYN,  # noqa: E402
                      dns_query_msg, dns_response_msg, ip4_packet, ip6_packet, l4_with_csum, tls_client_hello,
                      tls_server_hello, udp_seg)

MS = 1000
T0 = 1700000000 * 1000000
BOUNDS_MS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
ETH_VLAN = 0x8100
CMAC, SMAC = bytes.fromhex("020000000001"), bytes.fromhex("020000000002")


def addr(text):
    """Packed address and its family (4 or 6)."""
    import ipaddress
    a = ipaddress.ip_address(text)
    return a.packed, a.version


def ep(text, port):
    return "[%s]:%d" % (text, port) if ":" in text else "%s:%d" % (text, port)


class Capture:
    """Frames with their times; written sorted by time as a classic pcap (microseconds)."""

    def __init__(self):
        self.frames = []
        self.ident = 1

    def ip(self, src, dst, proto, seg):
        (s, v), (d, _) = addr(src), addr(dst)
        if v == 4:
            self.ident += 1
            return ip4_packet(s, d, proto, seg, self.ident), ETH_IPV4
        return ip6_packet(s, d, proto, seg), ETH_IPV6

    def add(self, t, c2s, ip_etype, vlan=0):
        ip, etype = ip_etype
        dst, src = (SMAC, CMAC) if c2s else (CMAC, SMAC)
        tag = struct.pack("!HH", ETH_VLAN, vlan) if vlan else b""
        self.frames.append((t, len(self.frames), dst + src + tag + struct.pack("!H", etype) + ip))

    def write(self, path):
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, _, fr in sorted(self.frames):
                f.write(struct.pack("<IIII", t // 1000000, t % 1000000, len(fr), len(fr)) + fr)


class Tcp:
    """One TCP connection: segments in either direction with consistent sequence numbers."""

    def __init__(self, cap, cli, cport, srv, sport, vlan=0):
        self.cap, self.cli, self.cport, self.srv, self.sport, self.vlan = cap, cli, cport, srv, sport, vlan
        self.seq = [1000, 500000]            # next sequence number: client, server

    def key(self):
        vl = "@%d" % self.vlan if self.vlan else ""
        return "flow.tcp.%s-%s%s" % (ep(self.cli, self.cport), ep(self.srv, self.sport), vl)

    def seg(self, t, c2s, flags, data=b""):
        d = 0 if c2s else 1
        src, dst = (self.cli, self.srv) if c2s else (self.srv, self.cli)
        sp, dp = (self.cport, self.sport) if c2s else (self.sport, self.cport)
        ack = self.seq[1 - d] if flags & ACK else 0
        tcp = S_TCP.pack(sp, dp, self.seq[d] & 0xFFFFFFFF, ack, 5 << 4, flags, 65535, 0, 0) + data
        self.cap.add(t, c2s, self.cap.ip(src, dst, P_TCP, l4_with_csum(addr(src)[0], addr(dst)[0], P_TCP, tcp, 16)),
                     self.vlan)
        self.seq[d] += len(data) + (1 if flags & (SYN | FIN) else 0)

    def retransmit_syn(self, t):
        self.seq[0] -= 1
        self.seg(t, True, SYN)

    def handshake(self, t, server_gap, client_gap):
        """SYN at t, SYN/ACK server_gap later, ACK client_gap after that; returns the ACK's time."""
        self.seg(t, True, SYN)
        self.seg(t + server_gap, False, SYN | ACK)
        self.seg(t + server_gap + client_gap, True, ACK)
        return t + server_gap + client_gap


def request(host, url):
    return ("GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: gen_latency\r\n\r\n" % (url, host)).encode()


def response(body=b"hello"):
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)


class Truth:
    def __init__(self):
        self.flows, self.no_latency, self.http, self.dns, self.servers, self.events = {}, [], {}, {}, {}, []

    def server(self, ip):
        return self.servers.setdefault(ip, {"rtt": [], "service": []})

    def handshake(self, tcp, server_gap, client_gap):
        f = self.flows.setdefault(tcp.key(), {})
        f.update({"rtt.server.us": server_gap, "rtt.client.us": client_gap, "rtt.us": server_gap + client_gap})
        self.server(tcp.srv)["rtt"].append(server_gap + client_gap)

    def http_answer(self, tcp, host, url, us):
        self.flows.setdefault(tcp.key(), {})["http.service.us"] = us
        self.http.setdefault(host, []).append(us)
        self.server(tcp.srv)["service"].append(us)
        self.events.append([host, url, us])


def http_flow(cap, truth, cli, cport, srv, t, server_gap, client_gap, host, services, vlan=0):
    """A keep-alive HTTP flow: the handshake, then one request per service time, each answered after it."""
    c = Tcp(cap, cli, cport, srv, 80, vlan)
    t = c.handshake(t, server_gap, client_gap)
    truth.handshake(c, server_gap, client_gap)
    for i, svc in enumerate(services):
        url = "/r%d" % i
        t += 5 * MS
        c.seg(t, True, PSH | ACK, request(host, url))
        c.seg(t + svc, False, PSH | ACK, response())
        c.seg(t + svc + 300, True, ACK)
        truth.http_answer(c, host, url, svc)
        t += svc + 300
    return c


def scenarios(cap, truth):
    t = T0
    # plain IPv4 flows, gaps from 1 ms to 500 ms; two flows per host and per server
    plain = [("10.0.0.1", 40001, "192.0.2.80", 1 * MS, 2 * MS, "a.example", [1 * MS, 1 * MS + 1]),
             ("10.0.0.2", 40002, "192.0.2.80", 5 * MS, 10 * MS, "a.example", [20 * MS, 50 * MS]),
             ("10.0.0.3", 40003, "192.0.2.81", 50 * MS, 20 * MS, "b.example", [100 * MS, 200 * MS]),
             ("10.0.0.4", 40004, "192.0.2.81", 200 * MS, 100 * MS, "b.example", [500 * MS, 300 * MS]),
             ("10.0.0.5", 40005, "192.0.2.82", 2 * MS, 3 * MS, "c.example", [7 * MS, 2 * MS, 1500])]
    for cli, cport, srv, sg, cg, host, svcs in plain:
        http_flow(cap, truth, cli, cport, srv, t, sg, cg, host, svcs)
        t += 10 * 1000000
    # IPv6 and 802.1Q
    http_flow(cap, truth, "2001:db8::10", 40100, "2001:db8::80", t, 3 * MS, 4 * MS, "v6.example", [15 * MS])
    t += 10 * 1000000
    http_flow(cap, truth, "10.0.0.6", 40006, "192.0.2.82", t, 8 * MS, 9 * MS, "vlan.example", [60 * MS], vlan=42)
    t += 10 * 1000000
    # a SYN retransmitted after 1 s, then a SYN/ACK retransmitted: measured from the last of each
    c = Tcp(cap, "10.0.0.7", 40007, "192.0.2.83", 80)
    c.seg(t, True, SYN)
    c.retransmit_syn(t + 1000000)
    c.seg(t + 1000000 + 12 * MS, False, SYN | ACK)
    c.seq[1] -= 1
    c.seg(t + 1000000 + 40 * MS, False, SYN | ACK)
    c.seg(t + 1000000 + 46 * MS, True, ACK)
    truth.handshake(c, 12 * MS, 6 * MS)
    r = t + 1000000 + 50 * MS
    c.seg(r, True, PSH | ACK, request("retx.example", "/"))
    c.seg(r + 30 * MS, False, PSH | ACK, response())
    truth.http_answer(c, "retx.example", "/", 30 * MS)
    t += 10 * 1000000
    # a request head over two segments, its response over three: first packet to first packet
    c = Tcp(cap, "10.0.0.8", 40008, "192.0.2.83", 80)
    a = c.handshake(t, 4 * MS, 4 * MS) + 5 * MS
    truth.handshake(c, 4 * MS, 4 * MS)
    req, resp = request("split.example", "/split"), response(b"x" * 3000)
    c.seg(a, True, ACK, req[:20])
    c.seg(a + 10 * MS, True, PSH | ACK, req[20:])
    c.seg(a + 50 * MS, False, ACK, resp[:12])
    c.seg(a + 65 * MS, False, ACK, resp[12:30])
    c.seg(a + 80 * MS, False, ACK, resp[30:1400])
    c.seg(a + 81 * MS, False, PSH | ACK, resp[1400:])
    truth.http_answer(c, "split.example", "/split", 50 * MS)
    t += 10 * 1000000
    # two pipelined requests, answered in order
    c = Tcp(cap, "10.0.0.9", 40009, "192.0.2.83", 80)
    a = c.handshake(t, 6 * MS, 7 * MS) + 5 * MS
    truth.handshake(c, 6 * MS, 7 * MS)
    c.seg(a, True, PSH | ACK, request("pipe.example", "/p1"))
    c.seg(a + 1 * MS, True, PSH | ACK, request("pipe.example", "/p2"))
    c.seg(a + 20 * MS, False, PSH | ACK, response())
    c.seg(a + 35 * MS, False, PSH | ACK, response())
    truth.http_answer(c, "pipe.example", "/p1", 20 * MS)
    truth.http_answer(c, "pipe.example", "/p2", 34 * MS)
    t += 10 * 1000000
    # TLS: a ClientHello over two segments, the ServerHello 25 ms after the second
    rng = random.Random(22)
    c = Tcp(cap, "10.0.0.10", 40010, "192.0.2.84", 443)
    a = c.handshake(t, 9 * MS, 11 * MS) + 2 * MS
    truth.handshake(c, 9 * MS, 11 * MS)
    hello = tls_client_hello(rng, "tls.example")
    c.seg(a, True, ACK, hello[:100])
    c.seg(a + 3 * MS, True, PSH | ACK, hello[100:])
    c.seg(a + 28 * MS, False, PSH | ACK, tls_server_hello(rng, bytes(8192))[:1400])
    truth.flows[c.key()]["tls.handshake.us"] = 28 * MS
    t += 10 * 1000000
    # one direction only (the client's): no handshake, no answer
    c = Tcp(cap, "10.0.0.11", 40011, "192.0.2.85", 80)
    c.seg(t, True, SYN)
    c.seq[1] += 1
    c.seg(t + 30 * MS, True, ACK)
    c.seg(t + 35 * MS, True, PSH | ACK, request("oneway.example", "/"))
    truth.no_latency.append(c.key())
    t += 10 * 1000000
    # DNS: one flow per name, queries answered one after another, every bucket met
    names = [("10.0.0.20", "192.0.2.53", "d1.example", [800, 1 * MS, 1500]),
             ("10.0.0.20", "192.0.2.53", "d2.example", [3 * MS, 9 * MS, 45 * MS, 150 * MS]),
             ("10.0.0.21", "192.0.2.53", "d3.example", [400 * MS, 700 * MS, 1500 * MS, 3000 * MS, 6000 * MS]),
             ("2001:db8::20", "2001:db8::53", "d6.example", [2 * MS, 5 * MS])]
    for i, (cli, srv, name, rtts) in enumerate(names):
        sport = 33000 + i
        for j, rtt in enumerate(rtts):
            txid = 0x100 * (i + 1) + j
            q = dns_query_msg(txid, name, 1)
            cap.add(t, True, cap.ip(cli, srv, P_UDP, udp_seg(addr(cli)[0], addr(srv)[0], sport, 53, q)))
            rs = dns_response_msg(rng, txid, name, 1, 0)
            cap.add(t + rtt, False, cap.ip(srv, cli, P_UDP, udp_seg(addr(srv)[0], addr(cli)[0], 53, sport, rs)))
            truth.dns.setdefault(name, []).append(rtt)
            truth.server(srv)["service"].append(rtt)
            t += rtt + 100 * MS
        t += 10 * 1000000


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__.split("\n\n")[1])
    cap, truth = Capture(), Truth()
    scenarios(cap, truth)
    cap.write(sys.argv[1])
    with open(sys.argv[2], "w") as f:
        json.dump({"flows": truth.flows, "no_latency": truth.no_latency, "http": truth.http, "dns": truth.dns,
                   "servers": truth.servers, "http_events": truth.events, "bounds_ms": BOUNDS_MS}, f, indent=1,
                  sort_keys=True)


if __name__ == "__main__":
    main()
