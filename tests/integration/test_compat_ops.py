"""test_compat_ops.py - the commands operators and Redis' own test suite reach for (CLIENT REPLY, qbuf in
CLIENT LIST/INFO, HELP of every container, ROLE, RANDOMKEY, OBJECT), compared byte for byte with a real
redis-server 7.0 holding the same keys.

Run alone: FLOWCACHED=build/plain/flowcached /usr/bin/python3 -m pytest -q tests/integration/test_compat_ops.py
"""
import re
import tempfile

import pytest

from conftest import DEMO_PCAP, NO_EXPIRY, Flowcached, tail, sanitizer_report
from test_compat_util import Conn, RedisServer, copy_keyspace, shape

END = b"$7\r\n__end__\r\n"


@pytest.fixture(scope="module")
def pair():
    """(flowcached, redis-server): both hold the demo capture's keyspace."""
    ref = None
    wl = tempfile.NamedTemporaryFile("w", prefix="fc-watch-", suffix=".txt", delete=False)
    wl.write("10.0.0.0/8\n192.0.2.53\n2001:db8::/32\n")
    wl.close()
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", "--watchlist", wl.name, *NO_EXPIRY)
    try:
        fc.wait_pcap_done()
        ref = RedisServer()
        import redis
        dst = redis.Redis(host="127.0.0.1", port=ref.port, decode_responses=True)
        copy_keyspace(fc.client(), dst)
        dst.close()
        yield fc, ref
    finally:
        fc.stop()
        text = tail(fc.log, 1 << 20)
        if ref:
            ref.stop()
        assert not sanitizer_report(text), text[-6000:]


def exchange(port, cmds, raw=None):
    """Sends cmds (lists of arguments) or raw bytes on a new connection, then ECHO __end__; returns every byte
    received before that echo's reply (a command answered with nothing shows as nothing)."""
    c = Conn(port)
    try:
        data = raw or b""
        for cmd in cmds + [["ECHO", "__end__"]]:      # one write: the server reads the batch at once
            data += b"*%d\r\n" % len(cmd) + b"".join(b"$%d\r\n%s\r\n" % (len(a.encode()), a.encode()) for a in cmd)
        c.send_raw(data)
        out = b""
        while not out.endswith(END):
            out += c.s.recv(65536)
        return out[:-len(END)]
    finally:
        c.close()


def hello_id(data):
    """HELLO's client id differs by nature."""
    return re.sub(rb"\$2\r\nid\r\n:\d+", b"$2\r\nid\r\n:ID", data)


def both(pair, cmds, raw=None, norm=hello_id):
    fc, ref = pair
    got, want = norm(exchange(fc.port, cmds, raw)), norm(exchange(ref.port, cmds, raw))
    assert got == want, "\n  redis:      %r\n  flowcached: %r" % (want, got)
    return got


REPLY_CASES = [
    [["CLIENT", "REPLY", "OFF"], ["PING", "a"], ["GET", "x"], ["CLIENT", "REPLY", "ON"], ["PING", "b"]],
    [["CLIENT", "REPLY", "SKIP"], ["PING", "a"], ["PING", "b"]],
    [["CLIENT", "REPLY", "SKIP"], ["CLIENT", "REPLY", "ON"], ["PING"]],
    [["CLIENT", "REPLY", "OFF"], ["CLIENT", "REPLY", "SKIP"], ["PING", "a"], ["CLIENT", "REPLY", "ON"]],
    [["CLIENT", "REPLY", "SKIP"], ["CLIENT", "REPLY", "SKIP"], ["PING", "a"], ["PING", "b"]],
    [["CLIENT", "REPLY", "OFF"], ["NOSUCH"], ["GET"], ["CLIENT", "REPLY", "ON"]],
    [["CLIENT", "REPLY", "OFF"], ["RESET"], ["PING"]],
    [["CLIENT", "REPLY", "SKIP"], ["RESET"], ["PING"]],
    [["CLIENT", "REPLY", "OFF"], ["MULTI"], ["PING"], ["EXEC"], ["CLIENT", "REPLY", "ON"]],
    [["CLIENT", "REPLY", "BOGUS"]], [["CLIENT", "REPLY"]], [["CLIENT", "REPLY", "ON", "x"]],
    [["CLIENT", "REPLY", "on"]],
    # push frames are sent whatever CLIENT REPLY says (Redis 7.0's CLIENT_PUSHING)
    [["HELLO", "3"], ["CLIENT", "REPLY", "OFF"], ["SUBSCRIBE", "ch"], ["PSUBSCRIBE", "c*"], ["PUBLISH", "ch", "x"],
     ["CLIENT", "REPLY", "SKIP"], ["PING"], ["UNSUBSCRIBE", "ch"], ["PUNSUBSCRIBE"], ["CLIENT", "REPLY", "ON"]],
    [["CLIENT", "REPLY", "OFF"], ["SUBSCRIBE", "ch"], ["PING"], ["UNSUBSCRIBE"], ["CLIENT", "REPLY", "ON"]],
]


