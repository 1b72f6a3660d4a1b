"""test_cloud_watchlist.py - the shared watchlist: the cloud's `watchlist` set is the one list. An SADD on probe A
makes probe B (replaying DNS traffic at recorded speed) alert within a second, one alert.watchlist per DNS query
with the probe id, seen through one subscription on the cloud; an SREM straight on the cloud reaches both probes;
a probe started later loads the list."""
import json
import random
import threading
import time

import pytest
import redis

from cloudutil import RedisNode, make_cluster, start_bg, stop_and_check, wait_for
from userpcap import T0, dns_answer, dns_query, write_pcap

SEED = 6606
WATCHED = "10.66.0.5"
RESOLVER = "10.66.0.53"


def dns_pcap(path, seconds=8.0, every=0.05):
    """Queries from WATCHED (and an unwatched client) every `every` s on a few flows, each answered."""
    rng = random.Random(SEED)
    pk, times = [], []
    t = T0
    while t < T0 + seconds:
        cport = 40000 + rng.randrange(3)
        txid = rng.randrange(65536)
        name = "q%d.example.org" % rng.randrange(1000)
        pk.append(dns_query(t, WATCHED, RESOLVER, cport, txid, name))
        pk.append(dns_answer(t + 0.005, WATCHED, RESOLVER, cport, txid, name))
        pk.append(dns_query(t + 0.01, "10.66.0.6", RESOLVER, 41000, txid, name))
        times.append(round(t, 3))
        t += every
    write_pcap(path, pk)
    return times


@pytest.fixture(params=["node", "cluster"])
def cloud(request):
    nodes = [RedisNode()] if request.param == "node" else make_cluster(3)
    yield nodes
    for n in nodes:
        n.close()


def members(port):
    c = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
    try:
        return set(c.smembers("watchlist"))
    finally:
        c.close()


def cloud_client(nodes):
    if len(nodes) == 1:
        return nodes[0].client()
    return redis.RedisCluster(host="127.0.0.1", port=nodes[0].port, decode_responses=True)


def test_sadd_on_a_alerts_on_b(cloud, tmp_path):
    seeds = ["--cloud"] + [n.addr() for n in cloud]
    pcap = tmp_path / "dns.pcap"
    times = dns_pcap(pcap)
    alerts, stop = [], threading.Event()

    def listen():
        ps = cloud[0].client().pubsub(ignore_subscribe_messages=True)
        ps.subscribe("alert.watchlist")
        alerts.append(None)
        while not stop.is_set():
            m = ps.get_message(timeout=0.1)
            if m and m["type"] == "message":
                alerts.append((time.monotonic(), json.loads(m["data"])))
        ps.close()

    th = threading.Thread(target=listen, daemon=True)
    th.start()
    wait_for(lambda: alerts, 5, what="subscribed")
    alerts.clear()
    a, pa, la = start_bg(*seeds, "--probe-id", "A")
    b, pb, lb = start_bg(*seeds, "--probe-id", "B", "--pcap", pcap, "--pcap-speed", "1", "--pcap-end", "keep")
    try:
        wait_for(lambda: int(redis.Redis(port=pa).info("cloud")["cloud_watchlist_polls"]) > 0, 10, what="A polls")
        time.sleep(1.0)                             # B's traffic runs; nothing is listed yet
        assert not alerts
        ra = redis.Redis(port=pa, decode_responses=True)
        assert ra.sadd("watchlist", WATCHED) == 1
        t_add = time.monotonic()
        wait_for(lambda: [x for x in alerts if x[1]["probe"] == "B"], 3, 0.01, what="B's first alert")
        first = min(x[0] for x in alerts if x[1]["probe"] == "B")
        assert first - t_add < 1.0, first - t_add
        assert WATCHED in members(pb)
        assert WATCHED in cloud_client(cloud).smembers("watchlist")
        wait_for(lambda: int(redis.Redis(port=pb).info()["capture_sources_active"]) == 0, 30, what="B done")
        time.sleep(0.5)
        got = [x[1] for x in alerts if x[1]["probe"] == "B"]
        assert all(x["ip"] == WATCHED and x["match"] == WATCHED and x.get("dns.query") for x in got), got[:3]
        # per query, not per flow: every query after the first alert has its own
        # (at pcap-speed 1 packet times are moved to the wall clock: the last query is the last alert)
        ts = sorted(float(x["ts"]) for x in got)
        shift = ts[-1] - times[-1]
        want = [t for t in times if t + shift >= ts[0] - 0.002]
        assert len(got) == len(want) and len(want) > len({x["key"] for x in got}), (len(got), len(want))

        # an SREM straight on the cloud reaches both probes; a late probe loads the list
        cc = cloud_client(cloud)
        cc.sadd("watchlist", "192.0.2.0/24")
        cc.srem("watchlist", WATCHED)
        for port in (pa, pb):
            wait_for(lambda: members(port) == {"192.0.2.0/24"}, 1.5, 0.05, what="SREM on the cloud reached a probe")
        c, pc, lc = start_bg(*seeds, "--probe-id", "C")
        try:
            wait_for(lambda: members(pc) == {"192.0.2.0/24"}, 3, 0.05, what="late probe loaded the list")
        finally:
            stop_and_check(c, lc)
    finally:
        stop.set()
        th.join(5)
        stop_and_check(a, la)
        stop_and_check(b, lb)
