#!/usr/bin/python3
"""cloud_commandstats.py - what one capture costs the cloud: the commands a probe sends to a fresh redis-server
while it reads a capture file to its end, per command (INFO commandstats), in all and per second of the run.

  /usr/bin/python3 tools/cloud_commandstats.py [--flowcached build/plain/flowcached] [--probes 1] PCAP...

With --probes 2 two probes read the same file at the same time (as two probes that both see the traffic).
It starts its own redis-server on a free loopback port (stopped by pid at the end). The rate is the node's
commands over the time from the first probe's start to the last one's exit; the count per command is the
figure to compare between two builds on the same file (it does not depend on the machine's speed).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import redis

from toolutil import free_port

ROOT = Path(__file__).resolve().parents[1]


def start_redis(tmp):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", tmp], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while True:
        try:
            if redis.Redis(port=port).ping():
                return proc, port
        except redis.exceptions.ConnectionError:
            pass
        if time.monotonic() > deadline or proc.poll() is not None:
            proc.kill()
            raise RuntimeError("redis-server did not start")
        time.sleep(0.05)


def run(binary, pcaps, probes):
    tmp = tempfile.mkdtemp(prefix="cloudstats-")
    rproc, rport = start_redis(tmp)
    try:
        r = redis.Redis(port=rport, decode_responses=True)
        r.config_resetstat()
        t0 = time.monotonic()
        procs = []
        for i in range(probes):
            cmd = [binary, "--port", str(free_port()), "--bind", "127.0.0.1", "--pcap-end", "exit",
                   "--cloud", "127.0.0.1:%d" % rport, "--probe-id", "p%d" % i]
            for p in pcaps:
                cmd += ["--pcap", p]
            procs.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        for p in procs:
            if p.wait(600) != 0:
                raise RuntimeError("flowcached exited with %d" % p.returncode)
        secs = time.monotonic() - t0
        stats = r.info("commandstats")
        return secs, {k[len("cmdstat_"):]: v["calls"] for k, v in stats.items()}
    finally:
        rproc.terminate()
        rproc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flowcached", default=str(ROOT / "build" / "plain" / "flowcached"))
    ap.add_argument("--probes", type=int, default=1)
    ap.add_argument("pcap", nargs="+")
    a = ap.parse_args()
    secs, calls = run(a.flowcached, [os.path.abspath(p) for p in a.pcap], a.probes)
    calls.pop("config|resetstat", None)
    calls.pop("info", None)
    total = sum(calls.values())
    print("%-22s %10s" % ("command", "calls"))
    for name, n in sorted(calls.items(), key=lambda kv: -kv[1]):
        print("%-22s %10d" % (name, n))
    print("%-22s %10d  in %.2f s: %.0f commands/s" % ("total", total, secs, total / secs if secs else 0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
