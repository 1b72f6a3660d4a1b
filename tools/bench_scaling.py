#!/usr/bin/env python3
"""bench_scaling.py - how flowcached scales with capture-threads: runs 1..N workers and prints, per count,
packets per second, the speedup over one worker, the efficiency (speedup / workers) and the CPU per packet
against one worker's (goal 2 of issue 20: efficiency near 1, CPU per packet <= 1.1x).

  file: flowcached --pcap F --pcap-end exit --port 0 --capture-threads N, wall and CPU (user+sys, wait4) of the
        whole process, median of --reps runs. Default F: make bench's item-1 capture (generated as bench.py does).
  live (--live, root, ip and tcpreplay): a network namespace made for the run holding a veth pair; flowcached
        captures one end with capture-threads N (one packet socket per worker in a PACKET_FANOUT group) while
        tcpreplay --topspeed sends F (at most --live-packets packets) into the other. Mpps = packets counted /
        (tcpreplay's sending time + the time the workers took after it to drain their rings); CPU is
        flowcached's (from /proc) from just before tcpreplay starts until the rings are drained;
        capture_drops is what the kernel rings dropped. When drops are 0 the sender set the pace: the figure
        that tells scaling is then the CPU per packet.

Every run is shown with its command. On a machine with fewer cores than workers + 1 (the reader of a file, the
sender of a live run, the server's loop) the figures say more about the sharing than about the design.

usage: tools/bench_scaling.py [--pcap F] [--max N] [--reps R] [--flowcached PATH] [--live] [--live-packets K]
"""
import argparse
import json
import re
import os
import shutil
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bench  # noqa: E402  (the item-1 capture, the timed runs and the RESP client of make bench)
from toolutil import netns_run  # noqa: E402

ROOT = bench.ROOT


def pcap_packets(path):
    """Records in a classic pcap file."""
    n = 0
    with open(path, "rb") as f:
        magic = f.read(24)[:4]
        endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
        while True:
            h = f.read(16)
            if len(h) < 16:
                return n
            f.seek(struct.unpack(endian + "IIII", h)[2], 1)
            n += 1


def table(rows):
    hdr = "%7s %8s %8s %8s %10s %8s %12s %8s" % ("workers", "wall s", "Mpps", "speedup", "efficiency", "cpu s",
                                                 "cpu/pkt ns", "cpu/pkt")
    out = [hdr]
    base = rows[0]
    for r in rows:
        sp = base["wall"] / r["wall"]
        ns = r["cpu"] / r["packets"] * 1e9
        out.append("%7d %8.2f %8.3f %7.2fx %9.0f%% %8.2f %12.0f %7.2fx%s" % (
            r["n"], r["wall"], r["packets"] / r["wall"] / 1e6, sp, 100 * sp / r["n"], r["cpu"], ns,
            ns / (base["cpu"] / base["packets"] * 1e9), r.get("extra", "")))
    return "\n".join(out)


def file_runs(fc, pcap, counts, reps):
    packets = pcap_packets(pcap)
    rows = []
    for n in counts:
        cmd = [fc, "--pcap", pcap, "--pcap-end", "exit", "--port", "0", "--capture-threads", str(n)]
        print("  %s" % " ".join(cmd), flush=True)
        r = bench.median_run(cmd, "scaling-file-%d.log" % n, reps)
        rows.append(dict(n=n, wall=r["wall"], cpu=r["cpu"], packets=packets))
    return rows


