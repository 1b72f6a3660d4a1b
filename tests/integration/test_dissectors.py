"""test_dissectors.py - DNS/HTTP/TLS/RADIUS tables against ground truth (generators) and against tshark / nDPI
(public captures in ../shared/pcaps).

Truth tests: dns.<qname> queries, rcode totals, http.<host> requests, tls.<sni> flows and the final user -> IP
map (users without a `logout` field, `GET ipuser.<ip>`) equal the generator's truth exactly.

Golden tests: the same tables on real captures, with tshark's dissection of the same file as the oracle, and
proto.<L7> flow counts against nDPI 4.2's expected output (F.out). Every difference that is not a bug is named
below with its reason; anything else fails.
"""
import collections
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import (DEMO_PCAP, DEMO_TRUTH, GEN_DEMO, NO_EXPIRY, PYTHON, SHARED, Flowcached, load_truth,
                      needs_shared)

PCAPS = SHARED / "pcaps"
RCODE_NAMES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED",
               6: "YXDOMAIN", 7: "YXRRSET", 8: "NXRRSET", 9: "NOTAUTH", 10: "NOTZONE"}
# Longest idle timeout flowcached accepts (host-idle-timeout, which also ages dns./http./tls. entries).
MAX_IDLE_S = 3153600000       # 100 years: several captures are concatenations spanning a decade
LONG_TIMEOUTS = ["--flow-idle-timeout", "3153600000", "--flow-lifetime-timeout", "3153600000",
                 "--host-idle-timeout", str(MAX_IDLE_S), "--tcp-close-grace-ms", "86400000"]


# ---------------------------------------------------------------- reading flowcached's tables

def scan_hashes(client, pattern):
    keys = sorted(client.scan_iter(pattern, count=1000))
    pipe = client.pipeline(transaction=False)
    for k in keys:
        pipe.hgetall(k)
    return dict(zip(keys, pipe.execute()))


def dns_tables(client):
    """({qname: queries}, {rcode: n}, {qtype: n}, {(qname, rcode): n}) from the dns.* hashes."""
    queries, rcodes, qtypes, by_name = {}, collections.Counter(), collections.Counter(), collections.Counter()
    for key, h in scan_hashes(client, "dns.*").items():
        name = key[4:]
        if int(h.get("queries", 0)):
            queries[name] = int(h["queries"])
        for f, v in h.items():
            if f.startswith("rcode."):
                rcodes[f[6:]] += int(v)
                by_name[(name, f[6:])] += int(v)
            elif f.startswith("qtype."):
                qtypes[f[6:]] += int(v)
    return queries, rcodes, qtypes, by_name


def named_counter(client, prefix, field):
    return {k[len(prefix):]: int(h.get(field, 0)) for k, h in scan_hashes(client, prefix + "*").items()}


def active_users(client):
    """{user: ip} of users without a logout field."""
    out = {}
    for k, h in scan_hashes(client, "user.*").items():
        if "logout" not in h:
            out[k[5:]] = h.get("ip")
    return out


def diff(want, got, n=12):
    keys = sorted(set(want) | set(got), key=str)
    bad = [(k, want.get(k), got.get(k)) for k in keys if want.get(k) != got.get(k)]
    return "%d differences (key, expected, got): %r" % (len(bad), bad[:n])


# ---------------------------------------------------------------- truth tests (generators)

def rcode_name(k):
    return RCODE_NAMES.get(int(k), "RCODE" + k) if str(k).isdigit() else k


def check_truth(fc, truth):
    c = fc.client()
    queries, rcodes, qtypes, _ = dns_tables(c)
    want_q = {k: int(v) for k, v in truth["dns_queries_by_name"].items()}
    assert queries == want_q, "dns.<qname> queries: " + diff(want_q, queries)
    want_rc = {rcode_name(k): int(v) for k, v in truth["dns_rcodes"].items() if int(v)}
    assert dict(rcodes) == want_rc, "rcode totals: " + diff(want_rc, dict(rcodes))
    if "dns_qtypes" in truth:
        want_qt = {k: int(v) for k, v in truth["dns_qtypes"].items() if int(v)}
        assert dict(qtypes) == want_qt, "qtype totals: " + diff(want_qt, dict(qtypes))
    http = named_counter(c, "http.", "requests")
    want_h = {k: int(v) for k, v in truth["http_hosts"].items()}
    assert http == want_h, "http.<host> requests: " + diff(want_h, http)
    tls = named_counter(c, "tls.", "flows")
    want_t = {k: int(v) for k, v in truth["tls_sni"].items()}
    assert tls == want_t, "tls.<sni> flows: " + diff(want_t, tls)
    users = active_users(c)
    want_u = dict(truth["radius_active_users"])
    assert users == want_u, "active users: " + diff(want_u, users)
    pipe = c.pipeline(transaction=False)
    for ip in want_u.values():
        pipe.get("ipuser." + ip)
    got_ipuser = dict(zip(want_u.values(), pipe.execute()))
    want_ipuser = {ip: u for u, ip in want_u.items()}
    assert got_ipuser == want_ipuser, "GET ipuser.<ip>: " + diff(want_ipuser, got_ipuser)


