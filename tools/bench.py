#!/usr/bin/env python3
"""bench.py - flowcached's performance harness (`make bench`).

Every figure is measured here, in one command, against a reference run side by side:
  1 offline throughput: flowcached --pcap F --pcap-end exit --port 0 vs a bare libpcap read
    loop (the floor), the nDPI floor (libpcap + 5-tuple table + nDPI asked as flowcached asks,
    nothing else: tools/bench_ndpi_floor.c, checked to see the same flows per protocol),
    ndpiReader (libndpi-bin 4.2) and softflowd on the same file; plus a same-results check
    (a small file at --pcap-speed 0 vs 50, and against its ground truth)
  2 memory: bytes per idle, detected flow at 1 M flows (INFO cache_memory, VmRSS) and peak RSS
    vs ndpiReader on the same file
  3 scaling: what exists (one thread per source), measured with one vs two copies of the file; and
    --capture-threads 2 vs 1 beside two one-worker processes at once (the machine's ceiling), in
    alternating rounds of runs reading the file 3 times, the ratios taken within each round
  4 serving while capturing: redis-benchmark GET/HGETALL vs redis-server 7 holding the same
    keys; KEYS/SCAN with a prefix pattern over >= 1 M keys vs redis-server with the same names
  5 events latency: packet on lo -> flow.new delivered to a subscriber, beside the same client timing a
    minimal libpcap relay (tools/bench_event_floor.c: the machine's part of the path); cloud path if it works
  6 live DNS: dnsmasq on a spare loopback address + dnsperf, flowcached on lo counts the queries
  7 pub/sub: loop-thread CPU per flow.new event delivered with 0, 1 000 and 20 000 patterns that match
    nothing subscribed beside (the cost of an event must not grow with other people's subscriptions)
  8 flow export: the item-1 file without and with `export` (IPFIX over UDP to a local socket that a
    thread here drains), >= 7 pairs of runs, the cost (Mpps lost, by CPU time) taken per pair;
    export must cost under 10 % of packet throughput
Writes the table, the machine facts and the commands to BENCHMARKS.md.

usage: tools/bench.py [--quick] [--only 1,2,...,8] [--profile] [--flowcached PATH] [--no-write]
(--only 4b: item 4's KEYS/SCAN rows alone, over the item-2 cache; --only 4a: its serving rows alone)
CPU-time figures (user+sys of the measured process, from wait4) are the ones judged, because
the machine is shared and wall time depends on what else runs; wall time is printed beside them.
"""
import argparse
import json
import os
import platform
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

from toolutil import NEAR_NS, RECV_BYTES, free_port, placement, round_trip_ns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "build", "bench")
FC_LIBC = None          # build/plain-libc/flowcached copied beside the default build (see main)
DATA = os.path.join(OUT, "data")
SHARED_GEN = os.path.normpath(os.path.join(ROOT, "..", "shared", "bench", "gen_traffic.py"))
PY = sys.executable or "/usr/bin/python3"

ROWS = []          # (item, what, flowcached, reference, ratio, goal, met)
NOTES = []         # free text for BENCHMARKS.md
COMMANDS = []      # commands run (one line each, for BENCHMARKS.md)
PROCS = []         # Popen objects still to stop


def log(*a):
    print("bench:", *a, file=sys.stderr, flush=True)


def fmt(v, unit=""):
    if v is None:
        return "-"
    if isinstance(v, str):
        return v
    if abs(v) >= 100:
        s = "%.0f" % v
    elif abs(v) >= 10:
        s = "%.1f" % v
    elif abs(v) >= 1:
        s = "%.2f" % v
    else:
        s = "%.3g" % v
    return s + unit


def row(item, what, fc, ref, ratio, goal, met):
    ROWS.append((item, what, fc, ref, ratio, goal, met))
    log("ROW %s | %s | %s | %s | %s | %s | %s" % (item, what, fc, ref, ratio, goal, met))


def note(s):
    NOTES.append(s)
    log("NOTE " + s)


def cmdline(cmd):
    return " ".join(("'%s'" % c) if (" " in c or "*" in c) else c for c in cmd)


def record(cmd):
    s = cmdline(cmd).replace(ROOT + "/", "")
    if s not in COMMANDS:
        COMMANDS.append(s)


# ---------- processes ----------

def start(cmd, logname, **kw):
    record(cmd)
    f = open(os.path.join(OUT, logname), "wb")
    # own session: softflowd -r signals its whole process group at end of file
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                         start_new_session=True, **kw)
    p._logf = f
    PROCS.append(p)
    return p


def stop(p, timeout=5):
    """Stops one process we started, by its pid: SIGTERM, then SIGKILL after timeout."""
    if p is None:
        return
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.kill(p.pid, signal.SIGKILL)
            p.wait(5)
            note("%s did not exit within %d s of SIGTERM; killed (SIGKILL)" % (cmdline(p.args[:3]).replace(ROOT + "/", ""), timeout))
    try:
        p._logf.close()
    except Exception:
        pass
    if p in PROCS:
        PROCS.remove(p)


def poke_unix(path):
    try:
        u = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        u.settimeout(0.2)
        u.connect(path)
        u.close()
    except OSError:
        pass


def run_timed(cmd, logname, timeout=600, cwd=None, poke=None):
    """Runs cmd to completion; returns dict(wall, cpu, user, sys, maxrss_kb, rc, out)."""
    record(cmd)
    outp = os.path.join(OUT, logname)
    f = open(outp, "wb")
    t0 = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=cwd,
                         start_new_session=True)
    PROCS.append(p)
    deadline = t0 + timeout
    next_poke = t0 + 0.2
    while True:
        if poke and time.perf_counter() >= next_poke:
            poke_unix(poke)
            next_poke = time.perf_counter() + 0.2
        pid, status, ru = os.wait4(p.pid, os.WNOHANG)
        if pid == p.pid:
            break
        if time.perf_counter() > deadline:
            os.kill(p.pid, signal.SIGKILL)
            pid, status, ru = os.wait4(p.pid, 0)
            break
        time.sleep(0.005)
    wall = time.perf_counter() - t0
    p.returncode = os.waitstatus_to_exitcode(status)
    PROCS.remove(p)
    f.close()
    with open(outp, "rb") as g:
        out = g.read().decode("utf-8", "replace")
    return dict(wall=wall, user=ru.ru_utime, sys=ru.ru_stime, cpu=ru.ru_utime + ru.ru_stime,
                maxrss_kb=ru.ru_maxrss, rc=p.returncode, out=out)


def median_run(cmd, logname, reps, timeout=600, cwd=None, poke=None):
    runs = []
    for _ in range(reps):
        r = run_timed(cmd, logname, timeout, cwd=cwd, poke=poke)
        if r["rc"] != 0:
            raise RuntimeError("%s exited %d: %s" % (cmdline(cmd), r["rc"], r["out"][-500:]))
        runs.append(r)
    return dict(wall=statistics.median(r["wall"] for r in runs),
                cpu=statistics.median(r["cpu"] for r in runs),
                maxrss_kb=max(r["maxrss_kb"] for r in runs), out=runs[-1]["out"], n=reps)


# ---------- a minimal RESP client (no dependency beyond the standard library) ----------

class Resp:
    def __init__(self, port, host="127.0.0.1", timeout=30):
        self.s = socket.create_connection((host, port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def _line(self):
        while b"\r\n" not in self.buf:
            d = self.s.recv(RECV_BYTES)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _n(self, n):
        while len(self.buf) < n + 2:
            d = self.s.recv(RECV_BYTES)
            if not d:
                raise ConnectionError("closed")
            self.buf += d
        v, self.buf = self.buf[:n], self.buf[n + 2:]
        return v

    def read(self):
        line = self._line()
        t, rest = line[:1], line[1:]
        if t == b"+":
            return rest.decode()
        if t == b"-":
            return RuntimeError(rest.decode())
        if t == b":":
            return int(rest)
        if t == b"$":
            n = int(rest)
            return None if n < 0 else self._n(n).decode("utf-8", "replace")
        if t == b"*":
            n = int(rest)
            return None if n < 0 else [self.read() for _ in range(n)]
        raise ConnectionError("bad reply %r" % line[:50])

    @staticmethod
    def enc(args):
        out = [b"*%d\r\n" % len(args)]
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out.append(b"$%d\r\n%s\r\n" % (len(a), a))
        return b"".join(out)

    def cmd(self, *args):
        self.s.sendall(self.enc(args))
        r = self.read()
        if isinstance(r, RuntimeError):
            raise r
        return r

    def pipeline(self, cmds, batch=2000):
        out = []
        for i in range(0, len(cmds), batch):
            part = cmds[i:i + batch]
            self.s.sendall(b"".join(self.enc(c) for c in part))
            out.extend(self.read() for _ in part)
        return out

    def info(self, section="all"):
        d = {}
        for line in self.cmd("INFO", section).splitlines():
            if ":" in line and not line.startswith("#"):
                k, v = line.split(":", 1)
                d[k] = v
        return d


def wait_port(port, proc, timeout=30):
    t = time.time() + timeout
    while time.time() < t:
        if proc.poll() is not None:
            raise RuntimeError("process exited (%d) before listening on %d; see its log" % (proc.returncode, port))
        try:
            c = Resp(port, timeout=2)
            c.cmd("PING")
            return c
        except (OSError, ConnectionError):
            time.sleep(0.05)
    raise RuntimeError("nothing answers on port %d" % port)


def wait_capture_done(c, proc, timeout):
    t0 = time.time()
    while time.time() - t0 < timeout:
        if proc.poll() is not None:
            raise RuntimeError("flowcached exited early")
        i = c.info("capture")
        if i.get("capture_sources_active") == "0":
            return time.time() - t0
        time.sleep(0.1)
    raise RuntimeError("capture not done after %ds" % timeout)


def vm(pid, field):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return None


def start_redis(tag):
    port = free_port()
    d = os.path.join(OUT, "redis-" + tag)
    os.makedirs(d, exist_ok=True)
    p = start(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
               "--appendonly", "no", "--dir", d, "--daemonize", "no"], "redis-%s.log" % tag)
    return p, port, wait_port(port, p)


def redis_pipe(port, payload_path):
    cmd = ["redis-cli", "-p", str(port), "--pipe"]
    record(cmd + ["<", os.path.relpath(payload_path, ROOT)])
    with open(payload_path, "rb") as f:
        r = subprocess.run(cmd, stdin=f, capture_output=True, timeout=600)
    if r.returncode != 0 or b"errors: 0" not in r.stdout:
        raise RuntimeError("redis-cli --pipe: %s" % r.stdout[-300:])


# ---------- inputs ----------

def build_helpers():
    """make bench's C programs, built by the Makefile's bench-tools target (with -Werror, as make check
    builds them) into the plain build's bench-tools/; returns {name: path}."""
    os.makedirs(OUT, exist_ok=True)
    os.makedirs(DATA, exist_ok=True)
    cmd = ["make", "-s", "--no-print-directory", "SANITIZER=", "MALLOC=jemalloc", "bench-tools"]
    record(cmd)
    subprocess.run(cmd, cwd=ROOT, check=True)
    tools = os.path.join(ROOT, "build", "plain", "bench-tools")
    return {name: os.path.join(tools, name) for name in ("bench_pcap_loop", "bench_genflows", "bench_event_floor",
                                                         "bench_ndpi_floor", "bench_lane_split", "bench_pingpong")}


def lane_halves(splitter, big):
    """The item-1 file split by lane for 2 capture threads (tools/bench_lane_split.c: the lane each packet
    gets with --capture-threads 2); split again when the file or the splitter is newer. Returns the two
    paths."""
    prefix = os.path.join(DATA, os.path.splitext(os.path.basename(big))[0] + ".lane")
    parts = ["%s.%d.pcap" % (prefix, i) for i in range(2)]
    newest = max(os.path.getmtime(big), os.path.getmtime(splitter))
    if not all(os.path.exists(x) and os.path.getmtime(x) >= newest for x in parts):
        cmd = [splitter, big, "2", prefix + ".tmp"]      # renamed once whole: a cut split is not kept
        record(cmd)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        for i, x in enumerate(parts):
            os.replace("%s.tmp.%d.pcap" % (prefix, i), x)
    return parts


def gen_traffic(name, sessions, hosts, names, duration=60.0):
    path = os.path.join(DATA, "%s.pcap" % name)
    truth = os.path.join(DATA, "%s.truth.json" % name)
    stamp = path + ".args"
    args = "%s %d %d %d %s" % (SHARED_GEN if os.path.exists(SHARED_GEN) else "gen_demo", sessions, hosts, names, duration)
    if os.path.exists(path) and os.path.exists(stamp) and open(stamp).read() == args:
        return path, truth
    if os.path.exists(SHARED_GEN):
        cmd = [PY, SHARED_GEN, "--sessions", str(sessions), "--hosts", str(hosts), "--names", str(names),
               "--duration", str(duration), "--out", path, "--truth", truth]
    else:
        cmd = [PY, os.path.join(ROOT, "tools", "gen_demo.py"), "--sessions", str(sessions),
               "--hosts", str(hosts), "--duration", str(duration), "--out", path, "--truth", truth]
    log("generating %s (%d sessions) ..." % (name, sessions))
    record(cmd)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=900)
    with open(stamp, "w") as f:
        f.write(args)
    return path, truth


