"""test_reliability_security.py - security (issue 7): 127.0.0.1 by default, protected mode (DENIED for a
non-loopback client, tested from inside a private network namespace), requirepass/AUTH (WRONGPASS, NOAUTH,
INFO auth_failures), no command that reads or writes files or loads code.

Not tested because not implemented: the `user` directive (drop privileges once capture devices are open).
"""
import os
import shutil
import socket
import subprocess
import time
import uuid

import pytest
import redis

from conftest import free_port
from test_reliability_util import Proc, connect, is_closed, read_reply, recv_until_closed, resp_command

DENIED_PREFIX = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set"
REDIS_DENIED_REST = (  # the rest of redis-server 7.0's message (networking.c), one line
    b" for the default user. In this mode connections are only accepted from the loopback interface. If you want "
    b"to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable "
    b"protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to "
    b"Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from "
    b"internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable "
    b"the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and "
    b"then restarting the server. 3) If you started the server manually just for testing, restart it with the "
    b"'--protected-mode no' option. 4) Set up an authentication password for the default user. NOTE: You only need "
    b"to do one of the above things in order for the server to start accepting connections from the outside.")


def listening_addresses(port):
    """Local addresses with a LISTEN socket on port, from /proc/net/tcp and tcp6."""
    out = []
    for path, fam in (("/proc/net/tcp", 4), ("/proc/net/tcp6", 6)):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            addr, p = f[1].split(":")
            if int(p, 16) != port or f[3] != "0A":
                continue
            raw = bytes.fromhex(addr)
            if fam == 4:
                out.append(socket.inet_ntop(socket.AF_INET, raw[::-1]))
            else:
                raw = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
                out.append(socket.inet_ntop(socket.AF_INET6, raw))
    return out


def test_default_bind_is_loopback():
    p = Proc()                                   # no --bind: the default
    try:
        addrs = listening_addresses(p.port)
        assert addrs == ["127.0.0.1"], addrs
    finally:
        p.cleanup()


def test_bind_loopback_v4_and_v6():
    p = Proc("--bind", "127.0.0.1", "::1")
    try:
        assert sorted(listening_addresses(p.port)) == ["127.0.0.1", "::1"]
        with socket.create_connection(("::1", p.port), timeout=5) as s:
            s.sendall(b"PING\r\n")
            assert read_reply(s) == b"+PONG\r\n"   # loopback: protected mode lets it in
    finally:
        p.cleanup()


# ---------------------------------------------------------------- protected mode from a non-loopback address

def have_netns():
    return os.geteuid() == 0 and shutil.which("ip") and shutil.which("redis-cli")


@pytest.fixture
def ns_with_address():
    """A private namespace with lo and a veth end holding 10.98.0.1/24 (a non-loopback local address)."""
    if not have_netns():
        pytest.skip("needs root, ip(8) and redis-cli for a private network namespace")
    ns = "fc-test-%d-%s" % (os.getpid(), uuid.uuid4().hex[:6])
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
        pytest.skip("cannot create a network namespace")
    try:
        run = lambda *c: subprocess.run(["ip", "netns", "exec", ns] + list(c), check=True, capture_output=True)
        run("ip", "link", "set", "lo", "up")
        run("ip", "link", "add", "fcsec0", "type", "veth", "peer", "name", "fcsec1")
        run("ip", "addr", "add", "10.98.0.1/24", "dev", "fcsec0")
        run("ip", "link", "set", "fcsec0", "up")
        run("ip", "link", "set", "fcsec1", "up")
        yield ns
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def ns_cli(ns, host, port, *args, password=None):
    cmd = ["ip", "netns", "exec", ns, "redis-cli", "-h", host, "-p", str(port)]
    if password:
        cmd += ["--no-auth-warning", "-a", password]
    r = subprocess.run(cmd + list(args), capture_output=True, text=True, timeout=20)
    out = (r.stdout + r.stderr).strip()
    return out[len("(error) "):] if out.startswith("(error) ") else out


