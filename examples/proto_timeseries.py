#!/usr/bin/python3
"""proto_timeseries.py - every second read the bytes of each proto.<L7> into a CSV; draw a PNG chart at the end.

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
rows, protos = [], set()
t0 = time.monotonic()
for i in range(a.seconds):
    sample = {}
    for key in r.scan_iter("proto.*"):
        b = r.hget(key, "bytes")
        if b is not None:
            sample[key[6:]] = int(b)
    protos |= set(sample)
    rows.append((round(time.monotonic() - t0, 2), sample))
    time.sleep(max(0.0, (i + 1) - (time.monotonic() - t0)))
names = sorted(protos)
with open(a.csv, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["t"] + names)
    for t, s in rows:
        w.writerow([t] + [s.get(n, 0) for n in names])
fig, ax = plt.subplots(figsize=(9, 5))
for n in names:
    ax.plot([t for t, _ in rows], [s.get(n, 0) for _, s in rows], label=n)
ax.set_xlabel("seconds")
ax.set_ylabel("bytes (proto.<L7> bytes)")
ax.set_title("flowcached: bytes per application protocol")
if names:
    ax.legend(fontsize="small", ncol=2)
fig.savefig(a.png, dpi=80)
print("wrote %s (%d samples, %d protocols) and %s" % (a.csv, len(rows), len(names), a.png))
