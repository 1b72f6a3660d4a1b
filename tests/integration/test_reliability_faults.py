"""test_reliability_faults.py - faults (issue 7): SIGHUP watchlist reload, SIGTERM while busy (exit 0, no sanitizer
report), valgrind on a short pcap run (no leak "definitely lost"), a live interface going down, deleted and
re-created inside a private network namespace (the probe logs and reopens with backoff).
"""
import os
import re
import shutil
import signal
import subprocess
import time
import uuid

import pytest
import redis

from conftest import DEMO_PCAP, ROOT, flowcached_binary, free_port, sanitizer_report, stop_pid
from test_reliability_util import Proc, connect, read_reply, resp_command, sanitized


def wait_log(p, pattern, timeout=15.0, start=0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        m = re.search(pattern, p.output()[start:])
        if m:
            return m
        time.sleep(0.1)
    raise AssertionError("no %r in the log:\n%s" % (pattern, p.output()[-3000:]))


def test_sighup_reloads_watchlist(tmp_path):
    wl = tmp_path / "watch.txt"
    wl.write_text("10.1.0.5\n")
    p = Proc("--bind", "127.0.0.1", "--watchlist", wl, "--pcap", DEMO_PCAP, "--pcap-speed", "1", "--pcap-loop", "yes")
    try:
        c = p.client()
        assert c.smembers("watchlist") == {"10.1.0.5"}
        wl.write_text("# reloaded\n192.0.2.53\n10.2.0.0/16\n")
        mark = len(p.output())
        os.kill(p.pid, signal.SIGHUP)
        wait_log(p, r"SIGHUP: watchlist reloaded, 2 entries", start=mark)
        assert c.smembers("watchlist") == {"192.0.2.53", "10.2.0.0/16"}
        # a broken file: the previous list stays, the probe goes on
        wl.write_text("192.0.2.53\nnot-an-address\n")
        mark = len(p.output())
        os.kill(p.pid, signal.SIGHUP)
        wait_log(p, r"SIGHUP: .*not-an-address.*previous watchlist stays", start=mark)
        assert c.smembers("watchlist") == {"192.0.2.53", "10.2.0.0/16"}
        # many SIGHUPs in a row while clients read
        wl.write_text("10.1.0.5\n")
        for _ in range(50):
            os.kill(p.pid, signal.SIGHUP)
            assert c.ping()
        time.sleep(0.5)
        assert c.smembers("watchlist") == {"10.1.0.5"}
        assert p.proc.poll() is None
    finally:
        rc = p.stop()
    p.assert_clean()
    assert rc == 0, rc
    os.unlink(p.log)


def test_sigterm_graceful_under_load():
    """SIGTERM while capture replays, a subscriber is attached, a pipelined client is mid-request and another
    holds a half-sent command: exit status 0 within 10 s, no sanitizer report, the log says why."""
    p = Proc("--bind", "127.0.0.1", "--pcap", DEMO_PCAP, "--pcap-speed", "0", "--pcap-loop", "yes")
    try:
        sub = connect(p.port)
        sub.sendall(resp_command("SUBSCRIBE", "flow.new", "flow.end"))
        read_reply(sub)
        busy = connect(p.port)
        busy.sendall(resp_command("KEYS", "*") * 50)
        half = connect(p.port)
        half.sendall(b"*3\r\n$4\r\nHGET\r\n$5\r\nip.10")
        time.sleep(1.0)
        t = time.monotonic()
        os.kill(p.pid, signal.SIGTERM)
        rc = p.proc.wait(timeout=10 if not sanitized() else 30)
        took = time.monotonic() - t
        for s in (sub, busy, half):
            s.close()
    finally:
        p.stop()
    out = p.output()
    assert rc == 0, "exit %d:\n%s" % (rc, out[-3000:])
    assert "received SIGTERM" in out, out[-2000:]
    assert not sanitizer_report(out), out[-6000:]
    print("\nSIGTERM under load: exit 0 after %.2f s" % took)
    os.unlink(p.log)


def test_sigint_and_repeated_sigterm():
    p = Proc("--bind", "127.0.0.1", "--pcap", DEMO_PCAP, "--pcap-speed", "1", "--pcap-loop", "yes")
    os.kill(p.pid, signal.SIGINT)
    os.kill(p.pid, signal.SIGTERM)
    os.kill(p.pid, signal.SIGTERM)
    try:
        rc = p.proc.wait(timeout=30)
    finally:
        p.stop()
    assert rc == 0, rc
    p.assert_clean()
    os.unlink(p.log)


def plain_binary():
    """valgrind needs an uninstrumented binary: build/plain/flowcached (or FLOWCACHED when it is plain)."""
    b = flowcached_binary()
    if not sanitized() and b.exists():
        return b
    b = ROOT / "build" / "plain" / "flowcached"
    return b if b.exists() else None


def test_valgrind_short_pcap_run(tmp_path):
    vg = shutil.which("valgrind")
    if not vg:
        pytest.skip("valgrind not installed (tools/deps.sh installs it)")
    exe = plain_binary()
    if exe is None:
        pytest.skip("no plain (uninstrumented) build for valgrind")
    log = tmp_path / "vg.log"
    cmd = [vg, "--leak-check=full", "--error-exitcode=1", "--log-file=%s" % log, str(exe), "--port", str(free_port()),
           "--bind", "127.0.0.1", "--pcap", str(DEMO_PCAP), "--pcap-end", "exit"]
    try:
        r = subprocess.run(cmd, cwd=str(ROOT), capture_output=True, text=True, timeout=600)
    except subprocess.TimeoutExpired:
        pytest.fail("valgrind run did not finish in 10 minutes")
    text = log.read_text()
    summary = {}
    for kind in ("definitely lost", "indirectly lost", "possibly lost", "still reachable"):
        m = re.search(r"%s: ([\d,]+) bytes in ([\d,]+) blocks" % kind, text)
        summary[kind] = int(m.group(1).replace(",", "")) if m else 0
    errors = re.search(r"ERROR SUMMARY: (\d+) errors", text)
    print("\nvalgrind:", summary, errors.group(0) if errors else "")
    assert summary["definitely lost"] == 0 and summary["indirectly lost"] == 0, text[-8000:]
    assert errors and errors.group(1) == "0", text[-8000:]
    assert r.returncode == 0, "exit %d:\n%s\n%s" % (r.returncode, r.stderr[-2000:], text[-4000:])


# ---------------------------------------------------------------- live interface in a private namespace

def netns_available():
    if os.geteuid() != 0 or not shutil.which("ip"):
        return False
    name = "fc-probe-%d" % os.getpid()
    r = subprocess.run(["ip", "netns", "add", name], capture_output=True)
    if r.returncode != 0:
        return False
    subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return True


def nsrun(ns, *cmd, check=True, timeout=20):
    return subprocess.run(["ip", "netns", "exec", ns] + [str(c) for c in cmd], capture_output=True, text=True,
                          check=check, timeout=timeout)


def ns_send_udp(ns, dst, count):
    code = ("import socket,sys\ns=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
            "for i in range(%d):\n    s.sendto(b'x'*100,('%s',5000+i%%10))\n" % (count, dst))
    nsrun(ns, "/usr/bin/python3", "-c", code)


def ns_info(ns, port):
    r = nsrun(ns, "redis-cli", "-p", port, "INFO", "capture", check=False)
    if r.returncode != 0 or "capture_packets" not in r.stdout:
        return None
    return {k: v for k, _, v in (l.strip().partition(":") for l in r.stdout.splitlines()) if v}


@pytest.fixture
def netns():
    if not netns_available():
        pytest.skip("needs root and network namespaces")
    if not shutil.which("redis-cli"):
        pytest.skip("redis-cli not installed")
    name = "fc-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        nsrun(name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def make_dummy(ns, dev):
    """A veth pair (dev, dev + "p") inside ns (no dummy module needed); 10.99.0.1/24 on dev and a static
    neighbour 10.99.0.2, so UDP sent to 10.99.0.2 leaves through dev as IP frames that pcap sees."""
    r = nsrun(ns, "ip", "link", "add", dev, "type", "dummy", check=False)
    if r.returncode != 0:
        nsrun(ns, "ip", "link", "add", dev, "type", "veth", "peer", "name", dev + "p")
        nsrun(ns, "ip", "link", "set", dev + "p", "up")
    nsrun(ns, "ip", "addr", "add", "10.99.0.1/24", "dev", dev)
    nsrun(ns, "ip", "link", "set", dev, "up")
    nsrun(ns, "ip", "neigh", "replace", "10.99.0.2", "lladdr", "02:00:00:00:99:02", "dev", dev)


@pytest.mark.parametrize("threads", ["1", "2"])   # 2: one packet socket per worker (PACKET_FANOUT)
def test_interface_down_and_recreated(netns, threads):
    dev = "fcdummy0"
    make_dummy(netns, dev)
    port = free_port()
    p = Proc("--bind", "127.0.0.1", "--interface", dev, "--promisc", "no", "--capture-threads", threads,
             port=port, wait=False,
             prefix=["ip", "netns", "exec", netns])
    events = []
    try:
        deadline = time.monotonic() + 30
        while ns_info(netns, port) is None:
            assert p.proc.poll() is None, p.output()
            assert time.monotonic() < deadline, "no answer inside the namespace:\n" + p.output()
            time.sleep(0.2)

        def packets():
            i = ns_info(netns, port)
            assert i is not None, "stopped answering:\n" + p.output()[-3000:]
            return int(i["capture_packets"])

        def until_more(than, what):
            deadline = time.monotonic() + 30
            while True:
                ns_send_udp(netns, "10.99.0.2", 20)
                n = packets()
                if n > than:
                    return n
                assert time.monotonic() < deadline, "no packets captured %s:\n%s" % (what, p.output()[-3000:])
                time.sleep(0.5)

        n0 = until_more(0, "at start")
        events.append(("captured", n0))
        # 1. link down, then up again
        nsrun(netns, "ip", "link", "set", dev, "down")
        time.sleep(2)
        assert packets() >= n0
        nsrun(netns, "ip", "link", "set", dev, "up")
        nsrun(netns, "ip", "addr", "replace", "10.99.0.1/24", "dev", dev)
        nsrun(netns, "ip", "neigh", "replace", "10.99.0.2", "lladdr", "02:00:00:00:99:02", "dev", dev)
        n1 = until_more(n0, "after the link came back up")
        events.append(("link down/up, then captured", n1))
        # 2. the device disappears: logged, reopened with backoff until it is back
        mark = len(p.output())
        nsrun(netns, "ip", "link", "del", dev)
        wait_log(p, r"interface %s: .*reopening" % dev, timeout=20, start=mark)
        wait_log(p, r"retrying in 2s", timeout=20, start=mark)
        assert packets() >= n1                    # still answering while the device is gone
        make_dummy(netns, dev)
        n2 = until_more(n1, "after the device was re-created")
        events.append(("deleted/re-created, then captured", n2))
        retries = re.findall(r"retrying in (\d+)s", p.output()[mark:])
        events.append(("backoff", retries))
        assert p.proc.poll() is None
    finally:
        rc = p.stop()
    out = p.output()
    print("\ninterface faults:", events)
    assert not sanitizer_report(out), out[-6000:]
    assert rc in (0, -15), "exit %s:\n%s" % (rc, out[-3000:])
    os.unlink(p.log)
