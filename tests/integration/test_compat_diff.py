"""test_compat_diff.py - differential harness: every client/dashboard command of REDIS-COMPAT.md, with good and
bad arguments, in RESP2 and RESP3, sent to flowcached and to a real redis-server 7.0 loaded with the same keys;
reply bytes must match exactly except where a normaliser says what legitimately differs (ids, times, addresses,
TTL values, INFO bodies: their structure is compared instead).

Run alone: FLOWCACHED=build/plain/flowcached /usr/bin/python3 -m pytest -q tests/integration/test_compat_diff.py
"""
import re
import tempfile

import pytest

from conftest import DEMO_PCAP, NO_EXPIRY, Flowcached, free_port, tail, sanitizer_report
from test_compat_util import Conn, RedisServer, copy_keyspace, py, shape

WATCH = ["10.0.0.0/8", "192.0.2.53", "2001:db8::/32"]


@pytest.fixture(scope="module")
def pair():
    """(flowcached, redis-server, keys): both hold the demo capture's keyspace."""
    wl = tempfile.NamedTemporaryFile("w", prefix="fc-watch-", suffix=".txt", delete=False)
    wl.write("\n".join(WATCH) + "\n")
    wl.close()
    ref = replica = scratch = None
    fc = Flowcached("--pcap", DEMO_PCAP, "--pcap-end", "keep", "--watchlist", wl.name, *NO_EXPIRY)
    try:
        fc.wait_pcap_done()
        ref = RedisServer()
        src = fc.client()
        import redis
        dst = redis.Redis(host="127.0.0.1", port=ref.port, decode_responses=True)
        types = copy_keyspace(src, dst)
        dst.close()
        keys = {
            "ip": sorted(k for k in types if k.startswith("ip.")).pop(0),
            "flow": sorted(k for k in types if k.startswith("flow.")).pop(0),
            "proto": "proto.DNS",
            "str": sorted(k for k in types if types[k] == "string").pop(0),
            "set": "watchlist",
        }
        assert types.get("watchlist") == "set"
        replica = RedisServer("--replicaof", "127.0.0.1", str(free_port()))
        scratch = RedisServer()
        refs = {"main": ref, "replica": replica, "scratch": scratch}
        yield fc, refs, keys
    finally:
        fc.stop()
        text = tail(fc.log, 1 << 20)
        for r in (ref, replica, scratch):
            if r:
                r.stop()
        assert not sanitizer_report(text), text[-6000:]


# ---------------------------------------------------------------- normalisers
def norm_exact(r):
    return r.raw


def norm_shape(r):
    return shape(r)


def norm_sorted(r):
    """An aggregate whose element order is unspecified (KEYS, SMEMBERS)."""
    return (r.t, sorted(repr(x) for x in py(r)))


def norm_scan_sorted(r):
    """A SCAN page whose keys come in hash-table order."""
    return (r.t, r.v[0].v, sorted(x.v for x in r.v[1].v)) if r.t == "*" else r.raw


def info_structure(r):
    """INFO: type, section headers in order, field names per section (values differ by nature)."""
    body = r.v.decode() if r.v is not None else None
    if r.t == "=":
        assert body.startswith("txt:")
        body = body[4:]
    if not body:
        return (r.t, body)
    secs = []
    for line in body.split("\r\n"):
        if line.startswith("# "):
            secs.append([line])
        elif line:
            name = line.split(":", 1)[0]
            name = re.sub(r"^(db|cmdstat_|errorstat_|latency_percentiles_usec_).*", r"\1*", name)
            secs[-1].append(name)
    return (r.t, body.endswith("\r\n"), secs)


