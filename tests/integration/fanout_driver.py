"""fanout_driver.py - run inside a fresh network namespace by test_live_fanout.py: three flowcached on lo with
capture-threads 1, 2 and 3 (with 2 and 3 each worker reads its own packet socket of one PACKET_FANOUT group), then a
known traffic: UDP flows both ways between many IPv4 and IPv6 addresses, TCP connections, and GRE-tunnelled UDP
frames (crafted, through an AF_PACKET socket) whose outer addresses the kernel hashes while the workers own them by
their inner ones. Prints one JSON object: per instance INFO capture counters and a dump of every key. Every process
is stopped by pid in finally."""
import json, os, shutil, socket, struct, subprocess, sys, tempfile, threading, time
sys.path.insert(0, os.path.dirname(__file__))
import redis
from conftest import wait_ping, free_port, stop_pid, flowcached_binary
from liveutil import ipv4, snapshot_instances

THREADS = (1, 2, 3)
UDP_FLOWS, UDP_ROUNDS = 120, 5          # each round: one datagram out, one echoed back
V6_FLOWS = 40
TCP_FLOWS, TCP_BYTES = 30, 20000
GRE_FLOWS, GRE_FRAMES = 60, 4
GRE_OUTER = ("10.9.0.1", "10.9.0.2")


def gre_frame(inner_src, inner_dst, sport):
    udp = struct.pack("!HHHH", sport, 53, 8 + 16, 0) + b"q" * 16
    inner = ipv4(17, inner_src, inner_dst, udp)
    outer = ipv4(47, GRE_OUTER[0], GRE_OUTER[1], struct.pack("!HH", 0, 0x0800) + inner)
    return bytes.fromhex("020000000002020000000001") + b"\x08\x00" + outer


def udp_echo(family, addr):
    srv = socket.socket(family, socket.SOCK_DGRAM)
    srv.bind(addr)
    srv.settimeout(0.5)

    def loop():
        while True:
            try:
                data, peer = srv.recvfrom(2048)
            except socket.timeout:
                return
            srv.sendto(data, peer)
    t = threading.Thread(target=loop)
    t.start()
    return srv, t


def udp_flows(family, server, clients):
    srv, t = udp_echo(family, server)
    socks = []
    for src in clients:
        c = socket.socket(family, socket.SOCK_DGRAM)
        c.bind((src, 0))
        socks.append(c)
    for r in range(UDP_ROUNDS):
        for c in socks:
            c.sendto(b"x" * (20 + r), server)
        for c in socks:
            c.settimeout(2)
            c.recv(2048)
    for c in socks:
        c.close()
    t.join()
    srv.close()


def tcp_flows():
    srv = socket.socket()
    srv.bind(("127.3.0.1", 6000))
    srv.listen(64)

    def sink():
        for _ in range(TCP_FLOWS):
            c, _ = srv.accept()
            while c.recv(1 << 16):
                pass
            c.close()
    t = threading.Thread(target=sink)
    t.start()
    for i in range(TCP_FLOWS):
        c = socket.create_connection(("127.3.0.1", 6000), source_address=("127.4.%d.%d" % (i // 200, i % 200 + 1), 0))
        c.sendall(b"t" * TCP_BYTES)
        c.close()
    t.join(30)
    srv.close()


d = tempfile.mkdtemp(prefix="fc-fanout-")
procs, res = {}, {"instances": {}, "sent": {}}
try:
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    v6 = ["fd00::%x" % (i + 1) for i in range(V6_FLOWS + 1)]
    for a in v6:
        subprocess.run(["ip", "-6", "addr", "add", a + "/128", "dev", "lo", "nodad"], check=True)
    ports = {}
    for n in THREADS:
        ports[n] = free_port()
        log = os.path.join(d, "t%d.log" % n)
        procs[n] = subprocess.Popen([str(flowcached_binary()), "--port", str(ports[n]), "--interface", "lo",
                                     "--capture-threads", str(n), "--flow-idle-timeout", "600",
                                     "--host-idle-timeout", "600", "--tcp-close-grace-ms", "600000"],
                                    stdout=open(log, "wb"), stderr=subprocess.STDOUT)
    for n in THREADS:
        wait_ping(ports[n], procs[n], 20, os.path.join(d, "t%d.log" % n))
    time.sleep(0.5)
    udp_flows(socket.AF_INET, ("127.2.0.1", 5000),
              ["127.1.%d.%d" % (i // 200, i % 200 + 1) for i in range(UDP_FLOWS)])
    udp_flows(socket.AF_INET6, (v6[0], 5001), v6[1:])
    tcp_flows()
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind(("lo", 0))
    for i in range(GRE_FLOWS):
        f = gre_frame("10.8.%d.%d" % (i // 200, i % 200 + 1), "10.7.0.1", 1000 + i)
        for _ in range(GRE_FRAMES):
            s.send(f)
    s.close()
    res["sent"] = {"udp_flows": UDP_FLOWS, "udp_rounds": UDP_ROUNDS, "v6_flows": V6_FLOWS, "tcp_flows": TCP_FLOWS,
                   "gre_flows": GRE_FLOWS, "gre_frames": GRE_FRAMES, "gre_outer": GRE_OUTER}
    clients = {n: redis.Redis(port=ports[n], decode_responses=True) for n in THREADS}
    res["instances"] = {str(n): v for n, v in snapshot_instances(clients).items()}
finally:
    for n, p in procs.items():
        stop_pid(p)
        res.setdefault("logs", {})[str(n)] = open(os.path.join(d, "t%d.log" % n), errors="replace").read()[-4000:]
    shutil.rmtree(d, ignore_errors=True)
print("FANOUT-RESULT " + json.dumps(res))