@pytest.mark.parametrize("case", range(len(REPLY_CASES)), ids=[" / ".join(" ".join(c) for c in x)[:70]
                                                                for x in REPLY_CASES])
def test_client_reply(pair, case):
    both(pair, REPLY_CASES[case])


def client_line_norm(data):
    """CLIENT LIST / INFO bytes with the values that differ by nature (ids, addresses, memory) masked;
    qbuf, argv-mem, flags, cmd and the field order stay."""
    data = re.sub(rb"\$\d+\r\n", b"$N\r\n", data)
    data = b"\n".join(ln for ln in data.split(b"\n") if not ln.startswith(b"id=") or re.search(rb" cmd=(client\|\w+|exec) ", ln))
    return re.sub(rb"\b(id|addr|laddr|fd|age|idle|qbuf-free|rbs|rbp|tot-mem)=\S*", rb"\1=*", data)


@pytest.mark.parametrize("cmds", [
    [["CLIENT", "LIST"]], [["CLIENT", "INFO"]], [["CLIENT", "INFO"], ["PING"]],
    [["CLIENT", "SETNAME", "abc"], ["CLIENT", "INFO"]],
], ids=["list", "info", "info+ping", "setname"])
def test_client_info_qbuf(pair, cmds):
    """qbuf is the query buffer as Redis holds it while the command runs: the command itself and what was
    pipelined behind it (26 for a lone CLIENT LIST, as Redis' introspection test expects)."""
    out = both(pair, cmds, norm=client_line_norm)
    assert b" qbuf=" in out


def test_client_info_qbuf_lone_command(pair):
    fc, _ = pair
    c = Conn(fc.port)
    assert b" qbuf=26 " in c.call("CLIENT", "LIST").v
    assert b" qbuf=26 " in c.call("CLIENT", "INFO").v and b" argv-mem=10 " in c.call("CLIENT", "INFO").v
    c.close()


def test_client_list_order(pair):
    """CLIENT LIST names the oldest connection first, as Redis does."""
    fc, _ = pair
    a, b = Conn(fc.port), Conn(fc.port)
    ida, idb = a.call("CLIENT", "ID").v, b.call("CLIENT", "ID").v
    ids = [int(x) for x in re.findall(rb"^id=(\d+)", b.call("CLIENT", "LIST").v, re.M)]
    assert ids == sorted(ids) and ids.index(ida) < ids.index(idb)
    a.close()
    b.close()


CONTAINERS = ["CLIENT", "CONFIG", "COMMAND", "MEMORY", "OBJECT", "PUBSUB", "SLOWLOG", "LATENCY", "FUNCTION", "MODULE",
              "CLUSTER"]


@pytest.mark.parametrize("name", CONTAINERS)
def test_help(pair, name):
    """<CONTAINER> HELP is Redis 7.0's text byte for byte (CLUSTER HELP: cluster support disabled), in RESP2 and
    RESP3; HELP takes no argument."""
    both(pair, [[name, "HELP"], [name.lower(), "help", "x"], ["HELLO", "3"], [name, "help"]])