def proc_cpu(pid):
    """user+sys seconds of a process (all its threads)."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def live_inside(fc, pcap, n, limit):
    """Runs in the namespace: one flowcached on vb, tcpreplay into va. Prints the result as JSON."""
    for c in (["ip", "link", "set", "lo", "up"], ["ip", "link", "add", "va", "type", "veth", "peer", "name", "vb"],
              ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"], ["sysctl", "-qw", "net.ipv6.conf.default.disable_ipv6=1"],
              ["ip", "link", "set", "va", "up"], ["ip", "link", "set", "vb", "up"]):
        subprocess.run(c, check=True)
    port = bench.free_port()
    log = open(os.path.join(bench.OUT, "scaling-live-%d.log" % n), "wb")
    p = subprocess.Popen([fc, "--port", str(port), "--interface", "vb", "--capture-threads", str(n)],
                         stdout=log, stderr=subprocess.STDOUT)
    try:
        c = None
        for _ in range(100):
            try:
                c = bench.Resp(port)
                break
            except OSError:
                time.sleep(0.1)

        def capture():
            info = c.cmd("INFO", "capture")
            info = info.decode() if isinstance(info, bytes) else info
            return {k: int(v) for k, v in (l.split(":", 1) for l in info.splitlines() if l.startswith("capture_")
                                           and l.split(":", 1)[1].isdigit())}
        time.sleep(0.5)
        before, cpu0 = capture()["capture_packets"], proc_cpu(p.pid)
        tr = subprocess.run(["tcpreplay", "-i", "va", "--topspeed", "--preload-pcap", "--limit", str(limit), pcap],
                            capture_output=True, text=True)
        t_end = time.perf_counter()
        seen = [(capture()["capture_packets"], t_end)]
        while len(seen) < 3 or seen[-1][0] - seen[-2][0] > 10:   # the workers drain what the rings hold
            time.sleep(0.1)
            seen.append((capture()["capture_packets"], time.perf_counter()))
        sent_s = re.search(r"sent in ([0-9.]+) seconds", tr.stdout)
        cap = capture()
        print("SCALING-RESULT " + json.dumps(dict(
            n=n, wall=(float(sent_s.group(1)) if sent_s else 0) + seen[-2][1] - t_end, cpu=proc_cpu(p.pid) - cpu0, packets=cap["capture_packets"] - before,
            drops=cap.get("capture_drops", 0), handoffs=cap.get("capture_handoffs", 0),
            sender=[l.strip() for l in tr.stdout.splitlines() if "Rated:" in l or "Actual:" in l])), flush=True)
    finally:
        p.terminate()
        p.wait(10)


def live_runs(fc, pcap, counts, limit):
    rows = []
    for n in counts:
        out = netns_run("fcscale-", [sys.executable, os.path.abspath(__file__), "--live-inside", str(n),
                                     "--flowcached", fc, "--pcap", pcap, "--live-packets", str(limit)], 600)
        if out is None:
            raise RuntimeError("cannot create a network namespace")
        line = [l for l in out.stdout.splitlines() if l.startswith("SCALING-RESULT ")]
        if not line:
            raise RuntimeError("live run with %d workers failed:\n%s\n%s" % (n, out.stdout[-2000:], out.stderr[-2000:]))
        r = json.loads(line[-1][len("SCALING-RESULT "):])
        r["extra"] = "  drops %d handoffs %d; tcpreplay %s" % (r["drops"], r["handoffs"], " / ".join(r["sender"]))
        print("  %d workers: %s" % (n, r["extra"].strip()), flush=True)
        rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pcap", help="capture to read (default: make bench's item-1 file, generated if missing)")
    ap.add_argument("--max", type=int, default=max(2, os.cpu_count() or 2), help="largest worker count (default: cores)")
    ap.add_argument("--reps", type=int, default=3, help="file runs per count (median)")
    ap.add_argument("--flowcached", default=os.path.join(ROOT, "build", "plain", "flowcached"))
    ap.add_argument("--live", action="store_true", help="also a live run through a veth pair (root, tcpreplay)")
    ap.add_argument("--live-packets", type=int, default=1000000, help="packets tcpreplay sends per live run")
    ap.add_argument("--live-inside", type=int, help=argparse.SUPPRESS)
    a = ap.parse_args()
    os.makedirs(bench.OUT, exist_ok=True)
    if a.live_inside:
        live_inside(a.flowcached, a.pcap, a.live_inside, a.live_packets)
        return 0
    if not a.pcap:
        os.makedirs(bench.DATA, exist_ok=True)
        a.pcap, _ = bench.gen_traffic("big", 400000, 50000, 200000)
    counts = list(range(1, a.max + 1))
    print("machine: %d cores (%s); %s, %d packets" % (os.cpu_count(), os.uname().release, a.pcap,
                                                      pcap_packets(a.pcap)), flush=True)
    print("file (one reader thread + N workers):", flush=True)
    print(table(file_runs(a.flowcached, a.pcap, counts, a.reps)), flush=True)
    if a.live:
        if os.geteuid() != 0 or not shutil.which("ip") or not shutil.which("tcpreplay"):
            print("live: skipped (needs root, ip and tcpreplay: tools/deps.sh bench)")
            return 0
        print("live (veth, tcpreplay --topspeed, %d packets; N workers each reading its own socket):" % a.live_packets,
              flush=True)
        print(table(live_runs(a.flowcached, a.pcap, counts, a.live_packets)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
