"""test_scan_families.py - SCAN MATCH <family>.* ends in a few calls over a cache of 100 k flows, whatever max-flows is.

A dashboard polls `SCAN 0 MATCH proto.* COUNT 100` every second: the number of calls must follow the keys of
the family asked for, not the size of the tables (sized from max-flows) nor the other families. The capture
(tools/gen_demo.py, ~100 k sessions, ~230 MB) is made once and kept in build/test-data/.
"""
import hashlib
import os
import subprocess

import pytest

from conftest import GEN_DEMO, NO_EXPIRY, PYTHON, ROOT, Flowcached

SESSIONS = 100000
DATA = ROOT / "build" / "test-data"
FAMILIES = ["proto", "vlan", "dns", "http", "tls", "user", "ipuser", "mac", "ip", "flow"]
# A family whose keys fit in one call's work ends in <= 3 calls. flow.* (100 k keys here, ~1 600 a shard) is
# paged by the keys it returns (~2 000 a call) plus its walk of the flow table's buckets (~1 M a call): the
# only place where max-flows still counts, once a family holds more than 256 keys a shard.
FLOW_KEYS_PER_CALL = 2000
BUCKETS_PER_CALL = 1 << 20


def flow_buckets(max_flows):
    """Buckets of the flow table (capture/cache/cache.c: a power of two a shard, 64 shards)."""
    per, n = max_flows // 64 + 1, 16
    while n < min(per, 1 << 22):
        n <<= 1
    return 64 * n


def big_capture():
    """The ~100 k-session capture, generated on first use (named after the generator's hash)."""
    tag = hashlib.sha1(GEN_DEMO.read_bytes()).hexdigest()[:12]
    path = DATA / ("scan-families-%d-%s.pcap" % (SESSIONS, tag))
    if not path.exists():
        DATA.mkdir(parents=True, exist_ok=True)
        for old in DATA.glob("scan-families-*"):
            old.unlink()
        tmp = DATA / ("%s.%d.tmp" % (path.name, os.getpid()))
        subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "20", "--sessions", str(SESSIONS), "--hosts", "2000",
                        "--out", str(tmp)], check=True, capture_output=True, timeout=900)
        os.replace(tmp, path)
    return path


@pytest.fixture(scope="module", params=["150000", "4000000"], ids=["max-flows-150k", "max-flows-4M"])
def big_fc(request):
    fc = Flowcached("--pcap", str(big_capture()), "--pcap-end", "keep", "--max-flows", request.param, *NO_EXPIRY)
    try:
        info = fc.wait_pcap_done(timeout=900)
        assert int(info["flows_active"]) >= 100000, info["flows_active"]
        fc.keys_all = set(fc.client(socket_timeout=120).keys("*"))
        fc.max_flows = int(request.param)
        yield fc
    finally:
        fc.stop()
        fc.check_clean()


def scan_calls(r, count, match=None, _type=None, limit=1000000):
    """SCAN from 0 to 0: (calls, set of keys)."""
    cur, calls, got = 0, 0, set()
    while True:
        cur, page = r.scan(cur, match=match, count=count, _type=_type)
        got.update(page)
        calls += 1
        if cur == 0 or calls >= limit:
            return calls, got


@pytest.mark.parametrize("count", [10, 100])
@pytest.mark.parametrize("family", FAMILIES)
def test_scan_match_family_ends_in_few_calls(big_fc, family, count):
    r = big_fc.client(socket_timeout=60)
    pattern = family + ".*"
    want = set(r.keys(pattern))
    assert want, "no %s keys in the capture" % pattern
    assert want == {k for k in big_fc.keys_all if k.startswith(family + ".")}
    calls, got = scan_calls(r, count, match=pattern)
    assert got == want
    limit = 3
    if family == "flow":
        limit = len(want) // FLOW_KEYS_PER_CALL + flow_buckets(big_fc.max_flows) // BUCKETS_PER_CALL + 2
    assert calls <= limit, "SCAN MATCH %s COUNT %d: %d calls for %d keys" % (pattern, count, calls, len(want))


@pytest.mark.parametrize("count", [10, 1000])
def test_scan_without_match_returns_every_key(big_fc, count):
    r = big_fc.client(socket_timeout=60)
    calls, got = scan_calls(r, count)
    assert got == big_fc.keys_all
    assert calls >= len(got) // (count + 300)     # COUNT still paces a scan without a filter


def test_scan_type_string_is_the_ipuser_family(big_fc):
    r = big_fc.client(socket_timeout=60)
    calls, got = scan_calls(r, 10, _type="string")
    assert got == set(r.keys("ipuser.*")) and got
    assert calls <= 3


def test_keys_of_small_families_cost_no_walk(big_fc):
    """KEYS proto.*/vlan.*/http.*/tls.* cost about what KEYS ip.10.0.1.* costs (the server's own time)."""
    r = big_fc.client(socket_timeout=60)

    def usec(pattern, reps=20, rounds=5):
        """The server's time for one KEYS: the least mean of `rounds` runs of `reps` (a busy machine
        may preempt one)."""
        best = None
        for _ in range(rounds):
            before = r.info("commandstats").get("cmdstat_keys", {"usec": 0})["usec"]
            for _ in range(reps):
                r.keys(pattern)
            mean = (r.info("commandstats")["cmdstat_keys"]["usec"] - before) / reps
            best = mean if best is None else min(best, mean)
        return best

    ref = usec("ip.10.0.1.*")
    for family in ("proto", "vlan", "http", "tls"):
        took = usec(family + ".*")
        assert took <= max(10 * ref, 200), "KEYS %s.*: %.0f us a call, KEYS ip.10.0.1.*: %.0f us" % (family, took, ref)
