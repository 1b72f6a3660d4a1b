"""test_live.py - live capture on loopback with real daemons (dnsmasq, nginx, radclient), inside a network namespace
made for the test (its own lo, so ports 53/80/1813 are free and nothing else is captured). Needs root, iproute2, the
daemons of tools/deps.sh; skipped otherwise."""
import json
import os
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import flowcached_binary, free_port, stop_pid
from liveutil import run_in_netns

HERE = os.path.dirname(os.path.abspath(__file__))
NEEDED = ("ip", "dnsmasq", "nginx", "curl", "radclient")


# Every way a live device hands packets over: at once (the default) through flowcached's own packet ring or through
# libpcap (capture-reader; here also without capture-coalesce-us pauses), and in TPACKET_V3 blocks (capture-batch-ms) from a smaller ring than the default; each
# must count exactly what was sent. (A V3 block is 256 KB and is handed
# over after capture-batch-ms even when nearly empty: 32 MB = 128 blocks = ~0.6 s of slack at 5 ms; 4 MB once lost
# packets under the thread sanitizer on the loaded machine.)
# threads2: the reader fans lo's packets out to two workers (capture/source/fanout.c), whose expiry waits for each other.
MODES = {"immediate": [], "libpcap": ["--capture-reader", "libpcap", "--capture-coalesce-us", "0"], "batch5": ["--capture-batch-ms", "5", "--capture-buffer", "32mb"],
         "threads2": ["--capture-threads", "2"]}


@pytest.fixture(scope="module", params=sorted(MODES))
def live(request):
    if os.geteuid() != 0:
        pytest.skip("live capture needs root")
    missing = [t for t in NEEDED if not shutil.which(t)]
    if missing:
        pytest.skip("missing %s (tools/deps.sh)" % missing)
    res = run_in_netns("fctest-", os.path.join(HERE, "live_driver.py"), "LIVE-RESULT ",
                       {"LIVE_FC_ARGS": json.dumps(MODES[request.param])})
    if res is None:
        pytest.skip("cannot create a network namespace")
    if "capture on lo" in res.get("flowcached_log", "") and not res.get("dns_sent"):
        pytest.skip("capture on lo failed")
    return res


def test_live_dns_every_query_counted(live):
    sent = live["dns_sent"]
    assert sent > 0
    assert int(live["dns_hash"].get("queries", 0)) == sent, live
    assert int(live["dns_hash"].get("responses", 0)) == live["dns_completed"], live
    assert int(live["dns_hash"].get("rcode.NOERROR", 0)) == live["dns_completed"]
    print("live DNS: %s sent %d in %.2f s (%.0f q/s)" % (live["dns_tool"], sent, live["dns_seconds"],
                                                         sent / max(live["dns_seconds"], 1e-3)))


def test_live_no_sanitizer_report(live):
    assert not live["sanitizer"], live["flowcached_log"]


def test_live_dns_events(live):
    assert live["dns_events"] == live["dns_sent"], live


def test_live_http(live):
    assert int(live["http_hash"].get("requests", 0)) == 20, live
    assert int(live["http_hash"].get("status.2xx", 0)) == 20, live
    assert live["http_events"] == 20


def test_live_radius(live):
    assert live["ipuser"] == "alice", live
    assert live["user"].get("ip") == "10.99.0.7" and "logout" not in live["user"]
    assert [e["user"] for e in live["user_login_events"]] == ["alice"]


def test_capture_directives_bounds():
    """capture-buffer below 1 MB or above 2 GB, capture-batch-ms outside 0..1000, capture-coalesce-us outside
    0..100000 and an unknown capture-reader stop start-up with status 1 and a message naming the directive;
    in-range values start."""
    fc = flowcached_binary()
    for args in (["--capture-buffer", "100"], ["--capture-buffer", "3gb"], ["--capture-buffer", "-1mb"],
                 ["--capture-batch-ms", "-1"], ["--capture-batch-ms", "1001"], ["--capture-batch-ms", "x"],
                 ["--capture-realtime", "maybe"], ["--capture-coalesce-us", "-1"],
                 ["--capture-coalesce-us", "100001"], ["--capture-reader", "pfring"]):
        p = subprocess.run([str(fc), "--port", "0"] + args, capture_output=True, text=True, timeout=20)
        assert p.returncode == 1 and args[0][2:] in p.stderr, (args, p.returncode, p.stderr)
    p = subprocess.run([str(fc), "--port", "0", "--pcap", "/nonexistent.pcap", "--capture-buffer", "16mb",
                        "--capture-batch-ms", "1000"], capture_output=True, text=True, timeout=20)
    out = p.stdout + p.stderr            # a file that cannot be opened is logged (stdout), as redis-server's errors
    assert p.returncode == 1 and "nonexistent" in out and "capture-" not in out, out


def _thread_policies(pid):
    out = {}
    for t in os.listdir("/proc/%d/task" % pid):
        try:
            out[int(t)] = os.sched_getscheduler(int(t))
        except OSError:
            pass
    return out


def _start_on_lo(extra):
    """flowcached on the host's lo, filtered to a port nothing uses (no packet is captured); returns (proc, log)."""
    fc = flowcached_binary()
    log = tempfile.NamedTemporaryFile(prefix="fc-rt-", suffix=".log", delete=False)
    p = subprocess.Popen([str(fc), "--interface", "lo", "--bpf", "udp port 9 and host 127.0.0.254", "--port",
                          str(free_port())] + extra, stdout=log, stderr=subprocess.STDOUT)
    return p, log.name


def _wait_ready(p, logname, timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        text = open(logname).read()
        if "ready" in text:
            return text
        assert p.poll() is None, text
        time.sleep(0.05)
    raise AssertionError("not ready: " + open(logname).read())


def test_capture_realtime():
    """capture-realtime yes: the live reader thread runs at SCHED_FIFO, the other threads keep the normal policy;
    without it no thread is SCHED_FIFO; with root dropped (`user nobody`) the thread cannot get it and flowcached
    says so and keeps capturing."""
    if os.geteuid() != 0:
        pytest.skip("live capture needs root")
    for extra, want_fifo in (([], 0), (["--capture-realtime", "yes"], 1)):
        p, logname = _start_on_lo(extra)
        try:
            _wait_ready(p, logname)
            time.sleep(0.3)
            pol = _thread_policies(p.pid)
            fifo = [t for t, v in pol.items() if v == os.SCHED_FIFO]
            assert len(fifo) == want_fifo, (extra, pol)
            assert pol[p.pid] == os.SCHED_OTHER, pol          # the event loop stays ordinary
        finally:
            stop_pid(p)
            os.unlink(logname)
    p, logname = _start_on_lo(["--capture-realtime", "yes", "--user", "nobody"])
    try:
        _wait_ready(p, logname)
        end = time.time() + 5
        while "SCHED_FIFO refused" not in open(logname).read() and time.time() < end:
            time.sleep(0.05)
        text = open(logname).read()
        assert "capture-realtime: SCHED_FIFO refused" in text, text
        assert p.poll() is None and os.SCHED_FIFO not in _thread_policies(p.pid).values()
    finally:
        stop_pid(p)
        os.unlink(logname)