def gen_flows(bins, n):
    path = os.path.join(DATA, "flows%d.pcap" % n)
    if not os.path.exists(path):
        cmd = [bins["bench_genflows"], path, str(n), "20"]
        record(cmd)
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, timeout=600)
    return path


def empty_pcap():
    path = os.path.join(DATA, "empty.pcap")
    if not os.path.exists(path):
        import struct
        with open(path, "wb") as f:
            f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    return path


def warm(path):
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


LONG = ["--flow-idle-timeout", "86400", "--flow-lifetime-timeout", "864000", "--host-idle-timeout", "864000",
        "--tcp-close-grace-ms", "864000000"]


# ---------- 8: the cost of flow export ----------

class UdpSink:
    """A collector stand-in: a thread draining a UDP socket, counting messages, bytes and, from the IPFIX
    header of the last message, the data records sent before it (its sequence number)."""

    def __init__(self):
        import threading
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind(("127.0.0.1", 0))
        self.s.settimeout(0.2)
        self.port = self.s.getsockname()[1]
        self.messages = self.bytes = self.last_seq = 0
        self.running = True
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        buf = bytearray(65536)
        while self.running:
            try:
                n = self.s.recv_into(buf)
            except socket.timeout:
                continue
            self.messages += 1
            self.bytes += n
            if n >= 16 and buf[0] == 0 and buf[1] == 10:
                self.last_seq = max(self.last_seq, int.from_bytes(buf[8:12], "big"))

    def close(self):
        self.running = False
        self.t.join()
        self.s.close()


def item8(fc, bins, big, reps):
    reps = max(reps, 7) if reps > 1 else reps    # pairs: one figure is a few %, single runs vary more
    warm(big)
    npk = int(median_run([bins["bench_pcap_loop"], big], "floor8.out", 1)["out"].split()[0])
    sink = UdpSink()
    base = [fc, "--pcap", big, "--pcap-end", "exit", "--port", "0"]
    runs = {"plain": [], "export": []}
    try:
        for _ in range(reps):        # alternating, so a change of load hits both alike
            for kind, cmd in (("plain", base), ("export", base + ["--export", "127.0.0.1:%d" % sink.port])):
                r = run_timed(cmd, "fc-%s.log" % kind)
                if r["rc"] != 0:
                    raise RuntimeError("%s exited %d: %s" % (cmdline(cmd), r["rc"], r["out"][-500:]))
                runs[kind].append(r)
        time.sleep(0.5)
    finally:
        sink.close()
    if sink.messages == 0:
        row("8", "offline Mpps with export vs without", "not measured", "-", "-", "< 10 % cost", "-")
        note("Item 8: nothing reached the sink: this flowcached does not export yet (the export sink is not "
             "registered), so there is no cost to show.")
        return
    cpu = {k: statistics.median(r["cpu"] for r in v) for k, v in runs.items()}
    wall = {k: statistics.median(r["wall"] for r in v) for k, v in runs.items()}
    mp = {k: npk / cpu[k] / 1e6 for k in cpu}
    # The cost is the throughput lost, 1 - Mpps with export / Mpps without, taken in each pair (a run
    # without, then one with export, back to back) and the median over the pairs: the machine's load
    # drifts between pairs far more than within one, which is what the alternation is for.
    pair_cost = statistics.median(1 - p["cpu"] / e["cpu"] for p, e in zip(runs["plain"], runs["export"]))
    user_sys = {k: (statistics.median(r["user"] for r in v), statistics.median(r["sys"] for r in v))
                for k, v in runs.items()}
    row("8", "offline Mpps with export (IPFIX over UDP to a local sink) vs without, CPU time (user+sys)",
        fmt(mp["export"]), "no export %s" % fmt(mp["plain"]), "%.1f %% cost" % (100 * pair_cost),
        "< 10 % cost", "yes" if pair_cost < 0.10 else "NO")
    # The same pairs by wall time: the packet rate the capture thread keeps while the loop thread
    # encodes and sends on the other core (what a probe with a core to spare for its loop sees).
    wall_cost = statistics.median(1 - p["wall"] / e["wall"] for p, e in zip(runs["plain"], runs["export"]))
    row("8", "offline Mpps with export vs without, wall time (capture thread's packet rate)",
        fmt(npk / wall["export"] / 1e6), "no export %s" % fmt(npk / wall["plain"] / 1e6),
        "%.1f %% cost" % (100 * wall_cost), "< 10 % cost", "yes" if wall_cost < 0.10 else "NO")
    note("Item 8: the item-1 file (%d packets), %d alternating pairs; the cost is the median over the pairs of "
         "1 - Mpps with / Mpps without, by CPU time (from the medians above: %.1f %%). CPU s user / sys, median: %.3f / %.3f "
         "with export vs %.3f / %.3f without (sys includes handing the datagrams to the sink: sendmmsg, up to "
         "32 datagrams a call, and their delivery over loopback); wall %.3f s vs %.3f s. The sink got %d messages (%.1f MB); "
         "the last one's IPFIX sequence number says %d data records went before it (two uniflow records a "
         "flow, plus an application-name record per application)."
         % (npk, reps, 100 * (1 - mp["export"] / mp["plain"]), user_sys["export"][0], user_sys["export"][1],
            user_sys["plain"][0], user_sys["plain"][1], wall["export"], wall["plain"], sink.messages / reps,
            sink.bytes / reps / 1e6, sink.last_seq))


# ---------- 1: offline throughput ----------

def item1(fc, bins, big, reps, small, small_truth):
    warm(big)
    floor = median_run([bins["bench_pcap_loop"], big], "floor.out", reps)
    npk = int(floor["out"].split()[0])
    r_fc = median_run([fc, "--pcap", big, "--pcap-end", "exit", "--port", "0"], "fc-offline.log", reps)
    r_nf = median_run([bins["bench_ndpi_floor"], big], "ndpi-floor.out", reps)
    r_nt = median_run([bins["bench_ndpi_floor"], "--time-ndpi", big], "ndpi-floor-timed.out", 1)
    r_nd = median_run(["ndpiReader", "-i", big, "-q", "-v", "0"], "ndpi-offline.log", reps, timeout=900)
    r_libc = median_run([FC_LIBC, "--pcap", big, "--pcap-end", "exit", "--port", "0"], "fc-offline-libc.log",
                        reps) if FC_LIBC else None
    sf_port = free_port(socket.SOCK_DGRAM)
    # NetFlow goes to a free UDP port nobody listens on (with a bound, unread sink socket softflowd -r
    # was seen blocking after the end of the file)
    # softflowd 1.1.0 -r sometimes ends up blocked in accept() on its control socket after the file
    # (seen here): run_timed connects to that socket every 200 ms so accept() returns
    sfbase = "/tmp/fcbench-softflowd-%d" % os.getpid()
    try:
        # softflowd keeps the -r name in a 16-byte buffer (IFNAMSIZ): pass a short relative name
        r_sf = median_run(["softflowd", "-r", os.path.basename(big), "-n", "127.0.0.1:%d" % sf_port, "-d", "-m", "2000000",
                           "-p", sfbase + ".pid", "-c", sfbase + ".ctl"],
                          "softflowd.log", reps, timeout=120, cwd=os.path.dirname(big), poke=sfbase + ".ctl")
    except (RuntimeError, FileNotFoundError) as e:
        r_sf = None
        note("softflowd not measured: %s" % e)
    finally:
        for ext in (".pid", ".ctl"):
            if os.path.exists(sfbase + ext):
                os.unlink(sfbase + ext)
    r_empty = median_run([fc, "--pcap", empty_pcap(), "--pcap-end", "exit", "--port", "0"], "fc-empty.log", reps)

    def mpps(r, key):
        return npk / r[key] / 1e6
    fcm, fcw = mpps(r_fc, "cpu"), mpps(r_fc, "wall")
    note("Item 1 file: %s, %d packets, %.0f MB; median of %d runs; flowcached start+exit on an empty "
         "file costs %.3f s CPU / %.3f s wall (included in its figures)."
         % (os.path.relpath(big, ROOT), npk, os.path.getsize(big) / 1e6, reps, r_empty["cpu"], r_empty["wall"]))
    row("1", "offline Mpps, 1 thread (CPU time)", fmt(fcm), "-", "-", ">= 2 Mpps", "yes" if fcm >= 2 else "NO")
    row("1", "offline Mpps vs bare libpcap loop (CPU; wall)", "%s; %s" % (fmt(fcm), fmt(fcw)),
        "%s; %s" % (fmt(mpps(floor, "cpu")), fmt(mpps(floor, "wall"))),
        "%.2fx; %.2fx" % (fcm / mpps(floor, "cpu"), fcw / mpps(floor, "wall")), "(floor)", "-")
    ndpi_floor(npk, fcm, fcw, r_fc, r_nf, r_nt)
    rn = fcm / mpps(r_nd, "cpu")
    row("1", "offline Mpps vs ndpiReader 4.2 (CPU; wall)", "%s; %s" % (fmt(fcm), fmt(fcw)),
        "%s; %s" % (fmt(mpps(r_nd, "cpu")), fmt(mpps(r_nd, "wall"))),
        "%.2fx; %.2fx" % (rn, fcw / mpps(r_nd, "wall")), ">= 8x", "yes" if rn >= 8 else "NO")
    if r_sf:
        row("1", "offline Mpps vs softflowd 1.1 (CPU; wall)", "%s; %s" % (fmt(fcm), fmt(fcw)),
            "%s; %s" % (fmt(mpps(r_sf, "cpu")), fmt(mpps(r_sf, "wall"))),
            "%.2fx; %.2fx" % (fcm / mpps(r_sf, "cpu"), fcw / mpps(r_sf, "wall")), ">= 1x (CPU)",
            "yes" if fcm >= mpps(r_sf, "cpu") else "NO")         # issue 20 goal 1: a probe with no DPI
    row("1", "peak RSS on the item-1 file (MB)", fmt(r_fc["maxrss_kb"] / 1024), "ndpiReader %s" % fmt(r_nd["maxrss_kb"] / 1024),
        "%.2fx" % (r_fc["maxrss_kb"] / r_nd["maxrss_kb"]), "-", "-")
    if r_libc:
        row("1", "allocator: jemalloc (default build) vs libc malloc (make MALLOC=libc), CPU s; peak RSS MB",
            "%s; %s" % (fmt(r_fc["cpu"]), fmt(r_fc["maxrss_kb"] / 1024)),
            "libc %s; %s" % (fmt(r_libc["cpu"]), fmt(r_libc["maxrss_kb"] / 1024)),
            "%.2fx less CPU" % (r_libc["cpu"] / r_fc["cpu"]), "-", "-")
    same_results(fc, small, small_truth)
    floor_same_flows(fc, bins, small)


