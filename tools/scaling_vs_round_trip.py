#!/usr/bin/python3
"""scaling_vs_round_trip.py - goal 2's ratios (N workers against 1) beside the cache-line round trip between CPUs.

usage: tools/scaling_vs_round_trip.py FLOWCACHED CAPTURE [--runs 30] [--threads 2] [--near-ns 150]
         [--pingpong build/plain/bench-tools/bench_pingpong]

Each run: the round trip between CPUs 0 and 1 (tools/bench_pingpong.c, `make bench-tools`), FLOWCACHED
on CAPTURE with one capture thread, then with --threads, then the round trip again. Prints one line a
run (CPU = user+sys from wait4) and, at the end, the medians of the rounds whose two round trips were
both under --near-ns (the CPUs shared a cache), both over, and mixed. On a virtual machine the round
trip moves with where the host puts the virtual CPUs, and it moves while the machine runs: a run of
many rounds (minutes) is what finds both kinds. BENCHMARKS.md, "Goal 2 and where the host puts the
two CPUs", was taken with it.
"""
import argparse
import os
import statistics
import time

from toolutil import NEAR_NS, cpu_wall, placement, round_trip_ns

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def round_trip(pingpong):
    try:
        return round_trip_ns(pingpong)
    except (OSError, RuntimeError) as e:
        raise SystemExit(str(e))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("flowcached")
    ap.add_argument("capture")
    ap.add_argument("--runs", type=int, default=30)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--near-ns", type=float, default=float(NEAR_NS))
    ap.add_argument("--pingpong", default=os.path.join(ROOT, "build", "plain", "bench-tools", "bench_pingpong"))
    o = ap.parse_args()
    base = [o.flowcached, "--pcap", o.capture, "--pcap-end", "exit", "--port", "0"]
    groups = {"near": [], "far": [], "mixed": []}
    for _ in range(max(1, o.runs)):
        before = round_trip(o.pingpong)
        c1, w1 = cpu_wall(base)
        cn, wn = cpu_wall(base + ["--capture-threads", str(o.threads)])
        after = round_trip(o.pingpong)
        kind = placement(before, after, o.near_ns)
        groups[kind].append((w1 / wn, cn / c1))
        print("%s round trip %4.0f/%4.0f ns (%s)  1 worker %.3f s CPU %.3f s wall  %d workers %.3f s CPU %.3f s "
              "wall  speedup %.2fx  CPU per packet %.2fx" % (time.strftime("%H:%M:%S"), before, after, kind, c1, w1,
                                                              o.threads, cn, wn, w1 / wn, cn / c1), flush=True)
    for kind, v in groups.items():
        if v:
            print("%s: %d run(s), median speedup %.2fx, median CPU per packet %.2fx" % (
                kind, len(v), statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)))
        else:
            print("%s: no run" % kind)


if __name__ == "__main__":
    main()
