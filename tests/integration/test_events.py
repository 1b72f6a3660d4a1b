"""test_events.py - every channel's events (flow.new, flow.end, host.new, dns, http, user.login, user.logout,
alert.watchlist, mac, key expiry) from a replay of the demo capture: counts against its truth, ts and probe on each."""
import json
import re
import time

import pytest

from conftest import DEMO_PCAP, NO_EXPIRY, load_truth, DEMO_TRUTH
from liveutil import Collector, delayed_copy

SPEED = "10"            # demo: 60 s of traffic -> 6 s, plus a 2 s lead to subscribe
PROBE = "probe-7"
KEYEVENT = "__keyevent@0__:expired"
JSON_CHANNELS = ("flow.new", "flow.end", "host.new", "dns", "http", "user.login", "user.logout", "alert.watchlist",
                 "mac")


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    from conftest import Flowcached, tail
    d = tmp_path_factory.mktemp("ev")
    pcap = delayed_copy(DEMO_PCAP, d / "demo-lead.pcap")
    wl = d / "watchlist.txt"
    wl.write_text("10.0.1.53\n")        # one of the demo's DNS servers: alert.watchlist on its flows
    fc = Flowcached("--pcap", pcap, "--pcap-speed", SPEED, "--pcap-end", "expire", "--probe-id", PROBE,
                    "--watchlist", wl, "--notify-keyspace-events", "Ex")
    col = Collector(fc.client(), patterns=("*",))
    col.t0 = time.time()
    try:
        time.sleep(0.3)
        fc.wait_pcap_done(120)
        col.wait_quiet(2.0, 60)
        col.t1 = time.time()
        yield col
    finally:
        col.close()
        fc.stop()
        assert not [m for m in ("AddressSanitizer", "runtime error:") if m in tail(fc.log, 1 << 20)]


def test_every_message_is_one_json_line(replay):
    assert replay.msgs
    for ch, data in replay.msgs:
        assert "\n" not in data, (ch, data)
        if ch != KEYEVENT:
            assert isinstance(json.loads(data), dict), (ch, data)


def test_every_channel_carries_ts_and_probe(replay):
    """KEYSPACE.md: every message carries ts (packet time, seconds with milliseconds) and probe (the probe id);
    the key-expiry channel carries the key name alone, as Redis."""
    seen = set()
    for ch, data in replay.msgs:
        seen.add(ch)
        if ch == KEYEVENT:
            assert re.fullmatch(r"[a-z]+\.[^{}\s\"]+", data), data
            continue
        m = re.search(r',"ts":(\d+\.\d{3}),"probe":"([^"]*)"}$', data)
        assert m and m.group(2) == PROBE, (ch, data)
        e = json.loads(data)
        ts = float(m.group(1))
        assert replay.t0 - 5 <= ts <= replay.t1 + 5, (ch, data)     # replayed at speed: packet times are now
        if ch == "flow.new":
            assert e["ts"] == e["first.seen"], e
        if ch == "flow.end":
            assert e["ts"] >= e["last.seen"], e
    assert seen == set(JSON_CHANNELS) | {KEYEVENT}, seen


def test_dns_events_one_per_transaction(replay):
    truth = load_truth(DEMO_TRUTH)
    ev = replay.json_of("dns")
    transactions = sum(truth["dns_rcodes"].values()) + truth["sessions_by_kind"]["dns_udp_unanswered"]
    assert len(ev) == transactions == sum(truth["dns_queries_by_name"].values())
    for e in ev:
        assert {"client", "server", "qname", "qtype", "rcode", "txid"} <= set(e), e
        assert e["qname"] in truth["dns_queries_by_name"]
        assert e["qtype"] in truth["dns_qtypes"]
        if e["rcode"] != "TIMEOUT":
            assert e["rcode"] in truth["dns_rcodes"] and int(e["rtt.us"]) >= 0, e
        else:                           # the query's own packet time, before the verdict's
            assert "rtt.us" not in e and truth["first_ts"] <= e["query.ts"] <= e["ts"], e
    rc = {}
    for e in ev:
        rc[e["rcode"]] = rc.get(e["rcode"], 0) + 1
    assert rc.pop("TIMEOUT") == truth["sessions_by_kind"]["dns_udp_unanswered"]
    assert rc == truth["dns_rcodes"]
    names = {}
    for e in ev:
        names[e["qname"]] = names.get(e["qname"], 0) + 1
    assert names == truth["dns_queries_by_name"]


def test_http_events(replay, demo_fc):
    truth = load_truth(DEMO_TRUTH)
    ev = replay.json_of("http")
    responses = sum(int(v) for k in demo_fc.client().keys("http.*")
                    for f, v in demo_fc.client().hgetall(k).items() if f.startswith("status."))
    assert len(ev) == responses > 0
    for e in ev:
        assert {"client", "server", "method", "host", "url", "status", "ua"} <= set(e), e
        assert e["host"] in truth["http_hosts"] and e["url"].startswith("/") and 100 <= int(e["status"]) < 600


def test_user_events(replay):
    truth = load_truth(DEMO_TRUTH)
    login, logout = replay.json_of("user.login"), replay.json_of("user.logout")
    assert len(login) == truth["sessions_by_kind"]["radius_start"]
    assert len(logout) == truth["sessions_by_kind"]["radius_stop"]
    for e in login + logout:
        assert set(e) >= {"user", "ip", "nas", "session"} and e["user"] and e["ip"], e
    last = {}
    for ch, d in replay.msgs:
        if ch in ("user.login", "user.logout"):
            e = json.loads(d)
            last[e["user"]] = (ch, e["ip"])
    active = {u: ip for u, (ch, ip) in last.items() if ch == "user.login"}
    assert active == truth["radius_active_users"]


def test_flow_end_events(replay):
    truth = load_truth(DEMO_TRUTH)
    ends = replay.json_of("flow.end")
    news = replay.json_of("flow.new")
    assert len(ends) == len(news) == len(truth["flows"])
    assert {e["key"] for e in ends} == set(truth["flows"])
    for e in ends:
        assert e["reason"], e
        t = truth["flows"][e["key"]]
        for f in ("bytes.c2s", "bytes.s2c", "pkts.c2s", "pkts.s2c"):
            assert int(e[f]) == t[f], (e, t)


def expired_keys(flowcached, nke):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-speed", "20", "--pcap-end", "expire", "--notify-keyspace-events", nke,
                    "--flow-idle-timeout", "1", "--host-idle-timeout", "2")
    col = Collector(fc.client(), ("__keyevent@0__:expired",))
    try:
        fc.wait_pcap_done(60)
        time.sleep(3)
        col.wait_quiet(2.0, 20)
        return col.of("__keyevent@0__:expired")
    finally:
        col.close()


def test_keyevent_expired_flows(flowcached):
    truth = load_truth(DEMO_TRUTH)
    keys = expired_keys(flowcached, "Ex")
    flows = [k for k in keys if k.startswith("flow.")]
    assert flows and set(flows) <= set(truth["flows"]), keys[:5]
    assert len(flows) == len(set(flows))


def test_keyevent_expired_off_by_default(flowcached):
    assert expired_keys(flowcached, "") == []


def test_keyevent_expired_hosts(flowcached):
    truth = load_truth(DEMO_TRUTH)
    keys = expired_keys(flowcached, "Ex")
    hosts = [k for k in keys if k.startswith("ip.")]
    assert hosts and {k[3:] for k in hosts} <= set(truth["hosts"]), keys[:5]
