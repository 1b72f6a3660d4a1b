#!/usr/bin/python3
"""bench_cloud.py - flowcached's cloud replication against one real redis-server: commands/s into the node
and latency from a flow's end on the probe to its key being written on the cloud node (median, p99), printed
side by side with redis-benchmark's pipelined SET / HINCRBY rates on the same server.

  /usr/bin/python3 tools/bench_cloud.py [--sessions 20000] [--flush-ms 100] [--flowcached build/plain/flowcached]

It starts its own redis-server on a free loopback port (stopped by pid at the end) and generates its input
with tools/gen_demo.py into a temp dir. Throughput: the pcap is read at full speed (pcap-speed 0) and the rate
is the node's total_commands_processed over the time flowcached took, plus the best 0.5 s window. Latency: the
pcap is replayed (pcap-speed --speed) and, for every flow key, the time the probe's local flow.end message
reaches a subscriber is compared with the time the cloud node's first keyspace notification for that key
reaches another subscriber of the same process (same clock): this is the replication path (queue, batch
wait of up to cloud-flush-ms, network, Redis), not the capture-to-event path.
"""
import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import redis

from toolutil import free_port

ROOT = Path(__file__).resolve().parents[1]


def wait_ping(port, proc, timeout=15):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError("process on port %d exited (%s)" % (port, proc.returncode))
        try:
            if redis.Redis(port=port, socket_timeout=1).ping():
                return
        except (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError, OSError):
            pass
        time.sleep(0.05)
    raise RuntimeError("no PING on %d" % port)


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_redis(tmp):
    port = free_port()
    proc = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                             "--appendonly", "no", "--dir", tmp, "--logfile", os.path.join(tmp, "redis.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_ping(port, proc)
    return proc, port


def redis_benchmark(port, n, pipeline):
    out = {}
    for name, cmd in (("SET", ["-t", "set"]), ("HINCRBY", ["hincrby", "h:__rand_int__", "f", "1"])):
        r = subprocess.run(["redis-benchmark", "-p", str(port), "-n", str(n), "-P", str(pipeline), "-r", "100000",
                            "-q", "--csv"] + cmd, capture_output=True, text=True, timeout=300)
        rate = None
        for line in r.stdout.splitlines():
            parts = [x.strip('"') for x in line.split(",")]
            if len(parts) >= 2:
                try:
                    rate = float(parts[1])
                except ValueError:
                    continue
        out[name] = rate
    return out


def throughput(fc, pcap, port, flush_ms):
    c = redis.Redis(port=port, decode_responses=True)
    c.flushall()
    before = int(c.info("stats")["total_commands_processed"])
    samples = []
    stop_flag = threading.Event()

    def sampler():
        s = redis.Redis(port=port, decode_responses=True)
        while not stop_flag.is_set():
            samples.append((time.monotonic(), int(s.info("stats")["total_commands_processed"])))
            time.sleep(0.05)
    t = threading.Thread(target=sampler)
    t.start()
    t0 = time.monotonic()
    r = subprocess.run([fc, "--port", str(free_port()), "--pcap", str(pcap), "--pcap-end", "exit",
                        "--cloud", "127.0.0.1:%d" % port, "--cloud-flush-ms", str(flush_ms)],
                       capture_output=True, text=True, timeout=600)
    elapsed = time.monotonic() - t0
    stop_flag.set()
    t.join()
    if r.returncode != 0:
        raise RuntimeError("flowcached failed: %s" % (r.stdout + r.stderr)[-2000:])
    after = int(c.info("stats")["total_commands_processed"])
    cmds = after - before - len(samples) - 1          # minus the sampler's own INFO calls
    best = 0.0
    for i in range(len(samples)):
        for j in range(i + 1, len(samples)):
            if samples[j][0] - samples[i][0] >= 0.5:
                best = max(best, (samples[j][1] - samples[i][1]) / (samples[j][0] - samples[i][0]))
                break
    return cmds, elapsed, best


def latency(fc, pcap, port, flush_ms, speed):
    c = redis.Redis(port=port, decode_responses=True)
    c.flushall()
    c.config_set("notify-keyspace-events", "Kh")
    fcport = free_port()
    proc = subprocess.Popen([fc, "--port", str(fcport), "--pcap", str(pcap), "--pcap-speed", str(speed),
                             "--pcap-end", "expire", "--flow-idle-timeout", "2",
                             "--cloud", "127.0.0.1:%d" % port, "--cloud-flush-ms", str(flush_ms)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    local, cloud = {}, {}
    done = threading.Event()

    def listen_local():
        s = redis.Redis(port=fcport, decode_responses=True).pubsub()
        s.subscribe("flow.end")
        while not done.is_set():
            m = s.get_message(timeout=0.2)
            if m and m["type"] == "message":
                key = json.loads(m["data"])["key"]
                local.setdefault(key, time.monotonic())

    def listen_cloud():
        s = redis.Redis(port=port, decode_responses=True).pubsub()
        s.psubscribe("__keyspace@0__:flow.*")
        while not done.is_set():
            m = s.get_message(timeout=0.2)
            if m and m["type"] == "pmessage":
                cloud.setdefault(m["channel"][len("__keyspace@0__:"):], time.monotonic())
    try:
        wait_ping(fcport, proc)
        ts = [threading.Thread(target=listen_local), threading.Thread(target=listen_cloud)]
        for t in ts:
            t.start()
        fcc = redis.Redis(port=fcport, decode_responses=True)
        while int(fcc.info()["capture_sources_active"]) > 0:
            time.sleep(0.2)
        time.sleep(1.0 + flush_ms / 1000)
        last = fcc.info("cloud")
        done.set()
        for t in ts:
            t.join()
    finally:
        done.set()
        stop(proc)
        c.config_set("notify-keyspace-events", "")
    lat = sorted((cloud[k] - t) * 1e3 for k, t in local.items() if k in cloud and cloud[k] >= t)
    return lat, len(local), last


def pct(v, p):
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))] if v else float("nan")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--flowcached", default=str(ROOT / "build" / "plain" / "flowcached"))
    ap.add_argument("--sessions", type=int, default=20000)
    ap.add_argument("--flush-ms", type=int, default=100)
    ap.add_argument("--latency-sessions", type=int, default=2000)
    ap.add_argument("--speed", type=float, default=2.0, help="pcap-speed of the latency run")
    ap.add_argument("--bench-n", type=int, default=1000000, help="redis-benchmark requests")
    ap.add_argument("--pipeline", type=int, default=64)
    a = ap.parse_args()
    if not shutil.which("redis-server") or not shutil.which("redis-benchmark"):
        sys.exit("redis-server and redis-benchmark are needed (apt-get install redis-server redis-tools)")
    tmp = tempfile.mkdtemp(prefix="bench-cloud-")
    rproc = None
    try:
        big, small = Path(tmp) / "big.pcap", Path(tmp) / "small.pcap"
        for out, n, dur in ((big, a.sessions, 600), (small, a.latency_sessions, 60)):
            subprocess.run([sys.executable, str(ROOT / "tools" / "gen_demo.py"), "--seed", "5", "--sessions", str(n),
                            "--hosts", str(max(50, n // 4)), "--duration", str(dur), "--out", str(out),
                            "--truth", str(out) + ".json"], check=True, capture_output=True)
        rproc, port = start_redis(tmp)
        print("redis-server %s on 127.0.0.1:%d; input %d sessions (%.1f MB)" % (
            redis.Redis(port=port).info()["redis_version"], port, a.sessions, big.stat().st_size / 1e6))
        cmds, el, best = throughput(a.flowcached, big, port, a.flush_ms)
        for fl in sorted({a.flush_ms, 10}):
            lat, nflows, last = latency(a.flowcached, small, port, fl, a.speed)
            print("latency  flush-ms %-4d flow.end -> cloud key written: %d of %d flows, median %.1f ms, "
                  "p99 %.1f ms, max %.1f ms (last batch round trip %s us)" % (
                      fl, len(lat), nflows, pct(lat, 50), pct(lat, 99), lat[-1] if lat else float("nan"),
                      last.get("cloud_last_batch_latency_us")))
        ref = redis_benchmark(port, a.bench_n, a.pipeline)
        print()
        print("%-44s %14s" % ("", "commands/s"))
        print("%-44s %14.0f" % ("flowcached -> cloud, whole run (%d cmds, %.2f s)" % (cmds, el), cmds / el))
        print("%-44s %14.0f" % ("flowcached -> cloud, best 0.5 s window", best))
        for k, v in ref.items():
            print("%-44s %14.0f" % ("redis-benchmark %s -P %d" % (k, a.pipeline), v or 0))
    finally:
        if rproc:
            stop(rproc)
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
