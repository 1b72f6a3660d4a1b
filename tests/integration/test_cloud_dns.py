"""test_cloud_dns.py - DNS across probes: two probes fed opposite directions of one generated capture (tools/gen_demo.py,
own seeds), at the same time and one after the other, into one real redis-server and into a 3-master Redis Cluster.
The cloud's dns.* queries / responses / rcodes / qtypes equal the generator's truth, every answered query is one
transaction whose response time comes from the two probes' packet times (equal to what one probe seeing both
directions measures), ip.* dns.queries add up to the queries, and the cloud's `dns` channel carries one message per
transaction: TIMEOUT only for the queries nobody answered."""
import json
import subprocess
import time

import pytest
import redis

from conftest import GEN_DEMO, NO_EXPIRY, PYTHON, load_truth
from cloudutil import cluster, info, node, split_pcap, start_bg, stop_and_check, wait_for  # noqa: F401

WINDOW = 4          # cloud-dns-window of the runs at the same time: verdicts come 4 s after each sighting


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("clouddns")
    pcap, tj = d / "g.pcap", d / "g.json"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "4242", "--sessions", "400", "--out", str(pcap),
                    "--truth", str(tj)], check=True, capture_output=True, timeout=120)
    up, down = d / "up.pcap", d / "down.pcap"
    nu, nd = split_pcap(pcap, up, down)
    assert nu > 0 and nd > 0
    truth = load_truth(tj)
    assert truth["sessions_by_kind"]["dns_udp_unanswered"] > 0
    return {"pcap": pcap, "up": up, "down": down, "truth": truth}


def probe(pcap, nodes, name, window, *extra):
    return start_bg("--pcap", pcap, "--pcap-end", "expire", "--cloud", nodes[0].addr(), "--probe-id", name,
                    "--cloud-dns-window", str(window), *extra)


def wait_done(port):
    """Capture read, every flow ended, the cloud queue empty."""
    def done():
        r = redis.Redis(port=port, socket_timeout=10)
        if int(r.info()["capture_sources_active"]) != 0:
            return False
        i = info(port)
        return int(i["cloud_queued_commands"]) == 0 and int(i["cloud_inflight_commands"]) == 0
    wait_for(done, 60, what="capture done and cloud queue drained")


def wait_verdicts(port):
    wait_for(lambda: int(info(port)["cloud_dns_verdicts_waiting"]) == 0, 120, what="DNS verdicts sent")
    wait_done(port)


def drain(sub):
    out = []
    while True:
        m = sub.get_message(timeout=1.0)
        if m is None:
            return out
        if m["type"] == "message":
            out.append(json.loads(m["data"]))


def totals(nodes, pattern, fields=None):
    """{field: sum} over the keys matching pattern on every node."""
    tot = {}
    for n in nodes:
        c = n.client()
        for k in c.keys(pattern):
            for f, v in c.hgetall(k).items():
                if fields is None or f in fields:
                    tot[f] = tot.get(f, 0) + int(v)
    return tot


def per_name(nodes, field):
    out = {}
    for n in nodes:
        c = n.client()
        for k in c.keys("dns.*"):
            v = c.hget(k, field)
            if v is not None:
                out[k[4:]] = int(v)
    return out


def local_rtt(pcap):
    """rtt.us.sum and rtt.count per name of one probe that sees both directions (no cloud)."""
    proc, port, log = start_bg("--pcap", pcap, "--pcap-end", "expire", *NO_EXPIRY)
    try:
        wait_for(lambda: int(redis.Redis(port=port).info()["capture_sources_active"]) == 0, 60, what="capture")
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        return {k[4:]: (int(r.hget(k, "rtt.us.sum") or 0), int(r.hget(k, "rtt.count") or 0))
                for k in r.keys("dns.*")}
    finally:
        stop_and_check(proc, log)


