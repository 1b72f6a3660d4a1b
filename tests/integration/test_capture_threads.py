"""test_capture_threads.py - several capture threads on one file build the keyspace one thread builds.

The workers read a classic pcap file once between them, in batches of records
each worker takes its own lane's packets from (capture/source/file_walk.c);
other files (pcapng) go through a reader that hands each worker its packets
through a ring. Either way workers drift apart in packet time (by up to 32 768
records, or 16 MB of the file) while sweeps run against the whole cache. With a short flow timeout that drift used
to end flows a waiting packet still belonged to (split flows: more flows,
other counters, other first.seen, due flows left active at the end); this
compares every key and field. Hosts and names keep the default idle timeout:
one far longer than the drift (ARCHITECTURE.md says what is exact and what not).
"""
import shutil
import subprocess

import pytest

from conftest import GEN_DEMO, PYTHON

# Short enough that flows expire and come back many times in a 10 s file.
SHORT = ["--flow-idle-timeout", "1", "--pcap-end", "keep"]


def dump(c):
    """Every key with its whole value."""
    keys = sorted(c.keys("*"))
    p = c.pipeline(transaction=False)
    for k in keys:
        p.type(k)
    types = p.execute()
    p = c.pipeline(transaction=False)
    for k, t in zip(keys, types):
        {"hash": p.hgetall, "string": p.get, "set": p.smembers}.get(t, p.type)(k)
    return dict(zip(keys, p.execute()))


def differences(a, b):
    out = []
    for k in sorted(set(a) | set(b)):
        va, vb = a.get(k), b.get(k)
        if va == vb:
            continue
        if isinstance(va, dict) and isinstance(vb, dict):
            out += ["%s %s: %r != %r" % (k, f, va.get(f), vb.get(f))
                    for f in sorted(set(va) | set(vb)) if va.get(f) != vb.get(f)]
        else:
            out.append("%s: %r != %r" % (k, va, vb))
    return out


@pytest.fixture(scope="module")
def busy_pcap(tmp_path_factory):
    """~11 MB, 10 s, 5 000 sessions: the rings hold most of it, so workers drift by seconds."""
    pcap = tmp_path_factory.mktemp("threads") / "busy.pcap"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "7", "--sessions", "5000", "--hosts", "200",
                    "--duration", "10", "--out", str(pcap)], check=True, timeout=120)
    return pcap


@pytest.fixture(scope="module")
def long_pcap(tmp_path_factory):
    """~23 MB: more than the 16 chunks of 1 MB a reader keeps for its workers (capture/source/pcapfile.c),
    so it refills chunks once every worker has passed them."""
    pcap = tmp_path_factory.mktemp("threads") / "long.pcap"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "11", "--sessions", "10000", "--hosts", "200",
                    "--duration", "10", "--out", str(pcap)], check=True, timeout=120)
    assert pcap.stat().st_size > 20 << 20
    return pcap


def run(flowcached, pcap, threads, *more):
    fc = flowcached("--pcap", pcap, *more, "--capture-threads", str(threads), *SHORT)
    info = fc.wait_pcap_done(timeout=120)
    return dump(fc.client()), info


@pytest.mark.parametrize("threads", [2, 3])
def test_keyspace_of_several_threads_equals_one(flowcached, busy_pcap, threads):
    one, info1 = run(flowcached, busy_pcap, 1)
    many, info = run(flowcached, busy_pcap, threads)
    assert int(info1["flows_expired"]) > 1000        # the timeouts were really exercised
    assert len(one) > 300
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    for k in ("flows_created", "flows_expired", "hosts_created", "hosts_expired"):
        assert info[k] == info1[k], k


@pytest.mark.parametrize("threads", [2, 3])
def test_keyspace_when_the_reader_reuses_its_chunks(flowcached, long_pcap, threads):
    """Workers read frames where the reader read them: a chunk refilled too early would show here."""
    one, info1 = run(flowcached, long_pcap, 1)
    many, info = run(flowcached, long_pcap, threads)
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    assert int(info1["capture_packets"]) > 50000
    for k in ("capture_packets", "flows_created", "flows_expired"):
        assert info[k] == info1[k], k


