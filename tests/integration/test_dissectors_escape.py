"""One escaping rule for names from packets (dissectors/escape.c): UTF-8 passes through, a backslash is
written twice, every other byte as \\xHH. The literal text `a\\x0ab` and a real LF byte give two keys."""
import socket
import struct

from conftest import NO_EXPIRY
from test_dns_evicted import gen_module, write_pcap

G = gen_module()
ETH = b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00"

# (bytes on the wire, what the key says after "dns." / "http.")
NAMES = [
    (b"caf\xc3\xa9.example", "caf\u00e9.example"),
    (b"raw\xff.example", "raw\\xff.example"),
    (b"dom\\user.example", "dom\\\\user.example"),
    (b"a\\x0ab.example", "a\\\\x0ab.example"),
    (b"a\nb.example", "a\\x0ab.example"),      # DNS only: in HTTP an LF ends the Host line
    (b"a\\x01b.example", "a\\\\x01b.example"),
    (b"a\x01b.example", "a\\x01b.example"),
]


def ip(a):
    return socket.inet_aton(a)


def udp(src, dst, sport, dport, payload, ident):
    return ETH + G.ip4_packet(ip(src), ip(dst), 17, G.udp_seg(ip(src), ip(dst), sport, dport, payload), ident)


def tcp(src, dst, sport, dport, seq, ack, flags, payload, ident):
    seg = G.S_TCP.pack(sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + payload
    return ETH + G.ip4_packet(ip(src), ip(dst), 6, G.l4_with_csum(ip(src), ip(dst), 6, seg, 16), ident)


def dns_query(i, name):
    qd = b"".join(bytes([len(lab)]) + lab for lab in name.split(b".")) + b"\x00\x00\x01\x00\x01"
    payload = struct.pack("!HHHHHH", 0x100 + i, 0x0100, 1, 0, 0, 0) + qd
    return [udp("10.0.0.1", "10.0.0.53", 40000 + i, 53, payload, i)]


def http_request(i, host):
    c, s, sp = "10.0.1.%d" % (i + 1), "10.0.2.80", 41000 + i
    req = b"GET / HTTP/1.1\r\nHost: " + host + b"\r\n\r\n"
    return [tcp(c, s, sp, 80, 100, 0, 0x02, b"", 1),
            tcp(s, c, 80, sp, 500, 101, 0x12, b"", 2),
            tcp(c, s, sp, 80, 101, 501, 0x10, b"", 3),
            tcp(c, s, sp, 80, 101, 501, 0x18, req, 4)]


def test_names_escape_one_way(flowcached, tmp_path):
    frames = []
    for i, (wire, _) in enumerate(NAMES):
        frames += dns_query(i, wire) + (http_request(i, wire) if b"\n" not in wire else [])
    pcap = tmp_path / "escape.pcap"
    write_pcap(pcap, [(1700000000 + n * 0.001, f) for n, f in enumerate(frames)])
    fc = flowcached("--pcap", pcap, "--pcap-end", "keep", *NO_EXPIRY)
    fc.wait_pcap_done()
    c = fc.client()
    dns = {k[len("dns."):] for k in c.scan_iter(match="dns.*", count=1000)}
    http = {k[len("http."):] for k in c.scan_iter(match="http.*", count=1000)}
    want = {key for _, key in NAMES}
    assert want <= dns, "dns keys: %r" % sorted(dns)
    assert {key for wire, key in NAMES if b"\n" not in wire} <= http, "http keys: %r" % sorted(http)
    assert len(want) == len(NAMES)          # literal "a\x0ab" and a real LF are two keys
