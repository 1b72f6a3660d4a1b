"""cloudutil.py - helpers for the cloud replication tests: real redis-server nodes and clusters, pcap splitting,
running flowcached to completion, and comparing the cloud's counters with a generator truth file."""
import os
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest
import redis

from conftest import ROOT, flowcached_binary, free_port, sanitizer_report, stop_pid, tail, wait_ping

HOST_FIELDS = ("bytes.sent", "bytes.rcvd", "pkts.sent", "pkts.rcvd")
FLOW_FIELDS = ("bytes.c2s", "bytes.s2c", "pkts.c2s", "pkts.s2c")


def redis_exe():
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server not installed")
    return exe


class RedisNode:
    """One redis-server on a free loopback port (never 6379/6380), in its own temp dir; stopped by pid."""

    def __init__(self, cluster=False, aof=False, extra=(), password=None):
        self.password = password
        self.port = free_port()
        while self.port in (6379, 6380) or self.port + 10000 > 65535:
            self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="cloud-redis-")
        self.args = [redis_exe(), "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                     "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")]
        if aof:
            self.args += ["--appendonly", "yes", "--appendfsync", "always"]
        else:
            self.args += ["--appendonly", "no"]
        if cluster:
            self.args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
                          "--cluster-node-timeout", "5000"]
        if password:
            self.args += ["--requirepass", password]
        self.args += list(extra)
        self.proc = None
        self.start()

    def start(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while True:
            try:
                if self.client().ping():
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
                pass
            if self.proc.poll() is not None or time.monotonic() > deadline:
                stop_pid(self.proc)
                raise RuntimeError("redis-server on %d did not start" % self.port)
            time.sleep(0.05)

    def kill(self):
        """SIGKILL: the node dies without a clean shutdown."""
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self):
        if self.proc:
            stop_pid(self.proc)

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True,
                           socket_timeout=10)

    def addr(self):
        return "127.0.0.1:%d" % self.port

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


class SlowRelay:
    """A TCP relay on a free loopback port to a redis node that forwards nothing for its first `delay`
    seconds: clients connect at once, but their first replies come only after the delay, as from a cloud
    node that is slow to answer while a probe starts. Threads are daemons; close() stops them."""

    def __init__(self, upstream_port, delay):
        self.upstream, self.delay = upstream_port, delay
        self.srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.srv.bind(("127.0.0.1", 0))
        self.srv.listen(16)
        self.port = self.srv.getsockname()[1]
        self.t0 = time.monotonic()
        self.socks, self.closed = [self.srv], False
        threading.Thread(target=self._accept, daemon=True).start()

    def addr(self):
        return "127.0.0.1:%d" % self.port

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.srv.accept()
            except OSError:
                return
            self.socks.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        time.sleep(max(0.0, self.t0 + self.delay - time.monotonic()))
        try:
            u = socket.create_connection(("127.0.0.1", self.upstream), timeout=10)
        except OSError:
            c.close()
            return
        u.settimeout(None)
        self.socks.append(u)
        threading.Thread(target=self._pump, args=(u, c), daemon=True).start()
        self._pump(c, u)

    @staticmethod
    def _pump(a, b):
        try:
            while True:
                d = a.recv(65536)
                if not d:
                    break
                b.sendall(d)
        except OSError:
            pass
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def close(self):
        self.closed = True
        for s in self.socks:
            try:
                s.close()
            except OSError:
                pass


