"""test_cloud.py - replication to real Redis cloud nodes: exact totals (single node, two probes split by direction,
3-master cluster, resharding, node restart), drops past cloud-queue-max, user lookups, AUTH, heartbeat."""
import json
import os
import signal
import subprocess
import threading
import time

import pytest
import redis

from conftest import DEMO_PCAP, GEN_DEMO, NO_EXPIRY, PYTHON, load_truth
from cloudutil import (RedisNode, cluster, fmt, info, make_cluster, mismatches, node, run_to_end,  # noqa: F401
                       split_pcap, start_bg, stop_and_check, wait_for)


@pytest.fixture(scope="module")
def truth():
    return load_truth()


def wait_drained(port, timeout=30):
    def drained():
        i = info(port)
        return int(i["cloud_queued_commands"]) == 0 and int(i["cloud_inflight_commands"]) == 0 and i
    return wait_for(drained, timeout, what="cloud queue drained")


# ---------------------------------------------------------------- single node
def test_single_node_demo_exact(node, truth):
    sub = node.client().pubsub()
    sub.psubscribe("*")
    out = run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", node.addr(), "--probe-id", "t1")
    bad = mismatches([node], truth)
    assert not bad, fmt(bad) + "\n" + out[-2000:]
    c = node.client()
    assert c.ttl(next(iter(truth["flows"]))) > 0
    assert c.ttl("ip." + next(iter(truth["hosts"]))) > 0
    flows = sum(int(c.hget(k, "flows")) for k in c.keys("proto.*"))
    assert flows == sum(int(c.hget(k, "flows")) for k in c.keys("vlan.*"))
    h = c.hgetall("probe.t1")
    assert h["version"] and int(h["cloud.dropped"]) == 0
    assert 0 < c.ttl("probe.t1") <= 3
    got = {"flow.end": 0, "host.new": 0}
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        m = sub.get_message(timeout=0.2)
        if m is None and got["flow.end"] > 0:
            break
        if m and m["type"] == "pmessage":
            got[m["channel"]] = got.get(m["channel"], 0) + 1
            e = json.loads(m["data"])      # the probe's own text: packet time and probe id included
            assert e["probe"] == "t1" and truth["first_ts"] - 1 <= e["ts"] <= truth["first_ts"] + 3600, m
    assert got["host.new"] == len(truth["hosts"])
    assert got["flow.end"] >= len(truth["flows"])
    assert {"dns", "http", "user.login", "user.logout", "flow.new"} <= set(got), got
    sub.close()


def test_descriptive_fields(node, truth):
    run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", node.addr())
    c = node.client()
    key = next(k for k in truth["flows"] if k.startswith("flow.tcp."))
    h = c.hgetall(key)
    for f in ("proto", "cli.ip", "cli.port", "srv.ip", "srv.port", "vlan", "l7", "first.seen", "last.seen"):
        assert f in h, (f, h)
    assert h["proto"] == "tcp"
    assert "key" not in h and "reason" not in h and "ts" not in h and "probe" not in h


def test_generated_capture_exact(node, tmp_path):
    pcap, tj = tmp_path / "g.pcap", tmp_path / "g.json"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "11", "--sessions", "300", "--out", str(pcap),
                    "--truth", str(tj)], check=True, capture_output=True, timeout=120)
    run_to_end("--pcap", pcap, "--pcap-end", "exit", "--cloud", node.addr())
    bad = mismatches([node], load_truth(tj))
    assert not bad, fmt(bad)


# ---------------------------------------------------------------- two probes, one direction each
def test_two_probes_split_by_direction(node, truth, tmp_path):
    a, b = tmp_path / "up.pcap", tmp_path / "down.pcap"
    na, nb = split_pcap(DEMO_PCAP, a, b)
    assert na > 0 and nb > 0
    outs = {}

    def run(name, p):
        outs[name] = run_to_end("--pcap", p, "--pcap-end", "exit", "--cloud", node.addr(), "--probe-id", name)
    ts = [threading.Thread(target=run, args=(n, p)) for n, p in (("up", a), ("down", b))]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    assert set(outs) == {"up", "down"}
    bad = mismatches([node], truth)
    assert not bad, fmt(bad)


