"""test_reliability_load.py - load (issue 7): 1 000 concurrent clients and maxclients, slow readers, clients that
disconnect mid-reply, subscribers that never read; capture keeps its rate throughout (replay at --pcap-speed 1).
"""
import os
import resource
import selectors
import socket
import struct
import threading
import time

import pytest
import redis

from conftest import DEMO_PCAP, sanitizer_report
from test_reliability_util import Proc, connect, is_closed, read_reply, resp_command, rss_kb, sanitized, tsan

REPLAY = ["--pcap", DEMO_PCAP, "--pcap-speed", "1", "--pcap-loop", "yes"]
FIGURES = {}   # printed at the end of each test (pytest -s shows them; RELIABILITY.md records a run)


def raise_nofile(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (min(n, hard) if hard != resource.RLIM_INFINITY else n, hard))
        except (ValueError, OSError):
            pass
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


@pytest.fixture
def replay_fc():
    procs = []

    def start(*extra):
        p = Proc("--bind", "127.0.0.1", *REPLAY, *extra)
        procs.append(p)
        return p

    yield start
    problems = []
    for p in procs:
        rc = p.stop()
        text = p.output()
        if sanitizer_report(text):
            problems.append("sanitizer report:\n" + text[-6000:])
        elif rc not in (0, -15):
            problems.append("exit %s:\n%s" % (rc, text[-3000:]))
        os.unlink(p.log)
    assert not problems, "\n".join(problems)


class CaptureWatch:
    """Samples INFO in a thread: capture_packets must keep increasing, capture_drops stay 0 and the cache
    clock (wall-mapped at pcap-speed 1) stay within max_lag seconds of the wall clock. max_lag None
    asserts no wall-clock speed (neither the lag nor the 5 s stall window), only that capture went on
    without drops; the lag is still reported."""

    def __init__(self, port, max_lag=3.0):
        self.c = redis.Redis(port=port, decode_responses=True, socket_timeout=30)
        self.samples = []
        self.stop_ev = threading.Event()
        self.max_lag = max_lag
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop_ev.is_set():
            t0 = time.time()
            try:
                info = self.c.info("capture")
            except redis.exceptions.RedisError as e:
                self.samples.append((t0, None, None, None, str(e)))
                break
            lat = time.time() - t0
            self.samples.append((t0, int(info["capture_packets"]), int(info["capture_drops"]),
                                 float(info["capture_clock"]), lat))
            self.stop_ev.wait(0.5)

    def finish(self, min_seconds=5.0):
        while self.samples and self.samples[-1][0] - self.samples[0][0] < min_seconds and self.t.is_alive():
            time.sleep(0.2)
        self.stop_ev.set()
        self.t.join(30)
        good = [s for s in self.samples if s[1] is not None]
        assert len(good) == len(self.samples), "INFO failed during the load: %r" % self.samples[-1:]
        assert len(good) >= 4, "too few INFO samples: %r" % good
        pk = [s[1] for s in good]
        assert pk[-1] > pk[0], "capture_packets did not increase: %r" % pk
        # no window of 5 s without new packets (the demo has at most ~2 s of silence)
        last_change = good[0][0]
        for prev, cur in zip(good, good[1:]):
            if cur[1] > prev[1]:
                last_change = cur[0]
            assert self.max_lag is None or cur[0] - last_change < 5.0, \
                "capture stalled: %r" % [(s[0], s[1]) for s in good]
        assert all(s[2] == 0 for s in good), "capture_drops: %r" % [s[2] for s in good]
        # the cache clock starts at the first packet: a sample taken before it (a busy machine) reads 0
        started = [s for s in good if s[1] > 0]
        assert started, "no packet read: %r" % good
        lag = max(s[0] - s[3] for s in started)
        assert self.max_lag is None or lag < self.max_lag, "the cache clock lagged the wall clock by %.1f s" % lag
        return {"capture_packets_gained": pk[-1] - pk[0], "seconds": round(good[-1][0] - good[0][0], 1),
                "max_clock_lag_s": round(lag, 2), "max_info_latency_s": round(max(s[4] for s in good), 3)}


def ping_all(socks, timeout=60.0):
    """Send PING on every socket, then wait for +PONG on each (one selector, no thread per client)."""
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(True)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ, bytearray())
    done, deadline = 0, time.monotonic() + timeout
    while done < len(socks) and time.monotonic() < deadline:
        for key, _ in sel.select(0.5):
            try:
                chunk = key.fileobj.recv(64)
            except BlockingIOError:
                continue
            assert chunk, "a client was closed instead of answered"
            key.data.extend(chunk)
            if key.data.endswith(b"\r\n"):
                assert bytes(key.data) == b"+PONG\r\n", bytes(key.data)
                sel.unregister(key.fileobj)
                done += 1
    sel.close()
    for s in socks:
        s.setblocking(True)
    return done


