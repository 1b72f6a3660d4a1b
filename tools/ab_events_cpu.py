#!/usr/bin/python3
"""ab_events_cpu.py - CPU of the capture threads and of the loop thread of two flowcached builds per million
packets, with or without a subscriber to every channel; runs alternating (A B B A A B ...).

usage: tools/ab_events_cpu.py A/flowcached B/flowcached CAPTURE [--runs 5] [--window 8] [--sub]

Each run replays CAPTURE in a loop (--pcap-loop yes, as fast as possible). With --sub a client sends
PSUBSCRIBE * at start-up and reads (and drops) everything. After 2 s of warm-up, the CPU time of every
thread (/proc/<pid>/task/*/stat) and INFO capture_packets are read at the start and at the end of a
--window seconds window: the loop thread is the main one, the capture threads are the others. Prints
each run and each build's medians in CPU seconds per million packets.
"""
import argparse
import os
import socket
import statistics
import subprocess
import threading
import time

from toolutil import RECV_BYTES, free_port

TCK = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid):
    """CPU seconds of each thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
            fields = f.read().rsplit(")", 1)[1].split()
        out[int(tid)] = (int(fields[11]) + int(fields[12])) / TCK
    return out


def info_capture(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"INFO capture\r\n")
    data = b""
    while b"\r\n" not in data or len(data) < data.index(b"\r\n") + 2 + int(data[1:data.index(b"\r\n")]):
        data += s.recv(65536)
    s.close()
    return dict(l.split(":", 1) for l in data.decode().split("\r\n")[1:] if ":" in l)


def sample(pid, port):
    cpu = thread_cpu(pid)
    loop = cpu.pop(pid)
    i = info_capture(port)
    return sum(cpu.values()), loop, int(i["capture_packets"]), int(i["events_published"])


def subscribe(port):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"PSUBSCRIBE *\r\n")

    def drain():
        try:
            while s.recv(RECV_BYTES):
                pass
        except OSError:
            pass
    threading.Thread(target=drain, daemon=True).start()


def run(binary, capture, sub, window):
    port = free_port()
    p = subprocess.Popen([binary, "--port", str(port), "--pcap", capture, "--pcap-loop", "yes"],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(500):
            try:
                socket.create_connection(("127.0.0.1", port)).close()
                break
            except OSError:
                time.sleep(0.02)
        if sub:
            subscribe(port)
        time.sleep(2.0)
        a = sample(p.pid, port)
        time.sleep(window)
        b = sample(p.pid, port)
    finally:
        p.terminate()
        p.wait()
    mpkt = (b[2] - a[2]) / 1e6
    return (b[0] - a[0]) / mpkt, (b[1] - a[1]) / mpkt, mpkt / window, b[3] - a[3]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("capture")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--window", type=float, default=8.0)
    ap.add_argument("--sub", action="store_true", help="a PSUBSCRIBE * client reads every event")
    o = ap.parse_args()
    res = {o.a: [], o.b: []}
    for r in range(o.runs):
        for fc in ((o.a, o.b) if r % 2 == 0 else (o.b, o.a)):
            cap, loop, mpps, events = run(fc, o.capture, o.sub, o.window)
            res[fc].append((cap, loop))
            print("%-40s capture %.3f  loop %.3f s/Mpkt  (%.2f Mpkt/s, %d events)" % (fc, cap, loop, mpps, events),
                  flush=True)
    for fc in (o.a, o.b):
        cap = [x[0] for x in res[fc]]
        loop = [x[1] for x in res[fc]]
        print("%-40s median capture %.3f (min %.3f)  loop %.3f (min %.3f) s/Mpkt"
              % (fc, statistics.median(cap), min(cap), statistics.median(loop), min(loop)))


if __name__ == "__main__":
    main()
