"""test_compat_util.py - helpers shared by the test_compat_* files: a raw RESP2/RESP3 connection that keeps
each reply's exact bytes, reply normalisers, and loading a real redis-server with flowcached's keys.

It holds no tests; pytest collects it and finds none.
"""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from conftest import free_port, stop_pid, wait_ping

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts"


class Reply:
    """One parsed reply: its type byte, value (list for aggregates, bytes for strings, int...) and raw bytes."""
    __slots__ = ("t", "v", "raw", "attrs")

    def __init__(self, t, v, raw):
        self.t, self.v, self.raw = t, v, raw

    def __repr__(self):
        return "Reply(%r, %r)" % (self.t, self.raw[:200])


class Conn:
    """A raw connection that sends commands as multibulks and parses replies exactly as sent."""

    def __init__(self, port, timeout=5.0):
        self.s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""

    def close(self):
        self.s.close()

    def send(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.s.sendall(out)

    def send_raw(self, data):
        self.s.sendall(data)

    def _fill(self):
        chunk = self.s.recv(65536)
        if not chunk:
            raise ConnectionError("closed")
        self.buf += chunk

    def _line(self, pos):
        while True:
            i = self.buf.find(b"\r\n", pos)
            if i >= 0:
                return self.buf[pos:i], i + 2
            self._fill()

    def _parse(self, pos):
        while pos >= len(self.buf):
            self._fill()
        t = chr(self.buf[pos])
        line, nxt = self._line(pos + 1)
        if t in "+-":
            return Reply(t, line, None), nxt
        if t in ":":
            return Reply(t, int(line), None), nxt
        if t in ",(#":
            return Reply(t, line, None), nxt
        if t == "_":
            return Reply(t, None, None), nxt
        if t in "$=!":
            n = int(line)
            if n < 0:
                return Reply(t, None, None), nxt
            while len(self.buf) < nxt + n + 2:
                self._fill()
            return Reply(t, self.buf[nxt:nxt + n], None), nxt + n + 2
        if t in "*~>%|":
            n = int(line)
            if n < 0:
                return Reply(t, None, None), nxt
            items = []
            for _ in range(n * (2 if t in "%|" else 1)):
                r, nxt = self._parse(nxt)
                items.append(r)
            if t == "|":                       # attribute: the reply follows
                r, nxt = self._parse(nxt)
                return r, nxt
            return Reply(t, items, None), nxt
        raise ValueError("bad reply type %r in %r" % (t, self.buf[pos:pos + 50]))

    def read(self):
        r, end = self._parse(0)
        r.raw = self.buf[:end]
        self.buf = self.buf[end:]
        _fill_raw(r)
        return r

    def call(self, *args):
        self.send(*args)
        return self.read()

    def read_until_close(self, timeout=1.0):
        self.s.settimeout(timeout)
        out = self.buf
        self.buf = b""
        try:
            while True:
                chunk = self.s.recv(65536)
                if not chunk:
                    return out, True
                out += chunk
        except socket.timeout:
            return out, False


def _fill_raw(r):
    """Sub-replies get no raw bytes of their own; only the top one is compared byte for byte."""
    return r


def py(r):
    """A Reply as plain Python (bytes, int, list, dict-as-list-of-pairs)."""
    if r.t in "*~>":
        return [py(x) for x in r.v] if r.v is not None else None
    if r.t == "%":
        return [(py(r.v[i]), py(r.v[i + 1])) for i in range(0, len(r.v), 2)]
    return r.v


def shape(r):
    """The reply's type structure with scalar values replaced by their kind (for replies whose values differ)."""
    if r.t in "*~>%" and r.v is not None:
        return r.t + "[" + ",".join(shape(x) for x in r.v) + "]"
    return r.t


class RedisServer:
    """A real redis-server on a free port of 127.0.0.1 (no persistence), stopped by pid."""

    def __init__(self, *extra):
        exe = shutil.which("redis-server")
        if not exe:
            pytest.skip("redis-server not installed")
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="redis-ref-")
        self.log = os.path.join(self.dir, "redis.log")
        self.proc = subprocess.Popen([exe, "--save", "", "--appendonly", "no", "--port", str(self.port),
                                      "--bind", "127.0.0.1", "--databases", "1", "--dir", self.dir,
                                      "--logfile", self.log] + list(extra),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        try:
            wait_ping(self.port, self.proc, 15.0, self.log) if "--requirepass" not in extra else self._wait()
        except BaseException:
            self.stop()
            raise

    def _wait(self):
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                c = Conn(self.port, 1)
                c.close()
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self):
        stop_pid(self.proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def copy_keyspace(src, dst):
    """Copy every key of flowcached (redis-py client src) into a real Redis (client dst): hashes with their
    fields in the same order (small hashes keep insertion order), strings, sets; every key gets a TTL
    like flowcached's volatile keys. Returns {key: type}."""
    types = {}
    for k in src.keys("*"):
        t = src.type(k)
        types[k] = t
        if t == "hash":
            h = src.hgetall(k)
            if h:
                dst.hset(k, mapping=h)
        elif t == "string":
            v = src.get(k)
            if v is not None:
                dst.set(k, v)
        elif t == "set":
            m = src.smembers(k)
            if m:
                dst.sadd(k, *sorted(m))
        ttl = src.ttl(k)
        if ttl > 0:
            dst.expire(k, ttl + 100000)
    return types


def run(cmd, timeout=60, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


def kill_tree(proc):
    """Stop a process started with start_new_session=True, its children too (by its process group id)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
