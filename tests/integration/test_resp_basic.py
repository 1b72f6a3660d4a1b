"""test_resp_basic.py - flowcached answers stock clients (redis-py, redis-cli, raw RESP) as Redis 7.0 does."""
import fnmatch
import json
import re
import shutil
import subprocess
import time

import pytest
import redis

from conftest import DEMO_PCAP, NO_EXPIRY, raw_exchange


def cli(fc, *args):
    exe = shutil.which("redis-cli")
    if not exe:
        pytest.skip("redis-cli not installed")
    r = subprocess.run([exe, "-p", str(fc.port)] + list(args), capture_output=True, text=True, timeout=30)
    return r.stdout


@pytest.fixture(scope="module")
def c(demo_fc):
    return demo_fc.client()


# ---------------------------------------------------------------- redis-py
def test_ping_echo(c):
    assert c.ping() is True
    assert c.echo("hello world") == "hello world"


def test_info_names_the_allocator_the_binary_links(demo_fc, c):
    """INFO mem_allocator says jemalloc-<version> exactly when the binary links libjemalloc (the default
    build), else libc (make MALLOC=libc, sanitizer builds), as redis-server reports its own."""
    ldd = subprocess.run(["ldd", demo_fc.binary], capture_output=True, text=True, timeout=30).stdout
    alloc = c.info("memory")["mem_allocator"]
    if str(demo_fc.binary).endswith("/build/plain/flowcached"):
        assert "libjemalloc" in ldd, "the default build must link jemalloc:\n" + ldd
    if "libjemalloc" in ldd:
        assert re.fullmatch(r"jemalloc-\d+\.\d+\.\d+", alloc), alloc
    else:
        assert alloc == "libc"


def test_select(demo_fc, c):
    assert c.execute_command("SELECT", 0) in (True, "OK")
    with pytest.raises(redis.ResponseError, match="^DB index is out of range$"):
        c.execute_command("SELECT", 1)
    assert demo_fc.raw(b"SELECT 1\r\n", expect=31) == b"-ERR DB index is out of range\r\n"


def test_dbsize_is_keys_count(c):
    keys = c.keys("*")
    assert keys, "the demo fills the cache"
    assert c.dbsize() == len(keys)


def test_exists_type_ttl_get_missing(c):
    ip = next(iter(c.keys("ip.*")))
    assert c.exists(ip) == 1
    assert c.exists("no.such.key") == 0
    assert c.exists(ip, ip, "no.such.key") == 2
    assert c.type(ip) == "hash"
    assert c.type("no.such.key") == "none"
    assert c.ttl("no.such.key") == -2
    assert c.get("no.such.key") is None
    assert c.hgetall("no.such.key") == {}


def test_hash_reads_consistent(c):
    for key in (sorted(c.keys("ip.*"))[0], sorted(c.keys("flow.*"))[0]):
        h = c.hgetall(key)
        assert h, key
        fields = sorted(h)
        assert sorted(c.hkeys(key)) == fields
        assert c.hlen(key) == len(h)
        assert c.hmget(key, fields + ["no.such.field"]) == [h[f] for f in fields] + [None]
        for f in fields:
            assert c.hget(key, f) == h[f]
        assert c.hget(key, "no.such.field") is None


def test_scan_covers_keys(c):
    keys = set(c.keys("*"))
    assert set(c.scan_iter(count=37)) == keys
    assert set(c.scan_iter(match="ip.*", count=50)) == {k for k in keys if k.startswith("ip.")}


@pytest.mark.parametrize("pattern", ["ip.10.*", "ip.*[0-9]", "flow.udp.*"])
def test_keys_glob(c, pattern):
    everything = c.keys("*")
    want = sorted(k for k in everything if fnmatch.fnmatchcase(k, pattern))
    assert want, "the demo has keys matching %s" % pattern
    assert sorted(c.keys(pattern)) == want


def test_write_is_refused(demo_fc, c):
    with pytest.raises(redis.ReadOnlyError if hasattr(redis, "ReadOnlyError") else redis.ResponseError) as e:
        c.set("x", 1)
    assert str(e.value) == "You can't write against a read only replica."
    assert demo_fc.raw(b"SET x 1\r\n", expect=100, timeout=0.5) == \
        b"-READONLY You can't write against a read only replica.\r\n"
    assert c.exists("x") == 0


# ---------------------------------------------------------------- raw protocol
def test_unknown_command_bytes(demo_fc):
    want = b"-ERR unknown command 'FOO', with args beginning with: 'a' 'b' \r\n"
    assert demo_fc.raw(b"*3\r\n$3\r\nFOO\r\n$1\r\na\r\n$1\r\nb\r\n", expect=len(want)) == want


def test_wrong_arity(demo_fc, c):
    want = b"-ERR wrong number of arguments for 'get' command\r\n"
    assert demo_fc.raw(b"*1\r\n$3\r\nGET\r\n", expect=len(want)) == want
    with pytest.raises(redis.ResponseError, match="wrong number of arguments for 'get' command"):
        c.execute_command("GET")


def test_protocol_error_closes(demo_fc):
    out = demo_fc.raw(b"*abc\r\n", timeout=3)
    assert out == b"-ERR Protocol error: invalid multibulk length\r\n"   # then closed (read returned EOF)


def test_inline_ping(demo_fc):
    assert demo_fc.raw(b"PING\r\n", expect=7) == b"+PONG\r\n"