def ndpi_floor(npk, fcm, fcw, r_fc, r_nf, r_nt):
    """Item 1 against what nDPI itself costs: tools/bench_ndpi_floor.c reads the file with libpcap,
    keys 5-tuple flows and asks nDPI about each flow as flowcached does, nothing else. Its Mpps
    come from runs without timing; one more run (--time-ndpi) times nDPI's calls."""
    f = r_nf["out"].split()
    if int(f[0]) != npk:
        raise RuntimeError("bench_ndpi_floor read %s packets, the libpcap loop %d" % (f[0], npk))
    flows, calls, inside = int(f[1]), int(f[2]), float(r_nt["out"].split()[5])
    fl_cpu, fl_wall = npk / r_nf["cpu"] / 1e6, npk / r_nf["wall"] / 1e6
    row("1", "offline Mpps vs nDPI floor: libpcap + 5-tuple table + nDPI 4.2, nothing else (CPU; wall)",
        "%s; %s" % (fmt(fcm), fmt(fcw)), "%s; %s" % (fmt(fl_cpu), fmt(fl_wall)),
        "%.2fx; %.2fx" % (fcm / fl_cpu, fcw / fl_wall), "-", "-")
    ns = inside / npk * 1e9
    row("1", "ns per packet inside nDPI's calls (floor, --time-ndpi run) / budget of 2 Mpps",
        fmt(ns), "500", "%.0f %%" % (ns / 5), "-", "-")
    note("nDPI floor: %d flows, %d nDPI calls (%.2f a flow); with --time-ndpi, %.3f s of its %.3f s wall inside nDPI; "
         "flowcached spends %.0f ns a packet (CPU) outside nDPI's calls if those cost it the same, "
         "and 2 Mpps leaves %.0f ns for everything but nDPI."
         % (flows, calls, calls / max(flows, 1), inside, r_nt["wall"],
            r_fc["cpu"] / npk * 1e9 - ns, 500 - ns))


def floor_same_flows(fc, bins, small):
    """The nDPI floor is only a floor if it asks nDPI about the flows flowcached asks about: its
    flows per protocol against flowcached's proto.<L7> flows on the small file (long timeouts)."""
    r = subprocess.run([bins["bench_ndpi_floor"], small], capture_output=True, text=True, timeout=120)
    if r.returncode != 0:
        raise RuntimeError("bench_ndpi_floor %s: %s" % (small, r.stderr[-300:]))
    floor = {name: int(n) for name, n in (line.rsplit(" ", 1) for line in r.stdout.splitlines()[1:])}
    p = None
    try:
        p, port, c = run_keep(fc, small, LONG, "floor-same")
        ours = {}
        for k in c.cmd("KEYS", "proto.*"):
            ours[k[len("proto."):]] = int(c.cmd("HGET", k, "flows") or 0)
        c.close()
    finally:
        stop(p)
    differ = sorted(n for n in set(floor) | set(ours) if floor.get(n, 0) != ours.get(n, 0))
    note("Flows per protocol, nDPI floor / flowcached, small file: %s"
         % ", ".join("%s %d/%d" % (n, floor.get(n, 0), ours.get(n, 0)) for n in sorted(set(floor) | set(ours))))
    row("1", "nDPI floor's flows per protocol vs flowcached's proto.* (small file; protocols differing)",
        str(len(differ)), "%d protocols" % len(set(floor) | set(ours)), "-", "0", "yes" if not differ else "NO")


# Packet times and every duration measured from them: a paced replay (--pcap-speed > 0) stamps packets
# with the replay's clock, so these differ between speeds by design. Counts (rtt.count, ...) must not.
TIME_FIELDS = re.compile(r"^(first\.seen|last\.seen|login|logout)$"     # packet times
                         r"|(^|\.)us(\.(avg|sum))?$"                        # durations: rtt.us, dns.rtt.us, rtt.us.sum
                         r"|(^|\.)le\.[0-9]+$")                           # their histogram buckets


def dump_all(c):
    keys = sorted(c.cmd("KEYS", "*"))
    types = c.pipeline([["TYPE", k] for k in keys])
    cmds = []
    for k, t in zip(keys, types):
        cmds.append(["HGETALL", k] if t == "hash" else ["GET", k] if t == "string" else
                    ["SMEMBERS", k] if t == "set" else ["TYPE", k])
    vals = c.pipeline(cmds)
    out = {}
    for k, t, v in zip(keys, types, vals):
        if t == "hash":
            out[k] = {v[i]: v[i + 1] for i in range(0, len(v), 2)}
        elif t == "set":
            out[k] = sorted(v)
        else:
            out[k] = v
    return out


def run_keep(fc, pcap, extra, tag, timeout=300):
    port = free_port()
    p = start([fc, "--pcap", pcap, "--pcap-end", "keep", "--port", str(port)] + extra, "fc-%s.log" % tag)
    c = wait_port(port, p)
    wait_capture_done(c, p, timeout)
    return p, port, c


def same_results(fc, small, truth_path):
    """Same file at --pcap-speed 0 and 50 (pcap-end keep, long timeouts): same keys, same values
    (time stamps aside); and the host counters against the generator's ground truth."""
    dumps = {}
    for speed in ("0", "50"):
        p = None
        try:
            p, port, c = run_keep(fc, small, ["--pcap-speed", speed] + LONG, "same-%s" % speed)
            time.sleep(0.5)   # let the last packets of a paced run land
            dumps[speed] = dump_all(c)
            c.close()
        finally:
            stop(p)
    a, b = dumps["0"], dumps["50"]
    diff = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if isinstance(va, dict) and isinstance(vb, dict):
            va = {f: x for f, x in va.items() if not TIME_FIELDS.search(f)}
            vb = {f: x for f, x in vb.items() if not TIME_FIELDS.search(f)}
        if va != vb:
            diff.append(k)
    note("Same-results check: %d keys at speed 0, %d at speed 50, %d differ (ignoring fields %s)%s"
         % (len(a), len(b), len(diff), TIME_FIELDS.pattern, (": " + ", ".join(diff[:8])) if diff else ""))
    row("1", "same results at --pcap-speed 0 vs 50 (keys differing)", str(len(diff)), "%d keys" % len(a),
        "-", "0", "yes" if not diff else "NO")
    try:
        truth = json.load(open(truth_path))
        bad = 0
        for ip, t in truth["hosts"].items():
            h = a.get("ip." + ip, {})
            if not isinstance(h, dict) or any(str(t.get(tk, 0)) != h.get(fk, "0") for tk, fk in
                                              (("bytes_sent", "bytes.sent"), ("bytes_rcvd", "bytes.rcvd"),
                                               ("pkts_sent", "pkts.sent"), ("pkts_rcvd", "pkts.rcvd"))):
                bad += 1
        row("1", "host counters vs generator truth (hosts differing)", str(bad), "%d hosts" % len(truth["hosts"]),
            "-", "0", "yes" if bad == 0 else "NO")
    except (OSError, KeyError, ValueError) as e:
        note("truth comparison skipped: %s" % e)


# ---------- 2 + 4b: memory at 1 M flows, KEYS/SCAN over >= 1 M keys ----------

def idle_rss(fc, maxf, tag):
    """VmRSS of flowcached with the item-2 options and no packets: the baseline per-flow bytes start from."""
    p = None
    try:
        p, port, c = run_keep(fc, empty_pcap(), ["--max-flows", maxf] + LONG, tag)
        c.close()
        return vm(p.pid, "VmRSS")
    finally:
        stop(p)


def item2_4b(fc, bins, nflows, do2, do4):
    path = gen_flows(bins, nflows)
    warm(path)
    maxf = str(int(nflows * 1.1) + 1000)
    base_rss = idle_rss(fc, maxf, "mem-empty")
    p = None
    try:
        p, port, c = run_keep(fc, path, ["--max-flows", maxf] + LONG, "mem", timeout=600)
        time.sleep(0.3)
        inf = c.info("all")
        rss, hwm = vm(p.pid, "VmRSS"), vm(p.pid, "VmHWM")
        flows = int(inf["flows_active"])
        hosts = int(inf["hosts_active"])
        cm = int(inf["cache_memory"])
        unk = c.cmd("HGET", "proto.Unknown", "flows.active") or "0"
        if do2:
            note("Item 2 file: %s: %d flows (80%% DNS query+answer, 20%% TCP HTTP GET+200 left open), %d hosts; "
                 "flows still Unknown: %s; flows_dropped %s; RSS of an idle flowcached with the same options: %.1f MB"
                 % (os.path.relpath(path, ROOT), flows, hosts, unk, inf.get("flows_dropped"), base_rss / 2 ** 20))
            row("2", "bytes per flow: INFO cache_memory / flows_active", fmt(cm / flows), "-", "-", "<= 300",
                "yes" if cm / flows <= 300 else "NO")
            per = (rss - base_rss) / flows
            row("2", "bytes per flow: (VmRSS - idle VmRSS) / flows_active", fmt(per), "-", "-", "<= 300",
                "yes" if per <= 300 else "NO")
            nd = run_timed(["ndpiReader", "-i", path, "-q", "-v", "0"], "ndpi-mem.log", timeout=900)
            row("2", "peak RSS at %d flows (MB)" % flows, fmt(hwm / 2 ** 20), "ndpiReader %s" % fmt(nd["maxrss_kb"] / 1024),
                "%.2fx" % (hwm / 1024 / nd["maxrss_kb"]), "<= ndpiReader", "yes" if hwm / 1024 <= nd["maxrss_kb"] else "NO")
            note("ndpiReader on the item-2 file: %.1f s wall, %.1f s CPU" % (nd["wall"], nd["cpu"]))
        if do4:
            keys_scan(c, p)
        c.close()
    finally:
        stop(p)
    if do2 and FC_LIBC:
        base_libc = idle_rss(FC_LIBC, maxf, "mem-empty-libc")
        p = None
        try:
            p, port, c = run_keep(FC_LIBC, path, ["--max-flows", maxf] + LONG, "mem-libc", timeout=600)
            time.sleep(0.3)
            per_libc = (vm(p.pid, "VmRSS") - base_libc) / int(c.info("all")["flows_active"])
            row("2", "bytes per flow (VmRSS) with jemalloc (default build) vs libc malloc (make MALLOC=libc)",
                fmt(per), "libc %s" % fmt(per_libc), "%.2fx" % (per / per_libc), "-", "-")
            c.close()
        finally:
            stop(p)


