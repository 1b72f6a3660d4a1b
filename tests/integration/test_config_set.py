"""test_config_set.py - CONFIG SET changes flowcached's directives at run time as Redis 7.0 does (all the pairs or none,
Redis's error texts, byte for byte against a real redis-server), each change reaches what uses it (the capture
threads' timeouts and bounds, client admission, AUTH, pub/sub, the watchlist), and CONFIG REWRITE rewrites the config
file as Redis does. test_config_set_while_capturing is the one to run with the ThreadSanitizer build
(FLOWCACHED=build/thread/flowcached): CONFIG SET while capture threads read the values.

Run alone: FLOWCACHED=build/plain/flowcached /usr/bin/python3 -m pytest -q tests/integration/test_config_set.py
"""
import re
import shutil
import socket
import subprocess
import time

import pytest
import redis

from conftest import (DEMO_PCAP, NO_EXPIRY, Flowcached, flowcached_binary, free_port, sanitizer_report, stop_pid,
                      tail, wait_ping)
from test_compat_util import Conn, RedisServer


def exchange(port, cmds):
    """The bytes of the replies to cmds, sent at once on a new connection."""
    c = Conn(port)
    try:
        for cmd in cmds:
            c.send(*cmd)
        return b"".join(c.read().raw for _ in cmds)
    finally:
        c.close()


@pytest.fixture(scope="module")
def pair():
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", *NO_EXPIRY)
    ref = RedisServer()
    try:
        fc.wait_pcap_done()
        yield fc, ref
    finally:
        fc.stop()
        ref.stop()
        assert not sanitizer_report(tail(fc.log, 1 << 20))


SAME_AS_REDIS = [
    ["CONFIG", "SET", "slowlog-max-len", "x"], ["CONFIG", "SET", "slowlog-max-len", "-1"],
    ["CONFIG", "SET", "slowlog-log-slower-than", "-2"], ["CONFIG", "SET", "maxmemory", "x"],
    ["CONFIG", "SET", "maxmemory", "-1"], ["CONFIG", "SET", "protected-mode", "maybe"],
    ["CONFIG", "SET", "logfile", "x"], ["CONFIG", "SET", "maxclients", "0"], ["CONFIG", "SET", "maxclients", "abc"],
    ["CONFIG", "SET", "notify-keyspace-events", "Z"], ["CONFIG", "SET", "timeout", "5", "timeout", "6"],
    ["CONFIG", "SET", "nosuch", "1"], ["CONFIG", "SET", "maxclients", "5", "nosuch", "1"],
    ["CONFIG", "SET", "maxclients"], ["CONFIG", "SET", "maxclients", "1", "x"], ["CONFIG", "SET", "databases", "2"],
    ["CONFIG", "SET", "timeout", "x"], ["CONFIG", "SET", "client-query-buffer-limit", "1"],
    ["CONFIG", "SET", "maxmemory", "100mb", "maxclients", "0"],
    ["CONFIG", "SET", "notify-keyspace-events", "Ex"], ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "KEA"], ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", "gxKm"], ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "notify-keyspace-events", ""], ["CONFIG", "GET", "notify-keyspace-events"],
    ["CONFIG", "SET", "maxmemory", "1gb", "slowlog-max-len", "64"], ["CONFIG", "GET", "maxmemory"],
    ["CONFIG", "GET", "slowlog-max-len"], ["CONFIG", "SET", "maxmemory", "0", "slowlog-max-len", "128"],
    ["CONFIG", "SET", "save", ""], ["CONFIG", "SET", "appendonly", "no"], ["CONFIG", "SET", "timeout", "0"],
    ["CONFIG", "SET", "MAXMEMORY", "0"], ["CONFIG", "REWRITE"], ["CONFIG", "REWRITE", "x"],
]


@pytest.mark.parametrize("cmd", SAME_AS_REDIS, ids=[" ".join(c[1:])[:50] for c in SAME_AS_REDIS])
def test_config_set_as_redis(pair, cmd):
    fc, ref = pair
    got, want = exchange(fc.port, [cmd]), exchange(ref.port, [cmd])
    assert got == want, "\n  redis:      %r\n  flowcached: %r" % (want, got)


def test_config_set_all_or_nothing(pair):
    """A bad value anywhere leaves every other directive of the call unchanged."""
    fc, _ = pair
    c = fc.client()
    before = c.config_get("*")
    with pytest.raises(redis.ResponseError, match="argument 'maxclients'"):
        c.execute_command("CONFIG", "SET", "flow-idle-timeout", "7", "maxmemory", "5mb", "maxclients", "0")
    assert c.config_get("*") == before


