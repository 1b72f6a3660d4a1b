"""liveutil.py - helpers shared by the event, watchlist, example and live tests."""
import json
import socket
import struct
import threading
import time


def checksum(b):
    """The Internet checksum (RFC 1071) of b."""
    b += b"\0" * (len(b) % 2)
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ipv4(proto, src, dst, payload):
    """An IPv4 packet (no options, checksum set) carrying payload."""
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 7, 0, 64, proto, 0, socket.inet_aton(src),
                    socket.inet_aton(dst))
    return h[:10] + struct.pack("!H", checksum(h)) + h[12:] + payload


def delayed_copy(src, dst, lead_s=20.0):
    """Copy a classic pcap, adding one non-IP frame lead_s seconds before the first packet, so a replay at
    --pcap-speed N leaves lead_s/N seconds to subscribe before the real traffic starts."""
    data = open(src, "rb").read()
    hdr, rest = data[:24], data[24:]
    magic = struct.unpack("<I", hdr[:4])[0]
    end = "<" if magic in (0xA1B2C3D4, 0xA1B23C4D) else ">"
    ts_s, ts_u = struct.unpack(end + "II", rest[:8])
    frame = b"\xff" * 6 + b"\x02\x00\x00\x00\x00\x01" + b"\x88\xb5" + b"\x00" * 46   # local experimental ethertype
    rec = struct.pack(end + "IIII", ts_s - int(lead_s), ts_u, len(frame), len(frame)) + frame
    with open(dst, "wb") as f:
        f.write(hdr + rec + rest)
    return dst


class Collector:
    """A redis-py pubsub on a thread, keeping (channel, data) for the channels / patterns given."""

    def __init__(self, client, channels=(), patterns=()):
        self.ps = client.pubsub(ignore_subscribe_messages=True)
        if channels:
            self.ps.subscribe(*channels)
        if patterns:
            self.ps.psubscribe(*patterns)
        self.msgs = []
        self._stop = False
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self._stop:
            m = self.ps.get_message(timeout=0.2)
            if m and m["type"] in ("message", "pmessage"):
                self.msgs.append((m["channel"], m["data"]))

    def of(self, channel):
        return [d for c, d in self.msgs if c == channel]

    def json_of(self, channel):
        return [json.loads(d) for d in self.of(channel)]

    def wait_quiet(self, quiet=1.0, timeout=60.0):
        deadline = time.monotonic() + timeout
        n, last = -1, time.monotonic()
        while time.monotonic() < deadline:
            if len(self.msgs) != n:
                n, last = len(self.msgs), time.monotonic()
            elif time.monotonic() - last >= quiet:
                return
            time.sleep(0.1)

    def close(self):
        self._stop = True
        self.t.join(timeout=5)
        self.ps.close()


def run_in_netns(prefix, script, marker, env=None, timeout=240):
    """Run /usr/bin/python3 script inside a network namespace made for it, then kill whatever is left in that
    namespace and delete it. Returns the JSON object the script printed after marker, or None when no namespace
    can be made; raises AssertionError with the script's output when it printed none."""
    import os
    import sys
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tools"))
    from toolutil import netns_run
    p = netns_run(prefix, ["/usr/bin/python3", script], timeout, env)
    if p is None:
        return None
    line = [l for l in p.stdout.splitlines() if l.startswith(marker)]
    assert line, "driver failed:\n%s\n%s" % (p.stdout[-3000:], p.stderr[-3000:])
    return json.loads(line[-1][len(marker):])


def near(f, x, y):
    """Times may differ a little between the two readers: when a packet carries no receive timestamp the
    kernel stamps it for each socket separately. *.seen are seconds (50 ms apart at most); round trips
    and service times (*.us, and their sums *.us.sum) are microseconds between two such stamps (5 ms
    apart at most)."""
    if f.endswith(".seen"):
        return abs(float(x or 0) - float(y or 0)) < 0.05
    if f.endswith((".us", ".us.sum")) and x is not None and y is not None:
        return abs(int(x) - int(y)) < 5000
    return False


def differences(a, b):
    """Fields that differ between two dumps, times within what near() allows aside."""
    out = {}
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            d = {f: (va.get(f), vb.get(f)) for f in set(va) | set(vb)
                 if va.get(f) != vb.get(f) and not near(f, va.get(f), vb.get(f))}
            if d:
                out[k] = d
        elif va != vb:
            out[k] = (va, vb)
    return out


def driver_result(prefix, script, marker, timeout=180):
    """run_in_netns for a test module's fixture: skips the module when not root, without iproute2, or when no
    namespace can be made."""
    import os
    import shutil
    import pytest
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("needs root and iproute2")
    res = run_in_netns(prefix, script, marker, timeout=timeout)
    if res is None:
        pytest.skip("cannot create a network namespace")
    return res


def dump_keys(r):
    """Every key of a redis client's server with its whole value (sets sorted)."""
    out = {}
    for k in r.scan_iter(count=1000):
        t = r.type(k)
        if t == "hash":
            out[k] = r.hgetall(k)
        elif t == "string":
            out[k] = r.get(k)
        elif t == "set":
            out[k] = sorted(r.smembers(k))
        else:
            out[k] = t
    return out


def snapshot_instances(clients, timeout=20):
    """Once every instance's packet count has been steady for a second: {name: {"capture": INFO capture_*
    fields, "keys": dump_keys}} for clients {name: redis client}; closes the clients."""
    last, deadline = None, time.monotonic() + timeout
    while time.monotonic() < deadline:
        cur = [int(c.info("capture")["capture_packets"]) for c in clients.values()]
        if cur == last:
            break
        last = cur
        time.sleep(1.0)
    time.sleep(0.3)                              # one more worker tick for folded counters
    out = {}
    for name, c in clients.items():
        info = c.info("capture")
        out[name] = {"capture": {k: v for k, v in info.items() if k.startswith("capture")}, "keys": dump_keys(c)}
        c.close()
    return out


# keys that also count a driver's own RESP connections on 127.0.0.1 (polled at different moments per instance)
SHARED = ("mac.00:00:00:00:00:00", "vlan.0")


def comparable(keys):
    """Keys of a live test's own traffic: not the RESP connections to the instances on 127.0.0.1 nor the
    aggregates they feed."""
    return {k: v for k, v in keys.items() if "127.0.0.1" not in k and k not in SHARED and not k.startswith(("proto.", "port."))}
