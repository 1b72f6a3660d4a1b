"""test_metrics.py - the Prometheus endpoint (`metrics-port`): promtool accepts it, its figures are INFO's,
a real prometheus scrapes it, bad requests get 404/405/400/431, and a client that never ends its
request stalls nobody. Needs promtool/prometheus (Debian package `prometheus`, tools/deps.sh test)."""
import json
import re
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import DEMO_PCAP, NO_EXPIRY, ROOT, Flowcached, free_port, sanitizer_report, stop_pid, tail

DASHBOARD = ROOT / "examples" / "grafana-flowcached.json"
SAMPLE = re.compile(r'^(flowcached_\w+)(?:\{([^}]*)\})? (\S+)$')


def start_fc(*extra):
    port = free_port()
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", "--metrics-port", port, *NO_EXPIRY, *extra)
    fc.metrics_port = port
    return fc


@pytest.fixture(scope="module")
def mfc():
    fc = start_fc()
    try:
        fc.wait_pcap_done()
        yield fc
    finally:
        fc.stop()
    fc.check_clean()


def http(port, method="GET", path="/metrics", timeout=10):
    """(status, headers, body) of one request."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, dict(r.headers), r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read().decode()


def scrape(fc):
    """{(name, labels text): value} and the set of family names from # TYPE lines."""
    status, headers, body = http(fc.metrics_port)
    assert status == 200, body
    assert headers["Content-Type"].startswith("text/plain; version=0.0.4"), headers
    samples, families = {}, set()
    for line in body.splitlines():
        if line.startswith("# TYPE "):
            families.add(line.split()[2])
        elif not line.startswith("#"):
            m = SAMPLE.match(line)
            assert m, "not a sample line: %r" % line
            samples[(m.group(1), m.group(2) or "")] = float(m.group(3))
    return samples, families, body


def test_promtool_check_metrics_is_clean(mfc):
    promtool = shutil.which("promtool")
    if not promtool:
        pytest.skip("promtool not installed (Debian package prometheus)")
    mfc.client().get("nothing")                  # a command label in the output too
    _, _, body = scrape(mfc)
    r = subprocess.run([promtool, "check", "metrics"], input=body, capture_output=True, text=True, timeout=30)
    assert r.returncode == 0 and not r.stdout.strip() and not r.stderr.strip(), (r.stdout, r.stderr)


def test_figures_agree_with_info(mfc):
    info = mfc.info("everything")
    samples, families, body = scrape(mfc)
    for metric, field in (("capture_packets_total", "capture_packets"), ("capture_bytes_total", "capture_bytes"),
                          ("capture_drops_total", "capture_drops"), ("flows_active", "flows_active"),
                          ("flows_created_total", "flows_created"), ("hosts_active", "hosts_active"),
                          ("capture_sources_active", "capture_sources_active"), ("max_flows", "max_flows"),
                          ("events_dropped_total", "events_dropped"), ("cloud_enabled", "cloud_enabled")):
        assert samples[("flowcached_" + metric, "")] == float(info[field]), (metric, field)
    assert samples[("flowcached_capture_packets_total", "")] > 0
    assert "flowcached_command_calls_total" in families and "flowcached_connected_clients" in families


def test_protocol_bytes_agree_with_the_proto_keys(mfc):
    r = mfc.client()
    samples, _, _ = scrape(mfc)
    keys = sorted(r.scan_iter("proto.*", count=1000))
    assert keys, "the demo has protocol aggregates"
    for key in keys:
        name = key[len("proto."):]
        h = r.hgetall(key)
        label = 'protocol="%s"' % name
        assert samples[("flowcached_protocol_bytes_total", label)] == float(h["bytes"]), key
        assert samples[("flowcached_protocol_packets_total", label)] == float(h["pkts"]), key
        assert samples[("flowcached_protocol_flows_total", label)] == float(h["flows"]), key
        assert samples[("flowcached_protocol_flows_active", label)] == float(h["flows.active"]), key
    served = {lab for (n, lab) in samples if n == "flowcached_protocol_bytes_total"}
    assert served == {'protocol="%s"' % k[len("proto."):] for k in keys}


def test_command_stats_agree_with_info_commandstats(mfc):
    r = mfc.client()
    for _ in range(7):
        r.get("x")
    stats = r.info("commandstats")["cmdstat_get"]
    samples, _, _ = scrape(mfc)
    assert samples[("flowcached_command_calls_total", 'command="get"')] == stats["calls"]
    assert samples[("flowcached_command_usec_total", 'command="get"')] == stats["usec"]


