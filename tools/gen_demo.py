#!/usr/bin/python3
"""gen_demo.py - flowcached's seeded traffic generator: a classic pcap plus its ground truth.

The truth is computed while the packets are built (never by reading the pcap back):
  packets                 frames written
  hosts[ip]               bytes.sent bytes.rcvd pkts.sent pkts.rcvd
  flows[key]              bytes.c2s bytes.s2c pkts.c2s pkts.s2c   (key as in KEYSPACE.md)
  vlans[id]               bytes pkts  (0 = untagged; first tag of the outermost frame)
  macs[mac]               bytes.sent bytes.rcvd pkts.sent pkts.rcvd (outermost Ethernet header)
  dns_queries_by_name, dns_qtypes, dns_rcodes, http_hosts, tls_sni,
  radius_active_users {user: ip}, sessions_by_kind, sessions_by_encap, fragmented_flows
Every byte counter is layer-3 bytes of the innermost IP packet (IPv4 total length,
IPv6 payload length + 40); tunnel endpoints (GRE, GTP-U, VXLAN, 6in4 outer headers)
are not hosts.  Each flow key is used by exactly one session, so its counters are
unambiguous.  A fragmented datagram counts every fragment in its flow.

usage: gen_demo.py --seed S --sessions N --hosts H --duration SECONDS --out x.pcap --truth x.json
Python 3 standard library only.
"""
import argparse
import hashlib
import heapq
import ipaddress
import json
import random
import struct
import sys

BASE_TIME_US = 1700000000 * 1000000

# ---------------------------------------------------------------- constants
ETH_IPV4, ETH_IPV6, ETH_VLAN, ETH_QINQ, ETH_MPLS = 0x0800, 0x86DD, 0x8100, 0x88A8, 0x8847
ETH_TEB = 0x6558
P_ICMP, P_TCP, P_UDP, P_IPV6, P_GRE, P_ICMP6 = 1, 6, 17, 41, 47, 58
FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10
QTYPE = {"A": 1, "MX": 15, "AAAA": 28}
L4NAME = {P_TCP: "tcp", P_UDP: "udp", P_ICMP: "icmp", P_ICMP6: "icmp6"}
MSS = 1448

S_ETH = struct.Struct("!6s6sH")
S_IP4 = struct.Struct("!BBHHHBBH4s4s")
S_IP6 = struct.Struct("!IHBB16s16s")
S_TCP = struct.Struct("!HHIIBBHHH")
S_UDP = struct.Struct("!HHHH")
S_REC = struct.Struct("<IIII")
S_NCS = struct.Struct("=H")   # checksum computed in native order, stored as such


def csum(data):
    """Internet checksum, as a native-order 16-bit value (store with S_NCS)."""
    if len(data) & 1:
        data += b"\0"
    s = sum(memoryview(data).cast("H"))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def l4_with_csum(src, dst, proto, seg, off):
    """Fill the L4 checksum at byte offset off of seg (pseudo header per family)."""
    if len(src) == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(seg))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(seg), proto)
    c = csum(pseudo + seg)
    if c == 0 and proto == P_UDP:
        c = 0xFFFF
    return seg[:off] + S_NCS.pack(c) + seg[off + 2:]


def ip4_packet(src, dst, proto, payload, ident, ttl=64, flags_frag=0x4000):
    h = S_IP4.pack(0x45, 0, 20 + len(payload), ident & 0xFFFF, flags_frag, ttl, proto, 0, src, dst)
    return h[:10] + S_NCS.pack(csum(h)) + h[12:] + payload


def ip6_packet(src, dst, nh, payload, hlim=64, flow=0):
    return S_IP6.pack(0x60000000 | flow, len(payload), nh, hlim, src, dst) + payload


def udp_seg(src, dst, sport, dport, payload):
    seg = S_UDP.pack(sport, dport, 8 + len(payload), 0) + payload
    return l4_with_csum(src, dst, P_UDP, seg, 6)


def dns_name(name):
    out = b"".join(bytes([len(lab)]) + lab.encode() for lab in name.split(".") if lab)
    return out + b"\0"


# ---------------------------------------------------------------- encapsulation paths
class Path:
    """How an innermost IP packet travels on the wire; frame(ip, c2s, v6) -> Ethernet frame."""
    vlan = 0
    encap = "plain"

    def macs(self, c2s):
        return (self.cmac, self.smac) if c2s else (self.smac, self.cmac)


class LanPath(Path):
    def __init__(self, cmac, smac, tags=(), labels=None):
        self.cmac, self.smac = cmac, smac
        self.tags = tuple(tags)
        self.labels = labels            # (c2s labels, s2c labels) or None
        self.vlan = tags[0][1] if tags else 0
        self.encap = "mpls" if labels else ("qinq" if len(tags) > 1 else ("vlan" if tags else "plain"))
        self.tag_bytes = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in self.tags)

    def frame(self, ip, c2s, v6):
        dst, src = (self.smac, self.cmac) if c2s else (self.cmac, self.smac)
        if self.labels:
            labels = self.labels[0 if c2s else 1]
            stack = b"".join(struct.pack("!I", (lab << 12) | ((i == len(labels) - 1) << 8) | 64)
                             for i, lab in enumerate(labels))
            return dst + src + self.tag_bytes + struct.pack("!H", ETH_MPLS) + stack + ip
        return dst + src + self.tag_bytes + struct.pack("!H", ETH_IPV6 if v6 else ETH_IPV4) + ip


