"""test_compat_clients.py - stock Redis clients against flowcached: redis-cli (plain, --scan, --bigkeys, --stat, -3),
redis-py 4.3 (reads, scan_iter, pipeline = MULTI/EXEC, pubsub), Perl Redis, ioredis 5 and 6, node-redis 4 and 6
(npm-installed into tests/clients/node_modules at test time; skipped when npm is missing), an inline telnet-style
session, and the security bits (requirepass, NOAUTH, maxclients, slow log).
"""
import json
import os
import select
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis

from conftest import raw_exchange
from test_compat_util import Conn, kill_tree, py

ROOT = Path(__file__).resolve().parents[2]
CLIENTS = ROOT / "tests" / "clients"
CHANNEL = "compat.test"


@pytest.fixture(scope="module")
def c(demo_fc):
    return demo_fc.client()


@pytest.fixture(scope="module")
def keys(c):
    return {"hash": sorted(c.keys("ip.*"))[0], "str": sorted(c.keys("ipuser.*"))[0]}


def cli(fc, *args, timeout=30, input=None):
    exe = shutil.which("redis-cli")
    if not exe:
        pytest.skip("redis-cli not installed")
    r = subprocess.run([exe, "-p", str(fc.port)] + list(args), capture_output=True, text=True, timeout=timeout,
                       input=input)
    return r


# ---------------------------------------------------------------- redis-cli
def test_redis_cli_plain_and_resp3(demo_fc, c, keys):
    assert cli(demo_fc, "PING").stdout == "PONG\n"
    assert cli(demo_fc, "HGET", keys["hash"], "bytes.sent").stdout.strip() == c.hget(keys["hash"], "bytes.sent")
    out = cli(demo_fc, "--no-raw", "-3", "HGETALL", keys["hash"]).stdout
    assert out.lstrip().startswith("1# \"bytes.sent\" => ")   # redis-cli's RESP3 map rendering
    assert cli(demo_fc, "--no-raw", "-3", "GET", "missing").stdout.strip() == "(nil)"
    assert cli(demo_fc, "-3", "HELLO", "3").stdout.count("proto") == 1
    info = cli(demo_fc, "-3", "INFO", "server").stdout
    assert "redis_version:7.0.15" in info


def test_redis_cli_scan_bigkeys_stat(demo_fc, c):
    assert sorted(cli(demo_fc, "--scan").stdout.split()) == sorted(c.keys("*"))
    assert sorted(cli(demo_fc, "--scan", "--pattern", "proto.*").stdout.split()) == sorted(c.keys("proto.*"))
    big = cli(demo_fc, "--bigkeys")
    assert big.returncode == 0, big.stderr
    assert "Biggest   hash found" in big.stdout and "Biggest string found" in big.stdout, big.stdout
    mem = cli(demo_fc, "--memkeys")
    assert mem.returncode == 0 and "Biggest   hash found" in mem.stdout, mem.stdout + mem.stderr
    p = subprocess.Popen(["stdbuf", "-o0", shutil.which("redis-cli"), "-p", str(demo_fc.port), "--stat", "-i", "0.2"],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    time.sleep(1.5)
    kill_tree(p)
    out = p.stdout.read().decode()
    assert "keys" in out and "clients" in out and "requests" in out, out
    assert str(c.dbsize()) in out, out


def test_redis_cli_interactive_session(demo_fc):
    """The interactive prompt (COMMAND DOCS for hints), fed through stdin."""
    r = cli(demo_fc, input="PING\nDBSIZE\nQUIT\n")
    assert r.stdout.startswith("PONG\n"), r.stdout + r.stderr


# ---------------------------------------------------------------- redis-py
def test_redis_py(demo_fc, c, keys):
    h = c.hgetall(keys["hash"])
    assert h and c.get(keys["str"])
    assert set(c.scan_iter(count=50)) == set(c.keys("*"))
    pipe = c.pipeline()                                  # MULTI ... EXEC
    pipe.get(keys["str"]).hget(keys["hash"], "bytes.sent").ttl(keys["hash"]).type(keys["hash"])
    assert pipe.execute() == [c.get(keys["str"]), h["bytes.sent"], c.ttl(keys["hash"]), "hash"]
    with pytest.raises(redis.ResponseError):
        p2 = c.pipeline()
        p2.get(keys["str"]).execute_command("NOSUCHCMD")
        p2.execute()
    assert c.client_setname("dashboard") is True
    assert c.client_getname() == "dashboard"
    ps = c.pubsub()
    ps.subscribe(CHANNEL)
    assert ps.get_message(timeout=2)["type"] == "subscribe"
    ps.ping("")
    assert ps.get_message(timeout=2)["data"] in ("", b"")  # redis-py 4: ["pong", ""]
    assert demo_fc.client().publish(CHANNEL, "hi") == 1
    m = ps.get_message(timeout=2)
    assert m["type"] == "message" and m["channel"] == CHANNEL and m["data"] == "hi"
    ps.close()


# ---------------------------------------------------------------- scripted clients
def run_scripted(cmd, fc, expect):
    """Start a client script; when it prints READY, PUBLISH until it prints its JSON line; check it."""
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=str(CLIENTS), start_new_session=True)
    pub = fc.client()
    try:
        line, deadline = b"", time.monotonic() + 60
        while b"READY" not in line:
            r, _, _ = select.select([p.stdout], [], [], max(0.0, deadline - time.monotonic()))
            assert r, "no READY from %s" % cmd
            line = p.stdout.readline()
            assert line, "%s exited: %s" % (cmd, p.stderr.read().decode()[-3000:])
        out = b""
        while not out.strip():
            pub.publish(CHANNEL, "hello")
            r, _, _ = select.select([p.stdout], [], [], 2.0)
            if r:
                out = p.stdout.readline()
                if not out:
                    break
            assert time.monotonic() < deadline, "no message received by %s" % cmd
        p.wait(timeout=20)
        err = p.stderr.read().decode()
        assert p.returncode == 0 and out, "%s: rc=%s\n%s" % (cmd, p.returncode, err[-3000:])
        got = json.loads(out)
    finally:
        kill_tree(p)
    assert got["hgetall"] == expect["hgetall"]
    assert got["get"] == expect["get"]
    assert got["type"] == "hash" and int(got["ttl"]) > 0
    assert int(got["dbsize"]) == expect["dbsize"] and int(got["scan"]) == expect["dbsize"]
    assert got["pipeline"] == [expect["get"], expect["first"]]
    assert got["message"] == [CHANNEL, "hello"]