def run_truth(pcap, truth_path, timeout=120):
    fc = Flowcached("--pcap", pcap, "--pcap-end", "keep", *NO_EXPIRY)
    try:
        fc.wait_pcap_done(timeout)
        check_truth(fc, load_truth(truth_path))
    finally:
        fc.stop()
    fc.check_clean()


def test_truth_demo(demo_fc):
    check_truth(demo_fc, load_truth(DEMO_TRUTH))


@pytest.mark.parametrize("seed", [7, 42])
def test_truth_gen_demo_other_seed(tmp_path, seed):
    pcap, truth = tmp_path / "g.pcap", tmp_path / "g.json"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", str(seed), "--sessions", "1500", "--out", str(pcap),
                    "--truth", str(truth)], check=True, timeout=120)
    run_truth(pcap, truth)


@needs_shared
def test_truth_shared_bench_generator(tmp_path):
    gen = SHARED / "bench" / "gen_traffic.py"
    if not gen.exists():
        pytest.skip("no shared/bench/gen_traffic.py")
    pcap, truth = tmp_path / "x.pcap", tmp_path / "x.json"
    subprocess.run([PYTHON, str(gen), "--sessions", "20000", "--seed", "3", "--out", str(pcap),
                    "--truth", str(truth)], check=True, timeout=300)
    run_truth(pcap, truth, timeout=300)


def test_flow_and_host_fields_demo(demo_fc):
    """The per-flow dns.* / http.* / tls.sni fields and the per-host dns.queries / http.requests agree with the tables."""
    c = demo_fc.client()
    truth = load_truth(DEMO_TRUTH)
    flows = scan_hashes(c, "flow.*")
    dns_flows = [h for h in flows.values() if "dns.query" in h]
    assert dns_flows, "no flow has a dns.query field"
    for h in dns_flows:
        assert h["dns.query"] in truth["dns_queries_by_name"], h
        assert h["dns.qtype"] in truth["dns_qtypes"], h
        if "dns.rcode" in h:
            assert h["dns.rcode"] in truth["dns_rcodes"], h
            assert int(h["dns.rtt.us"]) >= 0
    http_flows = [h for h in flows.values() if "http.host" in h]
    assert {h["http.host"] for h in http_flows} == set(truth["http_hosts"])
    for h in http_flows:
        assert h["http.method"] and h["http.url"].startswith("/"), h
    assert {h["tls.sni"] for h in flows.values() if "tls.sni" in h} == set(truth["tls_sni"])
    hosts = scan_hashes(c, "ip.*")
    assert sum(int(h.get("dns.queries", 0)) for h in hosts.values()) == sum(truth["dns_queries_by_name"].values())
    assert sum(int(h.get("http.requests", 0)) for h in hosts.values()) == sum(truth["http_hosts"].values())
    assert sum(int(h.get("dns.nxdomain", 0)) for h in hosts.values()) == truth["dns_rcodes"].get("NXDOMAIN", 0)
    for user, ip in truth["radius_active_users"].items():
        assert c.get("ipuser." + ip) == user
        u = c.hgetall("user." + user)
        assert u["ip"] == ip and u["login"] and u["nas"], u
        assert c.ttl("user." + user) == -1 and c.ttl("ipuser." + ip) == -1


# ---------------------------------------------------------------- tshark oracle

