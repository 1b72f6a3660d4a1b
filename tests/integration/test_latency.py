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


def bucket_name(us, bounds_ms):
    """The histogram bucket (capture/cache/latency.h) a sample of us microseconds counts in."""
    for b in bounds_ms:
        if us <= b * 1000:
            return str(b)
    return "inf"


def aggregate(what, samples, bounds_ms):
    """The fields a latency aggregate shows for these samples (per bucket, not cumulative)."""
    out = {"%s.us.sum" % what: sum(samples), "%s.count" % what: len(samples)}
    for us in samples:
        f = "%s.le.%s" % (what, bucket_name(us, bounds_ms))
        out[f] = out.get(f, 0) + 1
    return out


def latency_fields(h, what):
    return {f: int(v) for f, v in h.items() if f.startswith(what + ".")}


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


def test_aggregates_sum_count_and_bucket_every_sample(flowcached, capture):
    pcap, truth = capture
    bounds = truth["bounds_ms"]
    fc, r = read_capture(flowcached, pcap)
    for host, samples in truth["http"].items():
        h = r.hgetall("http." + host)
        assert int(h["requests"]) == len(samples), host
        assert latency_fields(h, "service") == aggregate("service", samples, bounds), host
    for name, samples in truth["dns"].items():
        h = r.hgetall("dns." + name)
        want = aggregate("rtt", samples, bounds)
        want["rtt.us.avg"] = sum(samples) // len(samples)
        assert latency_fields(h, "rtt") == want, name
    for ip, t in truth["servers"].items():
        h = r.hgetall("ip." + ip)
        want = {}
        if t["rtt"]:
            want.update({"rtt.us.sum": sum(t["rtt"]), "rtt.count": len(t["rtt"])})
        if t["service"]:
            want.update({"service.us.sum": sum(t["service"]), "service.count": len(t["service"])})
        assert {f: int(v) for f, v in h.items() if f.split(".")[0] in ("rtt", "service")} == want, ip
    # every bucket is met at least once, +inf included
    seen = set()
    for samples in list(truth["http"].values()) + list(truth["dns"].values()):
        seen.update(bucket_name(us, bounds) for us in samples)
    assert seen == set(map(str, bounds)) | {"inf"}
    # a client is no server: it carries none of these
    assert not [f for f in r.hgetall("ip.10.0.0.1") if f.startswith(("rtt.", "service."))]
    fc.check_clean()