def timed(fn, reps):
    ts = []
    res = None
    for _ in range(reps):
        t = time.perf_counter()
        res = fn()
        ts.append(time.perf_counter() - t)
    return statistics.median(ts), res


def scan_all(c, pattern, count=1000, limit=100000):
    cur, out, n = "0", set(), 0
    while True:
        cur, ks = c.cmd("SCAN", cur, "MATCH", pattern, "COUNT", count)
        out.update(ks)
        n += 1
        if cur == "0" or n > limit:
            return out, n


def scan_calls(c, pattern, count):
    """SCAN 0 MATCH pattern [COUNT count] to cursor 0: (calls, keys)."""
    cur, n, keys = "0", 0, set()
    while True:
        cur, ks = c.cmd("SCAN", cur, "MATCH", pattern, *(["COUNT", count] if count else []))
        keys.update(ks)
        n += 1
        if cur == "0" or n > 100000:
            return n, keys


def server_ms(c, name, fn, reps):
    """Runs fn reps times; returns the server's own time for command `name` (INFO commandstats, ms a
    run: no network, no client parsing) and fn's last result."""
    def usec():
        v = c.info("commandstats").get("cmdstat_" + name, "usec=0")
        return int(re.search(r"usec=(\d+)", v).group(1))
    before = usec()
    for _ in range(reps):
        res = fn()
    return (usec() - before) / 1e3 / reps, res


def family_scans(c, nkeys):
    """Goal 3 of issue 20: SCAN MATCH <family>.* ends in <= 3 calls and KEYS <family>.* costs what
    KEYS ip.10.0.1.* (answered by direct lookups) costs, over the same cache, side by side."""
    figs = {}
    for pat in ("proto.*", "ip.10.0.1.*", "vlan.*", "dns.*", "mac.*", "ip.*"):
        big = pat == "ip.*"          # 65 k keys: this client parses a long reply slowly
        t_keys, keys = server_ms(c, "keys", lambda: c.cmd("KEYS", pat), 1 if big else 21)
        f = {"keys": len(keys), "KEYS": t_keys}
        for count in (None, 100):
            t, (calls, got) = server_ms(c, "scan", lambda: scan_calls(c, pat, count), 1 if big else 5)
            f[count] = (calls, t)
            if got != set(keys):
                note("SCAN MATCH %s COUNT %s returned %d keys, KEYS %d" % (pat, count, len(got), len(keys)))
        figs[pat] = f
    fam, ref = figs["proto.*"], figs["ip.10.0.1.*"]
    both = lambda f: "%d; %s | %d; %s" % (f[None][0], fmt(f[None][1]), f[100][0], fmt(f[100][1]))
    row("4", "SCAN 0 MATCH proto.* to cursor 0 over %d keys, COUNT 10 | COUNT 100 (calls; server ms)" % nkeys,
        both(fam), "ip.10.0.1.* %s" % both(ref), "%.2fx" % (fam[100][1] / ref[100][1]), "<= 3 calls",
        "yes" if max(fam[None][0], fam[100][0]) <= 3 else "NO")
    row("4", "KEYS proto.* over %d keys (server ms, mean of 21)" % nkeys, fmt(fam["KEYS"]),
        "ip.10.0.1.* %s" % fmt(ref["KEYS"]), "%.2fx" % (fam["KEYS"] / ref["KEYS"]),
        "as fast as ip.10.0.1.*", "yes" if fam["KEYS"] <= 1.5 * ref["KEYS"] else "NO")
    note("Family scans over the item-2 cache (%d keys), the server's own time (INFO commandstats): SCAN MATCH "
         "<pattern> from 0 to cursor 0 at the default COUNT 10 | COUNT 100 (calls; ms for the whole scan), then "
         "KEYS <pattern> (ms): %s" % (nkeys, "; ".join(
             "%s (%d keys) %s, KEYS %s" % (p, f["keys"], both(f), fmt(f["KEYS"])) for p, f in figs.items())))


def keys_scan(c, p):
    names = set()
    cur, n = "0", 0
    while n < 100000:
        cur, ks = c.cmd("SCAN", cur, "COUNT", "10000")
        names.update(ks)
        n += 1
        if cur == "0":
            break
    payload = os.path.join(OUT, "names.resp")
    with open(payload, "wb") as f:
        for k in names:
            f.write(Resp.enc(["SET", k, "1"]))
    rp = None
    try:
        rp, rport, rc = start_redis("keys")
        redis_pipe(rport, payload)
        rdb = rc.cmd("DBSIZE")
        pat = "ip.10.0.1.*"
        reps = 5
        t_fc, k_fc = timed(lambda: c.cmd("KEYS", pat), reps)
        t_rs, k_rs = timed(lambda: rc.cmd("KEYS", pat), reps)
        same = sorted(k_fc) == sorted(k_rs)
        row("4", "KEYS %s over %d keys (ms, median of %d)" % (pat, len(names), reps), fmt(t_fc * 1e3),
            "redis %s" % fmt(t_rs * 1e3), "%.2fx faster" % (t_rs / t_fc), ">= 10x faster",
            ("yes" if t_rs / t_fc >= 10 else "NO") + ("" if same else " (replies differ!)"))
        t_fc, (s_fc, n_fc) = timed(lambda: scan_all(c, pat), 3)
        t_rs, (s_rs, n_rs) = timed(lambda: scan_all(rc, pat), 3)
        row("4", "SCAN 0 MATCH %s COUNT 1000 to cursor 0 (ms; calls)" % pat, "%s; %d" % (fmt(t_fc * 1e3), n_fc),
            "redis %s; %d" % (fmt(t_rs * 1e3), n_rs), "%.2fx faster" % (t_rs / t_fc), ">= 10x faster",
            ("yes" if t_rs / t_fc >= 10 else "NO") + ("" if s_fc == s_rs else " (sets differ!)"))
        note("KEYS/SCAN: flowcached holds %d keys (1 M flows + hosts + aggregates of the item-2 file); "
             "redis-server loaded with the same %d names as strings (DBSIZE %d); both return %d keys for %s"
             % (len(names), len(names), rdb, len(k_fc), pat))
        rc.close()
        family_scans(c, len(names))
    finally:
        stop(rp)


# ---------- 3: scaling ----------

