"""test_watchlist.py - the watchlist set: file, SMEMBERS/SISMEMBER/SCARD, SADD/SREM with atomic rewrite, errors,
SIGHUP reload, alert.watchlist events."""
import json
import os
import signal
import time

import pytest
import redis

from conftest import DEMO_PCAP, DEMO_TRUTH, NO_EXPIRY, load_truth
from liveutil import Collector, delayed_copy

ENTRIES = ["10.0.0.53", "10.20.0.0/16", "2001:db8::/32", "2001:db8:1::53", "192.0.2.0/24"]


def write_list(path, entries, comment=True):
    path.write_text(("# test watchlist\n" if comment else "") + "\n".join(entries) + "\n")


def file_entries(path):
    return {l.strip() for l in path.read_text().splitlines() if l.strip() and not l.startswith("#")}


def test_members_card_ismember(flowcached, tmp_path):
    wl = tmp_path / "wl.txt"
    write_list(wl, ENTRIES)
    fc = flowcached("--watchlist", wl)
    c = fc.client()
    assert c.smembers("watchlist") == set(ENTRIES)
    assert c.scard("watchlist") == len(ENTRIES)
    assert c.sismember("watchlist", "10.20.0.0/16") and c.sismember("watchlist", "2001:db8::/32")
    assert not c.sismember("watchlist", "10.9.9.9")
    assert c.type("watchlist") == "set" and c.ttl("watchlist") == -1


def test_sadd_srem_rewrite_and_restart(flowcached, tmp_path):
    wl = tmp_path / "wl.txt"
    write_list(wl, ENTRIES)
    fc = flowcached("--watchlist", wl)
    c = fc.client()
    ino = os.stat(wl).st_ino
    assert c.sadd("watchlist", "10.9.9.9") == 1
    assert c.sadd("watchlist", "10.9.9.9") == 0
    assert "10.9.9.9" in file_entries(wl)
    assert os.stat(wl).st_ino != ino, "the file must be replaced atomically (temp + rename), not edited in place"
    assert not list(tmp_path.glob("wl.txt?*")), "temp file left behind: %r" % list(tmp_path.iterdir())
    assert c.srem("watchlist", "192.0.2.0/24") == 1
    assert c.srem("watchlist", "192.0.2.0/24") == 0
    want = (set(ENTRIES) | {"10.9.9.9"}) - {"192.0.2.0/24"}
    assert file_entries(wl) == want == c.smembers("watchlist")
    fc.stop()
    fc2 = flowcached("--watchlist", wl)
    assert fc2.client().smembers("watchlist") == want


def test_write_errors(flowcached, tmp_path):
    wl = tmp_path / "wl.txt"
    write_list(wl, ENTRIES)
    fc = flowcached("--watchlist", wl)
    c = fc.client()
    before = wl.read_text()
    for bad in ("not-an-ip", "10.0.0.300", "10.0.0.0/33", "2001:db8::/129", ""):
        with pytest.raises(redis.ResponseError) as e:
            c.sadd("watchlist", bad)
        assert "ERR" in str(e.value) or str(e.value)
    with pytest.raises(redis.ResponseError):
        c.sadd("watchlist", "10.1.1.1", "garbage")        # all or nothing
    assert wl.read_text() == before and not c.sismember("watchlist", "10.1.1.1")
    with pytest.raises(redis.ResponseError) as e:
        c.sadd("otherset", "10.1.1.1")
    assert str(e.value) == "You can't write against a read only replica."
    with pytest.raises(redis.ResponseError) as e:
        c.srem("otherset", "10.1.1.1")
    assert "read only replica" in str(e.value)


def test_sighup_reload(flowcached, tmp_path):
    wl = tmp_path / "wl.txt"
    write_list(wl, ENTRIES)
    fc = flowcached("--watchlist", wl)
    c = fc.client()
    write_list(wl, ["172.16.0.0/12", "2001:db8:ffff::1"])
    os.kill(fc.proc.pid, signal.SIGHUP)
    deadline = time.monotonic() + 5
    while c.smembers("watchlist") != {"172.16.0.0/12", "2001:db8:ffff::1"} and time.monotonic() < deadline:
        time.sleep(0.05)
    assert c.smembers("watchlist") == {"172.16.0.0/12", "2001:db8:ffff::1"}
    write_list(wl, ["bogus line"])                       # a bad file keeps the previous list
    os.kill(fc.proc.pid, signal.SIGHUP)
    time.sleep(0.5)
    assert c.smembers("watchlist") == {"172.16.0.0/12", "2001:db8:ffff::1"}
    assert "SIGHUP" in fc.output()


def test_alert_events(flowcached, tmp_path):
    """One alert.watchlist per flow touching a listed address (here: the resolver 10.0.0.53 and one HTTP client),
    and one per DNS query of such a flow (with dns.query; the first query rides on the flow's alert)."""
    truth = load_truth(DEMO_TRUTH)
    wl = tmp_path / "wl.txt"
    write_list(wl, ["10.0.0.53"])
    pcap = delayed_copy(DEMO_PCAP, tmp_path / "lead.pcap")
    fc = flowcached("--watchlist", wl, "--pcap", pcap, "--pcap-speed", "10", "--pcap-end", "keep", *NO_EXPIRY)
    col = Collector(fc.client(), ("alert.watchlist", "dns"))
    try:
        fc.wait_pcap_done(60)
        col.wait_quiet(1.5, 30)
        alerts = col.json_of("alert.watchlist")
        queries = len([d for d in col.json_of("dns") if "10.0.0.53" in (d["server"], d["client"])])
    finally:
        col.close()
    touching = [k for k in truth["flows"] if "-10.0.0.53:" in k or ".10.0.0.53:" in k.split("-")[0]]
    assert {a["key"] for a in alerts} == set(touching)
    plain = [a["key"] for a in alerts if "dns.query" not in a]      # flow alerts whose first packet had no query
    assert len(plain) == len(set(plain))
    # every answered query of the resolver has its alert (unanswered ones too, which have no dns event yet)
    assert len([a for a in alerts if "dns.query" in a]) >= queries > len(touching) // 2
    for a in alerts:
        assert a["ip"] == "10.0.0.53" and a["match"] == "10.0.0.53" and a["peer"] and a["l7"], a
        if a["key"].endswith(":53") and a["key"].startswith("flow.udp."):
            assert a.get("dns.query") in truth["dns_queries_by_name"], a