def tshark_fields(pcap, display_filter, fields):
    cmd = ["tshark", "-n", "-r", str(pcap), "-Y", display_filter, "-T", "fields", "-E", "separator=\t",
           "-E", "occurrence=f"]
    for f in fields:
        cmd += ["-e", f]
    out = subprocess.run(cmd, capture_output=True, timeout=300).stdout.decode("utf-8", "replace")
    return [line.split("\t") for line in out.splitlines()]


def fc_escape(data, lower=False):
    """flowcached's escaping of a name taken from packets (dissectors/escape.c): valid UTF-8 as is, a
    backslash as two, every other byte (controls, DEL, invalid UTF-8) as \\xHH; lower lowercases A-Z only."""
    out = []
    for ch in data.decode("utf-8", "surrogateescape"):
        o = ord(ch)
        if 0xDC80 <= o <= 0xDCFF:
            out.append("\\x%02x" % (o - 0xDC00))
        elif o < 0x20 or o == 0x7F:
            out.append("\\x%02x" % o)
        elif ch == "\\":
            out.append("\\\\")
        else:
            out.append(ch.lower() if lower and "A" <= ch <= "Z" else ch)
    return "".join(out)


def dig_name(msg):
    """First question name of a DNS message as flowcached writes it: each label under fc_escape, ASCII
    lowercased, a '.' inside a label as \\. .
    None when it is not readable (no question, extended label, truncated)."""
    if len(msg) < 12 or (msg[4] << 8 | msg[5]) == 0:
        return None
    pos, labels = 12, []
    while True:
        if pos >= len(msg):
            return None
        n = msg[pos]
        if n == 0:
            break
        if n & 0xC0:
            return None          # a pointer cannot start the first name; 0x40/0x80 labels are not names
        if pos + 1 + n > len(msg):
            return None
        labels.append("\\.".join(fc_escape(part, True) for part in msg[pos + 1:pos + 1 + n].split(b".")))
        pos += 1 + n
    return ".".join(labels)


def dns_oracle(pcap):
    """What flowcached should hold for DNS, from tshark: ({qname: queries}, {(qname, rcode): responses},
    {"long": [...], "root": n, "unreadable": n}) with dns.<qname> entries aged out as flowcached does (an entry
    untouched for MAX_IDLE_S of packet time starts again from zero; the cache clock is the newest packet)."""
    rows = tshark_fields(pcap, "(dns || mdns) && !icmp && !icmpv6 && (udp.port==53 || tcp.port==53 || udp.port==5353)",
                         ["frame.time_epoch", "udp.payload", "dns.qry.name", "dns.flags.rcode", "dns.flags.response",
                          "dns.flags.opcode", "dns.count.queries"])
    events, skipped = [], collections.Counter()
    last_ts = 0.0
    long_names = []
    for ts, payload, tname, rcode, resp, opcode, qd in rows:
        last_ts = max(last_ts, float(ts))
        if opcode not in ("0", "") or qd in ("0", ""):
            continue
        if payload:
            name = dig_name(bytes.fromhex(payload.replace(":", "")))
        else:  # DNS over TCP (reassembled by tshark): names are plain ASCII in these files
            name = tname.lower().rstrip(".") if tname and tname != "<Root>" else None
        if name is None:
            skipped["unreadable"] += 1
            continue
        if name == "":
            skipped["root"] += 1
            continue
        if len(name) >= 1024:
            long_names.append(name)
            continue
        is_resp = resp in ("1", "True")
        events.append((float(ts), name, RCODE_NAMES.get(int(rcode), "RCODE" + rcode) if is_resp else None))
    queries, responses, seen = collections.Counter(), collections.Counter(), {}
    for ts, name, rc in events:
        if name in seen and ts - seen[name] >= MAX_IDLE_S:      # aged out: a new entry
            for k in [k for k in responses if k[0] == name]:
                del responses[k]
            queries.pop(name, None)
        seen[name] = ts
        if rc is None:
            queries[name] += 1
        else:
            responses[(name, rc)] += 1
    gone = {n for n, t in seen.items() if last_ts - t >= MAX_IDLE_S}
    queries = {n: v for n, v in queries.items() if n not in gone}
    responses = {k: v for k, v in responses.items() if k[0] not in gone}
    return queries, responses, {"long": long_names, **skipped}


KNOWN_FILE = Path(__file__).parent / "golden_known.json"
GOLDEN_KNOWN = json.loads(KNOWN_FILE.read_text()) if KNOWN_FILE.exists() else {}