def test_immutable_and_protected(pair):
    fc, _ = pair
    c = Conn(fc.port)
    assert c.call("CONFIG", "SET", "pcap", "x").raw == \
        b"-ERR CONFIG SET failed (possibly related to argument 'pcap') - can't set immutable config\r\n"
    assert c.call("CONFIG", "SET", "watchlist", "/tmp/x").raw == \
        b"-ERR CONFIG SET failed (possibly related to argument 'watchlist') - can't set protected config\r\n"
    assert c.call("CONFIG", "SET", "maxmemory-policy", "allkeys-lru").raw == \
        b"-ERR CONFIG SET failed (possibly related to argument 'maxmemory-policy') - can't set immutable config\r\n"
    c.close()


def test_every_directive_to_its_own_value(pair):
    """Setting every directive CONFIG GET lists to the value it has is accepted, immutable ones included (Redis'
    own "CONFIG sanity" test does it), and changes nothing."""
    fc, _ = pair
    c = fc.client()
    before = c.config_get("*")
    for k, v in before.items():
        assert c.config_set(k, v) is True, k
    assert c.config_get("*") == before
    with pytest.raises(redis.ResponseError, match="immutable"):
        c.config_set("port", int(before["port"]) + 1)


def test_timeouts_reach_the_cache(pair):
    """Lower timeouts take effect at once: TTLs follow the new idle timeout, keys past it leave."""
    fc, _ = pair
    c = fc.client()
    ip = sorted(c.keys("ip.*"))[0]
    assert c.ttl(ip) > 80000
    n_flows = len(c.keys("flow.*"))
    assert n_flows > 10
    try:
        assert c.config_set("host-idle-timeout", "3600") is True
        assert 3000 < c.ttl(ip) <= 3600
        c.execute_command("CONFIG", "SET", "flow-idle-timeout", "1", "flow-lifetime-timeout", "1",
                          "tcp-close-grace-ms", "0")
        assert c.config_get("flow-idle-timeout") == {"flow-idle-timeout": "1"}
        assert len(c.keys("flow.*")) < n_flows        # views drop the flows past the new timeout
    finally:
        c.execute_command("CONFIG", "SET", *[a.lstrip("-") for a in NO_EXPIRY])
    assert c.ttl(ip) > 80000


def test_maxclients(pair):
    fc, _ = pair
    c = fc.client()
    n = int(c.info("clients")["connected_clients"])
    c.config_set("maxclients", n + 1)
    try:
        a = Conn(fc.port)
        assert a.call("PING").raw == b"+PONG\r\n"
        b = Conn(fc.port)
        assert b.read_until_close(2.0) == (b"-ERR max number of clients reached\r\n", True)
        a.close()
        b.close()
    finally:
        c.config_set("maxclients", 10000)
    assert Conn(fc.port).call("PING").raw == b"+PONG\r\n"


def test_requirepass(pair):
    """A new password applies to new connections; connected clients stay authenticated, as in Redis."""
    fc, _ = pair
    c = Conn(fc.port)
    assert c.call("CONFIG", "SET", "requirepass", "s3cret").raw == b"+OK\r\n"
    try:
        d = Conn(fc.port)
        assert d.call("GET", "x").raw == b"-NOAUTH Authentication required.\r\n"
        assert d.call("AUTH", "s3cret").raw == b"+OK\r\n"
        assert c.call("PING").raw == b"+PONG\r\n"
        assert b"requirepass" not in c.call("CONFIG", "GET", "*").raw
        d.close()
    finally:
        assert c.call("CONFIG", "SET", "requirepass", "").raw == b"+OK\r\n"
    assert Conn(fc.port).call("GET", "x").raw == b"$-1\r\n"
    c.close()


