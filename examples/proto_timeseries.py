#!/usr/bin/python3
"""proto_timeseries.py - every second read the bytes of each proto.<L7>; write the rates (bytes/s) to a CSV and a PNG chart.

The proto.<L7> bytes field is a cumulative counter: the rate of a second is the difference of two
successive samples divided by the time between them (a counter that went down, because its key left
the cache and came back, counts from 0).

usage: proto_timeseries.py [--host 127.0.0.1] [--port 6380] [--seconds 10] [--csv out.csv] [--png out.png]"""
import argparse, csv, time
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
import redis

p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
p.add_argument("--host", default="127.0.0.1")
p.add_argument("--port", type=int, default=6380)
p.add_argument("--seconds", type=int, default=10)
p.add_argument("--csv", default="proto.csv")
p.add_argument("--png", default="proto.png")
a = p.parse_args()
r = redis.Redis(host=a.host, port=a.port, decode_responses=True)
samples, protos = [], set()
t0 = time.monotonic()
for i in range(a.seconds + 1):                  # one more sample than rates: the first is the baseline
    sample = {}
    for key in r.scan_iter("proto.*"):
        b = r.hget(key, "bytes")
        if b is not None:
            sample[key[6:]] = int(b)
    protos |= set(sample)
    samples.append((time.monotonic() - t0, sample))
    time.sleep(max(0.0, (i + 1) - (time.monotonic() - t0)))
names = sorted(protos)
rows = []                                       # (t, {proto: bytes per second over the last interval})
for (tp, prev), (tc, cur) in zip(samples, samples[1:]):
    dt = max(tc - tp, 1e-3)
    rate = {}
    for n in names:
        c, p0 = cur.get(n, 0), prev.get(n, 0)
        rate[n] = round((c - p0 if c >= p0 else c) / dt, 1)
    rows.append((round(tc, 2), rate))
with open(a.csv, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["t"] + names)
    for t, s in rows:
        w.writerow([t] + [s.get(n, 0) for n in names])
fig, ax = plt.subplots(figsize=(9, 5))
for n in names:
    ax.plot([t for t, _ in rows], [s.get(n, 0) for _, s in rows], label=n)
ax.set_xlabel("seconds")
ax.set_ylabel("bytes per second (rate of proto.<L7> bytes)")
ax.set_title("flowcached: bytes per second per application protocol")
if names:
    ax.legend(fontsize="small", ncol=2)
fig.savefig(a.png, dpi=80)
print("wrote %s (%d rates, %d protocols) and %s" % (a.csv, len(rows), len(names), a.png))
