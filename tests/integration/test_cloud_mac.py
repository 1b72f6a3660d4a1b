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
from cloudutil import info, node, split_pcap, start_bg, stop_and_check, wait_for  # noqa: F401

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


def cloud_differences(node, want_macs, want_ips):
    c = node.client()
    bad = []
    assert set(c.keys("mac.*")) == set(want_macs)
    for k, want in want_macs.items():
        got = c.hgetall(k)
        for f in MAC_FIELDS:
            if want.get(f, "0") != got.get(f, "0"):
                bad.append((k, f, want.get(f), got.get(f)))
        if "ip" in want:
            assert int(got["ip.seen.us"]) > 0
    for k, mac in want_ips.items():
        if c.hget(k, "mac") != mac:
            bad.append((k, "mac", mac, c.hget(k, "mac")))
    return bad


def run(node, capture, together, threads):
    procs = []
    try:
        for name in ("up", "down"):
            procs.append(start_bg("--pcap", capture[name], "--pcap-end", "expire", *NO_EXPIRY, "--cloud",
                                  node.addr(), "--probe-id", name, "--capture-threads", threads))
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


@pytest.mark.parametrize("together,threads", [(True, 1), (False, 1), (True, 2)],
                         ids=["same_time", "one_after_the_other", "same_time_2_threads"])
def test_split_probes_mac_view(node, capture, together, threads):
    """With 2 capture threads per probe, each thread reports the MACs it counted on."""
    want_macs, want_ips = probe_view(capture["pcap"])
    assert len(want_macs) > 5 and len(want_ips) > 5
    run(node, capture, together, threads)
    bad = cloud_differences(node, want_macs, want_ips)
    assert not bad, "%d differences, first: %s" % (len(bad), bad[:10])
    c = node.client()
    assert all(c.ttl(k) > 0 for k in c.keys("mac.*"))
