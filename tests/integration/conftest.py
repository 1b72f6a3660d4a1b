"""conftest.py - fixtures for flowcached's integration tests: a running flowcached, a real redis-server.

Run with /usr/bin/python3 -m pytest tests/integration (Debian's redis-py 4.3 and pytest 7).
FLOWCACHED names the binary under test (default: ./flowcached at the repo root).
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import redis

ROOT = Path(__file__).resolve().parents[2]
SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
DEMO_PCAP = ROOT / "demo" / "demo.pcap"
DEMO_TRUTH = ROOT / "demo" / "demo.truth.json"
GEN_DEMO = ROOT / "tools" / "gen_demo.py"
PYTHON = "/usr/bin/python3"

needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared is not present")

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "runtime error:", "WARNING: ThreadSanitizer", "LeakSanitizer")
# Timeouts long enough that nothing expires while a test reads the cache.
NO_EXPIRY = ["--flow-idle-timeout", "86400", "--flow-lifetime-timeout", "86400", "--host-idle-timeout", "86400",
             "--tcp-close-grace-ms", "86400000"]


def free_port():
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def flowcached_binary():
    return Path(os.environ.get("FLOWCACHED", str(ROOT / "flowcached")))


def load_truth(path=DEMO_TRUTH):
    with open(path) as f:
        return json.load(f)


def wait_ping(port, proc=None, timeout=15.0, log=None):
    """Wait until PING answers on port; raise (with the log's tail) if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("exited with %s before answering PING:\n%s" % (proc.returncode, tail(log)))
        try:
            if redis.Redis(host="127.0.0.1", port=port, socket_timeout=1).ping():
                return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
            last = e
        time.sleep(0.05)
    raise RuntimeError("no PING answer on port %d within %.0f s (%s):\n%s" % (port, timeout, last, tail(log)))


def tail(path, n=4000):
    if not path:
        return ""
    try:
        return Path(path).read_text(errors="replace")[-n:]
    except OSError:
        return ""


def raw_exchange(port, data, timeout=1.0, expect=None):
    """Send raw bytes on a new connection and read until close, timeout, or len(expect) bytes came back."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(data)
        s.settimeout(timeout)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            out += chunk
            if expect is not None and len(out) >= expect:
                break
        return out


def stop_pid(proc, grace=5.0):
    """SIGTERM, then SIGKILL after grace seconds; returns the exit code."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait()
    return proc.returncode


def sanitizer_report(text):
    return [m for m in SANITIZER_MARKS if m in text]


class Flowcached:
    """One flowcached process on a free port of 127.0.0.1, its output in a temp log file."""

    def __init__(self, *args, wait=True, env=None, config=None):
        """args: --directive value overrides; config: a config file, read first (the first argument)."""
        self.binary = flowcached_binary()
        if not self.binary.exists():
            pytest.skip("flowcached binary not built: %s (make, or set FLOWCACHED)" % self.binary)
        self.port = free_port()
        self.args = [str(a) for a in args]
        fd, self.log = tempfile.mkstemp(prefix="flowcached-", suffix=".log")
        self.logf = os.fdopen(fd, "wb")
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        e.update(env or {})
        self.cmd = [str(self.binary)] + ([str(config)] if config else []) + ["--port", str(self.port), "--bind",
                                                                         "127.0.0.1"] + self.args
        self.proc = subprocess.Popen(self.cmd, cwd=str(ROOT), stdout=self.logf, stderr=subprocess.STDOUT, env=e)
        self._clients = []
        self._info_client = None
        if wait:
            try:
                wait_ping(self.port, self.proc, 15.0, self.log)
            except BaseException:
                self.stop()
                raise

    # -- access
    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 10)
        c = redis.Redis(host="127.0.0.1", port=self.port, **kw)
        self._clients.append(c)
        return c

    def raw(self, data, timeout=1.0, expect=None):
        return raw_exchange(self.port, data, timeout, expect)

    def info(self, section=None):
        if self._info_client is None:
            self._info_client = self.client()
        return self._info_client.info(section) if section else self._info_client.info()

    def wait_pcap_done(self, timeout=60.0):
        """Poll INFO until capture_sources_active:0; returns the last INFO dict."""
        deadline = time.monotonic() + timeout
        while True:
            info = self.info()
            if "capture_sources_active" not in info:
                raise AssertionError("INFO has no capture_sources_active field")
            if int(info["capture_sources_active"]) == 0:
                return info
            if self.proc.poll() is not None:
                raise RuntimeError("flowcached exited while reading pcaps:\n" + tail(self.log))
            if time.monotonic() > deadline:
                raise AssertionError("pcap not done within %.0f s: %r" % (
                    timeout, {k: v for k, v in info.items() if k.startswith("capture")}))
            time.sleep(0.1)

    def output(self):
        self.logf.flush()
        return tail(self.log, 1 << 20)

    # -- teardown
    def stop(self):
        for c in self._clients:
            try:
                c.close()
            except Exception:
                pass
        rc = stop_pid(self.proc)
        self.logf.close()
        return rc

    def check_clean(self):
        text = self.output() if not self.logf.closed else tail(self.log, 1 << 20)
        found = sanitizer_report(text)
        assert not found, "sanitizer report in flowcached output (%s):\n%s" % (found, text[-6000:])
        return text


@pytest.fixture
def flowcached():
    """Factory: flowcached(*args) starts one; all are stopped (SIGTERM, SIGKILL after 5 s) and checked at teardown."""
    started = []

    def start(*args, **kw):
        fc = Flowcached(*args, **kw)
        started.append(fc)
        return fc

    yield start
    problems = []
    for fc in started:
        rc = fc.stop()
        text = tail(fc.log, 1 << 20)
        found = sanitizer_report(text)
        if found:
            problems.append("%s: sanitizer report %s:\n%s" % (fc.cmd, found, text[-6000:]))
        elif rc is not None and rc < 0 and rc != -signal.SIGTERM:
            problems.append("%s: killed by signal %d:\n%s" % (fc.cmd, -rc, text[-4000:]))
        os.unlink(fc.log)
    assert not problems, "\n".join(problems)


@pytest.fixture(scope="module")
def demo_fc():
    """One flowcached per test module on the demo pcap, kept after the end of the file, nothing expiring."""
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", *NO_EXPIRY)
    try:
        fc.wait_pcap_done()
        yield fc
    finally:
        fc.stop()
        text = tail(fc.log, 1 << 20)
        os.unlink(fc.log)
        assert not sanitizer_report(text), text[-6000:]


@pytest.fixture
def redis_server():
    """A real redis-server on a free port (no persistence); yields a decode_responses client with .port."""
    exe = shutil.which("redis-server")
    if not exe:
        pytest.skip("redis-server not installed")
    port = free_port()
    d = tempfile.mkdtemp(prefix="redis-ref-")
    log = os.path.join(d, "redis.log")
    # --databases 1: like flowcached, only db 0 exists (SELECT 1 -> "ERR DB index is out of range").
    proc = subprocess.Popen([exe, "--save", "", "--appendonly", "no", "--port", str(port), "--bind", "127.0.0.1",
                             "--databases", "1", "--dir", d, "--logfile", log], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_ping(port, proc, 15.0, log)
        c = redis.Redis(host="127.0.0.1", port=port, decode_responses=True, socket_timeout=10)
        c.port = port
        yield c
        c.close()
    finally:
        stop_pid(proc)
        shutil.rmtree(d, ignore_errors=True)
