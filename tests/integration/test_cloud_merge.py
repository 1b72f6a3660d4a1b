"""test_cloud_merge.py - a flow seen by two probes (each one direction, running at the same time) is one flow in the
cloud with the earliest first.seen, the latest last.seen and the union of tcp.flags, on one redis-server and on a
3-master Redis Cluster (the merge is a Redis 7 function, loaded on each node that lacks it)."""
import random
import threading

import pytest

from cloudutil import RedisNode, hgetall_everywhere, make_cluster, run_to_end
from userpcap import T0, tcp, write_pcap

SEED = 5505
FLAGS = "FSRPAUEC"


def flows(path_a, path_b, n=40):
    """n TCP flows: the client's packets to A, the server's to B, with random times; returns the truth
    {key: (first, last, flags)} and each side's flags."""
    rng = random.Random(SEED)
    a, b, truth = [], [], {}
    for i in range(n):
        cli, srv = "10.55.%d.%d" % (i // 200, 10 + i % 200), "198.51.100.%d" % (1 + i % 50)
        cport, sport = 30000 + i, 443 if i % 2 else 80
        t = round(T0 + rng.uniform(0, 20), 3)
        ca, sa = [], []                                   # (time, flags)
        ca.append((t, "S"))
        sa.append((round(t + rng.uniform(0.001, 0.05), 3), "SA"))
        ca.append((round(sa[-1][0] + 0.001, 3), "A"))
        u = rng.random() < 0.5
        for k in range(rng.randrange(1, 6)):
            ca.append((round(ca[-1][0] + rng.uniform(0.01, 0.5), 3), "PAU" if u and k == 0 else "PA"))
            sa.append((round(ca[-1][0] + rng.uniform(0.001, 0.05), 3), "PA"))
        end = round(max(ca[-1][0], sa[-1][0]) + rng.uniform(0.1, 2), 3)
        if rng.random() < 0.5:                           # the server resets, last
            ca.append((end, "FA"))
            sa.append((round(end + rng.uniform(0.001, 0.3), 3), "R"))
        else:                                            # the client closes last
            sa.append((end, "FA"))
            ca.append((round(end + rng.uniform(0.001, 0.3), 3), "FA"))
            ca.append((round(ca[-1][0] + 0.001, 3), "A"))
        a += [(x, tcp(cli, srv, cport, sport, f)) for x, f in ca]
        b += [(x, tcp(srv, cli, sport, cport, f)) for x, f in sa]
        times = [x for x, _ in ca + sa]
        have = set("".join(f for _, f in ca + sa))
        truth["flow.tcp.%s:%d-%s:%d" % (cli, cport, srv, sport)] = (
            "%.3f" % min(times), "%.3f" % max(times), "".join(c for c in FLAGS if c in have))
    write_pcap(path_a, a)
    write_pcap(path_b, b)
    return truth


def run_both(seeds, pa, pb):
    errs = []

    def one(p, pid):
        try:
            run_to_end("--pcap", p, "--pcap-end", "exit", "--probe-id", pid, *seeds)
        except BaseException as e:       # noqa: B902 - reported below
            errs.append(e)

    th = [threading.Thread(target=one, args=(p, pid)) for p, pid in ((pa, "A"), (pb, "B"))]
    for t in th:
        t.start()
    for t in th:
        t.join(180)
    assert not errs, errs


@pytest.mark.parametrize("kind", ["node", "cluster"])
def test_merged_flow_times_and_flags(kind, tmp_path):
    nodes = [RedisNode()] if kind == "node" else make_cluster(3)
    try:
        truth = flows(tmp_path / "a.pcap", tmp_path / "b.pcap")
        run_both(["--cloud"] + [n.addr() for n in nodes], tmp_path / "a.pcap", tmp_path / "b.pcap")
        got = hgetall_everywhere(nodes, list(truth))
        bad = [(k, want, (got[k].get("first.seen"), got[k].get("last.seen"), got[k].get("tcp.flags")))
               for k, want in truth.items()
               if (got[k].get("first.seen"), got[k].get("last.seen"), got[k].get("tcp.flags")) != want]
        assert not bad, "%d of %d flows differ, first: %s" % (len(bad), len(truth), bad[:3])
        # both probes' counters add up on the one merged flow
        assert all(int(got[k]["pkts.c2s"]) > 0 and int(got[k]["pkts.s2c"]) > 0 for k in truth)
        # the library was loaded once per node, not sent with every call; the first calls found it missing
        calls = {n.port: n.client().info("commandstats") for n in nodes}
        loads = sum(c.get("cmdstat_function|load", {}).get("calls", 0) for c in calls.values())
        fcalls = sum(c.get("cmdstat_fcall", {}).get("calls", 0) for c in calls.values())
        assert 1 <= loads <= 2 * len(nodes) and fcalls >= 2 * len(truth), (loads, fcalls)
    finally:
        for n in nodes:
            n.close()