class TunnelPath(Path):
    """Outer Ethernet + outer IPv4 between two tunnel endpoints (GRE, GTP-U, VXLAN, 6in4)."""

    def __init__(self, gen, kind, cmac, smac, cout, sout, tags=(), **kw):
        self.gen, self.encap = gen, kind
        self.cmac, self.smac, self.cout, self.sout = cmac, smac, cout, sout
        self.tags = tuple(tags)
        self.vlan = tags[0][1] if tags else 0
        self.tag_bytes = b"".join(struct.pack("!HH", tpid, vid) for tpid, vid in self.tags)
        self.kw = kw

    def frame(self, ip, c2s, v6):
        g, kw = self.gen, self.kw
        osrc, odst = (self.cout, self.sout) if c2s else (self.sout, self.cout)
        if self.encap == "gre":
            outer = ip4_packet(osrc, odst, P_GRE, struct.pack("!HH", 0, ETH_IPV6 if v6 else ETH_IPV4) + ip,
                               g.next_ident(), ttl=254)
        elif self.encap == "6in4":
            outer = ip4_packet(osrc, odst, P_IPV6, ip, g.next_ident(), ttl=64)
        elif self.encap == "gtpu":
            teid = kw["teid_up"] if c2s else kw["teid_down"]
            gtp = struct.pack("!BBHI", 0x30, 0xFF, len(ip), teid) + ip
            outer = ip4_packet(osrc, odst, P_UDP, udp_seg(osrc, odst, 2152, 2152, gtp), g.next_ident())
        elif self.encap == "vxlan":
            imac_c, imac_s = kw["inner_macs"]
            idst, isrc = (imac_s, imac_c) if c2s else (imac_c, imac_s)
            inner = idst + isrc + struct.pack("!H", ETH_IPV6 if v6 else ETH_IPV4) + ip
            vx = struct.pack("!II", 0x08000000, kw["vni"] << 8) + inner
            sport = kw["sport"]
            outer = ip4_packet(osrc, odst, P_UDP, udp_seg(osrc, odst, sport, 4789, vx), g.next_ident())
        else:
            raise ValueError(self.encap)
        dst, src = (self.smac, self.cmac) if c2s else (self.cmac, self.smac)
        return dst + src + self.tag_bytes + struct.pack("!H", ETH_IPV4) + outer


class Host:
    __slots__ = ("v4", "v6", "path", "profile", "next_port")

    def __init__(self, v4, v6, path, profile, first_port):
        self.v4, self.v6, self.path, self.profile, self.next_port = v4, v6, path, profile, first_port


def fmt_ep(addr, port):
    return "[%s]:%d" % (addr, port) if ":" in addr else "%s:%d" % (addr, port)


