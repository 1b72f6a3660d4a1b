"""toolutil.py - small helpers the scripts in tools/ share (import toolutil: tools/ is the script's folder)."""
import os
import socket
import subprocess
import time
import uuid

# Bytes the scripts ask of each recv(). Python allocates the whole size before the call: with 1 MB that
# was an mmap, an mremap and a munmap on every recv (glibc maps requests that large), 44 us a recv on
# this machine against 7 us with 64 KB, and most of make bench item 5's latency (2026-12-05).
RECV_BYTES = 1 << 16


def free_port(kind=socket.SOCK_STREAM, host="127.0.0.1"):
    """A port free on host right now (the kernel's pick; never 6379 or 6380, which a real Redis may want)."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        if port not in (6379, 6380):
            return port


def netns_run(prefix, argv, timeout, env=None):
    """Runs argv inside a network namespace made for it (named prefix + random hex), then kills whatever is left
    in that namespace and deletes it. Returns the CompletedProcess (text output), or None when no namespace can
    be made (not root, no iproute2). Raises subprocess.TimeoutExpired after timeout seconds."""
    ns = prefix + uuid.uuid4().hex[:8]
    if subprocess.run(["ip", "netns", "add", ns], capture_output=True).returncode != 0:
        return None
    try:
        return subprocess.run(["ip", "netns", "exec", ns] + list(argv), capture_output=True, text=True,
                              timeout=timeout, env=dict(os.environ, **(env or {})))
    finally:
        for pid in subprocess.run(["ip", "netns", "pids", ns], capture_output=True, text=True).stdout.split():
            try:
                os.kill(int(pid), 9)      # only processes started inside our own namespace
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", ns])


def cpu_wall(cmd):
    """Runs cmd (its output thrown away) and returns (user+sys CPU s from wait4, wall s); exits with a message
    when it fails."""
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
    t0 = time.perf_counter()
    _, status, ru = os.wait4(p.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit("%s exited %d" % (" ".join(cmd), os.waitstatus_to_exitcode(status)))
    return ru.ru_utime + ru.ru_stime, time.perf_counter() - t0


# A cache-line round trip between two CPUs under this many ns: they share a cache (about 60 ns on this
# project's machines; 400-500 ns when the host puts them on different chiplets or sockets).
NEAR_NS = 150


def round_trip_ns(pingpong):
    """The cache-line round trip between CPUs 0 and 1 now, in ns (pingpong: tools/bench_pingpong.c's binary)."""
    r = subprocess.run([pingpong], capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise RuntimeError("%s exited %d: %s" % (pingpong, r.returncode, r.stderr.strip()[-300:]))
    return float(r.stdout.split()[0])


def placement(before, after, near_ns=NEAR_NS):
    """Where two CPUs were during a run, by the round trips taken before and after it: "near" (both under
    near_ns: sharing a cache), "far" (both at or over) or "mixed" (the host moved them meanwhile)."""
    if max(before, after) < near_ns:
        return "near"
    return "far" if min(before, after) >= near_ns else "mixed"
