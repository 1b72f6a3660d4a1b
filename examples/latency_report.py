#!/usr/bin/python3
"""latency_report.py - p50 and p99 per HTTP host (service time) and per DNS name (response time), and a PNG chart.

usage: latency_report.py [--host 127.0.0.1] [--port 6380] [--top 20] [--png latency.png]

Reads the histograms of http.<host> (service.le.<bound>) and dns.<qname> (rtt.le.<bound>): from a
probe, or from a cloud node, where the same keys hold every probe's counters summed, so the same
code gives the percentiles of the whole network. The buckets are per bucket (not cumulative), bounds
in milliseconds; a percentile is placed inside its bucket by linear interpolation, as Prometheus'
histogram_quantile does, so it is exact to the bucket (one in "inf", past 5000 ms, shows as 5000)."""
import argparse

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import redis  # noqa: E402

BOUNDS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000]
BUCKETS = [str(b) for b in BOUNDS_MS] + ["inf"]
KINDS = (("http", "http.*", "service"), ("dns", "dns.*", "rtt"))


def quantile(q, counts):
    """The q-quantile (0 < q <= 1) in ms of a histogram given as per-bucket counts, or None when empty."""
    total = sum(counts)
    if not total:
        return None
    rank, below = q * total, 0
    for i, n in enumerate(counts):
        if n and below + n >= rank:
            if i == len(BOUNDS_MS):
                return float(BOUNDS_MS[-1])
            lo = BOUNDS_MS[i - 1] if i else 0.0
            return lo + (BOUNDS_MS[i] - lo) * (rank - below) / n
        below += n
    return float(BOUNDS_MS[-1])


def read_rows(r):
    """(kind, name, count, avg_ms, p50_ms, p99_ms) of every key with at least one sample."""
    rows = []
    for kind, pattern, what in KINDS:
        keys = sorted(r.scan_iter(pattern, count=1000))
        pipe = r.pipeline(transaction=False)
        for k in keys:
            pipe.hgetall(k)
        for k, h in zip(keys, pipe.execute()):
            n = int(h.get(what + ".count", 0))
            if not n:
                continue
            counts = [int(h.get("%s.le.%s" % (what, b), 0)) for b in BUCKETS]
            avg = int(h.get(what + ".us.sum", 0)) / n / 1000.0
            rows.append((kind, k.split(".", 1)[1], n, avg, quantile(0.5, counts), quantile(0.99, counts)))
    rows.sort(key=lambda x: (-x[2], x[0], x[1]))
    return rows


def chart(rows, path):
    fig, ax = plt.subplots(figsize=(9, 1.5 + 0.35 * max(len(rows), 1)))
    labels = ["%s %s" % (k, n) for k, n, *_ in rows]
    y = range(len(rows))
    ax.barh([i - 0.2 for i in y], [r[4] for r in rows], height=0.4, label="p50")
    ax.barh([i + 0.2 for i in y], [r[5] for r in rows], height=0.4, label="p99")
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize="small")
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlabel("milliseconds (HTTP service time, DNS response time)")
    ax.set_title("flowcached: latency percentiles per HTTP host and DNS name")
    if rows:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(path, dpi=80)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=6380)
    p.add_argument("--top", type=int, default=20, help="rows shown and charted (most samples first)")
    p.add_argument("--png", default="latency.png")
    a = p.parse_args()
    rows = read_rows(redis.Redis(host=a.host, port=a.port, decode_responses=True))[:a.top]
    print("%-5s %-40s %8s %10s %10s %10s" % ("kind", "name", "count", "avg_ms", "p50_ms", "p99_ms"))
    for kind, name, n, avg, p50, p99 in rows:
        print("%-5s %-40s %8d %10.3f %10.3f %10.3f" % (kind, name, n, avg, p50, p99))
    chart(rows, a.png)
    print("wrote %s (%d rows)" % (a.png, len(rows)))


if __name__ == "__main__":
    main()
