"""test_reliability_util.py - helpers shared by the test_reliability_*.py modules (pcap writing, RSS, raw sockets).

No tests here. Everything is loopback only, ports are picked free at run time, every process is
stopped by its pid.
"""
import os
import select
import socket
import struct
import subprocess
import tempfile
import time
import weakref

import redis

from conftest import ROOT, flowcached_binary, free_port, sanitizer_report, stop_pid, tail, wait_ping

LINKTYPE_ETHERNET = 1


def pcap_header(snaplen=65535, linktype=LINKTYPE_ETHERNET):
    return struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, snaplen, linktype)


def pcap_record(ts, frame, snaplen=65535):
    """One record; the frame is cut to snaplen (caplen < len, as a capture with a small snaplen)."""
    cap = frame[:snaplen]
    sec = int(ts)
    usec = int(round((ts - sec) * 1e6))
    if usec >= 1000000:
        sec, usec = sec + 1, usec - 1000000
    return struct.pack("<IIII", sec, usec, len(cap), len(frame)) + cap


def ip_checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return (~s) & 0xFFFF


def eth_ipv4(src, dst, proto, l4, ident=1):
    """An Ethernet + IPv4 frame around an L4 segment; src/dst are 4-byte strings."""
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), ident & 0xFFFF, 0, 64, proto, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", ip_checksum(ip)) + ip[12:]
    eth = b"\x02\x00\x00\x00\x00\x01" + b"\x02\x00\x00\x00\x00\x02" + b"\x08\x00"
    return eth + ip + l4


def tcp_segment(sport, dport, flags, seq=1, payload=b""):
    return struct.pack("!HHIIBBHHH", sport, dport, seq, 0, 5 << 4, flags, 65535, 0, 0) + payload


def udp_datagram(sport, dport, payload=b""):
    return struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload


def write_pcap(path, records, snaplen=65535, linktype=LINKTYPE_ETHERNET):
    """records: iterable of (ts, frame). Written in chunks, so big files need little memory."""
    with open(path, "wb") as f:
        f.write(pcap_header(snaplen, linktype))
        buf = []
        for ts, frame in records:
            buf.append(pcap_record(ts, frame, snaplen))
            if len(buf) >= 4096:
                f.write(b"".join(buf))
                buf = []
        f.write(b"".join(buf))
    return path


