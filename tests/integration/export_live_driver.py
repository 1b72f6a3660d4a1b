"""export_live_driver.py - run inside a fresh network namespace by test_export_live.py: flowcached instances in
several live capture modes, each capturing two veth ends (sources 1 and 2) and exporting to its own nfcapd on this
namespace's private loopback, while crafted frames of known size go into the other veth ends. Phase 1's flows end
by idle timeout, phase 2's at shutdown (SIGTERM). Prints one JSON object: what was sent, the interfaces' indexes,
per instance its INFO before the stop and the records nfdump reads back. Every process is stopped by pid in finally."""
import json, os, shutil, signal, socket, struct, subprocess, sys, tempfile, time
sys.path.insert(0, os.path.dirname(__file__))
import redis
from pathlib import Path
from conftest import flowcached_binary, free_port, stop_pid, tail, wait_ping
from liveutil import ipv4
from test_export import NFDUMP, NfCapd, stop

# name: (export protocol, capture options); every instance sees every frame
INSTANCES = {
    "immediate": ("ipfix", []),
    "threads2": ("ipfix", ["--capture-threads", "2"]),                      # one PACKET_FANOUT socket per worker
    "threads2-v9": ("netflow9", ["--capture-threads", "2"]),
    "libpcap2": ("ipfix", ["--capture-reader", "libpcap", "--capture-coalesce-us", "0", "--capture-threads", "2"]),
    "batch5-v9": ("netflow9", ["--capture-batch-ms", "5", "--capture-buffer", "32mb"]),
}
# the captured ends; their peers are where frames are sent. A spare pair first, so that no captured interface's
# index is 1 or 2 (the observation points).
PAIRS = (("fcpad0", "fcpad1"), ("fcin0", "fcA"), ("fcin1", "fcB"))
IFACES = ("fcA", "fcB")
IDLE_S = 2
FMT = "fmt:%in|%opid|%pr|%sa|%sp|%da|%dp|%ipkt|%ibyt|%bfd"


def ipv6(proto, src, dst, payload):
    return struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64, socket.inet_pton(socket.AF_INET6, src),
                       socket.inet_pton(socket.AF_INET6, dst)) + payload


def udp(sport, dport, n):
    return struct.pack("!HHHH", sport, dport, 8 + n, 0) + b"u" * n


def tcp(sport, dport, flags, n):
    return struct.pack("!HHIIBBHHH", sport, dport, 1000, 2000, 5 << 4, flags, 65535, 0, 0) + b"t" * n


def frame(l3):
    kind = 0x0800 if l3[0] >> 4 == 4 else 0x86DD
    # unicast to a MAC nobody has: the capture sees it, the namespace's stack drops it (no answer, no noise)
    return bytes.fromhex("020000000002020000000001") + struct.pack("!H", kind) + l3


def flows(phase):
    """[(interface index into IFACES, [layer-3 packets])] of one phase: UDP v4 both ways on A, TCP v4 (no FIN) on
    A, UDP v6 and UDP v4 on B; sizes differ per flow and packet. Phase 2 uses other ports."""
    out, base = [], 1000 * phase
    for i in range(12):
        c, s = "10.1.0.%d" % (i + 1), "10.1.100.1"
        pk = []
        for r in range(3):
            pk.append(ipv4(17, c, s, udp(base + i, 7000, 10 + i + r)))
            pk.append(ipv4(17, s, c, udp(7000, base + i, 40 + 3 * r)))
        out.append((0, pk))
    for i in range(4):
        c, s = "10.1.1.%d" % (i + 1), "10.1.100.2"
        out.append((0, [ipv4(6, c, s, tcp(base + i, 8000, 0x02, 0)), ipv4(6, s, c, tcp(8000, base + i, 0x12, 0)),
                        ipv4(6, c, s, tcp(base + i, 8000, 0x18, 100 + i)), ipv4(6, s, c, tcp(8000, base + i, 0x10, 0))]))
    for i in range(6):
        c, s = "fd00:2::%x" % (i + 1), "fd00:2::ff"
        out.append((1, [ipv6(17, c, s, udp(base + i, 7001, 30 + i)), ipv6(17, s, c, udp(7001, base + i, 5))] * 2))
    for i in range(5):
        c, s = "10.2.0.%d" % (i + 1), "10.2.100.1"
        out.append((1, [ipv4(17, c, s, udp(base + i, 7002, 1 + i)), ipv4(17, s, c, udp(7002, base + i, 200))]))
    return out


def send(socks, phase_flows):
    """Sends every packet; returns per interface name {"flows", "pkts", "bytes"} (bytes: layer 3)."""
    sent = {name: {"flows": 0, "pkts": 0, "bytes": 0} for name in IFACES}
    for i, pk in phase_flows:
        sent[IFACES[i]]["flows"] += 1
        for p in pk:
            socks[i].send(frame(p))
            sent[IFACES[i]]["pkts"] += 1
            sent[IFACES[i]]["bytes"] += len(p)
    return sent