def external_address():
    """This host's first non-loopback IPv4 address, or None."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.connect(("192.0.2.1", 9))
            addr = s.getsockname()[0]
        return None if addr.startswith("127.") else addr
    except OSError:
        return None


def test_protected_mode_text_names_a_command_that_works():
    """A client from another address is refused in protected mode; the error says to send CONFIG SET
    protected-mode no from the loopback interface, which then lets it in."""
    addr = external_address()
    if not addr:
        pytest.skip("no non-loopback IPv4 address on this host")
    port = free_port()
    proc = subprocess.Popen([str(flowcached_binary()), "--port", str(port), "--bind", "0.0.0.0"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ping(port, proc)
        s = socket.create_connection((addr, port), timeout=5)
        data = s.recv(4096)
        s.close()
        assert data.startswith(b"-DENIED Redis is running in protected mode")
        assert b"'CONFIG SET protected-mode no'" in data
        assert Conn(port).call("CONFIG", "SET", "protected-mode", "no").raw == b"+OK\r\n"
        s = socket.create_connection((addr, port), timeout=5)
        s.sendall(b"PING\r\n")
        assert s.recv(100) == b"+PONG\r\n"
        s.close()
    finally:
        stop_pid(proc)


def test_watchlist_file(tmp_path):
    """With enable-protected-configs yes, CONFIG SET watchlist loads another file at once; a file with a bad line is
    refused and the list stays. local lets loopback clients do it."""
    for mode in ("yes", "local"):
        a, b, bad = tmp_path / (mode + "a.txt"), tmp_path / (mode + "b.txt"), tmp_path / "bad.txt"
        a.write_text("10.0.0.0/8\n")
        b.write_text("192.0.2.7\n2001:db8::/32\n")
        bad.write_text("not an address\n")
        fc = Flowcached("--watchlist", str(a), "--enable-protected-configs", mode)
        try:
            c = fc.client()
            assert c.smembers("watchlist") == {"10.0.0.0/8"}
            assert c.config_set("watchlist", str(b)) is True
            assert c.smembers("watchlist") == {"192.0.2.7", "2001:db8::/32"}
            assert c.config_get("watchlist") == {"watchlist": str(b)}
            with pytest.raises(redis.ResponseError, match="argument 'watchlist'"):
                c.config_set("watchlist", str(bad))
            assert c.smembers("watchlist") == {"192.0.2.7", "2001:db8::/32"}
            c.sadd("watchlist", "198.51.100.1")
            assert "198.51.100.1" in b.read_text() and a.read_text() == "10.0.0.0/8\n"
        finally:
            fc.stop()
            assert not sanitizer_report(tail(fc.log, 1 << 20))


def test_notify_keyspace_events_at_run_time():
    """Turning Ex on with CONFIG SET starts __keyevent@0__:expired for a subscriber already there."""
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-speed", "1", "--pcap-loop", "yes", "--flow-idle-timeout", "1",
                    "--tcp-close-grace-ms", "0")
    try:
        sub = Conn(fc.port)
        sub.call("SUBSCRIBE", "__keyevent@0__:expired")
        sub.s.settimeout(3)
        with pytest.raises(socket.timeout):
            sub.read()
        assert fc.client().config_set("notify-keyspace-events", "Ex") is True
        sub.s.settimeout(20)
        r = sub.read()
        assert r.v[0].v == b"message" and r.v[1].v == b"__keyevent@0__:expired", r
        sub.close()
    finally:
        fc.stop()
        assert not sanitizer_report(tail(fc.log, 1 << 20))


def test_config_set_while_capturing(tmp_path):
    """CONFIG SET of everything capture threads read, many times, while they capture (run it with the TSan build):
    no race reported, the values land, a small max-flows bounds the flows."""
    lists = [tmp_path / "w0.txt", tmp_path / "w1.txt"]
    lists[0].write_text("10.0.0.0/8\n")
    lists[1].write_text("10.0.2.0/24\n192.0.2.0/24\n")
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-speed", "20", "--pcap-loop", "yes", "--user-grace", "5",
                    "--watchlist", str(lists[0]), "--enable-protected-configs", "yes")
    try:
        c = fc.client()
        deadline = time.monotonic() + 6
        i = 0
        while time.monotonic() < deadline:
            i += 1
            c.execute_command("CONFIG", "SET", "flow-idle-timeout", 1 + i % 5, "flow-lifetime-timeout", 10 + i % 7,
                              "host-idle-timeout", 2 + i % 9, "tcp-close-grace-ms", (i % 4) * 500,
                              "max-flows", 1000 + i, "maxmemory", "%dmb" % (64 + i % 3), "user-grace", i % 10,
                              "cloud-flush-ms", 50 + i % 100, "notify-keyspace-events", "Ex" if i % 2 else "",
                              "watchlist", str(lists[i % 2]))
        assert i > 50
        dropped = int(c.info()["flows_dropped"])
        c.execute_command("CONFIG", "SET", "max-flows", "5", "flow-idle-timeout", "1", "flow-lifetime-timeout", "2")
        time.sleep(3)
        info = c.info()
        assert int(info["flows_active"]) <= 5 + 4, info["flows_active"]   # a worker's folds lag a little
        assert int(info["flows_dropped"]) > dropped
        assert c.config_get("max-flows") == {"max-flows": "5"}
    finally:
        fc.stop()
        text = tail(fc.log, 1 << 20)
        assert not sanitizer_report(text), text[-6000:]


# ---------------------------------------------------------------- CONFIG REWRITE

CONF = """# a comment at the top
port 6390
bind 127.0.0.1