def diff_list(want, got):
    return sorted([repr(k), want.get(k), got.get(k)] for k in set(want) | set(got) if want.get(k) != got.get(k))


def check_known(kind, pcap, problems):
    """problems must be exactly the differences golden_known.json names for this file (usually none), so a
    justified difference is pinned and any new one (or a fixed one) fails. FC_GOLDEN_DUMP=path appends them."""
    import os
    problems = json.loads(json.dumps(problems))
    if os.environ.get("FC_GOLDEN_DUMP"):
        with open(os.environ["FC_GOLDEN_DUMP"], "a") as f:
            f.write(json.dumps({"kind": kind, "file": rel(pcap), "diff": problems}) + "\n")
    known = GOLDEN_KNOWN.get(kind, {}).get(rel(pcap), {})
    assert problems == known.get("diff", []), (
        "%s differences for %s, as [key, expected(oracle), got(flowcached)]: %r\nexpected: %r (%s)"
        % (kind, rel(pcap), problems[:15], known.get("diff", []), known.get("why", "none expected")))


def pcap_files(sub):
    d = PCAPS / sub
    return sorted(p for p in d.iterdir() if p.suffix in (".pcap", ".pcapng")) if d.is_dir() else []


ALL_PCAPS = [p for sub in ("ndpi", "ndpi-dev", "other") for p in pcap_files(sub)]
needs_tshark = pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")


def rel(p):
    return "%s/%s" % (p.parent.name, p.name)


@pytest.fixture(scope="module")
def golden_runs():
    """flowcached's tables for each public capture, computed once per module."""
    cache = {}

    def get(pcap):
        if pcap not in cache:
            fc = Flowcached("--pcap", pcap, "--pcap-end", "keep", *LONG_TIMEOUTS)
            try:
                fc.wait_pcap_done(120)
                c = fc.client()
                cache[pcap] = {
                    "dns": dns_tables(c),
                    "http": scan_hashes(c, "http.*"),
                    "flows": scan_hashes(c, "flow.*"),
                    "users": scan_hashes(c, "user.*"),
                    "ipuser": {k[7:]: c.get(k) for k in c.scan_iter("ipuser.*")},
                    "proto": scan_hashes(c, "proto.*"),
                }
            finally:
                fc.stop()
            fc.check_clean()
        return cache[pcap]
    return get


# Files where the oracle's names include ones flowcached cannot key: presentation form >= 1024 characters
# (longer than any name can be with its \DDD escapes: capture/flow/app.c APP_NAME_MAX). None expected; the
# iodine tunnel's 39 binary names (256-1023 characters) are keyed and counted like any other.
DNS_LONG_NAMES = {}


@needs_shared
@needs_tshark
@pytest.mark.parametrize("pcap", ALL_PCAPS, ids=[rel(p) for p in ALL_PCAPS])
def test_golden_dns(pcap, golden_runs):
    want_q, want_r, skipped = dns_oracle(pcap)
    got_q, _, _, got_r = golden_runs(pcap)["dns"]
    assert len(skipped["long"]) == DNS_LONG_NAMES.get(rel(pcap), 0), \
        "DNS messages whose name is >= 256 characters: %d (%r)" % (len(skipped["long"]), skipped["long"][:2])
    problems = [["queries"] + d for d in diff_list(want_q, got_q)] + \
               [["responses"] + d for d in diff_list(want_r, dict(got_r))]
    check_known("dns", pcap, problems)