@pytest.mark.parametrize("method,path,status", [
    ("GET", "/", 404), ("GET", "/metricsx", 404), ("GET", "/metrics?x=1", 200), ("HEAD", "/metrics", 200),
    ("POST", "/metrics", 405), ("PUT", "/nothing", 405), ("DELETE", "/metrics", 405)])
def test_paths_and_methods(mfc, method, path, status):
    got, headers, _ = http(mfc.metrics_port, method, path)
    assert got == status
    if status == 405:
        assert headers.get("Allow") == "GET, HEAD"


def raw(port, data, timeout=5):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(data)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def test_malformed_and_oversized_requests(mfc):
    assert raw(mfc.metrics_port, b"NONSENSE\r\n\r\n").startswith(b"HTTP/1.1 400 ")
    assert raw(mfc.metrics_port, b"GET /metrics HTTP/1.1\r\nX: " + b"a" * 9000).startswith(b"HTTP/1.1 431 ")
    assert raw(mfc.metrics_port, b"GET /metrics HTTP/1.0\n\n").startswith(b"HTTP/1.1 200 ")


def test_a_request_that_never_ends_stalls_no_client(mfc):
    """Slowloris: connections that send part of a request and then nothing; RESP and /metrics go on."""
    slow = []
    try:
        for _ in range(20):
            s = socket.create_connection(("127.0.0.1", mfc.metrics_port), timeout=5)
            s.sendall(b"GET /metr")
            slow.append(s)
        r = mfc.client()
        t0 = time.monotonic()
        for _ in range(50):
            assert r.ping()
        assert http(mfc.metrics_port)[0] == 200
        assert time.monotonic() - t0 < 5, "RESP or /metrics waited on the slow clients"
        for s in slow[:3]:                          # more bytes, still no end of headers: still nothing answered
            s.sendall(b"ics HTTP/1.1\r\nHost: x\r\n")
            s.settimeout(0.2)
            with pytest.raises(socket.timeout):
                s.recv(1)
    finally:
        for s in slow:
            s.close()


def test_slow_client_is_closed_after_its_deadline(mfc):
    with socket.create_connection(("127.0.0.1", mfc.metrics_port), timeout=20) as s:
        s.sendall(b"GET /metrics HTTP/1.1\r\n")
        t0 = time.monotonic()
        assert s.recv(1) == b""                    # closed by the server, not answered
        assert 5 < time.monotonic() - t0 < 15


def test_off_by_default(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep")
    assert "metrics on" not in fc.output()


def test_a_real_prometheus_scrapes_it(mfc, tmp_path):
    exe = shutil.which("prometheus")
    if not exe:
        pytest.skip("prometheus not installed (Debian package prometheus)")
    web = free_port()
    conf = tmp_path / "prometheus.yml"
    conf.write_text("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\nscrape_configs:\n"
                    "  - job_name: flowcached\n    static_configs:\n      - targets: ['127.0.0.1:%d']\n"
                    % mfc.metrics_port)
    with open(tmp_path / "prometheus.log", "wb") as log:
        proc = subprocess.Popen([exe, "--config.file", str(conf), "--storage.tsdb.path", str(tmp_path / "data"),
                                 "--web.listen-address", "127.0.0.1:%d" % web], stdout=log, stderr=subprocess.STDOUT)
    try:
        want = float(mfc.info("capture")["capture_packets"])
        q = urllib.parse.urlencode({"query": "flowcached_capture_packets_total"})
        deadline, last = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            assert proc.poll() is None, tail(tmp_path / "prometheus.log")
            try:
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/query?%s" % (web, q), timeout=5) as r:
                    last = json.load(r)
                result = last["data"]["result"]
                if result:
                    assert float(result[0]["value"][1]) == want
                    assert result[0]["metric"]["job"] == "flowcached"
                    return
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.5)
        raise AssertionError("prometheus never had the figure: %r\n%s" % (last, tail(tmp_path / "prometheus.log")))
    finally:
        stop_pid(proc)


def test_grafana_dashboard_names_only_served_metrics(flowcached, tmp_path):
    """Every expr of the dashboard names a family the endpoint serves (cloud on, towards a node that is down)."""
    dash = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p.get("targets", [])]
    assert len(exprs) >= 6
    fc = start_fc("--cloud", "127.0.0.1:%d" % free_port())
    try:
        _, families, _ = scrape(fc)
    finally:
        fc.stop()
        assert not sanitizer_report(tail(fc.log, 1 << 20))
    for e in exprs:
        names = re.findall(r"flowcached_\w+", e)
        assert names, e
        for n in names:
            assert n in families, "%s (in %r) is not served" % (n, e)