def test_1000_clients_and_maxclients(replay_fc):
    """1 000 clients at once: with --maxclients 900, 900 are answered and the 100 extra get Redis's error and
    are closed; a freed slot is usable again; capture keeps its rate meanwhile."""
    n = 1000
    if raise_nofile(4 * n) < 2 * n + 100:
        pytest.skip("cannot raise RLIMIT_NOFILE")
    p = replay_fc("--maxclients", "900")
    watch = CaptureWatch(p.port)
    # The INFO sampler holds one connection: 899 more fit.
    held = []
    try:
        for _ in range(899):
            held.append(connect(p.port, timeout=30))
        assert ping_all(held) == 899
        refused = 0
        extra = []
        for _ in range(n - 899):
            s = connect(p.port, timeout=30)
            extra.append(s)
        for s in extra:
            s.settimeout(10)
            data = b""
            try:
                while not data.endswith(b"\r\n"):
                    chunk = s.recv(256)
                    if not chunk:
                        break
                    data += chunk
            except socket.timeout:
                pass
            assert data == b"-ERR max number of clients reached\r\n", data
            assert is_closed(s)
            refused += 1
        for s in extra:
            s.close()
        held[0].close()
        held.pop(0)
        time.sleep(0.3)
        s = connect(p.port)
        held.append(s)
        s.sendall(b"*1\r\n$4\r\nPING\r\n")
        assert read_reply(s) == b"+PONG\r\n"
        # Every held client still works
        assert ping_all(held) == len(held)
        info = redis.Redis(port=p.port, socket_timeout=30).info()   # one more: refused? no, 899 + watch = 900
    except redis.exceptions.ConnectionError as e:
        info = {"error": str(e)}
    finally:
        for s in held:
            s.close()
    fig = watch.finish()
    fig.update(clients_held=900, refused=refused, rss_kb=rss_kb(p.pid))
    FIGURES["maxclients"] = fig
    print("\n1000-client figures:", fig)


def test_1000_concurrent_clients_answered(replay_fc):
    """Without a low maxclients, 1 000 concurrent clients are all answered, twice."""
    n = 1000
    if raise_nofile(4 * n) < 2 * n + 100:
        pytest.skip("cannot raise RLIMIT_NOFILE")
    p = replay_fc()
    base = rss_kb(p.pid)
    socks = [connect(p.port, timeout=30) for _ in range(n)]
    try:
        t = time.monotonic()
        assert ping_all(socks) == n
        assert ping_all(socks) == n
        took = time.monotonic() - t
        c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=30)
        assert int(c.info("clients")["connected_clients"]) >= n
    finally:
        for s in socks:
            s.close()
    FIGURES["1000_clients"] = {"clients": n, "two_ping_rounds_s": round(took, 2),
                               "rss_growth_kb": rss_kb(p.pid) - base}
    print("\n1000 concurrent clients:", FIGURES["1000_clients"])


def test_slow_reader_and_mid_reply_disconnects(replay_fc):
    """A client pipelining KEYS * without ever reading, and clients that vanish in the middle of a reply
    (RST), do not stop other clients being answered nor capture; RSS stays bounded."""
    p = replay_fc()
    time.sleep(3)                                # some keys in the cache
    c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=30)
    assert c.dbsize() > 10
    base = rss_kb(p.pid)
    watch = CaptureWatch(p.port)
    slow = connect(p.port)
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow.setblocking(False)
    req = resp_command("KEYS", "*") * 100
    sent, deadline, worst = 0, time.monotonic() + 8, 0.0
    while time.monotonic() < deadline and sent < 200 * 1024 * 1024:
        try:
            sent += slow.send(req)
        except BlockingIOError:
            time.sleep(0.05)             # the server stopped reading us, or the kernel buffers are full
        # meanwhile another client is answered promptly (one loop thread: a read batch of pipelined KEYS
        # is served before it; sanitizer builds are 5-15x slower)
        t = time.monotonic()
        assert c.ping()
        lat = time.monotonic() - t
        worst = max(worst, lat)
        # Measured 0.4-3.3 s plain: the loop runs a whole 64 KB read batch (~4 600 KEYS *) of one client
        # before the next (RELIABILITY.md); the bound only asserts that others are still answered.
        assert lat < (60.0 if sanitized() else 10.0), "PING waited %.1f s behind a pipelining client" % lat
    peak = rss_kb(p.pid) - base
    # clients that disconnect mid-reply (RST after reading a few bytes)
    for i in range(200):
        s = connect(p.port)
        s.sendall(resp_command("KEYS", "*") + resp_command("INFO") + resp_command("CLIENT", "LIST"))
        s.recv(10)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    slow.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    slow.close()
    assert c.ping()
    fig = watch.finish()
    limit = 512 * 1024 if sanitized() else 256 * 1024
    assert peak < limit, "RSS grew by %d kB while a client pipelined KEYS * without reading" % peak
    fig.update(slow_reader_bytes_sent=sent, rss_growth_kb=peak, max_ping_latency_s=round(worst, 2))
    FIGURES["slow_reader"] = fig
    print("\nslow reader:", fig)


