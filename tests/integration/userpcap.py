"""userpcap.py - small seeded pcap builders for the cross-probe tests: RADIUS accounting, UDP request/reply
flows, DNS queries, TCP flows with chosen flags, written as classic Ethernet pcap files."""
import hashlib
import socket
import struct

T0 = 1700000000.0
SECRET = b"testing123"


def _csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(src, dst, proto, payload, ident=1):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), ident & 0xFFFF, 0x4000, 64, proto, 0,
                    socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", _csum(h)) + h[12:] + payload


def udp(src, dst, sport, dport, payload):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


TCP_FLAGS = {"F": 1, "S": 2, "R": 4, "P": 8, "A": 16, "U": 32}


def tcp(src, dst, sport, dport, flags, seq=1, ack=0, payload=b""):
    f = sum(TCP_FLAGS[c] for c in flags)
    seg = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, f, 65535, 0, 0) + payload
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(seg))
    seg = seg[:16] + struct.pack("!H", _csum(pseudo + seg)) + seg[18:]
    return ipv4(src, dst, 6, seg)


def ether(ip_packet):
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip_packet


def write_pcap(path, packets):
    """packets: [(time, ip_packet)], written in time order."""
    out = [struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1)]
    for t, pkt in sorted(packets, key=lambda p: p[0]):
        frame = ether(pkt)
        sec = int(t)
        usec = int(round((t - sec) * 1e6))
        out.append(struct.pack("<IIII", sec, usec, len(frame), len(frame)) + frame)
    with open(path, "wb") as f:
        f.write(b"".join(out))


def _attr(t, v):
    return struct.pack("!BB", t, len(v) + 2) + v


ACCT = {"start": 1, "stop": 2, "interim": 3}


def radius_acct(ident, user, framed, nas, session, status):
    """One Accounting-Request (code 4) as a UDP payload."""
    attrs = b"".join([_attr(1, user.encode()), _attr(4, socket.inet_aton(nas)), _attr(8, socket.inet_aton(framed)),
                      _attr(40, struct.pack("!I", ACCT[status])), _attr(44, session.encode())])
    length = 20 + len(attrs)
    auth = hashlib.md5(struct.pack("!BBH", 4, ident & 0xFF, length) + b"\0" * 16 + attrs + SECRET).digest()
    return struct.pack("!BBH", 4, ident & 0xFF, length) + auth + attrs


def radius_packet(t, ident, user, framed, status, nas="10.254.0.1", server="10.254.0.100"):
    return (t, udp(nas, server, 40000 + ident % 1000, 1813,
                   radius_acct(ident, user, framed, nas, "S%06d" % ident, status)))


def udp_exchange(t, cli, srv, cport, sport, n=2, gap=0.5):
    """n request/reply pairs of one UDP flow starting at t."""
    pk = []
    for i in range(n):
        pk.append((t + i * gap, udp(cli, srv, cport, sport, b"req%d" % i)))
        pk.append((t + i * gap + 0.01, udp(srv, cli, sport, cport, b"rep%d" % i)))
    return pk


def dns_query(t, cli, srv, cport, txid, name):
    q = struct.pack("!HHHHHH", txid, 0x0100, 1, 0, 0, 0)
    q += b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    return (t, udp(cli, srv, cport, 53, q))


def dns_answer(t, cli, srv, cport, txid, name):
    q = b"".join(bytes([len(x)]) + x.encode() for x in name.split(".")) + b"\0" + struct.pack("!HH", 1, 1)
    a = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton("192.0.2.1")
    return (t, udp(srv, cli, 53, cport, struct.pack("!HHHHHH", txid, 0x8180, 1, 1, 0, 0) + q + a))