def expectation(c, keys):
    h = c.hgetall(keys["hash"])
    return {"hgetall": h, "get": c.get(keys["str"]), "dbsize": c.dbsize(), "first": h["bytes.sent"]}


def test_perl_redis(demo_fc, c, keys):
    if subprocess.run(["perl", "-MRedis", "-e", "1"], capture_output=True).returncode != 0:
        pytest.skip("libredis-perl not installed")
    run_scripted(["perl", str(CLIENTS / "perl_client.pl"), str(demo_fc.port), keys["hash"], keys["str"], CHANNEL],
                 demo_fc, expectation(c, keys))


@pytest.fixture(scope="session")
def node_modules():
    """npm install (pinned by package-lock.json) into tests/clients/node_modules, once."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if not npm or not node:
        pytest.skip("node/npm not installed")
    if not (CLIENTS / "node_modules" / ".package-lock.json").exists():
        r = subprocess.run([npm, "ci" if (CLIENTS / "package-lock.json").exists() else "install", "--no-audit",
                            "--no-fund"], cwd=str(CLIENTS), capture_output=True, text=True, timeout=600)
        if r.returncode != 0:
            pytest.skip("npm install failed (registry unreachable?): %s" % r.stderr[-500:])
    return CLIENTS / "node_modules"


@pytest.mark.parametrize("lib", ["ioredis5", "ioredis6", "redis4", "redis6"])
def test_node_clients(demo_fc, c, keys, node_modules, lib):
    if not (node_modules / lib).is_dir():
        pytest.skip("%s not installed" % lib)
    run_scripted([shutil.which("node"), "node_client.js", lib, str(demo_fc.port), keys["hash"], keys["str"], CHANNEL],
                 demo_fc, expectation(c, keys))


# ---------------------------------------------------------------- telnet-style inline session
def test_inline_session(demo_fc, keys):
    s = socket.create_connection(("127.0.0.1", demo_fc.port), timeout=5)
    f = s.makefile("rb")
    s.sendall(b"PING\r\n")
    assert f.readline() == b"+PONG\r\n"
    s.sendall(b"\r\n\nECHO \"a\\x41 b\"\n")                      # blank lines ignored, quoted with \xHH escape
    assert f.readline() == b"$4\r\n" and f.readline() == b"aA b\r\n"
    s.sendall(b"HGET %s bytes.sent\n" % keys["hash"].encode())
    assert f.readline().startswith(b"$") and f.readline().strip().isdigit()
    s.sendall(b"TYPE 'no such key'\n")
    assert f.readline() == b"+none\r\n"
    s.sendall(b"SUBSCRIBE " + CHANNEL.encode() + b"\n")
    assert f.readline() == b"*3\r\n"
    for _ in range(5):
        f.readline()
    demo_fc.client().publish(CHANNEL, "via telnet")
    assert [f.readline() for _ in range(7)][-1] == b"via telnet\r\n"
    s.sendall(b"QUIT\n")
    assert f.readline() == b"+OK\r\n" and f.readline() == b""
    s.close()


# ---------------------------------------------------------------- security in the command layer
def test_requirepass_and_auth(flowcached):
    fc = flowcached("--requirepass", "s3cret", wait=False)
    deadline = time.monotonic() + 15
    while True:
        try:
            conn = Conn(fc.port)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert conn.call("GET", "x").raw == b"-NOAUTH Authentication required.\r\n"
    assert conn.call("FOO").raw.startswith(b"-ERR unknown command 'FOO'")   # unknown before NOAUTH, as Redis
    assert conn.call("GET").raw == b"-ERR wrong number of arguments for 'get' command\r\n"
    assert conn.call("HELLO", "3").raw.startswith(b"-NOAUTH HELLO must be called with the client already")
    assert conn.call("AUTH", "bad").raw == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert conn.call("AUTH", "bob", "s3cret").raw == \
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    assert conn.call("AUTH", "default", "s3cret").raw == b"+OK\r\n"
    assert conn.call("PING").raw == b"+PONG\r\n"
    assert conn.call("RESET").raw == b"+RESET\r\n"
    assert conn.call("PING").raw == b"-NOAUTH Authentication required.\r\n"
    r3 = conn.call("HELLO", "3", "AUTH", "default", "s3cret", "SETNAME", "me")
    assert r3.t == "%" and dict(py(r3))[b"proto"] == 3
    conn.close()
    # pre-auth limits of the reader: more than 10 arguments / a bulk over 16 KB
    out = fc.raw(b"*11\r\n" + b"$1\r\na\r\n" * 11, timeout=1)
    assert out == b"-ERR Protocol error: unauthenticated multibulk length\r\n"
    out = fc.raw(b"*2\r\n$4\r\nAUTH\r\n$20000\r\n", timeout=1)
    assert out == b"-ERR Protocol error: unauthenticated bulk length\r\n"
    assert redis.Redis(port=fc.port, password="s3cret").ping() is True
    assert redis.Redis(port=fc.port, username="default", password="s3cret").ping() is True
    with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
        redis.Redis(port=fc.port, password="nope").ping()


def test_maxclients(flowcached):
    fc = flowcached("--maxclients", "2")
    a, b = Conn(fc.port), Conn(fc.port)
    assert a.call("PING").raw == b"+PONG\r\n" and b.call("PING").raw == b"+PONG\r\n"
    third = socket.create_connection(("127.0.0.1", fc.port), timeout=5)
    data = b""
    while True:
        chunk = third.recv(4096)
        if not chunk:
            break
        data += chunk
    assert data == b"-ERR max number of clients reached\r\n"
    a.close()
    b.close()
    third.close()


def test_slowlog(demo_fc):
    conn = Conn(demo_fc.port)
    assert conn.call("CONFIG", "SET", "slowlog-log-slower-than", "0").raw == b"+OK\r\n"
    try:
        conn.call("SLOWLOG", "RESET")
        conn.call("CLIENT", "SETNAME", "slowpoke")
        conn.call("KEYS", "*")
        conn.call("ECHO", "x" * 200)
        entries = py(conn.call("SLOWLOG", "GET", "-1"))
        assert conn.call("SLOWLOG", "LEN").v == len(entries) + 1 >= 4    # + the SLOWLOG GET
        echo, keys = entries[0], entries[1]             # newest first (SLOWLOG GET itself was not logged yet)
        assert keys[3] == [b"KEYS", b"*"] and keys[5] == b"slowpoke" and keys[4].startswith(b"127.0.0.1:")
        assert echo[3] == [b"ECHO", b"x" * 128 + b"... (72 more bytes)"]
        assert echo[0] > keys[0] and echo[2] >= 0
        assert conn.call("CONFIG", "GET", "slowlog-log-slower-than").raw == \
            b"*2\r\n$23\r\nslowlog-log-slower-than\r\n$1\r\n0\r\n"
    finally:
        conn.call("CONFIG", "SET", "slowlog-log-slower-than", "10000")
        conn.call("SLOWLOG", "RESET")
        conn.close()
    # a slow command at the default threshold: KEYS over the whole cache is not (it takes microseconds here)
    assert raw_exchange(demo_fc.port, b"SLOWLOG LEN\r\n", expect=4) == b":0\r\n"
