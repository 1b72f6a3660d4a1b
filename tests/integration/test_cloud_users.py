"""test_cloud_users.py - RADIUS users across two probes and one real redis-server: probe A sees the RADIUS
accounting (Start, Interim-Update, Stop) and some traffic, probe B only traffic. Every active user is on
ip.<client> of probe and cloud, on B's own flows (learnt through the synchronous channel) and flow.end events;
a flow that starts after its user's logout is labelled on neither; user times are packet times."""
import json
import random
import threading

import pytest
import redis

from cloudutil import RedisNode, SlowRelay, run_to_end, start_bg, stop_and_check, wait_for
from userpcap import T0, radius_packet, udp_exchange, write_pcap

SEED = 1616
SRV_A, SRV_B = "198.51.100.7", "198.51.100.8"


@pytest.fixture
def node():
    n = RedisNode()
    yield n
    n.close()


def scenario(tmp_path):
    """(users [(name, ip)], departed index, pcap of A, pcap of B)."""
    rng = random.Random(SEED)
    users = [("user%02d.%04d" % (i, rng.randrange(10000)), "10.77.0.%d" % (10 + i)) for i in range(12)]
    a, b = [], []
    for i, (name, ip) in enumerate(users[:-1]):
        a.append(radius_packet(T0 + i * 0.1, i + 1, name, ip, "start"))
    name, ip = users[-1]
    a.append(radius_packet(T0 + 1.5, 99, name, ip, "interim"))     # known only from an Interim-Update
    a.append(radius_packet(T0 + 10, 100, users[0][0], users[0][1], "stop"))
    for i, (name, ip) in enumerate(users):
        a += udp_exchange(T0 + 3 + i * 0.01, ip, SRV_A, 50000 + i, 7000 + i)
        b += udp_exchange(T0 + 20 + i * 0.01, ip, SRV_B, 51000 + i, 8000 + i, n=3)      # ends (idle)
        b += udp_exchange(T0 + 40 + i * 0.01, ip, SRV_B, 53000 + i, 8000 + i, n=2)      # live at the end
    a += udp_exchange(T0 + 15, users[0][1], SRV_A, 52000, 9000)     # after user 0's logout
    pa, pb = tmp_path / "a.pcap", tmp_path / "b.pcap"
    write_pcap(pa, a)
    write_pcap(pb, b)
    return users, 0, pa, pb


def flow_key(cli, cport, srv, sport):
    return "flow.udp.%s:%d-%s:%d" % (cli, cport, srv, sport)


def collect(c, channel, out, stop):
    ps = c.pubsub(ignore_subscribe_messages=True)
    ps.subscribe(channel)
    out.append("ready")
    while not stop.is_set():
        m = ps.get_message(timeout=0.2)
        if m and m["type"] == "message":
            out.append(json.loads(m["data"]))
    ps.close()


def test_users_across_two_probes(node, tmp_path):
    users, gone, pa, pb = scenario(tmp_path)
    c = node.client()
    ends, stop = [], threading.Event()
    t = threading.Thread(target=collect, args=(node.client(), "flow.end", ends, stop), daemon=True)
    t.start()
    wait_for(lambda: ends, 5, what="subscribed")
    ends.clear()

    run_to_end("--pcap", pa, "--pcap-end", "exit", "--cloud", node.addr(), "--probe-id", "A")
    for i, (name, ip) in enumerate(users):
        assert c.get("ipuser." + ip) == name, (ip, name)
        assert c.hget("ip." + ip, "user") == name, ip
    login = c.hgetall("user." + users[1][0])
    assert login["login"] == "%.3f" % (T0 + 0.1) and login["ip"] == users[1][1], login     # packet time
    assert c.hget("user." + users[-1][0], "login") == "%.3f" % (T0 + 1.5)                  # Interim-Update
    assert c.hget("user." + users[gone][0], "logout") == "%.3f" % (T0 + 10)
    for i, (name, ip) in enumerate(users):
        assert c.hget(flow_key(ip, 50000 + i, SRV_A, 7000 + i), "user") == name
    after = flow_key(users[gone][1], 52000, SRV_A, 9000)
    assert c.exists(after) and c.hget(after, "user") is None, c.hgetall(after)

    # B at 10x: its first flows end (idle, 1 s) after the lookups were answered; the later ones stay
    proc, port, log = start_bg("--pcap", pb, "--pcap-speed", "10", "--flow-idle-timeout", "1", "--pcap-end", "keep",
                               "--cloud", node.addr(), "--probe-id", "B")
    p = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
    try:
        wait_for(lambda: int(p.info()["capture_sources_active"]) == 0, 60, what="capture done")
        for i, (name, ip) in enumerate(users):
            want = None if i == gone else name
            assert p.hget(flow_key(ip, 53000 + i, SRV_B, 8000 + i), "user") == want, (i, ip)
            assert p.hget("ip." + ip, "user") == want, ip     # the host (the departed one's grace ended)
        wait_for(lambda: len([e for e in ends if e.get("probe") == "B"]) >= len(users), 10, what="B's flow.end")
        assert int(p.info("cloud")["cloud_sync_skipped"]) == 0      # no lookup was dropped (B's start included)
    finally:
        stop_and_check(proc, log)
    stop.set()
    t.join(5)
    by_key = {e["key"]: e for e in ends if e.get("probe") == "B"}
    for i, (name, ip) in enumerate(users):
        key = flow_key(ip, 51000 + i, SRV_B, 8000 + i)
        want = None if i == gone else name
        assert by_key[key].get("user") == want, by_key[key]


