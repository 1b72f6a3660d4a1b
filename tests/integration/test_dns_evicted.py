"""test_dns_evicted.py - every DNS query reaches the `dns` channel, even one evicted from a flow's bounded pending state."""
import collections
import importlib.util
import random
import struct
import time

import pytest

from pathlib import Path

from conftest import GEN_DEMO, SHARED, Flowcached, tail
from liveutil import Collector, delayed_copy

SPEED = "20"                 # with delayed_copy's 20 s lead: 1 s to subscribe


def gen_module():
    spec = importlib.util.spec_from_file_location("gen_demo", GEN_DEMO)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def write_pcap(path, records):
    """records: (time s, Ethernet frame)."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        for ts, frame in records:
            f.write(struct.pack("<IIII", int(ts), int(round((ts % 1) * 1e6)), len(frame), len(frame)) + frame)


def evicting_capture(path):
    """One client flow sending 7 queries (more than the 4 a flow keeps pending): q5, q6 answered in time,
    q0 answered late (after its eviction), q1..q4 never. Returns the expected rcode counts of `dns`."""
    g = gen_module()
    cli, srv = bytes([10, 9, 0, 2]), bytes([10, 9, 0, 53])
    eth = b"\x02\x00\x00\x00\x00\x02" + b"\x02\x00\x00\x00\x00\x01" + struct.pack("!H", 0x0800)
    eth_back = eth[6:12] + eth[:6] + eth[12:]
    t0, recs, ident = 1700000000.0, [], [0]

    def pkt(ts, c2s, msg):
        ident[0] += 1
        src, dst, sp, dp = (cli, srv, 40000, 53) if c2s else (srv, cli, 53, 40000)
        ip = g.ip4_packet(src, dst, g.P_UDP, g.udp_seg(src, dst, sp, dp, msg), ident[0])
        recs.append((t0 + ts, (eth if c2s else eth_back) + ip))

    for i in range(7):
        pkt(i * 0.5, True, g.dns_query_msg(100 + i, "q%d.evict.example" % i, 1))
    for i in (5, 6):
        pkt(3.5 + i * 0.01, False, g.dns_response_msg(random.Random(i), 100 + i, "q%d.evict.example" % i, 1, 0))
    pkt(4.0, False, g.dns_response_msg(random.Random(0), 100, "q0.evict.example", 1, 0))
    write_pcap(path, recs)
    return {"TIMEOUT": 5, "NOERROR": 2}


def dns_run(pcap, tmp_path):
    """(dns events, sum of dns.* queries, dns.* hashes, INFO flows) of a replay that expires everything."""
    fc = Flowcached("--pcap", delayed_copy(pcap, tmp_path / "lead.pcap"), "--pcap-speed", SPEED,
                    "--pcap-end", "expire")
    col = Collector(fc.client(), ("dns",))
    try:
        time.sleep(0.2)
        fc.wait_pcap_done(300)
        col.wait_quiet(1.5, 60)
        c = fc.client(decode_responses=True)
        hashes = {k: c.hgetall(k) for k in c.scan_iter("dns.*", count=1000)}
        queries = sum(int(h.get("queries", 0)) for h in hashes.values())
        return col.json_of("dns"), queries, hashes, c.info("flows")
    finally:
        col.close()
        fc.stop()
        assert not [m for m in ("AddressSanitizer", "runtime error:") if m in tail(fc.log, 1 << 20)]


def test_evicted_queries_are_reported(tmp_path):
    pcap = tmp_path / "evict.pcap"
    want = evicting_capture(pcap)
    ev, queries, hashes, info = dns_run(pcap, tmp_path)
    assert queries == 7
    assert len(ev) == queries, ev
    assert collections.Counter(e["rcode"] for e in ev) == want
    assert sorted(e["qname"] for e in ev) == ["q%d.evict.example" % i for i in range(7)]
    assert int(info["dns_queries_evicted"]) == 3
    # the late answer of q0 is counted in its hash, as every response is
    assert int(hashes["dns.q0.evict.example"]["responses"]) == 1
    assert int(hashes["dns.q1.evict.example"].get("responses", 0)) == 0


def shared_pcap(name):
    """The first capture called name under ../shared/pcaps or /work/shared/pcaps, or None."""
    for base in (SHARED / "pcaps", Path("/work/shared/pcaps")):
        if base.is_dir():
            found = sorted(p for p in base.rglob(name) if p.is_file())
            if found:
                return found[0]
    return None


def test_bad_dns_traffic_events_equal_queries(tmp_path):
    pcap = shared_pcap("bad-dns-traffic.pcap")
    if pcap is None:
        pytest.skip("bad-dns-traffic.pcap is not under ../shared/pcaps (or /work/shared is absent)")
    ev, queries, _, info = dns_run(pcap, tmp_path)
    assert queries == 220
    assert len(ev) == queries
    assert int(info["dns_queries_evicted"]) > 0