# ---------------------------------------------------------------- generator
class Gen:
    def __init__(self, args):
        self.a = args
        self.rng = random.Random(args.seed)
        self.heap = []
        self.seq = 0
        self.ident = self.rng.randrange(65536)
        self.used_keys = set()
        self.out = open(args.out, "wb")
        self.out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self.buf = []
        self.buflen = 0
        # truth
        self.packets = 0
        self.hosts = {}
        self.flows = {}
        self.vlans = {}
        self.macs = {}
        self.t_dns_names, self.t_qtypes, self.t_rcodes = {}, {}, {}
        self.t_http, self.t_sni, self.t_radius = {}, {}, {}
        self.t_kinds, self.t_encaps, self.t_frag = {}, {}, []
        blob_rng = random.Random(args.seed ^ 0x5EED)
        self.noise = blob_rng.randbytes(1 << 16)
        words = ("flow cache probe packet redis session latency network host server client "
                 "address router switch tunnel label frame window segment").split()
        self.text = " ".join(blob_rng.choice(words) for _ in range(4000)).encode()
        self.build_world()

    # ---- world: routers, servers, client hosts
    def mac(self, oui):
        return bytes.fromhex(oui.replace(":", "")) + self.rng.randbytes(3)

    def build_world(self):
        r, a = self.rng, self.a
        self.rtr_lan = self.mac("00:1b:54")      # Cisco: LAN gateway
        self.rtr_mpls = self.mac("00:05:85")     # Juniper: MPLS PE
        self.rtr_wan_a = self.mac("28:8a:1c")    # Juniper: tunnel edge A
        self.rtr_wan_b = self.mac("00:1b:54")    # Cisco: tunnel edge B
        self.rtr_mgmt = self.mac("e0:ac:f1")     # Cisco: management VLAN gateway
        ouis = ["3c:fd:fe", "f8:bc:12", "a4:83:e7", "00:50:56", "b8:27:eb", "d4:be:d9", "00:1e:c9", "8c:85:90"]
        ip4 = lambda s: ipaddress.IPv4Address(s).packed
        ip6 = lambda s: ipaddress.IPv6Address(s).packed
        self.dns4 = [ip4("10.0.0.53"), ip4("10.0.1.53")]
        self.dns6 = [ip6("2001:db8:53::53")]
        self.web4 = [ip4("198.51.100.%d" % i) for i in range(10, 40)] + [ip4("203.0.113.%d" % i) for i in range(10, 30)]
        self.web6 = [ip6("2001:db8:80::%x" % i) for i in range(1, 12)]
        self.radius_srv = ip4("10.255.0.10")
        self.nas = [ip4("10.254.0.%d" % i) for i in range(1, 4)]
        self.nas_path = LanPath(self.mac("00:1e:c9"), self.rtr_mgmt, tags=[(ETH_VLAN, 99)])
        self.web_names = ["www.example.com", "news.example.org", "shop.example.net", "cdn.example.com",
                          "api.example.io", "mail.example.com", "static.example.net", "blog.example.org",
                          "login.example.com", "video.example.tv", "img.example.com", "docs.example.io"]
        self.ua = ["Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0",
                   "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/119.0 Safari/537.36",
                   "curl/7.88.1", "Wget/1.21.3", "python-requests/2.28.1",
                   "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148"]
        # tunnel endpoints (outer IPv4; not hosts)
        gre = TunnelPath(self, "gre", self.rtr_wan_a, self.rtr_wan_b, ip4("192.0.2.1"), ip4("192.0.2.2"))
        six = TunnelPath(self, "6in4", self.rtr_wan_a, self.rtr_wan_b, ip4("192.0.2.9"), ip4("192.0.2.10"))
        profiles = ["plain", "plain", "plain", "dual", "dual", "vlan", "vlan", "qinq", "mpls",
                    "gre", "gtpu", "vxlan", "6in4"]
        self.hosts_list = []
        counters = {}
        n = max(a.hosts, len(profiles))
        for i in range(n):
            prof = profiles[i] if i < len(profiles) else r.choice(profiles)
            ck = "lan" if prof in ("plain", "dual") else prof   # one address pool per subnet
            k = counters[ck] = counters.get(ck, 0) + 1
            hi, lo = k // 250, 1 + k % 250
            hmac = self.mac(r.choice(ouis))
            v4 = v6 = None
            if prof in ("plain", "dual"):
                v4 = ip4("10.0.%d.%d" % (2 + hi, lo))
                if prof == "dual":
                    v6 = ip6("2001:db8:1::%x" % (0x100 + k))
                path = LanPath(hmac, self.rtr_lan)
            elif prof == "vlan":
                vid = (10, 20, 30)[k % 3]
                v4 = ip4("10.%d.%d.%d" % (vid, hi, lo))
                path = LanPath(hmac, self.rtr_lan, tags=[(ETH_VLAN, vid)])
            elif prof == "qinq":
                v4 = ip4("10.3.%d.%d" % (hi, lo))
                path = LanPath(hmac, self.rtr_lan, tags=[(ETH_QINQ, 100), (ETH_VLAN, 10 + k % 2)])
            elif prof == "mpls":
                v4 = ip4("10.2.%d.%d" % (hi, lo))
                path = LanPath(hmac, self.rtr_mpls, labels=((16000 + k, 3001), (17000 + k,)))
            elif prof == "gre":
                v4, path = ip4("172.16.%d.%d" % (hi, lo)), gre
            elif prof == "6in4":
                v6, path = ip6("2001:db8:6:4::%x" % (0x10 + k)), six
            elif prof == "gtpu":
                v4 = ip4("100.64.%d.%d" % (hi, lo))
                path = TunnelPath(self, "gtpu", self.rtr_wan_a, self.rtr_wan_b,
                                  ip4("10.200.0.%d" % (1 + k % 8)), ip4("10.200.255.1"), tags=[(ETH_VLAN, 200)],
                                  teid_up=0x10000 + k, teid_down=0x20000 + k)
            else:  # vxlan
                v4 = ip4("192.168.%d.%d" % (100 + hi, lo))
                path = TunnelPath(self, "vxlan", self.rtr_wan_a, self.rtr_wan_b,
                                  ip4("10.201.0.%d" % (1 + k % 4)), ip4("10.201.0.254"),
                                  vni=5001, sport=49152 + r.randrange(16000),
                                  inner_macs=(hmac, bytes.fromhex("02005e000101")))
            self.hosts_list.append(Host(v4, v6, path, prof, r.randrange(32768, 60000)))
        self.radius_free = [h for h in self.hosts_list if h.v4 is not None]
        r.shuffle(self.radius_free)

    # ---- packet plumbing
    def next_ident(self):
        self.ident = (self.ident + 1) & 0xFFFF
        return self.ident

    def push(self, ts, frame):
        self.seq += 1
        heapq.heappush(self.heap, (ts, self.seq, frame))

    def flush_until(self, ts):
        heap, buf = self.heap, self.buf
        while heap and heap[0][0] <= ts:
            t, _, frame = heapq.heappop(heap)
            n = len(frame)
            t += BASE_TIME_US
            buf.append(S_REC.pack(t // 1000000, t % 1000000, n, n))
            buf.append(frame)
            self.buflen += n + 16
        if self.buflen > (1 << 20):
            self.out.write(b"".join(buf))
            buf.clear()
            self.buflen = 0

    def account(self, sess, c2s, l3len, path):
        src, dst = (sess.cli, sess.srv) if c2s else (sess.srv, sess.cli)
        hs = self.hosts.get(src)
        if hs is None:
            hs = self.hosts[src] = [0, 0, 0, 0]
        hs[0] += l3len
        hs[2] += 1
        hd = self.hosts.get(dst)
        if hd is None:
            hd = self.hosts[dst] = [0, 0, 0, 0]
        hd[1] += l3len
        hd[3] += 1
        f = sess.fc
        if c2s:
            f[0] += l3len
            f[2] += 1
        else:
            f[1] += l3len
            f[3] += 1
        v = self.vlans.get(path.vlan)
        if v is None:
            v = self.vlans[path.vlan] = [0, 0]
        v[0] += l3len
        v[1] += 1
        smac, dmac = path.macs(c2s)
        for m, i in ((smac, 0), (dmac, 1)):
            mc = self.macs.get(m)
            if mc is None:
                mc = self.macs[m] = [0, 0, 0, 0]
            mc[i] += l3len
            mc[i + 2] += 1
        self.packets += 1

    def new_port(self, host):
        p = host.next_port
        host.next_port = p + 1 + self.rng.randrange(3)
        if host.next_port > 60999:
            host.next_port = 32768 + self.rng.randrange(1000)
        return p


def bump(d, k, n=1):
    d[k] = d.get(k, 0) + n


class Session:
    """One flow: client/server addresses, ports, path; emits innermost IP packets."""

    def __init__(self, g, path, cli_b, srv_b, proto, cport, sport):
        self.g, self.path, self.proto = g, path, proto
        self.cli_b, self.srv_b, self.cport, self.sport = cli_b, srv_b, cport, sport
        self.v6 = len(cli_b) == 16
        self.cli = str(ipaddress.ip_address(cli_b))
        self.srv = str(ipaddress.ip_address(srv_b))
        l4 = L4NAME[P_ICMP6 if (self.v6 and proto == P_ICMP) else proto]
        key = "flow.%s.%s-%s" % (l4, fmt_ep(self.cli, cport), fmt_ep(self.srv, sport))
        if path.vlan:
            key += "@%d" % path.vlan
        self.key = key
        self.fc = None

    def claim(self):
        """Reserve the flow key; False if another session already used it."""
        if self.key in self.g.used_keys:
            return False
        self.g.used_keys.add(self.key)
        self.fc = self.g.flows[self.key] = [0, 0, 0, 0]
        return True

    def send_ip(self, ts, c2s, ip):
        self.g.account(self, c2s, len(ip), self.path)
        self.g.push(ts, self.path.frame(ip, c2s, self.v6))

    def send(self, ts, c2s, proto, l4):
        g = self.g
        src, dst = (self.cli_b, self.srv_b) if c2s else (self.srv_b, self.cli_b)
        if self.v6:
            ip = ip6_packet(src, dst, proto, l4, hlim=64 if c2s else 57)
        else:
            ip = ip4_packet(src, dst, proto, l4, g.next_ident(), ttl=64 if c2s else 57)
        self.send_ip(ts, c2s, ip)

    def udp(self, ts, c2s, payload):
        src, dst = (self.cli_b, self.srv_b) if c2s else (self.srv_b, self.cli_b)
        sp, dp = (self.cport, self.sport) if c2s else (self.sport, self.cport)
        self.send(ts, c2s, P_UDP, udp_seg(src, dst, sp, dp, payload))


class Tcp(Session):
    def __init__(self, *a):
        super().__init__(*a)
        rng = self.g.rng
        self.seq = [rng.randrange(1 << 32), rng.randrange(1 << 32)]   # [client, server]
        self.ack = [0, 0]

    def seg(self, ts, c2s, flags, payload=b"", opts=b""):
        i = 0 if c2s else 1
        src, dst = (self.cli_b, self.srv_b) if c2s else (self.srv_b, self.cli_b)
        sp, dp = (self.cport, self.sport) if c2s else (self.sport, self.cport)
        hdr = S_TCP.pack(sp, dp, self.seq[i] & 0xFFFFFFFF, self.ack[i] & 0xFFFFFFFF if flags & ACK else 0,
                         (5 + len(opts) // 4) << 4, flags, 64240 if c2s else 65160, 0, 0) + opts
        seg = l4_with_csum(src, dst, P_TCP, hdr + payload, 16)
        self.send(ts, c2s, P_TCP, seg)
        adv = len(payload) + (1 if flags & (SYN | FIN) else 0)
        self.seq[i] += adv
        self.ack[1 - i] = self.seq[i]

    def open(self, t, rtt):
        mss = struct.pack("!BBH", 2, 4, 1460) + b"\x01\x03\x03\x07"   # MSS, NOP, window scale 7
        self.seg(t, True, SYN, opts=mss)
        self.seg(t + rtt, False, SYN | ACK, opts=mss)
        self.seg(t + rtt + 40, True, ACK)
        return t + rtt + 40

    def data(self, t, c2s, payload, rtt):
        """Send payload in MSS segments; the peer ACKs. Returns the time of the last packet."""
        step = self.g.rng.randrange(20, 200)
        for off in range(0, len(payload), MSS):
            chunk = payload[off:off + MSS]
            t += step
            self.seg(t, c2s, PSH | ACK if off + MSS >= len(payload) else ACK, chunk)
        t += rtt
        self.seg(t, not c2s, ACK)
        return t

    def close(self, t, rtt):
        self.seg(t + 100, True, FIN | ACK)
        self.seg(t + 100 + rtt, False, FIN | ACK)
        self.seg(t + 140 + rtt, True, ACK)
        return t + 140 + rtt


# ---------------------------------------------------------------- application payloads
def dns_query_msg(txid, name, qtype, edns=True):
    msg = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 1 if edns else 0) + dns_name(name) + struct.pack("!HH", qtype, 1)
    if edns:
        msg += b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return msg


def dns_response_msg(rng, txid, name, qtype, rcode):
    ans, ns = [], []
    if rcode == 0:
        for _ in range(rng.randrange(1, 4)):
            if qtype == 1:
                rd = rng.randbytes(4)
            elif qtype == 28:
                rd = b"\x20\x01\x0d\xb8" + rng.randbytes(12)
            else:
                rd = struct.pack("!H", 10 * (1 + len(ans))) + dns_name("mx%d.%s" % (len(ans) + 1, name))
            ans.append(b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, rng.randrange(60, 3600), len(rd)) + rd)
    else:
        zone = name.split(".", 1)[1] if "." in name else name
        rd = dns_name("ns1." + zone) + dns_name("hostmaster." + zone) + struct.pack("!IIIII", 2023110101, 7200, 3600, 1209600, 300)
        ns.append(dns_name(zone) + struct.pack("!HHIH", 6, 1, 300, len(rd)) + rd)
    hdr = struct.pack("!HHHHHH", txid, 0x8180 | rcode, 1, len(ans), len(ns), 1)
    return hdr + dns_name(name) + struct.pack("!HH", qtype, 1) + b"".join(ans) + b"".join(ns) + \
        b"\x00" + struct.pack("!HHIH", 41, 1232, 0, 0)


def tls_ext(etype, body):
    return struct.pack("!HH", etype, len(body)) + body


def tls_client_hello(rng, sni):
    s = sni.encode()
    ciphers = [0x1301, 0x1302, 0x1303, 0xC02B, 0xC02F, 0xC02C, 0xC030, 0xCCA9, 0xCCA8, 0xC013, 0xC014, 0x009C, 0x009D, 0x002F, 0x0035]
    exts = b"".join([
        tls_ext(0, struct.pack("!HBH", len(s) + 3, 0, len(s)) + s),
        tls_ext(23, b""),
        tls_ext(65281, b"\x00"),
        tls_ext(10, struct.pack("!HHHHH", 8, 0x1D, 0x17, 0x18, 0x19)),
        tls_ext(11, b"\x01\x00"),
        tls_ext(16, b"\x00\x0c\x02h2\x08http/1.1"),
        tls_ext(13, struct.pack("!H8H", 16, 0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601)),
        tls_ext(43, b"\x04\x03\x04\x03\x03"),
        tls_ext(45, b"\x01\x01"),
        tls_ext(51, struct.pack("!HHH", 36, 0x1D, 32) + rng.randbytes(32)),
    ])
    body = struct.pack("!H", 0x0303) + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + \
        struct.pack("!H%dH" % len(ciphers), 2 * len(ciphers), *ciphers) + b"\x01\x00" + struct.pack("!H", len(exts)) + exts
    hs = b"\x01" + len(body).to_bytes(3, "big") + body
    return struct.pack("!BHH", 22, 0x0301, len(hs)) + hs


def tls_server_hello(rng, noise):
    exts = tls_ext(43, b"\x03\x04") + tls_ext(51, struct.pack("!HH", 0x1D, 32) + rng.randbytes(32))
    body = struct.pack("!H", 0x0303) + rng.randbytes(32) + b"\x20" + rng.randbytes(32) + \
        struct.pack("!HB", 0x1301, 0) + struct.pack("!H", len(exts)) + exts
    hs = b"\x02" + len(body).to_bytes(3, "big") + body
    out = struct.pack("!BHH", 22, 0x0303, len(hs)) + hs + b"\x14\x03\x03\x00\x01\x01"
    n = rng.randrange(1500, 4000)                      # encrypted extensions + certificate + finished
    o = rng.randrange(len(noise) - n)
    return out + struct.pack("!BHH", 23, 0x0303, n) + noise[o:o + n]


def tls_app(rng, noise, n):
    o = rng.randrange(len(noise) - n)
    return struct.pack("!BHH", 23, 0x0303, n) + noise[o:o + n]


def radius_attr(t, v):
    return struct.pack("!BB", t, len(v) + 2) + v


SECRET = b"testing123"


def radius_pair(rng, ident, user, framed, nas, sess_id, start, secs):
    attrs = [radius_attr(1, user.encode()), radius_attr(4, nas), radius_attr(5, struct.pack("!I", rng.randrange(1, 48))),
             radius_attr(6, struct.pack("!I", 2)), radius_attr(8, framed),
             radius_attr(31, ("02-00-00-%02X-%02X-%02X" % tuple(rng.randbytes(3))).encode()),
             radius_attr(40, struct.pack("!I", 1 if start else 2)), radius_attr(44, sess_id.encode()),
             radius_attr(45, struct.pack("!I", 1)), radius_attr(61, struct.pack("!I", 15))]
    if not start:
        attrs += [radius_attr(46, struct.pack("!I", secs)), radius_attr(42, struct.pack("!I", rng.randrange(1 << 24))),
                  radius_attr(43, struct.pack("!I", rng.randrange(1 << 26))), radius_attr(49, struct.pack("!I", 1))]
    a = b"".join(attrs)
    length = 20 + len(a)
    auth = hashlib.md5(struct.pack("!BBH", 4, ident, length) + b"\0" * 16 + a + SECRET).digest()
    req = struct.pack("!BBH", 4, ident, length) + auth + a
    rauth = hashlib.md5(struct.pack("!BBH", 5, ident, 20) + auth + SECRET).digest()
    return req, struct.pack("!BBH", 5, ident, 20) + rauth


# ---------------------------------------------------------------- sessions
class Builder:
    def __init__(self, g):
        self.g, self.r = g, g.rng
        self.dns_names = g.web_names + ["ntp.example.net", "update.example.com", "time.example.org",
                                        "push.example.io", "ads.example.net", "example.com", "example.org"]
        self.radius_seq = 0

    def session(self, g, host, proto, srv, sport, cport=None, path=None):
        cls = Tcp if proto == P_TCP else Session
        for _ in range(20):
            port = cport if cport is not None else g.new_port(host)
            s = cls(g, path or host.path, host.v6 if len(srv) == 16 else host.v4, srv, proto, port, sport)
            if s.claim():
                return s
            if cport is not None:
                return None
        return None

    def fam6(self, host):
        if host.v4 is None:
            return True
        return host.v6 is not None and self.r.random() < 0.4

    def dns_udp(self, t, host):
        g, r = self.g, self.r
        v6 = self.fam6(host)
        s = self.session(g, host, P_UDP, r.choice(g.dns6 if v6 else g.dns4), 53)
        if s is None:
            return False
        nx = r.random() < 0.15
        qt = r.choice(("A", "A", "A", "AAAA", "AAAA", "MX"))
        name = ("nx%06d.%s" % (r.randrange(10 ** 6), r.choice(("example.com", "example.net")))) if nx else r.choice(self.dns_names)
        wire = "".join(c.upper() if r.random() < 0.5 else c for c in name) if r.random() < 0.05 else name
        txid = r.randrange(65536)
        s.udp(t, True, dns_query_msg(txid, wire, QTYPE[qt]))
        bump(g.t_dns_names, name)
        bump(g.t_qtypes, qt)
        if r.random() < 0.1:
            bump(g.t_kinds, "dns_udp_unanswered")
            return True
        rcode = 3 if nx else 0
        s.udp(t + r.randrange(800, 60000), False, dns_response_msg(r, txid, wire, QTYPE[qt], rcode))
        bump(g.t_rcodes, "NXDOMAIN" if rcode else "NOERROR")
        return True

    def dns_tcp(self, t, host):
        g, r = self.g, self.r
        v6 = self.fam6(host)
        s = self.session(g, host, P_TCP, r.choice(g.dns6 if v6 else g.dns4), 53)
        if s is None:
            return False
        rtt = r.randrange(300, 5000)
        name, qt = r.choice(self.dns_names), r.choice(("A", "AAAA", "MX"))
        txid = r.randrange(65536)
        t = s.open(t, rtt)
        q = dns_query_msg(txid, name, QTYPE[qt])
        t = s.data(t, True, struct.pack("!H", len(q)) + q, rtt)
        resp = dns_response_msg(r, txid, name, QTYPE[qt], 0)
        t = s.data(t, False, struct.pack("!H", len(resp)) + resp, 200)
        s.close(t, rtt)
        bump(g.t_dns_names, name)
        bump(g.t_qtypes, qt)
        bump(g.t_rcodes, "NOERROR")
        return True

    def http(self, t, host):
        g, r = self.g, self.r
        v6 = self.fam6(host)
        s = self.session(g, host, P_TCP, r.choice(g.web6 if v6 else g.web4), 80)
        if s is None:
            return False
        rtt = r.randrange(5000, 80000)
        hname, ua = r.choice(g.web_names), r.choice(g.ua)
        t = s.open(t, rtt)
        nreq = 2 if r.random() < 0.3 else 1
        for i in range(nreq):
            last = i == nreq - 1
            path = r.choice(("/", "/index.html", "/api/v1/items?id=%d" % r.randrange(1000), "/img/logo.png",
                             "/static/app.js", "/missing", "/old-page"))
            method = "POST" if path.startswith("/api") and r.random() < 0.5 else "GET"
            body = b'{"q":%d}' % r.randrange(10 ** 6) if method == "POST" else b""
            req = "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: %s\r\nAccept: */*\r\n" % (method, path, hname, ua)
            if body:
                req += "Content-Type: application/json\r\nContent-Length: %d\r\n" % len(body)
            if last and nreq == 1 and r.random() < 0.5:
                req += "Connection: close\r\n"
            t = s.data(t, True, req.encode() + b"\r\n" + body, rtt)
            status = {"/missing": (404, "Not Found"), "/old-page": (301, "Moved Permanently")}.get(path, (200, "OK"))
            if status[0] == 200 and r.random() < 0.05:
                status = (500, "Internal Server Error")
            n = r.randrange(100, 3000) if status[0] == 200 else r.randrange(0, 200)
            o = r.randrange(len(g.text) - n)
            rb = g.text[o:o + n]
            resp = "HTTP/1.1 %d %s\r\nServer: nginx/1.22.1\r\nContent-Type: text/html\r\nContent-Length: %d\r\n" % (
                status[0], status[1], len(rb))
            if status[0] == 301:
                resp += "Location: https://%s%s\r\n" % (hname, path)
            t = s.data(t + r.randrange(500, 20000), False, resp.encode() + b"\r\n" + rb, rtt)
            bump(g.t_http, hname)
        s.close(t + r.randrange(1000, 50000), rtt)
        return True

    def tls(self, t, host):
        g, r = self.g, self.r
        v6 = self.fam6(host)
        s = self.session(g, host, P_TCP, r.choice(g.web6 if v6 else g.web4), 443)
        if s is None:
            return False
        rtt = r.randrange(5000, 80000)
        sni = r.choice(g.web_names)
        t = s.open(t, rtt)
        t = s.data(t, True, tls_client_hello(r, sni), rtt)
        t = s.data(t + 1000, False, tls_server_hello(r, g.noise), rtt)
        t = s.data(t, True, b"\x14\x03\x03\x00\x01\x01" + tls_app(r, g.noise, 53) + tls_app(r, g.noise, r.randrange(80, 600)), rtt)
        t = s.data(t + 5000, False, tls_app(r, g.noise, r.randrange(200, 5000)), rtt)
        s.close(t + r.randrange(1000, 100000), rtt)
        bump(g.t_sni, sni)
        return True

    def icmp(self, t, host):
        g, r = self.g, self.r
        v6 = self.fam6(host)
        for _ in range(10):
            s = Session(g, host.path, host.v6 if v6 else host.v4, r.choice(g.web6 if v6 else g.web4), P_ICMP, 0, 0)
            if s.claim():
                break
        else:
            return False
        ident = r.randrange(65536)
        rtt = r.randrange(1000, 60000)
        for i in range(r.randrange(1, 5)):
            pay = struct.pack("!II", (BASE_TIME_US + t) // 1000000, t % 1000000) + bytes(range(16, 56))
            for c2s, typ in ((True, 128 if v6 else 8), (False, 129 if v6 else 0)):
                msg = struct.pack("!BBHHH", typ, 0, 0, ident, i + 1) + pay
                if v6:
                    src, dst = (s.cli_b, s.srv_b) if c2s else (s.srv_b, s.cli_b)
                    msg = l4_with_csum(src, dst, P_ICMP6, msg, 2)
                else:
                    msg = msg[:2] + S_NCS.pack(csum(msg)) + msg[4:]
                s.send(t + (0 if c2s else rtt), c2s, P_ICMP6 if v6 else P_ICMP, msg)
            t += 1000000
        return True

    def frag(self, t, host):
        """A large UDP syslog datagram split into IPv4 fragments."""
        g, r = self.g, self.r
        if host.v4 is None:
            return False
        s = self.session(g, host, P_UDP, r.choice(g.web4), 514)
        if s is None:
            return False
        n = r.randrange(1600, 4200)
        o = r.randrange(len(g.text) - n)
        msg = b"<134>Nov 14 22:13:20 probe app: " + g.text[o:o + n]
        dgram = udp_seg(s.cli_b, s.srv_b, s.cport, 514, msg)
        ident = g.next_ident()
        step = 1480
        for off in range(0, len(dgram), step):
            part = dgram[off:off + step]
            more = 0x2000 if off + step < len(dgram) else 0
            s.send_ip(t, True, ip4_packet(s.cli_b, s.srv_b, P_UDP, part, ident, flags_frag=more | (off // 8)))
            t += 30
        g.t_frag.append(s.key)
        return True

    def radius(self, t, host):
        """Accounting Start (and for some users a later Stop) from a NAS for a client host's address."""
        g, r = self.g, self.r
        if not g.radius_free:
            return False
        target = g.radius_free.pop()
        self.radius_seq += 1
        user = "%s.%s%d" % (r.choice(("alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi")),
                            r.choice(("smith", "jones", "brown", "lee", "garcia")), self.radius_seq)   # unique
        framed = str(ipaddress.ip_address(target.v4))
        nas = r.choice(g.nas)
        nas_host = Host(nas, None, g.nas_path, "nas", 0)
        sid = "%08X" % r.randrange(1 << 32)
        end = g.a.duration * 1000000
        stop_at = None
        if r.random() < 0.4 and t + 2000000 < end - 500000:
            stop_at = r.randrange(t + 1000000, end - 500000)
        for start, ts in ((True, t), (False, stop_at)):
            if ts is None:
                continue
            s = None
            while s is None:
                s = self.session(g, nas_host, P_UDP, g.radius_srv, 1813, cport=r.randrange(1024, 65535))
            req, resp = radius_pair(r, r.randrange(256), user, target.v4, nas, sid, start, (ts - t) // 1000000)
            s.udp(ts, True, req)
            s.udp(ts + r.randrange(300, 3000), False, resp)
            bump(g.t_kinds, "radius_start" if start else "radius_stop")
        if stop_at is None:
            g.t_radius[user] = framed
        return True


KINDS = ["dns_udp", "http", "tls", "dns_tcp", "icmp", "frag", "radius"]
WEIGHTS = [30, 14, 14, 4, 6, 1, 2]


def generate(args):
    g = Gen(args)
    b = Builder(g)
    r = g.rng
    end = args.duration * 1000000
    span = max(1, end - 6000000) if args.duration > 12 else max(1, end // 2)
    # Make sure every kind and every encapsulation appears: one of each kind per host profile first.
    plan = []
    by_prof = {}
    for h in g.hosts_list:
        by_prof.setdefault(h.profile, h)
    for prof, h in sorted(by_prof.items()):
        for k in sorted(set(KINDS)):
            plan.append((k, h))
    plan = plan[:args.sessions] if args.sessions < len(plan) else plan
    while len(plan) < args.sessions:
        plan.append((r.choices(KINDS, WEIGHTS)[0], r.choice(g.hosts_list)))
    starts = sorted(r.randrange(span) for _ in plan)
    r.shuffle(plan)
    fallback = {"radius": "dns_udp", "frag": "dns_udp"}
    for t, (kind, host) in zip(starts, plan):
        g.flush_until(t)
        ok = getattr(b, kind)(t, host)
        while not ok:
            kind = fallback.get(kind, "icmp" if kind != "icmp" else "dns_udp")
            ok = getattr(b, kind)(t, host)
        if kind not in ("radius",):
            bump(g.t_kinds, kind)
            bump(g.t_encaps, host.path.encap)
        else:
            bump(g.t_encaps, "vlan")
    g.flush_until(float("inf"))
    g.out.write(b"".join(g.buf))
    g.out.close()
    return g


def truth_of(g, args):
    def macstr(m):
        return ":".join("%02x" % x for x in m)

    return {
        "generator": "tools/gen_demo.py",
        "seed": args.seed, "sessions": args.sessions, "duration": args.duration,
        "first_ts": BASE_TIME_US / 1e6,
        "packets": g.packets,
        "hosts": {ip: {"bytes.sent": c[0], "bytes.rcvd": c[1], "pkts.sent": c[2], "pkts.rcvd": c[3]}
                  for ip, c in sorted(g.hosts.items())},
        "flows": {k: {"bytes.c2s": c[0], "bytes.s2c": c[1], "pkts.c2s": c[2], "pkts.s2c": c[3]}
                  for k, c in sorted(g.flows.items())},
        "vlans": {str(v): {"bytes": c[0], "pkts": c[1]} for v, c in sorted(g.vlans.items())},
        "macs": {macstr(m): {"bytes.sent": c[0], "bytes.rcvd": c[1], "pkts.sent": c[2], "pkts.rcvd": c[3]}
                 for m, c in sorted(g.macs.items())},
        "dns_queries_by_name": dict(sorted(g.t_dns_names.items())),
        "dns_qtypes": dict(sorted(g.t_qtypes.items())),
        "dns_rcodes": dict(sorted(g.t_rcodes.items())),
        "http_hosts": dict(sorted(g.t_http.items())),
        "tls_sni": dict(sorted(g.t_sni.items())),
        "radius_active_users": dict(sorted(g.t_radius.items())),
        "sessions_by_kind": dict(sorted(g.t_kinds.items())),
        "sessions_by_encap": dict(sorted(g.t_encaps.items())),
        "fragmented_flows": sorted(g.t_frag),
        "notes": "bytes are innermost IP L3 bytes; tunnel outer endpoints are not hosts; "
                 "macs are from the outermost Ethernet header; a fragmented datagram counts every fragment in its flow",
    }


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--sessions", type=int, default=400)
    p.add_argument("--hosts", type=int, default=40)
    p.add_argument("--duration", type=int, default=60, help="seconds of traffic")
    p.add_argument("--out", required=True)
    p.add_argument("--truth")
    args = p.parse_args(argv)
    if args.sessions < 0 or args.duration < 1 or args.hosts < 1:
        p.error("--sessions >= 0, --duration >= 1, --hosts >= 1")
    g = generate(args)
    if args.truth:
        with open(args.truth, "w") as f:
            json.dump(truth_of(g, args), f, indent=1, sort_keys=False)
            f.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
