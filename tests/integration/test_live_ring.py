"""test_live_ring.py - flowcached's own packet ring (capture-reader packet-ring, the default in immediate mode)
against libpcap (capture-reader libpcap) on the same traffic: ring_driver.py runs both, with and without a filter,
inside a network namespace made for the test, sends VLAN/QinQ-tagged and oversized frames through lo plus a 4 MB
TCP transfer, and dumps every key. libpcap is the oracle: same keys, same fields, same values. Needs root and ip."""
import os

import pytest

from liveutil import comparable, differences, driver_result

HERE = os.path.dirname(os.path.abspath(__file__))
TCP_BYTES = 4 << 20


@pytest.fixture(scope="module")
def ring():
    return driver_result("fcring-", os.path.join(HERE, "ring_driver.py"), "RING-RESULT ")


def test_no_drops(ring):
    for name, inst in ring["instances"].items():
        assert int(inst["capture"]["capture_drops"]) == 0, (name, inst["capture"], ring["logs"][name])


def test_ring_equals_libpcap(ring):
    a = comparable(ring["instances"]["ring"]["keys"])
    b = comparable(ring["instances"]["libpcap"]["keys"])
    assert len(a) >= 16
    assert not differences(a, b)


def test_tags_put_back_and_large_frames_whole(ring):
    k = ring["instances"]["ring"]["keys"]
    # 50 x 100-byte and 10 x 5000-byte UDP payloads on VLAN 42 (the large ones cross the socket copy)
    assert (k["vlan.42"]["pkts"], k["vlan.42"]["bytes"]) == ("60", str(50 * 128 + 10 * 5028))
    assert k["ip.10.5.0.1"]["vlan.42.bytes.sent"] == str(10 * 5028)
    # QinQ: the outer 802.1ad tag names the VLAN, the inner one stays in the frame
    assert (k["vlan.7"]["pkts"], k["vlan.7"]["bytes"]) == ("30", str(30 * 228))
    # 20 untagged 6000-byte datagrams, larger than a ring frame
    assert k["ip.10.3.0.1"]["bytes.sent"] == str(20 * 6028)
    # the TCP transfer in 64 KB segments: every payload byte counted
    assert ring["tcp_received"] == TCP_BYTES
    assert int(k["ip.127.0.0.8"]["bytes.sent"]) >= TCP_BYTES


def test_filter_as_libpcap(ring):
    a = ring["instances"]["ring_bpf"]
    b = ring["instances"]["libpcap_bpf"]
    assert not differences(a["keys"], b["keys"])
    assert a["capture"]["capture_packets"] == b["capture"]["capture_packets"] == 60   # "vlan 42" only
    assert a["keys"]["vlan.42"]["bytes"] == str(50 * 128 + 10 * 5028)


def test_filter_without_vlan_keyword_as_libpcap(ring):
    # the kernel strips the outer tag before the filter runs, so on Linux libpcap's "udp" also takes UDP with one
    # 802.1Q tag (60 untagged + 60 on VLAN 42), but not QinQ, whose inner tag stays in front of the IP header
    a = ring["instances"]["ring_udp"]
    b = ring["instances"]["libpcap_udp"]
    assert not differences(a["keys"], b["keys"])
    assert a["capture"]["capture_packets"] == b["capture"]["capture_packets"] == 120
    assert "vlan.42" in a["keys"] and "vlan.7" not in a["keys"]