# flowcached adds its own sections and fields; Redis's must all be there, in Redis's order.
def info_compare(got, want):
    gt, want_t = got[0], want[0]
    assert gt == want_t, (gt, want_t)
    if len(want) == 2:
        assert got == want
        return
    gsecs = {s[0]: s[1:] for s in got[2]}
    order = [s[0] for s in got[2]]
    wanted = [s[0] for s in want[2]]
    assert [s for s in order if s in wanted] == wanted, (order, wanted)
    for s in want[2]:
        fields = gsecs[s[0]]
        missing = [f for f in s[1:] if f not in fields]
        assert not missing, "INFO %s lacks %s" % (s[0], missing)


def client_fields(r):
    if r.t not in "$=":
        return r.raw
    body = r.v.decode()
    if r.t == "=":
        body = body[4:]
    lines = body.split("\n")
    return (r.t, lines[-1], [tuple(kv.split("=", 1)[0] for kv in ln.split(" ")) for ln in lines[:1]])


def norm_hello(r):
    return [(k, v if k != b"id" else "ID") for k, v in py(r)] if r.t == "%" else \
        [x if i != 7 else "ID" for i, x in enumerate(py(r))]


def norm_command(r):
    """COMMAND INFO / DOCS: Redis lists a container's subcommands in its dict's (per-process random) order; the
    type tree is compared exactly, subcommands sorted."""
    def canon(x):
        if x.t in "*~>" and x.v is not None:
            items = [canon(e) for e in x.v]
            if len(items) == 10 and items[0][0] == "$" and items[1][0] == ":":   # one COMMAND INFO entry
                items[9] = sorted(items[9][1], key=repr)
            for i in range(len(items) - 1):    # RESP2 docs: "subcommands" then a flat array of name, doc pairs
                if items[i] == ("$", b"subcommands") and items[i + 1][0] == "*":
                    flat = items[i + 1][1]
                    items[i + 1] = ("*", sorted(zip(flat[::2], flat[1::2]), key=repr))
            return (x.t, items)
        if x.t == "%":
            pairs = [(canon(x.v[i]), canon(x.v[i + 1])) for i in range(0, len(x.v), 2)]
            pairs = [(k, ("%", sorted(v[1], key=repr)) if k == ("$", b"subcommands") else v) for k, v in pairs]
            return ("%", pairs)
        return (x.t, x.v)
    return (r.t, canon(r))


def norm_time(r):
    return (shape(r), [bool(re.fullmatch(rb"\d+", x.v)) for x in r.v])


def norm_int_kind(r):
    return (r.t, r.v >= 0) if r.t == ":" else r.raw


def norm_slowlog(r):
    """SLOWLOG GET: entries depend on what was slow; each entry has Redis's shape."""
    if r.t != "*":
        return r.raw
    return ("*", all(shape(e) == "*[:,:,:,*[" + ",".join("$" * len(e.v[3].v)) + "],$,$]" for e in r.v))


EX, SH, SO = norm_exact, norm_shape, norm_sorted

