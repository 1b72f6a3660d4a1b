"""test_cloud_users.py - RADIUS users across two probes and one real redis-server: probe A sees the RADIUS
accounting (Start, Interim-Update, Stop) and some traffic, probe B only traffic. Every active user is on
ip.<client> of probe and cloud, on B's own flows (learnt through the synchronous channel) and flow.end events;
a flow that starts after its user's logout is labelled on neither; user times are packet times."""
import json
import random
import threading

import pytest
import redis

from cloudutil import RedisNode, run_to_end, start_bg, stop_and_check, wait_for
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
    finally:
        stop_and_check(proc, log)
    stop.set()
    t.join(5)
    by_key = {e["key"]: e for e in ends if e.get("probe") == "B"}
    for i, (name, ip) in enumerate(users):
        key = flow_key(ip, 51000 + i, SRV_B, 8000 + i)
        want = None if i == gone else name
        assert by_key[key].get("user") == want, by_key[key]