@pytest.mark.parametrize("threads", [2, 3])
def test_keyspace_of_several_files(flowcached, busy_pcap, tmp_path, threads):
    """Files in order, the second a truncated copy of the first (the same packet times again, then a
    broken record): each worker starts a file once all are done with the one before."""
    cut = tmp_path / "cut.pcap"
    cut.write_bytes(busy_pcap.read_bytes()[:3000001])
    one, info1 = run(flowcached, busy_pcap, 1, "--pcap", cut)
    many, info = run(flowcached, busy_pcap, threads, "--pcap", cut)
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    for k in ("capture_packets", "capture_read_errors", "flows_created", "flows_expired"):
        assert info[k] == info1[k], k
    assert int(info["capture_read_errors"]) == 1


def test_keyspace_of_a_pcapng_file(flowcached, busy_pcap, tmp_path):
    """A file pcapfile does not read goes through the reader thread and its rings."""
    editcap = shutil.which("editcap")
    if not editcap:
        pytest.skip("editcap (wireshark-common) not installed")
    ng = tmp_path / "busy.pcapng"
    subprocess.run([editcap, "-F", "pcapng", str(busy_pcap), str(ng)], check=True, capture_output=True)
    one, info1 = run(flowcached, ng, 1)
    many, info = run(flowcached, ng, 2)
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    assert info["capture_packets"] == info1["capture_packets"]


@pytest.mark.parametrize("threads", [2, 3])
def test_keyspace_with_a_filter(flowcached, busy_pcap, threads):
    """The capture filter is applied once, by whichever worker reads a batch of records: the workers see
    exactly the frames one thread sees."""
    flt = ["--bpf", "tcp or udp port 53"]
    one, info1 = run(flowcached, busy_pcap, 1, *flt)
    many, info = run(flowcached, busy_pcap, threads, *flt)
    _, whole = run(flowcached, busy_pcap, 1)
    assert 0 < int(info1["capture_packets"]) < int(whole["capture_packets"])   # the filter dropped some
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    for k in ("capture_packets", "flows_created", "flows_expired"):
        assert info[k] == info1[k], k


def write_jumbo_pcap(path, frames, size):
    """A classic pcap (snapshot length 262144) of `frames` UDP frames of `size` bytes (< 64 KB) each, one
    flow per frame."""
    import struct
    hdr = struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, 1)
    recs = []
    for i in range(frames):
        payload = bytes([i & 0xff]) * (size - 42)
        udp = struct.pack("!HHHH", 40000 + i, 9999, 8 + len(payload), 0) + payload
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0, 64, 17, 0,
                         bytes([10, 9, i >> 8 & 0xff, i & 0xff]), bytes([10, 8, 0, 1])) + udp
        eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + b"\x08\x00" + ip
        recs.append(struct.pack("<IIII", 1700000000 + i // 10, (i % 10) * 100000, len(eth), len(eth)) + eth)
    path.write_bytes(hdr + b"".join(recs))


@pytest.mark.parametrize("threads", [2, 3])
def test_batches_longer_than_the_shared_buffers(flowcached, tmp_path, threads):
    """60 KB frames: 17 fill one of the 1 MB buffers the workers share, so a batch of 256 records would
    span more than all 8 of them; a batch ends where its records reach the next buffer instead, the
    buffers come round three times, and nothing is lost or read twice."""
    p = tmp_path / "jumbo.pcap"
    write_jumbo_pcap(p, 400, 60000)
    one, info1 = run(flowcached, p, 1)
    many, info = run(flowcached, p, threads)
    assert int(info1["capture_packets"]) == 400
    diff = differences(one, many)
    assert not diff, "%d differences (of %d keys), first: %s" % (len(diff), len(one), diff[:10])
    for k in ("capture_packets", "capture_bytes", "flows_created"):
        assert info.get(k) == info1.get(k), k


def test_looped_file_with_threads(flowcached, busy_pcap):
    """pcap-loop with two workers at full speed: every pass is read again, its packet times after the
    last pass's, until shutdown."""
    fc = flowcached("--pcap", busy_pcap, "--pcap-loop", "yes", "--capture-threads", "2", *SHORT)
    _, once = run(flowcached, busy_pcap, 1)
    per_pass = int(once["capture_packets"])
    import time
    deadline = time.monotonic() + 60
    while int(fc.info()["capture_packets"]) < 3 * per_pass:
        assert time.monotonic() < deadline, fc.info()
        time.sleep(0.2)
    info = fc.info()
    assert int(info["capture_sources_active"]) == 1
    assert int(info["capture_read_errors"]) == 0
    # later passes follow on in packet time: flows of pass 1 expired (1 s timeout) when pass 2 came
    assert int(info["flows_expired"]) > int(once["flows_expired"])
    assert fc.client().ping()