def make_cluster(n=3):
    """n masters, no replicas, every slot assigned; returns the RedisNode list once cluster_state is ok."""
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli not installed")
    nodes = [RedisNode(cluster=True) for _ in range(n)]
    try:
        subprocess.run(["redis-cli", "--cluster", "create"] + [x.addr() for x in nodes] +
                       ["--cluster-replicas", "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        deadline = time.monotonic() + 30
        while True:
            states = [x.client().cluster("info")["cluster_state"] for x in nodes]
            if all(s == "ok" for s in states):
                break
            if time.monotonic() > deadline:
                raise AssertionError("cluster not ok: %s" % states)
            time.sleep(0.1)
    except BaseException:
        for x in nodes:
            x.close()
        raise
    return nodes


def hgetall_everywhere(nodes, keys):
    """{key: hash} read from whichever node holds each key (one node, or every master of a cluster)."""
    out = {k: {} for k in keys}
    for node in nodes:
        c = node.client()
        pipe = c.pipeline(transaction=False)
        for k in keys:
            pipe.execute_command("HGETALL", k)
        try:
            res = pipe.execute(raise_on_error=False)
        finally:
            c.close()
        for k, h in zip(keys, res):
            if isinstance(h, dict) and h:
                out[k] = h
            elif isinstance(h, list) and h:
                out[k] = dict(zip(h[::2], h[1::2]))
    return out


def truth_counter(entry, field):
    if field in entry:
        return int(entry[field])
    return int(entry[field.replace(".", "_")])


def mismatches(nodes, truth):
    """[(key, want, got)] for every truth host and flow whose counters on the cloud differ."""
    keys = ["ip." + ip for ip in truth["hosts"]] + list(truth["flows"])
    got = hgetall_everywhere(nodes, keys)
    bad = []
    for ip, entry in truth["hosts"].items():
        h = got["ip." + ip]
        want = {f: truth_counter(entry, f) for f in HOST_FIELDS}
        have = {f: int(h[f]) if f in h else None for f in HOST_FIELDS}
        if want != have:
            bad.append(("ip." + ip, want, have))
    for key, entry in truth["flows"].items():
        h = got[key]
        want = {f: truth_counter(entry, f) for f in FLOW_FIELDS}
        have = {f: int(h[f]) if f in h else None for f in FLOW_FIELDS}
        if want != have:
            bad.append((key, want, have))
    return bad


def fmt(bad, n=10):
    return "%d mismatches, first ones:\n" % len(bad) + "\n".join("  %s\n    want %s\n    got  %s" % b for b in bad[:n])


def flowcached_cmd(*args):
    b = flowcached_binary()
    if not b.exists():
        pytest.skip("flowcached binary not built: %s" % b)
    return [str(b), "--port", str(free_port()), "--bind", "127.0.0.1"] + [str(a) for a in args]


def run_to_end(*args, timeout=120):
    """Run flowcached (with --pcap-end exit among args) to its end; returns its output; fails on a sanitizer report."""
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    p = subprocess.run(flowcached_cmd(*args), cwd=str(ROOT), capture_output=True, timeout=timeout, env=env)
    out = p.stdout.decode(errors="replace") + p.stderr.decode(errors="replace")
    assert not sanitizer_report(out), out[-6000:]
    assert p.returncode == 0, "flowcached exited with %d:\n%s" % (p.returncode, out[-4000:])
    return out


def start_bg(*args):
    """flowcached in the background (caller stops it with stop_pid); returns (proc, port, logpath)."""
    cmd = flowcached_cmd(*args)
    port = int(cmd[2])
    fd, log = tempfile.mkstemp(prefix="flowcached-cloud-", suffix=".log")
    env = dict(os.environ)
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
    proc = subprocess.Popen(cmd, cwd=str(ROOT), stdout=fd, stderr=subprocess.STDOUT, env=env)
    os.close(fd)
    wait_ping(port, proc, 15.0, log)
    return proc, port, log


def info(port):
    c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=10)
    try:
        return c.info("cloud")
    finally:
        c.close()


# ---------------------------------------------------------------- pcap splitting by direction
def _outer_ips(frame):
    """(src, dst, sport, dport) of the outermost IP header of an Ethernet frame, or None."""
    off, etype = 14, struct.unpack("!H", frame[12:14])[0] if len(frame) >= 14 else None
    if etype is None:
        return None
    while etype in (0x8100, 0x88A8, 0x9100) and len(frame) >= off + 4:
        etype = struct.unpack("!H", frame[off + 2:off + 4])[0]
        off += 4
    if etype in (0x8847, 0x8848):
        while len(frame) >= off + 4:
            bos = frame[off + 2] & 1
            off += 4
            if bos:
                break
        etype = {4: 0x0800, 6: 0x86DD}.get(frame[off] >> 4 if len(frame) > off else 0)
    if etype == 0x8864 and len(frame) >= off + 8:
        ppp = struct.unpack("!H", frame[off + 6:off + 8])[0]
        off += 8
        etype = {0x0021: 0x0800, 0x0057: 0x86DD}.get(ppp)
    if etype == 0x0800 and len(frame) >= off + 20:
        ihl = (frame[off] & 15) * 4
        proto = frame[off + 9]
        src, dst = frame[off + 12:off + 16], frame[off + 16:off + 20]
        l4 = off + ihl
    elif etype == 0x86DD and len(frame) >= off + 40:
        proto = frame[off + 6]
        src, dst = frame[off + 8:off + 24], frame[off + 24:off + 40]
        l4 = off + 40
    else:
        return None
    sport = dport = 0
    if proto in (6, 17) and len(frame) >= l4 + 4:
        sport, dport = struct.unpack("!HH", frame[l4:l4 + 4])
    return src, dst, sport, dport


def split_pcap(src, out_a, out_b):
    """Write the packets of src going "up" (outer source < destination) to out_a, the others to out_b,
    so each probe sees one direction of every connection. Returns (na, nb)."""
    with open(src, "rb") as f:
        data = f.read()
    magic = data[:4]
    endian = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
    a, b = [data[:24]], [data[:24]]
    off, na, nb = 24, 0, 0
    while off + 16 <= len(data):
        incl = struct.unpack(endian + "I", data[off + 8:off + 12])[0]
        rec = data[off:off + 16 + incl]
        ips = _outer_ips(data[off + 16:off + 16 + incl])
        up = True
        if ips:
            s, d, sp, dp = ips
            up = (s, sp) < (d, dp)
        (a if up else b).append(rec)
        if up:
            na += 1
        else:
            nb += 1
        off += 16 + incl
    with open(out_a, "wb") as f:
        f.write(b"".join(a))
    with open(out_b, "wb") as f:
        f.write(b"".join(b))
    return na, nb


def wait_for(pred, timeout=30.0, step=0.1, what="condition"):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for %s" % what)
        time.sleep(step)


def port_free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def stop_and_check(proc, log):
    """Stop a start_bg flowcached (SIGTERM), remove its log, fail on a sanitizer report or a crash."""
    rc = stop_pid(proc, grace=10.0)
    text = tail(log, 1 << 20)
    os.unlink(log)
    assert not sanitizer_report(text), text[-6000:]
    assert rc in (0, -signal.SIGTERM), "flowcached exited with %s:\n%s" % (rc, text[-4000:])
    return text


# ---------------------------------------------------------------- fixtures (import them into a test module)
@pytest.fixture
def node():
    """One redis-server, stopped after the test."""
    n = RedisNode()
    yield n
    n.close()


@pytest.fixture
def cluster():
    """A 3-master Redis Cluster, stopped after the test."""
    nodes = make_cluster(3)
    yield nodes
    for n in nodes:
        n.close()