def test_subscriber_that_never_reads(replay_fc):
    """A subscriber that never reads is disconnected at the output limit (32 MB hard), counted in INFO
    pubsub_clients_dropped; other clients and capture are unaffected; RSS stays bounded. Capture
    "unaffected" is what the product promises: packets still counted, none dropped; not how fast the
    cache clock follows the wall clock, which a loaded machine slows (issue 19 item 8)."""
    p = replay_fc()
    c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=60)
    base = rss_kb(p.pid)
    watch = CaptureWatch(p.port, max_lag=None)
    sub = connect(p.port)
    sub.sendall(resp_command("SUBSCRIBE", "big", "flow.new"))
    assert read_reply(sub).startswith(b"*3\r\n$9\r\nsubscribe")
    sub2 = connect(p.port)                       # a psubscriber that never reads either
    sub2.sendall(resp_command("PSUBSCRIBE", "b*"))
    assert read_reply(sub2).startswith(b"*3\r\n$10\r\npsubscribe")
    before = int(c.info("stats")["pubsub_clients_dropped"])
    msg = "x" * (1 << 20)
    published, receivers, peak = 0, 2, 0
    while receivers > 0 and published < 200:     # at most 200 MB offered
        receivers = c.publish("big", msg)
        published += 1
        peak = max(peak, rss_kb(p.pid) - base)
    assert receivers == 0, "the subscribers were still served after %d MB" % published
    dropped = int(c.info("stats")["pubsub_clients_dropped"]) - before
    assert dropped == 2, dropped
    assert is_closed(sub, 20) and is_closed(sub2, 20)
    sub.close()
    sub2.close()
    # a subscriber that reads keeps receiving
    ps = c.pubsub()
    ps.subscribe("big")
    ps.get_message(timeout=5)
    assert c.publish("big", "hello") == 1
    m = ps.get_message(timeout=10)
    assert m and m["data"] == "hello"
    ps.close()
    fig = watch.finish()
    assert published <= 2 * 32 + 8, "dropped only after %d MB" % published
    limit = 3 * 64 * 1024 if not sanitized() else 6 * 64 * 1024
    assert peak < limit, "RSS grew by %d kB" % peak
    fig.update(mb_published_until_drop=published, rss_growth_kb=peak, clients_dropped=dropped)
    FIGURES["subscriber"] = fig
    print("\nsubscriber that never reads:", fig)


def test_slow_reader_memory_is_bounded(tmp_path):
    """40 000 keys in the cache; one client sends KEYS * 500 times (10 KB of requests) and never reads.
    Wanted: the server's RSS does not grow by more than 256 MB (it should stop reading or drop the client)."""
    from test_reliability_util import eth_ipv4, tcp_segment, write_pcap
    pcap = tmp_path / "many.pcap"
    write_pcap(pcap, ((1700000000 + i * 0.001, eth_ipv4(bytes([10, 50, i // 250, 1 + i % 250]), bytes([192, 0, 2, 1]), 6,
                                                          tcp_segment(1000 + i, 80, 2))) for i in range(20000)))
    p = Proc("--bind", "127.0.0.1", "--pcap", pcap, "--pcap-end", "keep", "--flow-idle-timeout", "86400",
             "--host-idle-timeout", "86400")
    try:
        c = redis.Redis(port=p.port, socket_timeout=60)
        deadline = time.monotonic() + 60
        while int(c.info("capture")["capture_sources_active"]) != 0:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        base = rss_kb(p.pid)
        s = connect(p.port)
        s.setblocking(False)
        req = resp_command("KEYS", "*") * 10
        sent, peak, t = 0, 0, time.monotonic()
        while time.monotonic() - t < 10 and sent < 50 * len(req):
            try:
                sent += s.send(req)
            except BlockingIOError:
                time.sleep(0.05)
            assert c.ping()
            peak = max(peak, rss_kb(p.pid) - base)
            if peak > 256 * 1024:
                break
        out = int(c.info("clients")["client_recent_max_output_buffer"])
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
        print("\nslow reader on 40k keys: %d bytes of KEYS * sent, RSS +%d kB, output buffer %d bytes" % (sent, peak, out))
        assert peak < 256 * 1024, "RSS grew by %d MB (client output buffer %d MB)" % (peak // 1024, out >> 20)
    finally:
        p.cleanup()
