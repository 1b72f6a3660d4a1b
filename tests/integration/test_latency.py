"""test_latency.py - handshake, service and DNS response times against a capture with known timings.

tools/gen_latency.py writes the capture and its truth: gaps from 1 ms to 500 ms (DNS up to 6 s), IPv4,
IPv6 and 802.1Q, a retransmitted SYN and SYN/ACK, split requests and responses, pipelining, a TLS
ClientHello/ServerHello pair, a flow seen one way only. Offline, packet times are exact to the
microsecond, so every field must equal the truth exactly: on the probe (flows, http.*, dns.*, ip.*), in the
http, dns and flow.end events, and on a real Redis cloud node, where a second probe's counters add up.
"""
import json
import subprocess
import time

import pytest

from cloudutil import RedisNode, run_to_end
from conftest import NO_EXPIRY, PYTHON, ROOT

GEN = ROOT / "tools" / "gen_latency.py"
HAVE_MATPLOTLIB = subprocess.run([PYTHON, "-c", "import matplotlib"]).returncode == 0
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


def want_aggregates(truth, times=1):
    """{key: {field: value}} of the latency fields of http.*, dns.* and ip.* (rtt.us.avg aside), as
    `times` probes that each read the capture would leave them in the cloud."""
    bounds, want = truth["bounds_ms"], {}
    for host, samples in truth["http"].items():
        want["http." + host] = aggregate("service", samples * times, bounds)
    for name, samples in truth["dns"].items():
        want["dns." + name] = aggregate("rtt", samples * times, bounds)
    for ip, t in truth["servers"].items():
        w = want["ip." + ip] = {}
        if t["rtt"]:
            w.update({"rtt.us.sum": sum(t["rtt"]) * times, "rtt.count": len(t["rtt"]) * times})
        if t["service"]:
            w.update({"service.us.sum": sum(t["service"]) * times, "service.count": len(t["service"]) * times})
    return want


def latency_of(h):
    """The latency aggregate fields of a hash (rtt.us.avg aside)."""
    return {f: int(v) for f, v in h.items() if f.startswith(("rtt.", "service.")) and f != "rtt.us.avg"}


@pytest.mark.parametrize("threads", [1, 2])
def test_aggregates_sum_count_and_bucket_every_sample(flowcached, capture, threads):
    """The same sums with the flows spread over two workers (hosts and names are shared by both)."""
    pcap, truth = capture
    bounds = truth["bounds_ms"]
    fc, r = read_capture(flowcached, pcap, "--capture-threads", threads)
    for key, want in want_aggregates(truth).items():
        assert latency_of(r.hgetall(key)) == want, key
    for host, samples in truth["http"].items():
        assert int(r.hget("http." + host, "requests")) == len(samples), host
    for name, samples in truth["dns"].items():
        assert int(r.hget("dns." + name, "rtt.us.avg")) == sum(samples) // len(samples), name
    # every bucket is met at least once, +inf included
    seen = set()
    for samples in list(truth["http"].values()) + list(truth["dns"].values()):
        seen.update(bucket_name(us, bounds) for us in samples)
    assert seen == set(map(str, bounds)) | {"inf"}
    # a client is no server: it carries none of these
    assert latency_of(r.hgetall("ip.10.0.0.1")) == {}
    fc.check_clean()


def events_of(sub, quiet=1.0):
    """(channel, payload dict) of every message a subscriber got, until none came for `quiet` s."""
    out, last = [], time.monotonic()
    while time.monotonic() - last < quiet:
        m = sub.get_message(timeout=0.2)
        if m and m["type"] == "message":
            out.append((m["channel"], json.loads(m["data"])))
            last = time.monotonic()
    return out


def report(port):
    """examples/latency_report.py's rows: {"http.<host>" or "dns.<name>": [count, avg, p50, p99]}."""
    out = subprocess.run([PYTHON, str(ROOT / "examples" / "latency_report.py"), "--port", str(port), "--png",
                          "/dev/null"], check=True, capture_output=True, text=True, timeout=60).stdout
    rows = [l.split() for l in out.splitlines()[1:] if not l.startswith("wrote")]
    return {"%s.%s" % (r[0], r[1]): [int(r[2])] + r[3:] for r in rows}


def test_events_and_cloud_carry_every_sample(capture):
    """Each http event has its request's service.us, each dns event its rtt.us, each flow.end the flow's
    fields; the cloud's http./dns./ip. latency fields equal the probe's, and a second probe's add up."""
    pcap, truth = capture
    bounds = truth["bounds_ms"]
    node = RedisNode()
    try:
        c = node.client()
        sub = c.pubsub()
        sub.subscribe("http", "dns", "flow.end")
        run_to_end("--pcap", pcap, "--pcap-end", "exit", *NO_EXPIRY, "--cloud", node.addr(), "--probe-id", "a")
        evs = events_of(sub)
        # (host, service.us): with pipelining the event names the flow's last request's url, not the
        # url of the request it answers (the flow keeps one url), so urls are not compared
        http = sorted((e["host"], int(e["service.us"]), e["service.le"]) for ch, e in evs if ch == "http")
        assert http == sorted((h, us, bucket_name(us, bounds)) for h, _, us in truth["http_events"])
        dns = sorted((e["qname"], int(e["rtt.us"]), e["rtt.le"]) for ch, e in evs if ch == "dns")
        assert dns == sorted((n, us, bucket_name(us, bounds)) for n, samples in truth["dns"].items()
                             for us in samples)
        ends = {e["key"]: e for ch, e in evs if ch == "flow.end"}
        for key, want in truth["flows"].items():
            assert flow_latency(ends[key]) == want, key
            assert flow_latency(c.hgetall(key)) == want, key        # HSET from flow.end
        for key in truth["no_latency"]:
            assert flow_latency(ends[key]) == {} and flow_latency(c.hgetall(key)) == {}, key
        for key, want in want_aggregates(truth).items():
            assert latency_of(c.hgetall(key)) == want, key
        one = report(node.port) if HAVE_MATPLOTLIB else None
        run_to_end("--pcap", pcap, "--pcap-end", "exit", *NO_EXPIRY, "--cloud", node.addr(), "--probe-id", "b")
        for key, want in want_aggregates(truth, times=2).items():
            assert latency_of(c.hgetall(key)) == want, key
        if HAVE_MATPLOTLIB:                 # the example reads the cloud as it reads a probe
            two = report(node.port)
            assert set(one) == set(two) == {k for k in want_aggregates(truth) if not k.startswith("ip.")}
            for k in one:                   # twice the samples, the same distribution
                assert two[k][0] == 2 * one[k][0] and two[k][1:] == one[k][1:], (k, one[k], two[k])
        for key, want in truth["flows"].items():
            assert flow_latency(c.hgetall(key)) == want, key
        sub.close()
    finally:
        node.close()
