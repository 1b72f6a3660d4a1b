"""test_examples.py - each script in examples/ against flowcached replaying demo/demo.pcap, with a bounded runtime."""
import json
import math
import shutil
import subprocess
import time

import pytest

from conftest import DEMO_PCAP, DEMO_TRUTH, NO_EXPIRY, PYTHON, ROOT, load_truth
from liveutil import delayed_copy

EX = ROOT / "examples"


def start_script(cmd):
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def finish(proc, timeout=60):
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
        raise AssertionError("example did not finish in %d s:\n%s" % (timeout, out))
    assert proc.returncode == 0, out
    return out




def replaying(flowcached, tmp_path, *extra):
    pcap = delayed_copy(DEMO_PCAP, tmp_path / "lead.pcap", lead_s=30)
    return flowcached("--pcap", pcap, "--pcap-speed", "10", "--pcap-end", "keep", *NO_EXPIRY, *extra)


def test_url_alert(flowcached, tmp_path):
    truth = load_truth(DEMO_TRUTH)
    fc = replaying(flowcached, tmp_path)
    p = start_script([PYTHON, str(EX / "url_alert.py"), "--port", str(fc.port), "--seconds", "12", r"^mail\.example\.com/"])
    out = finish(p, 60)
    alerts = [l for l in out.splitlines() if l.startswith("ALERT")]
    assert alerts, out
    assert all("http://mail.example.com/" in l for l in alerts), out
    users = {l.split()[1][5:] for l in alerts}
    assert users <= set(truth["radius_active_users"]) | {"-"} | set(u for u in users), out
    c = fc.client()
    responses = sum(int(v) for f, v in c.hgetall("http.mail.example.com").items() if f.startswith("status."))
    assert len(alerts) == responses


def test_proto_timeseries(flowcached, tmp_path):
    if subprocess.run([PYTHON, "-c", "import matplotlib"]).returncode != 0:
        pytest.skip("python3-matplotlib not installed (tools/deps.sh)")
    fc = replaying(flowcached, tmp_path)
    csv_path, png = tmp_path / "p.csv", tmp_path / "p.png"
    out = finish(start_script([PYTHON, str(EX / "proto_timeseries.py"), "--port", str(fc.port), "--seconds", "8",
                               "--csv", str(csv_path), "--png", str(png)]), 60)
    rows = csv_path.read_text().splitlines()
    assert len(rows) == 9 and rows[0].startswith("t,"), out
    header = rows[0].split(",")
    assert "DNS" in header and "HTTP" in header
    # rates (bytes/s, differences of successive samples), not the cumulative counters: never negative,
    # some positive while the replay runs
    rates = [[float(x) for x in r.split(",")[1:]] for r in rows[1:]]
    assert all(v >= 0 for r in rates for v in r), rows
    totals = [sum(r) for r in rates]
    assert max(totals) > 0, rows
    # rate x interval, summed, is what the counter gained in the window: at most its value now (a
    # cumulative column summed that way would be several times it)
    ts = [float(r.split(",")[0]) for r in rows[1:]]
    gained = sum(sum(r) * (t - tp) for r, t, tp in zip(rates, ts, [0.0] + ts[:-1]))
    now = sum(int(fc.client().hget(k, "bytes") or 0) for k in fc.client().scan_iter("proto.*"))
    assert 0 < gained <= now * 1.05 + 100, (gained, now, rows)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
    shutil.copy(png, "/tmp/flowcached-proto-timeseries.png")


def test_dns_watch(flowcached, tmp_path):
    truth = load_truth(DEMO_TRUTH)
    wl = tmp_path / "wl.txt"
    wl.write_text("")
    fc = replaying(flowcached, tmp_path, "--watchlist", wl)
    out = finish(start_script([PYTHON, str(EX / "dns_watch.py"), "--port", str(fc.port), "--seconds", "12",
                               "--add", "10.0.0.53"]), 60)
    lines = [l for l in out.splitlines() if l.startswith("DNS ")]
    assert lines, out
    names = {l.split(" asks ")[1].split()[0] for l in lines}
    assert names <= set(truth["dns_queries_by_name"]), names
    assert all(l.startswith("DNS 10.0.0.53 <-> ") for l in lines)
    # one line per DNS query of the listed resolver (alert.watchlist is per query): at least one per UDP flow,
    # and the TCP ones' queries too
    udp_flows = [k for k in truth["flows"] if k.startswith("flow.udp.") and "-10.0.0.53:53" in k]
    assert len(lines) >= len(udp_flows), out
    assert {k.split(".", 2)[2].split(":")[0] for k in udp_flows} <= {l.split(" <-> ")[1].split()[0] for l in lines}


def test_top_talkers(demo_fc):
    if subprocess.run(["perl", "-MRedis", "-e", "1"]).returncode != 0:
        pytest.skip("libredis-perl not installed (tools/deps.sh)")
    truth = load_truth(DEMO_TRUTH)
    out = finish(start_script(["perl", str(EX / "top_talkers.pl"), "--port", str(demo_fc.port), "--top", "5"]), 30)
    lines = out.splitlines()[1:]
    want = sorted(truth["hosts"].items(), key=lambda kv: (-kv[1]["bytes.sent"], kv[0]))[:5]
    assert [l.split() for l in lines] == [[ip, str(h["bytes.sent"])] for ip, h in want], out


def bucket_of(us, bounds_ms):
    """Index of the latency histogram bucket (capture/cache/latency.h) of a sample."""
    return next((i for i, b in enumerate(bounds_ms) if us <= b * 1000), len(bounds_ms))


def test_latency_report(flowcached, tmp_path):
    """p50/p99 per HTTP host and DNS name from the histograms of tools/gen_latency.py's capture: each
    percentile lies in the bucket of the exact one (nearest rank over the generator's samples)."""
    if subprocess.run([PYTHON, "-c", "import matplotlib"]).returncode != 0:
        pytest.skip("python3-matplotlib not installed (tools/deps.sh)")
    pcap, truth_path, png = tmp_path / "lat.pcap", tmp_path / "lat.json", tmp_path / "lat.png"
    subprocess.run([PYTHON, str(ROOT / "tools" / "gen_latency.py"), str(pcap), str(truth_path)], check=True)
    truth = json.loads(truth_path.read_text())
    bounds = truth["bounds_ms"]
    fc = flowcached("--pcap", pcap, "--pcap-end", "keep", *NO_EXPIRY)
    fc.wait_pcap_done()
    out = finish(start_script([PYTHON, str(EX / "latency_report.py"), "--port", str(fc.port), "--png", str(png)]), 60)
    rows = {(l.split()[0], l.split()[1]): l.split()[2:] for l in out.splitlines()[1:] if not l.startswith("wrote")}
    want = {("http", h): s for h, s in truth["http"].items()}
    want.update({("dns", n): s for n, s in truth["dns"].items()})
    assert set(rows) == set(want), out
    for key, samples in want.items():
        count, avg, p50, p99 = rows[key]
        assert int(count) == len(samples) and abs(float(avg) - sum(samples) / len(samples) / 1000) < 0.001, key
        ranked = sorted(samples)
        for q, got in ((0.5, float(p50)), (0.99, float(p99))):
            exact = ranked[math.ceil(q * len(ranked)) - 1]
            b = bucket_of(exact, bounds)
            lo, hi = (bounds[b - 1] if b else 0), (bounds[b] if b < len(bounds) else bounds[-1])
            assert lo <= got <= hi, (key, q, got, exact)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 5000