@pytest.mark.parametrize("b_node", ["address", "name"])
def test_logout_on_another_probe_while_both_run(node, tmp_path, b_node):
    """Probes A (RADIUS) and B (traffic) run at the same time at recorded speed: B learns the user of a client
    when its first flow starts, A sees the logout, and B's flow that starts after it is not labelled (B hears
    the logout on the cloud's user.logout channel), while B's earlier flow keeps the name. B is given the
    cloud node as an address, or as a host name (localhost:PORT, resolved for the subscription too)."""
    name, ip = "carol.%04d" % random.Random(SEED + 1).randrange(10000), "10.77.1.10"
    # B starts once A's login is in the cloud, so however slowly either process starts (sanitizer builds, a
    # loaded machine) B's first flow (1 s into B) comes before the logout (4 s into A), with >= 1.5 s to
    # spare unless B takes that long to start, and its second flow (7 s into B) 3 s after it.
    write_pcap(tmp_path / "a.pcap", [radius_packet(T0, 1, name, ip, "start"),
                                     radius_packet(T0 + 4, 2, name, ip, "stop"),
                                     (T0 + 5, udp_exchange(T0 + 5, "10.77.1.99", SRV_A, 1, 2, n=1)[0][1])])
    write_pcap(tmp_path / "b.pcap", udp_exchange(T0 + 1, ip, SRV_B, 54000, 8000, n=2) +
               udp_exchange(T0 + 7, ip, SRV_B, 54001, 8000, n=2) + [(T0 + 7.5, udp_exchange(T0, "10.77.1.98",
                                                                                        SRV_B, 3, 4, n=1)[0][1])])
    seeds = ("--pcap-speed", "1", "--pcap-end", "keep")
    b_addr = node.addr() if b_node == "address" else "localhost:%d" % node.port
    a, pa, la = start_bg("--pcap", tmp_path / "a.pcap", "--probe-id", "A", "--cloud", node.addr(), *seeds)
    b = None
    try:
        cloud = node.client()
        wait_for(lambda: cloud.get("ipuser." + ip) == name, 10, what="A's login in the cloud")
        b, pb, lb = start_bg("--pcap", tmp_path / "b.pcap", "--probe-id", "B", "--cloud", b_addr, *seeds)
        p = redis.Redis(port=pb, decode_responses=True, socket_timeout=10)
        wait_for(lambda: int(p.info()["capture_sources_active"]) == 0, 30, what="B done")
        assert int(p.info("cloud")["cloud_logouts_heard"]) >= 1
        assert p.hget(flow_key(ip, 54000, SRV_B, 8000), "user") == name        # started before the logout
        assert p.hget(flow_key(ip, 54001, SRV_B, 8000), "user") is None        # started after it
    finally:
        stop_and_check(a, la)
        if b:
            stop_and_check(b, lb)