def threads_same(fc, small):
    """--capture-threads 2 against 1 on one file with a 1 s flow timeout (flows end and start again
    while the workers drift apart in packet time): every key and field after the file."""
    dumps = []
    for n in ("1", "2"):
        p = None
        try:
            p, port, c = run_keep(fc, small, ["--capture-threads", n, "--flow-idle-timeout", "1"], "threads-same-%s" % n)
            dumps.append(dump_all(c))
            c.close()
        finally:
            stop(p)
    a, b = dumps
    diff = [k for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
    row("3", "--capture-threads 2 vs 1, same keyspace after the small file, 1 s flow timeout (keys differing)",
        str(len(diff)), "%d keys" % len(a), "-", "0", "yes" if not diff else "NO")


def run_pair(cmd, logname, cmd2=None):
    """Runs cmd and cmd2 (another copy of cmd when None) at once; returns (wall of the later one, CPU s
    of both)."""
    out = [None, None]
    cmds = [cmd, cmd2 or cmd]

    def one(i):
        out[i] = run_timed(cmds[i], "%s.%d" % (logname, i))
    ts = [threading.Thread(target=one, args=(i,)) for i in range(2)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    for r in out:
        if r["rc"] != 0:
            raise RuntimeError("%s exited %d: %s" % (cmdline(cmd), r["rc"], r["out"][-500:]))
    return max(r["wall"] for r in out), sum(r["cpu"] for r in out)


def machine_scaling_rounds(fc, big, halves, rounds, least, budget_s, pingpong, passes=1):
    """Goal 2's rows, measured in alternating rounds: each round runs one worker, two workers
    (--capture-threads 2), two independent one-worker processes at once (the machine's own two-core
    scaling, the ceiling for goal 2 here) and one one-worker process per lane at once (halves: the
    file's two lanes, from lane_halves; the same split of the work as two workers, sharing nothing)
    back to back, the order rotating from round to round, each run reading its file `passes` times.
    Ratios are taken within a round, so a change of load on the shared machine between rounds moves
    both sides of a ratio alike; the rows give their medians. After `least` rounds, no round starts
    that would likely end past budget_s (by the rounds' mean so far): a loaded machine gets fewer
    rounds rather than a much longer item, and the row says how many. A program that scales perfectly
    finishes twice the packets in half the wall time (two workers, or one process per lane) or in the
    same wall time (two processes on the whole file) at the same CPU per packet.
    Right before and after the 2-worker run, a round also takes the cache-line round trip between the
    two CPUs (pingpong: tools/bench_pingpong.c). On a virtual machine it moves with where the host puts
    the two CPUs, and every line both workers write crosses at that price, so the 2-worker figures are
    also given apart for the rounds where both readings were under NEAR_NS (the CPUs shared a cache)
    and those where both were over."""
    def run_args(path):
        return [fc] + ["--pcap", path] * passes + ["--pcap-end", "exit", "--port", "0"]
    base = run_args(big)
    kinds = ("1", "2", "pair", "lanes")
    per = []                                   # one dict a round: kind -> (wall s, CPU s)

    def checked(cmd, logname):
        r = run_timed(cmd, logname)
        if r["rc"] != 0:
            raise RuntimeError("%s exited %d: %s" % (cmdline(cmd), r["rc"], r["out"][-500:]))
        return r["wall"], r["cpu"]
    t0 = time.perf_counter()
    for i in range(rounds):
        spent = time.perf_counter() - t0
        if i >= least and spent + spent / i > budget_s:
            break
        got = {}
        for k in kinds[i % len(kinds):] + kinds[:i % len(kinds)]:
            if k == "1":
                got[k] = checked(base, "fc-round1.log")
            elif k == "2":
                before = round_trip_ns(pingpong)
                got[k] = checked(base + ["--capture-threads", "2"], "fc-round2.log")
                got["rt"] = (before, round_trip_ns(pingpong))
            elif k == "pair":
                got[k] = run_pair(base, "fc-pair.log")
            else:
                got[k] = run_pair(run_args(halves[0]), "fc-lanes.log", run_args(halves[1]))
        per.append(got)
    wall1 = statistics.median(g["1"][0] for g in per)
    speeds = [g["1"][0] / g["2"][0] for g in per]             # same packets: CPU ratio = CPU per packet
    cpus = [g["2"][1] / g["1"][1] for g in per]
    m_speeds = [2 * g["1"][0] / g["pair"][0] for g in per]     # twice the packets in the pair's wall time
    m_cpus = [g["pair"][1] / (2 * g["1"][1]) for g in per]
    speed, cpu = statistics.median(speeds), statistics.median(cpus)
    m_speed, m_cpu = statistics.median(m_speeds), statistics.median(m_cpus)
    how = "item-1 file%s, %d round%s" % ("" if passes == 1 else " x%d" % passes, len(per), "" if len(per) == 1 else "s")
    row("3", "--capture-threads 2 vs 1 on the %s (wall s; speedup | CPU per packet vs 1 worker)" % how,
        "%s; %.2fx | %.2fx" % (fmt(statistics.median(g["2"][0] for g in per)), speed, cpu),
        "1 worker %s s wall" % fmt(wall1), "%.2fx | %.2fx" % (speed, cpu), ">= 1.7x | <= 1.1x (2 idle cores)",
        "yes" if speed >= 1.7 and cpu <= 1.1 else "NO")
    row("3", "machine reference: 2 one-worker processes at once vs 1 alone, same rounds (wall s; throughput | "
        "CPU per packet)", "%s; %.2fx | %.2fx" % (fmt(statistics.median(g["pair"][0] for g in per)), m_speed, m_cpu),
        "1 process %s s wall" % fmt(wall1), "%.2fx | %.2fx" % (m_speed, m_cpu), "(ceiling for the row above)", "-")
    l_speeds = [g["1"][0] / g["lanes"][0] for g in per]       # the same packets, split
    l_cpus = [g["lanes"][1] / g["1"][1] for g in per]
    l_speed, l_cpu = statistics.median(l_speeds), statistics.median(l_cpus)
    row("3", "share-nothing reference: the file split by lane (tools/bench_lane_split.c), one one-worker process "
        "per lane at once vs 1 worker on the whole, same rounds (wall s; speedup | CPU per packet)",
        "%s; %.2fx | %.2fx" % (fmt(statistics.median(g["lanes"][0] for g in per)), l_speed, l_cpu),
        "1 worker %s s wall" % fmt(wall1), "%.2fx | %.2fx" % (l_speed, l_cpu),
        "(2 workers' split, nothing shared)", "-")

    def seq(v):
        return " ".join("%.2f" % x for x in v)
    rts = [g["rt"] for g in per]
    for name, kind in (("shared a cache (both round trips < %d ns)" % NEAR_NS, "near"),
                       ("did not (both >= %d ns)" % NEAR_NS, "far")):
        idx = [i for i, rt in enumerate(rts) if placement(*rt) == kind]
        if not idx:
            row("3", "--capture-threads 2 vs 1, rounds where the two CPUs %s" % name, "no such round",
                "-", "-", "-", "-")
            continue
        sp, cp = statistics.median(speeds[i] for i in idx), statistics.median(cpus[i] for i in idx)
        row("3", "--capture-threads 2 vs 1, the %d round%s where the two CPUs %s (speedup | CPU per packet)" % (
            len(idx), "" if len(idx) == 1 else "s", name), "%.2fx | %.2fx" % (sp, cp),
            "round trip %.0f ns" % statistics.median(x for i in idx for x in rts[i]), "%.2fx | %.2fx" % (sp, cp),
            ">= 1.7x | <= 1.1x", "yes" if sp >= 1.7 and cp <= 1.1 else "NO")
    cut = "" if len(per) == rounds else " (of %d: the next would likely have ended past %d s)" % (rounds, budget_s)
    note("Goal 2's rows (item 3: --capture-threads 2 vs 1, machine reference, share-nothing reference) come from "
         "%d round%s%s, %.0f s; each round runs 1 worker, 2 workers, two one-worker processes at once and one "
         "one-worker process per lane half at once back to back (order rotating), each run reading its file %d "
         "time(s), and the rows give the medians of the per-round ratios. Per round: speedup %s; CPU per packet "
         "%s; machine reference throughput %s, CPU per packet %s; share-nothing speedup %s, CPU per packet %s; "
         "1-worker wall s %s; cache-line round trip between the CPUs before/after the 2-worker run, ns: %s." % (
             len(per), "" if len(per) == 1 else "s", cut, time.perf_counter() - t0, passes, seq(speeds), seq(cpus),
             seq(m_speeds), seq(m_cpus), seq(l_speeds), seq(l_cpus), seq(g["1"][0] for g in per),
             " ".join("%.0f/%.0f" % rt for rt in rts)))


def item3(fc, bins, big, reps, small, quick):
    r1 = median_run([fc, "--pcap", big, "--pcap-end", "exit", "--port", "0"], "fc-scale1.log", reps)
    r2 = median_run([fc, "--pcap", big, "--pcap", big, "--pcap-end", "exit", "--port", "0"], "fc-scale2.log", reps)
    row("3", "2 copies of the item-1 file vs 1 (--pcap twice: one source, one thread) CPU s; wall s",
        "%s; %s" % (fmt(r2["cpu"]), fmt(r2["wall"])), "%s; %s" % (fmt(r1["cpu"]), fmt(r1["wall"])),
        "%.2fx; %.2fx" % (r2["cpu"] / r1["cpu"], r2["wall"] / r1["wall"]), "-", "-")
    # capture-threads: the workers read the file once between them, each keeping its own lane's frames
    # (by address pair). One pass a run, as goal 2 states it: a file given twice is another workload (its
    # packet times go back at the second copy, so nothing expires there and the cache holds both copies'
    # flows: the row above). Up to 7 rounds, at least 5, none begun that would likely end past 45 s of
    # rounds: a loaded machine gets fewer rounds, not a much longer item; 1 round with --quick
    # The share-nothing reference splits the file by lane once (kept in build/bench/data/)
    machine_scaling_rounds(fc, big, lane_halves(bins["bench_lane_split"], big), 1 if quick else 7,
                           1 if quick else 5, 45, bins["bench_pingpong"])
    note("Scaling: all --pcap files form one source; with --capture-threads N the N workers read a classic "
         "pcap file once between them, in batches of records whose reader also finds each frame's lane (the "
         "innermost address pair's hash), and each worker handles its own lane's frames of every batch "
         "(capture/source/file_walk.c: no reader thread, no copy; pcapng, pipes and paced replay keep a "
         "reader feeding lock-free rings, capture/source/fanout.c); each --interface is its own source. On "
         "this 2-core machine the two workers share two cores with the other sessions' load, so the speedup "
         "is bounded by it. The share-nothing row gives the same two lanes to two processes, each with a cache "
         "of its own: what two workers would do if they shared no memory. The gap between it and the "
         "2-worker row is the cost of the one cache they share (hosts, names, the file's buffers, pools): "
         "cache lines both workers write, each passing between the CPUs at the round trip the rows split by "
         "(tools/bench_pingpong.c). That price is the host's placement of this virtual machine's two CPUs, "
         "and it changes while the machine runs.")
    threads_same(fc, small)


# ---------- 4a: serving while capturing ----------

def bench_csv(port, nreq, pipeline, args):
    cmd = ["redis-benchmark", "-h", "127.0.0.1", "-p", str(port), "-c", "50", "-n", str(nreq),
           "-P", str(pipeline), "--csv"] + args
    record(cmd)
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    lines = [l for l in r.stdout.splitlines() if l.startswith('"') and not l.startswith('"test"')]
    if not lines:
        raise RuntimeError("redis-benchmark: %s %s" % (r.stdout[-300:], r.stderr[-300:]))
    f = [x.strip('"') for x in lines[-1].split('","')]
    return dict(rps=float(f[1]), p50=float(f[4]), p99=float(f[6]))


def children_cpu_s():
    """CPU seconds (user + system) of the children waited for so far (redis-benchmark's own)."""
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def server_syscalls(pid, port, nreq, pipeline, args):
    """One more redis-benchmark run with `perf stat` counting the server's system calls (all threads);
    returns (syscalls, epoll_wait calls) per request, or None without perf. Not one of the timed runs:
    the tracepoints cost time."""
    if shutil.which("perf") is None:
        return None
    out = os.path.join(OUT, "serve-syscalls.txt")
    perf = subprocess.Popen(["perf", "stat", "-x,", "-o", out, "-e",
                             "raw_syscalls:sys_enter,syscalls:sys_enter_epoll_wait", "-p", str(pid)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.3)
    try:
        bench_csv(port, nreq, pipeline, args)
    finally:
        perf.send_signal(signal.SIGINT)
        perf.wait(timeout=10)
    got = {}
    with open(out) as f:
        for line in f:
            x = line.split(",")
            if len(x) > 3 and x[0].isdigit():
                got[x[2].split(":")[-1]] = int(x[0]) / nreq
    if len(got) != 2:
        return None
    return got["sys_enter"], got["sys_enter_epoll_wait"]


def proc_cpu_s(pid):
    """CPU seconds (user + system, all threads) a process has used so far."""
    with open("/proc/%d/stat" % pid) as f:
        st = f.read().rsplit(")", 1)[1].split()
    return (int(st[11]) + int(st[12])) / os.sysconf("SC_CLK_TCK")


def item4a(fc, mid, quick):
    p = rp = None
    try:
        port = free_port()
        p = start([fc, "--pcap", mid, "--pcap-speed", "1", "--pcap-loop", "yes", "--port", str(port)], "fc-serve.log")
        c = wait_port(port, p)
        time.sleep(4 if quick else 8)
        hk = "ip.10.0.1.5"
        if not c.cmd("EXISTS", hk):
            ks = c.cmd("KEYS", "ip.10.0.1.*")
            hk = sorted(ks)[0] if ks else "ip.192.0.2.53"
        users = c.cmd("KEYS", "ipuser.*")
        sk = sorted(users)[0] if users else None
        data = dump_all(c)
        payload = os.path.join(OUT, "serve.resp")
        with open(payload, "wb") as f:
            for k, v in data.items():
                if isinstance(v, dict) and v:
                    f.write(Resp.enc(["HSET", k] + [x for kv in v.items() for x in kv]))
                elif isinstance(v, list) and v:
                    f.write(Resp.enc(["SADD", k] + v))
                elif isinstance(v, str):
                    f.write(Resp.enc(["SET", k, v]))
        rp, rport, rc = start_redis("serve")
        redis_pipe(rport, payload)
        note("Serving: flowcached replays %s at --pcap-speed 1 --pcap-loop yes; redis-server 7 loaded with its %d keys "
             "(HSET/SET/SADD from a dump after %d s); HGETALL key %s (%d fields), GET key %s"
             % (os.path.relpath(mid, ROOT), len(data), 4 if quick else 8, hk, len(data.get(hk, {})), sk))
        before = c.info("all")
        tests = [("HGETALL", ["HGETALL", hk])]
        if sk:
            tests.append(("GET", ["GET", sk]))
        # the machine is shared: one run each is noise; runs alternate flowcached / redis-server
        # (same flags, same key; flowcached first, then redis first, ...) and each side reports its
        # median req/s and median p99
        reps = 1 if quick else 7
        med = lambda v: sorted(v)[len(v) // 2]
        for name, args in tests:
            for pl in (1, 16):
                n = (20000 if quick else 100000) * (4 if pl == 16 else 1)
                ra, rb = [], []
                cpu = [0.0, 0.0]     # server CPU seconds over all runs: independent of the machine's load
                ccpu = [0.0, 0.0]    # redis-benchmark's CPU seconds against each side
                for i in range(reps):
                    pair = ((0, port, p.pid, ra), (1, rport, rp.pid, rb))
                    # who goes first alternates too (ABBA): the run after the other side's is not the same
                    for side, pt, pid, out in (pair if i % 2 == 0 else pair[::-1]):
                        c0, k0 = proc_cpu_s(pid), children_cpu_s()
                        out.append(bench_csv(pt, n, pl, args))
                        cpu[side] += proc_cpu_s(pid) - c0
                        ccpu[side] += children_cpu_s() - k0
                a = dict(rps=med([x["rps"] for x in ra]), p99=med([x["p99"] for x in ra]))
                b = dict(rps=med([x["rps"] for x in rb]), p99=med([x["p99"] for x in rb]))
                note("%s -P %d req/s, %d alternating runs: flowcached %s; redis %s" % (
                    name, pl, reps, " ".join(fmt(x["rps"]) for x in ra), " ".join(fmt(x["rps"]) for x in rb)))
                r = a["rps"] / b["rps"]
                row("4", "%s -c 50 -P %d req/s (p99 ms) while capturing, median of %d" % (name, pl, reps),
                    "%s (%s)" % (fmt(a["rps"]), fmt(a["p99"])), "redis %s (%s)" % (fmt(b["rps"]), fmt(b["p99"])),
                    "%.2fx" % r, ">= 1x", "yes" if r >= 1 else "NO")
                us = [c * 1e6 / (n * reps) for c in cpu]
                row("4", "%s -P %d server CPU us per request, whole process incl. capture (ratio: redis / flowcached)" % (name, pl),
                    "%.2f" % us[0], "redis %.2f" % us[1], "%.2fx" % (us[1] / us[0]) if us[0] else "-",
                    "-", "-")
                cus = [c * 1e6 / (n * reps) for c in ccpu]
                row("4", "%s -P %d redis-benchmark's own CPU us per request against each (one thread: its limit)" % (name, pl),
                    "%.2f" % cus[0], "redis %.2f" % cus[1], "-", "-", "-")
                sa, sb = server_syscalls(p.pid, port, n, pl, args), server_syscalls(rp.pid, rport, n, pl, args)
                if sa and sb:
                    note("%s -P %d server system calls per request (epoll_wait among them), one more run each under "
                         "perf stat: flowcached %.3f (%.3f), redis %.3f (%.3f)" % (name, pl, sa[0], sa[1], sb[0], sb[1]))
        after = c.info("all")
        d = {k: int(after.get(k, 0)) - int(before.get(k, 0)) for k in
             ("capture_packets", "capture_drops", "flows_dropped", "events_dropped")}
        row("4", "during the load: capture_drops / flows_dropped / events_dropped",
            "%d / %d / %d" % (d["capture_drops"], d["flows_dropped"], d["events_dropped"]),
            "%d packets read" % d["capture_packets"], "-", "0 / 0 / 0",
            "yes" if d["capture_drops"] == d["flows_dropped"] == d["events_dropped"] == 0 else "NO")
        c.close()
        rc.close()
    finally:
        stop(p)
        stop(rp)


# ---------- 5: events latency ----------

class Sub:
    """A RESP2 subscriber reading frames with a deadline."""
    def __init__(self, port, channel):
        self.r = Resp(port, timeout=5)
        self.r.s.sendall(Resp.enc(["SUBSCRIBE", channel]))
        self.r.read()

    def get(self, timeout):
        self.r.s.settimeout(timeout)
        try:
            return self.r.read()
        except socket.timeout:
            return None


def latency_run(port_listen, sub, samples, deadline_s, match_reply):
    lat = []
    t_end = time.time() + deadline_s
    lost = 0
    for i in range(samples):
        if time.time() > t_end:
            break
        # each sample from its own source address: a kernel-chosen port alone repeats
        # within ~1000 samples, and a repeated 5-tuple is an existing flow (no flow.new)
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.bind(("127.1.%d.%d" % ((i >> 8) & 255, i & 255), 0))
        sport = s.getsockname()[1]
        t0 = time.perf_counter()
        s.sendto(b"bench %d" % i, ("127.0.0.1", port_listen))
        got = None
        while time.perf_counter() - t0 < 1.0:
            m = sub.get(max(0.001, 1.0 - (time.perf_counter() - t0)))
            if m is None:
                break
            if match_reply(m, sport):
                got = time.perf_counter()
                break
        s.close()
        if got is None:
            lost += 1
        elif i >= 5:            # warm-up
            lat.append((got - t0) * 1e3)
        time.sleep(0.002)
    return lat, lost


def pct(v, q):
    v = sorted(v)
    return v[min(len(v) - 1, int(q * len(v)))] if v else None


def item5(fc, quick, floor):
    # the default capture mode (each packet handed over at once through flowcached's packet ring), the same
    # through libpcap, with the reader at SCHED_FIFO (capture-realtime), and capture-batch-ms 1 (TPACKET_V3
    # blocks); the immediate modes beside the machine's part of the path (item5_floor), timed before and
    # after them and pooled, so the reference spans the same minutes as the rows
    ref = item5_floor(floor, quick)
    modes = [(label, extra, item5_mode(fc, quick, label, extra))
             for label, extra in (("default capture (packet-ring)", []),
                                  ("capture-reader libpcap", ["--capture-reader", "libpcap"]),
                                  ("capture-realtime yes", ["--capture-realtime", "yes"]))]
    ref += item5_floor(floor, quick)
    if ref:
        row("5", "reference: the same packets and client through tools/bench_event_floor.c (libpcap immediate "
            "mode, capture thread -> pipe -> second thread -> RESP message), timed before and after the three "
            "rows below (ms, median / p99, n=%d)" % len(ref), "-", "%s / %s" % (fmt(pct(ref, 0.5)), fmt(pct(ref, 0.99))),
            "-", "-", "-")
    for label, extra, lat in modes:
        event_row(label, extra, lat, ref)
    batch = ("capture-batch-ms 1", ["--capture-batch-ms", "1"])
    event_row(*batch, item5_mode(fc, quick, *batch))
    item5_loaded(fc, quick)
    cloud_latency(fc, quick)


def event_match(m, sport):
    """Whether RESP message m is the flow.new of the packet sent from port sport."""
    return isinstance(m, list) and len(m) == 3 and m[0] == "message" and (":%d-" % sport in m[2] or m[2].endswith(":%d" % sport) or ":%d\"" % sport in m[2])


def event_row(label, extra, lat, ref=None):
    """Item 5's row of one capture mode: its latencies (ms) and, when ref holds the reference's, beside
    them with the ratio of the p99s. The immediate modes are judged."""
    if not lat:
        return
    p50, p99 = pct(lat, 0.5), pct(lat, 0.99)
    judged = "--capture-batch-ms" not in extra
    row("5", "UDP packet sent on lo -> flow.new received, %s (ms, median / p99, n=%d)" % (label, len(lat)),
        "%s / %s" % (fmt(p50), fmt(p99)),
        "floor %s / %s" % (fmt(pct(ref, 0.5)), fmt(pct(ref, 0.99))) if ref else "-",
        "%.2fx p99" % (p99 / pct(ref, 0.99)) if ref else "-",
        "p99 < 1 ms" if judged else "-", ("yes" if p99 < 1 else "NO") if judged else "-")


def item5_floor(floor, quick):
    """The same packets and client through tools/bench_event_floor.c: libpcap in immediate mode, a capture
    thread handing each packet's addresses to a second thread through a pipe, one RESP message a packet.
    What is left is the machine's part of flowcached's path (two thread wake-ups and a socket).
    Returns the latencies in ms (empty when it could not run)."""
    samples = 100 if quick else 500
    p = None
    udp = free_port(socket.SOCK_DGRAM)
    try:
        port = free_port()
        p = start([floor, "lo", "udp port %d" % udp, str(port)], "event-floor.log")
        wait_port(port, p).close()
        time.sleep(0.5)
        sub = Sub(port, "flow.new")
        lat, lost = latency_run(udp, sub, samples, 60, event_match)
        note("Events reference (tools/bench_event_floor.c): %d samples, %d lost within 1 s" % (len(lat), lost))
        return lat
    except (OSError, RuntimeError, ConnectionError) as e:
        note("Events reference (tools/bench_event_floor.c) not measured: %s" % e)
        return []
    finally:
        stop(p)


def item5_loaded(fc, quick):
    """The same probe while dnsperf drives dnsmasq at a fixed rate through the same filter, so the reader is busy:
    the default (capture-coalesce-us 100, a reader that pauses after emptying the ring) against no pause."""
    addr = pick_dns_addr()
    if not addr or shutil.which("dnsmasq") is None or shutil.which("dnsperf") is None:
        note("Events under load: needs dnsmasq, dnsperf and a free <127.0.0.x>:53 (%s)" % addr)
        return
    qps = 30000
    qfile = dns_query_file()
    dm = None
    try:
        dm = start_dnsmasq(addr)
        for label, extra in (("default capture, under %d DNS q/s" % qps, []),
                             ("capture-coalesce-us 0, under %d DNS q/s" % qps, ["--capture-coalesce-us", "0"])):
            event_row(label, extra, item5_mode(fc, quick, label, extra, load=(addr, qfile, qps)))
    finally:
        stop(dm)


def item5_mode(fc, quick, label, extra, load=None):
    """load: (dns address, query file, q/s): dnsperf runs meanwhile and its packets pass the filter too.
    Returns the latencies (ms); the caller writes the row (event_row)."""
    samples = 200 if quick else 1000
    p = dp = None
    udp = free_port(socket.SOCK_DGRAM)
    try:
        port = free_port()
        bpf = "udp port %d" % udp if not load else "udp port %d or (udp port 53 and host %s)" % (udp, load[0])
        p = start([fc, "--interface", "lo", "--bpf", bpf, "--port", str(port)] + extra, "fc-events.log")
        c = wait_port(port, p)
        time.sleep(0.5)
        sub = Sub(port, "flow.new")
        if load:
            dp = start(["dnsperf", "-s", load[0], "-p", "53", "-d", load[1], "-l", "60", "-c", "4", "-q", "200",
                        "-Q", str(load[2])], "dnsperf-load.out")
            time.sleep(1.0)
        lat, lost = latency_run(udp, sub, samples, 60, event_match)
        inf = c.info("capture")
        note("Events, %s: %d samples, %d lost within 1 s; capture_drops %s; latency includes Python's send/receive "
             "(time.perf_counter before sendto, after the frame is parsed)" % (label, len(lat), lost, inf.get("capture_drops")))
        c.close()
        return lat
    finally:
        if dp is not None:
            stop(dp)
        stop(p)


def cloud_latency(fc, quick):
    p = rp = None
    udp = free_port(socket.SOCK_DGRAM)
    try:
        rp, rport, rc = start_redis("cloud")
        port = free_port()
        p = start([fc, "--interface", "lo", "--bpf", "udp port %d" % udp, "--port", str(port),
                   "--cloud", "127.0.0.1:%d" % rport, "--flow-idle-timeout", "1"], "fc-cloud.log")
        time.sleep(1.0)
        if p.poll() is not None:
            row("5", "packet -> flow readable on a cloud redis-server", "not measured yet", "-", "-", "-", "n/a")
            note("Cloud: flowcached --cloud exited (%d) at start; see build/bench/fc-cloud.log" % p.returncode)
            return
        c = wait_port(port, p)
        sub = Sub(rport, "flow.new")

        def match(m, sport):
            return isinstance(m, list) and len(m) == 3 and m[0] == "message" and (":%d" % sport) in m[2]
        lat, lost = latency_run(udp, sub, 50 if quick else 200, 30, match)
        if lat:
            row("5", "packet -> flow.new PUBLISHed on the cloud (ms, median / p99, n=%d)" % len(lat),
                "%s / %s" % (fmt(pct(lat, 0.5)), fmt(pct(lat, 0.99))), "-", "-", "-", "-")
        else:
            row("5", "packet -> flow.new PUBLISHed on the cloud", "not measured yet", "-", "-", "-", "n/a")
        # flow hash on the cloud: written at flow end, so this includes the 1 s idle timeout
        # A live source's cache clock only advances when a packet arrives (measured: with no traffic a
        # flow past its idle timeout is neither expired nor written), so a "ticker" flow sends a packet
        # every 20 ms meanwhile.
        hl = []
        ticker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        ticker.bind(("127.0.0.1", 0))
        for i in range(3 if quick else 10):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            sport = s.getsockname()[1]
            t0 = time.perf_counter()
            s.sendto(b"cloud", ("127.0.0.1", udp))
            s.close()
            got = None
            while time.perf_counter() - t0 < 5:
                ticker.sendto(b"tick", ("127.0.0.1", udp))
                ks = rc.cmd("KEYS", "flow.udp.*:%d-*" % sport) + rc.cmd("KEYS", "flow.udp.*-127.0.0.1:%d" % sport)
                if ks and rc.cmd("HGET", ks[0], "pkts.c2s") is not None:
                    got = time.perf_counter()
                    break
                time.sleep(0.02)
            if got:
                hl.append((got - t0) * 1e3)
        ticker.close()
        if hl:
            row("5", "packet -> flow hash readable on the cloud, flow-idle-timeout 1 s (ms, median / max, n=%d)" % len(hl),
                "%s / %s" % (fmt(pct(hl, 0.5)), fmt(max(hl))), "-", "-", "-", "-")
            note("Cloud: a flow hash is written to the cloud at flow end (KEYSPACE.md), so packet -> HGET on the cloud "
                 "includes the 1 s idle timeout, the 100 ms sweep tick and cloud-flush-ms (100 ms); a ticker flow kept "
                 "the live cache clock moving. flow.new is PUBLISHed on the cloud in the next flush batch.")
        else:
            row("5", "packet -> flow hash readable on the cloud", "not measured yet", "-", "-", "-", "n/a")
            note("Cloud: no flow.* key appeared on the cloud redis-server within 5 s of a packet (flow hashes are "
                 "written at flow end per KEYSPACE.md); cloud INFO from flowcached: %s"
                 % {k: v for k, v in c.info("cloud").items()})
        c.close()
        rc.close()
    except (RuntimeError, OSError, ConnectionError) as e:
        row("5", "packet -> flow readable on a cloud redis-server", "not measured yet", "-", "-", "-", "n/a")
        note("Cloud: %s" % e)
    finally:
        stop(p)
        stop(rp)


# ---------- 7: pub/sub cost per event with many patterns ----------

def thread_cpu_s(pid, tid):
    """user+sys CPU seconds of one thread (the loop thread of flowcached is its main thread: tid = pid)."""
    with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def item7(fc, bins, quick):
    """Loop-thread CPU per flow.new event delivered to one subscriber while N patterns that match no channel
    are subscribed (N = 0, 1 000, 20 000), side by side on the same input: a file of 100 000 new flows replayed
    in a loop at full speed with a 1 s flow timeout, so every loop makes 100 000 flow.new events. The three
    runs alternate, twice (once with --quick), and the lower figure of each N is kept: on a shared machine
    the noise only ever adds CPU."""
    import threading
    pcap = gen_flows(bins, 100000)
    secs = 3 if quick else 6
    per = {}
    for n in (0, 1000, 20000) * (1 if quick else 2):
        p = None
        stop_ev = threading.Event()
        try:
            port = free_port()
            p = start([fc, "--pcap", pcap, "--pcap-loop", "yes", "--pcap-speed", "0", "--flow-idle-timeout", "1",
                       "--port", str(port)], "fc-pubsub.log")
            c = wait_port(port, p)
            pat = Resp(port)
            for k in range(0, n, 1000):
                pat.s.sendall(Resp.enc(["PSUBSCRIBE"] + ["nomatch.%d.*" % i for i in range(k, k + 1000)]))
                for _ in range(1000):
                    pat.read()
            sub = socket.create_connection(("127.0.0.1", port), timeout=5)
            sub.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            sub.sendall(Resp.enc(["SUBSCRIBE", "flow.new"]))

            def drain():                  # reads and discards, as fast as the socket gives
                sub.settimeout(0.5)
                while not stop_ev.is_set():
                    try:
                        if not sub.recv(RECV_BYTES):
                            return
                    except socket.timeout:
                        continue
                    except OSError:
                        return
            t = threading.Thread(target=drain, daemon=True)
            t.start()
            time.sleep(1.0)
            cpu0, ev0 = thread_cpu_s(p.pid, p.pid), int(c.info("all")["events_published"])
            time.sleep(secs)
            cpu1, inf = thread_cpu_s(p.pid, p.pid), c.info("all")
            ev = int(inf["events_published"]) - ev0
            us = (cpu1 - cpu0) / max(ev, 1) * 1e6
            per[n] = min(per.get(n, us), us)
            note("Pub/sub, %d patterns: %d flow.new events in %d s (%d/s), loop thread %.2f s CPU, "
                 "events_dropped %s, pubsub_clients_dropped %s" % (n, ev, secs, ev / secs, cpu1 - cpu0,
                                                                   inf.get("events_dropped"), inf.get("pubsub_clients_dropped")))
            stop_ev.set()
            t.join(2)
            sub.close()
            pat.close()
            c.close()
        except (OSError, ConnectionError, RuntimeError) as e:     # a stalled loop: say so, go on
            row("7", "%d patterns matching nothing" % n, "failed: %s: %s" % (type(e).__name__, e), "-", "-", "-", "NO")
        finally:
            stop_ev.set()
            stop(p)
    base = per.get(0)
    for n in (0, 1000, 20000):
        if n not in per:
            continue
        ratio = per[n] / base if base else None
        row("7", "loop-thread CPU per flow.new event delivered, %d patterns matching nothing (us)" % n,
            fmt(per[n]), "%s (0 patterns)" % fmt(base), fmt(ratio) if ratio else "-",
            "< 2x 0 patterns" if n else "-", ("yes" if ratio < 2 else "NO") if n and ratio else "-")


# ---------- 6: live DNS ----------

def dns_query_file():
    """1000 distinct A queries for dnsperf; returns the file's path."""
    qfile = os.path.join(OUT, "dnsperf-queries.txt")
    with open(qfile, "w") as f:
        for i in range(1000):
            f.write("q%d.bench.test A\n" % i)
    return qfile


def start_dnsmasq(addr):
    """dnsmasq answering every name with 192.0.2.1 on addr:53 (stopped by the caller)."""
    return start(["dnsmasq", "-k", "-C", "/dev/null", "--listen-address=" + addr, "--bind-interfaces", "--port=53",
                  "--no-resolv", "--no-hosts", "--address=/#/192.0.2.1", "--user=root",
                  "--pid-file=" + os.path.join(OUT, "dnsmasq.pid"),
                  "--log-facility=" + os.path.join(OUT, "dnsmasq.log")], "dnsmasq.out")


def pick_dns_addr():
    for last in range(153, 200):
        a = "127.0.0.%d" % last
        try:
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind((a, 53))
            s.close()
            return a
        except OSError:
            continue
    return None


def item6(fc, quick):
    """dnsperf -> dnsmasq on a 127.0.0.x address, flowcached capturing lo. For the default capture mode (packet-ring,
    capture-coalesce-us 100), the same without coalescing, capture-reader libpcap, capture-realtime, and
    capture-batch-ms: one unlimited run, then (when it dropped or missed queries) a bisection of dnsperf -Q rates
    for the highest rate at which every query is counted with 0 capture drops. Bounded: at most 1 + SEARCH_STEPS
    runs of SECS seconds per mode, each with its own flowcached."""
    addr = pick_dns_addr()
    if not addr or shutil.which("dnsmasq") is None or shutil.which("dnsperf") is None:
        row("6", "live DNS queries/s counted", "not measured", "-", "-", "-", "n/a")
        note("Live DNS: needs dnsmasq, dnsperf and a free <127.0.0.x>:53 (%s)" % addr)
        return
    secs = 5 if quick else 10
    steps = 2 if quick else 4
    qfile = dns_query_file()
    dm = None
    try:
        dm = start_dnsmasq(addr)
        fcmd = [fc, "--interface", "lo", "--bpf", "udp port 53 and host %s" % addr,
                "--flow-idle-timeout", "600", "--host-idle-timeout", "600"]
        for label, extra in (("default capture (immediate, packet-ring)", []),
                             ("immediate, packet-ring, capture-coalesce-us 0", ["--capture-coalesce-us", "0"]),
                             ("immediate, capture-reader libpcap", ["--capture-reader", "libpcap"]),
                             ("immediate + capture-realtime yes", ["--capture-realtime", "yes"]),
                             ("capture-batch-ms 1", ["--capture-batch-ms", "1"])):
            dns_search(fcmd + extra, addr, qfile, secs, steps, label)
    finally:
        stop(dm)


def dns_search(fcmd, addr, qfile, secs, steps, label):
    """Unlimited run, then bisection on -Q between 0 and the unlimited rate; one row for the unlimited run, one
    for the highest clean rate. A run is clean when dns.* queries counted == dnsperf sent and capture_drops 0."""
    full = dns_round(fcmd, addr, qfile, secs, None, label + ", dnsperf unlimited")
    if full is None:
        return
    best, tried = (full["qps"], []) if full["clean"] else (0, [])
    lo, hi = 0.0, full["qps"]
    for _ in range(0 if full["clean"] else steps):
        if hi - lo < 0.05 * full["qps"]:
            break
        mid = int((lo + hi) / 2)
        r = dns_round(fcmd, addr, qfile, secs, mid, None)
        if r is None:
            break
        tried.append("-Q %d: %s q/s, %d/%d counted, drops %d" % (mid, fmt(r["qps"]), r["q"], r["sent"], r["drops"]))
        if r["clean"]:
            lo, best = mid, max(best, r["qps"])
        else:
            hi = mid
    row("6", "%s: highest dnsperf rate with every query counted and 0 capture drops (q/s)" % label,
        fmt(best) if best else "none found", "unlimited: %s q/s" % fmt(full["qps"]),
        "%.2f" % (best / full["qps"]) if full["qps"] else "-", "= unlimited rate", "yes" if full["clean"] else "NO")
    if tried:
        note("Live DNS, %s: rate search after the unlimited run: %s" % (label, "; ".join(tried)))


def dns_round(fcmd, addr, qfile, secs, limit, label):
    """One dnsperf run against a fresh flowcached; a row when label is given. Returns a dict or None."""
    port = free_port()
    p = start(fcmd + ["--port", str(port)], "fc-dns.log")
    c = None
    try:
        c = wait_port(port, p)
        time.sleep(0.5)
        before = c.info("all")
        cmd = ["dnsperf", "-s", addr, "-p", "53", "-d", qfile, "-l", str(secs), "-c", "4", "-q", "200"]
        if limit:
            cmd += ["-Q", str(limit)]
        record(cmd)
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=secs + 60)
        out = r.stdout
        m = [re.search(pat, out) for pat in (r"Queries sent:\s+(\d+)", r"Queries completed:\s+(\d+)",
                                             r"Queries per second:\s+([\d.]+)")]
        if not all(m):
            note("Live DNS: dnsperf printed no totals (rc %d): %s" % (r.returncode, (out + r.stderr)[-300:]))
            return None
        sent, done, qps = int(m[0].group(1)), int(m[1].group(1)), float(m[2].group(1))
        time.sleep(1.5)
        names, cur, n = [], "0", 0
        while n < 10000:
            cur, ks = c.cmd("SCAN", cur, "MATCH", "dns.*", "COUNT", "1000")
            names += ks
            n += 1
            if cur == "0":
                break
        names = sorted(set(names))
        vals = c.pipeline([["HMGET", k, "queries", "responses"] for k in names])
        q = sum(int(v[0] or 0) for v in vals)
        resp = sum(int(v[1] or 0) for v in vals)
        after = c.info("all")
    finally:
        if c is not None:
            c.close()
        stop(p)
    drops = int(after.get("capture_drops", 0)) - int(before.get("capture_drops", 0))
    pk = int(after.get("capture_packets", 0)) - int(before.get("capture_packets", 0))
    res = {"sent": sent, "done": done, "qps": qps, "q": q, "drops": drops, "clean": q == sent and drops == 0}
    if label:
        row("6", "%s: dnsperf -> dnsmasq on %s for %d s: dns.* queries counted / dnsperf sent" % (label, addr, secs),
            "%d" % q, "%d sent, %d completed" % (sent, done), "%.4f" % (q / sent if sent else 0), "1.0 and 0 drops",
            "yes" if res["clean"] else "NO")
        row("6", "%s: live DNS rate (queries/s) and capture_drops" % label, "%s q/s; drops %d" % (fmt(qps), drops),
            "dnsperf %s q/s" % fmt(qps), "-", "0 drops", "yes" if drops == 0 else "NO")
        note("Live DNS, %s: %d dns.* keys, responses counted %d, capture_packets +%d (expect ~2 x %d); "
             "dnsperf -c 4 -q 200" % (label, len(names), resp, pk, sent))
    return res


# ---------- profile ----------

def profile(fc, big):
    if shutil.which("perf") is None:
        note("profile: perf not installed (linux-perf)")
        return None
    data = os.path.join(OUT, "perf.data")
    cmd = ["perf", "record", "-F", "499", "--call-graph", "dwarf,16384", "-o", data, "--",
           fc, "--pcap", big, "--pcap-end", "exit", "--port", "0"]
    r = run_timed(cmd, "perf-record.log", timeout=900)
    if r["rc"] != 0:
        note("perf record failed: %s" % r["out"][-300:])
        return None
    rep = subprocess.run(["perf", "report", "-i", data, "--no-children", "--stdio", "--percent-limit", "0.7",
                          "--sort", "symbol,dso", "-g", "none"], capture_output=True, text=True, timeout=600)
    top = [l for l in rep.stdout.splitlines() if l.strip() and not l.startswith("#")][:30]
    with open(os.path.join(OUT, "perf-top.txt"), "w") as f:
        f.write(rep.stdout)
    rep2 = subprocess.run(["perf", "report", "-i", data, "--children", "--stdio", "--percent-limit", "3",
                           "--sort", "symbol", "-g", "none"], capture_output=True, text=True, timeout=600)
    with open(os.path.join(OUT, "perf-children.txt"), "w") as f:
        f.write(rep2.stdout)
    record(["perf", "report", "-i", "build/bench/perf.data", "--no-children", "--stdio", "--sort", "symbol,dso"])
    return top


# ---------- report ----------

def machine():
    """The Machine section's lines. A virtual machine's model name may hide the generation ("AMD EPYC"), so
    the CPU family and model numbers and whether it has AVX-512 are given too: runs of different sessions
    have landed on different generations, and the references do not move alike across them."""
    cpu, fam = "?", {}
    try:
        for line in open("/proc/cpuinfo"):
            key, _, val = line.partition(":")
            key = key.strip()
            if key == "model name" and cpu == "?":
                cpu = val.strip()
            elif key in ("cpu family", "model") and key not in fam:
                fam[key] = val.strip()
            elif key == "flags":
                fam["avx512"] = "yes" if " avx512f" in val else "no"
                break
    except OSError:
        pass
    if fam:
        cpu += " (family %s, model %s, AVX-512 %s)" % (fam.get("cpu family", "?"), fam.get("model", "?"),
                                                         fam.get("avx512", "?"))
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"]
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30
    vers = []
    for cmd in (["redis-server", "--version"], ["ndpiReader", "-h"], ["softflowd", "-h"], ["dnsperf", "-h"]):
        try:
            o = subprocess.run(cmd, capture_output=True, text=True, timeout=10)
            t = (o.stdout + o.stderr)
            m = re.search(r"(v=[\d.]+|nDPI [\d.]+|version [\d.]+|dnsperf [\d.]+)", t)
            vers.append("%s %s" % (cmd[0], m.group(1) if m else "?"))
        except (OSError, subprocess.TimeoutExpired):
            vers.append("%s absent" % cmd[0])
    try:
        head = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        vers.append("flowcached tree %s%s" % (head, " + uncommitted changes" if dirty else ""))
    except (OSError, subprocess.TimeoutExpired):
        pass
    return ["nproc: %d" % os.cpu_count(), "CPU: %s" % cpu, "kernel: %s" % platform.release(),
            "memory: %.1f GiB" % mem, "load average at start: %s" % " ".join(load), "tools: " + ", ".join(vers)]


def table(rows):
    hdr = ("item", "what", "flowcached", "reference", "ratio", "goal", "met?")
    lines = ["| " + " | ".join(hdr) + " |", "|" + "---|" * len(hdr)]
    for r in rows:
        lines.append("| " + " | ".join(str(x).replace("|", "\\|") for x in r) + " |")
    return "\n".join(lines)


def write_md(facts, args, top, elapsed):
    path = os.path.join(ROOT, "BENCHMARKS.md")
    s = ["# flowcached benchmarks", "",
         "Written by `make bench` (`tools/bench.py%s`) on %s, in %.0f s. Every figure below was measured in that "
         "one run against the reference named beside it. CPU time (user+sys of the measured process) is the "
         "figure judged, because this machine is shared and noisy; wall time is shown where it matters."
         % (" --quick" if args.quick else "", time.strftime("%Y-%m-%d %H:%M:%S %Z"), elapsed), "",
         "## Machine", ""] + ["- " + f for f in facts] + ["", "## Results", "", table(ROWS), "", "## Notes", ""]
    s += ["- " + n for n in NOTES]
    if top:
        s += ["", "## Profile (item 1, `perf record --call-graph dwarf`, self time)", "", "```"] + top + ["```"]
    s += ["", "## Not measured here", "",
          "- several `--interface` sources each get a thread, but no multi-interface load is generated here.",
          "- softflowd is a flow exporter without DPI: a floor for flow keeping, not a like-for-like reference.",
          "", "## Commands", "", "```"] + COMMANDS + ["```", ""]
    marker = "<!-- hand-written below: kept by tools/bench.py -->"
    try:
        old = open(path).read()
        if marker in old:
            s += [marker + old.split(marker, 1)[1].rstrip("\n"), ""]
    except OSError:
        pass
    with open(path, "w") as f:
        f.write("\n".join(s))
    log("wrote %s" % path)


def main():
    ap = argparse.ArgumentParser(description="flowcached benchmarks (make bench)")
    ap.add_argument("--quick", action="store_true", help="smaller inputs, one repetition (~3 min)")
    ap.add_argument("--only", default="1,2,3,4,5,6,7,8", help="items to run, e.g. 1,4 (4b: KEYS/SCAN only, 4a: serving only)")
    ap.add_argument("--profile", action="store_true", help="also perf-record flowcached on the item-1 file")
    ap.add_argument("--flowcached", default=os.path.join(ROOT, "build", "plain", "flowcached"))
    ap.add_argument("--flowcached-libc", default=os.path.join(ROOT, "build", "plain-libc", "flowcached"),
                    help="the same build with libc's malloc, run beside the default one in items 1 and 2")
    ap.add_argument("--no-write", action="store_true", help="do not rewrite BENCHMARKS.md")
    args = ap.parse_args()
    only = set(args.only.split(","))
    t_start = time.time()
    os.makedirs(OUT, exist_ok=True)
    # a private copy, so a concurrent rebuild of build/plain cannot change the binary mid-run
    fc = os.path.join(OUT, "flowcached")
    if os.path.exists(fc):
        os.unlink(fc)
    shutil.copy2(args.flowcached, fc)
    global FC_LIBC
    if os.path.exists(args.flowcached_libc):
        FC_LIBC = os.path.join(OUT, "flowcached-libc")
        if os.path.exists(FC_LIBC):
            os.unlink(FC_LIBC)
        shutil.copy2(args.flowcached_libc, FC_LIBC)
    else:
        note("no %s (make MALLOC=libc): the allocator rows are left out" % os.path.relpath(args.flowcached_libc, ROOT))
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))   # so the finally below stops our processes
    facts = machine()
    for f in facts:
        log(f)
    bins = build_helpers()
    q = args.quick
    reps = 1 if q else 3
    big = small = small_truth = mid = None
    if only & {"1", "3", "8"} or args.profile:
        big, _ = gen_traffic("big-q" if q else "big", 100000 if q else 400000, 20000 if q else 50000,
                             50000 if q else 200000)
    if only & {"1", "3"}:
        small, small_truth = gen_traffic("small", 3000, 500, 2000, 20.0)
    if only & {"4", "4a"}:
        mid, _ = gen_traffic("mid", 40000, 5000, 20000, 60.0)
    nflows = 200000 if q else 1000000
    top = None
    steps = [("1", lambda: item1(fc, bins, big, reps, small, small_truth)),
             ("2", lambda: item2_4b(fc, bins, nflows, True, bool(only & {"4", "4b"}))),
             ("3", lambda: item3(fc, bins, big, reps, small, q)),
             ("4", lambda: item4a(fc, mid, q)),
             ("4a", lambda: item4a(fc, mid, q)),
             ("4b", lambda: item2_4b(fc, bins, nflows, False, True)),
             ("5", lambda: item5(fc, q, bins["bench_event_floor"])),
             ("6", lambda: item6(fc, q)),
             ("7", lambda: item7(fc, bins, q)),
             ("8", lambda: item8(fc, bins, big, reps))]
    try:
        for k, fn in steps:
            if k not in only or (k == "4b" and only & {"2", "4"}) or (k == "4a" and "4" in only):
                continue                 # 4b (KEYS/SCAN over the item-2 cache) also runs with 2 and 4, 4a with 4
            if k == "4" and "2" not in only:
                item2_4b(fc, bins, nflows, False, True)
            log("== item %s" % k)
            t = time.time()
            try:
                fn()
            except Exception as e:       # one item failing must not hide the others
                row(k, "item %s failed" % k, "error", "-", "-", "-", "NO")
                note("item %s failed: %s: %s" % (k, type(e).__name__, e))
            log("item %s took %.0f s" % (k, time.time() - t))
        if args.profile:
            log("== profile")
            top = profile(fc, big)
    except SystemExit:
        note("interrupted (SIGTERM): the table is partial")
    finally:
        for p in list(PROCS):
            stop(p)
    elapsed = time.time() - t_start
    print()
    print(table(ROWS))
    print()
    for n in NOTES:
        print("- " + n)
    if top:
        print("\nprofile (self):\n" + "\n".join(top))
    if not args.no_write:
        write_md(facts, args, top, elapsed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