def start_in_ns(ns, *args):
    port = free_port()
    p = Proc(*args, port=port, wait=False, prefix=["ip", "netns", "exec", ns])
    deadline = time.monotonic() + 30
    while True:
        out = ns_cli(ns, "127.0.0.1", port, "PING", password=p.password)
        if out == "PONG":
            return p
        assert p.proc.poll() is None and time.monotonic() < deadline, "not answering: %r\n%s" % (out, p.output())
        time.sleep(0.2)


def test_protected_mode_denies_non_loopback(ns_with_address):
    ns = ns_with_address
    p = start_in_ns(ns, "--bind", "0.0.0.0")
    try:
        out = ns_cli(ns, "10.98.0.1", p.port, "PING")
        assert out.encode() == DENIED_PREFIX[1:] + REDIS_DENIED_REST, out
        assert ns_cli(ns, "127.0.0.1", p.port, "PING") == "PONG"
    finally:
        p.cleanup()


def test_protected_mode_with_password_or_disabled(ns_with_address):
    ns = ns_with_address
    p = start_in_ns(ns, "--bind", "0.0.0.0", "--requirepass", "pw1")
    try:
        assert ns_cli(ns, "10.98.0.1", p.port, "PING").startswith("NOAUTH")
        assert ns_cli(ns, "10.98.0.1", p.port, "PING", password="pw1") == "PONG"
    finally:
        p.cleanup()
    p = start_in_ns(ns, "--bind", "10.98.0.1", "127.0.0.1", "--protected-mode", "no")
    try:
        assert ns_cli(ns, "10.98.0.1", p.port, "PING") == "PONG"
    finally:
        p.cleanup()


# ---------------------------------------------------------------- AUTH

def test_requirepass_auth():
    p = Proc("--bind", "127.0.0.1", "--requirepass", "correct horse")
    try:
        with connect(p.port) as s:
            s.sendall(resp_command("GET", "x"))
            assert read_reply(s) == b"-NOAUTH Authentication required.\r\n"
            s.sendall(resp_command("KEYS", "*"))
            assert read_reply(s) == b"-NOAUTH Authentication required.\r\n"
            for wrong in ("correct hors", "correct horsee", "", "x" * 10000, "correct\x00horse"):
                s.sendall(resp_command("AUTH", wrong))
                assert read_reply(s) == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n", wrong
            s.sendall(resp_command("AUTH", "admin", "correct horse"))
            assert read_reply(s) == b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
            s.sendall(resp_command("AUTH", "correct horse") + resp_command("GET", "x"))
            assert read_reply(s) == b"+OK\r\n"
            assert read_reply(s) == b"$-1\r\n"
            s.sendall(resp_command("INFO", "stats"))
            stats = read_reply(s).decode()
            assert "auth_failures:6\r\n" in stats, stats
        with connect(p.port) as s:
            s.sendall(resp_command("AUTH", "default", "correct horse") + resp_command("PING"))
            assert read_reply(s) == b"+OK\r\n" and read_reply(s) == b"+PONG\r\n"
        # HELLO with AUTH
        with connect(p.port) as s:
            s.sendall(resp_command("HELLO", "2", "AUTH", "default", "nope"))
            assert read_reply(s).startswith(b"-WRONGPASS")
        c = p.client()
        assert int(c.info("stats")["auth_failures"]) == 7
        # the secret is never shown
        assert c.config_get("requirepass") in ({}, {"requirepass": ""}), c.config_get("requirepass")
        assert "correct horse" not in str(c.config_get("*"))
        assert "correct horse" not in p.output()
    finally:
        p.cleanup()


