"""test_ports.py - port.<l4>.<port> aggregates: the sums over the flow.* keys of each server port, read as Redis keys."""
import collections

import pytest

from conftest import DEMO_PCAP, NO_EXPIRY, Flowcached

PORT_L4S = ("tcp", "udp", "sctp")


def flows_by_port(c):
    """{port key: {bytes, pkts, flows}} summed over the flow.* keys, and the l4 names of every flow."""
    want, l4s = collections.defaultdict(collections.Counter), set()
    keys = list(c.scan_iter("flow.*", count=1000))
    pipe = c.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    for h in pipe.execute():
        l4s.add(h["proto"])
        if h["proto"] not in PORT_L4S:
            continue
        w = want["port.%s.%s" % (h["proto"], h["srv.port"])]
        w["bytes"] += int(h["bytes.c2s"]) + int(h["bytes.s2c"])
        w["pkts"] += int(h["pkts.c2s"]) + int(h["pkts.s2c"])
        w["flows"] += 1
    return want, l4s


@pytest.fixture(scope="module")
def demo_kept():
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", *NO_EXPIRY)
    try:
        fc.wait_pcap_done(120)
        yield fc
    finally:
        fc.stop()
        fc.check_clean()


def test_port_counters_are_the_sums_over_flows(demo_kept):
    c = demo_kept.client()
    want, l4s = flows_by_port(c)
    assert "icmp" in l4s and "port.tcp.80" in want and "port.udp.53" in want
    got = {}
    for k in c.keys("port.*"):
        h = c.hgetall(k)
        got[k] = {f: int(h[f]) for f in ("bytes", "pkts", "flows", "flows.active")}
    assert sorted(got) == sorted(want)
    for k, w in want.items():
        # nothing expired: every flow of the port is still active
        assert got[k] == {"bytes": w["bytes"], "pkts": w["pkts"], "flows": w["flows"], "flows.active": w["flows"]}, k


def test_port_keys_as_redis_keys(demo_kept):
    c = demo_kept.client()
    keys = set(c.keys("port.*"))
    assert set(c.scan_iter("port.*", count=10)) == keys
    assert set(c.scan_iter("port.tcp.*", count=1000)) == {k for k in keys if k.startswith("port.tcp.")}
    assert set(c.scan_iter(_type="hash", match="port.*")) == keys
    assert keys <= set(c.scan_iter(count=1000))
    assert c.dbsize() == len(c.keys("*"))
    assert c.type("port.tcp.80") == "hash"
    assert 0 < c.ttl("port.tcp.80")
    assert c.hget("port.tcp.80", "flows") == c.hgetall("port.tcp.80")["flows"]
    for absent in ("port.tcp.080", "port.tcp.65536", "port.icmp.0", "port.tcp.", "port.tcp.80x", "port.gre.1"):
        assert c.type(absent) == "none" and c.hgetall(absent) == {} and c.ttl(absent) == -2, absent


def test_port_flows_active_falls_to_zero_when_flows_end():
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "expire", *NO_EXPIRY)
    try:
        fc.wait_pcap_done(120)
        c = fc.client()
        keys = c.keys("port.*")
        assert keys
        for k in keys:
            h = c.hgetall(k)
            assert h["flows.active"] == "0" and int(h["flows"]) > 0, (k, h)
    finally:
        fc.stop()
        fc.check_clean()
