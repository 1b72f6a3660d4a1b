"""test_export_live.py - export of a live capture's flows, end to end: export_live_driver.py runs, inside a network
namespace made for the test, five flowcached in different live capture modes (own packet ring, per-worker
PACKET_FANOUT sockets, libpcap with two workers, TPACKET_V3 blocks; IPFIX and NetFlow v9), each capturing two veth
ends and exporting to its own nfcapd on the namespace's loopback. Known frames go into the peers; half the flows end
by idle timeout, the rest at SIGTERM. Read back with nfdump, every record's ingressInterface is the kernel's index of
the interface that saw the flow, IPFIX's observationPointId its source number, and packets and layer-3 bytes add up
exactly, per interface, to what was sent. Needs root, iproute2 and nfdump; skipped otherwise."""
import ipaddress
import os

import pytest

from conftest import sanitizer_report
from liveutil import driver_result
from test_export import NFCAPD, NFDUMP

HERE = os.path.dirname(os.path.abspath(__file__))
IFACE_NETS = {"fcA": ["10.1.0.0/16"], "fcB": ["10.2.0.0/16", "fd00:2::/64"]}    # export_live_driver.flows()
SOURCE = {"fcA": 1, "fcB": 2}                                                  # --interface order


@pytest.fixture(scope="module")
def live():
    if not (NFCAPD and NFDUMP):
        pytest.skip("nfdump (nfcapd) is not installed")
    return driver_result("fcexl-", os.path.join(HERE, "export_live_driver.py"), "EXPORT-LIVE-RESULT ", timeout=240)


def iface_of(rec):
    a = ipaddress.ip_address(rec["src"])
    return next(n for n, nets in IFACE_NETS.items() if any(a in ipaddress.ip_network(x) for x in nets))


INSTANCES = ["immediate", "threads2", "threads2-v9", "libpcap2", "batch5-v9"]


def test_interfaces_are_not_source_numbers(live):
    """The captured interfaces' indexes differ from 0 and from the source numbers, so the checks below can tell."""
    assert not set(live["ifindex"].values()) & {0, 1, 2}, live["ifindex"]


@pytest.mark.parametrize("name", INSTANCES)
def test_capture_counted_every_frame(live, name):
    info = live["before_stop"][name]
    sent = live["sent"]
    assert int(info["capture_packets"]) == sum(v["pkts"] for v in sent.values()), info
    assert int(info.get("capture_drops", 0)) == 0, info
    assert int(info["export_drops"]) == 0, info
    # phase 1's flows ended by idle timeout and were handed to the export before phase 2 was sent
    assert int(live["phase1"][name]["flows_expired"]) == live["sent_flows_phase1"]
    assert int(live["phase1"][name]["export_flows"]) == live["sent_flows_phase1"]


@pytest.mark.parametrize("name", INSTANCES)
def test_records_add_up(live, name):
    """One uniflow record per direction of every ended flow (idle or shutdown; every flow sent went both ways):
    records == 2 x (flows_expired + flows_active) before the stop == 2 x flows sent; packets and layer-3 bytes read
    back equal what was sent, per interface."""
    inst, info, sent = live["instances"][name], live["before_stop"][name], live["sent"]
    assert inst["rc"] == 0, inst["log"]
    assert not sanitizer_report(inst["log"]), inst["log"]
    recs = inst["records"]
    ended = int(info["flows_expired"]) + int(info["flows_active"])
    assert ended == sum(v["flows"] for v in sent.values())
    assert len(recs) == 2 * ended, (len(recs), ended)
    for iface, want in sent.items():
        mine = [r for r in recs if iface_of(r) == iface]
        assert len(mine) == 2 * want["flows"], iface
        assert (sum(r["pkts"] for r in mine), sum(r["bytes"] for r in mine)) == (want["pkts"], want["bytes"]), iface


@pytest.mark.parametrize("name", INSTANCES)
def test_ingress_interface_and_observation_point(live, name):
    """ingressInterface (IE 10, nfdump %in) == /sys/class/net/<if>/ifindex in the namespace for every record;
    observationPointId (138, %opid) == the interface's source number, checked for IPFIX (nfcapd does not store it
    from NetFlow v9); biflowDirection: one initiator record per flow (IPFIX)."""
    inst = live["instances"][name]
    recs = inst["records"]
    assert recs
    bad = [r for r in recs if r["in"] != live["ifindex"][iface_of(r)]]
    assert not bad, (live["ifindex"], bad[:3])
    if inst["protocol"] == "ipfix":
        bad = [r for r in recs if r["opid"] != SOURCE[iface_of(r)]]
        assert not bad, bad[:3]
        assert sum(1 for r in recs if r["bfd"] == 1) == len(recs) // 2