# Each case: (commands, normaliser of the last reply or of every reply). Key placeholders: {ip} {flow} {proto}
# {str} {set}. Each case runs on a new connection (after HELLO 3 for the RESP3 run).
CASES = [
    # connection
    ([["PING"]], EX), ([["PING", "x"]], EX), ([["PING", "a", "b"]], EX), ([["ping", ""]], EX),
    ([["ECHO", "hi"]], EX), ([["ECHO"]], EX), ([["ECHO", "a", "b"]], EX),
    ([["QUIT"]], EX), ([["QUIT", "x"]], EX), ([["RESET"]], EX), ([["RESET", "x"]], EX),
    ([["SELECT", "0"]], EX), ([["SELECT", "1"]], EX), ([["SELECT", "x"]], EX), ([["SELECT", "-1"]], EX),
    ([["SELECT"]], EX),
    ([["HELLO"]], norm_hello), ([["HELLO", "2"]], norm_hello), ([["HELLO", "3"]], norm_hello),
    ([["HELLO", "4"]], EX), ([["HELLO", "1"]], EX), ([["HELLO", "x"]], EX), ([["HELLO", "3", "BOGUS"]], EX),
    ([["HELLO", "3", "SETNAME", "a b"]], EX), ([["HELLO", "3", "SETNAME", "app"], ["CLIENT", "GETNAME"]], EX),
    ([["HELLO", "3", "AUTH", "default", "x"]], EX), ([["HELLO", "3", "AUTH", "default"]], EX),
    ([["HELLO", "2", "AUTH", "bob", "x"]], EX), ([["HELLO", "3", "SETNAME"]], EX),
    ([["AUTH", "x"]], EX), ([["AUTH", "default", "x"]], EX), ([["AUTH", "bob", "x"]], EX),
    ([["AUTH", "a", "b", "c"]], EX), ([["AUTH"]], EX),
    # client
    ([["CLIENT", "SETNAME", "app"], ["CLIENT", "GETNAME"]], EX), ([["CLIENT", "GETNAME"]], EX),
    ([["CLIENT", "SETNAME", "a b"]], EX), ([["CLIENT", "SETNAME", "é"]], EX), ([["CLIENT", "SETNAME", ""]], EX),
    ([["CLIENT", "SETNAME"]], EX), ([["CLIENT", "SETNAME", "a", "b"]], EX), ([["CLIENT", "GETNAME", "x"]], EX),
    # Redis 7.0 has no CLIENT SETINFO; flowcached answers as 7.2 does (clients send it on connect, errors ignored)
    ([["CLIENT", "SETINFO", "lib-name", "redis-py"]], EX, b"+OK\r\n"),
    ([["CLIENT", "SETINFO", "lib-ver", "4.3.4"]], EX, b"+OK\r\n"),
    ([["CLIENT", "SETINFO", "bogus", "x"]], EX, b"-ERR Unrecognized option 'bogus'\r\n"),
    ([["CLIENT", "SETINFO", "lib-name", "a b"]], EX,
     b"-ERR lib-name cannot contain spaces, newlines or special characters.\r\n"),
    ([["CLIENT", "SETINFO", "lib-name"]], EX, b"-ERR wrong number of arguments for 'client|setinfo' command\r\n"),
    ([["CLIENT", "ID"]], norm_int_kind), ([["CLIENT", "ID", "x"]], EX),
    ([["CLIENT", "INFO"]], client_fields), ([["CLIENT", "LIST"]], client_fields),
    ([["CLIENT", "LIST", "TYPE", "normal"]], client_fields), ([["CLIENT", "LIST", "TYPE", "bogus"]], EX),
    ([["CLIENT", "LIST", "x"]], EX), ([["CLIENT", "INFO", "x"]], EX),
    ([["CLIENT", "KILL", "127.0.0.1:1"]], EX), ([["CLIENT", "KILL", "ID", "999999"]], EX),
    ([["CLIENT", "KILL", "ID", "x"]], EX), ([["CLIENT", "KILL", "ADDR", "127.0.0.1:1"]], EX),
    ([["CLIENT", "KILL", "BOGUS", "x"]], EX), ([["CLIENT", "KILL"]], EX),
    ([["CLIENT", "BOGUS"]], EX), ([["CLIENT"]], EX), ([["client", "setname"]], EX),
    ([["CLIENT", "NO-EVICT", "on"]], EX), ([["CLIENT", "SETNAME", "x"], ["CLIENT", "KILL", "ID", "x"]], EX),
    # transactions
    ([["MULTI"], ["GET", "{str}"], ["HGET", "{ip}", "bytes.sent"], ["EXEC"]], EX),
    ([["MULTI"], ["PING"], ["DISCARD"]], EX), ([["EXEC"]], EX), ([["DISCARD"]], EX),
    ([["MULTI"], ["MULTI"]], EX), ([["MULTI"], ["GETX"], ["EXEC"]], EX), ([["MULTI"], ["GET"], ["EXEC"]], EX),
([["MULTI"], ["GET", "{ip}"], ["EXEC"]], EX),
    ([["MULTI"], ["WATCH", "{ip}"]], EX), ([["WATCH", "{ip}"], ["MULTI"], ["PING"], ["EXEC"]], EX),
    ([["UNWATCH"]], EX), ([["WATCH"]], EX), ([["MULTI", "x"]], EX), ([["EXEC", "x"]], EX),
    ([["MULTI"], ["SUBSCRIBE", "x"], ["EXEC"]], EX), ([["MULTI"], ["HGETALL", "{ip}"], ["EXEC"]], EX),
    # strings and generic keys
    ([["GET", "{str}"]], EX), ([["GET", "missing"]], EX), ([["GET", "{ip}"]], EX), ([["GET"]], EX),
    ([["MGET", "{str}", "missing", "{ip}"]], EX), ([["MGET"]], EX),
    ([["STRLEN", "{str}"]], EX), ([["STRLEN", "missing"]], EX), ([["STRLEN", "{ip}"]], EX),
    ([["EXISTS", "{ip}", "missing", "{ip}", "{str}"]], EX), ([["EXISTS"]], EX),
    ([["TYPE", "{ip}"]], EX), ([["TYPE", "{str}"]], EX), ([["TYPE", "{set}"]], EX), ([["TYPE", "missing"]], EX),
    ([["TTL", "{ip}"]], norm_int_kind), ([["PTTL", "{ip}"]], norm_int_kind), ([["TTL", "missing"]], EX),
    ([["PTTL", "missing"]], EX), ([["TTL"]], EX), ([["TTL", "a", "b"]], EX),
    ([["DBSIZE"]], EX), ([["DBSIZE", "x"]], EX), ([["TIME"]], norm_time), ([["TIME", "x"]], EX),
    ([["KEYS", "*"]], SO), ([["KEYS", "ip.*"]], SO), ([["KEYS", "{ip}"]], EX), ([["KEYS", "proto.[D]NS"]], EX),
    ([["KEYS", "nomatch*"]], EX), ([["KEYS"]], EX), ([["KEYS", "a", "b"]], EX),
    ([["SCAN", "0", "MATCH", "{ip}", "COUNT", "100000"]], EX), ([["SCAN", "0", "COUNT", "100000", "TYPE", "string"]], norm_scan_sorted),
    ([["SCAN", "x"]], EX), ([["SCAN", "-1"]], lambda r: (r.t, r.v[0].v, r.v[1].t) if r.t == "*" else r.raw), ([["SCAN", "0", "COUNT", "0"]], EX),
    ([["SCAN", "0", "COUNT", "x"]], EX), ([["SCAN", "0", "MATCH"]], EX), ([["SCAN", "0", "BOGUS", "1"]], EX),
    ([["SCAN", "0", "TYPE", "nosuchtype", "COUNT", "100000"]], EX), ([["SCAN"]], EX),
    ([["SCAN", "18446744073709551616"]], EX), ([["SCAN", "0", "COUNT", "-1"]], EX),
    # hashes
    ([["HGETALL", "{ip}"]], EX), ([["HGETALL", "{flow}"]], EX), ([["HGETALL", "{proto}"]], EX),
    ([["HGETALL", "missing"]], EX), ([["HGETALL", "{str}"]], EX), ([["HGETALL"]], EX),
    ([["HGET", "{ip}", "bytes.sent"]], EX), ([["HGET", "{ip}", "nofield"]], EX), ([["HGET", "missing", "f"]], EX),
    ([["HGET", "{str}", "f"]], EX), ([["HGET", "{ip}"]], EX),
    ([["HMGET", "{flow}", "proto", "nofield", "l7"]], EX), ([["HMGET", "missing", "a"]], EX),
    ([["HMGET", "{str}", "a"]], EX), ([["HMGET", "{ip}"]], EX),
    ([["HKEYS", "{flow}"]], EX), ([["HVALS", "{flow}"]], EX), ([["HKEYS", "missing"]], EX), ([["HVALS", "{str}"]], EX),
    ([["HLEN", "{ip}"]], EX), ([["HLEN", "missing"]], EX), ([["HLEN", "{str}"]], EX),
    ([["HEXISTS", "{ip}", "bytes.sent"]], EX), ([["HEXISTS", "{ip}", "no"]], EX), ([["HEXISTS", "missing", "x"]], EX),
    ([["HEXISTS", "{str}", "x"]], EX),
    ([["HSCAN", "{ip}", "0"]], EX), ([["HSCAN", "{ip}", "0", "MATCH", "bytes.*"]], EX),
    ([["HSCAN", "{ip}", "0", "COUNT", "1000"]], EX), ([["HSCAN", "missing", "0"]], EX),
    ([["HSCAN", "{str}", "0"]], EX), ([["HSCAN", "{ip}", "x"]], EX), ([["HSCAN", "{ip}", "0", "COUNT", "0"]], EX),
    ([["HSCAN", "{ip}", "0", "TYPE", "hash"]], EX), ([["HSCAN", "{ip}"]], EX),
    ([["HSTRLEN", "{ip}", "bytes.sent"]], EX),
    # sets
    ([["SMEMBERS", "{set}"]], SO), ([["SMEMBERS", "missing"]], EX), ([["SMEMBERS", "{ip}"]], EX),
    ([["SISMEMBER", "{set}", "192.0.2.53"]], EX), ([["SISMEMBER", "{set}", "1.2.3.4"]], EX),
    ([["SISMEMBER", "missing", "x"]], EX), ([["SISMEMBER", "{ip}", "x"]], EX), ([["SISMEMBER", "{set}"]], EX),
    ([["SCARD", "{set}"]], EX), ([["SCARD", "missing"]], EX), ([["SCARD", "{str}"]], EX),
    # pub/sub
    ([["SUBSCRIBE", "a"], ["PING"], ["PING", "x"], ["GET", "x"], ["CLIENT", "ID"], ["UNSUBSCRIBE"]], norm_int_kind),
    ([["SUBSCRIBE", "a"], ["CLIENT", "INFO"]], client_fields), 
    ([["SUBSCRIBE", "a", "b"], ["UNSUBSCRIBE", "b", "a"]], EX), ([["SUBSCRIBE", "a", "a"], ["PING"]], EX),
    ([["PSUBSCRIBE", "a*"], ["SUBSCRIBE", "a"], ["PUNSUBSCRIBE", "a*"], ["UNSUBSCRIBE", "a"]], EX),
    ([["UNSUBSCRIBE"]], EX), ([["PUNSUBSCRIBE"]], EX), ([["UNSUBSCRIBE", "x"]], EX), ([["SUBSCRIBE"]], EX),
    ([["SUBSCRIBE", "a"], ["QUIT"]], EX), ([["SUBSCRIBE", "a"], ["RESET"]], EX),
    ([["PUBLISH", "nobody", "x"]], EX), ([["PUBLISH", "a"]], EX),
    ([["PUBSUB", "CHANNELS"]], EX), ([["PUBSUB", "CHANNELS", "zz*"]], EX), ([["PUBSUB", "NUMSUB", "a", "b"]], EX),
    ([["PUBSUB", "NUMSUB"]], EX), ([["PUBSUB", "NUMPAT"]], EX), ([["PUBSUB", "BOGUS"]], EX), ([["PUBSUB"]], EX),
    ([["PUBSUB", "NUMPAT", "x"]], EX), ([["PUBSUB", "CHANNELS", "a", "b"]], EX),
    ([["PUBSUB", "SHARDCHANNELS"]], EX), ([["PUBSUB", "SHARDNUMSUB", "a"]], EX),
    # server
    ([["INFO", ""]], EX), ([["INFO", "bogus"]], EX), ([["INFO", "keyspace", "bogus"]], info_structure),
    ([["INFO"]], info_structure), ([["INFO", "all"]], info_structure), ([["INFO", "everything"]], info_structure),
    ([["INFO", "default"]], info_structure), ([["INFO", "SERVER"]], info_structure),
    ([["INFO", "clients", "memory"]], info_structure), ([["INFO", "stats"]], info_structure),
    ([["INFO", "replication"]], info_structure), ([["INFO", "cpu"]], info_structure),
    ([["INFO", "persistence"]], info_structure), ([["INFO", "keyspace"]], info_structure),
    ([["INFO", "Cluster"]], info_structure), ([["INFO", "modules"]], info_structure),
    ([["INFO", "errorstats"]], info_structure), ([["INFO", "commandstats"]], info_structure),
    ([["INFO", "latencystats"]], info_structure),
    ([["COMMAND", "INFO", "get"]], EX), ([["COMMAND", "INFO", "hgetall", "nosuch", "client"]], norm_command),
    ([["COMMAND", "DOCS", "client", "config", "pubsub"]], norm_command),
([["COMMAND", "COUNT"]], norm_int_kind), ([["COMMAND", "COUNT", "x"]], EX),
    ([["COMMAND", "DOCS", "get"]], EX), ([["COMMAND", "DOCS", "nosuch"]], EX), ([["COMMAND", "BOGUS"]], EX),
    ([["COMMAND", "DOCS", "scan", "hgetall"]], EX), ([["COMMAND", "INFO", "set", "publish", "subscribe"]], EX),
    ([["COMMAND", "GETKEYS", "get", "a"]], EX),
    ([["CONFIG", "GET", "databases"]], EX), ([["CONFIG", "GET", "maxclients"]], EX),
    ([["CONFIG", "GET", "nosuch"]], EX), ([["CONFIG", "GET"]], EX), ([["CONFIG", "BOGUS"]], EX), ([["CONFIG"]], EX),
    ([["CONFIG", "GET", "slowlog-max-len"]], EX), ([["CONFIG", "GET", "maxmemory-policy"]], EX),
    # CONFIG SET as Redis (more in test_config_set.py); a value both refuse, not to change the shared server
    ([["CONFIG", "SET", "maxclients", "0"]], EX), ([["CONFIG", "SET", "nosuch", "5"]], EX),
    ([["CONFIG", "SET", "slowlog-max-len", "128"]], EX, "scratch"),
    ([["MEMORY", "USAGE", "{ip}"]], norm_int_kind), ([["MEMORY", "USAGE", "missing"]], EX),
    ([["MEMORY", "USAGE", "{ip}", "SAMPLES", "0"]], norm_int_kind), ([["MEMORY", "USAGE", "{ip}", "bogus"]], EX),
    ([["MEMORY", "USAGE"]], EX), ([["MEMORY", "BOGUS"]], EX), ([["MEMORY"]], EX),
    ([["SLOWLOG", "LEN"]], norm_int_kind), ([["SLOWLOG", "RESET"]], EX), ([["SLOWLOG", "GET"]], norm_slowlog), ([["SLOWLOG", "GET", "10"]], norm_slowlog), ([["SLOWLOG", "GET", "x"]], EX), ([["SLOWLOG", "BOGUS"]], EX),
    ([["SLOWLOG"]], EX), ([["SLOWLOG", "LEN", "x"]], EX),
    ([["LATENCY", "LATEST"]], EX), ([["LATENCY", "HISTORY", "command"]], EX), ([["LATENCY", "RESET"]], EX),
    ([["LATENCY", "BOGUS"]], EX), ([["LATENCY"]], EX),
    ([["FLUSHALL"]], EX, "scratch"), ([["FLUSHALL", "ASYNC"]], EX, "scratch"), ([["FLUSHALL", "x"]], EX, "scratch"),
    ([["FLUSHDB"]], EX, "scratch"), ([["FUNCTION", "FLUSH"]], EX, "scratch"), ([["FUNCTION", "BOGUS"]], EX),
    ([["FUNCTION", "FLUSH", "SYNC"]], EX, "scratch"), ([["FUNCTION", "FLUSH", "x"]], EX, "scratch"),
    ([["SENTINEL", "MASTERS"]], EX), ([["CLUSTER", "INFO"]], EX), ([["MODULE", "LIST"]], EX),
    # writes and unknown commands
    ([["SET", "k", "v"]], EX, "replica"), ([["HSET", "{ip}", "a", "b"]], EX, "replica"), ([["SET"]], EX),
    ([["DEL", "{ip}"]], EX, "replica"), ([["MULTI"], ["SET", "k", "v"], ["EXEC"]], EX, "replica"),
    ([["SUBSCRIBE", "a"], ["SET", "k", "v"]], EX, "replica"),
    ([["FOO", "a", "b"]], EX), ([["FOO"]], EX), ([[""]], EX),
]

