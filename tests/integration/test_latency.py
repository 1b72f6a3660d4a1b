"""test_latency.py - handshake, service and DNS response times against a capture with known timings.

tools/gen_latency.py writes the capture and its truth: gaps from 1 ms to 500 ms (DNS up to 6 s), IPv4,
IPv6 and 802.1Q, a retransmitted SYN and SYN/ACK, split requests and responses, pipelining, a TLS
ClientHello/ServerHello pair, a flow seen one way only. Offline, packet times are exact to the
microsecond, so every field must equal the truth exactly.
"""
import json
import subprocess

import pytest

from conftest import NO_EXPIRY, PYTHON, ROOT

GEN = ROOT / "tools" / "gen_latency.py"
FLOW_FIELDS = ("rtt.us", "rtt.server.us", "rtt.client.us", "http.service.us", "tls.handshake.us")


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("latency")
    pcap, truth = d / "latency.pcap", d / "latency.truth.json"
    subprocess.run([PYTHON, str(GEN), str(pcap), str(truth)], check=True)
    return pcap, json.loads(truth.read_text())


def read_capture(flowcached, pcap, *args):
    fc = flowcached("--pcap", pcap, "--pcap-end", "keep", *NO_EXPIRY, *args)
    fc.wait_pcap_done()
    return fc, fc.client()


def flow_latency(h):
    return {f: int(h[f]) for f in FLOW_FIELDS if f in h}


def test_flow_fields_equal_the_known_timings(flowcached, capture):
    pcap, truth = capture
    fc, r = read_capture(flowcached, pcap)
    for key, want in truth["flows"].items():
        h = r.hgetall(key)
        assert h, "flow %s is missing" % key
        assert flow_latency(h) == want, key
    for key in truth["no_latency"]:
        h = r.hgetall(key)
        assert h and flow_latency(h) == {}, (key, h)
    fc.check_clean()
