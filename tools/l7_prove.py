#!/usr/bin/python3
"""l7_prove.py - runs flowcached's proof build over captures: nDPI's answers and flow state after
flowcached's shortcuts (capture/flow/l7_quick.c, l7_tcp.c) against nDPI alone, packet by packet.

    make l7-prove                      (builds build/prove/flowcached, then runs this)
    tools/l7_prove.py BINARY [--gen SESSIONS] CAPTURE...

BINARY must be a proof build (make BUILD=build/prove CFLAGS='-O2 -g -DL7_PROVE'): at exit it prints
"l7 prove: P packets, D answers differ; l7_tcp: S segments, E differences" and, when its DNS/RADIUS
tables answered, "l7_quick prove: N names, A addresses from the tables, D differ". --gen also runs a
capture of SESSIONS sessions made by tools/gen_demo.py. Exits 1 when any answer, state or table
lookup differs, or when no packet at all was compared (a build without -DL7_PROVE proves nothing)."""
import argparse
import os
import re
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LINE_L7 = re.compile(r"l7 prove: (\d+) packets, (\d+) answers differ; l7_tcp: (\d+) segments, (\d+) differences")
LINE_QUICK = re.compile(r"l7_quick prove: (\d+) names, (\d+) addresses from the tables, (\d+) differ")


def prove_one(binary, capture):
    """Runs binary over capture; returns (packets, answer diffs, segments, segment diffs, lookups, lookup diffs)."""
    p = subprocess.run([binary, "--pcap", capture, "--pcap-end", "exit", "--port", "0", "--loglevel", "warning"],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)
    err = p.stderr.decode(errors="replace")
    if p.returncode != 0:
        raise RuntimeError("%s on %s exited %d: %s" % (binary, capture, p.returncode, err[-2000:]))
    got = [0] * 6
    m = LINE_L7.search(err)
    if m:
        got[0:4] = [int(x) for x in m.groups()]
    m = LINE_QUICK.search(err)
    if m:
        got[4] = int(m.group(1)) + int(m.group(2))
        got[5] = int(m.group(3))
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("binary")
    ap.add_argument("captures", nargs="*")
    ap.add_argument("--gen", type=int, default=0, help="also a tools/gen_demo.py capture of this many sessions")
    a = ap.parse_intermixed_args()
    captures = list(a.captures)
    with tempfile.TemporaryDirectory() as tmp:
        if a.gen:
            gen = os.path.join(tmp, "gen.pcap")
            subprocess.run([sys.executable, os.path.join(ROOT, "tools", "gen_demo.py"), "--seed", "20",
                            "--sessions", str(a.gen), "--out", gen], check=True, stdout=subprocess.DEVNULL,
                           timeout=600)
            captures.append(gen)
        total = [0] * 6
        bad = 0
        for c in captures:
            got = prove_one(a.binary, c)
            total = [x + y for x, y in zip(total, got)]
            if got[1] or got[3] or got[5]:
                bad += 1
                print("DIFFERS %s: %d of %d answers, %d of %d segments, %d of %d table lookups"
                      % (c, got[1], got[0], got[3], got[2], got[5], got[4]))
    print("l7 prove over %d captures: %d packets (%d answers differ), %d TCP segments taken by the shortcut "
          "(%d differ), %d table lookups (%d differ)" % (len(captures), total[0], total[1], total[2], total[3],
                                                         total[4], total[5]))
    if total[0] == 0:
        print("nothing was compared: is %s a proof build (-DL7_PROVE)?" % a.binary)
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