def http_oracle(pcap):
    """({host: requests}, {class: responses}) from tshark, for the HTTP flowcached dissects: TCP with server port
    80/8080 or a request line at the start of the client's first payload (tshark: http.request on any port)."""
    req = tshark_fields(pcap, "http.request && tcp", ["http.host", "http.request.uri", "tcp.dstport", "tcp.stream"])
    resp = tshark_fields(pcap, "http.response && tcp && http.request_in", ["http.response.code", "tcp.stream"])
    hosts, urls = collections.Counter(), set()
    streams_with_host = set()
    for host, uri, port, stream in req:
        if not host:
            continue
        host = host.lower()
        if not host.startswith("[") and host.count(":") == 1:
            host = host.split(":")[0]          # flowcached keys http.<host> without the port
        hosts[host] += 1
        urls.add(fc_escape(uri.encode("utf-8", "surrogateescape")))   # tshark prints a backslash as is
        streams_with_host.add(stream)
    classes = collections.Counter()
    for code, stream in resp:
        if stream in streams_with_host and code:
            classes["status.%dxx" % (int(code) // 100)] += 1
    return hosts, classes, urls


@needs_shared
@needs_tshark
@pytest.mark.parametrize("pcap", ALL_PCAPS, ids=[rel(p) for p in ALL_PCAPS])
def test_golden_http(pcap, golden_runs):
    want_hosts, want_classes, want_urls = http_oracle(pcap)
    run = golden_runs(pcap)
    got_hosts = {k[5:]: int(h.get("requests", 0)) for k, h in run["http"].items() if int(h.get("requests", 0))}
    problems = [["requests"] + d for d in diff_list(dict(want_hosts), got_hosts)]
    got_classes = collections.Counter()
    for h in run["http"].values():
        for f, v in h.items():
            if f.startswith("status.") and int(v):
                got_classes[f] += int(v)
    problems += [["status"] + d for d in diff_list(dict(want_classes), dict(got_classes))]
    for key, h in sorted(run["flows"].items()):
        if "http.url" in h:
            if h["http.url"] not in want_urls:
                problems.append(["flow url", key, h["http.url"]])
            if "http.host" in h and h["http.host"] not in want_hosts:   # shown only when the request had one
                problems.append(["flow host", key, h["http.host"]])
            if "http.status" in h:
                assert 100 <= int(h["http.status"]) < 600
    check_known("http", pcap, problems)


def radius_oracle(pcap):
    """{user: last Framed-IP-Address} of Accounting-Requests with an Acct-Status-Type, and the users whose
    last status was Stop."""
    rows = tshark_fields(pcap, "radius.code == 4 && radius.Acct_Status_Type",
                         ["radius.User_Name", "radius.Framed-IP-Address", "radius.Acct_Status_Type"])
    users, stopped = {}, set()
    for user, ip, status in rows:
        if not user:
            continue
        if ip:
            users[user] = ip
        else:
            users.setdefault(user, None)
        if status == "2":
            stopped.add(user)
        else:
            stopped.discard(user)
    return users, stopped


RADIUS_PCAPS = [p for p in ALL_PCAPS if "radius" in p.name or "fuzz-2020" in p.name]


@needs_shared
@needs_tshark
@pytest.mark.parametrize("pcap", RADIUS_PCAPS, ids=[rel(p) for p in RADIUS_PCAPS])
def test_golden_radius(pcap, golden_runs):
    want, stopped = radius_oracle(pcap)
    run = golden_runs(pcap)
    got = {k[5:]: h.get("ip") for k, h in run["users"].items()}
    check_known("radius", pcap, diff_list(want, got))
    for user, ip in want.items():
        if user not in got:
            continue
        assert ("logout" in run["users"]["user." + user]) == (user in stopped)
        if ip:
            assert run["ipuser"].get(ip) == user
    all_acc = tshark_fields(pcap, "radius.code == 1", ["radius.User_Name"])
    if all_acc and not want:
        assert not got, "Access-Requests must not make users (only accounting does): %r" % got


# ---------------------------------------------------------------- nDPI's expected results

def ndpi_out_protocols(out_path):
    """{protocol: flows} from the 'Detected protocols' block of ndpiReader's -v 2 output (name pkts bytes flows)."""
    res = {}
    for line in Path(out_path).read_text(errors="replace").splitlines():
        m = re.match(r"^\s*([A-Za-z0-9_.\-]+)\s+(\d+)\s+(\d+)\s+(\d+)\s*$", line)
        if m:
            res[m.group(1)] = int(m.group(4))
    return res


NDPI_OUTS = [p for p in pcap_files("ndpi") if Path(str(p) + ".out").exists()]


@needs_shared
@pytest.mark.parametrize("pcap", NDPI_OUTS, ids=[rel(p) for p in NDPI_OUTS])
def test_ndpi_protocol_flows(pcap, golden_runs):
    want = ndpi_out_protocols(str(pcap) + ".out")
    got = {k[6:]: int(h.get("flows", 0)) for k, h in golden_runs(pcap)["proto"].items() if int(h.get("flows", 0))}
    differences = {p: [want.get(p, 0), got.get(p, 0)] for p in sorted(set(want) | set(got))
                   if want.get(p, 0) != got.get(p, 0)}
    check_known("ndpi", pcap, [[p] + v for p, v in differences.items()])
