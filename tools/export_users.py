#!/usr/bin/python3
"""export_users.py - how many flow records' user differs between runs of flowcached on one capture.

Runs FLOWCACHED on CAPTURE once per thread count given (--threads 1 2 2 2: four runs), exporting IPFIX to a
collector on a loopback port (tests/integration/ipfix_reader.py), and compares the userName of each record
(key: addresses, ports, protocol, VLAN, start time) between the first run and each other, and between the
other runs. A collector's socket may drop records under load: only records present in both runs count.

    tools/export_users.py build/plain/flowcached /work/data/mid.pcap --threads 1 2 2 2
"""
import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "integration"))
from ipfix_reader import PEN, Reader  # noqa: E402


def record_key(r):
    v6 = (0, 27) in r
    src, dst = (r[(0, 27)], r[(0, 28)]) if v6 else (r[(0, 8)], r[(0, 12)])
    fam = socket.AF_INET6 if v6 else socket.AF_INET
    return (socket.inet_ntop(fam, src), r.get((0, 7)), socket.inet_ntop(fam, dst), r.get((0, 11)), r.get((0, 4)),
            r.get((0, 58)), r.get((0, 152)))


def run(binary, capture, threads, extra):
    """{record key: user or None} of one run."""
    col = Reader()
    col.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    try:
        subprocess.run([binary, "--pcap", capture, "--pcap-end", "exit", "--port", "0", "--capture-threads",
                        str(threads), "--export", "127.0.0.1:%d" % col.port, "--export-protocol", "ipfix", *extra],
                       capture_output=True, timeout=900, check=True)
        time.sleep(0.5)
    finally:
        col.close()
    out = {}
    for r in col.records():
        u = r.get((PEN, 6))
        out[record_key(r)] = u.decode() if isinstance(u, bytes) else u
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("flowcached")
    ap.add_argument("capture")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2, 2, 2])
    ap.add_argument("extra", nargs="*", help="more flowcached arguments (after --)")
    a = ap.parse_args()
    runs = [(t, run(a.flowcached, a.capture, t, a.extra)) for t in a.threads]
    for i, (ta, ra) in enumerate(runs):
        for j in range(i + 1, len(runs)):
            tb, rb = runs[j]
            common = ra.keys() & rb.keys()
            diff = [k for k in common if ra[k] != rb[k]]
            print("run %d (%d threads) vs run %d (%d threads): %d records in both, user differs on %d "
                  "(only the first has one: %d, only the second: %d)" %
                  (i + 1, ta, j + 1, tb, len(common), len(diff), sum(1 for k in diff if ra[k] and not rb[k]),
                   sum(1 for k in diff if rb[k] and not ra[k])))


if __name__ == "__main__":
    main()
