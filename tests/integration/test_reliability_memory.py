"""test_reliability_memory.py - memory bounds (issue 7): a flood of 500 000 SYNs from distinct random-looking
sources against --max-flows 10000 --maxmemory 20mb keeps RSS bounded, counts refused flows in INFO flows_dropped,
and the cache accepts new flows again once the flood has timed out (a second pcap, 30 s of packet time later).
"""
import os
import struct
import time

import pytest
import redis

from conftest import sanitizer_report
from test_reliability_util import Proc, eth_ipv4, pcap_header, rss_kb, sanitized, tcp_segment, vm_hwm_kb

FLOOD = 500000
AFTER = 1000
T0 = 1700000000


def write_syn_flood(path, n, t0, seconds):
    """n SYN frames, source i = (i * 2654435761) mod 2^32 (a bijection: every source distinct), port 1024 + i % 60000,
    to 198.51.100.1:443, spread evenly over `seconds` of packet time. 70 bytes a record."""
    frame = eth_ipv4(b"\0\0\0\0", bytes([198, 51, 100, 1]), 6, tcp_segment(1, 443, 0x02))
    rec = bytearray(struct.pack("<IIII", 0, 0, len(frame), len(frame)) + frame)
    src_off = 16 + 14 + 12
    sport_off = 16 + 14 + 20
    step = seconds * 1e6 / n
    with open(path, "wb") as f:
        f.write(pcap_header())
        chunk = []
        for i in range(n):
            us = int(i * step)
            struct.pack_into("<II", rec, 0, t0 + us // 1000000, us % 1000000)
            struct.pack_into("!I", rec, src_off, (i * 2654435761) & 0xFFFFFFFF)
            struct.pack_into("!H", rec, sport_off, 1024 + i % 60000)
            chunk.append(bytes(rec))
            if len(chunk) == 8192:
                f.write(b"".join(chunk))
                chunk = []
        f.write(b"".join(chunk))


def write_after(path, n, t0):
    """n ordinary new flows from 10.77.x.y, one SYN each, at packet time t0 (after the flood timed out)."""
    with open(path, "wb") as f:
        f.write(pcap_header())
        for i in range(n):
            frame = eth_ipv4(bytes([10, 77, i // 250, 1 + i % 250]), bytes([192, 0, 2, 80]), 6,
                             tcp_segment(30000 + i, 80, 0x02))
            us = i * 100
            f.write(struct.pack("<IIII", t0 + us // 1000000, us % 1000000, len(frame), len(frame)) + frame)


def test_syn_flood_bounded_and_recovers(tmp_path):
    flood, after = tmp_path / "flood.pcap", tmp_path / "after.pcap"
    t = time.monotonic()
    write_syn_flood(flood, FLOOD, T0, 5)
    write_after(after, AFTER, T0 + 5 + 30)
    gen_s = time.monotonic() - t
    assert flood.stat().st_size == 24 + FLOOD * 70

    # Baseline: the same binary, empty cache.
    idle = Proc("--bind", "127.0.0.1")
    base = rss_kb(idle.pid)
    idle.cleanup()

    p = Proc("--bind", "127.0.0.1", "--max-flows", "10000", "--maxmemory", "20mb",
             "--flow-idle-timeout", "2", "--host-idle-timeout", "2", "--tcp-close-grace-ms", "100",
             "--pcap", flood, "--pcap", after, "--pcap-end", "keep")
    try:
        c = redis.Redis(port=p.port, decode_responses=True, socket_timeout=30)
        t = time.monotonic()
        peak_active, peak_rss, samples = 0, 0, 0
        while True:
            info = c.info()
            peak_active = max(peak_active, int(info["flows_active"]))
            peak_rss = max(peak_rss, rss_kb(p.pid))
            samples += 1
            if int(info["capture_sources_active"]) == 0:
                break
            assert time.monotonic() - t < 600, "flood not read in 10 minutes"
            time.sleep(0.05)
        took = time.monotonic() - t
        hwm = vm_hwm_kb(p.pid)
        pkts = int(info["capture_packets"])
        created, dropped = int(info["flows_created"]), int(info["flows_dropped"])
        assert pkts == FLOOD + AFTER
        assert dropped > 0, "no flow refused: the bounds did not bite (%r)" % info
        assert peak_active <= 10000, peak_active
        assert int(info["cache_memory"]) <= 20 * 1048576
        # every SYN came from a new source: each was either a new flow or a refused one
        assert created + dropped == FLOOD + AFTER, (created, dropped)
        # recovery: every flow of the second file was accepted
        keys = c.keys("flow.tcp.10.77.*")
        assert len(keys) == AFTER, "only %d of %d flows accepted after the flood" % (len(keys), AFTER)
        # empty pool chunks stay resident as spares (INFO cache_pool_spare, whole 64 KB chunks, not in
        # cache_memory) until the cron has seen them unused for a second, then go back to the system
        spares, t = [], time.monotonic()
        while time.monotonic() - t < 15:
            spares.append(int(c.info("flows")["cache_pool_spare"]))
            if spares[-1] == 0:
                break
            time.sleep(0.2)
        assert all(x % 65536 == 0 for x in spares), spares
        assert spares[-1] == 0, "spare chunks not given back in 15 s: %r" % spares[-10:]
        growth = hwm - base
        limit = (400 if sanitized() else 120) * 1024
        assert growth < limit, "peak RSS %d kB over a baseline of %d kB" % (hwm, base)
        fig = {"syn_packets": FLOOD, "generate_s": round(gen_s, 1), "read_s": round(took, 1),
               "pkts_per_s": int(pkts / took), "flows_created": created, "flows_dropped": dropped,
               "peak_flows_active": peak_active, "baseline_rss_kb": base, "peak_rss_kb": hwm,
               "after_flood_accepted": len(keys)}
        print("\nSYN flood:", fig)
    finally:
        rc = p.stop()
        text = p.output()
        os.unlink(p.log)
    assert not sanitizer_report(text), text[-6000:]
    assert rc in (0, -15), rc
