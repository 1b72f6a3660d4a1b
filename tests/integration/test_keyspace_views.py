"""test_keyspace_views.py - KEYS/SCAN over every key family agree with each other, and the ip.<IPv4 prefix> index."""
import subprocess

import pytest

from conftest import GEN_DEMO, NO_EXPIRY, PYTHON, Flowcached


@pytest.fixture(scope="module")
def many_hosts(tmp_path_factory):
    d = tmp_path_factory.mktemp("hosts")
    pcap, truth = d / "h.pcap", d / "h.json"
    subprocess.run([PYTHON, str(GEN_DEMO), "--seed", "11", "--sessions", "3000", "--hosts", "400",
                    "--out", str(pcap), "--truth", str(truth)], check=True, capture_output=True)
    fc = Flowcached("--pcap", str(pcap), "--pcap-end", "keep", *NO_EXPIRY)
    try:
        fc.wait_pcap_done()
        yield fc
    finally:
        fc.stop()
        fc.check_clean()


@pytest.mark.parametrize("pattern", ["ip.10.*", "ip.10.0.*", "ip.10.1.0.*", "ip.10.1.0.1*", "ip.10.0.2.5",
                                     "ip.1*", "ip.10.?.*", "ip.10.[01].*", "ip.19*", "ip.192.168.*"])
def test_ipv4_prefix_keys_equal_filtered_walk(many_hosts, pattern):
    """The direct-lookup path for ip.<IPv4 prefix> returns exactly what filtering every key gives."""
    import fnmatch
    r = many_hosts.client()
    every = r.keys("*")
    assert len(every) > 500
    want = sorted(k for k in every if fnmatch.fnmatchcase(k, pattern))
    assert sorted(r.keys(pattern)) == want


def test_scan_covers_keys_across_families(many_hosts):
    r = many_hosts.client()
    keys = set(r.keys("*"))
    prefixes = {k.split(".", 1)[0] for k in keys}
    assert {"flow", "ip", "mac", "vlan", "proto", "dns", "http", "tls", "user", "ipuser"} <= prefixes
    seen = []
    cursor = "0"
    for _ in range(100000):
        cursor, batch = r.scan(cursor=cursor, count=50)
        seen.extend(batch)
        if cursor == 0:
            break
    assert cursor == 0
    assert set(seen) == keys
    assert r.dbsize() == len(keys)
    for kind, want in (("hash", "hash"), ("string", "string")):
        typed = [k for k in r.scan_iter(count=1000, _type=kind)]
        assert typed and all(r.type(k) == want for k in typed)


def test_every_key_has_type_ttl_and_value(many_hosts):
    r = many_hosts.client()
    for k in r.keys("*"):
        t = r.type(k)
        assert t in ("hash", "string", "set"), k
        ttl = r.ttl(k)
        if k.startswith(("user.", "ipuser.")) or k == "watchlist":
            assert ttl == -1 or ttl > 0, (k, ttl)
        else:
            assert ttl > 0, (k, ttl)
        if t == "hash":
            assert r.hlen(k) == len(r.hgetall(k)) > 0
        elif t == "string":
            assert r.get(k)


@pytest.mark.parametrize("pattern", ["ip.10.0.2.*", "ip.10.0.*", "ip.10.0.2.1*"])
def test_scan_with_ipv4_prefix_equals_keys(many_hosts, pattern):
    """SCAN MATCH ip.<IPv4 prefix> is answered from the address index in one step, equal to KEYS."""
    r = many_hosts.client()
    cursor, batch = r.scan(cursor=0, match=pattern, count=10)
    assert cursor == 0
    assert sorted(batch) == sorted(r.keys(pattern)) and batch
    assert sorted(r.scan_iter(match=pattern, _type="string")) == []