# ---------------------------------------------------------------- cluster
def test_cluster_exact(cluster, truth):
    # one seed is enough: the rest of the cluster is learnt from CLUSTER SLOTS
    run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", cluster[0].addr())
    bad = mismatches(cluster, truth)
    assert not bad, fmt(bad)
    sizes = [n.client().dbsize() for n in cluster]
    assert all(s > 0 for s in sizes), sizes


def test_cluster_reshard_during_run(cluster, truth):
    # the demo capture lasts 56 s: at 4x, 14 s, so the resharding (3 000 slots; 5 s or more on a loaded
    # machine) ends while the capture still writes
    proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-speed", "4", "--pcap-end", "expire",
                               "--cloud", cluster[0].addr(), "--cloud", cluster[1].addr(),
                               "--cloud-flush-ms", "20")
    try:
        time.sleep(2.0)
        ids = [n.client().execute_command("CLUSTER", "MYID") for n in cluster]
        r = subprocess.run(["redis-cli", "--cluster", "reshard", cluster[0].addr(), "--cluster-from", ids[0],
                            "--cluster-to", ids[1], "--cluster-slots", "3000", "--cluster-yes",
                            "--cluster-pipeline", "10"], capture_output=True, timeout=120)
        assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
        during = redis.Redis(port=port, socket_timeout=10).info()
        assert int(during["capture_sources_active"]) == 1, "the capture ended before the resharding did"
        wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                 120, what="capture done")
        i = wait_drained(port)
        assert int(i["cloud_dropped_commands"]) == 0, i
        assert int(i["cloud_redirects_moved"]) + int(i["cloud_redirects_ask"]) > 0, i
    finally:
        stop_and_check(proc, log)
    bad = mismatches(cluster, truth)
    assert not bad, fmt(bad) + "\n" + str(i)


# ---------------------------------------------------------------- faults
def test_node_killed_and_restarted(truth):
    n = RedisNode(aof=True)
    try:
        proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-speed", "10", "--pcap-end", "expire",
                                   "--cloud", n.addr(), "--cloud-flush-ms", "20")
        try:
            time.sleep(1.5)
            n.kill()
            time.sleep(1.5)
            mid = info(port)
            n.start()
            wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                     120, what="capture done")
            i = wait_drained(port)
        finally:
            stop_and_check(proc, log)
        assert int(mid["cloud_nodes_connected"]) == 0, mid
        assert int(i["cloud_reconnects"]) >= 1, i
        assert int(i["cloud_dropped_commands"]) == 0, i
        bad = mismatches([n], truth)
        assert not bad, fmt(bad) + "\n" + str(i)
    finally:
        n.close()


def test_stalled_node_blocks_nothing(truth):
    """A node that stops answering (SIGSTOP) delays nothing on the probe; once it resumes, nothing is lost."""
    n = RedisNode()
    try:
        proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-speed", "10", "--pcap-end", "expire",
                                   "--cloud", n.addr(), "--cloud-flush-ms", "20")
        try:
            time.sleep(1.0)
            os.kill(n.proc.pid, signal.SIGSTOP)
            try:
                c = redis.Redis(port=port, socket_timeout=2)
                worst = 0.0
                for _ in range(20):
                    t0 = time.monotonic()
                    c.ping()
                    c.info("cloud")
                    worst = max(worst, time.monotonic() - t0)
                    time.sleep(0.1)
                stalled = info(port)
            finally:
                os.kill(n.proc.pid, signal.SIGCONT)
            assert worst < 0.5, worst
            assert int(stalled["cloud_queued_commands"]) + int(stalled["cloud_inflight_commands"]) > 0, stalled
            wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                     120, what="capture done")
            i = wait_drained(port)
            assert int(i["cloud_dropped_commands"]) == 0, i
        finally:
            stop_and_check(proc, log)
        bad = mismatches([n], truth)
        assert not bad, fmt(bad)
    finally:
        n.close()