def check_cloud(nodes, truth, msgs, rtt_want=None):
    queries = sum(truth["dns_queries_by_name"].values())
    answers = sum(truth["dns_rcodes"].values())
    unanswered = truth["sessions_by_kind"]["dns_udp_unanswered"]
    assert per_name(nodes, "queries") == truth["dns_queries_by_name"]
    tot = totals(nodes, "dns.*")
    assert tot["responses"] == answers and tot["rtt.count"] == answers, tot
    assert {k[6:]: v for k, v in tot.items() if k.startswith("rcode.")} == truth["dns_rcodes"]
    assert {k[6:]: v for k, v in tot.items() if k.startswith("qtype.")} == truth["dns_qtypes"]
    assert tot.get("nxdomain", 0) == truth["dns_rcodes"].get("NXDOMAIN", 0)
    hosts = totals(nodes, "ip.*", ("dns.queries", "dns.nxdomain"))
    assert hosts["dns.queries"] == queries, hosts
    assert hosts.get("dns.nxdomain", 0) == truth["dns_rcodes"].get("NXDOMAIN", 0)
    if rtt_want is not None:          # the two probes' packet times give what one probe sees
        got = {q: (int(s), c) for q, s, c in
               ((q, per_name(nodes, "rtt.us.sum").get(q, 0), per_name(nodes, "rtt.count").get(q, 0))
                for q in rtt_want)}
        assert got == rtt_want
    rc = {}
    for m in msgs:
        rc[m["rcode"]] = rc.get(m["rcode"], 0) + 1
        if m["rcode"] != "TIMEOUT":
            assert "rtt.us" in m and m["query.probe"] != m["probe"], m
    assert len(msgs) == queries, rc
    assert rc.pop("TIMEOUT", 0) == unanswered, "false (or lost) TIMEOUTs"
    assert rc == truth["dns_rcodes"]
    for n in nodes:
        assert not n.client().keys("dnstx.*")


def run_together(nodes, capture):
    """Both probes at the same time; returns the cloud's `dns` messages once every verdict is in."""
    sub = nodes[0].client().pubsub()
    sub.subscribe("dns")
    procs = [probe(capture["up"], nodes, "up", WINDOW), probe(capture["down"], nodes, "down", WINDOW)]
    try:
        for _, port, _ in procs:
            wait_done(port)
        for _, port, _ in procs:
            wait_verdicts(port)
            assert int(info(port)["cloud_error_replies"]) == 0
    finally:
        for proc, _, log in procs:
            stop_and_check(proc, log)
    msgs = drain(sub)
    sub.close()
    return msgs


def test_split_probes_at_the_same_time(node, capture):
    rtt_want = local_rtt(capture["pcap"])
    check_cloud([node], capture["truth"], run_together([node], capture), rtt_want)


@pytest.mark.parametrize("first", ["up", "down"])
def test_split_probes_one_after_the_other(node, capture, first):
    """The second probe starts once the first has read everything and reported every flow's queries."""
    second = "down" if first == "up" else "up"
    sub = node.client().pubsub()
    sub.subscribe("dns")
    a = probe(capture[first], [node], first, 20)
    procs = [a]
    try:
        wait_done(a[1])
        time.sleep(2)
        b = probe(capture[second], [node], second, 20)
        procs.append(b)
        wait_done(b[1])
        for _, port, _ in procs:
            wait_verdicts(port)
    finally:
        for proc, _, log in procs:
            stop_and_check(proc, log)
    check_cloud([node], capture["truth"], drain(sub))
    sub.close()


def test_probe_channel_has_no_false_timeout(node, capture):
    """A probe's own `dns` channel: a query it saw alone is published with the cloud's verdict, after the
    window: the merged transaction (rcode, rtt.us, query.probe = this probe) when the other probe saw the
    answer, a TIMEOUT only for the queries nobody answered. The capture (55 s) is replayed at 20 times its
    speed, so that the subscriptions are in before the first flow ends."""
    fast = ("--pcap-speed", "20")
    procs = [probe(capture["up"], [node], "up", WINDOW, *fast), probe(capture["down"], [node], "down", WINDOW, *fast)]
    subs = {}
    try:
        for (_, port, _), name in zip(procs, ("up", "down")):
            subs[name] = redis.Redis(port=port, socket_timeout=10).pubsub()
            subs[name].subscribe("dns")
        for _, port, _ in procs:
            wait_done(port)
        for _, port, _ in procs:
            wait_verdicts(port)
        infos = [info(port) for _, port, _ in procs]
        got = {name: drain(sub) for name, sub in subs.items()}
    finally:
        for proc, _, log in procs:
            stop_and_check(proc, log)
    truth = capture["truth"]
    answers, unanswered = sum(truth["dns_rcodes"].values()), truth["sessions_by_kind"]["dns_udp_unanswered"]
    timeouts = [m for ms in got.values() for m in ms if m["rcode"] == "TIMEOUT"]
    merged = {name: [m for m in ms if "query.probe" in m] for name, ms in got.items()}
    assert len(timeouts) == unanswered, "false (or lost) TIMEOUTs on the probes' own channels"
    assert sum(len(v) for v in merged.values()) == answers
    for name, ms in merged.items():
        assert all(m["query.probe"] == name and m["probe"] != name and "rtt.us" in m for m in ms)
    rc = {}
    for ms in merged.values():
        for m in ms:
            rc[m["rcode"]] = rc.get(m["rcode"], 0) + 1
    assert rc == truth["dns_rcodes"]
    assert sum(int(i["cloud_dns_local_merged"]) for i in infos) == answers
    assert sum(int(i["cloud_dns_local_timeouts"]) for i in infos) == unanswered
    assert all(int(i["cloud_dns_local_unverified"]) == 0 for i in infos)
    for n in [node]:
        assert not n.client().keys("dnstx.*")


