"""test_live_fanout.py - live capture with one packet socket per capture thread (PACKET_FANOUT): fanout_driver.py
runs capture-threads 1, 2 and 3 on lo inside a network namespace made for the test and sends UDP flows (IPv4 and
IPv6), TCP connections and GRE-tunnelled frames. Every packet must be counted once and every flow kept whole on one
worker: the keys and counters of 2 and 3 threads equal those of 1. The kernel's program and the workers must agree on
the owner of every packet that is not tunnelled: the only packets handed between workers are the GRE frames whose
inner pair belongs to another worker than their outer pair, exactly as many as the lane hash says. Needs root and ip."""
import os
import socket
import struct

import pytest

from conftest import sanitizer_report
from liveutil import comparable, differences, driver_result

HERE = os.path.dirname(os.path.abspath(__file__))


@pytest.fixture(scope="module")
def fan():
    return driver_result("fcfan-", os.path.join(HERE, "fanout_driver.py"), "FANOUT-RESULT ")


def lane(a, b, n):
    """capture/source/fanout.c's lane hash of an address pair, modulo n workers."""
    raw = [socket.inet_pton(socket.AF_INET6 if ":" in x else socket.AF_INET, x) for x in (a, b)]
    x = 0
    for r in raw:
        for w in struct.unpack("!%dI" % (len(r) // 4), r):
            x ^= w
    x = (x * 0x9E3779B1) & 0xFFFFFFFF
    return (x ^ (x >> 16)) % n


def test_no_drops(fan):
    for n, inst in fan["instances"].items():
        assert "capture_drops" in inst["capture"], n
        assert int(inst["capture"]["capture_drops"]) == 0, (n, inst["capture"])


def test_every_flow_once_whatever_the_thread_count(fan):
    sent = fan["sent"]
    one = comparable(fan["instances"]["1"]["keys"])
    flows = [k for k in one if k.startswith("flow.")]
    assert len(flows) >= sent["udp_flows"] + sent["v6_flows"] + sent["tcp_flows"] + sent["gre_flows"], flows[:5]
    udp = [one[k] for k in flows if k.startswith("flow.udp.127.1.")]
    assert len(udp) == sent["udp_flows"]
    assert all(f["pkts.c2s"] == f["pkts.s2c"] == str(sent["udp_rounds"]) for f in udp), udp[:2]
    for n in ("2", "3"):
        many = comparable(fan["instances"][n]["keys"])
        diff = differences(one, many)
        assert not diff, "%s threads: %d differences, first: %s" % (n, len(diff), list(diff.items())[:5])


def test_only_tunnelled_packets_change_worker(fan):
    sent = fan["sent"]
    outer = sent["gre_outer"]
    assert int(fan["instances"]["1"]["capture"]["capture_handoffs"]) == 0
    for n in (2, 3):
        want = sum(sent["gre_frames"] for i in range(sent["gre_flows"])
                   if lane("10.8.%d.%d" % (i // 200, i % 200 + 1), "10.7.0.1", n) != lane(outer[0], outer[1], n))
        assert want > 0
        assert int(fan["instances"][str(n)]["capture"]["capture_handoffs"]) == want, n


def test_no_sanitizer_report(fan):
    for n, log in fan["logs"].items():
        assert not sanitizer_report(log), (n, log)