def test_tiny_queue_drops_are_counted():
    n = RedisNode()
    try:
        proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-speed", "20", "--pcap-end", "expire",
                                   "--cloud", n.addr(), "--cloud-queue-max", "2kb")
        try:
            time.sleep(0.5)
            n.kill()
            wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                     120, what="capture done")
            i = info(port)
            assert int(i["cloud_dropped_commands"]) > 0, i
            assert int(i["cloud_queued_bytes"]) <= 2048, i
        finally:
            stop_and_check(proc, log)
    finally:
        n.close()


def test_unreachable_cloud_does_not_block_exit():
    n = RedisNode()
    addr = n.addr()
    n.close()          # nobody listens there any more
    t0 = time.monotonic()
    out = run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", addr, timeout=60)
    assert time.monotonic() - t0 < 15, out
    assert "not delivered" in out


# ---------------------------------------------------------------- synchronous channel, AUTH
def test_user_lookup_on_sync_channel(node, truth):
    """Flows whose flow.end names no user get the cloud's ipuser.<client> (GET on the synchronous channel)."""
    clients = {k.split(".", 2)[2].split("-")[0].rsplit(":", 1)[0].strip("[]") for k in truth["flows"]}
    c = node.client()
    c.mset({"ipuser." + ip: "cloud-user" for ip in clients})
    proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-speed", "20", "--pcap-end", "expire",
                               "--cloud", node.addr())
    try:
        wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                 60, what="capture done")
        i = wait_drained(port)
    finally:
        stop_and_check(proc, log)
    assert int(i["cloud_sync_lookups"]) > 0 and int(i["cloud_sync_hits"]) > 0, i
    users = [h.get("user") for h in (c.hgetall(k) for k in truth["flows"])]
    assert users.count("cloud-user") > len(users) // 4, (users.count("cloud-user"), len(users))


def test_aggregates_match_the_probe(node, truth):
    """vlan.* equals the truth; proto.* port.* tls.* dns.* http.* on the cloud equal the probe's own keys."""
    proc, port, log = start_bg("--pcap", DEMO_PCAP, "--pcap-end", "expire", *NO_EXPIRY, "--cloud", node.addr())
    try:
        wait_for(lambda: int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0,
                 60, what="capture done")
        wait_drained(port)
        probe = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        want = {}
        for pat, fields in (("proto.*", ("bytes", "pkts", "flows")), ("port.*", ("bytes", "pkts", "flows")),
                            ("tls.*", ("flows", "bytes")),
                            ("dns.*", ("queries", "responses", "nxdomain")),
                            ("http.*", ("requests", "status.2xx", "status.3xx", "status.4xx", "status.5xx"))):
            for k in probe.keys(pat):
                h = probe.hgetall(k)
                want[k] = {f: int(h.get(f, 0)) for f in fields}
    finally:
        stop_and_check(proc, log)
    c = node.client()
    bad = []
    for k, w in want.items():
        h = c.hgetall(k)
        got = {f: int(h.get(f, 0)) for f in w}
        if got != w:
            bad.append((k, w, got))
    assert not bad, fmt(bad)
    assert any(k.startswith("dns.") for k in want) and any(k.startswith("http.") for k in want)
    assert "port.tcp.80" in want and "port.udp.53" in want
    for vid, v in truth["vlans"].items():
        h = c.hgetall("vlan." + vid)
        assert (int(h["bytes"]), int(h["pkts"])) == (v["bytes"], v["pkts"]), (vid, v, h)


def test_auth_password(truth):
    n = RedisNode(password="s3cret")
    try:
        run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", n.addr(), "--cloud-password", "s3cret")
        bad = mismatches([n], truth)
        assert not bad, fmt(bad)
    finally:
        n.close()


def test_auth_acl_user_and_wrong_password(truth):
    n = RedisNode(password="s3cret")
    try:
        n.client().execute_command("ACL", "SETUSER", "probe", "on", ">pw", "~*", "&*", "+@all")
        run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", n.addr(), "--cloud-user", "probe",
                   "--cloud-password", "pw")
        assert not mismatches([n], truth)
        n.client().flushall()
        t0 = time.monotonic()
        out = run_to_end("--pcap", DEMO_PCAP, "--pcap-end", "exit", "--cloud", n.addr(), "--cloud-password", "bad")
        assert time.monotonic() - t0 < 15
        assert "not delivered" in out
        assert n.client().dbsize() == 0
    finally:
        n.close()