def test_role(pair):
    """ROLE says master with no replicas, as INFO replication and HELLO do."""
    both(pair, [["ROLE"], ["ROLE", "x"], ["HELLO", "3"], ["ROLE"]])


def test_object_every_key(pair):
    """OBJECT ENCODING and REFCOUNT of every key are what Redis gives the same value written by a client."""
    fc, ref = pair
    keys = sorted(x.v.decode() for x in Conn(fc.port).call("KEYS", "*").v)
    assert len(keys) > 20
    cmds = [["OBJECT", sub, k] for k in keys for sub in ("ENCODING", "REFCOUNT")]
    both(pair, cmds)


@pytest.mark.parametrize("cmds", [
    [["OBJECT", "ENCODING", "missing"]], [["OBJECT", "FREQ", "proto.DNS"]], [["OBJECT", "FREQ", "missing"]],
    [["OBJECT", "REFCOUNT", "missing"]], [["OBJECT", "IDLETIME", "missing"]], [["OBJECT", "BOGUS", "x"]],
    [["OBJECT"]], [["OBJECT", "ENCODING"]], [["OBJECT", "ENCODING", "a", "b"]], [["HELLO", "3"], ["OBJECT", "ENCODING", "missing"]],
    [["OBJECT", "ENCODING", "watchlist"]], [["RANDOMKEY", "x"]], [["MULTI"], ["OBJECT", "ENCODING", "proto.DNS"], ["EXEC"]],
])
def test_object_errors(pair, cmds):
    both(pair, cmds)


def test_object_idletime(pair):
    """IDLETIME: an integer, the seconds since the key's last packet (0 for keys without last.seen)."""
    fc, _ = pair
    c = Conn(fc.port)
    for k in ("proto.DNS", "watchlist"):
        r = c.call("OBJECT", "IDLETIME", k)
        assert r.t == ":" and r.v >= 0, (k, r)
    ip = sorted(x.v for x in c.call("KEYS", "ip.*").v)[0]
    assert c.call("OBJECT", "IDLETIME", ip).t == ":"
    c.close()


def test_randomkey(pair):
    """RANDOMKEY names a key that exists, and many calls spread over the families of the keyspace."""
    fc, ref = pair
    c = Conn(fc.port)
    seen = set()
    for _ in range(200):
        r = c.call("RANDOMKEY")
        assert r.t == "$" and r.v is not None
        assert c.call("EXISTS", r.v).v == 1, r.v
        seen.add(r.v.split(b".")[0])
    assert len(seen) >= 4, seen
    c.call("HELLO", "3")
    assert shape(c.call("RANDOMKEY")) == shape(Conn(ref.port).call("RANDOMKEY"))
    c.close()


def test_randomkey_empty():
    """RANDOMKEY on an empty cache: nil, as Redis answers for an empty database."""
    fc = Flowcached()
    try:
        c = Conn(fc.port)
        assert c.call("RANDOMKEY").raw == b"$-1\r\n"
        c.call("HELLO", "3")
        assert c.call("RANDOMKEY").raw == b"_\r\n"
        c.close()
    finally:
        fc.stop()


# ---------------------------------------------------------------- MONITOR
def monitor_norm(data):
    return re.sub(rb"\+\d+\.\d{6} \[0 (127\.0\.0\.1|\[::1\]):\d+\]", b"+T [0 ADDR]", data)


def monitor_session(port, cmds):
    """(monitor stream, the commanding client's replies) for cmds sent by another client, both read up to
    the ECHO __end__ that follows them."""
    m = Conn(port)
    try:
        assert m.call("MONITOR").raw == b"+OK\r\n"
        replies = exchange(port, cmds)
        out = b""
        while b'"__end__"\r\n' not in out:
            out += m.s.recv(65536)
        return monitor_norm(out), replies
    finally:
        m.close()


