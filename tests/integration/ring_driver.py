"""ring_driver.py - run inside a fresh network namespace by test_live_ring.py: six flowcached on lo (the own packet
ring and libpcap, each without a filter, with "vlan 42" and with "udp"), then crafted frames
through an AF_PACKET socket on lo (VLAN and QinQ tags, which the kernel strips before capture and the readers must
put back; UDP datagrams too large for a 2 KB ring frame, tagged and untagged) and a 4 MB TCP transfer from 127.0.0.8 to
127.0.0.9 (64 KB GSO segments; the test's own clients use 127.0.0.1). Prints one JSON object: per instance INFO capture counters and a dump of every key. Every
process is stopped by pid in finally."""
import json, os, shutil, socket, struct, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
import redis
from conftest import wait_ping, free_port, stop_pid, flowcached_binary
from liveutil import snapshot_instances

FILTER = "vlan 42"
INSTANCES = {"ring": ["--capture-reader", "packet-ring"], "libpcap": ["--capture-reader", "libpcap"],
             "ring_bpf": ["--capture-reader", "packet-ring", "--bpf", FILTER],
             "libpcap_bpf": ["--capture-reader", "libpcap", "--bpf", FILTER],
             "ring_udp": ["--capture-reader", "packet-ring", "--bpf", "udp"],
             "libpcap_udp": ["--capture-reader", "libpcap", "--bpf", "udp"]}
# (frames, vlan tags as (tpid, id), src, dst, udp payload bytes)
FRAMES = [(50, [(0x8100, 42)], "10.1.0.1", "10.1.0.2", 100),
          (30, [(0x88a8, 7), (0x8100, 8)], "10.2.0.1", "10.2.0.2", 200),
          (20, [], "10.3.0.1", "10.3.0.2", 6000),
          (10, [(0x8100, 42)], "10.5.0.1", "10.5.0.2", 5000),
          (40, [], "10.4.0.1", "10.4.0.2", 60)]
TCP_BYTES = 4 << 20


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def frame(tags, src, dst, n, sport=1000, dport=2000):
    udp = struct.pack("!HHHH", sport, dport, 8 + n, 0) + bytes(i & 0xFF for i in range(n))
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 1, 0, 64, 17, 0, socket.inet_aton(src),
                     socket.inet_aton(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    eth = bytes.fromhex("020000000002") + bytes.fromhex("020000000001")
    for tpid, vid in tags:
        eth += struct.pack("!HH", tpid, vid)
    return eth + b"\x08\x00" + ip + udp


def tcp_transfer():
    srv = socket.socket()
    srv.bind(("127.0.0.9", 0))
    srv.listen(1)
    got = []

    def sink():
        c, _ = srv.accept()
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            n += len(b)
        got.append(n)
        c.close()
    t = threading.Thread(target=sink)
    t.start()
    c = socket.create_connection(srv.getsockname(), source_address=("127.0.0.8", 0))
    c.sendall(b"z" * TCP_BYTES)
    c.close()
    t.join(30)
    srv.close()
    return got[0] if got else -1


d = tempfile.mkdtemp(prefix="fc-ring-")
procs, res = {}, {"instances": {}}
try:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    ports = {}
    for name, args in INSTANCES.items():
        ports[name] = free_port()
        log = os.path.join(d, name + ".log")
        procs[name] = subprocess.Popen([str(flowcached_binary()), "--port", str(ports[name]), "--interface", "lo",
                                        "--flow-idle-timeout", "600", "--host-idle-timeout", "600",
                                        "--tcp-close-grace-ms", "600000"] + args,
                                       stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    for name in INSTANCES:
        wait_ping(ports[name], procs[name], 20, os.path.join(d, name + ".log"))
    time.sleep(0.5)
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("lo", 0))
    for count, tags, src, dst, n in FRAMES:
        f = frame(tags, src, dst, n)
        for i in range(count):
            s.send(f)
    s.close()
    res["tcp_received"] = tcp_transfer()
    clients = {name: redis.Redis(port=ports[name], decode_responses=True) for name in INSTANCES}
    res["instances"] = snapshot_instances(clients)
finally:
    for name, p in procs.items():
        stop_pid(p)
        res.setdefault("logs", {})[name] = open(os.path.join(d, name + ".log"), errors="replace").read()[-1500:]
    shutil.rmtree(d, ignore_errors=True)
print("RING-RESULT " + json.dumps(res))