def test_flow_end_waits_for_the_user(node, tmp_path):
    """Flows that end before the cloud answered who their client is (one packet each, the capture's last
    ones, expired at its end): their flow.end, on the probe's own channel and the cloud's, still carries the
    user (held for the answer, a few milliseconds); a client nobody logged in at has none."""
    rng = random.Random(SEED + 2)
    users = [("dave%02d.%04d" % (i, rng.randrange(10000)), "10.77.2.%d" % (10 + i)) for i in range(8)]
    write_pcap(tmp_path / "a.pcap", [radius_packet(T0 + i * 0.1, i + 1, n, ip, "start")
                                     for i, (n, ip) in enumerate(users)])
    run_to_end("--pcap", tmp_path / "a.pcap", "--pcap-end", "exit", "--cloud", node.addr(), "--probe-id", "A")
    stranger = "10.77.2.99"
    pk = udp_exchange(T0, "10.77.2.98", SRV_B, 1, 2, n=1)[:1]           # B starts; its flows come 2 s later
    for i, (_, ip) in enumerate(users + [("", stranger)]):
        pk += udp_exchange(T0 + 2, ip, SRV_B, 55000 + i, 8000, n=1)[:1]
    write_pcap(tmp_path / "b.pcap", pk)
    cloud_ends, stop = [], threading.Event()
    t = threading.Thread(target=collect, args=(node.client(), "flow.end", cloud_ends, stop), daemon=True)
    t.start()
    wait_for(lambda: cloud_ends, 5, what="subscribed")
    cloud_ends.clear()
    proc, port, log = start_bg("--pcap", tmp_path / "b.pcap", "--pcap-speed", "1", "--pcap-end", "expire",
                               "--cloud", node.addr(), "--probe-id", "B")
    local_ends, lstop = [], threading.Event()
    lt = threading.Thread(target=collect, args=(redis.Redis(port=port, decode_responses=True), "flow.end",
                                                local_ends, lstop), daemon=True)
    lt.start()
    try:
        wait_for(lambda: local_ends, 5, what="subscribed on B")
        p = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        wait_for(lambda: int(p.info()["capture_sources_active"]) == 0, 30, what="B done")
        want = {flow_key(ip, 55000 + i, SRV_B, 8000): name for i, (name, ip) in enumerate(users)}
        want[flow_key(stranger, 55000 + len(users), SRV_B, 8000)] = None
        got = {}
        for ends in (local_ends, cloud_ends):
            # local_ends starts with collect's "ready" marker; cloud_ends had it cleared, so its first
            # entry is already an event (skipping it by position lost one when it was a wanted flow's)
            wait_for(lambda: len({e["key"] for e in ends if e != "ready" and e["key"] in want}) == len(want), 10,
                     what="B's flow.end")
            got = {e["key"]: e.get("user") for e in ends if e != "ready" and e["key"] in want}
            assert got == want
        added = int(p.info("cloud")["cloud_flow_end_users_added"])
    finally:
        lstop.set()
        stop.set()
        lt.join(5)
        stop_and_check(proc, log)
    t.join(5)
    print("flow.end events that got their user from replication:", added, "of", len(users))


def test_lookups_wait_for_a_slow_cloud(node, tmp_path):
    """B's flows start and end (one packet each, expired at the capture's end) before its cloud node answers
    anything (a relay holds every reply for its first 2 s, as a node that is slow while the probe starts):
    their user lookups wait for the connection instead of being skipped, so every flow.end has its user."""
    rng = random.Random(SEED + 3)
    users = [("erin%02d.%04d" % (i, rng.randrange(10000)), "10.77.3.%d" % (10 + i)) for i in range(6)]
    write_pcap(tmp_path / "a.pcap", [radius_packet(T0 + i * 0.1, i + 1, n, ip, "start")
                                     for i, (n, ip) in enumerate(users)])
    run_to_end("--pcap", tmp_path / "a.pcap", "--pcap-end", "exit", "--cloud", node.addr(), "--probe-id", "A")
    pk = udp_exchange(T0, "10.77.3.98", SRV_B, 1, 2, n=1)[:1]          # B starts; its flows come 1 s later
    for i, (_, ip) in enumerate(users):
        pk += udp_exchange(T0 + 1 + i * 0.01, ip, SRV_B, 56000 + i, 8000, n=1)[:1]
    write_pcap(tmp_path / "b.pcap", pk)
    relay = SlowRelay(node.port, 2.0)
    proc, lt, stop = None, None, threading.Event()
    try:
        proc, port, log = start_bg("--pcap", tmp_path / "b.pcap", "--pcap-speed", "1", "--pcap-end", "expire",
                                   "--cloud", relay.addr(), "--probe-id", "B")
        ends = []
        lt = threading.Thread(target=collect, args=(redis.Redis(port=port, decode_responses=True), "flow.end",
                                                    ends, stop), daemon=True)
        lt.start()
        want = {flow_key(ip, 56000 + i, SRV_B, 8000): name for i, (name, ip) in enumerate(users)}
        p = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        wait_for(lambda: int(p.info()["capture_sources_active"]) == 0, 30, what="B done")
        # the flows ended before the relay let the first reply through; their flow.end waited for it
        wait_for(lambda: len({e["key"] for e in ends if e != "ready" and e["key"] in want}) == len(want), 10,
                 what="B's flow.end")
        got = {e["key"]: e.get("user") for e in ends if e != "ready" and e["key"] in want}
        assert got == want
        cloud = p.info("cloud")
        assert int(cloud["cloud_sync_skipped"]) == 0, cloud
    finally:
        stop.set()
        if lt:
            lt.join(5)
        if proc:
            stop_and_check(proc, log)
        relay.close()
