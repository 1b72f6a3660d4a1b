"""test_bad_input.py - flowcached on broken capture files and config files: clear errors, never a crash."""
import os
import random
import re
import shutil
import signal
import struct
import subprocess
import time

import pytest
import redis

from conftest import DEMO_PCAP, NO_EXPIRY, flowcached_binary, load_truth, sanitizer_report


def start_or_exit(flowcached, *args, timeout=15.0):
    """Start flowcached; return ("running", fc) once PING answers, or ("exited", fc) if it stopped first."""
    fc = flowcached(*args, wait=False)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if fc.proc.poll() is not None:
            return "exited", fc
        try:
            if redis.Redis(host="127.0.0.1", port=fc.port, socket_timeout=1).ping():
                return "running", fc
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise AssertionError("flowcached neither answered nor exited in %.0f s:\n%s" % (timeout, fc.output()))


def assert_not_crashed(fc):
    rc = fc.proc.returncode
    out = fc.output()
    assert rc is None or rc >= 0, "killed by signal %d:\n%s" % (-rc, out[-4000:])
    assert not sanitizer_report(out), out[-6000:]


def complete_records(data):
    """Number of whole records in a classic little-endian pcap prefix."""
    off, n = 24, 0
    while off + 16 <= len(data):
        incl = struct.unpack_from("<I", data, off + 8)[0]
        if off + 16 + incl > len(data):
            break
        off += 16 + incl
        n += 1
    return n


def record_offsets(data):
    off, offs = 24, []
    while off + 16 <= len(data):
        offs.append(off)
        off += 16 + struct.unpack_from("<I", data, off + 8)[0]
    return offs


def test_truncated_pcap(flowcached, tmp_path):
    data = DEMO_PCAP.read_bytes()
    offs = record_offsets(data)
    rng = random.Random(20231114)
    i = rng.randrange(len(offs) // 4, len(offs) - 1)
    cut = offs[i] + 16 + rng.randrange(1, struct.unpack_from("<I", data, offs[i] + 8)[0])  # inside record i's data
    p = tmp_path / "truncated.pcap"
    p.write_bytes(data[:cut])
    state, fc = start_or_exit(flowcached, "--pcap", p, "--pcap-end", "keep", *NO_EXPIRY)
    assert state == "running", "exited %s on a truncated pcap:\n%s" % (fc.proc.returncode, fc.output())
    info = fc.wait_pcap_done()
    assert int(info["capture_packets"]) == complete_records(data[:cut]) == i
    assert fc.client().dbsize() > 0
    assert_not_crashed(fc)


def write_big_pcap(path, size):
    """A classic pcap of about size bytes: 60-byte UDP frames of 256 flows (76 bytes a record)."""
    recs = []
    for i in range(1024):
        eth = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02\x08\x00"
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 46, i, 0, 64, 17, 0, bytes([10, 0, 0, 1]),
                         bytes([10, 0, 1, i % 256]))
        udp = struct.pack("!HHHH", 40000 + i % 256, 53, 26, 0) + bytes(18)
        recs.append(struct.pack("<IIII", 1700000000 + i // 100, i % 100 * 10000, 60, 60) + eth + ip + udp)
    block = b"".join(recs)
    n = size // len(block)
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for _ in range(n):
            f.write(block)
    return n * len(recs)


@pytest.mark.parametrize("threads", [1, 2])
def test_pcap_truncated_while_read(flowcached, tmp_path, threads):
    """A file cut short while flowcached reads it (one worker, or two reading it between them): the read
    ends on an error, logged and counted, the packets before it kept, the process up. A reader that maps
    the file gets SIGBUS past the cut (branch mmapread: BENCHMARKS.md, "Design measurements")."""
    p = tmp_path / "big.pcap"
    total = write_big_pcap(p, 600 << 20)
    cut = 24 + (total // 3) * 76 + 30          # a third of the way, inside a record
    try:
        state, fc = start_or_exit(flowcached, "--pcap", p, "--pcap-end", "keep", "--capture-threads", threads,
                                  *NO_EXPIRY)
        os.truncate(p, cut)
        assert state == "running", fc.output()
        info = fc.wait_pcap_done(timeout=120)
        assert fc.client().ping()
        pkts = int(info["capture_packets"])
        out = fc.output()
        # a reader mapping the file may still read the record the cut falls in, zeros past the cut
        assert 0 < pkts <= total // 3 + 1, "%d packets of %d, cut after %d:\n%s" % (pkts, total, total // 3, out[-3000:])
        assert int(info["capture_read_errors"]) == 1, out[-3000:]
        assert "shrank while being read" in out or "truncated dump file" in out, out[-3000:]
        assert_not_crashed(fc)
    finally:
        p.unlink()


@pytest.mark.parametrize("kind", ["garbage", "empty", "header-only-garbage"])
def test_unreadable_capture(flowcached, tmp_path, kind):
    p = tmp_path / ("%s.pcap" % kind)
    if kind == "garbage":
        p.write_bytes(random.Random(7).randbytes(100000))
    elif kind == "empty":
        p.write_bytes(b"")
    else:   # a valid magic, then nonsense record lengths
        p.write_bytes(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1) + b"\xff" * 64)
    state, fc = start_or_exit(flowcached, "--pcap", p, "--pcap-end", "keep")
    if state == "running":
        info = fc.wait_pcap_done(timeout=30)
        assert int(info["capture_packets"]) == 0
        assert fc.client().ping()
    else:
        assert fc.proc.returncode > 0, "exited %d" % fc.proc.returncode
        out = fc.output()
        assert str(p.name) in out or "pcap" in out.lower(), "no clear message:\n" + out[-2000:]
    assert_not_crashed(fc)


def test_pcapng(flowcached, tmp_path):
    editcap = shutil.which("editcap")
    if not editcap:
        pytest.skip("editcap (wireshark) not installed")
    p = tmp_path / "demo.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(DEMO_PCAP), str(p)], check=True, capture_output=True)
    state, fc = start_or_exit(flowcached, "--pcap", p, "--pcap-end", "keep", *NO_EXPIRY)
    assert state == "running", fc.output()
    info = fc.wait_pcap_done()
    assert int(info["capture_packets"]) == load_truth()["packets"]
    assert_not_crashed(fc)


@pytest.mark.parametrize("lines,bad_line", [
    (["# flowcached test config", "port 6390", "no-such-directive 1", "pcap-end keep"], 3),
    (["pcap-speed 0", "pcap-end sideways"], 2),
    (["", "# comment", "bind 127.0.0.1", "", "port not-a-number"], 5),
])
def test_bad_config_line(tmp_path, lines, bad_line):
    exe = flowcached_binary()
    if not exe.exists():
        pytest.skip("flowcached binary not built: %s" % exe)
    conf = tmp_path / "bad.conf"
    conf.write_text("\n".join(lines) + "\n")
    try:
        r = subprocess.run([str(exe), str(conf)], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired:
        pytest.fail("flowcached kept running with a bad line %d in its config" % bad_line)
    assert r.returncode > 0, "exit %d (negative: killed by signal)\n%s" % (r.returncode, r.stderr)
    assert re.search(r"(line\s*%d\b|:%d\b)" % (bad_line, bad_line), r.stderr), \
        "stderr does not name line %d:\n%s" % (bad_line, r.stderr)
    assert not sanitizer_report(r.stderr), r.stderr
    assert r.returncode != -signal.SIGSEGV