def test_auth_timing_does_not_depend_on_the_matching_prefix():
    """secret_equal compares every byte: a wrong password sharing a long prefix with the secret is not
    measurably slower to refuse than one that differs at the first byte (coarse check, 3x margin)."""
    secret = "s" * 4096
    p = Proc("--bind", "127.0.0.1", "--requirepass", secret)
    try:
        def timed(pw, n=297):
            # 9 tries a connection, opened before the clock starts: the 10th failure closes a connection
            socks = [connect(p.port) for _ in range(n // 9)]
            req = resp_command("AUTH", pw) * 9
            t = time.perf_counter()
            for s in socks:
                s.sendall(req)
            for s in socks:
                for _ in range(9):
                    read_reply(s)
            dt = time.perf_counter() - t
            for s in socks:
                s.close()
            return dt
        timed("x" * 4096, 54)
        a = min(timed("x" + "s" * 4095) for _ in range(3))
        b = min(timed("s" * 4095 + "x") for _ in range(3))
        assert b < 3 * a + 0.05 and a < 3 * b + 0.05, (a, b)
    finally:
        p.cleanup()


# ---------------------------------------------------------------- no command touches files or loads code

REFUSED = [
    ("CONFIG", "SET", "dir", "/tmp"),
    ("CONFIG", "SET", "dbfilename", "x.rdb"),
    # requirepass and protected-mode change at run time as in Redis (test_config_set.py); these are refused
    ("CONFIG", "SET", "requirepass", "", "extra"),
    ("CONFIG", "SET", "protected-mode", "maybe"),
    ("CONFIG", "SET", "watchlist", "/etc/passwd"),   # a path the server writes: enable-protected-configs
    ("CONFIG", "SET", "logfile", "/tmp/fc-owned"),
    ("CONFIG", "REWRITE"),
    ("DEBUG", "RELOAD"),
    ("DEBUG", "SEGFAULT"),
    ("MODULE", "LOAD", "{canary}"),
    ("SAVE",),
    ("BGSAVE",),
    ("BGREWRITEAOF",),
    ("REPLICAOF", "127.0.0.1", "1"),
    ("SLAVEOF", "127.0.0.1", "1"),
    ("MIGRATE", "127.0.0.1", "1", "k", "0", "1000"),
    ("EVAL", "return 1", "0"),
    ("FUNCTION", "LOAD", "#!lua name=x\nredis.register_function('f', function() return 1 end)"),
    ("SCRIPT", "LOAD", "return 1"),
    ("ACL", "LOAD"),
    ("ACL", "SAVE"),
    ("ACL", "SETUSER", "eve", "on", ">pw", "+@all"),
    ("RESTORE", "k", "0", "\x00"),
    ("SHUTDOWN", "BOGUS"),           # SHUTDOWN itself stops the server as in Redis (test_compat_ops.py)
    ("CLUSTER", "MEET", "127.0.0.1", "1"),
    ("CLUSTER", "SAVECONFIG"),
    ("SET", "k", "v"),
    ("SADD", "notwatchlist", "1.2.3.4"),
    ("LPUSH", "k", "v"),
]


def test_no_command_touches_files(tmp_path):
    canary = tmp_path / "canary.so"
    canary.write_bytes(b"\x7fELF not really")
    before = set(os.listdir(tmp_path)) | set(os.listdir("/tmp"))
    p = Proc("--bind", "127.0.0.1")
    try:
        c = p.client()
        refused = []
        for cmd in REFUSED:
            cmd = tuple(str(canary) if a == "{canary}" else a for a in cmd)
            with connect(p.port) as s:
                s.sendall(resp_command(*cmd) + resp_command("PING"))
                r1 = read_reply(s)
                assert r1.startswith(b"-"), "%r was accepted: %r" % (cmd, r1)
                assert read_reply(s) == b"+PONG\r\n", cmd
                refused.append((cmd[0] + " " + (cmd[1] if len(cmd) > 1 else ""), r1.decode().strip()[:70]))
        assert c.ping()
        assert p.proc.poll() is None, "a command stopped the server"
        assert c.config_get("protected-mode") == {"protected-mode": "yes"}
        after = set(os.listdir(tmp_path)) | set(os.listdir("/tmp"))
        new = [f for f in after - before if not f.startswith(("flowcached-", "pytest-", "tmp")) and "fuzz" not in f]
        assert not any(f in ("x.rdb", "dump.rdb", "fc-owned", "appendonly.aof") for f in new), new
        print("\nrefused commands:")
        for name, reply in refused:
            print("  %-20s %s" % (name, reply))
    finally:
        p.cleanup()