MONITORED = [
    ["GET", "proto.DNS"], ["HGET", "proto.DNS", "bytes"], ["AUTH", "x", "y"], ["AUTH", "a", "b", "c"],
    ["HELLO", "3", "AUTH", "a", "b", "SETNAME", "x"], ["HELLO", "2", "SETNAME", "y", "AUTH", "a", "b"],
    ["HELLO", "3", "BOGUS", "AUTH", "a", "b"], ["HELLO", "9", "AUTH", "a", "b"],
    ["CLIENT", "GETNAME"], ["CONFIG", "GET", "maxclients"], ["LATENCY", "LATEST"],
    ["MULTI"], ["GET", "proto.DNS"], ["PING"], ["EXEC"], ["NOSUCH", "x"], ["GET"], ["ECHO", "a\x01\"b\\\n\t"],
    ["MULTI"], ["SHUTDOWN"], ["EXEC"], ["MULTI"], ["MONITOR"], ["EXEC"], ["OBJECT", "ENCODING", "proto.DNS"],
    ["COMMAND", "INFO", "get"], ["SUBSCRIBE", "ch"], ["UNSUBSCRIBE"], ["PUBLISH", "ch", "x"],
]


def test_monitor_stream(pair):
    """What MONITOR shows of another client's commands: Redis' format, AUTH and HELLO AUTH redacted,
    administrative and refused commands hidden, EXEC after the commands it ran."""
    fc, ref = pair
    got, want = monitor_session(fc.port, MONITORED), monitor_session(ref.port, MONITORED)
    assert got[0] == want[0], "\n  redis:      %r\n  flowcached: %r" % (want[0], got[0])
    assert hello_id(got[1]) == hello_id(want[1]), "\n  redis:      %r\n  flowcached: %r" % (want[1], got[1])


def test_monitor_client_itself(pair):
    """A monitoring client may not touch keys, sees its own commands after their replies, and a second
    MONITOR is ignored; RESET ends monitoring."""
    both(pair, [["MONITOR"], ["GET", "proto.DNS"], ["PING"], ["CLIENT", "GETNAME"], ["MONITOR"],
                ["PUBLISH", "a", "b"], ["OBJECT", "ENCODING", "proto.DNS"], ["CLIENT", "INFO"], ["RESET"],
                ["GET", "missing"]],
         norm=lambda b: client_line_norm(monitor_norm(b)))


def test_monitor_closed_client_leaves(pair):
    """A monitor that goes away is forgotten: commands after it still run and other monitors see them."""
    fc, _ = pair
    a, b = Conn(fc.port), Conn(fc.port)
    assert a.call("MONITOR").raw == b"+OK\r\n" and b.call("MONITOR").raw == b"+OK\r\n"
    a.close()
    c = Conn(fc.port)
    assert c.call("PING").raw == b"+PONG\r\n"
    assert b'"PING"' in b.s.recv(65536)
    c.close()
    b.close()


# ---------------------------------------------------------------- SHUTDOWN
@pytest.mark.parametrize("cmds", [
    [["SHUTDOWN", "ABORT"]], [["SHUTDOWN", "BOGUS"]], [["SHUTDOWN", "NOSAVE", "SAVE"]], [["SHUTDOWN", "ABORT", "NOW"]],
    [["SHUTDOWN", "abort", "force"]], [["MULTI"], ["SHUTDOWN"], ["EXEC"]], [["MULTI"], ["SHUTDOWN", "ABORT"], ["EXEC"]],
])
def test_shutdown_refused(pair, cmds):
    both(pair, cmds)


@pytest.mark.parametrize("args", [[], ["NOSAVE"], ["SAVE", "NOW"], ["nosave", "force", "now"]])
def test_shutdown_stops(args):
    """SHUTDOWN stops flowcached as SIGTERM does (exit status 0), closing the connection without a reply, as
    redis-server without persistence does."""
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep")
    ref = RedisServer()
    try:
        for port in (fc.port, ref.port):
            c = Conn(port)
            c.send("SHUTDOWN", *args)
            data, closed = c.read_until_close(5.0)
            assert (data, closed) == (b"", True), port
            c.close()
        assert fc.proc.wait(timeout=10) == 0
        assert ref.proc.wait(timeout=10) == 0
        assert "SHUTDOWN asked by 127.0.0.1:" in fc.output()
    finally:
        fc.stop()
        ref.stop()
        assert not sanitizer_report(tail(fc.log, 1 << 20))