IDS = [" ".join(" ".join(c) for c in case[0])[:60] for case in CASES]


PUBSUB_CMDS = ("SUBSCRIBE", "PSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE")


def run_case(port, cmds, proto, keys):
    """Replies to cmds on a new connection, each paired with the command it answers (None: extra replies of
    (P)(UN)SUBSCRIBE, read until the server is silent), or "closed"."""
    c = Conn(port)
    try:
        if proto == 3:
            c.call("HELLO", "3")
        out = []
        for cmd in cmds:
            c.send(*[a.format(**keys) for a in cmd])
        for cmd in cmds:
            try:
                out.append((cmd[0].upper(), c.read()))
            except (ConnectionError, OSError):
                out.append((cmd[0].upper(), "closed"))
                return out
        if any(cmd[0].upper() in PUBSUB_CMDS for cmd in cmds):
            c.s.settimeout(0.2)
            while True:
                try:
                    out.append((None, c.read()))
                except (ConnectionError, OSError):
                    break
        return out
    finally:
        c.close()


@pytest.mark.parametrize("proto", [2, 3])
@pytest.mark.parametrize("case", range(len(CASES)), ids=IDS)
def test_diff(pair, case, proto):
    fc, refs, keys = pair
    cmds, norm = CASES[case][:2]
    where = CASES[case][2] if len(CASES[case]) > 2 else "main"
    got = run_case(fc.port, cmds, proto, keys)
    if isinstance(where, bytes):             # a divergence kept on purpose: the bytes flowcached must send
        assert [r.raw for _, r in got] == [where]
        return
    want = run_case(refs[where].port, cmds, proto, keys)
    assert len(got) == len(want), "\n  redis:      %r\n  flowcached: %r" % (want, got)
    for (name, g), (_, w) in zip(got, want):
        if isinstance(w, str) or isinstance(g, str):
            assert g == w
            continue
        n = norm_hello if name == "HELLO" and w.t in "*%" else norm
        if n is info_structure and (w.t != "$" or w.v):
            info_compare(info_structure(g), info_structure(w))
        else:
            assert n(g) == n(w), "\n  redis:      %r\n  flowcached: %r" % (w.raw[:3000], g.raw[:3000])


def test_command_table_matches_redis(pair):
    """COMMAND: every command flowcached lists is described exactly as Redis 7.0 describes it; COMMAND COUNT and
    COMMAND LIST agree with it."""
    fc, refs, _ = pair
    for proto in (2, 3):
        got = Conn(fc.port)
        want = Conn(refs["main"].port)
        if proto == 3:
            got.call("HELLO", "3")
            want.call("HELLO", "3")
        table = got.call("COMMAND")
        assert got.call("COMMAND", "COUNT").v == len(table.v)
        names = [e.v[0].v for e in table.v]
        assert sorted(py(got.call("COMMAND", "LIST"))) == sorted(names)
        for entry in table.v:
            name = entry.v[0].v
            w = want.call("COMMAND", "INFO", name)
            assert w.v[0].t != "_" and w.v[0].v is not None, name
            g = got.call("COMMAND", "INFO", name)
            assert norm_command(g) == norm_command(w), name
            assert norm_command(got.call("COMMAND", "DOCS", name)) == norm_command(want.call("COMMAND", "DOCS", name)), name
        got.close()
        want.close()