def test_pipeline_1000_pings(demo_fc):
    want = b"+PONG\r\n" * 1000
    assert demo_fc.raw(b"*1\r\n$4\r\nPING\r\n" * 1000, expect=len(want), timeout=5) == want
    assert demo_fc.raw(b"PING\r\n" * 1000, expect=len(want), timeout=5) == want


# Replies that do not depend on the data: must be byte-identical to a real redis-server's.
DIFFERENTIAL = [
    b"PING\r\n",
    b"*1\r\n$4\r\nPING\r\n",
    b"*2\r\n$4\r\nPING\r\n$5\r\nhello\r\n",
    b"*2\r\n$4\r\nECHO\r\n$11\r\nhello world\r\n",
    b"ECHO\r\n",
    b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n",
    b"*2\r\n$6\r\nSELECT\r\n$1\r\n1\r\n",
    b"*2\r\n$3\r\nGET\r\n$7\r\nmissing\r\n",
    b"*2\r\n$3\r\nTTL\r\n$7\r\nmissing\r\n",
    b"*2\r\n$4\r\nTYPE\r\n$7\r\nmissing\r\n",
    b"*2\r\n$7\r\nHGETALL\r\n$7\r\nmissing\r\n",
    b"*3\r\n$4\r\nHGET\r\n$7\r\nmissing\r\n$1\r\nf\r\n",
    b"*2\r\n$6\r\nEXISTS\r\n$7\r\nmissing\r\n",
    b"*3\r\n$4\r\nMGET\r\n$7\r\nmissing\r\n$7\r\nmissing\r\n",
    b"*2\r\n$4\r\nKEYS\r\n$8\r\nnomatch*\r\n",
    b"*3\r\n$3\r\nFOO\r\n$1\r\na\r\n$1\r\nb\r\n",
    b"FOO a b\r\n",
    b"*1\r\n$3\r\nGET\r\n",
    b"*1\r\n$3\r\nget\r\n",
    b"*1\r\n$7\r\nHGETALL\r\n",
    b"\r\n\r\nPING\n",
    b"*abc\r\n",
    b"*1\r\n$abc\r\n",
    b"*1\r\nxy\r\n",
    b'PING "a\r\n',
]


def test_differential_against_redis(demo_fc, redis_server):
    redis_server.hset("ip.10.0.0.1", mapping={"bytes.sent": 1, "pkts.sent": 1})
    redis_server.set("ipuser.10.0.0.1", "alice")
    diffs = []
    for req in DIFFERENTIAL:
        want = raw_exchange(redis_server.port, req, timeout=0.3)
        got = demo_fc.raw(req, timeout=0.3)
        if got != want:
            diffs.append("%r\n    redis:      %r\n    flowcached: %r" % (req, want, got))
    assert not diffs, "\n".join(diffs)


# ---------------------------------------------------------------- redis-cli
def test_redis_cli(demo_fc, c):
    assert cli(demo_fc, "PING").strip() == "PONG"
    assert cli(demo_fc, "ECHO", "hi").strip() == "hi"
    assert cli(demo_fc, "SELECT", "1").strip() == "ERR DB index is out of range"
    assert cli(demo_fc, "DBSIZE").strip() == str(c.dbsize())
    assert set(cli(demo_fc, "KEYS", "ip.*").split()) == set(c.keys("ip.*"))
    assert set(cli(demo_fc, "--scan", "--pattern", "flow.*").split()) == set(c.keys("flow.*"))
    ip = sorted(c.keys("ip.*"))[0]
    assert cli(demo_fc, "HGET", ip, "bytes.sent").strip() == c.hget(ip, "bytes.sent")
    assert cli(demo_fc, "TYPE", ip).strip() == "hash"
    assert cli(demo_fc, "TTL", "no.such.key").strip() == "-2"
    assert cli(demo_fc, "SET", "x", "1").strip() == "READONLY You can't write against a read only replica."


# ---------------------------------------------------------------- pub/sub
def read_messages(ps, n, timeout):
    out = []
    deadline = time.monotonic() + timeout
    while len(out) < n and time.monotonic() < deadline:
        m = ps.get_message(timeout=0.5)
        if m and m["type"] in ("message", "pmessage"):
            out.append(m)
    return out


def test_subscribe_flow_new(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-speed", "1", *NO_EXPIRY)
    ps = fc.client().pubsub()
    ps.subscribe("flow.new")
    msgs = read_messages(ps, 5, 20)
    assert len(msgs) >= 5, "got %d flow.new messages in 20 s at recorded speed" % len(msgs)
    for m in msgs:
        assert m["channel"] == "flow.new"
        assert "\n" not in m["data"]
        d = json.loads(m["data"])
        assert d["key"].startswith("flow."), d
    ps.close()


def test_psubscribe_flow_pattern(flowcached):
    fc = flowcached("--pcap", DEMO_PCAP, "--pcap-speed", "1", *NO_EXPIRY)
    ps = fc.client().pubsub()
    ps.psubscribe("flow.*")
    msgs = read_messages(ps, 3, 20)
    assert len(msgs) >= 3
    for m in msgs:
        assert m["type"] == "pmessage" and m["pattern"] == "flow.*"
        assert m["channel"].startswith("flow.")
        assert json.loads(m["data"])["key"].startswith("flow.")
    ps.close()
