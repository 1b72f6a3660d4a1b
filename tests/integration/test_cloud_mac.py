"""test_cloud_mac.py - mac.* keys and the ip.* `mac` field in the cloud: two probes fed opposite directions of one
generated capture (tools/gen_demo.py, own seed), at the same time and one after the other, into one real
redis-server. Each MAC's counters in the cloud add up to what one probe seeing both directions counts, its
first.seen / last.seen are the earliest / latest, and mac.* `ip` and ip.* `mac` are the newest by packet time,
as that probe shows them."""
import subprocess
import time

import pytest
import redis

from conftest import GEN_DEMO, NO_EXPIRY, PYTHON
from liveutil import Collector, delayed_copy
from cloudutil import cluster, hgetall_everywhere, info, node, split_pcap, start_bg, stop_and_check, wait_for  # noqa: F401

MAC_FIELDS = ("bytes.sent", "bytes.rcvd", "pkts.sent", "pkts.rcvd", "first.seen", "last.seen", "ip")


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("cloudmac")
    pcap = d / "g.pcap"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "7171", "--sessions", "300", "--out", str(pcap)],
                   check=True, capture_output=True, timeout=120)
    up, down = d / "up.pcap", d / "down.pcap"
    nu, nd = split_pcap(pcap, up, down)
    assert nu > 0 and nd > 0
    return {"pcap": pcap, "up": up, "down": down}


def sources_done(port):
    return int(redis.Redis(port=port, socket_timeout=10).info()["capture_sources_active"]) == 0


def wait_drained(port):
    def done():
        i = info(port)
        return sources_done(port) and int(i["cloud_queued_commands"]) == 0 and int(i["cloud_inflight_commands"]) == 0
    wait_for(done, 60, what="capture done and cloud queue drained")


def probe_view(pcap):
    """mac.* hashes and each ip.* `mac` of one probe that sees the whole capture (no cloud)."""
    proc, port, log = start_bg("--pcap", pcap, "--pcap-end", "expire", *NO_EXPIRY)
    try:
        wait_for(lambda: sources_done(port), 60, what="capture")
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        macs = {k: r.hgetall(k) for k in r.keys("mac.*")}
        ips = {k: r.hget(k, "mac") for k in r.keys("ip.*")}
    finally:
        stop_and_check(proc, log)
    return macs, {k: v for k, v in ips.items() if v is not None}


def cloud_differences(nodes, want_macs, want_ips):
    """[(key, field, want, got)]: mac.* and ip.* mac of the cloud (one node, or every master of a cluster)
    against one probe's."""
    got = hgetall_everywhere(nodes, list(want_ips))
    for n in nodes:
        c = n.client()
        for k in c.keys("mac.*"):     # a node lists the keys of its own slots
            got[k] = c.hgetall(k)
            assert c.ttl(k) > 0
    assert {k for k in got if k.startswith("mac.")} == set(want_macs)
    bad = []
    for k, want in want_macs.items():
        for f in MAC_FIELDS:
            if want.get(f, "0") != got[k].get(f, "0"):
                bad.append((k, f, want.get(f), got[k].get(f)))
        if "ip" in want:
            assert int(got[k]["ip.seen.us"]) > 0
    for k, mac in want_ips.items():
        if got.get(k, {}).get("mac") != mac:
            bad.append((k, "mac", mac, got.get(k, {}).get("mac")))
    return bad


def run(nodes, capture, together, threads):
    procs = []
    try:
        for name in ("up", "down"):
            procs.append(start_bg("--pcap", capture[name], "--pcap-end", "expire", *NO_EXPIRY, "--cloud",
                                  nodes[0].addr(), "--probe-id", name, "--capture-threads", threads))
            if not together:
                wait_drained(procs[-1][1])
                time.sleep(1)
        for _, port, _ in procs:
            wait_drained(port)
            i = info(port)
            assert int(i["cloud_error_replies"]) == 0 and int(i["cloud_dropped_commands"]) == 0
            assert int(i["cloud_bad_events"]) == 0
    finally:
        for proc, _, log in procs:
            stop_and_check(proc, log)


def check_split(nodes, capture, together, threads):
    want_macs, want_ips = probe_view(capture["pcap"])
    assert len(want_macs) > 5 and len(want_ips) > 5
    run(nodes, capture, together, threads)
    bad = cloud_differences(nodes, want_macs, want_ips)
    assert not bad, "%d differences, first: %s" % (len(bad), bad[:10])


@pytest.mark.parametrize("together,threads", [(True, 1), (False, 1), (True, 2)],
                         ids=["same_time", "one_after_the_other", "same_time_2_threads"])
def test_split_probes_mac_view(node, capture, together, threads):
    """With 2 capture threads per probe, each thread reports the MACs it counted on."""
    check_split([node], capture, together, threads)


def test_split_probes_mac_view_cluster(cluster, capture):
    check_split(cluster, capture, True, 1)


def test_mac_channel_adds_up_to_the_probes_keys(capture, tmp_path):
    """A subscriber of a probe's `mac` channel gets each MAC's counters since its previous message: they add
    up to the probe's mac.* counters, and the last first.seen / last.seen / ip are the key's."""
    pcap = delayed_copy(capture["pcap"], tmp_path / "lead.pcap", lead_s=40.0)
    proc, port, log = start_bg("--pcap", pcap, "--pcap-speed", "20", "--pcap-end", "expire", *NO_EXPIRY)
    try:
        col = Collector(redis.Redis(port=port, decode_responses=True), channels=("mac",))
        wait_for(lambda: sources_done(port), 120, what="capture")
        col.wait_quiet(1.5, 30)
        col.close()
        r = redis.Redis(port=port, decode_responses=True, socket_timeout=10)
        keys = {k: r.hgetall(k) for k in r.keys("mac.*")}
    finally:
        stop_and_check(proc, log)
    sums, last = {}, {}
    for m in col.json_of("mac"):
        k = "mac." + m["mac"]
        s = sums.setdefault(k, {})
        for f in MAC_FIELDS[:4]:
            s[f] = s.get(f, 0) + m[f]
        last.setdefault(k, {}).update({f: m[f] for f in ("first.seen", "last.seen", "ip") if f in m})
    assert set(sums) == set(keys) and len(keys) > 5
    for k, h in keys.items():
        assert {f: str(v) for f, v in sums[k].items()} == {f: h[f] for f in MAC_FIELDS[:4]}, k
        assert "%.3f" % last[k]["first.seen"] == h["first.seen"] and "%.3f" % last[k]["last.seen"] == h["last.seen"]
        assert last[k].get("ip") == h.get("ip"), k