def test_first_probe_stops_before_the_second_runs(node, capture):
    """A probe that exits leaves its sightings undecided (no TIMEOUT for an answer still to come): the probe
    run later matches them all; only the truly unanswered queries stay without a TIMEOUT message."""
    sub = node.client().pubsub()
    sub.subscribe("dns")
    a = probe(capture["down"], [node], "down", 30)
    wait_done(a[1])
    assert "left undecided" in stop_and_check(a[0], a[2])
    b = probe(capture["up"], [node], "up", 3)
    try:
        wait_done(b[1])
        wait_verdicts(b[1])
    finally:
        stop_and_check(b[0], b[2])
    msgs, truth = drain(sub), capture["truth"]
    answers = sum(truth["dns_rcodes"].values())
    assert per_name([node], "queries") == truth["dns_queries_by_name"]
    tot = totals([node], "dns.*", ("responses", "rtt.count"))
    assert tot == {"responses": answers, "rtt.count": answers}
    answered = [m for m in msgs if m["rcode"] != "TIMEOUT"]
    assert len(answered) == answers and all("rtt.us" in m for m in answered)
    timeouts = [m for m in msgs if m["rcode"] == "TIMEOUT"]
    assert len(timeouts) <= truth["sessions_by_kind"]["dns_udp_unanswered"]
    assert all(m["probe"] == "up" for m in timeouts)     # "down" stopped: its unanswered queries are undecided
    sub.close()


def test_split_probes_cluster(cluster, capture):
    check_cloud(cluster, capture["truth"], run_together(cluster, capture))


# ---------------------------------------------------------------- the cloud's view equals the probe's
# Fields a probe shows that the cloud leaves out, and why (README "The cloud's keys"):
PROBE_ONLY = {
    "ip": {"flows.active"},             # a gauge of the probe's live flows, not a sum across probes
    "proto": {"flows.active"}, "port": {"flows.active"},
    "dns": {"rtt.us.avg"},              # an average does not add up; rtt.us.sum / rtt.count do
}


def test_cloud_host_view_equals_the_probe(node, capture):
    """One probe, the whole capture: every field it shows on ip.* (mac, dns.queries, dns.nxdomain, http.requests,
    os, vlan.<id>.*, rtt.*, service.*...), mac.*, dns.*, http.*, tls.*, proto.*, port.*, vlan.* is in the cloud
    with the same value, but for the probe-only fields listed above."""
    proc, port, log = start_bg("--pcap", capture["pcap"], "--pcap-end", "expire", *NO_EXPIRY, "--cloud",
                               node.addr(), "--cloud-dns-window", "1")
    try:
        wait_done(port)
        wait_verdicts(port)
        time.sleep(1)
        assert int(info(port)["cloud_dropped_commands"]) == 0
        p = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        probe_keys = {k: p.hgetall(k) for k in p.keys("*") if p.type(k) == "hash"}
    finally:
        stop_and_check(proc, log)
    c = node.client()
    bad, families = [], set()
    for k, want in probe_keys.items():
        fam = k.split(".", 1)[0]
        if fam == "flow":               # flows have ended: the probe shows none
            continue
        families.add(fam)
        got = c.hgetall(k)
        for f, v in want.items():
            if f in ("first.seen", "last.seen") and fam not in ("ip", "mac"):
                continue                # dns.* http.* ...: the probe's name-table times, not replicated
            if f not in PROBE_ONLY.get(fam, ()) and got.get(f, "0") != v:     # a zero counter may be absent
                bad.append((k, f, v, got.get(f)))
    assert not bad, "%d differences, first: %s" % (len(bad), bad[:10])
    assert {"ip", "mac", "dns", "http", "tls", "proto", "port", "vlan"} <= families
    fields = {f for k, h in probe_keys.items() if k.startswith("ip.") for f in h}
    assert {"mac", "dns.queries", "dns.nxdomain", "http.requests", "os", "rtt.us.sum", "rtt.count",
            "first.seen"} <= fields
    assert {"ip", "first.seen"} <= {f for k, h in probe_keys.items() if k.startswith("mac.") for f in h}
    assert any(f.startswith("vlan.") for f in fields)