# the memory cap
maxmemory 100mb
protected-mode yes
   timeout 0   
slowlog-max-len 10
slowlog-max-len 20
notify-keyspace-events ""
maxclients 100
# the end
"""


def test_config_rewrite_as_redis(tmp_path):
    """The same file, the same CONFIG SETs: flowcached rewrites everything above Redis's signature line byte for byte
    as redis-server does (comments, order, blank runs, duplicates); what it appends after it are its own directives
    that differ from their defaults; the rewritten file starts flowcached again with the same values."""
    mine, theirs = tmp_path / "fc.conf", tmp_path / "redis.conf"
    if not shutil.which("redis-server"):
        pytest.skip("redis-server not installed")
    mine.write_text(CONF)
    theirs.write_text(CONF)
    sets = ["maxmemory", "2gb", "slowlog-log-slower-than", "5", "notify-keyspace-events", "Ex", "maxclients", "50"]
    fc = Flowcached(config=mine)
    rport = free_port()
    rproc = subprocess.Popen(["redis-server", str(theirs), "--port", str(rport), "--dir", str(tmp_path),
                              "--save", ""], stdout=subprocess.DEVNULL)
    try:
        wait_ping(rport, rproc)
        for port in (fc.port, rport):
            assert exchange(port, [["CONFIG", "SET"] + sets, ["CONFIG", "REWRITE"]]) == b"+OK\r\n+OK\r\n"
        got, want = mine.read_text(), theirs.read_text()
        sig = "# Generated by CONFIG REWRITE\n"
        got_head = got.split(sig)[0].replace("port %d\n" % fc.port, "port P\n")
        want_head = want.split(sig)[0].replace("port %d\n" % rport, "port P\n")
        assert got_head == want_head, "\n--- redis:\n%s\n--- flowcached:\n%s" % (want, got)
        tail_lines = got.split(sig)[1].splitlines()
        assert 'slowlog-log-slower-than 5' in tail_lines and tail_lines[0] != "", got
        assert "port %d" % fc.port in got
        again = Flowcached(config=mine)
        try:
            c = again.client()
            for k, v in zip(sets[0::2], sets[1::2]):
                want_v = {"2gb": str(2 << 30), "Ex": "xE"}.get(v, v)
                assert c.config_get(k) == {k: want_v}
        finally:
            again.stop()
    finally:
        fc.stop()
        stop_pid(rproc)


def test_config_rewrite_keeps_unknown_and_lists(tmp_path):
    """A line flowcached does not know becomes "# ??? line" (as Redis does); list directives keep a line per value;
    without a config file REWRITE answers Redis's error."""
    conf = tmp_path / "fc.conf"
    conf.write_text("# probe\npcap %s\n\nflow-idle-timeout 30\n" % DEMO_PCAP)
    fc = Flowcached(config=conf)
    try:
        c = fc.client()
        c.config_set("flow-idle-timeout", "45")
        with conf.open("a") as f:
            f.write("bogus-directive 1\nflow-idle-timeout 99\n")    # written after start, as in Redis's test
        assert Conn(fc.port).call("CONFIG", "REWRITE").raw == b"+OK\r\n"
        text = conf.read_text()
        assert text.startswith("# probe\npcap \"%s\"\n\nflow-idle-timeout 45\n# ??? bogus-directive 1\n\n"
                               "# Generated by CONFIG REWRITE\n" % DEMO_PCAP), text
        assert re.search(r"^port \d+$", text, re.M)
    finally:
        fc.stop()
    bare = Flowcached()
    try:
        assert Conn(bare.port).call("CONFIG", "REWRITE").raw == b"-ERR The server is running without a config file\r\n"
    finally:
        bare.stop()
