#!/usr/bin/python3
"""ab_cpu.py - CPU and wall time of two flowcached builds on the same capture, runs alternating (A B A B ...).

usage: tools/ab_cpu.py A/flowcached B/flowcached CAPTURE [--runs 10] [--repeat 3] [-- flowcached args...]

Each run reads CAPTURE --repeat times (repeated --pcap) with --pcap-end exit --port 0 and is measured
by its user+sys CPU time (wait4), the figure `make bench` judges on a shared machine, and by its wall
time (start to exit: what several capture threads are for, and what load on the machine moves most);
runs alternate so a change of load hits both builds alike. Prints each build's median, min and the
difference of medians (B against A: positive = B costs more), CPU then wall.
"""
import argparse
import statistics

from toolutil import cpu_wall


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("capture")
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("extra", nargs="*", help="more flowcached arguments (after --)")
    o = ap.parse_args()
    args = sum((["--pcap", o.capture] for _ in range(o.repeat)), []) + ["--pcap-end", "exit", "--port", "0"]
    cpu = {o.a: [], o.b: []}
    wall = {o.a: [], o.b: []}
    for _ in range(o.runs):
        for fc in (o.a, o.b):
            c, w = cpu_wall([fc] + args + o.extra)
            cpu[fc].append(c)
            wall[fc].append(w)
    for what, t in (("CPU", cpu), ("wall", wall)):
        med = {fc: statistics.median(v) for fc, v in t.items()}
        for tag, fc in (("A", o.a), ("B", o.b)):
            print("%s %s: median %.3f s %s, min %.3f s (%d runs: %s)" % (
                tag, fc, med[fc], what, min(t[fc]), o.runs, " ".join("%.3f" % x for x in t[fc])))
        print("B vs A: %+.2f %% %s (medians)" % (100.0 * (med[o.b] / med[o.a] - 1), what))


if __name__ == "__main__":
    main()
