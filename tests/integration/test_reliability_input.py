"""test_reliability_input.py - bad inputs (issue 7): broken pcaps, snaplen-cut packets, every RESP protocol error,
huge length claims, 100k-argument commands, pathological globs, a config with every directive wrong.

Each test starts its own flowcached on a free loopback port and stops it by pid.
"""
import os
import random
import re
import shutil
import socket
import subprocess
import tempfile
import time

import pytest
import redis

from conftest import DEMO_PCAP, NO_EXPIRY, flowcached_binary, free_port, sanitizer_report, stop_pid, wait_ping
from test_reliability_util import (Proc, connect, eth_ipv4, is_closed, read_reply, recv_until_closed, resp_command,
                                   rss_kb, sanitized, tcp_segment, udp_datagram, write_pcap)


def start_or_exit(*args, timeout=20.0):
    """A Proc that may exit at once (bad input): returns (state, proc) with state "running" or "exited"."""
    p = Proc(*args, "--bind", "127.0.0.1", wait=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if p.proc.poll() is not None:
            return "exited", p
        try:
            if redis.Redis(host="127.0.0.1", port=p.port, socket_timeout=1).ping():
                return "running", p
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            pass
        time.sleep(0.05)
    p.stop()
    raise AssertionError("neither answered nor exited:\n" + p.output()[-3000:])


def wait_done(port, timeout=60.0):
    c = redis.Redis(host="127.0.0.1", port=port, socket_timeout=10, decode_responses=True)
    deadline = time.monotonic() + timeout
    while True:
        info = c.info()
        if int(info["capture_sources_active"]) == 0:
            return info
        assert time.monotonic() < deadline, "capture not done"
        time.sleep(0.1)


@pytest.fixture
def procs():
    started = []
    yield started
    problems = []
    for p in started:
        rc = p.stop()
        text = p.output()
        if sanitizer_report(text):
            problems.append("%s: sanitizer report:\n%s" % (p.cmd, text[-6000:]))
        elif rc is not None and rc < 0 and rc != -15:
            problems.append("%s: killed by signal %d:\n%s" % (p.cmd, -rc, text[-3000:]))
        try:
            os.unlink(p.log)
        except OSError:
            pass
    assert not problems, "\n".join(problems)


# ---------------------------------------------------------------- capture files

def tcp_flows(n, payload=1000, t0=1700000000.0):
    """n TCP flows 10.9.0.x:40000+i -> 192.0.2.1:80, each SYN, SYN/ACK, 3 data packets each way."""
    recs, t = [], t0
    for i in range(n):
        cli, srv = bytes([10, 9, i // 250, 1 + i % 250]), bytes([192, 0, 2, 1])
        sp = 40000 + i
        recs.append((t, eth_ipv4(cli, srv, 6, tcp_segment(sp, 80, 0x02))))
        recs.append((t + 0.001, eth_ipv4(srv, cli, 6, tcp_segment(80, sp, 0x12))))
        for k in range(3):
            recs.append((t + 0.002 + k * 0.001, eth_ipv4(cli, srv, 6, tcp_segment(sp, 80, 0x18, payload=b"G" * payload))))
            recs.append((t + 0.0025 + k * 0.001, eth_ipv4(srv, cli, 6, tcp_segment(80, sp, 0x18, payload=b"H" * payload))))
        t += 0.01
    return recs


@pytest.mark.parametrize("kind", ["zero-length", "short-header", "header-only", "cut-record-header",
                                  "cut-record-data", "corrupt-lengths", "random-garbage"])
def test_broken_pcap(procs, tmp_path, kind):
    """Zero-length, truncated and corrupt capture files: flowcached either serves what it could read or
    exits > 0 with a message naming the file; never a crash or sanitizer report."""
    good = tmp_path / "good.pcap"
    write_pcap(good, tcp_flows(20))
    data = good.read_bytes()
    p = tmp_path / (kind + ".pcap")
    if kind == "zero-length":
        p.write_bytes(b"")
    elif kind == "short-header":
        p.write_bytes(data[:10])
    elif kind == "header-only":
        p.write_bytes(data[:24])
    elif kind == "cut-record-header":
        p.write_bytes(data[:24 + 8])
    elif kind == "cut-record-data":
        p.write_bytes(data[:len(data) * 2 // 3])
    elif kind == "corrupt-lengths":
        b = bytearray(data)
        rng = random.Random(77)
        for _ in range(30):               # scribble over record headers' length fields and bodies
            i = rng.randrange(24, len(b) - 4)
            b[i:i + 4] = rng.choice([b"\xff\xff\xff\x7f", b"\x00\x00\x00\x00", b"\xff\xff\x00\x00"])
        p.write_bytes(bytes(b))
    else:
        p.write_bytes(random.Random(5).randbytes(50000))
    state, proc = start_or_exit("--pcap", p, "--pcap-end", "keep", *NO_EXPIRY)
    procs.append(proc)
    if state == "running":
        info = wait_done(proc.port)
        pkts = int(info["capture_packets"])
        if kind in ("zero-length", "short-header", "header-only", "cut-record-header", "random-garbage"):
            assert pkts == 0
        if kind == "cut-record-data":
            assert 0 < pkts < 20 * 8
        assert redis.Redis(port=proc.port, socket_timeout=5).ping()
    else:
        rc = proc.proc.returncode
        out = proc.output()
        assert rc == 1, "exit %d:\n%s" % (rc, out[-3000:])
        assert p.name in out, "the message does not name the file:\n" + out[-3000:]


def test_snaplen_cut_packets(procs, tmp_path):
    """A capture made with snaplen 64 (caplen < len on every big packet): flows still count the wire
    (layer-3) bytes of each packet, the same totals as the uncut file."""
    recs = tcp_flows(10, payload=1200)
    full, cut = tmp_path / "full.pcap", tmp_path / "cut.pcap"
    write_pcap(full, recs)
    write_pcap(cut, recs, snaplen=64)
    totals = {}
    for name, path in (("full", full), ("cut", cut)):
        proc = Proc("--bind", "127.0.0.1", "--pcap", path, "--pcap-end", "keep", *NO_EXPIRY)
        procs.append(proc)
        info = wait_done(proc.port)
        c = redis.Redis(port=proc.port, decode_responses=True, socket_timeout=10)
        keys = sorted(c.keys("flow.tcp.*"))
        assert len(keys) == 10, keys
        totals[name] = {k: (c.hget(k, "bytes.c2s"), c.hget(k, "bytes.s2c"), c.hget(k, "pkts.c2s")) for k in keys}
        totals[name + "_info"] = (int(info["capture_packets"]), int(info["capture_bytes"]))
        proc.stop()
    assert totals["cut_info"] == totals["full_info"]
    assert totals["cut"] == totals["full"]
    # 3 data packets of 20 + 20 + 1200 bytes and a SYN of 40 bytes, client to server
    assert all(v[0] == str(40 + 3 * 1240) for v in totals["cut"].values()), totals["cut"]


def test_snaplen_smaller_than_headers(procs, tmp_path):
    """snaplen 20: not even the IP header is captured. Packets are counted as anomalies, nothing crashes."""
    p = tmp_path / "tiny.pcap"
    write_pcap(p, tcp_flows(5), snaplen=20)
    proc = Proc("--bind", "127.0.0.1", "--pcap", p, "--pcap-end", "keep", *NO_EXPIRY)
    procs.append(proc)
    info = wait_done(proc.port)
    assert int(info["capture_packets"]) == 5 * 8
    assert int(info["flows_created"]) == 0
    assert int(info["capture_anomalies"]) + int(info["capture_not_ip"]) >= 5 * 8


# ---------------------------------------------------------------- RESP protocol errors

# (request bytes, exact reply): each error is followed by the server closing the connection.
PROTOCOL_ERRORS = [
    (b"*abc\r\n", b"-ERR Protocol error: invalid multibulk length\r\n"),
    (b"*1\r\n$abc\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$-5\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$1000000000\r\nabc", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*1\r\n$536870913\r\n", b"-ERR Protocol error: invalid bulk length\r\n"),
    (b"*2\r\n$4\r\nPING\r\nx\r\n", b"-ERR Protocol error: expected '$', got 'x'\r\n"),
    (b"*1\r\n:5\r\n", b"-ERR Protocol error: expected '$', got ':'\r\n"),
    (b'PING "unbalanced\r\n', b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"ECHO 'x\r\n", b"-ERR Protocol error: unbalanced quotes in request\r\n"),
    (b"A" * (64 * 1024 + 10), b"-ERR Protocol error: too big inline request\r\n"),
    (b"*" + b"1" * (64 * 1024 + 10), b"-ERR Protocol error: too big mbulk count string\r\n"),
    (b"*1\r\n$" + b"1" * (64 * 1024 + 10), b"-ERR Protocol error: too big bulk count string\r\n"),
]

PREAUTH_ERRORS = [
    (b"*11\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*100000\r\n", b"-ERR Protocol error: unauthenticated multibulk length\r\n"),
    (b"*1\r\n$16385\r\n", b"-ERR Protocol error: unauthenticated bulk length\r\n"),
]


def exchange_and_close(port, data):
    with connect(port) as s:
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        return recv_until_closed(s, timeout=8)


def check_errors(port, cases, witness):
    for req, expected in cases:
        out, closed = exchange_and_close(port, req)
        assert out == expected, "request %r: got %r, want %r" % (req[:40], out[:200], expected)
        assert closed, "connection left open after %r" % expected
        # Another, well-behaved client keeps getting answers.
        witness.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert read_reply(witness) == b"+PONG\r\n"


@pytest.fixture
def fc_plain(procs):
    p = Proc("--bind", "127.0.0.1")
    procs.append(p)
    return p


def test_protocol_errors_exact_and_closed(fc_plain):
    with connect(fc_plain.port) as witness:
        check_errors(fc_plain.port, PROTOCOL_ERRORS, witness)
    assert int(redis.Redis(port=fc_plain.port).info("stats").get("protocol_errors", 0)) >= len(PROTOCOL_ERRORS)


def test_protocol_errors_preauth(procs):
    p = Proc("--bind", "127.0.0.1", "--requirepass", "s3cret")
    procs.append(p)
    with connect(p.port) as witness:
        witness.sendall(resp_command("AUTH", "s3cret"))
        assert read_reply(witness) == b"+OK\r\n"
        check_errors(p.port, PREAUTH_ERRORS, witness)
        # After AUTH the limits are the normal ones: 11 arguments are fine.
        witness.sendall(resp_command("MGET", *["k%d" % i for i in range(10)]))
        assert read_reply(witness).startswith(b"*10\r\n")


def redis_reference(tmpdir, *extra):
    exe = shutil.which("redis-server")
    if not exe:
        return None, None
    port = free_port()
    proc = subprocess.Popen([exe, "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1",
                             "--dir", str(tmpdir)] + list(extra), stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_ping(port, proc, 15.0) if not extra else time.sleep(0.5)
    except BaseException:
        stop_pid(proc)
        raise
    return proc, port


def test_protocol_errors_match_redis(tmp_path):
    """The same requests against a real redis-server 7.0 give the same bytes (when it is installed)."""
    proc, port = redis_reference(tmp_path)
    if proc is None:
        pytest.skip("redis-server not installed")
    try:
        for req, expected in PROTOCOL_ERRORS:
            out, closed = exchange_and_close(port, req)
            assert out == expected and closed, "redis-server answers %r with %r" % (req[:40], out[:200])
    finally:
        stop_pid(proc)
    proc, port = redis_reference(tmp_path, "--requirepass", "s3cret")
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline
                time.sleep(0.05)
        for req, expected in PREAUTH_ERRORS:
            out, closed = exchange_and_close(port, req)
            assert out == expected and closed, "redis-server answers %r with %r" % (req[:40], out[:200])
    finally:
        stop_pid(proc)


def test_huge_bulk_claim_is_not_allocated(fc_plain):
    """A legal 500 MB bulk length claim followed by a few bytes must not make the server allocate it;
    the 1 GB claim is refused outright (invalid bulk length, > 512 MB)."""
    base = rss_kb(fc_plain.pid)
    socks = []
    for _ in range(4):
        s = connect(fc_plain.port)
        s.sendall(b"*1\r\n$500000000\r\n" + b"x" * 100000)
        socks.append(s)
    time.sleep(1.0)
    grown = rss_kb(fc_plain.pid) - base
    with connect(fc_plain.port) as w:
        w.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert read_reply(w) == b"+PONG\r\n"
    for s in socks:
        s.close()
    assert grown < 64 * 1024, "RSS grew by %d kB for 4 clients claiming 500 MB bulks" % grown
    out, closed = exchange_and_close(fc_plain.port, b"*1\r\n$1000000000\r\n" + b"x" * 1000)
    assert out == b"-ERR Protocol error: invalid bulk length\r\n" and closed
    assert rss_kb(fc_plain.pid) - base < 64 * 1024


def test_100k_arguments(fc_plain):
    """*100000 with 100 000 arguments is answered (MGET: 100 000 nils), then the connection still works."""
    n = 100000
    req = b"*%d\r\n$4\r\nMGET\r\n" % (n + 1) + b"".join(b"$6\r\nk%05d\r\n" % i for i in range(n))
    with connect(fc_plain.port, timeout=30) as s:
        s.sendall(req)
        reply = read_reply(s, timeout=60)
        assert reply == b"*%d\r\n" % n + b"$-1\r\n" * n
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert read_reply(s) == b"+PONG\r\n"
    # Same count, one byte each, to a command of fixed arity: an arity error, not a crash.
    req = b"*%d\r\n$4\r\nPING\r\n" % (n + 1) + b"$1\r\na\r\n" * n
    with connect(fc_plain.port, timeout=30) as s:
        s.sendall(req)
        assert read_reply(s, timeout=60) == b"-ERR wrong number of arguments for 'ping' command\r\n"


def test_pathological_glob(procs):
    """KEYS / SCAN MATCH / PSUBSCRIBE with a*a*a*...b patterns on long names answer promptly."""
    p = Proc("--bind", "127.0.0.1", "--pcap", DEMO_PCAP, "--pcap-end", "keep", *NO_EXPIRY)
    procs.append(p)
    wait_done(p.port)
    c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=30)
    nkeys = c.dbsize()
    assert nkeys > 100
    patterns = ["*" + "a*" * 60 + "b", "*?" * 80 + "Z", "f*l*o*w*." * 20 + "Q", "[a-z]*" * 50 + "!"]
    for pat in patterns:
        t = time.monotonic()
        assert c.keys(pat) == []
        cur, got = 0, []
        while True:
            cur, page = c.scan(cur, match=pat, count=1000)
            got += page
            if cur == 0:
                break
        assert got == []
        took = time.monotonic() - t
        assert took < 5.0, "pattern %r over %d keys took %.1f s" % (pat[:30], nkeys, took)
    # Channels are client-chosen: a long channel name against a psubscribed pattern.
    ps = c.pubsub()
    ps.psubscribe("a*" * 60 + "b")
    pub = redis.Redis(port=p.port, socket_timeout=30)
    t = time.monotonic()
    for _ in range(20):
        assert pub.publish("a" * 50000, "x") == 0
    assert pub.execute_command("PUBSUB", "NUMPAT") == 1
    assert time.monotonic() - t < 5.0
    ps.close()


# ---------------------------------------------------------------- configuration

def directive_list():
    """Every directive with its current value, from CONFIG GET * of a running flowcached."""
    p = Proc("--bind", "127.0.0.1")
    try:
        c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=10)
        return c.config_get("*")
    finally:
        p.cleanup()


def wrong_value(name, value):
    if name in ("requirepass", "cloud-password", "bind", "interface", "pcap", "cloud", "export"):
        return None
    if value in ("yes", "no"):
        return "maybe"
    if value in ("keep", "expire", "exit"):
        return "sideways"
    if re.fullmatch(r"[0-9.]+", value or "x"):
        return "lots"
    return None


def run_config(exe, path, timeout=20):
    try:
        return subprocess.run([str(exe), str(path), "--port", str(free_port())], capture_output=True, text=True,
                              timeout=timeout)
    except subprocess.TimeoutExpired:
        pytest.fail("flowcached kept running with the bad config %s:\n%s" % (path, open(path).read()))


def test_every_directive_wrong(tmp_path):
    """For every directive: a missing value, and a value of the wrong type, each on line 3 of a config file:
    exit status 1, one error naming file:3 and the directive, no sanitizer report."""
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built")
    directives = directive_list()
    assert len(directives) >= 25, directives
    cases = []
    for name, value in sorted(directives.items()):
        cases.append((name, "%s" % name))
        wv = wrong_value(name, value)
        if wv:
            cases.append((name, "%s %s" % (name, wv)))
        if name not in ("bind", "interface", "pcap", "cloud", "export"):
            cases.append((name, "%s one two" % name))
    failures = []
    for i, (name, line) in enumerate(cases):
        conf = tmp_path / ("bad%d.conf" % i)
        conf.write_text("# every directive wrong, one at a time\nport 0\n%s\nmaxclients 10\n" % line)
        r = run_config(exe, conf)
        err = r.stderr
        if r.returncode != 1 or not re.search(r"%s:3: .*%s" % (re.escape(str(conf)), re.escape(name)), err) \
                or sanitizer_report(err):
            failures.append("%r -> exit %d: %s" % (line, r.returncode, err.strip()[:300]))
    assert not failures, "%d of %d bad lines not reported well:\n%s" % (len(failures), len(cases), "\n".join(failures))


@pytest.mark.parametrize("line,needle", [
    ("pcap /nonexistent/x.pcap", "/nonexistent/x.pcap"),
    ("interface fc-no-such-if0", "fc-no-such-if0"),
    ("watchlist {bad}", "not an IP address"),   # a missing watchlist file is an empty list, by design
    ("bind 203.0.113.254", "203.0.113.254"),
    ("bind not-an-address", "not-an-address"),
    ("bpf \"this is not bpf\"", "bpf"),
    ("maxmemory 1e30gb", "maxmemory"),
    ("pcap-speed nan", "pcap-speed"),
    ('bpf "unbalanced', ":3:"),
])
def test_semantically_wrong_values(tmp_path, line, needle):
    """Values that parse but cannot be used (or parse only to UB, fixed): exit 1 and a message naming them."""
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built")
    conf = tmp_path / "bad.conf"
    extra = "pcap %s\n" % DEMO_PCAP if line.startswith("bpf ") else ""
    if "{bad}" in line:
        bad = tmp_path / "watch.txt"
        bad.write_text("10.0.0.1\n# ok\n10.0.0.0/8\nnot-an-ip\n")
        line = line.replace("{bad}", str(bad))
    conf.write_text("# semantically wrong\nport 0\n%s\n%s" % (line, extra))
    r = run_config(exe, conf)
    out = r.stderr + r.stdout       # a config error on stderr; what fails once the log is open, in the log (stdout)
    assert r.returncode == 1, "exit %d:\n%s" % (r.returncode, out)
    assert needle in out, out
    assert not sanitizer_report(out), out


def test_bad_argv(tmp_path):
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built")
    for argv, needle in ([["--port"], "port"], [["--port", "1", "stray"], "port"], [["--"], "--"],
                         [["--no-such", "1"], "no-such"], [["--maxclients", "-1"], "maxclients"]):
        r = subprocess.run([str(exe)] + argv, capture_output=True, text=True, timeout=20)
        assert r.returncode == 1 and needle in r.stderr and not sanitizer_report(r.stderr), (argv, r.returncode, r.stderr)