def rss_kb(pid):
    """Resident set size of pid in kB (VmRSS), or 0 when gone."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def vm_hwm_kb(pid):
    """Peak RSS of pid in kB (VmHWM)."""
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def sanitized():
    """True when the binary under test is a sanitizer build (build/address, build/thread...)."""
    return any(part in str(flowcached_binary()) for part in ("/address/", "/undefined/", "/thread/"))


def tsan():
    return "/thread/" in str(flowcached_binary())


def recv_until_closed(s, timeout=5.0, limit=1 << 20):
    """Read until the peer closes (returns (data, True)) or timeout (returns (data, False))."""
    s.settimeout(0.2)
    out = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and len(out) < limit:
        try:
            chunk = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return out, True
        if not chunk:
            return out, True
        out += chunk
    return out, False


def resp_command(*args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        if isinstance(a, str):
            a = a.encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


_pending = weakref.WeakKeyDictionary()   # socket -> bytes read past the previous reply


def read_reply(s, timeout=5.0):
    """Read one complete RESP2 reply from a blocking socket (simple parser, enough for the tests).
    Bytes past the reply are kept for the next call on the same socket."""
    s.settimeout(timeout)
    buf = _pending.pop(s, None) or bytearray()

    def need(n):
        while len(buf) < n:
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf.extend(chunk)

    def line(pos):
        while True:
            i = buf.find(b"\r\n", pos)
            if i >= 0:
                return i
            chunk = s.recv(65536)
            if not chunk:
                raise ConnectionError("closed")
            buf.extend(chunk)

    def parse(pos):
        need(pos + 1)
        end = line(pos)
        t = buf[pos:pos + 1]
        body = bytes(buf[pos + 1:end])
        nxt = end + 2
        if t in (b"+", b"-", b":"):
            return nxt
        if t == b"$":
            n = int(body)
            if n < 0:
                return nxt
            need(nxt + n + 2)
            return nxt + n + 2
        if t == b"*":
            n = int(body)
            for _ in range(max(n, 0)):
                nxt = parse(nxt)
            return nxt
        raise ValueError("unexpected reply type %r" % t)

    end = parse(0)
    if end < len(buf):
        _pending[s] = bytearray(buf[end:])
    return bytes(buf[:end])


class Proc:
    """A flowcached started with exactly the given arguments (no --bind added) on a free port."""

    def __init__(self, *args, port=None, wait=True, env=None, prefix=(), ping_host="127.0.0.1", timeout=20.0):
        binary = flowcached_binary()
        if not binary.exists():
            import pytest
            pytest.skip("flowcached binary not built: %s" % binary)
        self.port = port or free_port()
        fd, self.log = tempfile.mkstemp(prefix="flowcached-rel-", suffix=".log")
        self.logf = os.fdopen(fd, "wb")
        e = dict(os.environ)
        e.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        e.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        e.update(env or {})
        self.cmd = list(prefix) + [str(binary), "--port", str(self.port)] + [str(a) for a in args]
        self.proc = subprocess.Popen(self.cmd, cwd=str(ROOT), stdout=self.logf, stderr=subprocess.STDOUT, env=e)
        self.pid = self.proc.pid
        self.password = None
        sargs = [str(a) for a in args]
        if "--requirepass" in sargs:
            self.password = sargs[sargs.index("--requirepass") + 1]
        if wait:
            try:
                self.wait(timeout, ping_host)
            except BaseException:
                self.stop()
                raise

    def wait(self, timeout=20.0, host="127.0.0.1"):
        """Wait until PING (after AUTH when requirepass is set) answers; raise with the log if it dies."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("exited with %s before answering PING:\n%s" % (self.proc.returncode, tail(self.log)))
            try:
                if redis.Redis(host=host, port=self.port, password=self.password, socket_timeout=1).ping():
                    return
            except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError) as e:
                last = e
            time.sleep(0.05)
        raise RuntimeError("no PING answer on port %d within %.0f s (%s):\n%s" % (self.port, timeout, last, tail(self.log)))

    def client(self, **kw):
        kw.setdefault("decode_responses", True)
        kw.setdefault("socket_timeout", 10)
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, **kw)

    def info(self, section=None):
        c = self.client()
        try:
            return c.info(section) if section else c.info()
        finally:
            c.close()

    def output(self):
        if not self.logf.closed:
            self.logf.flush()
        return tail(self.log, 1 << 20)

    def stop(self, grace=10.0):
        rc = stop_pid(self.proc, grace)
        if not self.logf.closed:
            self.logf.close()
        return rc

    def cleanup(self):
        self.stop()
        text = tail(self.log, 1 << 20)
        try:
            os.unlink(self.log)
        except OSError:
            pass
        return text

    def assert_clean(self):
        text = self.output()
        found = sanitizer_report(text)
        assert not found, "sanitizer report (%s):\n%s" % (found, text[-6000:])


def connect(port, host="127.0.0.1", timeout=5.0):
    s = socket.create_connection((host, port), timeout=timeout)
    return s


def is_closed(s, timeout=3.0):
    """True when the peer closed s (EOF or reset) within timeout; pending data is discarded."""
    deadline = time.monotonic() + timeout
    # poll, not select: the 1 000-client test holds descriptors above FD_SETSIZE (1024).
    watch = select.poll()
    watch.register(s, select.POLLIN)
    s.setblocking(False)
    try:
        while time.monotonic() < deadline:
            if watch.poll(100):
                try:
                    if not s.recv(1 << 20):
                        return True
                except (ConnectionResetError, BrokenPipeError):
                    return True
                except BlockingIOError:
                    pass
        return False
    finally:
        s.setblocking(True)