def info_all(clients):
    return {n: c.info() for n, c in clients.items()}


def wait_all(clients, ok, timeout):
    """Polls INFO of every instance until ok(info) holds for all (or timeout); returns the last INFOs."""
    deadline = time.monotonic() + timeout
    while True:
        infos = info_all(clients)
        if all(ok(i) for i in infos.values()) or time.monotonic() > deadline:
            return infos
        time.sleep(0.2)


def nfdump_records(col):
    files = sorted(str(p) for p in (col.dir / "flows").glob("nfcapd.*") if p.stat().st_size > 0)
    out = []
    for f in files:
        r = subprocess.run([NFDUMP, "-r", f, "-q", "-6", "-N", "-o", FMT], capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        for line in r.stdout.splitlines():
            parts = [p.strip() for p in line.split("|")]
            if len(parts) == 10:
                out.append({"in": int(parts[0]), "opid": int(parts[1], 0), "proto": parts[2], "src": parts[3],
                            "dst": parts[5], "pkts": int(parts[7]), "bytes": int(parts[8]), "bfd": int(parts[9])})
    return out


def sysctl(path, value):
    with open("/proc/sys/" + path, "w") as f:
        f.write(value)


d = tempfile.mkdtemp(prefix="fc-export-live-")
procs, cols, res = {}, {}, {"instances": {}, "sent": {}}
try:
    # no IPv6 autoconfiguration or neighbour discovery on the new links: only the frames sent here are captured
    sysctl("net/ipv6/conf/all/disable_ipv6", "1")
    sysctl("net/ipv6/conf/default/disable_ipv6", "1")
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    for a, b in PAIRS:
        subprocess.run(["ip", "link", "add", a, "type", "veth", "peer", "name", b], check=True)
        subprocess.run(["ip", "link", "set", a, "up"], check=True)
        subprocess.run(["ip", "link", "set", b, "up"], check=True)
    res["ifindex"] = {n: int(open("/sys/class/net/%s/ifindex" % n).read()) for n in IFACES}
    ports = {}
    for n, (proto, opts) in INSTANCES.items():
        cols[n] = NfCapd(Path(d) / n).start()
        ports[n] = free_port()
        log = os.path.join(d, n + ".log")
        procs[n] = subprocess.Popen([str(flowcached_binary()), "--port", str(ports[n]), "--bind", "127.0.0.1",
                                     "--interface", IFACES[0], "--interface", IFACES[1],
                                     "--flow-idle-timeout", str(IDLE_S), "--flow-lifetime-timeout", "86400",
                                     "--host-idle-timeout", "86400", "--tcp-close-grace-ms", "86400000",
                                     "--export", "127.0.0.1:%d" % cols[n].port, "--export-protocol", proto] + opts,
                                    stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    for n in INSTANCES:
        wait_ping(ports[n], procs[n], 20, os.path.join(d, n + ".log"))
    clients = {n: redis.Redis(port=ports[n], decode_responses=True, socket_timeout=10) for n in INSTANCES}
    time.sleep(0.5)
    socks = []
    for peer in (PAIRS[1][0], PAIRS[2][0]):
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((peer, 0))
        socks.append(s)
    sent1 = send(socks, flows(1))
    n1 = sum(v["flows"] for v in sent1.values())
    p1 = sum(v["pkts"] for v in sent1.values())
    res["phase1"] = wait_all(clients, lambda i: int(i["flows_expired"]) >= n1 and int(i["export_flows"]) >= n1,
                             IDLE_S + 20)
    sent2 = send(socks, flows(2))
    for s in socks:
        s.close()
    total = p1 + sum(v["pkts"] for v in sent2.values())
    # one INFO per instance once every packet is counted: flows_expired + flows_active is every flow that ends
    # before or at the stop, whichever comes first from here
    res["before_stop"] = wait_all(clients, lambda i: int(i["capture_packets"]) >= total, 20)
    res["sent"] = {n: {k: sent1[n][k] + sent2[n][k] for k in sent1[n]} for n in IFACES}
    res["sent_flows_phase1"] = n1
    for c in clients.values():
        c.close()
    for n in INSTANCES:
        res["instances"][n] = {"protocol": INSTANCES[n][0], "rc": stop_pid(procs[n], grace=15)}
    for n in INSTANCES:
        cols[n].stop()
        res["instances"][n]["records"] = nfdump_records(cols[n])
finally:
    for n, p in procs.items():
        stop_pid(p)
        res["instances"].setdefault(n, {})["log"] = tail(os.path.join(d, n + ".log"), 6000)
    for c in cols.values():
        if c.proc is not None:
            stop(c.proc, signal.SIGKILL)
    shutil.rmtree(d, ignore_errors=True)
print("EXPORT-LIVE-RESULT " + json.dumps(res))
